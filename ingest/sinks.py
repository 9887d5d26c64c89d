"""Sink writers for the raw area: a local folder (file://) and HDFS over WebHDFS (hdfs://).

Both take paths relative to the sink root and offer the same few operations; every failure is
raised as ServiceError naming the operation and the path. The HDFS sink receives its client.
"""
import errno
import os
import posixpath
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from clickstream.errors import ServiceError

# Folders under the root that hold no committed files: skip them when scanning ("derived" is
# where `clickstream run` keeps job outputs, see batch/area.py).
_BOOKKEEPING = ("_ingest", "_watermarks", "_metrics", "derived")


class LocalSink:
    """file:///path: a local folder with the raw area's layout; fsync before every rename."""

    parallelism = 1

    def __init__(self, root):
        self.root = root
        self.url = "file://" + root
        self._started = set()

    def _abs(self, relative):
        return os.path.join(self.root, *relative.split("/"))

    def _fail(self, operation, relative, error):
        raise ServiceError("sink %s %s: %s" % (operation, self._abs(relative), error)) from error

    def append(self, relative, chunk):
        """Add bytes to an in-progress file, creating (truncating) it on first use. The file is
        opened per call, so thousands of open hour files cost no file descriptors."""
        path = self._abs(relative)
        try:
            if relative not in self._started:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "ab" if relative in self._started else "wb") as handle:
                handle.write(chunk)
            self._started.add(relative)
        except OSError as error:
            self._fail("append", relative, error)

    def finish(self, relative):
        """Make an in-progress file durable (fsync)."""
        if relative not in self._started:
            return
        try:
            descriptor = os.open(self._abs(relative), os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        except OSError as error:
            self._fail("fsync", relative, error)
        self._started.discard(relative)

    def abandon(self, relatives):
        """Forget these in-progress files (recovery deletes them)."""
        self._started.difference_update(relatives)

    def write_file(self, relative, content):
        """Create a small file completely and durably (used for temp names only)."""
        self.append(relative, content)
        self.finish(relative)

    def rename(self, source, destination):
        """Rename, never replacing an existing destination; the new name is made durable."""
        target = self._abs(destination)
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.exists(target):
                raise FileExistsError(errno.EEXIST, "destination exists", target)
            os.rename(self._abs(source), target)
            _fsync_folder(os.path.dirname(target))
        except OSError as error:
            self._fail("rename %s ->" % self._abs(source), destination, error)

    def replace(self, relative, content):
        """Write a small file atomically, replacing any old one."""
        path = self._abs(relative)
        temp = os.path.join(os.path.dirname(path), ".%s.%s" % (os.path.basename(path), uuid.uuid4().hex))
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(temp, "wb") as stream:
                stream.write(content)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, path)
            _fsync_folder(os.path.dirname(path))
        except OSError as error:
            self._fail("replace", relative, error)

    def read(self, relative):
        """A small file's bytes, or None if it does not exist."""
        try:
            with open(self._abs(relative), "rb") as stream:
                return stream.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            self._fail("read", relative, error)

    def exists(self, relative):
        return os.path.exists(self._abs(relative))

    def list(self, relative):
        """Names in a folder ([] if it does not exist)."""
        try:
            return sorted(os.listdir(self._abs(relative)))
        except FileNotFoundError:
            return []
        except OSError as error:
            self._fail("list", relative, error)

    def file_sizes(self, relative):
        """{name: size} of the files (not folders) in a folder; {} if it does not exist."""
        folder = self._abs(relative)
        try:
            with os.scandir(folder) as entries:
                return {entry.name: entry.stat().st_size for entry in entries if entry.is_file()}
        except FileNotFoundError:
            return {}
        except OSError as error:
            self._fail("list", relative, error)

    def delete(self, relative):
        """Delete a file or a folder tree; a missing path is fine."""
        path = self._abs(relative)
        try:
            if os.path.isdir(path):
                for folder, subfolders, names in os.walk(path, topdown=False):
                    for name in names:
                        os.remove(os.path.join(folder, name))
                    for name in subfolders:
                        os.rmdir(os.path.join(folder, name))
                os.rmdir(path)
            elif os.path.lexists(path):
                os.remove(path)
        except FileNotFoundError:
            pass
        except OSError as error:
            self._fail("delete", relative, error)

    def committed_paths(self):
        """Relative paths of every file outside the bookkeeping folders."""
        found = []
        try:
            for folder, subfolders, names in os.walk(self.root):
                relative_folder = os.path.relpath(folder, self.root).replace(os.sep, "/")
                if relative_folder == ".":
                    subfolders[:] = [name for name in subfolders if name not in _BOOKKEEPING]
                    relative_folder = ""
                found.extend(posixpath.join(relative_folder, name) for name in names)
        except OSError as error:
            self._fail("scan", "", error)
        return found


def _fsync_folder(path):
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class HdfsSink:
    """hdfs:///path through WebHDFS: ``client`` is an ``hdfs.InsecureClient`` (or alike).

    HDFS makes a file durable when its writer closes it (each WebHDFS CREATE or APPEND request
    ends with a close), and its rename is atomic and refuses to replace a file.
    """

    parallelism = 8  # concurrent WebHDFS requests within one flush
    IN_FLIGHT_BYTES = 32 * 1024 * 1024  # appended chunks still on their way: counted apart from buffer_bytes

    def __init__(self, client, root):
        self.client = client
        self.root = root
        self.url = "hdfs://" + root
        self._created = set()
        self._folders = set()  # folders known to exist: one MKDIRS each, not one per rename
        self._appends = ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="hdfs-append")
        self._pending = {}  # relative -> the future of its latest append
        self._in_flight = {}  # future -> bytes
        self._lock = threading.Lock()  # _in_flight shrinks on the append threads

    def _abs(self, relative):
        return posixpath.join(self.root, relative) if relative else self.root

    def _call(self, operation, relative, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except ServiceError:
            raise
        except Exception as error:  # HdfsError, requests' connection errors, timeouts: all mean "not durable"
            raise ServiceError("sink %s %s%s: %s" % (
                operation, self.url, "/" + relative if relative else "", str(error).splitlines()[0] if str(error)
                else type(error).__name__)) from error

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
        path = self._abs(relative)
        if self._call("status", relative, self.client.status, path, strict=False) is None:
            return None

        def read_all():
            with self.client.read(path) as reader:
                return reader.read()
        return self._call("read", relative, read_all)

    def exists(self, relative):
        return self._call("status", relative, self.client.status, self._abs(relative), strict=False) is not None

    def list(self, relative):
        path = self._abs(relative)
        if self._call("status", relative, self.client.status, path, strict=False) is None:
            return []
        return sorted(self._call("list", relative, self.client.list, path))

    def file_sizes(self, relative):
        path = self._abs(relative)
        if self._call("status", relative, self.client.status, path, strict=False) is None:
            return {}
        return {name: status["length"] for name, status in self._call("list", relative, self.client.list, path,
                                                                       status=True) if status["type"] == "FILE"}

    def delete(self, relative):
        self._call("delete", relative, self.client.delete, self._abs(relative), recursive=True)

    def committed_paths(self):
        found = []
        pending = [""]
        while pending:
            relative_folder = pending.pop()
            path = self._abs(relative_folder)
            if relative_folder == "" and self._call("status", "", self.client.status, path, strict=False) is None:
                return []
            for name, status in self._call("list", relative_folder, self.client.list, path, status=True):
                relative = posixpath.join(relative_folder, name) if relative_folder else name
                if status["type"] == "DIRECTORY":
                    if not (relative_folder == "" and name in _BOOKKEEPING):
                        pending.append(relative)
                else:
                    found.append(relative)
        return found


def open_sink(config, environ=None):
    """The sink a config names, with its client built here (the one place that knows how)."""
    import getpass

    environ = os.environ if environ is None else environ
    if config.sink_scheme == "file":
        return LocalSink(config.sink_root)
    from hdfs import InsecureClient

    from clickstream.errors import ConfigError

    url = config.webhdfs_url or environ.get("WEBHDFS_URL")
    if not url:
        raise ConfigError("--webhdfs-url: not given and WEBHDFS_URL is unset; an hdfs:// sink needs http://host:port")
    user = config.hdfs_user or environ.get("HADOOP_USER_NAME") or getpass.getuser()
    return HdfsSink(InsecureClient(url, user=user, timeout=30), config.sink_root)
