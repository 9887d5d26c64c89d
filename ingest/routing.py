"""Pure partition routing: one Kafka record -> the raw-area folder and the line it becomes.

Valid events go to their event-time hour (UTC, from the shared event model); rejects go to
``_rejected/`` under the hour of their Kafka timestamp, as a JSON line with their reason.
"""
import base64

import orjson

from clickstream.events import EventRejected, parse_event
from clickstream.layout import MICROS_PER_HOUR, hour_partition

from .recovery import REJECTED_DIR

_hour_folders = {}


def hour_folder(hour):
    """Hour number since the epoch -> 'dt=YYYY-MM-DD/hour=HH' (cached: hours repeat endlessly)."""
    folder = _hour_folders.get(hour)
    if folder is None:
        if len(_hour_folders) > 100_000:
            _hour_folders.clear()
        folder = _hour_folders[hour] = hour_partition(hour)
    return folder


def route(value, kafka_timestamp_ms, topic, partition, offset):
    """Returns (folder, line, event_ts, reject_reason).

    ``line`` ends with one newline. A valid event keeps its bytes unless they hold a line break
    (legal JSON whitespace), in which case its parsed object is re-serialized on one line;
    ``reject_reason`` is None. A reject's ``event_ts`` is None.
    """
    if value is None:  # a tombstone: nothing to parse, rejected as invalid_json with raw ""
        value = b""
    try:
        event = parse_event(value)
    except EventRejected as rejection:
        return (rejected_folder(kafka_timestamp_ms), reject_line(value, rejection, topic, partition, offset,
                                                                 kafka_timestamp_ms), None, rejection.reason)
    ts = event.ts
    if b"\n" in value or b"\r" in value:
        line = orjson.dumps(event.fields) + b"\n"
    else:
        line = value + b"\n"
    return hour_folder(ts // MICROS_PER_HOUR), line, ts, None


def rejected_folder(kafka_timestamp_ms):
    """Rejects have no trustworthy event time; the record's Kafka timestamp places them."""
    ms = kafka_timestamp_ms if kafka_timestamp_ms is not None and kafka_timestamp_ms >= 0 else 0
    return REJECTED_DIR + "/" + hour_folder(ms * 1000 // MICROS_PER_HOUR)


def reject_line(value, rejection, topic, partition, offset, kafka_timestamp_ms):
    """A dead-letter line: where the record came from, why it was rejected, and its bytes
    (as text when they are UTF-8, else base64 under ``raw_base64``)."""
    record = {"topic": topic, "partition": partition, "offset": offset, "kafka_timestamp_ms": kafka_timestamp_ms,
              "reason": rejection.reason, "detail": rejection.detail}
    try:
        record["raw"] = bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        record["raw_base64"] = base64.b64encode(value).decode("ascii")
    return orjson.dumps(record) + b"\n"


def raw_of_reject(line):
    """A dead-letter line -> the original record bytes (the inverse of reject_line)."""
    record = orjson.loads(line)
    if "raw_base64" in record:
        return base64.b64decode(record["raw_base64"])
    return record["raw"].encode("utf-8")
