"""A 2.x ``ctx.store`` whose keys are named like the codec's own markers (or the content
store's) round-trips exactly: in the checkpoint's state, through ``run_from``, and in a new
process."""

from __future__ import annotations

import pytest
from li_flows import RAN, StoreFlow
from test_llamaindex_process import run_child

from flowpoint import WorkflowCheckpointer
from flowpoint.checkpoints.codec import MARKERS

# a value per marker that reads as something else if its key is taken for the marker
MARKER_VALUES = {
    "__event__": "li_flows.Stored",
    "__dict__": [["a", 1]],
    "__tuple__": [1, 2],
    "__datetime__": "2020-01-01T00:00:00",
    "__pickle__": "gASVAwAAAAAAAACMAXiULg==",
    "$corrupt": "not damaged",
}

# and keys of the content store's own, which a reader could take for a reference
STORE_MARKER_VALUES = {"$blob": "0" * 64, "$chunks": ["0" * 64], "$esc": {"a": 1},
                       "$index": "0" * 64}


def test_every_codec_marker_is_covered():
    assert set(MARKER_VALUES) == set(MARKERS)


def _written(ckptr, run_id):
    return next(c for c in ckptr.filter_checkpoints(run_id=run_id)
                if c.last_completed_step == "write")


@pytest.mark.parametrize("store", ["memory", "sqlite"])
@pytest.mark.parametrize("key", sorted({**MARKER_VALUES, **STORE_MARKER_VALUES}))
@pytest.mark.parametrize("with_list", [False, True], ids=["whole", "split"])
async def test_a_marker_key_round_trips_through_checkpoint_and_run_from(tmp_path, store, key,
                                                                        with_list):
    values = {key: {**MARKER_VALUES, **STORE_MARKER_VALUES}[key]}
    if with_list:  # a list in the store: the state is split for the store as it is taken
        values["items"] = [1, 2, 3]
    url = "memory" if store == "memory" else f"sqlite:///{tmp_path}/store.db"
    ckptr = WorkflowCheckpointer(workflow=StoreFlow(), store=url)
    handler = ckptr.run(entries=values)
    assert await handler == values
    ckpt = ckptr.get(_written(ckptr, handler.run_id).id_)
    assert ckpt.user_state == values
    RAN.clear()
    resumed = ckptr.run_from(ckpt)
    assert await resumed == values
    assert RAN == ["read"]


async def test_a_marker_key_round_trips_after_a_state_edit(tmp_path):
    ckptr = WorkflowCheckpointer(workflow=StoreFlow(), store=f"sqlite:///{tmp_path}/s.db")
    handler = ckptr.run(entries={"__event__": "li_flows.Stored", "n": 1})
    await handler
    resumed = ckptr.run_from(_written(ckptr, handler.run_id), state={"__event__": "edited"})
    assert await resumed == {"__event__": "edited", "n": 1}


async def test_a_new_process_resumes_a_store_of_marker_keys(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    ckptr = WorkflowCheckpointer(workflow=StoreFlow(), store=url)
    handler = ckptr.run(entries=MARKER_VALUES)
    await handler
    ckpt = _written(ckptr, handler.run_id)
    out = run_child(f"""
        from li_flows import RAN, StoreFlow
        from flowpoint import WorkflowCheckpointer

        async def main():
            ckptr = WorkflowCheckpointer(workflow=StoreFlow(), store={url!r})
            ckpt = ckptr.get({ckpt.id_!r})
            result = await ckptr.run_from(ckpt)
            return {{"state": ckpt.user_state, "result": result, "ran": RAN}}

        print(json.dumps(asyncio.run(main())))
    """)
    assert out == {"state": MARKER_VALUES, "result": MARKER_VALUES, "ran": ["read"]}
