"""suspicious_users on the stack's real MongoDB-wire server: hourly batches loaded in shuffled order,
a revision with late events, a replay, and the day-level job through `clickstream load`, each
compared with the independent window reference over all the events."""
import json
import random
import subprocess
import sys
import uuid

import pymongo
import pytest

from corpus import bot_lines, generated_lines
from loaders.load import load_batch
from mr.mr_suspicious_users import MRSuspiciousUsers
from reference import reference_event, reference_suspicious_window

pytestmark = pytest.mark.integration
DAY = "2024-12-29"


@pytest.fixture
def client(mongodb_uri):
    client = pymongo.MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000)
    names = []
    yield client, names
    for name in names:
        client.drop_database(name)
    client.close()


def new_db(client):
    client, names = client
    names.append("cs_test_%s" % uuid.uuid4().hex[:10])
    return client[names[-1]]


def line(user, action, seconds):
    stamp = "%sT%02d:%02d:%09.6fZ" % (DAY, seconds // 3600, seconds % 3600 // 60, seconds % 60)
    return json.dumps({"user_id": user, "action": action, "timestamp": stamp}).encode()


def thin_bots():
    """Bots spread thin over hours: no hour alone trips a rule."""
    rng = random.Random(6)
    lines = [line("bot-every-4-min", "search", 30 + 240 * number) for number in range(90)]
    lines += [line("bot-40-views", "view_product", hour * 3600 + 80 * number + rng.uniform(0, 40))
              for hour in range(4) for number in range(40)]
    lines += [line("bot-hour-edge", "search", 3 * 3600 - 30 + 1.5 * number + rng.uniform(0, 0.9))
              for number in range(40)]
    return lines


def by_hour(lines):
    hours = {}
    for raw in lines:
        event = reference_event(raw)
        hour = event[2].strftime("%Y-%m-%dT%H") if event else "%sT00" % DAY
        hours.setdefault(hour, []).append(raw)
    return hours


def batch_id(hour, revision=0):
    return "suspicious-users:dt=%s/hour=%s%s" % (hour[:10], hour[11:], "#r%d" % revision if revision else "")


def load_hour(db, run_job, lines, hour, revision=0, force=False):
    output, _counters = run_job(MRSuspiciousUsers, lines)
    rejected = {}
    stats = load_batch(db, "suspicious-users", iter(output.items()), batch_id(hour, revision), [], rejected,
                       force=force, supersedes=(batch_id(hour),) if revision else ())
    assert not rejected, rejected
    assert stats["records"] == stats["upserted"] + stats["matched"] == len(output)


def served(db):
    return {document["user_id"]: {name: document[name] for name in ("user_id", "rules", "rule_names", "events")}
            for document in db.suspicious_users.find()}


def test_hourly_loads_in_any_order_equal_one_pass_over_all_events(client, run_job, tmp_path, mongodb_uri):
    lines = generated_lines(events=6000, users=250, malformed=0.01, seed=12) + bot_lines() + thin_bots()
    late_hour = "%sT02" % DAY
    late = [line("bot-every-4-min", "search", 2 * 3600 + 13 * number + 1) for number in range(25)]
    late += [line("late-viewer", "page_view", 2 * 3600 + 55 * number + number % 7) for number in range(60)]
    first = by_hour(lines)
    everything = lines + late
    expected_before, _ = reference_suspicious_window(lines)
    expected, _ = reference_suspicious_window(everything)
    assert {"bot-every-4-min", "bot-40-views", "bot-hour-edge"} <= set(expected_before)
    assert "late-viewer" in expected and expected != expected_before

    db = new_db(client)
    order = sorted(first)
    random.Random(15).shuffle(order)
    for hour in order:
        load_hour(db, run_job, first[hour], hour)
    assert served(db) == expected_before
    load_hour(db, run_job, by_hour(everything)[late_hour], late_hour, revision=1)
    assert served(db) == expected
    load_hour(db, run_job, by_hour(everything)[late_hour], late_hour, revision=1, force=True)  # a replay
    assert served(db) == expected
    rows = list(db.suspicious_users.find({}, {"_id": 0, "user_id": 1}).sort([("events", -1), ("user_id", 1)]))
    assert len(rows) == len({row["user_id"] for row in rows}) == len(expected)

    # The day-level job over every event, loaded by hand with `clickstream load`: the same answer.
    output, _counters = run_job(MRSuspiciousUsers, everything, files=3)
    folder = tmp_path / "derived" / "suspicious-users" / ("dt=%s" % DAY)
    folder.mkdir(parents=True)
    (folder / "part-00000").write_bytes(b"".join(json.dumps(key).encode() + b"\t" + json.dumps(value).encode() + b"\n"
                                                 for key, value in output.items()))
    day_db = new_db(client)
    result = subprocess.run([sys.executable, "-m", "cli", "load", "suspicious-users", str(folder), "--mongo-uri",
                             mongodb_uri, "--db", day_db.name], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "suspicious-users:dt=%s" % DAY in result.stderr
    assert served(day_db) == expected
