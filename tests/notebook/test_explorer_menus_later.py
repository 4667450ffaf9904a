"""Over a big store the explorer shows its table first and fills the filter menus in later,
read in a worker thread while the loop goes on; without a running loop it reads them at once."""

from __future__ import annotations

import asyncio

import pytest

from flowpoint import WorkflowCheckpointer
from flowpoint.demo import JokeFlow
from flowpoint.notebook.explorer import CheckpointExplorer
from flowpoint.notebook.explorer import data as explorer_data

ANY_ONLY = {"status": [["any status", ""]], "step": [["any step", ""]],
            "input_type": [["any input", ""]], "output_type": [["any output", ""]]}


@pytest.fixture
async def jokes(store):
    ckptr = WorkflowCheckpointer(JokeFlow(), store=store)
    for topic in ("chemistry", "physics", "tea"):
        await ckptr.run(topic=topic)
    return ckptr


@pytest.fixture
def big(monkeypatch):
    """Every store counts as big: the menus are read later."""
    monkeypatch.setattr(explorer_data, "MENUS_LATER_OVER", 0)


def _menus_at_once(ckptr):
    """The menus as an explorer opened without a running loop reads them (in a thread here,
    so that no loop runs in it)."""
    def opened():
        e = CheckpointExplorer(ckptr)
        try:
            assert e.data.menus_pending is None
            return e.data.options, e.data.total_all
        finally:
            e.close()
    return opened


async def test_the_table_shows_before_the_menus_which_then_match_a_direct_read(
        jokes, explorers, big):
    expected_options, expected_all = await asyncio.to_thread(_menus_at_once(jokes))
    assert expected_options["step"][1:] and expected_all == 9
    e = explorers(jokes)
    assert e.total == e.data.total_all == 9 and len(e.rows) == 9
    assert e.data.menus_pending is not None and not e.data.menus_pending.done()
    assert e.data.options == ANY_ONLY  # the "any" entries until the values are read
    assert e.table.options == ANY_ONLY
    await e.data.menus_pending
    assert e.data.options == e.table.options == expected_options
    assert e.data.total_all == 9


async def test_filters_count_right_before_and_after_the_menus_arrive(jokes, explorers, big):
    e = explorers(jokes)
    pending = e.data.menus_pending
    e.set_filters(step="generate_joke")
    assert e.total == 3 and e.data.total_all == 9
    await pending
    e.set_filters(step="critique_joke")
    assert e.total == 3 and e.data.total_all == 9
    e.set_filters()
    assert e.total == 9


async def test_menus_read_for_an_older_store_state_are_dropped(jokes, explorers, big):
    e = explorers(jokes)
    first = e.data.menus_pending
    await jokes.run(topic="jazz")
    e.refresh()  # the store changed: the first read is cancelled, a new one started
    assert e.data.menus_pending is not first and (first.done() or first.cancelling())
    assert e.total == e.data.total_all == 12
    await e.data.menus_pending
    assert e.data.total_all == 12 and e.total == 12


async def test_closing_while_the_menus_are_read_leaves_them_unfilled(jokes, explorers, big):
    e = explorers(jokes)
    pending = e.data.menus_pending
    e.close()
    assert pending.done() or pending.cancelling()
    await asyncio.sleep(0.2)
    assert e.data.options == ANY_ONLY


async def test_a_small_store_reads_its_menus_at_once(jokes, explorers):
    e = explorers(jokes)
    assert e.data.menus_pending is None
    assert e.data.options["step"][1:] and e.data.total_all == 9
