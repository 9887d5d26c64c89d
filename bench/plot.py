"""The scaling plot of bench_mr's results: time and peak memory against events, log–log, with a
linear reference line, written as a PNG with matplotlib (the ``bench`` extra)."""
import os

SIDE_STYLES = {"baseline": ("plain-Python count", "o"), "local": ("-r local", "s"), "inline": ("-r inline", "^"),
               "streaming": ("seed streaming", "D")}


def _series(mr, side, value):
    points = [(size["events"], value(size["sides"][side])) for size in mr["sizes"] if side in size["sides"]]
    return [events for events, _ in points], [figure for _, figure in points]


def _reference(axis, mr, value):
    """A dashed line proportional to events through the plain count's middle size."""
    events = [size["events"] for size in mr["sizes"]]
    anchor = mr["sizes"][len(events) // 2]
    slope = value(anchor["sides"]["baseline"]) / anchor["events"]
    ends = [min(events), max(events)]
    axis.plot(ends, [slope * end for end in ends], "k--", linewidth=1, label="linear (∝ events)")


def scaling_plot(mr, path):
    """Write ``path``: seconds (median, min–max bars) and peak RSS against events for each side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    figure, (time_axis, memory_axis) = pyplot.subplots(1, 2, figsize=(11, 4.2))
    for side, (label, marker) in SIDE_STYLES.items():
        events, medians = _series(mr, side, lambda entry: entry["seconds"]["median"])
        if not events:
            continue
        _, lows = _series(mr, side, lambda entry: entry["seconds"]["min"])
        _, highs = _series(mr, side, lambda entry: entry["seconds"]["max"])
        time_axis.errorbar(events, medians, yerr=[[m - low for m, low in zip(medians, lows)],
                                                  [high - m for m, high in zip(medians, highs)]],
                           marker=marker, capsize=3, label=label)
        _, peaks = _series(mr, side, lambda entry: entry["peak_rss_mib"])
        memory_axis.plot(events, peaks, marker=marker, label=label)
    _reference(time_axis, mr, lambda entry: entry["seconds"]["median"])
    _reference(memory_axis, mr, lambda entry: entry["peak_rss_mib"])
    for axis, title, unit in ((time_axis, "wall time (median, min–max)", "seconds"),
                              (memory_axis, "peak RSS of the process tree", "MiB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("events")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle("mr_user_actions scaling (%s, %s)" % (mr.get("date", "undated")[:10],
                                                        (mr.get("machine") or {}).get("cpu", "")))
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = os.path.join(os.path.dirname(os.path.abspath(path)), "." + os.path.basename(path))
    figure.savefig(temporary, dpi=100, format="png")
    pyplot.close(figure)
    os.replace(temporary, path)
