"""The batch runner's pure planning: hour selection and the per-(job, partition) state machine."""
import pytest

from clickstream.errors import ConfigError
from clickstream.layout import parse_hour_option
from batch import plan

H = parse_hour_option("2024-12-29T05")


@pytest.mark.parametrize("kwargs, expected", [
    ({"hour": "2024-12-29T05"}, [H]),
    ({"date": "2024-12-29"}, list(range(H - 5, H + 19))),
    ({"backfill": ("2024-12-29T05", "2024-12-29T07")}, [H, H + 1, H + 2]),
    ({"backfill": ("2024-12-31T23", "2025-01-01T00")}, [parse_hour_option("2024-12-31T23"),
                                                        parse_hour_option("2025-01-01T00")]),
])
def test_explicit_hours(kwargs, expected):
    assert plan.explicit_hours(**kwargs) == expected


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one of --hour, --date, --backfill"),
    ({"hour": "2024-12-29T05", "date": "2024-12-29"}, r"got --hour, --date"),
    ({"hour": "2024-12-29 05"}, "--hour: '2024-12-29 05' is not an hour"),
    ({"date": "2024-02-30"}, "not a calendar date"),
    ({"backfill": ("2024-12-29T07", "2024-12-29T05")}, "is before"),
    ({"backfill": ("2024-12-01T00", "2024-12-29T05"), "max_hours": 24}, "more than run.max_backfill_hours = 24"),
])
def test_explicit_hours_rejects(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        plan.explicit_hours(**kwargs)


def test_incomplete_hours_and_pending_hours():
    assert plan.incomplete_hours([H, H + 1, H + 2], H + 1) == [H + 1, H + 2]
    assert plan.incomplete_hours([H], None) == [H]
    assert plan.pending_hours([H + 3, H, H + 2, H + 1], lambda hour: hour == H + 2) == [H, H + 1, H + 3]
    assert plan.pending_hours([H], lambda hour: True) == []


def test_launch_groups_keep_the_order_and_cap_each_group():
    hours = list(range(H, H + 7))
    assert plan.launch_groups(hours, 3) == [hours[0:3], hours[3:6], hours[6:7]]
    assert plan.launch_groups(hours, 168) == [hours]
    assert plan.launch_groups([], 24) == []


def committed(job, steps_and_parts, partition="dt=2024-12-29/hour=05"):
    """A manifest after committing each (step, parts) in turn."""
    manifest = None
    for step, parts in steps_and_parts:
        manifest = plan.commit_revision(manifest, job, partition, step, parts, {}, "t")
    return manifest


A, B, C = {"a.jsonl": 10}, {"b.jsonl": 20}, {"c.jsonl": 30}


def test_first_run_is_one_full_revision():
    steps = plan.plan_mr(None, dict(A, **B), additive=True)
    assert [(s.revision, s.kind, s.inputs) for s in steps] == [(0, "full", dict(A, **B))]
    assert plan.plan_mr(None, {}, additive=True) == []


def test_done_partition_needs_nothing():
    manifest = committed("user-actions", [(plan.MrStep(0, "full", dict(A, **B)), ["g000001-part-00000"])])
    assert plan.plan_mr(manifest, dict(A, **B), additive=True) == []
    assert plan.plan_mr(manifest, dict(A, **B), additive=False) == []


def test_late_file_for_an_additive_job_is_a_delta_of_just_the_new_file():
    manifest = committed("user-actions", [(plan.MrStep(0, "full", A), ["g000001-part-00000"])])
    steps = plan.plan_mr(manifest, dict(A, **B), additive=True)
    assert [(s.revision, s.kind, s.inputs, s.supersedes) for s in steps] == [(1, "delta", B, [])]
    manifest = plan.commit_revision(manifest, "user-actions", "dt=2024-12-29/hour=05", steps[0],
                                    ["g000002-part-00000"], {}, "t")
    assert [r["batch_id"] for r in plan.live_revisions(manifest)] == [
        "user-actions:dt=2024-12-29/hour=05", "user-actions:dt=2024-12-29/hour=05#r1"]
    assert plan.live_parts(manifest) == {"g000001-part-00000", "g000002-part-00000"}
    assert manifest["generation"] == 2
    # and the next late file is the revision after
    assert [(s.revision, s.inputs) for s in plan.plan_mr(manifest, dict(A, **B, **C), additive=True)] == [(2, C)]


def test_late_file_for_a_set_by_key_job_recomputes_the_hour_and_supersedes():
    manifest = committed("sessions", [(plan.MrStep(0, "full", A), ["g000001-part-00000"])])
    steps = plan.plan_mr(manifest, dict(A, **B), additive=False)
    assert [(s.revision, s.kind, s.inputs, s.supersedes) for s in steps] == [(1, "full", dict(A, **B), [0])]
    manifest = plan.commit_revision(manifest, "sessions", "dt=2024-12-29/hour=05", steps[0],
                                    ["g000002-part-00000"], {}, "t")
    live = plan.live_revisions(manifest)
    assert [(r["revision"], r["supersedes"]) for r in live] == [(1, ["sessions:dt=2024-12-29/hour=05"])]
    assert plan.live_parts(manifest) == {"g000002-part-00000"}


def test_force_recomputes_each_live_revision_of_an_additive_job_under_its_own_number():
    manifest = committed("user-actions", [(plan.MrStep(0, "full", A), ["g000001-part-00000"]),
                                          (plan.MrStep(1, "delta", B), ["g000002-part-00000"])])
    steps = plan.plan_mr(manifest, dict(A, **B, **C), additive=True, force=True)
    assert [(s.revision, s.inputs, s.replaces) for s in steps] == [(0, A, True), (1, B, True), (2, C, False)]
    manifest = plan.commit_revision(manifest, "user-actions", "dt=2024-12-29/hour=05", steps[0],
                                    ["g000003-part-00000"], {}, "t")
    assert plan.live_parts(manifest) == {"g000003-part-00000", "g000002-part-00000"}


def test_force_on_a_set_by_key_job_is_a_new_superseding_revision():
    manifest = committed("sessions", [(plan.MrStep(0, "full", A), ["g000001-part-00000"])])
    steps = plan.plan_mr(manifest, A, additive=False, force=True)
    assert [(s.revision, s.inputs, s.supersedes) for s in steps] == [(1, A, [0])]


@pytest.mark.parametrize("raw_files, message", [
    ({"b.jsonl": 20}, "a.jsonl is gone or resized"),
    ({"a.jsonl": 11, "b.jsonl": 20}, "a.jsonl is gone or resized"),
])
def test_changed_raw_files_are_refused(raw_files, message):
    manifest = committed("user-actions", [(plan.MrStep(0, "full", A), ["g000001-part-00000"])])
    with pytest.raises(plan.PartitionChanged, match=message):
        plan.check_unchanged("dt=2024-12-29/hour=05", raw_files, manifest)
    plan.check_unchanged("dt=2024-12-29/hour=05", dict(A, **B), manifest)  # additions are fine


def test_loads_follow_the_ledger():
    manifest = committed("user-actions", [(plan.MrStep(0, "full", A), ["p0"]), (plan.MrStep(1, "delta", B), ["p1"])])
    complete = {"user-actions:dt=2024-12-29/hour=05"}
    assert [r["revision"] for r in plan.plan_loads(manifest, complete.__contains__)] == [1]
    assert [r["revision"] for r in plan.plan_loads(manifest, complete.__contains__, redone={0})] == [0, 1]
    assert not plan.is_done(manifest, dict(A, **B), complete.__contains__)
    complete.add("user-actions:dt=2024-12-29/hour=05#r1")
    assert plan.is_done(manifest, dict(A, **B), complete.__contains__)
    assert not plan.is_done(manifest, dict(A, **B, **C), complete.__contains__)
    assert plan.is_done(None, {}, complete.__contains__)
