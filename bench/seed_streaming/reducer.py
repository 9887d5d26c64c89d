"""Seed-style streaming reducer: sorted mapper lines -> one mr_user_actions record per user.

Like the seed's reducer, it keeps the current user's counts and prints them when the key changes;
it also keeps the first and last time and the last action, to give the job's whole record.
"""
import json
import sys


def iso_z(moment):
    """Fixed-width UTC text as the job prints it: no fraction when it is zero, then ``Z``."""
    return (moment[:-7] if moment.endswith(".000000") else moment) + "Z"


def emit(out, key, counts, first, last, last_action):
    record = {"actions": counts, "click_count": sum(counts.values()), "first_seen": iso_z(first),
              "last_action": last_action, "last_seen": iso_z(last)}
    out.write("%s\t%s\n" % (json.dumps(json.loads(key), ensure_ascii=False),
                            json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)))


def reducer(lines, out):
    current = None
    counts, first, last, last_action = {}, None, None, None
    for line in lines:
        key, moment, action = line.rstrip("\n").split("\t")
        if key != current:
            if current is not None:
                emit(out, current, counts, first, last, last_action)
            current, counts, first, last, last_action = key, {}, moment, moment, action
        counts[action] = counts.get(action, 0) + 1
        if moment < first:
            first = moment
        # the latest time wins; on a tie, the greatest action name
        if (moment, action) > (last, last_action):
            last, last_action = moment, action
    if current is not None:
        emit(out, current, counts, first, last, last_action)


if __name__ == "__main__":
    reducer(sys.stdin, sys.stdout)
