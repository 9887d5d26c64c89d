"""user_clicks loading against the stack's real MongoDB-wire server, and the README's mongosh queries."""
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import timezone

import pymongo
import pytest

from corpus import awkward_lines, generated_lines
from loaders.joboutput import read_job_output
from loaders.ledger import COMPLETE, batch_status
from loaders.load import load_batch
from loaders.user_clicks import UserClicks
from reference import reference_user_actions
from tcp_proxy import Proxy

pytestmark = pytest.mark.integration
COLLECTION = UserClicks.COLLECTION


@pytest.fixture
def db(database):
    return database


def job_lines(records):
    return [json.dumps(key).encode() + b"\t" + json.dumps(value).encode() for key, value in records.items()]


def write_output(path, records):
    path.write_bytes(b"\n".join(job_lines(records)) + b"\n")
    return str(path)


def totals(db):
    return {document["user_id"]: (document["click_count"], document["actions"], document["last_action"],
                                  document["last_seen"].replace(tzinfo=timezone.utc).isoformat()[:19])
            for document in db[COLLECTION].find()}


def reference_totals(records):
    return {user: (record["click_count"], record["actions"], record["last_action"], record["last_seen"][:19])
            for user, record in records.items()}


@pytest.fixture(scope="module")
def batches():
    lines = generated_lines(events=4000, users=200, malformed=0.01, seed=5)
    half = len(lines) // 2
    return (reference_user_actions(lines[:half])[0], reference_user_actions(lines[half:])[0],
            reference_user_actions(lines)[0])


def test_a_b_a_gives_a_plus_b_on_the_real_server(db, batches):
    batch_a, batch_b, both = batches
    for records, batch_id in ((batch_a, "A"), (batch_b, "B"), (batch_a, "A")):
        rejected = {}
        load_batch(db, "user-actions", read_job_output(job_lines(records), rejected), batch_id, [], rejected)
    assert totals(db) == reference_totals(both)
    forced = {}
    load_batch(db, "user-actions", read_job_output(job_lines(batch_a), forced), "A", [], forced, force=True)
    assert totals(db) == reference_totals(both)
    names = {index["name"] for index in db[COLLECTION].list_indexes()}
    assert {"user_id_unique", "click_count_desc", "last_seen"} <= names


def test_injection_looking_ids_on_the_real_server(db):
    records, _ = reference_user_actions(awkward_lines())
    load_batch(db, "user-actions", read_job_output(job_lines(records), {}), "awkward", [], {})
    assert totals(db) == reference_totals(records)
    assert db[COLLECTION].count_documents({"user_id": "$gt"}) == 1


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_load_killed_midway_then_rerun_is_exact(db, batches, tmp_path, mongodb_uri):
    batch_a, batch_b, both = batches
    path_a = write_output(tmp_path / "a.tsv", batch_a)
    path_b = write_output(tmp_path / "b.tsv", batch_b)
    common = ["--mongo-uri", mongodb_uri, "--db", db.name]
    assert _cli("load", "user-actions", path_a, *common, "--batch-id", "A").returncode == 0
    # Kill a load of B with SIGKILL after some of its chunks were written.
    process = subprocess.Popen([sys.executable, "-m", "cli", "load", "user-actions", path_b, *common,
                                "--batch-id", "B", "--chunk-size", "10"])
    seen = db[COLLECTION + "_contributions"].count_documents({"batch": "B"})
    for _ in range(2000):
        seen = db[COLLECTION + "_contributions"].count_documents({"batch": "B"})
        if seen > 0 or process.poll() is not None:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    if batch_status(db, COLLECTION, "B") == COMPLETE:
        pytest.skip("the load finished before it could be killed")
    rerun = _cli("load", "user-actions", path_b, *common, "--batch-id", "B")
    assert rerun.returncode == 0, rerun.stderr
    assert _cli("load", "user-actions", path_a, *common, "--batch-id", "A").returncode == 0
    assert totals(db) == reference_totals(both)


def test_unreachable_server_is_one_clear_line_and_non_zero(tmp_path):
    path = write_output(tmp_path / "a.tsv", {"u": {"actions": {"click": 1}, "click_count": 1, "last_action": "click",
                                                   "first_seen": "2024-01-01T00:00:00Z",
                                                   "last_seen": "2024-01-01T00:00:00Z"}})
    env = dict(os.environ, CLICKSTREAM_MONGO_URI="mongodb://someone:s3cret@127.0.0.1:9/?serverSelectionTimeoutMS=500")
    result = _cli("load", "user-actions", path, env=env)
    assert result.returncode == 1
    assert "s3cret" not in result.stderr and "***@" in result.stderr
    assert result.stderr.count("\n") == 1 and "not marked loaded" in result.stderr


def _mongosh(mongosh_bin, mongodb_uri, database, script):
    uri = mongodb_uri.rstrip("/") + "/" + database
    result = subprocess.run([mongosh_bin, uri, "--quiet", "--eval", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_readme_mongo_shell_queries_answer_like_the_reference(db, batches, mongodb_uri, mongosh_bin):
    _a, _b, both = batches
    load_batch(db, "user-actions", read_job_output(job_lines(both), {}), "all", [], {})
    above = _mongosh(mongosh_bin, mongodb_uri, db.name, "EJSON.stringify(db.user_clicks.find("
                     "{click_count: {$gt: 10}}, {_id: 0, user_id: 1, click_count: 1}).sort({click_count: -1})"
                     ".toArray(), {relaxed: true})")
    expected_above = {user for user, record in both.items() if record["click_count"] > 10}
    assert {row["user_id"] for row in above} == expected_above
    assert [row["click_count"] for row in above] == sorted((row["click_count"] for row in above), reverse=True)
    top = _mongosh(mongosh_bin, mongodb_uri, db.name, "EJSON.stringify(db.user_clicks.find({}, {_id: 0, user_id: 1})"
                   ".sort({click_count: -1, user_id: 1}).limit(10).toArray())")
    expected_top = sorted(both, key=lambda user: (-both[user]["click_count"], user))[:10]
    assert [row["user_id"] for row in top] == expected_top


def load_sessions_by_day(db, run_job, lines):
    """The sessions job over each UTC day's events, loaded as that day's batch (a hand load)."""
    from mr.mr_sessions import MRSessions
    from reference import reference_event

    days = {}
    for line in lines:
        parsed = reference_event(line)
        if parsed:
            days.setdefault(parsed[2].strftime("%Y-%m-%d"), []).append(line)
    for day, day_lines in days.items():
        output, _counters = run_job(MRSessions, day_lines)
        rejected = {}
        load_batch(db, "sessions", read_job_output(job_lines(output), rejected), "sessions:dt=%s" % day, [], rejected)
        assert not rejected


def test_every_readme_shell_query_on_the_real_server(db, mongodb_uri, mongosh_bin, run_job):
    from corpus import bot_lines
    from loaders.queries import SHELL
    from mr.mr_suspicious_users import MRSuspiciousUsers
    from reference import (reference_hourly_activity, reference_product_output, reference_sessions,
                           reference_suspicious_window)

    lines = generated_lines(events=3000, users=100, malformed=0.01, seed=8) + bot_lines()
    loads = {"user-actions": reference_user_actions(lines)[0], "hourly-activity": reference_hourly_activity(lines)[0],
             "product-popularity": reference_product_output(lines), "sessions": reference_sessions(lines)[0],
             "suspicious-users": run_job(MRSuspiciousUsers, lines)[0]}
    for job, records in loads.items():
        if job == "sessions":
            continue  # sessions merge by the hours a batch covers: loaded from the job, day by day below
        rejected = {}
        load_batch(db, job, read_job_output(job_lines(records), rejected), "all", [], rejected)
        assert not rejected
    load_sessions_by_day(db, run_job, lines)

    def shell(name, **values):
        return _mongosh(mongosh_bin, mongodb_uri, db.name,
                        "EJSON.stringify(%s, {relaxed: true})" % (SHELL[name].format(**values)
                                                                  + ("" if name == "user" else ".toArray()")))

    users = loads["user-actions"]
    busiest = min(users, key=lambda user: (-users[user]["click_count"], user))
    assert shell("user", user=json.dumps(busiest))["click_count"] == users[busiest]["click_count"]
    sessions = shell("user_sessions", user=json.dumps(busiest), limit=1000)
    assert {row["session_id"] for row in sessions} == {
        session["session_id"] for session in loads["sessions"].values() if session["user_id"] == busiest}
    hours = loads["hourly-activity"]
    day = min(hours)[:10]
    rows = shell("hourly", day=day)
    assert [(row["hour"], row["events"]) for row in rows] == [
        (hour, hours[hour]["events"]) for hour in sorted(hours) if hour.startswith(day)]
    products = loads["product-popularity"]
    ranked = sorted(products, key=lambda key: (-products[key]["purchases"], -products[key]["views"], key))
    assert [row["product_id"] for row in shell("top_products", limit=5)] == ranked[:5]
    flagged = reference_suspicious_window(lines)[0]
    rows = shell("suspicious", limit=1000)
    assert [row["user_id"] for row in rows] == sorted(flagged, key=lambda user: (-flagged[user]["events"], user))
    assert {row["user_id"]: row["rules"] for row in rows} == {user: flagged[user]["rules"] for user in flagged}


def test_load_from_hdfs_output_folder(db, batches, mongodb_uri, webhdfs_url, tmp_path):
    from hdfs import InsecureClient

    _a, _b, both = batches
    folder = "/cs-test/%s/derived/user-actions/dt=2024-12-29/hour=07" % uuid.uuid4().hex[:10]
    client = InsecureClient(webhdfs_url)
    lines = job_lines(both)
    half = len(lines) // 2
    client.write(folder + "/part-00000", data=b"\n".join(lines[:half]) + b"\n")
    client.write(folder + "/part-00001", data=b"\n".join(lines[half:]) + b"\n")
    client.write(folder + "/_SUCCESS", data=b"")
    try:
        result = _cli("load", "user-actions", "hdfs://" + folder, "--mongo-uri", mongodb_uri, "--db", db.name,
                      "--webhdfs-url", webhdfs_url)
        assert result.returncode == 0, result.stderr
        assert "user-actions:dt=2024-12-29/hour=07" in result.stderr
        assert totals(db) == reference_totals(both)
    finally:
        client.delete(folder.split("/derived")[0], recursive=True)


def test_server_gone_mid_load_fails_cleanly_and_marks_nothing(db, batches, mongodb_uri):
    from urllib.parse import urlparse

    from clickstream.errors import ServiceError
    from pymongo.errors import PyMongoError

    _a, _b, both = batches
    target = urlparse(mongodb_uri)
    proxy = Proxy(target.hostname, target.port)
    proxy.start()
    client = pymongo.MongoClient("mongodb://127.0.0.1:%d/" % proxy.port, serverSelectionTimeoutMS=1500,
                                 socketTimeoutMS=3000, retryWrites=False)
    written = []

    def records_then_cut():
        for number, pair in enumerate(both.items()):
            if number == len(both) // 2:
                proxy.stop()
            written.append(pair[0])
            yield pair

    with pytest.raises((PyMongoError, ServiceError)):
        load_batch(client[db.name], "user-actions", records_then_cut(), "G", [], {}, chunk_size=10)
    client.close()
    assert batch_status(db, COLLECTION, "G") != COMPLETE
    # Running it again against the live server completes the batch exactly.
    load_batch(db, "user-actions", iter(both.items()), "G", [], {})
    assert totals(db) == reference_totals(both)
