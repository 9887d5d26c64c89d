"""`clickstream run` against the real stack, end to end: generate -> Kafka -> ingest -> run (cron
style, --latest-complete) -> MongoDB, with a run killed mid-load, late events for a done hour and
two runs racing for one partition; totals checked against an independent count of every event."""
import getpass
import os
import signal
import subprocess
import time
import uuid

import orjson
import pytest
from hdfs import InsecureClient

from clickstream.generator import GeneratorSpec
from reference import reference_event, reference_hourly_activity, reference_user_actions
from test_ingest_support import (CLICKSTREAM, generate_command, generated_lines,
                                 ingest_command, produce, run, start, tail)

pytestmark = pytest.mark.integration
EXIT_TEMPFAIL = 75


def run_env(mongodb_uri, database, **extra):
    env = dict(os.environ, CLICKSTREAM_MONGO_URI=mongodb_uri, CLICKSTREAM_DB=database.name)
    env.update(extra)
    return env


def clickstream_run(args, env, timeout=600):
    return subprocess.run([CLICKSTREAM, "run", *args], capture_output=True, text=True, env=env, timeout=timeout)


def event(user, action, stamp, **fields):
    return orjson.dumps(dict({"user_id": user, "action": action, "timestamp": stamp}, **fields))


def hour_of_line(line):
    parsed = reference_event(line)
    return None if parsed is None else parsed[2].strftime("dt=%Y-%m-%d/hour=%H")


def user_totals(db):
    return {doc["user_id"]: (doc["click_count"], doc["actions"]) for doc in db.user_clicks.find()}


def expected_totals(lines):
    expected, _rejected = reference_user_actions(lines)
    return {user: (record["click_count"], record["actions"]) for user, record in expected.items()}


def test_cron_runs_end_to_end_with_a_kill_late_events_and_exact_totals(kafka_bootstrap, mongodb_uri, topic,
                                                                       database, tmp_path):
    root = str(tmp_path / "raw")
    ingest = ingest_command(kafka_bootstrap, topic, "run-" + topic, "file://" + root, "--until-idle", "3",
                            "--allowed-lateness-seconds", "0")
    env = run_env(mongodb_uri, database, CLICKSTREAM_SINK=root, CLICKSTREAM_RUNNER="local",
                  CLICKSTREAM_LOAD_CHUNK_SIZE="25")
    # about an hour and a half of clickstream: hour 00 is complete, hour 01 is being written
    spec = GeneratorSpec(events=4000, users=200, seed=23, malformed_fraction=0.01, span_hours=1.5)
    run(generate_command(kafka_bootstrap, topic, spec), str(tmp_path / "generate.log"))
    valid, _malformed = generated_lines(spec)
    assert {hour_of_line(line) for line in valid} == {"dt=2024-12-29/hour=00", "dt=2024-12-29/hour=01"}
    run(ingest, str(tmp_path / "ingest-1.log"))

    first = clickstream_run(["--latest-complete"], env)
    assert first.returncode == 0, first.stderr
    assert first.stderr == "", "a successful cron run is quiet: %r" % first.stderr
    second = clickstream_run(["--latest-complete", "-v"], env)
    assert second.returncode == 0, second.stderr
    assert "0 job runs" in second.stderr and "no hour" in second.stderr, (
        second.stderr, [(doc["summary"], doc.get("totals")) for doc in database.runs.find()])
    runs = list(database.runs.find().sort([("started_at", 1)]))
    assert [run_doc["totals"]["hours"] for run_doc in runs] == [["dt=2024-12-29/hour=00"], []]
    assert runs[1]["steps"] == []
    hour_00 = [line for line in valid if hour_of_line(line) == "dt=2024-12-29/hour=00"]
    assert user_totals(database) == expected_totals(hour_00)

    # hour 02 starts: hour 01 completes. Kill the run that loads it in the middle of a load.
    more = [event("user-%06d" % (n % 50), "view_product", "2024-12-29T01:%02d:%02dZ" % (n % 60, n % 59),
                  product_id="p-%d" % (n % 7)) for n in range(300)]
    more.append(event("user-000001", "search", "2024-12-29T02:05:00Z"))
    produce(kafka_bootstrap, topic, [(b"k", line) for line in more])
    run(ingest, str(tmp_path / "ingest-2.log"))
    victim = start([CLICKSTREAM, "run", "--latest-complete"], str(tmp_path / "victim.log"), env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and victim.poll() is None:
        if database.load_batches.find_one({"status": "loading", "batch_id": {"$regex": "hour=01"}}):
            victim.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    assert victim.wait(timeout=300) == -signal.SIGKILL, "the run ended before a load began:\n" + tail(
        str(tmp_path / "victim.log"))
    assert database.runs.find_one({"status": "running"}), "the killed run's record stays 'running'"

    resumed = clickstream_run(["--latest-complete", "-v"], env)  # the dead holder's lock is taken over
    assert resumed.returncode == 0, resumed.stderr
    assert "dt=2024-12-29/hour=01" in resumed.stderr, resumed.stderr

    # late events for the done hour 00 (and a malformed one): that hour, and only it, runs again
    late = [event("user-000007", "add_to_cart", "2024-12-29T00:59:59Z", product_id="p-1"),
            event("late-user", "purchase", "2024-12-29T00:10:00+01:00", product_id="p-2"),  # 23:10 on the 28th
            event("late-user", "purchase", "2024-12-29T00:10:00Z", product_id="p-2"),
            b'{"user_id": "broken"']
    produce(kafka_bootstrap, topic, [(b"k", line) for line in late])
    run(ingest, str(tmp_path / "ingest-3.log"))
    after_late = clickstream_run(["--latest-complete", "-v"], env)
    assert after_late.returncode == 0, after_late.stderr
    assert "dt=2024-12-29/hour=00" in after_late.stderr and "r1 (delta, 1 files" in after_late.stderr, after_late.stderr
    # hour 23 of the 28th, new with the +01:00 event, was caught up by the same run, in the same launch
    assert "sessions dt=2024-12-28/hour=23 r0 (full, 1 files, launched with" in after_late.stderr, after_late.stderr
    nothing = clickstream_run(["--backfill", "2024-12-28T23", "2024-12-29T01", "-v"], env)
    assert nothing.returncode == 0 and "0 job runs in 0 launches" in nothing.stderr, nothing.stderr

    everything = valid + more + late
    complete = [line for line in everything
                if hour_of_line(line) in ("dt=2024-12-28/hour=23", "dt=2024-12-29/hour=00", "dt=2024-12-29/hour=01")]
    assert user_totals(database) == expected_totals(complete)
    hourly, _ = reference_hourly_activity(complete)
    assert {doc["hour"]: doc["events"] for doc in database.hourly_activity.find()} == {
        hour: record["events"] for hour, record in hourly.items()}
    # hour 02 is not complete: asking for it explicitly is a temporary failure, for cron to retry
    early = clickstream_run(["--hour", "2024-12-29T02"], env)
    assert early.returncode == EXIT_TEMPFAIL and "not complete yet" in early.stderr, early.stderr
    # every finished run reconciled
    for run_doc in database.runs.find({"status": "succeeded"}):
        assert all(item["ok"] for step in run_doc["steps"] for item in step["invariants"]), run_doc["_id"]
    listing = subprocess.run([CLICKSTREAM, "runs", "--limit", "10"], capture_output=True, text=True, env=env,
                             timeout=300)
    assert listing.returncode == 0 and "deferred" in listing.stdout and "running" in listing.stdout, listing.stdout


def test_two_runs_on_one_partition_one_waits_with_exit_75(mongodb_uri, database, tmp_path):
    root = tmp_path / "raw"
    folder = root / "dt=2024-12-29" / "hour=05"
    folder.mkdir(parents=True)
    lines = [event("u%d" % (n % 400), "view_product", "2024-12-29T05:%02d:00Z" % (n % 60), product_id="p%d" % (n % 9))
             for n in range(8000)]
    (folder / "t+0+1+8000.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    env = run_env(mongodb_uri, database, CLICKSTREAM_SINK=str(root))
    args = ["--hour", "2024-12-29T05", "--ignore-watermark"]
    holder = start([CLICKSTREAM, "run", *args], str(tmp_path / "holder.log"), env=env)
    deadline = time.monotonic() + 300
    while database.run_locks.count_documents({}) == 0 and holder.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert database.run_locks.count_documents({}) == 1, "the first run never held the lock:\n" + tail(
        str(tmp_path / "holder.log"))
    # Paused, the holder is alive and its heartbeat fresh however fast the machine: the second run
    # must meet the lock, not a holder that has already finished.
    os.kill(holder.pid, signal.SIGSTOP)
    try:
        second = clickstream_run(args, env)
    finally:
        os.kill(holder.pid, signal.SIGCONT)
    assert holder.wait(timeout=600) == 0, tail(str(tmp_path / "holder.log"))
    assert second.returncode == EXIT_TEMPFAIL, second.stderr
    assert "is locked by run " in second.stderr and "pid %d" % holder.pid in second.stderr, second.stderr
    again = clickstream_run(args, env)  # the lock is free again, and everything is done
    assert again.returncode == 0, again.stderr
    assert user_totals(database) == expected_totals(lines)


def test_hadoop_runner_over_an_hdfs_sink(kafka_bootstrap, webhdfs_url, hadoop_home, mongodb_uri, topic, database,
                                         tmp_path):
    """`clickstream run -r hadoop` over an hdfs:// sink on the stack's YARN: one MapReduce
    application per job, their counters reconciled, the hour loaded."""
    from mr import job_class
    from test_yarn_support import new_applications, yarn_applications

    resourcemanager_url = os.environ.get("YARN_RESOURCEMANAGER_URL")
    if not os.environ.get("MRJOB_CONF") or not resourcemanager_url:
        pytest.skip("MRJOB_CONF or YARN_RESOURCEMANAGER_URL unset; run under `eval \"$(scripts/stack env)\"`")
    sink = "/test/run-%s" % uuid.uuid4().hex[:10]
    client = InsecureClient(webhdfs_url, user=getpass.getuser())
    # hours 00 and 01 complete, 02 being written; generate_command's start: 2024-12-29
    spec = GeneratorSpec(events=3000, users=100, seed=5, span_hours=2.5)
    run(generate_command(kafka_bootstrap, topic, spec), str(tmp_path / "generate.log"))
    valid, _malformed = generated_lines(spec)
    run(ingest_command(kafka_bootstrap, topic, "hadoop-" + topic, "hdfs://" + sink, "--until-idle", "3",
                       "--allowed-lateness-seconds", "0"), str(tmp_path / "ingest.log"))
    try:
        env = run_env(mongodb_uri, database)
        before = yarn_applications(resourcemanager_url)
        result = clickstream_run(["--latest-complete", "-r", "hadoop", "--sink", "hdfs://" + sink,
                                  "--jobs", "user-actions,hourly-activity"], env, timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]
        apps = new_applications(resourcemanager_url, before)
        # one YARN application per MapReduce step for both hours: user-actions has one, hourly-activity two
        steps = sum(len(job_class(job)(args=[]).steps()) for job in ("user-actions", "hourly-activity"))
        assert steps == 3
        assert sorted((app["applicationType"], app["finalStatus"]) for app in apps.values()) == [
            ("MAPREDUCE", "SUCCEEDED")] * steps, apps
        complete = [line for line in valid if hour_of_line(line) in ("dt=2024-12-29/hour=00", "dt=2024-12-29/hour=01")]
        assert user_totals(database) == expected_totals(complete)
        hourly, _ = reference_hourly_activity(complete)
        assert len(hourly) == 2 and {doc["hour"]: doc["events"] for doc in database.hourly_activity.find()} == {
            hour: record["events"] for hour, record in hourly.items()}
        for hour in ("00", "01"):
            names = client.list(sink + "/derived/user-actions/dt=2024-12-29/hour=" + hour)
            assert "_SUCCESS" in names and "_MANIFEST-000001.json" in names
            assert any(name.startswith("g000001-part-") for name in names)
        assert database.runs.find_one(sort=[("started_at", -1)])["totals"]["launches"] == 2
    finally:
        client.delete(sink, recursive=True)
