"""The sessionization rules, shared by the sessions job (mr/mr_sessions.py) and the loader that
merges its hourly output across batches (loaders/sessions.py), so both cut sessions alike.

- Events with a session id form one session per (user, session id); events without one are
  cut where the inactivity gap exceeds ``gap_us``.
- No session lasts ``cap_us`` or longer: an event that many microseconds after its session's
  start begins a new session (a *continuation*, ``continues`` true; its predecessor has
  ``continued`` true).

A *chain* is a run of a (user, session id) group's events with no hard boundary inside: a gap
above ``gap_us`` (no session id) or of at least ``cap_us`` (with one: such an event is past the
cap whatever the session's start). Where the cap cuts a chain depends on the chain's first
event, so a chain is always cut as a whole.
"""
from clickstream.events import format_ts

CART_ACTION = "add_to_cart"
PURCHASE_ACTION = "purchase"
# Events that are visits to a page go to pages_visited; every other event goes to actions.
PAGE_VISIT_ACTIONS = frozenset(("page_view", "view_product"))
MICROS_PER_MINUTE = 60_000_000
MICROS_PER_HOUR = 3_600_000_000
DEFAULT_GAP_MINUTES = 30.0
DEFAULT_MAX_SESSION_HOURS = 24.0


class Rules:
    """The gap and cap of one sessionization, in microseconds."""

    __slots__ = ("gap_us", "cap_us")

    def __init__(self, gap_us, cap_us):
        self.gap_us = int(gap_us)
        self.cap_us = int(cap_us)

    @classmethod
    def of(cls, gap_minutes=DEFAULT_GAP_MINUTES, max_session_hours=DEFAULT_MAX_SESSION_HOURS):
        return cls(round(gap_minutes * MICROS_PER_MINUTE), round(max_session_hours * MICROS_PER_HOUR))

    def boundary_us(self, keyed):
        """The gap that always ends a chain: above gap_us without a session id, cap_us with one."""
        return self.cap_us if keyed else self.gap_us

    def __eq__(self, other):
        return isinstance(other, Rules) and (self.gap_us, self.cap_us) == (other.gap_us, other.cap_us)

    def __repr__(self):
        return "Rules(gap_us=%d, cap_us=%d)" % (self.gap_us, self.cap_us)


def tie_order(event):
    """Events at one instant are ordered by action, page, then product id (None before any
    string), so every runner, input split and merge gives the same lists."""
    _ts, action, page, product = event
    return action, page is not None, page or "", product is not None, product or ""


def event_order(event):
    """The total order of a group's events: time, then tie_order."""
    return (event[0],) + tie_order(event)


class OpenSession:
    """A session being built from time-ordered (ts, action, page, product) events."""

    __slots__ = ("start", "end", "pages_visited", "actions", "cart_pending", "timeline", "continues",
                 "continued")

    def __init__(self, ts, continues=False):
        self.start = self.end = ts
        self.pages_visited = []
        self.actions = []
        self.cart_pending = False
        self.timeline = []
        self.continues = continues
        self.continued = False

    @property
    def events(self):
        return len(self.timeline)

    def add(self, ts, action, page, product):
        self.end = ts
        stamp = format_ts(ts)
        self.timeline.append([ts, action, page, product])
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


def split_sessions(events, keyed, rules):
    """Time-ordered events of one (user, session id) group -> its OpenSessions, in order.
    ``keyed``: the group has a session id (no gap rule)."""
    session = None
    for ts, action, page, product in events:
        if session is not None:
            if (ts - session.end > rules.gap_us) if not keyed else (ts - session.end >= rules.cap_us):
                yield session  # a hard boundary: the next session starts a chain of its own
                session = None
            elif ts - session.start >= rules.cap_us:
                session.continued = True
                yield session
                session = OpenSession(ts, continues=True)
        if session is None:
            session = OpenSession(ts)
        session.add(ts, action, page, product)
    if session is not None:
        yield session


def session_name(session, user_id, sid):
    """The session_id shown: the event's session id; '<user>#<start>' without one; a cap's
    continuation of a keyed session is '<session id>#<start>'."""
    if sid is None:
        return "%s#%s" % (user_id, format_ts(session.start))
    if session.continues:
        return "%s#%s" % (sid, format_ts(session.start))
    return sid


def session_record(session, user_id, sid, rules):
    """The job's output value (and the served document's fields) for one session. ``sid``: the
    group's session id or None. ``timeline`` ([time, action, page, product] per event) lets a
    later batch merge the session again; ``gap_us``/``cap_us`` say which rules cut it."""
    return {
        "session_id": session_name(session, user_id, sid),
        "user_id": user_id,
        "start_time": format_ts(session.start),
        "end_time": format_ts(session.end),
        "pages_visited": session.pages_visited,
        "actions": session.actions,
        "abandoned_checkout": session.cart_pending,
        "events": session.events,
        "sid": sid,
        "continues": session.continues,
        "continued": session.continued,
        "timeline": session.timeline,
        "gap_us": rules.gap_us,
        "cap_us": rules.cap_us,
    }
