"""The schema of every setting of every command: section, key, type, default, checks and a one-line doc.

The one place of every default (DEFAULT_CONFIG); clickstream.config resolves and checks the values.
"""
from dataclasses import dataclass

from .jobs import JOB_NAMES  # run.jobs: its default and choices, from the job table

CONFIG_ENV = "CLICKSTREAM_CONFIG"
ENV_PREFIX = "CLICKSTREAM_"
SECTIONS = ("ingest", "load", "generate", "run")
# The sections each command reads besides the shared top-level keys.
COMMAND_SECTIONS = {"ingest": ("ingest",), "load": ("load",), "query": (), "generate": ("generate",),
                    "run": ("run", "load"), "mr": ("run",)}
# Variables the local stack (scripts/stack env) exports; honoured below CLICKSTREAM_* and above the file.
STACK_ENV = {"bootstrap_servers": ("KAFKA_BOOTSTRAP_SERVERS",), "webhdfs_url": ("WEBHDFS_URL",),
             "mongo_uri": ("MONGODB_URI",), "hdfs_user": ("HADOOP_USER_NAME",)}
MiB = 1024 * 1024


@dataclass(frozen=True)
class Setting:
    """One option: where it lives, its type, its default, and a one-line doc."""
    section: str  # None for the shared top-level keys
    key: str
    kind: type
    default: object
    doc: str
    check: str = None  # 'sink' or a key of clickstream.config._CHECKS
    choices: tuple = ()
    example: object = None  # shown in the example file when the default is None
    secret: bool = False

    @property
    def name(self):
        """The key as written in the file: 'db' or 'run.jobs'."""
        return self.key if self.section is None else "%s.%s" % (self.section, self.key)

    @property
    def flag(self):
        return "--" + self.key.replace("_", "-")


def _s(section, key, kind, default, doc, **extra):
    return Setting(section, key, kind, default, doc, **extra)


SCHEMA = (
    _s(None, "sink", str, None, "the raw area's root: a local path, file:///path or hdfs:///path", check="sink",
       example="hdfs:///data/clickstream/raw"),
    _s(None, "webhdfs_url", str, None, "WebHDFS of the NameNode for hdfs:// paths: http://host:port", check="http_url",
       example="http://localhost:9870"),
    _s(None, "hdfs_user", str, None, "user for WebHDFS requests (default: the login user)", example="hadoop"),
    _s(None, "webhdfs_timeout_seconds", float, 60.0, "a WebHDFS request fails after this many seconds unanswered",
       check="positive_seconds"),
    _s(None, "bootstrap_servers", str, None, "Kafka brokers: host:port[,host:port]", example="localhost:9092"),
    _s(None, "topic", str, None, "the Kafka topic of the clickstream", check="topic", example="clicks"),
    _s(None, "mongo_uri", str, None, "MongoDB URI; TLS and auth options pass through (printed masked)",
       check="mongo_uri", example="mongodb://localhost:27017/", secret=True),
    _s(None, "db", str, "clickstream_db", "MongoDB database of the serving collections", check="db"),
    _s(None, "runner", str, "local", "mrjob runner of the jobs", choices=("local", "hadoop", "inline")),
    _s("ingest", "group", str, None, "Kafka consumer group id", example="clickstream-raw"),
    _s("ingest", "until_idle", float, None, "exit 0 once caught up: assigned by the group, at the end of every "
       "assigned partition and no event for this many seconds (default: run until a signal)", check="seconds",
       example=30.0),
    _s("ingest", "rotate_events", int, 1_000_000, "close a partition's files after this many events",
       check="positive_int"),
    _s("ingest", "rotate_bytes", int, 128 * MiB, "... or this many bytes (one HDFS block)", check="positive_int"),
    _s("ingest", "rotate_seconds", float, 600.0, "... or this many seconds, wall clock, so quiet partitions flush",
       check="positive_seconds"),
    _s("ingest", "max_open_files", int, 48, "open hour files per partition; more distinct hours force a flush",
       check="positive_int"),
    _s("ingest", "buffer_bytes", int, 32 * MiB, "memory for buffered records, all partitions; the largest spill "
       "to temp files", check="positive_int"),
    _s("ingest", "compression", str, "none", "gzip writes .jsonl.gz, one gzip member per spill",
       choices=("none", "gzip")),
    _s("ingest", "allowed_lateness_seconds", float, 3600.0, "watermark lateness allowance", check="seconds"),
    _s("ingest", "progress_seconds", float, 10.0, "period of the stderr progress line and the metrics file",
       check="positive_seconds"),
    _s("ingest", "metrics_file", str, None, "write Prometheus text-format counters here, atomically (local path)",
       example="/var/lib/clickstream/ingest.prom"),
    _s("ingest", "retry_initial_seconds", float, 1.0, "first backoff when HDFS or the broker is unavailable",
       check="positive_seconds"),
    _s("ingest", "retry_max_seconds", float, 30.0, "longest backoff", check="positive_seconds"),
    _s("ingest", "session_timeout_ms", int, 10_000, "Kafka consumer session timeout", check="positive_int"),
    _s("ingest", "max_poll_interval_ms", int, 300_000, "Kafka consumer max.poll.interval.ms", check="positive_int"),
    _s("ingest", "group_instance_id", str, None, "static group membership: a restart keeps the partitions",
       example="ingest-1"),
    _s("ingest", "fetch_max_bytes", int, 16 * MiB, "Kafka consumer fetch.max.bytes", check="positive_int"),
    _s("ingest", "max_partition_fetch_bytes", int, 2 * MiB, "Kafka consumer max.partition.fetch.bytes",
       check="positive_int"),
    _s("ingest", "max_poll_records", int, 5000, "Kafka consumer max.poll.records", check="positive_int"),
    _s("ingest", "client_id", str, None, "Kafka client id (default: clickstream-ingest-<host>-<pid>)",
       example="clickstream-ingest-1"),
    _s("load", "chunk_size", int, 1000, "operations per bulk write", check="positive_int"),
    _s("load", "server_selection_timeout_ms", int, 10_000, "how long to wait for a MongoDB server",
       check="positive_int"),
    # generate's ranges are checked by GeneratorSpec.validate, which names the flag
    _s("generate", "users", int, 5_000, "distinct users (heavy-tailed activity)"),
    _s("generate", "products", int, 0, "distinct products (0: users/10)"),
    _s("generate", "seed", int, 42, "random seed: same seed, same bytes"),
    _s("generate", "span_hours", float, 24.0, "hours the events spread over"),
    _s("generate", "start", str, "2024-12-29T00:00:00Z", "first event time (ISO-8601 with zone)"),
    _s("generate", "malformed", float, 0.0, "fraction of malformed lines"),
    _s("generate", "offset_fraction", float, 0.0, "fraction of timestamps with a non-UTC offset"),
    _s("generate", "rate", float, None, "when publishing: at most this many events per second", example=5000.0),
    _s("run", "jobs", list, list(JOB_NAMES), "the jobs a run runs (env and flags: comma-separated)",
       choices=JOB_NAMES),
    _s("run", "lock_stale_seconds", float, 1_800.0,
       "a run lock whose heartbeat (every minute) is older than this is taken over",
       check="positive_seconds"),
    _s("run", "derived_root", str, None, "root of the jobs' output (default: <sink>/derived)", check="sink",
       example="hdfs:///data/clickstream/derived"),
    _s("run", "mrjob_conf", str, None, "mrjob.conf for the jobs (default: none)", example="/etc/mrjob.conf"),
    _s("run", "max_backfill_hours", int, 744, "at most this many hours in one run (744: 31 days)",
       check="positive_int"),
    _s("run", "hours_per_launch", int, 168, "a run over many hours launches each job once per this many hours "
       "(168: a week), not once per hour", check="positive_int"),
    _s("run", "session_gap_minutes", float, 30.0, "inactivity that ends a session without session_id",
       check="positive_number"),
    _s("run", "max_session_hours", float, 24.0, "no session lasts this many hours: a later event starts a new one",
       check="positive_number"),
    _s("run", "suspicious_window_hours", int, 24, "suspicious-users judges each user over windows of this many "
       "consecutive UTC hours", check="positive_int"),
)
SETTINGS = {setting.name: setting for setting in SCHEMA}
DEFAULT_CONFIG = {setting.name: setting.default for setting in SCHEMA}
