"""`clickstream run`: for each selected hour and job, run the job over the raw partition, commit
its output to the derived area, load it as the partition's batch, and reconcile the counts.

Many hours (``--date``, ``--backfill``, ``--latest-complete`` catching up) take one job launch per
job for up to ``run.hours_per_launch`` hours, not one per hour: the launch tags every record with
its hour partition (mr/partition_tags.py), and its output is split back into hours, each
committed, loaded and reconciled with its own batch id and counts, exactly as its own launch would.

Exit codes, for cron: 0 done (or nothing to do), 1 a step failed or an invariant broke, 2 bad
configuration, 75 (EX_TEMPFAIL) an hour is not complete yet or another run holds its lock.
"""
import logging
import os
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone

from clickstream.errors import ClickstreamError, ConfigError
from clickstream.jobs import JOB_NAMES, job_row
from clickstream.layout import hour_partition
from batch import plan
from batch.area import part_name
from batch.lock import LockHeld, PartitionLock
from batch.merge_lock import merge_lock
from batch.records import RunRecord, broken, load_invariants, mr_invariants

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_TEMPFAIL = 0, 1, 2, 75
RUNNERS = ("inline", "local", "hadoop")
_COMMAND_FIELDS = ("hour", "date", "backfill", "latest_complete", "force", "ignore_watermark", "command")


class StepFailed(ClickstreamError):
    """A job, a commit, a load or an invariant failed; the run stops with exit 1."""


@dataclass
class RunSettings:
    """What one invocation does. The settings' values come from the config schema's resolution
    (flag, env, config file, default: clickstream/config_schema.py holds every default), the
    rest from `clickstream run`'s own flags; build it with ``from_settings``."""
    sink: str
    mongo_uri: str
    jobs: list
    db: str
    runner: str
    derived_root: str
    webhdfs_url: str
    hdfs_user: str
    webhdfs_timeout_seconds: float
    mrjob_conf: str
    chunk_size: int
    lock_stale_seconds: float
    max_backfill_hours: int
    hours_per_launch: int
    session_gap_minutes: float
    max_session_hours: float
    suspicious_window_hours: int
    # the command's own flags, which no config sets
    hour: str = None
    date: str = None
    backfill: tuple = None
    latest_complete: bool = False
    force: bool = False
    ignore_watermark: bool = False
    command: list = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings, **command_values):
        """``settings``: the effective settings of `clickstream run` (clickstream.config.effective's
        mapping, every schema key of this class present); ``command_values``: the command's own
        flags (hour, date, backfill, latest_complete, force, ignore_watermark, command)."""
        from_schema = {item.name: settings[item.name] for item in fields(cls) if item.name not in _COMMAND_FIELDS}
        from_schema["jobs"] = list(from_schema["jobs"])
        return cls(**from_schema, **command_values)

    def validate(self):
        if not self.sink:
            raise ConfigError("--sink: not given; `clickstream run` needs the raw area's root (path, file:///, hdfs:///)")
        if self.runner not in RUNNERS:
            raise ConfigError("--runner: %r; expected one of %s" % (self.runner, ", ".join(RUNNERS)))
        unknown = [job for job in self.jobs if job not in JOB_NAMES]
        if unknown or not self.jobs:
            raise ConfigError("--jobs: %r; expected a comma list of %s" % (",".join(self.jobs),
                                                                           ", ".join(sorted(JOB_NAMES))))
        if self.latest_complete and (self.hour or self.date or self.backfill):
            raise ConfigError("run: --latest-complete picks the hour itself; drop --hour/--date/--backfill")
        if self.latest_complete and self.ignore_watermark:
            raise ConfigError("run: --ignore-watermark needs --hour, --date or --backfill (nothing is 'complete' without it)")
        if not self.latest_complete:
            plan.explicit_hours(self.hour, self.date, self.backfill, self.max_backfill_hours)
        if self.sink.startswith("hdfs://") and self.runner != "hadoop":
            raise ConfigError("--runner: %r cannot read the hdfs:// sink %r; use -r hadoop" % (self.runner, self.sink))
        return self


class Outcome:
    """What a run did, for the summary line and the exit code."""

    def __init__(self):
        self.hours_done = []
        self.mr_steps = 0
        self.launches = 0  # job launches: one per job and group of hours, so at most mr_steps
        self.loads = 0
        self.up_to_date = 0
        self.empty = 0
        self.events_by_hour = {}  # partition -> the most valid events one job run read there (not one count per job)
        self.locked = []
        self.failure = None
        self.waiting = None

    def exit_code(self):
        if self.failure:
            return EXIT_FAILED
        if self.waiting or self.locked:
            return EXIT_TEMPFAIL
        return EXIT_OK

    def status(self):
        return {EXIT_OK: "succeeded", EXIT_FAILED: "failed", EXIT_TEMPFAIL: "deferred"}[self.exit_code()]

    @property
    def events(self):
        return sum(self.events_by_hour.values())

    def hours_text(self):
        hours = [hour_partition(hour) for hour in self.hours_done]
        if len(hours) > 2:
            return "%d hours %s..%s" % (len(hours), hours[0], hours[-1])
        return ", ".join(hours) or "no hour"

    def totals(self):
        """The figures the run record keeps."""
        return {"hours": [hour_partition(hour) for hour in self.hours_done], "mr_steps": self.mr_steps,
                "launches": self.launches, "loads": self.loads, "events": self.events, "up_to_date": self.up_to_date,
                "empty": self.empty,
                "locked": self.locked, "waiting": self.waiting, "failure": self.failure}

    def summary(self, seconds):
        text = ("clickstream run: %s; %s: %d job runs in %d launches (%d events), %d loads, %d up to date, "
                "%d without data in %.1fs" % (self.status(), self.hours_text(), self.mr_steps, self.launches,
                                              self.events, self.loads, self.up_to_date, self.empty, seconds))
        if self.locked:
            text += "; locked: " + "; ".join(self.locked)
        if self.waiting:
            text += "; " + self.waiting
        if self.failure:
            text += "; FAILED: " + self.failure
        return text


class BatchRun:
    """One invocation. ``area``: a RunArea; ``db``: the pymongo Database; ``log(text)``: verbose lines."""

    def __init__(self, settings, area, db, log=lambda text: None, job_runner=None):
        self.settings = settings
        self.area = area
        self.db = db
        self.log = log
        self.run_id = "%s-%s" % (datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"), uuid.uuid4().hex[:8])
        self.additive = {job: job_row(job).additive for job in settings.jobs}
        self.collections = {job: job_row(job).collection for job in settings.jobs}
        self.job_runner = job_runner or run_mrjob
        self.outcome = Outcome()
        self.record = None

    # --- which hours ----------------------------------------------------------------------------

    def complete_before(self):
        """The first hour not complete for every topic ingested into the sink, or None."""
        from ingest.watermark import complete_before

        documents = self.area.watermarks()
        if not documents:
            return None, "no watermark under %s/_watermarks yet (has the ingest committed anything?)" % self.area.raw_uri
        waiting = [topic for topic, document in documents.items() if not document or document.get("watermark_us") is None]
        if waiting:
            return None, "topic(s) %s have no watermark yet" % ", ".join(sorted(waiting))
        hour = min(complete_before(document["watermark_us"]) for document in documents.values())
        return hour, "hours before %s are complete" % hour_partition(hour)

    def select_hours(self):
        """The hours to process; sets ``outcome.waiting`` (exit 75) when the selection is not complete."""
        settings = self.settings
        if settings.ignore_watermark:
            return plan.explicit_hours(settings.hour, settings.date, settings.backfill, settings.max_backfill_hours)
        before, why = self.complete_before()
        if settings.latest_complete:
            if before is None:
                self.outcome.waiting = why
                return []
            candidates = self.area.hours_with_data(before - settings.max_backfill_hours, before)
            return plan.pending_hours(candidates, self.hour_done)
        hours = plan.explicit_hours(settings.hour, settings.date, settings.backfill, settings.max_backfill_hours)
        pending = plan.incomplete_hours(hours, before)
        if pending:
            self.outcome.waiting = "%s not complete yet: %s" % (hour_partition(pending[0]), why)
            return []
        return hours

    def batch_complete(self, job, manifest):
        """``batch_id -> bool``: complete in the ledger *and* computed from the raw files the
        manifest's revision names. A batch id loaded from other content (a hand load of the hour,
        an older derived area) is not: its revision is loaded again, replacing it."""
        from loaders import ledger

        collection = self.collections[job]
        contents = {revision["batch_id"]: revision_content(revision)
                    for revision in (manifest or {}).get("revisions", ())}
        return lambda batch_id: ledger.loaded_with(self.db, collection, batch_id, contents.get(batch_id))

    def hour_done(self, hour):
        raw_files = self.area.raw_files(hour)
        partition = hour_partition(hour)
        for job in self.settings.jobs:
            manifest = self.area.manifest(job, partition)
            if not plan.is_done(manifest, raw_files, self.batch_complete(job, manifest)):
                return False
        return True

    # --- the run --------------------------------------------------------------------------------

    def execute(self):
        started = time.monotonic()
        self.record = RunRecord(self.db, self.run_id, self.settings.command, os.getpid())
        try:
            for hours in plan.launch_groups(self.select_hours(), self.settings.hours_per_launch):
                self.process_hours(hours)
                if self.outcome.failure:
                    break
        except ClickstreamError as error:  # StepFailed, LockLost, PartitionChanged, a sink's ServiceError
            self.outcome.failure = str(error)
        summary = self.outcome.summary(time.monotonic() - started)
        self.record.finish(self.outcome.status(), self.outcome.exit_code(), summary, self.outcome.totals())
        return self.outcome.exit_code(), summary

    def process_hours(self, hours):
        """Lock the hours (one held by another run is skipped), then take every job through them."""
        with ExitStack() as held:
            locks = {}
            for hour in hours:
                lock = PartitionLock(self.db, hour_partition(hour), self.run_id, self.settings.lock_stale_seconds)
                try:
                    held.enter_context(lock)
                except LockHeld as error:
                    self.outcome.locked.append(str(error))
                    self.log("skipped %s: %s" % (hour_partition(hour), error))
                    continue
                locks[hour] = lock
            raw_files = {hour: self.area.raw_files(hour) for hour in locks}
            for job in self.settings.jobs:
                self.process_job(job, raw_files, locks)
        self.outcome.hours_done.extend(sorted(locks))

    def process_job(self, job, raw_files, locks):
        """One job over the locked hours: plan each hour's steps, run the n-th step of every hour in
        one launch, then load what each hour has not loaded yet."""
        additive = self.additive[job]
        hours = sorted(locks)
        work = {}
        for hour in hours:
            locks[hour].check()
            work[hour] = self.plan_hour(job, hour, raw_files[hour], additive)
        for number in range(max((len(item.steps) for item in work.values()), default=0)):
            for lock in locks.values():
                lock.check()
            self.run_steps(job, [(hour, work[hour]) for hour in hours if len(work[hour].steps) > number], number)
        for hour in hours:
            item = work[hour]
            loads = plan.plan_loads(item.manifest, self.batch_complete(job, item.manifest), item.redone)
            for revision in loads:
                locks[hour].check()
                self.load_revision(job, item.partition, revision, force=revision["revision"] in item.redone)
            if not raw_files[hour] and not item.manifest:
                self.outcome.empty += 1
            elif not item.steps and not loads:
                self.outcome.up_to_date += 1
                self.log("%s %s: up to date" % (job, item.partition))

    def plan_hour(self, job, hour, raw_files, additive):
        partition = hour_partition(hour)
        manifest = self.area.manifest(job, partition)
        if manifest:
            self.area.tidy(job, partition, manifest)
        if not (self.settings.force and not additive):
            plan.check_unchanged(partition, raw_files, manifest)
        return HourWork(hour, partition, manifest, plan.plan_mr(manifest, raw_files, additive, self.settings.force))

    def run_steps(self, job, items, number):
        """Run step ``number`` of each (hour, HourWork) in one launch, then commit each hour's part:
        a lone hour's launch writes its output as it is; several hours' is split by hour."""
        if len(items) == 1:
            hour, item = items[0]
            self.run_step(job, hour, item, item.steps[number])
            return
        temp_relative, output_uri = self.area.new_output(job)
        inputs = [uri for hour, item in items for uri in self.area.input_uris(hour, item.steps[number].inputs)]
        span = "%s..%s (%d hours, one launch)" % (items[0][1].partition, items[-1][1].partition, len(items))
        started = time.monotonic()
        try:
            self.job_runner(job, self.settings, inputs, output_uri, by_partition=True)
            split = self.area.split_output(job, temp_relative, [item.partition for _hour, item in items])
        except Exception as error:
            for _hour, item in items:
                self._step(job, item.partition, item.steps[number].revision, "mr", "failed", started,
                           error=_first_line(error), launch=span)
            raise StepFailed("%s %s: the job failed: %s" % (job, span, _first_line(error))) from error
        finally:
            self.area.discard(temp_relative)
        self.outcome.launches += 1
        try:
            for hour, item in items:
                folder, counters = split.pop(item.partition)
                self.commit_step(job, hour, item, item.steps[number], folder, counters, started, launch=span)
        finally:
            for folder, _counters in split.values():  # an hour the launch was not asked for, or a failed commit's rest
                self.area.discard(folder)

    def run_step(self, job, hour, item, step):
        """Run the job for one hour's MrStep alone, then commit it."""
        temp_relative, output_uri = self.area.new_output(job)
        inputs = self.area.input_uris(hour, step.inputs)
        started = time.monotonic()
        try:
            counters = self.job_runner(job, self.settings, inputs, output_uri)
        except Exception as error:
            self.area.discard(temp_relative)
            self._step(job, item.partition, step.revision, "mr", "failed", started, error=_first_line(error))
            raise StepFailed("%s %s r%d: the job failed: %s" % (job, item.partition, step.revision,
                                                                _first_line(error))) from error
        self.outcome.launches += 1
        self.commit_step(job, hour, item, step, temp_relative, counters, started)

    def commit_step(self, job, hour, item, step, temp_relative, counters, started, **details):
        """Check one hour's counters of a step, commit its output; updates ``item.manifest``."""
        partition = item.partition
        invariants = mr_invariants(counters)
        counts = dict(counters.get("clickstream", {}), rejected=sum(counters.get("clickstream rejected", {}).values()))
        if broken(invariants):
            self.area.discard(temp_relative)
            self._step(job, partition, step.revision, "mr", "failed", started, counts=counts, invariants=invariants,
                       **details)
            raise StepFailed("%s %s r%d: invariant broken: %s" % (job, partition, step.revision, _describe(invariants)))
        generation = plan.next_generation(item.manifest)
        updated = plan.commit_revision(item.manifest, job, partition, step,
                                       [part_name(generation, name) for name in self.area.output_names(temp_relative)],
                                       counts, datetime.now(timezone.utc).isoformat())
        self.area.commit(job, partition, temp_relative, updated)
        self.area.tidy(job, partition, updated)
        item.manifest = updated
        if step.replaces:
            item.redone.add(step.revision)
        self.outcome.mr_steps += 1
        self.outcome.events_by_hour[partition] = max(self.outcome.events_by_hour.get(partition, 0),
                                                     counts.get("events valid", 0))
        self._step(job, partition, step.revision, "mr", "ok", started, counts=counts, invariants=invariants,
                   kind=step.kind, files=len(step.inputs), **details)
        self.log("%s %s r%d (%s, %d files%s): %d lines, %d events, %d rejected" % (
            job, partition, step.revision, step.kind, len(step.inputs),
            ", launched with %s" % details["launch"] if details else "", counts.get("lines read", 0),
            counts.get("events valid", 0), counts["rejected"]))

    def load_revision(self, job, partition, revision, force):
        from loaders.load import loader_for

        started = time.monotonic()
        uris = self.area.part_uris(job, partition, revision["parts"])
        rejected = {}
        if loader_for(job).MERGES_ACROSS_BATCHES:  # one such load into a collection at a time
            with merge_lock(self.db, self.collections[job], self.run_id, self.settings.lock_stale_seconds):
                return self._load(job, partition, revision, force, started, uris, rejected)
        return self._load(job, partition, revision, force, started, uris, rejected)

    def _load(self, job, partition, revision, force, started, uris, rejected):
        from pymongo.errors import PyMongoError

        from loaders import ledger
        from loaders.joboutput import JobOutputSource
        from loaders.load import load_batch

        content = revision_content(revision)
        try:
            # complete, yet planned: loaded from other content, which this revision replaces
            force = force or ledger.batch_status(
                self.db, self.collections[job], revision["batch_id"]) == ledger.COMPLETE
            # an HDFS derived area's client (with run's hdfs_user) reads the parts back
            source = JobOutputSource(uris, hdfs_client=getattr(self.area.derived, "client", None)) if uris else None
            stats = load_batch(self.db, job, source.records(rejected) if source else iter(()), revision["batch_id"],
                               uris, rejected, self.settings.chunk_size, force, revision.get("supersedes", ()),
                               content=content)
        except (PyMongoError, ClickstreamError) as error:
            self._step(job, partition, revision["revision"], "load", "failed", started, error=_first_line(error))
            raise StepFailed("%s %s: load of batch %r failed, batch not marked loaded: %s" % (
                job, partition, revision["batch_id"], _first_line(error))) from error
        counts = {name: stats.get(name, 0) for name in ("records", "upserted", "matched", "already_applied",
                                                        "rejected", "superseded_deleted")}
        invariants = load_invariants(stats, rejected)
        status = "failed" if broken(invariants) else "ok"
        self._step(job, partition, revision["revision"], "load", status, started, counts=counts,
                   invariants=invariants, batch_id=revision["batch_id"], rejected_reasons=rejected)
        if status == "failed":
            raise StepFailed("%s %s: load of batch %r: invariant broken: %s" % (
                job, partition, revision["batch_id"], _describe(invariants)))
        self.outcome.loads += 1
        self.log("%s %s: loaded batch %s: %d records, %d upserted, %d matched, %d already applied" % (
            job, partition, revision["batch_id"], counts["records"], counts["upserted"], counts["matched"],
            counts["already_applied"]))

    def _step(self, job, partition, revision, step, status, started, **details):
        self.record.add_step(dict({"job": job, "partition": partition, "revision": revision, "step": step,
                                   "status": status, "seconds": round(time.monotonic() - started, 3)}, **details))


@dataclass
class HourWork:
    """One (job, hour) in a run: its partition, committed manifest (updated as steps commit), the
    MrSteps it needs, and the revisions this run recomputed (their loads are forced)."""
    hour: int
    partition: str
    manifest: dict
    steps: list
    redone: set = field(default_factory=set)


def revision_content(revision):
    """What a derived revision was computed from, as the load ledger records it."""
    return {"raw_files": dict(revision["inputs"])}


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _describe(invariants):
    return "; ".join("%s (%s)" % (item["name"], item["detail"]) for item in broken(invariants))


def run_mrjob(job, settings, inputs, output_uri, by_partition=False):
    """Run a job with mrjob's runner of ``settings.runner`` over ``inputs`` into ``output_uri``;
    returns its counters summed over steps. ``by_partition``: one launch over several hours'
    files, its records tagged by hour (mr/partition_tags.py). Raises whatever mrjob raises when the job fails; a
    failed step's StepFailedException names the failed task's error when mrjob found it in the
    task logs (on Hadoop, the failed attempt's stderr), instead of the `hadoop jar` command line."""
    from mrjob.step import StepFailedException

    from mr import job_class
    from mr.base import sum_counters

    instance = job_class(job)(args=mrjob_args(job, settings, inputs, output_uri, by_partition))
    with instance.make_runner() as runner:
        try:
            runner.run()
        except StepFailedException as error:
            cause = task_error_line(runner, error.step_num)
            if not cause:
                raise
            raise StepFailedException(reason=cause, step_num=error.step_num, num_steps=error.num_steps,
                                      step_desc=error.step_desc) from error
        return sum_counters(runner.counters())


def mrjob_args(job, settings, inputs, output_uri, by_partition=False):
    """The command line of a run's job launch (see run_mrjob)."""
    args = ["-r", settings.runner, "--output-dir", output_uri] + (["--by-partition"] if by_partition else [])
    for flag, name in job_row(job).run_options:
        args += [flag, repr(getattr(settings, name))]  # repr: a float's exact text, an int's digits
    if settings.runner == "hadoop":
        # The inputs are the committed files the run listed a moment ago. mrjob would check each
        # again with `hadoop fs -ls`, a JVM of a few seconds per file, before every launch.
        args.append("--no-check-input-paths")
    if settings.mrjob_conf:
        args += ["-c", settings.mrjob_conf]
    return args + list(inputs)


def task_error_line(runner, step_num):
    """mrjob's "probable cause of failure" of a failed step, in one line: the failed attempt (or
    container) and the last line of its task's error (a Python exception, a setup command's
    message), else the first line of Hadoop's error. None when mrjob found no error in the logs."""
    from mrjob.logs.errors import _pick_error  # the choice mrjob logs as the probable cause

    interpretations = getattr(runner, "_log_interpretations", None)
    if not interpretations:
        return None
    error = _pick_error(interpretations[-1]) or {}
    if not error.get("task_error") and hasattr(runner, "_interpret_task_logs"):
        # mrjob 0.7.4 maps failed attempts to YARN containers through the job history file, and
        # finds that file only if the job's user is "hadoop" (its name pattern says so): for any
        # other user it reads no task log. Read the newest failed container's logs instead.
        retry = {"step": interpretations[-1].get("step") or {}}
        try:
            runner._interpret_task_logs(retry, runner._get_step(step_num)["type"])
        except (IOError, OSError, KeyError, IndexError) as failure:  # keep what mrjob found
            retry = {"unreadable": str(failure)}
        found = _pick_error(retry)
        if found and found.get("task_error"):
            error = found
    task_error, hadoop_error = error.get("task_error") or {}, error.get("hadoop_error") or {}
    lines = [line.strip() for line in (task_error or hadoop_error).get("message", "").splitlines() if line.strip()]
    if not lines:
        return None
    line = lines[-1] if task_error else lines[0]
    where = error.get("attempt_id") or error.get("container_id")
    return "%s: %s" % (where, line) if where else line


class KeptLog(logging.Handler):
    """Keeps mrjob's warnings and errors in memory, so a quiet run can show them if it fails."""

    def __init__(self, keep=40):
        super().__init__(logging.WARNING)
        self.lines = []
        self.keep = keep

    def emit(self, record):
        self.lines = (self.lines + self.format(record).splitlines())[-self.keep:]


def quiet_mrjob(verbose):
    """mrjob logs through `logging`; cron wants silence on success. Returns the KeptLog of its
    warnings; with ``verbose`` they also go to stderr as they happen."""
    logger = logging.getLogger("mrjob")
    kept = KeptLog()
    logger.addHandler(kept)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    if verbose:
        logger.addHandler(logging.StreamHandler())
    return kept
