"""user_clicks loading on the in-process stand-in: incremental, idempotent, order-free, safe."""
import json
from datetime import datetime, timezone

import pytest

from clickstream.errors import ServiceError
from corpus import awkward_lines, generated_lines
from loaders import bulk
from loaders.joboutput import read_job_output
from loaders.ledger import COMPLETE, LOADING, batch_status
from loaders.load import default_batch_id, load_batch
from loaders.user_clicks import UserClicks
from reference import reference_user_actions

COLLECTION = UserClicks.COLLECTION


def job_lines(records):
    return [json.dumps(key).encode() + b"\t" + json.dumps(value).encode() for key, value in records.items()]


def load(db, records, batch_id, **options):
    rejected = {}
    stats = load_batch(db, "user-actions", read_job_output(job_lines(records), rejected), batch_id, [], rejected,
                       **options)
    return stats, rejected


def ms(text):
    """The job's ISO time as the BSON date holds it (milliseconds), from the stdlib."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def stored(db):
    result = {}
    for document in db[COLLECTION].find():
        result[document["user_id"]] = {
            "actions": document["actions"], "click_count": document["click_count"],
            "last_action": document["last_action"],
            "first_seen": document["first_seen"].replace(tzinfo=timezone.utc),
            "last_seen": document["last_seen"].replace(tzinfo=timezone.utc)}
    return result


def expected_documents(records):
    return {user: dict(record, first_seen=ms(record["first_seen"]), last_seen=ms(record["last_seen"]))
            for user, record in records.items()}


@pytest.fixture(scope="module")
def batches():
    """Two batches of events (A and B) with overlapping users, and the reference for A+B."""
    lines = generated_lines(events=3000, users=150, malformed=0.01, seed=11)
    half = len(lines) // 2
    batch_a, _ = reference_user_actions(lines[:half])
    batch_b, _ = reference_user_actions(lines[half:])
    both, _ = reference_user_actions(lines)
    assert set(batch_a) & set(batch_b)  # overlapping users make the merge matter
    return batch_a, batch_b, both


def test_a_then_b_then_a_again_is_a_plus_b(mongo_db, batches):
    batch_a, batch_b, both = batches
    load(mongo_db, batch_a, "A")
    load(mongo_db, batch_b, "B")
    again, _ = load(mongo_db, batch_a, "A")
    assert again["skipped"]
    assert stored(mongo_db) == expected_documents(both)


def test_forced_reload_is_still_exact(mongo_db, batches):
    batch_a, batch_b, both = batches
    load(mongo_db, batch_a, "A")
    load(mongo_db, batch_b, "B")
    forced, _ = load(mongo_db, batch_a, "A", force=True)
    assert forced["already_applied"] == len(batch_a)
    assert stored(mongo_db) == expected_documents(both)


def test_order_of_batches_does_not_matter(mongo_db, batches):
    batch_a, batch_b, both = batches
    load(mongo_db, batch_b, "B")
    load(mongo_db, batch_a, "A")
    assert stored(mongo_db) == expected_documents(both)


class Crash(Exception):
    pass


def test_a_load_killed_halfway_then_rerun_is_exact(mongo_db, batches, monkeypatch):
    batch_a, batch_b, both = batches
    load(mongo_db, batch_a, "A")
    real_chunk = bulk.merge_chunk
    calls = []

    def dying_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise Crash("killed")
        return real_chunk(*args, **kwargs)

    monkeypatch.setattr(bulk, "merge_chunk", dying_chunk)
    with pytest.raises(Crash, match="killed"):
        load(mongo_db, batch_b, "B", chunk_size=20)
    assert batch_status(mongo_db, COLLECTION, "B") == LOADING
    monkeypatch.setattr(bulk, "merge_chunk", real_chunk)
    stats, _ = load(mongo_db, batch_b, "B", chunk_size=20)
    assert stats["already_applied"] > 0 and batch_status(mongo_db, COLLECTION, "B") == COMPLETE
    assert stored(mongo_db) == expected_documents(both)


def test_indexes(mongo_db, batches):
    load(mongo_db, batches[0], "A")
    indexes = mongo_db[COLLECTION].index_information()
    assert indexes["user_id_unique"]["unique"] and list(indexes["user_id_unique"]["key"]) == [("user_id", 1)]
    assert list(indexes["click_count_desc"]["key"]) == [("click_count", -1)]
    assert list(indexes["last_seen"]["key"]) == [("last_seen", 1)]


def test_injection_looking_ids_are_stored_as_they_are(mongo_db):
    expected, _ = reference_user_actions(awkward_lines())
    assert "$gt" in expected and "a.b" in expected
    load(mongo_db, expected, "awkward")
    assert stored(mongo_db) == expected_documents(expected)


def test_malformed_rows_are_counted_and_not_applied(mongo_db):
    good = {"actions": {"click": 2}, "click_count": 2, "last_action": "click",
            "first_seen": "2024-01-01T00:00:00Z", "last_seen": "2024-01-01T01:00:00Z"}
    lines = [
        b"no tab here",
        b'"u1"\t{not json',
        b'"u2"\t' + json.dumps(dict(good, actions={"$set": 2}, click_count=2)).encode(),
        b'"u3"\t' + json.dumps(dict(good, click_count=5)).encode(),
        b'"u4"\t' + json.dumps(dict(good, last_seen="later")).encode(),
        b'"u5"\t' + json.dumps(good).encode(),
    ]
    rejected = {}
    stats = load_batch(mongo_db, "user-actions", read_job_output(lines, rejected), "bad", [], rejected)
    assert stats["rejected"] == sum(rejected.values()) == 5
    assert [document["user_id"] for document in mongo_db[COLLECTION].find()] == ["u5"]


def test_other_write_errors_are_not_taken_for_success(mongo_db):
    class Refusing:
        name = "user_clicks"

        def bulk_write(self, operations, ordered):
            from pymongo.errors import BulkWriteError
            raise BulkWriteError({"writeErrors": [{"index": 0, "code": 121, "errmsg": "validation"}]})

    with pytest.raises(ServiceError, match="code 121"):
        bulk.write_chunk(Refusing(), [("u", None)], "user_id", "B", bulk.new_stats())


@pytest.mark.parametrize("inputs, batch_id", [
    (["/raw/derived/user-actions/dt=2024-12-29/hour=07/part-00000"], "user-actions:dt=2024-12-29/hour=07"),
    (["/x/dt=2024-12-29/part-00000", "/x/dt=2024-12-29/part-00001"], "user-actions:dt=2024-12-29"),
])
def test_default_batch_id_is_the_partition(inputs, batch_id):
    assert default_batch_id("user-actions", inputs) == batch_id


def test_default_batch_id_without_partition_depends_on_the_files():
    first = default_batch_id("user-actions", ["/a/x"], describe=lambda path: (path, 10))
    assert first.startswith("user-actions:files:")
    assert first != default_batch_id("user-actions", ["/a/x"], describe=lambda path: (path, 11))
