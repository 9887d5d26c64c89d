"""The one interface loaders/load.py calls (Loader), and its two ways of merging a batch: additive
(each record adds a contribution, applied exactly once) and set-by-key (each record is the whole
fact for its key and sets that key's document). One loader per serving collection, one module each.
"""
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timezone

from pymongo import ASCENDING, IndexModel, UpdateOne

from loaders import bulk
from loaders.record_checks import checked_records

# A set-by-key document carries its one batch in ``batches``; a revision that supersedes a batch
# deletes the documents still carrying it, through this index.
BATCH_INDEX = IndexModel([("batches", ASCENDING)], name="batches")


@dataclass(frozen=True)
class Batch:
    """One load: its id; ``hours``, the raw partition's hour numbers it was computed from (one
    hour, a whole day), or None when its id names no partition or the load is additive (whose
    contributions add up whatever their hours); ``supersedes``: batch ids it
    replaces; ``force``: apply it even if the ledger says complete; ``content``: what it was
    computed from (see loaders/ledger.py), or None when unknown; ``attempt``: this application's
    token; ``replacing``: it replaces what an earlier application of the batch id contributed."""
    id: str
    hours: range = None
    inputs: tuple = ()
    supersedes: tuple = ()
    force: bool = False
    content: dict = None
    attempt: str = None
    replacing: bool = False


class Loader(ABC):
    """A serving collection's loader, used as a class. loaders/load.py keeps the ledger and calls
    ``ensure_indexes``, then ``merge_batch``."""

    COLLECTION = None  # the serving collection
    KEY_FIELD = None  # the natural key of its documents
    ADDITIVE = False  # counts add up across batches, so a batch can never supersede another
    # Its documents span batches (a session crossing hours): one load into the collection at a
    # time (batch/runner.py takes the merge lock).
    MERGES_ACROSS_BATCHES = False
    INDEXES = []

    @classmethod
    def ensure_indexes(cls, collection):
        collection.create_indexes(cls.INDEXES)

    @classmethod
    @abstractmethod
    def merge_batch(cls, db, records, batch, rejected, chunk_size):
        """Merge ``records`` ((key, value) pairs) as ``batch`` (a Batch) into ``db``, counting
        rejects by reason in ``rejected``. Returns the stats: loaders/bulk.py's counters, any
        missing one counting 0, plus the loader's own."""


class AdditiveLoader(Loader):
    """Records become contributions (key, want, extra), merged exactly once per batch by
    loaders/bulk.py's ``merge_in_chunks``: a late file is loaded as a batch of its own."""

    ADDITIVE = True

    @classmethod
    @abstractmethod
    def iter_wants(cls, records, batch_id, rejected):
        """(key, value) records -> (key, want, extra) contributions; rejects counted."""

    @classmethod
    def prepare_chunk(cls, db, batch_id, chunk, chunk_size):
        """A chunk of (key, want, extra) -> its [(key, want)]; here the extra is dropped."""
        return [(key, want) for key, want, _extra in chunk]

    @classmethod
    def merge_batch(cls, db, records, batch, rejected, chunk_size):
        return bulk.merge_in_chunks(
            bulk.MergeTarget(db, cls.COLLECTION, cls.KEY_FIELD), cls.iter_wants(records, batch.id, rejected),
            batch.id, bulk.new_stats(), batch.attempt, chunk_size, batch.replacing,
            lambda chunk: cls.prepare_chunk(db, batch.id, chunk, chunk_size))


class SetByKeyLoader(Loader):
    """Each record is the whole fact for its key (computed from the complete partition): the load
    ``$set``s it, idempotent by construction, and a late file means recomputing the hour. The
    documents of a superseded batch that the new one did not set again are deleted (its INDEXES
    include BATCH_INDEX for that)."""

    @classmethod
    @abstractmethod
    def operation(cls, key, value, batch, now):
        """A record -> (key, update) for ``batch``; RecordRejected with the reason otherwise."""

    @classmethod
    def iter_operations(cls, records, batch, rejected, now=None):
        """(key, value) records -> (key, update) pairs; rejects counted."""
        now = now or datetime.now(timezone.utc)
        return checked_records(records, rejected, lambda key, value: cls.operation(key, value, batch, now))

    @classmethod
    def merge_batch(cls, db, records, batch, rejected, chunk_size):
        collection = db[cls.COLLECTION]
        stats = bulk.new_stats()
        bulk.write_in_chunks(collection, cls.iter_operations(records, batch, rejected), cls.KEY_FIELD, batch.id,
                             stats, chunk_size)
        stats["superseded_deleted"] = collection.delete_many(
            {"batches": {"$in": list(batch.supersedes)}}).deleted_count if batch.supersedes else 0
        return stats


def set_by_key(key_filter, fields, batch_id, now):
    """The update that sets a key's whole document, marked with its one batch."""
    return UpdateOne(key_filter, {"$set": dict(fields, updated_at=now, batches=[batch_id])}, upsert=True)
