"""Fault injection for the runner and loader tests: a database whose named collection fails its
n-th bulk write, as if the server went away mid-load."""
from pymongo.errors import AutoReconnect


class FailingCollection:
    """Passes calls through to a collection, failing the n-th bulk_write (a crash mid-load)."""

    def __init__(self, collection, fail_at):
        self._collection, self._fail_at, self.calls = collection, fail_at, 0

    def bulk_write(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self._fail_at:
            raise AutoReconnect("connection closed (injected)")
        return self._collection.bulk_write(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._collection, name)


class FailingDb:
    """A database whose named collection fails, however a loader reaches it (db[name] or db.name)."""

    def __init__(self, db, name, fail_at):
        self._db, self._name = db, name
        self.failing = FailingCollection(db[name], fail_at)

    def __getitem__(self, name):
        return self.failing if name == self._name else self._db[name]

    def __getattr__(self, name):
        return self.failing if name == self._name else getattr(self._db, name)
