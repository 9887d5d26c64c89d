"""Rotation: a partition's files close at the first limit reached; the largest buffers spill."""
import pytest

from ingest.rotation import RotationLimits, buffers_to_spill, flush_reason

LIMITS = RotationLimits(events=100, bytes=1000, seconds=60.0, open_files=4)


@pytest.mark.parametrize("events, size, opened_at, open_files, now, reason", [
    (0, 0, None, 0, 1e9, None),             # nothing buffered: nothing to close, however old
    (1, 10, 0.0, 1, 59.9, None),
    (1, 10, 0.0, 1, 60.0, "seconds"),       # a quiet partition still flushes
    (100, 10, 0.0, 1, 1.0, "events"),
    (99, 1000, 0.0, 1, 1.0, "bytes"),
    (99, 999, 0.0, 5, 1.0, "open_files"),
    (99, 999, 0.0, 4, 1.0, None),
    (100, 1000, 0.0, 9, 99.0, "events"),    # the first limit in order wins
])
def test_flush_reason(events, size, opened_at, open_files, now, reason):
    assert flush_reason(events, size, opened_at, open_files, now, LIMITS) == reason


def reference_spill(buffered, budget):
    """Independent: try every prefix of the size-sorted keys, keep the shortest that fits in half."""
    if sum(buffered.values()) <= budget:
        return []
    ordered = sorted(buffered, key=lambda key: (-buffered[key], key))
    for count in range(len(ordered) + 1):
        if sum(buffered[key] for key in ordered[count:]) <= budget // 2:
            return ordered[:count]
    return ordered


@pytest.mark.parametrize("buffered, budget", [
    ({"a": 10, "b": 20}, 100),
    ({"a": 60, "b": 50, "c": 5}, 100),
    ({"a": 500}, 100),
    ({(0, "x"): 30, (1, "y"): 30, (2, "z"): 45}, 100),
    ({"a": 1, "b": 1, "c": 1, "d": 1}, 3),
])
def test_spill_largest_first_down_to_half_the_budget(buffered, budget):
    chosen = buffers_to_spill(buffered, budget)
    assert chosen == reference_spill(buffered, budget)
    if chosen:
        assert sum(size for key, size in buffered.items() if key not in chosen) <= budget // 2
