"""The run's areas on a local folder: the raw partitions it reads (data files, hours with data) and
the derived partitions it commits (parts renamed in, the manifest rename as the commit point, tidy);
open_area's URIs and its one WebHDFS client."""
import json
import os

import hdfs
import pytest

from batch.area import RunArea, manifest_name, open_area, part_name
from batch.plan import MrStep, commit_revision
from clickstream.errors import ConfigError, ServiceError
from clickstream.layout import hour_partition, parse_hour_option
from clickstream.storage import LocalStorage
from clickstream.webhdfs import WebHdfsStorage
from fake_webhdfs import ClientRecorder, FakeWebHdfs

HOUR = parse_hour_option("2024-12-29T03")
PARTITION = hour_partition(HOUR)  # dt=2024-12-29/hour=03
JOB = "user-actions"


def touch(path, content=b""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as stream:
        stream.write(content)


def listing(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "raw")


@pytest.fixture
def area(root):
    return open_area(root)


# --- the raw area --------------------------------------------------------------------------------

def test_raw_files_are_the_visible_data_files(area, root):
    folder = os.path.join(root, PARTITION)
    data = {"clicks+0+00000000000000000001+00000000000000000009.jsonl": b"12345",
            "clicks+1+00000000000000000002+00000000000000000002.jsonl.gz": b"gz"}
    for name, content in {**data, "_tmp.jsonl": b"x", ".clicks.jsonl": b"x", "notes.txt": b"x",
                          "clicks.jsonl.crc": b"x"}.items():
        touch(os.path.join(folder, name), content)
    os.makedirs(os.path.join(folder, "sub.jsonl"))
    assert area.raw_files(HOUR) == {name: len(content) for name, content in data.items()}
    assert area.raw_files(HOUR + 1) == {}
    assert area.input_uris(HOUR, reversed(sorted(data))) == [os.path.join(folder, name) for name in sorted(data)]


def test_hours_with_data_are_the_partition_folders_in_range(area, root):
    landed = [HOUR - 30, HOUR - 1, HOUR, HOUR + 2, HOUR + 20, HOUR + 21]
    for hour in landed:
        os.makedirs(os.path.join(root, hour_partition(hour)))
    os.makedirs(os.path.join(root, "dt=2024-12-29", "hour=3"))  # not an hour folder
    os.makedirs(os.path.join(root, "dt=2024-12-29", "_tmp"))
    os.makedirs(os.path.join(root, "dt=24-12-29", "hour=03"))
    touch(os.path.join(root, "dt=2024-12-29", "hour=07"))  # a file, not a folder: still listed by name
    os.makedirs(os.path.join(root, "_rejected", PARTITION))
    first, end = HOUR - 1, HOUR + 21
    assert area.hours_with_data(first, end) == sorted(
        [hour for hour in landed if first <= hour < end] + [parse_hour_option("2024-12-29T07")])
    assert area.hours_with_data(HOUR + 100, HOUR + 200) == []


def test_watermarks_are_read_per_topic(area, root):
    touch(os.path.join(root, "_watermarks", "clicks.json"), json.dumps({"watermark_us": 7}).encode())
    touch(os.path.join(root, "_watermarks", ".clicks.json.0af1"), b"half")
    assert area.watermarks() == {"clicks": {"watermark_us": 7}}


# --- the derived area ----------------------------------------------------------------------------

def job_output(area, names):
    """A finished job's temp output folder, as mrjob leaves it."""
    temp, uri = area.new_output(JOB)
    for name in names:
        touch(os.path.join(uri, name), name.encode())
    return temp, uri


def committed(area, manifest, names, step):
    temp, _uri = job_output(area, names + ["_SUCCESS"])
    updated = commit_revision(manifest, JOB, PARTITION, step,
                              [part_name(1 + (manifest or {"generation": 0})["generation"], name) for name in names],
                              {}, "2024-12-29T05:00:00Z")
    area.commit(JOB, PARTITION, temp, updated)
    return updated


def test_new_output_is_a_fresh_temp_folder_under_the_job(area, root):
    (temp, uri), (other, _) = area.new_output(JOB), area.new_output(JOB)
    assert temp.startswith(JOB + "/_tmp/") and temp != other
    assert uri == os.path.join(root, "derived", temp)


def test_commit_renames_parts_then_the_manifest_and_removes_the_temp(area, root):
    temp, _uri = job_output(area, ["part-00000", "part-00001", "_SUCCESS", ".part-00000.crc"])
    assert area.output_names(temp) == ["part-00000", "part-00001"]
    manifest = commit_revision(None, JOB, PARTITION, MrStep(0, "full", {"a.jsonl": 5}),
                               ["g000001-part-00000", "g000001-part-00001"], {}, "2024-12-29T05:00:00Z")
    area.commit(JOB, PARTITION, temp, manifest)
    folder = os.path.join(root, "derived", JOB, PARTITION)
    assert listing(folder) == ["_MANIFEST-000001.json", "_SUCCESS", "g000001-part-00000", "g000001-part-00001"]
    with open(os.path.join(folder, "g000001-part-00001"), "rb") as stream:
        assert stream.read() == b"part-00001"
    assert area.manifest(JOB, PARTITION) == manifest
    assert listing(os.path.join(root, "derived", JOB, "_tmp")) == []  # the staged manifest went too
    assert area.part_uris(JOB, PARTITION, {"g000001-part-00001", "g000001-part-00000"}) == [
        os.path.join(folder, "g000001-part-00000"), os.path.join(folder, "g000001-part-00001")]


def test_commit_replaces_debris_of_a_crashed_attempt_at_the_same_generation(area, root):
    folder = os.path.join(root, "derived", JOB, PARTITION)
    touch(os.path.join(folder, "g000001-part-00000"), b"half written by a crashed attempt")
    committed(area, None, ["part-00000"], MrStep(0, "full", {"a.jsonl": 5}))
    with open(os.path.join(folder, "g000001-part-00000"), "rb") as stream:
        assert stream.read() == b"part-00000"


def test_the_latest_manifest_is_the_committed_state(area, root):
    first = committed(area, None, ["part-00000"], MrStep(0, "full", {"a.jsonl": 5}))
    second = committed(area, first, ["part-00000"], MrStep(1, "full", {"a.jsonl": 5, "b.jsonl": 1}, supersedes=[0]))
    folder = os.path.join(root, "derived", JOB, PARTITION)
    touch(os.path.join(folder, "_MANIFEST-1.json"), b"{}")  # not a manifest name: fewer than 6 digits
    assert area.manifest(JOB, PARTITION) == second and second["generation"] == 2
    assert area.manifest(JOB, hour_partition(HOUR + 1)) is None


def test_tidy_deletes_what_the_manifest_does_not_list(area, root):
    first = committed(area, None, ["part-00000", "part-00001"], MrStep(0, "full", {"a.jsonl": 5}))
    second = committed(area, first, ["part-00000"], MrStep(1, "full", {"a.jsonl": 5, "b.jsonl": 1}, supersedes=[0]))
    folder = os.path.join(root, "derived", JOB, PARTITION)
    touch(os.path.join(folder, "g000009-part-00000"), b"a crashed later attempt")
    touch(os.path.join(folder, "README"), b"not ours to delete")
    area.tidy(JOB, PARTITION, second)
    assert listing(folder) == ["README", manifest_name(2), "_SUCCESS", "g000002-part-00000"]


def test_a_manifest_that_is_not_json_is_a_service_error(area, root):
    touch(os.path.join(root, "derived", JOB, PARTITION, manifest_name(3)), b"{trunc")
    with pytest.raises(ServiceError, match=r"^derived manifest %s/derived/%s/%s/_MANIFEST-000003.json is not JSON$"
                       % (root, JOB, PARTITION)):
        area.manifest(JOB, PARTITION)


def test_discard_deletes_a_temp_output(area, root):
    temp, uri = job_output(area, ["part-00000"])
    area.discard(temp)
    assert not os.path.exists(uri)


# --- open_area -----------------------------------------------------------------------------------

def test_local_areas_and_their_uris(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for sink in ("raw", "raw/", str(tmp_path / "raw"), "file://%s/raw/" % tmp_path):
        area = open_area(sink)
        assert (type(area.raw), area.raw.root, area.raw_uri, area.derived.root, area.derived_uri) == (
            LocalStorage, str(tmp_path / "raw"), str(tmp_path / "raw"), str(tmp_path / "raw" / "derived"),
            str(tmp_path / "raw" / "derived")), sink
    area = open_area("raw", "file:///elsewhere/derived")
    assert (area.derived.root, area.derived_uri) == ("/elsewhere/derived", "/elsewhere/derived")


def test_hdfs_areas_share_one_client_with_the_given_user_and_timeout(monkeypatch):
    recorder = ClientRecorder(FakeWebHdfs())
    monkeypatch.setattr(hdfs, "InsecureClient", recorder)
    area = open_area("hdfs:///raw/clicks/", None, "http://nn:9870", "etl", 9.0)
    assert recorder.built == [{"url": "http://nn:9870", "user": "etl", "timeout": 9.0}]
    assert (type(area.derived), area.raw.client, area.derived.client) == (WebHdfsStorage, recorder.client,
                                                                         recorder.client)
    assert (area.raw_uri, area.derived_uri) == ("hdfs:///raw/clicks", "hdfs:///raw/clicks/derived")
    open_area("hdfs:///raw", "hdfs:///derived", "http://nn:9870")
    assert recorder.built[1]["timeout"] == 60.0


@pytest.mark.parametrize("sink, derived_root, message", [
    (None, None, r"^--sink: not given; `clickstream run` needs the raw area's root"),
    ("", None, r"^--sink: not given"),
    ("hdfs://nn:8020/raw", None, r"^--sink: 'hdfs://nn:8020/raw' names a host; expected hdfs:///path"),
    ("hdfs:///raw", None, r"^--webhdfs-url: not given .*; --sink 'hdfs:///raw' needs http://host:port$"),
    ("/raw", "hdfs:///derived", r"^--webhdfs-url: not given .*; run.derived_root 'hdfs:///derived' needs http://"),
    ("/raw", "ftp://host/derived", r"^run.derived_root: 'ftp://host/derived' has an unknown scheme"),
    ("/raw", "file://derived", r"^run.derived_root: 'file://derived' is not a file:/// URI"),
    ("s3://bucket/raw", None, r"^--sink: 's3://bucket/raw': only mrjob's runners read s3://"),
])
def test_unusable_areas_fail_in_one_line(sink, derived_root, message):
    with pytest.raises(ConfigError, match=message):
        open_area(sink, derived_root)


def test_run_area_takes_any_storage():
    client = FakeWebHdfs()
    area = RunArea(WebHdfsStorage(client, "/raw"), WebHdfsStorage(client, "/derived"), "hdfs:///raw/", "hdfs:///derived")
    client.write("/raw/%s/a.jsonl" % PARTITION, data=b"abc")
    assert (area.raw_files(HOUR), area.raw_uri, area.hours_with_data(HOUR, HOUR + 1)) == (
        {"a.jsonl": 3}, "hdfs:///raw", [HOUR])
