"""Benchmark mr_user_actions against a single-process plain-Python loop, measured in the same run.

    python -m bench.bench_mr [--quick] [--sizes 100000,1000000,10000000] [--repeat N] [--json bench/results/mr.json]

Prints both target ratios (``-r local`` at the largest size / baseline, ``-r inline`` at 1M /
baseline), time per million events at every size, the peak memory of map and reduce tasks in a
run with about a million distinct users, where in-mapper combining spills, and ``-r hadoop`` on
the stack (when ``scripts/stack env`` is in the environment): the fixed per-job cost from a tiny
input apart from the per-event cost at 1M events. Each figure is the best of interleaved repeats
(the machine is shared); timed runs are not polled for memory. Asserts no time; asserts that the
job and the baseline computed the same records, byte for byte.

The baseline is what one would write without mrjob: orjson, the event rules checked inline,
``datetime.fromisoformat``, aware datetimes compared, one dict of per-user records.
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

import orjson

from bench.corpora import CorpusSpec, corpus_files

JOB_MODULE = "mr.mr_user_actions"
DEFAULT_SIZES = (100_000, 1_000_000, 10_000_000)
QUICK_SIZES = (20_000, 100_000)
EVENTS_PER_USER = 40  # 10M events -> 250k users configured, about 200k distinct
MEMORY_SPEC = CorpusSpec(10_000_000, 2_500_000, zipf=0.0)  # about a million distinct users
QUICK_MEMORY_SPEC = CorpusSpec(200_000, 200_000, zipf=0.0)
HADOOP_TINY_EVENTS = 1_000
HADOOP_EVENTS = 1_000_000
POLL_SECONDS = 0.1
SUMMARY_RE = re.compile(r"^clickstream counters: .*$", re.M)

# --- the baseline: a plain single-process loop, deliberately independent of the toolkit ----------

ACTION = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")


def _open_lines(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb", buffering=1 << 20)


def _iso_utc(moment):
    moment = moment.astimezone(timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += ".%06d" % moment.microsecond
    return text + "Z"


def baseline_user_actions(paths):
    """orjson + a dict count: {user_id: record} with the job's exact records (same rejects)."""
    users = {}
    loads, decode_error, from_iso, match = orjson.loads, orjson.JSONDecodeError, datetime.fromisoformat, ACTION.match
    for path in paths:
        with _open_lines(path) as lines:
            for line in lines:
                try:
                    event = loads(line)
                except decode_error:
                    continue
                if type(event) is not dict:
                    continue
                user, action, stamp = event.get("user_id"), event.get("action"), event.get("timestamp")
                if type(user) is not str or not 0 < len(user) <= 256 or type(action) is not str or not match(action):
                    continue
                if (type(stamp) is not str or len(stamp) < 17 or stamp[4] != "-" or stamp[7] != "-"
                        or stamp[10] not in "Tt " or stamp[13] != ":"):
                    continue
                try:
                    moment = from_iso(stamp)
                except ValueError:
                    continue
                if moment.tzinfo is None:
                    continue
                record = users.get(user)
                if record is None:
                    users[user] = [moment, moment, action, {action: 1}]
                    continue
                if moment < record[0]:
                    record[0] = moment
                if moment > record[1] or (moment == record[1] and action > record[2]):
                    record[1], record[2] = moment, action
                counts = record[3]
                counts[action] = counts.get(action, 0) + 1
    return {
        user: {"actions": counts, "click_count": sum(counts.values()), "first_seen": _iso_utc(first),
               "last_action": last_action, "last_seen": _iso_utc(last)}
        for user, (first, last, last_action, counts) in users.items()
    }


def write_records(records, path):
    """Records as the job's output lines (JSON key, tab, JSON value with sorted keys), sorted."""
    option = orjson.OPT_SORT_KEYS
    lines = sorted(orjson.dumps(user) + b"\t" + orjson.dumps(value, option=option) + b"\n"
                   for user, value in records.items())
    with open(path, "wb") as stream:
        stream.writelines(lines)


def sorted_output_lines(path):
    with open(path, "rb") as stream:
        return sorted(stream)


# --- measuring a process tree --------------------------------------------------------------------

class PeakMemory:
    """Polls a process and its descendants with psutil; keeps the peak RSS per kind of process
    (mapper, reducer, sort, launcher/other) and the peak of their sum."""

    def __init__(self, pid):
        import psutil

        self._psutil = psutil
        self.root = psutil.Process(pid)
        self.peaks = {}
        self.total_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    @staticmethod
    def kind(cmdline, is_root):
        text = " ".join(cmdline)
        if "--mapper" in text:
            return "mapper"
        if "--reducer" in text:
            return "reducer"
        if cmdline and os.path.basename(cmdline[0]) == "sort":
            return "sort"
        if "java" in os.path.basename(cmdline[0] if cmdline else ""):
            return "hadoop jvm"
        return "launcher" if is_root else "other"

    def _poll(self):
        while not self._stop.is_set():
            total = 0
            try:
                processes = [self.root] + self.root.children(recursive=True)
            except self._psutil.Error:
                return
            for process in processes:
                try:
                    rss = process.memory_info().rss
                    kind = self.kind(process.cmdline(), process.pid == self.root.pid)
                except self._psutil.Error:
                    continue
                total += rss
                self.peaks[kind] = max(self.peaks.get(kind, 0), rss)
            self.total_peak = max(self.total_peak, total)
            self._stop.wait(POLL_SECONDS)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()


def run_measured(command, stdout_path, cwd=None, env=None, poll_memory=False):
    """Run ``command`` with stdout to a file; returns (wall seconds, stderr text, PeakMemory or None).

    Timed runs do not poll: psutil walks /proc for the process tree at every poll, and that CPU
    would come out of the two cores the job is measured on. Memory runs poll."""
    with open(stdout_path, "wb") as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=cwd, env=env)
        if poll_memory:
            with PeakMemory(process.pid) as memory:
                returncode = process.wait()
        else:
            memory, returncode = None, process.wait()
        wall = time.perf_counter() - started
        stderr.seek(0)
        errors = stderr.read().decode("utf-8", "replace")
    if returncode:
        raise SystemExit("bench: %s failed (exit %d):\n%s" % (" ".join(command), returncode, errors[-4000:]))
    return wall, errors, memory


def mib(count):
    return round(count / (1 << 20), 1)


# --- the runs ------------------------------------------------------------------------------------

def run_baseline(files, workdir, poll_memory=False):
    out = os.path.join(workdir, "baseline-%s.tsv" % uuid.uuid4().hex[:8])
    wall, _errors, memory = run_measured([sys.executable, "-m", "bench.bench_mr", "--run-baseline", out, *files],
                                         os.devnull, poll_memory=poll_memory)
    result = {"seconds": round(wall, 3)}
    if memory:
        result["peak_rss_mib"] = mib(memory.total_peak)
    return result, out


def run_job(runner, inputs, workdir, extra=(), cwd=None, poll_memory=False):
    out = os.path.join(workdir, "job-%s-%s.tsv" % (runner, uuid.uuid4().hex[:8]))
    command = [sys.executable, "-m", JOB_MODULE, "-r", runner, *extra, *inputs]
    wall, errors, memory = run_measured(command, out, cwd=cwd, poll_memory=poll_memory)
    summary = SUMMARY_RE.findall(errors)
    result = {"runner": runner, "seconds": round(wall, 3), "counters": summary[-1] if summary else None}
    if memory:
        result["peak_rss_mib"] = {kind: mib(peak) for kind, peak in sorted(memory.peaks.items())}
        result["peak_rss_total_mib"] = mib(memory.total_peak)
    return result, out


def check_same(job_out, baseline_out, what):
    job_lines, baseline_lines = sorted_output_lines(job_out), sorted_output_lines(baseline_out)
    assert job_lines == baseline_lines, "%s: job output differs from the baseline (%d vs %d lines)" % (
        what, len(job_lines), len(baseline_lines))
    return len(job_lines)


def spec_for(events):
    return CorpusSpec(events, max(1, events // EVENTS_PER_USER))


def best_of(runs):
    """The fastest of repeated runs (the least disturbed by other work on the machine), keeping
    every sample's time."""
    best = dict(min(runs, key=lambda result: result["seconds"]))
    best["samples"] = [result["seconds"] for result in runs]
    return best


def bench_size(events, workdir, with_inline, report, repeat):
    """Baseline, -r local and (if ``with_inline``) -r inline over one corpus, interleaved
    ``repeat`` times; each answer is checked against the baseline's."""
    files = corpus_files(spec_for(events), progress=None)
    report("%d events: %d files, %.0f MB" % (events, len(files), sum(map(os.path.getsize, files)) / 1e6))
    runs = {"baseline": [], "local": [], "inline": []}
    for _round in range(repeat):
        baseline, baseline_out = run_baseline(files, workdir)
        runs["baseline"].append(baseline)
        for runner in ("local", "inline") if with_inline else ("local",):
            result, job_out = run_job(runner, files, workdir)
            users = check_same(job_out, baseline_out, "-r %s at %d" % (runner, events))
            runs[runner].append(result)
            os.remove(job_out)
        os.remove(baseline_out)
    row = {"events": events, "files": len(files), "users": users, "repeat": repeat}
    for name, results in runs.items():
        if results:
            row[name] = best_of(results)
            row[name]["seconds_per_million"] = round(row[name]["seconds"] / events * 1e6, 3)
    baseline, local = row["baseline"]["seconds"], row["local"]["seconds"]
    report("  baseline %.2fs  local %.2fs (%.2fx)%s  [best of %d]" % (
        baseline, local, local / baseline,
        "  inline %.2fs (%.2fx)" % (row["inline"]["seconds"], row["inline"]["seconds"] / baseline)
        if with_inline else "", repeat))
    return row


def bench_memory(spec, workdir, report, extra=()):
    files = corpus_files(spec)
    baseline, baseline_out = run_baseline(files, workdir, poll_memory=True)
    local, local_out = run_job("local", files, workdir, extra=extra, poll_memory=True)
    users = check_same(local_out, baseline_out, "memory run")
    match = re.search(r"combiner spills (\d+)", local["counters"] or "")
    spills = int(match.group(1)) if match else 0
    assert spills > 0, "memory run: the in-mapper combiner never spilled (%r)" % local["counters"]
    report("memory: %d events, %d distinct users, %d spills: mapper peak %s MiB, reducer peak %s MiB "
           "(baseline process %s MiB)" % (spec.events, users, spills, local["peak_rss_mib"].get("mapper"),
                                          local["peak_rss_mib"].get("reducer"), baseline["peak_rss_mib"]))
    os.remove(baseline_out)
    os.remove(local_out)
    return {"events": spec.events, "distinct_users": users, "combiner_spills": spills,
            "baseline": baseline, "local": local}


def bench_hadoop(workdir, report, events=HADOOP_EVENTS, repeat=2):
    """``-r hadoop`` on the stack: a tiny input (the fixed per-job cost) and ``events`` events
    (the per-event cost beyond it), interleaved ``repeat`` times, best of each kept."""
    needed = ("HADOOP_HOME", "MRJOB_CONF", "WEBHDFS_URL")
    if not all(os.environ.get(name) for name in needed):
        report("hadoop: skipped (%s unset; run under `eval \"$(scripts/stack env)\"`)" % "/".join(needed))
        return None
    import getpass

    from hdfs import InsecureClient

    client = InsecureClient(os.environ["WEBHDFS_URL"], user=getpass.getuser())
    folder = "/bench/mr-%s" % uuid.uuid4().hex
    hadoop_bin = os.path.join(os.environ["HADOOP_HOME"], "bin", "hadoop")
    sizes = (("tiny", HADOOP_TINY_EVENTS), ("large", events))
    runs = {label: [] for label, _events in sizes}
    try:
        prepared = {}
        for label, count in sizes:
            files = corpus_files(spec_for(count))
            for number, path in enumerate(files):
                client.upload("%s/%s/part-%d.jsonl" % (folder, label, number), path)
            prepared[label] = run_baseline(files, workdir)
        for _round in range(repeat):
            for label, count in sizes:
                # Hadoop's LocalJobRunner links the job's files into its working directory: a fresh one.
                cwd = tempfile.mkdtemp(prefix="hadoop-cwd-", dir=workdir)
                job, job_out = run_job("hadoop", ["hdfs://%s/%s/" % (folder, label)], workdir,
                                       extra=["--hadoop-bin", hadoop_bin], cwd=cwd)
                check_same(job_out, prepared[label][1], "-r hadoop, %d events" % count)
                runs[label].append(job)
                os.remove(job_out)
    finally:
        client.delete(folder, recursive=True)
    results = {label: dict(best_of(runs[label]), events=count, baseline=prepared[label][0])
               for label, count in sizes}
    fixed = results["tiny"]["seconds"]
    per_million = (results["large"]["seconds"] - fixed) / (events - HADOOP_TINY_EVENTS) * 1e6
    results["fixed_seconds"] = round(fixed, 2)
    results["seconds_per_million_events"] = round(per_million, 2)
    report("hadoop: fixed %.1fs per job (%d events), %.2fs per million events beyond it (%d events: %.1fs; "
           "baseline %.2fs)  [best of %d]" % (fixed, HADOOP_TINY_EVENTS, per_million, events,
                                              results["large"]["seconds"], results["large"]["baseline"]["seconds"],
                                              repeat))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--sizes", help="comma-separated event counts (default %s)" % ",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON (e.g. bench/results/mr.json)")
    parser.add_argument("--repeat", type=int, help="runs per size, best kept (default 3 up to 2M events, else 1)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the million-user memory run")
    parser.add_argument("--skip-hadoop", action="store_true", help="skip -r hadoop even when the stack is up")
    parser.add_argument("--run-baseline", nargs="+", metavar=("OUT", "FILE"), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.run_baseline:
        out, *files = options.run_baseline
        write_records(baseline_user_actions(files), out)
        return 0

    sizes = [int(size) for size in options.sizes.split(",")] if options.sizes else list(
        QUICK_SIZES if options.quick else DEFAULT_SIZES)
    inline_size = min(sizes, key=lambda size: abs(size - 1_000_000))

    def report(text):
        print(text, flush=True)

    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "python": sys.version.split()[0],
               "cpus": os.cpu_count(), "sizes": []}
    with tempfile.TemporaryDirectory(prefix="bench-mr-") as workdir:
        for events in sizes:
            repeat = options.repeat or (1 if events > 2_000_000 else 3)
            results["sizes"].append(bench_size(events, workdir, events == inline_size, report, repeat))
        if not options.skip_memory:
            if options.quick:  # a small table, so that even the smoke run spills
                results["memory"] = bench_memory(QUICK_MEMORY_SPEC, workdir, report, ["--combine-users", "5000"])
            else:
                results["memory"] = bench_memory(MEMORY_SPEC, workdir, report)
        if not options.skip_hadoop:
            results["hadoop"] = bench_hadoop(workdir, report, 100_000 if options.quick else HADOOP_EVENTS)

    largest = results["sizes"][-1]
    inline_row = next(row for row in results["sizes"] if "inline" in row)
    results["ratios"] = {
        "local_vs_baseline": {"events": largest["events"],
                              "ratio": round(largest["local"]["seconds"] / largest["baseline"]["seconds"], 3),
                              "target": 0.8},
        "inline_vs_baseline": {"events": inline_row["events"],
                               "ratio": round(inline_row["inline"]["seconds"] / inline_row["baseline"]["seconds"], 3),
                               "target": 1.0},
    }
    print()
    print("scaling (seconds per million events):")
    print("  %12s %10s %10s %10s" % ("events", "baseline", "local", "inline"))
    for row in results["sizes"]:
        print("  %12d %10.2f %10.2f %10s" % (row["events"], row["baseline"]["seconds_per_million"],
                                             row["local"]["seconds_per_million"],
                                             "%.2f" % row["inline"]["seconds_per_million"] if "inline" in row else "-"))
    for name, ratio in results["ratios"].items():
        print("%s at %d events: %.2fx (target <= %.1fx)" % (name, ratio["events"], ratio["ratio"], ratio["target"]))
    if options.json:
        os.makedirs(os.path.dirname(os.path.abspath(options.json)), exist_ok=True)
        with open(options.json, "w") as stream:
            json.dump(results, stream, indent=2)
            stream.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
