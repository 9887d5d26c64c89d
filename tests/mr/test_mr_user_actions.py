"""mr_user_actions against an independent plain-Python count, on every runner."""
import pytest

from mr.mr_user_actions import MRUserActions
from corpus import generated_lines
from reference import reference_user_actions


@pytest.fixture(scope="module")
def corpus():
    lines = generated_lines()
    expected, rejected = reference_user_actions(lines)
    assert rejected > 0 and len(expected) > 100  # the corpus really has both
    return lines, expected, rejected


def _check(output, counters, expected, rejected):
    assert output == expected
    assert sum(counters["clickstream rejected"].values()) == rejected
    assert counters["clickstream"]["events valid"] == sum(record["click_count"] for record in expected.values())


@pytest.mark.inline_runner
def test_inline_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRUserActions, lines, runner="inline", files=3)
    _check(output, counters, expected, rejected)


def test_local_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRUserActions, lines, runner="local", files=4)
    _check(output, counters, expected, rejected)


@pytest.mark.inline_runner
def test_spilling_combiner_gives_the_same_answer(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRUserActions, lines, runner="inline", extra_args=["--combine-users", "7"], files=2)
    _check(output, counters, expected, rejected)
    assert counters["clickstream"]["combiner spills"] > 0


@pytest.mark.inline_runner
def test_ties_and_offsets(run_job):
    lines = [
        b'{"user_id":"t","action":"zoom","timestamp":"2024-12-29T12:00:00Z"}',
        b'{"user_id":"t","action":"add_to_cart","timestamp":"2024-12-29T13:00:00+01:00"}',
        b'{"user_id":"t","action":"search","timestamp":"2024-12-29T11:59:59.999999Z"}',
    ]
    for files in (1, 3):
        output, _counters = run_job(MRUserActions, lines, files=files)
        assert output["t"]["last_action"] == "zoom"  # same instant as add_to_cart; greatest name wins
        assert output["t"]["first_seen"] == "2024-12-29T11:59:59.999999Z"
