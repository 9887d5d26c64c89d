"""What the jobs share beyond the event model: the funnel's action names, id fields as text keys,
byte-sortable times for secondary sort, and an argparse type for positive thresholds."""
import argparse

# The funnel's actions, as the generator and the seeds' web logs write them.
VIEW_ACTION = "view_product"
CART_ACTION = "add_to_cart"
PURCHASE_ACTION = "purchase"

# Secondary sort compares values as bytes, so times travel as fixed-width decimal text:
# microseconds shifted by 10**17 are positive and 18 digits for every year the event model parses.
TS_SHIFT = 10 ** 17
TS_DIGITS = 18


def id_text(fields, name):
    """The event's ``name`` field as a text key, or None when it has no usable one.

    A non-empty string is kept as it is; an integer (not a boolean) becomes its decimal text, so
    987 and "987" are one id. Anything else (null, "", floats, booleans, objects) is no id.
    """
    value = fields.get(name)
    if type(value) is str:
        return value or None
    if type(value) is int:
        return str(value)
    return None


def product_key(fields):
    """The event's product id as a string key, or None."""
    return id_text(fields, "product_id")


def session_key(fields):
    """The event's session id as a string key, or None."""
    return id_text(fields, "session_id")


def sortable_ts(ts):
    """Microseconds since the epoch -> text whose byte order is time order."""
    return "%0*d" % (TS_DIGITS, ts + TS_SHIFT)


def ts_of_sortable(text):
    return int(text) - TS_SHIFT


def positive_number(convert):
    """An argparse type: ``convert`` the text and insist on a value above zero."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not a valid %s" % (text, convert.__name__)) from None
        if not value > 0:
            raise argparse.ArgumentTypeError("%r; expected a number above 0" % (text,))
        return value
    parse.__name__ = convert.__name__
    return parse
