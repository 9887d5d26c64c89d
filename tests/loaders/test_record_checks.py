"""The reject loop counts only bad data, with its reason: a record a check refuses is skipped and
counted; any other exception from a check or a loader is a bug, and it surfaces."""
import pytest

from loaders import hourly_activity
from loaders.ledger import LOADING, batch_status
from loaders.load import load_batch
from loaders.record_checks import (RecordRejected, checked_count, checked_records, checked_time, count_reject,
                                   record_field)

HOUR_BATCH = "hourly-activity:dt=2024-12-29/hour=12"
HOUR = {"actions": {"add_to_cart": 1, "page_view": 2}, "cart_adds": 1, "distinct_users": 2, "events": 3,
        "hour": "2024-12-29T12:00:00Z", "product_page_visits": 0, "purchases": 0}
USER = {"actions": {"page_view": 2}, "click_count": 2, "first_seen": "2024-12-29T12:00:00Z",
        "last_action": "page_view", "last_seen": "2024-12-29T12:30:00Z"}
PRODUCT = {"views": 1, "cart_adds": 0, "purchases": 0, "events": 1, "distinct_users": 1, "users": ["u1"]}


def refuse_odd(key, value):
    if value % 2:
        raise RecordRejected("odd")
    return key


@pytest.mark.parametrize("records, kept, rejected", [
    ([], [], {}),
    ([("a", 2), ("b", 4)], ["a", "b"], {}),
    ([("a", 1), ("b", 2), ("c", 3)], ["b"], {"odd": 2}),
])
def test_a_refused_record_is_counted_under_its_reason_and_skipped(records, kept, rejected):
    counted = {}
    assert list(checked_records(iter(records), counted, refuse_odd)) == kept
    assert counted == rejected


@pytest.mark.parametrize("bug, message", [
    (lambda key, value: value["missing"], "missing"),
    (lambda key, value: value + "text", "unsupported operand"),
    (lambda key, value: int("seven"), "invalid literal"),
    (lambda key, value: value.strip(), "has no attribute 'strip'"),
])
def test_an_exception_other_than_a_rejection_is_a_bug_and_surfaces(bug, message):
    rejected = {}
    with pytest.raises((KeyError, TypeError, ValueError, AttributeError), match=message):
        list(checked_records(iter([("a", {"x": 1} if "missing" in message else 1)]), rejected, bug))
    assert rejected == {}


@pytest.mark.parametrize("value, name, default, expected", [
    ({"a": 1}, "a", (), 1),
    ({"a": None}, "a", (), None),
    ({}, "a", ("",), ""),
    ({}, "a", (), RecordRejected),
    (["a"], "a", (), RecordRejected),
    ("a", "a", ("",), RecordRejected),
    (None, "a", (), RecordRejected),
])
def test_record_field(value, name, default, expected):
    if expected is RecordRejected:
        with pytest.raises(RecordRejected, match="^bad_record$"):
            record_field(value, name, *default)
    else:
        assert record_field(value, name, *default) == expected


@pytest.mark.parametrize("value, good", [(0, True), (7, True), (-1, False), (True, False), (1.0, False),
                                         ("1", False), (None, False)])
def test_checked_count(value, good):
    if good:
        assert checked_count(value) == value
    else:
        with pytest.raises(RecordRejected, match="^bad_count$"):
            checked_count(value)


@pytest.mark.parametrize("text", [None, 5, [], {str(n): n for n in range(20)}, "", "2024-12-29T12:00:00",
                                  "2024-12-29 12:00", "yesterday at noon, UTC"])
def test_checked_time_rejects_what_is_not_a_zoned_time(text):
    with pytest.raises(RecordRejected, match="^bad_time$"):
        checked_time(text)


def test_count_reject_adds_up():
    rejected = {}
    for reason in ("a", "b", "a"):
        count_reject(rejected, reason)
    assert rejected == {"a": 2, "b": 1}


@pytest.mark.parametrize("job, key, value, batch_id, reason", [
    ("hourly-activity", "2024-12-29T12", {name: HOUR[name] for name in HOUR if name != "events"}, HOUR_BATCH,
     "bad_record"),
    ("hourly-activity", "2024-12-29T12", ["not", "an", "object"], HOUR_BATCH, "bad_record"),
    ("hourly-activity", "2024-12-29T12", dict(HOUR, hour=12), HOUR_BATCH, "bad_record"),
    ("hourly-activity", "2024-12-29T12", dict(HOUR, hour="2024-12-29T13:00:00Z"), HOUR_BATCH, "bad_hour"),
    ("hourly-activity", "2024-12-29T13", dict(HOUR, hour="2024-12-29T13:00:00Z"), HOUR_BATCH, "hour_outside_batch"),
    ("hourly-activity", "2024-12-29T12", dict(HOUR, events=-3), HOUR_BATCH, "bad_count"),
    ("user-actions", "u1", dict(USER, last_action=["page_view"]), "user-actions:files:x", "bad_last_action"),
    ("user-actions", "u1", dict(USER, first_seen=None), "user-actions:files:x", "bad_time"),
    ("product-popularity", "p1", dict(PRODUCT, users="u1"), "product-popularity:files:x", "bad_users"),
    ("product-popularity", "p1", {name: PRODUCT[name] for name in PRODUCT if name != "views"},
     "product-popularity:files:x", "bad_record"),
    ("sessions", "s", {"user_id": "u", "sid": None, "timeline": [[0, "page_view", "/", None]]},
     "sessions:dt=2024-12-29/hour=12", "bad_record"),
])
def test_a_malformed_record_is_rejected_with_its_reason(mongo_db, job, key, value, batch_id, reason):
    rejected = {}
    stats = load_batch(mongo_db, job, iter([(key, value)]), batch_id, [], rejected)
    assert rejected == {reason: 1}
    assert (stats["records"], stats["rejected"], stats["upserted"]) == (1, 1, 0)


def test_the_good_records_of_those_cases_load(mongo_db):
    for job, key, value, batch_id in [("hourly-activity", "2024-12-29T12", HOUR, HOUR_BATCH),
                                      ("user-actions", "u1", USER, "user-actions:files:x"),
                                      ("product-popularity", "p1", PRODUCT, "product-popularity:files:x")]:
        rejected = {}
        stats = load_batch(mongo_db, job, iter([(key, value)]), batch_id, [], rejected)
        assert rejected == {} and stats["upserted"] == 1, job


def test_a_bug_in_a_loader_raises_and_the_batch_is_not_marked_loaded(mongo_db, monkeypatch):
    def broken_update(key_filter, fields, batch_id, now):
        return fields["hour_begins"]  # a misspelt field: a bug, not bad data

    monkeypatch.setattr(hourly_activity, "set_by_key", broken_update)
    rejected = {}
    with pytest.raises(KeyError, match="hour_begins"):
        load_batch(mongo_db, "hourly-activity", iter([("2024-12-29T12", HOUR)]), HOUR_BATCH, [], rejected)
    assert rejected == {}
    assert batch_status(mongo_db, "hourly_activity", HOUR_BATCH) == LOADING
