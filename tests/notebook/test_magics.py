"""The flowpoint magics in a real IPython shell, on real SQLite files."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import flowpoint.checkpoints.live as live_module
from flowpoint import Checkpoint, CheckpointDiff, Run, WorkflowCheckpointer, diff
from flowpoint.demo import JokeFlow
from flowpoint.notebook.magics import FlowpointMagics
from flowpoint.storage import CheckpointRecord, RunRecord, open_store

SETUP = """
from flowpoint import WorkflowCheckpointer, Workflow, StartEvent, StopEvent, step
from flowpoint.demo import JokeFlow

class Broken(Workflow):
    @step
    async def explode(self, ev: StartEvent) -> StopEvent:
        raise ValueError(f"no jokes about {ev.topic}")

ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store="sqlite:///jokes.db")
for topic in ("chemistry", "biology", "history"):
    await ckptr.run(topic=topic)
"""


@pytest.fixture
def ip(tmp_path, monkeypatch):
    """A fresh IPython session in tmp_path: no checkpointer created yet, flowpoint loaded."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWPOINT_STORE", raising=False)
    monkeypatch.setattr(live_module, "_LIVE", [])
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "flowpoint")
    yield shell
    shell.run_line_magic("unload_ext", "flowpoint")
    shell.reset(new_session=False)


def cell(shell: InteractiveShell, code: str):
    """Run a cell like a notebook does; raise its error instead of printing it."""
    result = shell.run_cell(code)
    result.raise_error()
    return result.result


async def acell(shell: InteractiveShell, code: str):
    """Run a cell on the running loop, as a kernel does (launched runs stay on this loop)."""
    result = await shell.run_cell_async(code, transformed_cell=shell.transform_cell(code))
    result.raise_error()
    return result.result


def one_error_line(shell: InteractiveShell, capsys, code: str) -> str:
    """Run a cell that should fail and return its single error line."""
    capsys.readouterr()
    shell.run_cell(code)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("UsageError: ")
    return lines[0]


def test_checkpoints_magic_filters_in_the_store(ip):
    cell(ip, SETUP)
    everything = ip.run_line_magic("checkpoints", "")
    assert isinstance(everything, pd.DataFrame)
    assert len(everything) == 9  # start + 2 steps, 3 runs

    after_generate = ip.run_line_magic("checkpoints", "--step generate_joke")
    assert list(after_generate["step"]) == ["generate_joke"] * 3
    assert set(after_generate["output_type"]) == {"JokeEvent"}

    starts = ip.run_line_magic("checkpoints", "--step start")
    assert len(starts) == 3 and starts["step"].isna().all()
    assert set(starts["output_type"]) == {"StartEvent"}
    assert len(ip.run_line_magic("checkpoints", "--step None")) == 3
    assert len(ip.run_line_magic("checkpoints", "--step start,critique_joke")) == 6

    by_types = ip.run_line_magic("checkpoints", "--input-type JokeEvent --output-type StopEvent")
    assert list(by_types["step"]) == ["critique_joke"] * 3
    assert ip.run_line_magic("checkpoints", "--input-type JokeEvent --step generate_joke").empty

    run_id = everything["run_id"].iloc[4]
    one_run = ip.run_line_magic("checkpoints", f"--run {run_id[:8]}")
    assert list(one_run["seq"]) == [0, 1, 2] and set(one_run["run_id"]) == {run_id}

    biology = ip.run_line_magic("checkpoints", "--search biology")
    assert len(biology) >= 1 and biology["run_id"].nunique() == 1
    assert biology["run_id"].iloc[0] == everything["run_id"].iloc[3]

    assert len(ip.run_line_magic("checkpoints", "--limit 2")) == 2
    assert len(ip.run_line_magic("checkpoints", "--status completed")) == 9
    assert ip.run_line_magic("checkpoints", "--status failed").empty


def test_runs_magic_shows_status_origin_and_error(ip):
    cell(ip, SETUP)
    cell(ip, "broken = WorkflowCheckpointer(workflow=Broken(), store='sqlite:///jokes.db')\n"
             "h = broken.run(topic='taxes')\n"
             "try:\n    await h\nexcept ValueError:\n    pass")
    runs = ip.run_line_magic("runs", "--ckptr ckptr")
    assert list(runs.columns) == ["run_id", "workflow", "status", "started_at", "ended_at",
                                  "duration_s", "origin_checkpoint_id", "edited", "error_type",
                                  "error_message"]
    assert list(runs["status"]) == ["completed"] * 3  # ckptr lists its own workflow's runs
    assert list(ip.run_line_magic("runs", "")["workflow"]) == ["Broken"]  # the latest one's
    failed = ip.run_line_magic("runs", "--status failed")
    assert len(failed) == 1
    assert failed["workflow"].iloc[0] == "Broken"
    assert failed["error_type"].iloc[0] == "ValueError"
    assert failed["error_message"].iloc[0] == "no jokes about taxes"
    assert (runs["duration_s"] >= 0).all()
    assert str(runs["started_at"].dtype) == "datetime64[ns, UTC]"


def test_ckpt_diff_magic_takes_id_prefixes(ip):
    cell(ip, SETUP)
    frame = ip.run_line_magic("checkpoints", "")
    first, second = frame["checkpoint_id"].iloc[1], frame["checkpoint_id"].iloc[2]
    result = ip.run_line_magic("ckpt_diff", f"{first[:6]} {second[:6]}")
    assert isinstance(result, CheckpointDiff)
    ckptr = ip.user_ns["ckptr"]
    expected = diff(ckptr.get(first), ckptr.get(second))
    assert result.changes == expected.changes
    assert "output_event.__event__" in result.paths("changed")
    assert result.a.id_ == first and result.b.id_ == second
    html = ip.display_formatter.format(result)[0]["text/html"]
    assert "fp-diff" in html and "output_event" in html


def test_run_from_magic_starts_a_new_run_from_the_checkpoint(ip):
    cell(ip, SETUP)
    ckpt_id = ip.run_line_magic("checkpoints", "--step generate_joke")["checkpoint_id"].iloc[0]
    cell(ip, f"handler = %run_from {ckpt_id[:8]}")
    result = cell(ip, "await handler")
    assert result.startswith("Critique:")
    ckptr = ip.user_ns["ckptr"]
    new_run = ckptr.get_run(ip.user_ns["handler"].run_id)
    assert new_run.status == "completed"
    assert new_run.origin_checkpoint_id == ckpt_id
    new_ckpts = ckptr.checkpoints[new_run.run_id]
    assert [c.last_completed_step for c in new_ckpts] == ["critique_joke"]

    finished = ip.run_line_magic("run_from", f"{ckpt_id[:8]} --wait --ckptr ckptr")
    assert isinstance(finished, Run)
    assert finished.status == "completed" and finished.origin_checkpoint_id == ckpt_id
    assert len(ckptr.runs) == 5


def test_errors_are_one_line_without_traceback(ip, capsys):
    cell(ip, SETUP + "\nnot_a_ckptr = 42")
    line = one_error_line(ip, capsys, "%checkpoints --ckptr nope")
    assert "'nope'" in line
    line = one_error_line(ip, capsys, "%checkpoints --ckptr not_a_ckptr")
    assert "int, not a WorkflowCheckpointer" in line
    line = one_error_line(ip, capsys, "%ckpt_diff ffff0000 eeee0000")
    assert "no checkpoint" in line and "ffff0000" in line
    line = one_error_line(ip, capsys, "%run_from ffff0000")
    assert "no checkpoint" in line
    line = one_error_line(ip, capsys, "%checkpoints --run ffff0000")
    assert "no run" in line
    line = one_error_line(ip, capsys, "%checkpoints --limit lots")
    assert "lots" in line
    with pytest.raises(UsageError):
        ip.run_line_magic("ckpt_diff", "ffff0000 eeee0000")


def test_ambiguous_prefix_is_one_line(ip, capsys, tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'crafted.db'}")
    store.put_run(RunRecord(run_id="run-1", workflow="JokeFlow", status="completed",
                            started_at=time.time()))
    for n, cid in enumerate(["abcd1111-0000-4000-8000-000000000000",
                             "abcd2222-0000-4000-8000-000000000000"]):
        store.put_checkpoint(CheckpointRecord(
            id=cid, run_id="run-1", seq=n, step=None if n == 0 else "generate_joke",
            input_type=None, output_type=None, input_event=None, output_event=None,
            ctx_state={}, created_at=time.time()))
    ip.user_ns["crafted"] = WorkflowCheckpointer(JokeFlow(), store=store)
    line = one_error_line(ip, capsys, "%ckpt_diff abcd abcd2222 --ckptr crafted")
    assert "abcd" in line and "AmbiguousCheckpointId" not in line
    assert ip.run_line_magic("ckpt_diff", "abcd1 abcd2 --ckptr crafted").b.seq == 1


def test_without_a_checkpointer_magics_read_the_default_store(ip, capsys, tmp_path):
    line = one_error_line(ip, capsys, "%checkpoints")
    assert "no checkpointer" in line and ".flowpoint" in line
    assert not (tmp_path / ".flowpoint").exists()  # a read creates nothing

    cell(ip, "from flowpoint import WorkflowCheckpointer\nfrom flowpoint.demo import JokeFlow\n"
             "_c = WorkflowCheckpointer(workflow=JokeFlow())\nawait _c.run(topic='cats')\n"
             "del _c")
    assert (tmp_path / ".flowpoint" / "checkpoints.db").exists()
    live_module._LIVE.clear()  # as in a new session: only the file remains

    frame = ip.run_line_magic("checkpoints", "")
    assert list(frame["step"].fillna("start")) == ["start", "generate_joke", "critique_joke"]
    assert list(ip.run_line_magic("runs", "")["status"]) == ["completed"]
    a, b = frame["checkpoint_id"].iloc[0], frame["checkpoint_id"].iloc[1]
    assert len(ip.run_line_magic("ckpt_diff", f"{a} {b}")) > 0
    line = one_error_line(ip, capsys, f"%run_from {b[:8]}")
    assert "needs a workflow" in line and "WorkflowCheckpointer(workflow=" in line


def test_latest_checkpointer_is_the_default(ip):
    cell(ip, SETUP)
    cell(ip, "other = WorkflowCheckpointer(workflow=JokeFlow(), store='sqlite:///other.db')\n"
             "await other.run(topic='dogs')")
    assert len(ip.run_line_magic("checkpoints", "")) == 3
    assert len(ip.run_line_magic("checkpoints", "--ckptr ckptr")) == 9


def test_checkpoints_and_runs_render_as_escaped_html(ip):
    cell(ip, SETUP)
    ckptr = ip.user_ns["ckptr"]
    ckpt_id = ip.run_line_magic("checkpoints", "--step generate_joke")["checkpoint_id"].iloc[0]
    cell(ip, f"from flowpoint.demo import JokeEvent\n"
             f"await ckptr.run_from('{ckpt_id}', output_event=JokeEvent(joke='<b>bold</b> joke'))")
    edited = ckptr.filter_checkpoints(input_event_type="JokeEvent")[-1]
    assert isinstance(edited, Checkpoint)
    html = ip.display_formatter.format(edited)[0]["text/html"]
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    run = ckptr.get_run(edited.run_id)
    run_html = ip.display_formatter.format(run)[0]["text/html"]
    assert "fp-run" in run_html and ckpt_id in run_html
    edited_runs = ip.run_line_magic("runs", "")
    assert edited_runs["edited"].tolist() == [False, False, False, True]


def test_magic_help_documents_options_and_unload_removes_magics(ip):
    doc = FlowpointMagics.checkpoints.__doc__
    for option in ("--run", "--step", "--input-type", "--output-type", "--status", "--search",
                   "--limit", "--ckptr"):
        assert option in doc
    assert "--wait" in FlowpointMagics.run_from.__doc__
    ip.run_line_magic("unload_ext", "flowpoint")
    assert "checkpoints" not in ip.magics_manager.magics["line"]
    with pytest.raises(UsageError):
        ip.run_line_magic("checkpoints", "")
    ip.run_line_magic("load_ext", "flowpoint")
    assert "explore" in ip.magics_manager.magics["line"]


async def test_explore_magic_opens_the_explorer_and_resumes_on_the_running_loop(ip):
    from flowpoint.notebook import CheckpointExplorer

    await acell(ip, SETUP)
    explorer = ip.run_line_magic("explore", "ckptr")
    assert isinstance(explorer, CheckpointExplorer)
    assert explorer.checkpointer is ip.user_ns["ckptr"]
    assert repr(explorer.timeline).startswith("Timeline(runs=3, checkpoints=9")
    target = ip.run_line_magic("checkpoints", "--step generate_joke")["checkpoint_id"].iloc[1]
    explorer.select(target[:8])
    explorer.resume_button.click()
    await explorer.last_task
    assert "completed run" in explorer.status.value
    assert repr(explorer.timeline).startswith("Timeline(runs=4, checkpoints=10")
    explorer.close()


async def test_explore_on_the_default_store_shows_runs_and_refuses_resume(ip, tmp_path):
    await acell(
        ip, "from flowpoint import WorkflowCheckpointer\nfrom flowpoint.demo import JokeFlow\n"
        "_c = WorkflowCheckpointer(workflow=JokeFlow())\nawait _c.run(topic='cats')\ndel _c")
    live_module._LIVE.clear()
    explorer = ip.run_line_magic("explore", "")
    assert repr(explorer.timeline).startswith("Timeline(runs=1, checkpoints=3")
    assert explorer.read_only and explorer.resume_button.disabled
    explorer.resume_button.click()
    assert "read-only view" in explorer.status.value
    assert len(ip.run_line_magic("runs", "")) == 1
    explorer.close()


def test_magics_take_the_checkpointer_positionally(ip, capsys):
    cell(ip, SETUP + "\nother = WorkflowCheckpointer(workflow=JokeFlow(), store='sqlite:///o.db')")
    frame = ip.run_line_magic("checkpoints", "ckptr --step generate_joke")
    assert len(frame) == 3
    assert len(ip.run_line_magic("runs", "ckptr")) == 3
    assert len(ip.run_line_magic("runs", "other")) == 0
    ids = ip.run_line_magic("checkpoints", "ckptr")["checkpoint_id"]
    assert ip.run_line_magic("ckpt_diff", f"ckptr {ids.iloc[1][:8]} {ids.iloc[2][:8]}").b.id_ == \
        ids.iloc[2]
    run = ip.run_line_magic("run_from", f"ckptr {ids.iloc[1][:8]} --wait")
    assert run.status == "completed" and run.origin_checkpoint_id == ids.iloc[1]
    line = one_error_line(ip, capsys, "%runs ckptr --ckptr other")
    assert "two checkpointers named" in line
