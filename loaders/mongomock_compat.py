"""The one place that adapts mongomock to the current pymongo.

pymongo >= 4.11 passes a ``sort`` argument from ``UpdateOne``/``ReplaceOne`` into the bulk
builder; mongomock 4.3's builder does not accept it, so ``bulk_write`` fails. We accept the
argument and refuse a real sort (which the loaders never use), so that the loaders' code is
exactly the code that runs against a real server. mongomock serves the unit tests and the
demo's in-process stand-in.
"""
import mongomock
from mongomock import collection as _mongomock_collection

_Builder = _mongomock_collection.BulkOperationBuilder


def _without_sort(method):
    def accepting_sort(self, *args, sort=None, **kwargs):
        if sort is not None:
            raise NotImplementedError("mongomock cannot apply a sort inside bulk_write")
        return method(self, *args, **kwargs)

    accepting_sort.__wrapped__ = method
    return accepting_sort


def patch_mongomock():
    """Make mongomock's bulk builder accept pymongo's ``sort`` argument (idempotent)."""
    for name in ("add_update", "add_replace"):
        method = getattr(_Builder, name)
        if not hasattr(method, "__wrapped__"):
            setattr(_Builder, name, _without_sort(method))


def in_process_client():
    """A mongomock client that behaves like pymongo's for the loaders."""
    patch_mongomock()
    return mongomock.MongoClient()
