"""The job table (clickstream/jobs.py) agrees with the mr job classes, the loaders, the config
schema, the CLI's choices and the runner's options: a new job is one row plus its modules."""
import dataclasses
import glob
import os

import pytest
from mrjob.job import MRJob

from batch.runner import RunSettings
from cli import main
from clickstream.config_schema import SETTINGS
from clickstream.errors import ConfigError
from clickstream.jobs import JOB_NAMES, JOB_TABLE, job_row
from loaders.load import loader_for
from mr import JOBS, job_class

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def camel(name):
    return "".join(part.capitalize() for part in name.split("-"))


def test_names_and_collections_are_unique():
    assert len(set(JOB_NAMES)) == len(JOB_TABLE) == len({job.collection for job in JOB_TABLE}) == 5


@pytest.mark.parametrize("job", JOB_TABLE, ids=JOB_NAMES)
def test_each_row_names_its_mr_job_class(job):
    cls = job_class(job.name)
    assert issubclass(cls, MRJob)
    # one job class per file: mr/mr_<what>.py with class MR<What>
    assert job.job_class == "mr.mr_%s:MR%s" % (job.name.replace("-", "_"), camel(job.name))
    assert "%s:%s" % (cls.__module__, cls.__name__) == job.job_class


def test_mr_jobs_are_the_table_in_run_order():
    assert list(JOBS.items()) == [(job.name, job.job_class) for job in JOB_TABLE]


def test_every_job_module_has_a_row():
    modules = {os.path.basename(path)[:-3] for path in glob.glob(os.path.join(ROOT, "mr", "mr_*.py"))}
    assert modules == {job.job_class.partition(":")[0].split(".")[1] for job in JOB_TABLE}


@pytest.mark.parametrize("job", JOB_TABLE, ids=JOB_NAMES)
def test_each_row_names_its_loader(job):
    loader = loader_for(job.name)
    assert "%s:%s" % (loader.__module__, loader.__name__) == job.loader
    # one loader module per collection, as mr/ has one module per job
    assert loader.__module__ == "loaders." + job.collection
    assert loader.COLLECTION == job.collection
    assert loader.ADDITIVE is job.additive


def test_the_config_schema_takes_its_job_list_from_the_table():
    setting = SETTINGS["run.jobs"]
    assert setting.default == list(JOB_NAMES) and setting.choices == JOB_NAMES


@pytest.mark.parametrize("command", ["load", "mr"])
def test_the_cli_job_choices_are_the_table(command):
    (job_argument,) = [param for param in main.commands[command].params if param.name == "job"]
    assert sorted(job_argument.type.choices) == sorted(JOB_NAMES)


@pytest.mark.parametrize("job", JOB_TABLE, ids=JOB_NAMES)
def test_run_options_are_job_flags_taken_from_run_settings(job):
    parser = job_class(job.name)(args=[]).arg_parser
    settings = {field.name for field in dataclasses.fields(RunSettings)}
    for flag, name in job.run_options:
        assert flag in parser._option_string_actions, flag
        assert name in settings and "run." + name in SETTINGS, name


def test_an_unknown_job_has_no_row_and_no_loader():
    with pytest.raises(KeyError, match="nope"):
        job_row("nope")
    with pytest.raises(ConfigError, match=r"^load: job 'nope' has no loader; expected one of hourly-activity, "):
        loader_for("nope")
