"""Recovery: committed file names and flush manifests -> the next offset to read (pure), and
recover(), which brings a sink it is given to that state (roll forward, temp files deleted).

Paths under the sink root (all relative, '/'-separated):

  dt=YYYY-MM-DD/hour=HH/<topic>+<p>+<first>+<last>.jsonl[.gz]             committed data
  _rejected/dt=YYYY-MM-DD/hour=HH/<topic>+<p>+<first>+<last>.jsonl[.gz]   committed rejects
  _ingest/tmp/<topic>+<p>/<flush id>.<n>.jsonl[.gz]                        in-progress files
  _ingest/manifests/<topic>+<p>+<last>.json                               flush manifests

How a flush stays exactly once (see ingest/writer.py for the steps): every open file of a
partition is written completely under _ingest/tmp; then ONE manifest naming every (temp, final)
pair and the flush's last offset is made visible by a single rename; only then are the temps
renamed into place, and only after that are the Kafka offsets committed. The manifest rename is
the commit point of the flush: before it, the temps are garbage (recovery deletes them and the
records are read again); after it, recovery finishes the renames the manifest lists (roll
forward) before computing anything. So a crash between two renames of one flush can neither lose
the files not yet renamed nor duplicate the ones that were.

After the roll forward, the next offset of a partition is 1 + the largest lastOffset over all its
committed files, data and rejects, in every hour, and over its manifests. Every offset up to that
is in exactly one committed file, because flushes cover contiguous offset ranges, one after the
other, and a flush is wholly visible or wholly absent. The committed Kafka offset is only a hint.
"""
import posixpath
import re

import orjson

from clickstream.errors import ServiceError
from clickstream.layout import is_hidden, partition_hour

TEMP_DIR = "_ingest/tmp"
MANIFEST_DIR = "_ingest/manifests"
REJECTED_DIR = "_rejected"
MANIFEST_VERSION = 1
_COMMITTED_RE = re.compile(r"([A-Za-z0-9._-]+)\+(\d+)\+(\d+)\+(\d+)\.jsonl(\.gz)?\Z")
_MANIFEST_RE = re.compile(r"([A-Za-z0-9._-]+)\+(\d+)\+(\d+)\.json\Z")


class CommittedFile(tuple):
    """(topic, partition, first offset, last offset) parsed from a committed name."""

    __slots__ = ()

    def __new__(cls, topic, partition, first, last):
        return tuple.__new__(cls, (topic, partition, first, last))

    topic = property(lambda self: self[0])
    partition = property(lambda self: self[1])
    first = property(lambda self: self[2])
    last = property(lambda self: self[3])


def parse_committed_name(name):
    """'<topic>+<p>+<first>+<last>.jsonl[.gz]' -> CommittedFile, or None for any other name."""
    match = _COMMITTED_RE.match(name)
    if not match or is_hidden(name):  # Hadoop skips hidden names, so they are never committed
        return None
    first, last = int(match.group(3)), int(match.group(4))
    if first > last:
        return None
    return CommittedFile(match.group(1), int(match.group(2)), first, last)


def is_committed_folder(relative_folder):
    """True for 'dt=../hour=..' and '_rejected/dt=../hour=..': the folders committed files live in."""
    if relative_folder.startswith(REJECTED_DIR + "/"):
        relative_folder = relative_folder[len(REJECTED_DIR) + 1:]
    try:
        partition_hour(relative_folder)
    except ValueError:
        return False
    return True


def temp_folder(topic, partition):
    return "%s/%s+%d" % (TEMP_DIR, topic, partition)


def manifest_path(topic, partition, last_offset):
    return "%s/%s+%d+%020d.json" % (MANIFEST_DIR, topic, partition, last_offset)


def parse_manifest_name(name):
    """'<topic>+<p>+<last>.json' -> (topic, partition, last offset), or None."""
    match = _MANIFEST_RE.match(name)
    return (match.group(1), int(match.group(2)), int(match.group(3))) if match else None


def encode_manifest(topic, partition, first_offset, last_offset, moves, max_event_ts, caught_up=False):
    """A flush manifest: the offsets it covers, its (temp path, final path) renames, and the
    partition's event-time progress (latest event time committed; no lag left at the flush)."""
    return orjson.dumps({
        "version": MANIFEST_VERSION, "topic": topic, "partition": partition,
        "first_offset": first_offset, "last_offset": last_offset, "max_event_ts": max_event_ts,
        "caught_up": bool(caught_up),
        "moves": [[temp, final] for temp, final in moves],
    }, option=orjson.OPT_INDENT_2) + b"\n"


def decode_manifest(raw, where="manifest"):
    """Bytes -> manifest dict. Raises ValueError naming ``where`` if it is not one."""
    try:
        manifest = orjson.loads(raw)
        moves = [(str(temp), str(final)) for temp, final in manifest["moves"]]
        manifest["moves"] = moves
        int(manifest["last_offset"]), int(manifest["partition"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ValueError("%s is not a flush manifest (expected JSON with moves and last_offset)" % where) from None
    return manifest


def plan_roll_forward(manifest, existing):
    """The renames still to do for a manifest, given the set of relative paths that exist.

    Returns (renames, missing): renames are (temp, final) pairs whose temp exists and final does
    not; missing are finals with neither the final nor the temp present (a damaged sink).
    """
    renames, missing = [], []
    for temp, final in manifest["moves"]:
        if final in existing:
            continue
        if temp in existing:
            renames.append((temp, final))
        else:
            missing.append(final)
    return renames, missing


def next_offsets(topic, committed_paths, manifests=()):
    """Per partition of ``topic``, the next offset to read: 1 + the largest last offset over its
    committed files (relative paths, any hour, data or rejects) and manifests' last offsets."""
    nexts = {}
    for path in committed_paths:
        folder, name = posixpath.split(path)
        parsed = parse_committed_name(name)
        if parsed is None or parsed.topic != topic or not is_committed_folder(folder):
            continue
        nexts[parsed.partition] = max(nexts.get(parsed.partition, 0), parsed.last + 1)
    for manifest in manifests:
        if manifest["topic"] == topic:
            partition = int(manifest["partition"])
            nexts[partition] = max(nexts.get(partition, 0), int(manifest["last_offset"]) + 1)
    return nexts


def resume_offset(sink_next, beginning, end):
    """Where to seek: the sink's next offset, unless retention already dropped it.

    Returns (offset, problem): problem is None, or a sentence for the log when the sink and the
    log disagree (a gap from retention, or a sink ahead of the log).
    """
    if sink_next < beginning:
        return beginning, "offsets %d..%d were deleted by retention before they reached the sink" % (
            sink_next, beginning - 1)
    if sink_next > end:
        return sink_next, "the sink holds offsets up to %d but the log ends at %d" % (sink_next - 1, end)
    return sink_next, None


def latest_manifests(sink, topic, partitions=None):
    """{partition: the newest manifest dict} for ``topic`` (only ``partitions`` if given)."""
    newest = {}
    for name in sink.list(MANIFEST_DIR):
        parsed = parse_manifest_name(name)
        if parsed is None or parsed[0] != topic or (partitions is not None and parsed[1] not in partitions):
            continue
        if parsed[1] not in newest or parsed[2] > newest[parsed[1]][0]:
            newest[parsed[1]] = (parsed[2], name)
    manifests = {}
    for partition, (_last, name) in newest.items():
        manifest = _read_manifest(sink, name)
        if manifest is not None:
            manifests[partition] = manifest
    return manifests


def _read_manifest(sink, name):
    raw = sink.read(posixpath.join(MANIFEST_DIR, name))
    if raw is None:
        return None  # replaced by a newer flush since the listing
    try:
        return decode_manifest(raw, "%s/%s/%s" % (sink.url, MANIFEST_DIR, name))
    except ValueError as error:
        raise ServiceError("sink %s" % error) from None


def recover(sink, topic, partitions):
    """Make the sink consistent for ``partitions`` and say where each resumes.

    Rolls every manifest of these partitions forward, deletes their leftover temp files, then
    scans the committed names. Returns {partition: (next offset, max event ts or None)}.
    Raises ServiceError (sink unavailable or damaged).
    """
    partitions = set(partitions)
    manifests = []
    for name in sink.list(MANIFEST_DIR):
        if name.startswith("."):
            hidden = parse_manifest_name(name[1:].rsplit(".", 1)[0])
            if hidden and hidden[0] == topic and hidden[1] in partitions:
                sink.delete(posixpath.join(MANIFEST_DIR, name))  # never made visible: not committed
            continue
        parsed = parse_manifest_name(name)
        if parsed is None or parsed[0] != topic or parsed[1] not in partitions:
            continue
        manifest = _read_manifest(sink, name)
        if manifest is None:
            continue
        existing = {path for move in manifest["moves"] for path in move if sink.exists(path)}
        renames, missing = plan_roll_forward(manifest, existing)
        if missing:
            raise ServiceError("sink %s: manifest %s lists %s, which exist neither committed nor as temp files" % (
                sink.url, name, ", ".join(missing)))
        for temp, final in renames:
            sink.rename(temp, final)
        manifests.append(manifest)
    for partition in partitions:
        sink.delete(temp_folder(topic, partition))
    nexts = next_offsets(topic, sink.committed_paths(), manifests)
    progress = {}
    for manifest in manifests:
        partition = int(manifest["partition"])
        ts = manifest.get("max_event_ts")
        if ts is not None and (progress.get(partition) is None or ts > progress[partition]):
            progress[partition] = ts
    return {partition: (nexts.get(partition, 0), progress.get(partition)) for partition in partitions}
