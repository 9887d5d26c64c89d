"""Loaders for the other jobs' outputs: hourly_activity, product_popularity, sessions and
suspicious_users. Each exposes the interface loaders/load.py uses (COLLECTION, KEY_FIELD,
ensure_indexes, iter_operations) and records the batch in the document's ``batches`` markers.

- hourly_activity, sessions, suspicious_users: a job record is a whole fact for its key (an
  hour's figures are computed from its complete partition), so the load ``$set``s it by key:
  idempotent by construction.
- product_popularity: counts add up across batches, merged like user_clicks (``$inc`` guarded by
  the batch marker). ``distinct_users`` is the sum of each batch's distinct users; conversion
  ratios are computed at query time from the merged counts.
"""
from datetime import datetime, timezone

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from clickstream.events import ACTION_PATTERN, EventRejected, parse_ts, ts_to_datetime

MARKERS_KEPT = 200
# Set-by-key documents carry their one batch; a revision that supersedes a batch deletes the
# documents still carrying it (see loaders/load.py), through this index.
BATCH_INDEX = IndexModel([("batches", ASCENDING)], name="batches")


def _reject(rejected, reason):
    rejected[reason] = rejected.get(reason, 0) + 1


def _time(text):
    try:
        return ts_to_datetime(parse_ts(text))
    except (TypeError, EventRejected):
        raise ValueError("bad_time") from None


def _count(value):
    if type(value) is not int or value < 0:
        raise ValueError("bad_count")
    return value


def _set_by_key(key_filter, fields, batch_id, now):
    return UpdateOne(key_filter, {"$set": dict(fields, updated_at=now, batches=[batch_id])}, upsert=True)


def _run(records, batch_id, rejected, now, to_operation):
    now = now or datetime.now(timezone.utc)
    for key, value in records:
        try:
            yield to_operation(key, value, batch_id, now)
        except (ValueError, KeyError, AttributeError, TypeError) as error:
            _reject(rejected, str(error) if isinstance(error, ValueError) else "bad_record")


class _KeyedLoader:
    """What loaders/load.py calls: indexes, and job records -> (key, update) pairs via ``operation``."""

    INDEXES = []
    ADDITIVE = False  # a record is the whole fact for its key: a late file means recomputing the hour

    @classmethod
    def ensure_indexes(cls, collection):
        collection.create_indexes(cls.INDEXES)

    @classmethod
    def iter_operations(cls, records, batch_id, rejected, now=None):
        return _run(records, batch_id, rejected, now, cls.operation)


class HourlyActivity(_KeyedLoader):
    COLLECTION = "hourly_activity"
    KEY_FIELD = "hour"
    INDEXES = [IndexModel([("hour", ASCENDING)], unique=True, name="hour_unique"), BATCH_INDEX]

    @staticmethod
    def operation(key, value, batch_id, now):
        if type(key) is not str or value.get("hour", "")[:13] != key:
            raise ValueError("bad_hour")
        actions = value["actions"]
        if not isinstance(actions, dict) or not all(ACTION_PATTERN.match(name) for name in actions):
            raise ValueError("bad_action_name")
        fields = {"hour": key, "hour_start": _time(value["hour"]),
                  "actions": {name: _count(count) for name, count in actions.items()}}
        for name in ("product_page_visits", "cart_adds", "purchases", "distinct_users", "events"):
            fields[name] = _count(value[name])
        return key, _set_by_key({"hour": key}, fields, batch_id, now)


class Sessions(_KeyedLoader):
    COLLECTION = "sessions"
    KEY_FIELD = "session_key"
    INDEXES = [IndexModel([("session_key", ASCENDING)], unique=True, name="session_key_unique"),
               IndexModel([("user_id", ASCENDING), ("start_time", DESCENDING)], name="user_sessions_by_time"),
               IndexModel([("session_id", ASCENDING)], name="session_id"), BATCH_INDEX]

    @staticmethod
    def operation(key, value, batch_id, now):
        user_id, session_id = value["user_id"], value["session_id"]
        if type(user_id) is not str or type(session_id) is not str or not user_id:
            raise ValueError("bad_session")
        start, end = _time(value["start_time"]), _time(value["end_time"])
        # A session id seen under two users, or cut by a batch boundary, stays apart: key on all three.
        session_key = "%s|%s|%s" % (session_id, user_id, value["start_time"])
        fields = {"session_key": session_key, "session_id": session_id, "user_id": user_id,
                  "start_time": start, "end_time": end, "pages_visited": list(value["pages_visited"]),
                  "actions": list(value["actions"]), "abandoned_checkout": bool(value["abandoned_checkout"]),
                  "events": _count(value["events"])}
        return session_key, _set_by_key({"session_key": session_key}, fields, batch_id, now)


class SuspiciousUsers(_KeyedLoader):
    COLLECTION = "suspicious_users"
    KEY_FIELD = "flag_key"
    INDEXES = [IndexModel([("flag_key", ASCENDING)], unique=True, name="flag_key_unique"),
               IndexModel([("user_id", ASCENDING)], name="user_id"),
               IndexModel([("events", DESCENDING)], name="events_desc"), BATCH_INDEX]

    @staticmethod
    def operation(key, value, batch_id, now):
        if type(key) is not str or not key or not value["rules"]:
            raise ValueError("bad_flag")
        rules = [{"rule": str(rule["rule"]), "evidence": dict(rule["evidence"])} for rule in value["rules"]]
        # One document per user and window (the batch without its revision): "flagged in that
        # window", with the rules that fired; a later revision of the window replaces it.
        window = batch_id.split("#", 1)[0]
        flag_key = "%s|%s" % (key, window)
        fields = {"flag_key": flag_key, "user_id": key, "window": window, "rules": rules,
                  "rule_names": [rule["rule"] for rule in rules], "events": _count(value["events"])}
        return flag_key, _set_by_key({"flag_key": flag_key}, fields, batch_id, now)


class ProductPopularity(_KeyedLoader):
    COLLECTION = "product_popularity"
    KEY_FIELD = "product_id"
    INDEXES = [IndexModel([("product_id", ASCENDING)], unique=True, name="product_id_unique"),
               IndexModel([("purchases", DESCENDING)], name="purchases_desc"),
               IndexModel([("views", DESCENDING)], name="views_desc")]
    COUNTS = ("views", "cart_adds", "purchases", "events", "distinct_users")
    ADDITIVE = True

    @classmethod
    def operation(cls, key, value, batch_id, now):
        if type(key) is not str or not key:
            raise ValueError("bad_product_id")
        increments = {name: _count(value[name]) for name in cls.COUNTS}
        merge = UpdateOne(
            {"product_id": key, "batches": {"$ne": batch_id}},
            {"$inc": increments, "$set": {"updated_at": now}, "$setOnInsert": {"product_id": key},
             "$push": {"batches": {"$each": [batch_id], "$slice": -MARKERS_KEPT}}},
            upsert=True)
        return key, merge
