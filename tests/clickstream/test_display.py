"""Rendering for people and programs, and the masking of credentials before anything is printed."""
import csv
import io
import json
from datetime import datetime, timezone

import pytest

from clickstream.display import mask_uri, render_csv, render_json_lines, render_table


@pytest.mark.parametrize("uri, secret, shown", [
    ("mongodb://app:pa55word@db.internal:27017/clickstream", "pa55word", "mongodb://***@db.internal:27017/clickstream"),
    ("mongodb://app@db.internal/", "app@", "mongodb://***@db.internal/"),
    ("mongodb+srv://app:pa55word@cluster0.example.net/?retryWrites=true",
     "pa55word", "mongodb+srv://***@cluster0.example.net/?retryWrites=true"),
    # a raw '@' or '/' in the password: pymongo reads user info up to the last '@'
    ("mongodb://app:p@ss@db.internal/", "ss@", "mongodb://***@db.internal/"),
    ("mongodb://app:pa/ss@db.internal/", "pa/ss", "mongodb://***@db.internal/"),
    ("mongodb://db.internal/?tls=true&tlsCertificateKeyFilePassword=k3y&appName=x",
     "k3y", "mongodb://db.internal/?tls=true&tlsCertificateKeyFilePassword=***&appName=x"),
    ("mongodb://db/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:t0k",
     "t0k", "mongodb://db/?authMechanism=MONGODB-AWS&authMechanismProperties=***"),
    ("run: MongoDB at mongodb://u:s3cret@h:1/ and http://u2:s3cret2@h2/ failed",
     "s3cret", "run: MongoDB at mongodb://***@h:1/ and http://***@h2/ failed"),
])
def test_mask_uri_hides_every_credential(uri, secret, shown):
    masked = mask_uri(uri)
    assert secret not in masked
    assert masked == shown


@pytest.mark.parametrize("uri", ["mongodb://localhost:27017/", "hdfs:///data/raw", "/local/path", "", None])
def test_mask_uri_leaves_a_uri_without_credentials_alone(uri):
    assert mask_uri(uri) == (uri or "")


ROWS = [{"user_id": "u1", "click_count": 12, "actions": {"search": 2, "page_view": 10},
         "first_seen": datetime(2024, 12, 29, 7, 5, tzinfo=timezone.utc), "tags": ["a", "b"]},
        {"user_id": "user-two", "click_count": 3, "actions": {}, "first_seen": None, "tags": []}]
COLUMNS = ["user_id", "click_count", "actions", "first_seen", "tags"]


def test_render_table_aligns_text_left_and_numbers_right():
    lines = render_table(ROWS, COLUMNS).splitlines()
    assert lines[0].split() == COLUMNS
    assert set(lines[1].replace(" ", "")) == {"-"}
    widths = [len(part) for part in lines[1].split("  ")]
    assert widths[0] == len("user-two") and widths[1] == len("click_count")
    assert lines[2].startswith("u1      ") and lines[3].startswith("user-two")
    # click_count is numeric in every row: right-aligned under its header
    assert lines[2][len("user-two") + 2:].startswith(" " * (len("click_count") - 2) + "12")
    assert "page_view=10 search=2" in lines[2] and "2024-12-29T07:05:00Z" in lines[2] and "a,b" in lines[2]


def test_render_json_lines_is_one_sorted_object_per_row():
    lines = render_json_lines(ROWS).splitlines()
    assert [json.loads(line) for line in lines] == [
        {"user_id": "u1", "click_count": 12, "actions": {"search": 2, "page_view": 10},
         "first_seen": "2024-12-29T07:05:00+00:00", "tags": ["a", "b"]},
        {"user_id": "user-two", "click_count": 3, "actions": {}, "first_seen": None, "tags": []}]
    assert lines[0].index('"actions"') < lines[0].index('"user_id"')


def test_render_csv_quotes_what_needs_it():
    rows = [{"user_id": 'a,"b"', "click_count": 1}]
    text = render_csv(rows, ["user_id", "click_count"])
    assert list(csv.reader(io.StringIO(text))) == [["user_id", "click_count"], ['a,"b"', "1"]]
