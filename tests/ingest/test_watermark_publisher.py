"""The watermark publisher: after a flush, the sink's newest manifests (any member's) become the stored
watermark, held back by a busy partition, not by an idle one, and never moved back."""
import pytest

from clickstream.errors import ServiceError
from clickstream.events import parse_ts
from ingest.recovery import encode_manifest, manifest_path
from clickstream.storage import LocalStorage as LocalSink
from ingest.watermark_publisher import WatermarkPublisher
from ingest.watermark_store import read_watermark, write_watermark

TOPIC = "clicks"


def flushed(sink, partition, last, stamp, caught_up=False):
    """A flush manifest as PartitionWriter.flush leaves it (its files do not matter here)."""
    ts = None if stamp is None else parse_ts(stamp)
    sink.write_file(manifest_path(TOPIC, partition, last),
                    encode_manifest(TOPIC, partition, 0, last, [], ts, caught_up))


@pytest.fixture
def sink(tmp_path):
    sink = LocalSink(str(tmp_path))
    flushed(sink, 0, 9, "2024-12-29T10:30:00Z")
    flushed(sink, 1, 4, "2024-12-29T12:10:00Z")
    return sink


def test_only_a_flush_makes_it_due_and_a_publish_clears_that(sink):
    publisher = WatermarkPublisher(sink, TOPIC, 0)
    assert not publisher.due
    publisher.flushed()
    assert publisher.due
    assert publisher.publish({0, 1}) is True
    assert not publisher.due


def test_the_slowest_busy_partition_less_the_lateness_is_the_watermark(sink):
    assert WatermarkPublisher(sink, TOPIC, 1800).publish({0, 1})
    document = read_watermark(sink, TOPIC)
    assert document["watermark"] == "2024-12-29T10:00:00Z" and document["allowed_lateness_seconds"] == 1800
    assert document["complete_before_hour"] == "dt=2024-12-29/hour=10"
    assert document["partitions"] == {
        "0": {"max_event_ts": parse_ts("2024-12-29T10:30:00Z"), "caught_up": False, "next_offset": 10},
        "1": {"max_event_ts": parse_ts("2024-12-29T12:10:00Z"), "caught_up": False, "next_offset": 5}}


def test_a_partition_without_a_manifest_holds_it_unless_owned_and_idle(sink):
    publisher = WatermarkPublisher(sink, TOPIC, 0)
    publisher.publish({0, 1, 2})
    assert read_watermark(sink, TOPIC)["watermark"] is None  # partition 2: nothing known
    publisher.publish({0, 1, 2}, idle_positions={2: 0})
    document = read_watermark(sink, TOPIC)
    assert document["watermark"] == "2024-12-29T10:30:00Z"
    assert document["partitions"]["2"] == {"max_event_ts": None, "caught_up": True, "next_offset": 0}
    publisher.publish({0, 1}, idle_positions={0: 10})  # a manifest outweighs an idle position
    assert read_watermark(sink, TOPIC)["partitions"]["0"]["caught_up"] is False


def test_the_stored_watermark_never_moves_back(sink):
    later = {"topic": TOPIC, "watermark_us": parse_ts("2024-12-29T11:00:00Z")}
    write_watermark(sink, TOPIC, later)
    WatermarkPublisher(sink, TOPIC, 0).publish({0, 1})
    assert read_watermark(sink, TOPIC)["watermark"] == "2024-12-29T11:00:00Z"


class ReplaceFails(LocalSink):
    def replace(self, relative, content):
        raise ServiceError("sink replace %s: connection refused" % relative)


def test_a_sink_failure_is_logged_and_leaves_it_due(tmp_path, ingest_log):
    sink = ReplaceFails(str(tmp_path))
    flushed(sink, 0, 9, "2024-12-29T10:30:00Z")
    publisher = WatermarkPublisher(sink, TOPIC, 0)
    publisher.flushed()
    assert publisher.publish({0}) is False
    assert publisher.due and read_watermark(sink, TOPIC) is None
    assert ingest_log == ["watermark not updated, the sink failed: sink replace _watermarks/clicks.json: "
                          "connection refused"]


class Broken(LocalSink):
    def list(self, relative):
        raise TypeError("list() got an unexpected keyword argument")


def test_a_programming_error_is_not_taken_for_a_sink_failure(tmp_path):
    with pytest.raises(TypeError, match="unexpected keyword"):
        WatermarkPublisher(Broken(str(tmp_path)), TOPIC, 0).publish({0})
