"""mr_hourly_activity against an independent plain-Python count, on every runner."""
import pytest

from mr.mr_hourly_activity import MRHourlyActivity
from corpus import generated_lines, product_id_lines, session_lines
from reference import reference_hourly_activity
from job_checks import check_job_result


@pytest.fixture(scope="module")
def corpus():
    lines = generated_lines() + session_lines() + product_id_lines()
    expected, rejected = reference_hourly_activity(lines)
    assert rejected > 0 and len(expected) >= 6  # the corpus really has both
    assert any(record["distinct_users"] < record["events"] for record in expected.values())
    return lines, expected, rejected


def _check(output, counters, expected, rejected):
    check_job_result(output, counters, expected, rejected,
                     valid_events=sum(record["events"] for record in expected.values()))


@pytest.mark.inline_runner
def test_inline_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRHourlyActivity, lines, runner="inline", files=3)
    _check(output, counters, expected, rejected)


def test_local_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRHourlyActivity, lines, runner="local", files=4)
    _check(output, counters, expected, rejected)


@pytest.mark.inline_runner
def test_spilling_combiner_gives_the_same_answer(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRHourlyActivity, lines, extra_args=["--combine-keys", "5"], files=2)
    _check(output, counters, expected, rejected)
    assert counters["clickstream"]["combiner spills"] > 2  # more than one final spill per file


@pytest.mark.inline_runner
def test_offsets_land_in_their_utc_hour_and_users_are_distinct_across_files(run_job):
    lines = [
        b'{"user_id":"a","action":"view_product","timestamp":"2024-12-29T10:59:59+01:00"}',
        b'{"user_id":"a","action":"add_to_cart","timestamp":"2024-12-29T10:00:00.5+01:00"}',
        b'{"user_id":"a","action":"purchase","timestamp":"2024-12-29T09:59:59.999999Z"}',
        b'{"user_id":"b","action":"view_product","timestamp":"2024-12-29T04:15:00-05:00"}',
        b'{"user_id":"b","action":"view_product","timestamp":"2024-12-29T10:00:00Z"}',
        b'not json',
    ]
    output, counters = run_job(MRHourlyActivity, lines, files=3)
    assert sorted(output) == ["2024-12-29T09", "2024-12-29T10"]
    assert output["2024-12-29T09"] == {
        "hour": "2024-12-29T09:00:00Z", "product_page_visits": 2, "cart_adds": 1, "purchases": 1,
        "distinct_users": 2, "events": 4, "actions": {"add_to_cart": 1, "purchase": 1, "view_product": 2}}
    assert output["2024-12-29T10"]["distinct_users"] == 1
    assert counters["clickstream rejected"] == {"invalid_json": 1}
