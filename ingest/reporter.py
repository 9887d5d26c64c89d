"""The ingest's periodic report: the progress line in the log (stderr) and the Prometheus metrics
file, with the rate over the last period. The figures and their formats are in ingest/progress.py."""
import logging
import os

from .progress import prometheus_text, progress_line

log = logging.getLogger("clickstream.ingest")


class ProgressReporter:
    """Reports ``counters`` every ``config.progress_seconds``: ``due(now)`` says when."""

    def __init__(self, config, counters, now):
        self.topic = config.topic
        self.group = config.group
        self.period = config.progress_seconds
        self.metrics_file = config.metrics_file
        self.counters = counters
        self.rate = 0.0  # records consumed per second over the last period
        self._next_at = now + self.period
        self._period_seen = 0
        self._period_started = now

    def due(self, now):
        return now >= self._next_at

    def report(self, now, seen, lag, writers, waiting, final=False):
        """Log the progress line and write the metrics file; a new period starts.

        ``seen``: records consumed since the start; ``lag``: see progress.total_lag; ``writers``:
        {partition: PartitionWriter} held; ``waiting``: the partitions paused until the sink answers.
        """
        elapsed = now - self._period_started
        if elapsed > 0:
            self.rate = (seen - self._period_seen) / elapsed
        self._period_seen, self._period_started = seen, now
        self._next_at = now + self.period
        line = progress_line(self.topic, self.counters, self.rate, lag, len(waiting),
                             sum(writer.events for writer in writers.values()))
        log.info("%s%s", "finished: " if final else "", line)
        if self.metrics_file:
            gauges = {"events_per_second": float(self.rate), "lag": -1 if lag is None else lag,
                      "partitions_assigned": len(writers) + len(waiting),
                      "partitions_waiting": len(waiting),
                      "buffered_bytes": sum(writer.buffered for writer in writers.values())}
            text = prometheus_text({"topic": self.topic, "group": self.group}, self.counters, gauges)
            write_local_atomically(self.metrics_file, text.encode("utf-8"))


def write_local_atomically(path, content):
    """Write a local file through a temp name and a rename; a failure is logged, not raised (the
    metrics are for monitoring: the ingest goes on without them)."""
    temp = "%s.%d.tmp" % (path, os.getpid())
    try:
        with open(temp, "wb") as stream:
            stream.write(content)
        os.replace(temp, path)
    except OSError as error:
        log.warning("metrics file %s not written: %s", path, error)
