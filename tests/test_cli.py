"""The click app: its commands, honest refusals, generate and the demo."""
import json

import pytest
from click.testing import CliRunner

from cli import main
from reference import reference_user_actions


@pytest.fixture
def cli():
    return CliRunner()


def test_help_lists_every_command(cli):
    result = cli.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("generate", "ingest", "mr", "load", "query", "run", "demo"):
        assert "\n  %s " % command in result.output


@pytest.mark.parametrize("command", [["run", "--hour", "2024-01-01T00"]])
def test_commands_not_built_yet_say_so_and_fail(cli, command):
    result = cli.invoke(main, command)
    assert result.exit_code != 0
    assert "not implemented yet" in result.output


def test_generate_to_a_file_is_deterministic(cli, tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for path in (first, second):
        assert cli.invoke(main, ["generate", "-n", "2000", "--seed", "9", "-o", str(path)]).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    assert len(first.read_bytes().splitlines()) == 2000


def test_generate_bad_option_is_one_line(cli):
    result = cli.invoke(main, ["generate", "--malformed", "2"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "--malformed" in result.output


def test_mr_then_load_then_query(cli, tmp_path, monkeypatch):
    events = tmp_path / "events.jsonl"
    cli.invoke(main, ["generate", "-n", "3000", "--users", "50", "--malformed", "0.02", "-o", str(events)])
    result = cli.invoke(main, ["mr", "user-actions", "-r", "inline", "--no-conf", str(events)])
    assert result.exit_code == 0, result.output
    output = {}
    for line in result.stdout.splitlines():
        key, value = line.split("\t")
        output[json.loads(key)] = json.loads(value)
    expected, _rejected = reference_user_actions(events.read_bytes().splitlines())
    assert output == expected


def test_demo_prints_the_top_users_table(cli):
    result = cli.invoke(main, ["demo", "-n", "5000", "--users", "100", "-r", "inline", "--top", "5"])
    assert result.exit_code == 0, result.output
    assert "Top 5 users by clicks" in result.output
    table = result.stdout.split("Top 5 users by clicks:")[1].strip().splitlines()
    counts = [int(line.split()[1]) for line in table[2:7]]
    assert counts == sorted(counts, reverse=True) and len(counts) == 5
    assert "db.user_clicks.find(" in result.output
