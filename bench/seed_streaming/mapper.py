"""Seed-style streaming mapper: stdin JSON lines -> ``"user"<TAB>utc-time<TAB>action`` lines.

Written the way the seed's mapper is (stdlib ``json``, one line at a time, skip what does not
parse), with the event model's rules checked inline so that its answer can be compared with
mr_user_actions'. The time is UTC with microseconds, fixed width, so the reducer compares text.
Like orjson, it refuses NaN and Infinity; unlike it, it accepts lone surrogate escapes (the
generator writes none).
"""
import json
import re
import sys
from datetime import datetime, timezone

ACTION = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")


def _refuse_constant(name):
    raise ValueError("%r is not JSON" % name)


def utc_text(stamp):
    """``stamp`` as fixed-width UTC text, or None when it is not ISO-8601 with a zone."""
    if len(stamp) < 17 or stamp[4] != "-" or stamp[7] != "-" or stamp[10] not in "Tt " or stamp[13] != ":":
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def mapper(lines, out):
    for line in lines:
        try:
            event = json.loads(line, parse_constant=_refuse_constant)
        except ValueError:  # not JSON, or not UTF-8
            continue
        if not isinstance(event, dict):
            continue
        user_id, action, stamp = event.get("user_id"), event.get("action"), event.get("timestamp")
        if not isinstance(user_id, str) or not 0 < len(user_id) <= 256:
            continue
        if not isinstance(action, str) or not ACTION.match(action) or not isinstance(stamp, str):
            continue
        moment = utc_text(stamp)
        if moment is None:
            continue
        # the key is JSON (ASCII), so a tab or newline inside a user id cannot split the line
        out.write("%s\t%s\t%s\n" % (json.dumps(user_id), moment, action))


if __name__ == "__main__":
    mapper(sys.stdin.buffer, sys.stdout)
