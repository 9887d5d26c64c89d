"""The plain-Python baseline of mr_user_actions: one process, orjson, a dict of per-user records.

    python -m bench.plain_count OUT FILE...

What one would write without mrjob, deliberately independent of the toolkit: orjson, the event
rules checked inline, ``datetime.fromisoformat``, aware datetimes compared. Writes the job's exact
output lines (JSON key, tab, JSON value with sorted keys), sorted.
"""
import gzip
import re
import sys
from datetime import datetime, timezone

import orjson

ACTION = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")


def _open_lines(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb", buffering=1 << 20)


def _iso_utc(moment):
    moment = moment.astimezone(timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += ".%06d" % moment.microsecond
    return text + "Z"


def valid_events(paths):
    """(user_id, action, aware datetime, event) of every event the jobs accept, by the same rules
    as the count below, for the other jobs' plain computations (bench/bench_combiners.py). The
    count keeps its own inlined copy of the rules: a generator step per event would slow the
    baseline and flatter the jobs compared with it."""
    for path in paths:
        with _open_lines(path) as lines:
            for line in lines:
                try:
                    event = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if type(event) is not dict:
                    continue
                user, action, stamp = event.get("user_id"), event.get("action"), event.get("timestamp")
                if type(user) is not str or not 0 < len(user) <= 256 or type(action) is not str \
                        or not ACTION.match(action):
                    continue
                if (type(stamp) is not str or len(stamp) < 17 or stamp[4] != "-" or stamp[7] != "-"
                        or stamp[10] not in "Tt " or stamp[13] != ":"):
                    continue
                try:
                    moment = datetime.fromisoformat(stamp)
                except ValueError:
                    continue
                if moment.tzinfo is not None:
                    yield user, action, moment, event


def baseline_user_actions(paths):
    """{user_id: record} with the job's exact records (same rejects)."""
    users = {}
    loads, decode_error, from_iso, match = orjson.loads, orjson.JSONDecodeError, datetime.fromisoformat, ACTION.match
    for path in paths:
        with _open_lines(path) as lines:
            for line in lines:
                try:
                    event = loads(line)
                except decode_error:
                    continue
                if type(event) is not dict:
                    continue
                user, action, stamp = event.get("user_id"), event.get("action"), event.get("timestamp")
                if type(user) is not str or not 0 < len(user) <= 256 or type(action) is not str or not match(action):
                    continue
                if (type(stamp) is not str or len(stamp) < 17 or stamp[4] != "-" or stamp[7] != "-"
                        or stamp[10] not in "Tt " or stamp[13] != ":"):
                    continue
                try:
                    moment = from_iso(stamp)
                except ValueError:
                    continue
                if moment.tzinfo is None:
                    continue
                record = users.get(user)
                if record is None:
                    users[user] = [moment, moment, action, {action: 1}]
                    continue
                if moment < record[0]:
                    record[0] = moment
                if moment > record[1] or (moment == record[1] and action > record[2]):
                    record[1], record[2] = moment, action
                counts = record[3]
                counts[action] = counts.get(action, 0) + 1
    return {
        user: {"actions": counts, "click_count": sum(counts.values()), "first_seen": _iso_utc(first),
               "last_action": last_action, "last_seen": _iso_utc(last)}
        for user, (first, last, last_action, counts) in users.items()
    }


def write_records(records, path):
    """Records as the job's output lines (JSON key, tab, JSON value with sorted keys), sorted."""
    option = orjson.OPT_SORT_KEYS
    lines = sorted(orjson.dumps(user) + b"\t" + orjson.dumps(value, option=option) + b"\n"
                   for user, value in records.items())
    with open(path, "wb") as stream:
        stream.writelines(lines)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: python -m bench.plain_count OUT FILE...")
    write_records(baseline_user_actions(sys.argv[2:]), sys.argv[1])
