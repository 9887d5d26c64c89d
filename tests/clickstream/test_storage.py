"""The storage layer: the one URI parse, the one WebHDFS client (user and timeout from the settings),
and the local and WebHDFS backends behaving alike (the latter over an in-memory fake client)."""
import os
import pathlib
import re
import socket

import hdfs
import pytest
import requests
from hdfs.util import HdfsError

from clickstream import config
from clickstream.errors import ConfigError, ServiceError
from clickstream.storage import Entry, LocalStorage, Location, open_storage, parse_uri
from clickstream.webhdfs import WebHdfsStorage
from fake_webhdfs import ClientRecorder, FakeWebHdfs

SETTINGS = {"webhdfs_url": "http://namenode:9870", "hdfs_user": "etl", "webhdfs_timeout_seconds": 7.5}


# --- the URI parse -----------------------------------------------------------------------------

@pytest.mark.parametrize("uri, expected", [
    ("/raw/clicks", Location("file", "", "/raw/clicks")),
    ("/raw/clicks/", Location("file", "", "/raw/clicks")),
    ("/raw//clicks/../clicks", Location("file", "", "/raw/clicks")),
    ("//raw/clicks", Location("file", "", "/raw/clicks")),
    ("file:///raw/clicks", Location("file", "", "/raw/clicks")),
    ("file:////raw/clicks/", Location("file", "", "/raw/clicks")),
    ("hdfs:///raw/clicks", Location("hdfs", "", "/raw/clicks")),
    ("hdfs:///raw//clicks/", Location("hdfs", "", "/raw/clicks")),
    ("hdfs:////raw/clicks", Location("hdfs", "", "/raw/clicks")),
    ("hdfs://nn:8020/raw", Location("hdfs", "nn:8020", "/raw")),
    ("hdfs://nn:8020", Location("hdfs", "nn:8020", "/")),
    ("s3://bucket/raw/", Location("s3", "bucket", "/raw")),
    ("s3a://bucket/raw", Location("s3a", "bucket", "/raw")),
    ("gs://bucket", Location("gs", "bucket", "/")),
])
def test_uris_parse(uri, expected):
    assert parse_uri(uri, "--sink") == expected


def test_a_relative_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_uri("raw/clicks", "--sink") == Location("file", "", str(tmp_path / "raw" / "clicks"))


@pytest.mark.parametrize("uri, message", [
    (None, r"^--sink: None; expected a path, file:///path or hdfs:///path$"),
    ("", r"^--sink: ''; expected a path, file:///path or hdfs:///path$"),
    ("   ", r"^--sink: '   '; expected a path"),
    ("file://raw", r"^--sink: 'file://raw' is not a file:/// URI; expected file:///absolute/path$"),
    ("file://", r"^--sink: 'file://' is not a file:/// URI"),
    ("file:///", r"^--sink: 'file:///' names no folder; expected file:///path$"),
    ("file:////", r"^--sink: 'file:////' names no folder"),
    ("hdfs://", r"^--sink: 'hdfs://' names no folder; expected hdfs:///path$"),
    ("hdfs:///", r"^--sink: 'hdfs:///' names no folder; expected hdfs:///path$"),
    ("hdfs:////", r"^--sink: 'hdfs:////' names no folder"),
    ("s3://", r"^--sink: 's3://' names no folder; expected s3:///path$"),
    ("ftp://host/raw", r"^--sink: 'ftp://host/raw' has an unknown scheme; expected a path, file:///path or hdfs:///"),
    ("HDFS:///raw", r"^--sink: 'HDFS:///raw' has an unknown scheme"),
    ("://raw", r"^--sink: '://raw' has an unknown scheme"),
])
def test_malformed_uris_fail_in_one_line_naming_the_option(uri, message):
    with pytest.raises(ConfigError, match=message) as raised:
        parse_uri(uri, "--sink")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("uri, message", [
    ("hdfs://nn:8020/raw", r"^run.derived_root: 'hdfs://nn:8020/raw' names a host; expected hdfs:///path "
                           r"\(the NameNode comes from --webhdfs-url\)$"),
    ("s3://bucket/raw", r"^run.derived_root: 's3://bucket/raw': only mrjob's runners read s3://; expected a path"),
    ("gs://bucket/raw", r"^run.derived_root: 'gs://bucket/raw': only mrjob's runners read gs://"),
    ("file://raw", r"^run.derived_root: 'file://raw' is not a file:/// URI"),
])
def test_what_only_the_runners_read_cannot_be_opened(uri, message):
    with pytest.raises(ConfigError, match=message):
        open_storage(uri, SETTINGS, "run.derived_root", client=FakeWebHdfs())


# --- the one WebHDFS client --------------------------------------------------------------------

@pytest.fixture
def recorder(monkeypatch):
    recorder = ClientRecorder(FakeWebHdfs())
    monkeypatch.setattr(hdfs, "InsecureClient", recorder)
    return recorder


def test_the_client_gets_url_user_and_timeout_from_the_settings(recorder):
    storage = open_storage("hdfs:///raw/clicks/", SETTINGS)
    assert recorder.built == [{"url": "http://namenode:9870", "user": "etl", "timeout": 7.5}]
    assert (type(storage), storage.client, storage.root, storage.url, storage.runner_uri) == (
        WebHdfsStorage, recorder.client, "/raw/clicks", "hdfs:///raw/clicks", "hdfs:///raw/clicks")


def test_the_user_defaults_to_the_login_user_not_the_process_environment(recorder, monkeypatch):
    monkeypatch.setenv("HADOOP_USER_NAME", "from-os-environ")
    monkeypatch.setattr("getpass.getuser", lambda: "login-user")
    open_storage("hdfs:///raw", {"webhdfs_url": "http://nn:9870", "hdfs_user": None})
    assert recorder.built == [{"url": "http://nn:9870", "user": "login-user", "timeout": 60.0}]


def test_hadoop_user_name_reaches_the_client_through_the_config(recorder):
    settings = config.effective("load", environ={"HADOOP_USER_NAME": "stack", "WEBHDFS_URL": "http://nn:9870",
                                                 "CLICKSTREAM_WEBHDFS_TIMEOUT_SECONDS": "12"})
    open_storage("hdfs:///derived", settings, "load")
    assert recorder.built == [{"url": "http://nn:9870", "user": "stack", "timeout": 12.0}]


def test_the_timeout_setting_is_checked():
    with pytest.raises(ConfigError, match=r"CLICKSTREAM_WEBHDFS_TIMEOUT_SECONDS: 0.0; expected a positive number"):
        config.effective("load", environ={"CLICKSTREAM_WEBHDFS_TIMEOUT_SECONDS": "0"})
    assert config.effective("ingest", environ={})["webhdfs_timeout_seconds"] == 60.0


def test_a_given_client_is_shared_and_none_is_built(recorder):
    shared = FakeWebHdfs()
    storage = open_storage("hdfs:///raw", None, client=shared)
    assert storage.client is shared and recorder.built == []


@pytest.mark.parametrize("settings", [None, {}, {"webhdfs_url": None, "hdfs_user": "etl"}, {"webhdfs_url": ""}])
def test_hdfs_without_a_webhdfs_url_fails_naming_what_needs_it(recorder, settings):
    with pytest.raises(ConfigError, match=r"^--webhdfs-url: not given \(nor env WEBHDFS_URL, nor webhdfs_url in the "
                                          r"config file\); load 'hdfs:///out' needs http://host:port$"):
        open_storage("hdfs:///out", settings, "load")
    assert recorder.built == []


def test_a_local_uri_needs_no_settings(tmp_path, recorder):
    storage = open_storage("file://%s/raw/" % tmp_path, None)
    assert (type(storage), storage.root, storage.url, storage.runner_uri) == (
        LocalStorage, str(tmp_path / "raw"), "file://%s/raw" % tmp_path, str(tmp_path / "raw"))
    assert recorder.built == []


# --- both backends, one behaviour ---------------------------------------------------------------

@pytest.fixture(params=["local", "webhdfs"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(str(tmp_path / "root"), not_committed=("_ingest", "derived"))
    return WebHdfsStorage(FakeWebHdfs(), "/root", not_committed=("_ingest", "derived"))


def test_a_missing_root_is_empty(storage):
    assert (storage.list(""), storage.file_sizes("dt=x"), storage.read("a"), storage.exists("a"),
            storage.status(""), storage.committed_paths()) == ([], {}, None, False, None, [])


def test_appends_build_a_file_that_rename_publishes(storage):
    storage.append("_ingest/tmp/a", b"one\n")
    storage.append("_ingest/tmp/a", b"two\n")
    storage.finish("_ingest/tmp/a")
    storage.rename("_ingest/tmp/a", "dt=1/hour=02/a.jsonl")
    assert storage.read("dt=1/hour=02/a.jsonl") == b"one\ntwo\n"
    assert (storage.exists("_ingest/tmp/a"), storage.list("dt=1/hour=02")) == (False, ["a.jsonl"])


def test_the_first_append_truncates_what_an_earlier_attempt_left(storage):
    storage.write_file("t", b"debris of an earlier attempt")
    storage.append("t", b"new")
    storage.finish("t")
    assert storage.read("t") == b"new"


def test_rename_never_replaces(storage):
    storage.write_file("a", b"a")
    storage.write_file("b", b"b")
    with pytest.raises(ServiceError, match=r"^storage rename \S+/a -> \S+b: "):
        storage.rename("a", "b")
    assert (storage.read("a"), storage.read("b")) == (b"a", b"b")


def test_replace_swaps_content_and_leaves_no_temp_name(storage):
    storage.replace("_watermarks/clicks.json", b"1")
    storage.replace("_watermarks/clicks.json", b"2")
    assert storage.read("_watermarks/clicks.json") == b"2"
    assert storage.list("_watermarks") == ["clicks.json"]


def test_sizes_status_and_lists(storage):
    storage.write_file("dt=1/hour=00/a.jsonl", b"12345")
    storage.write_file("dt=1/hour=00/b.jsonl.gz", b"")
    storage.write_file("dt=1/hour=00/sub/c", b"xy")
    assert storage.file_sizes("dt=1/hour=00") == {"a.jsonl": 5, "b.jsonl.gz": 0}
    assert storage.list("dt=1/hour=00") == ["a.jsonl", "b.jsonl.gz", "sub"]
    assert (storage.status("dt=1/hour=00/a.jsonl"), storage.status("dt=1/hour=00"), storage.status("dt=2")) == (
        Entry("file", 5), Entry("folder", 0), None)


@pytest.mark.parametrize("content", [b"", b"a", b"a\n", b"a\nbb\n", b"\n\n", b"abcdefgh\nij", b"x" * 10 + b"\n" * 3])
def test_lines_are_a_binary_files_lines(storage, content):
    storage.write_file("part-00000", content)
    assert list(storage.lines("part-00000")) == content.splitlines(keepends=True)


def test_delete_takes_trees_and_missing_paths(storage):
    storage.write_file("d/e/f", b"1")
    storage.write_file("d/g", b"2")
    storage.write_file("h", b"3")
    storage.delete("d")
    storage.delete("missing")
    assert (storage.list(""), storage.read("h")) == (["h"], b"3")


def test_committed_paths_skip_only_the_named_top_level_folders(storage, tmp_path):
    names = ["dt=1/hour=00/a.jsonl", "_rejected/dt=1/hour=00/r.jsonl", "_ingest/tmp/t", "derived/job/x",
             "dt=1/hour=00/derived/kept", "dt=1/_ingest/kept", "top.txt", "_watermarks/c.json"]
    for name in names:
        storage.write_file(name, b".")
    reference = [name for name in names if name.split("/")[0] not in ("_ingest", "derived")]
    assert sorted(storage.committed_paths()) == sorted(reference)


def test_local_scan_agrees_with_the_folder_on_disk(tmp_path):
    root = tmp_path / "root"
    for name in ("dt=1/hour=00/a", "dt=1/hour=01/b", "_metrics/m", "c"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    on_disk = [str(path.relative_to(root)) for path in pathlib.Path(root).rglob("*") if path.is_file()]
    assert sorted(LocalStorage(str(root), ("_metrics",)).committed_paths()) == sorted(
        name for name in on_disk if not name.startswith("_metrics" + os.sep))


def test_local_failures_are_service_errors_naming_the_path(tmp_path):
    (tmp_path / "folder").mkdir()
    storage = LocalStorage(str(tmp_path))
    with pytest.raises(ServiceError, match=r"^storage read %s/folder: " % re.escape(str(tmp_path))):
        storage.read("folder")
    with pytest.raises(ServiceError, match=r"^storage read %s/folder: " % re.escape(str(tmp_path))):
        list(storage.lines("folder"))


# --- WebHDFS: which errors are the service's ------------------------------------------------------

@pytest.mark.parametrize("error", [
    HdfsError("Permission denied: user=etl\nat org.apache.hadoop..."),
    requests.exceptions.ConnectionError("Connection refused"),
    requests.exceptions.ReadTimeout("Read timed out. (read timeout=60)"),
    socket.timeout("timed out"),
    ConnectionResetError(104, "Connection reset by peer"),
])
def test_service_failures_become_one_line_service_errors(error):
    client = FakeWebHdfs()
    client.fail["list"] = error
    client.makedirs("/raw/dt=1")
    storage = WebHdfsStorage(client, "/raw")
    with pytest.raises(ServiceError, match=r"^storage list hdfs:///raw/dt=1: %s$" % re.escape(
            str(error).splitlines()[0])):
        storage.file_sizes("dt=1")


@pytest.mark.parametrize("error", [TypeError("write() got an unexpected keyword argument 'appendd'"),
                                   KeyError("length"), AttributeError("'NoneType' object has no attribute 'read'")])
def test_programming_errors_surface_as_themselves(error):
    client = FakeWebHdfs()
    client.fail["write"] = error
    storage = WebHdfsStorage(client, "/raw")
    with pytest.raises(type(error), match=re.escape(str(error))):
        storage.write_file("a", b"x")
    storage.append("b", b"x")
    with pytest.raises(type(error), match=re.escape(str(error))):
        storage.finish("b")


class LosesFirstChunks(FakeWebHdfs):
    def write(self, path, data=None, **kwargs):
        if data == b"first":
            raise HdfsError("DataNode down")
        return super().write(path, data=data, **kwargs)


def test_a_failed_append_is_raised_by_finish_and_by_every_later_append():
    client = LosesFirstChunks()
    storage = WebHdfsStorage(client, "/raw")
    storage.append("t", b"fine")
    storage.finish("t")
    storage.append("u", b"first")
    storage.append("u", b"second")  # would succeed alone: the file is broken already
    with pytest.raises(ServiceError, match=r"^storage create hdfs:///raw/u: DataNode down$"):
        storage.finish("u")
    assert (client.files.get("/raw/t"), "/raw/u" in client.files) == (b"fine", False)


def test_reads_failing_midway_are_service_errors():
    client = FakeWebHdfs()
    storage = WebHdfsStorage(client, "/raw")
    storage.write_file("p", b"a\nb\n")
    client.fail["read"] = requests.exceptions.ChunkedEncodingError("Connection broken")
    with pytest.raises(ServiceError, match=r"^storage read hdfs:///raw/p: Connection broken$"):
        list(storage.lines("p"))
