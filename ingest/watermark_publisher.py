"""Publishing a topic's watermark: after flushes, the event-time progress of every partition (from
the sink's newest manifests, whichever member flushed them) becomes the watermark store's document."""
import logging

from clickstream.errors import ServiceError

from .recovery import latest_manifests
from .watermark import partition_progress, watermark_document
from .watermark_store import read_watermark, write_watermark

log = logging.getLogger("clickstream.ingest")


class WatermarkPublisher:
    """Writes the watermark of ``topic`` in ``sink`` once a flush may have moved it (``due``)."""

    def __init__(self, sink, topic, allowed_lateness_seconds):
        self.sink = sink
        self.topic = topic
        self.allowed_lateness_us = int(allowed_lateness_seconds * 1_000_000)
        self.due = False

    def flushed(self):
        """A flush was committed: the watermark may have moved."""
        self.due = True

    def publish(self, partitions, idle_positions=()):
        """Write the watermark over ``partitions`` (every partition of the topic), never moving it
        back from the stored one. ``idle_positions``: see watermark.partition_progress.

        Returns True once written (no longer due), False when the sink failed (logged; still due).
        """
        try:
            progress = partition_progress(latest_manifests(self.sink, self.topic), idle_positions)
            previous = read_watermark(self.sink, self.topic)
            document = watermark_document(self.topic, progress, partitions, self.allowed_lateness_us, previous)
            write_watermark(self.sink, self.topic, document)
        except ServiceError as error:
            log.warning("watermark not updated, the sink failed: %s", error)
            return False
        self.due = False
        return True
