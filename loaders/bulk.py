"""Unordered bulk writes in sized chunks: one round trip per chunk, never one per document.

Set-by-key loaders write (key, operation) pairs (``write_in_chunks``). Their upserts filter on the
key, so a duplicate-key error can only be a race with a concurrent loader inserting the same new
key: checked against the batch marker, then written again. Any other write error raises
ServiceError, and the caller marks nothing as loaded. A key of None marks an auxiliary update:
it never upserts, is written after the chunk's keyed writes and counted apart.

Additive loaders (counts that add up across batches) go through ``merge_in_chunks``: exactly once
for any number of batches, through one contribution record per (batch, key); see ``merge_chunk``
and the README's loader section.
"""
from pymongo import DeleteOne, UpdateOne
from pymongo.errors import BulkWriteError

from clickstream.errors import ServiceError

DEFAULT_CHUNK = 1000
DUPLICATE_KEY = 11000
MARKER_FIELD = "batches"
RETRIES = 3


def new_stats():
    return {"operations": 0, "upserted": 0, "matched": 0, "modified": 0, "already_applied": 0,
            "auxiliary_matched": 0, "replaced": 0, "retracted": 0}


def _bulk(collection, operations, stats, upserted=None):
    """One unordered bulk write; returns the indexes of operations that hit a duplicate key. With
    ``upserted`` (a list), appends the ``_id`` of each document the write inserted (not the
    operation's index: mongomock numbers the upserts, not the operations)."""
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
    if upserted is not None:
        upserted.extend(entry["_id"] for entry in details.get("upserted", ()))
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


# --- additive merges: contribution records --------------------------------------------------------

APPLYING = "applying"  # a document's tokens of contributions being added to it right now
PENDING, APPLIED = "pending", "applied"
DELTA, RECOMPUTE = "delta", "recompute"


def contributions_of(collection_name):
    return collection_name + "_contributions"


def contribution_id(batch_id, key):
    """'<batch>|<key>': batch ids hold no '|' (loaders/load.py refuses them), so it is unambiguous."""
    return "%s|%s" % (batch_id, key)


def want_digest(want):
    """A stable digest of what a batch adds to one key, to tell a replay from other content."""
    import hashlib

    import orjson

    return hashlib.sha256(orjson.dumps(want, option=orjson.OPT_SORT_KEYS | orjson.OPT_NAIVE_UTC)).hexdigest()[:24]


def _flat(nested):
    """{'click_count': 3, 'actions': {'view': 2}} -> {'click_count': 3, 'actions.view': 2}."""
    flat = {}
    for name, value in nested.items():
        if isinstance(value, dict):
            flat.update(("%s.%s" % (name, inner), count) for inner, count in value.items())
        else:
            flat[name] = value
    return flat


def _utc(moment):
    from datetime import timezone

    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def delta_update(key_field, key, want, token, now):
    """The guarded merge that adds ``want`` to its document once: ``$inc`` the sums, widen the
    ``$min``/``$max`` times, push ``token`` into the document's APPLYING list (see merge_chunk)."""
    on_insert = {key_field: key}
    latest = want.get("latest")
    if latest:
        on_insert.update(latest["set"], last_event=latest["key"])
    update = {"$inc": _flat(want["inc"]), "$set": {"updated_at": now}, "$setOnInsert": on_insert,
              "$push": {APPLYING: token}}
    if want.get("min"):
        update["$min"] = want["min"]
    if want.get("max"):
        update["$max"] = want["max"]
    return UpdateOne({key_field: key, APPLYING: {"$ne": token}}, update, upsert=True)


def recomputed_fields(wants):
    """A document's fields from every contribution it has: sums, min/max times and the latest
    event. Counts under a map (``actions``) that sum to 0 are left out."""
    sums, lows, highs, latest = {}, {}, {}, None
    for want in wants:
        for name, value in want["inc"].items():
            if isinstance(value, dict):
                inner = sums.setdefault(name, {})
                for field, count in value.items():
                    inner[field] = inner.get(field, 0) + count
            else:
                sums[name] = sums.get(name, 0) + value
        for name, moment in (want.get("min") or {}).items():
            lows[name] = min(lows.get(name, _utc(moment)), _utc(moment))
        for name, moment in (want.get("max") or {}).items():
            highs[name] = max(highs.get(name, _utc(moment)), _utc(moment))
        if want.get("latest") and (latest is None or want["latest"]["key"] > latest["key"]):
            latest = want["latest"]
    fields = {name: ({field: count for field, count in value.items() if count} if isinstance(value, dict) else value)
              for name, value in sums.items()}
    fields.update(lows)
    fields.update(highs)
    if latest:
        fields.update(latest["set"], last_event=latest["key"])
    return fields


class MergeTarget:
    """An additive loader's collection, its contributions collection and its key field."""

    def __init__(self, db, collection_name, key_field):
        self.collection = db[collection_name]
        self.contributions = db[contributions_of(collection_name)]
        self.key_field = key_field

    def ensure_indexes(self):
        from pymongo import ASCENDING, IndexModel

        # Lookups go through _id; these serve only --force replacements (a recompute by key, the
        # stale contributions of a batch) on servers that build non-unique indexes.
        self.contributions.create_indexes([IndexModel([("key", ASCENDING)], name="key"),
                                           IndexModel([("batch", ASCENDING)], name="batch")])


def _attempt_stamp(cid, attempt):
    return UpdateOne({"_id": cid}, {"$set": {"attempt": attempt}})


def merge_chunk(target, chunk, batch_id, stats, attempt, replacing=False, now=None):
    """Add one chunk of a batch, ``chunk`` = [(key, want)], exactly once. Round trips, each for
    the whole chunk:
    1. read the chunk's contribution records (``_id: {$in}``);
    2. write the new and changed ones as ``pending``, each with a new token;
    3. merge each new contribution into its document (``delta_update``, filtered on the token not
       being in APPLYING, upserted). A duplicate-key error on the unique key means the document
       has the token already: counted as already applied, after a check;
    4. set the latest event (user_clicks' last_action) where it is newer, guarded by the token;
    5. recompute the documents whose contribution changed (other content under the same batch
       id) from all their contribution records, and ``$set`` them;
    6. mark the contributions ``applied``; 7. ``$pull`` the tokens from the documents (and those of
       applied contributions met again: a load killed before its step 7 left them).
    A crash leaves each contribution absent (never applied), pending (its token in the document
    says whether step 3 landed; the re-run repeats steps 3-7 with the same token) or applied
    (skipped). APPLYING holds only the tokens of writes in flight, never a window of batches.
    ``replacing``: the batch replaces earlier content: every record of this attempt is stamped
    with ``attempt``, so ``retract_stale`` can find the keys the new content no longer has."""
    from datetime import datetime, timezone
    from uuid import uuid4

    now = now or datetime.now(timezone.utc)
    ids = [contribution_id(batch_id, key) for key, _want in chunk]
    existing = {record["_id"]: record for record in target.contributions.find({"_id": {"$in": ids}})}
    writes, deltas, changed, stale_tokens = [], [], [], []
    for (key, want), cid in zip(chunk, ids):
        digest = want_digest(want)
        old = existing.get(cid)
        if old is not None and old["digest"] == digest and old["mode"] == DELTA:
            if old["state"] == APPLIED:
                stats["already_applied"] += 1
                stale_tokens.append((key, old["token"]))  # a load killed before step 7 left it there
            else:
                deltas.append((key, want, old["token"], cid))  # a crashed attempt's write: finish it
            if replacing:
                writes.append(_attempt_stamp(cid, attempt))
            continue
        if old is not None and old["digest"] == digest and old["state"] == APPLIED:
            stats["already_applied"] += 1  # a replacement that completed
            if replacing:
                writes.append(_attempt_stamp(cid, attempt))
            continue
        token = uuid4().hex
        mode = DELTA if old is None else RECOMPUTE
        writes.append(UpdateOne({"_id": cid}, {"$set": {
            "batch": batch_id, "key": key, "want": want, "digest": digest, "state": PENDING, "mode": mode,
            "token": token, "attempt": attempt, "updated_at": now}}, upsert=True))
        (deltas if mode == DELTA else changed).append((key, want, token, cid))
    side = {}
    if writes:
        _bulk(target.contributions, writes, side)
    _merge_deltas(target, deltas, stats, now)
    if changed:
        recompute(target, [key for key, _want, _token, _cid in changed], stats, now)
        stats["replaced"] = stats.get("replaced", 0) + len(changed)
    done = deltas + changed
    if done:
        _bulk(target.contributions, [UpdateOne({"_id": cid, "token": token}, {"$set": {"state": APPLIED}})
                                     for _key, _want, token, cid in done], side)
    pulls = [(key, token) for key, _want, token, _cid in deltas] + stale_tokens
    if pulls:
        _bulk(target.collection, [UpdateOne({target.key_field: key}, {"$pull": {APPLYING: token}})
                                  for key, token in pulls], side)


def _merge_deltas(target, deltas, stats, now):
    key_field = target.key_field
    pending = [(key, token, delta_update(key_field, key, want, token, now)) for key, want, token, _cid in deltas]
    for _attempt in range(RETRIES + 1):
        if not pending:
            break
        duplicates = _bulk(target.collection, [operation for _key, _token, operation in pending], stats)
        collided = [pending[index] for index in duplicates]
        if not collided:
            break
        holding = {document[key_field]: document.get(APPLYING) or [] for document in target.collection.find(
            {key_field: {"$in": list({key for key, _token, _operation in collided})}}, {key_field: 1, APPLYING: 1})}
        stats["already_applied"] += sum(1 for key, token, _operation in collided if token in holding.get(key, ()))
        pending = [item for item in collided if item[1] not in holding.get(item[0], ())]
        if not pending:
            break
    else:
        raise ServiceError("bulk write to %s: %d upserts kept colliding on %s; is another loader running?"
                           % (target.collection.name, len(pending), key_field))
    latest = []
    for key, want, token, _cid in deltas:
        if want.get("latest"):
            newer = want["latest"]
            latest.append(UpdateOne({key_field: key, "last_event": {"$lt": newer["key"]}, APPLYING: token},
                                    {"$set": dict(newer["set"], last_event=newer["key"])}))
    if latest:
        counts = {}
        _bulk(target.collection, latest, counts)
        stats["auxiliary_matched"] += counts["matched"]


def recompute(target, keys, stats, now, excluded_ids=()):
    """Set each key's document from all its contribution records (those in ``excluded_ids``
    left out); a key with none left is deleted. Pending delta contributions of other batches are
    counted and their tokens kept in APPLYING, so their re-runs find them applied."""
    key_field = target.key_field
    wants, tokens = {key: [] for key in keys}, {key: [] for key in keys}
    for record in target.contributions.find({"key": {"$in": list(keys)}}):
        if record["_id"] in excluded_ids or record["key"] not in wants:
            continue
        wants[record["key"]].append(record["want"])
        if record["state"] == PENDING and record["mode"] == DELTA:
            tokens[record["key"]].append(record["token"])
    operations = []
    for key in keys:
        if wants[key]:
            fields = dict(recomputed_fields(wants[key]), updated_at=now, **{APPLYING: tokens[key]})
            fields[key_field] = key
            operations.append(UpdateOne({key_field: key}, {"$set": fields}, upsert=True))
        else:
            operations.append(DeleteOne({key_field: key}))
    _bulk(target.collection, operations, stats)


def retract_stale(target, batch_id, attempt, stats, now=None):
    """After a replacement: the batch's contributions this attempt did not write (keys its new
    content no longer has) are marked, their documents recomputed without them, then deleted."""
    from datetime import datetime, timezone

    now = now or datetime.now(timezone.utc)
    stale = [(record["_id"], record["key"]) for record in target.contributions.find(
        {"batch": batch_id, "attempt": {"$ne": attempt}}, {"key": 1})]
    for start in range(0, len(stale), DEFAULT_CHUNK):
        part = stale[start:start + DEFAULT_CHUNK]
        ids = [cid for cid, _key in part]
        counts = {}
        recompute(target, [key for _cid, key in part], counts, now, excluded_ids=set(ids))
        target.contributions.delete_many({"_id": {"$in": ids}})
    stats["retracted"] = stats.get("retracted", 0) + len(stale)


def merge_in_chunks(target, wants, batch_id, stats, attempt, chunk_size=DEFAULT_CHUNK, replacing=False,
                    prepare_chunk=None):
    """Merge an iterable of (key, want, extra) in chunks; ``prepare_chunk(chunk) -> [(key, want)]``
    completes a chunk's wants (product_popularity's distinct users), else extra is dropped."""
    target.ensure_indexes()
    prepare_chunk = prepare_chunk or (lambda chunk: [(key, want) for key, want, _extra in chunk])
    chunk = []
    for item in wants:
        chunk.append(item)
        if len(chunk) >= chunk_size:
            merge_chunk(target, prepare_chunk(chunk), batch_id, stats, attempt, replacing)
            chunk = []
    if chunk:
        merge_chunk(target, prepare_chunk(chunk), batch_id, stats, attempt, replacing)
    if replacing:
        retract_stale(target, batch_id, attempt, stats)
    return stats
