"""`clickstream dashboard` as a real process: it binds 127.0.0.1, and when MongoDB does not answer
every page is a 503 naming the server with its credentials masked, in the pages and the log alike."""
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

CLICKSTREAM = os.path.join(os.path.dirname(sys.executable), "clickstream")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def test_credentials_never_reach_a_page_or_the_log(monkeypatch):
    uri = "mongodb://alice:pw-S3cret%%21@127.0.0.1:%d/?authSource=admin" % free_port()  # nothing listens there
    monkeypatch.setenv("CLICKSTREAM_MONGO_URI", uri)
    monkeypatch.delenv("CLICKSTREAM_CONFIG", raising=False)
    port = free_port()
    server = subprocess.Popen([CLICKSTREAM, "dashboard", "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    base = "http://127.0.0.1:%d/" % port
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                fetch(base + "favicon.ico")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.05)  # poll interval
        for path in ("traffic", "products", "users", "suspicious", "runs", "api/users", "docs", "openapi.json"):
            status, body = fetch(base + path)
            assert status in (200, 503) and "S3cret" not in body and "alice" not in body, path
        status, body = fetch(base + "products")
        assert status == 503 and "MongoDB at mongodb://***@127.0.0.1:" in body and "Traceback" not in body
        listening = subprocess.run(["ss", "-ltnH", "sport = :%d" % port], capture_output=True, text=True).stdout
        assert "127.0.0.1:%d" % port in listening and "0.0.0.0:%d" % port not in listening, listening
    finally:
        server.terminate()
        _out, log = server.communicate(timeout=30)
    assert "S3cret" not in log and "alice" not in log and "mongodb://***@127.0.0.1:" in log
