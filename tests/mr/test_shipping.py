"""What `-r hadoop` ships: a zip of the packages and orjson's directory, importable by a python
that has no site-packages; nothing on inline/local; python_bin only when nothing names one."""
import argparse
import json
import os
import subprocess
import sys
import zipfile

import pytest

from mr.shipping import EXTENSIONS_DIR, ZIP_NAME, add_shipping, copy_extensions, write_packages_zip


class Owner:
    """Something to tie the bundle's lifetime to, like the job."""


def options(conf_paths=(), **values):
    return argparse.Namespace(conf_paths=list(conf_paths), **values)


def test_zip_holds_the_packages_sources(tmp_path):
    path = write_packages_zip(str(tmp_path / ZIP_NAME))
    names = set(zipfile.ZipFile(path).namelist())
    assert {"clickstream/__init__.py", "clickstream/events.py", "mr/__init__.py", "mr/base.py",
            "mr/mr_user_actions.py", "mr/shipping.py"} <= names
    assert not [name for name in names if "__pycache__" in name or not name.endswith(".py")]


def test_shipped_code_imports_without_site_packages(tmp_path):
    zip_path = write_packages_zip(str(tmp_path / ZIP_NAME))
    extensions = copy_extensions(str(tmp_path / EXTENSIONS_DIR))
    script = (
        "import sys; import clickstream.events as e, orjson; "
        "assert e.__file__.startswith(%r) and orjson.__file__.startswith(%r), (e.__file__, orjson.__file__); "
        "print(e.parse_event(b'{\"user_id\":\"u\",\"action\":\"a\",\"timestamp\":\"2024-12-29T10:00:00+01:00\"}').timestamp)"
        % (zip_path, extensions))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([extensions, zip_path]))
    # -S: no site-packages, so nothing installed can stand in for what was shipped
    result = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, env=env,
                            cwd=str(tmp_path))
    assert (result.returncode, result.stdout) == (0, "2024-12-29T09:00:00Z\n"), result.stderr


@pytest.mark.parametrize("alias", ["inline", "local"])
def test_nothing_is_shipped_on_runners_that_run_here(alias):
    kwargs = {"py_files": ["mine.py"], "setup": []}
    assert add_shipping(kwargs, options(), alias, Owner()) is kwargs


def test_hadoop_gets_zip_extensions_and_default_python(tmp_path):
    conf = tmp_path / "mrjob.conf"
    conf.write_text(json.dumps({"runners": {"hadoop": {"hadoop_tmp_dir": "file:///tmp/x"}}}))
    owner = Owner()
    kwargs = add_shipping({"py_files": ["mine.py"], "setup": ["touch x"]}, options([str(conf)]), "hadoop", owner)
    assert kwargs["py_files"][0] == "mine.py" and kwargs["py_files"][1].endswith("/" + ZIP_NAME)
    assert zipfile.is_zipfile(kwargs["py_files"][1])
    setup = kwargs["setup"][0]
    assert setup.startswith("export PYTHONPATH=") and setup.endswith("/%s/#:$PYTHONPATH" % EXTENSIONS_DIR)
    assert os.path.isdir(os.path.join(setup[len("export PYTHONPATH="):-len("/#:$PYTHONPATH")], "orjson"))
    assert kwargs["setup"][1] == "touch x"
    assert kwargs["python_bin"] == [sys.executable]
    bundle = os.path.dirname(kwargs["py_files"][1])
    del owner  # the bundle lives as long as its owner
    assert not os.path.exists(bundle)


@pytest.mark.parametrize("conf_runner, option", [
    ("hadoop", {"python_bin": None}),  # mrjob.conf names it
    (None, {"python_bin": ["python3.11"]}),  # the command line names it
    (None, {"task_python_bin": ["python3.11"]}),
])
def test_a_configured_python_is_never_overridden(tmp_path, conf_runner, option):
    conf = tmp_path / "mrjob.conf"
    runners = {conf_runner: {"python_bin": "/opt/py311/bin/python"}} if conf_runner else {}
    conf.write_text(json.dumps({"runners": runners}))
    kwargs = add_shipping({}, options([str(conf)], **option), "hadoop", Owner())
    assert "python_bin" not in kwargs
    assert kwargs["py_files"] and kwargs["setup"]
