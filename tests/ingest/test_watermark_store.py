"""The watermark store: the document at _watermarks/<topic>.json, read, replaced, and the --status lines."""
import orjson
import pytest

import ingest.watermark_store
from clickstream.errors import ServiceError
from ingest.recovery import encode_manifest, manifest_path
from clickstream.storage import LocalStorage as LocalSink
from ingest.watermark_store import read_watermark, status_lines, watermark_path, write_watermark

DOCUMENT = {"topic": "clicks", "watermark_us": 1_735_466_400_000_000, "watermark": "2024-12-29T10:00:00Z",
            "allowed_lateness_seconds": 0.0, "complete_before_hour": "dt=2024-12-29/hour=10", "partitions": {}}


@pytest.fixture
def no_sleep(monkeypatch):
    naps = []
    monkeypatch.setattr(ingest.watermark_store.time, "sleep", naps.append)
    return naps


def test_a_written_document_reads_back_from_its_path(tmp_path):
    sink = LocalSink(str(tmp_path))
    write_watermark(sink, "clicks", DOCUMENT)
    assert watermark_path("clicks") == "_watermarks/clicks.json"
    assert orjson.loads((tmp_path / "_watermarks" / "clicks.json").read_bytes()) == DOCUMENT
    assert read_watermark(sink, "clicks") == DOCUMENT
    assert read_watermark(sink, "views") is None


def test_a_replace_overwrites_the_stored_document(tmp_path):
    sink = LocalSink(str(tmp_path))
    write_watermark(sink, "clicks", {"watermark_us": 1})
    write_watermark(sink, "clicks", DOCUMENT)
    assert read_watermark(sink, "clicks") == DOCUMENT
    assert sorted(path.name for path in (tmp_path / "_watermarks").iterdir()) == ["clicks.json"]


def test_no_document_and_no_replace_under_way_is_none_at_once(tmp_path, no_sleep):
    assert read_watermark(LocalSink(str(tmp_path)), "clicks") is None
    assert no_sleep == []


class ReplacingSink(LocalSink):
    """An HDFS-like replace caught in the middle: the name is missing for ``gaps`` reads while the
    hidden temp file is there."""

    def __init__(self, root, gaps):
        super().__init__(root)
        self.gaps = gaps

    def read(self, relative):
        if self.gaps:
            self.gaps -= 1
            return None
        return super().read(relative)


def test_a_replace_under_way_is_waited_for(tmp_path, no_sleep):
    sink = ReplacingSink(str(tmp_path), gaps=2)
    write_watermark(sink, "clicks", DOCUMENT)
    (tmp_path / "_watermarks" / ".clicks.json.0123abcd").write_bytes(b"{}")
    assert read_watermark(sink, "clicks") == DOCUMENT
    assert len(no_sleep) == 2


def test_a_replace_that_never_finishes_gives_none_after_the_attempts(tmp_path, no_sleep):
    sink = ReplacingSink(str(tmp_path), gaps=100)
    (tmp_path / "_watermarks").mkdir()
    (tmp_path / "_watermarks" / ".clicks.json.0123abcd").write_bytes(b"{}")
    assert read_watermark(sink, "clicks", attempts=3) is None
    assert len(no_sleep) == 3


def test_a_document_that_is_not_json_is_a_service_error(tmp_path):
    (tmp_path / "_watermarks").mkdir()
    (tmp_path / "_watermarks" / "clicks.json").write_bytes(b"{not json")
    with pytest.raises(ServiceError, match=r"_watermarks/clicks.json is not JSON"):
        read_watermark(LocalSink(str(tmp_path)), "clicks")


def test_status_lines_give_the_watermark_and_each_partitions_newest_manifest(tmp_path):
    sink = LocalSink(str(tmp_path))
    for partition, first, last, ts, caught_up in ((0, 0, 9, 1_735_466_400_000_000, False),
                                                  (0, 10, 19, 1_735_470_000_000_000, True),
                                                  (2, 0, 4, None, False)):
        sink.write_file(manifest_path("clicks", partition, last),
                        encode_manifest("clicks", partition, first, last, [], ts, caught_up))
    sink.write_file(manifest_path("views", 1, 7), encode_manifest("views", 1, 0, 7, [], None))
    assert status_lines(sink, "clicks") == [
        "topic clicks in %s" % sink.url,
        "watermark: none yet (some partition has committed nothing)",
        "  partition 0: committed through offset 19; latest event 2024-12-29T11:00:00Z (caught up at its last flush)",
        "  partition 2: committed through offset 4; latest event -",
    ]
    write_watermark(sink, "clicks", DOCUMENT)
    assert status_lines(sink, "clicks")[1] == (
        "watermark: 2024-12-29T10:00:00Z (lateness 0s allowed); hours before dt=2024-12-29/hour=10 are complete")
