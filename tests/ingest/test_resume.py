"""Where assigned partitions resume: at the sink's position (not Kafka's), then checked against the
log's offset range, asking again while the broker does not answer."""
import orjson
import pytest
from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError

from clickstream.errors import ServiceError
from ingest.config import resolve_config
from ingest.resume import PartitionResumer
from ingest.routing import route
from clickstream.storage import LocalStorage as LocalSink
from ingest.writer import PartitionWriter

TOPIC = "clicks"


class OffsetsConsumer:
    """Records seeks; answers the log's offset range from ``ranges`` {partition: (beginning, end)},
    failing while ``failures`` holds errors."""

    def __init__(self, ranges=None, failures=()):
        self.ranges = ranges or {}
        self.failures = list(failures)
        self.sought, self.asked = {}, 0

    def seek(self, tp, offset):
        self.sought[tp.partition] = offset

    def beginning_offsets(self, tps, timeout_ms=None):
        self.asked += 1
        if self.failures:
            raise self.failures.pop(0)
        return {tp: self.ranges[tp.partition][0] for tp in tps}

    def end_offsets(self, tps, timeout_ms=None):
        return {tp: self.ranges[tp.partition][1] for tp in tps}


def resumer_for(sink):
    config = resolve_config({"bootstrap_servers": "b:1", "topic": TOPIC, "group": "g", "sink": "file://" + sink.root},
                            environ={})
    return PartitionResumer(config, sink)


@pytest.fixture
def sink(tmp_path):
    """Partition 0 has offsets 0..9 committed by an earlier run; partition 1 nothing."""
    sink = LocalSink(str(tmp_path))
    writer = PartitionWriter(sink, TOPIC, 0, 0)
    for offset in range(10):
        stamp = "2024-12-29T10:00:%02dZ" % offset
        value = orjson.dumps({"user_id": "u%d" % offset, "action": "view", "timestamp": stamp})
        folder, line, event_ts, _reason = route(value, 0, TOPIC, 0, offset)
        writer.add(offset, folder, line, event_ts, now=0.0)
    writer.flush()
    return sink


def test_partitions_resume_at_the_sinks_position(sink, ingest_log):
    consumer = OffsetsConsumer()
    resumer = resumer_for(sink)
    writers = resumer.resume(consumer, [0, 1])
    assert consumer.sought == {0: 10, 1: 0}
    assert {p: (w.committed_offset, w.next_offset, w.events) for p, w in writers.items()} == {0: (10, 10, 0),
                                                                                              1: (0, 0, 0)}
    assert writers[0].max_event_ts == 1_735_466_409_000_000 and writers[1].max_event_ts is None
    assert resumer.unchecked == {0, 1}
    assert ingest_log == ["partition 0: resuming at offset 10, from the sink",
                          "partition 1: resuming at offset 0, from the sink"]


class DownSink(LocalSink):
    def list(self, relative):
        raise ServiceError("sink list %s: connection refused" % relative)


def test_a_sink_failure_seeks_nothing(tmp_path):
    consumer = OffsetsConsumer()
    resumer = resumer_for(DownSink(str(tmp_path)))
    with pytest.raises(ServiceError, match="connection refused"):
        resumer.resume(consumer, [0])
    assert consumer.sought == {} and resumer.unchecked == set()


@pytest.mark.parametrize("log_range, warning", [
    ((0, 10), None),
    ((4, 25), None),
    ((13, 25), "partition 0: offsets 10..12 were deleted by retention before they reached the sink"),
    ((0, 8), "partition 0: the sink holds offsets up to 9 but the log ends at 8"),
])
def test_a_recovered_position_is_compared_with_the_log(sink, ingest_log, log_range, warning):
    resumer = resumer_for(sink)
    writers = resumer.resume(OffsetsConsumer(), [0])
    del ingest_log[:]
    resumer.check_positions(OffsetsConsumer({0: log_range}), writers)
    assert ingest_log == ([warning] if warning else [])
    assert resumer.unchecked == set()


def test_a_check_the_broker_does_not_answer_is_asked_again_next_time(sink, ingest_log):
    resumer = resumer_for(sink)
    writers = resumer.resume(OffsetsConsumer(), [0, 1])
    del ingest_log[:]
    consumer = OffsetsConsumer({0: (13, 25), 1: (0, 0)}, failures=[KafkaTimeoutError("timed out")])
    resumer.check_positions(consumer, writers)
    assert resumer.unchecked == {0, 1}
    assert ingest_log == ["could not read the log's offset range (KafkaTimeoutError: timed out); asking again at "
                          "the next pass"]
    resumer.check_positions(consumer, writers)
    assert resumer.unchecked == set() and consumer.asked == 2
    assert ingest_log[1:] == ["partition 0: offsets 10..12 were deleted by retention before they reached the sink"]
    resumer.check_positions(consumer, writers)
    assert consumer.asked == 2  # checked once


def test_a_partition_released_before_its_check_is_not_asked_about(sink):
    resumer = resumer_for(sink)
    writers = resumer.resume(OffsetsConsumer(), [0, 1])
    consumer = OffsetsConsumer({1: (0, 0)})
    del writers[0]
    resumer.check_positions(consumer, writers)
    assert resumer.unchecked == set() and consumer.asked == 1
    resumer.resume(OffsetsConsumer(), [0])
    resumer.check_positions(consumer, {})
    assert resumer.unchecked == set() and consumer.asked == 1
