"""Publishing generated events to Kafka (`clickstream generate --topic`), keyed by user id."""
import time

from clickstream.errors import ConfigError, ServiceError
from clickstream.generator import iter_event_chunks

# Malformed lines have no trustworthy user id; they share one key (one partition).
MALFORMED_KEY = b"__malformed__"


def publish(spec, producer, topic, rate=None, clock=time.monotonic, sleep=time.sleep):
    """Send every generated line to ``topic`` through ``producer`` (a KafkaProducer or alike).

    ``rate`` caps events per second (None: as fast as the producer goes). Returns the number of
    events sent; every send is acknowledged (flush) before returning.
    """
    sent = 0
    started = clock()
    for users, lines in iter_event_chunks(spec):
        for user, line in zip(users, lines):
            key = MALFORMED_KEY if user is None else user.encode("utf-8")
            producer.send(topic, key=key, value=line.encode("utf-8", "surrogateescape"))
            sent += 1
            if rate and sent % 100 == 0:
                ahead = sent / rate - (clock() - started)
                if ahead > 0:
                    sleep(ahead)
    producer.flush()
    return sent


def producer_settings(bootstrap_servers):
    return {"bootstrap_servers": bootstrap_servers.split(","), "acks": "all", "linger_ms": 20,
            "batch_size": 256 * 1024, "client_id": "clickstream-generate"}


def publish_generated(spec, topic, bootstrap_servers, rate=None):
    """`generate --topic`: validate the options, publish, return the count.

    Raises ConfigError for a missing or bad option, ServiceError if Kafka fails.
    """
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    if not topic:
        raise ConfigError("--topic: missing; --bootstrap-servers and --rate publish to a Kafka topic")
    if not bootstrap_servers:
        raise ConfigError("--bootstrap-servers: missing (or set KAFKA_BOOTSTRAP_SERVERS); --topic %r needs brokers"
                          % topic)
    if rate is not None and not rate > 0:
        raise ConfigError("--rate: %r; expected events per second > 0" % rate)
    spec.validate()
    try:
        producer = KafkaProducer(**producer_settings(bootstrap_servers))
        try:
            return publish(spec, producer, topic, rate)
        finally:
            producer.close()
    except KafkaError as error:
        raise ServiceError("publishing to topic %r at %s failed: %s" % (topic, bootstrap_servers, error)) from error
