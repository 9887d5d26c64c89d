"""Bot and anomaly flags from explainable rules (burst rate, metronome-like gaps, views only), with evidence.
Secondary sort streams each user's events in time order; the reducer keeps O(1) running sums
(counts, the current minute, gap sum and sum of squares), never the user's history.
"""
import math

from mrjob.step import MRStep

from clickstream.events import format_ts
from mr.base import COUNTER_GROUP, ClickstreamJob
from mr.fields import positive_number, sortable_ts, ts_of_sortable

VIEW_ACTIONS = frozenset(("view_product", "page_view"))
MICROS_PER_MINUTE = 60_000_000
MICROS_PER_SECOND = 1_000_000

DEFAULT_MAX_EVENTS_PER_MINUTE = 30
DEFAULT_MIN_EVENTS_FOR_REGULARITY = 20
DEFAULT_MAX_GAP_CV = 0.1
DEFAULT_MIN_VIEWS_ONLY = 50


class UserActivity:
    """Running statistics of one user's time-ordered events."""

    __slots__ = ("events", "views", "previous_ts", "gap_sum", "gap_squares",
                 "minute", "minute_events", "busiest_minute", "busiest_minute_events")

    def __init__(self):
        self.events = self.views = 0
        self.previous_ts = None
        self.gap_sum = self.gap_squares = 0  # integer microseconds: exact however many gaps
        self.minute = None
        self.minute_events = 0
        self.busiest_minute = None
        self.busiest_minute_events = 0

    def add(self, ts, is_view):
        self.events += 1
        self.views += is_view
        if self.previous_ts is not None:
            gap = ts - self.previous_ts
            self.gap_sum += gap
            self.gap_squares += gap * gap
        self.previous_ts = ts
        minute = ts // MICROS_PER_MINUTE
        if minute == self.minute:
            self.minute_events += 1
        else:
            self.minute = minute
            self.minute_events = 1
        # Strictly greater: the earliest of equally busy minutes is the evidence.
        if self.minute_events > self.busiest_minute_events:
            self.busiest_minute_events = self.minute_events
            self.busiest_minute = minute

    def gap_cv(self):
        """Coefficient of variation (population std / mean) of the gaps; 0 when every gap is 0."""
        gaps = self.events - 1
        if not self.gap_sum:
            return 0.0
        # std/mean = sqrt(n*sum(g^2) - sum(g)^2) / sum(g), with an exact integer radicand.
        return math.sqrt(gaps * self.gap_squares - self.gap_sum * self.gap_sum) / self.gap_sum


class MRSuspiciousUsers(ClickstreamJob):
    """Key user_id; value {user_id, rules: [{rule, evidence}] sorted by rule, events}, only for
    flagged users. Rules: events_per_minute, regular_gaps, views_only."""

    SORT_VALUES = True

    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg(
            "--max-events-per-minute", type=positive_number(int), default=DEFAULT_MAX_EVENTS_PER_MINUTE,
            help="flag a user with more events than this in one UTC minute (default %(default)s)")
        self.add_passthru_arg(
            "--min-events-for-regularity", type=positive_number(int), default=DEFAULT_MIN_EVENTS_FOR_REGULARITY,
            help="events a user needs before the gap regularity rule applies (default %(default)s)")
        self.add_passthru_arg(
            "--max-gap-cv", type=positive_number(float), default=DEFAULT_MAX_GAP_CV,
            help="flag gaps whose coefficient of variation is below this (default %(default)s)")
        self.add_passthru_arg(
            "--min-views-only", type=positive_number(int), default=DEFAULT_MIN_VIEWS_ONLY,
            help="flag a user with at least this many views and no other action (default %(default)s)")

    def steps(self):
        return [MRStep(mapper_raw=self.mapper_time_events, reducer_init=self.reducer_init_count,
                       reducer=self.reducer_flag, reducer_final=self.reducer_final_count)]

    def mapper_time_events(self, input_path, input_uri):
        """Each event -> key user_id, value [time text, 1 for a view else 0]."""
        for event in self.iter_events(input_path):
            yield event.user_id, [sortable_ts(event.ts), 1 if event.action in VIEW_ACTIONS else 0]

    def reducer_init_count(self):
        self._users_flagged = 0

    def reducer_flag(self, user_id, values):
        activity = UserActivity()
        for ts_text, is_view in values:
            activity.add(ts_of_sortable(ts_text), is_view)
        rules = self.fired_rules(activity)
        if rules:
            self._users_flagged += 1
            yield user_id, {"user_id": user_id, "rules": rules, "events": activity.events}

    def fired_rules(self, activity):
        """The rules ``activity`` breaks, sorted by name, each with the numbers behind it."""
        options = self.options
        rules = []
        if activity.busiest_minute_events > options.max_events_per_minute:
            rules.append({"rule": "events_per_minute", "evidence": {
                "minute": format_ts(activity.busiest_minute * MICROS_PER_MINUTE),
                "events_in_minute": activity.busiest_minute_events,
                "max_events_per_minute": options.max_events_per_minute,
            }})
        # Two events make the first gap: below that there is no regularity to measure.
        if activity.events >= max(2, options.min_events_for_regularity):
            cv = activity.gap_cv()
            if cv < options.max_gap_cv:
                rules.append({"rule": "regular_gaps", "evidence": {
                    "events": activity.events,
                    "mean_gap_seconds": round(activity.gap_sum / (activity.events - 1) / MICROS_PER_SECOND, 6),
                    "gap_cv": round(cv, 6),
                    "max_gap_cv": options.max_gap_cv,
                    "min_events_for_regularity": options.min_events_for_regularity,
                }})
        if activity.views == activity.events and activity.views >= options.min_views_only:
            rules.append({"rule": "views_only", "evidence": {
                "views": activity.views,
                "min_views_only": options.min_views_only,
            }})
        return sorted(rules, key=lambda rule: rule["rule"])

    def reducer_final_count(self):
        # One counter update per task: each update is a line on stderr under streaming.
        self.increment_counter(COUNTER_GROUP, "users flagged", self._users_flagged)
        return ()


if __name__ == "__main__":
    MRSuspiciousUsers.run()
