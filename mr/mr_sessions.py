"""Sessionization into the seed's session_data shape: by session_id where present, else on an
inactivity gap; no session lasts --max-session-hours or more (clickstream/sessions.py has the rules).
Secondary sort keyed by (user_id, session_id) streams each group in time order, so a reducer holds
only the one open session (plus the events tied at one timestamp), never a user's history.

Each record also carries the session's ``timeline`` and the rules that cut it, so the hourly
batches' sessions can be merged across hours by the loader (loaders/sessions.py).
"""
from mrjob.step import MRStep

from clickstream.sessions import (DEFAULT_GAP_MINUTES, DEFAULT_MAX_SESSION_HOURS, Rules, session_record,
                                  split_sessions, tie_order)
from mr.base import COUNTER_GROUP, ClickstreamJob
from mr.fields import positive_number, product_key, session_key, sortable_ts, ts_of_sortable


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


class MRSessions(ClickstreamJob):
    """Key session_id; value {session_id, user_id, start_time, end_time, pages_visited, actions,
    abandoned_checkout, events, sid, continues, continued, timeline, gap_us, cap_us}. Events
    without a session id are split on --session-gap-minutes of inactivity and get the id
    '<user_id>#<start_time>'; a session the cap cuts goes on as '<session id>#<start_time>'."""

    SORT_VALUES = True

    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg(
            "--session-gap-minutes", type=positive_number(float), default=DEFAULT_GAP_MINUTES,
            help="inactivity (minutes) that ends a session without session_id (default %(default)s)")
        self.add_passthru_arg(
            "--max-session-hours", type=positive_number(float), default=DEFAULT_MAX_SESSION_HOURS,
            help="no session lasts this many hours or more: a later event starts a new one (default %(default)s)")

    def steps(self):
        return [MRStep(mapper_raw=self.mapper_group_events, reducer_init=self.reducer_init_count,
                       reducer=self.reducer_sessionize, reducer_final=self.reducer_final_count)]

    def mapper_group_events(self, input_path, input_uri):
        """Each event -> key [user_id, session id or null], value [time text, action, page, product]."""
        for event in self.iter_events(input_path, input_uri):
            fields = event.fields
            page = fields.get("page")
            yield ([event.user_id, session_key(fields)],
                   [sortable_ts(event.ts), event.action, page if type(page) is str else None, product_key(fields)])

    def reducer_init_count(self):
        self._sessions_output = 0

    def reducer_sessionize(self, group, values):
        """Stream one (user, session id) group in time order and cut it into sessions."""
        user_id, session_id = group
        rules = Rules.of(self.options.session_gap_minutes, self.options.max_session_hours)
        events = ((ts_of_sortable(ts_text), action, page, product)
                  for ts_text, action, page, product in time_ordered(values))
        for session in split_sessions(events, session_id is not None, rules):
            record = session_record(session, user_id, session_id, rules)
            self._sessions_output += 1
            yield record["session_id"], record

    def reducer_final_count(self):
        # One counter update per task: each update is a line on stderr under streaming.
        self.increment_counter(COUNTER_GROUP, "sessions output", self._sessions_output)
        return ()


if __name__ == "__main__":
    MRSessions.run()
