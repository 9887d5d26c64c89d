"""The other collections and the query functions, on the in-process stand-in, against references."""
import json

import pytest

from corpus import bot_lines, generated_lines
from loaders.joboutput import read_job_output
from loaders.load import load_batch
from loaders.queries import hourly_series, top_products, top_users, user_profile, users_above, suspicious
from mr.mr_sessions import MRSessions
from reference import (reference_event, reference_hourly_activity, reference_product_output, reference_sessions,
                       reference_suspicious_window, reference_user_actions)


def job_lines(records):
    return [json.dumps(key).encode() + b"\t" + json.dumps(value).encode() for key, value in records.items()]


def load(db, job, records, batch_id):
    rejected = {}
    stats = load_batch(db, job, read_job_output(job_lines(records), rejected), batch_id, [], rejected)
    assert not rejected, rejected
    return stats


@pytest.fixture(scope="module")
def lines():
    return generated_lines(events=3000, users=120, malformed=0.01, seed=21) + bot_lines()


def test_hourly_series_matches_the_reference_and_reloads_idempotently(mongo_db, lines):
    expected, _ = reference_hourly_activity(lines)
    for _ in range(2):
        load(mongo_db, "hourly-activity", expected, "day")
    day = min(expected)[:10]
    rows = hourly_series(mongo_db, day)
    assert [row["hour"] for row in rows] == sorted(hour for hour in expected if hour.startswith(day))
    for row in rows:
        for name in ("events", "distinct_users", "product_page_visits", "cart_adds", "purchases"):
            assert row[name] == expected[row["hour"]][name]


def test_products_add_up_across_batches_and_rank(mongo_db, lines):
    half = len(lines) // 2
    first, second = reference_product_output(lines[:half]), reference_product_output(lines[half:])
    load(mongo_db, "product-popularity", first, "A")
    load(mongo_db, "product-popularity", second, "B")
    load(mongo_db, "product-popularity", first, "A")
    totals = {}
    for part in (first, second):
        for product, row in part.items():
            for name in ("views", "cart_adds", "purchases"):
                totals.setdefault(product, {"views": 0, "cart_adds": 0, "purchases": 0})[name] += row[name]
    ranked = sorted(totals, key=lambda product: (-totals[product]["purchases"], -totals[product]["views"], product))
    rows = top_products(mongo_db, 5)
    assert [row["product_id"] for row in rows] == ranked[:5]
    for row in rows:
        views, carts = totals[row["product_id"]]["views"], totals[row["product_id"]]["cart_adds"]
        assert row["view_to_cart"] == (round(carts / views, 6) if views else None)


def load_sessions_by_day(db, run_job, lines):
    """The sessions job over each UTC day's events, loaded as that day's batch (a hand load)."""
    days = {}
    for line in lines:
        parsed = reference_event(line)
        days.setdefault(parsed[2].strftime("%Y-%m-%d") if parsed else None, []).append(line)
    for day, day_lines in days.items():
        if day is not None:
            output, _counters = run_job(MRSessions, day_lines)
            load(db, "sessions", output, "sessions:dt=%s" % day)


def test_user_profile_with_sessions(mongo_db, lines, run_job):
    users, _ = reference_user_actions(lines)
    sessions, _ = reference_sessions(lines)
    load(mongo_db, "user-actions", users, "all")
    load_sessions_by_day(mongo_db, run_job, lines)
    busiest = top_users(mongo_db, 1)[0]["user_id"]
    assert busiest == min(users, key=lambda user: (-users[user]["click_count"], user))
    profile, recent = user_profile(mongo_db, busiest, sessions=100)
    assert profile["click_count"] == users[busiest]["click_count"]
    theirs = [session for session in sessions.values() if session["user_id"] == busiest]
    assert {row["session_id"] for row in recent} == {session["session_id"] for session in theirs}
    starts = [row["start_time"] for row in recent]
    assert starts == sorted(starts, reverse=True)
    above = users_above(mongo_db, 10)
    assert {row["user_id"] for row in above} == {user for user, row in users.items() if row["click_count"] > 10}


@pytest.mark.inline_runner
def test_suspicious_users_are_listed_with_their_rules(mongo_db, lines, run_job):
    from mr.mr_suspicious_users import MRSuspiciousUsers

    flagged, _ = reference_suspicious_window(lines)
    assert flagged
    output, _counters = run_job(MRSuspiciousUsers, lines)
    load(mongo_db, "suspicious-users", output, "all")
    load(mongo_db, "suspicious-users", output, "all")
    rows = suspicious(mongo_db, 1000)
    assert {row["user_id"]: row["rule_names"] for row in rows} == {
        user: value["rule_names"] for user, value in flagged.items()}
