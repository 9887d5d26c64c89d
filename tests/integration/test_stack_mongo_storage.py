"""The stack's MongoDB-wire server keeps what it acknowledged across a stop and a start: documents
of every BSON type the drivers send, as updated, and the unique indexes rebuilt from them.

Its documents are stored as BSON (scripts/stack.d/ferretdb/BsonDocumentType.java), not with H2's
Java serialisation, so this reads everything back from the data file of a server of its own (a
free port, a scratch folder of its own) after `scripts/stack down` and `up`.
"""
import datetime
import os
import shutil
import socket
import subprocess
import uuid

import pytest

pymongo = pytest.importorskip("pymongo")
from bson import Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp  # noqa: E402

pytestmark = pytest.mark.integration

STACK = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "stack")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def every_type():
    """A value of each type (the library's wire decoder refuses binary subtypes other than 0, 3 and 4)."""
    return {"_id": "every-type", "key": "k-1", "text": "héllo \u2603", "int": 5, "long": Int64(2 ** 40),
            "double": 1.5, "true": True, "none": None,
            "date": datetime.datetime(2024, 12, 29, 1, 2, 3, 456000), "oid": ObjectId("0123456789ab0123456789ab"),
            "array": [1, "x", [2, {"y": 3}]], "nested": {"a": {"b": [Int64(1), 2.0]}}, "decimal": Decimal128("1.25"),
            "binary": b"\x00\x01", "uuid": uuid.UUID(int=7), "regex": Regex("^a", "i"),
            "timestamp": Timestamp(5, 1), "min": MinKey(), "max": MaxKey(), "code": Code("x")}


def test_documents_and_unique_indexes_survive_a_restart(tmp_path):
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not on PATH: the stack's MongoDB-wire server needs a JDK and Maven" % tool)
    port = free_port()
    env = dict(os.environ, CLICKSTREAM_STACK_SERVICES="ferretdb", CLICKSTREAM_STACK_SCRATCH=str(tmp_path / "scratch"),
               CLICKSTREAM_STACK_FERRETDB_PORT=str(port))
    uri = "mongodb://127.0.0.1:%d/" % port

    def stack(command):
        done = subprocess.run([STACK, command], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, "scripts/stack %s failed:\n%s" % (command, done.stderr[-3000:])

    want = every_type()
    timeline = [[i, "page_view", "/p/%d" % i, None] for i in range(30_000)]  # a large document, ~1 MB
    try:
        stack("up")
        client = pymongo.MongoClient(uri, uuidRepresentation="standard", serverSelectionTimeoutMS=10_000)
        docs = client.storage_test.docs
        docs.create_index("key", unique=True)
        docs.insert_one(dict(want))
        docs.update_one({"key": "k-1"}, {"$inc": {"int": 1}, "$push": {"array": 9}, "$set": {"nested.a.c": "new"}})
        docs.insert_many([{"key": "k-%d" % n, "n": n} for n in range(2, 2_002)])
        docs.insert_one({"key": "big", "timeline": timeline})
        client.close()
        stack("down")
        stack("up")
        client = pymongo.MongoClient(uri, uuidRepresentation="standard", serverSelectionTimeoutMS=10_000)
        docs = client.storage_test.docs
        got = docs.find_one({"_id": "every-type"})
        want.update(int=6, array=want["array"] + [9], nested={"a": {"b": [Int64(1), 2.0], "c": "new"}})
        assert list(got) == list(want)
        for field, value in want.items():
            assert got[field] == value and type(got[field]) is type(value), field
        assert docs.count_documents({}) == 2_002
        assert sorted(doc["n"] for doc in docs.find({"n": {"$exists": True}})) == list(range(2, 2_002))
        assert docs.find_one({"key": "big"})["timeline"] == timeline
        assert docs.find_one({"key": "k-777"})["n"] == 777  # the unique index, rebuilt on opening
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            docs.insert_one({"key": "k-777"})
        client.close()
    finally:
        subprocess.run([STACK, "down"], env=env, capture_output=True, timeout=120)
