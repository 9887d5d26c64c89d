"""The dashboard when its MongoDB goes away and comes back (through a cuttable proxy to the stack's
server): a 503 page saying so, no traceback, and the pages back once the server is."""
import os
import time
import urllib.parse

import pymongo
import pytest

from dashboard_stack import Dashboard
from tcp_proxy import Proxy

pytestmark = pytest.mark.integration


def test_database_going_away_is_a_503_then_the_pages_come_back(mongodb_uri, tmp_path):
    target = urllib.parse.urlparse(mongodb_uri)
    proxy = Proxy(target.hostname, target.port)
    proxy.start()
    env = dict(os.environ, CLICKSTREAM_MONGO_URI="mongodb://127.0.0.1:%d/" % proxy.port,
               CLICKSTREAM_DB="dash_down_%d" % proxy.port)
    env.pop("CLICKSTREAM_CONFIG", None)
    pymongo.MongoClient(mongodb_uri)[env["CLICKSTREAM_DB"]].user_clicks.insert_one({"user_id": "u-1", "click_count": 3})
    server = Dashboard(env)
    try:
        status, body = server.get("users")
        assert status == 200 and 'data-field="click_count">3<' in body
        proxy.stop()
        for path in ("traffic", "users?user=u-1", "runs", "api/traffic"):
            status, body = server.get(path)
            assert status == 503, (path, body[:300])
            assert "is not answering" in body and "Traceback" not in body
        proxy.start()  # the same port again
        deadline = time.monotonic() + 60
        while server.get("users?user=u-1")[0] != 200:
            assert time.monotonic() < deadline, "the pages did not come back after the server did"
            time.sleep(0.2)  # poll interval
    finally:
        log = server.stop()
        proxy.stop()
        pymongo.MongoClient(mongodb_uri).drop_database(env["CLICKSTREAM_DB"])
    assert "503" in log and "is not answering" in log and "Traceback" not in log
