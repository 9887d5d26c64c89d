"""The kept summaries: top users from a whole scan, read once, then refreshed in the background."""
import threading

import pytest

from dashboard.summaries import Summary, top_users_summary


def test_top_users_summary_matches_a_plain_sort(mongo_db):
    counts = {"user-%03d" % n: (n * 37) % 11 for n in range(200)}
    mongo_db.user_clicks.insert_many([{"user_id": user, "click_count": count} for user, count in counts.items()])
    summary = top_users_summary(mongo_db, keep=15)
    expected = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:15]
    assert [(row["user_id"], row["click_count"]) for row in summary["users"]] == expected
    assert summary["total"] == 200


def test_summary_reads_once_then_refreshes_in_the_background():
    now = [0.0]
    reads = []
    refreshed = threading.Event()

    def compute(_db):
        reads.append(now[0])
        if len(reads) > 1:
            refreshed.set()
        return {"read": len(reads)}

    summary = Summary(compute, max_age=10, clock=lambda: now[0])
    assert summary.get(None) == ({"read": 1}, 0.0)
    now[0] = 5.0
    assert summary.get(None) == ({"read": 1}, 5.0) and reads == [0.0]
    now[0] = 11.0
    assert summary.get(None)[0] == {"read": 1}  # the old answer while the new one is read
    assert refreshed.wait(10), "no background refresh"
    for _attempt in range(1000):
        if summary.get(None)[0] == {"read": 2}:
            break
    assert summary.get(None)[0] == {"read": 2}


def test_a_failing_first_read_raises_and_a_failing_refresh_keeps_the_old_answer():
    calls = []

    def compute(_db):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("server down")
        return len(calls)

    summary = Summary(compute, max_age=0)
    with pytest.raises(RuntimeError, match="server down"):
        summary.get(None)
    assert summary.get(None)[0] == 2


def test_a_slow_read_is_refreshed_less_often():
    now = [0.0]

    def compute(_db):
        now[0] += 7.0  # each read takes 7 s
        return now[0]

    summary = Summary(compute, max_age=30, clock=lambda: now[0])
    assert summary.get(None) == (7.0, 0.0)
    assert summary.refresh_after == 70.0  # REFRESH_FACTOR 10 times the 7 s read, above max_age
    now[0] = 7.0 + 69.0
    assert summary.get(None) == (7.0, 69.0) and not summary._refreshing
