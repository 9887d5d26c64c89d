"""A job's output as the load reads it: local files and folders or hdfs:/// URIs (over the fake
WebHDFS client), their part files, lines, records and the content that identifies them."""
import hashlib
import os

import hdfs
import pytest

from clickstream.errors import ConfigError
from fake_webhdfs import ClientRecorder, FakeWebHdfs
from loaders.joboutput import JobOutputSource, output_files

PARTS = {"part-00000": b'"u1"\t3\n"u2"\t4\n', "part-00001": b'"u3"\t5\nno tab here\n"u4"\t{bad\n\n"u5"\t1'}
NOT_PARTS = {"_SUCCESS": b"", ".part-00000.crc": b"crc", "part-00000.crc": b"crc", "_logs": None}


def write_output(folder):
    """An mrjob output folder: parts plus what Hadoop leaves beside them; returns its part paths."""
    os.makedirs(folder)
    for name, content in {**PARTS, **NOT_PARTS}.items():
        if content is None:
            os.makedirs(os.path.join(folder, name))
        else:
            with open(os.path.join(folder, name), "wb") as stream:
                stream.write(content)
    return [os.path.join(folder, name) for name in sorted(PARTS)]


def reference_content(contents):
    """What content() means: the digest and size of the files' bytes, in order."""
    joined = b"".join(contents)
    return {"output_sha256": hashlib.sha256(joined).hexdigest()[:16], "output_bytes": len(joined)}


def test_a_local_folder_is_its_part_files(tmp_path):
    out = str(tmp_path / "out")
    parts = write_output(out)
    source = JobOutputSource([out])
    assert source.files == parts == list(output_files([out]))
    assert source.sizes == {path: os.path.getsize(path) for path in parts}
    assert source.describe(parts[0]) == (os.path.abspath(parts[0]), len(PARTS["part-00000"]))
    assert [list(source.lines(path)) for path in parts] == [
        content.splitlines(keepends=True) for _name, content in sorted(PARTS.items())]


def test_relative_inputs_keep_their_spelling_and_describe_absolutely(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_output("out")
    source = JobOutputSource(["out/", "out/part-00001"])
    assert source.files == ["out/part-00000", "out/part-00001", "out/part-00001"]
    assert source.describe("out/part-00000")[0] == str(tmp_path / "out" / "part-00000")


def test_records_count_malformed_lines_by_reason(tmp_path):
    out = str(tmp_path / "out")
    write_output(out)
    rejected = {}
    assert list(JobOutputSource([out]).records(rejected)) == [("u1", 3), ("u2", 4), ("u3", 5), ("u5", 1)]
    assert rejected == {"no_tab": 1, "invalid_json": 1}


def test_content_is_the_files_bytes(tmp_path):
    out = str(tmp_path / "out")
    write_output(out)
    assert JobOutputSource([out]).content() == reference_content(content for _name, content in sorted(PARTS.items()))


@pytest.fixture
def webhdfs(monkeypatch):
    client = FakeWebHdfs(block=4)
    for name, content in {**PARTS, **NOT_PARTS}.items():
        if content is None:
            client.makedirs("/derived/job/%s" % name)
        else:
            client.write("/derived/job/%s" % name, data=content)
    recorder = ClientRecorder(client)
    monkeypatch.setattr(hdfs, "InsecureClient", recorder)
    return recorder


SETTINGS = {"webhdfs_url": "http://nn:9870", "hdfs_user": "etl", "webhdfs_timeout_seconds": 5.0}


def test_hdfs_folders_are_their_part_files_read_with_the_settings_client(webhdfs):
    source = JobOutputSource(["hdfs:///derived/job/", "hdfs:///derived/job/part-00001"], SETTINGS)
    assert source.files == ["/derived/job/part-00000", "/derived/job/part-00001", "/derived/job/part-00001"]
    assert source.describe("/derived/job/part-00001") == ("/derived/job/part-00001", len(PARTS["part-00001"]))
    assert webhdfs.built == [{"url": "http://nn:9870", "user": "etl", "timeout": 5.0}]  # one client for both


def test_the_same_output_on_hdfs_and_on_disk_is_the_same_content(webhdfs, tmp_path):
    out = str(tmp_path / "out")
    write_output(out)
    on_hdfs = JobOutputSource(["hdfs:///derived/job"], SETTINGS)
    assert on_hdfs.content() == JobOutputSource([out]).content()
    local_rejected, hdfs_rejected = {}, {}
    assert list(on_hdfs.records(hdfs_rejected)) == list(JobOutputSource([out]).records(local_rejected))
    assert hdfs_rejected == local_rejected


def test_a_runs_client_is_used_as_given(webhdfs):
    source = JobOutputSource(["hdfs:///derived/job/part-00000"], hdfs_client=webhdfs.client)
    assert (source.files, webhdfs.built) == (["/derived/job/part-00000"], [])


@pytest.mark.parametrize("inputs, message", [
    (["missing"], r"^load: input 'missing' does not exist$"),
    (["hdfs:///derived/nope"], r"^load: input 'hdfs:///derived/nope' does not exist$"),
    (["hdfs:///derived/job", "out"], r"^load: mix of local and remote inputs; give either local paths or hdfs:/// "),
    (["ftp://host/out"], r"^load: 'ftp://host/out' has an unknown scheme; expected a path, file:///path or hdfs:///"),
    (["s3://bucket/out"], r"^load: 's3://bucket/out': only mrjob's runners read s3://"),
    (["hdfs://nn:8020/derived/job"], r"^load: 'hdfs://nn:8020/derived/job' names a host; expected hdfs:///path"),
    (["file://out"], r"^load: 'file://out' is not a file:/// URI"),
    ([""], r"^load: ''; expected a path"),
])
def test_unusable_inputs_fail_in_one_line(webhdfs, tmp_path, monkeypatch, inputs, message):
    monkeypatch.chdir(tmp_path)
    os.makedirs("out")
    with pytest.raises(ConfigError, match=message):
        JobOutputSource(inputs, SETTINGS)


def test_hdfs_inputs_need_a_webhdfs_url(webhdfs):
    with pytest.raises(ConfigError, match=r"^--webhdfs-url: not given .*; load 'hdfs:///derived/job' needs http://"):
        JobOutputSource(["hdfs:///derived/job"], {"webhdfs_url": None})
