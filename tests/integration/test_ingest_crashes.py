"""Exactly once through faults, against the real stack: SIGKILL at random moments, a consumer-group
rebalance, WebHDFS unreachable for a while, a broker restart.

Each fault waits for observable progress (partitions resumed, files committed, a failure logged),
never a fixed time; the kill moments come from a seeded schedule: the seed is printed, and
CLICKSTREAM_TEST_SEED=<seed> replays it."""
import os
import subprocess
import time
import uuid

import orjson
import pytest

from clickstream.generator import GeneratorSpec
from tcp_proxy import Proxy
from test_ingest_support import (
    REPO, assert_exactly_once, fault_schedule, files_committed, generate_command, generated_lines, ingest_command,
    local_files_committed, log_size, log_text, produce, read_hdfs_area, read_local_area, resumed, run, start, stop,
    tail, wait_for,
)

pytestmark = pytest.mark.integration
# Generous: the machine may be loaded, and a deadline only ever ends a test that would hang.
DEADLINE = 300

# Small files on purpose: many flushes, so kills land in every phase of the protocol.
FAST = ["--rotate-events", "4000", "--rotate-seconds", "1", "--progress-seconds", "2"]


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(kafka_bootstrap, webhdfs_url, hadoop_home, topic,
                                                                tmp_path):
    spec = GeneratorSpec(events=60_000, users=2_000, seed=11, malformed_fraction=0.003, offset_fraction=0.1,
                         span_hours=6)
    root = "/test-ingest/kill-%s" % uuid.uuid4().hex[:10]
    sink = "hdfs://" + root
    log = str(tmp_path / "ingest.log")
    producer = start(generate_command(kafka_bootstrap, topic, spec, rate=3000), str(tmp_path / "generate.log"))
    # One static member: a restarted process takes its partitions back without waiting for the
    # killed one's session to expire.
    command = ingest_command(kafka_bootstrap, topic, "kill-" + topic, sink, "--webhdfs-url", webhdfs_url,
                             "--group-instance-id", "kill-test", "--compression", "gzip", *FAST)
    chance, seed = fault_schedule("sigkill")
    replay = " (fault schedule seed %d: CLICKSTREAM_TEST_SEED=%d replays it)" % (seed, seed)
    kills = 0
    try:
        while kills < 8 or producer.poll() is None:
            since = log_size(log)
            process = start(command, log)
            try:
                # Killed only once it has taken its partitions back from the sink, so each kill hits
                # a working process; the moment after that is the schedule's, anywhere in a flush.
                wait_for(lambda: resumed(log, since) >= 3 or process.poll() is not None, DEADLINE,
                         "the ingest to resume its partitions" + replay)
                time.sleep(chance.uniform(0.0, 3.0))
                assert process.poll() is None, "ingest died by itself%s:\n%s" % (replay, tail(log))
            finally:
                process.kill()
                process.wait()
            kills += 1
        assert producer.wait(timeout=DEADLINE) == 0, tail(str(tmp_path / "generate.log"))
        run(command + ["--until-idle", "6"], log)
        data, rejects = read_hdfs_area(hadoop_home, root)
        valid, malformed = generated_lines(spec)
        assert kills >= 8
        assert_exactly_once(data, rejects, valid, malformed)
        assert resumed(log) >= 3 * (kills + 1), replay
    finally:
        if producer.poll() is None:
            producer.kill()
        subprocess.run([os.path.join(hadoop_home, "bin", "hadoop"), "fs", "-rm", "-r", "-f", "-skipTrash", root],
                       capture_output=True, timeout=120)


def test_a_rebalance_between_two_processes_loses_and_duplicates_nothing(kafka_bootstrap, topic, tmp_path):
    spec = GeneratorSpec(events=30_000, users=1_000, seed=12, malformed_fraction=0.002, span_hours=3)
    root = str(tmp_path / "raw")
    group = "rebalance-" + topic
    producer = start(generate_command(kafka_bootstrap, topic, spec, rate=4000), str(tmp_path / "generate.log"))
    first_log, second_log = str(tmp_path / "first.log"), str(tmp_path / "second.log")
    first = start(ingest_command(kafka_bootstrap, topic, group, "file://" + root, *FAST), first_log)
    second = None
    try:
        wait_for(lambda: (resumed(first_log) >= 3 and local_files_committed(root)) or first.poll() is not None,
                 DEADLINE, "the first ingest to own the topic and commit files")
        assert first.poll() is None, tail(first_log)
        second = start(ingest_command(kafka_bootstrap, topic, group, "file://" + root, "--until-idle", "6", *FAST),
                       second_log)
        # the group rebalanced onto both
        wait_for(lambda: resumed(second_log) >= 1 or second.poll() is not None, DEADLINE,
                 "the second ingest to get its share")
        assert stop(first) == 0, tail(first_log)  # leaves the group: a second rebalance
        assert producer.wait(timeout=DEADLINE) == 0
        assert second.wait(timeout=2 * DEADLINE) == 0, tail(second_log)
    finally:
        for process in (producer, first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    with open(first_log, "rb") as stream:
        first_text = stream.read()
    with open(second_log, "rb") as stream:
        second_text = stream.read()
    # both really shared the topic: each resumed some partition from the sink more than once
    assert first_text.count(b"resuming at offset") >= 3 and second_text.count(b"resuming at offset") >= 4
    data, rejects, _folders = read_local_area(root)
    assert_exactly_once(data, rejects, *generated_lines(spec))


def test_webhdfs_unreachable_for_a_while(kafka_bootstrap, webhdfs_url, hadoop_home, topic, tmp_path):
    host, port = webhdfs_url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
    proxy = Proxy(host, int(port))
    proxy.start()
    spec = GeneratorSpec(events=20_000, users=1_000, seed=13, malformed_fraction=0.002, span_hours=2)
    root = "/test-ingest/outage-%s" % uuid.uuid4().hex[:10]
    log = str(tmp_path / "ingest.log")
    producer = start(generate_command(kafka_bootstrap, topic, spec, rate=2000), str(tmp_path / "generate.log"))
    ingest = start(ingest_command(kafka_bootstrap, topic, "outage-" + topic, "hdfs://" + root, "--webhdfs-url",
                                  "http://127.0.0.1:%d" % proxy.port, "--until-idle", "8", *FAST), log)
    # produced while WebHDFS is away, so the ingest has files to commit then, however far it got
    during_outage = [orjson.dumps({"user_id": "outage-%d" % number, "action": "view_product",
                                   "timestamp": "2024-12-29T00:30:%02dZ" % number}) for number in range(50)]
    try:
        wait_for(lambda: files_committed(log) >= 1 or ingest.poll() is not None, DEADLINE,
                 "the ingest to commit files through the proxy")
        assert ingest.poll() is None, tail(log)
        proxy.stop()
        produce(kafka_bootstrap, topic, [(b"outage", line) for line in during_outage])
        # the outage lasts until a flush failed against it and the paused partition's retry did too
        wait_for(lambda: "cannot recover partition" in log_text(log) or ingest.poll() is not None, DEADLINE,
                 "the ingest to fail against the unreachable WebHDFS, then fail again on its retry")
        assert ingest.poll() is None, tail(log)
        proxy.start()
        assert producer.wait(timeout=DEADLINE) == 0
        assert ingest.wait(timeout=2 * DEADLINE) == 0, tail(log)
        data, rejects = read_hdfs_area(hadoop_home, root)
        valid, malformed = generated_lines(spec)
        assert_exactly_once(data, rejects, valid + during_outage, malformed)
    finally:
        for process in (producer, ingest):
            if process.poll() is None:
                process.kill()
                process.wait()
        proxy.stop()
        subprocess.run([os.path.join(hadoop_home, "bin", "hadoop"), "fs", "-rm", "-r", "-f", "-skipTrash", root],
                       capture_output=True, timeout=120)


def stack(*args):
    """scripts/stack for the broker alone: `down` keeps its data, `up` waits until it answers."""
    env = dict(os.environ, CLICKSTREAM_STACK_SERVICES="kafka")
    proc = subprocess.run([os.path.join(REPO, "scripts", "stack"), *args], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, "scripts/stack %s failed:\n%s" % (" ".join(args), proc.stderr[-2000:])


def test_a_broker_restart_mid_run(kafka_bootstrap, topic, tmp_path):
    # A backlog big enough that the broker goes away while the ingest is still working through it.
    spec = GeneratorSpec(events=80_000, users=2_000, seed=14, malformed_fraction=0.002, span_hours=2)
    root = str(tmp_path / "raw")
    log = str(tmp_path / "ingest.log")
    run(generate_command(kafka_bootstrap, topic, spec), str(tmp_path / "generate-1.log"))
    ingest = start(ingest_command(kafka_bootstrap, topic, "restart-" + topic, "file://" + root,
                                  "--until-idle", "20", "--rotate-events", "1000", "--rotate-seconds", "1"), log)
    second = GeneratorSpec(events=5_000, users=500, seed=15, span_hours=1)
    try:
        # mid-run: the broker goes away once the ingest has committed files of the backlog
        wait_for(lambda: local_files_committed(root) or ingest.poll() is not None, DEADLINE,
                 "the ingest to commit files of the backlog")
        stack("down")
        stack("up")
        assert ingest.poll() is None, tail(log)
        run(generate_command(kafka_bootstrap, topic, second), str(tmp_path / "generate-2.log"))
        assert ingest.wait(timeout=2 * DEADLINE) == 0, tail(log)
    finally:
        if ingest.poll() is None:
            ingest.kill()
            ingest.wait()
    data, rejects, _folders = read_local_area(root)
    valid, malformed = generated_lines(spec)
    more_valid, more_malformed = generated_lines(second)
    assert_exactly_once(data, rejects, valid + more_valid, malformed + more_malformed)
