"""mrjob MapReduce jobs, one per module; ``JOBS`` maps the CLI's job names to their classes
('module:Class'), in run order, from the job table (clickstream/jobs.py)."""
import importlib

from clickstream.jobs import JOB_TABLE, job_row

JOBS = {job.name: job.job_class for job in JOB_TABLE}


def job_class(name):
    """The job class for a CLI job name such as 'user-actions'."""
    module_name, _, class_name = job_row(name).job_class.partition(":")
    return getattr(importlib.import_module(module_name), class_name)
