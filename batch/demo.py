"""`clickstream demo`: generate -> a local raw area -> mr_user_actions -> an in-process MongoDB
stand-in -> the top users and the HTML report. Orchestration: it calls the stages, and no stage imports it."""
import os
import tempfile
import time

from clickstream.events import EventRejected, parse_event
from clickstream.generator import encode_lines, iter_event_chunks
from clickstream.layout import data_file_name, hour_of, hour_partition

DEMO_TOPIC = "demo"


class RawAreaWriter:
    """Writes events into <root>/dt=.../hour=.../ files by event time, as the ingest lays them out,
    and rejects into <root>/_rejected/. Each file is written under a hidden name, then renamed."""

    def __init__(self, root):
        self.root = root
        self._open = {}  # partition -> [handle, temp path, first offset, last offset]
        self.written = 0
        self.rejected = 0

    def add(self, offset, line_bytes):
        try:
            partition = hour_partition(hour_of(parse_event(line_bytes).ts))
            self.written += 1
        except EventRejected as rejection:
            partition = "_rejected/reason=%s" % rejection.reason
            self.rejected += 1
        entry = self._open.get(partition)
        if entry is None:
            folder = os.path.join(self.root, partition)
            os.makedirs(folder, exist_ok=True)
            temp_path = os.path.join(folder, "_tmp.%d.jsonl" % offset)
            entry = self._open[partition] = [open(temp_path, "wb"), temp_path, offset, offset]
        entry[0].write(line_bytes)
        entry[3] = offset

    def close(self):
        """Rename every file into place; return the committed data file paths."""
        committed = []
        for partition, (handle, temp_path, first, last) in sorted(self._open.items()):
            handle.close()
            final_path = os.path.join(os.path.dirname(temp_path), data_file_name(DEMO_TOPIC, 0, first, last))
            os.replace(temp_path, final_path)
            if not partition.startswith("_"):
                committed.append(final_path)
        self._open.clear()
        return committed


def write_raw_area(spec, root, progress=None):
    """Generate ``spec`` into a raw area under ``root``. Returns (data files, writer)."""
    writer = RawAreaWriter(root)
    offset = 0
    for _users, lines in iter_event_chunks(spec):
        for line_bytes in encode_lines(lines).splitlines(keepends=True):
            writer.add(offset, line_bytes)
            offset += 1
        if progress:
            progress(len(lines))
    return writer.close(), writer


class Stopwatch:
    """Prints one line per finished step, with its duration, to a stream."""

    def __init__(self, echo):
        self.echo = echo
        self.started = time.perf_counter()

    def step(self, text):
        now = time.perf_counter()
        self.echo("  %-58s %6.1fs" % (text, now - self.started))
        self.started = now


def run_demo(spec, runner, workdir, report_path, echo, progress=None):
    """The whole pipeline on this machine with no servers, in ``workdir`` (a temp folder when None).

    ``echo(text)`` receives one line per step, ``progress(n)`` the generated events. Returns the
    in-process database (for the caller's tables) and the written report's path.
    """
    from dashboard.report import write_report
    from loaders.load import load_batch
    from loaders.mongomock_compat import in_process_client
    from loaders.user_clicks import UserClicks
    from mr.base import COUNTER_GROUP, sum_counters
    from mr.mr_user_actions import MRUserActions

    spec.validate()
    with tempfile.TemporaryDirectory(prefix="clickstream-demo-") as scratch:
        root = os.path.abspath(workdir or scratch)
        raw_root = os.path.join(root, "raw")
        clock = Stopwatch(echo)
        echo("clickstream demo: %d events, %d users, seed %d, generating into %s" % (
            spec.events, spec.users, spec.seed, raw_root))
        files, writer = write_raw_area(spec, raw_root, progress=progress)
        clock.step("raw area: %d events in %d hour files, %d rejected to _rejected/" % (
            writer.written, len(files), writer.rejected))

        job = MRUserActions(args=["-r", runner, "--no-conf", "--output-dir", os.path.join(root, "user_actions"),
                                  *files])
        with job.make_runner() as job_runner:
            job_runner.run()
            records = list(job.parse_output(job_runner.cat_output()))
            valid = sum_counters(job_runner.counters()).get(COUNTER_GROUP, {}).get("events valid", 0)
        clock.step("mr_user_actions -r %s: %d events -> %d users" % (runner, valid, len(records)))

        database = in_process_client().clickstream_db
        stats = load_batch(database, "user-actions", records, "demo", files, {})
        clock.step("loaded %s.%s (in-process stand-in): %d upserted" % (database.name, UserClicks.COLLECTION, stats["upserted"]))
        report_path = write_report(database, report_path or os.path.join(
            workdir or tempfile.gettempdir(), "clickstream-demo-report.html"))
    return database, report_path
