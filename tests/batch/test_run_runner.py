"""`clickstream run` end to end in-process: a local raw area, the inline runner, the MongoDB
stand-in; totals checked against the independent reference over every event ever landed."""
import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from clickstream.layout import MICROS_PER_HOUR, hour_partition, parse_hour_option
from batch.area import open_area
from batch.lock import LOCKS
from batch.records import RUNS
from batch.runner import EXIT_FAILED, EXIT_OK, EXIT_TEMPFAIL, BatchRun, mrjob_args, run_mrjob
from corpus import generated_lines, lines_by_hour
from faults import FailingDb
from reference import reference_event, reference_hourly_activity, reference_sessions, reference_user_actions
from run_settings import run_settings

pytestmark = pytest.mark.inline_runner
HOUR = parse_hour_option("2024-12-29T03")
JOBS = ["user-actions", "hourly-activity", "sessions"]


def land(root, lines, name):
    """Write ``lines`` into the raw area by event hour, as the ingest would (invalid lines go to
    03:00 on the 29th). Returns {hour: lines landed there}."""
    by_hour = lines_by_hour(lines, int(datetime(2024, 12, 29, 3, tzinfo=timezone.utc).timestamp()) // 3600)
    for hour, hour_lines in by_hour.items():
        folder = os.path.join(root, hour_partition(hour))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name), "wb") as stream:
            stream.writelines(line + b"\n" for line in hour_lines)
    return by_hour


def set_watermark(root, complete_before_hour, topic="clicks"):
    os.makedirs(os.path.join(root, "_watermarks"), exist_ok=True)
    with open(os.path.join(root, "_watermarks", topic + ".json"), "w") as stream:
        json.dump({"topic": topic, "watermark_us": complete_before_hour * MICROS_PER_HOUR + 1}, stream)


def in_hour(lines, hour):
    start = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(hours=hour)
    kept = []
    for line in lines:
        event = reference_event(line)
        if event and start <= event[2] < start + timedelta(hours=1):
            kept.append(line)
    return kept


@pytest.fixture
def corpus():
    """Events over 2024-12-29 00:00-06:00, with malformed lines."""
    return generated_lines(events=6_000, users=300, malformed=0.02)


@pytest.fixture
def raw_root(tmp_path):
    return str(tmp_path / "raw")


def batch_run(raw_root, db, **overrides):
    settings = dict(sink=raw_root, mongo_uri="mongodb://unused", jobs=JOBS, runner="inline", hour="2024-12-29T03",
                    command=["test"])
    settings.update(overrides)
    return BatchRun(run_settings(**settings).validate(), open_area(raw_root), db)


def user_totals(db):
    return {doc["user_id"]: (doc["click_count"], doc["actions"]) for doc in db.user_clicks.find()}


def hourly_events(db):
    return {doc["hour"]: doc["events"] for doc in db.hourly_activity.find()}


def expected_hourly_events(lines):
    hourly, _rejected = reference_hourly_activity(lines)
    return {hour: record["events"] for hour, record in hourly.items()}


def session_events(db):
    return {doc["session_id"]: doc["events"] for doc in db.sessions.find()}


def expected_session_events(lines):
    return {name: record["events"] for name, record in reference_sessions(lines)[0].items()}


def expected_totals(lines):
    expected, _rejected = reference_user_actions(lines)
    return {user: (record["click_count"], record["actions"]) for user, record in expected.items()}


def test_run_processes_an_hour_once_and_late_data_once_more(raw_root, mongo_db, corpus):
    first, late = corpus[:4000], corpus[4000:]
    land(raw_root, first, "clicks+0+00000000000000000000+00000000000000003999.jsonl")
    set_watermark(raw_root, HOUR + 1)
    code, summary = batch_run(raw_root, mongo_db).execute()
    assert code == EXIT_OK, summary
    hour_lines = in_hour(first, HOUR)
    assert user_totals(mongo_db) == expected_totals(hour_lines)
    assert hourly_events(mongo_db) == expected_hourly_events(hour_lines)
    derived = os.path.join(raw_root, "derived", "user-actions", hour_partition(HOUR))
    assert "_SUCCESS" in os.listdir(derived) and "_MANIFEST-000001.json" in os.listdir(derived)

    # again: nothing to do, nothing changes
    code, summary = batch_run(raw_root, mongo_db).execute()
    assert code == EXIT_OK and "0 job runs" in summary and "3 up to date" in summary, summary
    assert user_totals(mongo_db) == expected_totals(hour_lines)

    # late events land in the done hour: only the new file is added (user-actions), the hour is
    # recomputed (hourly-activity, sessions), and nothing is counted twice
    land(raw_root, late, "clicks+0+00000000000000004000+00000000000000005999.jsonl")
    code, summary = batch_run(raw_root, mongo_db).execute()
    assert code == EXIT_OK, summary
    hour_lines = in_hour(corpus, HOUR)
    assert user_totals(mongo_db) == expected_totals(hour_lines)
    assert hourly_events(mongo_db) == expected_hourly_events(hour_lines)
    # sessions: one document per session of the recomputed hour, none left from the first revision
    assert session_events(mongo_db) == expected_session_events(hour_lines)
    manifest = json.load(open(os.path.join(derived, "_MANIFEST-000002.json")))
    assert [(r["revision"], r["kind"], len(r["inputs"])) for r in manifest["revisions"]] == [(0, "full", 1),
                                                                                          (1, "delta", 1)]
    run = mongo_db[RUNS].find_one(sort=[("started_at", -1)])
    assert run["status"] == "succeeded" and all(step["status"] == "ok" for step in run["steps"])
    assert all(item["ok"] for step in run["steps"] for item in step["invariants"])


def test_incomplete_hour_is_deferred_with_exit_75(raw_root, mongo_db, corpus):
    land(raw_root, corpus, "clicks+0+1+2.jsonl")
    set_watermark(raw_root, HOUR)  # hour 03 is not complete
    code, summary = batch_run(raw_root, mongo_db).execute()
    assert code == EXIT_TEMPFAIL and "dt=2024-12-29/hour=03 not complete yet" in summary, summary
    assert mongo_db.user_clicks.count_documents({}) == 0
    os.remove(os.path.join(raw_root, "_watermarks", "clicks.json"))
    code, summary = batch_run(raw_root, mongo_db).execute()
    assert code == EXIT_TEMPFAIL and "no watermark" in summary, summary
    code, summary = batch_run(raw_root, mongo_db, ignore_watermark=True).execute()
    assert code == EXIT_OK, summary


def test_latest_complete_catches_up_every_undone_hour_in_one_run_with_one_launch(raw_root, mongo_db, corpus):
    land(raw_root, corpus, "clicks+0+1+2.jsonl")
    set_watermark(raw_root, HOUR + 1)
    run = batch_run(raw_root, mongo_db, hour=None, latest_complete=True, jobs=["user-actions"])
    code, summary = run.execute()
    assert code == EXIT_OK, summary
    assert run.outcome.hours_done == [HOUR - 3, HOUR - 2, HOUR - 1, HOUR]  # hour 04+ is not complete
    assert (run.outcome.launches, run.outcome.mr_steps, run.outcome.loads) == (1, 4, 4), summary
    complete = [line for hour in run.outcome.hours_done for line in in_hour(corpus, hour)]
    assert user_totals(mongo_db) == expected_totals(complete)
    again = batch_run(raw_root, mongo_db, hour=None, latest_complete=True, jobs=["user-actions"])
    code, summary = again.execute()
    assert code == EXIT_OK and again.outcome.hours_done == [] and "0 job runs in 0 launches" in summary, summary


def test_a_multi_hour_run_launches_each_job_once_per_step_round(raw_root, mongo_db, corpus):
    hours = list(range(HOUR - 3, HOUR + 3))
    early = [line for number, line in enumerate(corpus) if number % 3]
    late = corpus[::3]  # every hour gets some
    land(raw_root, early, "clicks+0+1+2.jsonl")
    set_watermark(raw_root, HOUR + 3)
    backfill = ("2024-12-29T00", "2024-12-29T05")
    run = batch_run(raw_root, mongo_db, hour=None, backfill=backfill)
    code, summary = run.execute()
    assert code == EXIT_OK and run.outcome.hours_done == hours, summary
    assert run.outcome.launches == len(JOBS) and run.outcome.mr_steps == len(JOBS) * len(hours), summary
    record = mongo_db[RUNS].find_one({"_id": run.run_id})
    assert record["totals"]["launches"] == len(JOBS)
    assert {step["launch"] for step in record["steps"] if step["step"] == "mr"} == {
        "dt=2024-12-29/hour=00..dt=2024-12-29/hour=05 (6 hours, one launch)"}
    # late files in every hour, then --force: user-actions redoes revisions 0 and 1 of each hour
    # (two rounds, two launches); each set-by-key job recomputes each hour once
    land(raw_root, late, "clicks+0+3+4.jsonl")
    assert batch_run(raw_root, mongo_db, hour=None, backfill=backfill).execute()[0] == EXIT_OK
    forced = batch_run(raw_root, mongo_db, hour=None, backfill=backfill, force=True)
    code, summary = forced.execute()
    assert code == EXIT_OK and forced.outcome.launches == len(JOBS) + 1, summary
    everything = [line for hour in hours for line in in_hour(corpus, hour)]
    assert user_totals(mongo_db) == expected_totals(everything)
    assert hourly_events(mongo_db) == expected_hourly_events(everything)
    assert session_events(mongo_db) == expected_session_events(everything)


def folder_names(*path):
    folder = os.path.join(*path)
    return os.listdir(folder) if os.path.isdir(folder) else []


def test_a_failed_multi_hour_launch_commits_no_hour(raw_root, mongo_db, corpus):
    land(raw_root, corpus, "clicks+0+1+2.jsonl")
    set_watermark(raw_root, HOUR + 1)

    def failing(job, settings, inputs, output_uri, by_partition=False):
        raise RuntimeError("task lost")

    run = batch_run(raw_root, mongo_db, hour=None, date="2024-12-29", ignore_watermark=True, jobs=["user-actions"])
    run.job_runner = failing
    code, summary = run.execute()
    assert code == EXIT_FAILED and "hours, one launch): the job failed: task lost" in summary, summary
    derived = os.path.join(raw_root, "derived", "user-actions")
    assert not [name for name in folder_names(derived) if name != "_tmp"] and not folder_names(derived, "_tmp")
    assert mongo_db.user_clicks.count_documents({}) == 0


def test_a_broken_invariant_in_one_hour_of_a_launch_stops_there_and_the_next_run_completes(raw_root, mongo_db,
                                                                                             corpus):
    land(raw_root, corpus, "clicks+0+1+2.jsonl")
    set_watermark(raw_root, HOUR + 1)

    def losing_a_line_of_hour_02(job, settings, inputs, output_uri, by_partition=False):
        counters = run_mrjob(job, settings, inputs, output_uri, by_partition)
        folder = os.path.join(output_uri, "part-00000")
        with open(folder, "rb") as stream:
            lines = stream.readlines()
        with open(folder, "wb") as stream:  # as if hour 02 counted a line more than it read
            stream.writelines(lines + [b'["dt=2024-12-29/hour=02"]\t[["clickstream","lines read",1]]\n'])
        return counters

    backfill = ("2024-12-29T00", "2024-12-29T03")
    run = batch_run(raw_root, mongo_db, hour=None, backfill=backfill, jobs=["user-actions"])
    run.job_runner = losing_a_line_of_hour_02
    code, summary = run.execute()
    assert code == EXIT_FAILED and "dt=2024-12-29/hour=02 r0: invariant broken" in summary, summary
    derived = os.path.join(raw_root, "derived", "user-actions")
    assert sorted(name for name in os.listdir(derived) if name != "_tmp") == ["dt=2024-12-29"]
    assert sorted(os.listdir(os.path.join(derived, "dt=2024-12-29"))) == ["hour=00", "hour=01"]
    assert not folder_names(derived, "_tmp")  # no hour's split output left behind
    code, summary = batch_run(raw_root, mongo_db, hour=None, backfill=backfill, jobs=["user-actions"]).execute()
    assert code == EXIT_OK, summary
    assert user_totals(mongo_db) == expected_totals([line for hour in range(HOUR - 3, HOUR + 1)
                                                     for line in in_hour(corpus, hour)])


def test_a_held_lock_defers_and_names_the_holder_and_a_stale_one_is_taken_over(raw_root, mongo_db, corpus):
    land(raw_root, corpus, "clicks+0+1+2.jsonl")
    set_watermark(raw_root, HOUR + 1)
    now = datetime.now(timezone.utc)
    mongo_db[LOCKS].insert_one({"_id": hour_partition(HOUR), "token": "x", "run_id": "other-run", "host": "edge-1",
                                "pid": 4242, "acquired_at": now, "heartbeat_at": now})
    code, summary = batch_run(raw_root, mongo_db).execute()
    assert code == EXIT_TEMPFAIL and "run other-run on edge-1 (pid 4242)" in summary, summary
    mongo_db[LOCKS].update_one({"_id": hour_partition(HOUR)}, {"$set": {"heartbeat_at": now - timedelta(hours=7)}})
    code, summary = batch_run(raw_root, mongo_db).execute()
    assert code == EXIT_OK, summary
    assert mongo_db[LOCKS].count_documents({}) == 0


def test_a_broken_invariant_fails_the_run_and_commits_nothing(raw_root, mongo_db, corpus):
    land(raw_root, corpus, "clicks+0+1+2.jsonl")
    set_watermark(raw_root, HOUR + 1)

    def losing_lines(job, settings, inputs, output_uri):
        counters = run_mrjob(job, settings, inputs, output_uri)
        counters["clickstream"]["lines read"] += 1  # as if a line vanished between read and count
        return counters

    run = batch_run(raw_root, mongo_db)
    run.job_runner = losing_lines
    code, summary = run.execute()
    assert code == EXIT_FAILED and "invariant broken: events read = counted + rejected" in summary, summary
    assert not os.path.exists(os.path.join(raw_root, "derived", "user-actions", hour_partition(HOUR)))
    assert mongo_db[RUNS].find_one({"_id": run.run_id})["status"] == "failed"


def test_a_run_killed_mid_load_is_completed_by_the_next_without_double_counting(raw_root, mongo_db, corpus):
    land(raw_root, corpus, "clicks+0+1+2.jsonl")
    set_watermark(raw_root, HOUR + 1)
    settings = run_settings(sink=raw_root, mongo_uri="x", jobs=["user-actions"], runner="inline",
                            hour="2024-12-29T03", chunk_size=50)
    code, summary = BatchRun(settings, open_area(raw_root), FailingDb(mongo_db, "user_clicks", 3)).execute()
    assert code == EXIT_FAILED and "injected" in summary, summary
    assert 0 < mongo_db.user_clicks.count_documents({})  # some chunks landed
    code, summary = BatchRun(settings, open_area(raw_root), mongo_db).execute()
    assert code == EXIT_OK and "0 job runs" in summary and "1 loads" in summary, summary
    assert user_totals(mongo_db) == expected_totals(in_hour(corpus, HOUR))


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over_at_once(raw_root, mongo_db, corpus):
    import socket
    import subprocess

    land(raw_root, corpus, "clicks+0+1+2.jsonl")
    set_watermark(raw_root, HOUR + 1)
    finished = subprocess.Popen(["true"])
    finished.wait()
    now = datetime.now(timezone.utc)
    mongo_db[LOCKS].insert_one({"_id": hour_partition(HOUR), "token": "x", "run_id": "killed-run",
                                "host": socket.gethostname(), "pid": finished.pid, "acquired_at": now,
                                "heartbeat_at": now})
    code, summary = batch_run(raw_root, mongo_db, jobs=["user-actions"]).execute()
    assert code == EXIT_OK and "1 loads" in summary, summary
    assert user_totals(mongo_db) == expected_totals(in_hour(corpus, HOUR))
    assert mongo_db[LOCKS].count_documents({}) == 0  # taken over, then released


def test_force_redoes_every_step_and_counts_nothing_twice(raw_root, mongo_db, corpus):
    land(raw_root, corpus[:3000], "clicks+0+1+2.jsonl")
    set_watermark(raw_root, HOUR + 1)
    assert batch_run(raw_root, mongo_db).execute()[0] == EXIT_OK
    land(raw_root, corpus[3000:], "clicks+0+3+4.jsonl")
    assert batch_run(raw_root, mongo_db).execute()[0] == EXIT_OK
    run = batch_run(raw_root, mongo_db, force=True)
    code, summary = run.execute()
    # user-actions redoes both revisions, the set-by-key jobs one new revision each
    assert code == EXIT_OK and run.outcome.mr_steps == 4 and run.outcome.loads == 4, summary
    hour_lines = in_hour(corpus, HOUR)
    assert user_totals(mongo_db) == expected_totals(hour_lines)
    assert hourly_events(mongo_db) == expected_hourly_events(hour_lines)
    assert session_events(mongo_db) == expected_session_events(hour_lines)


@pytest.mark.parametrize("runner, checked", [("hadoop", False), ("local", None), ("inline", None)])  # None: mrjob's default, checked
def test_a_hadoop_launch_does_not_check_each_listed_input_again(runner, checked):
    from mr import job_class

    settings = run_settings(sink="/raw", mongo_uri="x", jobs=["user-actions"], runner=runner, hour="2024-12-29T03")
    inputs = ["hdfs:///raw/dt=2024-12-29/hour=03/clicks+0+1+2.jsonl", "hdfs:///raw/dt=2024-12-29/hour=03/b.jsonl"]
    job = job_class("user-actions")(args=mrjob_args("user-actions", settings, inputs, "hdfs:///out"))
    assert job.options.check_input_paths is checked  # mrjob's `hadoop fs -ls` per input, before each launch
    assert job.options.args == inputs
