"""Repeated measurements summarized the same way in every benchmark: median and spread (min–max)."""
import statistics


def summary(samples, digits=3):
    """``{"median", "min", "max", "samples"}`` of a list of numbers (rounded to ``digits``)."""
    if not samples:
        raise ValueError("summary: no samples; expected at least one measurement")
    values = [float(value) for value in samples]
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "samples": [round(value, digits) for value in values]}


def ratio_summary(numerators, denominators, digits=3):
    """The ratio of the two sides' medians, with the spread of the per-round ratios (the runs are
    interleaved, so round i of one side ran next to round i of the other)."""
    if len(numerators) != len(denominators):
        raise ValueError("ratio_summary: %d against %d samples; expected pairs" % (len(numerators), len(denominators)))
    per_round = [top / bottom for top, bottom in zip(numerators, denominators)]
    return {"median": round(statistics.median(numerators) / statistics.median(denominators), digits),
            "min": round(min(per_round), digits), "max": round(max(per_round), digits),
            "samples": [round(value, digits) for value in per_round]}
