"""`clickstream mr --help` lists every job in mr.JOBS with its one-line summary."""
from click.testing import CliRunner

from cli import main
from mr import JOBS
from mr.catalog import job_lines, job_summary


def test_every_job_has_a_summary_line():
    rows = job_lines()
    assert [name for name, _module, _summary in rows] == sorted(JOBS)
    for _name, _module, summary in rows:
        assert summary and "\n" not in summary


def test_summary_comes_from_the_module_docstring():
    assert job_summary("mr.mr_user_actions:MRUserActions").startswith("Per-user action counts")
    assert job_summary("mr.no_such_job:MRNothing") == "(module mr.no_such_job not found)"


def test_mr_help_lists_the_jobs_and_the_selection_options():
    result = CliRunner().invoke(main, ["mr", "--help"])
    assert result.exit_code == 0, result.output
    for name, _module, summary in job_lines():
        assert any(line.split() and line.split()[0] == name and summary in line for line in result.output.splitlines())
    for option in ("--sink", "--date", "--hour"):
        assert option in result.output
