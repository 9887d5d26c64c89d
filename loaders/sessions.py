"""Loader for mr_sessions output into ``sessions``: a record is the whole fact for its session,
``$set`` by key."""
from pymongo import ASCENDING, DESCENDING, IndexModel

from loaders.keyed import BATCH_INDEX, KeyedLoader, checked_count, checked_time, set_by_key


class Sessions(KeyedLoader):
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
        start, end = checked_time(value["start_time"]), checked_time(value["end_time"])
        # A session id seen under two users, or cut by a batch boundary, stays apart: key on all three.
        session_key = "%s|%s|%s" % (session_id, user_id, value["start_time"])
        fields = {"session_key": session_key, "session_id": session_id, "user_id": user_id,
                  "start_time": start, "end_time": end, "pages_visited": list(value["pages_visited"]),
                  "actions": list(value["actions"]), "abandoned_checkout": bool(value["abandoned_checkout"]),
                  "events": checked_count(value["events"])}
        return session_key, set_by_key({"session_key": session_key}, fields, batch_id, now)
