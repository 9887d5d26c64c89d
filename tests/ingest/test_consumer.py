"""The consumer loop with a scripted stand-in for KafkaConsumer and a real local sink: rotation,
a sink failure mid-run, a lost partition, a revoke, the stop signal, and when --until-idle may finish."""
import collections
import os

import orjson
import pytest
from kafka import TopicPartition
from kafka.errors import IllegalStateError, KafkaTimeoutError

from clickstream.errors import ServiceError
from ingest.config import resolve_config
from ingest.consumer import Ingest
from clickstream.storage import LocalStorage as LocalSink

TOPIC = "clicks"


class Record:
    def __init__(self, partition, offset, value):
        self.partition, self.offset, self.value, self.timestamp = partition, offset, value, 1_735_466_400_000


class FakeConsumer:
    """Serves each partition's log from its position; ``script`` hooks run before given polls.

    Like KafkaConsumer, the group assigns partitions during a poll (``assign_at``: the poll number,
    None for never; ``share``: the partitions this member gets, all by default), a partition's
    highwater is unknown (None) until its first fetch (``first_fetch``: {partition: poll number}
    before which its fetches come back empty), and ``end_offsets`` asks the broker, which fails
    with a timeout while ``broker_down`` holds.
    """

    def __init__(self, logs, script=None, batch=3, assign_at=1, share=None, first_fetch=None):
        self.logs = logs
        self.script = script or {}
        self.batch = batch
        self.assign_at = assign_at
        self.share = sorted(logs) if share is None else share
        self.first_fetch = first_fetch or {}
        self.positions, self.paused, self.committed = {}, set(), {}
        self.fetched = set()
        self.broker_down = False
        self.polls = 0
        self.listener = None

    def subscribe(self, topics, listener):
        self.listener = listener

    def close(self, autocommit=True):
        self.closed = True

    def assign_all(self):
        self.listener.on_partitions_assigned([TopicPartition(TOPIC, p) for p in self.share])

    def revoke_all(self):
        self.listener.on_partitions_revoked([TopicPartition(TOPIC, p) for p in self.share])
        self.positions.clear()

    def poll(self, timeout_ms, max_records):
        self.polls += 1
        if self.polls == self.assign_at:
            self.assign_all()
        if self.polls in self.script:
            self.script[self.polls](self)
        batches = {}
        for partition, log in self.logs.items():
            position = self.positions.get(partition)
            if position is None or partition in self.paused or self.polls < self.first_fetch.get(partition, 0):
                continue
            self.fetched.add(partition)
            records = [Record(partition, offset, log[offset])
                       for offset in range(position, min(len(log), position + self.batch))]
            if records:
                batches[TopicPartition(TOPIC, partition)] = records
                self.positions[partition] = records[-1].offset + 1
        return batches

    def seek(self, tp, offset):
        self.positions[tp.partition] = offset

    def position(self, tp, timeout_ms=None):
        if tp.partition not in self.positions:
            raise IllegalStateError("Partition is not assigned")
        return self.positions[tp.partition]

    def pause(self, *tps):
        self.paused.update(tp.partition for tp in tps)

    def resume(self, *tps):
        self.paused.difference_update(tp.partition for tp in tps)

    def highwater(self, tp):
        return len(self.logs[tp.partition]) if tp.partition in self.fetched else None

    def commit(self, offsets, timeout_ms=None):
        self.committed.update({tp.partition: meta.offset for tp, meta in offsets.items()})

    def commit_async(self, offsets, callback=None):
        self.commit(offsets)

    def partitions_for_topic(self, topic):
        return set(self.logs)

    def beginning_offsets(self, tps, timeout_ms=None):
        return {tp: 0 for tp in tps}

    def end_offsets(self, tps, timeout_ms=None):
        if self.broker_down:
            raise KafkaTimeoutError("Failed to get offsets by timestamps in %s ms" % timeout_ms)
        return {tp: len(self.logs[tp.partition]) for tp in tps}


class FlakySink(LocalSink):
    """Fails every rename while ``down`` is set, like an unreachable NameNode."""

    down = False

    def rename(self, source, destination):
        if self.down:
            raise ServiceError("sink rename %s: connection refused" % destination)
        return super().rename(source, destination)


def event(number, hour=10):
    return orjson.dumps({"user_id": "u%d" % number, "action": "view", "timestamp": "2024-12-29T%02d:00:%02dZ" % (
        hour, number % 60)})


def make_logs():
    return {0: [event(n, 9 + n % 3) for n in range(40)], 1: [event(100 + n) if n % 5 else b"oops" for n in range(25)]}


def config_for(root, **settings):
    values = {"bootstrap_servers": "b:1", "topic": TOPIC, "group": "g", "sink": "file://" + root,
              "until_idle": 0, "rotate_events": 7, "progress_seconds": 1000.0, "retry_initial_seconds": 0.001}
    values.update(settings)
    return resolve_config(values, environ={})


def sink_contents(root):
    """Independent reader: data lines and reject offsets in visible files."""
    lines, rejects = collections.Counter(), collections.Counter()
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(("_ingest", "_watermarks"))]
        for name in names:
            with open(os.path.join(folder, name), "rb") as stream:
                for line in stream.read().splitlines():
                    if "_rejected" in folder:
                        record = orjson.loads(line)
                        rejects[(record["partition"], record["offset"])] += 1
                    else:
                        lines[line] += 1
    return lines, rejects


def expected_contents(logs):
    lines = collections.Counter(value for log in logs.values() for value in log if value != b"oops")
    rejects = collections.Counter((p, o) for p, log in logs.items() for o, value in enumerate(log) if value == b"oops")
    return lines, rejects


def run_until_idle(root, consumer, sink=None, **settings):
    ingest = Ingest(config_for(root, **settings), consumer, sink or LocalSink(root), clock=iter(range(10**6)).__next__)
    return ingest, ingest.run()


def run_on_poll_clock(root, consumer, **settings):
    """One poll is one second: idle times and deadlines read as numbers of polls."""
    ingest = Ingest(config_for(root, **settings), consumer, LocalSink(root), clock=lambda: consumer.polls)
    return ingest, ingest.run()


def test_everything_once_with_counts_and_offsets_committed(tmp_path):
    logs = make_logs()
    consumer = FakeConsumer(logs)
    ingest, status = run_until_idle(str(tmp_path), consumer)
    assert status == 0
    assert sink_contents(str(tmp_path)) == expected_contents(logs)
    assert consumer.committed == {0: 40, 1: 25}
    counters = ingest.counters
    assert (counters.consumed, counters.written, counters.rejected) == (65, 60, 5)
    assert counters.flushes > 4  # rotation at 7 events, not one file per poll or one per run


def test_a_sink_outage_mid_run_rereads_from_the_sink_and_loses_nothing(tmp_path):
    logs = make_logs()
    sink = FlakySink(str(tmp_path))

    def outage(consumer):
        sink.down = True

    def recovered(consumer):
        sink.down = False
    consumer = FakeConsumer(logs, script={4: outage, 9: recovered})
    ingest, status = run_until_idle(str(tmp_path), consumer, sink)
    assert status == 0 and ingest.counters.sink_failures >= 1
    assert sink_contents(str(tmp_path)) == expected_contents(logs)
    assert consumer.committed == {0: 40, 1: 25}


def test_a_lost_partition_drops_its_buffers_and_a_revoked_one_is_flushed(tmp_path):
    logs = make_logs()
    root = str(tmp_path)

    def lose_then_regain(consumer):
        before = sink_contents(root)
        consumer.listener.on_partitions_lost([TopicPartition(TOPIC, 0)])
        assert sink_contents(root) == before  # a new owner may already hold these: write nothing
        consumer.listener.on_partitions_revoked([TopicPartition(TOPIC, 1)])
        assert consumer.committed[1] == consumer.positions[1]  # flushed and committed before giving up
        consumer.assign_all()  # back from the sink's positions, as a new owner would be
    consumer = FakeConsumer(logs, script={3: lose_then_regain})
    _ingest, status = run_until_idle(root, consumer, rotate_events=1000)
    assert status == 0
    assert sink_contents(root) == expected_contents(logs)


def test_stop_flushes_commits_and_returns_zero(tmp_path):
    logs = make_logs()
    consumer = FakeConsumer(logs, script={2: lambda consumer: ingest.stop()})
    ingest = Ingest(config_for(str(tmp_path), until_idle=None, rotate_events=1000), consumer,
                    LocalSink(str(tmp_path)), clock=iter(range(10**6)).__next__)
    assert ingest.run() == 0
    lines, rejects = sink_contents(str(tmp_path))
    assert sum(lines.values()) + sum(rejects.values()) == 2 * 3 * 2  # two polls of three, two partitions
    assert consumer.committed == {0: 6, 1: 6}


@pytest.mark.parametrize("gzip_files", [False, True])
def test_gzip_files_hold_the_same_lines(tmp_path, gzip_files):
    import gzip

    logs = make_logs()
    _ingest, status = run_until_idle(str(tmp_path), FakeConsumer(logs), compression="gzip" if gzip_files else "none")
    names = [name for _folder, _subfolders, names in os.walk(tmp_path) for name in names if ".jsonl" in name]
    assert names and all(name.endswith(".jsonl.gz" if gzip_files else ".jsonl") for name in names)
    if gzip_files:
        for folder, _subfolders, files in os.walk(tmp_path):
            for name in files:
                if name.endswith(".gz"):
                    path = os.path.join(folder, name)
                    with open(path, "rb") as stream:
                        raw = stream.read()
                    with open(path, "wb") as stream:
                        stream.write(gzip.decompress(raw))
    assert sink_contents(str(tmp_path)) == expected_contents(logs)


def test_until_idle_waits_for_a_slow_group_join_and_consumes_the_whole_backlog(tmp_path):
    # The group takes 30 s to assign (members rejoining on a loaded machine), far past --until-idle 4.
    logs = make_logs()
    consumer = FakeConsumer(logs, assign_at=30)
    _ingest, status = run_on_poll_clock(str(tmp_path), consumer, until_idle=4)
    assert status == 0
    assert sink_contents(str(tmp_path)) == expected_contents(logs)
    assert consumer.committed == {0: 40, 1: 25}


def test_until_idle_waits_until_every_partition_reached_its_end_offset(tmp_path):
    # Partition 1's first fetch comes late: its highwater is unknown until then, its end offset is not.
    logs = make_logs()
    consumer = FakeConsumer(logs, first_fetch={1: 40})
    _ingest, status = run_on_poll_clock(str(tmp_path), consumer, until_idle=4)
    assert status == 0
    assert sink_contents(str(tmp_path)) == expected_contents(logs)
    assert consumer.committed == {0: 40, 1: 25}


def test_a_rebalance_is_waited_out_before_finishing(tmp_path):
    # A member joins: everything is revoked at poll 5 and assigned again only at poll 40.
    logs = make_logs()
    consumer = FakeConsumer(logs, script={5: FakeConsumer.revoke_all, 40: FakeConsumer.assign_all})
    _ingest, status = run_on_poll_clock(str(tmp_path), consumer, until_idle=4, rotate_events=1000)
    assert status == 0
    assert sink_contents(str(tmp_path)) == expected_contents(logs)
    assert consumer.committed == {0: 40, 1: 25}


def test_an_empty_topic_finishes_the_idle_time_after_its_assignment(tmp_path):
    consumer = FakeConsumer({0: [], 1: []}, assign_at=10)
    _ingest, status = run_on_poll_clock(str(tmp_path), consumer, until_idle=5)
    assert status == 0
    assert consumer.polls == 10 + 5
    assert sink_contents(str(tmp_path)) == (collections.Counter(), collections.Counter())


def test_a_member_given_no_partition_finishes_the_idle_time_after_its_assignment(tmp_path):
    # say a fourth member in a group on a topic of three partitions: the others hold them all
    consumer = FakeConsumer(make_logs(), assign_at=10, share=[])
    _ingest, status = run_on_poll_clock(str(tmp_path), consumer, until_idle=5)
    assert status == 0
    assert consumer.polls == 10 + 5
    assert sink_contents(str(tmp_path)) == (collections.Counter(), collections.Counter())
    assert consumer.committed == {}


def test_end_offsets_the_broker_does_not_give_are_not_caught_up_and_the_idle_time_starts_again(tmp_path):
    logs = make_logs()

    def down(consumer):
        consumer.broker_down = True

    def up(consumer):
        consumer.broker_down = False

    def more(consumer):  # produced once the broker is back, within the idle time
        consumer.logs[0].extend(event(n, 11) for n in range(500, 505))
    consumer = FakeConsumer(logs, script={2: down, 50: up, 53: more})
    _ingest, status = run_on_poll_clock(str(tmp_path), consumer, until_idle=4)
    assert status == 0
    assert consumer.polls == 54 + 4  # fetched three at a time, the last of them at poll 54
    assert sink_contents(str(tmp_path)) == expected_contents(logs)
    assert consumer.committed == {0: 45, 1: 25}


# Give up after max(60, 2 x until_idle) + session timeout + max poll interval = 60 + 1 + 2 seconds
# of not knowing: from the first poll when no assignment ever comes; from the first idle check
# when the broker stops giving end offsets (the last event came at poll 14, the idle time is 4).
@pytest.mark.parametrize("assign_at, broker_down, gave_up_at, message", [
    (None, False, 1 + 63, "no partition assignment from group 'g' for 63s (broker b:1); giving up, exit 1"),
    (1, True, 14 + 4 + 63, "the log's end offsets unknown for 63s (KafkaTimeoutError: "),
])
def test_a_state_unknown_past_the_give_up_time_exits_1_saying_why(tmp_path, ingest_log, assign_at, broker_down,
                                                                  gave_up_at, message):
    logs = make_logs()
    consumer = FakeConsumer(logs, assign_at=assign_at)
    consumer.broker_down = broker_down
    _ingest, status = run_on_poll_clock(str(tmp_path), consumer, until_idle=4, session_timeout_ms=1000,
                                        max_poll_interval_ms=2000)
    assert status == 1
    assert consumer.polls == gave_up_at
    assert any(message in line for line in ingest_log), ingest_log


def ingest_on_ticks(root, consumer, reconnect=None):
    """An --until-idle 4 ingest whose clock moves a tenth of a second each time it is read."""
    ticks = iter(range(10**7))
    return Ingest(config_for(root, until_idle=4), consumer, LocalSink(root), clock=lambda: next(ticks) / 10,
                  reconnect=reconnect)


def test_a_member_the_group_never_assigns_joins_again_with_a_new_consumer(tmp_path, ingest_log):
    # kafka-python can stay out of the group for good (its member expired, heartbeats starved):
    # past rejoin_seconds without an assignment the ingest closes it and joins with a new one.
    logs = make_logs()
    stuck, fresh = FakeConsumer(logs, assign_at=None), FakeConsumer(logs)
    made = []

    def reconnect():
        made.append(fresh)
        return fresh

    ingest = ingest_on_ticks(str(tmp_path), stuck, reconnect=reconnect)
    assert ingest.run() == 0
    assert made == [fresh] and getattr(stuck, "closed", False) and ingest.consumer is fresh
    assert sink_contents(str(tmp_path)) == expected_contents(logs)
    assert any("joining again with a new consumer" in message for message in ingest_log)


def test_without_a_way_to_reconnect_a_member_never_assigned_gives_up_saying_why(tmp_path, ingest_log):
    ingest = ingest_on_ticks(str(tmp_path), FakeConsumer(make_logs(), assign_at=None))
    assert ingest.run() == 1
    assert not any("joining again" in message for message in ingest_log)
    assert any("no partition assignment" in message and "giving up" in message for message in ingest_log)


def test_a_failed_check_of_the_log_range_is_tried_again_at_the_next_pass(tmp_path, ingest_log):
    # Retention dropped offsets 0..4 of partition 0 before they reached the sink, and the broker's
    # first answer on the log's offset range times out: the check must still happen, once.
    consumer = FakeConsumer(make_logs())
    failures = [KafkaTimeoutError("Failed to get offsets by timestamps in 15000 ms")]

    def beginning_offsets(tps, timeout_ms=None):
        if failures:
            raise failures.pop()
        return {tp: 5 if tp.partition == 0 else 0 for tp in tps}
    consumer.beginning_offsets = beginning_offsets
    _ingest, status = run_until_idle(str(tmp_path), consumer)
    assert status == 0 and not failures
    assert any("could not read the log's offset range" in message for message in ingest_log)
    retention = "partition 0: offsets 0..4 were deleted by retention before they reached the sink"
    assert ingest_log.count(retention) == 1, ingest_log
    assert not any(message.startswith("partition 1: offsets") for message in ingest_log)
