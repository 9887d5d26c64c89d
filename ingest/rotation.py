"""Pure rotation and memory decisions: when a partition's open files close, which buffers spill.

A partition's open hour files always close together (one flush), so "committed up to offset X"
stays one number per partition; see ingest/recovery.py.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class RotationLimits:
    events: int
    bytes: int
    seconds: float
    open_files: int

    @classmethod
    def from_config(cls, config):
        return cls(config.rotate_events, config.rotate_bytes, config.rotate_seconds, config.max_open_files)


def flush_reason(events, size, opened_at, open_files, now, limits):
    """Why a partition's open files should close now, or None.

    ``events`` and ``size`` count what the partition holds since its last flush, ``opened_at`` is
    the wall-clock time its first record arrived (None when it holds nothing), ``open_files`` the
    number of distinct folders it writes. Returns 'events', 'bytes', 'seconds', 'open_files' or None.
    """
    if not events:
        return None
    if events >= limits.events:
        return "events"
    if size >= limits.bytes:
        return "bytes"
    if open_files > limits.open_files:
        return "open_files"
    if opened_at is not None and now - opened_at >= limits.seconds:
        return "seconds"
    return None


def buffers_to_spill(buffered, budget):
    """Given {key: bytes buffered in memory} whose sum exceeds ``budget``, the keys to spill to
    their temp files, largest first, until at most half the budget stays in memory (spilling a
    little at a time would turn into many tiny appends)."""
    total = sum(buffered.values())
    if total <= budget:
        return []
    chosen = []
    for key, size in sorted(buffered.items(), key=lambda item: (-item[1], item[0])):
        if total <= budget // 2 or size == 0:
            break
        chosen.append(key)
        total -= size
    return chosen
