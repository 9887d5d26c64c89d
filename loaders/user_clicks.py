"""Loader for mr_user_actions output into ``user_clicks``: one document per user, merged
incrementally and idempotently, batch by batch.

Each record becomes two updates, written unordered in chunks:
1. ``merge``: filter ``{user_id, batches: {$ne: B}}``, upsert. It adds the batch's counts ($inc),
   widens first_seen/last_seen ($min/$max) and records B in the document's ``batches`` marker
   list in the same atomic document update. If the document already carries B, the filter
   misses, the upsert collides with the unique user_id index, and the duplicate-key error
   means "already applied": re-running a batch, whole or after a crash, never double counts.
2. ``latest``: ``$set`` last_action where the stored ``last_event`` key (fixed-width UTC time,
   then the action) is older. It is monotonic, so it is right in any order and any number of
   times; a new document gets its last_action from the merge's ``$setOnInsert``.
The ledger (loaders/ledger.py) skips completed batches as a whole. Values are only values: the
user id is a validated string, so it is only ever compared for equality, and action names (field names under ``actions``) are
checked against the event model's pattern.
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
# Batch markers kept per document. A crashed batch is completed by re-running it before this
# many newer batches touch the same user (the ledger skips completed batches regardless).
MARKERS_KEPT = 200


class UserRecord:
    """A validated mr_user_actions record."""

    __slots__ = ("user_id", "click_count", "actions", "last_action", "first_ts", "last_ts")

    def __init__(self, user_id, click_count, actions, last_action, first_ts, last_ts):
        self.user_id = user_id
        self.click_count = click_count
        self.actions = actions
        self.last_action = last_action
        self.first_ts = first_ts
        self.last_ts = last_ts


def validate_record(user_id, record):
    """(key, value) of a job output line -> UserRecord. Raises ValueError with a reason code."""
    if type(user_id) is not str or not user_id:
        raise ValueError("bad_user_id")
    actions = record.get("actions") if isinstance(record, dict) else None
    if not isinstance(actions, dict) or not actions:
        raise ValueError("bad_actions")
    for action, count in actions.items():
        if not ACTION_PATTERN.match(action):
            raise ValueError("bad_action_name")
        if type(count) is not int or count <= 0:
            raise ValueError("bad_count")
    click_count = record.get("click_count")
    if type(click_count) is not int or click_count != sum(actions.values()):
        raise ValueError("bad_click_count")
    last_action = record.get("last_action")
    if last_action not in actions:
        raise ValueError("bad_last_action")
    try:
        first_ts = parse_ts(record["first_seen"])
        last_ts = parse_ts(record["last_seen"])
    except (KeyError, TypeError, EventRejected):
        raise ValueError("bad_time") from None
    if first_ts > last_ts:
        raise ValueError("bad_time")
    return UserRecord(user_id, click_count, dict(actions), last_action, first_ts, last_ts)


def last_event_key(ts, action):
    """Orders (time, action) as the job does: later time first, then the greater action name."""
    moment = ts_to_datetime(ts)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") + " " + action


def user_operations(user, batch_id, now):
    """The two idempotent updates that merge one user's batch record (see the module docstring)."""
    key_filter = user.user_id  # a validated str: plain equality (servers use the index for it)
    latest = last_event_key(user.last_ts, user.last_action)
    increments = {"click_count": user.click_count}
    for action, count in user.actions.items():
        increments["actions." + action] = count
    merge = UpdateOne(
        {"user_id": key_filter, "batches": {"$ne": batch_id}},
        {"$inc": increments,
         "$min": {"first_seen": ts_to_datetime(user.first_ts)},
         "$max": {"last_seen": ts_to_datetime(user.last_ts)},
         "$set": {"updated_at": now},
         "$setOnInsert": {"user_id": user.user_id, "last_action": user.last_action, "last_event": latest},
         "$push": {"batches": {"$each": [batch_id], "$slice": -MARKERS_KEPT}}},
        upsert=True)
    newer = UpdateOne(
        {"user_id": key_filter, "last_event": {"$lt": latest}},
        {"$set": {"last_action": user.last_action, "last_event": latest}})
    return merge, newer


def ensure_indexes(collection):
    collection.create_indexes(INDEXES)


KEY_FIELD = "user_id"
ADDITIVE = True  # counts add up across batches: a late file is loaded as a batch of its own


def iter_operations(records, batch_id, rejected, now=None):
    """(user_id, record) pairs -> (user_id, update) pairs; malformed records are counted, not applied."""
    now = now or datetime.now(timezone.utc)
    for user_id, record in records:
        try:
            user = validate_record(user_id, record)
        except ValueError as error:
            rejected[str(error)] = rejected.get(str(error), 0) + 1
            continue
        merge, newer = user_operations(user, batch_id, now)
        yield user.user_id, merge
        yield None, newer  # auxiliary: see loaders/bulk.py
