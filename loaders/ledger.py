"""The load ledger: one document per (collection, batch) in ``load_batches``, so a finished batch
is skipped as a whole and an interrupted one is known to need completing, and what each batch was
computed from (``content``: its raw files and their sizes, or a digest of the job output).

A batch is marked ``complete`` only after every one of its writes was acknowledged; until then
it stays ``loading`` and the next run applies it again (contribution records make that safe).
A complete batch loaded again with other content is refused (BatchContentConflict) unless forced;
``replacing`` stays set from the start of a replacement until it completes.
"""
from datetime import datetime, timezone

from pymongo import ASCENDING, IndexModel

from clickstream.errors import ClickstreamError

LEDGER = "load_batches"
LOADING, COMPLETE = "loading", "complete"
INDEXES = [IndexModel([("collection", ASCENDING), ("status", ASCENDING), ("completed_at", ASCENDING)],
                      name="collection_status")]


def _key(collection_name, batch_id):
    return "%s|%s" % (collection_name, batch_id)


class BatchContentConflict(ClickstreamError):
    """A complete batch id is loaded again with other content, without --force."""


def describe_content(content):
    """A content record in a few words: 'raw_files a.jsonl (120 B), b.jsonl (80 B)' or
    'output_sha256 3f2a...'; 'unknown content' for None."""
    if not content:
        return "unknown content"
    parts = []
    for name, value in sorted(content.items()):
        if isinstance(value, dict):
            files = ["%s (%s B)" % item for item in sorted(value.items())]
            more = " and %d more" % (len(files) - 3) if len(files) > 3 else ""
            parts.append("%s %s%s" % (name, ", ".join(files[:3]) or "none", more))
        else:
            parts.append("%s %s" % (name, value))
    return "; ".join(parts)


def batch_entry(db, collection_name, batch_id):
    """The ledger document of a batch, or None."""
    return db[LEDGER].find_one({"_id": _key(collection_name, batch_id)})


def batch_status(db, collection_name, batch_id):
    """'complete', 'loading' or None."""
    entry = db[LEDGER].find_one({"_id": _key(collection_name, batch_id)}, {"status": 1})
    return entry["status"] if entry else None


def loaded_with(db, collection_name, batch_id, content):
    """True when the batch is complete and was computed from ``content`` (or either is unknown)."""
    entry = batch_entry(db, collection_name, batch_id)
    if not entry or entry["status"] != COMPLETE:
        return False
    return content is None or entry.get("content") is None or entry["content"] == content


def check_content(entry, batch_id, content):
    """Raise BatchContentConflict when a complete ``entry`` holds other content than ``content``."""
    if entry and entry["status"] == COMPLETE and content is not None and entry.get("content") is not None \
            and entry["content"] != content:
        raise BatchContentConflict(
            "batch %r is already loaded from other content: loaded from %s, now given %s; "
            "--force replaces its contribution" % (batch_id, describe_content(entry["content"]),
                                                  describe_content(content)))


def begin_batch(db, collection_name, batch_id, inputs, now=None, content=None, replacing=False, attempt=None):
    db[LEDGER].create_indexes(INDEXES)
    fields = {"collection": collection_name, "batch_id": batch_id, "status": LOADING, "inputs": list(inputs),
              "started_at": now or datetime.now(timezone.utc), "attempt": attempt}
    if content is not None:
        fields["content"] = content
    if replacing:
        fields["replacing"] = True
    db[LEDGER].update_one({"_id": _key(collection_name, batch_id)}, {"$set": fields, "$inc": {"attempts": 1}},
                          upsert=True)


def complete_batch(db, collection_name, batch_id, stats, now=None):
    db[LEDGER].update_one(
        {"_id": _key(collection_name, batch_id)},
        {"$set": {"status": COMPLETE, "completed_at": now or datetime.now(timezone.utc), "stats": dict(stats)},
         "$unset": {"replacing": ""}})

