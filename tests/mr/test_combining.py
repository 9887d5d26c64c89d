"""The memory budget of in-mapper combining: when a table spills, measured against a fake memory."""
import pytest

from mr.combining import CHECK_EVERY, SPILL_FRACTION, MemoryBudget, resident_bytes


class FakeMemory:
    def __init__(self, per_key, base=0):
        self.per_key, self.base, self.keys = per_key, base, 0

    def __call__(self):
        return self.base + self.per_key * self.keys


def fill(budget, memory, keys):
    """Add keys one at a time as a job does; return the table sizes at which it spilled."""
    spills, table = [], 0
    for _ in range(keys):
        if table >= budget.limit and budget.check(table):
            spills.append(table)
            table = 0
        table += 1
        memory.keys = max(memory.keys, table)  # freed memory is kept for the next table
    return spills


def test_a_table_within_budget_never_spills():
    memory = FakeMemory(per_key=100)
    budget = MemoryBudget(100 * 50_000, measure=memory)
    assert fill(budget, memory, 40_000) == []
    assert budget.peak_bytes <= 100 * 40_000


def test_the_first_spill_comes_when_memory_nears_the_budget_and_its_size_is_kept():
    memory = FakeMemory(per_key=1000, base=10_000_000)
    budget = MemoryBudget(30_000_000, measure=memory)
    room = int((30_000_000 * SPILL_FRACTION - 10_000_000) / 1000)  # keys above the base until it spills
    spills = fill(budget, memory, 100_000)
    first = spills[0]
    assert room <= first < room + CHECK_EVERY  # measured every CHECK_EVERY keys, not per key
    assert 10_000_000 + 1000 * first <= 30_000_000  # what grew between two reads still fits the budget
    assert set(spills) == {first}  # later tables are cut at the first one's size: memory stays flat
    assert len(spills) == 100_000 // first - (100_000 % first == 0)


def test_a_key_cap_spills_as_well():
    memory = FakeMemory(per_key=1)
    budget = MemoryBudget(10**12, max_keys=7, measure=memory)
    assert fill(budget, memory, 30) == [7, 7, 7, 7]


@pytest.mark.parametrize("budget_bytes", [0, -5])
def test_a_budget_must_be_positive(budget_bytes):
    with pytest.raises(ValueError, match="expected a positive number of bytes"):
        MemoryBudget(budget_bytes)


def test_resident_bytes_reads_this_process():
    held = b"x" * (64 * 1024 * 1024)
    assert resident_bytes() >= len(held)
