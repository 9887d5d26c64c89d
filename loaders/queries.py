"""The serving questions, as MongoDB queries that both MongoDB and the stack's server answer
(finds with sort/limit/projection only; no aggregation stages FerretDB lacks).

Each function returns plain dicts without ``_id``; ``SHELL`` has the same questions for mongosh
(the README's "Mongo shell queries" section, checked by the integration tests).
"""
from datetime import datetime

from pymongo import DESCENDING

USER_FIELDS = {"_id": 0, "user_id": 1, "click_count": 1, "last_action": 1, "first_seen": 1, "last_seen": 1,
               "actions": 1}
SESSION_FIELDS = {"_id": 0, "session_id": 1, "start_time": 1, "end_time": 1, "events": 1, "abandoned_checkout": 1}
HOUR_FIELDS = {"_id": 0, "hour": 1, "events": 1, "distinct_users": 1, "product_page_visits": 1, "cart_adds": 1,
               "purchases": 1}
PRODUCT_FIELDS = {"_id": 0, "product_id": 1, "views": 1, "cart_adds": 1, "purchases": 1, "distinct_users": 1}
FLAG_FIELDS = {"_id": 0, "user_id": 1, "rule_names": 1, "events": 1, "window_hours": 1, "rules": 1}

# The same questions for the Mongo shell; {n}, {limit}, {user} and {day} are filled in.
SHELL = {
    "users_above": "db.user_clicks.find({{click_count: {{$gt: {n}}}}}, {{_id: 0}}).sort({{click_count: -1}})",
    "top_users": "db.user_clicks.find({{}}, {{_id: 0}}).sort({{click_count: -1, user_id: 1}}).limit({limit})",
    "user": "db.user_clicks.findOne({{user_id: {user}}}, {{_id: 0, applying: 0}})",
    "user_sessions": "db.sessions.find({{user_id: {user}}}, {{_id: 0, timeline: 0}}).sort({{start_time: -1}})"
                     ".limit({limit})",
    "hourly": "db.hourly_activity.find({{hour: {{$gte: \"{day}T00\", $lte: \"{day}T23\"}}}}, {{_id: 0}}).sort({{hour: 1}})",
    "top_products": "db.product_popularity.find({{}}, {{_id: 0}}).sort({{purchases: -1, views: -1, product_id: 1}})"
                    ".limit({limit})",
    "suspicious": "db.suspicious_users.find({{}}, {{_id: 0}}).sort({{events: -1, user_id: 1}}).limit({limit})",
}


def users_above(db, min_clicks, limit=0):
    """Users with more than ``min_clicks`` clicks (the seed's find({"click_count": {"$gt": N}})), most first."""
    cursor = db.user_clicks.find({"click_count": {"$gt": int(min_clicks)}}, USER_FIELDS)
    cursor = cursor.sort([("click_count", DESCENDING), ("user_id", 1)])
    return list(cursor.limit(int(limit)) if limit else cursor)


def top_users(db, limit=10):
    """The ``limit`` users with the most clicks; ties by user id."""
    cursor = db.user_clicks.find({}, USER_FIELDS).sort([("click_count", DESCENDING), ("user_id", 1)])
    return list(cursor.limit(int(limit)))


def user_profile(db, user_id, sessions=10):
    """One user's document and newest sessions: (profile or None, [sessions])."""
    profile = db.user_clicks.find_one({"user_id": str(user_id)}, USER_FIELDS)
    recent = db.sessions.find({"user_id": str(user_id)}, SESSION_FIELDS).sort([("start_time", DESCENDING)])
    return profile, list(recent.limit(int(sessions)))


def hourly_series(db, day):
    """The 'YYYY-MM-DD' day's hourly figures, in hour order."""
    datetime.strptime(day, "%Y-%m-%d")  # ValueError for a bad day
    cursor = db.hourly_activity.find({"hour": {"$gte": day + "T00", "$lte": day + "T23"}}, HOUR_FIELDS)
    return list(cursor.sort([("hour", 1)]))


def with_conversion(product):
    """Adds view_to_cart and cart_to_purchase (6 decimals, None when undefined) to a product row."""
    views, carts = product.get("views", 0), product.get("cart_adds", 0)
    product["view_to_cart"] = round(carts / views, 6) if views else None
    product["cart_to_purchase"] = round(product.get("purchases", 0) / carts, 6) if carts else None
    return product


def top_products(db, limit=10):
    """Products by purchases, then views; with conversion ratios."""
    cursor = db.product_popularity.find({}, PRODUCT_FIELDS).sort(
        [("purchases", DESCENDING), ("views", DESCENDING), ("product_id", 1)])
    return [with_conversion(product) for product in cursor.limit(int(limit))]


def suspicious(db, limit=20):
    """Flagged users, one row each, with the rules that fired and their evidence; busiest first
    (``events``: the most events in one of the user's firing windows)."""
    cursor = db.suspicious_users.find({}, FLAG_FIELDS).sort([("events", DESCENDING), ("user_id", 1)])
    return list(cursor.limit(int(limit)))
