"""Shared fixtures: run a job in-process over literal lines; the ingest's log; count the integration tier's results."""
import logging
import os

import pytest

from loaders.mongomock_compat import in_process_client
from mr.base import sum_counters


def run_job_over_lines(job_class, lines, runner="inline", extra_args=(), tmp_path=None, files=1):
    """Run ``job_class`` over literal input lines (bytes) split across ``files`` input files.

    Returns (output as {key: value}, counters as {group: {name: count}}).
    """
    paths = []
    for number in range(files):
        path = os.path.join(str(tmp_path), "input-%d.jsonl" % number)
        with open(path, "wb") as stream:
            stream.writelines(line if line.endswith(b"\n") else line + b"\n" for line in lines[number::files])
        paths.append(path)
    job = job_class(args=["-r", runner, "--no-conf", *extra_args, *paths])
    output = {}
    with job.make_runner() as job_runner:
        job_runner.run()
        for key, value in job.parse_output(job_runner.cat_output()):
            assert key not in output, "key %r output twice" % (key,)
            output[key] = value
        counters = sum_counters(job_runner.counters())
    return output, counters


@pytest.fixture
def run_job(tmp_path):
    def run(job_class, lines, runner="inline", extra_args=(), files=1):
        return run_job_over_lines(job_class, lines, runner, extra_args, tmp_path, files)

    return run


@pytest.fixture
def mongo_db():
    """An in-process MongoDB stand-in database (mongomock, adapted in one place)."""
    return in_process_client()["clickstream_test"]


@pytest.fixture
def ingest_log():
    """The ingest's log messages (its logger stops propagating once the CLI has configured it)."""
    messages = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger("clickstream.ingest")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield messages
    logger.removeHandler(handler)
    logger.setLevel(level)


_integration = {"passed": 0, "failed": 0, "skipped": 0}


def pytest_runtest_logreport(report):
    if "integration" not in report.keywords:
        return
    if report.when == "call" and report.passed:
        _integration["passed"] += 1
    elif report.failed:
        _integration["failed"] += 1
    elif report.skipped:
        _integration["skipped"] += 1


def pytest_terminal_summary(terminalreporter):
    ran = _integration["passed"] + _integration["failed"]
    terminalreporter.write_line(
        "integration tests: %d ran (%d passed, %d failed), %d skipped"
        % (ran, _integration["passed"], _integration["failed"], _integration["skipped"]))
