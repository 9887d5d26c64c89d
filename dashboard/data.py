"""What each page shows, read from the serving collections: finds with equality filters, sort,
limit and projection only (the stack's server answers these; see docs/FERRETDB.md). Read-only.

The whole-collection orderings (top users, the product funnel) come from dashboard/summaries.py.
"""
from datetime import datetime

from batch.records import broken, recent_runs
from loaders.queries import hourly_series, with_conversion

SESSION_FIELDS = {"_id": 0, "session_id": 1, "user_id": 1, "start_time": 1, "end_time": 1, "pages_visited": 1,
                  "actions": 1, "abandoned_checkout": 1, "events": 1}
PROFILE_FIELDS = {"_id": 0, "user_id": 1, "click_count": 1, "actions": 1, "last_action": 1, "first_seen": 1,
                  "last_seen": 1}
# suspicious_users: shown whatever its shape (one document per user, or per user and batch)
FLAG_HIDDEN = {"_id", "batches", "updated_at", "flag_key"}
TRAFFIC_SERIES = (("events", "events"), ("distinct_users", "distinct users"),
                  ("product_page_visits", "product-page visits"), ("cart_adds", "cart adds"),
                  ("purchases", "purchases"))


def available_days(db):
    """The UTC days that have hourly figures, newest first."""
    days = {document["hour"][:10] for document in db.hourly_activity.find({}, {"_id": 0, "hour": 1})
            if isinstance(document.get("hour"), str)}
    return sorted(days, reverse=True)


def traffic(db, day):
    """The day's hourly rows, in hour order, each with every series (0 when a field is absent)."""
    return [dict({"hour": row["hour"]}, **{field: int(row.get(field) or 0) for field, _label in TRAFFIC_SERIES})
            for row in hourly_series(db, day)]


def funnel_row(document):
    """A product_popularity document -> its funnel row, with the conversion ratios."""
    return with_conversion({"product_id": document.get("product_id"), "views": int(document.get("views") or 0),
                            "cart_adds": int(document.get("cart_adds") or 0),
                            "purchases": int(document.get("purchases") or 0),
                            "distinct_users": int(document.get("distinct_users") or 0)})


def product_rows(rows, sort="purchases", order="desc"):
    """Funnel rows sorted by ``sort`` (ratios undefined last), ties by purchases, views, then product id."""
    sign = -1 if order == "desc" else 1
    return sorted(rows, key=lambda row: (row[sort] is None, sign * (row[sort] or 0), -row["purchases"],
                                         -row["views"], str(row["product_id"])))


def user_profile(db, user_id, sessions=20):
    """(profile or None, newest sessions with their pages and actions). ``user_id`` is a str
    compared for equality only."""
    profile = db.user_clicks.find_one({"user_id": str(user_id)}, PROFILE_FIELDS)
    cursor = db.sessions.find({"user_id": str(user_id)}, SESSION_FIELDS).sort([("start_time", -1)])
    return profile, list(cursor.limit(int(sessions)))


def session_timeline(session):
    """A session's pages and actions merged into one list in time order: (time, kind, name, product)."""
    entries = [(page.get("visit_timestamp"), "page", page.get("page_name"), page.get("product_id"))
               for page in session.get("pages_visited") or ()]
    entries += [(action.get("timestamp"), "action", action.get("action"), action.get("product_id"))
                for action in session.get("actions") or ()]
    return sorted(entries, key=lambda entry: (str(entry[0]), entry[1]))


def flatten(value, prefix=""):
    """Nested evidence -> [(dotted key, value)], so any evidence shape renders as key/value pairs."""
    if isinstance(value, dict):
        pairs = []
        for key in sorted(value, key=str):
            pairs.extend(flatten(value[key], "%s.%s" % (prefix, key) if prefix else str(key)))
        return pairs
    return [(prefix, value)]


def suspicious_users(db, limit=50):
    """Flagged users, busiest first: each {user_id, events, rules: [(rule, [(key, value)])], details}."""
    cursor = db.suspicious_users.find({}, {"_id": 0, "batches": 0}).sort([("events", -1), ("user_id", 1)])
    flagged = []
    for document in cursor.limit(int(limit)):
        rules = []
        for rule in document.get("rules") or ():
            if isinstance(rule, dict):
                evidence = rule.get("evidence")
                others = {key: value for key, value in rule.items() if key not in ("rule", "evidence")}
                rules.append((str(rule.get("rule")), flatten(evidence if evidence is not None else {}) + flatten(others)))
            else:
                rules.append((str(rule), []))
        details = flatten({key: value for key, value in document.items()
                           if key not in FLAG_HIDDEN | {"user_id", "events", "rules", "rule_names"}})
        flagged.append({"user_id": document.get("user_id"), "events": document.get("events"),
                        "rule_names": list(document.get("rule_names") or [name for name, _pairs in rules]),
                        "rules": rules, "details": details})
    return flagged


def runs(db, limit=20):
    """Recent run documents, newest first, each with its steps and broken invariants."""
    shown = []
    for run in recent_runs(db, limit):
        steps = run.get("steps") or []
        shown.append({
            "run_id": str(run.get("_id")), "started_at": run.get("started_at"), "finished_at": run.get("finished_at"),
            "status": run.get("status"), "exit_code": run.get("exit_code"), "seconds": run.get("seconds"),
            "host": run.get("host"), "summary": run.get("summary"), "totals": run.get("totals") or {},
            "steps": [{"job": step.get("job"), "partition": step.get("partition"), "step": step.get("step"),
                       "status": step.get("status"), "seconds": step.get("seconds"),
                       "counts": flatten(step.get("counts") or {}),
                       "broken": ["%s (%s)" % (item.get("name"), item.get("detail"))
                                  for item in broken(step.get("invariants") or [])]}
                      for step in steps],
            "broken": sum(len(broken(step.get("invariants") or [])) for step in steps),
        })
    return shown


def watermarks(area):
    """[(topic, watermark document or None)] of a RunArea's raw area, by topic."""
    return sorted(area.watermarks().items())


def iso(value):
    """Datetimes as ISO-8601 UTC text for pages and the API; other values unchanged."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (value.microsecond // 1000)
    return value
