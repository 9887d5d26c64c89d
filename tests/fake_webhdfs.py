"""An in-memory stand-in for ``hdfs.InsecureClient``: the calls the storage layer makes, with
HDFS's answers (a refusing rename, status None when missing), and a recorder of how clients are built."""
import contextlib
import io
import posixpath

from hdfs.util import HdfsError


class FakeWebHdfs:
    """Files and folders by absolute path. ``block`` is the size ``read(n)`` hands out at most, so
    line splitting across blocks is exercised; ``fail`` maps a method name to the exception it raises."""

    def __init__(self, block=3):
        self.files = {}
        self.folders = {"/"}
        self.block = block
        self.fail = {}
        self.calls = []

    def _enter(self, name, path):
        self.calls.append((name, path))
        if name in self.fail:
            raise self.fail[name]

    def _make_parents(self, path):
        folder = posixpath.dirname(path)
        while folder not in self.folders:
            self.folders.add(folder)
            folder = posixpath.dirname(folder)

    def status(self, path, strict=True):
        self._enter("status", path)
        if path in self.files:
            return {"type": "FILE", "length": len(self.files[path])}
        if path in self.folders:
            return {"type": "DIRECTORY", "length": 0}
        if strict:
            raise HdfsError("File does not exist: %s" % path)
        return None

    def list(self, path, status=False):
        self._enter("list", path)
        if path not in self.folders:
            raise HdfsError("File %s does not exist." % path)
        prefix = path.rstrip("/") + "/"
        names = sorted({child[len(prefix):].split("/")[0] for child in list(self.files) + list(self.folders)
                        if child.startswith(prefix) and child != prefix})
        if not status:
            return names
        return [(name, self.status(prefix + name)) for name in names]

    def write(self, path, data=None, overwrite=False, append=False):
        self._enter("write", path)
        if append:
            if path not in self.files:
                raise HdfsError("Failed to APPEND_FILE %s: file not found" % path)
            self.files[path] += bytes(data)
            return
        if path in self.files and not overwrite:
            raise HdfsError("%s already exists" % path)
        self._make_parents(path)
        self.files[path] = bytes(data)

    def makedirs(self, path):
        self._enter("makedirs", path)
        self.folders.add(path)
        self._make_parents(path)

    def rename(self, source, destination):
        self._enter("rename", source)
        if source not in self.files or destination in self.files or destination in self.folders:
            raise HdfsError("Unable to rename %r to %r." % (source, destination))
        if posixpath.dirname(destination) not in self.folders:
            raise HdfsError("Parent folder of %r does not exist." % destination)
        self.files[destination] = self.files.pop(source)

    def delete(self, path, recursive=False):
        self._enter("delete", path)
        prefix = path.rstrip("/") + "/"
        found = path in self.files or path in self.folders
        self.files = {name: content for name, content in self.files.items()
                      if name != path and not name.startswith(prefix)}
        self.folders = {name for name in self.folders if name != path and not name.startswith(prefix)} | {"/"}
        return found

    @contextlib.contextmanager
    def read(self, path):
        self._enter("read", path)
        if path not in self.files:
            raise HdfsError("File %s does not exist." % path)
        stream = io.BytesIO(self.files[path])
        yield _BlockReader(stream, self.block)


class _BlockReader:
    def __init__(self, stream, block):
        self.stream = stream
        self.block = block

    def read(self, size=-1):
        if size is None or size < 0:
            return self.stream.read()
        return self.stream.read(min(size, self.block))


class ClientRecorder:
    """Put in place of ``hdfs.InsecureClient``: records each construction and returns ``client``."""

    def __init__(self, client):
        self.client = client
        self.built = []

    def __call__(self, url, user=None, **kwargs):
        self.built.append({"url": url, "user": user, **kwargs})
        return self.client
