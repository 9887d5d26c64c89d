"""Where assigned partitions resume: recovered from the sink's committed files (the sink is the
source of truth, the committed Kafka offset only a hint), then checked against the log's range."""
import logging

from kafka import TopicPartition
from kafka.errors import KafkaError

from .recovery import recover, resume_offset
from .writer import PartitionWriter

log = logging.getLogger("clickstream.ingest")
# Blocking broker calls, made from the loop only (kafka-python refuses them in its callbacks).
OFFSETS_TIMEOUT_MS = 15_000


class PartitionResumer:
    """Recovers partitions of ``config.topic`` from ``sink`` and remembers which recovered positions
    are not yet compared with the log (``unchecked``)."""

    def __init__(self, config, sink):
        self.sink = sink
        self.topic = config.topic
        self.suffix = config.file_suffix
        self.gzip_files = config.compression == "gzip"
        self.unchecked = set()

    def resume(self, consumer, partitions):
        """Make the sink consistent for ``partitions``, seek ``consumer`` to where each resumes and
        start a writer there. Returns {partition: PartitionWriter}. Raises ServiceError (the sink
        failed; nothing was sought)."""
        resume = recover(self.sink, self.topic, partitions)
        writers = {}
        for partition in partitions:
            offset, max_event_ts = resume[partition]
            consumer.seek(TopicPartition(self.topic, partition), offset)
            writers[partition] = PartitionWriter(self.sink, self.topic, partition, offset, max_event_ts, self.suffix,
                                                 self.gzip_files)
            self.unchecked.add(partition)
            log.info("partition %d: resuming at offset %d, from the sink", partition, offset)
        return writers

    def check_positions(self, consumer, writers):
        """Compare the recovered positions of the partitions still held (``writers``) with the log's
        offset range and log where they disagree. If the broker does not answer they stay
        unchecked, and the next call asks again."""
        self.unchecked.intersection_update(writers)  # a partition no longer held needs no check
        tps = [TopicPartition(self.topic, p) for p in sorted(self.unchecked)]
        if not tps:
            return
        try:
            beginnings = consumer.beginning_offsets(tps, timeout_ms=OFFSETS_TIMEOUT_MS)
            ends = consumer.end_offsets(tps, timeout_ms=OFFSETS_TIMEOUT_MS)
        except KafkaError as error:
            log.warning("could not read the log's offset range (%s); asking again at the next pass", error)
            return
        self.unchecked.difference_update(tp.partition for tp in tps)
        for tp in tps:
            writer = writers.get(tp.partition)
            if writer is None:
                continue  # released while the broker was asked
            _offset, problem = resume_offset(writer.committed_offset, beginnings[tp], ends[tp])
            if problem:
                # Seeking below the log start resets to the earliest offset (auto_offset_reset).
                log.warning("partition %d: %s", tp.partition, problem)
