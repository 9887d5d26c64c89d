"""Loader benchmark on the stack's MongoDB-wire server: our `load` vs a bare pymongo unordered
bulk_write of the same upserts vs the seed's one-insert-per-line loop, in interleaved rounds (median
and min-max). Asserts no time; checks that ours and the bare writes leave the same documents.

    eval "$(scripts/stack env)"; .venv/bin/python -m bench.bench_loader [--quick] [--users N] [--repeat R]
"""
import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import datetime, timezone

import pymongo

from bench import targets
from bench.machine import stamp
from bench.stats import ratio_summary, summary
from loaders.load import load_batch
from loaders.user_clicks import COLLECTION, ensure_indexes, user_operations, validate_record

ACTIONS = ("add_to_cart", "page_view", "purchase", "search", "view_product")
TARGET = targets.LOADER.bound  # ours keeps at least this fraction of the bare bulk_write's records/s


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
    load_batch(db, "user-actions", iter(batch), "bench", [], {})


def run_bare(db, batch):
    """The same two updates per record, built up front, written with nothing else around them."""
    collection = db[COLLECTION]
    ensure_indexes(collection)
    now = datetime.now(timezone.utc)
    operations = [operation for key, value in batch
                  for operation in user_operations(validate_record(key, value), "bench", now)]
    started = time.perf_counter()
    for start in range(0, len(operations), 1000):
        collection.bulk_write(operations[start:start + 1000], ordered=False)
    return time.perf_counter() - started


def run_seed_loop(db, batch):
    collection = db[COLLECTION]
    for key, value in batch:
        collection.insert_one({"user_id": key, "click_count": value["click_count"], "last_action": value["last_action"]})


def snapshot(db):
    return sorted((document["user_id"], document["click_count"], sorted(document["actions"].items()),
                   document["last_action"]) for document in db[COLLECTION].find())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    # 5,000: the stack's mongo-java-server slows down per upsert as a collection grows, so 20,000
    # users take over 20 minutes a round there (measured), against about 15 s for 5,000
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", default=None, help="write results here (e.g. bench/results/loader.json)")
    options = parser.parse_args(argv)
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        print("bench_loader: MONGODB_URI is unset; run under eval \"$(scripts/stack env)\"", file=sys.stderr)
        return 2
    users = 2_000 if options.quick else options.users
    repeat = 2 if options.quick else options.repeat
    batch = records(users)
    client = pymongo.MongoClient(uri)
    timings = {"ours": [], "bare": [], "seed_loop": []}
    for _ in range(repeat):
        names = {side: "bench_%s_%s" % (side, uuid.uuid4().hex[:8]) for side in timings}
        try:
            started = time.perf_counter()
            run_ours(client[names["ours"]], batch)
            timings["ours"].append(time.perf_counter() - started)
            timings["bare"].append(run_bare(client[names["bare"]], batch))
            started = time.perf_counter()
            run_seed_loop(client[names["seed_loop"]], batch)
            timings["seed_loop"].append(time.perf_counter() - started)
            if snapshot(client[names["ours"]]) != snapshot(client[names["bare"]]):
                raise SystemExit("bench_loader: ours and the bare bulk_write left different documents")
            if client[names["seed_loop"]][COLLECTION].count_documents({}) != users:
                raise SystemExit("bench_loader: the seed loop did not insert every record")
        finally:
            for name in names.values():
                client.drop_database(name)
    # records/s as a fraction of another side's: its time over ours, round by round
    result = dict(stamp(), users=users, repeat=repeat, server=client.server_info().get("version"), target=TARGET,
                  seconds={side: summary(values) for side, values in timings.items()},
                  records_per_second={side: summary([users / value for value in values], digits=0)
                                      for side, values in timings.items()},
                  ours_vs_bare=ratio_summary(timings["bare"], timings["ours"]),
                  ours_vs_seed_loop=ratio_summary(timings["seed_loop"], timings["ours"]))
    for side, values in result["seconds"].items():
        print("%-10s median %7.2fs (%.2f-%.2f)  %9.0f records/s" % (
            side, values["median"], values["min"], values["max"], result["records_per_second"][side]["median"]))
    ratio = result["ours_vs_bare"]
    print("ours / bare bulk_write: %.2f (rounds %.2f-%.2f; target >= %.2f%s)" % (
        ratio["median"], ratio["min"], ratio["max"], TARGET, "" if ratio["median"] >= TARGET else ", MISSED"))
    ratio = result["ours_vs_seed_loop"]["median"]
    print("ours vs the seed's one-insert-per-line loop (not idempotent; plain inserts): %s" % (
        "%.1fx faster" % ratio if ratio >= 1 else "%.1fx slower" % (1 / ratio)))
    if options.json:
        os.makedirs(os.path.dirname(os.path.abspath(options.json)), exist_ok=True)
        with open(options.json, "w") as stream:
            json.dump(result, stream, indent=2)
            stream.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
