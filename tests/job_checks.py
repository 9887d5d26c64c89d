"""The checks every job test makes of a run against its reference: the output, the rejects, and
the events the job counted as valid."""
from mr.base import COUNTER_GROUP, REJECT_GROUP


def check_job_result(output, counters, expected, rejected, valid_events=None):
    """``output`` equals the reference's ``expected``, the job rejected exactly ``rejected`` lines,
    and (when given) counted ``valid_events`` valid events."""
    assert output == expected
    assert sum(counters.get(REJECT_GROUP, {}).values()) == rejected
    if valid_events is not None:
        assert counters[COUNTER_GROUP]["events valid"] == valid_events
