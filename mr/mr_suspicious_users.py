"""Bot and anomaly evidence per user and UTC hour, for the suspicious-users rules (burst rate,
metronome-like gaps, views only) that loaders/suspicious_users.py judges over trailing windows.
Secondary sort streams each user's events in time order; the reducer keeps one hour's running sums.
"""
from collections import deque

from mrjob.step import MRStep

from clickstream.config_schema import DEFAULT_CONFIG
from clickstream.events import format_ts
from clickstream.layout import MICROS_PER_HOUR, hour_of
from mr.base import COUNTER_GROUP, ClickstreamJob
from mr.fields import positive_number, sortable_ts, ts_of_sortable

VIEW_ACTIONS = frozenset(("view_product", "page_view"))
BURST_MICROS = 60_000_000  # the burst rule's sliding interval [t, t + 60 s)

DEFAULT_MAX_EVENTS_PER_MINUTE = 30
DEFAULT_MIN_EVENTS_FOR_REGULARITY = 20
DEFAULT_MAX_GAP_CV = 0.1
DEFAULT_MIN_VIEWS_ONLY = 50
DEFAULT_WINDOW_HOURS = DEFAULT_CONFIG["run.suspicious_window_hours"]


class HourActivity:
    """Running statistics of one user's time-ordered events in one UTC hour: counts, exact integer
    gap sums, the busiest sliding 60 s inside the hour, and the times in its first and last 60 s
    (a burst across the hour's edge is found by joining these with the neighbouring hour's)."""

    __slots__ = ("hour", "events", "views", "first", "last", "gap_sum", "gap_squares",
                 "recent", "busiest", "busiest_at", "head", "tail")

    def __init__(self, hour):
        self.hour = hour
        self.events = self.views = 0
        self.first = self.last = None
        self.gap_sum = self.gap_squares = 0  # integer microseconds: exact however many gaps
        self.recent = deque()  # the times of the last 60 s
        self.busiest = 0
        self.busiest_at = None
        self.head, self.tail = [], []

    def add(self, ts, is_view):
        self.events += 1
        self.views += is_view
        if self.last is None:
            self.first = ts
        else:
            gap = ts - self.last
            self.gap_sum += gap
            self.gap_squares += gap * gap
        self.last = ts
        start = self.hour * MICROS_PER_HOUR
        if ts < start + BURST_MICROS:
            self.head.append(ts)
        if ts >= start + MICROS_PER_HOUR - BURST_MICROS:
            self.tail.append(ts)
        # Intervals [t, t + 60 s) starting at an event: the one starting at recent[0] is complete
        # once an event at or after its end arrives.
        self.recent.append(ts)
        while ts - self.recent[0] >= BURST_MICROS:
            self._interval_done()
            self.recent.popleft()

    def _interval_done(self):
        # Strictly greater: the earliest of equally busy intervals is the evidence.
        if len(self.recent) - 1 > self.busiest:
            self.busiest, self.busiest_at = len(self.recent) - 1, self.recent[0]

    def close(self):
        """Finish the intervals still open at the hour's last event."""
        while self.recent:
            count = len(self.recent)
            if count > self.busiest:
                self.busiest, self.busiest_at = count, self.recent[0]
            self.recent.popleft()

    def record(self, user_id, settings):
        self.close()
        return {"user_id": user_id, "hour": hour_text(self.hour), "events": self.events, "views": self.views,
                "first": self.first, "last": self.last, "gap_sum": self.gap_sum,
                # decimal text: a sum of squared microseconds can pass 64 bits (JSON, BSON)
                "gap_squares": str(self.gap_squares),
                "busiest": self.busiest, "busiest_at": self.busiest_at, "head": self.head, "tail": self.tail,
                "settings": settings}


def hour_text(hour):
    """Hour number since the epoch -> 'YYYY-MM-DDTHH'."""
    return format_ts(hour * MICROS_PER_HOUR)[:13]


class MRSuspiciousUsers(ClickstreamJob):
    """Key '<user_id>|<YYYY-MM-DDTHH>'; value: the user's figures for that hour (events, views,
    first and last time, gap sum and sum of squares, busiest 60 s, edge times) and the rule settings."""

    SORT_VALUES = True

    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg(
            "--max-events-per-minute", type=positive_number(int), default=DEFAULT_MAX_EVENTS_PER_MINUTE,
            help="flag a user with more events than this in any 60 s (default %(default)s)")
        self.add_passthru_arg(
            "--min-events-for-regularity", type=positive_number(int), default=DEFAULT_MIN_EVENTS_FOR_REGULARITY,
            help="events a window needs before the gap regularity rule applies (default %(default)s)")
        self.add_passthru_arg(
            "--max-gap-cv", type=positive_number(float), default=DEFAULT_MAX_GAP_CV,
            help="flag gaps whose coefficient of variation is below this (default %(default)s)")
        self.add_passthru_arg(
            "--min-views-only", type=positive_number(int), default=DEFAULT_MIN_VIEWS_ONLY,
            help="flag a window with at least this many views and no other action (default %(default)s)")
        self.add_passthru_arg(
            "--window-hours", type=positive_number(int), default=DEFAULT_WINDOW_HOURS,
            help="the rules judge windows of this many consecutive whole UTC hours (default %(default)s; "
                 "config run.suspicious_window_hours)")

    def steps(self):
        return [MRStep(mapper_raw=self.mapper_time_events, reducer_init=self.reducer_init_count,
                       reducer=self.reducer_hours, reducer_final=self.reducer_final_count)]

    def rule_settings(self):
        options = self.options
        return {"window_hours": options.window_hours, "max_events_per_minute": options.max_events_per_minute,
                "min_events_for_regularity": options.min_events_for_regularity, "max_gap_cv": options.max_gap_cv,
                "min_views_only": options.min_views_only}

    def mapper_time_events(self, input_path, input_uri):
        """Each event -> key user_id, value [time text, 1 for a view else 0]."""
        for event in self.iter_events(input_path, input_uri):
            yield event.user_id, [sortable_ts(event.ts), 1 if event.action in VIEW_ACTIONS else 0]

    def reducer_init_count(self):
        self._user_hours = 0
        self._settings = self.rule_settings()

    def reducer_hours(self, user_id, values):
        activity = None
        for ts_text, is_view in values:
            ts = ts_of_sortable(ts_text)
            hour = hour_of(ts)
            if activity is None or hour != activity.hour:
                if activity is not None:
                    yield from self._emit(user_id, activity)
                activity = HourActivity(hour)
            activity.add(ts, is_view)
        if activity is not None:
            yield from self._emit(user_id, activity)

    def _emit(self, user_id, activity):
        self._user_hours += 1
        record = activity.record(user_id, self._settings)
        yield "%s|%s" % (user_id, record["hour"]), record

    def reducer_final_count(self):
        # One counter update per task: each update is a line on stderr under streaming.
        self.increment_counter(COUNTER_GROUP, "user hours", self._user_hours)
        return ()


if __name__ == "__main__":
    MRSuspiciousUsers.run()
