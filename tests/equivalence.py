"""Issue 12's equivalence check, shared by its integration and inline-runner tests: a multi-hour
corpus built to break per-hour answers, and the served collections compared field by field with
the one-pass references of tests/reference.py over every event."""
import json
import os
import random
from datetime import datetime, timedelta, timezone

from clickstream.generator import GeneratorSpec, encode_lines, iter_event_chunks
from reference import (iso, reference_event, reference_hourly_activity, reference_product_popularity,
                       reference_sessions, reference_suspicious_window, reference_user_actions)

START = datetime(2024, 12, 29, tzinfo=timezone.utc)
SEED_VARIABLE = "CLICKSTREAM_TEST_SEED"
BOTS = ("bot-every-4-minutes", "bot-40-views-an-hour")


def corpus_seed():
    """The corpus and shuffling seed: CLICKSTREAM_TEST_SEED replays a run, else a fresh one."""
    text = os.environ.get(SEED_VARIABLE)
    return int(text) if text else random.SystemRandom().randrange(1, 1_000_000)


def event_line(user, action, moment, **fields):
    stamp = moment.isoformat().replace("+00:00", "Z") if moment.utcoffset() == timedelta(0) else moment.isoformat()
    return json.dumps(dict({"user_id": user, "action": action, "timestamp": stamp}, **fields)).encode()


def at(hour, minute=0, second=0):
    return START + timedelta(hours=hour, minutes=minute, seconds=second)


def hour_number(moment):
    return int(moment.timestamp()) // 3600


class Corpus:
    """``on_time`` lines go first; ``late`` lines arrive after every hour is done; ``clock`` is one
    event in the hour after the data that moves the ingest watermark past every data hour (it is
    in no hour that is run, so it is in no reference either). ``hours``: the data hours (numbers)."""

    def __init__(self, on_time, late, clock):
        self.on_time, self.late, self.clock = on_time, late, clock
        moments = [event[2] for event in map(reference_event, on_time + late) if event]
        self.hours = sorted({hour_number(moment) for moment in moments})
        self.late_hours = sorted({hour_number(event[2]) for event in map(reference_event, late) if event})
        self.bots = list(BOTS)

    @property
    def everything(self):
        return self.on_time + self.late


def generated(seed, hours, events, users):
    """The generator's stream over ``hours - 1`` hours (its sessions run on into the last one),
    with the session id dropped from about 40% of the sessions, so gap-cut sessions cross hours too."""
    spec = GeneratorSpec(events=events, users=users, seed=seed, span_hours=hours - 1, malformed_fraction=0.01,
                         products=30, zipf_exponent=0.4)  # a flatter tail than the default: more users
    rng = random.Random(seed)
    keyless, lines = {}, []
    for users_of_chunk, chunk in iter_event_chunks(spec):
        for user, line in zip(users_of_chunk, encode_lines(chunk).splitlines()):
            if user is not None:
                record = json.loads(line)
                session = record["session_id"]
                if keyless.setdefault(session, rng.random() < 0.4):
                    del record["session_id"]
                    line = json.dumps(record).encode()
            lines.append(line)
    return lines


def crafted(hours):
    """The cases the issue names, by hand: sessions across every hour boundary (with and without a
    session id, a cart add before the boundary and its purchase after), sessions spanning every
    hour, products seen by the same users every hour, and two bots spread thin."""
    lines = []
    for boundary in range(1, hours):
        steps = [at(boundary - 1, 45 + 4 * step) for step in range(4)] + [at(boundary, 1 + 4 * step) for step in range(4)]
        for keyed in (True, False):
            user = "crosser-%s-%d" % ("sid" if keyed else "nosid", boundary)
            fields = {"session_id": "x-%d" % boundary} if keyed else {}
            for number, moment in enumerate(steps):
                action = {3: "add_to_cart", 5: "purchase"}.get(number, "view_product")
                lines.append(event_line(user, action, moment, page="/product/px", product_id="px-%d" % (boundary % 3),
                                        **fields))
    for minute in range(0, 60 * hours - 10, 20):  # one session each from the first hour to the last
        lines.append(event_line("marathon-nosid", "page_view", at(0, minute), page="/p%d" % (minute % 7)))
        lines.append(event_line("marathon-sid", "search", at(0, minute + 3), session_id="marathon", query="q"))
    for loyal in range(12):
        for hour in range(hours):
            product = "shared-%d" % (loyal % 3)
            lines.append(event_line("loyal-%02d" % loyal, "view_product", at(hour, 7 + loyal), page="/product/" + product,
                                    product_id=product))
            if hour % 2 == loyal % 2:
                lines.append(event_line("loyal-%02d" % loyal, "add_to_cart", at(hour, 8 + loyal),
                                        page="/product/" + product, product_id=product))
    # one event every 4 minutes for 6 hours: 15 an hour, under any per-hour regularity minimum
    lines += [event_line(BOTS[0], "search", at(1, 4 * step), page="/search") for step in range(90)]
    # 40 views an hour for 4 hours and nothing else: under any per-hour views-only minimum
    lines += [event_line(BOTS[1], "view_product", at(2, 0, 90 * step), page="/product/bot", product_id="shared-0")
              for step in range(160)]
    return lines


def late_events(hours):
    """Late events for done hours: one joins two gap-cut sessions, one precedes a keyed session
    across a boundary, one extends a session into the next hour, and products gain a new user
    and a known one; plus a malformed line and an offset timestamp."""
    early = [event_line("late-join", "page_view", at(1, 20), page="/a"),
             event_line("late-join", "page_view", at(1, 25), page="/b"),
             event_line("late-join", "page_view", at(2, 5), page="/c"),  # 40 minutes later: a second session
             event_line("late-precede", "view_product", at(3, 2), session_id="lp", page="/product/shared-1",
                        product_id="shared-1"),
             event_line("late-precede", "purchase", at(3, 20), session_id="lp", product_id="shared-1"),
             event_line("late-extend", "add_to_cart", at(hours - 2, 40), product_id="shared-2"),
             event_line("late-extend", "page_view", at(hours - 2, 55), page="/cart")]
    late = [event_line("late-join", "search", at(1, 45), page="/search"),  # 20 minutes from each: one session
            event_line("late-precede", "page_view", at(2, 50), session_id="lp", page="/"),
            event_line("late-extend", "purchase", (at(hours - 1, 10)).astimezone(timezone(timedelta(hours=1))),
                       product_id="shared-2"),
            event_line("loyal-00", "view_product", at(1, 59), page="/product/shared-0", product_id="shared-0"),
            event_line("late-newcomer", "view_product", at(1, 30), page="/product/shared-0", product_id="shared-0"),
            b'{"user_id": "late-broken", "action": "view_product"']
    return early, late


def build_corpus(seed, hours=8, events=2400, users=300):
    """The corpus: ``hours`` hours from 2024-12-29T00, ``events`` generated events of ``users``
    users, the crafted cases, and late events (the hand-made ones and about a fifth of the
    generated events of two hours)."""
    rng = random.Random(seed)
    stream = generated(seed, hours, events, users)
    held_hours = set(rng.sample(range(hours - 1), 2))
    on_time, late = [], []
    for line in stream:
        event = reference_event(line)
        held = event is not None and hour_number(event[2]) - hour_number(START) in held_hours and rng.random() < 0.2
        (late if held else on_time).append(line)
    early, crafted_late = late_events(hours)
    on_time += crafted(hours) + early
    late += crafted_late
    last = max(hour_number(event[2]) for event in map(reference_event, on_time + late) if event)
    clock = event_line("watermark-clock", "page_view", datetime.fromtimestamp((last + 1) * 3600 + 60, timezone.utc),
                       page="/")
    return Corpus(on_time, late, clock)


# --- the served collections against the references -------------------------------------------------

def stamp_of(value):
    """A served date (naive UTC from pymongo, aware from some stand-ins) -> the references' ISO text."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return iso(value.astimezone(timezone.utc))


def _differences(collection, got, want, fields):
    found = []
    for key in sorted(set(want) - set(got), key=repr):
        found.append((collection, "missing", key, None, want[key]))
    for key in sorted(set(got) - set(want), key=repr):
        found.append((collection, "extra", key, got[key], None))
    for key in sorted(set(got) & set(want), key=repr):
        for field in fields:
            if got[key].get(field) != want[key].get(field):
                found.append((collection, field, key, got[key].get(field), want[key].get(field)))
    return found


def served_users(db):
    return {doc["user_id"]: {"click_count": doc["click_count"], "actions": doc["actions"],
                             "last_action": doc["last_action"], "first_seen": stamp_of(doc["first_seen"]),
                             "last_seen": stamp_of(doc["last_seen"])} for doc in db.user_clicks.find()}


def served_hours(db):
    return {doc["hour"]: dict((name, doc.get(name)) for name in HOURLY_FIELDS) for doc in db.hourly_activity.find()}


def served_products(db):
    return {doc["product_id"]: dict((name, doc.get(name)) for name in PRODUCT_FIELDS)
            for doc in db.product_popularity.find()}


def served_suspicious(db):
    flagged = {}
    for doc in db.suspicious_users.find():
        assert doc["user_id"] not in flagged, "user %r flagged twice" % (doc["user_id"],)
        flagged[doc["user_id"]] = {name: doc.get(name) for name in SUSPICIOUS_FIELDS}
    return flagged


def served_sessions(db):
    sessions = {}
    for doc in db.sessions.find():
        key = (doc["user_id"], doc["session_id"], stamp_of(doc["start_time"]))
        assert key not in sessions, "session %r stored twice" % (key,)
        sessions[key] = dict({name: doc.get(name) for name in SESSION_FIELDS},
                             start_time=stamp_of(doc["start_time"]), end_time=stamp_of(doc["end_time"]))
    return sessions


USER_FIELDS = ("click_count", "actions", "last_action", "first_seen", "last_seen")
HOURLY_FIELDS = ("events", "distinct_users", "product_page_visits", "cart_adds", "purchases", "actions")
PRODUCT_FIELDS = ("views", "cart_adds", "purchases", "events", "distinct_users")
SUSPICIOUS_FIELDS = ("user_id", "rules", "rule_names", "events")
SESSION_FIELDS = ("session_id", "user_id", "start_time", "end_time", "pages_visited", "actions",
                  "abandoned_checkout", "events")


def expected(lines, gap_minutes=30, max_session_hours=24):
    """{collection: {key: record}} from the references over ``lines``, keyed as served_* key them."""
    users, _ = reference_user_actions(lines)
    hours, _ = reference_hourly_activity(lines)
    products, _ = reference_product_popularity(lines)
    sessions, _ = reference_sessions(lines, gap_minutes, max_session_hours)
    flagged, _ = reference_suspicious_window(lines)
    return {
        "suspicious_users": flagged,
        "user_clicks": users,
        "hourly_activity": hours,
        "product_popularity": products,
        "sessions": {(record["user_id"], record["session_id"], record["start_time"]): record
                     for record in sessions.values()},
    }


def compare(db, lines, bots=(), gap_minutes=30, max_session_hours=24):
    """Every served collection against the references over ``lines``: (figures, differences),
    figures counting what was compared, differences as (collection, field or 'missing'/'extra',
    key, served, expected) tuples."""
    want = expected(lines, gap_minutes, max_session_hours)
    got = {"user_clicks": served_users(db), "hourly_activity": served_hours(db),
           "product_popularity": served_products(db), "sessions": served_sessions(db),
           "suspicious_users": served_suspicious(db)}
    fields = {"user_clicks": USER_FIELDS, "hourly_activity": HOURLY_FIELDS, "product_popularity": PRODUCT_FIELDS,
              "sessions": SESSION_FIELDS, "suspicious_users": SUSPICIOUS_FIELDS}
    # the thin bots (below every per-hour threshold) must be ones the windows catch
    assert all(bot in want["suspicious_users"] for bot in bots), (bots, sorted(want["suspicious_users"]))
    differences = []
    for collection in fields:
        differences += _differences(collection, got[collection], want[collection], fields[collection])
    figures = {"sessions": len(want["sessions"]), "products": len(want["product_popularity"]),
               "users": len(want["user_clicks"]), "hours": len(want["hourly_activity"]), "bots": len(bots),
               "flagged": len(want["suspicious_users"]),
               "keyless_sessions": sum(1 for record in want["sessions"].values() if record["session_id"].startswith(
                   record["user_id"] + "#")),
               "sessions_across_hours": sum(1 for record in want["sessions"].values()
                                            if record["start_time"][:13] != record["end_time"][:13])}
    return figures, differences


def summary_line(figures, differences):
    by_collection = {}
    for difference in differences:
        by_collection[difference[0]] = by_collection.get(difference[0], 0) + 1
    return ("equivalence: compared %(sessions)d sessions (%(sessions_across_hours)d across hours, %(keyless_sessions)d "
            "without session_id), %(products)d products, %(users)d users, %(hours)d hours, %(bots)d bots, "
            "%(flagged)d flagged users" % figures
            + "; differences: %d%s" % (len(differences), " (%s)" % ", ".join(
                "%s %d" % item for item in sorted(by_collection.items())) if by_collection else ""))


def check(differences):
    """Asserts that the served collections hold no difference from the one-pass references."""
    assert not differences, "%d differences from the one-pass references, e.g.:\n%s" % (
        len(differences), "\n".join(repr(item) for item in differences[:15]))


def land(root, lines, name):
    """Writes ``lines`` into a local raw area by event hour, as the ingest would (rejected lines
    go to the first hour given, where the job counts them). Returns the hours written."""
    from clickstream.layout import hour_partition

    by_hour = {}
    fallback = hour_number(START)
    for line in lines:
        event = reference_event(line)
        by_hour.setdefault(hour_number(event[2]) if event else fallback, []).append(line)
    for hour, hour_lines in by_hour.items():
        folder = os.path.join(root, hour_partition(hour))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name), "wb") as stream:
            stream.writelines(line + b"\n" for line in hour_lines)
    return sorted(by_hour)
