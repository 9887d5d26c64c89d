"""Micro-benchmarks of the hot paths: the event model's parse (validation included) against bare
``orjson.loads`` in ns per event, and the generator's events/s to a file; each the median of
interleaved rounds, with its spread (min-max). Asserts no time; checks that both parse sides saw the same events.

    .venv/bin/python -m bench.bench_events [--quick] [--json bench/results/events.json]
"""
import argparse
import os
import sys
import tempfile
import time

import orjson

from bench import targets
from bench.machine import stamp, write_result
from bench.stats import ratio_summary, summary
from clickstream.events import EventRejected, parse_event
from clickstream.generator import GeneratorSpec, encode_lines, iter_event_chunks, write_events

GENERATOR_TARGET = targets.GENERATOR.bound  # events/s to a file


def corpus(events):
    lines = []
    for _users, chunk in iter_event_chunks(GeneratorSpec(events=events, users=max(100, events // 50), seed=3,
                                                         offset_fraction=0.05)):
        lines.extend(encode_lines(chunk).splitlines(keepends=True))
    return lines


def time_parse(lines):
    started = time.perf_counter()
    users = 0
    for line in lines:
        try:
            users += len(parse_event(line).user_id)
        except EventRejected:
            pass
    return time.perf_counter() - started, users


def time_orjson(lines):
    started = time.perf_counter()
    users = 0
    for line in lines:
        users += len(orjson.loads(line)["user_id"])
    return time.perf_counter() - started, users


def time_generator(events):
    spec = GeneratorSpec(events=events, users=max(100, events // 50), seed=5)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "events.jsonl")
        started = time.perf_counter()
        with open(path, "wb") as stream:
            written = write_events(spec, stream)
        return time.perf_counter() - started, written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", default=None)
    options = parser.parse_args(argv)
    events = 50_000 if options.quick else 500_000
    repeat = 2 if options.quick else options.repeat
    lines = corpus(events)
    ours, bare = [], []
    for _ in range(repeat):  # interleaved, so both sides see the same machine
        seconds, ours_users = time_parse(lines)
        ours.append(seconds / len(lines) * 1e9)
        seconds, bare_users = time_orjson(lines)
        bare.append(seconds / len(lines) * 1e9)
        if ours_users != bare_users:
            raise SystemExit("bench_events: parse_event and orjson.loads saw different events")
    generator = []
    for _ in range(repeat):
        seconds, written = time_generator(events * 2)
        generator.append(written / seconds)
    result = dict(stamp(), events=len(lines), repeat=repeat,
                  parse_ns_per_event=summary(ours, digits=1), orjson_ns_per_event=summary(bare, digits=1),
                  generator_events=events * 2, generator_events_per_second=summary(generator, digits=0),
                  generator_target=GENERATOR_TARGET)
    result["parse_vs_orjson"] = ratio_summary(ours, bare)
    for name, label in (("parse_ns_per_event", "event parse (validation included)"),
                        ("orjson_ns_per_event", "bare orjson.loads")):
        print("%-34s %6.0f ns/event (%.0f-%.0f)" % (label + ":", result[name]["median"], result[name]["min"],
                                                   result[name]["max"]))
    print("parse / orjson: %.2fx (rounds %.2f-%.2fx)" % (
        result["parse_vs_orjson"]["median"], result["parse_vs_orjson"]["min"], result["parse_vs_orjson"]["max"]))
    rate = result["generator_events_per_second"]
    print("generator to a file: %.0f events/s (%.0f-%.0f; target >= %d%s)" % (
        rate["median"], rate["min"], rate["max"], GENERATOR_TARGET,
        "" if rate["median"] >= GENERATOR_TARGET else ", MISSED"))
    if options.json:
        write_result(options.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
