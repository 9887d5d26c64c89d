"""Query parameters of the dashboard's pages and API, checked before any query: pure functions that
return plain values (a user id stays a string, compared only for equality) or raise BadParameter."""
import re

from clickstream.errors import ClickstreamError
from clickstream.events import MAX_USER_ID_CHARS
from clickstream.layout import parse_date_option

MAX_LIMIT = 500
PRODUCT_SORTS = ("purchases", "views", "cart_adds", "distinct_users", "view_to_cart", "cart_to_purchase")
_LIMIT_RE = re.compile(r"\d{1,6}\Z")


class BadParameter(ClickstreamError):
    """A query parameter that is not what a page takes; the message is the one line a 400 shows."""


def parse_day(text, name="date"):
    """'YYYY-MM-DD' (a real UTC calendar day) or None when not given."""
    if text is None or text == "":
        return None
    try:
        parse_date_option(text, name)
    except ClickstreamError as error:
        raise BadParameter(str(error)) from None
    return text


def parse_user(text, name="user"):
    """A user id as the event model allows it (non-empty, at most 256 characters), or None.
    Any characters are kept: '$ne' or '<script>' is an id like any other."""
    if text is None:
        return None
    if text == "" or len(text) > MAX_USER_ID_CHARS:
        raise BadParameter("%s: %r is not a user id; expected 1 to %d characters" % (
            name, text[:40] + ("..." if len(text) > 40 else ""), MAX_USER_ID_CHARS))
    return text


def parse_limit(text, default, name="limit"):
    """A row count 1..MAX_LIMIT; ``default`` when not given."""
    if text is None or text == "":
        return default
    if not _LIMIT_RE.match(text) or not 1 <= int(text) <= MAX_LIMIT:
        raise BadParameter("%s: %r is not a row count; expected an integer from 1 to %d" % (name, text, MAX_LIMIT))
    return int(text)


def parse_choice(text, choices, default, name):
    if text is None or text == "":
        return default
    if text not in choices:
        raise BadParameter("%s: %r is not one of %s" % (name, text, ", ".join(choices)))
    return text


def parse_product_sort(text):
    return parse_choice(text, PRODUCT_SORTS, "purchases", "sort")


def parse_order(text):
    return parse_choice(text, ("desc", "asc"), "desc", "order")
