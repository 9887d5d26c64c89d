"""Faults on the stack's YARN: a map task's Python SIGKILLed mid-task is retried by YARN to the
exact answer; a job whose tasks always fail makes `clickstream run` exit 1 with the task's error
in its one summary line, and loads nothing for that hour."""
import importlib.util
import json
import os
import posixpath
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pymongo
import pytest
from mrjob.protocol import JSONProtocol

from corpus import generated_lines
from mr.base import sum_counters
from reference import reference_user_actions
from test_yarn_support import assert_on_yarn, new_applications, resourcemanager_url, yarn_applications  # noqa: F401

pytestmark = pytest.mark.integration

JOBS = Path(__file__).parent / "jobs"
CLICKSTREAM = os.path.join(os.path.dirname(sys.executable), "clickstream")
FILES = 3
TASK_ERROR = "clickstream test: this task always fails"


@pytest.fixture
def client(hadoop_home, hdfs_client):
    if not os.environ.get("MRJOB_CONF"):
        pytest.skip("MRJOB_CONF unset; run under `eval \"$(scripts/stack env)\"`")
    return hdfs_client


@pytest.fixture
def folder(hdfs_folder):
    return hdfs_folder


def load_job_class(path, name):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # mrjob finds the job's file through its module
    spec.loader.exec_module(module)
    return getattr(module, name)


def kill_when_announced(pause_dir, killed, stop, timeout=600):
    """Wait for the attempt's pid file in ``pause_dir`` and SIGKILL that pid; appends (attempt, pid)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        names = sorted(name for name in os.listdir(pause_dir) if not name.endswith(".tmp"))
        if names:
            pid = int((pause_dir / names[0]).read_text())
            os.kill(pid, signal.SIGKILL)  # not our child: the task's shell reaps it
            killed.append((names[0], pid))
            return
        time.sleep(0.1)


def test_a_map_tasks_python_killed_mid_task_is_retried_by_yarn_to_the_exact_answer(
        hadoop_home, client, folder, resourcemanager_url, tmp_path):
    lines = generated_lines()
    for number in range(FILES):
        client.write(posixpath.join(folder, "input", "part-%d.jsonl" % number),
                     data=b"".join(line + b"\n" for line in lines[number::FILES]))
    pause_dir = tmp_path / "pause"
    pause_dir.mkdir()
    killed, stop = [], threading.Event()
    killer = threading.Thread(target=kill_when_announced, args=(pause_dir, killed, stop), daemon=True)
    killer.start()
    job_class = load_job_class(JOBS / "mr_killed_user_actions.py", "MRKilledUserActions")
    job = job_class([
        "-r", "hadoop", "--hadoop-bin", os.path.join(hadoop_home, "bin", "hadoop"),
        "--combine-users", "20",  # spill early: the killed attempt has written output already
        "--pause-dir", str(pause_dir),
        "--output-dir", "hdfs://" + posixpath.join(folder, "output"),
        "hdfs://" + posixpath.join(folder, "input") + "/",
    ])
    try:
        with job.make_runner() as runner:
            runner.run()
            output_lines = b"".join(runner.cat_output()).splitlines()
            counters = sum_counters(runner.counters())
            assert_on_yarn(resourcemanager_url, runner)
    finally:
        stop.set()
        killer.join(timeout=10)

    assert len(killed) == 1 and killed[0][0].endswith("_m_000000_0"), killed
    expected, rejected = reference_user_actions(lines)
    output = dict(JSONProtocol().read(line) for line in output_lines)
    assert len(output_lines) == len(output) == len(expected)  # no user twice: the killed attempt's output is gone
    assert output == expected
    # YARN saw the attempt fail and ran another (Hadoop names the group "Job Counters ", space included)
    job_counters = [names for group, names in counters.items() if group.strip() == "Job Counters"]
    assert [names.get("Failed map tasks") for names in job_counters] == [1], counters
    assert sum(counters["clickstream rejected"].values()) == rejected  # only the successful attempts count
    assert counters["clickstream"]["lines read"] == len(lines)


def test_a_job_that_fails_for_good_fails_the_run_with_the_tasks_error_and_loads_nothing(
        client, folder, mongodb_uri, resourcemanager_url, tmp_path):
    sink = posixpath.join(folder, "raw")
    lines = [line for line in generated_lines(events=2000, users=100) if b"2024-12-29T03" in line]
    client.write(posixpath.join(sink, "dt=2024-12-29/hour=03/t+0+1+2.jsonl"),
                 data=b"".join(line + b"\n" for line in lines))
    # The cluster's mrjob.conf, plus a task python that always exits 1 with a message on stderr.
    # Two attempts per map task, not four: the point is that a retry does not save it.
    conf = tmp_path / "failing-mrjob.conf"
    conf.write_text(json.dumps({"include": os.environ["MRJOB_CONF"], "runners": {"hadoop": {
        "python_bin": [sys.executable, "-c", "import sys; sys.exit(%r)" % TASK_ERROR],
        "jobconf": {"mapreduce.map.maxattempts": "2"}}}}))
    database = "yarn_faults_%s" % uuid.uuid4().hex[:10]
    env = dict(os.environ, CLICKSTREAM_MONGO_URI=mongodb_uri, CLICKSTREAM_DB=database,
               CLICKSTREAM_RUN_MRJOB_CONF=str(conf))
    before = yarn_applications(resourcemanager_url)
    mongo = pymongo.MongoClient(mongodb_uri, serverSelectionTimeoutMS=10_000)
    try:
        result = subprocess.run([CLICKSTREAM, "run", "--hour", "2024-12-29T03", "--ignore-watermark", "-r", "hadoop",
                                 "--sink", "hdfs://" + sink, "--jobs", "user-actions"],
                                capture_output=True, text=True, env=env, timeout=900)
        assert result.returncode == 1, result.stderr[-3000:]
        summaries = [line for line in result.stderr.splitlines() if line.startswith("clickstream run: ")]
        assert len(summaries) == 1, result.stderr[-3000:]
        summary = summaries[0]
        assert summary.startswith("clickstream run: failed; "), summary
        assert "; FAILED: user-actions " in summary and " the job failed: Step 1 of 1 failed: " in summary, summary
        # the failed attempt's (or container's) own words, from its stderr in the NodeManager's log dir
        assert re.search(r"failed: (attempt|container)_\d+_\d+_\w+: " + re.escape(TASK_ERROR) + "$", summary), summary
        # nothing loaded, nothing committed for the hour
        db = mongo[database]
        assert db.user_clicks.count_documents({}) == 0
        assert db.load_batches.count_documents({}) == 0
        derived = posixpath.join(sink, "derived/user-actions/dt=2024-12-29/hour=03")
        status = client.status(derived, strict=False)
        assert status is None or not [name for name in client.list(derived) if name.startswith("_MANIFEST")]
        # and YARN ran it, and says it failed
        failed = [app for app in new_applications(resourcemanager_url, before).values() if app["finalStatus"] == "FAILED"]
        assert [(app["applicationType"], app["state"]) for app in failed] == [("MAPREDUCE", "FINISHED")], failed
    finally:
        mongo.drop_database(database)
        mongo.close()
