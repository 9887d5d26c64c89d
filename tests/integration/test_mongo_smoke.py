"""Smoke tests of the stack's MongoDB-wire-protocol server (MONGODB_URI) and mongosh (MONGOSH).

Run under `eval "$(scripts/stack env)"`; skipped when the variables are unset. Each test
works in a database of its own, dropped afterwards.
"""
import json
import subprocess
import uuid

import pytest

pymongo = pytest.importorskip("pymongo")
from pymongo.errors import DuplicateKeyError  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture
def client(mongodb_uri):
    client = pymongo.MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def db(client):
    name = "smoke_%s" % uuid.uuid4().hex[:12]
    try:
        yield client[name]
    finally:
        client.drop_database(name)


def test_upsert_twice_then_inc(db):
    pages = db["page_counts"]
    key = {"page": "/home", "day": "2024-01-02"}

    first = pages.update_one(key, {"$inc": {"views": 3}, "$set": {"last": "a"}}, upsert=True)
    assert first.upserted_id is not None
    assert first.matched_count == 0

    second = pages.update_one(key, {"$inc": {"views": 4}, "$set": {"last": "b"}}, upsert=True)
    assert second.upserted_id is None
    assert second.matched_count == 1 and second.modified_count == 1

    pages.update_one(key, {"$inc": {"views": 10, "clicks": 2}})

    docs = list(pages.find({}, {"_id": 0}))
    assert docs == [{"page": "/home", "day": "2024-01-02", "views": 17, "last": "b", "clicks": 2}]
    assert pages.find_one(key)["_id"] == first.upserted_id
    assert pages.count_documents({}) == 1


def test_unique_index_rejects_duplicate(db):
    users = db["users"]
    users.create_index([("user_id", pymongo.ASCENDING)], unique=True, name="user_id_unique")
    users.insert_one({"user_id": "u-1", "n": 1})
    with pytest.raises(DuplicateKeyError):
        users.insert_one({"user_id": "u-1", "n": 2})
    assert list(users.find({}, {"_id": 0})) == [{"user_id": "u-1", "n": 1}]
    assert "user_id_unique" in users.index_information()


def test_mongosh_reads_what_pymongo_wrote(db, mongodb_uri, mongosh_bin):
    written = [
        {"_id": 1, "page": "/a", "views": 5, "tags": ["x", "y"], "ratio": 0.5},
        {"_id": 2, "page": "/b", "views": 7, "tags": [], "ratio": 1.25},
    ]
    db["events"].insert_many([dict(doc) for doc in written])

    script = (
        "const docs = db.getSiblingDB(%s).getCollection('events').find({views: {$gte: 5}}).sort({_id: 1}).toArray();"
        "print(EJSON.stringify(docs, {relaxed: true}));" % json.dumps(db.name)
    )
    result = subprocess.run(
        [mongosh_bin, mongodb_uri, "--quiet", "--eval", script],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert json.loads(result.stdout.strip().splitlines()[-1]) == written
