"""Per-product funnel: views, cart adds, purchases, exact distinct users (and who they are, so
the loader can count distinct users across batches) and conversion rates.
Memory: map tasks spill their (product, user) table when the task's resident memory reaches
--combine-memory-mb (mr/combining.py); reducers stream
one product at a time (O(its distinct users)); the second step merges one partial per reducer task.
"""
from mrjob.step import MRStep

from mr.base import COUNTER_GROUP, ClickstreamJob
from mr.combining import add_combine_memory_arg, budget_from_options
from mr.fields import CART_ACTION, PURCHASE_ACTION, VIEW_ACTION, product_key


# A partial per-product record, as a list for speed and a compact protocol (USERS: their ids):
USERS, VIEWS, CART_ADDS, PURCHASES, EVENTS = range(5)


def conversion(numerator, denominator):
    """numerator / denominator rounded to 6 decimals (byte-stable output), or None when 0."""
    if not denominator:
        return None
    return round(numerator / denominator, 6)


def final_record(product, partial):
    """A merged partial -> the job's output value."""
    return {
        "product_id": product,
        "views": partial[VIEWS],
        "cart_adds": partial[CART_ADDS],
        "purchases": partial[PURCHASES],
        "events": partial[EVENTS],
        "distinct_users": len(partial[USERS]),
        "users": sorted(partial[USERS]),
        "view_to_cart": conversion(partial[CART_ADDS], partial[VIEWS]),
        "cart_to_purchase": conversion(partial[PURCHASES], partial[CART_ADDS]),
    }


class MRProductPopularity(ClickstreamJob):
    """Key product_id (string); value {product_id, views, cart_adds, purchases, events,
    distinct_users, users (sorted ids), view_to_cart, cart_to_purchase}. Only events carrying a
    product id count."""

    def configure_args(self):
        super().configure_args()
        add_combine_memory_arg(self)
        self.add_passthru_arg(
            "--combine-keys", type=int, default=0,
            help="also spill the in-memory table at this many (product, user) pairs (default: memory decides)")

    def steps(self):
        return [
            MRStep(mapper_raw=self.mapper_combine_file, reducer=self.reducer_count_users,
                   reducer_init=self.reducer_init_product, reducer_final=self.reducer_flush_product),
            MRStep(reducer_init=self.reducer_init_sum, reducer=self.reducer_sum,
                   reducer_final=self.reducer_final_sum),
        ]

    def mapper_combine_file(self, input_path, input_uri):
        """Count each (product, user) pair's funnel events of one raw file in memory."""
        table = {}
        budget = budget_from_options(self.options, self.options.combine_keys)
        limit = budget.limit
        ignored = 0
        for event in self.iter_events(input_path, input_uri):
            product = product_key(event.fields)
            if product is None:
                if event.fields.get("product_id") is not None:
                    ignored += 1
                continue
            pair = (product, event.user_id)
            counts = table.get(pair)
            if counts is None:
                if len(table) >= limit:
                    if budget.check(len(table)):
                        yield from self._spill(table)
                    limit = budget.limit
                counts = table[pair] = [0, 0, 0, 0]
            action = event.action
            if action == VIEW_ACTION:
                counts[0] += 1
            elif action == CART_ACTION:
                counts[1] += 1
            elif action == PURCHASE_ACTION:
                counts[2] += 1
            counts[3] += 1
        yield from self._spill(table)
        if ignored:
            self.increment_counter(COUNTER_GROUP, "product_id unusable", ignored)

    def _spill(self, table):
        for pair, counts in table.items():
            yield list(pair), counts
        if table:
            self.increment_counter(COUNTER_GROUP, "combiner spills")
        table.clear()

    def reducer_init_product(self):
        self._product = None
        self._partial = None

    def reducer_count_users(self, pair, counts):
        """One call per (product, user) pair, so each adds exactly one distinct user. Pairs of one
        product arrive together (sorted keys), so one running partial per task suffices; a product
        that is split across tasks is merged by the next step."""
        product = pair[0]
        if product != self._product:
            yield from self.reducer_flush_product()
            self._product = product
            self._partial = [[], 0, 0, 0, 0]
        partial = self._partial
        partial[USERS].append(pair[1])
        for views, cart_adds, purchases, events in counts:
            partial[VIEWS] += views
            partial[CART_ADDS] += cart_adds
            partial[PURCHASES] += purchases
            partial[EVENTS] += events

    def reducer_flush_product(self):
        if self._partial is not None:
            yield self._product, self._partial
            self._partial = None

    def reducer_init_sum(self):
        self._products_output = 0

    def reducer_sum(self, product, partials):
        merged = [[], 0, 0, 0, 0]
        for partial in partials:
            for field, value in enumerate(partial):
                merged[field] += value  # a product split across tasks: each task saw other users
        self._products_output += 1
        yield product, final_record(product, merged)

    def reducer_final_sum(self):
        # One counter update per task: each update is a line on stderr under streaming.
        self.increment_counter(COUNTER_GROUP, "products output", self._products_output)
        return ()


if __name__ == "__main__":
    MRProductPopularity.run()
