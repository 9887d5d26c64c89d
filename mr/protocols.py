"""Compact, fast mrjob protocols on orjson, shared by the jobs.

``JSONKeyValueProtocol`` reads and writes exactly mrjob's JSON protocol format
(JSON key, a tab, JSON value), so mrjob's own ``JSONProtocol`` parses our output.
Keys are JSON strings, which never contain a raw tab, so the first tab splits a line.
"""
import orjson

_DUMPS_OPTIONS = orjson.OPT_SORT_KEYS


class JSONKeyValueProtocol:
    """key<TAB>value, both JSON; dict keys sorted so that equal records are equal bytes."""

    @staticmethod
    def read(line):
        key, _, value = line.partition(b"\t")
        return orjson.loads(key), orjson.loads(value)

    @staticmethod
    def write(key, value):
        return orjson.dumps(key, option=_DUMPS_OPTIONS) + b"\t" + orjson.dumps(value, option=_DUMPS_OPTIONS)
