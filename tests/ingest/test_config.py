"""The ingest configuration: defaults in one place, precedence, one-line errors."""
import pytest

from clickstream.errors import ConfigError
from ingest.config import DEFAULT_CONFIG, IngestConfig, resolve_config

REQUIRED = {"bootstrap_servers": "b:9092", "topic": "clicks", "group": "g", "sink": "hdfs:///raw/clicks"}


def test_defaults_live_in_one_place():
    config = resolve_config(REQUIRED, environ={})
    for key, value in DEFAULT_CONFIG.items():
        assert getattr(config, key) == REQUIRED.get(key, value)
    assert set(DEFAULT_CONFIG) == set(IngestConfig.__dataclass_fields__)
    assert config.sink_root == "/raw/clicks" and config.sink_scheme == "hdfs"


def test_precedence_cli_then_env_then_file_then_default():
    environ = {"CLICKSTREAM_INGEST_ROTATE_EVENTS": "500", "CLICKSTREAM_INGEST_ROTATE_SECONDS": "30"}
    file_values = {"rotate_events": 7, "rotate_seconds": 9, "rotate_bytes": 1234}
    config = resolve_config(dict(REQUIRED, rotate_events=42, rotate_seconds=None), environ, file_values)
    assert (config.rotate_events, config.rotate_seconds, config.rotate_bytes) == (42, 30.0, 1234)


def test_bootstrap_servers_fall_back_to_the_stack_variable():
    values = dict(REQUIRED, bootstrap_servers=None)
    assert resolve_config(values, {"KAFKA_BOOTSTRAP_SERVERS": "h:1"}).bootstrap_servers == "h:1"


@pytest.mark.parametrize("override, message", [
    ({"sink": "s3://bucket/x"}, r"--sink: 's3://bucket/x'; expected file:///path or hdfs:///path"),
    ({"sink": "hdfs://namenode/x"}, r"--sink: 'hdfs://namenode/x' names a host"),
    ({"sink": "file:///"}, r"--sink: 'file:///'"),
    ({"topic": "a+b"}, r"--topic: 'a\+b' is not a Kafka topic name"),
    ({"group": None}, r"--group is required"),
    ({"rotate_events": 0}, r"--rotate-events: 0; expected a positive integer"),
    ({"rotate_events": "many"}, r"--rotate-events: 'many' is not an integer"),
    ({"rotate_seconds": -1}, r"--rotate-seconds: -1.0; expected a positive number of seconds"),
    ({"until_idle": -2}, r"--until-idle: -2.0"),
    ({"compression": "zstd"}, r"--compression: 'zstd'; expected one of none, gzip"),
    ({"webhdfs_url": "namenode:9870"}, r"--webhdfs-url: 'namenode:9870'; expected http://host:port"),
])
def test_bad_settings_fail_in_one_line_naming_the_option(override, message):
    with pytest.raises(ConfigError, match=message) as caught:
        resolve_config(dict(REQUIRED, **override), environ={})
    assert "\n" not in str(caught.value)


def test_unknown_keys_are_rejected_with_their_names():
    with pytest.raises(ConfigError, match=r"config file: unknown setting\(s\) 'rotate_event'"):
        resolve_config(REQUIRED, environ={}, file_values={"rotate_event": 5})


def test_status_needs_only_topic_and_sink():
    config = resolve_config({"topic": "clicks", "sink": "file:///tmp/x"}, environ={}, for_status=True)
    assert config.group is None


def test_the_unified_config_file_feeds_the_ingest(tmp_path, monkeypatch):
    path = tmp_path / "clickstream.toml"
    path.write_text('bootstrap_servers = "file:9092"\ntopic = "clicks"\nsink = "raw"\nmongo_uri = "mongodb://h/"\n'
                    '[ingest]\ngroup = "g"\nrotate_events = 7\nrotate_seconds = 9\n[load]\nchunk_size = 3\n')
    monkeypatch.chdir(tmp_path)
    environ = {"CLICKSTREAM_INGEST_ROTATE_SECONDS": "30", "CLICKSTREAM_TOPIC": "views"}
    config = resolve_config({"rotate_events": None}, environ, config_path=str(path))
    assert (config.bootstrap_servers, config.topic, config.group) == ("file:9092", "views", "g")
    assert (config.rotate_events, config.rotate_seconds) == (7, 30.0)
    assert config.sink == "file://" + str(tmp_path / "raw")  # a plain path is a local sink


def test_the_config_file_comes_from_clickstream_config(tmp_path):
    path = tmp_path / "old.json"
    path.write_text('{"bootstrap_servers": "b:1", "topic": "clicks", "group": "g", "sink": "file:///x", '
                    '"compression": "gzip"}')
    config = resolve_config(environ={"CLICKSTREAM_CONFIG": str(path)})
    assert config.compression == "gzip" and config.file_suffix == ".jsonl.gz"
    with pytest.raises(ConfigError, match=r"^--group is required \(or env CLICKSTREAM_INGEST_GROUP, or ingest.group"):
        resolve_config({"group": ""}, environ={"CLICKSTREAM_CONFIG": str(path)})
