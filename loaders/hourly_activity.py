"""Loader for mr_hourly_activity output into ``hourly_activity``: one document per UTC hour. A
record is the whole fact for its hour (computed from the complete partition), so the load
``$set``s it by key: idempotent by construction. A batch sets only the hours of its own partition:
a record for another hour is rejected (``hour_outside_batch``) and never overwrites that hour."""
from pymongo import ASCENDING, IndexModel

from clickstream.errors import ConfigError
from clickstream.events import ACTION_PATTERN
from clickstream.layout import parse_hour_option
from loaders.base import BATCH_INDEX, SetByKeyLoader, set_by_key
from loaders.record_checks import RecordRejected, checked_count, checked_time, record_field

COUNTS = ("product_page_visits", "cart_adds", "purchases", "distinct_users", "events")


class HourlyActivity(SetByKeyLoader):
    COLLECTION = "hourly_activity"
    KEY_FIELD = "hour"
    INDEXES = [IndexModel([("hour", ASCENDING)], unique=True, name="hour_unique"), BATCH_INDEX]

    @classmethod
    def operation(cls, key, value, batch, now):
        if batch.hours is not None:
            try:
                inside = type(key) is str and parse_hour_option(key, "hour") in batch.hours
            except ConfigError:
                raise RecordRejected("bad_hour") from None
            if not inside:
                raise RecordRejected("hour_outside_batch")
        if type(key) is not str:
            raise RecordRejected("bad_hour")
        hour = record_field(value, "hour", "")
        if not isinstance(hour, (str, list)):  # a JSON list only fails to match the key, below
            raise RecordRejected("bad_record")
        if hour[:13] != key:
            raise RecordRejected("bad_hour")
        actions = record_field(value, "actions")
        if not isinstance(actions, dict) or not all(ACTION_PATTERN.match(name) for name in actions):
            raise RecordRejected("bad_action_name")
        fields = {"hour": key, "hour_start": checked_time(record_field(value, "hour")),
                  "actions": {name: checked_count(count) for name, count in actions.items()}}
        for name in COUNTS:
            fields[name] = checked_count(record_field(value, name))
        return key, set_by_key({"hour": key}, fields, batch.id, now)
