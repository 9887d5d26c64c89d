"""The flush protocol against a real local sink, crashed after every single sink operation:
whatever the crash point, recovery plus a re-read leaves every record committed exactly once."""
import collections
import os

import orjson
import pytest

import ingest.writer
from ingest.recovery import recover
from ingest.routing import route
from clickstream.storage import LocalStorage as LocalSink
from ingest.writer import PartitionWriter

TOPIC = "clicks"
KAFKA_MS = 1_735_466_400_000


class Crash(Exception):
    """The process died here."""


class CrashingSink(LocalSink):
    """A LocalSink that dies before its ``crash_at``-th mutating operation."""

    def __init__(self, root, crash_at):
        super().__init__(root)
        self.crash_at = crash_at
        self.operations = 0

    def _tick(self):
        self.operations += 1
        if self.operations == self.crash_at:
            raise Crash()

    for _name in ("append", "finish", "write_file", "rename", "replace", "delete"):
        def _wrapped(self, *args, _name=_name):
            self._tick()
            return getattr(LocalSink, _name)(self, *args)
        locals()[_name] = _wrapped
    del _name, _wrapped


def make_records(count):
    """Events over three hours, out of order (late and early), with some rejects."""
    records = []
    for offset in range(count):
        if offset % 7 == 3:
            records.append(b'{"user_id": 5}')
        else:
            hour = (offset * 5) % 3 + 9
            stamp = "2024-12-29T%02d:%02d:00+01:00" % (hour + 1, offset % 60)
            records.append(orjson.dumps({"user_id": "u%d" % offset, "action": "view", "timestamp": stamp}))
    return records


def run_partition(sink, records, flush_every):
    """What the consumer does for one partition: recover, then read and flush to the end."""
    next_offset, max_ts = recover(sink, TOPIC, [0])[0]
    writer = PartitionWriter(sink, TOPIC, 0, next_offset, max_ts)
    for offset in range(next_offset, len(records)):
        folder, line, event_ts, _reason = route(records[offset], KAFKA_MS, TOPIC, 0, offset)
        writer.add(offset, folder, line, event_ts, now=0.0)
        if (offset + 1) % flush_every == 0:
            writer.flush()
    writer.flush()


def committed_records(root):
    """Independent reader: every visible (non-hidden) file's lines, as original record bytes."""
    found = collections.Counter()
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(("_ingest", "."))]
        for name in names:
            if name.startswith(("_", ".")):
                continue
            with open(os.path.join(folder, name), "rb") as stream:
                for line in stream:
                    if "_rejected" in folder:
                        found[orjson.loads(line)["offset"]] += 1
                    else:
                        found[orjson.loads(line)["user_id"]] += 1
    return found


def expected_records(records):
    expected = collections.Counter()
    for offset, record in enumerate(records):
        parsed = orjson.loads(record)
        expected[parsed["user_id"] if isinstance(parsed.get("user_id"), str) else offset] += 1
    return expected


def test_without_a_crash_everything_is_committed_once(tmp_path):
    records = make_records(60)
    run_partition(LocalSink(str(tmp_path)), records, flush_every=25)
    assert committed_records(tmp_path) == expected_records(records)
    assert os.listdir(tmp_path / "_ingest" / "manifests") == ["clicks+0+%020d.json" % 59]


@pytest.mark.parametrize("spill_bytes", [1 << 20, 200])
def test_a_crash_after_any_sink_operation_loses_and_duplicates_nothing(tmp_path, monkeypatch, spill_bytes):
    monkeypatch.setattr(ingest.writer, "SPILL_BYTES", spill_bytes)
    records = make_records(60)
    probe = CrashingSink(str(tmp_path / "probe"), crash_at=-1)
    run_partition(probe, records, flush_every=25)
    assert probe.operations > 20
    for crash_at in range(1, probe.operations + 1):
        root = str(tmp_path / ("crash-%d" % crash_at))
        with pytest.raises(Crash):
            run_partition(CrashingSink(root, crash_at), records, flush_every=25)
        # and a second crash during the recovery run, at the same operation count
        try:
            run_partition(CrashingSink(root, crash_at), records, flush_every=25)
        except Crash:
            pass
        run_partition(LocalSink(root), records, flush_every=25)
        assert committed_records(root) == expected_records(records), "crash at operation %d" % crash_at
        assert not os.listdir(os.path.join(root, "_ingest", "tmp", "clicks+0")) if os.path.exists(
            os.path.join(root, "_ingest", "tmp", "clicks+0")) else True


def test_recovery_refuses_a_manifest_whose_files_vanished(tmp_path):
    sink = LocalSink(str(tmp_path))
    records = make_records(10)
    run_partition(sink, records, flush_every=100)
    for folder, _subfolders, names in os.walk(tmp_path):
        for name in names:
            if name.startswith("clicks+0+") and name.endswith(".jsonl"):
                os.remove(os.path.join(folder, name))
    with pytest.raises(Exception, match="exist neither committed nor as temp files"):
        recover(sink, TOPIC, [0])
