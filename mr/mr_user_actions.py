"""Per-user action counts: every action's count, clicks, the latest action, first and last seen.

Run: python -m mr.mr_user_actions -r inline|local|hadoop INPUT... (or --sink ROOT --date D)

Why it is fast (the per-event cost is the whole game; mrjob's per-line machinery never sees an event):
- A raw-file mapper (``mapper_raw``) parses each file with the shared parser's tuple form
  (``parse_fields``: no Event object; timestamps cached by text) and combines whole per-user
  records in memory, so a map task writes one line per user per file, not one per event.
- The table spills when the map task's resident memory reaches 85% of ``--combine-memory-mb`` (default
  256 MiB, see ``mr/combining.py``), so a task's memory is bounded whatever the number of users; a
  spill only adds lines for the reducers to merge. In the table a user is one flat list
  ``[first_ts, last_ts, last_action, count of action 0, count of action 1, ...]`` (the task numbers
  the actions it meets): about half the memory of a record holding a dict of counts.
- Records travel as compact orjson lists ``[clicks, first_ts, last_ts, last_action, {action: n}]``
  with integer microseconds, and are formatted once, in the reducer.
- The local runner runs one map task per file, as many at once as there are cores; files are
  not split by byte ranges: the ingest's hourly files are similar in size, so four of them keep
  two cores busy, and splitting would cost a pass over every byte in the launcher.
- Task stdout is buffered and local tasks skip setuptools' distutils shim (see ``mr/base.py``);
  the reducer bumps its counter once per task, not once per user (each bump is a stderr line).
"""
from mrjob.step import MRStep

from clickstream.events import format_ts
from mr.base import COUNTER_GROUP, ClickstreamJob
from mr.combining import add_combine_memory_arg, budget_from_options

# A partial per-user record between map and reduce, as lists for speed:
CLICKS, FIRST_TS, LAST_TS, LAST_ACTION, ACTIONS = range(5)
# A user in the map task's table: first_ts, last_ts, last_action, then one count per action slot.
FIRST_SLOT = 3


def merge_partial(into, other):
    """Merge the partial record ``other`` into ``into``. ``last_action`` is the action with the
    latest time; on a tie, the greatest action name wins, so any merge order gives one answer."""
    into[CLICKS] += other[CLICKS]
    if other[FIRST_TS] < into[FIRST_TS]:
        into[FIRST_TS] = other[FIRST_TS]
    if other[LAST_TS] > into[LAST_TS] or (other[LAST_TS] == into[LAST_TS] and other[LAST_ACTION] > into[LAST_ACTION]):
        into[LAST_TS] = other[LAST_TS]
        into[LAST_ACTION] = other[LAST_ACTION]
    counts = into[ACTIONS]
    for action, count in other[ACTIONS].items():
        counts[action] = counts.get(action, 0) + count
    return into


def final_record(partial):
    """A merged partial record -> the job's output value."""
    return {
        "actions": partial[ACTIONS],
        "click_count": partial[CLICKS],
        "first_seen": format_ts(partial[FIRST_TS]),
        "last_action": partial[LAST_ACTION],
        "last_seen": format_ts(partial[LAST_TS]),
    }


class MRUserActions(ClickstreamJob):
    """One output record per user: key user_id, value {actions, click_count, last_action, first_seen, last_seen}."""

    def configure_args(self):
        super().configure_args()
        add_combine_memory_arg(self)
        self.add_passthru_arg(
            "--combine-users", type=int, default=0,
            help="also spill the in-memory table at this many users (default: memory decides)")

    def steps(self):
        return [MRStep(mapper_raw=self.mapper_combine_file, reducer_init=self.reducer_init_count,
                       reducer=self.reducer_merge, reducer_final=self.reducer_final_count)]

    def mapper_combine_file(self, input_path, input_uri):
        """Parse every line of one raw file and combine whole per-user records in memory."""
        table = {}
        get = table.get
        slots = {}  # action -> its count's index in a user's list
        budget = budget_from_options(self.options, self.options.combine_users)
        limit = budget.limit
        for user_id, action, ts, _fields in self.iter_event_fields(input_path, input_uri):
            slot = slots.get(action)
            if slot is None:
                slot = slots[action] = FIRST_SLOT + len(slots)
            record = get(user_id)
            if record is None:
                if len(table) >= limit:
                    if budget.check(len(table)):
                        yield from self._spill(table, slots)
                        self.increment_counter(COUNTER_GROUP, "combiner spills")
                    limit = budget.limit
                record = table[user_id] = [ts, ts, action] + [0] * len(slots)
            elif ts < record[0]:
                record[0] = ts
            elif ts >= record[1] and (ts > record[1] or action > record[2]):
                record[1] = ts
                record[2] = action
            try:
                record[slot] += 1
            except IndexError:  # an action the task met after this user's list was made
                record.extend([0] * (slot + 1 - len(record)))
                record[slot] = 1
        yield from self._spill(table, slots)

    @staticmethod
    def _spill(table, slots):
        """Emit and empty the in-mapper table as partial records ``[clicks, first, last, last action, {action: n}]``."""
        named = sorted(slots.items(), key=lambda item: item[1])
        for user_id, record in table.items():
            width = len(record)
            counts = {action: record[slot] for action, slot in named if slot < width and record[slot]}
            yield user_id, [sum(counts.values()), record[0], record[1], record[2], counts]
        table.clear()

    def reducer_init_count(self):
        self.users_output = 0

    def reducer_merge(self, user_id, partials):
        merged = None
        for partial in partials:
            merged = partial if merged is None else merge_partial(merged, partial)
        self.users_output += 1
        yield user_id, final_record(merged)

    def reducer_final_count(self):
        # one counter line per reduce task, not per user: each increment is a line on stderr
        self.increment_counter(COUNTER_GROUP, "users output", self.users_output)
        return ()


if __name__ == "__main__":
    MRUserActions.run()
