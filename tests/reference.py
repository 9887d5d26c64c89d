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
