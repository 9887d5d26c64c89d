"""The watermark: the event time every partition has moved past, less the allowed lateness."""
import pytest

from clickstream.events import parse_ts
from ingest.watermark import complete_before, describe, partition_progress, topic_watermark, watermark_document

HOUR = 3_600_000_000


def ts(text):
    return parse_ts(text)


@pytest.mark.parametrize("progress, partitions, lateness, expected", [
    ({}, [0, 1], 0, None),
    ({0: {"max_event_ts": ts("2024-12-29T10:30:00Z"), "caught_up": False}}, [0, 1], 0, None),
    ({0: {"max_event_ts": ts("2024-12-29T10:30:00Z"), "caught_up": False},
      1: {"max_event_ts": ts("2024-12-29T12:10:00Z"), "caught_up": False}}, [0, 1], 0, ts("2024-12-29T10:30:00Z")),
    ({0: {"max_event_ts": ts("2024-12-29T10:30:00Z"), "caught_up": False},
      1: {"max_event_ts": ts("2024-12-29T12:10:00Z"), "caught_up": False}}, [0, 1], HOUR, ts("2024-12-29T09:30:00Z")),
    # an idle (caught-up) partition does not hold the others back
    ({0: {"max_event_ts": ts("2024-12-29T08:00:00Z"), "caught_up": True},
      1: {"max_event_ts": ts("2024-12-29T12:10:00Z"), "caught_up": False}}, [0, 1], 0, ts("2024-12-29T12:10:00Z")),
    ({0: {"max_event_ts": None, "caught_up": True},
      1: {"max_event_ts": ts("2024-12-29T12:10:00Z"), "caught_up": True}}, [0, 1], 0, ts("2024-12-29T12:10:00Z")),
    ({0: {"max_event_ts": None, "caught_up": False},
      1: {"max_event_ts": ts("2024-12-29T12:10:00Z"), "caught_up": False}}, [0, 1], 0, None),
])
def test_topic_watermark(progress, partitions, lateness, expected):
    assert topic_watermark(progress, partitions, lateness) == expected


def test_offsets_in_the_input_hour_are_normalized_before_the_watermark():
    progress = {0: {"max_event_ts": ts("2024-12-29T12:30:00+01:00"), "caught_up": False}}
    document = watermark_document("t", progress, [0], 0)
    assert document["watermark"] == "2024-12-29T11:30:00Z"
    assert document["complete_before_hour"] == "dt=2024-12-29/hour=11"
    assert complete_before(ts("2024-12-29T11:00:00Z")) * HOUR == ts("2024-12-29T11:00:00Z")
    assert "hours before dt=2024-12-29/hour=11 are complete" in describe(document)


def test_the_stored_watermark_never_moves_back():
    earlier = {0: {"max_event_ts": ts("2024-12-29T09:00:00Z"), "caught_up": False}}
    later = {0: {"max_event_ts": ts("2024-12-29T11:00:00Z"), "caught_up": False}}
    stored = watermark_document("t", later, [0], 0)
    assert watermark_document("t", earlier, [0], 0, stored)["watermark"] == "2024-12-29T11:00:00Z"
    assert watermark_document("t", {}, [0, 1], 0, stored)["watermark"] == "2024-12-29T11:00:00Z"
    assert describe(watermark_document("t", {}, [0], 0)).startswith("watermark: none yet")


def manifest(last, max_event_ts, caught_up=None):
    found = {"topic": "t", "partition": 0, "first_offset": 0, "last_offset": last, "max_event_ts": max_event_ts,
             "moves": []}
    if caught_up is not None:  # older manifests have no caught_up
        found["caught_up"] = caught_up
    return found


@pytest.mark.parametrize("manifests, idle, expected", [
    ({}, {}, {}),
    ({0: manifest(9, 5)}, {}, {0: {"max_event_ts": 5, "caught_up": False, "next_offset": 10}}),
    ({0: manifest(9, 5, True)}, {}, {0: {"max_event_ts": 5, "caught_up": True, "next_offset": 10}}),
    ({0: manifest("9", None, 1)}, {}, {0: {"max_event_ts": None, "caught_up": True, "next_offset": 10}}),
    # an owned partition that never flushed counts as caught up with no event; a manifest wins
    ({}, {3: 0}, {3: {"max_event_ts": None, "caught_up": True, "next_offset": 0}}),
    ({0: manifest(9, 5)}, {0: 10, 1: 7}, {0: {"max_event_ts": 5, "caught_up": False, "next_offset": 10},
                                          1: {"max_event_ts": None, "caught_up": True, "next_offset": 7}}),
])
def test_partition_progress(manifests, idle, expected):
    assert partition_progress(manifests, idle) == expected
