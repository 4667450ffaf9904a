"""The ``%checkpoints``, ``%runs``, ``%ckpt_diff``, ``%run_from`` and ``%explore`` line magics.

Each works on a checkpointer: the variable named first (``%explore ck``) or by ``--ckptr``, else the one most recently created
in this session, else a read-only :class:`StoreView` of the default store. Errors are one line.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..checkpoints import Checkpoint, Run, WorkflowCheckpointer, diff, latest_checkpointer
from ..checkpoints.diff import CheckpointDiff
from ..errors import FlowpointError
from ..runtime.handler import WorkflowHandler
from ..storage import DEFAULT_STORE, STORE_ENV, CheckpointStore, open_store

RUN_COLUMNS = ["run_id", "workflow", "status", "started_at", "ended_at", "duration_s",
               "origin_checkpoint_id", "edited", "error_type", "error_message"]
_START_NAMES = ("start", "none", "(start)")


class StoreView(WorkflowCheckpointer):
    """A checkpointer without a workflow: lists, reads, diffs and prunes a store, runs nothing.

    What the magics use when no ``WorkflowCheckpointer`` exists in the session.
    """

    def __init__(self, store: str | CheckpointStore | None = None) -> None:  # noqa: D107
        # Deliberately not calling super().__init__: there is no workflow to validate, and a view
        # must not become the session's "latest checkpointer".
        from ..checkpoints.codec import get_codec

        self.codec = get_codec("json")
        self.store = open_store(store)
        self._workflow = None  # type: ignore[assignment]
        self._enabled: set[str] = set()
        self._handlers: dict[str, WorkflowHandler] = {}
        self._listeners: list[Any] = []

    def _no_workflow(self, what: str) -> FlowpointError:
        return FlowpointError(
            f"{what} needs a workflow, and this is a read-only view of {self.store.url}; create "
            f"one with ckptr = WorkflowCheckpointer(workflow=YourFlow(), store={self.store.url!r})"
            f" and pass --ckptr ckptr")

    def run(self, *args: Any, **kwargs: Any) -> WorkflowHandler:
        """Refused: a store view has no workflow to run."""
        raise self._no_workflow("run")

    def run_from(self, checkpoint: Checkpoint | str, output_event: Any = None,
                 **kwargs: Any) -> WorkflowHandler:
        """Refused: resuming needs the workflow's code (a ``WorkflowCheckpointer``)."""
        raise self._no_workflow("run_from")

    def _check_steps(self, steps: Iterable[str]) -> None:
        raise self._no_workflow("choosing which steps checkpoint")

    def __repr__(self) -> str:
        return f"StoreView(store={self.store.url!r})"


_VIEWS: dict[str, StoreView] = {}


def default_view() -> StoreView:
    """A cached view of ``$FLOWPOINT_STORE`` or ``./.flowpoint/checkpoints.db``.

    A missing default SQLite file is an error rather than being created by a read.
    """
    spec = os.environ.get(STORE_ENV) or DEFAULT_STORE
    if not os.environ.get(STORE_ENV):
        path = Path(DEFAULT_STORE.removeprefix("sqlite:///")).absolute()
        if not path.exists():
            raise UsageError(
                f"no checkpointer in this session and no store at {path}; create one with "
                f"ckptr = WorkflowCheckpointer(workflow=YourFlow()) or name one with --ckptr NAME")
        spec = f"sqlite:///{path}"
    if spec not in _VIEWS:
        _VIEWS[spec] = StoreView(spec)
    return _VIEWS[spec]


def runs_frame(runs: Iterable[Run]) -> pd.DataFrame:
    """One row per run: status, times, duration, where it was resumed from, its error."""
    rows = []
    for r in runs:
        err = r.error or {}
        rows.append({
            "run_id": r.run_id, "workflow": r.workflow, "status": r.status,
            "started_at": r.started_at, "ended_at": r.ended_at, "duration_s": r.duration_s,
            "origin_checkpoint_id": r.origin_checkpoint_id, "edited": bool(r.edited),
            "error_type": err.get("type"), "error_message": err.get("message"),
        })
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for col in ("started_at", "ended_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True).astype("datetime64[ns, UTC]")
    types = {"run_id": "string", "workflow": "string", "status": "category",
             "duration_s": "float64", "origin_checkpoint_id": "string", "edited": "bool",
             "error_type": "string", "error_message": "string"}
    return frame.astype(types)


def _list(value: str | None) -> Any:
    """A comma-separated option as one value or a list (an OR inside that filter)."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items[0] if len(items) == 1 else items


def _steps(value: str | None) -> Any:
    if value is None:
        return ...
    # Always a list: a bare None would mean "no filter" to the checkpointer, not "start".
    return [None if v.strip().lower() in _START_NAMES else v.strip()
            for v in value.split(",") if v.strip()]


def _event_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _launch(ckptr: WorkflowCheckpointer, checkpoint_id: str) -> WorkflowHandler:
    """Start ``run_from`` as a task on the kernel's loop (IPython's own loop outside a kernel)."""
    if _event_loop() is not None:
        return ckptr.run_from(checkpoint_id)
    from IPython.core.async_helpers import get_asyncio_loop

    async def start() -> WorkflowHandler:
        return ckptr.run_from(checkpoint_id)

    return get_asyncio_loop().run_until_complete(start())


def _wait(handler: WorkflowHandler) -> None:
    """Block until the run ends, inside a running loop too (the one use of nest_asyncio)."""
    async def done() -> None:
        await asyncio.gather(_await(handler), return_exceptions=True)

    loop = _event_loop()
    if loop is None:
        from IPython.core.async_helpers import get_asyncio_loop

        get_asyncio_loop().run_until_complete(done())
        return
    import nest_asyncio

    nest_asyncio.apply(loop)
    loop.run_until_complete(done())


async def _await(handler: WorkflowHandler) -> Any:
    return await handler


@magics_class
class FlowpointMagics(Magics):
    """Line magics over a checkpointer: tables of checkpoints and runs, diffs, resume, explorer."""

    def _args(self, magic: Any, line: str) -> Any:
        """Parse ``line``; a first word naming a checkpointer variable counts as ``--ckptr``."""
        words = line.split(None, 1)
        ns = self.shell.user_ns if self.shell is not None else {}
        if words and words[0].isidentifier() and isinstance(ns.get(words[0]),
                                                            WorkflowCheckpointer):
            rest = words[1] if len(words) > 1 else ""
            args = parse_argstring(magic, rest)
            if args.ckptr and args.ckptr != words[0]:
                raise UsageError(f"two checkpointers named: {words[0]!r} and --ckptr "
                                 f"{args.ckptr!r}; name one")
            args.ckptr = words[0]
            return args
        return parse_argstring(magic, line)

    def _ckptr(self, name: str | None) -> WorkflowCheckpointer:
        """The checkpointer a magic works on (see the module docstring)."""
        if name:
            ns = self.shell.user_ns if self.shell is not None else {}
            if name not in ns:
                raise UsageError(f"no variable {name!r} in this session (--ckptr names a "
                                 f"WorkflowCheckpointer variable)")
            obj = ns[name]
            if not isinstance(obj, WorkflowCheckpointer):
                raise UsageError(f"{name!r} is a {type(obj).__name__}, not a WorkflowCheckpointer")
            return obj
        return latest_checkpointer() or default_view()

    @magic_arguments()
    @argument("--run", help="run id or unique prefix (comma-separate several)")
    @argument("--step", help="last completed step; 'start' for the start checkpoints")
    @argument("--input-type", help="input event class name, e.g. StartEvent")
    @argument("--output-type", help="output event class name, e.g. JokeEvent")
    @argument("--status", help="status of the run: running, waiting, completed, failed, ...")
    @argument("--search", help="case-insensitive text in ids, steps, types, events, metadata")
    @argument("--limit", type=int, help="at most this many rows")
    @argument("--ckptr", help="name of a WorkflowCheckpointer variable (default: the latest)")
    @line_magic
    def checkpoints(self, line: str = "") -> pd.DataFrame:
        """One row per checkpoint as a pandas DataFrame, filtered in the store (filters AND)."""
        args = self._args(self.checkpoints, line)
        ckptr = self._ckptr(args.ckptr)
        run = _list(args.run)
        try:
            if run is not None:
                run = [self._run_id(ckptr, r) for r in ([run] if isinstance(run, str) else run)]
            return ckptr.to_dataframe(
                run_id=run, last_completed_step=_steps(args.step),
                input_event_type=_list(args.input_type), output_event_type=_list(args.output_type),
                status=_list(args.status), limit=args.limit, text=args.search)
        except FlowpointError as exc:
            raise UsageError(str(exc)) from None

    @staticmethod
    def _run_id(ckptr: WorkflowCheckpointer, prefix: str) -> str:
        return ckptr.get_run(prefix).run_id

    @magic_arguments()
    @argument("--status", help="only runs with this status (comma-separate several)")
    @argument("--ckptr", help="name of a WorkflowCheckpointer variable (default: the latest)")
    @line_magic
    def runs(self, line: str = "") -> pd.DataFrame:
        """One row per run: status, times, duration, origin checkpoint, error."""
        args = self._args(self.runs, line)
        ckptr = self._ckptr(args.ckptr)
        wanted = _list(args.status)
        wanted = {wanted} if isinstance(wanted, str) else set(wanted or ())
        try:
            runs = ckptr.runs.values()
        except FlowpointError as exc:
            raise UsageError(str(exc)) from None
        return runs_frame(r for r in runs if not wanted or r.status in wanted)

    @magic_arguments()
    @argument("a", help="id or unique prefix of the first checkpoint")
    @argument("b", help="id or unique prefix of the second checkpoint")
    @argument("--ckptr", help="name of a WorkflowCheckpointer variable (default: the latest)")
    @line_magic
    def ckpt_diff(self, line: str = "") -> CheckpointDiff:
        """What changed from checkpoint A to checkpoint B (events, metadata, context state)."""
        args = self._args(self.ckpt_diff, line)
        ckptr = self._ckptr(args.ckptr)
        try:
            return diff(ckptr.get(args.a), ckptr.get(args.b))
        except FlowpointError as exc:
            raise UsageError(str(exc)) from None

    @magic_arguments()
    @argument("checkpoint", help="id or unique prefix of the checkpoint to resume from")
    @argument("--wait", action="store_true",
              help="block until the new run ends and return its Run (default: return the handler)")
    @argument("--ckptr", help="name of a WorkflowCheckpointer variable (default: the latest)")
    @line_magic
    def run_from(self, line: str = "") -> WorkflowHandler | Run:
        """Resume from a checkpoint in a new run, launched on the running loop.

        Returns the handler (``await`` it in the next cell); with ``--wait`` blocks and returns
        the finished :class:`Run`.
        """
        args = self._args(self.run_from, line)
        ckptr = self._ckptr(args.ckptr)
        try:
            handler = _launch(ckptr, args.checkpoint)
        except FlowpointError as exc:
            raise UsageError(str(exc)) from None
        if not args.wait:
            return handler
        _wait(handler)
        return ckptr.get_run(handler.run_id)

    @magic_arguments()
    @argument("--ckptr", help="name of a WorkflowCheckpointer variable (default: the latest)")
    @line_magic
    def explore(self, line: str = "") -> Any:
        """The checkpoint explorer widget: timeline, table, detail, diff, edit and resume."""
        args = self._args(self.explore, line)
        ckptr = self._ckptr(args.ckptr)
        from .explorer import CheckpointExplorer

        try:
            return CheckpointExplorer(ckptr)
        except FlowpointError as exc:
            raise UsageError(str(exc)) from None
