"""CheckpointQuery filters, ordering and paging behave the same on every backend."""

from __future__ import annotations

from typing import Any

import pytest
from storage_helpers import make_ckpt, make_run

from flowpoint.storage import CheckpointQuery as Q
from flowpoint.storage import CheckpointRecord, RunRecord

START = "flowpoint.runtime.events.StartEvent"
JOKE = "demo.flows.JokeEvent"
CRITIQUE = "demo.flows.CritiqueEvent"
STOP = "flowpoint.runtime.events.StopEvent"


@pytest.fixture
def filled(store: Any) -> Any:
    """Two runs of JokeFlow (completed, failed) and one of OtherFlow (running), 3 steps each."""
    runs = [("r1", "JokeFlow", "completed", 100.0), ("r2", "JokeFlow", "failed", 200.0),
            ("r3", "OtherFlow", "running", 300.0)]
    chain = [(None, START, START), ("generate", START, JOKE), ("critique", JOKE, CRITIQUE),
             ("finish", CRITIQUE, STOP)]
    for run_id, workflow, status, started in runs:
        store.put_run(make_run(run_id, workflow=workflow, status=status, started_at=started))
        for seq, (step, tin, tout) in enumerate(chain):
            store.put_checkpoint(make_ckpt(
                run_id, seq, id=f"{run_id}-{seq}", step=step, input_type=tin, output_type=tout,
                created_at=started + seq, metadata={"label": f"{run_id} seq {seq}"},
            ))
    return store


def ids(store: Any, query: Q | None = None, **kw: Any) -> list[str]:
    got = [c.id for c in store.list_checkpoints(query, **kw)]
    assert store.count_checkpoints(query) == len(store.list_checkpoints(query))
    return got


def test_no_query_lists_everything_in_run_then_seq_order(filled: Any) -> None:
    assert ids(filled) == [f"r{r}-{s}" for r in (1, 2, 3) for s in range(4)]


def test_descending_reverses_the_order(filled: Any) -> None:
    assert ids(filled, Q(descending=True)) == [f"r{r}-{s}" for r in (3, 2, 1) for s in (3, 2, 1, 0)]


def test_runs_are_ordered_by_start_time_not_id(store: Any) -> None:
    store.put_run(make_run("zzz", started_at=1.0))
    store.put_run(make_run("aaa", started_at=2.0))
    for run_id in ("aaa", "zzz"):
        store.put_checkpoint(make_ckpt(run_id, 0, id=f"{run_id}-0"))
    assert ids(store) == ["zzz-0", "aaa-0"]


def test_limit_and_offset_page_through_the_order(filled: Any) -> None:
    assert ids(filled, limit=3) == ["r1-0", "r1-1", "r1-2"]
    assert ids(filled, limit=3, offset=3) == ["r1-3", "r2-0", "r2-1"]
    assert ids(filled, offset=10) == ["r3-2", "r3-3"]
    assert ids(filled, Q(descending=True), limit=2) == ["r3-3", "r3-2"]


def test_run_ids_filter(filled: Any) -> None:
    assert ids(filled, Q(run_ids=("r2",))) == ["r2-0", "r2-1", "r2-2", "r2-3"]
    assert ids(filled, Q(run_ids=())) == []


def test_steps_filter_is_an_or_and_none_means_the_start_checkpoint(filled: Any) -> None:
    assert ids(filled, Q(steps=("critique",))) == ["r1-2", "r2-2", "r3-2"]
    assert ids(filled, Q(steps=(None,))) == ["r1-0", "r2-0", "r3-0"]
    assert ids(filled, Q(steps=(None, "finish"), run_ids=("r1",))) == ["r1-0", "r1-3"]


def test_type_filters_match_full_keys_or_bare_names(filled: Any) -> None:
    assert ids(filled, Q(output_types=("JokeEvent",))) == ["r1-1", "r2-1", "r3-1"]
    assert ids(filled, Q(output_types=(JOKE,))) == ["r1-1", "r2-1", "r3-1"]
    assert ids(filled, Q(output_types=("other.module.JokeEvent",))) == []
    assert ids(filled, Q(output_types=("flows.JokeEvent",))) == []
    assert ids(filled, Q(input_types=("JokeEvent", CRITIQUE), run_ids=("r1",))) == ["r1-2", "r1-3"]
    assert ids(filled, Q(input_types=("StartEvent",), output_types=("StartEvent",))) == [
        "r1-0", "r2-0", "r3-0"]


def test_status_and_workflow_filters_use_the_run(filled: Any) -> None:
    assert ids(filled, Q(statuses=("failed",))) == ["r2-0", "r2-1", "r2-2", "r2-3"]
    assert ids(filled, Q(statuses=("failed", "running"), steps=("finish",))) == ["r2-3", "r3-3"]
    assert ids(filled, Q(workflows=("OtherFlow",), steps=(None,))) == ["r3-0"]
    filled.update_run("r2", status="completed")
    assert ids(filled, Q(statuses=("completed",), steps=(None,))) == ["r1-0", "r2-0"]


def test_created_range_is_half_open(filled: Any) -> None:
    assert ids(filled, Q(created_after=201.0, created_before=203.0)) == ["r2-1", "r2-2"]
    assert ids(filled, Q(created_before=101.0)) == ["r1-0"]
    assert ids(filled, Q(created_after=303.0)) == ["r3-3"]


def test_fields_combine_with_and(filled: Any) -> None:
    q = Q(workflows=("JokeFlow",), output_types=("CritiqueEvent",), statuses=("completed",))
    assert ids(filled, q) == ["r1-2"]
    assert ids(filled, Q(run_ids=("r1",), statuses=("failed",))) == []


def test_text_search_is_a_case_insensitive_substring_of_many_fields(filled: Any) -> None:
    assert ids(filled, Q(text="R2-3")) == ["r2-3"]
    assert ids(filled, Q(text="CRITIQ")) == ["r1-2", "r1-3", "r2-2", "r2-3", "r3-2", "r3-3"]
    assert ids(filled, Q(text="r3 seq 1")) == ["r3-1"]
    assert ids(filled, Q(text="MEOW", run_ids=("r1",))) == ["r1-0", "r1-1", "r1-2", "r1-3"]
    assert ids(filled, Q(text="nothing like this")) == []


def test_text_search_treats_like_wildcards_and_quotes_literally(store: Any) -> None:
    store.put_run(make_run("r"))
    texts = ["100% sure", "100 percent", "snake_case", "snakeXcase", 'say "hi"', "back\\slash",
             "café"]
    for seq, t in enumerate(texts):
        store.put_checkpoint(
            make_ckpt("r", seq, id=f"c{seq}", step="write", output_event={"data": {"t": t}})
        )
    assert ids(store, Q(text="0% s")) == ["c0"]
    assert ids(store, Q(text="e_c")) == ["c2"]
    assert ids(store, Q(text='"hi"')) == ["c4"]
    assert ids(store, Q(text="k\\s")) == ["c5"]
    assert ids(store, Q(text="fé")) == ["c6"]
    assert ids(store, Q(text="%")) == ["c0"]
    assert ids(store, Q(text="_")) == ["c2"]


def _sorted_store(store):
    for i, (status, err) in enumerate([("completed", None), ("failed", {"type": "ValueError",
                                       "message": "quota exceeded", "traceback": ""})]):
        store.put_run(RunRecord(run_id=f"r{i}", workflow="w", status=status,
                                started_at=100.0 + i, error=err))
        for seq, (step, dur) in enumerate([(None, None), ("b", 0.5), ("a", 2.0)]):
            store.put_checkpoint(CheckpointRecord(
                id=f"c{i}{seq}", run_id=f"r{i}", seq=seq, step=step, input_type=None,
                output_type=None, input_event=None, output_event=None,
                ctx_state={"store": {"note": f"kept secret {i}"}}, created_at=200.0 + seq,
                step_duration_s=dur))


def test_sort_orders_by_a_column_then_run_order(store):
    _sorted_store(store)
    ids = [r.id for r in store.list_checkpoints(Q(sort="step_duration_s"))]
    assert ids == ["c00", "c10", "c01", "c11", "c02", "c12"]
    desc = Q(sort="step_duration_s", descending=True)
    assert [r.id for r in store.list_checkpoints(desc)] == ["c12", "c02", "c11", "c01",
                                                                "c10", "c00"]
    by_status = store.table_rows(Q(sort="status", descending=True), limit=2)
    assert [r[0] for r in by_status] == ["c12", "c11"]
    with pytest.raises(ValueError, match="cannot sort by 'nope'"):
        store.list_checkpoints(Q(sort="nope"))


def test_text_search_finds_run_errors_and_state_values(store):
    _sorted_store(store)
    q = Q(text="QUOTA exceeded")
    assert store.count_checkpoints(q) == 3
    assert {r.run_id for r in store.list_checkpoints(q)} == {"r1"}
    assert [r.id for r in store.list_checkpoints(Q(text="secret 0"))] == [
        "c00", "c01", "c02"]


def test_distinct_values_of_a_column_among_matches(store):
    _sorted_store(store)
    assert store.distinct_values("step") == [None, "a", "b"]
    assert store.distinct_values("status") == ["completed", "failed"]
    assert store.distinct_values("step", Q(text="quota")) == [None, "a", "b"]
    assert store.distinct_values("status", Q(steps=("a",), statuses=("failed",))) == ["failed"]
    with pytest.raises(ValueError, match="no distinct values"):
        store.distinct_values("metadata")


def test_table_page_gives_one_page_and_the_total(store):
    _sorted_store(store)
    rows, total = store.table_page(Q(descending=True), limit=4, offset=1)
    assert total == 6 and [r[0] for r in rows] == ["c11", "c10", "c02", "c01"]
    rows, total = store.table_page(Q(statuses=("failed",)), limit=10, offset=7)
    assert rows == [] and total == 3


def test_table_page_of_a_search_pages_through_every_match_in_table_order(store):
    _sorted_store(store)
    q = Q(text="kept secret", descending=True)
    rows, total = store.table_page(q, limit=4, offset=1)
    assert total == 6 and [r[0] for r in rows] == ["c11", "c10", "c02", "c01"]
    assert rows == store.table_rows(q, limit=4, offset=1)
    rows, total = store.table_page(Q(text="quota", sort="step_duration_s"), limit=2)
    assert total == 3 and [r[0] for r in rows] == ["c10", "c11"]
    assert store.table_page(Q(text="quota"), limit=5, offset=9) == ([], 3)
    assert store.table_page(Q(text="no such text"), limit=5) == ([], 0)


def test_table_facets_count_and_list_the_filter_values_in_one_pass(store):
    _sorted_store(store)
    store.put_run(RunRecord(run_id="r7", workflow="other", status="running", started_at=1.0))
    store.put_checkpoint(CheckpointRecord(
        id="c70", run_id="r7", seq=0, step=None, input_type=None, output_type="x.Start",
        input_event=None, output_event=None, ctx_state={"store": {}}, created_at=1.0))
    every = store.table_facets()
    assert {k: v for k, v in every.items() if k != "groups"} == {
        "total": 7, "step": [None, "a", "b"], "input_type": [None],
        "output_type": [None, "x.Start"], "status": ["completed", "failed", "running"]}
    assert sorted(every["groups"], key=repr) == sorted([
        (None, None, None, None, None, "completed", 1), ("b", None, None, None, None, "completed", 1),
        ("a", None, None, None, None, "completed", 1), (None, None, None, None, None, "failed", 1),
        ("b", None, None, None, None, "failed", 1), ("a", None, None, None, None, "failed", 1),
        (None, None, None, "x.Start", "Start", "running", 1)], key=repr)
    only_a = store.table_facets(Q(workflows=("w",), steps=("a",)))
    assert (only_a["total"], only_a["step"], only_a["status"]) == (2, ["a"], ["completed", "failed"])
    found = store.table_facets(Q(text="quota"))
    assert found["total"] == 3 and found["status"] == ["failed"]
    assert store.table_facets(Q(text="no such text"))["total"] == 0


def test_last_seqs_gives_the_newest_seq_of_each_run(store):
    _sorted_store(store)
    assert store.last_seqs(["r0", "r1", "nope"]) == {"r0": 2, "r1": 2}
    assert store.last_seqs([]) == {}


def test_text_search_ignores_case_of_data_and_needle(store):
    _sorted_store(store)
    store.put_run(RunRecord(run_id="r9", workflow="w", status="completed", started_at=900.0))
    store.put_checkpoint(CheckpointRecord(
        id="c90", run_id="r9", seq=0, step="Shout", input_type=None, output_type=None,
        input_event=None, output_event={"type": "x", "data": {"v": "LOUD Noise"}},
        ctx_state={"store": {}}, created_at=1.0))
    assert [r.id for r in store.list_checkpoints(Q(text="loud noise"))] == ["c90"]
    assert [r.id for r in store.list_checkpoints(Q(text="SHOUT"))] == ["c90"]


def test_text_search_finds_state_values_kept_in_blobs(store):
    store.put_run(RunRecord(run_id="rb", workflow="w", status="completed", started_at=1.0))
    big = {"store": {"essay": "x" * 3000 + " Needle Two", "items": [f"item {i}" for i in range(100)]
                     + ["needle three"]}, "queues": {}}
    store.put_checkpoint(CheckpointRecord(
        id="cb", run_id="rb", seq=0, step=None, input_type=None, output_type=None,
        input_event=None, output_event=None, ctx_state=big, created_at=1.0))
    store.put_checkpoint(CheckpointRecord(
        id="cc", run_id="rb", seq=1, step="s", input_type=None, output_type=None,
        input_event=None, output_event=None, ctx_state={"store": {"essay": "short"}},
        created_at=2.0))
    assert [r.id for r in store.list_checkpoints(Q(text="needle two"))] == ["cb"]
    assert store.count_checkpoints(Q(text="NEEDLE THREE")) == 1
    assert store.table_page(Q(text="needle"), limit=5)[1] == 1
    assert store.count_checkpoints(Q(text="needle four")) == 0


def test_a_search_longer_than_sqlites_like_limit_still_searches(store: Any) -> None:
    store.put_run(make_run("r"))
    long_text = "Ab" * 15_000  # 30,000 bytes: escaped, over no limit; plain LIKE would be close
    huge = "é" + "Z" * 60_000
    store.put_checkpoint(make_ckpt("r", 0, id="c0", step="write",
                                   output_event={"data": {"t": long_text}}))
    store.put_checkpoint(make_ckpt("r", 1, id="c1", step="write",
                                   output_event={"data": {"t": huge.lower() + "!"}}))
    assert ids(store, Q(text=long_text.upper())) == ["c0"]
    assert ids(store, Q(text=huge)) == ["c1"]
    assert ids(store, Q(text=huge + "?")) == []
