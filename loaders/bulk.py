"""Unordered bulk writes in sized chunks: one round trip per chunk, never one per document.

Merge upserts filter out documents that already carry the batch marker, so on such a document
the upsert collides with the unique key index. A duplicate-key error is therefore checked, not
trusted: documents that really carry the marker count as ``already_applied``; the rest (a race
with a concurrent loader inserting the same new key) are written again. Any other write error
raises ServiceError, and the caller marks nothing as loaded.

Operations come as (key, operation) pairs. A key of None marks an auxiliary update (such as
user_clicks' monotonic last_action): it never upserts, is written after the chunk's keyed merges
in its own bulk write, and is counted apart, so ``upserted + matched + already_applied`` counts
exactly the keyed merges (the run's reconciliation checks that against the records read).
"""
from pymongo.errors import BulkWriteError

from clickstream.errors import ServiceError

DEFAULT_CHUNK = 1000
DUPLICATE_KEY = 11000
MARKER_FIELD = "batches"
RETRIES = 3


def new_stats():
    return {"operations": 0, "upserted": 0, "matched": 0, "modified": 0, "already_applied": 0,
            "auxiliary_matched": 0}


def _bulk(collection, operations, stats):
    """One unordered bulk write; returns the indexes of operations that hit a duplicate key."""
    try:
        details = collection.bulk_write(operations, ordered=False).bulk_api_result
    except BulkWriteError as error:
        details = error.details
        failures = details.get("writeErrors", [])
        other = [failure for failure in failures if failure.get("code") != DUPLICATE_KEY]
        if other:
            first = other[0]
            raise ServiceError("bulk write to %s failed: %d write errors, first: code %s: %s" % (
                collection.name, len(other), first.get("code"), first.get("errmsg"))) from None
        duplicates = [failure["index"] for failure in failures]
    else:
        duplicates = []
    for name, count in (("operations", len(operations) - len(duplicates)), ("upserted", details.get("nUpserted", 0)),
                        ("matched", details.get("nMatched", 0)), ("modified", details.get("nModified", 0))):
        stats[name] = stats.get(name, 0) + count
    return duplicates


def write_chunk(collection, keyed_operations, key_field, batch_id, stats):
    """Write (key, operation) pairs; settle duplicate-key collisions against the batch marker;
    then the auxiliary (None, operation) pairs."""
    _write_merges(collection, [pair for pair in keyed_operations if pair[0] is not None], key_field, batch_id, stats)
    auxiliary = [operation for key, operation in keyed_operations if key is None]
    if auxiliary:
        counts = {}
        _bulk(collection, auxiliary, counts)
        stats["operations"] += counts["operations"]
        stats["auxiliary_matched"] += counts["matched"]


def _write_merges(collection, keyed_operations, key_field, batch_id, stats):
    pending = keyed_operations
    if not pending:
        return
    for _attempt in range(RETRIES + 1):
        duplicates = _bulk(collection, [operation for _key, operation in pending], stats)
        if not duplicates:
            return
        collided = [pending[index] for index in duplicates]
        keys = list({key for key, _operation in collided})
        marked = {document[key_field] for document in collection.find(
            {key_field: {"$in": keys}, MARKER_FIELD: {"$eq": batch_id}}, {key_field: 1})}
        stats["already_applied"] += sum(1 for key, _operation in collided if key in marked)
        pending = [(key, operation) for key, operation in collided if key not in marked]
        if not pending:
            return
    raise ServiceError("bulk write to %s: %d upserts kept colliding on %s; is another loader running?"
                       % (collection.name, len(pending), key_field))


def write_in_chunks(collection, keyed_operations, key_field, batch_id, stats, chunk_size=DEFAULT_CHUNK):
    """Write an iterable of (key, operation) pairs in chunks of ``chunk_size``."""
    chunk = []
    for keyed in keyed_operations:
        chunk.append(keyed)
        if len(chunk) >= chunk_size:
            write_chunk(collection, chunk, key_field, batch_id, stats)
            chunk = []
    if chunk:
        write_chunk(collection, chunk, key_field, batch_id, stats)
    return stats
