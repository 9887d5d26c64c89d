"""Loader for mr_sessions output into ``sessions``: one document per true session, however many
hourly batches it spans and in whatever order the hours are loaded.

A batch covers the hours of its raw partition (``Batch.hours``: an hour, or a day), and it is the
whole truth about them: loading it replaces, in every stored session, the events of those hours
by the batch's. The sessions it touches are cut again from their events with the rules of
clickstream/sessions.py, so late events may extend a session, join two or precede one. What is
read is bounded by the batch's hours plus the sessions open at their edges (and, for a chain of
sessions the cap cut, the whole chain), never by history.

State, all looked up by unique keys only (so the stack's server uses its index):
- ``sessions``: a document per session, unique ``session_key`` (the JSON text of [session_id,
  user_id, start_time]), with its ``timeline`` ([microseconds, action, page, product] per event).
- ``session_days``: per user and UTC day, ``_id`` '<user>|YYYY-MM-DD', the sessions touching
  that day as [session_key, session id or null, start_us, end_us, continues, continued].
- ``session_hours``: per hour (``_id`` the hour number), the users with events in it, so a batch
  also clears the hours' events of users it no longer holds.
- ``session_journal``: a chunk's writes, recorded in full before any is applied and removed
  after. Every load first applies what a crashed load recorded, so a crash at any point leaves
  either the chunk's old state or its new one, never a mixture. Two loads into one database
  must not run at once (`clickstream run` takes a lock for that).
"""
import logging
from datetime import datetime, timedelta, timezone

import orjson
from pymongo import ASCENDING, DESCENDING, DeleteMany, DeleteOne, IndexModel, ReplaceOne

from clickstream.errors import ConfigError
from clickstream.sessions import MICROS_PER_HOUR, Rules, event_order, session_record, split_sessions
from loaders.base import Loader
from loaders.record_checks import RecordRejected, checked_records, count_reject, record_field

log = logging.getLogger("clickstream.loaders")
DAYS = "session_days"
HOURS = "session_hours"
JOURNAL = "session_journal"
MICROS_PER_DAY = 24 * MICROS_PER_HOUR
JOURNAL_PART_EVENTS = 50_000  # events per journal document: well below MongoDB's 16 MiB
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def session_key(session_id, user_id, start_time):
    """Injective whatever the ids hold ('|' included)."""
    return orjson.dumps([session_id, user_id, start_time]).decode()


def day_of(ts):
    return ts // MICROS_PER_DAY


def day_id(user_id, day):
    return "%s|%s" % (user_id, (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d"))


class Entry:
    """A stored session as ``session_days`` lists it."""

    __slots__ = ("key", "sid", "start", "end", "continues", "continued")

    def __init__(self, key, sid, start, end, continues, continued):
        self.key, self.sid, self.start, self.end = key, sid, start, end
        self.continues, self.continued = continues, continued

    def days(self):
        return range(day_of(self.start), day_of(self.end) + 1)

    def as_list(self):
        return [self.key, self.sid, self.start, self.end, self.continues, self.continued]


# --- the job's records ---------------------------------------------------------------------------

def _is_id(value):
    return value is None or (type(value) is str and value != "")


def checked_fragment(value, hours_us):
    """A job record -> (user_id, sid, timeline, Rules). Raises RecordRejected with a reject reason."""
    user_id, sid, timeline = (record_field(value, name) for name in ("user_id", "sid", "timeline"))
    if type(user_id) is not str or not user_id or not _is_id(sid) or type(timeline) is not list or not timeline:
        raise RecordRejected("bad_session")
    gap_us, cap_us = record_field(value, "gap_us"), record_field(value, "cap_us")
    if type(gap_us) is not int or type(cap_us) is not int or gap_us <= 0 or cap_us <= 0:
        raise RecordRejected("bad_session_rules")
    events = []
    for event in timeline:
        if type(event) is not list or len(event) != 4:
            raise RecordRejected("bad_session")
        ts, action, page, product = event
        if type(ts) is not int or type(action) is not str or not action or not (page is None or type(page) is str) \
                or not _is_id(product):
            raise RecordRejected("bad_session")
        if not hours_us[0] <= ts < hours_us[1]:
            raise RecordRejected("session_outside_batch")
        events.append((ts, action, page, product))
    return user_id, sid, events, Rules(gap_us, cap_us)


# --- the merge -----------------------------------------------------------------------------------

class _UserState:
    """What is known of one user's stored sessions: the loaded days and their entries."""

    def __init__(self, user_id):
        self.user_id = user_id
        self.days = {}  # day -> [Entry] (empty when the day holds none)
        self.entries = {}  # key -> Entry
        self.fresh = []  # the sessions this chunk cuts for the user

    def add_day(self, day, listed):
        self.days[day] = [Entry(*item) for item in listed]
        for entry in self.days[day]:
            self.entries[entry.key] = entry


class SessionMerge:
    """Merges one batch, chunk by chunk of users (see the module docstring)."""

    def __init__(self, db, batch, chunk_size):
        self.db = db
        self.batch = batch
        self.chunk_size = max(1, int(chunk_size))
        self.hours_us = (batch.hours[0] * MICROS_PER_HOUR, (batch.hours[-1] + 1) * MICROS_PER_HOUR)
        self.stats = {"matched": 0, "sessions_written": 0, "sessions_deleted": 0, "sessions_unchanged": 0,
                      "journal_replayed": 0}
        self.chunks = 0

    # reading state ------------------------------------------------------------------------------
    def _load_days(self, wanted):
        """wanted: {user: iterable of days} -> fills the states with the days not loaded yet."""
        ids = {}
        for state, days in wanted.items():
            for day in days:
                if day not in state.days:
                    state.days[day] = []
                    ids[day_id(state.user_id, day)] = (state, day)
        if not ids:
            return
        for document in self.db[DAYS].find({"_id": {"$in": list(ids)}}):
            state, day = ids[document["_id"]]
            state.add_day(day, document["sessions"])

    def _window_days(self, start, end):
        return range(day_of(start), day_of(end) + 1)

    def _gather(self, states, fragments, rules):
        """{user: {sid: [stored Entry]}}: per group the stored sessions this batch can change,
        closed over cap chains."""
        reach = max(rules.cap_us, rules.gap_us)
        low, high = self.hours_us
        self._load_days({state: self._window_days(low - reach, high + reach) for state in states.values()})
        gathered = {}
        for user_id, state in states.items():
            groups = {sid for sid, _events in fragments[user_id]}
            groups.update(entry.sid for entry in state.entries.values() if entry.start < high and entry.end >= low)
            gathered[user_id] = {}
            for sid in groups:
                margin = rules.boundary_us(sid is not None)
                chosen = [entry for entry in state.entries.values() if entry.sid == sid
                          and entry.end >= low - margin and entry.start < high + margin]
                gathered[user_id][sid] = chosen
        self._close_chains(states, gathered, rules)
        return gathered

    def _close_chains(self, states, gathered, rules):
        """Adds the rest of every cap chain a gathered session belongs to, loading days as needed."""
        while True:
            wanted, grown = {}, False
            for user_id, groups in gathered.items():
                state = states[user_id]
                for sid, chosen in groups.items():
                    if not chosen:
                        continue
                    margin = rules.boundary_us(sid is not None)
                    same = sorted((entry for entry in state.entries.values() if entry.sid == sid),
                                  key=lambda entry: entry.start)
                    first, last = min(chosen, key=lambda e: e.start), max(chosen, key=lambda e: e.start)
                    span = [entry for entry in same if first.start <= entry.start <= last.start]
                    missing = []
                    earlier = [entry for entry in same if entry.start < first.start]
                    if first.continues and not earlier:
                        missing.extend(self._window_days(first.start - margin, first.start))
                    elif first.continues:
                        span.insert(0, earlier[-1])
                    later = [entry for entry in same if entry.start > last.start]
                    if last.continued and not later:
                        missing.extend(self._window_days(last.end, last.end + margin))
                    elif last.continued:
                        span.append(later[0])
                    missing = [day for day in missing if day not in state.days]
                    if missing:
                        wanted[state] = missing
                    grown = grown or len(span) > len(chosen)
                    groups[sid] = span
            if not wanted and not grown:
                return
            self._load_days(wanted)

    # merging ------------------------------------------------------------------------------------
    def merge_chunk(self, fragments):
        """fragments: {user_id: [(sid, events)]} -> applies the chunk; all with the same rules."""
        rules = self.rules
        states = {user_id: _UserState(user_id) for user_id in fragments}
        gathered = self._gather(states, fragments, rules)
        keys = [entry.key for groups in gathered.values() for chosen in groups.values() for entry in chosen]
        stored = {document["session_key"]: document for document in self.db.sessions.find(
            {"session_key": {"$in": keys}}, {"_id": 0, "session_key": 1, "timeline": 1, "continues": 1,
                                              "continued": 1})} if keys else {}
        upserts, deletes, changed_days = [], [], {}
        low, high = self.hours_us
        for user_id, groups in gathered.items():
            state = states[user_id]
            new_events = {}
            for sid, events in fragments[user_id]:
                new_events.setdefault(sid, []).extend(events)
            for sid, chosen in groups.items():
                events = list(new_events.get(sid, ()))
                for entry in chosen:
                    document = stored.get(entry.key)
                    if document is None:
                        raise ConfigError("sessions: %s lists session %s, which is missing from the sessions "
                                          "collection; was it edited by hand?" % (DAYS, entry.key))
                    events.extend(tuple(event) for event in document["timeline"] if not low <= event[0] < high)
                events.sort(key=event_order)
                old_keys = {entry.key for entry in chosen}
                fresh = []
                for session in split_sessions(events, sid is not None, rules):
                    record = session_record(session, user_id, sid, rules)
                    key = session_key(record["session_id"], user_id, record["start_time"])
                    fresh.append(Entry(key, sid, session.start, session.end, session.continues, session.continued))
                    previous = stored.get(key)
                    if previous is not None and key in old_keys and previous["timeline"] == record["timeline"] \
                            and (previous["continues"], previous["continued"]) == (session.continues,
                                                                                 session.continued):
                        self.stats["sessions_unchanged"] += 1
                        continue
                    upserts.append(served_document(key, record))
                fresh_keys = {entry.key for entry in fresh}
                deletes.extend(key for key in old_keys if key not in fresh_keys)
                for entry in chosen:
                    for day in entry.days():
                        changed_days.setdefault((user_id, day), set()).add(entry.key)
                for entry in fresh:
                    for day in entry.days():
                        changed_days.setdefault((user_id, day), set())
                state.fresh.extend(fresh)
        wanted = {}
        for user_id, day in changed_days:
            wanted.setdefault(states[user_id], []).append(day)
        self._load_days(wanted)
        day_lists = []
        for (user_id, day), removed in sorted(changed_days.items()):
            state = states[user_id]
            dropped = removed | {entry.key for entry in state.fresh}
            kept = [entry for entry in state.days.get(day, ()) if entry.key not in dropped]
            kept += [entry for entry in state.fresh if day in entry.days()]
            kept.sort(key=lambda entry: (entry.start, entry.key))
            day_lists.append([day_id(user_id, day), user_id, day, [entry.as_list() for entry in kept]])
        self._commit(upserts, deletes, day_lists)

    # writing ------------------------------------------------------------------------------------
    def _commit(self, upserts, deletes, day_lists):
        self.chunks += 1
        name = "%s|%d" % (self.batch.id, self.chunks)
        part_ids = write_journal(self.db, name, upserts, deletes, day_lists)
        apply_writes(self.db, upserts, deletes, day_lists, part_ids + [name])
        self.stats["sessions_written"] += len(upserts)
        self.stats["sessions_deleted"] += len(deletes)

    def run(self, records, rejected):
        self.stats["journal_replayed"] = replay_journals(self.db)
        self.rules = None
        fragments = {}
        checked = checked_records(records, rejected, lambda _key, value: checked_fragment(value, self.hours_us))
        for user_id, sid, events, rules in checked:
            if self.rules is None:
                self.rules = rules
            elif rules != self.rules:
                count_reject(rejected, "session_rules_differ")
                continue
            fragments.setdefault(user_id, []).append((sid, events))
            self.stats["matched"] += 1
        hours = self.db[HOURS]
        listed = set()
        for document in hours.find({"_id": {"$in": list(self.batch.hours)}}):
            listed.update(document["users"])
        for user_id in listed - set(fragments):
            fragments[user_id] = []  # had events in these hours, has none now: they are removed
        if self.rules is None:
            self.rules = Rules.of()
        users = sorted(fragments)
        for index in range(0, len(users), self.chunk_size):
            self.merge_chunk({user: fragments[user] for user in users[index:index + self.chunk_size]})
        by_hour = {hour: set() for hour in self.batch.hours}
        for user_id, pieces in fragments.items():
            for _sid, events in pieces:
                for event in events:
                    by_hour[event[0] // MICROS_PER_HOUR].add(user_id)
        hours.bulk_write([ReplaceOne({"_id": hour}, {"users": sorted(users)}, upsert=True)
                          for hour, users in by_hour.items()], ordered=False)
        return self.stats


def served_document(key, record):
    """The ``sessions`` document of one job-style record."""
    from clickstream.events import parse_ts, ts_to_datetime

    document = dict(record, session_key=key, start_time=ts_to_datetime(parse_ts(record["start_time"])),
                    end_time=ts_to_datetime(parse_ts(record["end_time"])), updated_at=datetime.now(timezone.utc))
    return document


# --- the journal ---------------------------------------------------------------------------------

def _part_ids(name, parts):
    return ["%s|part%d" % (name, number) for number in range(parts)]


def write_journal(db, name, upserts, deletes, day_lists):
    """Records a chunk's writes as parts, then a commit document naming how many there are.
    Returns the parts' ids."""
    journal = db[JOURNAL]
    parts, part, size = [], [], 0
    for document in upserts:
        part.append(document)
        size += len(document["timeline"])
        if size >= JOURNAL_PART_EVENTS:
            parts.append(part)
            part, size = [], 0
    parts.append(part)
    part_ids = _part_ids(name, len(parts))
    for part_id, documents in zip(part_ids, parts):
        journal.replace_one({"_id": part_id}, {"journal": name, "upserts": documents}, upsert=True)
    journal.replace_one({"_id": name}, {"journal": name, "parts": len(parts), "deletes": deletes, "days": day_lists},
                        upsert=True)
    return part_ids


def apply_journal(db, name):
    """Applies a committed chunk as the journal holds it (a crashed load's), then removes its record."""
    journal = db[JOURNAL]
    commit = journal.find_one({"_id": name})
    part_ids = _part_ids(name, commit["parts"])
    upserts = [document for part in journal.find({"_id": {"$in": part_ids}}) for document in part["upserts"]]
    apply_writes(db, upserts, commit["deletes"], commit["days"], part_ids + [name])


def apply_writes(db, upserts, deletes, day_lists, journal_ids):
    """Applies a chunk's journalled writes, then removes the journal's record of them. Idempotent
    (whole documents by key), so a crash here is repaired by applying the journal again. The load
    that wrote the journal passes the writes it holds rather than reading them back."""
    operations = [ReplaceOne({"session_key": document["session_key"]}, document, upsert=True)
                  for document in upserts]
    if operations:
        db.sessions.bulk_write(operations, ordered=False)
    day_operations = [ReplaceOne({"_id": identity}, {"user_id": user_id, "day": day, "sessions": listed}, upsert=True)
                      if listed else DeleteOne({"_id": identity}) for identity, user_id, day, listed in day_lists]
    if day_operations:
        db[DAYS].bulk_write(day_operations, ordered=False)
    if deletes:
        db.sessions.bulk_write([DeleteMany({"session_key": {"$in": deletes}})])
    db[JOURNAL].delete_many({"_id": {"$in": journal_ids}})


def replay_journals(db):
    """Applies every chunk a crashed load committed to the journal; drops parts never committed.
    Returns how many chunks were applied."""
    journal = db[JOURNAL]
    commits = [document["_id"] for document in journal.find({"parts": {"$exists": True}}, {"_id": 1})]
    for name in commits:
        log.warning("sessions: applying chunk %s, which a load recorded but did not finish", name)
        apply_journal(db, name)
    journal.delete_many({})  # what is left are parts of a chunk whose commit was never written
    return len(commits)


class Sessions(Loader):
    """The ``sessions`` collection's loader: merges whole batches, whose sessions may span others."""

    COLLECTION = "sessions"
    KEY_FIELD = "session_key"
    ADDITIVE = False  # a batch is the whole truth about its hours: a late file means recomputing the hour
    MERGES_ACROSS_BATCHES = True
    INDEXES = [IndexModel([("session_key", ASCENDING)], unique=True, name="session_key_unique"),
               IndexModel([("user_id", ASCENDING), ("start_time", DESCENDING)], name="user_sessions_by_time"),
               IndexModel([("session_id", ASCENDING)], name="session_id")]

    @classmethod
    def merge_batch(cls, db, records, batch, rejected, chunk_size):
        if batch.hours is None:
            raise ConfigError("load sessions: batch %r names no raw partition; sessions merge across batches by "
                              "the hours a batch covers: load a dt=YYYY-MM-DD[/hour=HH] output folder, or give "
                              "--batch-id sessions:dt=YYYY-MM-DD[/hour=HH]" % (batch.id,))
        return SessionMerge(db, batch, chunk_size).run(records, rejected)
