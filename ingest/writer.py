"""The partition writer: buffers one topic-partition's records into per-hour temp files and
commits them with one manifest per flush (recovery from the sink is in ingest/recovery.py).

A flush of partition p (the argument for exactly once is in ingest/recovery.py):
  1. every open file of p is completed under _ingest/tmp/<topic>+<p>/ (fsync'd for file://);
  2. the manifest _ingest/manifests/<topic>+<p>+<last>.json is written under a hidden name and
     renamed into place: the commit point;
  3. each temp file is renamed to <folder>/<topic>+<p>+<first>+<last>.jsonl;
  4. older manifests of p are deleted (the newest stays: it carries p's event-time progress);
  5. the caller commits <last>+1 to Kafka.
Any sink failure leaves p to recovery: its buffers are dropped and it is read again from the
sink's position once the sink answers.
"""
import gzip
import posixpath
import uuid
from concurrent.futures import ThreadPoolExecutor

from clickstream.layout import data_file_name

from .recovery import MANIFEST_DIR, encode_manifest, manifest_path, parse_manifest_name, temp_folder

# A file's in-memory buffer goes to its temp file once it is this big, so files are written in
# large appends (one WebHDFS request each) rather than record by record.
SPILL_BYTES = 8 * 1024 * 1024


class _OpenFile:
    __slots__ = ("temp", "buffer", "first", "last", "events", "spilled")

    def __init__(self, temp, first):
        self.temp = temp
        self.buffer = bytearray()
        self.first = first
        self.last = first
        self.events = 0
        self.spilled = 0


class PartitionWriter:
    """Buffers and flushes one topic-partition. ``sink`` is a storage backend (clickstream/storage.py) rooted at the raw area."""

    def __init__(self, sink, topic, partition, next_offset, max_event_ts=None, suffix=".jsonl", gzip_files=False):
        self.sink = sink
        self.topic = topic
        self.partition = partition
        self.next_offset = next_offset  # the first offset not yet in the sink or in these buffers
        self.committed_offset = next_offset  # the first offset not yet in the sink
        self.max_event_ts = max_event_ts
        self.suffix = suffix
        self.gzip_files = gzip_files
        self.files = {}  # folder -> _OpenFile
        self.events = 0
        self.size = 0
        self.buffered = 0
        self.opened_at = None
        self.written = 0
        self.rejected = 0
        self._flush_id = uuid.uuid4().hex[:12]

    def add(self, offset, folder, line, event_ts, now):
        """Buffer one routed record (see ingest.routing.route)."""
        handle = self.files.get(folder)
        if handle is None:
            handle = self.files[folder] = _OpenFile(
                "%s/%s.%d%s" % (temp_folder(self.topic, self.partition), self._flush_id, len(self.files), self.suffix),
                offset)
        handle.buffer += line
        handle.last = offset
        handle.events += 1
        if self.opened_at is None:
            self.opened_at = now
        self.events += 1
        self.size += len(line)
        self.buffered += len(line)
        self.next_offset = offset + 1
        if event_ts is None:
            self.rejected += 1
        else:
            self.written += 1
            if self.max_event_ts is None or event_ts > self.max_event_ts:
                self.max_event_ts = event_ts
        if len(handle.buffer) >= SPILL_BYTES:
            self.spill(folder)

    def spill(self, folder):
        """Move one file's buffer to its temp file. Raises ServiceError."""
        handle = self.files[folder]
        chunk = self._take_chunk(handle)
        if chunk:
            self.sink.append(handle.temp, chunk)

    def _take_chunk(self, handle):
        """Empty a file's buffer into the bytes to append (gzip'd if asked), keeping the counts."""
        if not handle.buffer:
            return None
        chunk = bytes(handle.buffer)
        if self.gzip_files:
            chunk = gzip.compress(chunk, compresslevel=1)  # concatenated members are one gzip stream
        self.buffered -= len(handle.buffer)
        handle.spilled += len(chunk)
        handle.buffer = bytearray()
        return chunk

    def buffer_sizes(self):
        return {folder: len(handle.buffer) for folder, handle in self.files.items() if handle.buffer}

    def flush(self, caught_up=False):
        """Commit everything buffered to the sink (steps 1-4 above).

        Returns the committed final paths (relative). Raises ServiceError; the caller then
        discards this writer and recovers the partition.
        """
        if not self.events:
            return []

        def complete(item):
            temp, chunk = item
            if chunk:
                self.sink.append(temp, chunk)
            self.sink.finish(temp)
        _each(self.sink, complete, [(handle.temp, self._take_chunk(handle)) for handle in self.files.values()])
        moves = [(handle.temp, posixpath.join(folder, data_file_name(
            self.topic, self.partition, handle.first, handle.last, self.suffix)))
            for folder, handle in sorted(self.files.items())]
        last = self.next_offset - 1
        manifest = manifest_path(self.topic, self.partition, last)
        hidden = posixpath.join(MANIFEST_DIR, ".%s.%s" % (posixpath.basename(manifest), self._flush_id))
        self.sink.write_file(hidden, encode_manifest(
            self.topic, self.partition, self.committed_offset, last, moves, self.max_event_ts, caught_up))
        self.sink.rename(hidden, manifest)
        _each(self.sink, lambda move: self.sink.rename(*move), moves)
        for name in self.sink.list(MANIFEST_DIR):
            parsed = parse_manifest_name(name)
            if parsed and parsed[:2] == (self.topic, self.partition) and parsed[2] < last:
                self.sink.delete(posixpath.join(MANIFEST_DIR, name))
        self.committed_offset = self.next_offset
        self.files = {}
        self.events = self.size = self.buffered = 0
        self.opened_at = None
        self._flush_id = uuid.uuid4().hex[:12]
        return [final for _temp, final in moves]


def _each(sink, operation, items):
    """Apply a sink operation to independent items, on ``sink.parallelism`` threads (WebHDFS calls
    wait mostly on the network); the first failure is raised once all have finished."""
    if sink.parallelism <= 1 or len(items) <= 1:
        for item in items:
            operation(item)
        return
    with ThreadPoolExecutor(max_workers=min(sink.parallelism, len(items))) as pool:
        futures = [pool.submit(operation, item) for item in items]
    for future in futures:
        future.result()
