"""Recovery from names: the next offset per partition over every hour, data and rejects alike."""
import pytest

from clickstream.layout import data_file_name
from ingest.recovery import (
    decode_manifest, encode_manifest, next_offsets, parse_committed_name, plan_roll_forward, resume_offset,
)


@pytest.mark.parametrize("name, parsed", [
    ("clicks+2+00000000000000000010+00000000000000000019.jsonl", ("clicks", 2, 10, 19)),
    ("clicks+0+00000000000000000000+00000000000000000000.jsonl.gz", ("clicks", 0, 0, 0)),
    ("my.topic-1+12+5+7.jsonl", ("my.topic-1", 12, 5, 7)),
    ("clicks+2+10+9.jsonl", None),           # first after last
    ("clicks+2+10+19.json", None),
    ("_tmp.clicks+2+10+19.jsonl", None),
    (".clicks+2+10+19.jsonl.tmp", None),
    ("clicks+x+10+19.jsonl", None),
    ("clicks+2+10.jsonl", None),
])
def test_parse_committed_name(name, parsed):
    assert parse_committed_name(name) == parsed


def test_names_round_trip_with_the_shared_layout():
    assert parse_committed_name(data_file_name("clicks", 3, 123, 456)) == ("clicks", 3, 123, 456)


def reference_next(files):
    """Independent: expand every file's range and take the largest offset seen."""
    best = {}
    for topic, partition, first, last in files:
        if topic == "clicks":
            best[partition] = max(best.get(partition, -1), *range(first, last + 1))
    return {partition: offset + 1 for partition, offset in best.items()}


def test_next_offset_is_one_past_the_largest_last_offset_in_any_hour_or_rejects():
    # One flush of partition 0 covering offsets 0..9 split over two hours and the rejects,
    # then a second flush 10..14; partition 1 only has an old hour; another topic is ignored.
    files = [("clicks", 0, 0, 8, "dt=2024-12-29/hour=10"), ("clicks", 0, 1, 9, "dt=2024-12-29/hour=09"),
             ("clicks", 0, 4, 4, "_rejected/dt=2026-01-01/hour=00"), ("clicks", 0, 10, 14, "dt=2024-12-29/hour=10"),
             ("clicks", 1, 0, 3, "dt=2020-01-01/hour=00"), ("other", 0, 0, 99, "dt=2024-12-29/hour=10"),
             ("clicks", 2, 0, 50, "_ingest/tmp/clicks+2")]
    paths = ["%s/%s" % (folder, data_file_name(t, p, a, b)) for t, p, a, b, folder in files]
    assert next_offsets("clicks", paths) == {0: 15, 1: 4} == reference_next(
        [f[:4] for f in files if not f[4].startswith("_ingest")])


def test_a_manifest_counts_even_before_its_files_are_renamed():
    manifest = decode_manifest(encode_manifest("clicks", 0, 15, 20, [("_ingest/tmp/a", "dt=x/hour=1/f")], None))
    assert next_offsets("clicks", [], [manifest]) == {0: 21}


def test_roll_forward_renames_only_what_is_left():
    manifest = {"moves": [("t1", "f1"), ("t2", "f2"), ("t3", "f3")]}
    assert plan_roll_forward(manifest, {"f1", "t2", "t3"}) == ([("t2", "f2"), ("t3", "f3")], [])
    assert plan_roll_forward(manifest, {"f1", "f2", "f3"}) == ([], [])
    assert plan_roll_forward(manifest, {"f1", "t2"}) == ([("t2", "f2")], ["f3"])


@pytest.mark.parametrize("raw", [b"", b"[]", b'{"moves": []}', b'{"moves": 3, "last_offset": 1, "partition": 0}'])
def test_a_damaged_manifest_is_named(raw):
    with pytest.raises(ValueError, match="where.json is not a flush manifest"):
        decode_manifest(raw, "where.json")


@pytest.mark.parametrize("sink_next, beginning, end, offset, problem", [
    (10, 0, 20, 10, None),
    (0, 0, 0, 0, None),
    (3, 5, 20, 5, "offsets 3..4 were deleted by retention"),
    (25, 0, 20, 25, "the sink holds offsets up to 24 but the log ends at 20"),
])
def test_resume_offset(sink_next, beginning, end, offset, problem):
    got_offset, got_problem = resume_offset(sink_next, beginning, end)
    assert got_offset == offset
    assert (got_problem is None) if problem is None else got_problem.startswith(problem)
