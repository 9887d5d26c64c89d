"""One launch over many hours (--by-partition) against each hour's own launch: the same lines and
the same counters per hour, for every job; and the tag splitter on good and broken lines."""
import os
from datetime import datetime, timezone

import pytest

from clickstream.jobs import JOB_NAMES
from clickstream.layout import hour_partition
from corpus import generated_lines, lines_by_hour, session_lines
from mr import job_class
from mr.base import sum_counters
from mr.partition_tags import TaggedOutputError, counters_of, partition_of_uri, split_tagged_lines

CLICKSTREAM_GROUPS = ("clickstream", "clickstream rejected")


def test_partition_of_uri_takes_the_raw_partition_of_a_file():
    assert partition_of_uri("hdfs:///raw/dt=2024-12-29/hour=03/clicks+0+1+9.jsonl") == "dt=2024-12-29/hour=03"
    assert partition_of_uri("/tmp/x/dt=2024-01-01/hour=23/a.jsonl.gz") == "dt=2024-01-01/hour=23"
    for outside in ("/tmp/x/a.jsonl", "/tmp/dt=2024-01-01/a.jsonl", "/tmp/dt=2024-01-01/hour=23/"):
        with pytest.raises(ValueError, match="not a file of a raw hour partition"):
            partition_of_uri(outside)


def test_split_untags_records_and_sums_counts_per_partition():
    lines = [b'["dt=2024-12-29/hour=03","u1"]\t{"n":1}\n',
             b'["dt=2024-12-29/hour=04",["u\\t2",null]]\t[1,2]\n',
             b'["dt=2024-12-29/hour=03"]\t[["clickstream","lines read",5]]\n',
             b'["dt=2024-12-29/hour=03"]\t[["clickstream","lines read",2],["clickstream rejected","bad",1]]',
             b"\n"]
    by_partition, tallies = {}, {}
    split_tagged_lines(lines, by_partition, tallies)
    assert by_partition == {"dt=2024-12-29/hour=03": [b'"u1"\t{"n":1}\n'],
                            "dt=2024-12-29/hour=04": [b'["u\\t2",null]\t[1,2]\n']}
    assert counters_of(tallies["dt=2024-12-29/hour=03"]) == {"clickstream": {"lines read": 7},
                                                             "clickstream rejected": {"bad": 1}}


@pytest.mark.parametrize("line", [b'"u1"\t{}', b'["dt=2024-12-29/hour=3","u"]\t1', b'["dt=2024-12-29/hour=03"x]\t1',
                                  b'["dt=2024-12-29/hour=03","u"]'])
def test_split_refuses_a_line_without_a_tag(line):
    with pytest.raises(TaggedOutputError):
        split_tagged_lines([line], {}, {})


# where lines that are no event land: the first hour of the corpora
FIRST_HOUR = int(datetime(2024, 12, 29, tzinfo=timezone.utc).timestamp()) // 3600


def land_by_hour(root, lines, files_per_hour=2):
    """The raw area the ingest would write: event-time hour partitions, a few files each (lines
    that are no event go to the first hour). Returns {partition: [file paths]}."""
    paths = {}
    for hour, hour_lines in sorted(lines_by_hour(lines, FIRST_HOUR).items()):
        folder = os.path.join(root, hour_partition(hour))
        os.makedirs(folder)
        for number in range(files_per_hour):
            path = os.path.join(folder, "clicks+%d.jsonl" % number)
            with open(path, "wb") as stream:
                stream.writelines(line + b"\n" for line in hour_lines[number::files_per_hour])
            paths.setdefault(hour_partition(hour), []).append(path)
    return paths


def launch(job, paths, runner, by_partition=False):
    """(output lines, counters of the clickstream groups) of one launch over ``paths``."""
    args = ["-r", runner, "--no-conf"] + (["--by-partition"] if by_partition else []) + list(paths)
    instance = job_class(job)(args=args)
    with instance.make_runner() as job_runner:
        job_runner.run()
        lines = b"".join(job_runner.cat_output()).splitlines(keepends=True)  # chunks, not lines
        counters = sum_counters(job_runner.counters())
    return lines, counters


def own_counters(counters):
    """The clickstream groups, without zero counts (an hour no reduce key reached counts nothing)."""
    return {group: {name: count for name, count in counters.get(group, {}).items() if count}
            for group in CLICKSTREAM_GROUPS}


@pytest.fixture(scope="module")
def raw_hours(tmp_path_factory):
    lines = generated_lines(events=4_000, users=250, malformed=0.02) + session_lines()
    paths = land_by_hour(str(tmp_path_factory.mktemp("raw")), lines)
    assert len(paths) >= 6
    return paths


def check_one_launch_equals_hourly_launches(job, raw_hours, runner):
    tagged, tagged_counters = launch(job, [path for paths in raw_hours.values() for path in paths], runner,
                                     by_partition=True)
    by_partition, tallies = {}, {}
    split_tagged_lines(tagged, by_partition, tallies)
    assert set(tallies) == set(raw_hours)  # every hour's files were counted, output or not
    total_read = 0
    for partition, paths in raw_hours.items():
        lines, counters = launch(job, paths, runner)
        assert sorted(by_partition.get(partition, [])) == sorted(lines), (job, partition)
        assert own_counters(counters_of(tallies[partition])) == own_counters(counters), (job, partition)
        total_read += counters["clickstream"]["lines read"]
    # Hadoop's own counters still add up over the launch
    assert tagged_counters["clickstream"]["lines read"] == total_read


@pytest.mark.inline_runner
@pytest.mark.parametrize("job", JOB_NAMES)
def test_one_inline_launch_equals_each_hours_own(job, raw_hours):
    check_one_launch_equals_hourly_launches(job, raw_hours, "inline")


@pytest.mark.parametrize("job", ["hourly-activity", "sessions"])  # two steps; a secondary sort
def test_one_local_launch_equals_each_hours_own(job, raw_hours):
    check_one_launch_equals_hourly_launches(job, raw_hours, "local")
