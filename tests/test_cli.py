"""The click app: its commands, honest refusals, generate and the demo."""
import io
import json

import pytest
from click.testing import CliRunner

from cli import main
from loaders.mongomock_compat import in_process_client
from reference import reference_user_actions


@pytest.fixture
def cli():
    return CliRunner()


def test_help_lists_every_command(cli):
    result = cli.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("generate", "ingest", "mr", "load", "query", "run", "demo"):
        assert "\n  %s " % command in result.output


@pytest.mark.parametrize("args, message", [
    (["--hour", "2024-01-01T00"], "--mongo-uri is required"),
    (["--hour", "2024-01-01T00", "--mongo-uri", "mongodb://127.0.0.1:1/"], "--sink: not given"),
    (["--mongo-uri", "mongodb://127.0.0.1:1/", "--sink", "/tmp/x"], "exactly one of --hour, --date, --backfill"),
    (["--latest-complete", "--hour", "2024-01-01T00", "--mongo-uri", "mongodb://h/", "--sink", "/x"],
     "--latest-complete picks the hour itself"),
    (["--date", "2024-01-01", "--jobs", "user-actions,nope", "--mongo-uri", "mongodb://h/", "--sink", "/x"], "nope"),
    (["--date", "2024-01-01", "-r", "local", "--sink", "hdfs:///raw", "--mongo-uri", "mongodb://h/"],
     "use -r hadoop"),
])
def test_run_bad_configuration_is_one_line_and_exit_2(cli, monkeypatch, args, message):
    for name in ("MONGODB_URI", "CLICKSTREAM_MONGO_URI", "CLICKSTREAM_SINK", "CLICKSTREAM_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    result = cli.invoke(main, ["run", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_generate_to_a_file_is_deterministic(cli, tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for path in (first, second):
        assert cli.invoke(main, ["generate", "-n", "2000", "--seed", "9", "-o", str(path)]).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    assert len(first.read_bytes().splitlines()) == 2000


def test_generate_bad_option_is_one_line(cli):
    result = cli.invoke(main, ["generate", "--malformed", "2"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "--malformed" in result.output


@pytest.fixture
def one_mongomock_server(monkeypatch):
    """Every pymongo.MongoClient the commands open is one shared in-process server."""
    import pymongo

    server = in_process_client()

    class SharedClient:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return server

        def __exit__(self, *exc_info):
            return False

    monkeypatch.setattr(pymongo, "MongoClient", SharedClient)
    return server


def test_mr_then_load_then_query(cli, tmp_path, one_mongomock_server):
    events = tmp_path / "events.jsonl"
    cli.invoke(main, ["generate", "-n", "3000", "--users", "50", "--malformed", "0.02", "-o", str(events)])
    result = cli.invoke(main, ["mr", "user-actions", "-r", "inline", "--no-conf", str(events)])
    assert result.exit_code == 0, result.output
    output = {}
    for line in result.stdout.splitlines():
        key, value = line.split("\t")
        output[json.loads(key)] = json.loads(value)
    expected, _rejected = reference_user_actions(events.read_bytes().splitlines())
    assert output == expected

    job_output = tmp_path / "user_actions"
    job_output.mkdir()
    (job_output / "part-00000").write_text(result.stdout)
    mongo = ["--mongo-uri", "mongodb://in-process/", "--db", "cli_db"]
    loaded = cli.invoke(main, ["load", "user-actions", str(job_output), *mongo])
    assert loaded.exit_code == 0, loaded.output
    assert "%d upserted" % len(expected) in loaded.output

    queried = cli.invoke(main, ["query", "top-users", "--limit", "5", "--json", *mongo])
    assert queried.exit_code == 0, queried.output
    rows = [json.loads(line) for line in queried.stdout.splitlines()]
    top = sorted(expected.items(), key=lambda item: (-item[1]["click_count"], item[0]))[:5]
    assert [(row["user_id"], row["click_count"]) for row in rows] == [
        (user, record["click_count"]) for user, record in top]
    assert all(row["last_action"] == expected[row["user_id"]]["last_action"] for row in rows)

    again = cli.invoke(main, ["load", "user-actions", str(job_output), *mongo])
    assert again.exit_code == 0 and "already loaded" in again.output
    assert one_mongomock_server.cli_db.user_clicks.count_documents({}) == len(expected)


def test_demo_prints_the_top_users_of_the_events_it_generated(cli):
    from clickstream.generator import GeneratorSpec, write_events

    result = cli.invoke(main, ["demo", "-n", "5000", "--users", "100", "-r", "inline", "--top", "5"])
    assert result.exit_code == 0, result.output
    assert "Top 5 users by clicks" in result.output
    table = result.stdout.split("Top 5 users by clicks:")[1].strip().splitlines()
    shown = [(line.split()[0], int(line.split()[1])) for line in table[2:7]]
    # the demo's defaults: seed 42, 0.1% malformed, 6 hours
    generated = io.BytesIO()
    write_events(GeneratorSpec(events=5000, users=100, seed=42, malformed_fraction=0.001, span_hours=6.0), generated)
    expected, rejected = reference_user_actions(generated.getvalue().splitlines())
    assert shown == sorted(((user, record["click_count"]) for user, record in expected.items()),
                           key=lambda row: (-row[1], row[0]))[:5]
    assert "%d rejected to _rejected/" % rejected in result.output
    assert "db.user_clicks.find(" in result.output


# --- the one configuration: `--config FILE`, `config show`, `config example` -----------------------------

@pytest.fixture
def no_config_env(monkeypatch):
    """The caller's CLICKSTREAM_* and stack variables stay out of these tests."""
    import os

    for name in list(os.environ):
        if name.startswith("CLICKSTREAM_") or name in ("KAFKA_BOOTSTRAP_SERVERS", "WEBHDFS_URL", "MONGODB_URI",
                                                       "HADOOP_USER_NAME"):
            monkeypatch.delenv(name)


def test_config_show_prints_sources_and_masks_the_password(cli, tmp_path, monkeypatch, no_config_env):
    path = tmp_path / "clickstream.toml"
    path.write_text('mongo_uri = "mongodb://app:pa55word@mongo.internal/"\n[load]\nchunk_size = 50\n')
    monkeypatch.setenv("CLICKSTREAM_DB", "from_env")
    result = cli.invoke(main, ["--config", str(path), "config", "show"])
    assert result.exit_code == 0, result.output
    assert "pa55word" not in result.output
    assert 'mongo_uri = "mongodb://***@mongo.internal/"' in result.output
    assert "# env CLICKSTREAM_DB" in result.output and "chunk_size = 50" in result.output


@pytest.mark.parametrize("text, message", [
    ('sinc = "/raw"', "unknown key 'sinc' (did you mean 'sink'?)"),
    ("[run]\nlock_stale_seconds = -1", "run.lock_stale_seconds: -1.0; expected a positive number of seconds"),
])
def test_a_bad_config_file_exits_2_in_one_line(cli, tmp_path, no_config_env, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    for command in (["config", "show"], ["query", "top-users"], ["load", "user-actions", str(path)],
                    ["generate", "-n", "1"], ["ingest", "--status"]):
        result = cli.invoke(main, ["--config", str(path), *command])
        assert result.exit_code == 2, (command, result.output)
        assert result.output.startswith("clickstream: error: config file %r: " % str(path)), command
        assert message in result.output and result.output.count("\n") == 1, command


def test_config_example_is_the_shipped_file(cli):
    import os

    result = cli.invoke(main, ["config", "example"])
    assert result.exit_code == 0
    with open(os.path.join(os.path.dirname(__file__), "..", "deploy", "clickstream.example.toml")) as stream:
        assert result.output == stream.read()


def test_help_shows_the_schema_defaults(cli):
    result = cli.invoke(main, ["load", "--help"])
    assert "[default: clickstream_db]" in result.output and "[default: 1000]" in result.output
    assert "[default: clickstream_db]" in cli.invoke(main, ["query", "top-users", "--help"]).output


def test_help_names_the_env_variables_the_config_reads(cli, monkeypatch, no_config_env):
    import re

    from clickstream.config import effective

    text = " ".join(cli.invoke(main, ["ingest", "--help"]).output.split())
    named = re.search(r"--rotate-events INTEGER .*?\(or env (\w+)\)", text).group(1)
    monkeypatch.setenv(named, "77")
    assert effective("ingest", {})["rotate_events"] == 77
    assert "KAFKA_BOOTSTRAP_SERVERS" in text


def test_mongo_commands_need_a_uri_from_somewhere(cli, no_config_env):
    for command in (["query", "top-users"], ["load", "user-actions", "."]):
        result = cli.invoke(main, command)
        assert result.exit_code == 2
        assert "--mongo-uri is required (or env CLICKSTREAM_MONGO_URI / MONGODB_URI" in result.output


def test_load_and_query_take_their_settings_from_the_config_file(cli, tmp_path, monkeypatch, no_config_env):
    import pymongo

    from loaders.mongomock_compat import in_process_client

    events, output = tmp_path / "events.jsonl", tmp_path / "part-00000"
    cli.invoke(main, ["generate", "-n", "2000", "--users", "40", "-o", str(events)])
    output.write_text(cli.invoke(main, ["mr", "user-actions", "-r", "inline", "--no-conf", str(events)]).stdout)
    users = len(output.read_text().splitlines())
    server, connections = in_process_client(), []

    class RecordingClient:
        def __init__(self, uri, **options):
            connections.append((uri, options))

        def __enter__(self):
            return server

        def __exit__(self, *exc_info):
            return False

    monkeypatch.setattr(pymongo, "MongoClient", RecordingClient)
    path = tmp_path / "clickstream.toml"
    path.write_text('mongo_uri = "mongodb://file-host/"\ndb = "db_from_file"\n'
                    "[load]\nserver_selection_timeout_ms = 1234\n")
    result = cli.invoke(main, ["--config", str(path), "load", "user-actions", str(output)])
    assert result.exit_code == 0, result.output
    assert "into db_from_file:" in result.output
    assert connections == [("mongodb://file-host/", {"serverSelectionTimeoutMS": 1234})]
    assert server["db_from_file"]["user_clicks"].count_documents({}) == users > 0

    def top_user_count(*args):
        result = cli.invoke(main, ["--config", str(path), "query", "top-users", "--json", "--limit", "100", *args])
        assert result.exit_code == 0, result.output
        return len(result.stdout.splitlines())

    assert top_user_count() == users
    monkeypatch.setenv("CLICKSTREAM_DB", "empty_db")
    assert top_user_count() == 0
    assert top_user_count("--db", "db_from_file") == users
    monkeypatch.setenv("CLICKSTREAM_MONGO_URI", "mongodb://env-host/")
    top_user_count()
    assert connections[-1][0] == "mongodb://env-host/"


def test_generate_takes_its_defaults_from_the_config_file(cli, tmp_path, no_config_env):
    path = tmp_path / "clickstream.toml"
    # a topic and brokers in the file are defaults for publishing, not a reason to publish
    path.write_text('topic = "clicks"\nbootstrap_servers = "localhost:1"\n[generate]\nseed = 9\nusers = 50\n')
    from_file, from_flags, overridden = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    assert cli.invoke(main, ["--config", str(path), "generate", "-n", "500", "-o", str(from_file)]).exit_code == 0
    assert cli.invoke(main, ["generate", "-n", "500", "--seed", "9", "--users", "50", "-o", str(from_flags)]
                      ).exit_code == 0
    assert cli.invoke(main, ["--config", str(path), "generate", "-n", "500", "--seed", "10", "-o", str(overridden)]
                      ).exit_code == 0
    assert from_file.read_bytes() == from_flags.read_bytes() != overridden.read_bytes()


def test_ingest_reads_the_global_and_its_own_config_file(cli, tmp_path, monkeypatch, no_config_env):
    unified, flat = tmp_path / "clickstream.toml", tmp_path / "ingest.json"
    unified.write_text('bootstrap_servers = "localhost:1"\ntopic = "clicks"\n[ingest]\nrotate_events = 10\n')
    flat.write_text('{"bootstrap_servers": "localhost:1", "topic": "clicks", "rotate_events": 0}')
    result = cli.invoke(main, ["--config", str(unified), "ingest", "--sink", "file:///tmp/x"])
    assert result.exit_code == 2 and "--group is required" in result.output  # brokers and topic came from the file
    result = cli.invoke(main, ["--config", str(unified), "ingest", "--config", str(flat), "--group", "g"])
    assert result.exit_code == 2
    assert "ingest.rotate_events: 0; expected a positive integer" in result.output and str(flat) in result.output
    monkeypatch.setenv("CLICKSTREAM_CONFIG", str(flat))
    result = cli.invoke(main, ["ingest", "--group", "g", "--sink", "file:///tmp/x"])
    assert result.exit_code == 2 and "ingest.rotate_events: 0" in result.output
