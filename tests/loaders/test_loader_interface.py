"""Every loader of the job table is a loaders/base.py Loader: the attributes and the one merge
entry point loaders/load.py calls, with additive loaders and only they merging contributions."""
import inspect

import pytest

from clickstream.jobs import JOB_NAMES, JOB_TABLE
from loaders import bulk
from loaders.base import AdditiveLoader, Loader, SetByKeyLoader
from loaders.load import load_batch, loader_for

BATCH_IDS = {job.name: "%s:dt=2024-12-29/hour=03" % job.name for job in JOB_TABLE}


def interface_problems(loader):
    """What keeps ``loader`` from being a usable Loader; [] when nothing does."""
    problems = []
    if not (inspect.isclass(loader) and issubclass(loader, Loader)):
        return ["not a Loader subclass"]
    if inspect.isabstract(loader):
        problems.append("abstract: %s" % ", ".join(sorted(loader.__abstractmethods__)))
    for name in ("COLLECTION", "KEY_FIELD"):
        if not (isinstance(getattr(loader, name), str) and getattr(loader, name)):
            problems.append("%s is %r" % (name, getattr(loader, name)))
    for name in ("ADDITIVE", "MERGES_ACROSS_BATCHES"):
        if not isinstance(getattr(loader, name), bool):
            problems.append("%s is %r" % (name, getattr(loader, name)))
    if loader.ADDITIVE != issubclass(loader, AdditiveLoader):
        problems.append("ADDITIVE %r but %s an AdditiveLoader" % (
            loader.ADDITIVE, "is" if issubclass(loader, AdditiveLoader) else "is not"))
    try:
        inspect.signature(loader.merge_batch).bind("db", "records", "batch", "rejected", "chunk_size")
    except TypeError as error:
        problems.append("merge_batch: %s" % error)
    return problems


@pytest.mark.parametrize("job", JOB_NAMES)
def test_every_loader_of_the_table_satisfies_the_interface(job):
    assert interface_problems(loader_for(job)) == []


def test_the_check_finds_an_incomplete_loader():
    class NoMerge(SetByKeyLoader):
        COLLECTION, KEY_FIELD = "things", "thing"

    class Unnamed(AdditiveLoader):
        MERGES_ACROSS_BATCHES = 1

        @classmethod
        def iter_wants(cls, records, batch_id, rejected):
            return iter(())

    class Lying(Loader):
        COLLECTION, KEY_FIELD, ADDITIVE = "things", "thing", True

        @classmethod
        def merge_batch(cls, db, records):
            return {}

    assert interface_problems(NoMerge) == ["abstract: operation"]
    assert interface_problems(Unnamed) == ["COLLECTION is None", "KEY_FIELD is None", "MERGES_ACROSS_BATCHES is 1"]
    assert interface_problems(Lying) == ["ADDITIVE True but is not an AdditiveLoader",
                                         "merge_batch: too many positional arguments"]
    assert interface_problems(dict) == ["not a Loader subclass"]


@pytest.mark.parametrize("job", JOB_NAMES)
def test_an_empty_batch_loads_through_the_interface(mongo_db, job):
    loader = loader_for(job)
    stats = load_batch(mongo_db, job, iter(()), BATCH_IDS[job], [], {})
    assert set(bulk.new_stats()) | {"superseded_deleted", "records", "rejected"} <= set(stats)
    assert (stats["records"], stats["rejected"], stats["skipped"]) == (0, 0, False)
    names = set(mongo_db[loader.COLLECTION].index_information())
    assert {index.document["name"] for index in loader.INDEXES} <= names
    assert load_batch(mongo_db, job, iter(()), BATCH_IDS[job], [], {})["skipped"] is True
