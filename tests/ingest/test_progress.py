"""Progress: the stderr line and the Prometheus text carry the same figures."""
import pytest

from ingest.progress import Counters, prometheus_text, progress_line, total_lag


def parse_exposition(text):
    """Independent minimal reader of the text format: {metric: (labels, value)}; checks HELP/TYPE."""
    values, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
        elif line and not line.startswith("#"):
            name, rest = line.split("{", 1)
            labels, value = rest.rsplit("} ", 1)
            assert name in typed
            values[name] = (labels, float(value))
    return values


def test_counters_and_gauges_in_exposition_format():
    counters = Counters(consumed=10, written=7, rejected=3, files_committed=4, flushes=2)
    text = prometheus_text({"topic": "clicks", "group": 'g"1'}, counters, {"lag": 5, "events_per_second": 12.5})
    values = parse_exposition(text)
    assert values["clickstream_ingest_consumed_total"] == ('group="g\\"1",topic="clicks"', 10.0)
    assert values["clickstream_ingest_written_total"][1] + values["clickstream_ingest_rejected_total"][1] == 10
    assert values["clickstream_ingest_lag"][1] == 5 and values["clickstream_ingest_events_per_second"][1] == 12.5


def test_progress_line_is_one_line_with_the_same_figures():
    line = progress_line("clicks", Counters(consumed=10, written=7, rejected=3, files_committed=4, flushes=2),
                         123.4, None, 1)
    assert "\n" not in line
    assert "123 events/s, lag ?, 4 files committed in 2 flushes; consumed 10 = written 7 + rejected 3" in line
    assert "1 partition(s) waiting for the sink" in line


@pytest.mark.parametrize("positions, lag", [
    ([], None),
    ([(None, 5)], None),  # no highwater before the first fetch: unknown, not 0
    ([(10, 4)], 6),
    ([(10, 4), (None, 3), (7, 7)], 6),
    ([(3, 5)], 0),  # a position past the highwater seen is no negative lag
    ([(3, 5), (9, 1)], 8),
])
def test_total_lag(positions, lag):
    assert total_lag(positions) == lag
