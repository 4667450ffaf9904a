"""A new process resumes a 2.x fan-out mid-way and a run blocked in ``wait_for_event`` from the
SQLite store: each item is processed exactly once across the two runs, and the waiter's prompt
is asked again and answered there; a fan-out whose process was killed resumes the same way."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

from li_flows import PROCESSED, FanFlow, WaitingFlow
from test_llamaindex_process import HERE, run_child
from workflows.events import InputRequiredEvent

from flowpoint import WorkflowCheckpointer

COUNT = 8


async def test_a_new_process_resumes_a_fan_out_mid_way_each_item_once(tmp_path):
    url = f"sqlite:///{tmp_path}/fan.db"
    ckptr = WorkflowCheckpointer(workflow=FanFlow(timeout=30), store=url)
    handler = ckptr.run(count=COUNT)
    assert await handler == [n * n for n in range(COUNT)]
    ckpts = ckptr.checkpoints[handler.run_id]
    works = [c for c in ckpts if c.last_completed_step == "work"]
    assert len(works) == COUNT
    middle = [works[1], works[COUNT // 2], next(c for c in ckpts if c.seq > works[2].seq
                                                  and c.last_completed_step == "gather")]
    ids = [c.id_ for c in middle]
    out = run_child(f"""
        from li_flows import PROCESSED, RAN, FanFlow
        from flowpoint import WorkflowCheckpointer

        async def main():
            ckptr = WorkflowCheckpointer(workflow=FanFlow(timeout=30), store={url!r})
            runs = []
            for ckpt_id in {ids!r}:
                PROCESSED.clear()
                RAN.clear()
                result = await asyncio.wait_for(ckptr.run_from(ckpt_id), 30)
                runs.append({{"result": result, "processed": dict(PROCESSED), "ran": RAN}})
            return runs

        print(json.dumps(asyncio.run(main())))
    """)
    for ckpt, run in zip(middle, out, strict=True):
        done_before = {c.input_event.n for c in works if c.seq <= ckpt.seq}
        assert 0 < len(done_before) < COUNT
        assert run["result"] == [n * n for n in range(COUNT)]
        processed = {int(n): times for n, times in run["processed"].items()}
        assert set(processed) == set(range(COUNT)) - done_before  # the rest, and only those
        assert set(processed.values()) == {1}
        assert "split" not in run["ran"]
    resumed = [r for r in ckptr.runs.values() if r.origin_checkpoint_id in ids]
    assert sorted(r.origin_checkpoint_id for r in resumed) == sorted(ids)
    assert {r.status for r in resumed} == {"completed"}


async def test_a_new_process_asks_a_waiters_prompt_again_and_completes(tmp_path):
    url = f"sqlite:///{tmp_path}/wait.db"
    ckptr = WorkflowCheckpointer(workflow=WaitingFlow(timeout=30), store=url)
    handler = ckptr.run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            for _ in range(500):  # "side" completes while the prompt is open
                if ckptr.filter_checkpoints(run_id=handler.run_id, last_completed_step="side"):
                    break
                await asyncio.sleep(0.02)
            break
    assert ckptr.get_run(handler.run_id).status == "waiting"
    await handler.cancel_run()
    side = ckptr.filter_checkpoints(run_id=handler.run_id, last_completed_step="side")[0]
    assert side.ctx_state["waiters"][0]["step"] == "confirm"
    out = run_child(f"""
        from li_flows import RAN, WaitingFlow
        from workflows.events import InputRequiredEvent
        from flowpoint import WorkflowCheckpointer

        async def main():
            ckptr = WorkflowCheckpointer(workflow=WaitingFlow(timeout=30), store={url!r})
            handler = ckptr.run_from({side.id_!r})
            statuses = []
            async for ev in handler.stream_events():
                if isinstance(ev, InputRequiredEvent):
                    await asyncio.sleep(0.1)
                    statuses.append(ckptr.get_run(handler.run_id).status)
                    ckptr.respond(handler.run_id, "child")
            result = await handler
            return {{"result": result, "ran": RAN, "statuses": statuses,
                    "end": ckptr.get_run(handler.run_id).status}}

        print(json.dumps(asyncio.run(main())))
    """)
    assert out == {"result": "7:child", "ran": ["confirm"], "statuses": ["waiting"],
                   "end": "completed"}


async def test_a_killed_process_leaves_its_fan_out_resumable_from_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/killed.db"
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import asyncio, sys
        sys.path.insert(0, {str(HERE)!r})
        from li_flows import SLOW_ONCE, FanFlow
        from flowpoint import WorkflowCheckpointer

        SLOW_ONCE.add(5)  # item 5 never completes in this process

        async def main():
            ckptr = WorkflowCheckpointer(workflow=FanFlow(timeout=300), store={url!r})
            handler = ckptr.run(count={COUNT})
            while len({{c.input_event.n for c in ckptr.checkpoints.get(handler.run_id, [])
                        if c.last_completed_step == "work"}}) < {COUNT - 1}:
                await asyncio.sleep(0.01)  # every item but 5 is done
            print("ready", flush=True)
            await asyncio.sleep(300)

        asyncio.run(main())
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    ckptr = WorkflowCheckpointer(workflow=FanFlow(timeout=30), store=url)
    (run_id, run), = ckptr.runs.items()
    assert run.status == "interrupted"
    last = ckptr.last_checkpoint(run_id)
    done = {c.input_event.n for c in ckptr.checkpoints[run_id] if c.last_completed_step == "work"}
    assert done == set(range(COUNT)) - {5} and last.ctx_state["in_progress"]["work"] == [
        {"__event__": "li_flows.Item", "data": {"n": 5}}]
    PROCESSED.clear()
    assert await asyncio.wait_for(ckptr.run_from(last), 30) == [n * n for n in range(COUNT)]
    assert PROCESSED == {n: 1 for n in set(range(COUNT)) - done}
