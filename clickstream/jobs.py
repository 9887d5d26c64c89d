"""The one table of jobs: per job its CLI name, mrjob class, loader, collection and merge kind, in
the order a run needs them. The CLI, the config schema, mr/, loaders/ and the runner take their
lists from here; classes are named as 'module:Class' strings, resolved by mr/ and loaders/.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """One job. ``additive``: its counts add up across batches (a late file is a batch of its
    own); otherwise a batch sets its keys (a late file means recomputing the hour).
    ``run_options``: (mrjob flag, RunSettings field) pairs `clickstream run` passes the job."""
    name: str
    job_class: str
    loader: str
    collection: str
    additive: bool
    run_options: tuple = ()


JOB_TABLE = (
    Job("user-actions", "mr.mr_user_actions:MRUserActions", "loaders.user_clicks:UserClicks", "user_clicks",
        additive=True),
    Job("hourly-activity", "mr.mr_hourly_activity:MRHourlyActivity", "loaders.hourly_activity:HourlyActivity",
        "hourly_activity", additive=False),
    Job("product-popularity", "mr.mr_product_popularity:MRProductPopularity",
        "loaders.product_popularity:ProductPopularity", "product_popularity", additive=True),
    Job("sessions", "mr.mr_sessions:MRSessions", "loaders.sessions:Sessions", "sessions", additive=False,
        run_options=(("--session-gap-minutes", "session_gap_minutes"), ("--max-session-hours", "max_session_hours"))),
    Job("suspicious-users", "mr.mr_suspicious_users:MRSuspiciousUsers", "loaders.suspicious_users:SuspiciousUsers",
        "suspicious_users", additive=False, run_options=(("--window-hours", "suspicious_window_hours"),)),
)
JOB_NAMES = tuple(job.name for job in JOB_TABLE)
_BY_NAME = {job.name: job for job in JOB_TABLE}


def job_row(name):
    """The Job of a CLI job name such as 'user-actions'; KeyError for any other name."""
    return _BY_NAME[name]
