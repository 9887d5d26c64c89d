"""Loader for mr_product_popularity output into ``product_popularity``: counts add up across
batches exactly once, like user_clicks (contribution records, loaders/bulk.py). ``distinct_users``
is exact over everything loaded: ``product_users`` holds one document per (product, user) ever
seen, with the batch that first inserted it, and a batch adds to a product's distinct_users the
pairs it first inserted. A re-run finds the same pairs with the same first batch, so it recounts
them: never zero, never twice. Conversion ratios are computed at query time from the merged counts.
"""
from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from loaders.base import AdditiveLoader
from loaders.bulk import _bulk
from loaders.record_checks import RecordRejected, checked_count, checked_records, record_field

PAIRS = "product_users"


def pair_id(product, user):
    """'<len(product)>:<product>|<user>': unambiguous whatever the ids hold."""
    return "%d:%s|%s" % (len(product), product, user)


class ProductPopularity(AdditiveLoader):
    COLLECTION = "product_popularity"
    KEY_FIELD = "product_id"
    INDEXES = [IndexModel([("product_id", ASCENDING)], unique=True, name="product_id_unique"),
               IndexModel([("purchases", DESCENDING)], name="purchases_desc"),
               IndexModel([("views", DESCENDING)], name="views_desc")]
    COUNTS = ("views", "cart_adds", "purchases", "events")

    @classmethod
    def want(cls, key, value):
        """A record -> (its counts' want, its batch's distinct users). RecordRejected with a reason."""
        if type(key) is not str or not key:
            raise RecordRejected("bad_product_id")
        users = record_field(value, "users")
        if not isinstance(users, list) or not all(type(user) is str and user for user in users) \
                or len(set(users)) != len(users) or checked_count(record_field(value, "distinct_users")) != len(users):
            raise RecordRejected("bad_users")
        return {"inc": {name: checked_count(record_field(value, name)) for name in cls.COUNTS}}, users

    @classmethod
    def iter_wants(cls, records, batch_id, rejected):
        return checked_records(records, rejected, lambda key, value: (key,) + cls.want(key, value))

    @classmethod
    def prepare_chunk(cls, db, batch_id, chunk, chunk_size=1000):
        """Insert the chunk's (product, user) pairs where new, marked with this batch; then each
        product's want counts the pairs whose first batch is this one. Returns [(key, want)]."""
        pairs = db[PAIRS]
        ids = {key: [pair_id(key, user) for user in users] for key, _want, users in chunk}
        everything = [(key, user, pid) for key, _want, users in chunk for user, pid in zip(users, ids[key])]
        first = {}
        for start in range(0, len(everything), chunk_size):
            part = everything[start:start + chunk_size]
            operations = [UpdateOne({"_id": pid}, {"$setOnInsert": {"product_id": key, "user_id": user,
                                                                    "batch": batch_id}}, upsert=True)
                          for key, user, pid in part]
            inserted = []
            retry = _bulk(pairs, operations, {}, inserted)  # a duplicate: a concurrent loader inserted it first
            if retry:
                _bulk(pairs, [operations[index] for index in retry], {}, inserted)
            # a pair this write inserted (its _id upserted) is this batch's; only the others are
            # read back (on a first load, hardly any)
            first.update((pid, batch_id) for pid in inserted)
            not_inserted = [pid for _key, _user, pid in part if pid not in first]
            if not_inserted:
                first.update((document["_id"], document["batch"]) for document in pairs.find(
                    {"_id": {"$in": not_inserted}}, {"batch": 1}))
        prepared = []
        for key, want, _users in chunk:
            added = sum(1 for pid in ids[key] if first.get(pid) == batch_id)
            prepared.append((key, {"inc": dict(want["inc"], distinct_users=added)}))
        return prepared
