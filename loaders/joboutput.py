"""Read a job's output (mrjob JSON protocol: JSON key, tab, JSON value) from files or folders.

Malformed rows are counted with a reason, never half-applied.
"""
import os
import posixpath

import orjson

from clickstream.errors import ConfigError
from clickstream.layout import is_hidden
from clickstream.storage import LocalStorage, open_storage, parse_uri


def parse_output_line(line):
    """One output line -> (key, value). Raises ValueError with a short reason."""
    key_text, tab, value_text = line.rstrip(b"\r\n").partition(b"\t")
    if not tab:
        raise ValueError("no_tab")
    try:
        return orjson.loads(key_text), orjson.loads(value_text)
    except orjson.JSONDecodeError:
        raise ValueError("invalid_json") from None


def read_job_output(lines, rejected):
    """Yield (key, value) pairs from raw lines; count malformed ones in ``rejected`` by reason."""
    for line in lines:
        if not line.strip():
            continue
        try:
            yield parse_output_line(line)
        except ValueError as error:
            reason = str(error)
            rejected[reason] = rejected.get(reason, 0) + 1


def is_part_file(name):
    """Hadoop's output folders hold part files besides _SUCCESS, .crc checksums and hidden names."""
    return not is_hidden(name) and not name.endswith(".crc")


def input_parts(storage, given):
    """(relative path, size) of one input, the root of ``storage``: a folder's part files in name
    order, or the file itself. Raises ConfigError quoting ``given`` if it does not exist."""
    entry = storage.status("")
    if entry is None:
        raise ConfigError("load: input %r does not exist" % given)
    if entry.kind == "file":
        return [("", entry.size)]
    return [(name, size) for name, size in sorted(storage.file_sizes("").items()) if is_part_file(name)]


def output_files(paths):
    """Expand local folders into their visible part files (skipping _SUCCESS, .crc and hidden files)."""
    for path in paths:
        for relative, _size in input_parts(LocalStorage(os.path.abspath(path)), path):
            yield os.path.join(path, relative) if relative else path


class JobOutputSource:
    """A job's output named by local paths/folders or hdfs:/// URIs: its files, their lines, and
    what identifies them (for the default batch id). Raises ConfigError for unusable inputs.

    ``settings``: the mapping open_storage reads (webhdfs_url, hdfs_user, webhdfs_timeout_seconds) for
    hdfs:/// inputs; ``hdfs_client``: an open WebHDFS client to read them with instead (a run's)."""

    def __init__(self, inputs, settings=None, hdfs_client=None):
        schemes = {parse_uri(path, "load").scheme for path in inputs}
        if len(schemes) > 1:
            raise ConfigError("load: mix of local and remote inputs; give either local paths or hdfs:/// URIs")
        self.remote = schemes != {"file"}
        self.files, self.sizes, self._where = [], {}, {}
        for path in inputs:
            storage = open_storage(path, settings, "load", client=hdfs_client)
            hdfs_client = getattr(storage, "client", None)  # one client for every input
            for relative, size in input_parts(storage, path):
                if self.remote:
                    name = posixpath.join(storage.root, relative) if relative else storage.root
                else:
                    name = os.path.join(path, relative) if relative else path
                self.files.append(name)
                self.sizes[name] = size
                self._where[name] = (storage, relative)

    def describe(self, path):
        return (path if self.remote else os.path.abspath(path), self.sizes[path])

    def lines(self, path):
        storage, relative = self._where[path]
        return storage.lines(relative)

    def content(self):
        """What identifies this output in the load ledger: {'output_sha256': digest of every file's
        bytes in order, 'output_bytes': their total}. Names and places do not count: the same output
        copied elsewhere is the same content. Reads the files once more."""
        import hashlib

        digest = hashlib.sha256()
        total = 0
        for path in self.files:
            for line in self.lines(path):
                digest.update(line)
                total += len(line)
        return {"output_sha256": digest.hexdigest()[:16], "output_bytes": total}

    def records(self, rejected):
        """Every (key, value) of every file; malformed lines counted in ``rejected``."""
        for path in self.files:
            yield from read_job_output(self.lines(path), rejected)
