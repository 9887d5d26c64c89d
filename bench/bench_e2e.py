"""End to end on the local stack: generated events produced to Kafka -> ingested to HDFS ->
`clickstream run -r hadoop` on the stack's YARN -> the first correct answer to a query in MongoDB.

    eval "$(scripts/stack env)"; python -m bench.bench_e2e [--quick] [--events 1000000] [--json bench/results/e2e.json]

Reports the wall time from the first produced event to the first correct `clickstream query
top-users` answer, and each stage's time. The events span 1.5 hours (2024-12-29 00:00-01:30);
one more event at 02:00 moves the ingest watermark past hour 01, so both hours are complete.
One run (the stages take minutes; the stack is the shared machine's). Then the fixed cost of one
job launch on YARN: `clickstream mr user-actions -r hadoop` over a one-event file on HDFS, from
the command to its output (submission, ApplicationMaster, one map and one reduce container).
The run's YARN applications, read from the ResourceManager, are in the result. Asserts no time;
asserts that the answer equals an independent count of the generated events, and that the
probe's output is its one user.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timezone

import orjson
import pymongo
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from bench.machine import stamp
from clickstream.generator import GeneratorSpec, encode_lines, iter_event_chunks

CLICKSTREAM = os.path.join(os.path.dirname(sys.executable), "clickstream")
HOURS = ("2024-12-29T00", "2024-12-29T01")
UNTIL_IDLE = 5.0
TOP = 10


def expected_top(spec):
    """The top users by events in the generated stream, counted independently with json."""
    counts = {}
    for users, lines in iter_event_chunks(spec):
        for user, line in zip(users, encode_lines(lines).splitlines()):
            if user is None:
                continue
            record = json.loads(line)
            moment = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).astimezone(timezone.utc)
            if moment.strftime("%Y-%m-%dT%H") in HOURS:  # the run's hours; a few events fall past them
                counts[record["user_id"]] = counts.get(record["user_id"], 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:TOP], sum(counts.values())


def timed(command, env, what, timeout=3600):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit("bench_e2e: %s failed (exit %d):\n%s" % (what, result.returncode, result.stderr[-3000:]))
    return seconds, result


def yarn_applications(resourcemanager_url):
    """{id: (name, final status, seconds)} of the MapReduce applications the ResourceManager lists."""
    request = urllib.request.Request(resourcemanager_url + "/ws/v1/cluster/apps?applicationTypes=MAPREDUCE",
                                     headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        apps = (json.load(response).get("apps") or {}).get("app") or []
    return {app["id"]: (app["name"], app["finalStatus"], round(app["elapsedTime"] / 1000, 1)) for app in apps}


def launch_cost(env, sink, probes):
    """Seconds of `clickstream mr user-actions -r hadoop` over a one-event file, ``probes`` times."""
    hadoop = os.path.join(os.environ["HADOOP_HOME"], "bin", "hadoop")
    probe = sink.replace("hdfs://", "") + "/_launch-probe/probe.jsonl"
    event = b'{"user_id": "probe-user", "action": "page_view", "timestamp": "2024-12-29T00:00:01Z"}\n'
    subprocess.run([hadoop, "fs", "-mkdir", "-p", os.path.dirname(probe)], check=True, capture_output=True)
    subprocess.run([hadoop, "fs", "-put", "-f", "-", probe], input=event, check=True, capture_output=True)
    seconds = []
    for _ in range(probes):
        took, result = timed([CLICKSTREAM, "mr", "user-actions", "-r", "hadoop", "hdfs://" + probe], env,
                             "launch probe")
        users = [line.split("\t")[0] for line in result.stdout.splitlines()]
        if users != ['"probe-user"']:
            raise SystemExit("bench_e2e: the launch probe output %r; expected the one user" % (result.stdout,))
        seconds.append(took)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50,000 events")
    parser.add_argument("--events", type=int, default=None, help="events (default 1,000,000)")
    parser.add_argument("--users", type=int, default=None, help="distinct users (default events/100)")
    parser.add_argument("--jobs", default="user-actions,hourly-activity")
    parser.add_argument("--launch-probes", type=int, default=3, help="one-event jobs timed for the launch cost")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "WEBHDFS_URL", "MONGODB_URI", "HADOOP_HOME", "MRJOB_CONF",
                 "YARN_RESOURCEMANAGER_URL"):
        if not os.environ.get(name):
            raise SystemExit("bench_e2e: %s is unset; run under `eval \"$(scripts/stack env)\"`" % name)
    events = args.events or (50_000 if args.quick else 1_000_000)
    users = args.users or max(100, events // 100)
    spec = GeneratorSpec(events=events, users=users, seed=99, span_hours=1.5)
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    run_id = uuid.uuid4().hex[:8]
    topic, sink, db_name = "bench-e2e-" + run_id, "hdfs:///bench/e2e-" + run_id, "bench_e2e_" + run_id
    env = dict(os.environ, CLICKSTREAM_MONGO_URI=os.environ["MONGODB_URI"], CLICKSTREAM_DB=db_name,
               CLICKSTREAM_SINK=sink)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 3, 1)])
    client = pymongo.MongoClient(os.environ["MONGODB_URI"])
    want, valid_events = expected_top(spec)
    resourcemanager_url = os.environ["YARN_RESOURCEMANAGER_URL"].rstrip("/")
    apps_before = yarn_applications(resourcemanager_url)
    stages = {}
    try:
        started = time.perf_counter()
        stages["produce"], _ = timed([CLICKSTREAM, "generate", "--topic", topic, "--bootstrap-servers", bootstrap,
                                      "-n", str(events), "--users", str(users), "--seed", "99", "--span-hours", "1.5"],
                                     env, "generate --topic")
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        producer.send(topic, key=b"bench-clock", value=orjson.dumps(
            {"user_id": "bench-clock", "action": "page_view", "timestamp": "2024-12-29T02:00:01Z"}))
        producer.flush()
        producer.close()
        ingest_seconds, _ = timed([CLICKSTREAM, "ingest", "--bootstrap-servers", bootstrap, "--topic", topic,
                                   "--group", "bench-" + run_id, "--sink", sink, "--until-idle", str(UNTIL_IDLE),
                                   "--allowed-lateness-seconds", "0"], env, "ingest")
        stages["ingest"] = ingest_seconds - UNTIL_IDLE  # it waits this long for more before finishing
        stages["run"], run_result = timed([CLICKSTREAM, "run", "--backfill", HOURS[0], HOURS[1], "-r", "hadoop",
                                           "--jobs", args.jobs, "-v"], env, "run")
        query_started = time.perf_counter()
        _, answer = timed([CLICKSTREAM, "query", "top-users", "--limit", str(TOP), "--json"], env, "query")
        stages["query"] = time.perf_counter() - query_started
        total = time.perf_counter() - started - UNTIL_IDLE
        got = [(row["user_id"], row["click_count"]) for row in map(json.loads, answer.stdout.splitlines())]
        if got != want:
            raise SystemExit("bench_e2e: the query answered %r; the independent count says %r" % (got, want))
        summary_line = run_result.stderr.strip().splitlines()[-1]
        run_apps = {app_id: app for app_id, app in yarn_applications(resourcemanager_url).items()
                    if app_id not in apps_before}
        launches = launch_cost(dict(os.environ), sink, 1 if args.quick else max(1, args.launch_probes))
    finally:
        client.drop_database(db_name)
        client.close()
        admin.delete_topics([topic])
        admin.close()
        subprocess.run([os.path.join(os.environ["HADOOP_HOME"], "bin", "hadoop"), "fs", "-rm", "-r", "-f", "-skipTrash",
                        sink.replace("hdfs://", "")], capture_output=True)
    result = dict(stamp(), events=events, users=users, jobs=args.jobs.split(","),
                  stages={name: round(value, 2) for name, value in stages.items()}, seconds=round(total, 2),
                  run_summary=summary_line,
                  yarn_applications={app_id: list(app) for app_id, app in sorted(run_apps.items())},
                  launch_seconds=[round(value, 2) for value in launches],
                  rows=[{"what": "end to end: %s events produce → ingest (HDFS) → run -r hadoop on YARN (%s) → query"
                                 % ("{:,}".format(events), ", ".join(args.jobs.split(","))),
                         "figure": "%.0f s to the first correct answer (%s)" % (total, ", ".join(
                             "%s %.0f s" % (name, value) for name, value in stages.items())),
                         "target": "–", "status": "measured once"},
                        {"what": "fixed cost of one job launch on YARN (`clickstream mr user-actions -r hadoop`, "
                                 "one event on HDFS)",
                         "figure": "%.1f s median of %d (%s)" % (statistics.median(launches), len(launches), ", ".join(
                             "%.1f" % value for value in launches)),
                         "target": "–", "status": "measured"}])
    print("end to end, %d events (%d valid) over %s: %.1f s to the first correct top-%d answer" % (
        events, valid_events, "..".join(HOURS), total, TOP))
    for name, value in stages.items():
        print("  %-8s %7.1f s" % (name, value))
    print("  " + summary_line)
    print("  YARN applications of the run: " + ", ".join(
        "%s (%s, %s, %.0f s)" % (app_id, name, status, seconds) for app_id, (name, status, seconds) in sorted(run_apps.items())))
    print("  one job launch on YARN: %.1f s median of %d (%s)" % (
        statistics.median(launches), len(launches), ", ".join("%.1f" % value for value in launches)))
    if args.json and not args.quick:
        with open(args.json, "w") as stream:
            json.dump(result, stream, indent=2)
            stream.write("\n")


if __name__ == "__main__":
    main()
