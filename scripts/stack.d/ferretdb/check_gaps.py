"""Probe the stack's MongoDB-wire-protocol server for the features this project may use.

    eval "$(scripts/stack env)"; .venv/bin/python scripts/stack.d/ferretdb/check_gaps.py [URI]

Each check runs against a fresh collection in a throw-away database and compares the
server's answer with what MongoDB (4.4+) answers. The "unique-index path" checks compare each
filter with the same filter wrapped in a one-clause `$or`, which MongoDB treats alike and which
the stack's server answers by scanning: the index lookup must find the same documents and make
the same writes. Prints one line per check: `ok`, `DIFFERS`
(answered, but not as MongoDB does) or `ERROR` (refused), and exits 1 if any is not ok.
docs/FERRETDB.md records the outcome.
"""
import os
import sys
import uuid
from datetime import datetime, timezone

import pymongo
from pymongo import ASCENDING, DESCENDING, IndexModel, InsertOne, UpdateOne
from bson import Int64, ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

CHECKS = []


def check(name):
    def register(fn):
        CHECKS.append((name, fn))
        return fn
    return register


def expect(got, want):
    if got != want:
        raise AssertionError("got %r, MongoDB gives %r" % (got, want))


def no_id(docs):
    return [{k: v for k, v in d.items() if k != "_id"} for d in docs]


SALES = [
    {"_id": 1, "k": "a", "n": 3, "tag": "x"},
    {"_id": 2, "k": "a", "n": 5, "tag": "y"},
    {"_id": 3, "k": "b", "n": 7, "tag": "x"},
]


def group(coll, acc):
    coll.insert_many([dict(d) for d in SALES])
    return list(coll.aggregate([{"$sort": {"_id": 1}}, {"$group": {"_id": "$k", "v": acc}}, {"$sort": {"_id": 1}}]))


@check("admin commands: ping, hello, isMaster, buildInfo, listDatabases")
def _(c):
    admin = c.database.client.admin
    for command in ("ping", "hello", "isMaster", "buildInfo", "listDatabases"):
        expect((command, admin.command(command)["ok"]), (command, 1.0))


@check("$group $sum")
def _(c):
    expect(group(c, {"$sum": "$n"}), [{"_id": "a", "v": 8}, {"_id": "b", "v": 7}])


@check("$group $sum: 1 (counting)")
def _(c):
    expect(group(c, {"$sum": 1}), [{"_id": "a", "v": 2}, {"_id": "b", "v": 1}])


@check("$group $count accumulator (MongoDB 5.0+)")
def _(c):
    expect(group(c, {"$count": {}}), [{"_id": "a", "v": 2}, {"_id": "b", "v": 1}])


@check("$group $max")
def _(c):
    expect(group(c, {"$max": "$n"}), [{"_id": "a", "v": 5}, {"_id": "b", "v": 7}])


@check("$group $min")
def _(c):
    expect(group(c, {"$min": "$n"}), [{"_id": "a", "v": 3}, {"_id": "b", "v": 7}])


@check("$group $avg")
def _(c):
    expect(group(c, {"$avg": "$n"}), [{"_id": "a", "v": 4.0}, {"_id": "b", "v": 7.0}])


@check("$group $first/$last (after $sort)")
def _(c):
    c.insert_many([dict(d) for d in SALES])
    got = list(c.aggregate([{"$sort": {"_id": 1}},
                            {"$group": {"_id": "$k", "f": {"$first": "$n"}, "l": {"$last": "$n"}}},
                            {"$sort": {"_id": 1}}]))
    expect(got, [{"_id": "a", "f": 3, "l": 5}, {"_id": "b", "f": 7, "l": 7}])


@check("$group $push / $addToSet")
def _(c):
    c.insert_many([dict(d) for d in SALES])
    got = list(c.aggregate([{"$sort": {"_id": 1}},
                            {"$group": {"_id": "$tag", "p": {"$push": "$n"}, "s": {"$addToSet": "$k"}}},
                            {"$sort": {"_id": 1}}]))
    got = [dict(d, s=sorted(d["s"])) for d in got]
    expect(got, [{"_id": "x", "p": [3, 7], "s": ["a", "b"]}, {"_id": "y", "p": [5], "s": ["a"]}])


@check("$group by compound _id")
def _(c):
    c.insert_many([dict(d) for d in SALES])
    got = list(c.aggregate([{"$group": {"_id": {"k": "$k", "t": "$tag"}, "v": {"$sum": "$n"}}},
                            {"$sort": {"_id.k": 1, "_id.t": 1}}]))
    expect(got, [{"_id": {"k": "a", "t": "x"}, "v": 3}, {"_id": {"k": "a", "t": "y"}, "v": 5},
                 {"_id": {"k": "b", "t": "x"}, "v": 7}])


@check("aggregate $match/$project/$sort/$limit/$skip")
def _(c):
    c.insert_many([dict(d) for d in SALES])
    got = list(c.aggregate([{"$match": {"n": {"$gte": 3}}}, {"$project": {"_id": 0, "n": 1, "dbl": {"$multiply": ["$n", 2]}}},
                            {"$sort": {"n": -1}}, {"$skip": 1}, {"$limit": 1}]))
    expect(got, [{"n": 5, "dbl": 10}])


@check("aggregate $count stage and $unwind")
def _(c):
    c.insert_many([{"_id": 1, "a": [1, 2, 3]}, {"_id": 2, "a": [4]}])
    expect(list(c.aggregate([{"$unwind": "$a"}, {"$count": "n"}])), [{"n": 4}])


@check("aggregate $lookup")
def _(c):
    c.insert_many([{"_id": 1, "u": "x"}])
    other = c.database[c.name + "_o"]
    other.insert_many([{"_id": 10, "u": "x", "v": 1}])
    got = list(c.aggregate([{"$lookup": {"from": other.name, "localField": "u", "foreignField": "u", "as": "j"}}]))
    expect(got, [{"_id": 1, "u": "x", "j": [{"_id": 10, "u": "x", "v": 1}]}])


@check("$setOnInsert with upsert (insert, then no change)")
def _(c):
    c.update_one({"k": 1}, {"$setOnInsert": {"created": "first"}, "$set": {"s": 1}}, upsert=True)
    c.update_one({"k": 1}, {"$setOnInsert": {"created": "second"}, "$set": {"s": 2}}, upsert=True)
    expect(no_id(c.find()), [{"k": 1, "created": "first", "s": 2}])


@check("$max / $min update operators")
def _(c):
    c.insert_one({"_id": 1, "hi": 5, "lo": 5})
    c.update_one({"_id": 1}, {"$max": {"hi": 9, "new_hi": 1}, "$min": {"lo": 2}})
    c.update_one({"_id": 1}, {"$max": {"hi": 3}, "$min": {"lo": 4}})
    expect(c.find_one({"_id": 1}), {"_id": 1, "hi": 9, "lo": 2, "new_hi": 1})


@check("$max/$min on datetimes (first_seen/last_seen pattern)")
def _(c):
    t1, t2 = datetime(2024, 1, 1), datetime(2024, 1, 2)
    c.update_one({"_id": 1}, {"$min": {"first": t2}, "$max": {"last": t1}}, upsert=True)
    c.update_one({"_id": 1}, {"$min": {"first": t1}, "$max": {"last": t2}}, upsert=True)
    expect(c.find_one({"_id": 1}), {"_id": 1, "first": t1, "last": t2})


@check("$inc on nested fields (dotted paths, created on upsert)")
def _(c):
    c.update_one({"u": "x"}, {"$inc": {"actions.click": 1, "actions.view": 2}}, upsert=True)
    c.update_one({"u": "x"}, {"$inc": {"actions.click": 5}}, upsert=True)
    expect(no_id(c.find()), [{"u": "x", "actions": {"click": 6, "view": 2}}])


@check("$set of a whole subdocument + tz-aware datetime")
def _(c):
    now = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=timezone.utc)
    c.update_one({"user_id": {"$eq": "u"}}, {"$set": {"user_id": "u", "actions": {"a": 1, "b": 2}, "at": now}}, upsert=True)
    expect(no_id(c.find()), [{"user_id": "u", "actions": {"a": 1, "b": 2}, "at": now.replace(tzinfo=None)}])


@check("bulk_write unordered with upserts (counts, upserted_ids)")
def _(c):
    c.insert_one({"user_id": "old", "n": 0})
    ops = [UpdateOne({"user_id": {"$eq": u}}, {"$set": {"user_id": u, "n": 1}}, upsert=True) for u in ("old", "n1", "n2")]
    r = c.bulk_write(ops, ordered=False)
    expect((r.matched_count, r.modified_count, r.upserted_count, sorted(r.upserted_ids)), (1, 1, 2, [1, 2]))
    expect(sorted((d["user_id"], d["n"]) for d in c.find()), [("n1", 1), ("n2", 1), ("old", 1)])


@check("bulk_write unordered: a duplicate key fails alone, the rest apply")
def _(c):
    c.create_index("k", unique=True)
    try:
        c.bulk_write([InsertOne({"k": 1}), InsertOne({"k": 1}), InsertOne({"k": 2})], ordered=False)
    except BulkWriteError as error:
        details = error.details
    else:
        raise AssertionError("no BulkWriteError")
    stored = sorted(d["k"] for d in c.find())
    expect((stored, [(e["index"], e["code"]) for e in details["writeErrors"]], details["nInserted"]),
           ([1, 2], [(1, 11000)], 2))


@check("unique index rejects a duplicate (insert and update)")
def _(c):
    c.create_index([("k", ASCENDING)], unique=True)
    c.insert_many([{"k": 1}, {"k": 2}])
    for op in (lambda: c.insert_one({"k": 1}), lambda: c.update_one({"k": 2}, {"$set": {"k": 1}})):
        try:
            op()
        except DuplicateKeyError:
            continue
        raise AssertionError("duplicate accepted")


@check("compound unique index")
def _(c):
    c.create_index([("a", ASCENDING), ("b", DESCENDING)], unique=True)
    c.insert_many([{"a": 1, "b": 1}, {"a": 1, "b": 2}])
    try:
        c.insert_one({"a": 1, "b": 2})
    except DuplicateKeyError:
        return
    raise AssertionError("duplicate accepted")


@check("create_indexes with IndexModel (unique, descending), index_information")
def _(c):
    c.create_indexes([IndexModel([("user_id", ASCENDING)], unique=True, name="user_id_unique"),
                      IndexModel([("click_count", DESCENDING)], name="click_count_desc"),
                      IndexModel([("last_seen", ASCENDING)], name="last_seen")])
    c.create_indexes([IndexModel([("user_id", ASCENDING)], unique=True, name="user_id_unique")])  # again: no-op
    info = c.index_information()
    expect({k: (v["key"], v.get("unique", False)) for k, v in info.items()},
           {"_id_": ([("_id", 1)], False), "user_id_unique": ([("user_id", 1)], True),
            "click_count_desc": ([("click_count", -1)], False), "last_seen": ([("last_seen", 1)], False)})


@check("drop_index / list_indexes")
def _(c):
    c.create_index([("x", DESCENDING)], name="x_desc")
    c.drop_index("x_desc")
    expect(sorted(i["name"] for i in c.list_indexes()), ["_id_"])


@check("find sort (desc, asc) + limit + projection")
def _(c):
    c.insert_many([{"u": "b", "n": 5}, {"u": "a", "n": 5}, {"u": "c", "n": 9}, {"u": "d", "n": 1}])
    got = list(c.find({"n": {"$gt": 1}}, {"_id": 0, "u": 1, "n": 1}).sort([("n", DESCENDING), ("u", ASCENDING)]).limit(2))
    expect(got, [{"u": "c", "n": 9}, {"u": "a", "n": 5}])


@check("count_documents (filter, skip, limit) / estimated_document_count")
def _(c):
    c.insert_many([{"n": i} for i in range(10)])
    expect((c.count_documents({}), c.count_documents({"n": {"$gte": 5}}), c.count_documents({}, skip=2, limit=3),
            c.estimated_document_count()), (10, 5, 3, 10))


@check("distinct")
def _(c):
    c.insert_many([{"k": "a"}, {"k": "b"}, {"k": "a"}])
    expect(sorted(c.distinct("k")), ["a", "b"])


@check("array update operators: $push $each, $addToSet, $pull, $pop")
def _(c):
    c.insert_one({"_id": 1, "a": [1]})
    c.update_one({"_id": 1}, {"$push": {"a": {"$each": [2, 3]}}})
    c.update_one({"_id": 1}, {"$addToSet": {"a": 3, "s": "x"}})
    c.update_one({"_id": 1}, {"$pull": {"a": 1}})
    c.update_one({"_id": 1}, {"$pop": {"a": 1}})
    expect(c.find_one({"_id": 1}), {"_id": 1, "a": [2], "s": ["x"]})


@check("array query operators: $elemMatch, $size, $all, $in")
def _(c):
    c.insert_many([{"_id": 1, "a": [1, 5], "t": ["x", "y"]}, {"_id": 2, "a": [2], "t": ["x"]}])
    expect([d["_id"] for d in c.find({"a": {"$elemMatch": {"$gt": 4}}})], [1])
    expect([d["_id"] for d in c.find({"t": {"$size": 1}})], [2])
    expect([d["_id"] for d in c.find({"t": {"$all": ["x", "y"]}})], [1])
    expect(sorted(d["_id"] for d in c.find({"a": {"$in": [2, 5]}})), [1, 2])


@check("positional $ update")
def _(c):
    c.insert_one({"_id": 1, "a": [{"k": "x", "n": 1}, {"k": "y", "n": 1}]})
    c.update_one({"_id": 1, "a.k": "y"}, {"$inc": {"a.$.n": 5}})
    expect(c.find_one({"_id": 1})["a"], [{"k": "x", "n": 1}, {"k": "y", "n": 6}])


@check("find_one_and_update (upsert, return after)")
def _(c):
    doc = c.find_one_and_update({"k": 1}, {"$inc": {"n": 1}}, upsert=True,
                                return_document=pymongo.ReturnDocument.AFTER, projection={"_id": 0})
    expect(doc, {"k": 1, "n": 1})


@check("$expr in find")
def _(c):
    c.insert_many([{"_id": 1, "a": 1, "b": 2}, {"_id": 2, "a": 3, "b": 2}])
    expect([d["_id"] for d in c.find({"$expr": {"$gt": ["$a", "$b"]}})], [2])


@check("multi-document transaction (with_transaction)")
def _(c):
    client = c.database.client
    c.insert_one({"_id": 0})
    with client.start_session() as session:
        session.with_transaction(lambda s: (c.insert_one({"_id": 1}, session=s), c.insert_one({"_id": 2}, session=s)))
    expect(sorted(d["_id"] for d in c.find()), [0, 1, 2])


@check("transaction abort rolls back")
def _(c):
    client = c.database.client
    c.insert_one({"_id": 0})
    with client.start_session() as session:
        session.start_transaction()
        c.insert_one({"_id": 1}, session=session)
        session.abort_transaction()
    expect(sorted(d["_id"] for d in c.find()), [0])


# The unique-index path (StackH2Backend/UniqueIndexLookup): a filter that pins a unique index's
# fields is answered through the index; {"$or": [filter]} means the same and is always scanned.
OID = ObjectId("65f0a0a0a0a0a0a0a0a0a0a0")
WHEN = datetime(2024, 1, 2, 3, 4, 5)
KEYED = [
    {"_id": 1, "k": "a", "n": 1, "batches": ["B1"]}, {"_id": 2, "k": "b", "n": 2},
    {"_id": 3, "k": ["c", "d"], "n": 3},  # an array: indexed under each element
    {"_id": 4, "n": 4},  # k missing (the one document the unique index holds as null)
    {"_id": 5, "k": 5, "n": 5}, {"_id": 6, "k": 6.5, "n": 6}, {"_id": 7, "k": Int64(7), "n": 7},
    {"_id": 8, "k": "5", "n": 8}, {"_id": 9, "k": {"sub": 1}, "n": 9}, {"_id": 10, "k": True, "n": 10},
    {"_id": 11, "k": WHEN, "n": 11}, {"_id": 12, "k": OID, "n": 12}, {"_id": "s", "k": "", "n": 13},
]
KEYED_FILTERS = [
    {"k": "a"}, {"k": {"$eq": "a"}}, {"k": "a", "n": 1}, {"k": "a", "n": 2}, {"k": "zz"},
    {"k": "c"}, {"k": ["c", "d"]}, {"k": {"$eq": ["c", "d"]}}, {"k": None}, {"k": {"$eq": None}},
    {"k": 5}, {"k": 5.0}, {"k": Int64(5)}, {"k": "5"}, {"k": 7}, {"k": 7.0}, {"k": 6.5}, {"k": 1},
    {"k": True}, {"k": WHEN}, {"k": OID}, {"k": ""}, {"k": {"sub": 1}}, {"k": {"$eq": {"sub": 1}}},
    {"k": {"$in": [5, "a", "zz", 6.5, "c"]}}, {"k": {"$in": [5, 5.0, Int64(5)]}}, {"k": {"$in": []}},
    {"k": {"$in": ["a", None]}}, {"k": {"$in": ["a", ["c", "d"]]}}, {"k": {"$eq": "a", "$ne": "a"}},
    {"k": {"$in": ["a", "b"], "$nin": ["b"]}}, {"k": "a", "$and": [{"n": {"$gte": 1}}]},
    {"$and": [{"k": "b"}, {"batches": {"$ne": "B1"}}]}, {"k": "a", "batches": {"$ne": "B1"}},
    {"k": "b", "batches": {"$ne": "B1"}}, {"k": {"$eq": "a"}, "batches": {"$eq": "B1"}},
    {"_id": {"$in": [1, 2, 99]}}, {"_id": {"$in": [1, 2]}, "n": 2}, {"_id": 3, "k": "c"},
    {"_id": {"$eq": "s"}, "k": ""}, {"k": {"$gte": "a", "$lt": "c"}}, {"k": {"$gt": "a"}},
    {"k": {"$lte": "b"}}, {"k": {"$gte": "a", "$lt": 9}}, {"k": {"$exists": False}},
    {"k": {"$not": {"$eq": "a"}}, "n": {"$lt": 3}},
]


def keyed_twins(c, documents=KEYED, keys=(("k", ASCENDING),)):
    """Two collections with the same documents and the same unique index."""
    twins = [c, c.database[c.name + "_scan"]]
    for twin in twins:
        twin.create_index(list(keys), unique=True)
        twin.insert_many([dict(d) for d in documents])
    return twins


def scanned(query):
    return {"$or": [query]}


def contents(collection):
    # upserted documents get an ObjectId _id of their own in each twin: compare them without it
    docs = [d if not isinstance(d["_id"], ObjectId) or d["_id"] == OID else dict(d, _id="new")
            for d in collection.find()]
    return sorted(docs, key=repr)


def outcome(run):
    try:
        result = run()
    except DuplicateKeyError:
        return "DuplicateKeyError"
    except BulkWriteError as error:
        details = error.details
        return ("BulkWriteError", [(e["index"], e["code"]) for e in details["writeErrors"]],
                details["nMatched"], details["nModified"], details["nUpserted"])
    if isinstance(result, pymongo.results.UpdateResult):
        return ("update", result.matched_count, result.modified_count, result.upserted_id is not None)
    if isinstance(result, pymongo.results.DeleteResult):
        return ("delete", result.deleted_count)
    if isinstance(result, pymongo.results.BulkWriteResult):
        return ("bulk", result.matched_count, result.modified_count, result.upserted_count)
    if isinstance(result, dict) and isinstance(result.get("_id"), ObjectId) and result["_id"] != OID:
        return dict(result, _id="new")
    return result


def expect_same_writes(c, write, filters, documents=KEYED, keys=(("k", ASCENDING),)):
    """write(collection, filter) on the index path and on the scan: same outcome, same contents."""
    for query in filters:
        indexed, scan = keyed_twins(c, documents, keys)
        got, want = outcome(lambda: write(indexed, query)), outcome(lambda: write(scan, scanned(query)))
        expect((query, got, contents(indexed)), (query, want, contents(scan)))
        indexed.drop()
        scan.drop()


@check("unique-index path: find, count_documents, distinct (scalars, arrays, null/missing, mixed types)")
def _(c):
    indexed, _scan = keyed_twins(c)
    for query in KEYED_FILTERS:
        got = sorted(indexed.find(query), key=repr)
        expect((query, got), (query, sorted(indexed.find(scanned(query)), key=repr)))
        expect((query, indexed.count_documents(query)), (query, indexed.count_documents(scanned(query))))
        expect((query, sorted(indexed.distinct("n", query))), (query, sorted(indexed.distinct("n", scanned(query)))))
    expect([d["_id"] for d in indexed.find({"k": {"$in": ["c", "a", 5.0]}})], [5, 1, 3])  # index order


@check("unique-index path: find with sort, skip, limit, projection")
def _(c):
    indexed, _scan = keyed_twins(c)
    query = {"k": {"$in": ["a", "b", "c", 5, 6.5, "zz"]}, "n": {"$gte": 2}}
    for run in (lambda q: list(indexed.find(q, {"_id": 0, "n": 1}).sort("n", DESCENDING).skip(1).limit(2)),
                lambda q: list(indexed.find(q).sort([("n", ASCENDING)]).limit(1))):
        expect(run(query), run(scanned(query)))


@check("unique-index path: update_one / update_many (upserts, misses on the extra condition)")
def _(c):
    filters = [{"k": "a"}, {"k": "a", "n": 2}, {"k": "new"}, {"k": {"$eq": "new"}, "n": 1},
               {"k": "a", "batches": {"$ne": "B1"}}, {"k": "b", "batches": {"$ne": "B1"}},
               {"k": "c", "batches": {"$ne": "B1"}}, {"k": {"$in": ["a", "b", "zz"]}}, {"_id": {"$in": [1, 2]}}]
    expect_same_writes(c, lambda coll, q: coll.update_one(
        q, {"$inc": {"n": 100}, "$push": {"batches": {"$each": ["B1"], "$slice": -5}}}, upsert=True), filters)
    expect_same_writes(c, lambda coll, q: coll.update_many(q, {"$set": {"seen": True}}), filters)
    expect_same_writes(c, lambda coll, q: coll.update_many(q, {"$set": {"k": "a"}}), [{"k": "b"}, {"k": "b", "n": 3}])


@check("unique-index path: the loaders' merge upsert in an unordered bulk (duplicate key = applied)")
def _(c):
    def merges(coll, wrap):
        return coll.bulk_write([UpdateOne(wrap({"k": key, "batches": {"$ne": "B1"}}),
                                          {"$inc": {"n": 1}, "$push": {"batches": "B1"}}, upsert=True)
                                for key in ("a", "b", "new", "c", "new2")], ordered=False)
    indexed, scan = keyed_twins(c)
    got, want = outcome(lambda: merges(indexed, lambda q: q)), outcome(lambda: merges(scan, scanned))
    expect((got, contents(indexed)), (want, contents(scan)))
    # as MongoDB: "a" carries B1, so its upsert collides with the unique index (op 0, code 11000)
    expect(got[:2], ("BulkWriteError", [(0, 11000)]))


@check("unique-index path: find_one_and_update, find_one_and_delete, delete_many")
def _(c):
    after = pymongo.ReturnDocument.AFTER
    expect_same_writes(c, lambda coll, q: coll.find_one_and_update(
        q, {"$inc": {"n": 1}}, upsert=True, return_document=after),
        [{"k": "a"}, {"k": "a", "n": 9}, {"k": "new"}, {"k": {"$in": [5, 5.0]}}, {"k": "b", "batches": {"$ne": "x"}}])
    expect_same_writes(c, lambda coll, q: coll.find_one_and_delete(q), [{"k": "c"}, {"k": {"$eq": 7.0}}, {"k": "zz"}])
    expect_same_writes(c, lambda coll, q: coll.delete_many(q),
                       [{"k": {"$in": ["a", "b", 5, "c"]}}, {"k": {"$in": ["a", "b"]}, "n": 2}, {"_id": {"$in": [1, 12]}},
                        {"k": {"$gte": "a", "$lt": "c"}}])


@check("unique-index path: compound unique index")
def _(c):
    documents = [{"_id": i, "a": i % 3, "b": "x%d" % (i // 3), "n": i} for i in range(9)]
    keys = (("a", ASCENDING), ("b", DESCENDING))
    indexed, scan = keyed_twins(c, documents, keys)
    for query in ({"a": 1, "b": "x0"}, {"a": 1.0, "b": {"$in": ["x0", "x1", "x9"]}, "n": {"$gt": 1}},
                  {"a": {"$in": [0, 2]}, "b": "x2"}, {"a": 1}, {"b": "x1"}, {"a": 1, "b": None}):
        expect((query, sorted(indexed.find(query), key=repr)), (query, sorted(indexed.find(scanned(query)), key=repr)))
    indexed.drop()
    scan.drop()
    expect_same_writes(c, lambda coll, q: coll.update_one(q, {"$inc": {"n": 1}}, upsert=True),
                       [{"a": 1, "b": "x0"}, {"a": 1, "b": "x0", "n": 0}, {"a": 5, "b": "new"}], documents, keys)


@check("unique-index path: ranges of strings (and the same field holding arrays)")
def _(c):
    documents = [{"_id": i, "hour": "2024-01-02T%02d" % i, "n": i} for i in range(24)] + [{"_id": 99, "hour": 5}]
    indexed, _scan = keyed_twins(c, documents, (("hour", ASCENDING),))
    queries = [{"hour": {"$gte": "2024-01-02T05", "$lte": "2024-01-02T07"}}, {"hour": {"$gt": "2024-01-02T21"}},
               {"hour": {"$lt": "2024-01-02T01"}}, {"hour": {"$gt": "2024-01-02T03", "$gte": "2024-01-02T02", "$lt": "z"}},
               {"hour": {"$gte": "2024-01-02T05", "$lt": "2024-01-02T05"}}, {"hour": {"$gte": "", "$lt": 10}}]
    for query in queries:
        expect((query, list(indexed.find(query))), (query, sorted(indexed.find(scanned(query)), key=lambda d: d["hour"])))
    expect([d["n"] for d in indexed.find(queries[0])], [5, 6, 7])
    # an array in the field: a range may match across its elements, so the index path must scan
    indexed.insert_one({"_id": 100, "hour": ["2024-01-01", "zzz"]})
    for query in queries[:3]:
        expect((query, sorted(indexed.find(query), key=repr)), (query, sorted(indexed.find(scanned(query)), key=repr)))


@check("range on an array field, satisfied by different elements")
def _(c):
    c.insert_many([{"_id": 1, "hour": "2024-01-02T01"}, {"_id": 100, "hour": ["2024-01-01", "zzz"]}])
    expect([d["_id"] for d in c.find({"hour": {"$gt": "2024-01-02T23", "$lt": "2024-01-02"}})], [100])


def main():
    uri = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MONGODB_URI")
    if not uri:
        sys.exit("usage: check_gaps.py URI (or set MONGODB_URI)")
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    hello = client.admin.command("isMaster")
    build = client.admin.command("buildInfo")
    print("server %s, maxWireVersion %s" % (build.get("version"), hello.get("maxWireVersion")))
    dbname = "gaps_%s" % uuid.uuid4().hex[:10]
    bad = 0
    try:
        for i, (name, fn) in enumerate(CHECKS):
            coll = client[dbname]["c%d" % i]
            try:
                fn(coll)
                verdict = "ok"
            except AssertionError as error:
                verdict, bad = "DIFFERS  %s" % error, bad + 1
            except PyMongoError as error:
                verdict, bad = "ERROR    %s: %s" % (type(error).__name__, str(error).splitlines()[0][:200]), bad + 1
            print("%-62s %s" % (name, verdict))
    finally:
        client.drop_database(dbname)
        client.close()
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
