"""Benchmark mr_user_actions against a plain-Python count and the seed's streaming style, in one run.

    python -m bench.bench_mr [--quick] [--sizes 100000,1000000,10000000] [--repeat N] [--json bench/results/mr.json]

At every size the sides run interleaved ``repeat`` times: the plain-Python count
(``bench.plain_count``), ``-r local``, and at the size nearest 1M also ``-r inline`` and the seed's
streaming style (``cat | python mapper.py | sort | python reducer.py``, ``bench.seed_streaming``).
Each figure is the median with its spread (min–max); a ratio is the ratio of medians with the
spread of the per-round ratios. Then one untimed run per side polls the peak memory of its
process tree (timed runs are not polled). Also: the peak memory of map and reduce tasks with about
a million distinct users (where in-mapper combining spills), and ``-r hadoop`` on the stack (when
``scripts/stack env`` is in the environment): the fixed per-job cost from a tiny input apart from
the per-event cost at 1M events. Asserts no time; asserts that the job and the plain count wrote
the same records, byte for byte, and that the streaming pipeline gave the same per-user records.
"""
import argparse
import json
import os
import re
import shlex
import sys
import tempfile
import uuid

from bench import targets
from bench.corpora import CorpusSpec, corpus_files
from bench.machine import stamp, write_result
from bench.process import mib, run_measured
from bench.stats import ratio_summary, summary

JOB_MODULE = "mr.mr_user_actions"
DEFAULT_SIZES = (100_000, 1_000_000, 10_000_000)
QUICK_SIZES = (20_000, 100_000)
EVENTS_PER_USER = 40  # 10M events -> 250k users configured, about 200k distinct
MEMORY_SPEC = CorpusSpec(10_000_000, 2_500_000, zipf=0.0)  # about a million distinct users
QUICK_MEMORY_SPEC = CorpusSpec(200_000, 200_000, zipf=0.0)
MEMORY_BUDGET_MIB = 64  # the memory run's --combine-memory-mb: small enough that a million users spill
QUICK_MEMORY_BUDGET_MIB = 32  # about a task's resident size before its first key: the quick corpus spills too
# High-cardinality corpora with users drawn uniformly, where combining is hardest (the figures).
UNIFORM_SPECS = ((CorpusSpec(1_000_000, 100_000, zipf=0.0), ("local", "inline")),
                 (CorpusSpec(10_000_000, 200_000, zipf=0.0), ("local",)))
QUICK_UNIFORM_SPECS = ((CorpusSpec(100_000, 10_000, zipf=0.0), ("local", "inline")),)
HADOOP_TINY_EVENTS = 1_000
HADOOP_EVENTS = 1_000_000
SUMMARY_RE = re.compile(r"^clickstream counters: .*$", re.M)
SEED_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seed_streaming")
TARGETS = {"local": targets.MR_LOCAL.bound, "inline": targets.MR_INLINE.bound}  # x the plain count's time


def default_repeat(events, quick):
    if quick:
        return 2
    return 5 if events <= 200_000 else 3


def sorted_output_lines(path):
    with open(path, "rb") as stream:
        return sorted(stream)


def parsed_output(path):
    """{key: record} of a job-format output file (a user's, a product's, an hour's); a key twice is an error."""
    records = {}
    with open(path, "rb") as stream:
        for line in stream:
            key, value = line.rstrip(b"\n").split(b"\t", 1)
            key = json.loads(key)
            assert key not in records, "%s: key %r output twice" % (path, key)
            records[key] = json.loads(value)
    return records


# --- the sides -------------------------------------------------------------------------------------

def run_side(side, files, workdir, poll_memory=False, extra=(), cwd=None):
    """Run one side over ``files``; returns ({"seconds", "counters"?, "peak_rss_mib"?...}, output path)."""
    out = os.path.join(workdir, "%s-%s.tsv" % (side, uuid.uuid4().hex[:8]))
    if side == "baseline":
        command = [sys.executable, "-m", "bench.plain_count", out, *files]
        stdout = os.devnull
    elif side == "streaming":
        python = shlex.quote(sys.executable)
        pipeline = "set -o pipefail; cat \"$@\" | %s %s | LC_ALL=C sort | %s %s" % (
            python, shlex.quote(os.path.join(SEED_FOLDER, "mapper.py")),
            python, shlex.quote(os.path.join(SEED_FOLDER, "reducer.py")))
        command, stdout = ["bash", "-c", pipeline, "seed-streaming", *files], out
    else:
        command, stdout = [sys.executable, "-m", JOB_MODULE, "-r", side, *extra, *files], out
    wall, errors, memory = run_measured(command, stdout, cwd=cwd, poll_memory=poll_memory)
    result = {"seconds": round(wall, 3)}
    counters = SUMMARY_RE.findall(errors)
    if counters:
        result["counters"] = counters[-1]
    if memory:
        result["peak_rss_mib"] = mib(memory.total_peak)
        result["peak_rss_by_process_mib"] = {kind: mib(peak) for kind, peak in sorted(memory.peaks.items())}
    return result, out


def check_same(side, side_out, baseline_out, what):
    """Assert ``side`` wrote the plain count's answer; returns the number of users."""
    if side == "streaming":  # its own JSON encoder: compare the records, not the bytes
        ours, theirs = parsed_output(side_out), parsed_output(baseline_out)
        assert ours == theirs, "%s: the streaming pipeline's records differ from the plain count's (%d vs %d users)" % (
            what, len(ours), len(theirs))
        return len(ours)
    ours, theirs = sorted_output_lines(side_out), sorted_output_lines(baseline_out)
    assert ours == theirs, "%s: job output differs from the plain count's (%d vs %d lines)" % (
        what, len(ours), len(theirs))
    return len(ours)


def spec_for(events):
    return CorpusSpec(events, max(1, events // EVENTS_PER_USER))


def bench_size(events, workdir, sides, report, repeat, spec=None):
    """The plain count and ``sides`` over one corpus (``spec``, default the heavy-tailed one of
    ``events``), interleaved ``repeat`` times, then one memory-polled run of each; every answer
    is checked against the plain count's."""
    spec = spec or spec_for(events)
    files = corpus_files(spec, progress=None)
    report("%d events (%s users, %s): %d files, %.0f MB, sides %s, %d rounds" % (
        events, "{:,}".format(spec.users), "uniform" if spec.zipf == 0 else "heavy-tailed", len(files),
        sum(map(os.path.getsize, files)) / 1e6, "/".join(sides), repeat))
    seconds = {side: [] for side in ("baseline", *sides)}
    counters = {}
    for round_number in range(repeat):
        baseline, baseline_out = run_side("baseline", files, workdir)
        seconds["baseline"].append(baseline["seconds"])
        for side in sides:
            result, side_out = run_side(side, files, workdir)
            users = check_same(side, side_out, baseline_out, "%s at %d events" % (side, events))
            seconds[side].append(result["seconds"])
            counters[side] = result.get("counters", counters.get(side))
            os.remove(side_out)
        os.remove(baseline_out)
        report("  round %d: %s" % (round_number + 1, "  ".join(
            "%s %.2fs" % (side, values[-1]) for side, values in seconds.items())))
    row = {"events": events, "files": len(files), "users": users, "repeat": repeat, "sides": {}, "ratios": {},
           "users_drawn": "uniform" if spec.zipf == 0 else "heavy-tailed"}
    baseline_memory, baseline_out = run_side("baseline", files, workdir, poll_memory=True)
    for side, values in seconds.items():
        entry = {"seconds": summary(values),
                 "seconds_per_million": summary([value / events * 1e6 for value in values])}
        memory = baseline_memory
        if side != "baseline":
            memory, side_out = run_side(side, files, workdir, poll_memory=True)
            check_same(side, side_out, baseline_out, "%s memory run at %d events" % (side, events))
            os.remove(side_out)
            entry["counters"] = counters.get(side)
            row["ratios"][side] = ratio_summary(values, seconds["baseline"])
        entry["peak_rss_mib"] = memory["peak_rss_mib"]
        entry["peak_rss_by_process_mib"] = memory["peak_rss_by_process_mib"]
        row["sides"][side] = entry
    os.remove(baseline_out)
    if "streaming" in seconds:
        for side in sides:
            if side != "streaming":
                row["ratios"]["%s_vs_streaming" % side] = ratio_summary(seconds[side], seconds["streaming"])
    report("  median: %s" % "  ".join(
        "%s %.2fs%s" % (side, entry["seconds"]["median"],
                        " (%.2fx)" % row["ratios"][side]["median"] if side in row["ratios"] else "")
        for side, entry in row["sides"].items()))
    return row


def bench_memory(spec, workdir, report, budget_mib=MEMORY_BUDGET_MIB):
    """One run with about a million distinct users under a small memory budget, polled: the peak
    RSS of map and reduce tasks against the budget."""
    files = corpus_files(spec)
    baseline, baseline_out = run_side("baseline", files, workdir, poll_memory=True)
    local, local_out = run_side("local", files, workdir, extra=["--combine-memory-mb", str(budget_mib)],
                                poll_memory=True)
    users = check_same("local", local_out, baseline_out, "memory run")
    match = re.search(r"combiner spills (\d+)", local.get("counters") or "")
    spills = int(match.group(1)) if match else 0
    assert spills > 0, "memory run: the in-mapper combiner never spilled (%r)" % local.get("counters")
    report("memory: %d events, %d distinct users, budget %d MiB, %d spills: mapper peak %s MiB, reducer peak %s MiB "
           "(plain count process %s MiB)" % (spec.events, users, budget_mib, spills,
                                             local["peak_rss_by_process_mib"].get("mapper"),
                                             local["peak_rss_by_process_mib"].get("reducer"), baseline["peak_rss_mib"]))
    os.remove(baseline_out)
    os.remove(local_out)
    return {"events": spec.events, "distinct_users": users, "combiner_spills": spills, "budget_mib": budget_mib,
            "baseline": baseline, "local": local}


def bench_hadoop(workdir, report, events=HADOOP_EVENTS, repeat=3):
    """``-r hadoop`` on the stack: a tiny input (the fixed per-job cost) and ``events`` events (the
    per-event cost beyond it), interleaved ``repeat`` times."""
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
    seconds = {label: [] for label, _events in sizes}
    try:
        prepared = {}
        for label, count in sizes:
            files = corpus_files(spec_for(count))
            for number, path in enumerate(files):
                client.upload("%s/%s/part-%d.jsonl" % (folder, label, number), path)
            prepared[label] = run_side("baseline", files, workdir)
        for _round in range(repeat):
            for label, count in sizes:
                # Hadoop's LocalJobRunner links the job's files into its working directory: a fresh one.
                cwd = tempfile.mkdtemp(prefix="hadoop-cwd-", dir=workdir)
                job, job_out = run_side("hadoop", ["hdfs://%s/%s/" % (folder, label)], workdir,
                                        extra=["--hadoop-bin", hadoop_bin], cwd=cwd)
                check_same("hadoop", job_out, prepared[label][1], "-r hadoop, %d events" % count)
                seconds[label].append(job["seconds"])
                os.remove(job_out)
    finally:
        client.delete(folder, recursive=True)
    beyond = events - HADOOP_TINY_EVENTS
    per_million = [(large - tiny) / beyond * 1e6 for tiny, large in zip(seconds["tiny"], seconds["large"])]
    results = {label: {"events": count, "seconds": summary(seconds[label]),
                       "baseline_seconds": prepared[label][0]["seconds"]} for label, count in sizes}
    results["fixed_seconds"] = summary(seconds["tiny"], digits=2)
    results["seconds_per_million_events"] = summary(per_million, digits=2)
    # the medians' difference, which the spread (per-round differences) brackets
    results["seconds_per_million_events"]["median"] = round(
        (results["large"]["seconds"]["median"] - results["tiny"]["seconds"]["median"]) / beyond * 1e6, 2)
    report("hadoop: fixed %.1fs per job (%d events), %.2fs per million events beyond it (%d events: %.1fs; "
           "plain count %.2fs)  [median of %d]" % (
               results["fixed_seconds"]["median"], HADOOP_TINY_EVENTS, results["seconds_per_million_events"]["median"],
               events, results["large"]["seconds"]["median"], results["large"]["baseline_seconds"], repeat))
    return results


def hadoop_only(options):
    """Measure ``-r hadoop`` alone and put it into the results already in ``options.json``."""
    results = {}
    if options.json and os.path.exists(options.json):
        with open(options.json) as stream:
            results = json.load(stream)
    with tempfile.TemporaryDirectory(prefix="bench-mr-") as workdir:
        hadoop = bench_hadoop(workdir, print, 100_000 if options.quick else HADOOP_EVENTS,
                              options.hadoop_repeat or (1 if options.quick else 3))
    if hadoop is None:
        return 1
    results["hadoop"] = dict(hadoop, date=stamp()["date"], load_average_15min=round(os.getloadavg()[2], 2))
    if options.json and not options.quick:
        write_result(options.json, results)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--sizes", help="comma-separated event counts (default %s)" % ",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON (e.g. bench/results/mr.json)")
    parser.add_argument("--repeat", type=int, help="rounds per size (default 5 up to 200k events, else 3; quick 2)")
    parser.add_argument("--hadoop-repeat", type=int, help="rounds of -r hadoop (default 3; quick 1)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the million-user memory run")
    parser.add_argument("--skip-hadoop", action="store_true", help="skip -r hadoop even when the stack is up")
    parser.add_argument("--hadoop-only", action="store_true",
                        help="only -r hadoop, its result added to --json's other results (dated on its own)")
    options = parser.parse_args(argv)
    if options.hadoop_only:
        return hadoop_only(options)

    sizes = [int(size) for size in options.sizes.split(",")] if options.sizes else list(
        QUICK_SIZES if options.quick else DEFAULT_SIZES)
    inline_size = min(sizes, key=lambda size: abs(size - 1_000_000))

    def report(text):
        print(text, flush=True)

    results = dict(stamp(), sizes=[])
    with tempfile.TemporaryDirectory(prefix="bench-mr-") as workdir:
        for events in sizes:
            sides = ("local", "inline", "streaming") if events == inline_size else ("local",)
            repeat = options.repeat or default_repeat(events, options.quick)
            results["sizes"].append(bench_size(events, workdir, sides, report, repeat))
        results["uniform"] = [
            bench_size(spec.events, workdir, sides, report, options.repeat or default_repeat(spec.events, options.quick),
                       spec) for spec, sides in (QUICK_UNIFORM_SPECS if options.quick else UNIFORM_SPECS)]
        if not options.skip_memory:
            results["memory"] = (bench_memory(QUICK_MEMORY_SPEC, workdir, report, QUICK_MEMORY_BUDGET_MIB)
                                 if options.quick else bench_memory(MEMORY_SPEC, workdir, report))
        if not options.skip_hadoop:
            results["hadoop"] = bench_hadoop(workdir, report, 100_000 if options.quick else HADOOP_EVENTS,
                                             options.hadoop_repeat or (1 if options.quick else 3))

    largest = results["sizes"][-1]
    inline_row = next(row for row in results["sizes"] if "inline" in row["sides"])
    results["ratios"] = {
        "local_vs_baseline": dict(events=largest["events"], target=TARGETS["local"], **largest["ratios"]["local"]),
        "inline_vs_baseline": dict(events=inline_row["events"], target=TARGETS["inline"],
                                   **inline_row["ratios"]["inline"]),
        "streaming_vs_baseline": dict(events=inline_row["events"], target=None, **inline_row["ratios"]["streaming"]),
        "local_uniform_vs_baseline": dict(events=results["uniform"][-1]["events"], target=TARGETS["local"],
                                          **results["uniform"][-1]["ratios"]["local"]),
        "inline_uniform_vs_baseline": dict(events=results["uniform"][0]["events"], target=TARGETS["inline"],
                                           **results["uniform"][0]["ratios"]["inline"]),
    }
    print()
    print("scaling: s per million events (median) and peak RSS of the process tree:")
    print("  %12s %16s %16s %16s %16s" % ("events", "plain count", "local", "inline", "seed streaming"))
    for row in results["sizes"] + results["uniform"]:
        cells = []
        for side in ("baseline", "local", "inline", "streaming"):
            entry = row["sides"].get(side)
            cells.append("%.2fs %5.0fMiB" % (entry["seconds_per_million"]["median"], entry["peak_rss_mib"])
                         if entry else "-")
        print("  %12d %16s %16s %16s %16s" % (row["events"], *cells))
    for name, ratio in results["ratios"].items():
        print("%s at %d events: %.2fx (rounds %.2f-%.2fx)%s" % (
            name, ratio["events"], ratio["median"], ratio["min"], ratio["max"],
            "" if ratio["target"] is None else "  target <= %.1fx%s" % (
                ratio["target"], "" if ratio["median"] <= ratio["target"] else ", MISSED")))
    if options.json:
        write_result(options.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
