"""Loader for mr_user_actions output into ``user_clicks``: one document per user.

The pure part turns job records into update operations; ``load_user_actions`` writes them with
unordered bulk writes in sized chunks. Values are only ever values: user ids go into filters as
plain equality on ``user_id``, never as operators or field paths, and action names (which become
field names under ``actions``) are validated by the shared event model's pattern.
"""
from datetime import datetime, timezone

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from clickstream.events import ACTION_PATTERN, EventRejected, parse_ts, ts_to_datetime

COLLECTION = "user_clicks"
INDEXES = [
    IndexModel([("user_id", ASCENDING)], unique=True, name="user_id_unique"),
    IndexModel([("click_count", DESCENDING)], name="click_count_desc"),
    IndexModel([("last_seen", ASCENDING)], name="last_seen"),
]
DEFAULT_CHUNK = 1000


def user_document(user_id, record):
    """A job record -> the fields of its user_clicks document. Raises ValueError with a reason."""
    if type(user_id) is not str or not user_id:
        raise ValueError("bad_user_id")
    actions = record.get("actions") if isinstance(record, dict) else None
    if not isinstance(actions, dict):
        raise ValueError("bad_actions")
    for action, count in actions.items():
        if not ACTION_PATTERN.match(action):
            raise ValueError("bad_action_name")
        if type(count) is not int or count < 0:
            raise ValueError("bad_count")
    click_count = record.get("click_count")
    if type(click_count) is not int or click_count != sum(actions.values()):
        raise ValueError("bad_click_count")
    last_action = record.get("last_action")
    if last_action not in actions:
        raise ValueError("bad_last_action")
    try:
        first_seen = ts_to_datetime(parse_ts(record["first_seen"]))
        last_seen = ts_to_datetime(parse_ts(record["last_seen"]))
    except (KeyError, TypeError, EventRejected):
        raise ValueError("bad_time") from None
    return {
        "user_id": user_id,
        "click_count": click_count,
        "actions": dict(actions),
        "last_action": last_action,
        "first_seen": first_seen,
        "last_seen": last_seen,
    }


def upsert_operation(document, now):
    """The upsert for one user document; the filter is plain equality on the natural key."""
    fields = dict(document, updated_at=now)
    return UpdateOne({"user_id": {"$eq": document["user_id"]}}, {"$set": fields}, upsert=True)


def ensure_indexes(collection):
    collection.create_indexes(INDEXES)


def load_user_actions(collection, records, rejected, chunk_size=DEFAULT_CHUNK, now=None):
    """Upsert (user_id, record) pairs. Counts malformed records in ``rejected``.

    Returns a dict with the number of records applied and documents upserted/matched.
    """
    now = now or datetime.now(timezone.utc)
    ensure_indexes(collection)
    stats = {"records": 0, "upserted": 0, "matched": 0}
    batch = []
    for user_id, record in records:
        try:
            batch.append(upsert_operation(user_document(user_id, record), now))
        except ValueError as error:
            rejected[str(error)] = rejected.get(str(error), 0) + 1
            continue
        if len(batch) >= chunk_size:
            _write(collection, batch, stats)
            batch = []
    if batch:
        _write(collection, batch, stats)
    return stats


def _write(collection, operations, stats):
    result = collection.bulk_write(operations, ordered=False)
    stats["records"] += len(operations)
    stats["upserted"] += result.upserted_count
    stats["matched"] += result.matched_count
