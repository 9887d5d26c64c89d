"""HDFS over WebHDFS, as the ingest uses it: write, read back, list, rename."""
import posixpath

import pytest
from hdfs import HdfsError

pytestmark = pytest.mark.integration

# Every byte value, some UTF-8 and line ends, a few times: what goes in comes out.
PAYLOAD = (bytes(range(256)) + "clic\u00e9 \u2192 \U0001f600\r\n".encode("utf-8")) * 64


@pytest.fixture
def client(hdfs_client):
    return hdfs_client


@pytest.fixture
def folder(hdfs_folder):
    return hdfs_folder


def read(client, path):
    with client.read(path) as reader:
        return reader.read()


def test_write_read_list_rename(client, folder):
    tmp = posixpath.join(folder, "events.jsonl.tmp")
    final = posixpath.join(folder, "events.jsonl")

    client.write(tmp, data=PAYLOAD)
    assert read(client, tmp) == PAYLOAD
    assert client.list(folder) == ["events.jsonl.tmp"]
    assert client.status(tmp)["length"] == len(PAYLOAD)

    client.rename(tmp, final)
    assert client.list(folder) == ["events.jsonl"]
    assert client.status(tmp, strict=False) is None
    assert read(client, final) == PAYLOAD


def test_rename_does_not_replace_an_existing_file(client, folder):
    first = posixpath.join(folder, "first")
    second = posixpath.join(folder, "second")
    client.write(first, data=b"one\n")
    client.write(second, data=b"two\n")

    with pytest.raises(HdfsError):
        client.rename(first, second)
    assert read(client, first) == b"one\n"
    assert read(client, second) == b"two\n"
