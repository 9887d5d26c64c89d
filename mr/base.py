"""The base every clickstream job extends: compact orjson protocols, raw-file input, the shared
event model with rejected lines counted by reason, and what ``-r hadoop`` ships to task nodes."""
import io
import itertools
import os
import sys

from mrjob.job import MRJob
from mrjob.protocol import BytesValueProtocol
from mrjob.step import MRStep

from clickstream.errors import ConfigError
from clickstream.events import EventRejected, parse_event, parse_fields
from clickstream.layout import is_hidden
from mr.inputs import select_raw_inputs
from mr.partition_tags import add_counts, counts_record, partition_of_uri
from mr.protocols import JSONKeyValueProtocol
from mr.rawinput import open_raw
from mr.shipping import add_shipping

COUNTER_GROUP = "clickstream"
REJECT_GROUP = "clickstream rejected"
TASK_STDOUT_BUFFER = 1 << 16
LOCAL_TASK_ENV = {"SETUPTOOLS_USE_DISTUTILS": "stdlib"}


def sum_counters(step_counters):
    """mrjob's per-step counters -> one {group: {name: count}} summed over the steps."""
    totals = {}
    for counters in step_counters:
        for group, names in counters.items():
            for name, count in names.items():
                totals.setdefault(group, {})[name] = totals.get(group, {}).get(name, 0) + count
    return totals


def counters_summary(step_counters):
    """mrjob's per-step counters -> one line: the clickstream counters, rejects by reason."""
    totals = sum_counters(step_counters)
    own = ["%s %d" % item for item in sorted(totals.get(COUNTER_GROUP, {}).items())]
    rejected = sorted(totals.get(REJECT_GROUP, {}).items())
    text = "clickstream counters: %s; rejected %d" % (", ".join(own) or "none", sum(c for _, c in rejected))
    if rejected:
        text += " (%s)" % ", ".join("%s %d" % item for item in rejected)
    return text


class ClickstreamJob(MRJob):
    """Jobs read whole raw files (``mapper_raw``) so they can combine in memory, and talk orjson.

    On runners other than inline and local, the job ships its own code and orjson (see
    ``mr/shipping.py``), so every job extending this class runs on nodes without the project.
    """

    INPUT_PROTOCOL = BytesValueProtocol
    INTERNAL_PROTOCOL = JSONKeyValueProtocol
    OUTPUT_PROTOCOL = JSONKeyValueProtocol

    def configure_args(self):
        super().configure_args()
        # Launcher-only options (never passed to tasks): pick inputs from the raw area by time.
        self.arg_parser.add_argument(
            "--sink", help="raw area root (path, file:///, hdfs:///) to read --date/--hour from")
        self.arg_parser.add_argument("--date", help="read the raw area's partitions of this UTC day, YYYY-MM-DD")
        self.arg_parser.add_argument("--hour", help="read the raw area's partition of this UTC hour, YYYY-MM-DDTHH")
        self.add_passthru_arg(
            "--by-partition", action="store_true",
            help="one launch over many hour partitions: prefix every key with its raw partition and keep the "
                 "counters per partition (mr/partition_tags.py; `clickstream run` splits the output by hour)")

    def load_args(self, args):
        super().load_args(args)
        options = self.options
        if options.sink is None and options.date is None and options.hour is None:
            return
        if options.args:
            self.arg_parser.error("--sink/--date/--hour select the input; got INPUT paths too: %r" % (options.args,))
        try:
            options.args = select_raw_inputs(options.sink, options.date, options.hour)
        except ConfigError as error:
            self.arg_parser.error(str(error))

    def _runner_kwargs(self):
        # mrjob has no public hook for py_files/setup/python_bin; this is the one place they meet.
        # make_runner() calls this twice (once to log), so the bundle is built once per job.
        kwargs = super()._runner_kwargs()
        alias = self._runner_class().alias
        shipped = getattr(self, "_shipped_kwargs", None)
        if shipped is None:
            shipped = self._shipped_kwargs = add_shipping({}, self.options, alias, owner=self)
        for key, value in shipped.items():
            kwargs[key] = value if key == "python_bin" else list(kwargs.get(key) or ()) + list(value)
        if alias == "local" and sys.version_info < (3, 12):
            # Local tasks run this interpreter. mrjob imports distutils, which setuptools' shim
            # serves by importing all of setuptools (~0.13 s per task); before 3.12 the stdlib
            # has distutils. The command line's --cmdenv still wins.
            kwargs["cmdenv"] = dict(LOCAL_TASK_ENV, **(kwargs.get("cmdenv") or {}))
        return kwargs

    def execute(self):
        # A task writes one line per record with two write() calls; when the binary stdout is
        # raw (python -u, PYTHONUNBUFFERED), each is a system call. Buffer it in tasks.
        task = self.options.run_mapper or self.options.run_combiner or self.options.run_reducer
        stdout = getattr(sys.stdout, "buffer", None)
        if task and self._stdout is None and isinstance(stdout, io.RawIOBase):
            self._stdout = io.BufferedWriter(stdout, TASK_STDOUT_BUFFER)
            try:
                return super().execute()
            finally:
                self._stdout.flush()
        return super().execute()

    def make_runner(self):
        runner = super().make_runner()
        self._last_runner = runner
        return runner

    def run_job(self):
        """Run the job from the command line; then one line of clickstream counters on stderr."""
        self._last_runner = None
        super().run_job()
        if self._last_runner is not None:
            self.stderr.write((counters_summary(self._last_runner.counters()) + "\n").encode("utf-8"))
            self.stderr.flush()

    # --- --by-partition: each hour partition as if it ran alone (mr/partition_tags.py) ------------

    _tally = None  # {partition: {(group, name): n}} while a --by-partition task runs
    _partition = None

    def increment_counter(self, group, counter, amount=1):
        if self._tally is not None and group in (COUNTER_GROUP, REJECT_GROUP):
            counts = self._tally.setdefault(self._partition, {})
            counts[(group, counter)] = counts.get((group, counter), 0) + amount
        super().increment_counter(group, counter, amount)

    def _tallied(self):
        """The counts records of a --by-partition task's partitions, once it is done."""
        for partition, tally in sorted(self._tally.items()):
            yield [partition], counts_record(tally)

    def map_pairs(self, pairs, step_num=0):
        if not self.options.by_partition:
            yield from super().map_pairs(pairs, step_num)
            return
        if self._get_step(step_num, MRStep)["mapper_raw"] is None:
            # the later steps' mappers are identities in these jobs: tags and counts pass as they are
            yield from super().map_pairs(pairs, step_num)
            return
        self._tally = {}
        self._partition = partition = partition_of_uri(self.options.args[1])  # a raw mapper's task is one file
        self._tally[partition] = {}
        for key, value in super().map_pairs(pairs, step_num):
            yield [partition, key], value
        yield from self._tallied()

    def _combine_or_reduce_pairs(self, pairs, mrc, step_num=0):
        if not self.options.by_partition:
            yield from super()._combine_or_reduce_pairs(pairs, mrc, step_num)
            return
        step = self._get_step(step_num, MRStep)
        task, task_init, task_final = step[mrc], step[mrc + "_init"], step[mrc + "_final"]
        self._tally = {}
        current = None
        for tagged, tagged_pairs in itertools.groupby(pairs, lambda pair: pair[0]):
            partition = tagged[0]
            if len(tagged) == 1:  # an upstream task's counts of the partition
                for _key, value in tagged_pairs:
                    add_counts(self._tally.setdefault(partition, {}), value)
                continue
            if partition != current:  # keys sort by partition first: the last one is done
                if current is not None and task_final:
                    yield from self._tagged(current, task_final())
                current = self._partition = partition
                if task_init:
                    yield from self._tagged(partition, task_init())
            yield from self._tagged(partition, task(tagged[1], (value for _key, value in tagged_pairs)))
        if current is not None and task_final:
            yield from self._tagged(current, task_final())
        yield from self._tallied()

    @staticmethod
    def _tagged(partition, pairs):
        for key, value in pairs or ():
            yield [partition, key], value

    def iter_events(self, input_path, input_uri):
        """Yield every valid Event of one raw file (plain or .gz). Rejected lines are counted
        under the 'clickstream rejected' group by reason, valid ones as 'events valid', all of
        them as 'lines read'. A hidden
        file (name starting with '_' or '.', work in progress in the raw area) is skipped."""
        return self._iter_parsed(parse_event, input_path, input_uri)

    def iter_event_fields(self, input_path, input_uri):
        """``iter_events`` for hot loops: (user_id, action, ts, fields) tuples, no Event objects."""
        return self._iter_parsed(parse_fields, input_path, input_uri)

    def _iter_parsed(self, parse, input_path, input_uri):
        # The URI names the file as the raw area knows it; input_path may be a runner's local copy.
        if is_hidden(os.path.basename(input_uri.rstrip("/"))):
            self.increment_counter(COUNTER_GROUP, "hidden files skipped")
            return
        rejected = {}
        valid = read = 0
        with open_raw(input_path) as lines:
            for line in lines:
                read += 1
                try:
                    parsed = parse(line)
                except EventRejected as rejection:
                    rejected[rejection.reason] = rejected.get(rejection.reason, 0) + 1
                    continue
                valid += 1
                yield parsed
        # `clickstream run` reconciles these: lines read = events valid + rejected
        self.increment_counter(COUNTER_GROUP, "lines read", read)
        self.increment_counter(COUNTER_GROUP, "events valid", valid)
        for reason, count in sorted(rejected.items()):
            self.increment_counter(REJECT_GROUP, reason, count)
