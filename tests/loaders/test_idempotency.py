"""Exactly once for any number of batches (issue 13): replays, --force, crashes and their re-runs,
batches known by their content, last_action, and exact distinct users per product (issue 12)."""
import json

import pytest

from clickstream.errors import ClickstreamError
from corpus import generated_lines
from loaders import bulk
from loaders.joboutput import read_job_output
from loaders.ledger import LOADING, batch_status
from loaders.load import load_batch
from reference import (reference_event, reference_product_output, reference_product_popularity,
                       reference_product_users, reference_user_actions)


def job_lines(records):
    return [json.dumps(key).encode() + b"\t" + json.dumps(value).encode() for key, value in records.items()]


def load(db, job, records, batch_id, **options):
    rejected = {}
    stats = load_batch(db, job, read_job_output(job_lines(records), rejected), batch_id, [], rejected, **options)
    return stats, rejected


def user_totals(db):
    return {doc["user_id"]: (doc["click_count"], doc["actions"], doc["last_action"]) for doc in db.user_clicks.find()}


def reference_totals(lines, times=1):
    """Per user: (clicks, actions, last action) of ``lines`` counted ``times`` over, computed plainly."""
    per_user = {}
    for line in lines:
        event = reference_event(line)
        if event is None:
            continue
        user, action, moment = event
        clicks, actions, latest = per_user.get(user, (0, {}, None))
        actions = dict(actions, **{action: actions.get(action, 0) + times})
        latest = max(latest, (moment, action)) if latest else (moment, action)
        per_user[user] = (clicks + times, actions, latest)
    return {user: (clicks, actions, latest[1]) for user, (clicks, actions, latest) in per_user.items()}


class Crash(Exception):
    pass


def crash_at_chunk(monkeypatch, number):
    real_chunk = bulk.merge_chunk
    calls = []

    def dying_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise Crash("killed")
        return real_chunk(*args, **kwargs)

    monkeypatch.setattr(bulk, "merge_chunk", dying_chunk)
    return lambda: monkeypatch.setattr(bulk, "merge_chunk", real_chunk)


@pytest.fixture(scope="module")
def small():
    lines = generated_lines(events=60, users=4, malformed=0, seed=3)[:60]
    return lines, reference_user_actions(lines)[0]


def test_210_batches_then_a_forced_replay_of_the_first_is_exact(mongo_db, small):
    lines, records = small
    for number in range(210):
        load(mongo_db, "user-actions", records, "b%d" % number)
    stats, _ = load(mongo_db, "user-actions", records, "b0", force=True)
    assert stats["already_applied"] == len(records)
    assert user_totals(mongo_db) == reference_totals(lines, times=210)


def test_a_crashed_batch_rerun_after_210_newer_ones_is_exact(mongo_db, small, monkeypatch):
    lines, records = small
    restore = crash_at_chunk(monkeypatch, 2)
    with pytest.raises(Crash, match="killed"):
        load(mongo_db, "user-actions", records, "crashed", chunk_size=2)
    restore()
    assert batch_status(mongo_db, "user_clicks", "crashed") == LOADING
    for number in range(210):
        load(mongo_db, "user-actions", records, "b%d" % number)
    load(mongo_db, "user-actions", records, "crashed", chunk_size=2)
    assert user_totals(mongo_db) == reference_totals(lines, times=211)


@pytest.fixture(scope="module")
def contents():
    """Batch A's content X, its other content Y (other events, other users), and batch B."""
    lines = generated_lines(events=1500, users=60, malformed=0, seed=17)
    third = len(lines) // 3
    x, y, b = lines[:third], lines[third:2 * third], lines[2 * third:]
    return x, y, b


def test_force_with_other_content_replaces_the_contribution(mongo_db, contents):
    x, y, b = contents
    load(mongo_db, "user-actions", reference_user_actions(x)[0], "A")
    load(mongo_db, "user-actions", reference_user_actions(b)[0], "B")
    load(mongo_db, "user-actions", reference_user_actions(y)[0], "A", force=True)
    assert user_totals(mongo_db) == reference_totals(y + b)
    # and replaying the replacement changes nothing
    load(mongo_db, "user-actions", reference_user_actions(y)[0], "A", force=True)
    assert user_totals(mongo_db) == reference_totals(y + b)


def test_last_action_is_always_one_the_user_has():
    """Old content has the user's latest event (a purchase); the other content has only older views."""
    from loaders.mongomock_compat import in_process_client

    db = in_process_client()["last_action"]
    old = {"u": {"actions": {"purchase": 1}, "click_count": 1, "last_action": "purchase",
                 "first_seen": "2024-12-29T07:50:00Z", "last_seen": "2024-12-29T07:50:00Z"}}
    new = {"u": {"actions": {"view": 2}, "click_count": 2, "last_action": "view",
                 "first_seen": "2024-12-29T07:00:00Z", "last_seen": "2024-12-29T07:10:00Z"}}
    load(db, "user-actions", old, "A")
    load(db, "user-actions", new, "A", force=True)
    document = db.user_clicks.find_one({"user_id": "u"})
    assert (document["click_count"], document["actions"], document["last_action"]) == (2, {"view": 2}, "view")
    assert document["last_seen"].isoformat()[:19] == "2024-12-29T07:10:00"


def test_a_complete_batch_with_other_content_is_refused_unless_forced(mongo_db, contents):
    x, y, _b = contents
    load(mongo_db, "user-actions", reference_user_actions(x)[0], "A", content={"output_sha256": "aaaa"})
    with pytest.raises(ClickstreamError, match=r"batch 'A' .*output_sha256 aaaa.*output_sha256 bbbb.*--force"):
        load(mongo_db, "user-actions", reference_user_actions(y)[0], "A", content={"output_sha256": "bbbb"})
    assert user_totals(mongo_db) == reference_totals(x)
    again, _ = load(mongo_db, "user-actions", reference_user_actions(x)[0], "A", content={"output_sha256": "aaaa"})
    assert again["skipped"]
    load(mongo_db, "user-actions", reference_user_actions(y)[0], "A", content={"output_sha256": "bbbb"}, force=True)
    assert user_totals(mongo_db) == reference_totals(y)


# --- distinct users per product ----------------------------------------------------------------

def distinct_pairs(lines):
    """The plain reference: one set of (product, user) over every event, counted per product."""
    pairs = set()
    for product, users in reference_product_users(lines).items():
        pairs.update((product, user) for user in users)
    counts = {}
    for product, _user in pairs:
        counts[product] = counts.get(product, 0) + 1
    return counts


def stored_distinct(db):
    return {doc["product_id"]: doc["distinct_users"] for doc in db.product_popularity.find()}


def test_distinct_users_are_exact_across_many_batches_replays_and_crashes(mongo_db, monkeypatch):
    lines = generated_lines(events=3000, users=80, malformed=0, seed=29)
    batches = [lines[start:start + 100] for start in range(0, len(lines), 100)]
    restore = crash_at_chunk(monkeypatch, 3)
    with pytest.raises(Crash, match="killed"):
        load(mongo_db, "product-popularity", reference_product_output(batches[0]), "p0", chunk_size=5)
    restore()
    for number, batch in enumerate(batches):
        stats, rejected = load(mongo_db, "product-popularity", reference_product_output(batch), "p%d" % number,
                               chunk_size=5)
        assert not rejected
    load(mongo_db, "product-popularity", reference_product_output(batches[1]), "p1", force=True)
    load(mongo_db, "product-popularity", reference_product_output(batches[2]), "p2")
    assert stored_distinct(mongo_db) == distinct_pairs(lines)
    summed = {}
    for batch in batches:
        for product, record in reference_product_popularity(batch)[0].items():
            summed[product] = summed.get(product, 0) + record["distinct_users"]
    assert summed != distinct_pairs(lines)  # the old answer was wrong on this corpus
    views = {doc["product_id"]: doc["views"] for doc in mongo_db.product_popularity.find()}
    assert views == {product: record["views"] for product, record in reference_product_popularity(lines)[0].items()}


# --- keys outside the batch's partition ---------------------------------------------------------

def test_an_hour_outside_the_batch_is_rejected_and_never_overwrites_that_hour(mongo_db):
    lines = generated_lines(events=2000, users=50, malformed=0, seed=31)
    from reference import reference_hourly_activity

    hourly, _ = reference_hourly_activity(lines)
    seven, eight = "2024-12-29T01", "2024-12-29T02"
    assert seven in hourly and eight in hourly
    load(mongo_db, "hourly-activity", {eight: hourly[eight]}, "hourly-activity:dt=2024-12-29/hour=02")
    wrong = dict(hourly[eight], events=1)
    stats, rejected = load(mongo_db, "hourly-activity", {seven: hourly[seven], eight: wrong},
                           "hourly-activity:dt=2024-12-29/hour=01")
    assert rejected == {"hour_outside_batch": 1} and stats["rejected"] == 1
    assert {doc["hour"]: doc["events"] for doc in mongo_db.hourly_activity.find()} == {
        seven: hourly[seven]["events"], eight: hourly[eight]["events"]}


class CrashingDb:
    """Passes through to a database, raising on the n-th bulk_write of any collection: a load
    killed between any two of a chunk's writes."""

    def __init__(self, db, fail_at):
        self._db = db
        self.fail_at = fail_at
        self.calls = 0

    def __getitem__(self, name):
        return _CrashingCollection(self, self._db[name])

    def __getattr__(self, name):
        return getattr(self._db, name)


class _CrashingCollection:
    def __init__(self, owner, collection):
        self._owner = owner
        self._collection = collection

    def bulk_write(self, *args, **kwargs):
        self._owner.calls += 1
        if self._owner.calls == self._owner.fail_at:
            raise Crash("killed at write %d" % self._owner.calls)
        return self._collection.bulk_write(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._collection, name)


def every_crash_point(load_before, crashing_load, check):
    """Kill ``crashing_load`` at its 1st, 2nd, ... bulk write (each time on a fresh database that
    ``load_before`` filled), re-run it whole, and ``check`` the database; until a load runs through."""
    from loaders.mongomock_compat import in_process_client

    for fail_at in range(1, 200):
        db = in_process_client()["crash_%d" % fail_at]
        load_before(db)
        try:
            crashing_load(CrashingDb(db, fail_at))
        except Crash:
            crashing_load(db)
            check(db)
            continue
        return fail_at - 1
    raise AssertionError("the load never ran through")


def test_a_load_killed_between_any_two_writes_is_exact_after_its_rerun(contents):
    x, _y, b = contents
    x, b = x[:150], b[:150]  # a few dozen users: two chunks and more
    records_a, records_b = reference_user_actions(x)[0], reference_user_actions(b)[0]

    def check(db):
        assert user_totals(db) == reference_totals(x + b)
        assert all(not doc["applying"] for doc in db.user_clicks.find())

    points = every_crash_point(lambda db: load(db, "user-actions", records_b, "B"),
                               lambda db: load(db, "user-actions", records_a, "A", chunk_size=4), check)
    assert points >= 10  # two chunks or more, every write of each


def test_product_load_killed_between_any_two_writes_is_exact_after_its_rerun():
    lines = generated_lines(events=200, users=20, malformed=0, seed=37)
    first, second = lines[:100], lines[100:]

    def check(db):
        assert stored_distinct(db) == distinct_pairs(lines)

    points = every_crash_point(lambda db: load(db, "product-popularity", reference_product_output(first), "P1"),
                               lambda db: load(db, "product-popularity", reference_product_output(second), "P2",
                                               chunk_size=6), check)
    assert points >= 10
