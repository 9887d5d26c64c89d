"""mrjob MapReduce jobs, one per module; ``JOBS`` maps the CLI's job names to their classes."""
import importlib

JOBS = {
    "user-actions": "mr.mr_user_actions:MRUserActions",
    "hourly-activity": "mr.mr_hourly_activity:MRHourlyActivity",
    "product-popularity": "mr.mr_product_popularity:MRProductPopularity",
    "sessions": "mr.mr_sessions:MRSessions",
    "suspicious-users": "mr.mr_suspicious_users:MRSuspiciousUsers",
}


def job_class(name):
    """The job class for a CLI job name such as 'user-actions'."""
    module_name, _, class_name = JOBS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
