"""The dashboard's pages and API over known documents: the numbers shown, escaping, values-only
parameters, one-line 400s and the 503 of a database that is down (credentials never shown)."""
import json
import logging
import re

import pymongo
import pytest
from fastapi.testclient import TestClient

from serving import AWKWARD_USERS, DAY, hourly_documents, product_documents, user_documents
from dashboard.app import create_app
from dashboard.views import Sources
from pages import table_rows

URI = "mongodb://reader:s3cr3t-pw@db.example:27017/?authSource=admin"


@pytest.fixture
def client(serving_db, tmp_path):
    (tmp_path / "_watermarks").mkdir()
    (tmp_path / "_watermarks" / "clicks.json").write_text(json.dumps({
        "topic": "clicks", "allowed_lateness_seconds": 3600.0, "partitions": {"0": {}, "1": {}},
        "watermark_us": 1735441200000000, "watermark": "2024-12-29T03:00:00Z",
        "complete_before_hour": "dt=2024-12-29/hour=02"}))

    def open_area():
        from batch.area import open_area as open_run_area

        return open_run_area(str(tmp_path))

    return TestClient(create_app(Sources(serving_db, open_area=open_area, sink=str(tmp_path)), URI, "clickstream_test"))


def expected_hours(day):
    return {document["hour"]: {field: str(document[field]) for field in
                               ("events", "distinct_users", "product_page_visits", "cart_adds", "purchases")}
            for document in hourly_documents() if document["hour"].startswith(day)}


def test_traffic_defaults_to_the_newest_day_and_shows_its_hours(client):
    page = client.get("/traffic")
    assert page.status_code == 200
    assert table_rows(page.text, "traffic-table", "hour") == dict(
        expected_hours(DAY), total={"events": str(sum(d["events"] for d in hourly_documents() if d["hour"] < "2024-12-29T99"
                                                       and d["hour"].startswith(DAY))),
                                    "product_page_visits": str(sum(d["product_page_visits"] for d in hourly_documents()
                                                                   if d["hour"].startswith(DAY))),
                                    "cart_adds": str(sum(d["cart_adds"] for d in hourly_documents() if d["hour"].startswith(DAY))),
                                    "purchases": str(sum(d["purchases"] for d in hourly_documents() if d["hour"].startswith(DAY)))})
    assert '<option value="2024-12-28">' in page.text and '<option value="2024-12-29" selected>' in page.text
    figure = json.loads(re.search(r'<script type="application/json" id="figure-traffic">(.*?)</script>',
                                  page.text, re.S).group(1))
    events = next(trace for trace in figure["data"] if trace["meta"] == "events")
    assert events["y"] == [d["events"] for d in hourly_documents() if d["hour"].startswith(DAY)]
    assert 'src="static/plotly.min.js"' in page.text and "cdn" not in page.text.lower()


def test_traffic_of_a_chosen_day_and_of_a_day_without_data(client):
    assert table_rows(client.get("/traffic?date=2024-12-28").text, "traffic-table", "hour").keys() == {
        "2024-12-28T22", "2024-12-28T23", "total"}
    assert "No data yet for 2024-01-01" in client.get("/traffic?date=2024-01-01").text
    api = client.get("/api/traffic", params={"date": DAY}).json()
    assert {row["hour"]: {k: str(v) for k, v in row.items() if k != "hour"} for row in api["hours"]} == expected_hours(DAY)
    assert api["days"] == ["2024-12-29", "2024-12-28"]


@pytest.mark.parametrize("path, reason", [
    ("/traffic?date=2024-13-01", "date: '2024-13-01' is not a calendar date"),
    ("/products?sort=$where", "sort: '$where' is not one of"),
    ("/products?limit=0", "limit: '0' is not a row count"),
    ("/users?user=", "user: '' is not a user id"),
    ("/suspicious?limit=many", "limit: 'many' is not a row count"),
    ("/runs?limit=-3", "limit: '-3' is not a row count"),
])
def test_bad_parameters_are_400_with_one_line(client, path, reason):
    page = client.get(path)
    assert page.status_code == 400 and reason.replace("'", "&#39;") in page.text
    api = client.get("/api" + path)
    assert api.status_code == 400 and api.json()["error"].startswith(reason) and "\n" not in api.json()["error"]


def test_products_funnel_sorted_with_ratios(client):
    rows = table_rows(client.get("/products?sort=views&order=desc&limit=5").text, "products-table", "product")
    expected = sorted(product_documents(), key=lambda d: -d["views"])[:5]
    assert list(rows) == [str(d["product_id"]) for d in expected]
    for document in expected:
        row = rows[str(document["product_id"])]
        assert row["views"] == str(document["views"]) and row["purchases"] == str(document["purchases"])
        views, carts = document["views"], document["cart_adds"]
        assert row["view_to_cart"] == "%.1f%%" % (100 * carts / views)
        assert row["cart_to_purchase"] == ("%.1f%%" % (100 * document["purchases"] / carts) if carts else "–")
    top = client.get("/api/products").json()
    by_purchases = sorted(product_documents(), key=lambda d: (-d["purchases"], -d["views"], str(d["product_id"])))
    assert [row["product_id"] for row in top["products"]] == [d["product_id"] for d in by_purchases[:20]]
    ascending = client.get("/api/products?sort=cart_to_purchase&order=asc&limit=500").json()["products"]
    ratios = [row["cart_to_purchase"] for row in ascending]
    defined = [ratio for ratio in ratios if ratio is not None]
    assert defined == sorted(defined) and ratios[len(defined):] == [None] * (len(ratios) - len(defined))


def test_top_users_and_escaped_ids(client):
    page = client.get("/users?limit=10")
    expected = sorted(user_documents(), key=lambda d: (-d["click_count"], d["user_id"]))[:10]
    rows = table_rows(page.text, "users-table", "user")
    assert [(user, row["click_count"]) for user, row in rows.items()] == [
        (d["user_id"], str(d["click_count"])) for d in expected]
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    assert "\\u0026lt;script\\u0026gt;alert" in page.text  # the chart's label, an entity, JSON-escaped


def test_a_user_id_that_looks_like_an_operator_is_a_value(client):
    page = client.get("/users", params={"user": "$ne"})
    assert page.status_code == 200
    profile = table_rows(page.text, "profile-table", "action")
    assert profile == {"purchase": {"action_count": "60"}}
    api = client.get("/api/users", params={"user": "$ne"}).json()
    assert api["profile"]["user_id"] == "$ne" and api["profile"]["click_count"] == 60
    assert [session["session_id"] for session in api["sessions"]] == ["s-1-$ne", "s-0-$ne"]
    assert [entry[2] for entry in api["sessions"][0]["timeline"]] == ["home", "<b>product</b>", "add_to_cart"]
    assert "timeline" not in json.dumps(api["sessions"][0]["pages_visited"])
    assert "&lt;b&gt;product&lt;/b&gt;" in page.text and "<b>product</b>" not in page.text
    nobody = client.get("/users", params={"user": '{"$gt": ""}'})
    assert nobody.status_code == 200 and "No user with this id" in nobody.text


def test_suspicious_users_of_either_shape_with_their_evidence(client):
    page = client.get("/suspicious").text
    assert table_rows(page, "suspicious-table", "user") == {"bot-1": {"events": "120"},
                                                            "<script>bot</script>": {"events": "60"}}
    assert '<dd data-key="events_in_60s">120</dd>' in page and '<dd data-key="window.start">2024-12-29T00</dd>' in page
    assert '<dd data-key="views">60</dd>' in page and "&lt;script&gt;bot" in page and "<script>bot" not in page
    api = client.get("/api/suspicious").json()["flagged"]
    assert api[0]["rules"] == [{"rule": "events_per_minute", "evidence": {
        "events_in_60s": 120, "max_events_per_minute": 30, "window.end": "2024-12-30T00", "window.start": "2024-12-29T00"}}]
    assert api[1]["details"] == {"window": "suspicious-users:dt=2024-12-29"}


def test_runs_with_steps_broken_invariants_and_watermarks(client):
    page = client.get("/runs").text
    assert table_rows(page, "runs-table", "run") == {
        "run-2": {"status": "failed", "exit_code": "1", "seconds": "4.5", "events": "50", "broken": "1"},
        "run-1": {"status": "done", "exit_code": "0", "seconds": "9.0", "events": "700", "broken": "0"}}
    assert "no output record rejected (2 rejected)" in page
    assert table_rows(page, "watermarks-table", "topic") == {"clicks": {"lateness": "3600.0", "partitions": "2"}}
    assert "2024-12-29T03:00:00Z" in page


def test_runs_page_says_when_the_raw_area_is_unreachable(serving_db):
    def open_area():
        raise OSError("connection refused by namenode")

    app = create_app(Sources(serving_db, open_area=open_area, sink="hdfs:///raw"), URI, "db")
    page = TestClient(app).get("/runs")
    assert page.status_code == 200 and "raw area not reachable: connection refused by namenode" in page.text


def test_a_database_that_is_down_is_a_503_page_without_credentials(caplog):
    down = pymongo.MongoClient("mongodb://reader:s3cr3t-pw@127.0.0.1:9/", serverSelectionTimeoutMS=200,
                               connectTimeoutMS=200)
    app = create_app(Sources(down["db"]), "mongodb://reader:s3cr3t-pw@127.0.0.1:9/", "db")
    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.DEBUG):
        for path in ("/traffic", "/products", "/users", "/suspicious", "/runs", "/api/users"):
            answer = client.get(path)
            assert answer.status_code == 503, path
            assert "s3cr3t" not in answer.text and "Traceback" not in answer.text
            assert "MongoDB at mongodb://***@127.0.0.1:9/ is not answering" in answer.text
    assert "s3cr3t" not in caplog.text and "is not answering" in caplog.text
    down.close()


def test_pages_never_show_the_credentials(client):
    for path in ("/traffic", "/products", "/users", "/suspicious", "/runs", "/docs", "/openapi.json"):
        answer = client.get(path)
        assert answer.status_code == 200 and "s3cr3t" not in answer.text, path
    assert "mongodb://***@db.example:27017/" in client.get("/traffic").text


def test_openapi_documents_every_endpoint_and_docs_need_no_cdn(client):
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {"/api/traffic", "/api/products", "/api/users", "/api/suspicious", "/api/runs"}
    assert {p["name"] for p in schema["paths"]["/api/users"]["get"]["parameters"]} == {"limit", "user"}
    docs = client.get("/docs").text
    assert "swagger-ui-bundle.js" in docs and "//cdn" not in docs and "https://" not in docs.split("<body>")[0]


def test_static_assets_come_from_the_packages(client):
    plotly_js = client.get("/static/plotly.min.js")
    assert plotly_js.status_code == 200 and "plotly.js" in plotly_js.text[:500] and len(plotly_js.text) > 1_000_000
    assert client.get("/static/../setup.cfg").status_code == 404
    assert client.get("/static/other.js").status_code == 404
    assert client.get("/", follow_redirects=False).headers["location"] == "traffic"


def test_documents_missing_fields_still_render(mongo_db):
    mongo_db.user_clicks.insert_one({"user_id": "bare", "click_count": 2})
    mongo_db.runs.insert_one({"_id": "r", "started_at": None})
    mongo_db.suspicious_users.insert_one({"user_id": "s"})
    client = TestClient(create_app(Sources(mongo_db), URI, "db"))
    assert table_rows(client.get("/users").text, "users-table", "user") == {"bare": {"click_count": "2"}}
    assert table_rows(client.get("/runs").text, "runs-table", "run")["r"]["status"] == "None"
    assert table_rows(client.get("/suspicious").text, "suspicious-table", "user") == {"s": {"events": ""}}
