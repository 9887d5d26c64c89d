"""Read a job's output (mrjob JSON protocol: JSON key, tab, JSON value) from files or folders.

Malformed rows are counted with a reason, never half-applied.
"""
import os

import orjson


def output_files(paths):
    """Expand folders into their visible part files (skipping _SUCCESS, .crc and hidden files)."""
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if not name.startswith(("_", ".")) and not name.endswith(".crc"):
                    full = os.path.join(path, name)
                    if os.path.isfile(full):
                        yield full
        else:
            yield path


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


def hdfs_path(uri):
    """'hdfs:///a/b' or 'hdfs://namenode:8020/a/b' -> '/a/b'."""
    rest = uri[len("hdfs://"):]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


def hdfs_output_files(client, uris):
    """Expand hdfs:// folders (via a WebHDFS ``hdfs.Client``) into their visible part files: (path, size)."""
    for uri in uris:
        path = hdfs_path(uri)
        status = client.status(path)
        if status["type"] == "DIRECTORY":
            for name, child in sorted(client.list(path, status=True)):
                if child["type"] == "FILE" and not name.startswith(("_", ".")) and not name.endswith(".crc"):
                    yield path.rstrip("/") + "/" + name, child["length"]
        else:
            yield path, status["length"]


def hdfs_lines(client, path):
    """The lines (bytes) of one HDFS file, streamed."""
    with client.read(path) as reader:
        pending = b""
        for block in iter(lambda: reader.read(1 << 20), b""):
            pending += block
            lines = pending.split(b"\n")
            pending = lines.pop()
            yield from lines
        if pending:
            yield pending


class JobOutputSource:
    """A job's output named by local paths/folders or hdfs:// URIs: its files, their lines, and
    what identifies them (for the default batch id). Raises ConfigError for unusable inputs."""

    def __init__(self, inputs, webhdfs_url=None, hdfs_client=None):
        from clickstream.errors import ConfigError

        remote = [path for path in inputs if "://" in path]
        if remote and len(remote) != len(inputs):
            raise ConfigError("load: mix of local and remote inputs; give either local paths or hdfs:/// URIs")
        if remote:
            if not all(path.startswith("hdfs://") for path in remote):
                raise ConfigError("load: %r: only local paths and hdfs:/// URIs are supported" % remote[0])
            if hdfs_client is None:
                if not webhdfs_url:
                    raise ConfigError("load: --webhdfs-url (or WEBHDFS_URL) is needed to read %r" % remote[0])
                from hdfs import InsecureClient

                hdfs_client = InsecureClient(webhdfs_url, user=os.environ.get("HADOOP_USER_NAME") or None)
            self._client = hdfs_client
            self.sizes = dict(hdfs_output_files(hdfs_client, remote))
            self.files = list(self.sizes)
        else:
            for path in inputs:
                if not os.path.exists(path):
                    raise ConfigError("load: input %r does not exist" % path)
            self._client = None
            self.files = list(output_files(inputs))
            self.sizes = {path: os.path.getsize(path) for path in self.files}

    def describe(self, path):
        return (path if self._client else os.path.abspath(path), self.sizes[path])

    def lines(self, path):
        if self._client is not None:
            yield from hdfs_lines(self._client, path)
            return
        with open(path, "rb") as stream:
            yield from stream

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
