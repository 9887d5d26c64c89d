"""Pure progress reporting: the stderr line for a person and the Prometheus text a monitoring
system scrapes (node_exporter's textfile collector, or any scraper reading the file)."""
from dataclasses import asdict, dataclass

METRIC_PREFIX = "clickstream_ingest_"
_HELP = {
    "consumed": "Records consumed from Kafka in this run (consumed = written + rejected).",
    "written": "Valid events committed to hour folders in this run.",
    "rejected": "Rejected records committed to _rejected in this run.",
    "files_committed": "Files renamed into place in this run.",
    "flushes": "Partition flushes committed in this run.",
    "sink_failures": "Sink operations that failed (the partition is then read again from the sink's position).",
    "commit_failures": "Kafka offset commits that failed (harmless: the sink holds the position).",
}
_GAUGE_HELP = {
    "events_per_second": "Records consumed per second over the last progress period.",
    "lag": "Records in Kafka not yet consumed, over this process's partitions (-1: unknown).",
    "partitions_assigned": "Partitions this process owns.",
    "partitions_waiting": "Partitions paused until the sink answers again.",
    "buffered_bytes": "Bytes held in memory, not yet in temp files.",
}


@dataclass
class Counters:
    consumed: int = 0
    written: int = 0
    rejected: int = 0
    files_committed: int = 0
    flushes: int = 0
    sink_failures: int = 0
    commit_failures: int = 0


def progress_line(topic, counters, events_per_second, lag, waiting, buffered=0):
    """One line: rate, lag, what was committed, and the consumed = written + rejected check."""
    return "ingest %s: %.0f events/s, lag %s, %d files committed in %d flushes; consumed %d = written %d + " \
           "rejected %d (%d more buffered)%s" % (
               topic, events_per_second, "?" if lag is None else lag, counters.files_committed, counters.flushes,
               counters.consumed, counters.written, counters.rejected, buffered,
               "; %d partition(s) waiting for the sink" % waiting if waiting else "")


def total_lag(positions):
    """Records in Kafka not yet consumed, over (highwater, next offset) pairs; None while no
    highwater is known (before the first fetch)."""
    known = [max(0, highwater - next_offset) for highwater, next_offset in positions if highwater is not None]
    return sum(known) if known else None


def _label_text(labels):
    def escape(value):
        return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return "{%s}" % ",".join('%s="%s"' % (key, escape(value)) for key, value in sorted(labels.items()))


def prometheus_text(labels, counters, gauges):
    """Prometheus text exposition format (version 0.0.4) for the counters and gauges."""
    label_text = _label_text(labels)
    lines = []
    for name, value in asdict(counters).items():
        metric = METRIC_PREFIX + name + "_total"
        lines += ["# HELP %s %s" % (metric, _HELP[name]), "# TYPE %s counter" % metric,
                  "%s%s %d" % (metric, label_text, value)]
    for name, value in gauges.items():
        metric = METRIC_PREFIX + name
        lines += ["# HELP %s %s" % (metric, _GAUGE_HELP[name]), "# TYPE %s gauge" % metric,
                  "%s%s %s" % (metric, label_text, repr(float(value)) if isinstance(value, float) else value)]
    return "\n".join(lines) + "\n"

