"""Benchmark the ingest against a bare kafka-python consumer loop over the same topic, in one run.

    eval "$(scripts/stack env)"; python -m bench.bench_ingest [--quick] [--events 1000000]

Publishes a backlog of synthetic events to a fresh 3-partition topic, then measures events/s of
(1) a bare loop (KafkaConsumer in a group, auto-commit off, poll and count), (2) the ingest into a
file:// sink and (3) into an hdfs:// sink (when WEBHDFS_URL is set), both in this process with
default rotation, and (4) the peak memory (RSS) of `clickstream ingest` as its own process over
the whole backlog. Prints the ratios. Asserts no time; asserts that every side saw the same events
(count and an order-independent checksum of the record bytes, read back from the sinks).
"""
import argparse
import base64
import getpass
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

from clickstream.generator import GeneratorSpec
from ingest.config import resolve_config
from ingest.consumer import Ingest
from ingest.producer import producer_settings, publish
from ingest.run import configure_logging, consumer_settings
from ingest.sinks import HdfsSink, LocalSink

PARTITIONS = 3
UNTIL_IDLE = 2.0


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
    sink = LocalSink(config.sink_root) if config.sink_scheme == "file" else _hdfs_sink(config)
    consumer = KafkaConsumer(**consumer_settings(config))
    started = time.perf_counter()
    try:
        status = Ingest(config, consumer, sink).run()
    finally:
        elapsed = time.perf_counter() - started
        consumer.close(autocommit=False)
    assert status == 0, "ingest exited %d" % status
    return elapsed - UNTIL_IDLE


def _hdfs_sink(config):
    from hdfs import InsecureClient

    return HdfsSink(InsecureClient(config.webhdfs_url, user=os.environ.get("HADOOP_USER_NAME") or getpass.getuser(),
                                   timeout=60), config.sink_root)


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
                with sink.client.read(sink._abs(path)) as reader:
                    yield path, reader.read().splitlines()
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
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50,000 events")
    parser.add_argument("--events", type=int, default=None, help="backlog size (default 1,000,000)")
    args = parser.parse_args(argv)
    events = args.events or (50_000 if args.quick else 1_000_000)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    webhdfs = os.environ.get("WEBHDFS_URL")
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
        print("published %d events to %s in %.1fs" % (sent, topic, time.perf_counter() - started))

        base = {"bootstrap_servers": bootstrap, "topic": topic, "until_idle": UNTIL_IDLE,
                "progress_seconds": 30.0}
        config = resolve_config(dict(base, group="bench-file-" + uuid.uuid4().hex[:8],
                                     sink="file://" + os.path.join(scratch, "raw")), environ={})
        settings = {key: value for key, value in consumer_settings(config).items()
                    if key not in ("group_id", "client_id")}
        results = {}
        bare_seconds, bare_sum = bare_loop(bootstrap, topic, sent, settings)
        results["bare kafka-python loop"] = bare_seconds
        file_seconds = ingest_in_process(config)
        file_sum = local_sink_checksum(config.sink_root)
        assert file_sum == bare_sum, "file:// sink %r != bare loop %r" % (file_sum, bare_sum)
        results["ingest -> file://"] = file_seconds
        if webhdfs:
            hdfs_config = resolve_config(dict(base, group="bench-hdfs-" + uuid.uuid4().hex[:8],
                                              sink="hdfs://" + hdfs_root, webhdfs_url=webhdfs), environ={})
            results["ingest -> hdfs://"] = ingest_in_process(hdfs_config)
            hdfs_sum = hdfs_sink_checksum(_hdfs_sink(hdfs_config))
            assert hdfs_sum == bare_sum, "hdfs:// sink %r != bare loop %r" % (hdfs_sum, bare_sum)
        peak = peak_memory_of_cli(bootstrap, topic, os.path.join(scratch, "raw-memory"))
        assert local_sink_checksum(os.path.join(scratch, "raw-memory")) == bare_sum

        print("\n%d events, %d partitions, same events on every side (checksum %d)" % (sent, PARTITIONS, bare_sum[1]))
        for name, seconds in results.items():
            print("  %-24s %8.2fs %10.0f events/s   %5.0f%% of the bare loop" % (
                name, seconds, sent / seconds, 100.0 * bare_seconds / seconds))
        print("  peak RSS of `clickstream ingest` over the %d-event backlog: %.0f MiB (buffer_bytes %d MiB)" % (
            sent, peak / 2**20, config.buffer_bytes // 2**20))
    finally:
        admin.delete_topics([topic])
        admin.close()
        shutil.rmtree(scratch, ignore_errors=True)
        if webhdfs:
            try:
                _hdfs_sink(resolve_config(dict(bootstrap_servers=bootstrap, topic=topic, group="x",
                                               sink="hdfs://" + hdfs_root, webhdfs_url=webhdfs),
                                          environ={})).delete("")
            except Exception as error:  # cleanup only; the figures are already printed
                print("bench_ingest: could not delete %s: %s" % (hdfs_root, error), file=sys.stderr)


if __name__ == "__main__":
    main()
