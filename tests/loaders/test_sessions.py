"""Sessions merged across hourly batches equal one sessionization over all the events, whatever the
order of the hours, replays, revisions, late events and crashes (mrjob inline runner + mongomock)."""
import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from clickstream.errors import ConfigError
from clickstream.events import format_ts
from loaders import sessions as sessions_loader
from loaders.joboutput import read_job_output
from loaders.load import load_batch
from mr.mr_sessions import MRSessions
from reference import reference_sessions

START = datetime(2024, 12, 29, 3, 0, tzinfo=timezone.utc)


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event(user, moment, action="click", session_id=None, page=None, product=None):
    fields = {"user_id": user, "action": action, "timestamp": stamp(moment)}
    for name, value in (("session_id", session_id), ("page", page), ("product_id", product)):
        if value is not None:
            fields[name] = value
    return json.dumps(fields).encode()


def stream(seed, users=40, hours=8):
    """Users browsing with and without session ids, many sessions crossing hours; cart adds just
    before an hour and purchases just after; a thin bot every 4 minutes for the whole span."""
    chance = random.Random(seed)
    lines = []
    for number in range(users):
        user = "u%d" % number
        moment = START + timedelta(minutes=chance.uniform(0, 60 * hours))
        keyed = chance.random() < 0.4
        session = 0
        while moment < START + timedelta(hours=hours):
            action = chance.choice(["page_view", "view_product", "add_to_cart", "purchase", "search", "click"])
            lines.append(event(user, moment, action, "s%s-%d" % (user, session) if keyed else None,
                               page=chance.choice([None, "/", "/product/%d" % chance.randint(1, 5)]),
                               product=chance.choice([None, str(chance.randint(1, 5))])))
            pause = chance.expovariate(1 / 9.0) if chance.random() < 0.9 else chance.uniform(31, 200)
            if pause > 30:
                session += 1
            moment += timedelta(minutes=pause)
    for step in range(hours * 15):
        lines.append(event("thin-bot", START + timedelta(minutes=4 * step), "view_product", product="9"))
    # a cart add at xx:55 and its purchase at xx+1:05, with and without a session id
    lines.append(event("buyer", START + timedelta(hours=2, minutes=55), "add_to_cart", product="7"))
    lines.append(event("buyer", START + timedelta(hours=3, minutes=5), "purchase", product="7"))
    lines.append(event("buyer2", START + timedelta(hours=2, minutes=55), "add_to_cart", "k", product="7"))
    lines.append(event("buyer2", START + timedelta(hours=3, minutes=5), "purchase", "k", product="7"))
    return lines


def hour_of(line):
    return json.loads(line)["timestamp"][:13]


def by_hour(lines):
    hours = {}
    for line in lines:
        hours.setdefault(hour_of(line), []).append(line)
    return hours


def job_lines(output):
    return [json.dumps(key).encode() + b"\t" + json.dumps(value).encode() for key, value in output.items()]


def load_hour(db, run_job, hour, lines, revision=0, extra_args=(), chunk_size=7):
    output, _counters = run_job(MRSessions, lines, extra_args=list(extra_args))
    partition = "dt=%s/hour=%s" % (hour[:10], hour[11:13])
    batch_id = "sessions:%s" % partition + ("#r%d" % revision if revision else "")
    rejected = {}
    stats = load_batch(db, "sessions", read_job_output(job_lines(output), rejected), batch_id, [], rejected,
                       chunk_size=chunk_size, force=bool(revision))
    assert not rejected, rejected
    return stats


def stored(db):
    """The collection as {session_id: the reference's fields}."""
    found = {}
    for document in db.sessions.find({}, {"_id": 0}):
        name = document["session_id"]
        assert name not in found, "session %r stored twice" % (name,)
        first, last = document["timeline"][0][0], document["timeline"][-1][0]
        # BSON keeps milliseconds: the served times are the timeline's, truncated
        for field, micros in (("start_time", first), ("end_time", last)):
            served = document[field].replace(tzinfo=timezone.utc)
            assert served == datetime.fromtimestamp(micros // 1000 / 1000, timezone.utc), (field, served, micros)
        found[name] = {
            "session_id": name, "user_id": document["user_id"],
            "start_time": format_ts(first), "end_time": format_ts(last),
            "pages_visited": document["pages_visited"], "actions": document["actions"],
            "abandoned_checkout": document["abandoned_checkout"], "events": document["events"]}
    return found


def normalized(expected):
    """The reference prints whole seconds without a fraction; so does the loader's time text."""
    return {name: dict(record) for name, record in expected.items()}


@pytest.mark.inline_runner
@pytest.mark.parametrize("seed, cap_hours", [(1, 24), (2, 24), (3, 1.5)])
def test_hourly_batches_in_any_order_equal_one_sessionization(mongo_db, run_job, seed, cap_hours):
    lines = stream(seed)
    expected, _ = reference_sessions(lines, max_session_hours=cap_hours)
    hours = by_hour(lines)
    order = sorted(hours)
    random.Random(seed).shuffle(order)
    args = ["--max-session-hours", str(cap_hours)]
    for hour in order:
        load_hour(mongo_db, run_job, hour, hours[hour], extra_args=args)
    assert stored(mongo_db) == normalized(expected)
    crossing = [record for record in expected.values() if record["start_time"][:13] != record["end_time"][:13]]
    assert len(crossing) > 10  # the corpus really has sessions crossing hours
    if cap_hours < 2:
        assert any("#" in name and not name.startswith(record["user_id"] + "#")
                   for name, record in expected.items())  # keyed sessions the cap cut
    # a replay of every hour (a re-run of the same batches, forced) changes nothing
    for hour in order[:3]:
        load_hour(mongo_db, run_job, hour, hours[hour], revision=1, extra_args=args)
    assert stored(mongo_db) == normalized(expected)
    assert mongo_db[sessions_loader.JOURNAL].count_documents({}) == 0


@pytest.mark.inline_runner
def test_late_events_extend_join_and_precede_sessions(mongo_db, run_job):
    lines = stream(7, users=25)
    late = [
        # joins two sessions of u0.. by filling the gap: events every 20 minutes across the day
        *(event("joiner", START + timedelta(minutes=40 * step)) for step in range(10)),
        *(event("joiner", START + timedelta(minutes=20 + 40 * step)) for step in range(10)),
        event("buyer", START + timedelta(hours=2, minutes=40), "page_view", page="/"),  # precedes
        event("buyer", START + timedelta(hours=3, minutes=20), "click"),  # extends
    ]
    on_time = lines + late[:10]
    late_lines = late[10:]
    hours = by_hour(on_time)
    for hour in sorted(hours, reverse=True):
        load_hour(mongo_db, run_job, hour, hours[hour])
    assert stored(mongo_db) != reference_sessions(on_time + late_lines)[0]
    late_hours = by_hour(late_lines)
    everything = by_hour(on_time + late_lines)
    for hour in sorted(late_hours):  # the runner recomputes a late hour whole, as a new revision
        load_hour(mongo_db, run_job, hour, everything[hour], revision=1)
    assert stored(mongo_db) == reference_sessions(on_time + late_lines)[0]
    joined = [record for record in stored(mongo_db).values() if record["user_id"] == "joiner"]
    assert len(joined) == 1 and joined[0]["events"] == 20


@pytest.mark.inline_runner
@pytest.mark.parametrize("applied_before_crash", ["nothing", "the sessions, not the days"])
def test_a_crash_between_journal_and_writes_is_rolled_forward(mongo_db, run_job, monkeypatch, applied_before_crash):
    lines = stream(11, users=15)
    hours = by_hour(lines)
    order = sorted(hours)
    for hour in order[:-1]:
        load_hour(mongo_db, run_job, hour, hours[hour])
    real_apply = sessions_loader.apply_writes

    def crash(db, *writes):
        if applied_before_crash != "nothing":
            upserts, deletes, _day_lists, _journal_ids = writes
            real_apply(db, upserts, deletes, [], [])
        raise RuntimeError("killed")

    monkeypatch.setattr(sessions_loader, "apply_writes", crash)
    with pytest.raises(RuntimeError, match="killed"):  # one chunk: the journal holds the whole hour
        load_hour(mongo_db, run_job, order[-1], hours[order[-1]], chunk_size=10_000)
    monkeypatch.setattr(sessions_loader, "apply_writes", real_apply)
    assert mongo_db[sessions_loader.JOURNAL].count_documents({}) > 0
    if applied_before_crash == "nothing":
        assert stored(mongo_db) != reference_sessions(lines)[0]
    # the journal alone finishes the load; loading the hour again then changes nothing
    assert sessions_loader.replay_journals(mongo_db) == 1
    assert mongo_db[sessions_loader.JOURNAL].count_documents({}) == 0
    assert stored(mongo_db) == reference_sessions(lines)[0]
    listed = {entry[0] for document in mongo_db[sessions_loader.DAYS].find() for entry in document["sessions"]}
    assert listed == {document["session_key"] for document in mongo_db.sessions.find()}
    load_hour(mongo_db, run_job, order[-1], hours[order[-1]], revision=1)
    assert stored(mongo_db) == reference_sessions(lines)[0]


@pytest.mark.inline_runner
def test_a_forced_batch_without_a_user_removes_their_events(mongo_db, run_job):
    lines = stream(5, users=10)
    hours = by_hour(lines)
    for hour in sorted(hours):
        load_hour(mongo_db, run_job, hour, hours[hour])
    hour = sorted(hours)[3]
    kept = [line for line in hours[hour] if json.loads(line)["user_id"] != "thin-bot"]
    load_hour(mongo_db, run_job, hour, kept, revision=1)
    remaining = [line for line in lines if line not in hours[hour]] + kept
    assert stored(mongo_db) == reference_sessions(remaining)[0]


def test_a_batch_naming_no_partition_is_refused(mongo_db):
    with pytest.raises(ConfigError, match="names no raw partition"):
        load_batch(mongo_db, "sessions", iter(()), "sessions:files:abc", [], {})


def test_events_outside_the_batch_hours_are_rejected(mongo_db, run_job):
    lines = [event("u", START), event("u", START + timedelta(hours=1, minutes=10)),
             event("v", START + timedelta(minutes=50)), event("v", START + timedelta(minutes=70))]
    output, _ = run_job(MRSessions, lines)
    rejected = {}
    stats = load_batch(mongo_db, "sessions", read_job_output(job_lines(output), rejected),
                       "sessions:dt=2024-12-29/hour=03", [], rejected)
    assert rejected == {"session_outside_batch": 2}  # u's second session, v's session crossing the hour
    assert stats["records"] == 3 and [document["user_id"] for document in mongo_db.sessions.find()] == ["u"]
