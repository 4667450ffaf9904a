"""A new process resumes 2.x runs from the SQLite store; nothing named in stored data is imported;
an unsupported llama-index-workflows version is refused before anything runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from li_flows import AskFlow, JokeFlow
from workflows import Workflow, step
from workflows.events import Event, StartEvent, StopEvent

from flowpoint import WorkflowCheckpointer

HERE = Path(__file__).parent


def run_child(code: str, *, env: dict[str, str] | None = None) -> dict:
    script = f"import sys, json, asyncio\nsys.path.insert(0, {str(HERE)!r})\n" + \
        textwrap.dedent(code)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


async def test_a_new_process_resumes_from_sqlite_with_an_edit(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store=url)
    handler = ckptr.run(topic="chemistry")
    await handler
    ckpt = next(c for c in ckptr.filter_checkpoints(run_id=handler.run_id)
                if c.last_completed_step == "generate_joke")
    out = run_child(f"""
        from li_flows import RAN, JokeEvent, JokeFlow
        from flowpoint import WorkflowCheckpointer

        async def main():
            ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store={url!r})
            ckpt = ckptr.get({ckpt.id_[:10]!r})
            assert type(ckpt.output_event) is JokeEvent, ckpt.output_event
            handler = ckptr.run_from(ckpt, output_event={{"joke": "from a new process"}})
            result = await handler
            return {{"result": result, "ran": RAN, "run": handler.run_id}}

        print(json.dumps(asyncio.run(main())))
    """)
    assert out["result"] == "critique of 'from a new process' (chemistry)"
    assert out["ran"] == ["critique_joke"]
    run = ckptr.get_run(out["run"])
    assert run.status == "completed" and run.origin_checkpoint_id == ckpt.id_


async def test_a_new_process_answers_a_pending_prompt_from_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    ckptr = WorkflowCheckpointer(workflow=AskFlow(), store=url)
    handler = ckptr.run()
    async for ev in handler.stream_events():  # the first process leaves without answering
        if type(ev).__name__ == "InputRequiredEvent":
            break
    await handler.cancel_run()
    ask = next(c for c in ckptr.filter_checkpoints(run_id=handler.run_id)
               if c.last_completed_step == "ask")
    out = run_child(f"""
        from li_flows import RAN, AskFlow, answer_prompts
        from flowpoint import WorkflowCheckpointer

        async def main():
            ckptr = WorkflowCheckpointer(workflow=AskFlow(), store={url!r})
            handler = ckptr.run_from({ask.id_!r})
            prompts, result = await asyncio.wait_for(answer_prompts(handler, "zoe"), 30)
            return {{"prompts": prompts, "result": result, "ran": RAN}}

        print(json.dumps(asyncio.run(main())))
    """)
    assert out == {"prompts": 1, "result": "hello zoe", "ran": ["greet"]}


async def test_stored_names_are_never_imported_in_a_new_process(tmp_path):
    class LocalEvent(Event):
        text: str

    class LocalFlow(Workflow):
        @step
        async def make(self, ev: StartEvent) -> LocalEvent:
            return LocalEvent(text="t")

        @step
        async def end(self, ev: LocalEvent) -> StopEvent:
            return StopEvent(result=ev.text)

    url = f"sqlite:///{tmp_path}/store.db"
    ckptr = WorkflowCheckpointer(workflow=LocalFlow(), store=url)
    handler = ckptr.run()
    await handler
    ckpt = next(c for c in ckptr.filter_checkpoints(run_id=handler.run_id)
                if c.last_completed_step == "make")
    module = LocalEvent.__module__
    out = run_child(f"""
        from workflows import Workflow, step
        from workflows.events import Event, StartEvent, StopEvent
        from flowpoint import InvalidEdit, UnknownEvent, UnknownEventType, WorkflowCheckpointer

        class OtherEvent(Event):
            text: str

        class LocalFlow(Workflow):  # the same steps, but LocalEvent is not defined here
            @step
            async def make(self, ev: StartEvent) -> OtherEvent:
                return OtherEvent(text="t")

            @step
            async def end(self, ev: OtherEvent) -> StopEvent:
                return StopEvent(result=ev.text)

        ckptr = WorkflowCheckpointer(workflow=LocalFlow(), store={url!r})
        ckpt = ckptr.get({ckpt.id_!r})
        ev = ckpt.output_event
        try:
            ckptr.run_from(ckpt)
            refused = ""
        except (UnknownEventType, InvalidEdit) as exc:
            refused = str(exc)
        print(json.dumps({{"unknown": isinstance(ev, UnknownEvent), "key": ev.type_key,
                          "imported": {module!r} in sys.modules, "refused": refused}}))
    """)
    assert out["unknown"] and out["key"].endswith("LocalEvent")
    assert out["imported"] is False
    assert "cannot be loaded" in out["refused"]


@pytest.mark.parametrize("version", ["2.25.3", "3.0.0"])
def test_an_unsupported_version_is_refused_before_anything_runs(tmp_path, version):
    dist = tmp_path / "fake" / f"llama_index_workflows-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: llama-index-workflows\nVersion: {version}\n")
    store = tmp_path / "never.db"
    out = run_child(f"""
        from li_flows import RAN, JokeFlow
        from flowpoint import UnsupportedVersion, WorkflowCheckpointer

        try:
            WorkflowCheckpointer(workflow=JokeFlow(), store="sqlite:///{store}")
            message = ""
        except UnsupportedVersion as exc:
            message = str(exc)
        print(json.dumps({{"message": message, "ran": RAN}}))
    """, env={"PYTHONPATH": str(tmp_path / "fake")})
    assert f"llama-index-workflows {version} is installed" in out["message"]
    assert ">=2.26,<3" in out["message"]
    assert out["ran"] == [] and not store.exists()


def test_a_release_that_moved_the_workflow_class_is_refused_by_version(tmp_path):
    dist = tmp_path / "fake" / "llama_index_workflows-3.0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: llama-index-workflows\nVersion: 3.0.0\n")
    out = run_child("""
        from flowpoint import UnsupportedVersion, WorkflowCheckpointer

        Workflow = type("Workflow", (), {"__module__": "workflows.core"})  # as if moved in 3.x

        class MyFlow(Workflow):
            pass

        try:
            WorkflowCheckpointer(workflow=MyFlow(), store="memory")
            message = ""
        except UnsupportedVersion as exc:
            message = str(exc)
        print(json.dumps({"message": message}))
    """, env={"PYTHONPATH": os.pathsep.join(
        [str(tmp_path / "fake"), *filter(None, [os.environ.get("PYTHONPATH")])])})
    assert "llama-index-workflows 3.0.0 is installed" in out["message"]
    assert ">=2.26,<3" in out["message"]
