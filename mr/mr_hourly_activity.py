"""Per UTC hour: product-page visits, cart adds, purchases, exact distinct users and events per action.
Memory: map tasks spill their (hour, user) table when the task's resident memory reaches
--combine-memory-mb (mr/combining.py); reducers stream one
hour at a time (O(actions)); the second step sums one small partial per hour and reducer task.
"""
from mrjob.step import MRStep

from clickstream.events import format_ts
from clickstream.layout import MICROS_PER_HOUR, hour_of
from mr.base import COUNTER_GROUP, ClickstreamJob
from mr.combining import add_combine_memory_arg, budget_from_options
from mr.fields import CART_ACTION, PURCHASE_ACTION, VIEW_ACTION



def hour_start(hour):
    """Hour number since the epoch -> 'YYYY-MM-DDTHH:00:00Z'."""
    return format_ts(hour * MICROS_PER_HOUR)


def final_record(hour, distinct_users, actions):
    """One hour's merged counts -> the job's output value."""
    return {
        "hour": hour_start(hour),
        "product_page_visits": actions.get(VIEW_ACTION, 0),
        "cart_adds": actions.get(CART_ACTION, 0),
        "purchases": actions.get(PURCHASE_ACTION, 0),
        "distinct_users": distinct_users,
        "events": sum(actions.values()),
        "actions": actions,
    }


def add_counts(into, other):
    for action, count in other.items():
        into[action] = into.get(action, 0) + count


class MRHourlyActivity(ClickstreamJob):
    """Key 'YYYY-MM-DDTHH' (UTC); value {hour, product_page_visits, cart_adds, purchases,
    distinct_users, events, actions}. A cart add is an add_to_cart event, a product-page visit a
    view_product event."""

    def configure_args(self):
        super().configure_args()
        add_combine_memory_arg(self)
        self.add_passthru_arg(
            "--combine-keys", type=int, default=0,
            help="also spill the in-memory table at this many (hour, user) pairs (default: memory decides)")

    def steps(self):
        return [
            MRStep(mapper_raw=self.mapper_combine_file, reducer=self.reducer_count_users,
                   reducer_init=self.reducer_init_hour, reducer_final=self.reducer_flush_hour),
            MRStep(reducer=self.reducer_sum),
        ]

    def mapper_combine_file(self, input_path, input_uri):
        """Count each (hour, user) pair's actions of one raw file in memory."""
        table = {}
        budget = budget_from_options(self.options, self.options.combine_keys)
        limit = budget.limit
        for event in self.iter_events(input_path, input_uri):
            pair = (hour_of(event.ts), event.user_id)
            actions = table.get(pair)
            if actions is None:
                if len(table) >= limit:
                    if budget.check(len(table)):
                        yield from self._spill(table)
                    limit = budget.limit
                table[pair] = {event.action: 1}
                continue
            actions[event.action] = actions.get(event.action, 0) + 1
        yield from self._spill(table)

    def _spill(self, table):
        for pair, actions in table.items():
            yield list(pair), actions
        if table:
            self.increment_counter(COUNTER_GROUP, "combiner spills")
        table.clear()

    def reducer_init_hour(self):
        self._hour = None
        self._users = 0
        self._actions = None

    def reducer_count_users(self, pair, partials):
        """One call per (hour, user) pair, so each adds exactly one distinct user. Pairs of one
        hour arrive together (sorted keys), so one running partial per task suffices; an hour
        split across tasks is merged by the next step."""
        hour = pair[0]
        if hour != self._hour:
            yield from self.reducer_flush_hour()
            self._hour = hour
            self._users = 0
            self._actions = {}
        self._users += 1
        for actions in partials:
            add_counts(self._actions, actions)

    def reducer_flush_hour(self):
        if self._actions is not None:
            yield self._hour, [self._users, self._actions]
            self._actions = None

    def reducer_sum(self, hour, partials):
        distinct_users = 0
        actions = {}
        for users, counts in partials:
            distinct_users += users
            add_counts(actions, counts)
        record = final_record(hour, distinct_users, actions)
        self.increment_counter(COUNTER_GROUP, "hours output")
        yield record["hour"][:-len(":00:00Z")], record


if __name__ == "__main__":
    MRHourlyActivity.run()
