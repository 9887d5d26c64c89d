"""Orderings over whole collections, kept in memory and refreshed in the background.

The stack's server builds no non-unique index (docs/FERRETDB.md), so "top users by click_count"
over 100,000 documents is a full scan and sort on every request there. The dashboard reads such
a collection once, keeps the small answer (the top MAX_LIMIT users; every product's funnel
counts) and reads it again at most every ``max_age`` seconds, in a background thread: a page
waits only for the first read after start-up, and is then at most ``max_age`` seconds behind.
"""
import heapq
import threading
import time

from dashboard.params import MAX_LIMIT

USER_SUMMARY_FIELDS = {"_id": 0, "user_id": 1, "click_count": 1, "last_action": 1, "last_seen": 1}
PRODUCT_SUMMARY_FIELDS = {"_id": 0, "product_id": 1, "views": 1, "cart_adds": 1, "purchases": 1, "distinct_users": 1}
DEFAULT_MAX_AGE = 30.0
REFRESH_FACTOR = 10


def top_users_summary(db, keep=MAX_LIMIT):
    """{"users": the ``keep`` users with most clicks (ties by user id), "total": users counted}."""
    total = 0

    def counted(cursor):
        nonlocal total
        for document in cursor:
            total += 1
            yield document

    cursor = db.user_clicks.find({}, USER_SUMMARY_FIELDS, batch_size=10_000)
    top = heapq.nsmallest(keep, counted(cursor),
                          key=lambda document: (-(document.get("click_count") or 0), str(document.get("user_id"))))
    return {"users": top, "total": total}


def products_summary(db):
    """Every product's funnel row with its ratios (a product is one small document; their number is
    the catalogue's), and a memo of its orderings, filled as pages ask for them."""
    from dashboard.data import funnel_row

    cursor = db.product_popularity.find({}, PRODUCT_SUMMARY_FIELDS, batch_size=10_000)
    return {"products": [funnel_row(document) for document in cursor], "orderings": {}}


class Summary:
    """One cached answer of ``compute(db)``: read on first use, then refreshed in the background
    when older than ``refresh_after`` (the old answer is served meanwhile). A failed refresh
    keeps the old answer and is retried on the next request; with no answer yet, get() raises."""

    def __init__(self, compute, max_age=DEFAULT_MAX_AGE, clock=time.monotonic):
        self.compute = compute
        self.max_age = max_age
        self.clock = clock
        self._lock = threading.Lock()
        self._value = None
        self._read_at = None
        self._refreshing = False
        self.last_error = None
        self.read_seconds = 0.0

    @property
    def refresh_after(self):
        """Seconds an answer is served before it is read again: max_age, or more for slow reads."""
        return max(self.max_age, REFRESH_FACTOR * self.read_seconds)

    def get(self, db):
        """(answer, age in seconds)."""
        with self._lock:
            value, read_at = self._value, self._read_at
        if value is None:
            with self._lock:  # the first read: one thread computes, the others wait for it
                if self._value is None:
                    self._store(self._timed(db))
                return self._value, 0.0
        age = self.clock() - read_at
        if age > self.refresh_after:
            self._refresh_in_background(db)
        return value, age

    def _timed(self, db):
        started = self.clock()
        value = self.compute(db)
        self.read_seconds = self.clock() - started
        return value

    def _store(self, value):
        self._value, self._read_at, self.last_error = value, self.clock(), None

    def _refresh_in_background(self, db):
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True

        def refresh():
            try:
                value = self._timed(db)
                with self._lock:
                    self._store(value)
            except Exception as error:  # kept for the page's note; the old answer stays served
                self.last_error = error
            finally:
                with self._lock:
                    self._refreshing = False

        threading.Thread(target=refresh, name="dashboard-summary", daemon=True).start()
