"""`clickstream run` knows a batch by its content (issue 13): an hour loaded by hand, then a late
file, is loaded again by the run with the late events; and a record for another hour fails the
run's reconciliation, naming the hour (issue 12)."""
import os

import pytest

from clickstream.layout import hour_partition
from batch.area import open_area
from batch.runner import EXIT_FAILED, EXIT_OK, BatchRun
from corpus import generated_lines
from loaders.joboutput import JobOutputSource
from loaders.load import default_batch_id, load_batch
from mr.mr_user_actions import MRUserActions
from run_settings import run_settings
from test_run_runner import HOUR, expected_totals, in_hour, land, set_watermark, user_totals

pytestmark = pytest.mark.inline_runner


def hand_mr_and_load(db, raw_root, out_root, job_class, job):
    """`clickstream mr JOB --hour H > out/dt=…/hour=…/part-00000`, then `clickstream load JOB out/…`,
    as the CLI does them."""
    folder = os.path.join(raw_root, hour_partition(HOUR))
    inputs = [os.path.join(folder, name) for name in sorted(os.listdir(folder))]
    out = os.path.join(out_root, hour_partition(HOUR))
    os.makedirs(out)
    instance = job_class(args=["-r", "inline", "--no-conf", *inputs])
    with instance.make_runner() as runner, open(os.path.join(out, "part-00000"), "wb") as stream:
        runner.run()
        stream.writelines(runner.cat_output())
    source = JobOutputSource([out])
    batch_id = default_batch_id(job, source.files, describe=source.describe)
    rejected = {}
    stats = load_batch(db, job, source.records(rejected), batch_id, source.files, rejected, content=source.content())
    assert not rejected and not stats["skipped"]
    return batch_id


def test_an_hour_loaded_by_hand_then_a_late_file_is_loaded_by_the_run(tmp_path, mongo_db):
    raw_root = str(tmp_path / "raw")
    lines = generated_lines(events=4000, users=200, malformed=0.01, seed=41)
    first = lines[:3000]
    late = lines[3000:] + [b'{"user_id":"late-user","action":"page_view","timestamp":"2024-12-29T03:30:00Z"}']
    lines = first + late
    land(raw_root, first, "clicks+0+00000000000000000000+00000000000000002999.jsonl")
    set_watermark(raw_root, HOUR + 1)
    batch_id = hand_mr_and_load(mongo_db, raw_root, str(tmp_path / "out"), MRUserActions, "user-actions")
    assert batch_id == "user-actions:%s" % hour_partition(HOUR)  # the run's revision-0 id too
    assert user_totals(mongo_db) == expected_totals(in_hour(first, HOUR))
    land(raw_root, late, "clicks+0+00000000000000003000+00000000000000003999.jsonl")
    late_users = set(expected_totals(in_hour(lines, HOUR))) - set(expected_totals(in_hour(first, HOUR)))
    assert late_users  # a new user only the late file has

    settings = run_settings(sink=raw_root, mongo_uri="x", jobs=["user-actions"], runner="inline",
                            hour="2024-12-29T03")
    code, summary = BatchRun(settings, open_area(raw_root), mongo_db).execute()
    assert code == EXIT_OK and "1 loads" in summary, summary
    assert user_totals(mongo_db) == expected_totals(in_hour(lines, HOUR))
    code, summary = BatchRun(settings, open_area(raw_root), mongo_db).execute()
    assert code == EXIT_OK and "0 loads" in summary and "1 up to date" in summary, summary
    assert user_totals(mongo_db) == expected_totals(in_hour(lines, HOUR))


def test_a_record_for_another_hour_fails_the_run_naming_the_hour(tmp_path, mongo_db):
    raw_root = str(tmp_path / "raw")
    lines = generated_lines(events=2000, users=100, malformed=0, seed=43)
    this_hour, next_hour = in_hour(lines, HOUR), in_hour(lines, HOUR + 1)
    assert this_hour and next_hour
    # a hand-made raw area: the next hour's events in this hour's folder
    folder = os.path.join(raw_root, hour_partition(HOUR))
    os.makedirs(folder)
    with open(os.path.join(folder, "clicks+0+1+2.jsonl"), "wb") as stream:
        stream.writelines(line + b"\n" for line in this_hour + next_hour)
    settings = run_settings(sink=raw_root, mongo_uri="x", jobs=["hourly-activity"], runner="inline",
                            hour="2024-12-29T03", ignore_watermark=True)
    code, summary = BatchRun(settings, open_area(raw_root), mongo_db).execute()
    assert code == EXIT_FAILED, summary
    assert "dt=2024-12-29/hour=03" in summary and "hour_outside_batch: 1" in summary, summary
    assert [doc["hour"] for doc in mongo_db.hourly_activity.find()] == ["2024-12-29T03"]
    assert mongo_db.hourly_activity.find_one()["events"] == len(this_hour)
    assert "\n" not in summary  # one line for cron
