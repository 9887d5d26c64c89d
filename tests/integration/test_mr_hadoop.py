"""Jobs on `-r hadoop` against the real stack: a real Hadoop streaming job on the stack's YARN over a
generated corpus on HDFS, equal to the reference and byte-for-byte to the inline runner; the job's
code and orjson reach the task containers through HDFS (-files/-archives), as on a cluster.

The task side runs `python -S`: no site-packages, so the job can only import what it ships
(the clickstream and mr packages, orjson; mrjob ships itself), as on a node without the project.
"""
import getpass
import gzip
import os
import posixpath
import subprocess
import sys
import uuid

import pytest
from hdfs import InsecureClient
from mrjob.protocol import JSONProtocol

from corpus import generated_lines
from mr import job_class
from reference import reference_hourly_activity, reference_user_actions
from test_yarn_support import assert_on_yarn, new_applications, resourcemanager_url, yarn_applications  # noqa: F401

pytestmark = pytest.mark.integration

# One line per job that must pass on the stack's Hadoop: (CLI job name, its reference).
HADOOP_JOBS = [
    ("user-actions", reference_user_actions),
    ("hourly-activity", reference_hourly_activity),
]
FILES = 3  # input files: a .gz among them, and a hidden work-in-progress file the jobs must skip


@pytest.fixture
def stack(hadoop_home, webhdfs_url):
    # The stack's mrjob.conf says where the cluster's task logs are (see scripts/stack.d/hadoop.sh).
    if not os.environ.get("MRJOB_CONF"):
        pytest.skip("MRJOB_CONF unset; run under `eval \"$(scripts/stack env)\"`")
    return hadoop_home, InsecureClient(webhdfs_url, user=getpass.getuser())


@pytest.fixture
def folder(stack):
    _hadoop_home, client = stack
    path = "/test/mr-hadoop-%s" % uuid.uuid4().hex
    client.makedirs(path)
    yield path
    client.delete(path, recursive=True)


@pytest.fixture(scope="module")
def corpus():
    return generated_lines()


def write_inputs(lines, local_dir, client, hdfs_dir):
    """The corpus split over FILES files (the last gzipped), locally and on HDFS, plus a hidden
    file of garbage on HDFS. Returns the local data files."""
    paths = []
    for number in range(FILES):
        data = b"".join(line + b"\n" for line in lines[number::FILES])
        name = "part-%d.jsonl" % number
        if number == FILES - 1:
            data, name = gzip.compress(data), name + ".gz"
        path = os.path.join(local_dir, name)
        with open(path, "wb") as stream:
            stream.write(data)
        client.write(posixpath.join(hdfs_dir, name), data=data)
        paths.append(path)
    client.write(posixpath.join(hdfs_dir, "_part-9.jsonl.tmp"), data=b"not an event\n" * 5)
    return paths


def run_lines(job, args, resourcemanager_url=None):
    """Run a job; returns (raw output lines sorted, counters summed over steps). With
    ``resourcemanager_url``, also checks that every step ran as a YARN application."""
    instance = job_class(job)(args=args)
    with instance.make_runner() as runner:
        runner.run()
        lines = sorted(b"".join(runner.cat_output()).splitlines())
        counters = {}
        for step in runner.counters():
            for group, names in step.items():
                for name, count in names.items():
                    counters.setdefault(group, {})[name] = counters.get(group, {}).get(name, 0) + count
        if resourcemanager_url:
            assert_on_yarn(resourcemanager_url, runner)
    return lines, counters


def task_python():
    # -S hides site-packages from tasks; mrjob on 3.12+ needs setuptools' distutils from there.
    return sys.executable + (" -S" if sys.version_info < (3, 12) else "")


@pytest.mark.parametrize("job, reference", HADOOP_JOBS, ids=[job for job, _ in HADOOP_JOBS])
def test_job_on_hadoop_matches_reference_and_inline(job, reference, stack, folder, corpus, tmp_path,
                                                    resourcemanager_url):
    hadoop_home, client = stack
    local_inputs = write_inputs(corpus, str(tmp_path), client, posixpath.join(folder, "input"))

    hadoop_lines, counters = run_lines(job, [
        "-r", "hadoop", "--hadoop-bin", os.path.join(hadoop_home, "bin", "hadoop"),
        "--python-bin", task_python(),
        "--output-dir", "hdfs://" + posixpath.join(folder, "output"),
        "hdfs://" + posixpath.join(folder, "input") + "/",
    ], resourcemanager_url)
    inline_lines, _inline_counters = run_lines(job, ["-r", "inline", "--no-conf", *local_inputs])

    assert hadoop_lines == inline_lines  # byte for byte, record by record
    expected, rejected = reference(corpus)
    output = dict(JSONProtocol().read(line) for line in hadoop_lines)
    assert len(output) == len(hadoop_lines) == len(expected)
    assert output == expected
    assert sum(counters["clickstream rejected"].values()) == rejected
    assert counters["clickstream"]["hidden files skipped"] == 1


def test_cli_selects_hours_on_hdfs_with_the_default_python(stack, folder, corpus, tmp_path, resourcemanager_url):
    """`clickstream mr user-actions -r hadoop --sink hdfs:///... --date D`: the partition folders
    on HDFS, the task python by default the submitting interpreter, the summary on stderr, the
    job a YARN application."""
    hadoop_home, client = stack
    before = yarn_applications(resourcemanager_url)
    day = [line for line in corpus if b"2024-12-29T0" in line][:3000]
    for hour, part in (("03", day[0::2]), ("04", day[1::2])):
        client.write(posixpath.join(folder, "raw/dt=2024-12-29/hour=%s/t+0+1+2.jsonl" % hour),
                     data=b"".join(line + b"\n" for line in part))
    client.write(posixpath.join(folder, "raw/dt=2024-12-29/hour=04/_t+0+3+4.jsonl"), data=b"garbage\n")
    client.write(posixpath.join(folder, "raw/dt=2024-12-30/hour=00/t+0+5+6.jsonl"), data=day[0] + b"\n")
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "clickstream"), "mr", "user-actions", "-r", "hadoop",
         "--hadoop-bin", os.path.join(hadoop_home, "bin", "hadoop"),
         "--sink", "hdfs://" + posixpath.join(folder, "raw"), "--date", "2024-12-29"],
        capture_output=True, cwd=str(tmp_path), timeout=600)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    apps = new_applications(resourcemanager_url, before)
    assert [(app["applicationType"], app["finalStatus"]) for app in apps.values()] == [("MAPREDUCE", "SUCCEEDED")], apps
    output = dict(JSONProtocol().read(line) for line in result.stdout.splitlines())
    expected, rejected = reference_user_actions(day)
    assert output == expected
    summary = [line for line in result.stderr.decode().splitlines() if line.startswith("clickstream counters:")]
    assert len(summary) == 1
    assert summary[0].startswith("clickstream counters: events valid %d, hidden files skipped 1, lines read %d, "
                                 "users output %d; rejected %d" % (len(day) - rejected, len(day), len(expected),
                                                                   rejected))
