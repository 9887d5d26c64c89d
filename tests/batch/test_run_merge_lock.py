"""The per-collection merge lock: held around a merging load, waited for, then deferred."""
import os
import socket
from datetime import datetime, timezone

import pytest

from batch.lock import LOCKS, LockHeld
from batch.merge_lock import merge_lock


def test_the_lock_is_held_inside_and_released_after(mongo_db):
    with merge_lock(mongo_db, "sessions", "run-a", 60):
        held = mongo_db[LOCKS].find_one({"_id": "merge:sessions"})
        assert held["run_id"] == "run-a"
    assert mongo_db[LOCKS].count_documents({}) == 0


def test_a_live_holder_is_waited_for_then_the_run_defers(mongo_db):
    now = datetime.now(timezone.utc)
    mongo_db[LOCKS].insert_one({"_id": "merge:sessions", "token": "t", "run_id": "run-b", "host": socket.gethostname(),
                                "pid": os.getpid(), "acquired_at": now, "heartbeat_at": now})
    waited = []
    ticks = iter(range(100))
    with pytest.raises(LockHeld, match="merge:sessions is locked by run run-b"):
        with merge_lock(mongo_db, "sessions", "run-a", 60, wait_seconds=3, sleep=waited.append,
                        clock=lambda: next(ticks)):
            pass
    assert waited == [0.5, 0.5]  # checked at t=1 and t=2; at t=3 the wait is over


def test_a_holder_that_releases_while_waited_for_lets_the_run_go_on(mongo_db):
    now = datetime.now(timezone.utc)
    mongo_db[LOCKS].insert_one({"_id": "merge:sessions", "token": "t", "run_id": "run-b", "host": socket.gethostname(),
                                "pid": os.getpid(), "acquired_at": now, "heartbeat_at": now})
    entered = []
    with merge_lock(mongo_db, "sessions", "run-a", 60, wait_seconds=10,
                    sleep=lambda _s: mongo_db[LOCKS].delete_one({"_id": "merge:sessions"})):
        entered.append(mongo_db[LOCKS].find_one({"_id": "merge:sessions"})["run_id"])
    assert entered == ["run-a"]
