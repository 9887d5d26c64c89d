"""Each page's content as one plain dict, shared by the HTML pages, the JSON API and the report:
the page shows exactly what the API returns."""
from clickstream.display import mask_uri
from dashboard import data
from dashboard.summaries import Summary, products_summary, top_users_summary


class Sources:
    """Where the views read: the database, the summaries kept for it, and the raw area (for the
    ingest watermarks) when a sink is configured. ``open_area()`` returns a RunArea or raises."""

    def __init__(self, db, open_area=None, sink=None, max_age=None):
        self.db = db
        self.open_area = open_area
        self.sink = sink
        extra = {} if max_age is None else {"max_age": max_age}
        self.top_users = Summary(top_users_summary, **extra)
        self.products = Summary(products_summary, **extra)


def traffic(sources, day=None):
    days = data.available_days(sources.db)
    day = day or (days[0] if days else None)
    rows = data.traffic(sources.db, day) if day else []
    totals = {field: sum(row[field] for row in rows) for field, _label in data.TRAFFIC_SERIES
              if field != "distinct_users"}
    return {"day": day, "days": days, "hours": rows, "totals": totals}


def products(sources, sort="purchases", order="desc", limit=20):
    summary, age = sources.products.get(sources.db)
    orderings = summary.setdefault("orderings", {})
    if (sort, order) not in orderings:  # sorted once per summary read, then sliced
        orderings[(sort, order)] = data.product_rows(summary["products"], sort, order)
    rows = [dict(row) for row in orderings[(sort, order)][:limit]]
    return {"sort": sort, "order": order, "limit": limit, "products": rows,
            "product_count": len(summary["products"]), "age_seconds": round(age, 1)}


def users(sources, limit=20, user=None, sessions=20):
    summary, age = sources.top_users.get(sources.db)
    view = {"limit": limit, "top": [dict(row, last_seen=data.iso(row.get("last_seen"))) for row in summary["users"][:limit]],
            "user_count": summary["total"], "age_seconds": round(age, 1), "user": user, "profile": None,
            "sessions": []}
    if user is not None:
        profile, recent = data.user_profile(sources.db, user, sessions)
        if profile is not None:
            profile = {key: data.iso(value) for key, value in profile.items()}
        view["profile"] = profile
        view["sessions"] = [_session(session) for session in recent]
    return view


def _session(session):
    shown = {key: data.iso(value) for key, value in session.items() if key not in ("pages_visited", "actions")}
    shown["pages_visited"] = [{key: data.iso(value) for key, value in page.items()}
                              for page in session.get("pages_visited") or ()]
    shown["actions"] = [{key: data.iso(value) for key, value in action.items()}
                        for action in session.get("actions") or ()]
    shown["timeline"] = [(data.iso(time), kind, name, product)
                         for time, kind, name, product in data.session_timeline(shown)]
    return shown


def suspicious(sources, limit=50):
    flagged = data.suspicious_users(sources.db, limit)
    for row in flagged:
        row["rules"] = [(rule, [(key, data.iso(value)) for key, value in pairs]) for rule, pairs in row["rules"]]
        row["details"] = [(key, data.iso(value)) for key, value in row["details"]]
    return {"limit": limit, "flagged": flagged}


def runs(sources, limit=20):
    shown = []
    for run in data.runs(sources.db, limit):
        run["started_at"], run["finished_at"] = data.iso(run["started_at"]), data.iso(run["finished_at"])
        shown.append(run)
    return {"limit": limit, "runs": shown, "raw_area": raw_area(sources)}


def raw_area(sources):
    """The ingest watermark per topic, or why it is not shown: {sink, reachable, note, topics}."""
    if not sources.sink or sources.open_area is None:
        return {"sink": None, "reachable": False, "note": "no sink configured (--sink, CLICKSTREAM_SINK or sink "
                                                          "in the config file)", "topics": []}
    try:
        topics = data.watermarks(sources.open_area())
    except Exception as error:  # WebHDFS/requests/OS errors all mean the same here: not reachable
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return {"sink": mask_uri(sources.sink), "reachable": False,
                "note": "raw area not reachable: %s" % mask_uri(first_line)[:300], "topics": []}
    return {"sink": mask_uri(sources.sink), "reachable": True, "note": None if topics else "no watermark yet",
            "topics": [{"topic": topic, "watermark": (document or {}).get("watermark"),
                        "complete_before_hour": (document or {}).get("complete_before_hour"),
                        "allowed_lateness_seconds": (document or {}).get("allowed_lateness_seconds"),
                        "partitions": len((document or {}).get("partitions") or {})}
                       for topic, document in topics]}
