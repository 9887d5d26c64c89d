"""The two commands' wiring: options, defaults, and one-line failures."""
import pytest
from click.testing import CliRunner

from cli import main


@pytest.fixture
def cli(monkeypatch):
    for name in ("MONGODB_URI", "CLICKSTREAM_MONGO_URI", "CLICKSTREAM_CONFIG", "CLICKSTREAM_SINK"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_help_lists_both_commands_and_the_loopback_default(cli):
    assert "\n  dashboard " in cli.invoke(main, ["--help"]).output
    assert "\n  report " in cli.invoke(main, ["--help"]).output
    assert "[default: 127.0.0.1]" in cli.invoke(main, ["dashboard", "--help"]).output


@pytest.mark.parametrize("args, message, code", [
    (["report", "--html", "x.html"], "--mongo-uri is required", 2),
    (["report", "--html", "x.html", "--mongo-uri", "mongodb://h/", "--date", "2024-02-30"],
     "--date: '2024-02-30' is not a calendar date", 2),
    (["dashboard"], "--mongo-uri is required", 2),
    (["dashboard", "--mongo-uri", "mongodb://h/", "--port", "0"], "Invalid value for '--port'", 2),
])
def test_bad_options_are_one_line(cli, args, message, code, tmp_path):
    result = cli.invoke(main, args)
    assert result.exit_code == code and message in result.output, result.output
    assert not (tmp_path / "x.html").exists()


def test_report_of_a_database_that_is_down_is_one_masked_line(cli, tmp_path):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli.invoke(main, ["report", "--html", str(tmp_path / "r.html"), "--mongo-uri",
                               "mongodb://bob:hunter2@127.0.0.1:%d/" % port])
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1 and "hunter2" not in result.output
    assert "query against mongodb://***@127.0.0.1:%d/ failed" % port in result.output
    assert list(tmp_path.iterdir()) == []
