"""One `clickstream run` at a time per hour partition: a lock document in MongoDB (``run_locks``,
keyed by the partition), so runs on different machines exclude each other too.

A holder refreshes ``heartbeat_at`` while it works. A lock whose heartbeat is older than the stale
timeout belongs to a run that died (on the holder's own host, a holder whose process is gone, a
zombie, or whose pid now belongs to a process started at another time is dead at once): the next
run takes it over, with a compare-and-delete on the
old holder's token so two runs cannot both take over. A holder that finds its token gone (it
stalled past the timeout and was taken over) stops before its next step.
"""
import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone

from pymongo.errors import DuplicateKeyError, PyMongoError

from clickstream.errors import ClickstreamError

LOCKS = "run_locks"
_log = logging.getLogger(__name__)


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


PROC = "/proc"
_NOT_RUNNING = ("Z", "X", "x")  # zombie, dead


def parse_proc_stat(text):
    """(state letter, start time in clock ticks after boot) from a /proc/<pid>/stat line, or None.
    The command name, in parentheses, may itself hold spaces and parentheses: split after the last."""
    _name, closing, rest = text.rpartition(")")
    fields = rest.split()
    if not closing or len(fields) < 20 or not fields[19].isdigit():
        return None
    return fields[0], int(fields[19])


def process_status(pid):
    """(alive, started) for a pid on this host: a zombie is not alive; ``started`` tells this
    process from a later one with the same pid ("proc:<ticks>" or "psutil:<time>"; None if unknown).
    Reads /proc, else psutil, else os.kill (which cannot tell a zombie from a live process)."""
    if os.path.isdir(os.path.join(PROC, "self")):
        try:
            with open(os.path.join(PROC, str(pid), "stat"), "rb") as stream:
                parsed = parse_proc_stat(stream.read().decode("utf-8", "replace"))
        except FileNotFoundError:
            return False, None
        except OSError:
            parsed = None
        if parsed:
            return parsed[0] not in _NOT_RUNNING, "proc:%d" % parsed[1]
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            process = psutil.Process(pid)
            return (process.status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD),
                    "psutil:%r" % process.create_time())
        except psutil.NoSuchProcess:  # a zombie's create_time raises ZombieProcess, one of these
            return False, None
        except psutil.Error:
            pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False, None
    except PermissionError:
        pass
    return True, None


def _dead_here(held):
    """True when the holder ran on this host and its process is gone (killed, crashed), is a zombie
    nobody reaped (PID 1 in a container without an init), or its pid now names a process started
    at another time: its lock is stale now, not after the timeout."""
    if held.get("host") != socket.gethostname() or not isinstance(held.get("pid"), int):
        return False
    alive, started = process_status(held["pid"])
    if not alive:
        return True
    recorded = held.get("pid_started")
    # Compare only tokens read the same way (both from /proc, or both from psutil).
    return (isinstance(recorded, str) and started is not None
            and recorded.split(":")[0] == started.split(":")[0] and recorded != started)


class PartitionLock:
    """``with PartitionLock(db, "dt=…/hour=…", run_id, stale_seconds):`` holds the lock, with a
    heartbeat thread, or raises LockHeld naming the holder."""

    def __init__(self, db, partition, run_id, stale_seconds, pid=None, clock=None):
        self.collection = db[LOCKS]
        self.partition = partition
        self.run_id = run_id
        self.stale = timedelta(seconds=stale_seconds)
        self.token = uuid.uuid4().hex
        self.pid = pid or os.getpid()
        self.pid_started = process_status(self.pid)[1]
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._stop = threading.Event()
        self._thread = None
        self.lost = False

    def acquire(self):
        for _attempt in range(3):
            now = self._clock()
            try:
                self.collection.insert_one({"_id": self.partition, "token": self.token, "run_id": self.run_id,
                                            "host": socket.gethostname(), "pid": self.pid,
                                            "pid_started": self.pid_started, "acquired_at": now,
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
            except PyMongoError as error:  # a server hiccup: the next beat retries; staleness takes minutes
                _log.warning("run lock %s: heartbeat failed, retrying in %.0f s: %s", self.partition, period,
                             str(error).splitlines()[0] if str(error) else type(error).__name__)

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
