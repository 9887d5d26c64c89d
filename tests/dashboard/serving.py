"""Known serving documents for the in-process MongoDB stand-in, shaped as the loaders write them."""
from datetime import datetime, timedelta


DAY = "2024-12-29"
AWKWARD_USERS = ("$ne", "<script>alert('x')</script>", "a.b & \"c\"")


def hourly_documents():
    documents = []
    for day, hours in ((DAY, range(0, 24, 3)), ("2024-12-28", (22, 23))):
        for hour in hours:
            events = 100 + hour * 7
            documents.append({"hour": "%sT%02d" % (day, hour), "events": events, "distinct_users": 10 + hour,
                              "product_page_visits": events // 3, "cart_adds": events // 9, "purchases": hour // 4,
                              "actions": {"view_product": events // 3}, "batches": ["b"]})
    return documents


def user_documents():
    users = [{"user_id": "user-%03d" % n, "click_count": (n * 13) % 50 + 1, "actions": {"view_product": 1},
              "last_action": "view_product", "first_seen": datetime(2024, 12, 29), "last_seen": datetime(2024, 12, 29, 5)}
             for n in range(60)]
    users += [{"user_id": user, "click_count": 60 + number, "actions": {"purchase": 60 + number},
               "last_action": "purchase", "first_seen": datetime(2024, 12, 29), "last_seen": datetime(2024, 12, 29, 1)}
              for number, user in enumerate(AWKWARD_USERS)]
    return users


def product_documents():
    return [{"product_id": "p-%d" % n if n % 2 else n, "views": 40 + n * 3, "cart_adds": n % 7, "purchases": n % 3,
             "events": 40 + n * 3 + n % 7 + n % 3, "distinct_users": 5 + n} for n in range(30)]


def session_documents(user):
    start = datetime(2024, 12, 29, 1)
    return [{"session_key": "[\"s%d\"]" % n, "session_id": "s-%d-%s" % (n, user), "user_id": user,
             "start_time": start + timedelta(hours=n), "end_time": start + timedelta(hours=n, minutes=5),
             "pages_visited": [{"page_name": "home", "visit_timestamp": start + timedelta(hours=n)},
                               {"page_name": "<b>product</b>", "visit_timestamp": start + timedelta(hours=n, minutes=2),
                                "product_id": "p-1"}],
             "actions": [{"action": "add_to_cart", "timestamp": start + timedelta(hours=n, minutes=3), "product_id": "p-1"}],
             "abandoned_checkout": n == 0, "events": 3, "timeline": [[0, "x", "y", None]]} for n in range(2)]


def load_serving_documents(mongo_db):
    mongo_db.hourly_activity.insert_many(hourly_documents())
    mongo_db.user_clicks.insert_many(user_documents())
    mongo_db.product_popularity.insert_many(product_documents())
    for user in ("$ne", "user-001"):
        mongo_db.sessions.insert_many(session_documents(user))
    mongo_db.suspicious_users.insert_many([
        # one document per user (the new shape) ...
        {"_id": "bot-1", "user_id": "bot-1", "events": 120, "rule_names": ["events_per_minute"], "window_hours": 24,
         "rules": [{"rule": "events_per_minute", "evidence": {"events_in_60s": 120, "max_events_per_minute": 30,
                                                              "window": {"start": "2024-12-29T00", "end": "2024-12-30T00"}}}]},
        # ... and per user and batch (the old one)
        {"flag_key": "k", "user_id": "<script>bot</script>", "events": 60, "window": "suspicious-users:dt=2024-12-29",
         "rule_names": ["views_only"], "rules": [{"rule": "views_only", "evidence": {"views": 60}}], "batches": ["x"]},
    ])
    mongo_db.runs.insert_many([
        {"_id": "run-2", "started_at": datetime(2024, 12, 29, 6), "status": "failed", "exit_code": 1, "seconds": 4.5,
         "summary": "1 broken", "totals": {"events": 50, "hours": ["dt=2024-12-29/hour=05"]},
         "steps": [{"job": "user-actions", "partition": "dt=2024-12-29/hour=05", "step": "load", "status": "failed",
                    "seconds": 1.25, "counts": {"upserted": 3},
                    "invariants": [{"name": "no output record rejected", "ok": False, "detail": "2 rejected"}]}]},
        {"_id": "run-1", "started_at": datetime(2024, 12, 29, 5), "status": "done", "exit_code": 0, "seconds": 9.0,
         "totals": {"events": 700}, "steps": [{"job": "user-actions", "partition": "dt=2024-12-29/hour=04",
                                                "step": "mr", "status": "ok", "seconds": 3.5, "counts": {"events": 700},
                                                "invariants": [{"name": "x", "ok": True, "detail": "1 = 1"}]}]},
    ])
    return mongo_db
