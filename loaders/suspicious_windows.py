"""The suspicious-users rules over windows of W consecutive whole UTC hours, from per-(user, hour)
figures: exact integer gap sums joined across hours, bursts across hour edges. Pure: no pymongo.
"""
import bisect
import math
from fractions import Fraction

from clickstream.errors import ConfigError
from clickstream.events import format_ts
from clickstream.layout import MICROS_PER_HOUR, parse_hour_option
from loaders.record_checks import RecordRejected, record_field

BURST_MICROS = 60_000_000
MICROS_PER_SECOND = 1_000_000
SETTING_NAMES = ("window_hours", "max_events_per_minute", "min_events_for_regularity", "max_gap_cv", "min_views_only")
RULES = ("events_per_minute", "regular_gaps", "views_only")


def hour_number(text):
    """'YYYY-MM-DDTHH' -> hour number since the epoch; RecordRejected('bad_hour') otherwise."""
    if not isinstance(text, str):
        raise RecordRejected("bad_hour")
    try:
        return parse_hour_option(text, "hour")
    except ConfigError:
        raise RecordRejected("bad_hour") from None


def hour_text(hour):
    """Hour number since the epoch -> 'YYYY-MM-DDTHH'."""
    return format_ts(hour * MICROS_PER_HOUR)[:13]


def hour_start_text(hour):
    return format_ts(hour * MICROS_PER_HOUR)


def _int(value, low=0):
    if type(value) is not int or value < low:
        raise RecordRejected("bad_figures")
    return value


def _times(values, low, high):
    if type(values) is not list or any(type(ts) is not int or not low <= ts < high for ts in values):
        raise RecordRejected("bad_figures")
    if values != sorted(values):
        raise RecordRejected("bad_figures")
    return values


def checked_settings(settings):
    """The rule settings a job record carries, checked; RecordRejected('bad_settings') otherwise."""
    if type(settings) is not dict or set(settings) != set(SETTING_NAMES):
        raise RecordRejected("bad_settings")
    for name in SETTING_NAMES:
        value = settings[name]
        kind_ok = type(value) in ((int, float) if name == "max_gap_cv" else (int,))
        if not kind_ok or not value > 0:
            raise RecordRejected("bad_settings")
    return dict(settings)


def checked_figures(value):
    """A job record's value -> (user_id, hour number, figures as the state keeps them).
    Raises RecordRejected with the reject reason."""
    user_id = record_field(value, "user_id")
    if type(user_id) is not str or not user_id:
        raise RecordRejected("bad_user")
    hour = hour_number(record_field(value, "hour"))
    start = hour * MICROS_PER_HOUR
    events, views = _int(record_field(value, "events"), 1), _int(record_field(value, "views"))
    first, last = _int(record_field(value, "first"), start), _int(record_field(value, "last"), start)
    busiest = _int(record_field(value, "busiest"), 1)
    busiest_at = _int(record_field(value, "busiest_at"), start)
    squares = record_field(value, "gap_squares")
    if type(squares) is not str or not squares.isdigit():
        raise RecordRejected("bad_figures")
    if views > events or busiest > events or not first <= busiest_at <= last < start + MICROS_PER_HOUR:
        raise RecordRejected("bad_figures")
    figures = {"events": events, "views": views, "first": first, "last": last,
               "gap_sum": _int(record_field(value, "gap_sum")), "gap_squares": squares, "busiest": busiest,
               "busiest_at": busiest_at, "head": _times(record_field(value, "head"), start, start + BURST_MICROS),
               "tail": _times(record_field(value, "tail"), start + MICROS_PER_HOUR - BURST_MICROS,
                              start + MICROS_PER_HOUR)}
    return user_id, hour, figures


def _edge_burst(tail, head):
    """The busiest [t, t + 60 s) starting in one hour's last 60 s, counting the next hour's first
    60 s: (count, t), the earliest t of equal counts."""
    best = (0, None)
    for index, start in enumerate(tail):
        count = len(tail) - index + bisect.bisect_left(head, start + BURST_MICROS)
        if count > best[0]:
            best = (count, start)
    return best


def judge_window(figures_by_hour, settings):
    """One window's figures ([(hour, figures)] in hour order, not empty) -> what it fires:
    {'events', and per firing rule its numbers: 'burst' [count, t], 'gaps' [events, sum, squares
    text], 'views' count}; None when nothing fires."""
    events = views = gap_sum = gap_squares = 0
    burst, previous = (0, None), None
    for hour, figures in figures_by_hour:
        events += figures["events"]
        views += figures["views"]
        gap_sum += figures["gap_sum"]
        gap_squares += int(figures["gap_squares"])
        candidates = [(figures["busiest"], figures["busiest_at"])]
        if previous is not None:
            gap = figures["first"] - previous[1]["last"]
            gap_sum += gap
            gap_squares += gap * gap
            if previous[0] == hour - 1:
                candidates.append(_edge_burst(previous[1]["tail"], figures["head"]))
        for candidate in candidates:
            if candidate[0] > burst[0] or (candidate[0] == burst[0] and candidate[1] < burst[1]):
                burst = candidate
        previous = (hour, figures)
    fired = {}
    if burst[0] > settings["max_events_per_minute"]:
        fired["burst"] = list(burst)
    # Two events make the first gap: below that there is no regularity to measure.
    if events >= max(2, settings["min_events_for_regularity"]) and gap_cv(events, gap_sum, gap_squares) < \
            settings["max_gap_cv"]:
        fired["gaps"] = [events, gap_sum, str(gap_squares)]
    if views == events and views >= settings["min_views_only"]:
        fired["views"] = views
    return dict(fired, events=events) if fired else None


def _cv_squared(events, gap_sum, gap_squares):
    """The gaps' (population variance / mean^2), exactly."""
    if not gap_sum:
        return Fraction(0)
    return Fraction((events - 1) * gap_squares - gap_sum * gap_sum, gap_sum * gap_sum)


def gap_cv(events, gap_sum, gap_squares):
    """Coefficient of variation (population std / mean) of the gaps; 0 when every gap is 0."""
    if not gap_sum:
        return 0.0
    # std/mean = sqrt(n*sum(g^2) - sum(g)^2) / sum(g), with an exact integer radicand.
    return math.sqrt((events - 1) * gap_squares - gap_sum * gap_sum) / gap_sum


def judge_windows(figures_by_hour, starts, settings):
    """{hour: figures} of one user, the window starts to judge -> {start: judge_window's result}
    for the windows that fire. Windows holding the same hours are judged once."""
    hours = sorted(figures_by_hour)
    width = settings["window_hours"]
    fired, judged = {}, {}
    for start in sorted(set(starts)):
        inside = tuple(hours[bisect.bisect_left(hours, start):bisect.bisect_left(hours, start + width)])
        if not inside:
            continue
        if inside not in judged:
            judged[inside] = judge_window([(hour, figures_by_hour[hour]) for hour in inside], settings)
        if judged[inside] is not None:
            fired[start] = judged[inside]
    return fired


def starts_touching(hours, width):
    """The starts of the windows of ``width`` hours that hold any of ``hours``."""
    return {start for hour in hours for start in range(hour - width + 1, hour + 1)}


def user_flags(fired_windows, settings):
    """{start: judge_window result} of every window of a user that fires -> (rules, events): each
    rule with the evidence of its strongest window (ties: the earliest window), sorted by rule; and
    the most events in one firing window."""
    width = settings["window_hours"]
    strongest = {}
    for start, fired in fired_windows.items():
        if "burst" in fired:
            count, at = fired["burst"]
            _keep(strongest, "events_per_minute", (-count, start, at), start, {
                "start": format_ts(at), "events_in_60s": count,
                "max_events_per_minute": settings["max_events_per_minute"]})
        if "gaps" in fired:
            events, gap_sum, squares = fired["gaps"][0], fired["gaps"][1], int(fired["gaps"][2])
            _keep(strongest, "regular_gaps", (_cv_squared(events, gap_sum, squares), -events, start), start, {
                "events": events, "mean_gap_seconds": round(gap_sum / (events - 1) / MICROS_PER_SECOND, 6),
                "gap_cv": round(gap_cv(events, gap_sum, squares), 6), "max_gap_cv": settings["max_gap_cv"],
                "min_events_for_regularity": settings["min_events_for_regularity"]})
        if "views" in fired:
            _keep(strongest, "views_only", (-fired["views"], start), start, {
                "views": fired["views"], "min_views_only": settings["min_views_only"]})
    rules = []
    for rule in RULES:
        if rule in strongest:
            _order, start, evidence = strongest[rule]
            evidence = dict(evidence, window={"start": hour_start_text(start), "end": hour_start_text(start + width)})
            rules.append({"rule": rule, "evidence": evidence})
    events = max((fired["events"] for fired in fired_windows.values()), default=0)
    return rules, events


def _keep(strongest, rule, order, start, evidence):
    if rule not in strongest or order < strongest[rule][0]:
        strongest[rule] = (order, start, evidence)
