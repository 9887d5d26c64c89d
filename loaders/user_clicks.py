"""Loader for mr_user_actions output into ``user_clicks``: one document per user, merged
incrementally and exactly once, batch by batch, through contribution records (loaders/bulk.py's
``merge_chunk``).

A record becomes the batch's contribution to its user: the counts it adds (``$inc``), its first
and last times (``$min``/``$max``) and its latest event, the ``last_event`` key (fixed-width UTC
time, then the action), which sets ``last_action`` only where it is newer and only together with
the counts of the same contribution: last_action always names an action the document counts.
A contribution replaced by other content is recomputed from the user's contributions. Values are
only values: the user id is a validated string, only ever compared for equality, and action
names (field names under ``actions``) are checked against the event model's pattern.
"""
from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from clickstream.events import ACTION_PATTERN, EventRejected, parse_ts, ts_to_datetime
from loaders.base import AdditiveLoader
from loaders.record_checks import RecordRejected, checked_records


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
    """(key, value) of a job output line -> UserRecord. Raises RecordRejected with a reason code."""
    if type(user_id) is not str or not user_id:
        raise RecordRejected("bad_user_id")
    actions = record.get("actions") if isinstance(record, dict) else None
    if not isinstance(actions, dict) or not actions:
        raise RecordRejected("bad_actions")
    for action, count in actions.items():
        if not ACTION_PATTERN.match(action):
            raise RecordRejected("bad_action_name")
        if type(count) is not int or count <= 0:
            raise RecordRejected("bad_count")
    click_count = record.get("click_count")
    if type(click_count) is not int or click_count != sum(actions.values()):
        raise RecordRejected("bad_click_count")
    last_action = record.get("last_action")
    if type(last_action) is not str or last_action not in actions:
        raise RecordRejected("bad_last_action")
    first_ts, last_ts = _time(record, "first_seen"), _time(record, "last_seen")
    if first_ts > last_ts:
        raise RecordRejected("bad_time")
    return UserRecord(user_id, click_count, dict(actions), last_action, first_ts, last_ts)


def _time(record, name):
    text = record.get(name)
    if not isinstance(text, str):
        raise RecordRejected("bad_time")
    try:
        return parse_ts(text)
    except EventRejected:
        raise RecordRejected("bad_time") from None


def last_event_key(ts, action):
    """Orders (time, action) as the job does: later time first, then the greater action name."""
    moment = ts_to_datetime(ts)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") + " " + action


def user_want(user):
    """What one user's batch record adds to their document (see loaders/bulk.py's delta_update)."""
    return {"inc": {"click_count": user.click_count, "actions": dict(user.actions)},
            "min": {"first_seen": ts_to_datetime(user.first_ts)},
            "max": {"last_seen": ts_to_datetime(user.last_ts)},
            "latest": {"key": last_event_key(user.last_ts, user.last_action),
                       "set": {"last_action": user.last_action}}}


def user_operations(user, batch_id, now):
    """The two document updates a user's record becomes on its first load, with ``batch_id`` as
    the token: the guarded merge and the latest-event update (bench/bench_loader.py writes them
    bare, without the contribution records around them)."""
    from loaders.bulk import APPLYING, delta_update

    want = user_want(user)
    latest = want["latest"]
    newer = UpdateOne({"user_id": user.user_id, "last_event": {"$lt": latest["key"]}, APPLYING: batch_id},
                      {"$set": dict(latest["set"], last_event=latest["key"])})
    return delta_update("user_id", user.user_id, want, batch_id, now), newer


class UserClicks(AdditiveLoader):
    """Counts add up across batches: a late file is loaded as a batch of its own."""

    COLLECTION = "user_clicks"
    KEY_FIELD = "user_id"
    INDEXES = [
        IndexModel([("user_id", ASCENDING)], unique=True, name="user_id_unique"),
        IndexModel([("click_count", DESCENDING)], name="click_count_desc"),
        IndexModel([("last_seen", ASCENDING)], name="last_seen"),
    ]

    @classmethod
    def iter_wants(cls, records, batch_id, rejected):
        """(user_id, record) pairs -> (user_id, want, None); malformed records are counted, not applied."""
        return checked_records(records, rejected, _user_contribution)


def _user_contribution(user_id, record):
    """A record -> its user's contribution (user_id, want, None); RecordRejected with the reason."""
    user = validate_record(user_id, record)
    return user.user_id, user_want(user), None
