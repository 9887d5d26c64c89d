"""End to end on the local stack, from a Kafka backlog to the first correct answer, for every
job: a backlog of generated events in Kafka -> ingested (``--consumers`` processes in one group)
-> `clickstream run` over its hours -> `clickstream query top-users` answering correctly.

    eval "$(scripts/stack env)"; python -m bench.bench_e2e [--quick] [--events 1000000] [--runners local,hadoop]
        [--json bench/results/e2e.json]

Per runner: ``local`` ingests into a local folder and runs ``-r local``; ``hadoop`` ingests into
HDFS and runs ``-r hadoop`` on the stack's YARN. The backlog is produced once (its time is
reported apart: the figure starts from a backlog); each runner reads it with its own consumer
group. The events span 1.5 hours (2024-12-29 00:00-01:30); one more event at 02:00 moves the
ingest watermark past hour 01, so both hours are complete. One run per runner (the stages take
minutes). Then the fixed cost of one job launch on YARN: `clickstream mr user-actions -r hadoop`
over a one-event file on HDFS (submission, ApplicationMaster, one map and one reduce container),
and the run's YARN applications as the ResourceManager lists them. Asserts no time; asserts that
the answers equal an independent count of the generated events (the top users and every hour's
events), and that the probe's output is its one user.
"""
import argparse
import json
import os
import re
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

from bench.machine import stamp, write_result
from clickstream.config_schema import DEFAULT_CONFIG
from clickstream.generator import GeneratorSpec, encode_lines, iter_event_chunks

CLICKSTREAM = os.path.join(os.path.dirname(sys.executable), "clickstream")
HOURS = ("2024-12-29T00", "2024-12-29T01")
UNTIL_IDLE = 5.0
TOP = 10


def expected_answers(spec):
    """The top users by events and the events of each hour in the generated stream, counted
    independently with json."""
    counts, hours = {}, {}
    for users, lines in iter_event_chunks(spec):
        for user, line in zip(users, encode_lines(lines).splitlines()):
            if user is None:
                continue
            record = json.loads(line)
            moment = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).astimezone(timezone.utc)
            hour = moment.strftime("%Y-%m-%dT%H")
            if hour in HOURS:  # the run's hours; a few events fall past them
                counts[record["user_id"]] = counts.get(record["user_id"], 0) + 1
                hours[hour] = hours.get(hour, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:TOP], hours


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


def ingest_backlog(env, bootstrap, topic, group, sink, consumers):
    """``consumers`` `clickstream ingest --until-idle` processes in one group, at once; the
    seconds until the last one is done, less the idle time each waits for more."""
    command = [CLICKSTREAM, "ingest", "--bootstrap-servers", bootstrap, "--topic", topic, "--group", group,
               "--sink", sink, "--until-idle", str(UNTIL_IDLE), "--allowed-lateness-seconds", "0"]
    started = time.perf_counter()
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(consumers)]
    failures = []
    for process in processes:
        _, errors = process.communicate(timeout=3600)
        if process.returncode != 0:
            failures.append("exit %d: %s" % (process.returncode, errors[-2000:]))
    if failures:
        raise SystemExit("bench_e2e: ingest failed: " + "\n".join(failures))
    return time.perf_counter() - started - UNTIL_IDLE


def check_answers(env, want_top, want_hours):
    """Query the serving collections; exit unless they give the independent count's answers."""
    _, answer = timed([CLICKSTREAM, "query", "top-users", "--limit", str(TOP), "--json"], env, "query top-users")
    got = [(row["user_id"], row["click_count"]) for row in map(json.loads, answer.stdout.splitlines())]
    if got != want_top:
        raise SystemExit("bench_e2e: top-users answered %r; the independent count says %r" % (got, want_top))
    _, hourly = timed([CLICKSTREAM, "query", "hourly", "--date", HOURS[0][:10], "--json"], env, "query hourly")
    got_hours = {row["hour"][:13]: row["events"] for row in map(json.loads, hourly.stdout.splitlines())}
    if got_hours != want_hours:
        raise SystemExit("bench_e2e: hourly answered %r; the independent count says %r" % (got_hours, want_hours))


def one_runner(runner, env, bootstrap, topic, run_id, jobs, consumers, want):
    """Ingest the backlog, run every job, answer: the stage times and the run's summary line."""
    if runner == "local":
        sink = "file://" + os.path.join(os.environ.get("TMPDIR", "/tmp"), "bench-e2e-" + run_id)
    else:
        sink = "hdfs:///bench/e2e-" + run_id
    env = dict(env, CLICKSTREAM_DB="bench_e2e_%s_%s" % (run_id, runner), CLICKSTREAM_SINK=sink)
    stages = {"ingest": ingest_backlog(env, bootstrap, topic, "bench-%s-%s" % (run_id, runner), sink, consumers)}
    stages["run"], run_result = timed([CLICKSTREAM, "run", "--backfill", HOURS[0], HOURS[1], "-r", runner,
                                       "--jobs", ",".join(jobs), "-v"], env, "run -r " + runner)
    query_started = time.perf_counter()
    check_answers(env, *want)
    stages["query"] = time.perf_counter() - query_started
    return sink, env["CLICKSTREAM_DB"], stages, run_result.stderr.strip().splitlines()[-1], run_breakdown(env)


def run_breakdown(env):
    """{"<job> mr" | "<job> load": seconds} of the run, from its run record: where the run's time went.
    Hours launched together share one launch: its time is its last hour's step (timed from the
    launch's start to that hour's commit)."""
    client = pymongo.MongoClient(env["CLICKSTREAM_MONGO_URI"])
    try:
        record = client[env["CLICKSTREAM_DB"]].runs.find_one(sort=[("started_at", -1)])
    finally:
        client.close()
    seconds, launches = {}, {}
    for step in (record or {}).get("steps", ()):
        name = "%s %s" % (step["job"], step["step"])
        if step["step"] == "mr" and step.get("launch"):  # each hour's step is timed from the launch's start
            key = (name, step["launch"])
            launches[key] = max(launches.get(key, 0), step["seconds"])
            continue
        seconds[name] = round(seconds.get(name, 0) + step["seconds"], 2)
    for (name, _launch), value in launches.items():
        seconds[name] = round(seconds.get(name, 0) + value, 2)
    return dict(sorted(seconds.items()))


def remove_sink(sink):
    if sink.startswith("file://"):
        subprocess.run(["rm", "-rf", sink[len("file://"):]], check=False)
    else:
        subprocess.run([os.path.join(os.environ["HADOOP_HOME"], "bin", "hadoop"), "fs", "-rm", "-r", "-f",
                        "-skipTrash", sink.replace("hdfs://", "")], capture_output=True)


def runner_row(runner, events, jobs, consumers, stages, total, load_average, run_summary=""):
    where = "a local folder, run `-r local`" if runner == "local" else "HDFS, run `-r hadoop` on YARN"
    launched = re.search(r"\d+ job runs in \d+ launches", run_summary)
    return {"what": "end to end, `%s`: a %s-event Kafka backlog → ingest (%d consumers) into %s, all %d jobs → "
                    "first correct query" % (runner, "{:,}".format(events), consumers, where, len(jobs)),
            "figure": "%.0f s (%s%s; load average %.1f on %d cores)" % (
                total, ", ".join("%s %.0f s" % item for item in stages.items()),
                "; the run: %s" % launched.group(0) if launched else "", load_average, os.cpu_count()),
            "target": "≤ 60 s" if runner == "local" else "–",
            "status": ("met" if total <= 60 else "**missed** by %.0f s" % (total - 60)) if runner == "local"
            else "measured once"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50,000 events")
    parser.add_argument("--events", type=int, default=None, help="events (default 1,000,000)")
    parser.add_argument("--users", type=int, default=None, help="distinct users (default events/100)")
    parser.add_argument("--jobs", default=",".join(DEFAULT_CONFIG["run.jobs"]))
    parser.add_argument("--runners", default="local,hadoop", help="comma list of local and hadoop")
    parser.add_argument("--consumers", type=int, default=2, help="ingest processes in the consumer group")
    parser.add_argument("--launch-probes", type=int, default=3, help="one-event jobs timed for the launch cost")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "WEBHDFS_URL", "MONGODB_URI", "HADOOP_HOME", "MRJOB_CONF",
                 "YARN_RESOURCEMANAGER_URL"):
        if not os.environ.get(name):
            raise SystemExit("bench_e2e: %s is unset; run under `eval \"$(scripts/stack env)\"`" % name)
    events = args.events or (50_000 if args.quick else 1_000_000)
    users = args.users or max(100, events // 100)
    jobs, runners = args.jobs.split(","), args.runners.split(",")
    spec = GeneratorSpec(events=events, users=users, seed=99, span_hours=1.5)
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    run_id = uuid.uuid4().hex[:8]
    topic = "bench-e2e-" + run_id
    env = dict(os.environ, CLICKSTREAM_MONGO_URI=os.environ["MONGODB_URI"])
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 3, 1)])
    client = pymongo.MongoClient(os.environ["MONGODB_URI"])
    want = expected_answers(spec)
    resourcemanager_url = os.environ["YARN_RESOURCEMANAGER_URL"].rstrip("/")
    apps_before = yarn_applications(resourcemanager_url)
    per_runner, cleanup, launches, run_apps = {}, [], [], {}
    try:
        produce_seconds, _ = timed([CLICKSTREAM, "generate", "--topic", topic, "--bootstrap-servers", bootstrap,
                                    "-n", str(events), "--users", str(users), "--seed", "99", "--span-hours", "1.5"],
                                   env, "generate --topic")
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        producer.send(topic, key=b"bench-clock", value=orjson.dumps(
            {"user_id": "bench-clock", "action": "page_view", "timestamp": "2024-12-29T02:00:01Z"}))
        producer.flush()
        producer.close()
        for runner in runners:
            sink, db_name, stages, summary_line, breakdown = one_runner(runner, env, bootstrap, topic, run_id, jobs,
                                                                        args.consumers, want)
            cleanup.append((sink, db_name))
            per_runner[runner] = {"stages": {name: round(value, 2) for name, value in stages.items()},
                                  "seconds": round(sum(stages.values()), 2), "run_summary": summary_line,
                                  "run_steps_seconds": breakdown}
        run_apps = {app_id: app for app_id, app in yarn_applications(resourcemanager_url).items()
                    if app_id not in apps_before}
        if "hadoop" in runners:
            launches = launch_cost(dict(os.environ), "hdfs:///bench/e2e-" + run_id,
                                   1 if args.quick else max(1, args.launch_probes))
    finally:
        for sink, db_name in cleanup:
            client.drop_database(db_name)
            remove_sink(sink)
        remove_sink("hdfs:///bench/e2e-" + run_id)
        client.close()
        admin.delete_topics([topic])
        admin.close()
    load_average = os.getloadavg()[2]  # the last 15 minutes: a busy machine stretches every stage
    rows = [runner_row(runner, events, jobs, args.consumers, result["stages"], result["seconds"], load_average,
                       result["run_summary"]) for runner, result in per_runner.items()]
    if launches:
        rows.append({"what": "fixed cost of one job launch on YARN (`clickstream mr user-actions -r hadoop`, "
                             "one event on HDFS)",
                     "figure": "%.1f s median of %d (%s)" % (statistics.median(launches), len(launches), ", ".join(
                         "%.1f" % value for value in launches)),
                     "target": "–", "status": "measured"})
    result = dict(stamp(), events=events, users=users, jobs=jobs, consumers=args.consumers,
                  load_average_15min=round(load_average, 2),
                  produce_seconds=round(produce_seconds, 2), runners=per_runner,
                  yarn_applications={app_id: list(app) for app_id, app in sorted(run_apps.items())},
                  launch_seconds=[round(value, 2) for value in launches], rows=rows)
    print("end to end, %d events over %s, from a backlog (produced in %.1f s):" % (
        events, "..".join(HOURS), produce_seconds))
    for runner, outcome in per_runner.items():
        print("  -r %-6s %7.1f s to the first correct answer (%s)" % (runner, outcome["seconds"], ", ".join(
            "%s %.1f s" % item for item in outcome["stages"].items())))
        print("            " + outcome["run_summary"])
        print("            run's steps: " + ", ".join(
            "%s %.1f s" % item for item in outcome["run_steps_seconds"].items()))
    if run_apps:
        print("  YARN applications: " + ", ".join("%s (%s, %s, %.0f s)" % (app_id, name, status, seconds)
                                                 for app_id, (name, status, seconds) in sorted(run_apps.items())))
    if launches:
        print("  one job launch on YARN: %.1f s median of %d (%s)" % (
            statistics.median(launches), len(launches), ", ".join("%.1f" % value for value in launches)))
    if args.json and not args.quick:
        write_result(args.json, result)


if __name__ == "__main__":
    main()
