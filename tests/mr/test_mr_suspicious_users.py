"""mr_suspicious_users: its per-(user, hour) figures against a plain computation, and, loaded
(mongomock), the flags against the independent window reference, on every runner."""
import bisect
from datetime import datetime, timedelta, timezone

import pytest

from corpus import bot_lines, generated_lines
from loaders.load import load_batch
from mr.mr_suspicious_users import MRSuspiciousUsers
from reference import reference_event, reference_suspicious_window

FLAGGED = {"bot-burst": ["events_per_minute"], "бот-burst🙂": ["events_per_minute"],
           "bot-metronome": ["regular_gaps"], "bot-jitter": ["regular_gaps"], "bot-same-instant": ["regular_gaps"],
           "bot-viewer": ["views_only"], "bot-two-bursts": ["events_per_minute"]}
NEAR_MISSES = ["burst-edge", "human", "bot-short", "viewer-49", "viewer-plus"]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
HOUR, MINUTE = 3_600_000_000, 60_000_000
SETTINGS = {"window_hours": 24, "max_events_per_minute": 30, "min_events_for_regularity": 20, "max_gap_cv": 0.1,
            "min_views_only": 50}


@pytest.fixture(scope="module")
def corpus():
    return generated_lines() + bot_lines()


def plain_hour_figures(lines, settings=SETTINGS):
    """{'<user>|<hour>': figures}, computed plainly from the lines."""
    groups = {}
    for line in lines:
        event = reference_event(line)
        if event is not None:
            user, action, moment = event
            micros = (moment - EPOCH) // timedelta(microseconds=1)
            groups.setdefault((user, micros // HOUR), []).append((micros, action in ("view_product", "page_view")))
    output = {}
    for (user, hour), events in groups.items():
        events.sort()
        times = [when for when, _view in events]
        gaps = [later - earlier for earlier, later in zip(times, times[1:])]
        counts = [bisect.bisect_left(times, when + MINUTE) - index for index, when in enumerate(times)]
        busiest = max(counts)
        text = (EPOCH + timedelta(hours=hour)).strftime("%Y-%m-%dT%H")
        output["%s|%s" % (user, text)] = {
            "user_id": user, "hour": text, "events": len(times), "views": sum(view for _when, view in events),
            "first": times[0], "last": times[-1], "gap_sum": sum(gaps), "gap_squares": str(sum(g * g for g in gaps)),
            "busiest": busiest, "busiest_at": times[counts.index(busiest)],
            "head": [when for when in times if when < hour * HOUR + MINUTE],
            "tail": [when for when in times if when >= (hour + 1) * HOUR - MINUTE], "settings": settings}
    return output


def flags(db, output):
    """Load one job output as one batch; the served documents, as the reference shapes them."""
    rejected = {}
    load_batch(db, "suspicious-users", iter(output.items()), "suspicious-users:files:test", [], rejected)
    assert not rejected, rejected
    return {document["user_id"]: {name: document[name] for name in ("user_id", "rules", "rule_names", "events")}
            for document in db.suspicious_users.find()}


def test_the_corpus_trips_each_rule_and_just_misses_it():
    expected, _rejected = reference_suspicious_window(bot_lines())
    assert {user: record["rule_names"] for user, record in expected.items()} == FLAGGED


@pytest.mark.inline_runner
def test_inline_runner_matches_reference(run_job, corpus, mongo_db):
    output, counters = run_job(MRSuspiciousUsers, corpus, runner="inline", files=3)
    assert output == plain_hour_figures(corpus)
    assert counters["clickstream"]["user hours"] == len(output)
    expected, rejected = reference_suspicious_window(corpus)
    assert sum(counters["clickstream rejected"].values()) == rejected > 0
    assert flags(mongo_db, output) == expected
    assert set(FLAGGED) <= set(expected) and not set(NEAR_MISSES) & set(expected)
    # Two equally busy 60 s: the earlier one is the evidence.
    assert expected["bot-two-bursts"]["rules"][0]["evidence"]["start"] == "2024-12-29T03:10:00Z"


def test_local_runner_matches_reference(run_job, corpus):
    output, counters = run_job(MRSuspiciousUsers, corpus, runner="local", files=4)
    assert output == plain_hour_figures(corpus)
    assert counters["clickstream"]["user hours"] == len(output)


@pytest.mark.inline_runner
def test_thresholds_are_options(run_job, mongo_db):
    lines = bot_lines()
    thresholds = {"max_events_per_minute": 29, "min_events_for_regularity": 19, "max_gap_cv": 0.05,
                  "min_views_only": 49, "window_hours": 2}
    expected, _rejected = reference_suspicious_window(lines, **thresholds)
    assert {"burst-edge", "bot-short", "viewer-49"} <= set(expected) and "bot-jitter" in expected
    args = [part for name, value in thresholds.items() for part in ("--" + name.replace("_", "-"), str(value))]
    output, _counters = run_job(MRSuspiciousUsers, lines, extra_args=args, files=2)
    assert output == plain_hour_figures(lines, thresholds)
    assert flags(mongo_db, output) == expected


@pytest.mark.inline_runner
def test_evidence_of_a_burst_is_the_busiest_60_seconds_not_a_calendar_minute(run_job, mongo_db):
    lines = [b'{"user_id":"b","action":"search","timestamp":"2024-12-29T10:00:%02d+01:00"}' % second
             for second in range(0, 60, 2)]
    lines += [b'{"user_id":"b","action":"search","timestamp":"2024-12-29T09:01:00Z"}'] * 31
    output, _counters = run_job(MRSuspiciousUsers, lines, files=2)
    rules = flags(mongo_db, output)["b"]["rules"]
    # [09:00:02, 09:01:02) holds 29 + 31 events; calendar minutes held 30 and 31.
    assert rules == [{"rule": "events_per_minute", "evidence": {
        "start": "2024-12-29T09:00:02Z", "events_in_60s": 60, "max_events_per_minute": 30,
        "window": {"start": "2024-12-28T10:00:00Z", "end": "2024-12-29T10:00:00Z"}}}]


@pytest.mark.parametrize("option, value", [("--max-gap-cv", "0"), ("--max-events-per-minute", "1.5"),
                                           ("--min-views-only", "-1"), ("--window-hours", "0")])
def test_bad_threshold_fails_at_start_up(option, value):
    with pytest.raises(ValueError, match="argument %s: '%s'" % (option, value)):
        MRSuspiciousUsers(args=[option, value, "input.jsonl"])
