"""One line per job for help screens, read from the job modules' source (no imports, so
``clickstream --help`` stays fast and a broken job cannot break the listing)."""
import ast
import importlib.util

from mr import JOBS


def job_summary(target):
    """'mr.mr_x:MRX' -> the first line of the module's docstring, else of MRX's ('' if none)."""
    module_name, _, class_name = target.partition(":")
    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.origin:
        return "(module %s not found)" % module_name
    with open(spec.origin, encoding="utf-8") as stream:
        tree = ast.parse(stream.read(), spec.origin)
    docstring = ast.get_docstring(tree)
    for node in tree.body:
        if not docstring and isinstance(node, ast.ClassDef) and node.name == class_name:
            docstring = ast.get_docstring(node)
    docstring = docstring or ""
    return docstring.strip().split("\n")[0]


def job_lines():
    """[(CLI job name, module, one-line summary)] for every job in ``mr.JOBS``, sorted by name."""
    return [(name, JOBS[name].partition(":")[0], job_summary(JOBS[name])) for name in sorted(JOBS)]


def mr_command_help():
    """The help text of ``clickstream mr``: usage notes, then one line per job."""
    lines = [
        "Run a MapReduce JOB with mrjob options and INPUT paths (e.g. -r local data/*.jsonl), or pick "
        "the raw area's partitions with --sink ROOT and --date YYYY-MM-DD or --hour YYYY-MM-DDTHH "
        "(ROOT: a path, file:///, or hdfs:///). Output goes to stdout; counters and a one-line "
        "summary of the clickstream counters to stderr. `clickstream mr JOB --help` lists a job's options.",
        "",
        "\b",
        "Jobs:",
    ]
    rows = job_lines()
    width = max(len(name) for name, _module, _summary in rows)
    lines.extend("  %-*s  %s" % (width, name, summary) for name, _module, summary in rows)
    return "\n".join(lines)
