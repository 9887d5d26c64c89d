"""Loader for mr_suspicious_users output: per-(user, hour) figures into the state collection
``suspicious_user_hours``, then one ``suspicious_users`` document per flagged user, judged over
every window of W consecutive UTC hours (loaders/suspicious_windows.py) that holds a changed hour.

State documents, each read by ``_id`` (equality or ``$in``), never by a scan:
- ``u|<user>|<YYYY-MM-DD>``: that day's hours of the user, ``hours.HH`` -> figures;
- ``h|<YYYY-MM-DDTHH>``: the users the hour holds, so a recomputed hour also drops those no longer in it;
- ``w|<user>``: the user's firing windows (start hour -> what fired), so a window not judged again keeps its part.
A batch replaces its hours (``batch.hours``; for a batch that names no partition, the hours its
records name): replaying a batch, or loading a revision of an hour, leaves exactly one contribution per hour.
The hour rosters are written last, so a load that dies part-way is completed by loading the batch again.
"""
from datetime import datetime, timezone

from pymongo import ASCENDING, DESCENDING, DeleteOne, IndexModel, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError

from clickstream.errors import ServiceError
from loaders.base import Loader
from loaders.record_checks import RecordRejected, checked_records, count_reject, record_field
from loaders.suspicious_windows import (checked_figures, checked_settings, hour_number, hour_text, judge_windows,
                                        starts_touching, user_flags)

STATE = "suspicious_user_hours"
OLD_INDEX = "flag_key_unique"  # the documents of one user and hourly batch, before windows


def _day_id(user_id, day):
    return "u|%s|%s" % (user_id, day)


def _hour_id(hour):
    return "h|" + hour_text(hour)


def _windows_id(user_id):
    return "w|" + user_id


class SuspiciousUsers(Loader):
    """The ``suspicious_users`` collection's loader: merges whole batches, whose windows span others."""

    COLLECTION = "suspicious_users"
    KEY_FIELD = "user_id"
    ADDITIVE = False  # a record is the whole fact of its user and hour: a late file recomputes the hour
    MERGES_ACROSS_BATCHES = True
    INDEXES = [IndexModel([("user_id", ASCENDING)], unique=True, name="user_id_unique"),
               IndexModel([("events", DESCENDING)], name="events_desc")]

    @classmethod
    def ensure_indexes(cls, collection):
        if OLD_INDEX in collection.index_information():
            # One document per user and hour came before; they are recomputed as batches load again.
            collection.drop_index(OLD_INDEX)
            collection.delete_many({"flag_key": {"$exists": True}})
        collection.create_indexes(cls.INDEXES)

    @classmethod
    def merge_batch(cls, db, records, batch, rejected, chunk_size, now=None):
        """Replace the batch's hours of every user in them, judge the windows holding them, and
        write (or delete) each such user's document. Returns the stats: a record's user and hour
        already in the state counts as matched, a new one as upserted."""
        now = now or datetime.now(timezone.utc)
        incoming, settings = _read_records(records, batch, rejected)
        batch_hours = set(batch.hours) if batch.hours is not None else {hour for hours in incoming.values()
                                                                       for hour in hours}
        state, served = db[STATE], db[cls.COLLECTION]
        rosters = {document["_id"]: document for document in
                   state.find({"_id": {"$in": [_hour_id(hour) for hour in sorted(batch_hours)]}})}
        if settings is None:
            settings = next((document["settings"] for document in rosters.values()), None)
        changed = {}  # user -> the batch's hours that change for them
        for hour in batch_hours:
            for user_id in rosters.get(_hour_id(hour), {}).get("users", ()):
                changed.setdefault(user_id, set()).add(hour)
        for user_id, hours in incoming.items():
            changed.setdefault(user_id, set()).update(hours)
        stats = {"upserted": 0, "matched": 0, "operations": 0, "users_flagged": 0, "users_cleared": 0}
        users = sorted(changed)
        for offset in range(0, len(users), chunk_size):
            chunk = users[offset:offset + chunk_size]
            _merge_users(state, served, chunk, changed, incoming, batch_hours, settings, batch.id, now, stats)
        roster_writes = []
        for hour in sorted(batch_hours):
            members = sorted(user_id for user_id, hours in incoming.items() if hour in hours)
            if members:
                roster_writes.append(ReplaceOne({"_id": _hour_id(hour)}, {
                    "users": members, "settings": settings, "batch": batch.id, "updated_at": now}, upsert=True))
            elif _hour_id(hour) in rosters:
                roster_writes.append(DeleteOne({"_id": _hour_id(hour)}))
        _write(state, roster_writes, stats)
        return stats


def _checked_record(key, value):
    user_id, hour, figures = checked_figures(value)
    record_settings = checked_settings(record_field(value, "settings"))
    if key != "%s|%s" % (user_id, value["hour"]):
        raise RecordRejected("bad_key")
    return user_id, hour, figures, record_settings


def _read_records(records, batch, rejected):
    """Job records -> ({user: {hour: figures}}, the batch's rule settings); rejects counted."""
    incoming, settings = {}, None
    allowed = set(batch.hours) if batch.hours is not None else None
    for user_id, hour, figures, record_settings in checked_records(records, rejected, _checked_record):
        if allowed is not None and hour not in allowed:
            count_reject(rejected, "hour_outside_batch")
        elif settings is not None and record_settings != settings:
            count_reject(rejected, "mixed_settings")
        elif hour in incoming.get(user_id, {}):
            count_reject(rejected, "duplicate_user_hour")
        else:
            settings = record_settings
            incoming.setdefault(user_id, {})[hour] = figures
    return incoming, settings


def _merge_users(state, served, users, changed, incoming, batch_hours, settings, batch_id, now, stats):
    width = settings["window_hours"]
    days = {}  # the days of every hour a window holding a changed hour can hold
    for user_id in users:
        low, high = min(changed[user_id]) - width + 1, max(changed[user_id]) + width - 1
        days[user_id] = sorted({hour_text(hour)[:10] for hour in range(low, high + 1, 24)} | {hour_text(high)[:10]})
    wanted = [_day_id(user_id, day) for user_id in users for day in days[user_id]]
    wanted += [_windows_id(user_id) for user_id in users]
    found = {document["_id"]: document for document in state.find({"_id": {"$in": wanted}})}
    state_writes, served_writes, served_deletes = [], [], []
    for user_id in users:
        figures_by_hour = {}
        for day in days[user_id]:
            for hh, figures in found.get(_day_id(user_id, day), {}).get("hours", {}).items():
                figures_by_hour[hour_number("%sT%s" % (day, hh))] = figures
        new = incoming.get(user_id, {})
        # Also any hour of the batch the state holds but the roster missed (a load that died before it).
        hours = changed[user_id] | {hour for hour in batch_hours if hour in figures_by_hour}
        for hour in batch_hours:
            if hour in new:
                stats["matched" if hour in figures_by_hour else "upserted"] += 1
                figures_by_hour[hour] = new[hour]
            else:
                figures_by_hour.pop(hour, None)
        state_writes.extend(_day_writes(user_id, hours, new, figures_by_hour))
        starts = starts_touching(hours, width)
        windows = {hour_number(start): fired
                   for start, fired in found.get(_windows_id(user_id), {}).get("windows", {}).items()}
        windows = {start: fired for start, fired in windows.items() if start not in starts}
        windows.update(judge_windows(figures_by_hour, starts, settings))
        if windows:
            rules, events = user_flags(windows, settings)
            state_writes.append(ReplaceOne({"_id": _windows_id(user_id)}, {
                "user_id": user_id, "windows": {hour_text(start): fired for start, fired in windows.items()}},
                upsert=True))
            served_writes.append(ReplaceOne({"_id": user_id}, {
                "user_id": user_id, "rules": rules, "rule_names": [rule["rule"] for rule in rules], "events": events,
                "window_hours": width, "batch": batch_id, "updated_at": now}, upsert=True))
            stats["users_flagged"] += 1
        elif _windows_id(user_id) in found:  # a served document exists exactly when its windows do
            state_writes.append(DeleteOne({"_id": _windows_id(user_id)}))
            served_deletes.append(DeleteOne({"_id": user_id}))
            stats["users_cleared"] += 1
    # A served document goes before its windows and is written after them, so a load that dies
    # part-way leaves windows for the replay to find.
    _write(served, served_deletes, stats)
    _write(state, state_writes, stats)
    _write(served, served_writes, stats)


def _day_writes(user_id, hours, new, figures_by_hour):
    """The updates of the day documents holding ``hours`` of one user: set the new figures, unset
    the dropped ones, delete a day left without hours."""
    writes = []
    by_day = {}
    for hour in hours:
        by_day.setdefault(hour_text(hour)[:10], []).append(hour)
    for day, day_hours in sorted(by_day.items()):
        remaining = [hour for hour in figures_by_hour if hour_text(hour)[:10] == day]
        if not remaining:
            writes.append(DeleteOne({"_id": _day_id(user_id, day)}))
            continue
        update = {"$set": {"user_id": user_id, "day": day}}
        for hour in day_hours:
            if hour in new:
                update["$set"]["hours." + hour_text(hour)[11:]] = new[hour]
            else:
                update.setdefault("$unset", {})["hours." + hour_text(hour)[11:]] = ""
        writes.append(UpdateOne({"_id": _day_id(user_id, day)}, update, upsert=True))
    return writes


def _write(collection, operations, stats):
    if not operations:
        return
    try:
        collection.bulk_write(operations, ordered=False)
    except BulkWriteError as error:
        first = (error.details.get("writeErrors") or [{}])[0]
        raise ServiceError("bulk write to %s failed: code %s: %s" % (
            collection.name, first.get("code"), first.get("errmsg"))) from None
    stats["operations"] += len(operations)
