"""Probe the stack's MongoDB-wire-protocol server for the features this project may use.

    eval "$(scripts/stack env)"; .venv/bin/python scripts/stack.d/ferretdb/check_gaps.py [URI]

Each check runs against a fresh collection in a throw-away database and compares the
server's answer with what MongoDB (4.4+) answers. Prints one line per check: `ok`, `DIFFERS`
(answered, but not as MongoDB does) or `ERROR` (refused), and exits 1 if any is not ok.
docs/FERRETDB.md records the outcome.
"""
import os
import sys
import uuid
from datetime import datetime, timezone

import pymongo
from pymongo import ASCENDING, DESCENDING, IndexModel, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

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
