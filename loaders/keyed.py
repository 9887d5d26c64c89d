"""What the serving loaders share: record field checks that raise a reject reason, the set-by-key
update, and the loop that turns job records into (key, update) pairs with rejects counted.

A set-by-key document carries its one batch in ``batches``; a revision that supersedes a batch
deletes the documents still carrying it (see loaders/load.py), through BATCH_INDEX.
"""
from datetime import datetime, timezone

from pymongo import ASCENDING, IndexModel, UpdateOne

from clickstream.events import EventRejected, parse_ts, ts_to_datetime

BATCH_INDEX = IndexModel([("batches", ASCENDING)], name="batches")


def count_reject(rejected, reason):
    rejected[reason] = rejected.get(reason, 0) + 1


def checked_time(text):
    """An event-model time text -> aware datetime; ValueError('bad_time') otherwise."""
    try:
        return ts_to_datetime(parse_ts(text))
    except (TypeError, EventRejected):
        raise ValueError("bad_time") from None


def checked_count(value):
    """A count is a non-negative int (not a bool); ValueError('bad_count') otherwise."""
    if type(value) is not int or value < 0:
        raise ValueError("bad_count")
    return value


def set_by_key(key_filter, fields, batch_id, now):
    return UpdateOne(key_filter, {"$set": dict(fields, updated_at=now, batches=[batch_id])}, upsert=True)


def checked_records(records, rejected, check):
    """(key, value) records -> ``check(key, value)`` for each; a record it refuses with a
    ValueError is counted under that reason, one of the wrong shape as 'bad_record'."""
    for key, value in records:
        try:
            yield check(key, value)
        except ValueError as error:
            count_reject(rejected, str(error))
        except (KeyError, AttributeError, TypeError):
            count_reject(rejected, "bad_record")


def keyed_operations(records, batch_id, rejected, now, to_operation):
    """(key, value) records -> to_operation's (key, update) pairs, rejects counted (checked_records)."""
    now = now or datetime.now(timezone.utc)
    return checked_records(records, rejected, lambda key, value: to_operation(key, value, batch_id, now))


class KeyedLoader:
    """What loaders/load.py calls: indexes, and job records -> (key, update) pairs via ``operation``."""

    INDEXES = []
    ADDITIVE = False  # a record is the whole fact for its key: a late file means recomputing the hour

    @classmethod
    def ensure_indexes(cls, collection):
        collection.create_indexes(cls.INDEXES)

    @classmethod
    def iter_operations(cls, records, batch_id, rejected, now=None):
        return keyed_operations(records, batch_id, rejected, now, cls.operation)
