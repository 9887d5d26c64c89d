"""mr_suspicious_users against an independent plain-Python rule check, on every runner."""
import pytest

from mr.mr_suspicious_users import MRSuspiciousUsers
from corpus import bot_lines, generated_lines
from reference import reference_suspicious_users

FLAGGED = {"bot-burst": ["events_per_minute"], "бот-burst🙂": ["events_per_minute"],
           "bot-metronome": ["regular_gaps"], "bot-jitter": ["regular_gaps"], "bot-same-instant": ["regular_gaps"],
           "bot-viewer": ["views_only"], "bot-two-bursts": ["events_per_minute"]}
NEAR_MISSES = ["burst-edge", "human", "bot-short", "viewer-49", "viewer-plus"]


@pytest.fixture(scope="module")
def corpus():
    lines = generated_lines() + bot_lines()
    expected, rejected = reference_suspicious_users(lines)
    assert rejected > 0
    return lines, expected, rejected


def _check(output, counters, expected, rejected):
    assert output == expected
    assert sum(counters.get("clickstream rejected", {}).values()) == rejected
    assert counters["clickstream"]["users flagged"] == len(expected)


def test_the_corpus_trips_each_rule_and_just_misses_it():
    expected, _rejected = reference_suspicious_users(bot_lines())
    assert {user: [rule["rule"] for rule in record["rules"]] for user, record in expected.items()} == FLAGGED


@pytest.mark.inline_runner
def test_inline_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRSuspiciousUsers, lines, runner="inline", files=3)
    _check(output, counters, expected, rejected)
    assert set(FLAGGED) <= set(output) and not set(NEAR_MISSES) & set(output)
    # Two equally busy minutes: the earlier one is the evidence.
    assert output["bot-two-bursts"]["rules"][0]["evidence"]["minute"] == "2024-12-29T03:10:00Z"


def test_local_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRSuspiciousUsers, lines, runner="local", files=4)
    _check(output, counters, expected, rejected)


@pytest.mark.inline_runner
def test_thresholds_are_options(run_job):
    lines = bot_lines()
    thresholds = {"max_events_per_minute": 29, "min_events_for_regularity": 19, "max_gap_cv": 0.05, "min_views_only": 49}
    expected, rejected = reference_suspicious_users(lines, **thresholds)
    assert {"burst-edge", "bot-short", "viewer-49"} <= set(expected) and "bot-jitter" in expected
    args = [part for name, value in thresholds.items() for part in ("--" + name.replace("_", "-"), str(value))]
    output, counters = run_job(MRSuspiciousUsers, lines, extra_args=args, files=2)
    _check(output, counters, expected, rejected)


@pytest.mark.inline_runner
def test_evidence_of_a_burst(run_job):
    lines = [b'{"user_id":"b","action":"search","timestamp":"2024-12-29T10:00:%02d+01:00"}' % second
             for second in range(0, 60, 2)]
    lines += [b'{"user_id":"b","action":"search","timestamp":"2024-12-29T09:01:00Z"}'] * 31
    output, _counters = run_job(MRSuspiciousUsers, lines, files=2)
    rules = output["b"]["rules"]
    assert rules[0] == {"rule": "events_per_minute", "evidence": {
        "minute": "2024-12-29T09:01:00Z", "events_in_minute": 31, "max_events_per_minute": 30}}
    assert len(rules) == 1  # 30 events in 09:00Z is not above the threshold; the gaps are irregular


@pytest.mark.parametrize("option, value", [("--max-gap-cv", "0"), ("--max-events-per-minute", "1.5"),
                                           ("--min-views-only", "-1")])
def test_bad_threshold_fails_at_start_up(option, value):
    with pytest.raises(ValueError, match="argument %s: '%s'" % (option, value)):
        MRSuspiciousUsers(args=[option, value, "input.jsonl"])
