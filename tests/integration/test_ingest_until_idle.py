"""What `ingest --until-idle` waits for, against the real broker: the group's assignment, however
slow the join, and the end of every assigned partition; an empty topic still finishes."""
import os
import signal

import pytest
from kafka import KafkaAdminClient

from clickstream.generator import GeneratorSpec
from test_ingest_support import (
    assert_exactly_once, generate_command, generated_lines, ingest_command, local_files_committed, read_local_area,
    run, start, tail, wait_for,
)

pytestmark = pytest.mark.integration

# The killed member's session: the broker holds the next member's join until it expires.
DEAD_SESSION_MS = 30_000


def group_members(bootstrap, group):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ingest-test-admin")
    try:
        return admin.describe_groups([group])[group]["members"]
    finally:
        admin.close()


def test_a_backlog_is_consumed_when_the_join_waits_for_a_killed_members_session(kafka_bootstrap, topic, tmp_path):
    # A cron ingest was killed (a timeout, the OOM killer) without leaving the group. The next
    # one's join waits until the dead member's session expires, far longer than --until-idle.
    root = str(tmp_path / "raw")
    group = "slow-join-" + topic
    first = GeneratorSpec(events=3_000, users=300, seed=31, malformed_fraction=0.01, span_hours=2)
    backlog = GeneratorSpec(events=6_000, users=500, seed=32, malformed_fraction=0.01, span_hours=2)
    run(generate_command(kafka_bootstrap, topic, first), str(tmp_path / "generate-1.log"))
    victim_log = str(tmp_path / "victim.log")
    victim = start(ingest_command(kafka_bootstrap, topic, group, "file://" + root, "--rotate-seconds", "1"),
                   victim_log, env=dict(os.environ, CLICKSTREAM_INGEST_SESSION_TIMEOUT_MS=str(DEAD_SESSION_MS)))
    try:
        wait_for(lambda: local_files_committed(root) or victim.poll() is not None, 180, "the first ingest's first files")
        assert victim.poll() is None, "the first ingest died by itself:\n" + tail(victim_log)
    finally:
        victim.kill()
        victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert len(group_members(kafka_bootstrap, group)) == 1, "the killed member's session ended already"
    run(generate_command(kafka_bootstrap, topic, backlog), str(tmp_path / "generate-2.log"))

    log = str(tmp_path / "ingest.log")
    run(ingest_command(kafka_bootstrap, topic, group, "file://" + root, "--until-idle", "3"), log, timeout=300)
    data, rejects, _folders = read_local_area(root)
    valid, malformed = generated_lines(first)
    more_valid, more_malformed = generated_lines(backlog)
    assert_exactly_once(data, rejects, valid + more_valid, malformed + more_malformed)
    with open(log) as stream:
        assert "caught up with the end of 3 partition(s)" in stream.read(), tail(log)


def test_an_empty_topic_finishes_after_the_idle_time(kafka_bootstrap, topic, tmp_path):
    root = str(tmp_path / "raw")
    log = str(tmp_path / "ingest.log")
    run(ingest_command(kafka_bootstrap, topic, "empty-" + topic, "file://" + root, "--until-idle", "2"), log,
        timeout=300)
    with open(log) as stream:
        assert "caught up with the end of 3 partition(s) and no new event for 2s" in stream.read(), tail(log)
    assert read_local_area(root)[:2] == ([], [])
