"""Selecting raw-area partitions by --date/--hour under --sink: local listings and HDFS folders."""
import os

import pytest

from clickstream.errors import ConfigError
from mr.inputs import list_local_dir, select_raw_inputs

DAY = "dt=2024-12-29"
LISTING = {
    "/raw/%s/hour=00" % DAY: ["a+0+1+2.jsonl", "_tmp.5.jsonl", ".a.crc", "b+0+3+4.jsonl.gz", "notes.txt"],
    "/raw/%s/hour=23" % DAY: ["c+0+5+6.jsonl"],
    "/raw/dt=2024-12-30/hour=00": ["d+0+7+8.jsonl"],
    "/raw/dt=2024-12-28/hour=23": ["e+0+9+9.jsonl"],
}


def fake_list_dir(folder):
    return list(LISTING.get(folder, []))


@pytest.mark.parametrize("sink, date, hour, expected", [
    ("/raw", "2024-12-29", None, ["/raw/%s/hour=00/a+0+1+2.jsonl" % DAY, "/raw/%s/hour=00/b+0+3+4.jsonl.gz" % DAY,
                                  "/raw/%s/hour=23/c+0+5+6.jsonl" % DAY]),
    ("/raw/", None, "2024-12-29T23", ["/raw/%s/hour=23/c+0+5+6.jsonl" % DAY]),
    ("file:///raw", None, "2024-12-30T00", ["/raw/dt=2024-12-30/hour=00/d+0+7+8.jsonl"]),
    ("hdfs:///raw", "2024-12-29", None, ["hdfs:///raw/%s/hour=*/" % DAY]),
    ("hdfs://nn:8020/raw/", None, "2024-12-29T07", ["hdfs://nn:8020/raw/%s/hour=07/" % DAY]),
])
def test_selection(sink, date, hour, expected):
    assert select_raw_inputs(sink, date, hour, fake_list_dir) == expected


@pytest.mark.parametrize("sink, date, hour, message", [
    ("/raw", None, None, r"--date/--hour: give exactly one"),
    ("/raw", "2024-12-29", "2024-12-29T01", r"--date/--hour: give exactly one"),
    (None, "2024-12-29", None, r"--sink: None"),
    ("", None, "2024-12-29T01", r"--sink: ''"),
    ("/raw", "2024-12-32", None, r"--date: '2024-12-32(T00)?' is not a calendar date"),
    ("/raw", "29-12-2024", None, r"--date: '29-12-2024' is not a date"),
    ("/raw", None, "2024-12-29T24", r"--hour: '2024-12-29T24' is not an hour"),
    ("/raw", None, "2024-12-29 01", r"--hour: '2024-12-29 01' is not an hour"),
    ("file://raw", "2024-12-29", None, r"--sink: 'file://raw' is not a file:/// URI"),
    ("ftp://host/raw", "2024-12-29", None, r"--sink: 'ftp://host/raw' has an unknown scheme"),
    ("/raw", "2024-12-27", None, r"--date: no raw files for '2024-12-27' under '/raw'"),
    ("/raw", None, "2024-12-29T05", r"--hour: no raw files for '2024-12-29T05' under '/raw'"),
])
def test_bad_selection_fails_in_one_line(sink, date, hour, message):
    with pytest.raises(ConfigError, match=message):
        select_raw_inputs(sink, date, hour, fake_list_dir)


def test_local_listing_skips_folders_and_missing_partitions(tmp_path):
    folder = tmp_path / DAY / "hour=10"
    (folder / "sub.jsonl").mkdir(parents=True)
    (folder / "x+0+1+1.jsonl").write_bytes(b"{}\n")
    assert list_local_dir(str(folder)) == ["x+0+1+1.jsonl"]
    assert list_local_dir(str(tmp_path / "missing")) == []
    assert select_raw_inputs(str(tmp_path), "2024-12-29") == [os.path.join(str(folder), "x+0+1+1.jsonl")]
