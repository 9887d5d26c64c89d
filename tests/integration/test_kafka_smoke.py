"""Smoke tests for the stack's Kafka broker (scripts/stack.d/kafka.sh).

Run under `eval "$(scripts/stack env)"`: KAFKA_BOOTSTRAP_SERVERS names the broker (the
tests skip without it) and KAFKA_TOOL scripts/kafka-tool (defaults to the repo's copy).
"""
import os
import subprocess
import time
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

pytestmark = pytest.mark.integration

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PARTITIONS = 3


def kafka_tool():
    return os.environ.get("KAFKA_TOOL") or os.path.join(REPO, "scripts", "kafka-tool")


def run_tool(*args, timeout=120):
    proc = subprocess.run(
        [kafka_tool(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, "kafka-tool %s failed (%d):\n%s" % (args[0], proc.returncode, proc.stderr)
    return proc.stdout


@pytest.fixture
def topic(kafka_bootstrap):
    """A fresh topic with PARTITIONS partitions, deleted afterwards."""
    name = "smoke-" + uuid.uuid4().hex[:12]
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="smoke-admin")
    try:
        admin.create_topics([NewTopic(name, PARTITIONS, 1)])
        yield name
        admin.delete_topics([name])
    finally:
        admin.close()


def produce(bootstrap, topic, records):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="smoke-producer")
    try:
        metas = [producer.send(topic, key=key, value=value).get(timeout=30) for key, value in records]
    finally:
        producer.close()
    return metas


def test_produce_consume_commit(kafka_bootstrap, topic):
    tag = uuid.uuid4().hex
    records = [(("user-%d" % (i % 4)).encode(), ("%s click %d" % (tag, i)).encode()) for i in range(12)]
    metas = produce(kafka_bootstrap, topic, records)
    assert {m.topic for m in metas} == {topic}

    group = "smoke-group-" + uuid.uuid4().hex[:8]
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        client_id="smoke-consumer",
    )
    got = []
    try:
        deadline = time.monotonic() + 60
        while len(got) < len(records) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                got.extend((m.key, m.value, m.partition, m.offset) for m in batch)
        # exactly what was sent: same key/value pairs, no extras, per-key order kept
        assert sorted((k, v) for k, v, _, _ in got) == sorted(records)
        for key in {k for k, _ in records}:
            assert [v for k, v, _, _ in got if k == key] == [v for k, v in records if k == key]
        # each record landed where the producer was told it did
        assert sorted((p, o) for _, _, p, o in got) == sorted((m.partition, m.offset) for m in metas)

        consumer.commit()
        ends = {}
        for m in metas:
            ends[m.partition] = max(ends.get(m.partition, 0), m.offset + 1)
        committed = {p: consumer.committed(TopicPartition(topic, p)) for p in ends}
        assert committed == ends
    finally:
        consumer.close()

    # a new member of the same group resumes after the commit: nothing is read again
    extra = [(b"user-x", ("%s late" % tag).encode())]
    produce(kafka_bootstrap, topic, extra)
    again = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=30000,
    )
    try:
        rest = []
        for m in again:
            rest.append((m.key, m.value))
            if len(rest) >= len(extra):
                break
        for _ in range(3):  # anything already committed would show up here
            rest.extend((m.key, m.value) for b in again.poll(timeout_ms=300).values() for m in b)
    finally:
        again.close()
    assert rest == extra


def test_kafka_tool_sees_topic_and_messages(kafka_bootstrap, topic):
    listed = run_tool("topics", "--bootstrap-server", kafka_bootstrap, "--list").split()
    assert topic in listed

    described = run_tool("topics", "--bootstrap-server", kafka_bootstrap, "--describe", "--topic", topic)
    assert "PartitionCount: %d" % PARTITIONS in described

    values = [("%s-%d" % (uuid.uuid4().hex, i)).encode() for i in range(5)]
    produce(kafka_bootstrap, topic, [(None, v) for v in values])
    out = run_tool(
        "console-consumer",
        "--bootstrap-server", kafka_bootstrap,
        "--topic", topic,
        "--from-beginning",
        "--max-messages", str(len(values)),
        "--timeout-ms", "60000",
    )
    assert sorted(out.split()) == sorted(v.decode() for v in values)
