"""Shared by the dashboard's integration tests: known events through a real `clickstream run`
(-r inline) into a fresh database on the stack, their independent counts, a dashboard server
started as a subprocess, and the system Chromium for Playwright."""
import collections
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import orjson
import pymongo
import pytest

from batch.demo import RawAreaWriter
from ingest.watermark import watermark_document

CLICKSTREAM = os.path.join(os.path.dirname(sys.executable), "clickstream")
CHROMIUM = "/usr/bin/chromium"
DAY, EARLIER_DAY = "2024-12-29", "2024-12-28"
SCRIPT_USER = "<script>alert(1)</script>"
OPERATOR_USER = "$ne"
BOT = "bot-7"
ACTIONS = ("view_product", "add_to_cart", "purchase", "page_view", "search", "view_product")


def event(user, action, stamp, **fields):
    return orjson.dumps(dict({"user_id": user, "action": action, "timestamp": stamp}, **fields))


def known_events():
    """Events of 2024-12-28T23 and 2024-12-29T00..02: ordinary users, two awkward ids, and a bot."""
    lines = []
    for n in range(240):
        user = "u-%02d" % (n % 30)
        hour = n % 3
        action = ACTIONS[(n // 3) % len(ACTIONS)]
        fields = {"session_id": "s-%s-%d" % (user, hour), "page": "page-%d" % (n % 4)}
        if action in ("view_product", "add_to_cart", "purchase"):
            fields["product_id"] = "p-%d" % (n % 7)
        lines.append(event(user, action, "%sT%02d:%02d:%02dZ" % (DAY, hour, (n * 7) % 60, n % 60), **fields))
    for n, action in enumerate(("page_view", "view_product", "add_to_cart", "search", "purchase")):
        lines.append(event(OPERATOR_USER, action, "%sT01:20:%02dZ" % (DAY, n), page="home", product_id="p-1"))
    for n, action in enumerate(("page_view", "view_product", "add_to_cart", "page_view", "view_product", "search",
                                "add_to_cart")):
        lines.append(event(SCRIPT_USER, action, "%sT02:30:%02dZ" % (DAY, n * 3), page="<b>cart</b>",
                           session_id="<i>sess</i>", product_id="<img src=x onerror=alert(2)>"))
    for n in range(80):  # 80 product views in 56 seconds, 0.7 s apart
        lines.append(event(BOT, "view_product", "%sT01:10:%02d.%03dZ" % (DAY, n * 7 // 10, n * 700 % 1000),
                           page="product", product_id="p-3"))
    for n in range(12):
        lines.append(event("u-%02d" % n, ACTIONS[n % 3], "%sT23:%02d:00Z" % (EARLIER_DAY, n * 4), page="page-1",
                           product_id="p-%d" % (n % 2)))
    return lines


def parsed(lines):
    return [orjson.loads(line) for line in lines]


class Counts:
    """Independent counts over the events, by plain Python."""

    def __init__(self, lines):
        self.events = parsed(lines)

    def hourly(self, day):
        hours = collections.defaultdict(list)
        for item in self.events:
            if item["timestamp"].startswith(day):
                hours[item["timestamp"][:13]].append(item)
        return {hour: {"events": len(items), "distinct_users": len({i["user_id"] for i in items}),
                       "product_page_visits": sum(i["action"] == "view_product" for i in items),
                       "cart_adds": sum(i["action"] == "add_to_cart" for i in items),
                       "purchases": sum(i["action"] == "purchase" for i in items)}
                for hour, items in sorted(hours.items())}

    def clicks(self):
        return collections.Counter(item["user_id"] for item in self.events)

    def products(self):
        funnel = collections.defaultdict(lambda: {"views": 0, "cart_adds": 0, "purchases": 0})
        for item in self.events:
            if "product_id" in item:
                field = {"view_product": "views", "add_to_cart": "cart_adds", "purchase": "purchases"}.get(item["action"])
                funnel[str(item["product_id"])]  # a product with only other actions still exists
                if field:
                    funnel[str(item["product_id"])][field] += 1
        return dict(funnel)

    def user_actions(self, user):
        return collections.Counter(item["action"] for item in self.events if item["user_id"] == user)

    def session_events(self, user):
        return collections.Counter(item.get("session_id") for item in self.events if item["user_id"] == user)


def write_raw_area(root, lines):
    writer = RawAreaWriter(root)
    for offset, line in enumerate(lines):
        writer.add(offset, line + b"\n")
    writer.close()
    os.makedirs(os.path.join(root, "_watermarks"), exist_ok=True)
    document = watermark_document("clicks", {0: {"max_event_ts": 1735444800000000, "caught_up": True}}, [0], 0)
    with open(os.path.join(root, "_watermarks", "clicks.json"), "wb") as stream:
        stream.write(orjson.dumps(document))
    return document


def clickstream_run(args, env):
    result = subprocess.run([CLICKSTREAM, "run", "-r", "inline", "--ignore-watermark", *args], capture_output=True,
                            text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr
    return result


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url, process, deadline_seconds=180, status=200):
    """Wait until ``url`` answers ``status`` (200: the server is up and has read its summaries)."""
    deadline = time.monotonic() + deadline_seconds
    last = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("the dashboard exited with %s" % process.returncode)
        try:
            with urllib.request.urlopen(url, timeout=60) as answer:
                if answer.status == status:
                    return
        except urllib.error.HTTPError as error:
            if error.code == status:
                return
            last = error
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last = error
        time.sleep(0.1)  # a poll interval, not a wait for something to happen
    raise AssertionError("the dashboard did not answer %s within %ds: %s" % (url, deadline_seconds, last))


class Dashboard:
    """`clickstream dashboard` as a subprocess on a free port."""

    def __init__(self, env, *args, ready_status=200):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/" % self.port
        self.process = subprocess.Popen([CLICKSTREAM, "dashboard", "--port", str(self.port), *args], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for_http(self.url + "users", self.process, status=ready_status)
        except AssertionError as error:
            raise AssertionError("%s\ndashboard log:\n%s" % (error, self.stop()[-3000:])) from None

    def get(self, path):
        """(status, body) of one request."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=60) as answer:
                return answer.status, answer.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8")

    def stop(self):
        self.process.terminate()
        try:
            _out, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _out, err = self.process.communicate()
        return err


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A database loaded by two real runs over the known events: (env, database, counts, raw root)."""
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        pytest.skip("service variable(s) MONGODB_URI unset; run under `eval \"$(scripts/stack env)\"`")
    lines = known_events()
    root = str(tmp_path_factory.mktemp("dashboard") / "raw")
    write_raw_area(root, lines)
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000)
    database = client["dash_test_%s" % uuid.uuid4().hex[:10]]
    env = dict(os.environ, CLICKSTREAM_MONGO_URI=uri, CLICKSTREAM_DB=database.name, CLICKSTREAM_SINK=root)
    env.pop("CLICKSTREAM_CONFIG", None)
    clickstream_run(["--date", DAY], env)
    clickstream_run(["--hour", EARLIER_DAY + "T23"], env)
    yield env, database, Counts(lines), root
    client.drop_database(database.name)
    client.close()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from Debian's package, driven by Playwright (its own download cannot work here)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("no %s: install Debian's chromium (make test does it as root with apt)" % CHROMIUM)
    playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extra)")
    with playwright_sync.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()
