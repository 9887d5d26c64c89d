"""suspicious_users over trailing windows across hourly batches (inline runner + mongomock), against
the plain reference over all the events: hours in any order, replays, revisions, the day-level job."""
import json
import random

import pytest

from corpus import bot_lines, generated_lines
from loaders.load import load_batch
from loaders.queries import suspicious
from mr.mr_suspicious_users import MRSuspiciousUsers
from reference import reference_event, reference_suspicious_window
from run_settings import run_settings

DAY = "2024-12-29"


def line(user, action, stamp):
    return json.dumps({"user_id": user, "action": action, "timestamp": stamp}).encode()


def stamp(seconds):
    """Seconds after DAY 00:00Z -> event time text."""
    return "%sT%02d:%02d:%09.6fZ" % (DAY, seconds // 3600, seconds % 3600 // 60, seconds % 60)


def by_hour(lines):
    """{'YYYY-MM-DDTHH': lines}; a rejected line goes with the first hour."""
    hours, bad = {}, []
    for raw in lines:
        event = reference_event(raw)
        if event is None:
            bad.append(raw)
        else:
            hours.setdefault(event[2].strftime("%Y-%m-%dT%H"), []).append(raw)
    if bad:
        hours.setdefault(min(hours), []).extend(bad)
    return hours


def hour_batch_id(hour, revision=0):
    return "suspicious-users:dt=%s/hour=%s%s" % (hour[:10], hour[11:], "#r%d" % revision if revision else "")


def load_hours(db, run_job, lines, order=None, extra_args=(), revision=0, supersedes=()):
    """Run the job over each hour's lines and load it as that hour's batch, in ``order``."""
    hours = by_hour(lines)
    for hour in order or sorted(hours):
        output, _counters = run_job(MRSuspiciousUsers, hours[hour], extra_args=extra_args)
        rejected = {}
        stats = load_batch(db, "suspicious-users", iter(output.items()), hour_batch_id(hour, revision), [], rejected,
                           supersedes=supersedes)
        assert not rejected, rejected
        assert stats["records"] == stats["upserted"] + stats["matched"] == len(output)


def served(db):
    return {document["user_id"]: {name: document[name] for name in ("user_id", "rules", "rule_names", "events")}
            for document in db.suspicious_users.find()}


def metronome(user, first, step, count, action="search"):
    return [line(user, action, stamp(first + step * number)) for number in range(count)]


@pytest.mark.inline_runner
def test_a_bot_every_4_minutes_for_6_hours_is_flagged(mongo_db, run_job):
    rng = random.Random(2)
    lines = metronome("slow-bot", 30, 240, 90)
    lines += [line("slow-human", "search", stamp(150 + 240 * number + rng.uniform(-100, 100))) for number in range(90)]
    expected, _ = reference_suspicious_window(lines)
    assert list(expected) == ["slow-bot"]  # 15 an hour: no hour alone reaches 20 events
    assert expected["slow-bot"]["rules"][0]["evidence"]["events"] == 90
    load_hours(mongo_db, run_job, lines)
    assert served(mongo_db) == expected


@pytest.mark.inline_runner
def test_40_views_an_hour_for_4_hours_is_flagged(mongo_db, run_job):
    rng = random.Random(4)
    lines = [line("viewer", "view_product" if number % 3 else "page_view",
                  stamp(hour * 3600 + 80 * number + rng.uniform(0, 40))) for hour in range(4) for number in range(40)]
    lines += [line("mixed", "view_product", stamp(hour * 3600 + 80 * number + 9)) for hour in range(4)
              for number in range(40)] + [line("mixed", "search", stamp(hour * 3600 + 100)) for hour in range(4)]
    random.Random(4).shuffle(lines)
    expected, _ = reference_suspicious_window(lines)
    assert list(expected) == ["viewer"]
    assert expected["viewer"]["rules"] == [{"rule": "views_only", "evidence": {
        "views": 160, "min_views_only": 50,
        "window": {"start": "2024-12-28T04:00:00Z", "end": "2024-12-29T04:00:00Z"}}}]
    load_hours(mongo_db, run_job, lines)
    assert served(mongo_db) == expected


@pytest.mark.inline_runner
def test_each_bot_is_listed_once_however_many_hours(mongo_db, run_job):
    lines = []
    for number, user in enumerate(("bot-a", "bot-b", "bot-c")):
        lines += metronome(user, 10 + number, 7, 2000)  # about 4 hours each
    load_hours(mongo_db, run_job, lines)
    rows = suspicious(mongo_db, 2)
    assert len(rows) == 2 and len({row["user_id"] for row in rows}) == 2
    assert sorted(row["user_id"] for row in suspicious(mongo_db, 20)) == ["bot-a", "bot-b", "bot-c"]
    assert served(mongo_db) == reference_suspicious_window(lines)[0]


@pytest.mark.inline_runner
@pytest.mark.parametrize("first_second", [3 * 60 + 30, 4 * 3600 - 30], ids=["minute-edge", "hour-edge"])
def test_a_burst_across_a_minute_or_hour_edge_is_flagged(mongo_db, run_job, first_second):
    rng = random.Random(first_second)
    lines = [line("burst", "search", stamp(first_second + 1.5 * number + rng.uniform(0, 0.9))) for number in range(40)]
    expected, _ = reference_suspicious_window(lines)
    assert expected["burst"]["rule_names"] == ["events_per_minute"]
    assert expected["burst"]["rules"][0]["evidence"]["events_in_60s"] == 40
    load_hours(mongo_db, run_job, lines)
    assert served(mongo_db) == expected


@pytest.fixture(scope="module")
def mixed_lines():
    lines = generated_lines(events=4000, users=150, malformed=0.01, seed=5) + bot_lines()
    lines += metronome("slow-bot", 30, 240, 90) + metronome("bursty", 3600 * 5 - 20, 1, 35)
    return lines


@pytest.mark.inline_runner
def test_hours_in_shuffled_order_match_the_reference(mongo_db, run_job, mixed_lines):
    expected, _ = reference_suspicious_window(mixed_lines, window_hours=3)
    assert {"slow-bot", "bursty", "bot-viewer"} <= set(expected)
    order = sorted(by_hour(mixed_lines))
    random.Random(9).shuffle(order)
    load_hours(mongo_db, run_job, mixed_lines, order, extra_args=["--window-hours", "3"])
    assert served(mongo_db) == expected
    # A replayed batch (the ledger forced) changes nothing.
    hours = by_hour(mixed_lines)
    output, _ = run_job(MRSuspiciousUsers, hours[order[0]], extra_args=["--window-hours", "3"])
    load_batch(mongo_db, "suspicious-users", iter(output.items()), hour_batch_id(order[0]), [], {}, force=True)
    assert served(mongo_db) == expected


@pytest.mark.inline_runner
def test_a_revision_replaces_its_hours_contribution(mongo_db, run_job):
    # 15 events an hour for hours 00-02: every window of 20 events or more holds hour 01
    steady = metronome("steady", 30, 240, 45)
    late = [line("steady", "search", stamp(3600 + 17 * number + 5)) for number in range(30)]
    late += [line("newcomer", "page_view", stamp(3600 + 50 * number)) for number in range(60)]
    load_hours(mongo_db, run_job, steady)
    assert set(served(mongo_db)) == {"steady"}
    hour = "%sT01" % DAY
    revised = by_hour(steady + late)[hour]
    output, _ = run_job(MRSuspiciousUsers, revised)
    rejected = {}
    load_batch(mongo_db, "suspicious-users", iter(output.items()), hour_batch_id(hour, 1), [], rejected,
               supersedes=(hour_batch_id(hour),))
    assert not rejected
    expected, _ = reference_suspicious_window(steady + late)
    assert set(expected) == {"newcomer"}
    assert served(mongo_db) == expected
    # Back to the first revision's content (a hand load of the old output): the hour is replaced again.
    output, _ = run_job(MRSuspiciousUsers, by_hour(steady)[hour])
    load_batch(mongo_db, "suspicious-users", iter(output.items()), hour_batch_id(hour, 2), [], {})
    assert served(mongo_db) == reference_suspicious_window(steady)[0]
    assert mongo_db.suspicious_user_hours.count_documents({"_id": {"$regex": "^u\\|newcomer\\|"}}) == 0


@pytest.mark.inline_runner
def test_the_day_level_job_gives_the_hourly_answer(mongo_db, run_job, mixed_lines):
    output, _ = run_job(MRSuspiciousUsers, mixed_lines, files=3)
    rejected = {}
    load_batch(mongo_db, "suspicious-users", iter(output.items()), "suspicious-users:dt=%s" % DAY, [], rejected)
    assert not rejected
    assert served(mongo_db) == reference_suspicious_window(mixed_lines)[0]


@pytest.mark.inline_runner
def test_a_record_outside_the_batch_hour_is_rejected(mongo_db, run_job):
    output, _ = run_job(MRSuspiciousUsers, metronome("slow-bot", 30, 240, 90))
    rejected = {}
    stats = load_batch(mongo_db, "suspicious-users", iter(output.items()), hour_batch_id("%sT00" % DAY), [], rejected)
    assert rejected == {"hour_outside_batch": len(output) - 1}
    assert stats["records"] == stats["upserted"] + stats["rejected"]


GOOD_KEY = "u|%sT00" % DAY
GOOD = {"user_id": "u", "hour": "%sT00" % DAY, "events": 2, "views": 1, "first": 1735430400000000,
        "last": 1735430401000000, "gap_sum": 1000000, "gap_squares": "1000000000000", "busiest": 2,
        "busiest_at": 1735430400000000, "head": [1735430400000000, 1735430401000000], "tail": [],
        "settings": {"window_hours": 24, "max_events_per_minute": 30, "min_events_for_regularity": 20,
                     "max_gap_cv": 0.1, "min_views_only": 50}}


@pytest.mark.parametrize("change, reason", [
    ({}, None),
    ({"user_id": ""}, "bad_user"),
    ({"user_id": 7}, "bad_user"),
    ({"hour": "2024-12-29T24"}, "bad_hour"),
    ({"hour": "%sT01" % DAY}, "bad_figures"),  # the times are not in that hour
    ({"events": 0}, "bad_figures"),
    ({"events": True}, "bad_figures"),
    ({"views": 3}, "bad_figures"),
    ({"gap_squares": 10 ** 12}, "bad_figures"),
    ({"gap_squares": "-1"}, "bad_figures"),
    ({"head": [1735430401000000, 1735430400000000]}, "bad_figures"),
    ({"tail": [1735430400000000]}, "bad_figures"),
    ({"busiest_at": 1735430402000000}, "bad_figures"),
    ({"settings": {"window_hours": 24}}, "bad_settings"),
    ({"settings": dict(GOOD["settings"], window_hours=0)}, "bad_settings"),
    ({"settings": dict(GOOD["settings"], max_gap_cv="0.1")}, "bad_settings"),
    ({"first": None}, "bad_figures"),
    ({"tail": None}, "bad_figures"),
])
def test_malformed_records_are_counted_with_their_reason(mongo_db, change, reason):
    value = dict(GOOD, **change)
    rejected = {}
    stats = load_batch(mongo_db, "suspicious-users", iter([(GOOD_KEY, value)]), "suspicious-users:files:x", [],
                       rejected)
    assert rejected == ({reason: 1} if reason else {})
    assert stats["records"] == stats["upserted"] + stats["rejected"] == 1


@pytest.mark.parametrize("records, reason", [
    ([(GOOD_KEY, GOOD), (GOOD_KEY, GOOD)], "duplicate_user_hour"),
    ([(GOOD_KEY, GOOD), ("v|%sT00" % DAY, dict(GOOD, user_id="v", settings=dict(GOOD["settings"], window_hours=2)))],
     "mixed_settings"),
    ([(GOOD_KEY, GOOD), ("other-key", GOOD)], "bad_key"),
    ([(GOOD_KEY, GOOD), (GOOD_KEY, ["not", "a", "record"])], "bad_record"),
])
def test_records_that_contradict_the_batch_are_rejected(mongo_db, records, reason):
    rejected = {}
    load_batch(mongo_db, "suspicious-users", iter(records), "suspicious-users:files:x", [], rejected)
    assert rejected == {reason: 1}


def test_the_documents_of_one_user_and_hour_give_way(mongo_db):
    from pymongo import ASCENDING, IndexModel

    old = mongo_db.suspicious_users
    old.create_indexes([IndexModel([("flag_key", ASCENDING)], unique=True, name="flag_key_unique")])
    old.insert_many([{"flag_key": "u|suspicious-users:dt=%s/hour=0%d" % (DAY, hour), "user_id": "u", "rules": []}
                     for hour in range(2)])
    rejected = {}
    load_batch(mongo_db, "suspicious-users", iter([(GOOD_KEY, GOOD)]), "suspicious-users:files:x", [], rejected)
    assert not rejected and old.count_documents({}) == 0
    assert "flag_key_unique" not in old.index_information() and "user_id_unique" in old.index_information()


@pytest.mark.inline_runner
@pytest.mark.parametrize("failing_write", [2, 4, 6])
def test_a_load_that_dies_part_way_is_completed_by_loading_it_again(mongo_db, run_job, monkeypatch, failing_write):
    import mongomock

    lines = (metronome("steady", 30, 240, 45) + metronome("bot-a", 3600 + 10, 7, 400) +
             [line("late-%d" % number, "page_view", stamp(3600 + 50 * step + number))
              for number in range(3) for step in range(60)])
    load_hours(mongo_db, run_job, metronome("steady", 30, 240, 45) + metronome("bot-b", 3600 + 20, 7, 400))
    hour = "%sT01" % DAY
    output, _ = run_job(MRSuspiciousUsers, by_hour(lines)[hour])
    real_bulk_write, calls = mongomock.collection.Collection.bulk_write, []

    def dying_bulk_write(self, operations, *args, **kwargs):
        calls.append(self.name)
        if len(calls) == failing_write:
            raise RuntimeError("killed")
        return real_bulk_write(self, operations, *args, **kwargs)

    monkeypatch.setattr(mongomock.collection.Collection, "bulk_write", dying_bulk_write)
    with pytest.raises(RuntimeError, match="killed"):
        load_batch(mongo_db, "suspicious-users", iter(output.items()), hour_batch_id(hour, 1), [], {}, chunk_size=2,
                   supersedes=(hour_batch_id(hour),))
    monkeypatch.setattr(mongomock.collection.Collection, "bulk_write", real_bulk_write)
    load_batch(mongo_db, "suspicious-users", iter(output.items()), hour_batch_id(hour, 1), [], {}, chunk_size=2,
               supersedes=(hour_batch_id(hour),))
    everything = [raw for other, raws in by_hour(metronome("steady", 30, 240, 45) + metronome(
        "bot-b", 3600 + 20, 7, 400)).items() if other != hour for raw in raws] + by_hour(lines)[hour]
    expected, _ = reference_suspicious_window(everything)
    assert "bot-b" not in expected and {"steady", "bot-a", "late-0"} <= set(expected)  # the revision drops bot-b
    assert served(mongo_db) == expected


@pytest.mark.inline_runner
def test_clickstream_run_passes_its_window_setting_to_the_job(tmp_path):
    from batch.runner import run_mrjob
    from loaders.joboutput import output_files, read_job_output

    source = tmp_path / "input.jsonl"
    source.write_bytes(b"\n".join(metronome("slow-bot", 30, 240, 20)) + b"\n")
    settings = run_settings(sink=str(tmp_path), mongo_uri="mongodb://unused/", jobs=["suspicious-users"],
                            runner="inline", suspicious_window_hours=5)
    run_mrjob("suspicious-users", settings, [str(source)], str(tmp_path / "out"))
    lines = [raw for path in output_files([str(tmp_path / "out")]) for raw in open(path, "rb")]
    records = list(read_job_output(lines, {}))
    assert len(records) == 2 and {value["settings"]["window_hours"] for _key, value in records} == {5}
