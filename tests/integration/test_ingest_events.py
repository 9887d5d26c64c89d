"""What lands where, against the real stack: malformed events kept aside with counts that add up,
event-time hours from +01:00 offsets across an hour boundary, the watermark in --status."""
import collections
import os
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from clickstream.generator import GeneratorSpec
from test_ingest_support import (
    CLICKSTREAM, assert_exactly_once, generate_command, generated_lines, ingest_command, produce, read_hdfs_area,
    read_local_area, run,
)

pytestmark = pytest.mark.integration


def parse_prometheus(path):
    values = {}
    with open(path) as stream:
        for line in stream:
            if line.strip() and not line.startswith("#"):
                name, value = line.split("{", 1)[0], line.rsplit(" ", 1)[1]
                values[name] = float(value)
    return values


def test_malformed_events_are_all_in_rejected_and_the_counts_add_up(kafka_bootstrap, webhdfs_url, hadoop_home,
                                                                    topic, tmp_path):
    spec = GeneratorSpec(events=8_000, users=400, seed=21, malformed_fraction=0.2, span_hours=3)
    run(generate_command(kafka_bootstrap, topic, spec), str(tmp_path / "generate.log"))
    extra = [(b"k", b"\xff\xfe not utf-8"), (b"k", b""), (b"k", None), (b"k", b'{"user_id": "u"}')]
    produce(kafka_bootstrap, topic, extra)
    root = "/test-ingest/malformed-%s" % uuid.uuid4().hex[:10]
    metrics = str(tmp_path / "ingest.prom")
    log = str(tmp_path / "ingest.log")
    try:
        run(ingest_command(kafka_bootstrap, topic, "malformed-" + topic, "hdfs://" + root, "--webhdfs-url",
                           webhdfs_url, "--until-idle", "4", "--metrics-file", metrics), log)
        data, rejects = read_hdfs_area(hadoop_home, root)
    finally:
        subprocess.run([os.path.join(hadoop_home, "bin", "hadoop"), "fs", "-rm", "-r", "-f", "-skipTrash", root],
                       capture_output=True, timeout=120)
    valid, malformed = generated_lines(spec)
    malformed = malformed + [value or b"" for _key, value in extra]
    assert_exactly_once(data, rejects, valid, malformed)
    reasons = collections.Counter(record["reason"] for record in rejects)
    assert reasons["not_utf8"] >= 1 and reasons["missing_action"] == 1 and reasons["invalid_json"] >= 2
    counted = parse_prometheus(metrics)
    total = spec.events + len(extra)
    assert counted["clickstream_ingest_consumed_total"] == total
    assert counted["clickstream_ingest_written_total"] == len(data) == len(valid)
    assert counted["clickstream_ingest_rejected_total"] == len(rejects) == len(malformed)
    with open(log) as stream:
        assert "consumed %d = written %d + rejected %d" % (total, len(valid), len(malformed)) in stream.read()


def utc_hour_folder(stamp):
    """Independent of the event model: strptime with %z, then the UTC hour."""
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z").astimezone(timezone.utc)
    return moment.strftime("dt=%Y-%m-%d/hour=%H")


def test_offsets_across_an_hour_boundary_land_in_their_utc_hour(kafka_bootstrap, topic, tmp_path):
    # Local times around 00:00 and 01:00 at +01:00 cross a UTC day and an hour boundary;
    # some events arrive late (an hour already flushed), some early.
    base = datetime(2024, 12, 31, 23, 50, tzinfo=timezone(timedelta(hours=1)))
    stamps = [(base + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S+01:00") for minute in range(0, 80, 3)]
    stamps += ["2024-12-31T23:59:59+01:00", "2025-01-01T00:00:00+01:00", "2025-01-01T00:59:59+01:00",
               "2025-01-01T01:00:00+01:00", "2024-12-31T22:59:59Z", "2024-12-31T23:00:00Z"]
    lines = [orjson.dumps({"user_id": "u%d" % number, "action": "page_view", "timestamp": stamp})
             for number, stamp in enumerate(stamps)]
    root = str(tmp_path / "raw")
    command = ingest_command(kafka_bootstrap, topic, "hours-" + topic, "file://" + root, "--until-idle", "3",
                             "--allowed-lateness-seconds", "0")
    half = len(lines) // 2
    produce(kafka_bootstrap, topic, [(b"u", line) for line in lines[:half]])
    run(command, str(tmp_path / "ingest-1.log"))
    late = orjson.dumps({"user_id": "late", "action": "page_view", "timestamp": "2024-12-31T23:10:00+01:00"})
    produce(kafka_bootstrap, topic, [(b"u", line) for line in lines[half:] + [late]])
    run(command, str(tmp_path / "ingest-2.log"))
    data, rejects, folders = read_local_area(root)
    assert rejects == [] and sorted(data) == sorted(lines + [late])
    for line, stamp in zip(lines + [late], stamps + ["2024-12-31T23:10:00+01:00"]):
        assert folders[line] == {utc_hour_folder(stamp)}, stamp
    assert {utc_hour_folder(stamp) for stamp in stamps} == {
        "dt=2024-12-31/hour=22", "dt=2024-12-31/hour=23", "dt=2025-01-01/hour=00"}
    # the late event is a new file in an hour that already had one, never a rewrite
    assert len(os.listdir(os.path.join(root, "dt=2024-12-31", "hour=22"))) == 2

    status = subprocess.run([CLICKSTREAM, "ingest", "--status", "--topic", topic, "--sink", "file://" + root],
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 0, status.stderr
    latest = max(datetime.strptime(stamp.replace("Z", "+00:00"), "%Y-%m-%dT%H:%M:%S%z") for stamp in stamps)
    latest_utc = latest.astimezone(timezone.utc)
    assert "watermark: %s" % latest_utc.strftime("%Y-%m-%dT%H:%M:%SZ") in status.stdout
    assert "hours before %s are complete" % latest_utc.strftime("dt=%Y-%m-%d/hour=%H") in status.stdout


@pytest.mark.parametrize("args, message", [
    (["--sink", "s3://bucket/raw"], "--sink: 's3://bucket/raw'; expected file:///path or hdfs:///path"),
    (["--rotate-events", "0"], "--rotate-events: 0; expected a positive integer"),
    (["--topic", "a+b"], "--topic: 'a+b' is not a Kafka topic name"),
])
def test_bad_configuration_is_one_line_naming_the_option(kafka_bootstrap, tmp_path, args, message):
    command = ingest_command(kafka_bootstrap, "t", "g", "file://" + str(tmp_path)) + args
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("clickstream: error: ") and message in lines[0]
