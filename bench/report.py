"""Render bench/results/*.json into docs/BENCHMARKS.md (table, scaling plot, machine, date) and
the README's performance table.

    python -m bench.report [--results bench/results] [--out docs/BENCHMARKS.md] [--plot docs/bench-scaling.png] [--readme README.md]

Every figure is a median with its spread (min–max); a target is judged on the median, and a
missed one says by how much. A missing result file renders as "not measured yet". The
end-to-end slot reads ``e2e.json``: either ``{"rows": [{"what", "figure", "target"?, "command"?}]}``
or ``{"events": N, "seconds": {"median", "min", "max"}}``. ``history.json`` (bench/bench_history.py) gives
the late-vs-early row, with the load average it was measured under.
"""
import argparse
import json
import os
import sys

from bench import targets

RESULT_NAMES = ("events", "mr", "combiners", "ingest", "loader", "e2e", "history")
README_START = "<!-- bench:table -->"
README_END = "<!-- /bench:table -->"
NOT_MEASURED = "not measured yet"
SIDE_LABELS = {"baseline": "plain-Python count", "local": "-r local", "inline": "-r inline",
               "streaming": "seed streaming (mapper | sort | reducer)"}


def load_results(folder):
    """{name: parsed JSON or None} for every known result file in ``folder``."""
    results = {}
    for name in RESULT_NAMES:
        path = os.path.join(folder, name + ".json")
        if os.path.exists(path):
            with open(path) as stream:
                results[name] = json.load(stream)
        else:
            results[name] = None
    return results


# --- formatting ----------------------------------------------------------------------------------

def spread(stat, fmt="%.2f", scale=1.0):
    """``median (min–max)`` of a summary dict."""
    return "%s (%s–%s)" % (fmt % (stat["median"] * scale), fmt % (stat["min"] * scale), fmt % (stat["max"] * scale))


def rate(stat):
    return "{:,.0f}/s ({:,.0f}–{:,.0f})".format(stat["median"], stat["min"], stat["max"])


def ratio_text(stat, unit="×"):
    if unit == "%":
        return "**%.0f%%** (rounds %.0f–%.0f%%)" % (100 * stat["median"], 100 * stat["min"], 100 * stat["max"])
    return "**%.2f%s** (rounds %.2f–%.2f%s)" % (stat["median"], unit, stat["min"], stat["max"], unit)


def row(what, figure, command, target=None, value=None):
    """A table row; with a target, the status says met or missed (and by how much) for ``value``."""
    return {"what": what, "figure": figure, "target": target.text() if target else "–",
            "status": target.verdict(value) if target else "–", "command": command}


def missing_row(what, command):
    return row(what, NOT_MEASURED, command)


# --- the rows of each benchmark -------------------------------------------------------------------

def event_rows(result):
    command = "`python -m bench.bench_events`"
    if not result:
        return [missing_row("event parse; generator", command)]
    return [
        row("event parse (validation included)", "%s ns/event vs bare `orjson.loads` %s ns: %s" % (
            spread(result["parse_ns_per_event"], "%.0f"), spread(result["orjson_ns_per_event"], "%.0f"),
            ratio_text(result["parse_vs_orjson"])), command),
        row("generator to a file (%s events)" % "{:,}".format(result["generator_events"]),
            rate(result["generator_events_per_second"]), command, targets.GENERATOR,
            result["generator_events_per_second"]["median"]),
    ]


def _size(row_data, events):
    return next((entry for entry in row_data["sizes"] if entry["events"] == events), None)


def mr_rows(result):
    command = "`python -m bench.bench_mr`"
    if not result:
        return [missing_row("`mr_user_actions` vs the plain-Python count", command)]
    rows = []
    ratios = result["ratios"]
    for name, runner, target in (("local_vs_baseline", "local", targets.MR_LOCAL),
                                 ("inline_vs_baseline", "inline", targets.MR_INLINE),
                                 ("local_uniform_vs_baseline", "local", targets.MR_LOCAL),
                                 ("inline_uniform_vs_baseline", "inline", targets.MR_INLINE)):
        ratio = ratios.get(name)
        if ratio is None:  # results written before the uniform corpora were measured
            continue
        pool = result.get("uniform", []) if "uniform" in name else result["sizes"]
        size = next(entry for entry in pool if entry["events"] == ratio["events"])
        sides = size["sides"]
        rows.append(row(
            "`mr_user_actions -r %s`, %s events in %d files, %s users (%s)" % (
                runner, "{:,}".format(size["events"]), size["files"], "{:,}".format(size["users"]),
                size.get("users_drawn", "heavy-tailed")),
            "%s s vs %s s plain-Python count: %s" % (
                spread(sides[runner]["seconds"]), spread(sides["baseline"]["seconds"]), ratio_text(ratio)),
            command, target, ratio["median"]))
    streaming = ratios.get("streaming_vs_baseline")
    if streaming:
        size = _size(result, streaming["events"])
        sides, size_ratios = size["sides"], size["ratios"]
        rows.append(row(
            "seed streaming style (`cat | mapper.py | sort | reducer.py`), %s events" % "{:,}".format(size["events"]),
            "%s s: %s the plain count; `-r local` is %s of it, `-r inline` %s" % (
                spread(sides["streaming"]["seconds"]), ratio_text(streaming),
                ratio_text(size_ratios["local_vs_streaming"]), ratio_text(size_ratios["inline_vs_streaming"])),
            command))
    rows.append(row("scaling, s per million events (plain count / `-r local`)", " · ".join(
        "%s: %.2f / %.2f" % (_short(size["events"]), size["sides"]["baseline"]["seconds_per_million"]["median"],
                             size["sides"]["local"]["seconds_per_million"]["median"]) for size in result["sizes"])
        + " (table and plot below)", command))
    hadoop = result.get("hadoop")
    if hadoop:
        measured_apart = " (measured %s, load average %s)" % (hadoop["date"][:10], hadoop["load_average_15min"]) \
            if "date" in hadoop else ""
        large = hadoop.get("large", {}).get("events")
        rows.append(row("`-r hadoop` on the local stack, `mr_user_actions`" + (", %s events" % _short(large) if large else ""),
                        "%s s fixed per job + %s s per million events%s" % (
                            spread(hadoop["fixed_seconds"], "%.1f"), spread(hadoop["seconds_per_million_events"]),
                            measured_apart), command))
    else:
        rows.append(missing_row("`-r hadoop` on the local stack", command))
    memory = result.get("memory")
    if memory:
        peaks = memory["local"]["peak_rss_by_process_mib"]
        rows.append(row("map/reduce task peak memory, %s events, %s distinct users" % (
            _short(memory["events"]), "{:,}".format(memory["distinct_users"])),
            "mapper %s MiB, reducer %s MiB (%d combiner spills%s)" % (
                peaks.get("mapper"), peaks.get("reducer"), memory["combiner_spills"],
                ", `--combine-memory-mb %s`" % memory["budget_mib"] if memory.get("budget_mib") else ""), command))
    return rows


def combiner_rows(result):
    command = "`python -m bench.bench_combiners`"
    if not result:
        return [missing_row("product-popularity and hourly-activity task peak memory", command)]
    return [row("%s task peak memory, %s events, %s keys" % (
                name, _short(result["events"]), "{:,}".format(job["keys"])),
                "mapper %s MiB, reducer %s MiB (%d combiner spills over %d files, `--combine-memory-mb %s`)" % (
                    job["peak_rss_by_process_mib"].get("mapper"), job["peak_rss_by_process_mib"].get("reducer"),
                    job["combiner_spills"], job["files"], result["budget_mib"]), command)
            for name, job in result["jobs"].items()]


def _short(events):
    for scale, suffix in ((1_000_000, "M"), (1_000, "k")):
        if events >= scale and events % scale == 0:
            return "%d%s" % (events // scale, suffix)
    return "{:,}".format(events)


def ingest_rows(result):
    command = "`python -m bench.bench_ingest`"
    if not result:
        return [missing_row("ingest vs a bare kafka-python loop", command)]
    rows = []
    bare = result["sides"]["bare"]
    target = targets.Target(result.get("target", targets.INGEST.bound), at_most=False, unit="%")
    for side, sink in (("file", "file://"), ("hdfs", "hdfs://")):
        if side not in result["sides"]:
            rows.append(missing_row("ingest → `%s`" % sink, command))
            continue
        rows.append(row("ingest → `%s`, %s-event backlog, %d partitions" % (
            sink, _short(result["events"]), result["partitions"]),
            "%s vs %s bare loop: %s" % (rate(result["sides"][side]["events_per_second"]),
                                        rate(bare["events_per_second"]), ratio_text(result["ratios"][side], "%")),
            command, target, result["ratios"][side]["median"]))
    rows.append(row("ingest peak memory, %s backlog" % _short(result["events"]),
                    "%.0f MiB RSS (`--buffer-bytes` %d MiB)" % (result["peak_rss_mib"], result["buffer_bytes_mib"]),
                    command))
    return rows


def loader_rows(result):
    command = "`python -m bench.bench_loader`"
    if not result:
        return [missing_row("`load user-actions` vs a bare `bulk_write`", command)]
    target = targets.Target(result.get("target", targets.LOADER.bound), at_most=False, unit="")
    records = result["records_per_second"]
    seed = result["ours_vs_seed_loop"]
    rows = [
        row("`load user-actions`, %s users, stack server" % "{:,}".format(result["users"]),
            "%s vs %s bare `bulk_write` of the same upserts: %s" % (
                rate(records["ours"]), rate(records["bare"]), ratio_text(result["ours_vs_bare"], "")),
            command, target, result["ours_vs_bare"]["median"]),
    ]
    scaled = result.get("scaled")
    if scaled:
        scaled_records = scaled["records_per_second"]
        rows += [
            row("`load user-actions`, %s users, stack server" % "{:,}".format(scaled["users"]),
                "%s vs %s bare `bulk_write`: %s" % (rate(scaled_records["ours"]), rate(scaled_records["bare"]),
                                                   ratio_text(scaled["ours_vs_bare"], "")),
                command, targets.Target(2_000, at_most=False, unit="/s"), scaled_records["ours"]["median"]),
            row("… time for %s users over time for %s" % ("{:,}".format(scaled["users"]),
                                                         "{:,}".format(result["users"])),
                ratio_text(scaled["time_over_base"]), command, targets.Target(15.0, at_most=True),
                scaled["time_over_base"]["median"]),
        ]
    prefilled = result.get("prefilled")
    if prefilled:
        rows.append(row("… %s users into %s other documents over into an empty collection" % (
            "{:,}".format(prefilled["users"]), "{:,}".format(prefilled["documents"])),
            "%s (a scan per upsert would make it about %d)" % (
                ratio_text(prefilled["time_over_empty"]), prefilled["documents"] // prefilled["users"] * 2 + 1),
            command))
    rows.append(row("… vs the seed's one-insert-per-line loop (plain inserts, not idempotent)",
                    "%s: ours is %.1f× %s" % (rate(records["seed_loop"]), seed["median"] if seed["median"] >= 1
                                             else 1 / seed["median"], "faster" if seed["median"] >= 1 else "slower"),
                    command))
    if result.get("load_average"):
        rows[0]["figure"] += "; load average %.1f–%.1f on the 1-minute scale" % (
            min(result["load_average"]["before"][0], result["load_average"]["after"][0]),
            max(result["load_average"]["before"][0], result["load_average"]["after"][0]))
    return rows


def e2e_rows(result):
    command = "`python -m bench.bench_e2e`"
    if not result:
        return [missing_row("end to end (generate → ingest → mr → load)", command)]
    if result.get("rows"):  # rows the end-to-end benchmark words itself; its target is text
        return [dict(row(entry["what"], entry["figure"], entry.get("command", command)),
                     target=entry.get("target", "–"), status=entry.get("status", "–"))
                for entry in result["rows"]]
    if isinstance(result.get("seconds"), dict):
        figure = "%s s" % spread(result["seconds"], "%.1f")
        if result.get("events"):
            figure += " for %s events (%s events/s)" % (
                "{:,}".format(result["events"]), "{:,.0f}".format(result["events"] / result["seconds"]["median"]))
        return [row("end to end (generate → ingest → mr → load)", figure, command)]
    return [row("end to end", "see `bench/results/e2e.json`", command)]


def history_rows(result):
    command = "`python -m bench.bench_history`"
    if not result:
        return [missing_row("hourly `clickstream run` late vs early in a multi-day stream", command)]
    early, late = result["early"], result["late"]
    load = result["load_average"]
    return [row(
        "hourly `clickstream run` (five jobs, `-r %s`, stack MongoDB), late vs early in a %g-day stream of %s events, "
        "%s users" % (result["runner"], result["days"], "{:,}".format(result["events"]), "{:,}".format(result["users"])),
        "late (%s..%s, %s events/hour) %s s vs early (%s..%s, %s) %s s: %s; loads alone %s s vs %s s: %s; load "
        "average %.0f–%.0f on %d cores%s" % (
            late["hours"][0], late["hours"][-1], _median_int(late["events"]), spread(late["seconds"], "%.1f"),
            early["hours"][0], early["hours"][-1], _median_int(early["events"]), spread(early["seconds"], "%.1f"),
            ratio_text(result["ratio"]), spread(late["load_seconds"], "%.1f"), spread(early["load_seconds"], "%.1f"),
            ratio_text(result["load_ratio"]), min(load["before"][0], load["after"][0]),
            max(load["before"][0], load["after"][0]), load["cpus"],
            " (a busy machine)" if max(load["before"][0], load["after"][0]) > load["cpus"] else ""),
        command, targets.Target(result.get("target", targets.HISTORY.bound), at_most=True), result["ratio"]["median"])]


def _median_int(values):
    import statistics

    return "{:,.0f}".format(statistics.median(values))


def all_rows(results):
    return (event_rows(results.get("events")) + mr_rows(results.get("mr")) + combiner_rows(results.get("combiners"))
            + ingest_rows(results.get("ingest"))
            + loader_rows(results.get("loader")) + e2e_rows(results.get("e2e")) + history_rows(results.get("history")))


# --- the documents --------------------------------------------------------------------------------

def table(rows):
    lines = ["| what | figure: median (min–max) | target | status | command |", "|---|---|---|---|---|"]
    lines += ["| %s |" % " | ".join(_cell(r[key]) for key in ("what", "figure", "target", "status", "command"))
              for r in rows]
    return "\n".join(lines)


def _cell(text):
    """A table cell: a ``|`` (even in a code span) would end the cell."""
    return str(text).replace("|", "\\|")


def machine_text(machine):
    if not machine:
        return "an unrecorded machine"
    memory = "%s GiB" % machine["memory_gib"] if machine.get("memory_gib") else "unknown memory"
    return "%s, %s cores, %s, Python %s, %s" % (machine.get("cpu"), machine.get("cpus"), memory,
                                               machine.get("python"), machine.get("os"))


def run_lines(results):
    lines = []
    for name in RESULT_NAMES:
        result = results.get(name)
        if result is None:
            lines.append("- `%s.json`: %s" % (name, NOT_MEASURED))
        else:
            lines.append("- `%s.json`: %s on %s" % (name, result.get("date", "undated"),
                                                     machine_text(result.get("machine"))))
    return lines


def dates(results):
    days = sorted({result["date"][:10] for result in results.values() if result and result.get("date")})
    if not days:
        return "undated"
    return days[0] if len(days) == 1 else "%s to %s" % (days[0], days[-1])


def main_machine(results):
    for name in ("mr", "ingest", "loader", "events", "e2e"):
        if results.get(name) and results[name].get("machine"):
            return results[name]["machine"]
    return None


def scaling_table(mr):
    if not mr:
        return NOT_MEASURED
    lines = ["| events | side | s (median, min–max) | s per million events | peak RSS of the process tree | MiB per million events |",
             "|---|---|---|---|---|---|"]
    for size in mr["sizes"]:
        for side, entry in size["sides"].items():
            lines.append("| %s | %s | %s | %.2f | %.0f MiB | %.1f |" % (
                "{:,}".format(size["events"]), _cell(SIDE_LABELS.get(side, side)), spread(entry["seconds"]),
                entry["seconds_per_million"]["median"], entry["peak_rss_mib"],
                entry["peak_rss_mib"] / size["events"] * 1e6))
    return "\n".join(lines)


def render_markdown(results, plot_name=None, gaps=None):
    """docs/BENCHMARKS.md's text for ``results`` ({name: JSON or None}); ``plot_name`` is the scaling
    plot's path relative to the document, or None when there is no plot; ``gaps``: the hand-written
    profiles of the missed targets (bench/gaps.md), put after the table."""
    rows = all_rows(results)
    missed = [r["what"] for r in rows if r["status"].startswith("**missed**")]
    parts = [
        "# Benchmarks",
        "",
        "Rendered by `python -m bench.report` from `bench/results/*.json`, which `make bench` writes "
        "(`QUICK=1 make bench` is a smoke run and keeps these results). Measured %s on %s, while other "
        "work shared the machine. Each comparison runs both sides in the same invocation, in interleaved "
        "rounds; a figure is the median with the spread (min–max) of the rounds, and a ratio is the ratio "
        "of the medians with the spread of the per-round ratios. Targets are judged on the median. "
        "Benchmarks assert no time, only that both sides computed the same answer." % (
            dates(results), machine_text(main_machine(results))),
        "",
        table(rows),
        "",
        ("**Missed targets:** %s." % "; ".join(missed)) if missed else "Every stated target is met.",
        "",
    ]
    if gaps:
        parts += [gaps.strip(), ""]
    parts += [
        "## Scaling of `mr_user_actions`",
        "",
        "Time and peak memory at each size; the timed rounds are not polled for memory, a separate "
        "untimed run of each side is. The plot is log–log with a dashed linear reference "
        "(time or memory proportional to events) through the plain count's middle size.",
        "",
    ]
    if plot_name:
        parts += ["![mr_user_actions scaling](%s)" % plot_name, ""]
    parts += [scaling_table(results.get("mr")), "", "## Runs", ""] + run_lines(results) + [""]
    return "\n".join(parts)


def readme_block(results):
    """The README's performance table: the same rows, with the date and the machine."""
    return "\n".join([
        README_START,
        "Measured %s on %s. Full figures, spreads and the scaling plot: [docs/BENCHMARKS.md](docs/BENCHMARKS.md)."
        % (dates(results), machine_text(main_machine(results))),
        "",
        table(all_rows(results)),
        README_END,
    ])


def update_readme(text, results):
    """``text`` with the block between the bench markers replaced; unchanged when the markers are absent."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return text
    return text[:start] + readme_block(results) + text[end + len(README_END):]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="bench/results", help="the results folder (default bench/results)")
    parser.add_argument("--out", default="docs/BENCHMARKS.md", help="the document to write")
    parser.add_argument("--gaps", default="bench/gaps.md", help="profiles of the missed targets, put after the table")
    parser.add_argument("--plot", default="docs/bench-scaling.png", help="the scaling plot (PNG) to write")
    parser.add_argument("--readme", default="README.md", help="the README whose bench table is updated ('' for none)")
    options = parser.parse_args(argv)
    results = load_results(options.results)
    plot_name = None
    if results["mr"]:
        from bench.plot import scaling_plot

        scaling_plot(results["mr"], options.plot)
        plot_name = os.path.relpath(options.plot, os.path.dirname(os.path.abspath(options.out)) or ".")
    os.makedirs(os.path.dirname(os.path.abspath(options.out)), exist_ok=True)
    temporary = os.path.join(os.path.dirname(os.path.abspath(options.out)), "." + os.path.basename(options.out))
    with open(temporary, "w") as stream:
        gaps = None
        if options.gaps and os.path.exists(options.gaps):
            with open(options.gaps) as gaps_stream:
                gaps = gaps_stream.read()
        stream.write(render_markdown(results, plot_name, gaps))
    os.replace(temporary, options.out)
    print("bench.report: wrote %s%s" % (options.out, " and %s" % options.plot if plot_name else ""))
    if options.readme and os.path.exists(options.readme):
        with open(options.readme) as stream:
            text = stream.read()
        updated = update_readme(text, results)
        if updated == text and README_START not in text:
            print("bench.report: %s has no %s marker; its table is not updated" % (options.readme, README_START))
        elif updated != text:
            with open(options.readme + ".tmp", "w") as stream:
                stream.write(updated)
            os.replace(options.readme + ".tmp", options.readme)
            print("bench.report: updated the performance table in %s" % options.readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
