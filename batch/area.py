"""Where `clickstream run` reads and writes: the raw area (hour partitions, watermarks) and the
derived area, ``<derived root>/<job>/dt=…/hour=…/``, through the storage layer (clickstream/storage.py:
a local folder or HDFS over WebHDFS), plus the URIs mrjob's runners take for both.

A derived partition folder holds the live revisions' part files (``g<generation>-part-NNNNN``),
``_MANIFEST-<generation>.json`` (the latest is the committed state, see batch/plan.py)
and ``_SUCCESS``. A job writes into ``<job>/_tmp/<token>/`` first; its parts are renamed into the
partition folder, then the new manifest is renamed into place: that rename is the commit point.
Anything in the folder the latest manifest does not list is debris of a crashed attempt.
"""
import re
import uuid

import orjson

from clickstream.errors import ConfigError, ServiceError
from clickstream.layout import DERIVED_FOLDER, RAW_SUFFIXES, hour_partition, is_hidden, partition_hour
from clickstream.storage import open_storage

WATERMARKS = "_watermarks"
SUCCESS = "_SUCCESS"
_MANIFEST_RE = re.compile(r"_MANIFEST-(\d{6,})\.json\Z")
_DAY_RE = re.compile(r"dt=\d{4}-\d{2}-\d{2}\Z")
_HOUR_RE = re.compile(r"hour=\d{2}\Z")


def manifest_name(generation):
    return "_MANIFEST-%06d.json" % generation


def part_name(generation, output_name):
    return "g%06d-%s" % (generation, output_name)


class RunArea:
    """One sink root's raw area and its derived area. ``raw`` and ``derived`` are storages
    (clickstream/storage.py) rooted at the raw root and the derived root; ``*_uri`` their URIs as
    mrjob takes them (a local path, or hdfs:///path)."""

    def __init__(self, raw, derived, raw_uri, derived_uri):
        self.raw = raw
        self.derived = derived
        self.raw_uri = raw_uri.rstrip("/")
        self.derived_uri = derived_uri.rstrip("/")

    # --- the raw area ---------------------------------------------------------------------------

    def raw_files(self, hour):
        """{name: size} of the data files of one hour partition (hidden and other names skipped)."""
        sizes = self.raw.file_sizes(hour_partition(hour))
        return {name: size for name, size in sizes.items() if not is_hidden(name) and name.endswith(RAW_SUFFIXES)}

    def input_uris(self, hour, names):
        return ["%s/%s/%s" % (self.raw_uri, hour_partition(hour), name) for name in sorted(names)]

    def hours_with_data(self, first, end):
        """Hour numbers in [first, end) that have a partition folder."""
        hours = []
        first_day, last_day = hour_partition(first).split("/")[0], hour_partition(end - 1).split("/")[0]
        for day in self.raw.list(""):
            if not _DAY_RE.match(day) or not first_day <= day <= last_day:
                continue
            for name in self.raw.list(day):
                if _HOUR_RE.match(name):
                    hour = partition_hour("%s/%s" % (day, name))
                    if first <= hour < end:
                        hours.append(hour)
        return sorted(hours)

    def watermarks(self):
        """{topic: watermark document or None} for every topic the ingest keeps a watermark of."""
        from ingest.watermark_store import read_watermark

        topics = [name[:-len(".json")] for name in self.raw.list(WATERMARKS)
                  if name.endswith(".json") and not is_hidden(name)]
        return {topic: read_watermark(self.raw, topic) for topic in topics}

    # --- the derived area -----------------------------------------------------------------------

    def _folder(self, job, partition):
        return "%s/%s" % (job, partition)

    def manifest(self, job, partition):
        """The committed manifest of (job, partition), or None."""
        folder = self._folder(job, partition)
        generations = [int(match.group(1)) for match in map(_MANIFEST_RE.match, self.derived.list(folder)) if match]
        if not generations:
            return None
        name = manifest_name(max(generations))
        raw = self.derived.read("%s/%s" % (folder, name))
        try:
            return orjson.loads(raw)
        except (orjson.JSONDecodeError, TypeError):
            raise ServiceError("derived manifest %s/%s/%s is not JSON" % (self.derived_uri, folder, name)) from None

    def new_output(self, job):
        """A fresh temp folder for a job's output: (relative to the derived root, URI for mrjob)."""
        relative = "%s/_tmp/%s" % (job, uuid.uuid4().hex)
        return relative, "%s/%s" % (self.derived_uri, relative)

    def output_names(self, temp_relative):
        return [name for name in self.derived.list(temp_relative) if not is_hidden(name)]

    def split_output(self, job, temp_relative, partitions):
        """A ``--by-partition`` launch's output (mr/partition_tags.py) -> {partition: (temp folder,
        counters)}: each hour's lines go to parts named as the launch's in a temp folder of its own,
        so each hour commits and loads exactly as if its own launch had written them. Each of
        ``partitions`` (the hours launched) gets a folder, without parts when no record of it came
        out (all rejected, or no file of it reached the launch), and so does any other tagged hour."""
        from mr.partition_tags import counters_of, split_tagged_lines

        folders, tallies = {}, {}
        try:
            for name in sorted(self.output_names(temp_relative)):
                by_partition = {}  # one part file's lines at a time: memory is one part, not the output
                split_tagged_lines(self.derived.lines("%s/%s" % (temp_relative, name)), by_partition, tallies)
                for partition, lines in sorted(by_partition.items()):
                    if partition not in folders:
                        folders[partition] = self.new_output(job)[0]
                    self.derived.write_file("%s/%s" % (folders[partition], name), b"".join(lines))
        except BaseException:
            for folder in folders.values():
                self.discard(folder)
            raise
        for partition in set(tallies).union(partitions):
            if partition not in folders:
                folders[partition] = self.new_output(job)[0]
        return {partition: (folder, counters_of(tallies.get(partition, {}))) for partition, folder in folders.items()}

    def commit(self, job, partition, temp_relative, manifest):
        """Move the temp output's parts into the partition folder under ``manifest``'s generation
        (their names must be the manifest's new parts), then rename the manifest into place."""
        folder = self._folder(job, partition)
        generation = manifest["generation"]
        for name in self.output_names(temp_relative):
            target = "%s/%s" % (folder, part_name(generation, name))
            if self.derived.exists(target):  # debris of a crashed attempt at this generation
                self.derived.delete(target)
            self.derived.rename("%s/%s" % (temp_relative, name), target)
        staged = "%s/_tmp/%s.json" % (job, uuid.uuid4().hex)
        self.derived.write_file(staged, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        self.derived.rename(staged, "%s/%s" % (folder, manifest_name(generation)))  # the commit point
        if not self.derived.exists("%s/%s" % (folder, SUCCESS)):
            self.derived.write_file("%s/%s" % (folder, SUCCESS), b"")
        self.derived.delete(temp_relative)

    def tidy(self, job, partition, manifest):
        """Delete what the committed manifest does not list: parts of superseded, replaced or
        crashed attempts, and older manifests."""
        from batch.plan import live_parts

        folder = self._folder(job, partition)
        keep = live_parts(manifest) | {manifest_name(manifest["generation"]), SUCCESS}
        for name in self.derived.list(folder):
            if name not in keep and (name.startswith("g") or _MANIFEST_RE.match(name)):
                self.derived.delete("%s/%s" % (folder, name))

    def part_uris(self, job, partition, parts):
        return ["%s/%s/%s" % (self.derived_uri, self._folder(job, partition), name) for name in sorted(parts)]

    def discard(self, temp_relative):
        self.derived.delete(temp_relative)


def open_area(sink, derived_root=None, webhdfs_url=None, hdfs_user=None, webhdfs_timeout_seconds=None):
    """The RunArea of a ``--sink`` (a path, file:///path or hdfs:///path); ``derived_root``
    defaults to ``<sink>/derived``. Both share one WebHDFS client. Raises ConfigError for unusable values."""
    if not sink:
        raise ConfigError("--sink: not given; `clickstream run` needs the raw area's root (path, file:///, hdfs:///)")
    settings = {"webhdfs_url": webhdfs_url, "hdfs_user": hdfs_user, "webhdfs_timeout_seconds": webhdfs_timeout_seconds}
    raw = open_storage(sink, settings, "--sink")
    derived = open_storage(derived_root or "%s/%s" % (sink.rstrip("/"), DERIVED_FOLDER), settings, "run.derived_root",
                           client=getattr(raw, "client", None))
    return RunArea(raw, derived, raw.runner_uri, derived.runner_uri)
