"""Resolving the one configuration of every command: flags, CLICKSTREAM_* env vars, a TOML file, the defaults.

Precedence: CLI flag, then CLICKSTREAM_* env var (then the local stack's conventional variables),
then the config file, then the default (clickstream/config_schema.py). Pure: no kafka, pymongo or hdfs imports.
"""
import difflib
import json
import os
import re
import tomllib

from .config_schema import (COMMAND_SECTIONS, CONFIG_ENV, DEFAULT_CONFIG, ENV_PREFIX,  # noqa: F401 (the API)
                            JOB_NAMES, SCHEMA, SECTIONS, SETTINGS, STACK_ENV, Setting)
from .display import mask_uri
from .errors import ConfigError

_SECRET_NAME = re.compile(r"password|secret|token", re.IGNORECASE)
_SECRET_QUERY = re.compile(r"((?:password|secret|token)[^=&]*=)[^&]*", re.IGNORECASE)
_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}\Z")
_KIND_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list of names"}


def _sink_problem(value):
    if "://" not in value:
        return None if value.strip() else "expected file:///path or hdfs:///path (or a local path)"
    scheme, _, rest = value.partition("://")
    if scheme not in ("file", "hdfs") or not rest.strip("/"):
        return "expected file:///path or hdfs:///path (or a local path)"
    if scheme == "hdfs" and rest.split("/", 1)[0]:
        return "names a host; expected hdfs:///path (the NameNode comes from --webhdfs-url)"
    return None


_CHECKS = {  # check -> (value -> whether it is good, what was expected)
    "positive_int": (lambda value: value >= 1, "expected a positive integer"),
    "positive_seconds": (lambda value: value > 0, "expected a positive number of seconds"),
    "positive_number": (lambda value: value > 0, "expected a number above 0"),
    "seconds": (lambda value: value >= 0, "expected a number of seconds >= 0"),
    "http_url": (lambda value: re.match(r"https?://[^/]+", value), "expected http://host:port"),
    "topic": (lambda value: _TOPIC.match(value), "is not a Kafka topic name; expected 1-249 of [A-Za-z0-9._-]"),
    "mongo_uri": (lambda value: value.startswith(("mongodb://", "mongodb+srv://")),
                  "expected mongodb://host[:port]/ or mongodb+srv://host/"),
    "db": (lambda value: value and len(value) < 64 and not set(value) & set('/\\. "$\0'),
           'expected a MongoDB database name (no /\\. "$)'),
}


def _shown(setting, value):
    """A value as it may be printed: secrets masked."""
    if isinstance(value, str) and (setting.secret or "://" in value):
        value = _SECRET_QUERY.sub(r"\1***", mask_uri(value))
    if value is not None and _SECRET_NAME.search(setting.key):
        return "***"
    return value


def _coerce(setting, value, label, lenient):
    """``value`` as ``setting.kind``; ``lenient`` (flags and env) parses text. Raises ConfigError."""
    kind, bad = setting.kind, False
    if value is None or (lenient and value == ""):
        return None
    if kind is list:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        bad = not (isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value))
    elif isinstance(value, bool):
        bad = True
    elif kind in (int, float):
        if lenient and isinstance(value, str):
            try:
                return kind(value.replace("_", "").strip())
            except ValueError:
                bad = True
        elif kind is int and lenient and isinstance(value, float) and value.is_integer():
            return int(value)
        bad = bad or not isinstance(value, int if kind is int else (int, float))
    else:
        bad = not isinstance(value, str)
    if bad:
        raise ConfigError("%s: %r is not %s" % (label, _shown(setting, value), _KIND_NAMES[kind]))
    return list(value) if kind is list else kind(value)


def _check(setting, value, label):
    """Raise ConfigError naming ``label`` if ``value`` breaks the setting's rules; else return it."""
    if value is None:
        if setting.default is not None:
            raise ConfigError("%s: %r; expected %s" % (label, "", _KIND_NAMES[setting.kind]))
        return None
    items = value if setting.kind is list else [value]
    if setting.kind is list and not items:
        raise ConfigError("%s: %r; expected at least one of %s" % (label, value, ", ".join(setting.choices)))
    if setting.choices and any(item not in setting.choices for item in items):
        raise ConfigError("%s: %r; expected %s %s" % (label, value, "names among" if setting.kind is list
                                                       else "one of", ", ".join(setting.choices)))
    if setting.check == "sink":
        problem = _sink_problem(value)
    else:
        good, expected = _CHECKS.get(setting.check, (lambda _value: True, None))
        problem = None if good(value) else expected
    if problem:
        separator = " " if problem.startswith(("is ", "names ")) else "; "
        raise ConfigError("%s: %r%s%s" % (label, _shown(setting, value), separator, problem))
    return value


def check_value(name, value, label=None):
    """Coerce and check one value of setting ``name`` ('db', 'ingest.rotate_events') as given on a
    command line; errors name ``label`` (default: the flag)."""
    setting = SETTINGS[name]
    label = label or setting.flag
    return _check(setting, _coerce(setting, value, label, lenient=True), label)


def _unknown(label, keys, known, where=""):
    names = ", ".join(repr(key) for key in keys)
    close = difflib.get_close_matches(keys[0], known, n=1)
    hint = " (did you mean %r?)" % close[0] if close else ""
    return ConfigError("%s: unknown key%s %s%s%s; expected one of %s" % (
        label, "s" if len(keys) > 1 else "", names, where, hint, ", ".join(sorted(known))))


def validate_file_values(values, label="config file"):
    """Check a parsed file ({key: value, section: {key: value}}): unknown keys, types, rules.
    Returns a copy with values of the declared types; raises ConfigError naming the key."""
    top = {setting.key for setting in SCHEMA if setting.section is None}
    unknown = [key for key in values if key not in top and key not in SECTIONS]
    if unknown:
        raise _unknown(label, unknown, top | {"[%s]" % section for section in SECTIONS})
    checked = {}
    for key, value in values.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError("%s: %s: %r is not a table; expected a [%s] section" % (label, key, value, key))
            known = {setting.key for setting in SCHEMA if setting.section == key}
            unknown = [name for name in value if name not in known]
            if unknown:
                raise _unknown(label, unknown, known, " in [%s]" % key)
            checked[key] = {name: _file_value(SETTINGS[key + "." + name], item, label)
                            for name, item in value.items()}
        else:
            checked[key] = _file_value(SETTINGS[key], value, label)
    return checked


def _file_value(setting, value, label):
    name = "%s: %s" % (label, setting.name)
    return _check(setting, _coerce(setting, value, name, lenient=False), name)


def nest_flat(values):
    """The ingest's older flat JSON settings {key: value} -> the file's shape: shared keys at the top,
    the ingest's own under 'ingest'. Unknown keys stay at the top, for validation to name them."""
    nested = {}
    for key, value in values.items():
        if value is None:
            continue
        if key in SECTIONS and isinstance(value, dict):
            nested.setdefault(key, {}).update(value)
        elif "ingest." + key in SETTINGS:
            nested.setdefault("ingest", {})[key] = value
        else:
            nested[key] = value
    return nested


def load_file(path):
    """Parse and validate a config file: TOML, or the ingest's older flat JSON (starts with '{').

    Returns {key: value, section: {key: value}}. Raises ConfigError (one line) if the file is missing,
    unreadable, not TOML/JSON, or holds an unknown key or a bad value."""
    label = "config file %r" % path
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except OSError as error:
        raise ConfigError("%s cannot be read: %s" % (label, error.strerror or error)) from None
    try:
        flat = raw.lstrip()[:1] == b"{"
        values = json.loads(raw) if flat else tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        raise ConfigError("%s is not valid %s: %s" % (label, "JSON" if flat else "TOML", str(error).splitlines()[0])
                          ) from None
    if flat:
        known = {setting.key for setting in settings_for("ingest")} | set(SECTIONS)
        unknown = [key for key in values if key not in known]
        if unknown:
            raise _unknown(label, unknown, known)
        values = nest_flat(values)
    if not isinstance(values, dict):
        raise ConfigError("%s holds %s; expected TOML keys and [sections]" % (label, type(values).__name__))
    return validate_file_values(values, label)


def config_file(config_path=None, environ=None):
    """(path, how it was given) of the config file, or (None, None): --config, then env CLICKSTREAM_CONFIG."""
    environ = os.environ if environ is None else environ
    if config_path:
        return config_path, "--config"
    if environ.get(CONFIG_ENV):
        return environ[CONFIG_ENV], "env " + CONFIG_ENV
    return None, None


def settings_for(command):
    """The settings ``command`` reads: the shared keys and those of its sections."""
    if command not in COMMAND_SECTIONS:
        raise ConfigError("config: unknown command %r; expected one of %s" % (command, ", ".join(COMMAND_SECTIONS)))
    return [setting for setting in SCHEMA if setting.section in (None,) + COMMAND_SECTIONS[command]]


def env_names(setting, command=None):
    """The env variables of a setting, strongest first. The ingest keeps its older
    CLICKSTREAM_INGEST_<KEY> names for the shared keys too."""
    own = ENV_PREFIX + (setting.section + "_" if setting.section else "") + setting.key
    names = [own.upper()]
    if command == "ingest" and setting.section is None:
        names.insert(0, (ENV_PREFIX + "INGEST_" + setting.key).upper())
    return names + list(STACK_ENV.get(setting.name, ()))


def _resolve(settings, command, cli_values, environ, file_values, file_label):
    values, sources = {}, {}
    for setting in settings:
        given = cli_values.get(setting.key)
        if given is not None:
            value, source, label, lenient = given, "flag", setting.flag, True
        else:
            env = next((name for name in env_names(setting, command) if environ.get(name) not in (None, "")), None)
            section = file_values.get(setting.section, {}) if setting.section else file_values
            if env:
                value, source, label, lenient = environ[env], "env " + env, env, True
            elif setting.key in section:
                value, source, label, lenient = section[setting.key], "file", file_label + ": " + setting.name, False
            else:
                value, source, label, lenient = setting.default, "default", setting.flag, False
        value = _check(setting, _coerce(setting, value, label, lenient), label)
        values[setting.key], sources[setting.key] = value, source
    return values, sources


def _file_values(config_path, environ, file_values):
    if file_values is not None:
        return validate_file_values(file_values), "config file"
    path, _how = config_file(config_path, environ)
    return (load_file(path), "config file %r" % path) if path else ({}, "config file")


def effective_with_sources(command, cli_values=None, environ=None, config_path=None, file_values=None):
    """The settings of ``command`` as (values, sources): flat dicts keyed by the setting's key.

    ``cli_values``: {key: value} from flags, None meaning not given. ``environ``: default os.environ.
    ``config_path``: default env CLICKSTREAM_CONFIG, else no file. ``file_values``: an already parsed
    file ({key: value, section: {...}}) used instead of reading one. A source is 'flag', 'env NAME',
    'file' or 'default'. Raises ConfigError naming the flag, env variable or file key of a bad value."""
    environ = os.environ if environ is None else environ
    settings = settings_for(command)
    cli_values = dict(cli_values or {})
    unknown = sorted(set(cli_values) - {setting.key for setting in settings})
    if unknown:
        raise _unknown("%s: command line" % command, unknown, {setting.key for setting in settings})
    values, label = _file_values(config_path, environ, file_values)
    return _resolve(settings, command, cli_values, environ, values, label)


def effective(command, cli_values=None, environ=None, config_path=None, file_values=None):
    """The settings of ``command`` as one flat dict {key: value}; see effective_with_sources."""
    return effective_with_sources(command, cli_values, environ, config_path, file_values)[0]


def defaults(command):
    """{key: default} of the settings ``command`` reads."""
    return {setting.key: setting.default for setting in settings_for(command)}


def _toml(value):
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[%s]" % ", ".join(_toml(item) for item in value)
    return repr(value)


def _grouped():
    yield None, [setting for setting in SCHEMA if setting.section is None]
    for section in SECTIONS:
        yield section, [setting for setting in SCHEMA if setting.section == section]


def show(environ=None, config_path=None):
    """Every setting of every section with its effective value and its source, secrets masked."""
    environ = os.environ if environ is None else environ
    path, how = config_file(config_path, environ)
    values = load_file(path) if path else {}
    lines = ["# config file: %s" % ("%s (from %s)" % (path, how) if path else "none (--config or env %s)"
                                     % CONFIG_ENV)]
    for section, settings in _grouped():
        if section:
            lines.extend(["", "[%s]" % section])
        resolved, sources = _resolve(settings, None, {}, environ, values, "config file %r" % path)
        rows = [("%s = %s" % (setting.key, "(unset)" if resolved[setting.key] is None
                               else _toml(_shown(setting, resolved[setting.key]))), sources[setting.key])
                for setting in settings]
        width = min(60, max(len(assignment) for assignment, _source in rows))
        lines.extend("%s  # %s" % (assignment.ljust(width), source) for assignment, source in rows)
    return "\n".join(lines) + "\n"


def example():
    """A TOML file of every setting, commented out at its default (or at an example value when it has
    none), each with a one-line doc and its env variable: deploy/clickstream.example.toml."""
    lines = ["# clickstream configuration: every option of every command, at its default.",
             "# Use it with `clickstream --config FILE` or env %s=FILE." % CONFIG_ENV,
             "# Precedence: command-line flag, then CLICKSTREAM_* env var, then this file, then the default.",
             "# Uncomment a key to set it; unknown keys are an error. `clickstream config show` prints the",
             "# effective values. Generated by `clickstream config example`."]
    for section, settings in _grouped():
        lines.extend(["", "[%s]" % section] if section else [])
        for setting in settings:
            names = " / ".join(env_names(setting))
            lines.append("")
            lines.append("# %s [env %s]" % (setting.doc, names))
            if setting.default is None:
                lines.append("# %s = %s  # an example: unset by default" % (setting.key, _toml(setting.example)))
            else:
                lines.append("# %s = %s" % (setting.key, _toml(setting.default)))
    return "\n".join(lines) + "\n"
