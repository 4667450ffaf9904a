"""``flowpoint resume``: run a workflow the user names from a stored checkpoint, with progress.

The workflow class comes from ``--workflow package.module:Class`` only; nothing named in the
store is ever imported.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import sys
from typing import Any

import click

from ..checkpoints import WorkflowCheckpointer
from ..errors import CheckpointNotFound, FlowpointError
from ..runtime.events import HumanResponseEvent, InputRequiredEvent
from ..storage import CheckpointQuery, CheckpointRecord, RunRecord
from .lookup import find_checkpoint_or_run
from .output import console, err_console, seconds, short, text, type_name
from .session import CliError, Session

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
EXIT_FAILED, EXIT_WAITING, EXIT_CANCELLED = 1, 3, 130


def load_workflow(spec: str) -> Any:
    """A workflow instance from ``package.module:Class`` (the class is called with no arguments;
    an attribute that already is a workflow instance is used as it is)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not _DOTTED.match(module_name) or not _DOTTED.match(attr):
        raise CliError(f"--workflow {spec!r} is not package.module:Class (e.g. "
                       f"myproject.flows:JokeFlow)")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise CliError(f"cannot import {module_name!r}: no such module; run from the "
                           f"directory that holds it or add it to PYTHONPATH") from None
        raise CliError(f"importing {module_name} failed: {exc}") from None
    except Exception as exc:
        raise CliError(f"importing {module_name} failed: {type(exc).__name__}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CliError(f"{module_name} has no attribute {attr!r}") from None
    if isinstance(obj, type):
        try:
            obj = obj()
        except Exception as exc:
            raise CliError(f"cannot create {spec}() with no arguments: {type(exc).__name__}: "
                           f"{exc}") from None
    return obj


def _parse_object(value: str | None, option: str, what: str, example: str
                  ) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        fields = json.loads(value)
    except ValueError as exc:
        raise CliError(f"{option} is not JSON ({exc}); give an object of {what}, e.g. "
                       f"{option} '{example}'") from None
    if not isinstance(fields, dict):
        raise CliError(f"{option} must be a JSON object of {what}")
    return fields


def _origin(store: Any, ident: str) -> CheckpointRecord | RunRecord:
    """The checkpoint an id names; a run's id means that run's last checkpoint, or the run
    itself when it is paused at a breakpoint (it continues under its own id)."""
    found = find_checkpoint_or_run(store, ident)
    if isinstance(found, CheckpointRecord) or found.status == "paused":
        return found
    last = store.list_checkpoints(CheckpointQuery(run_ids=(found.run_id,), descending=True),
                                  limit=1)
    if not last:
        raise CliError(f"run {short(found.run_id)} has no checkpoints to resume from")
    return last[0]


async def _drive(ckptr: WorkflowCheckpointer, origin: CheckpointRecord | RunRecord,
                 edit: dict[str, Any] | None, state: dict[str, Any] | None, answers: list[str],
                 spec: str) -> int:
    notes = err_console()
    out = console()
    done = 0

    def on_change(kind: str, run_id: str, payload: Any) -> None:
        nonlocal done
        if kind == "checkpoint" and isinstance(payload, CheckpointRecord):
            done += 1
            notes.print(f"  ✓ {payload.step or '(start)'} → {type_name(payload.output_type)} "
                        f"(seq {payload.seq}, {seconds(payload.step_duration_s)}, checkpoint "
                        f"{short(payload.id)})")

    ckptr.subscribe(on_change)
    if isinstance(origin, RunRecord):
        ckpt_id = ckptr.last_checkpoint(origin.run_id).id_
        handler = ckptr.resume(origin.run_id, output_event=edit, state=state)
        notes.print(f"continuing paused run {short(handler.run_id)} from checkpoint "
                    f"{short(ckpt_id)}")
    else:
        ckpt_id = origin.id
        handler = ckptr.run_from(ckpt_id, output_event=edit, state=state)
        notes.print(f"resuming from checkpoint {short(ckpt_id)} in new run "
                    f"{short(handler.run_id)}")
    waiting: list[str] = []

    async def answer_prompts() -> None:
        async for ev in handler.stream_events():
            if not isinstance(ev, InputRequiredEvent):
                continue
            if answers:
                reply = answers.pop(0)
                notes.print(f"  ? {ev.prefix}\n  → {reply}")
            elif sys.stdin.isatty():
                reply = await asyncio.to_thread(click.prompt, ev.prefix or "input", err=True)
            else:
                waiting.append(ev.prefix)
                handler.cancel()
                return
            handler.ctx.send_event(HumanResponseEvent(response=reply))

    prompts = asyncio.ensure_future(answer_prompts())
    with notes.status("running…", spinner="dots"):
        try:
            result = await handler
        except asyncio.CancelledError:
            result = None
        except Exception:
            result = None
    prompts.cancel()
    await asyncio.gather(prompts, return_exceptions=True)
    run = ckptr.get_run(handler.run_id)
    if waiting:
        try:
            again = ckptr.last_checkpoint(handler.run_id).id_
        except CheckpointNotFound:
            again = ckpt_id
        raise _Exit(EXIT_WAITING, f"run {short(run.run_id)} is waiting for input "
                    f"({text(waiting[0], 80)}); answer with: flowpoint resume {short(again)} "
                    f"--workflow {spec} --answer TEXT")
    if run.status == "paused":
        raise _Exit(EXIT_WAITING, f"run {short(run.run_id)} paused at a breakpoint; continue it "
                    f"with: flowpoint resume {short(run.run_id)} --workflow {spec}")
    if run.status == "completed":
        notes.print(f"run {short(run.run_id)} completed ({done} checkpoints)")
        out.print(text(run.result if run.result is not None else result, 2000))
        return 0
    err = run.error or {}
    if run.status == "cancelled":
        raise _Exit(EXIT_CANCELLED, f"run {short(run.run_id)} was cancelled")
    raise _Exit(EXIT_FAILED, f"run {short(run.run_id)} {run.status}: {err.get('type', '')}: "
                f"{text(err.get('message', ''), 300)}; fix it and resume from its last checkpoint "
                f"with: flowpoint resume {short(run.run_id)} --workflow {spec}")


class _Exit(FlowpointError):
    """A run ended otherwise than completed: its message, and the exit status to give."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@click.command()
@click.argument("ident", metavar="ID")
@click.option("--workflow", "spec", required=True, metavar="package.module:Class",
              help="the workflow to run: imported from your code, never from stored data")
@click.option("--edit", metavar="JSON",
              help="change fields of the checkpoint's output event first (a JSON object)")
@click.option("--state", "state", metavar="JSON",
              help="set ctx.store keys first (a JSON object of key: value)")
@click.option("--answer", "answers", multiple=True, metavar="TEXT",
              help="answer a human-input prompt (repeat for several); default: ask on the "
                   "terminal")
@click.option("--serializer", type=click.Choice(["json", "pickle"]), default="json",
              show_default=True, help="pickle only for a trusted store written with it")
@click.pass_obj
def resume(session: Session, ident: str, spec: str, edit: str | None, state: str | None,
           answers: tuple[str, ...], serializer: str) -> int:
    """Resume from checkpoint ID (or a run's last checkpoint) in a new run.

    A paused run's id continues that run under its own id. Exit status: 0 if the run
    completed, 1 if it failed, 3 if it waits for input nobody gave (or paused), 130 if
    cancelled.
    """
    fields = _parse_object(edit, "--edit", "the output event's fields", '{"joke": "A better one"}')
    values = _parse_object(state, "--state", "ctx.store keys", '{"draft": "new text"}')
    store = session.store()
    origin = _origin(store, ident)
    workflow = load_workflow(spec)
    try:
        ckptr = WorkflowCheckpointer(workflow=workflow, store=store, serializer=serializer)
    except FlowpointError:
        raise
    except Exception as exc:
        raise CliError(f"{spec} is not a workflow flowpoint can run ({type(exc).__name__}: "
                       f"{exc})") from None
    try:
        return asyncio.run(_drive(ckptr, origin, fields, values, list(answers), spec))
    except _Exit as exc:
        click.echo(f"flowpoint: {exc}", err=True)
        return exc.code
