"""Rendering query results for people and programs: aligned table, JSON lines or CSV; and URI masking."""
import csv
import io
import re
from datetime import datetime

import orjson

# A URI up to whitespace: scheme, then its authority and the rest.
_URI = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<rest>\S*)")
# Query options that carry secrets (pymongo's tlsCertificateKeyFilePassword, AWS session tokens
# inside authMechanismProperties, and the like).
_SECRET_OPTION = re.compile(r"(?i)(?P<name>[^?&=]*(?:password|token|secret|authmechanismproperties)[^?&=]*)=[^&]*")


def _mask_one(match):
    rest = match.group("rest")
    before_query, question, query = rest.partition("?")
    # The user info ends at the last '@' (as pymongo's parser reads it), so a password holding
    # a raw '@' or '/' is hidden whole.
    if "@" in before_query:
        before_query = "***@" + before_query.rpartition("@")[2]
    if question:
        query = _SECRET_OPTION.sub(lambda option: option.group("name") + "=***", query)
    return match.group("scheme") + before_query + question + query


def mask_uri(uri):
    """Hide the credentials of connection URIs (user info and secret query options) in a text
    before it is printed or logged."""
    return _URI.sub(_mask_one, uri or "")


def _cell(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return " ".join("%s=%s" % item for item in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return ",".join(_cell(item) for item in value)
    return "" if value is None else str(value)


def render_table(rows, columns):
    """Rows (dicts) -> an aligned text table with a header; numbers right-aligned."""
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[i]) for line in cells]) for i, column in enumerate(columns)]
    numeric = [all(isinstance(row.get(column), (int, float)) for row in rows) for column in columns]

    def fmt(values):
        return "  ".join(
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric)).rstrip()

    lines = [fmt(columns), fmt(["-" * width for width in widths])]
    lines.extend(fmt(line) for line in cells)
    return "\n".join(lines)


def render_json_lines(rows):
    return "\n".join(orjson.dumps(row, default=_cell, option=orjson.OPT_SORT_KEYS).decode() for row in rows)


def render_csv(rows, columns):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue().rstrip("\n")
