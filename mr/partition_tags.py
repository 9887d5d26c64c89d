"""One job launch over many hour partitions, with output as if each hour had run alone.

`clickstream run` over many hours (``--date``, ``--backfill``, ``--latest-complete`` catching up)
launches each job once with ``--by-partition`` instead of once per hour (on Hadoop a launch costs a
minute or more). Every key then carries the raw partition of the file it came from, ahead of the
job's own key: ``["dt=…/hour=…", key]``. Keys sort by that prefix first, so a reduce task meets the
partitions one after the other, and ``ClickstreamJob`` runs the job's init and final hooks around
each, as if the task had been the hour's own. The job's counters of the clickstream groups are
tallied per partition and travel with the data as records keyed ``["dt=…/hour=…"]`` (Hadoop's
counters are few and global); `split_tagged_lines` turns the output back into each hour's lines,
byte for byte what the hour's own launch writes, and each hour's counters.
"""
import re

import orjson

from clickstream.layout import HOUR_PARTITION_PATTERN

PARTITION_OF_URI = re.compile("(%s)/[^/]+\\Z" % HOUR_PARTITION_PATTERN)
_PARTITION = re.compile(HOUR_PARTITION_PATTERN.encode() + rb"\Z")
_PARTITION_LENGTH = len("dt=2024-12-29/hour=03")
_KEY_START = len(b'["')
_KEY_END = _KEY_START + _PARTITION_LENGTH


class TaggedOutputError(ValueError):
    """A line of a ``--by-partition`` launch's output does not carry a partition tag."""


def partition_of_uri(uri):
    """The raw partition ('dt=…/hour=…') of a raw file's URI; ValueError for a file outside one."""
    match = PARTITION_OF_URI.search(uri.rstrip("/"))
    if not match:
        raise ValueError("--by-partition: %r is not a file of a raw hour partition (…/dt=YYYY-MM-DD/hour=HH/name)"
                         % uri)
    return match.group(1)


def counts_record(tally):
    """A partition's tallied counters {(group, name): n} -> the value of its counts record."""
    return [[group, name, count] for (group, name), count in sorted(tally.items())]


def add_counts(tally, value):
    """Add a counts record's value into a tally {(group, name): n}."""
    for group, name, count in value:
        tally[(group, name)] = tally.get((group, name), 0) + count


def split_tagged_lines(lines, by_partition, counts):
    """Untag the output ``lines`` (bytes, each ending in a newline or not) of a ``--by-partition``
    launch: a job record ``["dt=…", key]<TAB>value`` is appended, as ``key<TAB>value\\n``, to
    ``by_partition[partition]`` (a list); a counts record is added into ``counts[partition]`` (a
    tally). The key's bytes are sliced, not re-encoded, so each hour's lines are exactly its own
    launch's. Raises TaggedOutputError for a line without a tag."""
    for line in lines:
        line = line.rstrip(b"\r\n")
        if not line:
            continue
        key, tab, value = line.partition(b"\t")
        partition = key[_KEY_START:_KEY_END]
        if not (tab and key.startswith(b'["') and key[_KEY_END:_KEY_END + 1] == b'"' and _PARTITION.match(partition)):
            raise TaggedOutputError("--by-partition output line without a partition tag: %r" % line[:120])
        rest = key[_KEY_END + 1:]
        name = partition.decode("ascii")
        if rest == b"]":
            add_counts(counts.setdefault(name, {}), orjson.loads(value))
        elif rest.startswith(b",") and rest.endswith(b"]"):
            by_partition.setdefault(name, []).append(rest[1:-1] + b"\t" + value + b"\n")
        else:
            raise TaggedOutputError("--by-partition output line with a malformed key: %r" % line[:120])


def counters_of(tally):
    """A tally {(group, name): n} -> {group: {name: n}}, the shape of a launch's summed counters."""
    counters = {}
    for (group, name), count in tally.items():
        counters.setdefault(group, {})[name] = count
    return counters
