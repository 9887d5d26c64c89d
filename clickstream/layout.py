"""Names in the raw area: event-time hour partitions (dt=YYYY-MM-DD/hour=HH) and committed file names."""
import re
from datetime import datetime, timedelta, timezone

from .errors import ConfigError

MICROS_PER_HOUR = 3_600_000_000
OFFSET_DIGITS = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# A raw partition's name, to build the patterns that find one in a path, a batch id or a tag.
DAY_PARTITION_PATTERN = r"dt=(\d{4}-\d{2}-\d{2})"
HOUR_PARTITION_PATTERN = DAY_PARTITION_PATTERN + r"/hour=(\d{2})"
_PARTITION_RE = re.compile(HOUR_PARTITION_PATTERN + r"\Z")
_HOUR_ARG_RE = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2})\Z")
_DATE_ARG_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
# The suffixes of committed raw data files (plain and gzip); other names in a partition are not read.
RAW_SUFFIXES = (".jsonl", ".jsonl.gz")
# `clickstream run` keeps job outputs in <raw root>/derived unless run.derived_root says otherwise.
DERIVED_FOLDER = "derived"


def hour_of(ts):
    """Event time (microseconds since the epoch, UTC) -> the hour number since the epoch."""
    return ts // MICROS_PER_HOUR


def hour_partition(hour):
    """Hour number since the epoch -> 'dt=YYYY-MM-DD/hour=HH'."""
    start = _EPOCH + timedelta(hours=hour)
    return "dt=%04d-%02d-%02d/hour=%02d" % (start.year, start.month, start.day, start.hour)


def partition_hour(partition):
    """'dt=YYYY-MM-DD/hour=HH' -> hour number since the epoch. Raises ValueError otherwise."""
    match = _PARTITION_RE.match(partition)
    if not match:
        raise ValueError("not an hour partition: %r (expected dt=YYYY-MM-DD/hour=HH)" % (partition,))
    day = datetime.strptime(match.group(1), "%Y-%m-%d").replace(tzinfo=timezone.utc)
    return (day - _EPOCH) // timedelta(hours=1) + int(match.group(2))


def parse_hour_option(text, option="--hour"):
    """'YYYY-MM-DDTHH' (a UTC hour, as the CLI takes it) -> hour number since the epoch."""
    match = _HOUR_ARG_RE.match(text or "")
    if not match or int(match.group(2)) > 23:
        raise ConfigError("%s: %r is not an hour; expected YYYY-MM-DDTHH (UTC)" % (option, text))
    try:
        return partition_hour("dt=%s/hour=%s" % match.groups())
    except ValueError:
        raise ConfigError("%s: %r is not a calendar date; expected YYYY-MM-DDTHH (UTC)" % (option, text)) from None


def parse_date_option(text, option="--date"):
    """'YYYY-MM-DD' -> the 24 hour numbers of that UTC day."""
    if not _DATE_ARG_RE.match(text or ""):
        raise ConfigError("%s: %r is not a date; expected YYYY-MM-DD (UTC)" % (option, text))
    try:
        first = parse_hour_option(text + "T00", option)
    except ConfigError:
        raise ConfigError("%s: %r is not a calendar date; expected YYYY-MM-DD (UTC)" % (option, text)) from None
    return list(range(first, first + 24))


def data_file_name(topic, partition, first_offset, last_offset, suffix=".jsonl"):
    """The committed name of a raw file: <topic>+<partition>+<firstOffset>+<lastOffset>.jsonl."""
    return "%s+%d+%0*d+%0*d%s" % (topic, partition, OFFSET_DIGITS, first_offset, OFFSET_DIGITS, last_offset, suffix)


def is_hidden(name):
    """Hadoop input formats skip names starting with '_' or '.': work in progress lives there."""
    return name.startswith(("_", "."))
