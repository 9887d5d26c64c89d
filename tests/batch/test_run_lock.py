"""The run lock's view of its holder on this host: a zombie, a process that is gone, or a pid
reused by another process counts as dead; a live holder does not. Real child processes."""
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from batch import lock
from batch.lock import LOCKS, LockHeld, PartitionLock, parse_proc_stat, process_status

PARTITION = "dt=2024-12-29/hour=05"


def proc_state(pid):
    """Independent of the module: the state letter of /proc/<pid>/stat, None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as stream:
            return stream.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def wait_until(condition, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out after %ds waiting for %s" % (timeout, what)
        time.sleep(0.01)


@pytest.fixture
def zombie():
    """The pid of a child that has exited and is not reaped yet; reaped afterwards."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        wait_until(lambda: proc_state(pid) == "Z", "the child to become a zombie")
        yield pid
    finally:
        os.waitpid(pid, 0)


@pytest.fixture
def live_child():
    """A child that runs until its stdin closes; closed and reaped afterwards."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        yield child
    finally:
        child.stdin.close()
        child.wait(timeout=60)


def held_by(pid, **fields):
    return dict({"host": socket.gethostname(), "pid": pid}, **fields)


@pytest.mark.parametrize("text, parsed", [
    ("4242 (python3) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2 3\n", ("S", 987654)),
    ("7 (a (b) c) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0\n", ("Z", 55)),  # a name with ") "
    ("9 (x) R 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12", ("R", 12)),
    ("9 (x) R 1 9 9", None),  # cut short
    ("9 (x) R 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 soon", None),
    ("no parenthesis here", None),
    ("", None),
])
def test_parse_proc_stat(text, parsed):
    assert parse_proc_stat(text) == parsed


def test_a_zombie_holder_is_dead_on_its_host(zombie):
    assert lock._dead_here(held_by(zombie))


def test_a_live_holder_is_alive_and_dead_once_it_exited_and_was_reaped(live_child):
    held = held_by(live_child.pid, pid_started=process_status(live_child.pid)[1])
    assert not lock._dead_here(held)
    live_child.stdin.close()
    live_child.wait(timeout=60)
    assert lock._dead_here(held)


def test_a_pid_reused_by_another_process_is_a_dead_holder():
    _alive, started = process_status(os.getpid())
    assert started is not None
    assert not lock._dead_here(held_by(os.getpid(), pid_started=started))
    assert lock._dead_here(held_by(os.getpid(), pid_started=started + "0"))  # same pid, another start


def test_a_holder_on_another_host_is_never_dead_here(zombie):
    assert not lock._dead_here({"host": socket.gethostname() + "-elsewhere", "pid": zombie})
    assert not lock._dead_here({"host": socket.gethostname(), "pid": "4242"})


def test_without_proc_psutil_tells_a_zombie(monkeypatch, tmp_path, zombie):
    pytest.importorskip("psutil")
    monkeypatch.setattr(lock, "PROC", str(tmp_path / "no-proc"))
    assert lock._dead_here(held_by(zombie))
    alive, started = process_status(os.getpid())
    assert alive and started.startswith("psutil:")


def test_without_proc_nor_psutil_a_gone_holder_is_dead(monkeypatch, tmp_path, live_child):
    monkeypatch.setattr(lock, "PROC", str(tmp_path / "no-proc"))
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil raises ImportError
    assert process_status(live_child.pid) == (True, None)
    live_child.stdin.close()
    live_child.wait(timeout=60)
    assert lock._dead_here(held_by(live_child.pid))


def test_a_run_takes_over_at_once_a_lock_whose_holder_is_a_zombie(mongo_db, zombie):
    now = datetime.now(timezone.utc)
    mongo_db[LOCKS].insert_one(dict(held_by(zombie), _id=PARTITION, token="killed", run_id="killed-run",
                                    acquired_at=now, heartbeat_at=now))
    with PartitionLock(mongo_db, PARTITION, "next-run", stale_seconds=1800):
        held = mongo_db[LOCKS].find_one({"_id": PARTITION})
        assert held["run_id"] == "next-run" and held["pid"] == os.getpid()
        assert held["pid_started"] == process_status(os.getpid())[1]
    assert mongo_db[LOCKS].count_documents({}) == 0


def test_a_live_holder_keeps_its_lock(mongo_db, live_child):
    holder = PartitionLock(mongo_db, PARTITION, "holder-run", stale_seconds=1800, pid=live_child.pid).acquire()
    assert mongo_db[LOCKS].find_one({"_id": PARTITION})["pid_started"] == process_status(live_child.pid)[1]
    with pytest.raises(LockHeld, match=r"is locked by run holder-run on .* \(pid %d\)" % live_child.pid):
        PartitionLock(mongo_db, PARTITION, "second-run", stale_seconds=1800).acquire()
    live_child.stdin.close()
    live_child.wait(timeout=60)
    PartitionLock(mongo_db, PARTITION, "third-run", stale_seconds=1800).acquire()  # the holder is gone now
    assert mongo_db[LOCKS].find_one({"_id": PARTITION})["run_id"] == "third-run"
    assert holder.token != mongo_db[LOCKS].find_one({"_id": PARTITION})["token"]
