"""The ingest service's edges: the consumer's settings, connecting while no broker answers, and --status."""
import io

from kafka.errors import KafkaConnectionError

from ingest.config import resolve_config
from ingest.recovery import encode_manifest, manifest_path
from ingest.service import connect_consumer, consumer_settings, show_status
from clickstream.storage import LocalStorage as LocalSink


def config_for(**settings):
    values = {"bootstrap_servers": "h1:9092,h2:9092", "topic": "clicks", "group": "g", "sink": "file:///tmp/raw"}
    values.update(settings)
    return resolve_config(values, environ={})


def test_offsets_are_never_committed_behind_the_ingests_back():
    settings = consumer_settings(config_for(session_timeout_ms=6000, retry_max_seconds=4, client_id="c-1"))
    assert settings["enable_auto_commit"] is False and settings["auto_offset_reset"] == "earliest"
    assert settings["bootstrap_servers"] == ["h1:9092", "h2:9092"] and settings["group_id"] == "g"
    assert (settings["session_timeout_ms"], settings["heartbeat_interval_ms"]) == (6000, 2000)
    assert settings["reconnect_backoff_max_ms"] == 4000 and settings["client_id"] == "c-1"
    assert "group_instance_id" not in settings


def test_static_membership_and_a_default_client_id():
    settings = consumer_settings(config_for(group_instance_id="ingest-1", session_timeout_ms=1500))
    assert settings["group_instance_id"] == "ingest-1"
    assert settings["heartbeat_interval_ms"] == 1000  # a third of the session, at least a second
    assert settings["client_id"].startswith("clickstream-ingest-")


def test_connecting_retries_with_a_doubling_backoff_until_a_broker_answers():
    attempts, naps, consumer = [], [], object()

    def factory(**settings):
        attempts.append(settings)
        if len(attempts) < 5:
            raise KafkaConnectionError("no broker at h1:9092")
        return consumer
    config = config_for(retry_initial_seconds=1, retry_max_seconds=5)
    assert connect_consumer(config, factory=factory, sleep=naps.append) is consumer
    assert naps == [1, 2, 4, 5]
    assert attempts[0] == consumer_settings(config) | {"client_id": attempts[0]["client_id"]}


def test_connecting_gives_none_once_asked_to_stop():
    naps = []

    def factory(**_settings):
        raise KafkaConnectionError("no broker at h1:9092")

    def stop_after_two_naps():
        return len(naps) >= 2
    assert connect_consumer(config_for(), factory=factory, sleep=naps.append, should_stop=stop_after_two_naps) is None
    assert len(naps) == 2


def test_status_prints_the_lines_read_from_the_sink(tmp_path):
    sink = LocalSink(str(tmp_path))
    sink.write_file(manifest_path("clicks", 1, 41), encode_manifest("clicks", 1, 0, 41, [], None, True))
    out = io.StringIO()
    assert show_status(resolve_config({"topic": "clicks", "sink": str(tmp_path)}, environ={}, for_status=True),
                       out) == 0
    assert out.getvalue().splitlines() == [
        "topic clicks in %s" % sink.url, "watermark: none yet (some partition has committed nothing)",
        "  partition 1: committed through offset 41; latest event - (caught up at its last flush)"]
