"""Loader for mr_hourly_activity output into ``hourly_activity``: one document per UTC hour. A
record is the whole fact for its hour (computed from the complete partition), so the load
``$set``s it by key: idempotent by construction."""
from pymongo import ASCENDING, IndexModel

from clickstream.events import ACTION_PATTERN
from loaders.keyed import BATCH_INDEX, KeyedLoader, checked_count, checked_time, set_by_key


class HourlyActivity(KeyedLoader):
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
        fields = {"hour": key, "hour_start": checked_time(value["hour"]),
                  "actions": {name: checked_count(count) for name, count in actions.items()}}
        for name in ("product_page_visits", "cart_adds", "purchases", "distinct_users", "events"):
            fields[name] = checked_count(value[name])
        return key, set_by_key({"hour": key}, fields, batch_id, now)
