"""Partition routing: event time in UTC picks the hour folder; rejects keep their bytes."""
import base64

import orjson
import pytest

from ingest.routing import raw_of_reject, route


def reference_folder(text_ts):
    """Independent: shift the wall-clock reading by its offset with plain arithmetic."""
    date, clock = text_ts.split("T")
    sign = 1
    if clock.endswith("Z"):
        clock, offset_minutes = clock[:-1], 0
    else:
        sign = -1 if "-" in clock[8:] else 1
        clock, zone = clock[:8], clock[-6:]
        offset_minutes = int(zone[1:3]) * 60 + int(zone[4:6])
    year, month, day = map(int, date.split("-"))
    hour, minute = int(clock[:2]), int(clock[3:5])
    total = hour * 60 + minute - sign * offset_minutes
    day += total // (24 * 60)  # the cases below stay within one month
    hour = (total % (24 * 60)) // 60
    return "dt=%04d-%02d-%02d/hour=%02d" % (year, month, day, hour)


@pytest.mark.parametrize("stamp, folder", [
    ("2024-12-29T10:59:59Z", "dt=2024-12-29/hour=10"),
    ("2024-12-29T11:00:00Z", "dt=2024-12-29/hour=11"),
    ("2024-12-29T11:59:59+01:00", "dt=2024-12-29/hour=10"),  # 10:59:59Z
    ("2024-12-29T12:00:00+01:00", "dt=2024-12-29/hour=11"),  # across the boundary
    ("2024-12-29T00:30:00+01:00", "dt=2024-12-28/hour=23"),  # previous UTC day
    ("2024-12-29T23:30:00-05:00", "dt=2024-12-30/hour=04"),  # next UTC day
    ("2024-12-29T10:15:00.123456+05:30", "dt=2024-12-29/hour=04"),
])
def test_event_time_routes_to_its_utc_hour(stamp, folder):
    value = orjson.dumps({"user_id": "u", "action": "view", "timestamp": stamp})
    routed_folder, line, event_ts, reason = route(value, 0, "t", 0, 7)
    assert routed_folder == folder == reference_folder(stamp)
    assert line == value + b"\n"
    assert reason is None and event_ts is not None


def test_a_line_break_inside_valid_json_is_kept_on_one_line():
    value = b'{"user_id": "u",\n "action": "view", "timestamp": "2024-12-29T10:00:00Z"}'
    _folder, line, _ts, _reason = route(value, 0, "t", 0, 1)
    assert line.count(b"\n") == 1 and orjson.loads(line) == orjson.loads(value)


@pytest.mark.parametrize("value, reason", [
    (b"{not json", "invalid_json"),
    (b'{"user_id":"u","action":"v","timestamp":"2024-12-29T10:00:00Z","x":"\xff"}', "not_utf8"),
    (b"[1]", "not_an_object"),
    (b'{"action":"v","timestamp":"2024-12-29T10:00:00Z"}', "missing_user_id"),
    (b'{"user_id":"u","action":"$set","timestamp":"2024-12-29T10:00:00Z"}', "invalid_action"),
    (b'{"user_id":"u","action":"v","timestamp":"2024-12-29T10:00:00"}', "timestamp_without_zone"),
    (b"", "invalid_json"),
    (None, "invalid_json"),
])
def test_rejects_go_aside_with_reason_origin_and_bytes(value, reason):
    kafka_ms = 1_735_466_400_000  # 2024-12-29T10:00:00Z
    folder, line, event_ts, got_reason = route(value, kafka_ms, "clicks", 2, 41)
    assert (folder, event_ts, got_reason) == ("_rejected/dt=2024-12-29/hour=10", None, reason)
    record = orjson.loads(line)
    assert (record["topic"], record["partition"], record["offset"], record["reason"]) == ("clicks", 2, 41, reason)
    assert raw_of_reject(line) == (value or b"")
    if reason == "not_utf8":
        assert base64.b64decode(record["raw_base64"]) == value and "raw" not in record
