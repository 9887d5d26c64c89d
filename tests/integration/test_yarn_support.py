"""Helpers for the tests on the stack's YARN: the ResourceManager's REST API on loopback, and the
YARN applications behind the jobs mrjob ran. Checked by the tests of every `-r hadoop` module."""
import json
import os
import re
import urllib.request

import pytest

# A MapReduce job id on YARN: job_<cluster timestamp>_<sequence>; the LocalJobRunner's are job_local...
YARN_JOB_ID = re.compile(r"^job_(\d+_\d+)$")


@pytest.fixture
def resourcemanager_url():
    """The RM's web address from `scripts/stack env`; skips (as conftest's fixtures do) when unset."""
    url = os.environ.get("YARN_RESOURCEMANAGER_URL")
    if not url:
        pytest.skip("service variable(s) YARN_RESOURCEMANAGER_URL unset; run under `eval \"$(scripts/stack env)\"`")
    return url.rstrip("/")


def rm_get(resourcemanager_url, path):
    """GET a ResourceManager REST resource (JSON) under /ws/v1/cluster."""
    request = urllib.request.Request(resourcemanager_url + "/ws/v1/cluster" + path,
                                     headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def yarn_applications(resourcemanager_url):
    """{application id: the RM's record} for every application the RM knows."""
    apps = (rm_get(resourcemanager_url, "/apps").get("apps") or {}).get("app") or []
    return {app["id"]: app for app in apps}


def step_ids(runner):
    """(job id, application id) of each step mrjob's hadoop runner ran, read off `hadoop jar`'s log."""
    ids = []
    for interpretation in runner._log_interpretations:  # mrjob keeps no public list of job ids
        step = interpretation.get("step") or {}
        ids.append((step.get("job_id"), step.get("application_id")))
    return ids


def application_of(job_id):
    """The YARN application id behind a MapReduce job id; fails for a LocalJobRunner id."""
    match = YARN_JOB_ID.match(job_id or "")
    assert match, "job id %r is not a YARN job's (job_<timestamp>_<n>)" % (job_id,)
    return "application_" + match.group(1)


def assert_on_yarn(resourcemanager_url, runner, final_status="SUCCEEDED"):
    """Every step of ``runner`` ran as a MapReduce application that the RM lists as finished with
    ``final_status``. Returns the application ids."""
    applications = yarn_applications(resourcemanager_url)
    ids = []
    for job_id, application_id in step_ids(runner):
        assert application_id == application_of(job_id), (job_id, application_id)
        app = applications.get(application_id)
        assert app is not None, "the ResourceManager does not list %s" % application_id
        assert (app["applicationType"], app["state"], app["finalStatus"]) == ("MAPREDUCE", "FINISHED", final_status), app
        ids.append(application_id)
    assert ids, "mrjob ran no step"
    return ids


def new_applications(resourcemanager_url, before):
    """The RM's applications not in ``before`` (a yarn_applications() result), by id."""
    return {app_id: app for app_id, app in yarn_applications(resourcemanager_url).items() if app_id not in before}
