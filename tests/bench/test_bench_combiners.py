"""bench_combiners' plain computation agrees with the jobs it checks, and its check can fail."""
import json

import pytest

from bench import bench_combiners
from mr.mr_hourly_activity import MRHourlyActivity
from mr.mr_product_popularity import MRProductPopularity


def events():
    lines = []
    for minute in range(0, 180, 7):
        for user in ("ann", "bob", "cy"):
            action = ("view_product", "add_to_cart", "purchase", "search")[(minute + len(user)) % 4]
            event = {"user_id": user, "action": action, "timestamp": "2024-12-29T%02d:%02d:00+00:00" % (
                minute // 60, minute % 60)}
            if action != "search":
                event["product_id"] = (minute % 3) if user == "cy" else "p%d" % (minute % 3)  # ints are ids too
            lines.append(json.dumps(event))
    lines += ["not json", json.dumps({"user_id": "dan", "action": "view_product", "timestamp": "yesterday",
                                      "product_id": "p1"})]
    return lines


def job_output(job_class, path):
    job = job_class(["-r", "inline", "--no-conf", str(path)])
    with job.make_runner() as runner:
        runner.run()
        return {key: value for key, value in job.parse_output(runner.cat_output())}


@pytest.mark.inline_runner
@pytest.mark.parametrize("name, job_class", [("product-popularity", MRProductPopularity),
                                              ("hourly-activity", MRHourlyActivity)])
def test_the_plain_answers_are_the_jobs_answers(tmp_path, name, job_class):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(events()) + "\n")
    expected = bench_combiners.plain_answers([str(path)])[name]
    assert expected and job_output(job_class, path) == expected
    expected[next(iter(expected))]["events"] += 1
    assert job_output(job_class, path) != expected
