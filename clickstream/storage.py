"""The one storage layer, chosen by URI: a local folder (a path or file:///path, here) or HDFS over
WebHDFS (hdfs:///path, clickstream/webhdfs.py). open_storage parses the URI and builds the one WebHDFS
client (timeout and user from the settings); both backends take paths relative to their root, offer
the same operations and raise ServiceError naming the operation and the path.
"""
import errno
import getpass
import os
import posixpath
import stat
import uuid
from collections import namedtuple

from .config_schema import DEFAULT_CONFIG
from .errors import ConfigError, ServiceError

# mrjob's runners list these themselves; a job may read them, a stage cannot open them here.
RUNNER_SCHEMES = ("hdfs", "s3", "s3a", "gs")
_EXPECTED = "expected a path, file:///path or hdfs:///path"

Location = namedtuple("Location", "scheme host path")  # path: absolute, normalised
Entry = namedtuple("Entry", "kind size")  # kind: 'file' or 'folder'; a folder's size is 0


def parse_uri(uri, option):
    """A path, file:///path or hdfs:///path (also hdfs://host:port/path, s3://, s3a://, gs://, which
    only mrjob's runners read) -> Location. A local path is made absolute.

    Raises ConfigError naming ``option`` and quoting ``uri`` for an empty value, file://relative,
    an unknown scheme, or a URI that names no folder."""
    if not isinstance(uri, str) or not uri.strip():
        raise ConfigError("%s: %r; %s" % (option, uri, _EXPECTED))
    if "://" not in uri:
        return Location("file", "", _absolute(uri))
    scheme, _, rest = uri.partition("://")
    if scheme == "file":
        if not rest.startswith("/"):
            raise ConfigError("%s: %r is not a file:/// URI; expected file:///absolute/path" % (option, uri))
        if not rest.strip("/"):
            raise ConfigError("%s: %r names no folder; expected file:///path" % (option, uri))
        return Location("file", "", _absolute(rest))
    if scheme not in RUNNER_SCHEMES:
        raise ConfigError("%s: %r has an unknown scheme; %s" % (option, uri, _EXPECTED))
    host, _, path = rest.partition("/")
    if not host and not path.strip("/"):
        raise ConfigError("%s: %r names no folder; expected %s:///path" % (option, uri, scheme))
    return Location(scheme, host, posixpath.normpath("/" + path.lstrip("/")))


def _absolute(path):
    path = os.path.abspath(path)
    return "/" + path.lstrip("/")  # POSIX keeps a leading '//'; one folder, one name


def webhdfs_client(settings, needed_by):
    """The one WebHDFS client: ``settings`` {webhdfs_url, hdfs_user, webhdfs_timeout_seconds}; the
    user defaults to the login user, the timeout to the schema's. ``needed_by`` names what needs it
    in the error raised (ConfigError) when webhdfs_url is unset."""
    settings = settings or {}
    url = settings.get("webhdfs_url")
    if not url:
        raise ConfigError("--webhdfs-url: not given (nor env WEBHDFS_URL, nor webhdfs_url in the config file); "
                          "%s needs http://host:port" % needed_by)
    from hdfs import InsecureClient

    return InsecureClient(url, user=settings.get("hdfs_user") or getpass.getuser(),
                          timeout=settings.get("webhdfs_timeout_seconds") or DEFAULT_CONFIG["webhdfs_timeout_seconds"])


def open_storage(uri, settings=None, option="--sink", client=None, not_committed=()):
    """The storage rooted at ``uri`` (a path, file:///path or hdfs:///path).

    ``settings``: the mapping webhdfs_client reads, used only to build a client for hdfs:// when
    ``client`` (an open WebHDFS client to share) is not given. ``not_committed``: top-level folders
    ``committed_paths`` skips. Raises ConfigError naming ``option`` for an unusable URI or setting."""
    location = parse_uri(uri, option)
    if location.scheme == "file":
        return LocalStorage(location.path, not_committed)
    if location.scheme != "hdfs":
        raise ConfigError("%s: %r: only mrjob's runners read %s://; %s" % (option, uri, location.scheme, _EXPECTED))
    if location.host:
        raise ConfigError("%s: %r names a host; expected hdfs:///path (the NameNode comes from --webhdfs-url)"
                          % (option, uri))
    from .webhdfs import WebHdfsStorage  # the backend that needs the hdfs package

    if client is None:
        client = webhdfs_client(settings, "%s %r" % (option, uri))
    return WebHdfsStorage(client, location.path, not_committed)


class LocalStorage:
    """file:///path: a local folder; fsync before every rename."""

    parallelism = 1

    def __init__(self, root, not_committed=()):
        self.root = root
        self.url = "file://" + root
        self.runner_uri = root  # as mrjob's runners take it
        self.not_committed = tuple(not_committed)
        self._started = set()

    def _abs(self, relative):
        return os.path.join(self.root, *relative.split("/")) if relative else self.root

    def _fail(self, operation, relative, error):
        raise ServiceError("storage %s %s: %s" % (operation, self._abs(relative), error)) from error

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
            _fsync(self._abs(relative))
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
            _fsync(os.path.dirname(target))
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
            _fsync(os.path.dirname(path))
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

    def lines(self, relative):
        """A file's lines (bytes, each with its b"\\n"), streamed."""
        try:
            with open(self._abs(relative), "rb") as stream:
                yield from stream
        except OSError as error:
            self._fail("read", relative, error)

    def exists(self, relative):
        return os.path.exists(self._abs(relative))

    def status(self, relative):
        """Entry('file', size) or Entry('folder', 0); None if the path does not exist."""
        try:
            found = os.stat(self._abs(relative))
        except FileNotFoundError:
            return None
        except OSError as error:
            self._fail("status", relative, error)
        return Entry("folder", 0) if stat.S_ISDIR(found.st_mode) else Entry("file", found.st_size)

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
        try:
            with os.scandir(self._abs(relative)) as entries:
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
        """Relative paths of every file, except under the top-level folders in ``not_committed``."""
        found = []
        try:
            for folder, subfolders, names in os.walk(self.root):
                relative_folder = os.path.relpath(folder, self.root).replace(os.sep, "/")
                if relative_folder == ".":
                    subfolders[:] = [name for name in subfolders if name not in self.not_committed]
                    relative_folder = ""
                found.extend(posixpath.join(relative_folder, name) for name in names)
        except OSError as error:
            self._fail("scan", "", error)
        return found


def _fsync(path):
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
