"""The ingest's sink: the raw area's storage (clickstream/storage.py, a local folder or HDFS), opened
from the ingest's config with the folders that hold no committed files named, so scans skip them.
"""
import dataclasses

from clickstream.layout import DERIVED_FOLDER
from clickstream.storage import open_storage

# The ingest's bookkeeping, and `clickstream run`'s default derived area inside the raw root.
NOT_COMMITTED = ("_ingest", "_watermarks", "_metrics", DERIVED_FOLDER)


def open_sink(config):
    """The storage of ``config.sink`` (an IngestConfig), its WebHDFS client built by open_storage from
    the config's webhdfs_url, hdfs_user and webhdfs_timeout_seconds. Raises ConfigError."""
    return open_storage(config.sink, dataclasses.asdict(config), "--sink", not_committed=NOT_COMMITTED)
