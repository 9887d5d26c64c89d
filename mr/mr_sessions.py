"""Sessionization into the seed's session_data shape: by session_id where present, else on an inactivity gap.
Secondary sort keyed by (user_id, session_id) streams each group in time order, so a reducer holds
only the one open session (plus the events tied at one timestamp), never a user's history.
"""
from mrjob.step import MRStep

from clickstream.events import format_ts
from mr.base import COUNTER_GROUP, ClickstreamJob
from mr.fields import (CART_ACTION, PURCHASE_ACTION, positive_number, product_key, session_key, sortable_ts,
                       ts_of_sortable)

DEFAULT_SESSION_GAP_MINUTES = 30.0
# Events that are visits to a page go to pages_visited; every other event goes to actions.
PAGE_VISIT_ACTIONS = frozenset(("page_view", "view_product"))


def tie_order(value):
    """Events at one instant are ordered by action, page, then product id (None before any string),
    so every runner and input split gives the same lists."""
    _ts, action, page, product = value
    return action, page is not None, page or "", product is not None, product or ""


def time_ordered(values):
    """Values sorted by their time text -> the same values with ties put in tie_order."""
    tied = []
    for value in values:
        if tied and value[0] != tied[0][0]:
            if len(tied) > 1:
                tied.sort(key=tie_order)
            yield from tied
            tied = []
        tied.append(value)
    if len(tied) > 1:
        tied.sort(key=tie_order)
    yield from tied


class OpenSession:
    """A session being built; ``record`` turns it into the job's output value."""

    __slots__ = ("start", "end", "pages_visited", "actions", "cart_pending", "events")

    def __init__(self, ts):
        self.start = self.end = ts
        self.pages_visited = []
        self.actions = []
        self.cart_pending = False
        self.events = 0

    def add(self, ts, action, page, product):
        self.end = ts
        self.events += 1
        stamp = format_ts(ts)
        if action in PAGE_VISIT_ACTIONS:
            entry = {"page_name": page, "visit_timestamp": stamp}
            self.pages_visited.append(entry)
        else:
            entry = {"action": action, "timestamp": stamp}
            self.actions.append(entry)
        if product is not None:
            entry["product_id"] = product
        # Ties put add_to_cart before purchase, so a purchase at the same instant completes it.
        if action == CART_ACTION:
            self.cart_pending = True
        elif action == PURCHASE_ACTION:
            self.cart_pending = False

    def record(self, session_id, user_id):
        return {
            "session_id": session_id,
            "user_id": user_id,
            "start_time": format_ts(self.start),
            "end_time": format_ts(self.end),
            "pages_visited": self.pages_visited,
            "actions": self.actions,
            "abandoned_checkout": self.cart_pending,
            "events": self.events,
        }


class MRSessions(ClickstreamJob):
    """Key session_id; value {session_id, user_id, start_time, end_time, pages_visited, actions,
    abandoned_checkout, events}. Events without a session id are split on --session-gap-minutes
    of inactivity and get the id '<user_id>#<start_time>'."""

    SORT_VALUES = True

    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg(
            "--session-gap-minutes", type=positive_number(float), default=DEFAULT_SESSION_GAP_MINUTES,
            help="inactivity (minutes) that ends a session without session_id (default %(default)s)")

    def steps(self):
        return [MRStep(mapper_raw=self.mapper_group_events, reducer_init=self.reducer_init_count,
                       reducer=self.reducer_sessionize, reducer_final=self.reducer_final_count)]

    def mapper_group_events(self, input_path, input_uri):
        """Each event -> key [user_id, session id or null], value [time text, action, page, product]."""
        for event in self.iter_events(input_path):
            fields = event.fields
            page = fields.get("page")
            yield ([event.user_id, session_key(fields)],
                   [sortable_ts(event.ts), event.action, page if type(page) is str else None, product_key(fields)])

    def reducer_init_count(self):
        self._sessions_output = 0

    def reducer_sessionize(self, group, values):
        """Stream one (user, session id) group in time order. A group with a session id is one
        session; the group without one is cut wherever the gap exceeds --session-gap-minutes."""
        user_id, session_id = group
        gap = round(self.options.session_gap_minutes * 60_000_000)
        session = None
        for ts_text, action, page, product in time_ordered(values):
            ts = ts_of_sortable(ts_text)
            if session is not None and session_id is None and ts - session.end > gap:
                yield self._close(session, None, user_id)
                session = None
            if session is None:
                session = OpenSession(ts)
            session.add(ts, action, page, product)
        yield self._close(session, session_id, user_id)

    def _close(self, session, session_id, user_id):
        if session_id is None:
            session_id = "%s#%s" % (user_id, format_ts(session.start))
        self._sessions_output += 1
        return session_id, session.record(session_id, user_id)

    def reducer_final_count(self):
        # One counter update per task: each update is a line on stderr under streaming.
        self.increment_counter(COUNTER_GROUP, "sessions output", self._sessions_output)
        return ()


if __name__ == "__main__":
    MRSessions.run()
