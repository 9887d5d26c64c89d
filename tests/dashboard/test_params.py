"""Query parameters: what each page takes, and the one-line reason for everything else."""
import pytest

from dashboard.params import MAX_LIMIT, BadParameter, parse_day, parse_limit, parse_order, parse_product_sort, parse_user


@pytest.mark.parametrize("text, expected", [(None, None), ("", None), ("2024-12-29", "2024-12-29"),
                                            ("2024-02-29", "2024-02-29")])
def test_days(text, expected):
    assert parse_day(text) == expected


@pytest.mark.parametrize("text, reason", [
    ("2024-13-01", "not a calendar date"), ("2023-02-29", "not a calendar date"), ("29-12-2024", "not a date"),
    ("2024-12-29T00", "not a date"), ("{'$gt': ''}", "not a date"), ("2024-12-29\n", "not a date"),
])
def test_bad_days(text, reason):
    with pytest.raises(BadParameter, match=reason):
        parse_day(text)


@pytest.mark.parametrize("text", ["user-1", "$ne", "{\"$gt\": \"\"}", "<script>alert(1)</script>", "a.b", "x" * 256,
                                  "ünïcode ✓"])
def test_users_are_any_string_kept_as_it_is(text):
    assert parse_user(text) == text


@pytest.mark.parametrize("text", ["", "x" * 257])
def test_bad_users(text):
    with pytest.raises(BadParameter, match="not a user id; expected 1 to 256 characters"):
        parse_user(text)


@pytest.mark.parametrize("text, expected", [(None, 7), ("", 7), ("1", 1), (str(MAX_LIMIT), MAX_LIMIT), ("020", 20)])
def test_limits(text, expected):
    assert parse_limit(text, 7) == expected


@pytest.mark.parametrize("text", ["0", "-1", str(MAX_LIMIT + 1), "1e3", "ten", " 5", "5.0", "9999999"])
def test_bad_limits(text):
    with pytest.raises(BadParameter, match="limit: .* is not a row count"):
        parse_limit(text, 7)


def test_sorts_and_orders():
    assert parse_product_sort(None) == "purchases" and parse_product_sort("view_to_cart") == "view_to_cart"
    assert parse_order(None) == "desc" and parse_order("asc") == "asc"
    with pytest.raises(BadParameter, match="sort: '\\$where' is not one of purchases"):
        parse_product_sort("$where")
    with pytest.raises(BadParameter, match="order: 'up' is not one of desc, asc"):
        parse_order("up")
