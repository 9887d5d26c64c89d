"""The `clickstream` command: argument parsing and wiring only; the work lives in the stages."""
import functools
import os
import sys
import tempfile

import click

from clickstream.config import DEFAULT_CONFIG
from clickstream.errors import ClickstreamError, ConfigError
from mr.catalog import mr_command_help


def _fail(message, code=1):
    click.echo("clickstream: error: %s" % message, err=True)
    sys.exit(code)


def _config_path():
    """The global `clickstream --config FILE`, or None (then env CLICKSTREAM_CONFIG, else no file)."""
    context = click.get_current_context(silent=True)
    return ((context.find_root().obj or {}) if context else {}).get("config_path")


def _settings(command, **cli_values):
    """A command's settings: flag (None: not given) > CLICKSTREAM_* env > config file > default.
    Bad configuration exits 2 with one line."""
    from clickstream.config import effective

    try:
        return effective(command, cli_values, config_path=_config_path())
    except ConfigError as error:
        _fail(str(error), code=2)


def _mongo_uri(settings):
    if not settings["mongo_uri"]:
        _fail("--mongo-uri is required (or env CLICKSTREAM_MONGO_URI / MONGODB_URI, or mongo_uri in the config file)",
              code=2)
    return settings["mongo_uri"]


def _default(name):
    """A schema default as click's help shows it, for options whose click default is None."""
    return "  [default: %s]" % DEFAULT_CONFIG[name]


def _not_yet(command):
    _fail("`clickstream %s` is not implemented yet in this version; nothing was done" % command, code=2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clickstream")
@click.option("--config", "config_path", default=None, metavar="FILE",
              help="TOML config file of every command's options (or env CLICKSTREAM_CONFIG); "
                   "see `clickstream config example`")
@click.pass_context
def main(context, config_path):
    """Clickstream analytics: Kafka -> HDFS -> mrjob MapReduce -> MongoDB."""
    context.obj = {"config_path": config_path}


@main.group(name="config")
def config_group():
    """The configuration: flag > CLICKSTREAM_* env > config file > default."""


@config_group.command(name="show")
def config_show():
    """Print every option's effective value and where it came from (secrets masked)."""
    from clickstream.config import show

    try:
        click.echo(show(config_path=_config_path()), nl=False)
    except ConfigError as error:
        _fail(str(error), code=2)


@config_group.command(name="example")
def config_example():
    """Print a TOML config file of every option at its default (deploy/clickstream.example.toml)."""
    from clickstream.config import example

    click.echo(example(), nl=False)


@main.command()
@click.option("--count", "-n", default=100_000, show_default=True, help="events to generate")
@click.option("--users", type=int, default=None,
              help="distinct users (heavy-tailed activity)" + _default("generate.users"))
@click.option("--products", type=int, default=None, help="distinct products (default: users/10)")
@click.option("--start", default=None, help="first event time (ISO-8601 with zone)" + _default("generate.start"))
@click.option("--span-hours", type=float, default=None,
              help="hours the events spread over" + _default("generate.span_hours"))
@click.option("--seed", type=int, default=None, help="random seed: same seed, same bytes" + _default("generate.seed"))
@click.option("--malformed", type=float, default=None,
              help="fraction of malformed lines" + _default("generate.malformed"))
@click.option("--offset-fraction", type=float, default=None,
              help="fraction of timestamps with a non-UTC offset" + _default("generate.offset_fraction"))
@click.option("--output", "-o", default="-", show_default=True, help="file to write, or - for stdout")
@click.option("--topic", default=None, help="publish to this Kafka topic instead, keyed by user_id")
@click.option("--bootstrap-servers", default=None,
              help="Kafka brokers: publish to --topic (or env CLICKSTREAM_BOOTSTRAP_SERVERS / KAFKA_BOOTSTRAP_SERVERS)")
@click.option("--rate", default=None, type=float, help="publish at most this many events per second")
def generate(count, users, products, start, span_hours, seed, malformed, offset_fraction, output, topic,
             bootstrap_servers, rate):
    """Write a deterministic synthetic clickstream, one JSON event per line (or publish it to Kafka)."""
    from clickstream.generator import GeneratorSpec, write_events

    settings = _settings("generate", users=users, products=products, start=start, span_hours=span_hours, seed=seed,
                         malformed=malformed, offset_fraction=offset_fraction, topic=topic,
                         bootstrap_servers=bootstrap_servers, rate=rate)
    spec = GeneratorSpec(events=count, users=settings["users"], products=settings["products"],
                         start=settings["start"], span_hours=settings["span_hours"], seed=settings["seed"],
                         malformed_fraction=settings["malformed"], offset_fraction=settings["offset_fraction"])
    if topic is not None or rate is not None or bootstrap_servers is not None:
        # Only flags mean "publish": a topic or brokers from the env or the config file are defaults for it
        from ingest.producer import publish_generated

        try:
            sent = publish_generated(spec, settings["topic"], settings["bootstrap_servers"], settings["rate"])
        except ConfigError as error:
            _fail(str(error), code=2)
        except ClickstreamError as error:
            _fail(str(error))
        click.echo("published %d events to %s" % (sent, settings["topic"]), err=True)
        return
    try:
        spec.validate()
        if output == "-":
            write_events(spec, sys.stdout.buffer)
        else:
            temp_path = os.path.join(os.path.dirname(os.path.abspath(output)), "." + os.path.basename(output) + ".tmp")
            with open(temp_path, "wb") as stream:
                write_events(spec, stream)
            os.replace(temp_path, output)
    except ClickstreamError as error:
        _fail(str(error))


@main.command()
@click.option("--bootstrap-servers", help="Kafka brokers, host:port[,host:port] (or env KAFKA_BOOTSTRAP_SERVERS)")
@click.option("--topic", help="the topic to ingest")
@click.option("--group", help="consumer group id")
@click.option("--sink", help="hdfs:///path, file:///path or a local path: the raw area's root")
@click.option("--webhdfs-url", help="for hdfs:// sinks: http://namenode:port (or env WEBHDFS_URL)")
@click.option("--until-idle", type=float,
              help="exit 0 once caught up: assigned by the group, at the end of every assigned partition and no "
                   "event for this many seconds (a member given no partition too); exit 1 if no assignment or "
                   "end offsets come for minutes")
@click.option("--rotate-events", type=int, help="close a partition's files after this many events [1000000]")
@click.option("--rotate-bytes", type=int, help="... after this many bytes [134217728]")
@click.option("--rotate-seconds", type=float, help="... after this many seconds, wall clock [600]")
@click.option("--buffer-bytes", type=int, help="memory for buffered records before spilling to temp files [32 MiB]")
@click.option("--compression", type=click.Choice(["none", "gzip"]), help="gzip writes .jsonl.gz [none]")
@click.option("--allowed-lateness-seconds", type=float, help="watermark lateness allowance [3600]")
@click.option("--progress-seconds", type=float, help="progress line and metrics period [10]")
@click.option("--metrics-file", help="write Prometheus text-format counters here (local path)")
@click.option("--group-instance-id", help="static group membership: a restart keeps the partitions")
@click.option("--config", "config_file", metavar="FILE",
              help="config file instead of the global --config: TOML (clickstream config example) or flat JSON")
@click.option("--status", is_flag=True, help="show the topic's watermark and committed positions, then exit")
def ingest(status, config_file, **options):
    """Consume a Kafka topic into the raw area (HDFS or a local folder), exactly once."""
    from ingest.config import resolve_config
    from ingest.run import run_ingest, show_status

    try:
        config = resolve_config(options, for_status=status, config_path=config_file or _config_path())
        code = show_status(config) if status else run_ingest(config)
    except ConfigError as error:
        _fail(str(error), code=2)
    except ClickstreamError as error:
        _fail(str(error))
    sys.exit(code)


@main.command()
@click.option("--hour", help="one UTC hour, YYYY-MM-DDTHH")
@click.option("--date", help="the 24 hours of one UTC day, YYYY-MM-DD")
@click.option("--latest-complete", is_flag=True, help="the newest complete hour not done yet (the cron entry)")
@click.option("--backfill", nargs=2, metavar="FROM_HOUR TO_HOUR", help="every hour from FROM to TO, inclusive")
@click.option("--jobs", help="comma list of jobs [config run.jobs: all five]")
@click.option("--runner", "-r", type=click.Choice(["local", "hadoop", "inline"]), help="mrjob runner [local]")
@click.option("--sink", help="the raw area's root: path, file:///path or hdfs:///path")
@click.option("--mongo-uri", help="MongoDB URI (or env CLICKSTREAM_MONGO_URI / MONGODB_URI)")
@click.option("--db", help="database name [clickstream_db]")
@click.option("--webhdfs-url", help="for hdfs:// sinks: http://namenode:port (or env WEBHDFS_URL)")
@click.option("--force", is_flag=True, help="redo steps that already succeeded (loads stay idempotent)")
@click.option("--ignore-watermark", is_flag=True,
              help="process the named hours even if the ingest watermark has not passed them (data not from ingest)")
@click.option("--verbose", "-v", is_flag=True, help="a line per step and mrjob's log (default: quiet on success)")
def run(hour, date, latest_complete, backfill, jobs, runner, sink, mongo_uri, db, webhdfs_url, force,
        ignore_watermark, verbose):
    """Take hours of raw clickstream through every job into MongoDB, for cron.

    \b
    For each hour and job: run the job over the raw partition, commit its output to
    <sink>/derived/<job>/dt=.../hour=.../ (with _SUCCESS), load it as the partition's batch, and
    check the counts (a run record per run in the `runs` collection; see `clickstream runs`).
    Steps already done are skipped; late files in a done hour are processed once more, alone.
    Exit 0: done or nothing to do. 1: a step failed or a count did not reconcile. 2: bad
    configuration. 75: an hour is not complete yet, or another run holds its lock.
    """
    import pymongo

    from clickstream.display import mask_uri
    from batch.area import open_area
    from batch.runner import EXIT_FAILED, BatchRun, RunSettings, quiet_mrjob

    settings = _settings("run", jobs=jobs, runner=runner, sink=sink, mongo_uri=mongo_uri, db=db,
                         webhdfs_url=webhdfs_url)
    try:
        run_settings = RunSettings(
            sink=settings["sink"], mongo_uri=_mongo_uri(settings), jobs=list(settings["jobs"]), db=settings["db"],
            runner=settings["runner"], hour=hour, date=date, backfill=backfill or None,
            latest_complete=latest_complete, force=force, ignore_watermark=ignore_watermark,
            derived_root=settings["derived_root"], webhdfs_url=settings["webhdfs_url"],
            hdfs_user=settings["hdfs_user"], mrjob_conf=settings["mrjob_conf"], chunk_size=settings["chunk_size"],
            lock_stale_seconds=settings["lock_stale_seconds"], max_backfill_hours=settings["max_backfill_hours"],
            session_gap_minutes=settings["session_gap_minutes"], max_session_hours=settings["max_session_hours"],
            suspicious_window_hours=settings["suspicious_window_hours"],
            command=["clickstream", "run"] + sys.argv[2:]).validate()
        area = open_area(run_settings.sink, run_settings.derived_root, run_settings.webhdfs_url,
                         run_settings.hdfs_user)
    except ConfigError as error:
        _fail(str(error), code=2)
    kept_log = quiet_mrjob(verbose)
    log = (lambda text: click.echo("  " + text, err=True)) if verbose else (lambda text: None)
    try:
        with pymongo.MongoClient(run_settings.mongo_uri,
                                 serverSelectionTimeoutMS=settings["server_selection_timeout_ms"]) as client:
            code, summary = BatchRun(run_settings, area, client[run_settings.db], log).execute()
    except pymongo.errors.PyMongoError as error:
        _fail("run: MongoDB at %s: %s" % (mask_uri(run_settings.mongo_uri), str(error).splitlines()[0]), EXIT_FAILED)
    if code == EXIT_FAILED and kept_log.lines and not verbose:
        click.echo("\n".join(["mrjob's last warnings:"] + kept_log.lines), err=True)
    if code or verbose:
        click.echo(summary, err=True)
    sys.exit(code)


@main.command()
@click.option("--limit", default=20, show_default=True, help="newest runs to show")
@click.option("--mongo-uri", help="MongoDB URI (or env CLICKSTREAM_MONGO_URI / MONGODB_URI)")
@click.option("--db", help="database name [clickstream_db]")
@click.option("--json", "as_json", is_flag=True, help="the run records as JSON lines, with every step")
def runs(limit, mongo_uri, db, as_json):
    """Recent `clickstream run`s: status, duration, counts and broken invariants."""
    from clickstream.display import render_json_lines
    from batch.records import recent_runs, run_rows

    settings = _settings("query", mongo_uri=mongo_uri, db=db)
    documents = _with_db(_mongo_uri(settings), settings["db"], lambda database: recent_runs(database, limit))
    if as_json:
        click.echo(render_json_lines(documents))
        return
    _emit(run_rows(documents), ["run_id", "started_at", "status", "exit", "seconds", "hours", "first_hour", "mr",
                                "loads", "events", "upserted", "broken", "note"], False, False)


def _job_names():
    from mr import JOBS

    return sorted(JOBS)


@main.command(name="mr", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
              help=mr_command_help(),
              short_help="Run a MapReduce job (list: clickstream mr --help).")
@click.argument("job", type=click.Choice(_job_names()), metavar="JOB")
@click.argument("job_args", nargs=-1, type=click.UNPROCESSED, metavar="[MRJOB OPTIONS] [INPUT]...")
def mr_command(job, job_args):
    from mr import job_class

    job_class(job)(args=list(job_args)).execute()


@main.command()
@click.argument("job", type=click.Choice(["user-actions", "hourly-activity", "product-popularity", "sessions",
                                          "suspicious-users"]))
@click.argument("inputs", nargs=-1, required=True)
@click.option("--mongo-uri", default=None,
              help="MongoDB URI (or env CLICKSTREAM_MONGO_URI / MONGODB_URI, or mongo_uri in the config file); "
                   "TLS and auth options pass through")
@click.option("--db", default=None, help="database name" + _default("db"))
@click.option("--batch-id", default=None, help="batch id (default: the job and the inputs' dt=/hour= partition)")
@click.option("--force", is_flag=True, help="apply again even if the ledger says the batch is complete; other "
                                           "content replaces the batch's earlier contribution")
@click.option("--chunk-size", type=int, default=None, help="operations per bulk write" + _default("load.chunk_size"))
@click.option("--webhdfs-url", default=None, help="WebHDFS URL for hdfs:/// inputs (or env WEBHDFS_URL)")
def load(job, inputs, mongo_uri, db, batch_id, force, chunk_size, webhdfs_url):
    """Merge a job's output (files or folders) into MongoDB, incrementally and idempotently."""
    import pymongo
    from pymongo.errors import PyMongoError

    from clickstream.display import mask_uri
    from clickstream.errors import ServiceError
    from loaders.joboutput import JobOutputSource
    from loaders.ledger import BatchContentConflict
    from loaders.load import default_batch_id, load_batch

    settings = _settings("load", mongo_uri=mongo_uri, db=db, chunk_size=chunk_size, webhdfs_url=webhdfs_url)
    mongo_uri, db, chunk_size, webhdfs_url = (_mongo_uri(settings), settings["db"], settings["chunk_size"],
                                              settings["webhdfs_url"])
    try:
        source = JobOutputSource(inputs, settings)
    except ServiceError as error:  # WebHDFS refused or did not answer
        _fail("load: cannot read %s over WebHDFS %s: %s" % (" ".join(inputs), webhdfs_url, error))
    except ClickstreamError as error:
        _fail(str(error), code=2)
    batch_id = batch_id or default_batch_id(job, source.files, describe=source.describe)
    rejected = {}
    try:
        content = source.content()
    except Exception as error:  # the hdfs package's HdfsError and requests' connection errors
        _fail("load: cannot read %s: %s" % (" ".join(inputs), error))
    try:
        timeout_ms = settings["server_selection_timeout_ms"]
        with pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=timeout_ms) as client:
            stats = load_batch(client[db], job, source.records(rejected), batch_id, source.files, rejected,
                               chunk_size, force, content=content)
    except BatchContentConflict as error:
        _fail("load: %s" % error)
    except PyMongoError as error:
        _fail("load of batch %r into %s failed, batch not marked loaded: %s" % (
            batch_id, mask_uri(mongo_uri), str(error).splitlines()[0]))
    except ClickstreamError as error:
        _fail("load of batch %r failed, batch not marked loaded: %s" % (batch_id, error))
    if stats["skipped"]:
        click.echo("batch %s is already loaded; nothing to do (--force applies it again)" % batch_id, err=True)
        return
    click.echo("loaded batch %s into %s: %d operations, %d upserted, %d matched, %d already applied, %d rejected %s"
               % (batch_id, db, stats["operations"], stats["upserted"], stats["matched"], stats["already_applied"],
                  stats["rejected"], rejected or ""), err=True)
    if rejected:
        sys.exit(1)


@main.group()
def query():
    """Ask the serving collections the seeds' questions."""


def _emit(rows, columns, as_json, as_csv):
    from clickstream.display import render_csv, render_json_lines, render_table

    if as_json:
        text = render_json_lines(rows)
    elif as_csv:
        text = render_csv(rows, columns)
    else:
        text = render_table(rows, columns)
    if text:
        click.echo(text)


def _query_options(command):
    @functools.wraps(command)
    def with_settings(mongo_uri, db, **options):
        settings = _settings("query", mongo_uri=mongo_uri, db=db)
        return command(mongo_uri=_mongo_uri(settings), db=settings["db"], **options)

    with_settings = click.option("--csv", "as_csv", is_flag=True, help="CSV output")(with_settings)
    with_settings = click.option("--json", "as_json", is_flag=True, help="JSON lines output")(with_settings)
    with_settings = click.option("--db", default=None, help="database name" + _default("db"))(with_settings)
    with_settings = click.option(
        "--mongo-uri", default=None,
        help="MongoDB URI (or env CLICKSTREAM_MONGO_URI / MONGODB_URI, or mongo_uri in the config file)")(with_settings)
    return with_settings


USER_COLUMNS = ["user_id", "click_count", "last_action", "first_seen", "last_seen"]


def _with_db(mongo_uri, db, ask):
    import pymongo
    from pymongo.errors import PyMongoError

    from clickstream.display import mask_uri

    try:
        with pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=10_000) as client:
            return ask(client[db])
    except PyMongoError as error:
        _fail("query against %s failed: %s" % (mask_uri(mongo_uri), str(error).splitlines()[0]))


@query.command()
@click.option("--min-clicks", default=10, show_default=True, help="users with more than this many clicks")
@click.option("--limit", default=0, help="at most this many users (0: all)")
@_query_options
def users(min_clicks, limit, mongo_uri, db, as_json, as_csv):
    """Users above N clicks: the seed's find({"click_count": {"$gt": N}})."""
    from loaders.queries import users_above

    _emit(_with_db(mongo_uri, db, lambda database: users_above(database, min_clicks, limit)),
          USER_COLUMNS, as_json, as_csv)


@query.command(name="top-users")
@click.option("--limit", default=10, show_default=True)
@_query_options
def top_users_command(limit, mongo_uri, db, as_json, as_csv):
    """The N users with the most clicks."""
    from loaders.queries import top_users

    _emit(_with_db(mongo_uri, db, lambda database: top_users(database, limit)), USER_COLUMNS, as_json, as_csv)


@query.command()
@click.argument("user_id")
@click.option("--sessions", default=10, show_default=True, help="newest sessions to show")
@_query_options
def user(user_id, sessions, mongo_uri, db, as_json, as_csv):
    """One user's profile and newest sessions."""
    from loaders.queries import user_profile

    profile, recent = _with_db(mongo_uri, db, lambda database: user_profile(database, user_id, sessions))
    if profile is None:
        _fail("query user: no user %r in %s.user_clicks" % (user_id, db))
    _emit([profile], USER_COLUMNS + ["actions"], as_json, as_csv)
    if recent:
        if not (as_json or as_csv):
            click.echo("\nSessions (newest first):")
        _emit(recent, ["session_id", "start_time", "end_time", "events", "abandoned_checkout"], as_json, as_csv)


@query.command()
@click.option("--date", "day", required=True, help="the UTC day, YYYY-MM-DD")
@_query_options
def hourly(day, mongo_uri, db, as_json, as_csv):
    """The hourly series of one day: events, users, product visits, cart adds, purchases."""
    from clickstream.layout import parse_date_option
    from loaders.queries import hourly_series

    try:
        parse_date_option(day)
    except ClickstreamError as error:
        _fail(str(error), code=2)
    _emit(_with_db(mongo_uri, db, lambda database: hourly_series(database, day)),
          ["hour", "events", "distinct_users", "product_page_visits", "cart_adds", "purchases"], as_json, as_csv)


@query.command(name="top-products")
@click.option("--limit", default=10, show_default=True)
@_query_options
def top_products_command(limit, mongo_uri, db, as_json, as_csv):
    """Products by purchases, then views, with conversion ratios."""
    from loaders.queries import top_products

    _emit(_with_db(mongo_uri, db, lambda database: top_products(database, limit)),
          ["product_id", "views", "cart_adds", "purchases", "distinct_users", "view_to_cart", "cart_to_purchase"],
          as_json, as_csv)


@query.command(name="suspicious")
@click.option("--limit", default=20, show_default=True)
@_query_options
def suspicious_command(limit, mongo_uri, db, as_json, as_csv):
    """Users flagged by the suspicious-users rules, with the rules that fired."""
    from loaders.queries import suspicious

    _emit(_with_db(mongo_uri, db, lambda database: suspicious(database, limit)),
          ["user_id", "rule_names", "events", "window_hours"], as_json, as_csv)


def _dashboard_settings(mongo_uri, db, sink):
    settings = _settings("query", mongo_uri=mongo_uri, db=db, sink=sink)
    return settings, _mongo_uri(settings)


@main.command()
@click.option("--mongo-uri", default=None,
              help="MongoDB URI (or env CLICKSTREAM_MONGO_URI / MONGODB_URI, or mongo_uri in the config file)")
@click.option("--db", default=None, help="database name" + _default("db"))
@click.option("--sink", default=None, help="the raw area's root, for the ingest watermarks on the Runs page")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8050, show_default=True, type=click.IntRange(1, 65535))
def dashboard(mongo_uri, db, sink, host, port):
    """A read-only web dashboard and JSON API over the serving collections (API docs at /docs)."""
    from dashboard.server import serve

    settings, mongo_uri = _dashboard_settings(mongo_uri, db, sink)
    serve(mongo_uri, settings["db"], host, port, sink=settings["sink"], webhdfs_url=settings["webhdfs_url"],
          hdfs_user=settings["hdfs_user"], echo=lambda text: click.echo(text, err=True))


@main.command()
@click.option("--html", "html_path", required=True, metavar="FILE", help="the HTML file to write")
@click.option("--date", "day", default=None, help="the Traffic section's UTC day, YYYY-MM-DD (default: the newest)")
@click.option("--mongo-uri", default=None,
              help="MongoDB URI (or env CLICKSTREAM_MONGO_URI / MONGODB_URI, or mongo_uri in the config file)")
@click.option("--db", default=None, help="database name" + _default("db"))
@click.option("--sink", default=None, help="the raw area's root, for the ingest watermarks")
def report(html_path, day, mongo_uri, db, sink):
    """Write the dashboard's views as one self-contained HTML file (for a cron job to mail)."""
    from dashboard.params import BadParameter, parse_day
    from dashboard.report import write_report
    from dashboard.server import make_sources

    settings, mongo_uri = _dashboard_settings(mongo_uri, db, sink)
    try:
        day = parse_day(day, "--date")
    except BadParameter as error:
        _fail(str(error), code=2)

    def write(database):
        sources = make_sources(database.client, database.name, settings["sink"], webhdfs_url=settings["webhdfs_url"],
                               hdfs_user=settings["hdfs_user"])
        return write_report(database, html_path, day, sources.open_area, settings["sink"])

    try:
        click.echo(_with_db(mongo_uri, settings["db"], write))
    except OSError as error:
        _fail("report: cannot write %s: %s" % (html_path, error))


@main.command()
@click.option("--count", "-n", default=100_000, show_default=True, help="events to generate")
@click.option("--users", default=1_000, show_default=True)
@click.option("--span-hours", default=6.0, show_default=True, help="hours of clickstream (one raw file each)")
@click.option("--seed", default=42, show_default=True)
@click.option("--malformed", default=0.001, show_default=True, help="fraction of malformed lines")
@click.option("--runner", "-r", type=click.Choice(["inline", "local"]), default="local", show_default=True)
@click.option("--top", default=10, show_default=True, help="rows in the top-users table")
@click.option("--workdir", default=None, help="keep the raw area and job output here (default: a temp folder)")
@click.option("--report", default=None, metavar="FILE",
              help="write the HTML report here (default: clickstream-demo-report.html in --workdir, else the temp dir)")
def demo(count, users, span_hours, seed, malformed, runner, top, workdir, report):
    """The whole pipeline on this machine with no servers: generate -> raw area -> job -> MongoDB stand-in."""
    from batch.demo import run_demo
    from clickstream.generator import GeneratorSpec
    from loaders.queries import SHELL, top_users

    spec = GeneratorSpec(events=count, users=users, seed=seed, malformed_fraction=malformed, span_hours=span_hours)
    echo = functools.partial(click.echo, err=True)
    try:
        with click.progressbar(length=count, label="  generating", file=sys.stderr) as bar:
            database, report_path = run_demo(spec, runner, workdir, report, echo, progress=bar.update)
    except ClickstreamError as error:
        _fail(str(error))
    click.echo("\nTop %d users by clicks:\n" % top)
    click.echo(_render_users(top_users(database, top)))
    click.echo("\nThe same in the Mongo shell (mongosh), against a real server:\n  use clickstream_db\n  %s"
               % SHELL["top_users"].format(limit=top))
    click.echo("  %s" % SHELL["users_above"].format(n=10))
    click.echo("\nThe dashboard's views of this data, as one HTML file (clickstream report --html):\n  %s" % report_path)


def _render_users(rows):
    from clickstream.display import render_table

    return render_table(rows, USER_COLUMNS + ["actions"])


if __name__ == "__main__":
    main()
