"""Generated test corpora with the awkward cases every job must survive."""
import json

from clickstream.generator import GeneratorSpec, encode_lines, iter_event_chunks

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
