"""mr_product_popularity against an independent plain-Python count, on every runner."""
import pytest

from mr.mr_product_popularity import MRProductPopularity
from corpus import generated_lines, product_id_lines, session_lines
from reference import reference_id, reference_product_popularity, reference_product_users, reference_record
from job_checks import check_job_result


@pytest.fixture(scope="module")
def corpus():
    lines = generated_lines() + product_id_lines() + session_lines()
    expected, rejected = reference_product_popularity(lines)
    users = reference_product_users(lines)
    expected = {product: dict(record, users=sorted(users[product])) for product, record in expected.items()}
    assert rejected > 0 and len(expected) > 100
    assert any(record["view_to_cart"] is None for record in expected.values())
    assert any(record["cart_to_purchase"] is None for record in expected.values())
    assert any(record["distinct_users"] < record["events"] for record in expected.values())
    return lines, expected, rejected


def _unusable_product_ids(lines):
    """Valid events whose product_id is present and not null but is no usable id."""
    count = 0
    for line in lines:
        record = reference_record(line)
        if record is not None and record[3].get("product_id") is not None and reference_id(record[3]["product_id"]) is None:
            count += 1
    return count


def _check(output, counters, expected, rejected, lines):
    check_job_result(output, counters, expected, rejected)
    assert counters["clickstream"]["product_id unusable"] == _unusable_product_ids(lines)


@pytest.mark.inline_runner
def test_inline_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRProductPopularity, lines, runner="inline", files=3)
    _check(output, counters, expected, rejected, lines)


def test_local_runner_matches_reference(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRProductPopularity, lines, runner="local", files=4)
    _check(output, counters, expected, rejected, lines)


@pytest.mark.inline_runner
def test_spilling_combiner_gives_the_same_answer(run_job, corpus):
    lines, expected, rejected = corpus
    output, counters = run_job(MRProductPopularity, lines, extra_args=["--combine-keys", "3"], files=2)
    _check(output, counters, expected, rejected, lines)
    assert counters["clickstream"]["combiner spills"] > 2


@pytest.mark.inline_runner
def test_integer_and_string_ids_are_one_product(run_job):
    lines = [
        b'{"user_id":"a","action":"view_product","timestamp":"2024-12-29T10:00:00Z","product_id":987}',
        b'{"user_id":"b","action":"view_product","timestamp":"2024-12-29T10:00:01Z","product_id":"987"}',
        b'{"user_id":"a","action":"view_product","timestamp":"2024-12-29T10:00:02Z","product_id":"987"}',
        b'{"user_id":"a","action":"add_to_cart","timestamp":"2024-12-29T10:00:03Z","product_id":987}',
        b'{"user_id":"a","action":"add_to_cart","timestamp":"2024-12-29T10:00:04Z","product_id":true}',
        b'{"user_id":"a","action":"add_to_cart","timestamp":"2024-12-29T10:00:05Z","product_id":9.5}',
        b'{"user_id":"a","action":"add_to_cart","timestamp":"2024-12-29T10:00:05Z","product_id":null}',
    ]
    output, counters = run_job(MRProductPopularity, lines, files=2)
    assert output == {"987": {
        "product_id": "987", "views": 3, "cart_adds": 1, "purchases": 0, "events": 4, "distinct_users": 2,
        "users": ["a", "b"], "view_to_cart": 0.333333, "cart_to_purchase": 0.0}}
    assert counters["clickstream"]["product_id unusable"] == 2
