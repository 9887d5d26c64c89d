"""The stack's Hadoop: `hadoop fs` sees what WebHDFS wrote, the ResourceManager reports its
NodeManager, and mrjob's hadoop runner runs a real Hadoop streaming job on YARN over input on HDFS."""
import collections
import importlib.util
import json
import os
import posixpath
import subprocess
import sys
from pathlib import Path

import pytest

from test_yarn_support import assert_on_yarn, resourcemanager_url, rm_get  # noqa: F401

pytestmark = pytest.mark.integration

JOBS = Path(__file__).parent / "jobs"

TEXTS = {
    "part-a.txt": "the quick brown fox jumps over the lazy dog\nthe dog sleeps\n\n  tabs\tand  spaces  \n",
    "part-b.txt": "caf\u00e9 caf\u00e9 na\u00efve \u2192 the end\nThe End the end\n" * 3,
}


def load_job_class(path, name):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # mrjob finds the job's file through its module
    spec.loader.exec_module(module)
    return getattr(module, name)


@pytest.fixture
def client(hdfs_client):
    return hdfs_client


@pytest.fixture
def folder(hdfs_folder):
    return hdfs_folder


def hadoop(hadoop_home, *args):
    return subprocess.run(
        [os.path.join(hadoop_home, "bin", "hadoop"), *args],
        capture_output=True, text=True, timeout=120,
    )


def test_hadoop_fs_sees_webhdfs_writes(hadoop_home, client, folder):
    client.write(posixpath.join(folder, "hello.txt"), data=b"hello hdfs\n")

    root = hadoop(hadoop_home, "fs", "-ls", posixpath.dirname(folder))
    assert root.returncode == 0, root.stderr
    assert folder in root.stdout.split()

    listing = hadoop(hadoop_home, "fs", "-ls", folder)
    assert listing.returncode == 0, listing.stderr
    assert posixpath.join(folder, "hello.txt") in listing.stdout.split()

    cat = hadoop(hadoop_home, "fs", "-cat", posixpath.join(folder, "hello.txt"))
    assert (cat.returncode, cat.stdout) == (0, "hello hdfs\n"), cat.stderr

    missing = hadoop(hadoop_home, "fs", "-test", "-e", posixpath.join(folder, "nothing"))
    assert missing.returncode == 1


def test_resourcemanager_reports_one_running_nodemanager_on_loopback(resourcemanager_url):
    nodes = rm_get(resourcemanager_url, "/nodes")["nodes"]["node"]
    assert [node["state"] for node in nodes] == ["RUNNING"]
    assert nodes[0]["nodeHostName"] in ("localhost", "127.0.0.1")
    metrics = rm_get(resourcemanager_url, "/metrics")["clusterMetrics"]
    assert metrics["activeNodes"] == 1 and metrics["totalMB"] >= 2048 and metrics["totalVirtualCores"] >= 2


def test_mrjob_word_count_on_hadoop(hadoop_home, client, folder, resourcemanager_url):
    # `scripts/stack env` sets MRJOB_CONF: where the stack's YARN keeps task logs.
    if not os.environ.get("MRJOB_CONF"):
        pytest.skip("MRJOB_CONF unset; run under `eval \"$(scripts/stack env)\"`")
    for name, text in TEXTS.items():
        client.write(posixpath.join(folder, "input", name), data=text.encode("utf-8"))
    output = posixpath.join(folder, "output")

    MRWordCount = load_job_class(JOBS / "mr_word_count.py", "MRWordCount")
    job = MRWordCount([
        "-r", "hadoop",
        "--hadoop-bin", os.path.join(hadoop_home, "bin", "hadoop"),
        # the task side runs on this machine: the venv's python, not whatever python3 is first
        "--python-bin", sys.executable,
        "--output-dir", "hdfs://" + output,
        "hdfs://" + posixpath.join(folder, "input"),
    ])
    with job.make_runner() as runner:
        runner.run()
        counts = dict(job.parse_output(runner.cat_output()))
        counters = runner.counters()
        assert_on_yarn(resourcemanager_url, runner)

    expected = collections.Counter()
    for text in TEXTS.values():
        expected.update(text.split())
    assert counts == dict(expected)

    # the same result read over WebHDFS, independently of mrjob's `hadoop fs -cat`
    parts = sorted(n for n in client.list(output) if n.startswith("part-"))
    assert parts
    via_webhdfs = {}
    for part in parts:
        with client.read(posixpath.join(output, part), encoding="utf-8") as reader:
            for line in reader.read().splitlines():
                key, value = line.split("\t")
                via_webhdfs[json.loads(key)] = json.loads(value)
    assert via_webhdfs == dict(expected)

    # mrjob read the counters off Hadoop's log: one step, every input line mapped
    assert len(counters) == 1
    lines = sum(len(text.splitlines()) for text in TEXTS.values())
    assert counters[0]["Map-Reduce Framework"]["Map input records"] == lines
