"""The HDFS backend of the storage layer (clickstream/storage.py): WebHDFS requests through a given
client, appends overlapped on a few threads; only the service's failures become ServiceError."""
import posixpath
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from .errors import ServiceError
from .storage import Entry

_READ_BLOCK = 1 << 20


def _first_line(error):
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


def _lines_of(blocks):
    """Bytes blocks -> lines, each with its b"\\n" (the last one perhaps without), as a binary file gives them."""
    pending = b""
    for block in blocks:
        pending += block
        end = pending.rfind(b"\n") + 1
        if end:
            yield from (line + b"\n" for line in pending[:end - 1].split(b"\n"))
            pending = pending[end:]
    if pending:
        yield pending


class WebHdfsStorage:
    """hdfs:///path through WebHDFS: ``client`` is an ``hdfs.InsecureClient`` (or alike).

    HDFS makes a file durable when its writer closes it (each WebHDFS CREATE or APPEND request
    ends with a close), and its rename is atomic and refuses to replace a file.
    """

    parallelism = 8  # concurrent WebHDFS requests within one flush
    IN_FLIGHT_BYTES = 32 * 1024 * 1024  # appended chunks still on their way: counted apart from buffer_bytes

    def __init__(self, client, root, not_committed=()):
        from hdfs.util import HdfsError
        from requests.exceptions import RequestException

        # What a failed request raises; anything else is a bug and surfaces as itself.
        self._service_errors = (HdfsError, RequestException, OSError)
        self.client = client
        self.root = root
        self.url = "hdfs://" + root
        self.runner_uri = self.url
        self.not_committed = tuple(not_committed)
        self._created = set()
        self._folders = set()  # folders known to exist: one MKDIRS each, not one per rename
        self._appends = ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="hdfs-append")
        self._pending = {}  # relative -> the future of its latest append
        self._in_flight = {}  # future -> bytes
        self._lock = threading.Lock()  # _in_flight shrinks on the append threads

    def _abs(self, relative):
        return posixpath.join(self.root, relative) if relative else self.root

    def _fail(self, operation, relative, error):
        raise ServiceError("storage %s %s%s: %s" % (
            operation, self.url, "/" + relative if relative else "", _first_line(error))) from error

    def _call(self, operation, relative, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except self._service_errors as error:  # HdfsError, connection errors, timeouts: all mean "not durable"
            self._fail(operation, relative, error)

    def _status(self, relative):
        return self._call("status", relative, self.client.status, self._abs(relative), strict=False)

    def append(self, relative, chunk):
        """Queue bytes for an in-progress file and return, so the network overlaps consuming.
        Appends to one file stay in order; a failure is raised by ``finish`` of that file."""
        previous = self._pending.get(relative)
        if previous is not None:
            wait([previous])  # one file's appends in order
        while True:
            with self._lock:
                if sum(self._in_flight.values()) <= self.IN_FLIGHT_BYTES:
                    break
                running = list(self._in_flight)
            wait(running, return_when=FIRST_COMPLETED)
        first = relative not in self._created
        self._created.add(relative)
        with self._lock:
            future = self._appends.submit(self._append_now, relative, chunk, first, previous)
            self._in_flight[future] = len(chunk)
        self._pending[relative] = future
        future.add_done_callback(self._landed)

    def _landed(self, future):
        with self._lock:
            self._in_flight.pop(future, None)

    def _append_now(self, relative, chunk, first, previous):
        if previous is not None:
            previous.result()  # an earlier chunk failed: this file is broken, say so again
        path = self._abs(relative)
        if first:
            self._call("create", relative, self.client.write, path, data=chunk, overwrite=True)
        else:
            self._call("append", relative, self.client.write, path, data=chunk, append=True)

    def finish(self, relative):
        """Wait for the file's appends; raises ServiceError if one failed. HDFS closed each one."""
        self._created.discard(relative)
        future = self._pending.pop(relative, None)
        if future is not None:
            future.result()

    def abandon(self, relatives):
        for relative in relatives:
            self._created.discard(relative)
            self._pending.pop(relative, None)  # still-running appends land in temp files recovery deletes

    def write_file(self, relative, content):
        self._call("create", relative, self.client.write, self._abs(relative), data=content, overwrite=True)

    def rename(self, source, destination):
        target = self._abs(destination)
        folder = posixpath.dirname(target)
        if folder not in self._folders:
            self._call("mkdir", destination, self.client.makedirs, folder)
            self._folders.add(folder)
        try:
            self._call("rename %s ->" % self._abs(source), destination, self.client.rename, self._abs(source), target)
        except ServiceError:
            self._folders.discard(folder)  # perhaps deleted under us: make it again next time
            raise

    def replace(self, relative, content):
        path = self._abs(relative)
        temp = posixpath.join(posixpath.dirname(path), ".%s.%s" % (posixpath.basename(path), uuid.uuid4().hex))
        self._call("create", relative, self.client.write, temp, data=content, overwrite=True)
        # WebHDFS has no rename-over; readers retry the short moment the name is missing.
        self._call("delete", relative, self.client.delete, path)
        self._call("rename", relative, self.client.rename, temp, path)

    def read(self, relative):
        if self._status(relative) is None:
            return None

        def read_all():
            with self.client.read(self._abs(relative)) as reader:
                return reader.read()
        return self._call("read", relative, read_all)

    def lines(self, relative):
        """A file's lines (bytes, each with its b"\\n"), streamed in blocks of 1 MiB."""
        try:
            with self.client.read(self._abs(relative)) as reader:
                yield from _lines_of(iter(lambda: reader.read(_READ_BLOCK), b""))
        except self._service_errors as error:
            self._fail("read", relative, error)

    def exists(self, relative):
        return self._status(relative) is not None

    def status(self, relative):
        found = self._status(relative)
        if found is None:
            return None
        return Entry("folder", 0) if found["type"] == "DIRECTORY" else Entry("file", found["length"])

    def list(self, relative):
        if self._status(relative) is None:
            return []
        return sorted(self._call("list", relative, self.client.list, self._abs(relative)))

    def file_sizes(self, relative):
        if self._status(relative) is None:
            return {}
        return {name: found["length"] for name, found in self._call(
            "list", relative, self.client.list, self._abs(relative), status=True) if found["type"] == "FILE"}

    def delete(self, relative):
        self._call("delete", relative, self.client.delete, self._abs(relative), recursive=True)

    def committed_paths(self):
        found = []
        pending = [""]
        while pending:
            relative_folder = pending.pop()
            if relative_folder == "" and self._status("") is None:
                return []
            for name, entry in self._call("list", relative_folder, self.client.list, self._abs(relative_folder),
                                          status=True):
                relative = posixpath.join(relative_folder, name) if relative_folder else name
                if entry["type"] == "DIRECTORY":
                    if not (relative_folder == "" and name in self.not_committed):
                        pending.append(relative)
                else:
                    found.append(relative)
        return found
