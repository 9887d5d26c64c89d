"""`scripts/stack up` on a clean clone: no project venv, and a `python3` without pymongo on PATH.

The service's readiness check must need neither (scripts/stack.d/ferretdb/ping.py). The test copies
the tracked files (so no .venv) into a temporary folder and starts the MongoDB-wire service from the
copy on a free port, with a scratch folder of its own; the shared stack cache keeps it quick.
"""
import os
import shutil
import socket
import subprocess
import sys

import pytest

pymongo = pytest.importorskip("pymongo")

pytestmark = pytest.mark.integration

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def clean_copy(destination):
    """The repository's tracked files, as a fresh clone has them."""
    listed = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell the tracked files (git ls-files: %s)" % listed.stderr[-200:])
    for relative in listed.stdout.decode().split("\0"):
        if relative and os.path.isfile(os.path.join(REPO, relative)):
            target = os.path.join(destination, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(os.path.join(REPO, relative), target)
    assert not os.path.exists(os.path.join(destination, ".venv"))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_stack_up_without_the_project_venv(tmp_path):
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not on PATH: the stack's MongoDB-wire server needs a JDK and Maven" % tool)
    clone = tmp_path / "clone"
    clean_copy(str(clone))
    # a python3 that has no pymongo first on PATH (a venv of the base interpreter, without pip)
    bare = tmp_path / "bare-python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    venv_bin = os.path.dirname(sys.executable)
    path = os.pathsep.join([str(bare / "bin")] + [entry for entry in os.environ.get("PATH", "").split(os.pathsep)
                                                  if os.path.abspath(entry) != os.path.abspath(venv_bin)])
    port = free_port()
    env = dict(os.environ, PATH=path, CLICKSTREAM_STACK_SERVICES="ferretdb",
               CLICKSTREAM_STACK_SCRATCH=str(tmp_path / "scratch"), CLICKSTREAM_STACK_FERRETDB_PORT=str(port))
    env.pop("VIRTUAL_ENV", None)
    probe = subprocess.run(["python3", "-c", "import pymongo"], env=env, capture_output=True, timeout=60)
    assert probe.returncode != 0, "the bare python3 on PATH imports pymongo; the test would prove nothing"
    stack = str(clone / "scripts" / "stack")
    try:
        up = subprocess.run([stack, "up"], env=env, capture_output=True, text=True, timeout=600)
        assert up.returncode == 0, "scripts/stack up failed on a clean copy:\n%s" % up.stderr[-3000:]
        client = pymongo.MongoClient("mongodb://127.0.0.1:%d/" % port, serverSelectionTimeoutMS=5000)
        try:
            assert client.admin.command("ping")["ok"] == 1
        finally:
            client.close()
        status = subprocess.run([stack, "status"], env=env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0 and "ferretdb  running" in status.stdout, status.stdout + status.stderr
    finally:
        subprocess.run([stack, "down"], env=env, capture_output=True, timeout=120)
    down = subprocess.run([stack, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert "ferretdb  stopped" in down.stdout
