"""Loader for mr_product_popularity output into ``product_popularity``: counts add up across
batches, merged like user_clicks (``$inc`` guarded by the batch marker). ``distinct_users`` is the
sum of each batch's distinct users; conversion ratios are computed at query time from the merged
counts."""
from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from loaders.keyed import KeyedLoader, checked_count

MARKERS_KEPT = 200


class ProductPopularity(KeyedLoader):
    COLLECTION = "product_popularity"
    KEY_FIELD = "product_id"
    INDEXES = [IndexModel([("product_id", ASCENDING)], unique=True, name="product_id_unique"),
               IndexModel([("purchases", DESCENDING)], name="purchases_desc"),
               IndexModel([("views", DESCENDING)], name="views_desc")]
    COUNTS = ("views", "cart_adds", "purchases", "events", "distinct_users")
    ADDITIVE = True

    @classmethod
    def operation(cls, key, value, batch_id, now):
        if type(key) is not str or not key:
            raise ValueError("bad_product_id")
        increments = {name: checked_count(value[name]) for name in cls.COUNTS}
        merge = UpdateOne(
            {"product_id": key, "batches": {"$ne": batch_id}},
            {"$inc": increments, "$set": {"updated_at": now}, "$setOnInsert": {"product_id": key},
             "$push": {"batches": {"$each": [batch_id], "$slice": -MARKERS_KEPT}}},
            upsert=True)
        return key, merge
