"""In-mapper combining bounded by memory, not by a key count: a map task's table of partial
records spills when the task's resident memory nears ``--combine-memory-mb``, whatever the
number of keys or the size of their records.

Why resident memory: it is what a YARN container or the OOM killer counts, and it includes what
no per-record estimate sees (the interpreter, the parser's caches, the dict's own slots).

How it stays cheap: the task's memory is read (one small /proc read) every ``CHECK_EVERY`` new
keys, not per event. Memory a spilled table freed is kept by Python's allocator for the next
table, so after the first spill the resident size no longer says how full the table is: the
number of keys held at that first spill becomes the task's key limit from then on.
"""
import resource
import sys

from mr.fields import positive_number

DEFAULT_COMBINE_MEMORY_MB = 256
MiB = 1024 * 1024
CHECK_EVERY = 4096  # new keys between two reads of the task's memory
# The table spills when memory reaches this fraction of the budget: the keys added between two
# reads and the spill's own buffers still fit under it (measured: spilling at the budget itself
# peaked 8% over a 64 MiB one).
SPILL_FRACTION = 0.85

_PAGE_SIZE = resource.getpagesize()


def resident_bytes():
    """This process's resident memory now (Linux), or its peak where /proc is missing."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


class MemoryBudget:
    """When a combining table must spill. ``limit`` is the key count at which the job calls
    ``check(len(table))``; ``check`` returns True when the table must spill now (and moves the
    limit on either way). ``max_keys``: an optional hard key cap as well (None: memory only)."""

    def __init__(self, budget_bytes, max_keys=None, measure=resident_bytes):
        if budget_bytes <= 0:
            raise ValueError("combine memory budget: %r; expected a positive number of bytes" % budget_bytes)
        self.budget_bytes = budget_bytes
        self.spill_bytes = int(budget_bytes * SPILL_FRACTION)
        self.max_keys = max_keys
        self._measure = measure
        self._calibrated = None  # keys held at the first spill caused by memory
        self.peak_bytes = 0
        self.limit = self._next(0)

    def _next(self, keys):
        cap = self._calibrated if self._calibrated is not None else keys + CHECK_EVERY
        return max(1, min(cap, self.max_keys) if self.max_keys else cap)

    def check(self, keys):
        """At ``keys`` == ``limit``: True when the table must spill now."""
        if self.max_keys and keys >= self.max_keys:
            self.limit = self._next(0)
            return True
        if self._calibrated is not None:
            self.limit = self._calibrated
            return keys >= self._calibrated
        used = self._measure()
        self.peak_bytes = max(self.peak_bytes, used)
        if used >= self.spill_bytes:
            self._calibrated = max(1, keys)
            self.limit = self._next(0)
            return True
        self.limit = self._next(keys)
        return False


def budget_from_options(options, max_keys=None):
    """The MemoryBudget of a job's ``--combine-memory-mb`` and an optional key cap."""
    return MemoryBudget(int(options.combine_memory_mb * MiB), max_keys or None)


def add_combine_memory_arg(job):
    """The ``--combine-memory-mb`` passthrough option every combining job takes."""
    job.add_passthru_arg(
        "--combine-memory-mb", type=positive_number(float), default=DEFAULT_COMBINE_MEMORY_MB,
        help="a map task spills its in-memory combining table when its resident memory reaches 85%% of this many "
             "MiB (default %(default)s)")
