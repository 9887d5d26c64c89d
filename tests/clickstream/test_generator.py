"""The synthetic clickstream: deterministic, heavy-tailed, valid except for the malformed share."""
import io
from collections import Counter

import pytest

from clickstream.errors import ConfigError
from clickstream.generator import GeneratorSpec, write_events
from reference import reference_event


def generate(**options):
    stream = io.BytesIO()
    count = write_events(GeneratorSpec(**options), stream)
    return count, stream.getvalue().splitlines()


def test_same_seed_same_bytes_and_other_seed_other_bytes():
    _, first = generate(events=5000, seed=3, malformed_fraction=0.05)
    _, again = generate(events=5000, seed=3, malformed_fraction=0.05)
    _, other = generate(events=5000, seed=4, malformed_fraction=0.05)
    assert first == again
    assert first != other


def test_count_valid_lines_and_malformed_share():
    count, lines = generate(events=20_000, users=500, malformed_fraction=0.05)
    assert count == len(lines) == 20_000
    events = [reference_event(line) for line in lines]
    bad = sum(event is None for event in events)
    assert 0.035 * count < bad < 0.065 * count
    assert {event[1] for event in events if event} >= {"page_view", "view_product", "add_to_cart", "purchase", "search"}


def test_no_malformed_lines_by_default_and_cart_adds_carry_a_product():
    _, lines = generate(events=5000)
    import json
    for line in lines:
        assert reference_event(line) is not None
        fields = json.loads(line)
        if fields["action"] in ("add_to_cart", "purchase", "view_product"):
            assert fields["product_id"]


def test_activity_is_heavy_tailed():
    _, lines = generate(events=50_000, users=5_000)
    per_user = Counter(reference_event(line)[0] for line in lines)
    ranked = sorted(per_user.values(), reverse=True)
    assert ranked[0] > 20 * ranked[len(ranked) // 2]


@pytest.mark.parametrize("options, message", [
    ({"events": -1}, "--count"),
    ({"users": 0}, "--users"),
    ({"malformed_fraction": 1.5}, "--malformed"),
    ({"start": "2024-01-01T00:00:00"}, "--start"),
    ({"start": "soon"}, "--start"),
])
def test_bad_options_name_the_option(options, message):
    with pytest.raises(ConfigError, match=message):
        GeneratorSpec(**options).validate()
