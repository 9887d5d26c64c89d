"""What a job ships to task nodes where the project is not installed (``-r hadoop`` and other
cluster runners): the ``clickstream`` and ``mr`` packages as one zip on the task's PYTHONPATH,
and orjson, a compiled extension that cannot be imported from a zip, as an unpacked directory.

How it travels (mrjob 0.7.4 options, added to whatever the command line and mrjob.conf give):
- ``py_files``: ``clickstream_packages.zip`` (the packages' ``.py`` sources), built at launch;
  mrjob ships it and prepends it to PYTHONPATH in the task's setup wrapper.
- ``setup``: ``export PYTHONPATH=<dir>/#:$PYTHONPATH`` where ``<dir>`` holds a copy of the
  installed ``orjson/`` package; mrjob tars the folder, Hadoop unpacks it in the task's working
  directory, and the task's python imports orjson from there.
- ``python_bin``: the shipped orjson is built for the submitting interpreter's ABI, so the task
  side must run the same minor version. When neither ``--python-bin``/``--task-python-bin`` nor
  mrjob.conf names one, the default is the submitting interpreter (``sys.executable``): right on
  the single-machine stack, where task "nodes" are this machine. A real cluster sets
  ``python_bin`` in mrjob.conf to a python of the same minor version on its nodes.

Inline and local runners run tasks on this machine, where the project is installed: nothing is
shipped, so they pay nothing for it.
"""
import os
import shutil
import sys
import tempfile
import weakref
import zipfile

from mrjob.conf import load_opts_from_mrjob_confs

# Runners whose tasks run in this machine's environment, with the project installed.
IN_PLACE_RUNNERS = ("inline", "local")
# Pure-Python packages every job imports, shipped as one zip.
SHIPPED_PACKAGES = ("clickstream", "mr")
# Compiled extensions, shipped as directories (zipimport cannot load a shared object).
SHIPPED_EXTENSIONS = ("orjson",)
ZIP_NAME = "clickstream_packages.zip"
EXTENSIONS_DIR = "clickstream_extensions"


def package_dir(name):
    """The installed directory of an importable package."""
    module = __import__(name)
    return os.path.dirname(os.path.abspath(module.__file__))


def write_packages_zip(path, packages=SHIPPED_PACKAGES):
    """Zip the ``.py`` files of ``packages`` (as importable top-level packages) into ``path``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in packages:
            root = package_dir(name)
            parent = os.path.dirname(root)
            for folder, subfolders, files in os.walk(root):
                subfolders[:] = sorted(d for d in subfolders if d != "__pycache__" and not d.startswith("."))
                for file_name in sorted(files):
                    if file_name.endswith(".py"):
                        full = os.path.join(folder, file_name)
                        archive.write(full, os.path.relpath(full, parent))
    return path


def copy_extensions(folder, extensions=SHIPPED_EXTENSIONS):
    """Copy each installed extension package into ``folder`` (which goes on the task's PYTHONPATH)."""
    os.makedirs(folder, exist_ok=True)
    for name in extensions:
        shutil.copytree(package_dir(name), os.path.join(folder, name),
                        ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def python_bin_configured(options, runner_alias):
    """True when the command line or an mrjob.conf sets the task side's python."""
    if getattr(options, "python_bin", None) or getattr(options, "task_python_bin", None):
        return True
    for _path, values in load_opts_from_mrjob_confs(runner_alias, getattr(options, "conf_paths", None)):
        if values.get("python_bin") or values.get("task_python_bin"):
            return True
    return False


def add_shipping(kwargs, options, runner_alias, owner):
    """Runner keyword arguments ``kwargs`` plus the shipped packages and extensions.

    The bundle is built in a temporary folder removed when ``owner`` (the runner) is collected
    or the process exits. Returns the new kwargs; ``kwargs`` is not modified.
    """
    if runner_alias in IN_PLACE_RUNNERS:
        return kwargs
    bundle = tempfile.mkdtemp(prefix="clickstream-ship-")
    weakref.finalize(owner, shutil.rmtree, bundle, True)
    zip_path = write_packages_zip(os.path.join(bundle, ZIP_NAME))
    extensions = copy_extensions(os.path.join(bundle, EXTENSIONS_DIR))
    kwargs = dict(kwargs)
    kwargs["py_files"] = list(kwargs.get("py_files") or ()) + [zip_path]
    # '<dir>/#': mrjob uploads the folder as an archive and puts its unpacked path here.
    kwargs["setup"] = ["export PYTHONPATH=%s/#:$PYTHONPATH" % extensions] + list(kwargs.get("setup") or ())
    if not python_bin_configured(options, runner_alias):
        kwargs["python_bin"] = [sys.executable]
    return kwargs
