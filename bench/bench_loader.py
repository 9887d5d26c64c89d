"""Loader benchmark on the stack's MongoDB-wire server: our `load` vs a bare pymongo unordered
bulk_write of the same upserts (at a base size and at ten times it), the seed's one-insert-per-line
loop, and our load into a collection that already holds twenty times as many other users; in
interleaved rounds (median and min-max). Asserts no time; checks that each side left the same documents.

    eval "$(scripts/stack env)"; .venv/bin/python -m bench.bench_loader [--quick] [--users N] [--scale K]
        [--prefill F] [--repeat R] [--server-pid PID] [--json bench/results/loader.json]

The scaling figure (time for K*N users over time for N) and the prefilled one (N users into F*N
documents over N into an empty collection) show whether the server finds each upsert's document
through the unique index: a scan per upsert makes the first about K times the linear K and the
second about F. `--server-pid` (the stack's server, `cat $CLICKSTREAM_STACK_SCRATCH/pids/ferretdb.pid`)
adds its CPU seconds per side, a figure a loaded machine disturbs less than wall time.
"""
import argparse
import os
import random
import sys
import time
import uuid
from datetime import datetime, timezone

import pymongo

from bench import targets
from bench.machine import stamp, write_result
from bench.stats import ratio_summary, summary
from loaders.load import load_batch
from loaders.user_clicks import UserClicks, user_operations, validate_record

ACTIONS = ("add_to_cart", "page_view", "purchase", "search", "view_product")
TARGET = targets.LOADER.bound  # ours keeps at least this fraction of the bare bulk_write's records/s
SCALING_TARGET = targets.Target(15.0, at_most=True)  # time for K*N users over time for N (K = 10)
RATE_TARGET = targets.Target(2_000, at_most=False, unit="/s")  # users/s at K*N users
COLLECTION = UserClicks.COLLECTION


def records(users, seed=1):
    """Deterministic mr_user_actions records for ``users`` users."""
    rng = random.Random(seed)
    out = []
    for number in range(users):
        actions = {action: rng.randint(1, 20) for action in rng.sample(ACTIONS, rng.randint(1, 5))}
        first = 1735430400 + rng.randint(0, 3600)
        last = first + rng.randint(0, 7200)
        out.append(("user-%07d" % number, {
            "actions": actions, "click_count": sum(actions.values()), "last_action": sorted(actions)[0],
            "first_seen": datetime.fromtimestamp(first, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "last_seen": datetime.fromtimestamp(last, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}))
    return out


def run_ours(db, batch):
    started = time.perf_counter()
    load_batch(db, "user-actions", iter(batch), "bench", [], {})
    return time.perf_counter() - started


def run_bare(db, batch):
    """The same two updates per record, built up front, written with nothing else around them."""
    collection = db[COLLECTION]
    UserClicks.ensure_indexes(collection)
    now = datetime.now(timezone.utc)
    operations = [operation for key, value in batch
                  for operation in user_operations(validate_record(key, value), "bench", now)]
    started = time.perf_counter()
    for start in range(0, len(operations), 1000):
        collection.bulk_write(operations[start:start + 1000], ordered=False)
    return time.perf_counter() - started


def run_seed_loop(db, batch):
    collection = db[COLLECTION]
    started = time.perf_counter()
    for key, value in batch:
        collection.insert_one({"user_id": key, "click_count": value["click_count"], "last_action": value["last_action"]})
    return time.perf_counter() - started


def prefill(db, documents):
    """``documents`` other users' documents, with the loader's indexes, before the timed load."""
    collection = db[COLLECTION]
    UserClicks.ensure_indexes(collection)
    for start in range(0, documents, 5000):
        collection.insert_many([{"user_id": "other-%08d" % number, "click_count": 1, "actions": {"search": 1},
                                 "batches": ["earlier"]} for number in range(start, min(documents, start + 5000))],
                               ordered=False)


def snapshot(db):
    return sorted((document["user_id"], document["click_count"], sorted(document["actions"].items()),
                   document["last_action"]) for document in db[COLLECTION].find({"user_id": {"$regex": "^user-"}}))


class ServerCpu:
    """CPU seconds (user + system) of the server process, from /proc; None without a pid."""

    def __init__(self, pid):
        self.pid = pid

    def seconds(self):
        if self.pid is None:
            return None
        with open("/proc/%d/stat" % self.pid) as stream:
            fields = stream.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(client, cpu, run, batch, timings, side, before=None):
    """One timed side in a database of its own; returns the database name (dropped by the caller)."""
    name = "bench_%s_%s" % (side, uuid.uuid4().hex[:8])
    if before:
        before(client[name])
    started_cpu = cpu.seconds()
    timings.setdefault(side, []).append(run(client[name], batch))
    if started_cpu is not None:
        timings.setdefault(side + "_server_cpu", []).append(cpu.seconds() - started_cpu)
    return name


def rates(users, seconds):
    return summary([users / value for value in seconds], digits=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int, default=5_000, help="the base size N")
    parser.add_argument("--scale", type=int, default=10, help="K: also load K*N users (1: skip)")
    parser.add_argument("--prefill", type=int, default=20, help="F: also load N users into F*N documents (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--server-pid", type=int, default=None, help="the server's pid, for its CPU seconds")
    parser.add_argument("--json", default=None, help="write results here (e.g. bench/results/loader.json)")
    options = parser.parse_args(argv)
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        print("bench_loader: MONGODB_URI is unset; run under eval \"$(scripts/stack env)\"", file=sys.stderr)
        return 2
    users = 1_000 if options.quick else options.users
    repeat = 1 if options.quick else options.repeat
    scale, fill = options.scale, options.prefill * users
    batch, scaled_batch = records(users), records(users * scale) if scale > 1 else None
    client = pymongo.MongoClient(uri)
    cpu = ServerCpu(options.server_pid)
    timings = {}
    load_before = os.getloadavg()
    for _ in range(repeat):
        names = []
        try:
            names.append(measure(client, cpu, run_ours, batch, timings, "ours"))
            names.append(measure(client, cpu, run_bare, batch, timings, "bare"))
            if snapshot(client[names[-2]]) != snapshot(client[names[-1]]):
                raise SystemExit("bench_loader: ours and the bare bulk_write left different documents")
            names.append(measure(client, cpu, run_seed_loop, batch, timings, "seed_loop"))
            if client[names[-1]][COLLECTION].count_documents({}) != users:
                raise SystemExit("bench_loader: the seed loop did not insert every record")
            if scale > 1:
                names.append(measure(client, cpu, run_ours, scaled_batch, timings, "ours_scaled"))
                names.append(measure(client, cpu, run_bare, scaled_batch, timings, "bare_scaled"))
                if snapshot(client[names[-2]]) != snapshot(client[names[-1]]):
                    raise SystemExit("bench_loader: at %d users, ours and the bare bulk_write differ" % (users * scale))
            if fill:
                names.append(measure(client, cpu, run_ours, batch, timings, "ours_prefilled",
                                     before=lambda db: prefill(db, fill)))
                if snapshot(client[names[-1]]) != snapshot(client[names[0]]):
                    raise SystemExit("bench_loader: the load into a filled collection left other documents")
                if client[names[-1]][COLLECTION].count_documents({}) != fill + users:
                    raise SystemExit("bench_loader: the filled collection lost or doubled documents")
        finally:
            for name in names:
                client.drop_database(name)
    load_after = os.getloadavg()
    result = dict(stamp(), users=users, repeat=repeat, server=client.server_info().get("version"), target=TARGET,
                  load_average={"before": [round(value, 2) for value in load_before],
                                "after": [round(value, 2) for value in load_after]},
                  seconds={side: summary(values) for side, values in timings.items()},
                  records_per_second={side: rates(users, timings[side]) for side in ("ours", "bare", "seed_loop")},
                  # records/s as a fraction of another side's: its time over ours, round by round
                  ours_vs_bare=ratio_summary(timings["bare"], timings["ours"]),
                  ours_vs_seed_loop=ratio_summary(timings["seed_loop"], timings["ours"]))
    if scale > 1:
        result["scaled"] = {
            "users": users * scale, "scale": scale,
            "records_per_second": {side: rates(users * scale, timings[side + "_scaled"]) for side in ("ours", "bare")},
            "ours_vs_bare": ratio_summary(timings["bare_scaled"], timings["ours_scaled"]),
            "time_over_base": ratio_summary(timings["ours_scaled"], timings["ours"]),
            "targets": {"time_over_base": SCALING_TARGET.text(), "ours_users_per_second": RATE_TARGET.text(),
                        "ours_vs_bare": ">= %.2f" % TARGET}}
    if fill:
        result["prefilled"] = {"documents": fill, "users": users,
                               "time_over_empty": ratio_summary(timings["ours_prefilled"], timings["ours"])}
    report(result)
    if options.json:
        write_result(options.json, result)
    return 0


def report(result):
    seconds = result["seconds"]
    for side, values in seconds.items():
        print("%-22s median %8.2fs (%.2f-%.2f)" % (side, values["median"], values["min"], values["max"]))
    ratio = result["ours_vs_bare"]
    print("%s users: ours %.0f users/s, bare %.0f; ours / bare bulk_write: %.2f (rounds %.2f-%.2f; target >= %.2f%s)" % (
        "{:,}".format(result["users"]), result["records_per_second"]["ours"]["median"],
        result["records_per_second"]["bare"]["median"], ratio["median"], ratio["min"], ratio["max"], TARGET,
        "" if ratio["median"] >= TARGET else ", MISSED"))
    scaled = result.get("scaled")
    if scaled:
        rate, over, versus = scaled["records_per_second"]["ours"]["median"], scaled["time_over_base"], scaled["ours_vs_bare"]
        print("%s users: ours %.0f users/s (target %s: %s), bare %.0f; ours / bare %.2f (%.2f-%.2f; %s)" % (
            "{:,}".format(scaled["users"]), rate, RATE_TARGET.text(), RATE_TARGET.verdict(rate),
            scaled["records_per_second"]["bare"]["median"], versus["median"], versus["min"], versus["max"],
            "met" if versus["median"] >= TARGET else "MISSED"))
        print("time for %s users over time for %s: %.2f (rounds %.2f-%.2f; target %s: %s)" % (
            "{:,}".format(scaled["users"]), "{:,}".format(result["users"]), over["median"], over["min"], over["max"],
            SCALING_TARGET.text(), SCALING_TARGET.verdict(over["median"])))
    filled = result.get("prefilled")
    if filled:
        over = filled["time_over_empty"]
        print("%s users into %s other documents over into an empty collection: %.2f (rounds %.2f-%.2f; a scan per "
              "upsert would make it about %d)" % ("{:,}".format(filled["users"]), "{:,}".format(filled["documents"]),
                                                  over["median"], over["min"], over["max"],
                                                  2 * filled["documents"] // filled["users"] + 1))
    ratio = result["ours_vs_seed_loop"]["median"]
    print("ours vs the seed's one-insert-per-line loop (not idempotent; plain inserts): %s" % (
        "%.1fx faster" % ratio if ratio >= 1 else "%.1fx slower" % (1 / ratio)))
    print("load average before %s, after %s (%d CPUs)" % (result["load_average"]["before"],
                                                        result["load_average"]["after"], os.cpu_count()))


if __name__ == "__main__":
    sys.exit(main())
