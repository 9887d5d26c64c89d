"""Loads whose documents span batches (sessions) read, merge and rewrite what other batches
wrote, so two of them into one database must not interleave: a run holds this lock, one per
collection, around such a load. Runs of other hours wait for it a while, then defer (exit 75)."""
import time
from contextlib import contextmanager

from batch.lock import LockHeld, PartitionLock

WAIT_SECONDS = 300.0
POLL_SECONDS = 0.5


@contextmanager
def merge_lock(db, collection, run_id, stale_seconds, wait_seconds=WAIT_SECONDS, sleep=time.sleep,
               clock=time.monotonic):
    """Hold ``merge:<collection>``; raises LockHeld if another run keeps it past ``wait_seconds``."""
    deadline = clock() + wait_seconds
    while True:
        lock = PartitionLock(db, "merge:%s" % collection, run_id, stale_seconds)
        try:
            with lock:
                yield lock
            return
        except LockHeld:
            if clock() >= deadline:
                raise
            sleep(POLL_SECONDS)
