"""The watermark store: a topic's watermark document at _watermarks/<topic>.json in the sink, and the
`clickstream ingest --status` lines (the watermark and each partition's committed position) read from it."""
import time

import orjson

from clickstream.errors import ServiceError
from clickstream.events import format_ts

from .recovery import latest_manifests
from .watermark import describe


def watermark_path(topic):
    return "_watermarks/%s.json" % topic


def read_watermark(sink, topic, attempts=5):
    """The stored watermark document, or None. Retries briefly: an HDFS replace leaves the name
    missing for a moment."""
    for attempt in range(attempts):
        raw = sink.read(watermark_path(topic))
        if raw is not None:
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise ServiceError("sink %s/%s is not JSON" % (sink.url, watermark_path(topic))) from None
        if not any(name.startswith(".%s.json." % topic) for name in sink.list("_watermarks")):
            return None
        time.sleep(0.2 * (attempt + 1))
    return None


def write_watermark(sink, topic, document):
    """Replace the stored watermark document, through a hidden temp name (see read_watermark).
    Raises ServiceError."""
    sink.replace(watermark_path(topic), orjson.dumps(document, option=orjson.OPT_INDENT_2))


def status_lines(sink, topic):
    """Lines describing the topic's ingest state in the sink."""
    lines = ["topic %s in %s" % (topic, sink.url)]
    document = read_watermark(sink, topic)
    lines.append(describe(document))
    for partition, manifest in sorted(latest_manifests(sink, topic).items()):
        ts = manifest.get("max_event_ts")
        lines.append("  partition %d: committed through offset %d; latest event %s%s" % (
            partition, manifest["last_offset"], "-" if ts is None else format_ts(ts),
            " (caught up at its last flush)" if manifest.get("caught_up") else ""))
    return lines
