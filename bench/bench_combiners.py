"""Peak task memory of the other combining jobs, product-popularity and hourly-activity, under a
small ``--combine-memory-mb``, on bench_mr's memory corpus (about a million distinct users), with
each job's answer checked against a plain-Python computation over the same files.

    python -m bench.bench_combiners [--quick] [--json bench/results/combiners.json]

One ``-r local`` run per job, polled for the peak RSS of its map and reduce tasks (not timed: the
polling costs CPU). Asserts no time; asserts that each job wrote exactly the plain computation's
records. bench_mr measures ``user-actions`` the same way.
"""
import argparse
import os
import re
import sys
import tempfile
from datetime import timezone

from bench.bench_mr import (MEMORY_BUDGET_MIB, MEMORY_SPEC, QUICK_MEMORY_BUDGET_MIB, QUICK_MEMORY_SPEC, SUMMARY_RE,
                            parsed_output)
from bench.corpora import corpus_files
from bench.machine import stamp, write_result
from bench.plain_count import valid_events
from bench.process import mib, run_measured

JOBS = {"product-popularity": "mr.mr_product_popularity", "hourly-activity": "mr.mr_hourly_activity"}
SPILLS_RE = re.compile(r"combiner spills (\d+)")
VIEW, CART, PURCHASE = "view_product", "add_to_cart", "purchase"


# --- the plain computation -----------------------------------------------------------------------

def _product_id(event):
    """An event's product as the jobs key it: a non-empty string as it is, an integer as its text."""
    value = event.get("product_id")
    if type(value) is str:
        return value or None
    if type(value) is int:  # not a boolean: type() is exact
        return str(value)
    return None


def _rate(numerator, denominator):
    return round(numerator / denominator, 6) if denominator else None


def plain_answers(paths):
    """{"product-popularity": {product: record}, "hourly-activity": {hour: record}} in one pass."""
    products, hours = {}, {}
    for user, action, moment, event in valid_events(paths):
        hour = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H")
        users, actions = hours.setdefault(hour, (set(), {}))
        users.add(user)
        actions[action] = actions.get(action, 0) + 1
        product = _product_id(event)
        if product is not None:
            users, counts = products.setdefault(product, (set(), {}))
            users.add(user)
            counts[action] = counts.get(action, 0) + 1
    popularity = {}
    for product, (users, counts) in products.items():
        views, carts, purchases = counts.get(VIEW, 0), counts.get(CART, 0), counts.get(PURCHASE, 0)
        popularity[product] = {
            "product_id": product, "views": views, "cart_adds": carts, "purchases": purchases,
            "events": sum(counts.values()), "distinct_users": len(users), "users": sorted(users),
            "view_to_cart": _rate(carts, views), "cart_to_purchase": _rate(purchases, carts)}
    activity = {hour: {"hour": hour + ":00:00Z", "product_page_visits": actions.get(VIEW, 0),
                       "cart_adds": actions.get(CART, 0), "purchases": actions.get(PURCHASE, 0),
                       "distinct_users": len(users), "events": sum(actions.values()), "actions": actions}
                for hour, (users, actions) in hours.items()}
    return {"product-popularity": popularity, "hourly-activity": activity}


# --- the runs ------------------------------------------------------------------------------------

def bench_job(name, files, workdir, budget_mib, expected, report):
    out = os.path.join(workdir, name + ".tsv")
    command = [sys.executable, "-m", JOBS[name], "-r", "local", "--combine-memory-mb", str(budget_mib), *files]
    _wall, errors, memory = run_measured(command, out, poll_memory=True)
    ours = parsed_output(out)
    os.remove(out)
    assert ours == expected, "%s: the job's records differ from the plain computation's (%d vs %d keys)" % (
        name, len(ours), len(expected))
    summary = SUMMARY_RE.findall(errors)
    match = SPILLS_RE.search(summary[-1] if summary else "")
    spills = int(match.group(1)) if match else 0
    # these jobs count each file's last flush as a spill too: more spills than files means memory spilled
    assert spills > len(files), "%s: the in-mapper combiner never spilled under %s MiB (%r)" % (
        name, budget_mib, summary)
    peaks = {kind: mib(peak) for kind, peak in sorted(memory.peaks.items())}
    report("%s: %d keys, budget %d MiB, %d spills (%d of them a file's last): mapper peak %s MiB, "
           "reducer peak %s MiB" % (name, len(ours), budget_mib, spills, len(files), peaks.get("mapper"),
                                    peaks.get("reducer")))
    return {"keys": len(ours), "combiner_spills": spills, "files": len(files), "peak_rss_by_process_mib": peaks,
            "peak_rss_mib": mib(memory.total_peak)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus and budget (a smoke run)")
    parser.add_argument("--json", help="write the results here")
    options = parser.parse_args(argv)
    spec, budget_mib = (QUICK_MEMORY_SPEC, QUICK_MEMORY_BUDGET_MIB) if options.quick else (MEMORY_SPEC,
                                                                                          MEMORY_BUDGET_MIB)

    def report(text):
        print(text, flush=True)

    files = corpus_files(spec)
    report("combiners: %d events in %d files, budget %d MiB per map task" % (spec.events, len(files), budget_mib))
    expected = plain_answers(files)
    results = dict(stamp(), events=spec.events, files=len(files), budget_mib=budget_mib, jobs={})
    with tempfile.TemporaryDirectory(prefix="bench-combiners-") as workdir:
        for name in JOBS:
            results["jobs"][name] = bench_job(name, files, workdir, budget_mib, expected[name], report)
    if options.json:
        write_result(options.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
