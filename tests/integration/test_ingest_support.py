"""Shared plumbing for the ingest's integration tests (topics, producing, running `clickstream
ingest` as a process, reading a raw area back), and the producer's own test."""
import collections
import glob
import os
import posixpath
import random
import re
import signal
import subprocess
import sys
import time
import uuid

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from clickstream.generator import GeneratorSpec, encode_lines, iter_event_chunks

pytestmark = pytest.mark.integration

CLICKSTREAM = os.path.join(os.path.dirname(sys.executable), "clickstream")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED_VARIABLE = "CLICKSTREAM_TEST_SEED"


def create_topic(bootstrap, partitions=3, prefix="ingest"):
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:10])
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ingest-test-admin")
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()
    return name


def delete_topic(bootstrap, name):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ingest-test-admin")
    try:
        admin.delete_topics([name])
    finally:
        admin.close()


def generated_lines(spec):
    """The exact bytes `clickstream generate` publishes for ``spec``: (valid, malformed) lists."""
    valid, malformed = [], []
    for users, lines in iter_event_chunks(spec):
        for user, line in zip(users, encode_lines(lines).splitlines()):
            (malformed if user is None else valid).append(line)
    return valid, malformed


def generate_command(bootstrap, topic, spec, rate=None):
    command = [CLICKSTREAM, "generate", "--topic", topic, "--bootstrap-servers", bootstrap,
               "-n", str(spec.events), "--seed", str(spec.seed), "--malformed", str(spec.malformed_fraction),
               "--offset-fraction", str(spec.offset_fraction), "--span-hours", str(spec.span_hours),
               "--users", str(spec.users)]
    return command + (["--rate", str(rate)] if rate else [])


def produce(bootstrap, topic, records):
    """Send (key, value) pairs and wait for every acknowledgement."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10)
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value)
        producer.flush()
    finally:
        producer.close()


def ingest_command(bootstrap, topic, group, sink, *extra):
    return [CLICKSTREAM, "ingest", "--bootstrap-servers", bootstrap, "--topic", topic, "--group", group,
            "--sink", sink, *extra]


def start(command, log_path, env=None):
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    finally:
        log.close()


def run(command, log_path, timeout=600, env=None):
    process = start(command, log_path, env)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError("%s did not finish in %ds; log:\n%s" % (command[1], timeout, tail(log_path)))
    assert code == 0, "%s exited %d; log:\n%s" % (command[1], code, tail(log_path))


def stop(process, how=signal.SIGTERM, timeout=180):
    process.send_signal(how)
    return process.wait(timeout=timeout)


def tail(path, lines=40):
    with open(path, "rb") as stream:
        return b"\n".join(stream.read().splitlines()[-lines:]).decode("utf-8", "replace")


def hadoop_text(hadoop_home, pattern):
    """Lines of every file matching ``pattern``, read with `hadoop fs -text` ([] if none match)."""
    listing = subprocess.run([os.path.join(hadoop_home, "bin", "hadoop"), "fs", "-ls", pattern],
                             capture_output=True, timeout=120)
    if listing.returncode != 0 and b"No such file" in listing.stderr + listing.stdout:
        return []
    proc = subprocess.run([os.path.join(hadoop_home, "bin", "hadoop"), "fs", "-text", pattern],
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, "hadoop fs -text %s failed:\n%s" % (pattern, proc.stderr.decode()[-2000:])
    return proc.stdout.splitlines()


def read_hdfs_area(hadoop_home, root):
    """(data lines, reject records, data file paths) of an hdfs:// raw area, via `hadoop fs -text`."""
    data = hadoop_text(hadoop_home, root + "/dt=*/hour=*/*")
    rejects = [orjson.loads(line) for line in hadoop_text(hadoop_home, root + "/_rejected/dt=*/hour=*/*")]
    return data, rejects


def read_local_area(root):
    """(data lines, reject records, {data line: folder}) of a file:// raw area, skipping hidden names."""
    import gzip

    data, rejects, folders = [], [], collections.defaultdict(set)
    for path in sorted(glob.glob(os.path.join(root, "dt=*", "hour=*", "*")) +
                       glob.glob(os.path.join(root, "_rejected", "dt=*", "hour=*", "*"))):
        if os.path.basename(path).startswith(("_", ".")):
            continue
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as stream:
            lines = stream.read().splitlines()
        if "/_rejected/" in path:
            rejects.extend(orjson.loads(line) for line in lines)
        else:
            data.extend(lines)
            folder = posixpath.relpath(os.path.dirname(path), root)
            for line in lines:
                folders[line].add(folder)
    return data, rejects, folders


def reject_bytes(record):
    import base64

    return base64.b64decode(record["raw_base64"]) if "raw_base64" in record else record["raw"].encode("utf-8")


def assert_exactly_once(data, rejects, valid, malformed):
    """The raw area holds every produced line exactly once, valid ones as data, the rest as rejects."""
    got, want = collections.Counter(data), collections.Counter(valid)
    assert got == want, "data differs: %d missing, %d extra (of %d)" % (
        sum((want - got).values()), sum((got - want).values()), len(valid))
    got_rejects = collections.Counter(reject_bytes(record) for record in rejects)
    assert got_rejects == collections.Counter(malformed)
    offsets = collections.Counter((record["partition"], record["offset"]) for record in rejects)
    assert all(count == 1 for count in offsets.values())


def wait_for(condition, timeout, what):
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def fault_schedule(what):
    """(random.Random, seed) for a test's fault timings. The seed comes from CLICKSTREAM_TEST_SEED
    when set, else at random, and is printed (pytest shows it with a failure) to replay the run."""
    seed = int(os.environ.get(SEED_VARIABLE) or random.SystemRandom().randrange(2 ** 32))
    print("%s: fault schedule seed %d (replay: %s=%d)" % (what, seed, SEED_VARIABLE, seed))
    return random.Random(seed), seed


def log_size(path):
    return os.path.getsize(path) if os.path.exists(path) else 0


def log_text(path, since=0):
    """The log from byte ``since`` on (a process's share of a log that several append to)."""
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as stream:
        stream.seek(since)
        return stream.read().decode("utf-8", "replace")


def resumed(path, since=0):
    """How many partitions the ingest(s) logging to ``path`` took over from the sink."""
    return log_text(path, since).count("resuming at offset")


def files_committed(path, since=0):
    """The largest 'N files committed' of the progress lines in the log (0 before the first)."""
    return max((int(count) for count in re.findall(r"(\d+) files committed", log_text(path, since))), default=0)


def local_files_committed(root):
    """The committed data files of a file:// raw area."""
    return glob.glob(os.path.join(root, "dt=*", "hour=*", "*.jsonl*"))


def test_generate_publishes_the_clickstream_keyed_by_user(kafka_bootstrap, topic, tmp_path):
    spec = GeneratorSpec(events=3000, seed=5, malformed_fraction=0.02, users=300)
    run(generate_command(kafka_bootstrap, topic, spec), str(tmp_path / "generate.log"))
    valid, malformed = generated_lines(spec)
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=60_000)
    got = []
    try:
        for record in consumer:
            got.append(record)
            if len(got) == spec.events:
                break
    finally:
        consumer.close()
    assert collections.Counter(record.value for record in got) == collections.Counter(valid + malformed)
    partitions_by_key = collections.defaultdict(set)
    for record in got:
        partitions_by_key[record.key].add(record.partition)
        if record.key == b"__malformed__":
            assert record.value in malformed
        else:
            assert orjson.loads(record.value)["user_id"].encode() == record.key
    assert all(len(partitions) == 1 for partitions in partitions_by_key.values())
