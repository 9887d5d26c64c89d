"""Publishing generated events: every line once, in order, keyed by its user (malformed lines share
one key), at most --rate a second, all acknowledged; bad options fail in one line."""
import io

import pytest

from clickstream.errors import ConfigError
from clickstream.events import EventRejected, parse_event
from clickstream.generator import GeneratorSpec, write_events
from ingest.publish import MALFORMED_KEY, producer_settings, publish, publish_generated


class FakeProducer:
    def __init__(self):
        self.sent, self.flushed = [], 0

    def send(self, topic, key, value):
        self.sent.append((topic, key, value))

    def flush(self):
        self.flushed = len(self.sent)


def expected_key(line):
    """Independent of the generator's user list: the event model says whose line it is."""
    try:
        return parse_event(line).user_id.encode("utf-8")
    except EventRejected:
        return MALFORMED_KEY


def test_every_generated_line_is_sent_once_in_order_with_its_users_key():
    spec = GeneratorSpec(events=700, users=30, seed=3, malformed_fraction=0.05)
    producer = FakeProducer()
    assert publish(spec, producer, "clicks") == 700
    stream = io.BytesIO()
    write_events(spec, stream)
    lines = stream.getvalue().splitlines()
    assert [value for _topic, _key, value in producer.sent] == lines
    assert [key for _topic, key, _value in producer.sent] == [expected_key(line) for line in lines]
    assert {topic for topic, _key, _value in producer.sent} == {"clicks"}
    assert MALFORMED_KEY in {key for _topic, key, _value in producer.sent}
    assert producer.flushed == 700  # acknowledged before returning


def test_a_rate_paces_the_sends():
    now, naps = [0.0], []

    def sleep(seconds):
        naps.append(seconds)
        now[0] += seconds
    sent = publish(GeneratorSpec(events=1000, users=10), FakeProducer(), "clicks", rate=200, clock=lambda: now[0],
                   sleep=sleep)
    assert sent == 1000
    assert len(naps) == 10 and now[0] == pytest.approx(1000 / 200)  # one check per hundred events


def test_the_producer_settings_wait_for_every_replica():
    settings = producer_settings("h1:9092,h2:9092")
    assert settings["bootstrap_servers"] == ["h1:9092", "h2:9092"] and settings["acks"] == "all"


@pytest.mark.parametrize("topic, servers, rate, message", [
    (None, "h:1", None, r"^--topic: missing"),
    ("clicks", None, None, r"^--bootstrap-servers: missing .* --topic 'clicks' needs brokers"),
    ("clicks", "h:1", 0, r"^--rate: 0; expected events per second > 0"),
    ("clicks", "h:1", -5.0, r"^--rate: -5.0"),
])
def test_bad_options_fail_before_any_connection(topic, servers, rate, message):
    with pytest.raises(ConfigError, match=message) as caught:
        publish_generated(GeneratorSpec(events=1), topic, servers, rate)
    assert "\n" not in str(caught.value)


def test_a_bad_spec_fails_before_any_connection():
    with pytest.raises(ConfigError, match=r"^--users: 0; expected at least 1 user"):
        publish_generated(GeneratorSpec(events=1, users=0), "clicks", "h:1")
