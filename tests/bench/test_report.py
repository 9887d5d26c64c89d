"""bench.report renders the benchmark table from result JSON and flags missed targets; no services."""
import json

import pytest

from bench import report, targets
from bench.stats import ratio_summary, summary

MACHINE = {"cpu": "Test CPU 9000", "cpus": 2, "memory_gib": 8.0, "python": "3.11.7", "os": "Linux 6"}


def side(seconds, events, peak):
    return {"seconds": summary(seconds), "seconds_per_million": summary([s / events * 1e6 for s in seconds]),
            "peak_rss_mib": peak, "peak_rss_by_process_mib": {"launcher": peak}}


@pytest.fixture(autouse=True)
def sample_targets(monkeypatch):
    """The targets the sample results were written against (the project's own may move on)."""
    monkeypatch.setattr(targets, "MR_LOCAL", targets.Target(0.8, at_most=True))
    monkeypatch.setattr(targets, "MR_INLINE", targets.Target(1.0, at_most=True))


def sample_results():
    """Small results: -r local misses its target (0.92x > 0.8x), -r inline meets it, the ingest
    to hdfs:// misses (75% < 80%), the loader meets it."""
    base_1m, local_1m, inline_1m, streaming_1m = [2.0, 2.2, 2.4], [2.0, 2.1, 2.2], [1.8, 1.9, 2.1], [6.0, 6.6, 7.0]
    base_10m, local_10m = [25.0, 26.0, 27.0], [23.0, 23.92, 25.0]
    mr = {
        "date": "2026-01-02T03:04:05Z", "machine": MACHINE,
        "sizes": [
            {"events": 1_000_000, "files": 5, "users": 20_000, "repeat": 3,
             "sides": {"baseline": side(base_1m, 1e6, 40.0), "local": side(local_1m, 1e6, 160.0),
                       "inline": side(inline_1m, 1e6, 60.0), "streaming": side(streaming_1m, 1e6, 50.0)},
             "ratios": {"local": ratio_summary(local_1m, base_1m), "inline": ratio_summary(inline_1m, base_1m),
                        "streaming": ratio_summary(streaming_1m, base_1m),
                        "local_vs_streaming": ratio_summary(local_1m, streaming_1m),
                        "inline_vs_streaming": ratio_summary(inline_1m, streaming_1m)}},
            {"events": 10_000_000, "files": 5, "users": 190_000, "repeat": 3,
             "sides": {"baseline": side(base_10m, 1e7, 300.0), "local": side(local_10m, 1e7, 170.0)},
             "ratios": {"local": ratio_summary(local_10m, base_10m)}},
        ],
        "hadoop": {"fixed_seconds": summary([19.0, 19.5, 20.0]), "seconds_per_million_events": summary([2.5, 2.8, 3.0])},
    }
    mr["ratios"] = {
        "local_vs_baseline": dict(events=10_000_000, target=0.8, **mr["sizes"][1]["ratios"]["local"]),
        "inline_vs_baseline": dict(events=1_000_000, target=1.0, **mr["sizes"][0]["ratios"]["inline"]),
        "streaming_vs_baseline": dict(events=1_000_000, target=None, **mr["sizes"][0]["ratios"]["streaming"]),
    }
    ingest = {
        "date": "2026-01-02T04:00:00Z", "machine": MACHINE, "events": 1_000_000, "partitions": 3, "repeat": 3,
        "peak_rss_mib": 117.0, "buffer_bytes_mib": 32, "target": 0.8,
        "sides": {name: {"seconds": summary(values), "events_per_second": summary([1e6 / v for v in values])}
                  for name, values in (("bare", [40.0, 41.0, 42.0]), ("file", [39.0, 40.0, 44.0]),
                                       ("hdfs", [54.0, 54.67, 56.0]))},
    }
    ingest["ratios"] = {name: ratio_summary([40.0, 41.0, 42.0], [s for s in ingest["sides"][name]["seconds"]["samples"]])
                        for name in ("file", "hdfs")}
    loader = {
        "date": "2026-01-02T05:00:00Z", "machine": MACHINE, "users": 5000, "repeat": 3, "target": 0.8,
        "records_per_second": {"ours": summary([300, 310, 320]), "bare": summary([320, 330, 340]),
                               "seed_loop": summary([2000, 2100, 2200])},
        "ours_vs_bare": ratio_summary([16.0, 15.2, 14.7], [16.7, 16.1, 15.6]),
        "ours_vs_seed_loop": ratio_summary([2.5, 2.4, 2.3], [16.7, 16.1, 15.6]),
    }
    return {"mr": mr, "ingest": ingest, "loader": loader}


def write_results(folder, results):
    for name, result in results.items():
        (folder / ("%s.json" % name)).write_text(json.dumps(result))


def table_row(text, starts_with):
    rows = [line for line in text.splitlines() if line.startswith("| " + starts_with)]
    assert len(rows) == 1, "expected one row starting %r in:\n%s" % (starts_with, text)
    return rows[0]


def test_renders_the_table_and_flags_missed_targets(tmp_path):
    write_results(tmp_path, sample_results())
    text = report.render_markdown(report.load_results(str(tmp_path)), "bench-scaling.png")

    local = table_row(text, "`mr_user_actions -r local`, 10,000,000 events")
    assert "23.92 (23.00–25.00) s vs 26.00 (25.00–27.00) s" in local
    assert "**0.92×**" in local
    assert "≤ 0.80×" in local
    assert "**missed** by 0.12× (15% over the target)" in local

    inline = table_row(text, "`mr_user_actions -r inline`, 1,000,000 events")
    assert "**0.86×**" in inline and "| met |" in inline

    hdfs = table_row(text, "ingest → `hdfs://`")
    assert "**75%**" in hdfs and "**missed** by 5 points" in hdfs
    assert "| met |" in table_row(text, "ingest → `file://`")
    assert "| met |" in table_row(text, "`load user-actions`, 5,000 users")

    assert "**Missed targets:**" in text
    assert "![mr_user_actions scaling](bench-scaling.png)" in text
    assert "Test CPU 9000, 2 cores, 8.0 GiB, Python 3.11.7" in text
    assert "Measured 2026-01-02 on" in text


def test_streaming_row_escapes_pipes_and_reports_all_three_ratios(tmp_path):
    write_results(tmp_path, sample_results())
    text = report.render_markdown(report.load_results(str(tmp_path)))
    streaming = table_row(text, "seed streaming style")
    assert "`cat \\| mapper.py \\| sort \\| reducer.py`" in streaming
    assert streaming.count("|") - streaming.count("\\|") == 6  # five cells
    # medians: streaming 6.6 s, plain count 2.2 s, -r local 2.1 s, -r inline 1.9 s
    assert "6.60 (6.00–7.00) s: **3.00×**" in streaming
    assert "`-r local` is **0.32×**" in streaming and "`-r inline` **0.29×**" in streaming
    assert "![" not in text  # no plot given


def test_every_target_met_says_so(tmp_path):
    results = sample_results()
    del results["ingest"]
    ratio = results["mr"]["ratios"]["local_vs_baseline"]
    ratio["median"] = 0.43
    write_results(tmp_path, results)
    text = report.render_markdown(report.load_results(str(tmp_path)))
    assert "Every stated target is met." in text
    assert "**missed**" not in text
    assert "| ingest vs a bare kafka-python loop | not measured yet |" in text


@pytest.mark.parametrize("e2e, expected", [
    (None, "| end to end (generate → ingest → mr → load) | not measured yet |"),
    ({"events": 1_000_000, "seconds": {"median": 100.0, "min": 90.0, "max": 120.0}},
     "100.0 (90.0–120.0) s for 1,000,000 events (10,000 events/s)"),
    ({"rows": [{"what": "e2e, 1M events", "figure": "99 s"}]}, "| e2e, 1M events | 99 s |"),
])
def test_the_end_to_end_slot(tmp_path, e2e, expected):
    results = sample_results()
    if e2e is not None:
        results["e2e"] = dict(e2e, date="2026-01-03T00:00:00Z")
    write_results(tmp_path, results)
    assert expected in report.render_markdown(report.load_results(str(tmp_path)))


@pytest.mark.parametrize("target, value, expected", [
    (targets.Target(0.8, at_most=True), 0.8, "met"),
    (targets.Target(0.8, at_most=True), 1.0, "**missed** by 0.20× (25% over the target)"),
    (targets.Target(1.0, at_most=True), 0.99, "met"),
    (targets.INGEST, 0.8, "met"),
    (targets.INGEST, 0.6, "**missed** by 20 points (25% short of the target)"),
    (targets.LOADER, 0.81, "**missed** by 0.09 (10% short of the target)"),
    (targets.GENERATOR, 150_000, "**missed** by 50,000/s (25% short of the target)"),
])
def test_target_verdicts(target, value, expected):
    assert target.verdict(value) == expected


def test_readme_block_replaced_between_markers_only(tmp_path):
    write_results(tmp_path, sample_results())
    results = report.load_results(str(tmp_path))
    readme = "# x\n\n## Performance\nintro\n%s\nold table\n%s\nafter\n## Next\nkept\n" % (
        report.README_START, report.README_END)
    updated = report.update_readme(readme, results)
    assert "old table" not in updated
    assert updated.startswith("# x\n\n## Performance\nintro\n" + report.README_START)
    assert updated.endswith(report.README_END + "\nafter\n## Next\nkept\n")
    assert "**missed** by 0.12×" in updated
    assert report.update_readme("no markers\n", results) == "no markers\n"


def test_summary_needs_samples():
    with pytest.raises(ValueError, match="no samples"):
        summary([])
    with pytest.raises(ValueError, match="expected pairs"):
        ratio_summary([1.0], [1.0, 2.0])


def test_the_loaders_scaled_figures_are_judged_and_the_gaps_text_follows_the_table(tmp_path):
    results = sample_results()
    results["loader"]["scaled"] = {
        "users": 50_000, "scale": 10,
        "records_per_second": {"ours": summary([1900, 2100, 2200]), "bare": summary([4000, 4100, 4200])},
        "ours_vs_bare": ratio_summary([24.0, 23.8, 22.7], [12.5, 12.2, 11.9]),
        "time_over_base": summary([16.0, 16.5, 17.0])}
    results["loader"]["prefilled"] = {"documents": 100_000, "users": 5_000, "time_over_empty": summary([1.2, 1.3, 1.4])}
    write_results(tmp_path, results)
    text = report.render_markdown(report.load_results(str(tmp_path)), gaps="## Where the time goes\nprofiled")
    rate = table_row(text, "`load user-actions`, 50,000 users")
    assert "2,100/s (1,900–2,200)" in rate and "≥ 2,000/s | met |" in rate
    scaling = table_row(text, "… time for 50,000 users over time for 5,000")
    assert "**16.50×**" in scaling and "**missed** by 1.50×" in scaling
    assert "a scan per upsert would make it about 41" in table_row(text, "… 5,000 users into 100,000 other documents")
    assert text.index("**Missed targets:**") < text.index("## Where the time goes\nprofiled") < text.index(
        "## Scaling of")


def test_the_combiner_rows_name_each_job_its_peaks_and_budget(tmp_path):
    combiners = {"date": "2026-01-02T05:00:00Z", "machine": MACHINE, "events": 10_000_000, "files": 5,
                 "budget_mib": 64, "jobs": {
                     "product-popularity": {"keys": 250_000, "combiner_spills": 31, "files": 5,
                                            "peak_rss_by_process_mib": {"mapper": 61.5, "reducer": 40.1}},
                     "hourly-activity": {"keys": 5, "combiner_spills": 12, "files": 5,
                                         "peak_rss_by_process_mib": {"mapper": 58.0, "reducer": 29.9}}}}
    write_results(tmp_path, {"combiners": combiners})
    text = report.render_markdown(report.load_results(str(tmp_path)))
    popularity = table_row(text, "product-popularity task peak memory, 10M events, 250,000 keys")
    assert "mapper 61.5 MiB, reducer 40.1 MiB (31 combiner spills over 5 files, `--combine-memory-mb 64`)" in popularity
    assert "mapper 58.0 MiB" in table_row(text, "hourly-activity task peak memory")
    assert "`combiners.json`: 2026-01-02T05:00:00Z" in text
