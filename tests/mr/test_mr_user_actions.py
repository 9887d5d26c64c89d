"""mr_user_actions against an independent plain-Python count, on every runner; selecting the raw
area by time; the counters summary."""
import gzip
import subprocess
import sys

import pytest

from mr.base import counters_summary
from mr.mr_user_actions import MRUserActions
from corpus import generated_lines
from reference import reference_user_actions
from job_checks import check_job_result


@pytest.fixture(scope="module")
def corpus():
    lines = generated_lines()
    expected, rejected = reference_user_actions(lines)
    assert rejected > 0 and len(expected) > 100  # the corpus really has both
    return lines, expected, rejected


def _check(output, counters, expected, rejected):
    check_job_result(output, counters, expected, rejected,
                     valid_events=sum(record["click_count"] for record in expected.values()))


@pytest.mark.inline_runner
def test_inline_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRUserActions, lines, runner="inline", files=3)
    _check(output, counters, expected, rejected)


def test_local_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRUserActions, lines, runner="local", files=4)
    _check(output, counters, expected, rejected)


@pytest.mark.inline_runner
def test_spilling_combiner_gives_the_same_answer(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRUserActions, lines, runner="inline", extra_args=["--combine-users", "7"], files=2)
    _check(output, counters, expected, rejected)
    assert counters["clickstream"]["combiner spills"] > 0


@pytest.mark.inline_runner
def test_a_table_over_its_memory_budget_spills_and_gives_the_same_answer(run_job):
    # many users, each seen early and late in the file, with an action the first users never had:
    # the table must spill (1 MiB is less than the interpreter alone) and lists must grow
    users = ["user-%05d" % number for number in range(3 * 4096)]
    lines = [b'{"user_id":"%s","action":"page_view","timestamp":"2024-12-29T07:%02d:00Z"}' % (user.encode(), n % 60)
             for n, user in enumerate(users)]
    lines += [b'{"user_id":"%s","action":"%s","timestamp":"2024-12-29T08:00:00Z"}' % (
        user.encode(), b"purchase" if n % 3 else b"search") for n, user in enumerate(reversed(users))]
    expected, rejected = reference_user_actions(lines)
    output, counters = run_job(MRUserActions, lines, extra_args=["--combine-memory-mb", "1"])
    check_job_result(output, counters, expected, rejected, valid_events=len(lines))
    assert counters["clickstream"]["combiner spills"] >= 3


@pytest.mark.inline_runner
def test_ties_and_offsets(run_job):
    lines = [
        b'{"user_id":"t","action":"zoom","timestamp":"2024-12-29T12:00:00Z"}',
        b'{"user_id":"t","action":"add_to_cart","timestamp":"2024-12-29T13:00:00+01:00"}',
        b'{"user_id":"t","action":"search","timestamp":"2024-12-29T11:59:59.999999Z"}',
    ]
    for files in (1, 3):
        output, _counters = run_job(MRUserActions, lines, files=files)
        assert output["t"]["last_action"] == "zoom"  # same instant as add_to_cart; greatest name wins
        assert output["t"]["first_seen"] == "2024-12-29T11:59:59.999999Z"


@pytest.mark.inline_runner
def test_unhashable_action_and_timestamp_are_rejected_not_crashing(run_job):
    lines = [
        b'{"user_id":"a","action":["click"],"timestamp":"2024-12-29T12:00:00Z"}',
        b'{"user_id":"a","action":"click","timestamp":{"at":"2024-12-29T12:00:00Z"}}',
        b'{"user_id":"a","action":"click","timestamp":"2024-12-29T12:00:00Z"}',
    ]
    output, counters = run_job(MRUserActions, lines)
    assert output == {"a": {"actions": {"click": 1}, "click_count": 1, "first_seen": "2024-12-29T12:00:00Z",
                            "last_action": "click", "last_seen": "2024-12-29T12:00:00Z"}}
    assert counters["clickstream rejected"] == {"action_not_string": 1, "timestamp_not_string": 1}


def _raw_area(root, lines):
    """Lines spread over two hour partitions of one day and one of the next, plus hidden files."""
    layout = {
        "dt=2024-12-29/hour=09/t+0+1+2.jsonl": lines[0::3],
        "dt=2024-12-29/hour=10/t+0+3+4.jsonl.gz": lines[1::3],
        "dt=2024-12-30/hour=00/t+0+5+6.jsonl": lines[2::3],
        "dt=2024-12-29/hour=10/_t+0+7+8.jsonl": [b"garbage"],
        "dt=2024-12-29/hour=10/.t+0+7+8.jsonl.crc": [b"garbage"],
    }
    for name, part in layout.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = b"".join(line + b"\n" for line in part)
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return lines[0::3] + lines[1::3], lines[2::3]


@pytest.mark.parametrize("runner", ["inline", "local"])
def test_date_and_hour_select_the_raw_area(tmp_path, corpus, runner):
    lines = corpus[0][:3000]
    day, next_day = _raw_area(tmp_path / "raw", lines)
    for selection, selected in ((["--date", "2024-12-29"], day), (["--hour", "2024-12-30T00"], next_day)):
        job = MRUserActions(["-r", runner, "--no-conf", "--sink", str(tmp_path / "raw"), *selection])
        with job.make_runner() as job_runner:
            job_runner.run()
            output = dict(job.parse_output(job_runner.cat_output()))
        assert output == reference_user_actions(selected)[0]


def test_input_paths_and_a_selection_do_not_mix(tmp_path):
    # mrjob turns argument errors into ValueError when args come from code (exit 2 on the command line)
    with pytest.raises(ValueError, match="--sink/--date/--hour select the input; got INPUT paths too"):
        MRUserActions(["--sink", str(tmp_path), "--date", "2024-12-29", str(tmp_path / "x.jsonl")])


def test_command_line_prints_the_counters_summary(tmp_path, corpus):
    lines, expected, rejected = corpus
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    (tmp_path / "_wip.jsonl").write_bytes(b"garbage\n")
    result = subprocess.run([sys.executable, "-m", "mr.mr_user_actions", "-r", "inline", "--no-conf",
                             str(path), str(tmp_path / "_wip.jsonl")], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    assert len(result.stdout.splitlines()) == len(expected)
    last = result.stderr.decode().splitlines()[-1]
    valid = sum(r["click_count"] for r in expected.values())
    assert last.startswith("clickstream counters: events valid %d, hidden files skipped 1, lines read %d, "
                           "users output %d; rejected %d (" % (valid, valid + rejected, len(expected), rejected))


@pytest.mark.parametrize("steps, line", [
    ([], "clickstream counters: none; rejected 0"),
    ([{"clickstream": {"events valid": 5}}, {"other": {"x": 1}}], "clickstream counters: events valid 5; rejected 0"),
    ([{"clickstream": {"events valid": 5, "users output": 2},
       "clickstream rejected": {"not_utf8": 1, "invalid_json": 2}},
      {"clickstream": {"users output": 1}}],
     "clickstream counters: events valid 5, users output 3; rejected 3 (invalid_json 2, not_utf8 1)"),
])
def test_counters_summary(steps, line):
    assert counters_summary(steps) == line
