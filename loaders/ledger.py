"""The load ledger: one document per (collection, batch) in ``load_batches``, so a finished batch
is skipped as a whole and an interrupted one is known to need completing.

A batch is marked ``complete`` only after every one of its writes was acknowledged; until then
it stays ``loading`` and the next run applies it again (per-document markers make that safe).
"""
from datetime import datetime, timezone

from pymongo import ASCENDING, IndexModel

LEDGER = "load_batches"
LOADING, COMPLETE = "loading", "complete"
INDEXES = [IndexModel([("collection", ASCENDING), ("status", ASCENDING), ("completed_at", ASCENDING)],
                      name="collection_status")]


def _key(collection_name, batch_id):
    return "%s|%s" % (collection_name, batch_id)


def batch_status(db, collection_name, batch_id):
    """'complete', 'loading' or None."""
    entry = db[LEDGER].find_one({"_id": _key(collection_name, batch_id)}, {"status": 1})
    return entry["status"] if entry else None


def begin_batch(db, collection_name, batch_id, inputs, now=None):
    db[LEDGER].create_indexes(INDEXES)
    db[LEDGER].update_one(
        {"_id": _key(collection_name, batch_id)},
        {"$set": {"collection": collection_name, "batch_id": batch_id, "status": LOADING, "inputs": list(inputs),
                  "started_at": now or datetime.now(timezone.utc)},
         "$inc": {"attempts": 1}},
        upsert=True)


def complete_batch(db, collection_name, batch_id, stats, now=None):
    db[LEDGER].update_one(
        {"_id": _key(collection_name, batch_id)},
        {"$set": {"status": COMPLETE, "completed_at": now or datetime.now(timezone.utc), "stats": dict(stats)}})


def recent_batches(db, limit=20):
    """The newest ledger entries, newest first."""
    return list(db[LEDGER].find({}, {"_id": 0}).sort([("started_at", -1)]).limit(int(limit)))
