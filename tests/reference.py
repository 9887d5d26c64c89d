"""Independent, deliberately plain reference implementations of the spec, for the tests.

Uses only the standard library (json, re, datetime), never the toolkit's own parser.
"""
import json
import re
from datetime import datetime, timezone

ACTION = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def reference_event(line):
    """(user_id, action, aware UTC datetime) or None for a line the spec rejects."""
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(obj, dict):
        return None
    user, action, stamp = obj.get("user_id"), obj.get("action"), obj.get("timestamp")
    if not isinstance(user, str) or not 0 < len(user) <= 256:
        return None
    if not isinstance(action, str) or not ACTION.match(action):
        return None
    if not isinstance(stamp, str) or not TIME.match(stamp):
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return user, action, moment.astimezone(timezone.utc)


def iso(moment):
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += ".%06d" % moment.microsecond
    return text + "Z"


def reference_user_actions(lines):
    """The seed's per-user count, straightforwardly: returns ({user: record}, rejected count)."""
    users, rejected = {}, 0
    for line in lines:
        event = reference_event(line)
        if event is None:
            rejected += 1
            continue
        user, action, moment = event
        users.setdefault(user, []).append((moment, action))
    output = {}
    for user, events in users.items():
        actions = {}
        for _moment, action in events:
            actions[action] = actions.get(action, 0) + 1
        latest = max(events)  # latest time; ties: greatest action name
        output[user] = {
            "actions": actions,
            "click_count": len(events),
            "first_seen": iso(min(events)[0]),
            "last_action": latest[1],
            "last_seen": iso(latest[0]),
        }
    return output, rejected


def reference_record(line):
    """(user_id, action, aware UTC datetime, the JSON object) or None for a rejected line."""
    event = reference_event(line)
    if event is None:
        return None
    return event + (json.loads(line.decode("utf-8")),)


def reference_id(value):
    """A product or session id as the spec normalizes it: a non-empty string as is, an integer's
    decimal text (not booleans), otherwise None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value != "":
        return value
    return None


def _valid_records(lines):
    records, rejected = [], 0
    for line in lines:
        record = reference_record(line)
        if record is None:
            rejected += 1
        else:
            records.append(record)
    return records, rejected


def reference_hourly_activity(lines):
    """Per UTC hour: ({'YYYY-MM-DDTHH': record}, rejected count)."""
    records, rejected = _valid_records(lines)
    hours = {}
    for user, action, moment, _obj in records:
        hours.setdefault(moment.strftime("%Y-%m-%dT%H"), []).append((user, action))
    output = {}
    for hour, events in hours.items():
        actions = {}
        for _user, action in events:
            actions[action] = actions.get(action, 0) + 1
        output[hour] = {
            "hour": hour + ":00:00Z",
            "product_page_visits": actions.get("view_product", 0),
            "cart_adds": actions.get("add_to_cart", 0),
            "purchases": actions.get("purchase", 0),
            "distinct_users": len({user for user, _action in events}),
            "events": len(events),
            "actions": actions,
        }
    return output, rejected


def reference_product_popularity(lines):
    """Per product id (normalized to a string): ({product: record}, rejected count)."""
    records, rejected = _valid_records(lines)
    products = {}
    for user, action, _moment, obj in records:
        product = reference_id(obj.get("product_id"))
        if product is not None:
            products.setdefault(product, []).append((user, action))
    output = {}
    for product, events in products.items():
        actions = [action for _user, action in events]
        views, carts, purchases = actions.count("view_product"), actions.count("add_to_cart"), actions.count("purchase")
        output[product] = {
            "product_id": product,
            "views": views,
            "cart_adds": carts,
            "purchases": purchases,
            "events": len(events),
            "distinct_users": len({user for user, _action in events}),
            "view_to_cart": round(carts / views, 6) if views else None,
            "cart_to_purchase": round(purchases / carts, 6) if carts else None,
        }
    return output, rejected


def reference_sessions(lines, gap_minutes=30, max_session_hours=24):
    """Sessions: ({session_id: record}, rejected count). Each user's events are sorted by time,
    then action, page and product id (absent before present); events sharing a session id form
    one session; the rest are split where the gap exceeds gap_minutes. No session lasts
    max_session_hours or more: the event that would make it so starts the next one, named
    '<session id>#<start>' when it goes on a keyed session (a keyed group restarts under its own
    id after a pause of max_session_hours or more)."""
    from datetime import timedelta

    records, rejected = _valid_records(lines)
    groups = {}
    for user, action, moment, obj in records:
        page = obj.get("page") if isinstance(obj.get("page"), str) else None
        product = reference_id(obj.get("product_id"))
        order = (moment, action, page is not None, page or "", product is not None, product or "")
        groups.setdefault((user, reference_id(obj.get("session_id"))), []).append((order, action, page, product))
    output = {}
    for (user, session_id), events in groups.items():
        events.sort(key=lambda event: event[0])
        cap = timedelta(hours=max_session_hours)
        pieces, continued = [[events[0]]], [False]
        for event in events[1:]:
            moment, previous, first = event[0][0], pieces[-1][-1][0][0], pieces[-1][0][0][0]
            if session_id is None and moment - previous > timedelta(minutes=gap_minutes):
                pieces.append([])
                continued.append(False)
            elif session_id is not None and moment - previous >= cap:
                pieces.append([])
                continued.append(False)
            elif moment - first >= cap:
                pieces.append([])
                continued.append(True)
            pieces[-1].append(event)
        for piece, goes_on in zip(pieces, continued):
            start, end = piece[0][0][0], piece[-1][0][0]
            if session_id is None:
                name = "%s#%s" % (user, iso(start))
            else:
                name = "%s#%s" % (session_id, iso(start)) if goes_on else session_id
            pages, actions = [], []
            for order, action, page, product in piece:
                if action in ("page_view", "view_product"):
                    entry = {"page_name": page, "visit_timestamp": iso(order[0])}
                    pages.append(entry)
                else:
                    entry = {"action": action, "timestamp": iso(order[0])}
                    actions.append(entry)
                if product is not None:
                    entry["product_id"] = product
            cart_times = [order[0] for order, action, _p, _q in piece if action == "add_to_cart"]
            purchase_times = [order[0] for order, action, _p, _q in piece if action == "purchase"]
            abandoned = bool(cart_times) and not any(when >= max(cart_times) for when in purchase_times)
            assert name not in output, "session id %r twice" % (name,)
            output[name] = {
                "session_id": name, "user_id": user, "start_time": iso(start), "end_time": iso(end),
                "pages_visited": pages, "actions": actions, "abandoned_checkout": abandoned, "events": len(piece),
            }
    return output, rejected


def reference_suspicious_users(lines, max_events_per_minute=30, min_events_for_regularity=20,
                               max_gap_cv=0.1, min_views_only=50):
    """Flagged users: ({user_id: record}, rejected count), each rule computed from the whole history."""
    import statistics
    from datetime import timedelta

    records, rejected = _valid_records(lines)
    users = {}
    for user, action, moment, _obj in records:
        users.setdefault(user, []).append((moment, action))
    output = {}
    for user, events in users.items():
        events.sort()
        rules = []
        per_minute = {}
        for moment, _action in events:
            minute = moment.replace(second=0, microsecond=0)
            per_minute[minute] = per_minute.get(minute, 0) + 1
        busiest = max(per_minute.values())
        if busiest > max_events_per_minute:
            first = min(minute for minute, count in per_minute.items() if count == busiest)
            rules.append({"rule": "events_per_minute", "evidence": {
                "minute": iso(first), "events_in_minute": busiest, "max_events_per_minute": max_events_per_minute}})
        if len(events) >= max(2, min_events_for_regularity):
            gaps = [(later[0] - earlier[0]) // timedelta(microseconds=1) for earlier, later in zip(events, events[1:])]
            mean = statistics.mean(gaps)
            cv = statistics.pstdev(gaps) / mean if mean else 0.0
            if cv < max_gap_cv:
                rules.append({"rule": "regular_gaps", "evidence": {
                    "events": len(events), "mean_gap_seconds": round(mean / 1_000_000, 6), "gap_cv": round(cv, 6),
                    "max_gap_cv": max_gap_cv, "min_events_for_regularity": min_events_for_regularity}})
        views = sum(1 for _moment, action in events if action in ("view_product", "page_view"))
        if views == len(events) and views >= min_views_only:
            rules.append({"rule": "views_only", "evidence": {"views": views, "min_views_only": min_views_only}})
        if rules:
            output[user] = {"user_id": user, "rules": sorted(rules, key=lambda rule: rule["rule"]), "events": len(events)}
    return output, rejected


def reference_suspicious_window(lines, window_hours=24, max_events_per_minute=30, min_events_for_regularity=20,
                                max_gap_cv=0.1, min_views_only=50):
    """Flagged users over windows: ({user_id: {user_id, rules, rule_names, events}}, rejected count).

    A window is ``window_hours`` consecutive whole UTC hours; every window holding at least one of
    a user's events is judged on the events inside it. A rule's evidence is its strongest window
    (most events in a 60 s interval [t, t + 60 s), then t; lowest gap CV, then most events; most
    views), ties to the earliest window; ``events`` is the most events of one firing window.
    """
    import bisect
    import statistics
    from datetime import timedelta
    from fractions import Fraction

    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    records, rejected = _valid_records(lines)
    users = {}
    for user, action, moment, _obj in records:
        users.setdefault(user, []).append(((moment - epoch) // timedelta(microseconds=1), action))
    output = {}
    for user, events in users.items():
        events.sort()
        hour_of = [when // 3_600_000_000 for when, _action in events]
        best, most_events = {}, 0
        for start in range(min(hour_of) - window_hours + 1, max(hour_of) + 1):
            inside = [event for event, hour in zip(events, hour_of) if start <= hour < start + window_hours]
            if not inside:
                continue
            times = [when for when, _action in inside]
            window = {"start": iso(epoch + timedelta(hours=start)),
                      "end": iso(epoch + timedelta(hours=start + window_hours))}
            found = []
            counts = [(bisect.bisect_left(times, when + 60_000_000) - index, when) for index, when in enumerate(times)]
            top = max(count for count, _when in counts)
            first = min(when for count, when in counts if count == top)
            if top > max_events_per_minute:
                found.append(("events_per_minute", (-top, start, first), {
                    "start": iso(epoch + timedelta(microseconds=first)), "events_in_60s": top,
                    "max_events_per_minute": max_events_per_minute, "window": window}))
            if len(times) >= max(2, min_events_for_regularity):
                gaps = [later - earlier for earlier, later in zip(times, times[1:])]
                mean = statistics.mean(gaps)
                cv = statistics.pstdev(gaps) / mean if mean else 0.0
                exact = (statistics.pvariance([Fraction(gap) for gap in gaps]) / Fraction(sum(gaps), len(gaps)) ** 2
                         if mean else Fraction(0))
                if cv < max_gap_cv:
                    found.append(("regular_gaps", (exact, -len(times), start), {
                        "events": len(times), "mean_gap_seconds": round(mean / 1_000_000, 6), "gap_cv": round(cv, 6),
                        "max_gap_cv": max_gap_cv, "min_events_for_regularity": min_events_for_regularity,
                        "window": window}))
            views = sum(1 for _when, action in inside if action in ("view_product", "page_view"))
            if views == len(inside) and views >= min_views_only:
                found.append(("views_only", (-views, start), {"views": views, "min_views_only": min_views_only,
                                                              "window": window}))
            for rule, order, evidence in found:
                if rule not in best or order < best[rule][0]:
                    best[rule] = (order, evidence)
            if found:
                most_events = max(most_events, len(inside))
        if best:
            rules = [{"rule": rule, "evidence": best[rule][1]} for rule in sorted(best)]
            output[user] = {"user_id": user, "rules": rules, "rule_names": [rule["rule"] for rule in rules],
                            "events": most_events}
    return output, rejected


def reference_product_users(lines):
    """Per product id (normalized to a string): the set of users with an event on it."""
    records, _rejected = _valid_records(lines)
    users = {}
    for user, _action, _moment, obj in records:
        product = reference_id(obj.get("product_id"))
        if product is not None:
            users.setdefault(product, set()).add(user)
    return users


def reference_product_output(lines):
    """mr_product_popularity's output as the loader takes it: each product's counts and its
    sorted distinct users (``users``)."""
    records, _rejected = reference_product_popularity(lines)
    users = reference_product_users(lines)
    return {product: dict(record, users=sorted(users[product])) for product, record in records.items()}
