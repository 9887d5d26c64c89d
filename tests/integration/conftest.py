"""Integration-test plumbing: each test names the service variables it needs.

A variable that is unset skips the test with a reason; one that is set but points at
nothing makes the test fail (the tests themselves connect and fail loudly).
"""
import os

import pytest


def service_env(*names):
    """Return the values of the named env variables, skipping the test if any is unset."""
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        pytest.skip("service variable(s) %s unset; run under `eval \"$(scripts/stack env)\"`" % ", ".join(missing))
    values = [os.environ[name] for name in names]
    return values[0] if len(values) == 1 else values


@pytest.fixture
def kafka_bootstrap():
    return service_env("KAFKA_BOOTSTRAP_SERVERS")


@pytest.fixture
def webhdfs_url():
    return service_env("WEBHDFS_URL")


@pytest.fixture
def hdfs_client(webhdfs_url):
    """A WebHDFS client of the stack's HDFS, as the login user."""
    import getpass

    from hdfs import InsecureClient

    return InsecureClient(webhdfs_url, user=getpass.getuser())


@pytest.fixture
def hdfs_folder(hdfs_client, request):
    """A fresh HDFS folder named after the test module, removed afterwards."""
    import uuid

    path = "/test/%s-%s" % (request.module.__name__.rpartition(".")[2], uuid.uuid4().hex)
    hdfs_client.makedirs(path)
    yield path
    hdfs_client.delete(path, recursive=True)


@pytest.fixture
def hadoop_home():
    return service_env("HADOOP_HOME")


@pytest.fixture
def mongodb_uri():
    return service_env("MONGODB_URI")


@pytest.fixture
def mongosh_bin():
    return service_env("MONGOSH")


@pytest.fixture
def database(mongodb_uri):
    """A fresh database on the stack's MongoDB-wire server, dropped afterwards (generous server
    selection: the machine may be loaded)."""
    import uuid

    import pymongo

    client = pymongo.MongoClient(mongodb_uri, serverSelectionTimeoutMS=60_000)
    name = "test_%s" % uuid.uuid4().hex[:10]
    yield client[name]
    client.drop_database(name)
    client.close()


@pytest.fixture
def topic(kafka_bootstrap):
    """A fresh 3-partition topic, deleted afterwards."""
    from test_ingest_support import create_topic, delete_topic

    name = create_topic(kafka_bootstrap)
    yield name
    delete_topic(kafka_bootstrap, name)
