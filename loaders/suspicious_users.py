"""Loader for mr_suspicious_users output into ``suspicious_users``: one document per user and
window, ``$set`` by key."""
from pymongo import ASCENDING, DESCENDING, IndexModel

from loaders.keyed import BATCH_INDEX, KeyedLoader, checked_count, set_by_key


class SuspiciousUsers(KeyedLoader):
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
                  "rule_names": [rule["rule"] for rule in rules], "events": checked_count(value["events"])}
        return flag_key, set_by_key({"flag_key": flag_key}, fields, batch_id, now)
