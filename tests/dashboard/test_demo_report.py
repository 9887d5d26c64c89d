"""`clickstream demo` ends by writing the report of its data and printing the file's path."""
import collections
import glob
import json
import os

from click.testing import CliRunner

from cli import main
from pages import table_rows


def test_demo_writes_the_report_of_its_data(tmp_path):
    result = CliRunner().invoke(main, ["demo", "-n", "3000", "--users", "60", "-r", "inline", "--workdir",
                                       str(tmp_path)])
    assert result.exit_code == 0, result.output
    path = result.stdout.strip().splitlines()[-1].strip()
    assert path == os.path.join(str(tmp_path), "clickstream-demo-report.html")
    clicks = collections.Counter()
    for name in glob.glob(str(tmp_path / "raw" / "dt=*" / "hour=*" / "*.jsonl")):
        with open(name, "rb") as stream:
            clicks.update(json.loads(line)["user_id"] for line in stream)
    html = open(path, encoding="utf-8").read()
    expected = sorted(clicks.items(), key=lambda item: (-item[1], item[0]))[:20]
    assert [(user, row["click_count"]) for user, row in table_rows(html, "users-table", "user").items()] == [
        (user, str(count)) for user, count in expected]
    assert "hourly_activity has no hours" in html and "product_popularity is empty" in html
