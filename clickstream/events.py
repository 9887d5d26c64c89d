"""The one event model every stage uses: parse a raw line into an Event, or reject it with a reason.

A valid event is a UTF-8 JSON object with ``user_id`` (non-empty string, at most 256
characters), ``action`` (``[A-Za-z][A-Za-z0-9_-]{0,63}``, safe as a MongoDB field name) and
``timestamp`` (ISO-8601 with a zone, normalized to UTC). Other fields pass through untouched.
"""
import re
from datetime import datetime, timedelta, timezone

import orjson

MAX_USER_ID_CHARS = 256
ACTION_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAIVE_EPOCH = datetime(1970, 1, 1)

# Every reason an event can be rejected for; counters and dead letters use these codes.
REJECT_REASONS = (
    "not_utf8",
    "invalid_json",
    "not_an_object",
    "missing_user_id",
    "user_id_not_string",
    "empty_user_id",
    "user_id_too_long",
    "missing_action",
    "action_not_string",
    "invalid_action",
    "missing_timestamp",
    "timestamp_not_string",
    "invalid_timestamp",
    "timestamp_without_zone",
)


class EventRejected(ValueError):
    """A line that is not a valid event. ``reason`` is one of REJECT_REASONS."""

    def __init__(self, reason, detail=""):
        super().__init__("%s%s" % (reason, ": " + detail if detail else ""))
        self.reason = reason
        self.detail = detail


class Event:
    """A validated event. ``ts`` is the event time in integer microseconds since the epoch (UTC);
    ``fields`` is the parsed JSON object exactly as it arrived."""

    __slots__ = ("user_id", "action", "ts", "fields")

    def __init__(self, user_id, action, ts, fields):
        self.user_id = user_id
        self.action = action
        self.ts = ts
        self.fields = fields

    @property
    def timestamp(self):
        """The event time as a normalized UTC ISO-8601 string."""
        return format_ts(self.ts)

    def __repr__(self):
        return "Event(user_id=%r, action=%r, timestamp=%r)" % (self.user_id, self.action, self.timestamp)


# Actions repeat endlessly; remember the ones already validated so the hot path skips the regex.
_valid_actions = set()
_VALID_ACTIONS_LIMIT = 4096
# Timestamp text -> microseconds, for texts already parsed: events of one second (or one
# millisecond) share their text, so most lines skip datetime parsing. Cleared when full.
_ts_micros = {}
_TS_CACHE_LIMIT = 1 << 16
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


def parse_event(raw):
    """Parse one line (bytes or str, trailing newline allowed) into an Event.

    Raises EventRejected with a reason code from REJECT_REASONS.
    """
    return Event(*parse_fields(raw))


def parse_fields(raw):
    """``parse_event`` for hot loops: the same checks, as a tuple (user_id, action, ts, fields).

    Raises EventRejected with a reason code from REJECT_REASONS.
    """
    try:
        fields = _loads(raw)
    except _JSONDecodeError:
        if isinstance(raw, (bytes, bytearray, memoryview)):
            try:
                bytes(raw).decode("utf-8")
            except UnicodeDecodeError:
                raise EventRejected("not_utf8") from None
        raise EventRejected("invalid_json") from None
    if type(fields) is not dict:
        raise EventRejected("not_an_object", type(fields).__name__)
    try:  # subscripts are cheaper than get() calls, and valid events have all three
        user_id = fields["user_id"]
        action = fields["action"]
        timestamp = fields["timestamp"]
    except KeyError:  # the checks below tell a missing field apart, in their order
        user_id, action, timestamp = fields.get("user_id"), fields.get("action"), fields.get("timestamp")
    if type(user_id) is not str or not user_id or len(user_id) > MAX_USER_ID_CHARS:
        _reject_user_id(fields, user_id)
    if type(action) is not str or action not in _valid_actions:
        _check_action(fields, action)
    try:
        ts = _ts_micros.get(timestamp)
    except TypeError:  # unhashable (a list or an object): rejected below
        ts = None
    if ts is None:
        ts = _timestamp_micros(fields, timestamp)
    return user_id, action, ts, fields


def _reject_user_id(fields, user_id):
    if type(user_id) is not str:
        if user_id is None and "user_id" not in fields:
            raise EventRejected("missing_user_id")
        raise EventRejected("user_id_not_string", type(user_id).__name__)
    if not user_id:
        raise EventRejected("empty_user_id")
    raise EventRejected("user_id_too_long", "%d characters" % len(user_id))


def _check_action(fields, action):
    if type(action) is not str:
        if action is None and "action" not in fields:
            raise EventRejected("missing_action")
        raise EventRejected("action_not_string", type(action).__name__)
    if not ACTION_PATTERN.match(action):
        raise EventRejected("invalid_action", repr(action[:80]))
    if len(_valid_actions) < _VALID_ACTIONS_LIMIT:
        _valid_actions.add(action)


def _timestamp_micros(fields, timestamp):
    if type(timestamp) is not str:
        if timestamp is None and "timestamp" not in fields:
            raise EventRejected("missing_timestamp")
        raise EventRejected("timestamp_not_string", type(timestamp).__name__)
    ts = parse_ts(timestamp)
    if len(_ts_micros) >= _TS_CACHE_LIMIT:
        _ts_micros.clear()
    _ts_micros[timestamp] = ts
    return ts


def parse_ts(text):
    """ISO-8601 text with a zone -> integer microseconds since the epoch (UTC).

    Raises EventRejected('invalid_timestamp' or 'timestamp_without_zone').
    """
    # fromisoformat also takes ISO week dates and basic formats; insist on the extended
    # calendar form YYYY-MM-DDTHH:MM... that every producer here writes.
    if len(text) < 17 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt " or text[13] != ":":
        raise EventRejected("invalid_timestamp", repr(text[:40]))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise EventRejected("invalid_timestamp", repr(text[:40])) from None
    if moment.tzinfo is None:
        raise EventRejected("timestamp_without_zone", repr(text[:40]))
    # integer arithmetic on the timedelta's parts: exact, and faster than timedelta // timedelta
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def format_ts(ts):
    """Integer microseconds since the epoch -> 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z' (UTC)."""
    moment = _NAIVE_EPOCH + timedelta(microseconds=ts)
    if moment.year >= 1000:
        # isoformat() writes exactly this form (fraction only when non-zero), faster than strftime
        return moment.isoformat() + "Z"
    if moment.microsecond:  # strftime does not pad years below 1000; keep its output there
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ts_to_datetime(ts):
    """Integer microseconds since the epoch -> an aware UTC datetime."""
    return EPOCH + timedelta(microseconds=ts)
