"""Read a job's output (mrjob JSON protocol: JSON key, tab, JSON value) from files or folders.

Malformed rows are counted with a reason, never half-applied.
"""
import os

import orjson


def output_files(paths):
    """Expand folders into their visible part files (skipping _SUCCESS, .crc and hidden files)."""
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if not name.startswith(("_", ".")) and not name.endswith(".crc"):
                    full = os.path.join(path, name)
                    if os.path.isfile(full):
                        yield full
        else:
            yield path


def parse_output_line(line):
    """One output line -> (key, value). Raises ValueError with a short reason."""
    key_text, tab, value_text = line.rstrip(b"\r\n").partition(b"\t")
    if not tab:
        raise ValueError("no_tab")
    try:
        return orjson.loads(key_text), orjson.loads(value_text)
    except orjson.JSONDecodeError:
        raise ValueError("invalid_json") from None


def read_job_output(lines, rejected):
    """Yield (key, value) pairs from raw lines; count malformed ones in ``rejected`` by reason."""
    for line in lines:
        if not line.strip():
            continue
        try:
            yield parse_output_line(line)
        except ValueError as error:
            reason = str(error)
            rejected[reason] = rejected.get(reason, 0) + 1
