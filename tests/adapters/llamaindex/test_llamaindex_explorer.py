"""The explorer, table and magics on 2.x runs: select, edit, resume, answer a prompt."""

from __future__ import annotations

import asyncio

import pytest
from li_flows import RAN, AskFlow, JokeFlow
from workflows.events import StopEvent

from flowpoint import WorkflowCheckpointer
from flowpoint.notebook.explorer import CheckpointExplorer


@pytest.fixture
def explorers():
    made: list[CheckpointExplorer] = []

    def make(ckptr):
        made.append(CheckpointExplorer(ckptr))
        return made[-1]

    yield make
    for e in made:
        e.close()


async def wait_for(predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def jokes(tmp_path):
    ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store=f"sqlite:///{tmp_path}/e.db")
    for topic in ("chemistry", "physics"):
        await ckptr.run(topic=topic)
    RAN.clear()
    return ckptr


def step_of(ckptr, step):
    return next(c for c in ckptr.filter_checkpoints(last_completed_step=step))


async def test_edit_the_output_and_state_in_the_explorer_and_resume(jokes, explorers):
    e = explorers(jokes)
    assert e.total >= 4
    gen = step_of(jokes, "generate_joke")
    e.select(gen.id_)
    e.state.mode = "edit"
    form = e.edit_view.event_form.widgets
    assert form["joke"].value == gen.output_event.joke
    form["joke"].value = "an edited joke"
    e.edit_view.state_form.text.value = '{"topic": "biology"}'
    e.edit_view.resume_button.click()
    await e.last_task
    new = list(jokes.runs.values())[-1]
    assert new.status == "completed" and new.origin_checkpoint_id == gen.id_
    assert new.edited["output_event"]["changes"]["joke"]["after"] == "an edited joke"
    assert new.edited["state"]["changes"] == {"topic": {"before": gen.user_state["topic"],
                                                        "after": "biology"}}
    assert jokes.result_of(new.run_id) == "critique of 'an edited joke' (biology)"
    assert RAN == ["critique_joke"]
    assert f"completed run {new.run_id[:8]}" in e.status.value


async def test_a_final_checkpoint_cannot_be_resumed_from_the_explorer(jokes, explorers):
    e = explorers(jokes)
    final = step_of(jokes, "critique_joke")
    assert isinstance(final.output_event, StopEvent)
    e.select(final.id_)
    assert e.resume_button.disabled and "final checkpoint" in e.toolbar.reason.value


async def test_the_explorer_shows_a_waiting_prompt_and_sends_the_answer(tmp_path, explorers):
    ckptr = WorkflowCheckpointer(workflow=AskFlow(), store=f"sqlite:///{tmp_path}/h.db")
    e = explorers(ckptr)
    handler = ckptr.run()
    await wait_for(lambda: e.human.run_id == handler.run_id)
    assert ckptr.get_run(handler.run_id).status == "waiting"
    assert "your name?" in e.human.prompt.value
    e.human.text.value = "ada"
    e.human.send_button.click()
    assert await asyncio.wait_for(handler, 10) == "hello ada"
    await wait_for(lambda: ckptr.get_run(handler.run_id).status == "completed")


async def test_table_and_magics_list_2x_runs(jokes):
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "flowpoint")
    try:
        ip.user_ns["ckptr"] = jokes
        frame = jokes.to_dataframe()
        assert set(frame["step"].dropna()) == {"generate_joke", "critique_joke"}
        runs = ip.run_line_magic("runs", "ckptr")
        assert len(runs) == 2 and set(runs["workflow"]) == {"JokeFlow"}
    finally:
        ip.run_line_magic("unload_ext", "flowpoint")
        ip.reset(new_session=False)
