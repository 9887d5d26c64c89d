"""The base every clickstream job extends: compact orjson protocols, raw-file input, and the
shared event model with rejected lines counted by reason in mrjob counters."""
from mrjob.job import MRJob
from mrjob.protocol import BytesValueProtocol

from clickstream.events import EventRejected, parse_event
from mr.protocols import JSONKeyValueProtocol
from mr.rawinput import open_raw

COUNTER_GROUP = "clickstream"
REJECT_GROUP = "clickstream rejected"


class ClickstreamJob(MRJob):
    """Jobs read whole raw files (``mapper_raw``) so they can combine in memory, and talk orjson."""

    INPUT_PROTOCOL = BytesValueProtocol
    INTERNAL_PROTOCOL = JSONKeyValueProtocol
    OUTPUT_PROTOCOL = JSONKeyValueProtocol

    def iter_events(self, input_path):
        """Yield every valid Event of one raw file (plain or .gz). Rejected lines are counted
        under the 'clickstream rejected' group by reason, valid ones as 'events valid'."""
        rejected = {}
        valid = 0
        with open_raw(input_path) as lines:
            for line in lines:
                try:
                    event = parse_event(line)
                except EventRejected as rejection:
                    rejected[rejection.reason] = rejected.get(rejection.reason, 0) + 1
                    continue
                valid += 1
                yield event
        self.increment_counter(COUNTER_GROUP, "events valid", valid)
        for reason, count in sorted(rejected.items()):
            self.increment_counter(REJECT_GROUP, reason, count)
