"""Issue 13's reproductions and issue 12's distinct users, on the stack's real MongoDB-wire server,
through the real CLI: 210 batches then a forced replay; an hour loaded by hand, a late file, then
`clickstream run`; last_action after `mr` is re-run with other content; distinct users per product
over many batches against a plain set of (product, user)."""
import json
import os
import subprocess
import sys

import pytest

from corpus import generated_lines
from loaders.joboutput import JobOutputSource
from loaders.load import load_batch
from reference import (reference_event, reference_id, reference_product_popularity, reference_product_users,
                       reference_user_actions)

pytestmark = pytest.mark.integration


@pytest.fixture
def db(database):
    return database


def cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def write_output(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(json.dumps(key).encode() + b"\t" + json.dumps(value).encode() + b"\n"
                              for key, value in records.items()))
    return str(path)


def clicks(db):
    return {doc["user_id"]: (doc["click_count"], doc["actions"], doc["last_action"]) for doc in db.user_clicks.find()}


def reference_clicks(lines):
    """Per user: (clicks, actions, action of the latest event), plainly from the events."""
    users = {}
    for line in lines:
        event = reference_event(line)
        if event is None:
            continue
        user, action, moment = event
        count, actions, latest = users.get(user, (0, {}, None))
        actions = dict(actions, **{action: actions.get(action, 0) + 1})
        users[user] = (count + 1, actions, max(latest, (moment, action)) if latest else (moment, action))
    return {user: (count, actions, latest[1]) for user, (count, actions, latest) in users.items()}


def test_210_batches_then_load_b0_force_gives_exactly_210_times(db, tmp_path, mongodb_uri):
    records = {"u1": {"actions": {"click": 1}, "click_count": 1, "last_action": "click",
                      "first_seen": "2024-12-29T07:00:00Z", "last_seen": "2024-12-29T07:00:00Z"},
               "u2": {"actions": {"click": 2}, "click_count": 2, "last_action": "click",
                      "first_seen": "2024-12-29T07:00:00Z", "last_seen": "2024-12-29T07:05:00Z"}}
    path = write_output(tmp_path / "out" / "part-00000", records)
    common = ["--mongo-uri", mongodb_uri, "--db", db.name]
    first = cli("load", "user-actions", path, *common, "--batch-id", "b0")
    assert first.returncode == 0, first.stderr
    source = JobOutputSource([path])
    for number in range(1, 210):  # as `clickstream load … --batch-id bN` does, in-process for speed
        rejected = {}
        load_batch(db, "user-actions", source.records(rejected), "b%d" % number, source.files, rejected,
                   content=source.content())
    forced = cli("load", "user-actions", path, *common, "--batch-id", "b0", "--force")
    assert forced.returncode == 0, forced.stderr
    assert sum(doc["click_count"] for doc in db.user_clicks.find()) == 630
    assert clicks(db) == {"u1": (210, {"click": 210}, "click"), "u2": (420, {"click": 420}, "click")}
    # no marker window: the documents hold no batch list at all, only tokens of writes in flight
    assert all(not doc.get("applying") and "batches" not in doc for doc in db.user_clicks.find())


def test_hand_loaded_hour_then_a_late_file_then_run_loads_the_late_events(db, tmp_path, mongodb_uri):
    raw = tmp_path / "raw"
    hour_folder = raw / "dt=2024-12-29" / "hour=03"
    hour_folder.mkdir(parents=True)
    lines = [line for line in generated_lines(events=3000, users=150, malformed=0, seed=61)
             if reference_event(line) and reference_event(line)[2].hour == 3]
    first, late = lines[:300], lines[300:]
    late.append(b'{"user_id":"late-user","action":"purchase","timestamp":"2024-12-29T03:59:00Z"}')
    (hour_folder / "clicks+0+00000000000000000000+00000000000000000299.jsonl").write_bytes(
        b"".join(line + b"\n" for line in first))
    env = dict(os.environ, CLICKSTREAM_MONGO_URI=mongodb_uri, CLICKSTREAM_DB=db.name)
    out = tmp_path / "out" / "dt=2024-12-29" / "hour=03"
    out.mkdir(parents=True)
    mr = cli("mr", "user-actions", "-r", "inline", "--sink", str(raw), "--hour", "2024-12-29T03", env=env)
    assert mr.returncode == 0, mr.stderr
    (out / "part-00000").write_text(mr.stdout)
    hand = cli("load", "user-actions", str(out), env=env)
    assert hand.returncode == 0 and "user-actions:dt=2024-12-29/hour=03" in hand.stderr, hand.stderr
    assert clicks(db) == reference_clicks(first)

    (hour_folder / "clicks+0+00000000000000000300+00000000000000009999.jsonl").write_bytes(
        b"".join(line + b"\n" for line in late))
    run = cli("run", "--hour", "2024-12-29T03", "--sink", str(raw), "-r", "inline", "--ignore-watermark",
              "--jobs", "user-actions", "-v", env=env)
    assert run.returncode == 0, run.stderr
    assert "1 loads" in run.stderr, run.stderr
    assert clicks(db) == reference_clicks(first + late)
    assert "late-user" in clicks(db)
    again = cli("run", "--hour", "2024-12-29T03", "--sink", str(raw), "-r", "inline", "--ignore-watermark",
                "--jobs", "user-actions", "-v", env=env)
    assert again.returncode == 0 and "0 loads" in again.stderr and "1 up to date" in again.stderr, again.stderr
    assert clicks(db) == reference_clicks(first + late)


def test_last_action_after_mr_rerun_with_other_content_and_load_force(db, tmp_path, mongodb_uri):
    common = ["--mongo-uri", mongodb_uri, "--db", db.name]
    out = tmp_path / "out" / "dt=2024-12-29" / "hour=07"
    old = [b'{"user_id":"u","action":"view","timestamp":"2024-12-29T07:00:00Z"}',
           b'{"user_id":"u","action":"purchase","timestamp":"2024-12-29T07:50:00Z"}',
           b'{"user_id":"gone","action":"view","timestamp":"2024-12-29T07:10:00Z"}']
    new = [b'{"user_id":"u","action":"view","timestamp":"2024-12-29T07:00:00Z"}',
           b'{"user_id":"u","action":"search","timestamp":"2024-12-29T07:20:00Z"}']
    write_output(out / "part-00000", reference_user_actions(old)[0])
    assert cli("load", "user-actions", str(out), *common).returncode == 0
    assert clicks(db) == reference_clicks(old)
    write_output(out / "part-00000", reference_user_actions(new)[0])  # `mr` re-run into the same folder
    refused = cli("load", "user-actions", str(out), *common)
    assert refused.returncode == 1, refused.stderr
    message = refused.stderr.strip()
    assert "\n" not in message and "already loaded from other content" in message, message
    assert message.count("output_sha256") == 2 and "--force" in message, message
    assert clicks(db) == reference_clicks(old)
    forced = cli("load", "user-actions", str(out), *common, "--force")
    assert forced.returncode == 0, forced.stderr
    assert clicks(db) == reference_clicks(new) == {"u": (2, {"view": 1, "search": 1}, "search")}


def test_distinct_users_over_many_batches_match_a_plain_set(db):
    lines = generated_lines(events=4000, users=120, malformed=0, seed=67)
    batches = [lines[start:start + 200] for start in range(0, len(lines), 200)]

    def load(batch, batch_id, **options):
        counts, _rejected = reference_product_popularity(batch)
        users = reference_product_users(batch)
        output = [json.dumps(product).encode() + b"\t" + json.dumps(dict(record, users=sorted(users[product]))).encode()
                  for product, record in counts.items()]
        from loaders.joboutput import read_job_output

        rejected = {}
        stats = load_batch(db, "product-popularity", read_job_output(output, rejected), batch_id, [], rejected,
                           chunk_size=7, **options)
        assert not rejected
        return stats

    for number, batch in enumerate(batches):
        load(batch, "p%d" % number)
    load(batches[0], "p0")
    load(batches[3], "p3", force=True)
    pairs = set()
    for line in lines:
        event = reference_event(line)
        product = reference_id(json.loads(line).get("product_id")) if event else None
        if product is not None:
            pairs.add((product, event[0]))
    expected = {}
    for product, _user in pairs:
        expected[product] = expected.get(product, 0) + 1
    assert {doc["product_id"]: doc["distinct_users"] for doc in db.product_popularity.find()} == expected
