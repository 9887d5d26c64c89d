"""Loading one batch of a job's output into its serving collection, once: ledger check (status and
content), indexes, chunked idempotent merges, then the ledger's 'complete' mark, only after every
write succeeded.

An additive loader (``ADDITIVE``) turns records into contributions (``iter_wants``, merged exactly
once by loaders/bulk.py's ``merge_in_chunks``); a set-by-key loader turns them into keyed updates
(``iter_operations``, written here in chunks), or merges a whole batch itself
(``load_batch(db, records, batch, rejected, chunk_size) -> stats``): the loaders whose documents
span batches (a session crossing hours) need the batch's hours to replace that part of what they hold.
"""
import hashlib
import os
import re
import uuid
from dataclasses import dataclass

from clickstream.layout import parse_date_option, parse_hour_option

from clickstream.errors import ConfigError
from loaders import bulk, ledger, user_clicks
from loaders.hourly_activity import HourlyActivity
from loaders.product_popularity import ProductPopularity
from loaders.sessions import Sessions
from loaders.suspicious_users import SuspiciousUsers

LOADERS = {
    "user-actions": user_clicks,
    "hourly-activity": HourlyActivity,
    "product-popularity": ProductPopularity,
    "sessions": Sessions,
    "suspicious-users": SuspiciousUsers,
}
_PARTITION = re.compile(r"dt=\d{4}-\d{2}-\d{2}(?:/hour=\d{2})?")
_BATCH_PARTITION = re.compile(r":dt=(\d{4}-\d{2}-\d{2})(?:/hour=(\d{2}))?(?:#r\d+)?\Z")


@dataclass(frozen=True)
class Batch:
    """One load: its id; ``hours``, the raw partition's hour numbers it was computed from (one
    hour, a whole day) or None when its id names no partition; ``supersedes``: batch ids it
    replaces; ``force``: apply it even if the ledger says complete; ``content``: what it was
    computed from (see loaders/ledger.py), or None when unknown."""
    id: str
    hours: range = None
    inputs: tuple = ()
    supersedes: tuple = ()
    force: bool = False
    content: dict = None


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
    try:
        return LOADERS[job]
    except KeyError:
        raise ConfigError("load: job %r has no loader; expected one of %s" % (job, ", ".join(sorted(LOADERS)))) from None


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
    additive = getattr(loader, "ADDITIVE", False)
    if supersedes and additive:
        raise ConfigError("load: %s counts add up across batches; a batch cannot supersede another" % job)
    if additive and "|" in batch_id:
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
    collection = db[loader.COLLECTION]
    loader.ensure_indexes(collection)
    counted = _Counted(records)
    if additive:
        prepare = getattr(loader, "prepare_chunk", None)
        stats = bulk.merge_in_chunks(
            bulk.MergeTarget(db, loader.COLLECTION, loader.KEY_FIELD), loader.iter_wants(counted, batch_id, rejected),
            batch_id, bulk.new_stats(), attempt, chunk_size, replacing,
            prepare and (lambda chunk: prepare(db, batch_id, chunk, chunk_size)))
        stats["superseded_deleted"] = 0
    elif hasattr(loader, "load_batch"):
        batch = Batch(batch_id, batch_hours(batch_id), tuple(inputs), tuple(supersedes), force, content)
        stats = dict(bulk.new_stats(), **loader.load_batch(db, counted, batch, rejected, chunk_size))
        stats.setdefault("superseded_deleted", 0)
    else:
        stats = bulk.new_stats()
        operations = loader.iter_operations(counted, batch_id, rejected)
        bulk.write_in_chunks(collection, operations, loader.KEY_FIELD, batch_id, stats, chunk_size)
        stats["superseded_deleted"] = collection.delete_many(
            {"batches": {"$in": list(supersedes)}}).deleted_count if supersedes else 0
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
