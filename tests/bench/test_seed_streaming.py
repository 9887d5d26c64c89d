"""The seed-style streaming baseline (mapper | sort | reducer) gives the plain count's per-user records."""
import io
import json

import pytest

from bench.plain_count import baseline_user_actions
from bench.seed_streaming.mapper import mapper, utc_text
from bench.seed_streaming.reducer import reducer

GOOD = [
    b'{"user_id":"u1","action":"view_product","timestamp":"2024-12-29T07:00:00Z"}',
    b'{"user_id":"u1","action":"add_to_cart","timestamp":"2024-12-29T08:30:00+01:00"}',  # 07:30Z, the latest
    b'{"user_id":"u1","action":"search","timestamp":"2024-12-29T07:30:00Z"}',  # tie: the greater name wins
    b'{"user_id":"u1","action":"view_product","timestamp":"2024-12-29T06:59:59.250000Z"}',
    b'{"user_id":"tab\\there","action":"purchase","timestamp":"2024-12-29T07:00:00.5+00:00"}',
    b'{"user_id":"\xc3\xa9t\xc3\xa9 \\"q\\"","action":"page_view","timestamp":"2024-12-29 07:00:00Z"}',
]
MALFORMED = [
    b'{"user_id":"u2","action":"view',  # truncated
    b'{"user_id":"u2","action":"view","timestamp":"2024-12-29T07:00:00Z","note":"\xff\xfe"}',  # not UTF-8
    b'[{"user_id":"u2","action":"view","timestamp":"2024-12-29T07:00:00Z"}]',
    b'{"user":"u2","action":"view","timestamp":"2024-12-29T07:00:00Z"}',
    b'{"user_id":"","action":"view","timestamp":"2024-12-29T07:00:00Z"}',
    b'{"user_id":"u2","action":"$view","timestamp":"2024-12-29T07:00:00Z"}',
    b'{"user_id":"u2","action":"view","timestamp":"yesterday 2024-12-29T07:00:00Z"}',
    b'{"user_id":"u2","action":"view","timestamp":"2024-12-29T07:00:00"}',  # no zone
    b'{"user_id":"u2","action":"view","timestamp":"2024-W52-7T07:00:00Z"}',
    b'{"user_id":"u2","action":"view","timestamp":"2024-12-29T07:00:00Z","x":NaN}',
    b'{"user_id":7,"action":"view","timestamp":"2024-12-29T07:00:00Z"}',
    b'{"user_id":"%s","action":"view","timestamp":"2024-12-29T07:00:00Z"}' % (b"u" * 257),
]


def streaming(lines):
    mapped = io.StringIO()
    mapper([line + b"\n" for line in lines], mapped)
    reduced = io.StringIO()
    reducer(io.StringIO("".join(sorted(mapped.getvalue().splitlines(keepends=True)))), reduced)
    records = {}
    for line in reduced.getvalue().splitlines():
        key, value = line.split("\t")
        assert json.loads(key) not in records
        records[json.loads(key)] = json.loads(value)
    return records


def test_same_records_as_the_plain_count(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in GOOD + MALFORMED))
    expected = baseline_user_actions([str(path)])
    assert set(expected) == {"u1", "tab\there", 'été "q"'}
    assert streaming(GOOD + MALFORMED) == expected
    assert expected["u1"] == {"actions": {"view_product": 2, "add_to_cart": 1, "search": 1}, "click_count": 4,
                              "first_seen": "2024-12-29T06:59:59.250000Z", "last_action": "search",
                              "last_seen": "2024-12-29T07:30:00Z"}


@pytest.mark.parametrize("line", MALFORMED)
def test_malformed_lines_give_no_user(line):
    assert streaming([line]) == {}


@pytest.mark.parametrize("stamp, expected", [
    ("2024-12-29T07:00:00Z", "2024-12-29T07:00:00.000000"),
    ("2024-12-29T08:00:00.5+01:00", "2024-12-29T07:00:00.500000"),
    ("2024-12-29T07:00:00", None),
    ("20241229T070000Z", None),
])
def test_utc_text(stamp, expected):
    assert utc_text(stamp) == expected
