"""`clickstream report`: one self-contained file with every section, or "no data yet" for each empty one."""
import json
import re

from serving import hourly_documents, user_documents
from dashboard.report import write_report
from pages import table_rows


def test_report_has_every_section_inlined(serving_db, tmp_path):
    path = write_report(serving_db, str(tmp_path / "report.html"), day="2024-12-28")
    html = open(path, encoding="utf-8").read()
    assert not re.search(r'<(script|link)[^>]+(src|href)=', html), "the report links nothing"
    assert "Plotly" in html and len(html) > 1_000_000  # plotly.js inlined
    assert table_rows(html, "traffic-table", "hour").keys() == {"2024-12-28T22", "2024-12-28T23", "total"}
    figure = json.loads(re.search(r'id="figure-traffic">(.*?)</script>', html, re.S).group(1))
    assert next(t for t in figure["data"] if t["meta"] == "purchases")["y"] == [
        d["purchases"] for d in hourly_documents() if d["hour"].startswith("2024-12-28")]
    top = sorted(user_documents(), key=lambda d: (-d["click_count"], d["user_id"]))[:20]
    assert list(table_rows(html, "users-table", "user")) == [d["user_id"] for d in top]
    assert {"products-table", "suspicious-table", "runs-table"} <= set(re.findall(r'<table id="([a-z-]+)"', html))
    assert "<script>alert" not in html and list(tmp_path.iterdir()) == [tmp_path / "report.html"]


def test_report_of_user_clicks_only_says_no_data_yet_elsewhere(mongo_db, tmp_path):
    mongo_db.user_clicks.insert_many(user_documents()[:3])
    html = open(write_report(mongo_db, str(tmp_path / "r.html")), encoding="utf-8").read()
    assert len(table_rows(html, "users-table", "user")) == 3
    for empty in ("hourly_activity has no hours", "product_popularity is empty", "no user is flagged",
                  "no `clickstream run` is recorded", "no sink configured"):
        assert empty in html, empty
