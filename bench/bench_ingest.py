"""Benchmark the ingest against a bare kafka-python consumer loop over the same topic, in one run.

    eval "$(scripts/stack env)"; python -m bench.bench_ingest [--quick] [--events 1000000] [--repeat 3] [--json OUT]

Publishes a backlog of synthetic events to a fresh 3-partition topic, then measures events/s of
(1) a bare loop (KafkaConsumer in a group, auto-commit off, poll and count), (2) the ingest into a
file:// sink and (3) into an hdfs:// sink (when WEBHDFS_URL is set), both in this process with
default rotation, in interleaved rounds (median and min-max), and (4) the peak memory (RSS) of
`clickstream ingest` as its own process over the whole backlog. Prints the ratios. Asserts no time; asserts that every side saw the same events
(count and an order-independent checksum of the record bytes, read back from the sinks).
"""
import argparse
import base64
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zlib

import orjson
import psutil
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from bench import targets
from bench.machine import stamp, write_result
from bench.stats import ratio_summary, summary
from clickstream.generator import GeneratorSpec
from ingest.config import resolve_config
from ingest.consumer import Ingest
from ingest.publish import producer_settings, publish
from ingest.service import configure_logging, consumer_settings
from ingest.sinks import open_sink

PARTITIONS = 3
UNTIL_IDLE = 2.0
TARGET = targets.INGEST.bound  # the ingest keeps at least this fraction of the bare loop's events/s
SIDE_NAMES = {"bare": "bare kafka-python loop", "file": "ingest -> file://", "hdfs": "ingest -> hdfs://"}


def checksum(values):
    """(count, order-independent sum of crc32s): two multisets of records compared cheaply."""
    total = count = 0
    for value in values:
        total += zlib.crc32(value)
        count += 1
    return count, total


def bare_loop(bootstrap, topic, expected, settings):
    """The reference: poll and count, nothing else. Returns (seconds, checksum)."""
    consumer = KafkaConsumer(topic, group_id="bench-bare-" + uuid.uuid4().hex[:8], **settings)
    started = time.perf_counter()
    count = total = 0
    crc32 = zlib.crc32
    try:
        while count < expected:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    total += crc32(record.value)
                count += len(records)
    finally:
        elapsed = time.perf_counter() - started
        consumer.close(autocommit=False)
    return elapsed, (count, total)


def ingest_in_process(config):
    """Run the ingest until idle. Returns the seconds it worked (start to last commit, less the
    idle wait that ends it)."""
    sink = open_sink(config)
    consumer = KafkaConsumer(**consumer_settings(config))
    started = time.perf_counter()
    try:
        status = Ingest(config, consumer, sink).run()
    finally:
        elapsed = time.perf_counter() - started
        consumer.close(autocommit=False)
    assert status == 0, "ingest exited %d" % status
    return elapsed - UNTIL_IDLE


def _sink_records(lines_by_file):
    for folder, lines in lines_by_file:
        for line in lines:
            if "_rejected" in folder:
                record = orjson.loads(line)
                yield base64.b64decode(record["raw_base64"]) if "raw_base64" in record else \
                    record["raw"].encode("utf-8")
            else:
                yield line


def local_sink_checksum(root):
    def files():
        for path in glob.glob(os.path.join(root, "dt=*", "hour=*", "*")) + glob.glob(
                os.path.join(root, "_rejected", "dt=*", "hour=*", "*")):
            with open(path, "rb") as stream:
                yield path, stream.read().splitlines()
    return checksum(_sink_records(files()))


def hdfs_sink_checksum(sink):
    def files():
        for path in sink.committed_paths():
            if path.startswith(("dt=", "_rejected/dt=")) and not os.path.basename(path).startswith(("_", ".")):
                yield path, sink.read(path).splitlines()
    return checksum(_sink_records(files()))


def peak_memory_of_cli(bootstrap, topic, root):
    """Peak RSS (bytes) of `clickstream ingest` over the backlog, sampled every 50 ms."""
    command = [os.path.join(os.path.dirname(sys.executable), "clickstream"), "ingest", "--bootstrap-servers",
               bootstrap, "--topic", topic, "--group", "bench-mem-" + uuid.uuid4().hex[:8], "--sink", "file://" + root,
               "--until-idle", str(UNTIL_IDLE)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watcher = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, watcher.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    stderr = process.stderr.read().decode("utf-8", "replace")
    assert process.returncode == 0, stderr[-2000:]
    return peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50,000 events, 2 rounds")
    parser.add_argument("--events", type=int, default=None, help="backlog size (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=None, help="rounds of every side (default 3; quick 2)")
    parser.add_argument("--json", default=None, help="write the results here (e.g. bench/results/ingest.json)")
    args = parser.parse_args(argv)
    events = args.events or (50_000 if args.quick else 1_000_000)
    repeat = args.repeat or (2 if args.quick else 3)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    webhdfs = os.environ.get("WEBHDFS_URL")
    hdfs_user = os.environ.get("HADOOP_USER_NAME")  # environ={} below keeps the caller's CLICKSTREAM_* out
    if not bootstrap:
        sys.exit("bench_ingest: KAFKA_BOOTSTRAP_SERVERS is unset; run under eval \"$(scripts/stack env)\"")
    configure_logging()
    topic = "bench-ingest-" + uuid.uuid4().hex[:10]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    scratch = tempfile.mkdtemp(prefix="bench-ingest-")
    hdfs_root = "/bench-ingest/" + topic
    try:
        spec = GeneratorSpec(events=events, users=max(1000, events // 50), seed=3, malformed_fraction=0.001,
                             offset_fraction=0.05)
        started = time.perf_counter()
        producer = KafkaProducer(**producer_settings(bootstrap))
        sent = publish(spec, producer, topic)
        producer.close()
        print("published %d events to %s in %.1fs" % (sent, topic, time.perf_counter() - started), flush=True)

        base = {"bootstrap_servers": bootstrap, "topic": topic, "until_idle": UNTIL_IDLE,
                "progress_seconds": 30.0}
        seconds = {"bare": [], "file": []}
        if webhdfs:
            seconds["hdfs"] = []
        bare_sum = settings = config = None
        # interleaved rounds, each side with a fresh consumer group and sink, so each reads the whole backlog
        for round_number in range(repeat):
            root = os.path.join(scratch, "raw-%d" % round_number)
            config = resolve_config(dict(base, group="bench-file-" + uuid.uuid4().hex[:8], sink="file://" + root),
                                    environ={})
            settings = {key: value for key, value in consumer_settings(config).items()
                        if key not in ("group_id", "client_id")}
            bare_seconds, round_sum = bare_loop(bootstrap, topic, sent, settings)
            assert bare_sum in (None, round_sum), "bare loop: round %d read %r, not %r" % (
                round_number + 1, round_sum, bare_sum)
            bare_sum = round_sum
            seconds["bare"].append(bare_seconds)
            seconds["file"].append(ingest_in_process(config))
            file_sum = local_sink_checksum(config.sink_root)
            assert file_sum == bare_sum, "file:// sink %r != bare loop %r" % (file_sum, bare_sum)
            shutil.rmtree(root, ignore_errors=True)
            if webhdfs:
                hdfs_config = resolve_config(dict(base, group="bench-hdfs-" + uuid.uuid4().hex[:8],
                                                  sink="hdfs://%s/r%d" % (hdfs_root, round_number),
                                                  webhdfs_url=webhdfs, hdfs_user=hdfs_user), environ={})
                seconds["hdfs"].append(ingest_in_process(hdfs_config))
                hdfs_sum = hdfs_sink_checksum(open_sink(hdfs_config))
                assert hdfs_sum == bare_sum, "hdfs:// sink %r != bare loop %r" % (hdfs_sum, bare_sum)
            print("  round %d: %s" % (round_number + 1, "  ".join(
                "%s %.2fs" % (side, values[-1]) for side, values in seconds.items())), flush=True)
        peak = peak_memory_of_cli(bootstrap, topic, os.path.join(scratch, "raw-memory"))
        assert local_sink_checksum(os.path.join(scratch, "raw-memory")) == bare_sum

        result = dict(stamp(), events=sent, partitions=PARTITIONS, repeat=repeat, sides={}, ratios={},
                      peak_rss_mib=round(peak / 2**20, 1), buffer_bytes_mib=config.buffer_bytes // 2**20,
                      target=TARGET)
        for side, values in seconds.items():
            result["sides"][side] = {"seconds": summary(values),
                                     "events_per_second": summary([sent / value for value in values], digits=0)}
            if side != "bare":  # throughput as a fraction of the bare loop's: its time over ours
                result["ratios"][side] = ratio_summary(seconds["bare"], values)
        print("\n%d events, %d partitions, same events on every side (checksum %d), median of %d rounds" % (
            sent, PARTITIONS, bare_sum[1], repeat))
        for side, entry in result["sides"].items():
            ratio = result["ratios"].get(side)
            print("  %-28s %8.2fs %10.0f events/s (%.0f-%.0f)%s" % (
                SIDE_NAMES[side], entry["seconds"]["median"], entry["events_per_second"]["median"],
                entry["events_per_second"]["min"], entry["events_per_second"]["max"],
                "" if ratio is None else "   %3.0f%% of the bare loop (rounds %.0f-%.0f%%; target >= %.0f%%%s)" % (
                    100 * ratio["median"], 100 * ratio["min"], 100 * ratio["max"], 100 * TARGET,
                    "" if ratio["median"] >= TARGET else ", MISSED")))
        print("  peak RSS of `clickstream ingest` over the %d-event backlog: %.0f MiB (buffer_bytes %d MiB)" % (
            sent, peak / 2**20, config.buffer_bytes // 2**20))
        if args.json:
            write_result(args.json, result)
    finally:
        admin.delete_topics([topic])
        admin.close()
        shutil.rmtree(scratch, ignore_errors=True)
        if webhdfs:
            try:
                open_sink(resolve_config(dict(bootstrap_servers=bootstrap, topic=topic, group="x",
                                              sink="hdfs://" + hdfs_root, webhdfs_url=webhdfs, hdfs_user=hdfs_user),
                                         environ={})).delete("")
            except Exception as error:  # cleanup only; the figures are already printed
                print("bench_ingest: could not delete %s: %s" % (hdfs_root, error), file=sys.stderr)


if __name__ == "__main__":
    main()
