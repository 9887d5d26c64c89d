"""Measuring a benchmark's subprocess: wall time, stderr, and (on request) the peak RSS of its tree."""
import os
import subprocess
import tempfile
import threading
import time

POLL_SECONDS = 0.1


class PeakPoller:
    """Polls ``sample() -> ({kind: bytes}, total bytes)`` every ``period`` seconds on a thread until
    the ``with`` block ends; keeps each kind's peak and the peak of the total."""

    def __init__(self, period=POLL_SECONDS):
        self.period = period
        self.peaks = {}
        self.total_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def sample(self):
        raise NotImplementedError

    def _poll(self):
        while not self._stop.is_set():
            measured = self.sample()
            if measured is None:
                return
            by_kind, total = measured
            for kind, value in by_kind.items():
                self.peaks[kind] = max(self.peaks.get(kind, 0), value)
            self.total_peak = max(self.total_peak, total)
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()


class PeakMemory(PeakPoller):
    """Polls a process and its descendants with psutil; keeps the peak RSS per kind of process
    (mapper, reducer, sort, launcher/other) and the peak of their sum."""

    def __init__(self, pid):
        import psutil

        super().__init__()
        self._psutil = psutil
        self.root = psutil.Process(pid)

    @staticmethod
    def kind(cmdline, is_root):
        text = " ".join(cmdline)
        if "--mapper" in text or "mapper.py" in text:
            return "mapper"
        if "--reducer" in text or "reducer.py" in text:
            return "reducer"
        if cmdline and os.path.basename(cmdline[0]) == "sort":
            return "sort"
        if "java" in os.path.basename(cmdline[0] if cmdline else ""):
            return "hadoop jvm"
        return "launcher" if is_root else "other"

    def sample(self):
        try:
            processes = [self.root] + self.root.children(recursive=True)
        except self._psutil.Error:
            return None  # the process is gone: nothing more to poll
        by_kind, total = {}, 0
        for process in processes:
            try:
                rss = process.memory_info().rss
                kind = self.kind(process.cmdline(), process.pid == self.root.pid)
            except self._psutil.Error:
                continue
            total += rss
            by_kind[kind] = max(by_kind.get(kind, 0), rss)
        return by_kind, total


def run_measured(command, stdout_path, cwd=None, env=None, poll_memory=False):
    """Run ``command`` with stdout to a file; returns (wall seconds, stderr text, PeakMemory or None).

    Timed runs do not poll: psutil walks /proc for the process tree at every poll, and that CPU
    would come out of the two cores the job is measured on. Memory runs poll, and are not timed.
    Raises SystemExit with the command's stderr when it fails."""
    with open(stdout_path, "wb") as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=cwd, env=env)
        if poll_memory:
            with PeakMemory(process.pid) as memory:
                returncode = process.wait()
        else:
            memory, returncode = None, process.wait()
        wall = time.perf_counter() - started
        stderr.seek(0)
        errors = stderr.read().decode("utf-8", "replace")
    if returncode:
        raise SystemExit("bench: %s failed (exit %d):\n%s" % (" ".join(command), returncode, errors[-4000:]))
    return wall, errors, memory


def mib(count):
    return round(count / (1 << 20), 1)
