"""The local stack's own costs: how long `scripts/stack up` takes, and the memory every service
uses at rest and while a `-r hadoop` job runs on YARN.

    python -m bench.bench_stack [--events 1000000] [--json bench/results/stack.json]

Brings up its own stack in a scratch folder on its own ports (so a stack already up is left
alone), from the download cache (warm start: the cache is what a second `up` on a machine
finds). Memory is the resident set of each service's process tree (by its pid file), summed;
during the job the NodeManager's containers (the MapReduce ApplicationMaster, the task JVMs and
their Python) count under `hadoop`. Asserts no time or memory; asserts that the job's output
has the generated corpus's users.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from bench.machine import stamp, write_result
from bench.process import PeakPoller

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STACK = os.path.join(ROOT, "scripts", "stack")
# Ports apart from the default stack's, so a stack someone else uses keeps running.
PORTS = {"CLICKSTREAM_STACK_KAFKA_PORT": "29192", "CLICKSTREAM_STACK_KAFKA_CONTROLLER_PORT": "29193",
         "CLICKSTREAM_STACK_NAMENODE_PORT": "28120", "CLICKSTREAM_STACK_WEBHDFS_PORT": "29970",
         "CLICKSTREAM_STACK_FERRETDB_PORT": "27218", "CLICKSTREAM_STACK_RESOURCEMANAGER_PORT": "28132",
         "CLICKSTREAM_STACK_RESOURCEMANAGER_SCHEDULER_PORT": "28130",
         "CLICKSTREAM_STACK_RESOURCEMANAGER_TRACKER_PORT": "28131",
         "CLICKSTREAM_STACK_RESOURCEMANAGER_ADMIN_PORT": "28133", "CLICKSTREAM_STACK_RESOURCEMANAGER_WEB_PORT": "28188",
         "CLICKSTREAM_STACK_JOBHISTORY_PORT": "20120", "CLICKSTREAM_STACK_JOBHISTORY_WEB_PORT": "29888"}
MiB = 1024 * 1024


def service_memory(scratch):
    """{service: resident bytes of its process trees}, from the stack's pid files."""
    import psutil

    usage = {}
    pids_folder = os.path.join(scratch, "pids")
    for name in sorted(os.listdir(pids_folder)):
        with open(os.path.join(pids_folder, name)) as stream:
            text = stream.read().strip()
        if not text.isdigit():
            continue
        service = name.split(".")[0].split("-")[0]
        try:
            root = psutil.Process(int(text))
            tree = [root] + root.children(recursive=True)
        except psutil.Error:
            continue
        total = 0
        for process in tree:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        usage[service] = usage.get(service, 0) + total
    return usage


class PeakStackMemory(PeakPoller):
    """The peak of each service's memory and of their sum, polled from the pid files."""

    def __init__(self, scratch):
        super().__init__(period=0.5)
        self.scratch = scratch

    def sample(self):
        usage = service_memory(self.scratch)
        return usage, sum(usage.values())


def stack_env(scratch):
    """The stack's `export` lines as a dict, over this process's environment."""
    env = dict(os.environ, CLICKSTREAM_STACK_SCRATCH=scratch, **PORTS)
    listing = subprocess.run([STACK, "env"], env=env, capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line[len("export "):].partition("=")
            env[name] = value.strip("'\"")
    return env


def timed_up(env):
    started = time.perf_counter()
    result = subprocess.run([STACK, "up"], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit("bench_stack: scripts/stack up failed:\n%s" % result.stderr[-3000:])
    return seconds


def mib_of(usage):
    return {service: round(value / MiB) for service, value in sorted(usage.items())}


def run_job(env, events, workdir):
    """`clickstream mr user-actions -r hadoop` over ``events`` generated events put on HDFS;
    returns (seconds, users output, users generated)."""
    bin_dir = os.path.dirname(sys.executable)
    corpus = os.path.join(workdir, "events.jsonl")
    subprocess.run([os.path.join(bin_dir, "clickstream"), "generate", "-n", str(events), "--users",
                    str(max(10, events // 100)), "-o", corpus], env=env, check=True)
    generated = set()
    with open(corpus, "rb") as stream:
        for line in stream:
            generated.add(json.loads(line)["user_id"])
    hadoop = os.path.join(env["HADOOP_HOME"], "bin", "hadoop")
    subprocess.run([hadoop, "fs", "-mkdir", "-p", "/bench/stack"], env=env, check=True, capture_output=True)
    subprocess.run([hadoop, "fs", "-put", "-f", corpus, "/bench/stack/events.jsonl"], env=env, check=True,
                   capture_output=True)
    started = time.perf_counter()
    result = subprocess.run([os.path.join(bin_dir, "clickstream"), "mr", "user-actions", "-r", "hadoop",
                             "hdfs:///bench/stack/events.jsonl"], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit("bench_stack: the job failed:\n%s" % result.stderr[-3000:])
    users = {json.loads(line.split("\t")[0]) for line in result.stdout.splitlines()}
    return seconds, users, generated


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events of the job run during the stack's peak")
    parser.add_argument("--quick", action="store_true", help="20,000 events")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    events = 20_000 if args.quick else args.events
    scratch = tempfile.mkdtemp(prefix="bench-stack-")
    env = dict(os.environ, CLICKSTREAM_STACK_SCRATCH=scratch, **PORTS)
    try:
        first_up = timed_up(env)
        env = stack_env(scratch)
        at_rest = service_memory(scratch)
        with tempfile.TemporaryDirectory(prefix="bench-stack-job-") as workdir, PeakStackMemory(scratch) as peak:
            job_seconds, users, generated = run_job(env, events, workdir)
        if users != generated:
            raise SystemExit("bench_stack: the job output %d users; the corpus has %d" % (len(users), len(generated)))
        subprocess.run([STACK, "down"], env=env, capture_output=True)
        second_up = timed_up(env)
    finally:
        subprocess.run([STACK, "down"], env=env, capture_output=True)
    result = dict(stamp(), up_seconds={"first": round(first_up, 1), "second": round(second_up, 1)},
                  memory_at_rest_mib=mib_of(at_rest), memory_at_rest_total_mib=round(sum(at_rest.values()) / MiB),
                  job={"events": events, "seconds": round(job_seconds, 1), "users": len(users)},
                  memory_during_job_peak_mib=mib_of(peak.peaks), memory_during_job_total_peak_mib=round(
                      peak.total_peak / MiB))
    print("scripts/stack up (download cache warm): %.1f s, then after down %.1f s" % (first_up, second_up))
    print("memory at rest: %d MiB (%s)" % (result["memory_at_rest_total_mib"], ", ".join(
        "%s %d" % item for item in result["memory_at_rest_mib"].items())))
    print("during `clickstream mr user-actions -r hadoop` over %d events (%.1f s): peak %d MiB (%s)" % (
        events, job_seconds, result["memory_during_job_total_peak_mib"], ", ".join(
            "%s %d" % item for item in result["memory_during_job_peak_mib"].items())))
    if args.json and not args.quick:
        write_result(args.json, result)


if __name__ == "__main__":
    main()
