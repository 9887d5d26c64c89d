"""RunSettings re-declares no default: every setting it holds comes from the config schema's
resolution through RunSettings.from_settings; the command's own flags come as keywords."""
import dataclasses

import pytest

from batch.runner import RunSettings
from clickstream.config import defaults, effective

COMMAND_FLAGS = {"hour", "date", "backfill", "latest_complete", "force", "ignore_watermark", "command"}


def schema_fields():
    return [field for field in dataclasses.fields(RunSettings) if field.name not in COMMAND_FLAGS]


def test_every_setting_field_is_a_run_setting_without_a_default_of_its_own():
    run_keys = set(defaults("run"))
    for field in schema_fields():
        assert field.name in run_keys, field.name
        assert field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING, field.name


def test_from_settings_takes_each_setting_from_the_mapping():
    settings = {key: "value of %s" % key for key in defaults("run")}
    settings["jobs"] = ("sessions",)
    built = RunSettings.from_settings(settings, hour="2024-12-29T03", force=True)
    for field in schema_fields():
        if field.name != "jobs":
            assert getattr(built, field.name) == "value of %s" % field.name
    assert built.jobs == ["sessions"] and (built.hour, built.force, built.date) == ("2024-12-29T03", True, None)


def test_from_settings_over_the_resolved_settings_honours_env_and_flags():
    environ = {"CLICKSTREAM_RUN_MAX_BACKFILL_HOURS": "5", "CLICKSTREAM_RUNNER": "hadoop"}
    settings = effective("run", {"sink": "/raw", "runner": "inline", "jobs": None}, environ=environ)
    built = RunSettings.from_settings(settings, date="2024-12-29")
    assert (built.sink, built.runner, built.max_backfill_hours, built.date) == ("/raw", "inline", 5, "2024-12-29")
    assert built.jobs == list(defaults("run")["jobs"]) and built.chunk_size == defaults("run")["chunk_size"]


def test_a_setting_missing_from_the_mapping_is_a_bug():
    settings = defaults("run")
    del settings["lock_stale_seconds"]
    with pytest.raises(KeyError, match="lock_stale_seconds"):
        RunSettings.from_settings(settings)
