"""Pure planning for `clickstream run`: which hours a run covers, and which steps each (job, hour)
still needs, from the raw partition's files, the derived output's manifest and the load ledger.

A (job, partition) is processed in *revisions*. Revision 0 runs the job over the files the raw
partition held at the time. Files that arrive later (late data) make a new revision:
- for additive jobs (their loaders add counts across batches) the new revision runs the job over
  just the new files, and its output is loaded as its own batch, added to what is there;
- for set-by-key jobs (each output record is a whole fact for its key) the new revision runs the
  job over the whole partition again and *supersedes* the older ones: its load replaces their
  documents, and documents only they produced are deleted.
Each revision's batch id is the partition (revision 0: ``<job>:dt=…/hour=…``; later ones add
``#r<N>``), so the loaders' ledger and per-document batch markers make every load idempotent.
"""
from clickstream.errors import ClickstreamError, ConfigError
from clickstream.layout import parse_hour_option

MANIFEST_VERSION = 1


class PartitionChanged(ClickstreamError):
    """Raw files the derived output was computed from have changed size or disappeared."""


# --- which hours ---------------------------------------------------------------------------------

def explicit_hours(hour=None, date=None, backfill=None, max_hours=744):
    """The hour numbers named by --hour, --date or --backfill FROM TO (inclusive), in order."""
    from clickstream.layout import parse_date_option

    given = [name for name, value in (("--hour", hour), ("--date", date), ("--backfill", backfill)) if value]
    if len(given) != 1:
        raise ConfigError("run: give exactly one of --hour, --date, --backfill, --latest-complete (got %s)"
                          % (", ".join(given) or "none"))
    if hour:
        return [parse_hour_option(hour)]
    if date:
        return parse_date_option(date)
    first, last = (parse_hour_option(text, "--backfill") for text in backfill)
    if last < first:
        raise ConfigError("--backfill: %r is before %r; expected FROM_HOUR TO_HOUR in order" % tuple(reversed(backfill)))
    if last - first + 1 > max_hours:
        raise ConfigError("--backfill: %r..%r is %d hours; more than run.max_backfill_hours = %d"
                          % (backfill[0], backfill[1], last - first + 1, max_hours))
    return list(range(first, last + 1))


def incomplete_hours(hours, complete_before):
    """The hours not complete yet: at or after ``complete_before`` (None: nothing is complete)."""
    if complete_before is None:
        return list(hours)
    return [hour for hour in hours if hour >= complete_before]


def pending_hours(candidate_hours, is_done):
    """The hours of ``candidate_hours`` for which ``is_done(hour)`` is false, oldest first."""
    return [hour for hour in sorted(candidate_hours) if not is_done(hour)]


def launch_groups(hours, hours_per_launch):
    """The hours in order, in groups of at most ``hours_per_launch``: each group's hours share a
    lock set and one job launch per job (per step round)."""
    hours = list(hours)
    return [hours[start:start + hours_per_launch] for start in range(0, len(hours), hours_per_launch)]


# --- revisions of one (job, partition) ------------------------------------------------------------

def batch_id(job, partition, revision):
    return "%s:%s" % (job, partition) if revision == 0 else "%s:%s#r%d" % (job, partition, revision)


def new_manifest(job, partition):
    return {"version": MANIFEST_VERSION, "job": job, "partition": partition, "generation": 0, "revisions": []}


def live_revisions(manifest):
    return [revision for revision in manifest["revisions"] if revision["live"]] if manifest else []


def covered_inputs(manifest):
    """{file name: size} over every revision: the raw files the derived output has seen."""
    covered = {}
    for revision in (manifest or {}).get("revisions", ()):
        covered.update(revision["inputs"])
    return covered


def check_unchanged(partition, raw_files, manifest):
    """Raise PartitionChanged if a file an earlier revision read is gone or has another size:
    raw files are immutable once committed, so this means something rewrote the raw area."""
    changed = sorted(name for name, size in covered_inputs(manifest).items() if raw_files.get(name) != size)
    if changed:
        raise PartitionChanged(
            "raw partition %s changed under its derived output: %s %s (committed raw files never change; "
            "restore them, or delete the derived output and the collections' batches of this hour)"
            % (partition, ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else ""),
               "is gone or resized" if len(changed) == 1 else "are gone or resized"))


class MrStep:
    """Run the job over ``inputs`` ({name: size}) and commit it as ``revision``; ``replaces``: the
    same revision recomputed (--force); ``supersedes``: revision numbers this one makes obsolete."""

    def __init__(self, revision, kind, inputs, replaces=False, supersedes=()):
        self.revision = revision
        self.kind = kind
        self.inputs = dict(inputs)
        self.replaces = replaces
        self.supersedes = list(supersedes)

    def __repr__(self):
        return "MrStep(r%d %s, %d files%s%s)" % (self.revision, self.kind, len(self.inputs),
                                                 ", redo" if self.replaces else "",
                                                 ", supersedes %s" % self.supersedes if self.supersedes else "")


def plan_mr(manifest, raw_files, additive, force=False):
    """The MrSteps one (job, partition) needs, in order. ``raw_files``: the partition's data files
    now ({name: size}); ``manifest``: the committed derived state or None."""
    if not raw_files and not manifest:
        return []
    revisions = live_revisions(manifest)
    next_revision = 1 + max((revision["revision"] for revision in manifest["revisions"]), default=-1) \
        if manifest else 0
    new_files = {name: size for name, size in raw_files.items() if name not in covered_inputs(manifest)}
    if not revisions:
        return [MrStep(0, "full", raw_files)] if raw_files else []
    if not additive:
        if new_files or force:
            return [MrStep(next_revision, "full", raw_files, supersedes=[r["revision"] for r in revisions])]
        return []
    steps = [MrStep(r["revision"], r["kind"], r["inputs"], replaces=True) for r in revisions] if force else []
    if new_files:
        steps.append(MrStep(next_revision, "delta", new_files))
    return steps


def next_generation(manifest):
    """The generation a commit on top of ``manifest`` (or None) gets; it names the new part files."""
    return (manifest or {}).get("generation", 0) + 1


def commit_revision(manifest, job, partition, step, parts, counters, committed_at):
    """The manifest after committing ``step``'s output ``parts`` (names in the partition folder):
    a new dict with the next generation; superseded and replaced revisions are no longer live."""
    updated = new_manifest(job, partition) if manifest is None else {
        key: value for key, value in manifest.items() if key != "revisions"}
    revisions = [dict(revision) for revision in (manifest or {}).get("revisions", ())
                 if revision["revision"] != step.revision]
    for revision in revisions:
        if revision["revision"] in step.supersedes:
            revision["live"] = False
    revisions.append({
        "revision": step.revision, "kind": step.kind, "live": True, "inputs": dict(sorted(step.inputs.items())),
        "parts": sorted(parts), "batch_id": batch_id(job, partition, step.revision),
        "supersedes": [batch_id(job, partition, number) for number in step.supersedes],
        "counters": counters, "committed_at": committed_at})
    updated["revisions"] = sorted(revisions, key=lambda revision: revision["revision"])
    updated["generation"] = next_generation(manifest)
    return updated


def live_parts(manifest):
    return {part for revision in live_revisions(manifest) for part in revision["parts"]}


def plan_loads(manifest, batch_complete, redone=()):
    """The live revisions whose batch still has to be loaded: not complete in the ledger
    (``batch_complete(batch_id) -> bool``), or recomputed in this run (``redone`` revision numbers)."""
    return [revision for revision in live_revisions(manifest)
            if revision["revision"] in redone or not batch_complete(revision["batch_id"])]


def is_done(manifest, raw_files, batch_complete):
    """True when the derived output covers exactly the partition's files and every live batch is loaded."""
    if not raw_files:
        return True
    if not manifest or set(raw_files) != set(covered_inputs(manifest)):
        return False
    return not plan_loads(manifest, batch_complete)
