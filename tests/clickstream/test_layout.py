"""Raw-area naming: event-time hour partitions in UTC and committed file names."""
from datetime import datetime, timezone

import pytest

from clickstream.errors import ConfigError
from clickstream.events import parse_ts
from clickstream.layout import (data_file_name, hour_of, hour_partition, parse_date_option, parse_hour_option,
                                partition_hour)


@pytest.mark.parametrize("stamp, partition", [
    ("2024-12-29T00:30:00+01:00", "dt=2024-12-28/hour=23"),
    ("2024-12-29T00:30:00Z", "dt=2024-12-29/hour=00"),
    ("2024-12-31T23:59:59.999999Z", "dt=2024-12-31/hour=23"),
    ("2024-12-31T19:00:00-05:00", "dt=2025-01-01/hour=00"),
])
def test_partition_is_the_utc_hour(stamp, partition):
    moment = datetime.fromisoformat(stamp).astimezone(timezone.utc)
    assert moment.strftime("dt=%Y-%m-%d/hour=%H") == partition  # the reference
    assert hour_partition(hour_of(parse_ts(stamp))) == partition
    assert hour_partition(partition_hour(partition)) == partition


def test_options_and_names():
    assert hour_partition(parse_hour_option("2024-02-29T07")) == "dt=2024-02-29/hour=07"
    hours = parse_date_option("2024-03-01")
    assert len(hours) == 24 and hour_partition(hours[-1]) == "dt=2024-03-01/hour=23"
    assert data_file_name("clicks", 2, 5, 99) == "clicks+2+%020d+%020d.jsonl" % (5, 99)


@pytest.mark.parametrize("text", ["2024-02-30T07", "2024-02-29T24", "2024-02-29", "yesterday", ""])
def test_bad_hour_option_is_one_clear_error(text):
    with pytest.raises(ConfigError, match="--hour"):
        parse_hour_option(text)
