"""Checks of job records ((key, value) pairs of a job's output) that refuse bad data with a reject
reason, and the loop that counts rejects by reason. Only RecordRejected becomes a reject: any
other exception from a check is a bug and propagates. Pure: no pymongo.
"""
from clickstream.events import EventRejected, parse_ts, ts_to_datetime


class RecordRejected(ValueError):
    """A job record that cannot be loaded; ``reason`` is what the rejects count it under."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def count_reject(rejected, reason):
    rejected[reason] = rejected.get(reason, 0) + 1


def record_field(value, name, *default):
    """``value[name]`` of a record's value, which must be a JSON object. RecordRejected('bad_record')
    when it is not one, or lacks ``name`` and no ``default`` is given."""
    if not isinstance(value, dict):
        raise RecordRejected("bad_record")
    if name in value:
        return value[name]
    if default:
        return default[0]
    raise RecordRejected("bad_record")


def checked_time(text):
    """An event-model time text -> aware datetime; RecordRejected('bad_time') otherwise."""
    if not isinstance(text, str):
        raise RecordRejected("bad_time")
    try:
        return ts_to_datetime(parse_ts(text))
    except EventRejected:
        raise RecordRejected("bad_time") from None


def checked_count(value):
    """A count is a non-negative int (not a bool); RecordRejected('bad_count') otherwise."""
    if type(value) is not int or value < 0:
        raise RecordRejected("bad_count")
    return value


def checked_records(records, rejected, check):
    """(key, value) records -> ``check(key, value)`` for each; a record the check refuses with
    RecordRejected is counted under its reason and skipped."""
    for key, value in records:
        try:
            checked = check(key, value)
        except RecordRejected as rejection:
            count_reject(rejected, rejection.reason)
            continue
        yield checked
