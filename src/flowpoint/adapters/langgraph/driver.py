"""`LangGraphDriver`: a compiled LangGraph graph behind `WorkflowCheckpointer`.

Its store is the graph's own saver, read as flowpoint runs (`LangGraphStore`). ``run`` starts a
new thread; ``run_from`` forks the way LangGraph does — ``update_state`` on the checkpoint's
config, as the node that wrote it, with the edited writes — then continues the graph from there.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ...checkpoints.drivers import Launch, Resume
from ...errors import InvalidEdit, StoreError, UnsupportedWorkflow, WorkflowRuntimeError
from ...runtime.events import Event, HumanResponseEvent, event_key
from ...runtime.serde import decode_event, encode_event
from .handler import LangGraphHandler
from .history import EDITED_META, ORIGIN_META, plain
from .serde import can_unpickle
from .store import LangGraphStore
from .versions import check_versions

if TYPE_CHECKING:
    from ...checkpoints.codec import JsonCodec
    from ...checkpoints.model import Checkpoint


def _saver_of(graph: Any) -> Any:
    saver = getattr(graph, "checkpointer", None)
    if saver is None or isinstance(saver, bool):
        raise UnsupportedWorkflow(
            "this LangGraph graph has no checkpointer of its own; compile it with one, e.g. "
            "builder.compile(checkpointer=SqliteSaver(sqlite3.connect('graph.db', "
            "check_same_thread=False)))")
    if type(saver).__name__.startswith("Async"):
        raise UnsupportedWorkflow(
            f"{type(saver).__name__} can only be read from async code; give flowpoint the same "
            f"database through the sync saver (SqliteSaver / PostgresSaver) when compiling the "
            f"graph you explore")
    return saver


def _fields(ev: Any) -> dict[str, Any]:
    """The fields a user changed: a dict as given, an event's declared and extra fields."""
    if ev is None:
        return {}
    if isinstance(ev, dict):
        return dict(ev)
    if isinstance(ev, Event):
        return {**{k: getattr(ev, k) for k in type(ev).model_fields},
                **(ev.__pydantic_extra__ or {})}
    raise InvalidEdit(f"output_event must be a dict of state values (or an event), got "
                      f"{type(ev).__name__}")


class LangGraphDriver:
    """Runs, forks and answers a compiled graph; reads its saver as the checkpointer's store."""

    native = False

    def __init__(self, graph: Any) -> None:
        check_versions()
        self.workflow = graph
        self.saver = _saver_of(graph)
        self.store = LangGraphStore(self.saver, graph)

    @property
    def name(self) -> str:
        return str(getattr(self.workflow, "name", None) or "LangGraph")

    def steps(self) -> Collection[str]:
        return list(self.workflow.nodes)

    def store_for(self, given: Any) -> LangGraphStore:
        """The graph's saver, read as a store: another store cannot hold this runtime's runs."""
        if given is None or given is self.store or getattr(given, "saver", None) is self.saver:
            return given if given is not None else self.store
        raise StoreError(
            f"store= cannot be used with {self.name}: its runtime keeps its checkpoints in its "
            f"own store ({self.store.url}), which flowpoint reads; leave store= out")

    # --- events -------------------------------------------------------------------------------
    def encode_event(self, event: Any) -> Any:
        return encode_event(event)

    def event_type(self, cls: type) -> str:
        return event_key(cls)

    def decode_event(self, data: Any) -> Any:
        return decode_event(data)

    def human_response(self, response: str) -> Any:
        return response

    def send_event(self, handler: Any, event: Any) -> None:
        answer = event.response if isinstance(event, HumanResponseEvent) else event
        handler.respond(answer)

    # --- running ------------------------------------------------------------------------------
    def _check_trusted(self) -> None:
        if can_unpickle(getattr(self.saver, "serde", None)):
            raise UnsupportedWorkflow(
                "the graph's saver can unpickle stored data (its serializer has "
                "pickle_fallback=True); flowpoint only runs graphs whose checkpoints load without "
                "pickle. Compile with the saver's default serializer to run or fork it here; "
                "reading and exploring work as they are")

    def _launch(self, run_id: str, config: dict[str, Any], payload: Any) -> Launch:
        def launch(_run_id: str, recorder: Any) -> LangGraphHandler:
            return LangGraphHandler(self.workflow, run_id, config, payload, recorder,
                                    lambda: self._tip_config(run_id))
        return launch

    def _tip_config(self, run_id: str) -> dict[str, Any] | None:
        self.store.invalidate()
        branch = self.store.index().branches.get(run_id)
        return branch.tip.config() if branch is not None else None

    def start(self, *, ctx: Any, start_event: Any, kwargs: dict[str, Any]) -> Launch:
        if ctx is not None:
            raise InvalidEdit("ctx= is for flowpoint workflows; a LangGraph run keeps its state "
                              "in the graph's saver")
        self._check_trusted()
        inputs = {**_fields(start_event), **kwargs}

        def launch(run_id: str, recorder: Any) -> LangGraphHandler:  # the run id is the thread
            return LangGraphHandler(self.workflow, run_id, {"configurable": {"thread_id": run_id}},
                                    inputs, recorder, lambda: self._tip_config(run_id),)
        return launch

    def resume(self, ckpt: Checkpoint, *, output_event: Any, state: dict[str, Any] | None,
               kwargs: dict[str, Any], codec: JsonCodec) -> Resume:
        self._check_trusted()
        index = self.store.index()
        node = index.nodes.get(ckpt.id_)
        if node is None:
            raise InvalidEdit(f"checkpoint {ckpt.id_[:8]} is not in the graph's saver")
        edits = {**_fields(output_event), **(state or {})}
        if kwargs and node.step is not None:
            raise InvalidEdit(f"keyword arguments {sorted(kwargs)} change the input of an input "
                              f"checkpoint; pass output_event={{...}} to edit what "
                              f"{node.step!r} wrote")
        edits.update(kwargs)
        self._check_keys(edits)
        before = node.output or {}
        changes = {k: {"before": plain(before.get(k)), "after": plain(v)}
                   for k, v in edits.items() if before.get(k) != v}
        edited = {"output_event": {"type": ckpt.output_type, "changes": changes}} \
            if changes else None
        graph = self.workflow
        if node.step is None:
            values = {**before, **edits}
            if node.parent_id is None:
                thread_id = str(uuid.uuid4())
                meta = {ORIGIN_META: node.id, EDITED_META: json.dumps(edited)}
                config = graph.update_state({"configurable": {"thread_id": thread_id},
                                             "metadata": meta}, values, as_node="__input__")
            else:
                config = graph.update_state(index.nodes[node.parent_id].config(), values,
                                            as_node="__input__")
        elif len(node.writers) == 1:
            config = graph.update_state(node.config(), edits, as_node=node.writers[0])
        elif edits:
            raise InvalidEdit(f"checkpoint {ckpt.id_[:8]} was written by {len(node.writers)} "
                              f"nodes in one step ({node.step}); edit it with "
                              f"graph.bulk_update_state, or fork from a checkpoint one node wrote")
        else:
            config = graph.bulk_update_state(node.config(),
                                             [[({}, name) for name in node.writers]])
        new_id = config["configurable"]["checkpoint_id"]
        self.store.invalidate()
        new = self.store.index().nodes.get(new_id)
        if new is None:
            raise WorkflowRuntimeError(f"LangGraph stored the fork as {new_id}, which the saver "
                                       f"does not list")
        return Resume(self._launch(new.run_id, new.config(), None), first_seq=new.seq,
                      edited=edited, run_id=new.run_id)

    def _check_keys(self, edits: dict[str, Any]) -> None:
        channels = [k for k in getattr(self.workflow, "channels", {})
                    if not (k.startswith("branch:") or k.startswith("__"))]
        unknown = sorted(k for k in edits if k not in channels)
        if unknown and channels:
            raise InvalidEdit(f"the graph's state has no key(s) {unknown}; its keys are "
                              f"{sorted(channels)}")

    def attach(self, run_id: str) -> Launch | None:
        """How to answer a thread stopped at an ``interrupt()`` outside this checkpointer (a
        handler that waits for ``respond``); None if the run does not wait for input."""
        index = self.store.index()
        branch = index.branches.get(run_id)
        run = index.runs.get(run_id)
        if branch is None or run is None or run.status != "waiting":
            return None
        prompts = [i for g in branch.tip.pending("__interrupt__")
                   for i in (g if isinstance(g, list) else [g])]
        config = branch.tip.config()

        def launch(_run_id: str, recorder: Any) -> LangGraphHandler:
            return LangGraphHandler(self.workflow, run_id, config, None, recorder,
                                    lambda: self._tip_config(run_id),
                                    waiting=prompts)
        return launch
