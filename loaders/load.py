"""Loading one batch of a job's output into its serving collection, once: ledger check (status and
content), indexes, the loader's chunked idempotent merge, then the ledger's 'complete' mark, only
after every write succeeded.

Each job's loader (the job table's ``loader``, clickstream/jobs.py) is a loaders/base.py Loader:
additive (records become contributions, merged exactly once by loaders/bulk.py), set-by-key
(records become keyed updates), or one that merges a whole batch itself: the loaders whose
documents span batches (a session crossing hours) need the batch's hours to replace that part of
what they hold.
"""
import hashlib
import importlib
import os
import re
import uuid

from clickstream.errors import ConfigError
from clickstream.jobs import JOB_NAMES, job_row
from clickstream.layout import DAY_PARTITION_PATTERN, parse_date_option, parse_hour_option
from loaders import bulk, ledger
from loaders.base import Batch

_PARTITION_PATTERN = DAY_PARTITION_PATTERN + r"(?:/hour=(\d{2}))?"  # a day's or an hour's partition
_PARTITION = re.compile(_PARTITION_PATTERN)
_BATCH_PARTITION = re.compile(":" + _PARTITION_PATTERN + r"(?:#r\d+)?\Z")


def batch_hours(batch_id):
    """The hour numbers a batch id's partition covers ('<job>:dt=D/hour=H[#rN]' -> one hour,
    '<job>:dt=D' -> the day's 24), or None when it names no partition."""
    match = _BATCH_PARTITION.search(batch_id)
    if not match:
        return None
    day, hour = match.groups()
    if hour is not None:
        first = parse_hour_option("%sT%s" % (day, hour), "batch id")
        return range(first, first + 1)
    hours = parse_date_option(day, "batch id")
    return range(hours[0], hours[-1] + 1)


def loader_for(job):
    """The Loader class of a CLI job name, from the job table. ConfigError for any other name."""
    try:
        dotted = job_row(job).loader
    except KeyError:
        raise ConfigError("load: job %r has no loader; expected one of %s" % (job, ", ".join(sorted(JOB_NAMES)))) \
            from None
    module_name, _, class_name = dotted.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def default_batch_id(job, inputs, describe=None):
    """'<job>:dt=YYYY-MM-DD/hour=HH' when every input names the same raw partition; otherwise
    '<job>:files:<digest>' over the inputs' names and sizes (``describe(path) -> (name, size)``)."""
    partitions = {match.group(0) for match in (_PARTITION.search(path) for path in inputs) if match}
    if len(partitions) == 1 and all(_PARTITION.search(path) for path in inputs):
        return "%s:%s" % (job, partitions.pop())
    describe = describe or (lambda path: (os.path.abspath(path), os.path.getsize(path)))
    digest = hashlib.sha256()
    for path in sorted(inputs):
        digest.update(repr(describe(path)).encode())
    return "%s:files:%s" % (job, digest.hexdigest()[:16])


def load_batch(db, job, records, batch_id, inputs, rejected, chunk_size=bulk.DEFAULT_CHUNK, force=False,
               supersedes=(), content=None):
    """Merge ``records`` ((key, value) pairs) as batch ``batch_id``. Returns the stats dict, with
    ``skipped`` True when the ledger says the batch is already complete with this content (and
    ``force`` is off), ``records`` the records read. ``supersedes``: batch ids this batch replaces
    (set-by-key jobs only); documents still carrying one of them after the writes are deleted.
    ``content``: what the batch was computed from ({'raw_files': {name: size}} or
    {'output_sha256': digest}); a complete batch with other content raises BatchContentConflict
    unless ``force``, which replaces the batch's earlier contribution."""
    loader = loader_for(job)
    if supersedes and loader.ADDITIVE:
        raise ConfigError("load: %s counts add up across batches; a batch cannot supersede another" % job)
    if loader.ADDITIVE and "|" in batch_id:
        raise ConfigError("load: --batch-id %r holds '|'; expected a batch id without '|'" % batch_id)
    entry = ledger.batch_entry(db, loader.COLLECTION, batch_id)
    if not force:
        ledger.check_content(entry, batch_id, content)
        if entry and entry["status"] == ledger.COMPLETE:
            return dict(bulk.new_stats(), skipped=True, batch_id=batch_id, records=0, rejected=0,
                        superseded_deleted=0)
    # A batch seen before with other (or unknown) content may hold keys the new content lacks.
    replacing = bool(entry) and bool(entry.get("replacing") or content is None or entry.get("content") != content)
    attempt = uuid.uuid4().hex[:16]
    ledger.begin_batch(db, loader.COLLECTION, batch_id, inputs, content=content, replacing=replacing,
                       attempt=attempt)
    loader.ensure_indexes(db[loader.COLLECTION])
    counted = _Counted(records)
    # contributions add up whatever their hours: only the loaders that replace hours read them
    hours = None if loader.ADDITIVE else batch_hours(batch_id)
    batch = Batch(batch_id, hours, tuple(inputs), tuple(supersedes), force, content, attempt, replacing)
    stats = dict(bulk.new_stats(), **loader.merge_batch(db, counted, batch, rejected, chunk_size))
    stats.setdefault("superseded_deleted", 0)
    stats["records"] = counted.count
    stats["rejected"] = sum(rejected.values())
    ledger.complete_batch(db, loader.COLLECTION, batch_id, stats)
    return dict(stats, skipped=False, batch_id=batch_id)


class _Counted:
    """Iterates ``records`` and counts them."""

    def __init__(self, records):
        self._records = records
        self.count = 0

    def __iter__(self):
        for record in self._records:
            self.count += 1
            yield record
