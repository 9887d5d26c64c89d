"""The layers: the core (clickstream) imports no stage; no stage (mr, ingest, loaders) imports
another stage or what sits above them (batch, dashboard, cli). Every import statement counts,
function-local ones included."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORE = "clickstream"
STAGES = ("mr", "ingest", "loaders")
ABOVE = ("batch", "dashboard", "cli")
PROJECT = (CORE,) + STAGES + ABOVE


def imported_packages(path):
    """The project's top-level packages that a module's import statements name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in PROJECT)
    return found


def modules_of(package):
    return sorted((ROOT / package).rglob("*.py"))


def forbidden_for(package):
    if package == CORE:
        return set(STAGES + ABOVE)
    if package in STAGES:
        return set(STAGES + ABOVE) - {package}
    raise AssertionError(package)


@pytest.mark.parametrize("package", (CORE,) + STAGES)
def test_a_layer_imports_nothing_beside_or_above_it(package):
    offending = {str(path.relative_to(ROOT)): sorted(imported_packages(path) & forbidden_for(package))
                 for path in modules_of(package)}
    assert {path: names for path, names in offending.items() if names} == {}


def test_the_check_sees_function_local_imports(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("import os\n\ndef later():\n    from loaders.load import load_batch\n    import batch.runner\n")
    assert imported_packages(module) == {"loaders", "batch"}


def test_every_package_has_modules():
    # an empty glob (a renamed package) would make the layer test above pass vacuously
    for package in PROJECT[:-1]:
        assert modules_of(package), package
