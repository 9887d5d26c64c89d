"""Filters that the stack's MongoDB-wire server answers through a unique index (equality on the
indexed fields with `$eq`, `$in`, plain values, plus other conditions; string ranges) give the
documents MongoDB gives, for reads and writes.

Each filter is checked three ways: as given (the index path on the stack's server), wrapped in a
one-clause `$or` (the same filter to MongoDB, always scanned there), and against `reference_match`
below, a small independent model of MongoDB's matching for the operators used here. Run under
`eval "$(scripts/stack env)"`; any MongoDB passes it too.
"""
import uuid
from datetime import datetime

import pytest

pymongo = pytest.importorskip("pymongo")
from bson import Int64, ObjectId  # noqa: E402
from pymongo import ASCENDING, DESCENDING, UpdateOne  # noqa: E402
from pymongo.errors import BulkWriteError, DuplicateKeyError  # noqa: E402

pytestmark = pytest.mark.integration

MISSING = object()
OID = ObjectId("65f0a0a0a0a0a0a0a0a0a0a0")
WHEN = datetime(2024, 1, 2, 3, 4, 5)


def bracket(value):
    """MongoDB compares values of one type bracket only (numbers together; bool is not a number)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def same(a, b):
    if bracket(a) != bracket(b):
        return False
    if isinstance(a, dict):  # field order matters in MongoDB
        return len(a) == len(b) and all(ka == kb and same(va, vb) for (ka, va), (kb, vb) in zip(a.items(), b.items()))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def equals(stored, wanted):
    if wanted is None:
        return stored is MISSING or stored is None or (isinstance(stored, list) and any(v is None for v in stored))
    if stored is MISSING:
        return False
    if isinstance(stored, list) and not isinstance(wanted, list):
        return any(same(element, wanted) for element in stored)
    return same(stored, wanted) or (isinstance(stored, list) and any(same(e, wanted) for e in stored))


RANGES = {"$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b, "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b}


def field_matches(stored, condition):
    if isinstance(condition, dict) and condition and all(name.startswith("$") for name in condition):
        for operator, operand in condition.items():
            if operator == "$eq":
                ok = equals(stored, operand)
            elif operator == "$ne":
                ok = not equals(stored, operand)
            elif operator == "$in":
                ok = any(equals(stored, value) for value in operand)
            elif operator == "$nin":
                ok = not any(equals(stored, value) for value in operand)
            elif operator in RANGES:  # scalars only in these tests' range data
                ok = stored is not MISSING and bracket(stored) == bracket(operand) and RANGES[operator](stored, operand)
            else:
                raise AssertionError("reference_match does not model %s" % operator)
            if not ok:
                return False
        return True
    return equals(stored, condition)


def reference_match(document, query):
    for field, condition in query.items():
        if field == "$and":
            if not all(reference_match(document, clause) for clause in condition):
                return False
        elif field == "$or":
            if not any(reference_match(document, clause) for clause in condition):
                return False
        elif not field_matches(document.get(field, MISSING), condition):
            return False
    return True


DOCUMENTS = [
    {"_id": 1, "k": "a", "n": 1, "batches": ["B1"]}, {"_id": 2, "k": "b", "n": 2},
    {"_id": 3, "k": ["c", "d"], "n": 3}, {"_id": 4, "n": 4},  # an array; a missing key
    {"_id": 5, "k": 5, "n": 5}, {"_id": 6, "k": 6.5, "n": 6}, {"_id": 7, "k": Int64(7), "n": 7},
    {"_id": 8, "k": "5", "n": 8}, {"_id": 9, "k": {"sub": 1, "x": 2}, "n": 9}, {"_id": 10, "k": True, "n": 10},
    {"_id": 11, "k": WHEN, "n": 11}, {"_id": 12, "k": OID, "n": 12}, {"_id": "s", "k": "", "n": 13},
]

FILTERS = [
    {"k": "a"}, {"k": {"$eq": "a"}}, {"k": "a", "n": 1}, {"k": "a", "n": 2}, {"k": "zz"}, {"k": "c"},
    {"k": ["c", "d"]}, {"k": None}, {"k": {"$eq": None}}, {"k": 5}, {"k": 5.0}, {"k": Int64(5)}, {"k": "5"},
    {"k": 7}, {"k": 7.0}, {"k": 1}, {"k": True}, {"k": WHEN}, {"k": OID}, {"k": ""},
    {"k": {"sub": 1, "x": 2}}, {"k": {"x": 2, "sub": 1}}, {"k": {"$in": [5, "a", "zz", 6.5, "c"]}},
    {"k": {"$in": [5, 5.0, Int64(5)]}}, {"k": {"$in": []}}, {"k": {"$in": ["a", None]}},
    {"k": {"$eq": "a", "$ne": "a"}}, {"k": {"$in": ["a", "b"], "$nin": ["b"]}},
    {"k": "a", "$and": [{"n": {"$gte": 1}}]}, {"$and": [{"k": "b"}, {"batches": {"$ne": "B1"}}]},
    {"k": "a", "batches": {"$ne": "B1"}}, {"k": "b", "batches": {"$ne": "B1"}},
    {"_id": {"$in": [1, 2, 99]}}, {"_id": {"$in": [1, 2]}, "n": 2}, {"_id": 3, "k": "c"}, {"_id": {"$eq": "s"}, "k": ""},
]


@pytest.fixture
def db(mongodb_uri):
    client = pymongo.MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000)
    name = "index_%s" % uuid.uuid4().hex[:12]
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


def keyed(db, name, documents=DOCUMENTS, keys=(("k", ASCENDING),)):
    collection = db[name]
    collection.create_index(list(keys), unique=True)
    collection.insert_many([dict(document) for document in documents])
    return collection


def ids(documents):
    return sorted(repr(document["_id"]) for document in documents)


@pytest.mark.parametrize("query", FILTERS, ids=repr)
def test_find_and_count_match_the_scan_and_the_reference(db, query):
    collection = keyed(db, "c")
    want = ids(document for document in DOCUMENTS if reference_match(document, query))
    assert ids(collection.find(query)) == want
    assert ids(collection.find({"$or": [query]})) == want
    assert collection.count_documents(query) == len(want)


def test_in_returns_documents_in_index_order(db):
    collection = keyed(db, "c")
    assert [document["_id"] for document in collection.find({"k": {"$in": ["c", "a", 5.0]}})] == [5, 1, 3]


@pytest.mark.parametrize("key, marked", [("a", True), ("b", False), ("new", False)])
def test_merge_upsert_applies_once_and_collides_when_marked(db, key, marked):
    """The loaders' merge: {key, batches: {$ne: B}} upserted; a document already marked collides."""
    collection = keyed(db, "c")
    merge = ({"k": key, "batches": {"$ne": "B1"}}, {"$inc": {"n": 100}, "$push": {"batches": "B1"}})
    before = collection.find_one({"k": key})
    if marked:
        with pytest.raises(DuplicateKeyError, match="E11000"):
            collection.update_one(*merge, upsert=True)
        assert collection.find_one({"k": key}) == before
    else:
        result = collection.update_one(*merge, upsert=True)
        assert (result.matched_count, result.upserted_id is not None) == ((1, False) if before else (0, True))
        after = collection.find_one({"k": key})
        assert after["n"] == (before["n"] if before else 0) + 100 and after["batches"] == ["B1"]
        with pytest.raises(DuplicateKeyError, match="E11000"):  # the second time: already applied
            collection.update_one(*merge, upsert=True)


def test_bulk_merges_report_only_the_marked_document(db):
    collection = keyed(db, "c")
    keys = ["a", "b", "new", "c", "new2", "5"]
    with pytest.raises(BulkWriteError, match="batch op errors") as caught:
        collection.bulk_write([UpdateOne({"k": key, "batches": {"$ne": "B1"}}, {"$inc": {"n": 1}, "$push": {"batches": "B1"}},
                                         upsert=True) for key in keys], ordered=False)
    details = caught.value.details
    assert [(error["index"], error["code"]) for error in details["writeErrors"]] == [(0, 11000)]
    assert (details["nMatched"], details["nUpserted"]) == (3, 2)
    assert sorted(repr(d["k"]) for d in collection.find({"batches": "B1"})) == sorted(
        ["'a'", "'b'", "'new'", "['c', 'd']", "'new2'", "'5'"])


@pytest.mark.parametrize("query", [
    {"k": {"$in": ["a", "b", 5, "c", "zz"]}}, {"k": {"$in": ["a", "b"]}, "n": 2}, {"_id": {"$in": [1, 12]}},
    {"k": "c", "n": {"$ne": 3}}, {"k": {"$eq": 7.0}},
], ids=repr)
def test_update_many_and_delete_many_touch_the_reference_documents(db, query):
    want = ids(document for document in DOCUMENTS if reference_match(document, query))
    collection = keyed(db, "c")
    result = collection.update_many(query, {"$set": {"seen": True}})
    assert (result.matched_count, ids(collection.find({"seen": True}))) == (len(want), want)
    deleted = collection.delete_many(query)
    assert deleted.deleted_count == len(want)
    assert ids(collection.find()) == ids(document for document in DOCUMENTS if not reference_match(document, query))


def test_find_one_and_update_through_the_index(db):
    collection = keyed(db, "c")
    after = pymongo.ReturnDocument.AFTER
    assert collection.find_one_and_update({"k": {"$eq": "b"}, "n": 2}, {"$inc": {"n": 1}}, return_document=after)["n"] == 3
    assert collection.find_one_and_update({"k": "b", "n": 2}, {"$inc": {"n": 1}}) is None
    upserted = collection.find_one_and_update({"k": {"$eq": "new"}, "n": 0}, {"$inc": {"n": 1}}, upsert=True,
                                              return_document=after, projection={"_id": 0})
    assert upserted == {"k": "new", "n": 1}


def test_compound_unique_index(db):
    documents = [{"_id": i, "a": i % 3, "b": "x%d" % (i // 3), "n": i} for i in range(9)]
    collection = keyed(db, "c", documents, (("a", ASCENDING), ("b", DESCENDING)))
    for query in ({"a": 1, "b": "x0"}, {"a": 1.0, "b": {"$in": ["x0", "x1", "x9"]}, "n": {"$gt": 1}},
                  {"a": {"$in": [0, 2]}, "b": "x2"}, {"a": 1}, {"a": 1, "b": None}):
        want = ids(document for document in documents if reference_match(document, query))
        assert (query, ids(collection.find(query))) == (query, want)


HOURS = [{"_id": i, "hour": "2024-01-02T%02d" % i} for i in range(24)] + [{"_id": 99, "hour": 5}, {"_id": 98}]


@pytest.mark.parametrize("query", [
    {"hour": {"$gte": "2024-01-02T05", "$lte": "2024-01-02T07"}}, {"hour": {"$gt": "2024-01-02T21"}},
    {"hour": {"$lt": "2024-01-02T01"}}, {"hour": {"$gt": "2024-01-02T03", "$gte": "2024-01-02T02", "$lt": "z"}},
    {"hour": {"$gte": "2024-01-02T05", "$lt": "2024-01-02T05"}}, {"hour": {"$gte": "", "$lt": 10}},
    {"hour": {"$gte": 3}},
], ids=repr)
def test_string_ranges_on_a_unique_index(db, query):
    collection = keyed(db, "hours", HOURS, (("hour", ASCENDING),))
    want = sorted((d for d in HOURS if reference_match(d, query)), key=lambda d: d["_id"])
    assert sorted(collection.find(query), key=lambda d: d["_id"]) == want
    assert sorted(collection.find({"$or": [query]}), key=lambda d: d["_id"]) == want
