"""The ingest's one configuration dataclass: every default in DEFAULT_CONFIG, unknown keys rejected.

Precedence: CLI flag, then a ``CLICKSTREAM_INGEST_<KEY>`` env var, then a JSON config file, then
the default. Validation raises ConfigError naming the option and quoting the value.
"""
import json
import os
import re
from dataclasses import dataclass, fields

from clickstream.errors import ConfigError

ENV_PREFIX = "CLICKSTREAM_INGEST_"
SINK_SCHEMES = ("file", "hdfs")
COMPRESSIONS = ("none", "gzip")
# Kafka's legal topic characters; '+' is absent, which is what lets file names use it as a separator.
_TOPIC_RE = re.compile(r"[A-Za-z0-9._-]{1,249}\Z")

DEFAULT_CONFIG = {
    "bootstrap_servers": None,       # required
    "topic": None,                   # required
    "group": None,                   # required
    "sink": None,                    # required: file:///path or hdfs:///path
    "webhdfs_url": None,             # hdfs sinks: else env WEBHDFS_URL
    "hdfs_user": None,               # else env HADOOP_USER_NAME, else the login user
    "until_idle": None,              # seconds without a new event before exiting 0; None: run until a signal
    # Rotation: a partition's open hour files close together at whichever limit comes first.
    # Sized so a busy partition makes about one file per hour, not one per poll.
    "rotate_events": 1_000_000,
    "rotate_bytes": 128 * 1024 * 1024,  # one HDFS block
    "rotate_seconds": 600.0,         # wall clock, so quiet partitions still flush
    "max_open_files": 48,            # per partition; more distinct hours than this forces a flush
    # Memory: buffered bytes over all partitions; the largest buffers spill to their temp files.
    "buffer_bytes": 32 * 1024 * 1024,
    "compression": "none",           # or gzip (.jsonl.gz, one gzip member per spill)
    "allowed_lateness_seconds": 3600.0,
    "progress_seconds": 10.0,        # stderr progress line and metrics file period
    "metrics_file": None,            # Prometheus text exposition, written atomically (local path)
    "retry_initial_seconds": 1.0,    # backoff when HDFS or the broker is unavailable
    "retry_max_seconds": 30.0,
    # Kafka consumer settings that matter for this job.
    "session_timeout_ms": 10_000,
    "max_poll_interval_ms": 300_000,
    "group_instance_id": None,       # static membership: a restarted process keeps its partitions
    "fetch_max_bytes": 16 * 1024 * 1024,
    "max_partition_fetch_bytes": 2 * 1024 * 1024,
    "max_poll_records": 5000,
    "client_id": None,               # default: clickstream-ingest-<host>-<pid>
}

_INTS = ("rotate_events", "rotate_bytes", "max_open_files", "buffer_bytes", "session_timeout_ms",
         "max_poll_interval_ms", "fetch_max_bytes", "max_partition_fetch_bytes", "max_poll_records")
_FLOATS = ("until_idle", "rotate_seconds", "allowed_lateness_seconds", "progress_seconds",
           "retry_initial_seconds", "retry_max_seconds")


@dataclass(frozen=True)
class IngestConfig:
    bootstrap_servers: str = DEFAULT_CONFIG["bootstrap_servers"]
    topic: str = DEFAULT_CONFIG["topic"]
    group: str = DEFAULT_CONFIG["group"]
    sink: str = DEFAULT_CONFIG["sink"]
    webhdfs_url: str = DEFAULT_CONFIG["webhdfs_url"]
    hdfs_user: str = DEFAULT_CONFIG["hdfs_user"]
    until_idle: float = DEFAULT_CONFIG["until_idle"]
    rotate_events: int = DEFAULT_CONFIG["rotate_events"]
    rotate_bytes: int = DEFAULT_CONFIG["rotate_bytes"]
    rotate_seconds: float = DEFAULT_CONFIG["rotate_seconds"]
    max_open_files: int = DEFAULT_CONFIG["max_open_files"]
    buffer_bytes: int = DEFAULT_CONFIG["buffer_bytes"]
    compression: str = DEFAULT_CONFIG["compression"]
    allowed_lateness_seconds: float = DEFAULT_CONFIG["allowed_lateness_seconds"]
    progress_seconds: float = DEFAULT_CONFIG["progress_seconds"]
    metrics_file: str = DEFAULT_CONFIG["metrics_file"]
    retry_initial_seconds: float = DEFAULT_CONFIG["retry_initial_seconds"]
    retry_max_seconds: float = DEFAULT_CONFIG["retry_max_seconds"]
    session_timeout_ms: int = DEFAULT_CONFIG["session_timeout_ms"]
    max_poll_interval_ms: int = DEFAULT_CONFIG["max_poll_interval_ms"]
    group_instance_id: str = DEFAULT_CONFIG["group_instance_id"]
    fetch_max_bytes: int = DEFAULT_CONFIG["fetch_max_bytes"]
    max_partition_fetch_bytes: int = DEFAULT_CONFIG["max_partition_fetch_bytes"]
    max_poll_records: int = DEFAULT_CONFIG["max_poll_records"]
    client_id: str = DEFAULT_CONFIG["client_id"]

    @property
    def sink_scheme(self):
        return self.sink.split("://", 1)[0]

    @property
    def sink_root(self):
        """The sink's root folder, an absolute path ('/raw/clicks' for hdfs:///raw/clicks)."""
        return "/" + self.sink.split("://", 1)[1].lstrip("/").rstrip("/")

    @property
    def file_suffix(self):
        return ".jsonl.gz" if self.compression == "gzip" else ".jsonl"


def option_name(key):
    return "--" + key.replace("_", "-")


def _coerce(key, value):
    if value is None or value == "":
        return None
    kind = int if key in _INTS else float if key in _FLOATS else str
    try:
        if kind is int and isinstance(value, str):
            return int(value.replace("_", ""))
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError("%s: %r is not %s" % (option_name(key), value, "an integer" if kind is int else
                                                "a number" if kind is float else "a string")) from None


def load_config_file(path):
    """A JSON object of config keys -> dict. Raises ConfigError if unreadable or not an object."""
    try:
        with open(path, "rb") as stream:
            values = json.load(stream)
    except (OSError, ValueError) as error:
        raise ConfigError("--config: %r cannot be read as JSON: %s" % (path, error)) from None
    if not isinstance(values, dict):
        raise ConfigError("--config: %r holds %s; expected a JSON object of settings" % (path, type(values).__name__))
    return values


def resolve_config(cli_values=None, environ=None, file_values=None, for_status=False):
    """Merge the sources (CLI flag > CLICKSTREAM_INGEST_* env > config file > the stack's
    KAFKA_BOOTSTRAP_SERVERS > default) into a validated IngestConfig. ``cli_values`` entries that
    are None count as not given. ``for_status``: only the topic and the sink are required."""
    known = {field.name for field in fields(IngestConfig)}
    merged = dict(DEFAULT_CONFIG)
    for source, values in (("config file", file_values or {}), ("command line", cli_values or {})):
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError("%s: unknown setting(s) %s; expected some of %s" % (
                source, ", ".join(repr(key) for key in unknown), ", ".join(sorted(known))))
    merged.update({key: value for key, value in (file_values or {}).items()})
    environ = os.environ if environ is None else environ
    for key in known:
        if environ.get(ENV_PREFIX + key.upper()) not in (None, ""):
            merged[key] = environ[ENV_PREFIX + key.upper()]
    merged.update({key: value for key, value in (cli_values or {}).items() if value is not None})
    if not merged["bootstrap_servers"]:
        merged["bootstrap_servers"] = environ.get("KAFKA_BOOTSTRAP_SERVERS")
    config = IngestConfig(**{key: _coerce(key, value) for key, value in merged.items()})
    return validate(config, for_status)


def validate(config, for_status=False):
    """Check every setting; returns the config or raises ConfigError naming the option."""
    for key in ("topic", "sink") if for_status else ("bootstrap_servers", "topic", "group", "sink"):
        if not getattr(config, key):
            raise ConfigError("%s is required" % option_name(key))
    if not _TOPIC_RE.match(config.topic):
        raise ConfigError("--topic: %r is not a Kafka topic name; expected 1-249 of [A-Za-z0-9._-]" % config.topic)
    scheme, _, rest = config.sink.partition("://")
    if scheme not in SINK_SCHEMES or not rest.strip("/"):
        raise ConfigError("--sink: %r; expected file:///path or hdfs:///path" % config.sink)
    if scheme == "hdfs" and rest.split("/", 1)[0]:
        raise ConfigError("--sink: %r names a host; expected hdfs:///path (the NameNode comes from --webhdfs-url)"
                          % config.sink)
    if config.compression not in COMPRESSIONS:
        raise ConfigError("--compression: %r; expected one of %s" % (config.compression, ", ".join(COMPRESSIONS)))
    for key in ("rotate_events", "rotate_bytes", "max_open_files", "buffer_bytes", "max_poll_records",
                "fetch_max_bytes", "max_partition_fetch_bytes", "session_timeout_ms", "max_poll_interval_ms"):
        if getattr(config, key) < 1:
            raise ConfigError("%s: %r; expected a positive integer" % (option_name(key), getattr(config, key)))
    for key in ("rotate_seconds", "progress_seconds", "retry_initial_seconds", "retry_max_seconds"):
        if not getattr(config, key) > 0:
            raise ConfigError("%s: %r; expected a positive number of seconds" % (option_name(key), getattr(config, key)))
    if config.until_idle is not None and config.until_idle < 0:
        raise ConfigError("--until-idle: %r; expected a number of seconds >= 0" % config.until_idle)
    if config.allowed_lateness_seconds < 0:
        raise ConfigError("--allowed-lateness-seconds: %r; expected seconds >= 0" % config.allowed_lateness_seconds)
    if config.webhdfs_url is not None and not re.match(r"https?://[^/]+", config.webhdfs_url):
        raise ConfigError("--webhdfs-url: %r; expected http://host:port" % config.webhdfs_url)
    return config
