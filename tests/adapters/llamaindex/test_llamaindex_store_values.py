"""Pydantic models kept as values in a 2.x DictState ``ctx.store`` resume as the same models,
read back through classes already loaded (in a new process too), never by importing a stored
name; a value the runtime's JSON cannot load is refused clearly, and a state edit fixes it."""

from __future__ import annotations

import pytest
from li_probe_flows import CALLS, MemoFlow, reset
from test_llamaindex_process import run_child

from flowpoint import InvalidEdit, SerializationError, WorkflowCheckpointer

EXPECTED = {"memo": ["Memo", "m", "2024-01-01 00:00:00"], "nested": ["Memo"], "when": "None"}


@pytest.fixture(autouse=True)
def _fresh():
    reset()
    yield
    reset()


def put_of(ckptr, run_id):
    return ckptr.filter_checkpoints(run_id=run_id, last_completed_step="put")[0]


async def test_pydantic_values_in_a_dict_state_resume_as_models(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    ckptr = WorkflowCheckpointer(workflow=MemoFlow(), store=url)
    handler = ckptr.run()
    assert await handler == EXPECTED == await MemoFlow().run()
    put = put_of(ckptr, handler.run_id)
    CALLS.clear()
    assert await ckptr.run_from(put) == EXPECTED
    assert CALLS == ["show"]
    shown = put.user_state["memo"]  # the stored form, as the explorer's state editor shows it
    assert shown["qualified_name"] == "li_probe_flows.Memo"
    edited = ckptr.run_from(put, state={"memo": {**shown, "value": {"text": "e"}}})
    assert (await edited)["memo"] == ["Memo", "e", "None"]
    by_fields = ckptr.run_from(put, state={"memo": {"text": "f"}})  # fields to change
    assert (await by_fields)["memo"] == ["Memo", "f", "2024-01-01 00:00:00"]
    with pytest.raises(InvalidEdit, match="not a valid Memo"):
        ckptr.run_from(put, state={"memo": {"text": ["not", "text"]}})
    out = run_child(f"""
        from li_probe_flows import CALLS, MemoFlow
        from flowpoint import WorkflowCheckpointer

        async def main():
            ckptr = WorkflowCheckpointer(workflow=MemoFlow(), store={url!r})
            return {{"result": await ckptr.run_from({put.id_!r}), "calls": CALLS}}

        print(json.dumps(asyncio.run(main())))
    """)
    assert out == {"result": EXPECTED, "calls": ["show"]}


async def test_a_model_whose_class_is_not_loaded_is_refused_not_imported(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    ckptr = WorkflowCheckpointer(workflow=MemoFlow(), store=url)
    handler = ckptr.run()
    await handler
    put = put_of(ckptr, handler.run_id)
    out = run_child(f"""
        from workflows import Context, Workflow, step
        from workflows.events import Event, StartEvent, StopEvent
        from flowpoint import UnknownEventType, WorkflowCheckpointer

        class Kept(Event):
            pass

        class MemoFlow(Workflow):  # the same steps; li_probe_flows (and Memo) is not loaded
            @step
            async def put(self, ctx: Context, ev: StartEvent) -> Kept:
                return Kept()

            @step
            async def show(self, ctx: Context, ev: Kept) -> StopEvent:
                return StopEvent(result=None)

        ckptr = WorkflowCheckpointer(workflow=MemoFlow(), store={url!r})
        try:
            ckptr.run_from({put.id_!r})
            refused = ""
        except UnknownEventType as exc:
            refused = str(exc)
        print(json.dumps({{"refused": refused, "imported": "li_probe_flows" in sys.modules,
                          "runs": len(ckptr.runs)}}))
    """)
    assert "not loaded" in out["refused"] and "li_probe_flows.Memo" in out["refused"]
    assert out["imported"] is False and out["runs"] == 1


async def test_a_value_the_runtime_cannot_load_is_refused_and_a_state_edit_fixes_it(tmp_path):
    ckptr = WorkflowCheckpointer(workflow=MemoFlow(), store=f"sqlite:///{tmp_path}/m.db")
    handler = ckptr.run(with_datetime=True)
    assert (await handler)["when"] == "datetime.datetime(2024, 1, 2, 0, 0)"
    put = put_of(ckptr, handler.run_id)
    assert put.user_state["when"].isoformat() == "2024-01-02T00:00:00"
    CALLS.clear()
    with pytest.raises(SerializationError, match=r"ctx\.store.*key when.*datetime"):
        ckptr.run_from(put)
    assert CALLS == [] and len(ckptr.runs) == 1
    fixed = ckptr.run_from(put, state={"when": "2024-01-02T00:00:00"})
    assert (await fixed)["when"] == "'2024-01-02T00:00:00'" and CALLS == ["show"]
