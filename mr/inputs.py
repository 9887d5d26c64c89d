"""Select a job's input from the raw area by time: ``--sink ROOT`` with ``--date`` or ``--hour``.

The raw area is ``<root>/dt=YYYY-MM-DD/hour=HH/*.jsonl[.gz]``; names starting with ``_`` or
``.`` are work in progress and never read. On HDFS the inputs are the partition folders (one
glob per day for ``--date``, so a missing hour costs nothing), and the jobs skip hidden files
inside them (see ``ClickstreamJob.iter_events``); a local root (a path or ``file:///``) is
listed here, because mrjob's raw-file mappers take local files, not folders.
"""
import os
import posixpath

from clickstream.errors import ConfigError
from clickstream.layout import RAW_SUFFIXES, hour_partition, is_hidden, parse_date_option, parse_hour_option
from clickstream.storage import parse_uri


def selected_hours(date=None, hour=None):
    """``--date``/``--hour`` option text -> the hour numbers they select (exactly one is given)."""
    if (date is None) == (hour is None):
        raise ConfigError("--date/--hour: give exactly one of them (got date=%r, hour=%r)" % (date, hour))
    if date is not None:
        return parse_date_option(date)
    return [parse_hour_option(hour)]


def local_root(sink):
    """A local ``--sink`` (path or ``file:///path``) -> the absolute path; None for a URI the
    runners list themselves (hdfs://, s3://, s3a://, gs://). Raises ConfigError for others."""
    location = parse_uri(sink, "--sink")
    return location.path if location.scheme == "file" else None


def remote_partition_uris(sink, hours, whole_days):
    """Folder URIs of the selected partitions under a remote root: one ``hour=*`` glob per day
    when ``whole_days``, else one folder per hour."""
    root = sink.rstrip("/")
    if whole_days:
        days = sorted({hour_partition(hour).split("/")[0] for hour in hours})
        return ["%s/%s/hour=*/" % (root, day) for day in days]
    return ["%s/%s/" % (root, hour_partition(hour)) for hour in hours]


def local_partition_files(root, hours, list_dir):
    """Data files of the selected partitions under a local root, sorted; hidden names and other
    suffixes skipped. ``list_dir(folder)`` returns the names in a folder, or [] if it is missing."""
    files = []
    for hour in hours:
        folder = os.path.join(root, hour_partition(hour))
        for name in sorted(list_dir(folder)):
            if not is_hidden(name) and name.endswith(RAW_SUFFIXES):
                files.append(os.path.join(folder, name))
    return files


def select_raw_inputs(sink, date=None, hour=None, list_dir=None):
    """``--sink`` plus ``--date`` or ``--hour`` -> the job's input paths or URIs.

    ``list_dir`` lists a local folder (default: :func:`list_local_dir`). Raises ConfigError for
    bad options, and when a local root holds no data file for the selection.
    """
    if not sink:
        raise ConfigError("--sink: %r; --date/--hour need the raw area's root (a path, file:///, hdfs:///)"
                          % (sink,))
    hours = selected_hours(date, hour)
    root = local_root(sink)
    if root is None:
        return remote_partition_uris(sink, hours, whole_days=date is not None)
    files = local_partition_files(root, hours, list_dir or list_local_dir)
    if not files:
        raise ConfigError("%s: no raw files for %r under %r (expected %s/*.jsonl[.gz])" % (
            "--date" if date is not None else "--hour", date or hour, sink,
            posixpath.join(sink, hour_partition(hours[0]))))
    return files


def list_local_dir(folder):
    """Names in a local folder ([] if it does not exist): the I/O edge of the selection."""
    try:
        return [name for name in os.listdir(folder) if os.path.isfile(os.path.join(folder, name))]
    except FileNotFoundError:
        return []
