"""The serving questions, as MongoDB queries that both MongoDB and FerretDB answer.

Each function returns plain dicts without ``_id``; ``SHELL`` has the same questions for mongosh.
"""
from pymongo import DESCENDING

from loaders.user_clicks import COLLECTION as USER_CLICKS

USER_FIELDS = {"_id": 0, "user_id": 1, "click_count": 1, "last_action": 1, "first_seen": 1, "last_seen": 1, "actions": 1}

# The same questions for the Mongo shell; {n} and {limit} are filled in.
SHELL = {
    "users_above": "db.user_clicks.find({{click_count: {{$gt: {n}}}}}, {{_id: 0}}).sort({{click_count: -1}})",
    "top_users": "db.user_clicks.find({{}}, {{_id: 0}}).sort({{click_count: -1, user_id: 1}}).limit({limit})",
}


def users_above(db, min_clicks, limit=0):
    """Users with more than ``min_clicks`` clicks (the seed's find({"click_count": {"$gt": N}})), most first."""
    cursor = db[USER_CLICKS].find({"click_count": {"$gt": int(min_clicks)}}, USER_FIELDS)
    cursor = cursor.sort([("click_count", DESCENDING), ("user_id", 1)])
    if limit:
        cursor = cursor.limit(int(limit))
    return list(cursor)


def top_users(db, limit=10):
    """The ``limit`` users with the most clicks; ties by user id."""
    cursor = db[USER_CLICKS].find({}, USER_FIELDS).sort([("click_count", DESCENDING), ("user_id", 1)])
    return list(cursor.limit(int(limit)))
