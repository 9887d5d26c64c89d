"""The user_clicks loader on the in-process stand-in: documents, indexes, safety, bad rows."""
import json
from datetime import datetime, timezone

from loaders.joboutput import read_job_output
from loaders.user_clicks import COLLECTION, load_user_actions
from reference import reference_user_actions
from corpus import awkward_lines


def job_lines(records):
    return [json.dumps(key).encode() + b"\t" + json.dumps(value).encode() for key, value in records.items()]


def test_loads_one_document_per_user_with_indexes(mongo_db):
    expected, _ = reference_user_actions(awkward_lines())
    rejected = {}
    stats = load_user_actions(mongo_db[COLLECTION], read_job_output(job_lines(expected), rejected), rejected)
    assert stats["upserted"] == len(expected) and not rejected
    for user_id, record in expected.items():
        document = mongo_db[COLLECTION].find_one({"user_id": user_id})
        assert document["click_count"] == record["click_count"]
        assert document["actions"] == record["actions"]
        assert document["last_action"] == record["last_action"]
        # BSON dates hold milliseconds: the stored time is the job's, truncated to the millisecond
        last_seen = datetime.fromisoformat(record["last_seen"].replace("Z", "+00:00"))
        assert document["last_seen"].replace(tzinfo=timezone.utc) == last_seen.replace(
            microsecond=last_seen.microsecond // 1000 * 1000)
    indexes = mongo_db[COLLECTION].index_information()
    assert indexes["user_id_unique"]["unique"] and list(indexes["user_id_unique"]["key"]) == [("user_id", 1)]
    assert list(indexes["click_count_desc"]["key"]) == [("click_count", -1)]


def test_injection_looking_ids_are_stored_as_they_are(mongo_db):
    records = {user: {"actions": {"click": 1}, "click_count": 1, "last_action": "click",
                      "first_seen": "2024-01-01T00:00:00Z", "last_seen": "2024-01-01T00:00:00Z"}
               for user in ["$gt", "a.b", "$where", "x"]}
    rejected = {}
    load_user_actions(mongo_db[COLLECTION], read_job_output(job_lines(records), rejected), rejected)
    stored = sorted(document["user_id"] for document in mongo_db[COLLECTION].find())
    assert stored == sorted(records)


def test_reloading_the_same_output_does_not_double(mongo_db):
    expected, _ = reference_user_actions(awkward_lines())
    for _ in range(2):
        load_user_actions(mongo_db[COLLECTION], read_job_output(job_lines(expected), {}), {})
    assert mongo_db[COLLECTION].count_documents({}) == len(expected)


def test_malformed_rows_are_counted_and_not_applied(mongo_db):
    good = {"actions": {"click": 2}, "click_count": 2, "last_action": "click",
            "first_seen": "2024-01-01T00:00:00Z", "last_seen": "2024-01-01T01:00:00Z"}
    lines = [
        b"no tab here",
        b'"u1"\t{not json',
        b'"u2"\t' + json.dumps(dict(good, actions={"$set": 2})).encode(),
        b'"u3"\t' + json.dumps(dict(good, click_count=5)).encode(),
        b'"u4"\t' + json.dumps(dict(good, last_seen="later")).encode(),
        b'"u5"\t' + json.dumps(good).encode(),
    ]
    rejected = {}
    stats = load_user_actions(mongo_db[COLLECTION], read_job_output(lines, rejected), rejected)
    assert stats["records"] == 1 and sum(rejected.values()) == 5
    assert [document["user_id"] for document in mongo_db[COLLECTION].find()] == ["u5"]
