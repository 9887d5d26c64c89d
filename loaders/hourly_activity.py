"""Loader for mr_hourly_activity output into ``hourly_activity``: one document per UTC hour. A
record is the whole fact for its hour (computed from the complete partition), so the load
``$set``s it by key: idempotent by construction. A batch sets only the hours of its own partition:
a record for another hour is rejected (``hour_outside_batch``) and never overwrites that hour."""
from pymongo import ASCENDING, IndexModel

from clickstream.errors import ConfigError
from clickstream.events import ACTION_PATTERN
from clickstream.layout import parse_hour_option
from loaders.keyed import BATCH_INDEX, KeyedLoader, checked_count, checked_time, keyed_operations, set_by_key


class HourlyActivity(KeyedLoader):
    COLLECTION = "hourly_activity"
    KEY_FIELD = "hour"
    INDEXES = [IndexModel([("hour", ASCENDING)], unique=True, name="hour_unique"), BATCH_INDEX]

    @classmethod
    def iter_operations(cls, records, batch_id, rejected, now=None):
        from loaders.load import batch_hours  # loaders/load.py imports this module

        hours = batch_hours(batch_id)

        def operation(key, value, batch_id, now):
            if hours is not None:
                try:
                    inside = type(key) is str and parse_hour_option(key, "hour") in hours
                except ConfigError:
                    raise ValueError("bad_hour") from None
                if not inside:
                    raise ValueError("hour_outside_batch")
            return cls.operation(key, value, batch_id, now)

        return keyed_operations(records, batch_id, rejected, now, operation)

    @staticmethod
    def operation(key, value, batch_id, now):
        if type(key) is not str or value.get("hour", "")[:13] != key:
            raise ValueError("bad_hour")
        actions = value["actions"]
        if not isinstance(actions, dict) or not all(ACTION_PATTERN.match(name) for name in actions):
            raise ValueError("bad_action_name")
        fields = {"hour": key, "hour_start": checked_time(value["hour"]),
                  "actions": {name: checked_count(count) for name, count in actions.items()}}
        for name in ("product_page_visits", "cart_adds", "purchases", "distinct_users", "events"):
            fields[name] = checked_count(value[name])
        return key, set_by_key({"hour": key}, fields, batch_id, now)
