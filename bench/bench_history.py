"""Benchmark an hourly `clickstream run` late in a continuous multi-day stream against an early
one of the same size: the cost of an hour must not grow with the history loaded before it.

    eval "$(scripts/stack env)"; python -m bench.bench_history [--quick] [--days 3] [--users 3000]
        [--events-per-hour 400] [--sample 5] [--json bench/results/history.json]

A stationary generated stream (session starts uniform over the span, heavy-tailed users, about
a third of the sessions without a session id) is written into a local raw area by event hour;
then every hour is run in order, each as its own `clickstream run --hour H` (all five jobs) into
the stack's MongoDB. ``sample`` early hours (from hour 1: hour 0 has no session open at its
start) and the ``sample`` last full hours are timed with `-r local`; the hours between them only
build the history and run with ``--filler-runner`` (default inline: the collections a run leaves
do not depend on the runner, and -r local for every hour of 3 days takes hours here). The runs
pass --ignore-watermark because the raw area is written here, not by the ingest.

Reports each side's median (min–max) wall time, its load steps' time (from the run records),
and the ratio late/early with the spread of the pairwise ratios (early hour i against late hour
i; the two sides cannot interleave: the late hours need the history). Asserts no time; asserts
that the collections equal the one-pass references (tests/reference.py, via tests/equivalence.py)
over every event run so far, after the early hours and after the last.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime

import pymongo

from bench import targets
from bench.machine import stamp, write_result
from bench.stats import ratio_summary, summary
from clickstream.generator import GeneratorSpec, encode_lines, iter_event_chunks
from clickstream.layout import hour_partition

CLICKSTREAM = os.path.join(os.path.dirname(sys.executable), "clickstream")
TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")
START = "2024-12-01T00:00:00Z"
SEED = 31
KEYLESS_FRACTION = 0.35


def references():
    """tests/equivalence.py's compare and check (the references are plain code of the tests)."""
    if TESTS not in sys.path:
        sys.path.insert(0, TESTS)
    from equivalence import check, compare, summary_line

    return compare, check, summary_line


def stream(days, users, events_per_hour, seed=SEED):
    """The generated lines by hour number: {hour: [line]} (malformed lines none: the bench is about cost)."""
    spec = GeneratorSpec(events=int(days * 24 * events_per_hour), users=users, seed=seed, span_hours=days * 24,
                         start=START)
    rng = random.Random(seed)
    keyless, by_hour, latest = {}, {}, None
    for _users, chunk in iter_event_chunks(spec):
        for line in encode_lines(chunk).splitlines():
            record = json.loads(line)
            moment = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
            if latest is not None and (latest - moment).total_seconds() > spec.span_hours * 1800:
                # the generator wraps session starts around to the span's beginning once they pass
                # its end; what follows would double the first hours: the stream stops here
                return by_hour
            latest = moment if latest is None else max(latest, moment)
            if keyless.setdefault(record["session_id"], rng.random() < KEYLESS_FRACTION):
                del record["session_id"]
                line = json.dumps(record).encode()
            by_hour.setdefault(int(moment.timestamp()) // 3600, []).append(line)
    return by_hour


def land(root, by_hour):
    for hour, lines in by_hour.items():
        folder = os.path.join(root, hour_partition(hour))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "history+0+%020d+%020d.jsonl" % (hour, hour)), "wb") as out:
            out.writelines(line + b"\n" for line in lines)


def hour_text(hour):
    return hour_partition(hour).replace("dt=", "").replace("/hour=", "T")


def run_hours(first, last, runner, env):
    """`clickstream run` over hours first..last (one invocation per hour); returns the wall seconds of each."""
    seconds = []
    for hour in range(first, last + 1):
        started = time.perf_counter()
        result = subprocess.run([CLICKSTREAM, "run", "--hour", hour_text(hour), "--ignore-watermark", "-r", runner],
                                capture_output=True, text=True, env=env, timeout=3600)
        seconds.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit("bench_history: run --hour %s -r %s failed (exit %d):\n%s" % (
                hour_text(hour), runner, result.returncode, result.stderr[-3000:]))
    return seconds


def load_seconds(db, hour):
    """The seconds of the load steps of the run that processed ``hour`` (its newest run record)."""
    record = db.runs.find_one({"totals.hours": hour_partition(hour)}, sort=[("started_at", -1)])
    return sum(step["seconds"] for step in record["steps"] if step["step"] == "load")


def verified(db, by_hour, hours, what, report):
    """Asserts the collections equal the references over the events of ``hours``; returns the figures."""
    compare, check, summary_line = references()
    lines = [line for hour in hours for line in by_hour.get(hour, ())]
    figures, differences = compare(db, lines)
    report("  %s: %s" % (what, summary_line(figures, differences)))
    known = check(differences)
    return dict(figures, differences=len(differences), known_gaps=known)


def side(name, hours, seconds, loads, by_hour):
    return {"hours": [hour_text(hour) for hour in hours], "events": [len(by_hour.get(hour, ())) for hour in hours],
            "seconds": summary(seconds), "load_seconds": summary(loads), "label": name}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 day, 600 users, 2 hours a side")
    parser.add_argument("--days", type=float, default=None, help="days of stream (default 3)")
    parser.add_argument("--users", type=int, default=None, help="users (default 3000)")
    parser.add_argument("--events-per-hour", type=int, default=None, help="events per hour (default 400)")
    parser.add_argument("--sample", type=int, default=None, help="hours timed on each side (default 5)")
    parser.add_argument("--runner", default="local", help="runner of the timed hours (default local)")
    parser.add_argument("--filler-runner", default="inline", help="runner of the hours between (default inline)")
    parser.add_argument("--json", default=None, help="write the result here (not with --quick)")
    args = parser.parse_args(argv)
    if not os.environ.get("MONGODB_URI"):
        raise SystemExit("bench_history: MONGODB_URI is unset; run under `eval \"$(scripts/stack env)\"`")
    days = args.days or (1 if args.quick else 3)
    users = args.users or (600 if args.quick else 3000)
    per_hour = args.events_per_hour or (150 if args.quick else 400)
    sample = args.sample or (2 if args.quick else 5)
    total_hours = int(days * 24)
    if total_hours < 2 * sample + 3:
        raise SystemExit("bench_history: --days %r gives %d hours; expected at least 2 x --sample + 3" % (
            days, total_hours))

    def report(text):
        print(text, flush=True)

    load_before = os.getloadavg()
    by_hour = stream(days, users, per_hour)
    first = min(by_hour)
    end = first + total_hours  # hours past the span hold only the tails of its last sessions
    early = list(range(first + 1, first + 1 + sample))
    late = list(range(end - 1 - sample, end - 1))
    db_name = "bench_history_%s" % uuid.uuid4().hex[:8]
    client = pymongo.MongoClient(os.environ["MONGODB_URI"], serverSelectionTimeoutMS=30_000)
    db = client[db_name]
    report("history: %d days, %d users, %d events (%d hours, %d events/hour configured), timed hours %s..%s and "
           "%s..%s with -r %s, the others -r %s; database %s" % (
               days, users, sum(map(len, by_hour.values())), total_hours, per_hour, hour_text(early[0]),
               hour_text(early[-1]), hour_text(late[0]), hour_text(late[-1]), args.runner, args.filler_runner, db_name))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-history-") as workdir:
            root = os.path.join(workdir, "raw")
            land(root, by_hour)
            env = dict(os.environ, CLICKSTREAM_MONGO_URI=os.environ["MONGODB_URI"], CLICKSTREAM_DB=db_name,
                       CLICKSTREAM_SINK=root)
            started = time.perf_counter()
            run_hours(first, first, args.filler_runner, env)
            early_seconds = run_hours(early[0], early[-1], args.runner, env)
            report("  early %s: %s s" % (", ".join(map(hour_text, early)), " ".join("%.1f" % s for s in early_seconds)))
            checked_early = verified(db, by_hour, range(first, early[-1] + 1), "after the early hours", report)
            run_hours(early[-1] + 1, late[0] - 1, args.filler_runner, env)
            late_seconds = run_hours(late[0], late[-1], args.runner, env)
            report("  late %s: %s s" % (", ".join(map(hour_text, late)), " ".join("%.1f" % s for s in late_seconds)))
            run_hours(late[-1] + 1, max(by_hour), args.filler_runner, env)
            checked_all = verified(db, by_hour, sorted(by_hour), "after every hour", report)
            wall = time.perf_counter() - started
            early_loads = [load_seconds(db, hour) for hour in early]
            late_loads = [load_seconds(db, hour) for hour in late]
    finally:
        client.drop_database(db_name)
        client.close()
    load_after = os.getloadavg()
    result = dict(stamp(), days=days, users=users, events=sum(map(len, by_hour.values())),
                  events_per_hour=per_hour, hours=len(by_hour), runner=args.runner,
                  filler_runner=args.filler_runner, jobs="all five", wall_seconds=round(wall, 1),
                  early=side("early", early, early_seconds, early_loads, by_hour),
                  late=side("late", late, late_seconds, late_loads, by_hour),
                  ratio=ratio_summary(late_seconds, early_seconds), load_ratio=ratio_summary(late_loads, early_loads),
                  target=targets.HISTORY.bound, checks={"after_early": checked_early, "after_all": checked_all},
                  load_average={"before": [round(value, 1) for value in load_before],
                                "after": [round(value, 1) for value in load_after], "cpus": os.cpu_count()})
    report("late/early: %.2fx (pairs %.2f-%.2fx); loads %.2fx; target <= %.2fx: %s; load average %s -> %s on %d cores" % (
        result["ratio"]["median"], result["ratio"]["min"], result["ratio"]["max"], result["load_ratio"]["median"],
        targets.HISTORY.bound, targets.HISTORY.verdict(result["ratio"]["median"]), result["load_average"]["before"],
        result["load_average"]["after"], os.cpu_count()))
    if args.json and not args.quick:
        write_result(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
