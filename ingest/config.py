"""The ingest's one configuration dataclass, built from the toolkit's one configuration (clickstream.config).

Precedence: CLI flag, then a ``CLICKSTREAM_INGEST_<KEY>`` or ``CLICKSTREAM_<KEY>`` env var (then the stack's
KAFKA_BOOTSTRAP_SERVERS, WEBHDFS_URL, HADOOP_USER_NAME), then the config file, then the default.
clickstream.config checks every value against the schema (ConfigError naming the option and quoting the
value); this module adds only which settings the ingest requires.
"""
import os
from dataclasses import dataclass

from clickstream import config as toolkit_config
from clickstream.errors import ConfigError

# The shared keys the ingest does not read.
_NOT_INGEST = ("mongo_uri", "db", "runner")
# Every default lives in clickstream/config.py's schema; this is the ingest's share of it.
DEFAULT_CONFIG = {key: value for key, value in toolkit_config.defaults("ingest").items() if key not in _NOT_INGEST}


@dataclass(frozen=True)
class IngestConfig:
    bootstrap_servers: str = DEFAULT_CONFIG["bootstrap_servers"]
    topic: str = DEFAULT_CONFIG["topic"]
    group: str = DEFAULT_CONFIG["group"]
    sink: str = DEFAULT_CONFIG["sink"]
    webhdfs_url: str = DEFAULT_CONFIG["webhdfs_url"]
    hdfs_user: str = DEFAULT_CONFIG["hdfs_user"]
    webhdfs_timeout_seconds: float = DEFAULT_CONFIG["webhdfs_timeout_seconds"]
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


def resolve_config(cli_values=None, environ=None, file_values=None, for_status=False, config_path=None):
    """Merge the sources into a validated IngestConfig: CLI flag > CLICKSTREAM_INGEST_* / CLICKSTREAM_* env >
    the stack's variables > config file > default.

    ``cli_values`` entries that are None count as not given. ``file_values``: the older flat settings
    {key: value}, used instead of a file; else the file is ``config_path`` (TOML, or the older flat JSON),
    else env CLICKSTREAM_CONFIG, else none. A sink given as a plain path means file://<absolute path>.
    ``for_status``: only the topic and the sink are required. Raises ConfigError naming the option."""
    known = set(DEFAULT_CONFIG)
    for source, values in (("config file", file_values or {}), ("command line", cli_values or {})):
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError("%s: unknown setting(s) %s; expected some of %s" % (
                source, ", ".join(repr(key) for key in unknown), ", ".join(sorted(known))))
    nested = toolkit_config.nest_flat(file_values) if file_values is not None else None
    values = toolkit_config.effective("ingest", cli_values, environ, config_path, file_values=nested)
    if values["sink"] and "://" not in values["sink"]:
        values["sink"] = "file://" + os.path.abspath(values["sink"])
    return check_required(IngestConfig(**{key: values[key] for key in DEFAULT_CONFIG}), for_status)


def check_required(config, for_status=False):
    """Raise ConfigError naming the first setting the ingest needs but was not given; else return
    the config. (clickstream.config has already checked every value given against the schema.)"""
    for key in ("topic", "sink") if for_status else ("bootstrap_servers", "topic", "group", "sink"):
        if not getattr(config, key):
            setting = toolkit_config.SETTINGS[key if key in toolkit_config.SETTINGS else "ingest." + key]
            raise ConfigError("%s is required (or env %s, or %s in the config file)" % (
                option_name(key), " / ".join(toolkit_config.env_names(setting, "ingest")), setting.name))
    return config
