"""The consumer loop: Kafka -> partition writers -> sink. Takes and gives up partitions as the group
assigns them, polls, rotates files, keeps memory bounded, flushes and commits, retries the sink with
backoff, and knows when --until-idle is done. Its parts: resume.py (where a partition resumes),
watermark_publisher.py (the watermark), reporter.py (the progress line and metrics file).

It receives its KafkaConsumer (auto-commit off) and sink; ingest/service.py builds them.
"""
import logging
import time

from kafka import ConsumerRebalanceListener, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from clickstream.errors import ServiceError

from .progress import Counters, total_lag
from .reporter import ProgressReporter
from .resume import PartitionResumer
from .rotation import RotationLimits, buffers_to_spill, flush_reason
from .routing import route
from .watermark_publisher import WatermarkPublisher

log = logging.getLogger("clickstream.ingest")
POLL_MS = 200
COMMIT_TIMEOUT_MS = 15_000
# Short: the idle loop asks again at its next turn, and a stop signal is not held up for long.
END_OFFSETS_TIMEOUT_MS = 5_000


def rejoin_seconds(config):
    """How long a member goes without any assignment before it takes its join for stuck and joins
    again with a new consumer: past the session of a dead member it may be waiting for, plus a
    generous minute. (kafka-python can stay out of the group for good after its member expired,
    e.g. when heartbeats starved on a loaded machine, or the broker restarted.)"""
    return 60.0 + config.session_timeout_ms / 1000


def give_up_seconds(config):
    """How long an --until-idle run goes on not knowing whether it is caught up (no assignment
    from the group, or no end offsets from the broker) before it fails: generous, because a
    healthy join may wait out a rebalance (up to the members' max poll interval) and a dead
    member's session."""
    return (max(60.0, 2 * config.until_idle) + config.session_timeout_ms / 1000
            + config.max_poll_interval_ms / 1000)


class _Listener(ConsumerRebalanceListener):
    """Runs on kafka-python's IO thread, where blocking Kafka calls are refused: the callbacks
    do sink I/O, seeks and asynchronous commits only."""

    def __init__(self, ingest):
        self.ingest = ingest

    def _call(self, method, partitions, *args):
        self.ingest.in_callback = True
        try:
            method([tp.partition for tp in partitions if tp.topic == self.ingest.topic], *args)
        finally:
            self.ingest.in_callback = False

    def on_partitions_revoked(self, revoked):
        # Flushed before the group moves on, so the next owner's recovery sees it all.
        self._call(self.ingest.release, revoked, True)

    def on_partitions_lost(self, lost):
        # Evicted: another member may already have recovered these from the sink, so writing
        # what is buffered now could duplicate it. Drop it; the new owner reads it again.
        self._call(self.ingest.release, lost, False)

    def on_partitions_assigned(self, assigned):
        self._call(self.ingest.acquire, assigned)


class Ingest:
    """One run of the ingest. ``run()`` returns the exit status (0: everything committed)."""

    def __init__(self, config, consumer, sink, clock=time.monotonic, reconnect=None):
        self.config = config
        self.topic = config.topic
        self.consumer = consumer
        self.sink = sink
        self.clock = clock
        self.limits = RotationLimits.from_config(config)
        self.writers = {}
        self.waiting = {}  # partition -> (retry at, backoff seconds): the sink failed, paused
        self.counters = Counters()
        self.stopping = False
        self.seen = 0
        now = clock()
        self.last_activity = now
        self.resumer = PartitionResumer(config, sink)
        self.watermark = WatermarkPublisher(sink, config.topic, config.allowed_lateness_seconds)
        self.reporter = ProgressReporter(config, self.counters, now)
        self.in_callback = False
        self.assigned = False  # the group has answered with this member's partitions (none is an answer too)
        self._unassigned_since = now
        self.reconnect = reconnect  # () -> a new consumer, or None when stopping; None: never rejoin
        self._unsure_since = None  # since when --until-idle cannot tell whether it is caught up
        self.gave_up = False

    def stop(self, *_signal_args):
        """Ask the loop to flush, commit and return (a signal handler)."""
        self.stopping = True

    # -- assignment -------------------------------------------------------------------------
    def acquire(self, partitions):
        self.last_activity = self.clock()
        self.assigned = True
        self._unsure_since = None
        for partition in partitions:
            # Assigned again without a revoke in between: commit what is held before recovering.
            writer = self.writers.pop(partition, None)
            if writer is not None:
                self._flush(partition, writer, "reassigned")
                self.writers.pop(partition, None)
        if partitions:
            self._recover(partitions)

    def release(self, partitions, flush):
        # With the eager assignors (kafka-python's default, and ours) a revoke or a loss comes
        # before every new assignment: until it comes, nothing says this member is caught up.
        self.assigned = False
        self._unassigned_since = self.clock()
        for partition in partitions:
            writer = self.writers.pop(partition, None)
            self.waiting.pop(partition, None)
            if writer is None:
                continue
            if flush:
                self._flush(partition, writer, "revoked")
            else:
                self._discard(writer)
                log.warning("partition %d lost to the group: %d buffered records dropped, not committed (the new "
                            "owner reads them from offset %d)", partition, writer.events, writer.committed_offset)

    def _recover(self, partitions):
        try:
            writers = self.resumer.resume(self.consumer, partitions)
        except ServiceError as error:
            backoff = max(self._wait(partition) for partition in partitions)
            self.counters.sink_failures += 1
            log.warning("cannot recover partition(s) %s from the sink (%s); paused, retrying in %.1fs",
                        ",".join(map(str, partitions)), error, backoff)
            return False
        for partition, writer in writers.items():
            self.writers[partition] = writer
            self.waiting.pop(partition, None)
        self.last_activity = self.clock()
        self.consumer.resume(*(TopicPartition(self.topic, p) for p in partitions))
        return True

    # -- flushing ---------------------------------------------------------------------------
    def _discard(self, writer):
        self.sink.abandon([handle.temp for handle in writer.files.values()])

    def _wait(self, partition):
        """Pause a partition until the sink answers; exponential backoff. Returns the delay."""
        previous = self.waiting.get(partition)
        backoff = self.config.retry_initial_seconds if previous is None else previous[1] * 2
        backoff = min(backoff, self.config.retry_max_seconds)
        self.waiting[partition] = (self.clock() + backoff, backoff)
        self.consumer.pause(TopicPartition(self.topic, partition))
        return backoff

    def _lose(self, partition, error):
        """The sink failed under this partition: drop its buffers and read it again later."""
        writer = self.writers.pop(partition)
        self._discard(writer)
        self.counters.sink_failures += 1
        backoff = self._wait(partition)
        log.warning("sink unavailable for partition %d: %s; nothing past offset %d is committed; %d records "
                    "will be read again once the sink answers (retry in %.0fs)", partition, error,
                    writer.committed_offset - 1, writer.events, backoff)

    def _flush(self, partition, writer, reason):
        if not writer.events:
            return True
        highwater = self._highwater(partition)
        caught_up = highwater is not None and writer.next_offset >= highwater
        events, written, rejected = writer.events, writer.written, writer.rejected
        try:
            files = writer.flush(caught_up)
        except ServiceError as error:
            self.writers[partition] = writer
            self._lose(partition, error)
            return False
        self.counters.consumed += events
        self.counters.written += written
        self.counters.rejected += rejected
        writer.written = writer.rejected = 0
        self.counters.files_committed += len(files)
        self.counters.flushes += 1
        self.watermark.flushed()
        log.debug("partition %d: flushed %d records in %d files (%s)", partition, events, len(files), reason)
        self._commit(partition, writer.committed_offset)
        return True

    def _commit(self, partition, next_offset):
        offsets = {TopicPartition(self.topic, partition): OffsetAndMetadata(next_offset, "", -1)}
        try:
            if self.in_callback:
                self.consumer.commit_async(offsets, callback=self._committed)
            else:
                self.consumer.commit(offsets, timeout_ms=COMMIT_TIMEOUT_MS)
        except KafkaError as error:
            # The files are durable and name their offsets: the next owner recovers from them.
            self.counters.commit_failures += 1
            log.warning("committing offset %d of partition %d to Kafka failed (%s); the sink already holds it",
                        next_offset, partition, error)

    def _committed(self, offsets, response):
        if isinstance(response, Exception):
            self.counters.commit_failures += 1
            log.warning("committing %s to Kafka failed (%s); the sink already holds it", offsets, response)

    def flush_all(self, reason):
        ok = True
        for partition, writer in list(self.writers.items()):
            ok = self._flush(partition, writer, reason) and ok
        return ok

    # -- the loop ---------------------------------------------------------------------------
    def run(self):
        self.consumer.subscribe([self.topic], listener=_Listener(self))
        while not self.stopping:
            try:
                batches = self.consumer.poll(timeout_ms=POLL_MS, max_records=self.config.max_poll_records)
            except KafkaError as error:
                # The broker or the group is in trouble; the sink is consistent, so wait and retry.
                log.warning("polling Kafka failed (%s); retrying in %.0fs", error, self.config.retry_initial_seconds)
                time.sleep(self.config.retry_initial_seconds)
                batches = {}
            now = self.clock()
            for tp, records in batches.items():
                if records:
                    self._take(tp.partition, records, now)
                    self.last_activity = now
                    self._unsure_since = None
            self._maintain(now)
            if self.config.until_idle is not None and self._finished(now):
                break
            if not self.assigned and self.reconnect and now - self._unassigned_since >= rejoin_seconds(self.config):
                self._rejoin(now)
        ok = self.flush_all("stopping")
        self._publish_watermark()
        self._report(self.clock(), final=True)
        return 0 if ok and not self.waiting and not self.gave_up else 1

    def _rejoin(self, now):
        """No assignment for rejoin_seconds: close this consumer and join with a new one. Nothing is
        held (no partition was assigned), so nothing is flushed or lost."""
        log.warning("no partition assignment from group %r for %ds: joining again with a new consumer",
                    self.config.group, now - self._unassigned_since)
        try:
            self.consumer.close(autocommit=False)
        except KafkaError as error:
            log.warning("closing the stuck consumer failed (%s); going on with a new one", error)
        consumer = self.reconnect()
        if consumer is None:
            self.stopping = True
            return
        self.consumer = consumer
        self._unassigned_since = self.clock()
        self.consumer.subscribe([self.topic], listener=_Listener(self))

    def _finished(self, now):
        """--until-idle: True once the group has assigned this member its partitions (none counts),
        no event came for the idle time (since the last event, the assignment, or the broker
        answering again), and every assigned partition's position has reached the log's end offset
        (asked of the broker: a fetch's highwater is unknown before the first fetch). Also True,
        with ``gave_up`` set, once that stayed unknown past give_up_seconds."""
        if not self.assigned:
            return self._unsure(now, "no partition assignment from group %r" % self.config.group)
        if self.waiting or now - self.last_activity < self.config.until_idle:
            return False
        tps = [TopicPartition(self.topic, p) for p in sorted(self.writers)]
        try:
            ends = self.consumer.end_offsets(tps, timeout_ms=END_OFFSETS_TIMEOUT_MS) if tps else {}
            positions = {tp: self.consumer.position(tp, timeout_ms=END_OFFSETS_TIMEOUT_MS) for tp in tps}
        except KafkaError as error:
            return self._unsure(now, "the log's end offsets unknown", error)
        if self._unsure_since is not None:
            # Events may have come while the broker did not answer: the idle time starts again now.
            self._unsure_since = None
            self.last_activity = now
            return False
        if any(positions[tp] is None or ends.get(tp) is None or positions[tp] < ends[tp] for tp in tps):
            return False  # the events are there but not fetched yet
        log.info("caught up with the end of %d partition(s) and no new event for %gs: finishing",
                 len(tps), self.config.until_idle)
        return True

    def _unsure(self, now, what, error=None):
        if self._unsure_since is None:
            self._unsure_since = now
        waited = now - self._unsure_since
        if waited < give_up_seconds(self.config):
            return False
        log.error("%s for %ds%s (broker %s); giving up, exit 1", what, waited,
                  " (%s)" % error if error else "", self.config.bootstrap_servers)
        self.gave_up = True
        return True

    def _take(self, partition, records, now):
        writer = self.writers.get(partition)
        if writer is None:
            return  # not recovered yet: these are read again after the seek
        topic, add, expected = self.topic, writer.add, writer.next_offset
        try:
            for record in records:
                offset = record.offset
                if offset < expected:
                    continue  # already in the sink or in the buffers
                folder, line, event_ts, _reason = route(record.value, record.timestamp, topic, partition, offset)
                add(offset, folder, line, event_ts, now)
                expected = offset + 1
        except ServiceError as error:
            self._lose(partition, error)
        self.seen += len(records)

    def _maintain(self, now):
        if self.resumer.unchecked:
            self.resumer.check_positions(self.consumer, self.writers)
        for partition, writer in list(self.writers.items()):
            reason = flush_reason(writer.events, writer.size, writer.opened_at, len(writer.files), now, self.limits)
            if reason:
                self._flush(partition, writer, reason)
        self._bound_memory()
        due = [p for p, (at, _backoff) in self.waiting.items() if at <= now]
        for partition in due:
            self._recover([partition])
        if self.reporter.due(now):
            self._publish_watermark()
            self._report(now)

    def _bound_memory(self):
        """Past --buffer-bytes held in memory, spill the largest buffers to their temp files."""
        buffered = sum(writer.buffered for writer in self.writers.values())
        if buffered <= self.config.buffer_bytes:
            return
        sizes = {(p, folder): size for p, writer in self.writers.items()
                 for folder, size in writer.buffer_sizes().items()}
        for partition, folder in buffers_to_spill(sizes, self.config.buffer_bytes):
            if partition in self.writers:
                try:
                    self.writers[partition].spill(folder)
                except ServiceError as error:
                    self._lose(partition, error)

    # -- reporting --------------------------------------------------------------------------
    def _highwater(self, partition):
        return self.consumer.highwater(TopicPartition(self.topic, partition))

    def _report(self, now, final=False):
        lag = total_lag((self._highwater(p), writer.next_offset) for p, writer in self.writers.items())
        self.reporter.report(now, self.seen, lag, self.writers, self.waiting, final)

    def _publish_watermark(self):
        if not self.watermark.due:
            return
        partitions = self.consumer.partitions_for_topic(self.topic) or set()
        # An owned partition that never had an event must not hold the watermark back.
        idle = {p: writer.next_offset for p, writer in self.writers.items()
                if not writer.events and self._highwater(p) == writer.next_offset}
        if not self.watermark.publish(partitions, idle):
            self.counters.sink_failures += 1
