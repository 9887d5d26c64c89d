"""One `clickstream run` at a time per hour partition: a lock document in MongoDB (``run_locks``,
keyed by the partition), so runs on different machines exclude each other too.

A holder refreshes ``heartbeat_at`` while it works. A lock whose heartbeat is older than the stale
timeout belongs to a run that died (on the holder's own host, a holder whose process is gone is
dead at once): the next run takes it over, with a compare-and-delete on the
old holder's token so two runs cannot both take over. A holder that finds its token gone (it
stalled past the timeout and was taken over) stops before its next step.
"""
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone

from pymongo.errors import DuplicateKeyError

from clickstream.errors import ClickstreamError

LOCKS = "run_locks"


class LockHeld(ClickstreamError):
    """Another run holds the partition's lock (and its heartbeat is fresh)."""


class LockLost(ClickstreamError):
    """This run's lock was taken over after its heartbeat went stale."""


def _utc(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def describe_holder(document, now):
    age = (now - _utc(document["heartbeat_at"])).total_seconds()
    return "run %s on %s (pid %s), started %s, heartbeat %ds ago" % (
        document.get("run_id"), document.get("host"), document.get("pid"),
        _utc(document["acquired_at"]).strftime("%Y-%m-%dT%H:%M:%SZ"), age)


def _dead_here(held):
    """True when the holder ran on this host and its process is gone (killed, crashed): its lock
    is stale now, not after the timeout. A reused pid merely looks alive, which is safe."""
    import os

    if held.get("host") != socket.gethostname() or not isinstance(held.get("pid"), int):
        return False
    try:
        os.kill(held["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class PartitionLock:
    """``with PartitionLock(db, "dt=…/hour=…", run_id, stale_seconds):`` holds the lock, with a
    heartbeat thread, or raises LockHeld naming the holder."""

    def __init__(self, db, partition, run_id, stale_seconds, pid=None, clock=None):
        import os

        self.collection = db[LOCKS]
        self.partition = partition
        self.run_id = run_id
        self.stale = timedelta(seconds=stale_seconds)
        self.token = uuid.uuid4().hex
        self.pid = pid or os.getpid()
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._stop = threading.Event()
        self._thread = None
        self.lost = False

    def acquire(self):
        for _attempt in range(3):
            now = self._clock()
            try:
                self.collection.insert_one({"_id": self.partition, "token": self.token, "run_id": self.run_id,
                                            "host": socket.gethostname(), "pid": self.pid, "acquired_at": now,
                                            "heartbeat_at": now})
                return self
            except DuplicateKeyError:
                held = self.collection.find_one({"_id": self.partition})
                if held is None:
                    continue  # released meanwhile
                if now - _utc(held["heartbeat_at"]) <= self.stale and not _dead_here(held):
                    raise LockHeld("partition %s is locked by %s; it is stale after %ds without a heartbeat"
                                   % (self.partition, describe_holder(held, now), self.stale.total_seconds()))
                self.collection.delete_one({"_id": self.partition, "token": held["token"]})
        raise LockHeld("partition %s: the lock kept changing hands; another run is taking it" % self.partition)

    def heartbeat(self):
        """Refresh the heartbeat; raises LockLost if the lock is no longer this run's."""
        result = self.collection.update_one({"_id": self.partition, "token": self.token},
                                            {"$set": {"heartbeat_at": self._clock()}})
        if result.matched_count != 1:
            self.lost = True
            raise LockLost("partition %s: this run's lock was taken over (its heartbeat was older than %ds)"
                           % (self.partition, self.stale.total_seconds()))

    def check(self):
        """Between steps: stop if the heartbeat thread found the lock lost."""
        if self.lost:
            raise LockLost("partition %s: this run's lock was taken over; stopping before the next step"
                           % self.partition)

    def release(self):
        self.collection.delete_one({"_id": self.partition, "token": self.token})

    def _beat(self, period):
        while not self._stop.wait(period):
            try:
                self.heartbeat()
            except LockLost:
                return
            except Exception:  # a server hiccup: the next beat retries; staleness takes minutes
                continue

    def __enter__(self):
        self.acquire()
        period = max(1.0, min(60.0, self.stale.total_seconds() / 4))
        self._thread = threading.Thread(target=self._beat, args=(period,), name="run-lock-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(timeout=5)
        self.release()
        return False
