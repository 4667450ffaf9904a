"""What the adapter relies on in LangGraph's stored data: fails loudly when upstream changes."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from lg_graphs import failing_builder, joke_builder, review_builder

from flowpoint.adapters.langgraph import PlainSerializer


def _tuples(saver, thread):
    return list(reversed(list(saver.list({"configurable": {"thread_id": thread}}))))


def test_trigger_channels_are_cleared_when_a_thread_ends(sqlite_saver):
    graph = joke_builder().compile(checkpointer=sqlite_saver, interrupt_before=["rate"])
    graph.invoke({"topic": "x"}, {"configurable": {"thread_id": "t"}})
    stopped = _tuples(sqlite_saver, "t")[-1].checkpoint["channel_values"]
    assert "branch:to:rate" in stopped
    graph.invoke(None, {"configurable": {"thread_id": "t"}})
    done = _tuples(sqlite_saver, "t")[-1].checkpoint["channel_values"]
    assert not [k for k in done if k.startswith("branch:") or k.startswith("__")]


def test_versions_seen_gains_the_node_that_ran(sqlite_saver):
    graph = joke_builder().compile(checkpointer=sqlite_saver)
    graph.invoke({"topic": "x"}, {"configurable": {"thread_id": "t"}})
    tuples = _tuples(sqlite_saver, "t")
    assert [t.metadata["source"] for t in tuples] == ["input", "loop", "loop", "loop", "loop"]
    before, after = tuples[2].checkpoint["versions_seen"], tuples[3].checkpoint["versions_seen"]
    assert {k for k in after if after[k] != before.get(k)} == {"write_joke"}
    assert {c for _t, c, _v in tuples[2].pending_writes} >= {"joke"}


def test_update_state_stores_a_child_marked_update(sqlite_saver):
    graph = joke_builder().compile(checkpointer=sqlite_saver)
    graph.invoke({"topic": "x"}, {"configurable": {"thread_id": "t"}})
    base = _tuples(sqlite_saver, "t")[3]
    config = graph.update_state(base.config, {"joke": "edited"}, as_node="write_joke")
    child = sqlite_saver.get_tuple(config)
    assert child.metadata["source"] == "update"
    assert child.parent_config["configurable"]["checkpoint_id"] == \
        base.config["configurable"]["checkpoint_id"]
    assert child.checkpoint["channel_values"]["joke"] == "edited"


def test_interrupts_errors_and_run_metadata_are_stored_as_expected(sqlite_saver):
    reviews = review_builder().compile(checkpointer=sqlite_saver)
    reviews.invoke({"draft": "x"}, {"configurable": {"thread_id": "r"},
                                    "metadata": {"origin": "abc"}})
    tip = _tuples(sqlite_saver, "r")[-1]
    assert tip.metadata["origin"] == "abc"
    assert [c for _t, c, _v in tip.pending_writes] == ["__interrupt__"]
    bad = failing_builder().compile(checkpointer=sqlite_saver)
    with pytest.raises(ValueError):
        bad.invoke({"topic": "x"}, {"configurable": {"thread_id": "f"}})
    errors = [v for _t, c, v in _tuples(sqlite_saver, "f")[-1].pending_writes if c == "__error__"]
    assert errors and "no joke about x and cats" in str(errors[0])


def test_plain_reading_of_what_langgraphs_serializer_writes():
    written = JsonPlusSerializer().dumps_typed({
        "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
        "id": uuid.UUID(int=7), "tags": {"a"}, "msg": HumanMessage(content="hi", id="m1")})
    assert written[0] == "msgpack"
    value = PlainSerializer().loads_typed(written)
    assert value["when"] == "2026-01-02T03:04:05+00:00"
    assert value["id"] == "00000000000000000000000000000007"
    assert value["tags"] == ["a"]
    assert value["msg"]["content"] == "hi" and value["msg"]["type"] == "human"
