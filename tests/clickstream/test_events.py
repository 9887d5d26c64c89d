"""The shared event model: valid events, normalization to UTC, and a table of every malformed kind."""
from datetime import datetime, timezone

import pytest

from clickstream.events import REJECT_REASONS, EventRejected, format_ts, parse_event, parse_ts


def micros(text):
    """Independent reference: stdlib datetime arithmetic, not the model's own conversion."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds


GOOD = b'{"user_id":"u1","action":"view_product","timestamp":"2024-12-29T12:30:45Z","product_id":987,"page":"/p"}'


def test_valid_event_keeps_other_fields_untouched():
    event = parse_event(GOOD + b"\n")
    assert (event.user_id, event.action) == ("u1", "view_product")
    assert event.ts == micros("2024-12-29T12:30:45+00:00")
    assert event.fields["product_id"] == 987 and event.fields["page"] == "/p"
    assert event.timestamp == "2024-12-29T12:30:45Z"


@pytest.mark.parametrize("text, utc", [
    ("2024-12-29T12:30:45Z", "2024-12-29T12:30:45Z"),
    ("2024-12-29T12:30:45.250Z", "2024-12-29T12:30:45.250000Z"),
    ("2024-12-29T00:30:00+01:00", "2024-12-28T23:30:00Z"),
    ("2024-12-31T23:59:59-05:00", "2025-01-01T04:59:59Z"),
    ("2024-06-01T10:00:00.123456+05:30", "2024-06-01T04:30:00.123456Z"),
    ("2024-12-29 12:30:45+00:00", "2024-12-29T12:30:45Z"),
])
def test_timestamps_normalize_to_utc(text, utc):
    assert parse_ts(text) == micros(text)
    assert format_ts(parse_ts(text)) == utc


def test_any_characters_in_user_id_up_to_256():
    for user_id in ["$gt", "a.b", "юзер 🙂", "tab\there", "x" * 256]:
        line = ('{"user_id":%s,"action":"click","timestamp":"2024-01-01T00:00:00Z"}'
                % __import__("json").dumps(user_id)).encode()
        assert parse_event(line).user_id == user_id


MALFORMED = [
    (b'{"user_id":"u1","action":"click","timestamp":"2024-01-0', "invalid_json"),
    (b"", "invalid_json"),
    (b"not json at all", "invalid_json"),
    (b'{"user_id":"u1","action":"click","timestamp":"2024-01-01T00:00:00Z"', "invalid_json"),
    (b'{"user_id":"\xff\xfe","action":"click","timestamp":"2024-01-01T00:00:00Z"}', "not_utf8"),
    (b'\xc3\x28{"user_id":"u1"}', "not_utf8"),
    (b'["u1","click","2024-01-01T00:00:00Z"]', "not_an_object"),
    (b'"just a string"', "not_an_object"),
    (b"42", "not_an_object"),
    (b"null", "not_an_object"),
    (b'{"action":"click","timestamp":"2024-01-01T00:00:00Z"}', "missing_user_id"),
    (b'{"user_id":null,"action":"click","timestamp":"2024-01-01T00:00:00Z"}', "user_id_not_string"),
    (b'{"user_id":1234,"action":"click","timestamp":"2024-01-01T00:00:00Z"}', "user_id_not_string"),
    (b'{"user_id":["u"],"action":"click","timestamp":"2024-01-01T00:00:00Z"}', "user_id_not_string"),
    (b'{"user_id":"","action":"click","timestamp":"2024-01-01T00:00:00Z"}', "empty_user_id"),
    (b'{"user_id":"' + b"x" * 257 + b'","action":"click","timestamp":"2024-01-01T00:00:00Z"}', "user_id_too_long"),
    (b'{"user_id":"u1","timestamp":"2024-01-01T00:00:00Z"}', "missing_action"),
    (b'{"user_id":"u1","action":7,"timestamp":"2024-01-01T00:00:00Z"}', "action_not_string"),
    (b'{"user_id":"u1","action":"","timestamp":"2024-01-01T00:00:00Z"}', "invalid_action"),
    (b'{"user_id":"u1","action":"$set","timestamp":"2024-01-01T00:00:00Z"}', "invalid_action"),
    (b'{"user_id":"u1","action":"a.b","timestamp":"2024-01-01T00:00:00Z"}', "invalid_action"),
    (b'{"user_id":"u1","action":"1click","timestamp":"2024-01-01T00:00:00Z"}', "invalid_action"),
    (b'{"user_id":"u1","action":"' + b"a" * 65 + b'","timestamp":"2024-01-01T00:00:00Z"}', "invalid_action"),
    (b'{"user_id":"u1","action":"click"}', "missing_timestamp"),
    (b'{"user_id":"u1","action":"click","timestamp":1735475445}', "timestamp_not_string"),
    (b'{"user_id":"u1","action":"click","timestamp":null}', "timestamp_not_string"),
    (b'{"user_id":"u1","action":"click","timestamp":"yesterday"}', "invalid_timestamp"),
    (b'{"user_id":"u1","action":"click","timestamp":"2024-13-01T00:00:00Z"}', "invalid_timestamp"),
    (b'{"user_id":"u1","action":"click","timestamp":"2024-W01-1T00:00:00Z"}', "invalid_timestamp"),
    (b'{"user_id":"u1","action":"click","timestamp":"2024-01-01"}', "invalid_timestamp"),
    (b'{"user_id":"u1","action":"click","timestamp":"2024-01-01T00:00:00"}', "timestamp_without_zone"),
]


@pytest.mark.parametrize("line, reason", MALFORMED)
def test_malformed_lines_are_rejected_with_their_reason(line, reason):
    with pytest.raises(EventRejected, match=reason) as rejected:
        parse_event(line)
    assert rejected.value.reason == reason


def test_the_table_covers_every_reason():
    assert {reason for _line, reason in MALFORMED} == set(REJECT_REASONS)


def test_str_input_is_accepted_like_bytes():
    assert parse_event(GOOD.decode()).ts == parse_event(GOOD).ts
