"""mr_sessions against an independent plain-Python sessionization, on every runner."""
import pytest

from mr.mr_sessions import MRSessions
from corpus import generated_lines, session_lines
from reference import reference_sessions
from job_checks import check_job_result


@pytest.fixture(scope="module")
def corpus():
    lines = generated_lines() + session_lines()
    expected, rejected = reference_sessions(lines)
    assert rejected > 0 and len(expected) > 1000
    assert any(record["abandoned_checkout"] for record in expected.values())
    assert any("#" in session_id for session_id in expected)  # sessions without a session id
    return lines, expected, rejected


# What the loader needs to merge sessions across batches, beyond the seed's session_data shape.
MERGE_FIELDS = ("sid", "continues", "continued", "timeline", "gap_us", "cap_us")


def served(output):
    return {key: {name: value for name, value in record.items() if name not in MERGE_FIELDS}
            for key, record in output.items()}


def _check(output, counters, expected, rejected):
    check_job_result(served(output), counters, expected, rejected,
                     valid_events=sum(record["events"] for record in expected.values()))
    for record in output.values():
        assert len(record["timeline"]) == record["events"]
    assert counters["clickstream"]["sessions output"] == len(expected)


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


def long_session_lines():
    """One user with a session id and one without, an event every 10 minutes for 7 hours; the
    keyed one pauses 30 minutes, then buys."""
    lines = []
    for step in range(43):
        minute = 10 * step
        stamp = "2024-12-29T%02d:%02d:00Z" % (8 + minute // 60, minute % 60)
        lines.append(b'{"user_id": "long", "action": "click", "timestamp": "%s"}' % stamp.encode())
        lines.append(b'{"user_id": "keyed", "session_id": "k1", "action": "click", "timestamp": "%s"}'
                     % stamp.encode())
    lines.append(b'{"user_id": "keyed", "session_id": "k1", "action": "purchase", "timestamp": "2024-12-29T15:30:00Z"}')
    return lines


@pytest.mark.inline_runner
@pytest.mark.parametrize("hours, long_pieces, keyed_pieces", [(1, 8, 8), (2.5, 3, 4), (24, 1, 1)])
def test_max_session_hours_cuts_long_sessions(run_job, hours, long_pieces, keyed_pieces):
    lines = long_session_lines()
    expected, rejected = reference_sessions(lines, max_session_hours=hours)
    output, counters = run_job(MRSessions, lines, extra_args=["--max-session-hours", str(hours)], files=2)
    _check(output, counters, expected, rejected)
    for user, pieces in (("long", long_pieces), ("keyed", keyed_pieces)):
        sessions = sorted((record for record in output.values() if record["user_id"] == user),
                          key=lambda record: record["start_time"])
        assert len(sessions) == pieces
        assert [record["continues"] for record in sessions] == [False] + [True] * (pieces - 1)
        assert [record["continued"] for record in sessions] == [True] * (pieces - 1) + [False]
        assert sum(record["events"] for record in sessions) == 43 + (user == "keyed")
