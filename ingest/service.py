"""`clickstream ingest`, the long-running service: build the Kafka consumer and the sink from an
IngestConfig, then run the ingest until idle or a signal (run_ingest), or show its status (show_status)."""
import logging
import os
import signal
import socket
import sys
import time


from .consumer import Ingest
from .sinks import open_sink
from .watermark_store import status_lines

log = logging.getLogger("clickstream.ingest")


def configure_logging(stream=None):
    """One line per message on stderr, with the time: the progress lines go there too."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s clickstream ingest: %(message)s", "%Y-%m-%dT%H:%M:%S"))
    logger = logging.getLogger("clickstream.ingest")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


def consumer_settings(config):
    """KafkaConsumer keyword arguments: auto-commit off, offsets only ever set by recovery."""
    settings = {
        "bootstrap_servers": config.bootstrap_servers.split(","),
        "group_id": config.group,
        "client_id": config.client_id or "clickstream-ingest-%s-%d" % (socket.gethostname(), os.getpid()),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": config.session_timeout_ms,
        "heartbeat_interval_ms": max(1000, config.session_timeout_ms // 3),
        "max_poll_interval_ms": config.max_poll_interval_ms,
        "fetch_max_bytes": config.fetch_max_bytes,
        "max_partition_fetch_bytes": config.max_partition_fetch_bytes,
        "max_poll_records": config.max_poll_records,
        "reconnect_backoff_max_ms": int(config.retry_max_seconds * 1000),
    }
    if config.group_instance_id:
        settings["group_instance_id"] = config.group_instance_id
    return settings


def connect_consumer(config, factory=None, sleep=time.sleep, should_stop=lambda: False):
    """A KafkaConsumer, retrying with backoff while no broker answers. Returns None if stopped."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    factory = factory or KafkaConsumer
    backoff = config.retry_initial_seconds
    while not should_stop():
        try:
            return factory(**consumer_settings(config))
        except KafkaError as error:
            log.warning("broker %s unavailable (%s); retrying in %.0fs", config.bootstrap_servers, error, backoff)
            sleep(backoff)
            backoff = min(backoff * 2, config.retry_max_seconds)
    return None


def run_ingest(config):
    """Run the ingest until idle or a signal. Returns the exit status."""
    configure_logging()
    stopping = []

    def on_signal(number, _frame):
        stopping.append(number)
        if ingest is not None:
            ingest.stop()

    ingest = None
    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        sink = open_sink(config)
        consumer = connect_consumer(config, should_stop=lambda: bool(stopping))
        if consumer is None:
            return 0
        log.info("consuming %s (group %s) into %s", config.topic, config.group, sink.url)
        ingest = Ingest(config, consumer, sink,
                        reconnect=lambda: connect_consumer(config, should_stop=lambda: bool(stopping)))
        if stopping:
            ingest.stop()
        try:
            status = ingest.run()
        finally:
            ingest.consumer.close(autocommit=False)  # a rejoin may have replaced the first one
        if stopping:
            log.info("stopped by signal %d after committing", stopping[0])
        return status
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def show_status(config, out=sys.stdout):
    """Print the watermark and per-partition positions read from the sink. Returns 0."""
    sink = open_sink(config)
    for line in status_lines(sink, config.topic):
        print(line, file=out)
    return 0
