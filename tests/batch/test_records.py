"""Run records and the invariants a run checks: each invariant fails on the counts that break it."""
from datetime import datetime, timedelta, timezone

import pytest

from batch.records import RUNS, RunRecord, broken, load_invariants, mr_invariants, recent_runs, run_rows


@pytest.mark.parametrize("counters, ok", [
    ({"clickstream": {"lines read": 10, "events valid": 8}, "clickstream rejected": {"bad json": 1, "no ts": 1}}, True),
    ({"clickstream": {"lines read": 10, "events valid": 9}, "clickstream rejected": {"bad json": 2}}, False),
    ({"clickstream": {"lines read": 10, "events valid": 9}}, False),  # a line neither counted nor rejected
    ({}, True),  # an empty hour
])
def test_mr_invariant_is_read_equals_counted_plus_rejected(counters, ok):
    (invariant,) = mr_invariants(counters)
    assert invariant["ok"] is ok
    assert broken([invariant]) == ([] if ok else [invariant])


def stats(records, upserted=0, matched=0, already_applied=0, rejected=0):
    return {"records": records, "upserted": upserted, "matched": matched, "already_applied": already_applied,
            "rejected": rejected}


@pytest.mark.parametrize("load_stats, broken_names", [
    (stats(5, upserted=3, matched=1, already_applied=1), []),
    (stats(5, upserted=3, matched=1), ["output records = documents upserted or matched"]),
    (stats(5, upserted=4, rejected=1), ["no output record rejected"]),
    (stats(6, upserted=4, rejected=1), ["output records = documents upserted or matched",
                                        "no output record rejected"]),
])
def test_load_invariants_account_for_every_record(load_stats, broken_names):
    assert [invariant["name"] for invariant in broken(load_invariants(load_stats))] == broken_names


def test_a_reject_reason_is_named_in_the_detail():
    (_, no_reject) = load_invariants(stats(2, upserted=1, rejected=1), {"hour_outside_batch": 1})
    assert no_reject["detail"] == "1 rejected, hour_outside_batch: 1"


def test_a_run_record_is_written_at_once_and_after_every_step(mongo_db):
    started = datetime(2024, 12, 29, 8, 0, tzinfo=timezone.utc)
    record = RunRecord(mongo_db, "run-1", ["clickstream", "run", "--hour", "2024-12-29T07"], 123, now=started)
    assert mongo_db[RUNS].find_one({"_id": "run-1"})["status"] == "running"  # a run that dies leaves this
    record.add_step({"step": "mr", "partition": "dt=2024-12-29/hour=07", "status": "ok"})
    record.add_step({"step": "load", "partition": "dt=2024-12-29/hour=07", "status": "ok", "counts": {"upserted": 7}})
    record.finish("ok", 0, "done", {"events": 40}, now=started + timedelta(seconds=12.5))
    stored = mongo_db[RUNS].find_one({"_id": "run-1"})
    assert [step["step"] for step in stored["steps"]] == ["mr", "load"]
    assert (stored["status"], stored["exit_code"], stored["seconds"], stored["totals"]) == ("ok", 0, 12.5,
                                                                                             {"events": 40})


def test_run_rows_summarise_newest_first(mongo_db):
    base = datetime(2024, 12, 29, 8, 0, tzinfo=timezone.utc)
    for number, (status, steps) in enumerate([
            ("ok", [("mr", "ok", 0), ("load", "ok", 5)]),
            ("failed", [("mr", "ok", 0), ("load", "failed", 0), ("mr", "failed", 0)])]):
        record = RunRecord(mongo_db, "run-%d" % number, ["clickstream", "run"], 1, now=base + timedelta(hours=number))
        for step, step_status, upserted in steps:
            record.add_step({"step": step, "partition": "dt=2024-12-29/hour=%02d" % number, "status": step_status,
                             "counts": {"upserted": upserted}})
        record.finish(status, 0 if status == "ok" else 1, status, {"failure": "x" * 150} if number else {},
                      now=base + timedelta(hours=number, seconds=3))
    rows = run_rows(recent_runs(mongo_db, limit=5))
    assert [row["run_id"] for row in rows] == ["run-1", "run-0"]
    newest, oldest = rows
    assert (oldest["mr"], oldest["loads"], oldest["upserted"], oldest["hours"], oldest["first_hour"]) == (
        1, 1, 5, 1, "dt=2024-12-29/hour=00")
    assert (newest["mr"], newest["loads"], newest["exit"]) == (1, 0, 1)
    assert len(newest["note"]) == 100 and newest["note"].endswith("...")
    assert run_rows(recent_runs(mongo_db, limit=1))[0]["run_id"] == "run-1"
