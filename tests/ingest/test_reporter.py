"""The periodic report: when it is due, the rate over the last period, the progress line and the
metrics file (written whole or not at all)."""
import collections
import os

import pytest

from ingest.config import resolve_config
from ingest.progress import Counters
from ingest.reporter import ProgressReporter

Writer = collections.namedtuple("Writer", "events buffered")


def config(tmp_path, **settings):
    values = {"bootstrap_servers": "b:1", "topic": "clicks", "group": "g", "sink": "file://" + str(tmp_path),
              "progress_seconds": 10.0}
    values.update(settings)
    return resolve_config(values, environ={})


def metric_values(path):
    """Independent minimal reader: {metric name: value} of the sample lines."""
    with open(path) as stream:
        return {line.split("{")[0]: float(line.rsplit(" ", 1)[1]) for line in stream if not line.startswith("#")}


def test_it_is_due_once_a_period_has_passed_since_the_start_or_the_last_report(tmp_path, ingest_log):
    reporter = ProgressReporter(config(tmp_path), Counters(), now=100.0)
    assert not reporter.due(109.9) and reporter.due(110.0)
    reporter.report(112.0, 0, None, {}, {})
    assert not reporter.due(121.9) and reporter.due(122.0)


def test_the_rate_is_over_the_last_period(tmp_path, ingest_log):
    reporter = ProgressReporter(config(tmp_path), Counters(), now=0.0)
    reporter.report(5.0, 50, None, {}, {})
    assert reporter.rate == 10.0
    reporter.report(15.0, 250, None, {}, {})
    assert reporter.rate == 20.0
    reporter.report(15.0, 900, None, {}, {})  # no time passed: the rate stays
    assert reporter.rate == 20.0
    assert [line.split(": ", 1)[1].split(",")[0] for line in ingest_log] == ["10 events/s", "20 events/s",
                                                                          "20 events/s"]


def test_the_line_and_the_metrics_carry_the_same_figures(tmp_path, ingest_log):
    metrics = tmp_path / "ingest.prom"
    counters = Counters(consumed=12, written=10, rejected=2, files_committed=3, flushes=2, sink_failures=1)
    reporter = ProgressReporter(config(tmp_path, metrics_file=str(metrics)), counters, now=0.0)
    writers = {0: Writer(events=4, buffered=100), 3: Writer(events=1, buffered=20)}
    reporter.report(4.0, 12, 7, writers, {5: (9.0, 1.0)}, final=True)
    assert ingest_log == ["finished: ingest clicks: 3 events/s, lag 7, 3 files committed in 2 flushes; consumed 12 = "
                          "written 10 + rejected 2 (5 more buffered); 1 partition(s) waiting for the sink"]
    values = metric_values(metrics)
    assert values["clickstream_ingest_consumed_total"] == 12 and values["clickstream_ingest_sink_failures_total"] == 1
    assert (values["clickstream_ingest_events_per_second"], values["clickstream_ingest_lag"]) == (3.0, 7)
    assert (values["clickstream_ingest_partitions_assigned"], values["clickstream_ingest_partitions_waiting"]) == (3, 1)
    assert values["clickstream_ingest_buffered_bytes"] == 120
    assert os.listdir(tmp_path) == ["ingest.prom"]  # no temp file left


def test_an_unknown_lag_is_minus_one_in_the_metrics(tmp_path, ingest_log):
    metrics = tmp_path / "ingest.prom"
    ProgressReporter(config(tmp_path, metrics_file=str(metrics)), Counters(), now=0.0).report(1.0, 0, None, {}, {})
    assert metric_values(metrics)["clickstream_ingest_lag"] == -1
    assert "lag ?" in ingest_log[0] and not ingest_log[0].startswith("finished")


@pytest.mark.parametrize("metrics_file", [None, "missing-folder/ingest.prom"])
def test_without_a_metrics_file_or_when_it_cannot_be_written_the_ingest_goes_on(tmp_path, ingest_log, metrics_file):
    path = None if metrics_file is None else str(tmp_path / metrics_file)
    ProgressReporter(config(tmp_path, metrics_file=path), Counters(), now=0.0).report(1.0, 0, None, {}, {})
    assert os.listdir(tmp_path) == []
    assert len(ingest_log) == (1 if metrics_file is None else 2)
    if metrics_file:
        assert ingest_log[1].startswith("metrics file %s not written: " % path)
