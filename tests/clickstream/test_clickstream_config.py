"""The one configuration: schema, precedence flag > env > file > default, unknown keys, show and example."""
import dataclasses
import os
import re
import tomllib

import pytest

from clickstream import config
from clickstream.config import effective, effective_with_sources, example, load_file, show
from clickstream.errors import ConfigError
from clickstream.generator import GeneratorSpec

SHIPPED_EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "clickstream.example.toml")
STACK_VARIABLES = ("KAFKA_BOOTSTRAP_SERVERS", "WEBHDFS_URL", "MONGODB_URI", "HADOOP_USER_NAME")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No CLICKSTREAM_* or stack variable of the caller's shell leaks into these tests."""
    for name in list(os.environ):
        if name.startswith("CLICKSTREAM_") or name in STACK_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture
def write_file(tmp_path):
    def write(text, name="clickstream.toml"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


# --- the schema ------------------------------------------------------------------------------------------

def test_every_default_passes_its_own_checks():
    for setting in config.SCHEMA:
        assert config.check_value(setting.name, setting.default) == setting.default


def test_env_names_are_unique_and_keys_do_not_clash_within_a_command():
    names = [config.env_names(setting)[0] for setting in config.SCHEMA]
    assert len(names) == len(set(names)) and config.CONFIG_ENV not in names
    for command in config.COMMAND_SECTIONS:
        keys = [setting.key for setting in config.settings_for(command)]
        assert len(keys) == len(set(keys)), command


def test_job_names_are_the_mr_packages():
    from mr import JOBS

    assert set(config.JOB_NAMES) == set(JOBS)


def test_generate_defaults_are_the_generators():
    spec = {field.name: field.default for field in dataclasses.fields(GeneratorSpec)}
    renamed = {"malformed": "malformed_fraction"}
    for setting in config.SCHEMA:
        if setting.section == "generate" and setting.key != "rate":  # rate is the producer's, unset by default
            assert spec[renamed.get(setting.key, setting.key)] == setting.default, setting.name


SHARED = {"sink", "webhdfs_url", "hdfs_user", "webhdfs_timeout_seconds", "bootstrap_servers", "topic", "mongo_uri",
          "db", "runner"}
LOAD = {"chunk_size", "server_selection_timeout_ms"}
RUN = {"jobs", "lock_stale_seconds", "derived_root", "mrjob_conf", "max_backfill_hours", "hours_per_launch",
       "session_gap_minutes", "max_session_hours", "suspicious_window_hours"}
GENERATE = {"users", "products", "seed", "span_hours", "start", "malformed", "offset_fraction", "rate"}


@pytest.mark.parametrize("command, keys", [
    ("query", SHARED),
    ("load", SHARED | LOAD),
    ("generate", SHARED | GENERATE),
    ("run", SHARED | RUN | LOAD),
    ("mr", SHARED | RUN),
    ("ingest", SHARED | {"group", "rotate_events", "compression", "client_id", "retry_max_seconds"}),
])
def test_each_command_reads_the_shared_keys_and_its_sections(command, keys):
    values = effective(command)
    assert keys <= set(values)
    if command != "ingest":
        assert set(values) == keys


def test_an_unknown_command_is_refused():
    with pytest.raises(ConfigError, match=r"unknown command 'lod'"):
        effective("lod")


# --- precedence ------------------------------------------------------------------------------------------

# command, file text, env variable, env value, flag key, flag value, expected value
PRECEDENCE_CASES = [
    ("query", 'db = "file_db"', "CLICKSTREAM_DB", "env_db", "db", "flag_db", ("file_db", "env_db", "flag_db")),
    ("load", "[load]\nchunk_size = 7", "CLICKSTREAM_LOAD_CHUNK_SIZE", "8", "chunk_size", 9, (7, 8, 9)),
    ("run", '[run]\njobs = ["sessions"]', "CLICKSTREAM_RUN_JOBS", "user-actions, hourly-activity", "jobs",
     "suspicious-users", (["sessions"], ["user-actions", "hourly-activity"], ["suspicious-users"])),
    ("run", "[run]\nlock_stale_seconds = 60", "CLICKSTREAM_RUN_LOCK_STALE_SECONDS", "61.5", "lock_stale_seconds",
     62, (60.0, 61.5, 62.0)),
    ("ingest", "[ingest]\nrotate_events = 5", "CLICKSTREAM_INGEST_ROTATE_EVENTS", "1_000", "rotate_events", "6",
     (5, 1000, 6)),
    ("generate", "[generate]\nseed = 1", "CLICKSTREAM_GENERATE_SEED", "2", "seed", 3, (1, 2, 3)),
    ("mr", 'runner = "inline"', "CLICKSTREAM_RUNNER", "hadoop", "runner", "local", ("inline", "hadoop", "local")),
    ("load", 'mongo_uri = "mongodb://file/"', "MONGODB_URI", "mongodb://stack/", "mongo_uri", "mongodb://flag/",
     ("mongodb://file/", "mongodb://stack/", "mongodb://flag/")),
    ("ingest", 'bootstrap_servers = "file:1"', "KAFKA_BOOTSTRAP_SERVERS", "stack:1", "bootstrap_servers", "flag:1",
     ("file:1", "stack:1", "flag:1")),
    ("load", 'webhdfs_url = "http://file:1"', "WEBHDFS_URL", "http://stack:1", "webhdfs_url", "http://flag:1",
     ("http://file:1", "http://stack:1", "http://flag:1")),
    ("query", 'hdfs_user = "file"', "HADOOP_USER_NAME", "stack", "hdfs_user", "flag", ("file", "stack", "flag")),
]


@pytest.mark.parametrize("command, file_text, env_name, env_value, key, flag_value, expected", PRECEDENCE_CASES)
def test_precedence_is_flag_then_env_then_file_then_default(
        monkeypatch, write_file, command, file_text, env_name, env_value, key, flag_value, expected):
    path = write_file(file_text)
    values, sources = effective_with_sources(command)
    assert (values[key], sources[key]) == (config.defaults(command)[key], "default")
    assert set(sources.values()) == {"default"}
    from_file, from_env, from_flag = expected
    values, sources = effective_with_sources(command, config_path=path)
    assert (values[key], sources[key]) == (from_file, "file")
    monkeypatch.setenv(env_name, env_value)
    values, sources = effective_with_sources(command, {key: None}, config_path=path)
    assert (values[key], sources[key]) == (from_env, "env " + env_name)
    values, sources = effective_with_sources(command, {key: flag_value}, config_path=path)
    assert (values[key], sources[key]) == (from_flag, "flag")


@pytest.mark.parametrize("strong, weak", [
    ("CLICKSTREAM_MONGO_URI", "MONGODB_URI"),
    ("CLICKSTREAM_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    ("CLICKSTREAM_WEBHDFS_URL", "WEBHDFS_URL"),
    ("CLICKSTREAM_HDFS_USER", "HADOOP_USER_NAME"),
])
def test_clickstream_variables_beat_the_stacks(monkeypatch, strong, weak):
    key = {"CLICKSTREAM_MONGO_URI": "mongo_uri"}.get(strong, strong[len("CLICKSTREAM_"):].lower())
    value = {"mongo_uri": "mongodb://%s/", "webhdfs_url": "http://%s:1"}.get(key, "%s")
    monkeypatch.setenv(weak, value % "weak")
    monkeypatch.setenv(strong, value % "strong")
    assert effective_with_sources("query")[0][key] == value % "strong"
    assert effective_with_sources("query")[1][key] == "env " + strong


def test_the_ingest_keeps_its_older_env_names_for_shared_keys(monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_SINK", "file:///shared")
    monkeypatch.setenv("CLICKSTREAM_INGEST_SINK", "file:///ingest")
    assert effective("ingest")["sink"] == "file:///ingest"
    assert effective("load")["sink"] == "file:///shared"


def test_an_empty_variable_counts_as_unset(monkeypatch, write_file):
    monkeypatch.setenv("CLICKSTREAM_DB", "")
    assert effective_with_sources("query", config_path=write_file('db = "f"'))[1]["db"] == "file"


def test_the_file_comes_from_the_argument_then_clickstream_config(monkeypatch, write_file):
    env_file, argument_file = write_file('db = "from_env_file"', "a.toml"), write_file('db = "from_arg"', "b.toml")
    monkeypatch.setenv("CLICKSTREAM_CONFIG", env_file)
    assert effective("query")["db"] == "from_env_file"
    assert effective("query", config_path=argument_file)["db"] == "from_arg"
    assert "# config file: %s (from env CLICKSTREAM_CONFIG)" % env_file in show()


def test_cli_values_are_checked_like_the_rest():
    with pytest.raises(ConfigError, match=r"query: command line: unknown key 'chunk_size'; expected one of"):
        effective("query", {"chunk_size": 5})


# --- errors -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ('sinc = "/raw"', r"config file '.*': unknown key 'sinc' \(did you mean 'sink'\?\); expected one of "
                      r".*bootstrap_servers"),
    ("[ingest]\nrotate_event = 5", r"unknown key 'rotate_event' in \[ingest\] \(did you mean 'rotate_events'\?\)"),
    ("[ingset]\ngroup = 'g'", r"unknown key 'ingset' \(did you mean '\[ingest\]'\?\)"),
    ("[load]\nchunk_size = 1\nbatch = 2\nforce = true", r"unknown keys 'batch', 'force' in \[load\]"),
    ("ingest = 3", r"config file '.*': ingest: 3 is not a table; expected a \[ingest\] section"),
    ("db = 5", r"config file '.*': db: 5 is not a string"),
    ('[load]\nchunk_size = "many"', r"load.chunk_size: 'many' is not an integer"),
    ("[load]\nchunk_size = 2.5", r"load.chunk_size: 2.5 is not an integer"),
    ("[ingest]\nrotate_seconds = true", r"ingest.rotate_seconds: True is not a number"),
    ("[load]\nchunk_size = 0", r"load.chunk_size: 0; expected a positive integer"),
    ('[run]\njobs = ["sessions", "sesions"]', r"run.jobs: \['sessions', 'sesions'\]; expected names among "
                                               r"user-actions, hourly-activity"),
    ("[run]\njobs = []", r"run.jobs: \[\]; expected at least one of user-actions"),
    ("[run]\njobs = [1]", r"run.jobs: \[1\] is not a list of names"),
    ("[run]\nlock_stale_seconds = 0", r"run.lock_stale_seconds: 0.0; expected a positive number of seconds"),
    ('runner = "yarn"', r"runner: 'yarn'; expected one of local, hadoop, inline"),
    ('sink = "s3://bucket/raw"', r"sink: 's3://bucket/raw'; expected file:///path or hdfs:///path"),
    ('[run]\nderived_root = "hdfs://nn/derived"', r"run.derived_root: 'hdfs://nn/derived' names a host"),
    ('topic = "a b"', r"topic: 'a b' is not a Kafka topic name"),
    ('db = "a.b"', r"db: 'a.b'; expected a MongoDB database name"),
    ('webhdfs_url = "namenode:9870"', r"webhdfs_url: 'namenode:9870'; expected http://host:port"),
    ('[ingest]\ncompression = "zstd"', r"ingest.compression: 'zstd'; expected one of none, gzip"),
    ("db = ", r"config file '.*' is not valid TOML: "),
])
def test_a_bad_file_fails_in_one_line_naming_the_key(write_file, text, message):
    path = write_file(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_file(path)
    assert "\n" not in str(caught.value) and path in str(caught.value)
    with pytest.raises(ConfigError, match=message):
        effective("query", config_path=path)


@pytest.mark.parametrize("env_name, value, message", [
    ("CLICKSTREAM_LOAD_CHUNK_SIZE", "many", r"^CLICKSTREAM_LOAD_CHUNK_SIZE: 'many' is not an integer$"),
    ("CLICKSTREAM_LOAD_SERVER_SELECTION_TIMEOUT_MS", "-1", r"^CLICKSTREAM_LOAD_SERVER_SELECTION_TIMEOUT_MS: -1; "
                                                          r"expected a positive integer$"),
    ("CLICKSTREAM_RUNNER", "yarn", r"^CLICKSTREAM_RUNNER: 'yarn'; expected one of local, hadoop, inline$"),
    ("CLICKSTREAM_RUN_JOBS", "sessions,nope", r"^CLICKSTREAM_RUN_JOBS: \['sessions', 'nope'\]; expected names"),
    ("CLICKSTREAM_RUN_MAX_BACKFILL_HOURS", "1.5", r"^CLICKSTREAM_RUN_MAX_BACKFILL_HOURS: '1.5' is not an integer$"),
])
def test_a_bad_variable_is_named(monkeypatch, env_name, value, message):
    monkeypatch.setenv(env_name, value)
    with pytest.raises(ConfigError, match=message):
        effective("run")


@pytest.mark.parametrize("values, message", [
    ({"chunk_size": "x"}, r"^--chunk-size: 'x' is not an integer$"),
    ({"db": ""}, r"^--db: ''; expected a string$"),
    ({"mongo_uri": "http://user:hunter2@host/"}, r"^--mongo-uri: 'http://\*\*\*@host/'; expected mongodb://"),
    ({"jobs": ""}, r"^--jobs: ''; expected a list of names$"),
])
def test_a_bad_flag_is_named_and_secrets_stay_hidden(values, message):
    with pytest.raises(ConfigError, match=message) as caught:
        effective("run", values)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("path_name, message", [
    ("missing.toml", r"^config file '.*missing.toml' cannot be read: No such file or directory$"),
    (".", r"^config file '.*' cannot be read: Is a directory$"),
])
def test_an_unreadable_file_fails_in_one_line(tmp_path, monkeypatch, path_name, message):
    monkeypatch.setenv("CLICKSTREAM_CONFIG", str(tmp_path / path_name))
    with pytest.raises(ConfigError, match=message):
        effective("load")


def test_the_ingests_older_flat_json_file_is_read(write_file):
    path = write_file('{"topic": "clicks", "rotate_events": 5, "group": "g", "client_id": null}', "old.json")
    assert load_file(path) == {"topic": "clicks", "ingest": {"rotate_events": 5, "group": "g"}}
    assert effective("ingest", config_path=path)["rotate_events"] == 5
    with pytest.raises(ConfigError, match=r"unknown key 'rotate_event' \(did you mean"):
        load_file(write_file('{"rotate_event": 5}', "typo.json"))


# --- show and example -------------------------------------------------------------------------------------

def test_show_prints_every_key_with_its_source_and_masks_secrets(monkeypatch, write_file):
    path = write_file('mongo_uri = "mongodb://reader:s3cr3t-pw@db.example:27017/?authSource=admin'
                      '&tlsCertificateKeyFilePassword=k3y-pw"\n[load]\nchunk_size = 50\n')
    monkeypatch.setenv("CLICKSTREAM_RUN_JOBS", "sessions")
    text = show(config_path=path)
    assert "s3cr3t-pw" not in text and "k3y-pw" not in text and "reader" not in text
    assert 'mongo_uri = "mongodb://***@db.example:27017/?authSource=admin&tlsCertificateKeyFilePassword=***"' in text
    assert re.search(r"^chunk_size = 50 +# file$", text, re.M)
    assert re.search(r'^jobs = \["sessions"\] +# env CLICKSTREAM_RUN_JOBS$', text, re.M)
    assert re.search(r'^db = "clickstream_db" +# default$', text, re.M)
    for setting in config.SCHEMA:
        assert re.search(r"^%s = " % setting.key, text, re.M), setting.name
    for section in config.SECTIONS:
        assert "\n[%s]\n" % section in text


def test_show_masks_a_secret_from_the_stack_variable_too(monkeypatch):
    monkeypatch.setenv("MONGODB_URI", "mongodb://admin:topsecret@h/")
    text = show()
    assert "topsecret" not in text and 'mongo_uri = "mongodb://***@h/"' in text


def _uncommented(text):
    return "\n".join(re.sub(r"^# ([a-z_]+ = )", r"\1", line) for line in text.splitlines())


def test_the_example_file_documents_every_key_at_its_default():
    text = example()
    assert load_file_from_text(text) == {section: {} for section in config.SECTIONS}
    parsed = tomllib.loads(_uncommented(text))
    for setting in config.SCHEMA:
        section = parsed[setting.section] if setting.section else parsed
        if setting.default is not None:
            assert section[setting.key] == setting.default, setting.name
        else:
            assert section[setting.key] == setting.example, setting.name
        assert config.env_names(setting)[0] in text
    config.validate_file_values(parsed)  # every example value is valid


def load_file_from_text(text):
    return config.validate_file_values(tomllib.loads(text))


def test_the_shipped_example_is_the_generated_one():
    with open(SHIPPED_EXAMPLE) as stream:
        shipped = stream.read()
    assert shipped == example(), "regenerate: clickstream config example > deploy/clickstream.example.toml"
    assert load_file(SHIPPED_EXAMPLE) == {section: {} for section in config.SECTIONS}
