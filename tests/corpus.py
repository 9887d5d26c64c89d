"""Generated test corpora with the awkward cases every job must survive."""
import json

from clickstream.generator import GeneratorSpec, encode_lines, iter_event_chunks
from reference import reference_event

AWKWARD_USERS = ["юзер-ё", "用户🙂", "$gt", "a.b", "tab\tuser", "u" * 256]


def awkward_lines():
    """Unicode and very long user ids, injection-looking ids, out-of-order events, offsets across
    an hour boundary, equal timestamps, and a 257-character id that must be rejected."""
    stamps = ["2024-12-29T10:59:59+01:00", "2024-12-29T09:30:00Z", "2024-12-29T10:00:00.5+01:00",
              "2024-12-29T04:15:00-05:00", "2024-12-29T09:59:59.999999Z"]
    lines = []
    for number, user in enumerate(AWKWARD_USERS):
        for position, stamp in enumerate(reversed(stamps) if number % 2 else stamps):
            action = ["view_product", "add_to_cart", "purchase", "search", "page_view"][(number + position) % 5]
            lines.append(json.dumps({"user_id": user, "action": action, "timestamp": stamp}).encode())
    # Same latest time, two actions: the tie must be broken the same way everywhere.
    for action in ("zoom", "add_to_cart"):
        lines.append(json.dumps({"user_id": "tie", "action": action, "timestamp": "2024-12-29T12:00:00Z"}).encode())
    lines.append(json.dumps({"user_id": "u" * 257, "action": "click", "timestamp": "2024-12-29T12:00:00Z"}).encode())
    return lines


def generated_lines(events=20_000, users=1_500, malformed=0.02, seed=7):
    spec = GeneratorSpec(events=events, users=users, seed=seed, malformed_fraction=malformed,
                         offset_fraction=0.1, span_hours=6)
    lines = []
    for _users, chunk in iter_event_chunks(spec):
        lines.extend(encode_lines(chunk).splitlines())
    return lines + awkward_lines()


def _line(user, action, stamp, **fields):
    return json.dumps({"user_id": user, "action": action, "timestamp": stamp, **fields}, ensure_ascii=False).encode()


def _stamp(seconds, zone=None):
    """Seconds after 2024-12-29T00:00:00Z -> ISO text in UTC, or at a fixed offset in minutes."""
    from datetime import datetime, timedelta, timezone

    moment = datetime(2024, 12, 29, tzinfo=timezone.utc) + timedelta(seconds=seconds)
    if zone is not None:
        moment = moment.astimezone(timezone(timedelta(minutes=zone)))
    return moment.isoformat()


def product_id_lines():
    """Product ids as strings and integers (987 and "987" are one product), and unusable ones
    (null, "", floats, booleans, objects) that count as no product."""
    lines = []
    products = ["987", 987, 42, "42", "p-ü", None, "", 9.5, True, {"id": 1}, 0]
    actions = ["view_product", "add_to_cart", "purchase", "view_product", "search"]
    for number in range(110):
        product = products[number % len(products)]
        lines.append(_line("buyer-%d" % (number % 7), actions[number % 5], _stamp(3500 + number * 13, zone=60 * (number % 3)),
                           product_id=product, page="/product/%s" % (product,)))
    return lines


def session_lines():
    """Sessions edge cases: events without session_id split on the gap (exactly 30 minutes stays
    one session, one microsecond more splits), explicit sessions interleaved with them, integer
    session and product ids, equal timestamps, non-string pages, out-of-order lines and offsets."""
    import random

    lines = []
    base = 9 * 3600
    # No session id: gaps of 10 min, exactly 30 min, then 30 min and 1 µs.
    for offset in (0, 600, 600 + 1800, 600 + 3600 + 0.000001, 600 + 3660):
        lines.append(_line("nosid", "page_view", _stamp(base + offset), page="/home"))
    lines.append(_line("nosid", "add_to_cart", _stamp(base + 600 + 3700, zone=-300), product_id=5))
    # Explicit sessions interleaved with session-less events of the same user.
    for minute in range(0, 21, 4):
        lines.append(_line("mixed", "view_product", _stamp(base + minute * 60, zone=60), session_id="mx-1",
                           product_id="p%d" % minute, page="/product/p%d" % minute))
        lines.append(_line("mixed", "search", _stamp(base + minute * 60 + 30), query="x"))
    lines.append(_line("mixed", "add_to_cart", _stamp(base + 25 * 60), session_id="mx-1", product_id="p4"))
    lines.append(_line("mixed", "search", _stamp(base + 120 * 60)))
    lines.append(_line("mixed", "purchase", _stamp(base + 121 * 60), session_id=12345, product_id=77))
    lines.append(_line("mixed", "add_to_cart", _stamp(base + 122 * 60), session_id="12345", product_id="77"))
    # Ties: same instant, several actions; a purchase tied with a cart add completes it.
    tie = _stamp(base + 5000)
    for action, fields in (("purchase", {"product_id": "t1"}), ("add_to_cart", {"product_id": "t1"}),
                           ("view_product", {"page": "/product/t1", "product_id": "t1"}),
                           ("view_product", {"page": ""}), ("view_product", {}), ("view_product", {"page": 5}),
                           ("view_product", {"page": "/product/t1", "product_id": 9.5}),
                           ("search", {"product_id": True})):
        lines.append(_line("ties", action, tie, session_id="tie-s", **fields))
    lines.append(_line("ties", "search", _stamp(base + 5002), session_id="tie-s"))  # ties mid-session
    lines.append(_line("ties", "add_to_cart", _stamp(base + 5001), session_id="tie-s2", product_id="t2"))
    lines.append(_line("ties", "purchase", _stamp(base + 5000), session_id="tie-s2", product_id="t2"))
    # A session id that is not a usable id (empty, null, float) means no session id.
    for number, session_id in enumerate(("", None, 1.5)):
        lines.append(_line("odd-ids", "page_view", _stamp(base + number * 60), session_id=session_id, page="/"))
    random.Random(3).shuffle(lines)
    return lines


def bot_lines():
    """Users built to trip (or just miss) each suspicious-user rule at its default threshold."""
    import random

    rng = random.Random(11)
    lines = []

    def add(user, seconds, actions, zone=None):
        for position, second in enumerate(seconds):
            lines.append(_line(user, actions[position % len(actions)], _stamp(second, zone), product_id="b1"))

    minute = 3 * 3600 + 10 * 60
    add("bot-burst", sorted(minute + rng.uniform(0, 59.9) for _ in range(35)), ["search", "add_to_cart"])
    add("burst-edge", sorted(minute + rng.uniform(0, 59.9) for _ in range(30)), ["search", "add_to_cart"])
    add("бот-burst🙂", sorted(minute + 3600 + rng.uniform(0, 59) for _ in range(31)), ["search"], zone=60)
    add("bot-metronome", [7200 + 7 * step for step in range(25)], ["search", "page_view"])
    add("bot-jitter", [7200 + 60 * step + rng.uniform(0, 3) for step in range(40)], ["search", "view_product"])
    add("human", [7200 + 60 * step + rng.expovariate(1 / 60) for step in range(40)], ["search", "view_product"])
    add("bot-two-bursts", [minute + 0.5 * step for step in range(32)] + [minute + 600 + 1.7 * step for step in range(32)],
        ["search", "add_to_cart", "search"])
    add("bot-short", [7200 + 7 * step for step in range(19)], ["search"])
    add("bot-same-instant", [9000] * 22, ["search"])
    add("bot-viewer", [3600 + 90 * step + rng.expovariate(1 / 60) for step in range(60)], ["view_product", "page_view"])
    add("viewer-49", [3600 + 90 * step + rng.expovariate(1 / 60) for step in range(49)], ["view_product"])
    add("viewer-plus", [3600 + 90 * step + rng.expovariate(1 / 60) for step in range(60)], ["view_product"] * 59 + ["search"])
    rng.shuffle(lines)
    return lines


def lines_by_hour(lines, unparsed_hour):
    """{hour number since the epoch: [lines]}, by each event's own time, as the ingest partitions the
    raw area; lines that are no event go to ``unparsed_hour`` (the jobs count them as rejected)."""
    by_hour = {}
    for line in lines:
        event = reference_event(line)
        hour = int(event[2].timestamp()) // 3600 if event else unparsed_hour
        by_hour.setdefault(hour, []).append(line)
    return by_hour
