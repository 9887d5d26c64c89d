"""Issue 12's equivalence in-process: hourly `clickstream run`s (inline runner, the MongoDB
stand-in) in shuffled order, two of them failing mid-load and run again, then late files, give
every collection the answers of one pass over all the events (tests/equivalence.py)."""
import json
import os
import random

import pytest

from clickstream.layout import MICROS_PER_HOUR, hour_partition
from batch.area import open_area
from batch.runner import EXIT_FAILED, EXIT_OK, BatchRun
from equivalence import build_corpus, check, compare, corpus_seed, land, summary_line
from faults import FailingDb
from mr import JOBS
from run_settings import run_settings

pytestmark = pytest.mark.inline_runner


def set_watermark(root, complete_before_hour, topic="clicks"):
    os.makedirs(os.path.join(root, "_watermarks"), exist_ok=True)
    with open(os.path.join(root, "_watermarks", topic + ".json"), "w") as stream:
        json.dump({"topic": topic, "watermark_us": complete_before_hour * MICROS_PER_HOUR + 1}, stream)


def run_hour(root, db, hour, chunk_size=10):
    settings = run_settings(sink=root, mongo_uri="mongodb://unused", jobs=list(JOBS), runner="inline",
                            hour=hour_partition(hour).replace("dt=", "").replace("/hour=", "T"), chunk_size=chunk_size,
                            command=["test"]).validate()
    return BatchRun(settings, open_area(root), db).execute()


def test_hourly_runs_in_any_order_with_failures_and_late_files_equal_one_pass(tmp_path, mongo_db):
    seed = corpus_seed()
    print("equivalence seed %d (CLICKSTREAM_TEST_SEED=%d replays it)" % (seed, seed))
    corpus = build_corpus(seed, hours=5, events=600, users=100)
    root = str(tmp_path / "raw")
    hours = land(root, corpus.on_time, "clicks+0+00000000000000000000+00000000000000009999.jsonl")
    set_watermark(root, hours[-1] + 1)
    order = list(hours)
    rng = random.Random(seed)
    rng.shuffle(order)
    # in two busy (inner) hours, a product load fails after some chunks landed (additive: the ledger
    # and markers guard it) and a sessions load fails between its journal's writes (the next load
    # replays the journal)
    inner = [hour for hour in order if hours[0] < hour < hours[0] + 4]
    failing = {inner[0]: ("product_popularity", 2), inner[1]: ("sessions", 2)}
    for hour in order:
        if hour in failing:
            name, fail_at = failing[hour]
            code, summary = run_hour(root, FailingDb(mongo_db, name, fail_at), hour)
            assert code == EXIT_FAILED and "injected" in summary, summary
        code, summary = run_hour(root, mongo_db, hour)
        assert code == EXIT_OK, summary

    late_hours = land(root, corpus.late, "clicks+0+00000000000000010000+00000000000000019999.jsonl")
    assert set(late_hours) <= set(hours) and len(late_hours) >= 3, late_hours
    rng.shuffle(late_hours)
    for hour in late_hours:
        code, summary = run_hour(root, mongo_db, hour)
        assert code == EXIT_OK and "0 up to date" in summary, summary

    figures, differences = compare(mongo_db, corpus.everything, corpus.bots)
    print(summary_line(figures, differences))
    assert figures["sessions_across_hours"] >= 10 and figures["keyless_sessions"] >= 10, figures
    check(differences)


def as_served(db, lines):
    """Writes the references' answers over ``lines`` as the served collections would hold them."""
    from datetime import datetime

    from equivalence import expected

    def date(text):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    want = expected(lines)
    db.user_clicks.insert_many([dict(record, user_id=user, first_seen=date(record["first_seen"]),
                                     last_seen=date(record["last_seen"])) for user, record in want["user_clicks"].items()])
    db.hourly_activity.insert_many([dict(record, hour=hour) for hour, record in want["hourly_activity"].items()])
    db.product_popularity.insert_many([dict(record) for record in want["product_popularity"].values()])
    db.sessions.insert_many([dict(record, start_time=date(record["start_time"]), end_time=date(record["end_time"]))
                             for record in want["sessions"].values()])
    db.suspicious_users.insert_many([dict(record) for record in want["suspicious_users"].values()])


def test_the_comparison_finds_every_kind_of_wrong_answer(mongo_db):
    """The check can fail: served answers equal to the references compare equal; an event the
    served side never saw, and a flipped session field, show as differences."""
    corpus = build_corpus(5, hours=3, events=200, users=30)
    as_served(mongo_db, corpus.everything)
    figures, differences = compare(mongo_db, corpus.everything, corpus.bots)
    assert differences == [] and figures["sessions"] > 0, differences
    unseen = b'{"user_id": "loyal-00", "action": "purchase", "timestamp": "2024-12-29T02:59:00Z", ' \
             b'"product_id": "shared-0", "session_id": "unseen"}'
    mongo_db.sessions.update_one({"user_id": "crosser-nosid-1"}, {"$set": {"abandoned_checkout": True}})
    mongo_db.suspicious_users.update_one({"user_id": corpus.bots[0]}, {"$set": {"events": 1}})
    _figures, differences = compare(mongo_db, corpus.everything + [unseen])
    wrong = {(item[0], item[1]) for item in differences}
    assert wrong == {("user_clicks", "click_count"), ("user_clicks", "actions"), ("user_clicks", "last_seen"),
                     ("user_clicks", "last_action"), ("hourly_activity", "events"),
                     ("hourly_activity", "purchases"), ("hourly_activity", "actions"),
                     ("product_popularity", "events"), ("product_popularity", "purchases"),
                     ("sessions", "missing"), ("sessions", "abandoned_checkout"),
                     ("suspicious_users", "events")}, wrong
    with pytest.raises(AssertionError, match="differences from the one-pass references"):
        check(differences)
