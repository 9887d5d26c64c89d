"""The `clickstream` command: argument parsing and wiring only; the work lives in the stages and in batch/."""
import functools
import sys

import click

from clickstream.config import env_names
from clickstream.config_schema import SETTINGS
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
    return "  [default: %s]" % SETTINGS[name].default


def _schema_options(*names):
    """Flags for config-schema settings ('db', 'ingest.rotate_events'): the schema's type, choices,
    doc, env variables and default in the help. The click default stays None, so a flag counts
    only when given and the env, the config file and the schema's default apply otherwise."""
    def decorate(command):
        for name in reversed(names):
            setting = SETTINGS[name]
            text = "%s (or env %s)" % (setting.doc, " / ".join(env_names(setting)))
            if setting.default not in (None, [], ""):
                text += _default(name)
            kind = click.Choice(setting.choices) if setting.choices and setting.kind is str else (
                str if setting.kind is list else setting.kind)
            command = click.option(setting.flag, setting.key, type=kind, default=None, help=text)(command)
        return command
    return decorate


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
@_schema_options("generate.users", "generate.products", "generate.start", "generate.span_hours", "generate.seed",
                 "generate.malformed", "generate.offset_fraction")
@click.option("--output", "-o", default="-", show_default=True, help="file to write, or - for stdout")
@_schema_options("topic", "bootstrap_servers", "generate.rate")
def generate(count, output, **options):
    """Write a deterministic synthetic clickstream, one JSON event per line (or publish it to Kafka)."""
    from clickstream.generator import GeneratorSpec, write_events, write_events_file

    settings = _settings("generate", **options)
    spec = GeneratorSpec(events=count, users=settings["users"], products=settings["products"],
                         start=settings["start"], span_hours=settings["span_hours"], seed=settings["seed"],
                         malformed_fraction=settings["malformed"], offset_fraction=settings["offset_fraction"])
    try:
        # Only flags mean "publish": a topic or brokers from the env or the config file are defaults for it
        if any(options[key] is not None for key in ("topic", "bootstrap_servers", "rate")):
            from ingest.publish import publish_generated

            sent = publish_generated(spec, settings["topic"], settings["bootstrap_servers"], settings["rate"])
            click.echo("published %d events to %s" % (sent, settings["topic"]), err=True)
        elif output == "-":
            spec.validate()
            write_events(spec, sys.stdout.buffer)
        else:
            spec.validate()
            write_events_file(spec, output)
    except ConfigError as error:
        _fail(str(error), code=2 if options["topic"] or options["bootstrap_servers"] else 1)
    except (ClickstreamError, OSError) as error:
        _fail(str(error))


@main.command()
@_schema_options("bootstrap_servers", "topic", "ingest.group", "sink", "webhdfs_url", "ingest.until_idle",
                 "ingest.rotate_events", "ingest.rotate_bytes", "ingest.rotate_seconds", "ingest.buffer_bytes",
                 "ingest.compression", "ingest.allowed_lateness_seconds", "ingest.progress_seconds",
                 "ingest.metrics_file", "ingest.group_instance_id")
@click.option("--config", "config_file", metavar="FILE",
              help="config file instead of the global --config: TOML (clickstream config example) or flat JSON")
@click.option("--status", is_flag=True, help="show the topic's watermark and committed positions, then exit")
def ingest(status, config_file, **options):
    """Consume a Kafka topic into the raw area (HDFS or a local folder), exactly once."""
    from ingest.config import resolve_config
    from ingest.service import run_ingest, show_status

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
@click.option("--latest-complete", is_flag=True, help="every complete hour not done yet, run.max_backfill_hours back at most (the cron entry)")
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
    Many hours launch each job once (per run.hours_per_launch hours), split back by hour.
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
    _mongo_uri(settings)  # exits 2 without one
    try:
        run_settings = RunSettings.from_settings(
            settings, hour=hour, date=date, backfill=backfill or None, latest_complete=latest_complete, force=force,
            ignore_watermark=ignore_watermark, command=["clickstream", "run"] + sys.argv[2:]).validate()
        area = open_area(run_settings.sink, run_settings.derived_root, run_settings.webhdfs_url,
                         run_settings.hdfs_user, run_settings.webhdfs_timeout_seconds)
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
@_schema_options("mongo_uri", "db")
@click.option("--json", "as_json", is_flag=True, help="the run records as JSON lines, with every step")
def runs(limit, mongo_uri, db, as_json):
    """Recent `clickstream run`s: status, duration, counts and broken invariants."""
    from batch.records import recent_runs, run_rows
    from clickstream.display import render_json_lines

    settings = _settings("query", mongo_uri=mongo_uri, db=db)
    documents = _with_db(settings, lambda database: recent_runs(database, limit))
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
@click.argument("job", type=click.Choice(_job_names()))
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

    text = render_json_lines(rows) if as_json else render_csv(rows, columns) if as_csv else render_table(rows, columns)
    if text:
        click.echo(text)


def _with_db(settings, ask):
    """``ask(database)`` against the settings' MongoDB; a server error exits 1 in one line."""
    import pymongo
    from pymongo.errors import PyMongoError

    from clickstream.display import mask_uri

    mongo_uri = _mongo_uri(settings)
    # the server wait is the load section's setting: a query waits for a server as a load does
    timeout_ms = _settings("load")["server_selection_timeout_ms"]
    try:
        with pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=timeout_ms) as client:
            return ask(client[settings["db"]])
    except PyMongoError as error:
        _fail("query against %s failed: %s" % (mask_uri(mongo_uri), str(error).splitlines()[0]))


def _query_command(name, columns, *options):
    """A `clickstream query NAME` whose function returns rows: ``ask(database, **options) -> rows``."""
    def decorate(ask):
        @functools.wraps(ask)
        def command(mongo_uri, db, as_json, as_csv, **values):
            settings = _settings("query", mongo_uri=mongo_uri, db=db)
            _emit(_with_db(settings, lambda database: ask(database, **values)), columns, as_json, as_csv)

        command = click.option("--csv", "as_csv", is_flag=True, help="CSV output")(command)
        command = click.option("--json", "as_json", is_flag=True, help="JSON lines output")(command)
        command = _schema_options("mongo_uri", "db")(command)
        for option in reversed(options):
            command = option(command)
        return query.command(name=name)(command)
    return decorate


USER_COLUMNS = ["user_id", "click_count", "last_action", "first_seen", "last_seen"]


@_query_command("users", USER_COLUMNS,
                click.option("--min-clicks", default=10, show_default=True, help="users with more than this many clicks"),
                click.option("--limit", default=0, help="at most this many users (0: all)"))
def users(database, min_clicks, limit):
    """Users above N clicks: the seed's find({"click_count": {"$gt": N}})."""
    from loaders.queries import users_above

    return users_above(database, min_clicks, limit)


@_query_command("top-users", USER_COLUMNS, click.option("--limit", default=10, show_default=True))
def top_users_command(database, limit):
    """The N users with the most clicks."""
    from loaders.queries import top_users

    return top_users(database, limit)


@query.command()
@click.argument("user_id")
@click.option("--sessions", default=10, show_default=True, help="newest sessions to show")
@_schema_options("mongo_uri", "db")
@click.option("--json", "as_json", is_flag=True, help="JSON lines output")
@click.option("--csv", "as_csv", is_flag=True, help="CSV output")
def user(user_id, sessions, mongo_uri, db, as_json, as_csv):
    """One user's profile and newest sessions."""
    from loaders.queries import user_profile

    settings = _settings("query", mongo_uri=mongo_uri, db=db)
    profile, recent = _with_db(settings, lambda database: user_profile(database, user_id, sessions))
    if profile is None:
        _fail("query user: no user %r in %s.user_clicks" % (user_id, settings["db"]))
    _emit([profile], USER_COLUMNS + ["actions"], as_json, as_csv)
    if recent:
        if not (as_json or as_csv):
            click.echo("\nSessions (newest first):")
        _emit(recent, ["session_id", "start_time", "end_time", "events", "abandoned_checkout"], as_json, as_csv)


def _utc_day(context, parameter, value):
    from clickstream.layout import parse_date_option

    try:
        parse_date_option(value)
    except ClickstreamError as error:
        _fail(str(error), code=2)
    return value


@_query_command("hourly", ["hour", "events", "distinct_users", "product_page_visits", "cart_adds", "purchases"],
                click.option("--date", "day", required=True, callback=_utc_day, help="the UTC day, YYYY-MM-DD"))
def hourly(database, day):
    """The hourly series of one day: events, users, product visits, cart adds, purchases."""
    from loaders.queries import hourly_series

    return hourly_series(database, day)


@_query_command("top-products", ["product_id", "views", "cart_adds", "purchases", "distinct_users", "view_to_cart",
                                 "cart_to_purchase"], click.option("--limit", default=10, show_default=True))
def top_products_command(database, limit):
    """Products by purchases, then views, with conversion ratios."""
    from loaders.queries import top_products

    return top_products(database, limit)


@_query_command("suspicious", ["user_id", "rule_names", "events", "window_hours"],
                click.option("--limit", default=20, show_default=True))
def suspicious_command(database, limit):
    """Users flagged by the suspicious-users rules, with the rules that fired."""
    from loaders.queries import suspicious

    return suspicious(database, limit)


@main.command()
@_schema_options("mongo_uri", "db", "sink")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8050, show_default=True, type=click.IntRange(1, 65535))
def dashboard(mongo_uri, db, sink, host, port):
    """A read-only web dashboard and JSON API over the serving collections (API docs at /docs)."""
    from dashboard.server import serve

    settings = _settings("query", mongo_uri=mongo_uri, db=db, sink=sink)
    serve(_mongo_uri(settings), settings["db"], host, port, sink=settings["sink"], webhdfs_url=settings["webhdfs_url"],
          hdfs_user=settings["hdfs_user"], webhdfs_timeout_seconds=settings["webhdfs_timeout_seconds"],
          echo=lambda text: click.echo(text, err=True))


@main.command()
@click.option("--html", "html_path", required=True, metavar="FILE", help="the HTML file to write")
@click.option("--date", "day", default=None, help="the Traffic section's UTC day, YYYY-MM-DD (default: the newest)")
@_schema_options("mongo_uri", "db", "sink")
def report(html_path, day, mongo_uri, db, sink):
    """Write the dashboard's views as one self-contained HTML file (for a cron job to mail)."""
    from dashboard.params import BadParameter, parse_day
    from dashboard.report import write_report
    from dashboard.server import make_sources

    settings = _settings("query", mongo_uri=mongo_uri, db=db, sink=sink)
    try:
        day = parse_day(day, "--date")
    except BadParameter as error:
        _fail(str(error), code=2)

    def write(database):
        sources = make_sources(database.client, database.name, settings["sink"], webhdfs_url=settings["webhdfs_url"],
                               hdfs_user=settings["hdfs_user"], webhdfs_timeout_seconds=settings["webhdfs_timeout_seconds"])
        return write_report(database, html_path, day, sources.open_area, settings["sink"])

    try:
        click.echo(_with_db(settings, write))
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
