"""mr_sessions against an independent plain-Python sessionization, on every runner."""
import pytest

from mr.mr_sessions import MRSessions
from corpus import generated_lines, session_lines
from reference import reference_sessions


@pytest.fixture(scope="module")
def corpus():
    lines = generated_lines() + session_lines()
    expected, rejected = reference_sessions(lines)
    assert rejected > 0 and len(expected) > 1000
    assert any(record["abandoned_checkout"] for record in expected.values())
    assert any("#" in session_id for session_id in expected)  # sessions without a session id
    return lines, expected, rejected


def _check(output, counters, expected, rejected):
    assert output == expected
    assert sum(counters.get("clickstream rejected", {}).values()) == rejected
    assert counters["clickstream"]["sessions output"] == len(expected)
    assert counters["clickstream"]["events valid"] == sum(record["events"] for record in expected.values())


@pytest.mark.inline_runner
def test_inline_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRSessions, lines, runner="inline", files=3)
    _check(output, counters, expected, rejected)


def test_local_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRSessions, lines, runner="local", files=4)
    _check(output, counters, expected, rejected)


@pytest.mark.inline_runner
@pytest.mark.parametrize("gap_minutes", [1, 5, 90])
def test_session_gap_option(run_job, gap_minutes):
    lines = session_lines() + generated_lines(events=3000, users=100, seed=5)
    expected, rejected = reference_sessions(lines, gap_minutes=gap_minutes)
    output, counters = run_job(MRSessions, lines, extra_args=["--session-gap-minutes", str(gap_minutes)], files=2)
    _check(output, counters, expected, rejected)


@pytest.mark.inline_runner
@pytest.mark.parametrize("files", [1, 5])
def test_gap_boundary_ties_and_ids(run_job, files):
    output, _counters = run_job(MRSessions, session_lines(), files=files)
    first, second = output["nosid#2024-12-29T09:00:00Z"], output["nosid#2024-12-29T10:10:00.000001Z"]
    assert (first["events"], first["end_time"]) == (3, "2024-12-29T09:40:00Z")  # a gap of exactly 30 min
    assert second["events"] == 3 and second["abandoned_checkout"] is True
    assert second["actions"] == [{"action": "add_to_cart", "timestamp": "2024-12-29T10:11:40Z", "product_id": "5"}]
    tied = output["tie-s"]
    assert [entry["action"] for entry in tied["actions"]] == ["add_to_cart", "purchase", "search", "search"]
    assert [entry.get("page_name") for entry in tied["pages_visited"]] == [None, None, "", "/product/t1", "/product/t1"]
    assert tied["abandoned_checkout"] is False  # the purchase at the same instant completes the cart
    assert output["tie-s2"]["abandoned_checkout"] is True
    assert output["12345"]["events"] == 2  # integer and string session ids are one session
    assert output["mx-1"]["events"] == 7
    assert output["mixed#2024-12-29T11:00:00Z"]["events"] == 1
    assert output["odd-ids#2024-12-29T09:00:00Z"]["events"] == 3


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_bad_gap_fails_at_start_up(value):
    # mrjob turns argparse's exit into ValueError when a job is built from an argument list.
    with pytest.raises(ValueError, match="argument --session-gap-minutes: '%s'" % value):
        MRSessions(args=["--session-gap-minutes", value, "input.jsonl"])
