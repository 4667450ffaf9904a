"""The same chain (and growth loop) in llama-index-workflows 2.x and LangGraph, when installed.

Each builder returns the runnable thing or raises ``Unavailable`` with the reason, which the
tables print instead of a number.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from .chains import CHAIN_STEPS, ITEM


class Unavailable(Exception):
    """A peer framework (or one of its savers) cannot be used here; the message says why."""


def _import_error(what: str, exc: BaseException) -> Unavailable:
    return Unavailable(f"{what} not importable ({type(exc).__name__}: {exc})")


# --- llama-index-workflows ----------------------------------------------------------------------
def llama_chain() -> Any:
    """An instance of a 10-step llama-index-workflows chain, like benchmarks.chains.ChainFlow."""
    try:
        from workflows import Workflow, step
        from workflows.events import Event, StartEvent, StopEvent
    except ImportError as exc:
        raise _import_error("llama-index-workflows", exc) from None
    kinds: list[type] = [StartEvent]
    for i in range(1, CHAIN_STEPS):
        kinds.append(type(f"LlamaEvent{i}", (Event,), {"__module__": __name__}))
    kinds.append(StopEvent)

    def make(name: str, accepts: type, emits: type) -> Any:
        async def chain_step(self: Any, ev: Any) -> Any:
            return emits()

        chain_step.__annotations__ = {"ev": accepts, "return": emits}
        chain_step.__name__, chain_step.__qualname__ = name, f"LlamaChainFlow.{name}"
        return step(chain_step)

    attrs: dict[str, Any] = {"__module__": __name__}
    for i in range(CHAIN_STEPS):
        attrs[f"step{i}"] = make(f"step{i}", kinds[i], kinds[i + 1])
    flow = type("LlamaChainFlow", (Workflow,), attrs)
    return flow(timeout=None)


def llama_version() -> str:
    """The installed llama-index-workflows version."""
    from importlib.metadata import version

    return version("llama-index-workflows")


# --- LangGraph ------------------------------------------------------------------------------------
class ChainState(TypedDict):
    """The chain graph's state: which node ran last."""

    last: int


class GrowthState(TypedDict):
    """The growth graph's state: a list that gains one ~100-byte item per step."""

    items: Annotated[list[str], operator.add]
    target: int


def _langgraph() -> Any:
    try:
        from langgraph.graph import END, START, StateGraph
    except ImportError as exc:
        raise _import_error("langgraph", exc) from None
    return StateGraph, START, END


def langgraph_chain(checkpointer: Any = None) -> Any:
    """A compiled StateGraph of 10 nodes in a chain, each a no-op update."""
    StateGraph, START, END = _langgraph()
    graph = StateGraph(ChainState)

    def node(i: int) -> Any:
        def run(state: ChainState) -> dict[str, int]:
            return {"last": i}

        return run

    names = [f"step{i}" for i in range(CHAIN_STEPS)]
    for i, name in enumerate(names):
        graph.add_node(name, node(i))
    graph.add_edge(START, names[0])
    for a, b in zip(names[:-1], names[1:], strict=True):
        graph.add_edge(a, b)
    graph.add_edge(names[-1], END)
    return graph.compile(checkpointer=checkpointer)


def langgraph_growth(checkpointer: Any) -> Any:
    """A one-node loop that appends an item per step until ``target`` items (a reducer list)."""
    StateGraph, START, END = _langgraph()
    graph = StateGraph(GrowthState)

    def grow(state: GrowthState) -> dict[str, Any]:
        return {"items": [f"{len(state['items']):08d}:{ITEM}"]}

    def again(state: GrowthState) -> str:
        return END if len(state["items"]) >= state["target"] else "grow"

    graph.add_node("grow", grow)
    graph.add_edge(START, "grow")
    graph.add_conditional_edges("grow", again)
    return graph.compile(checkpointer=checkpointer)


def langgraph_version() -> str:
    """The installed langgraph version."""
    from importlib.metadata import version

    return version("langgraph")


def sqlite_saver(path: str) -> tuple[Any, Any]:
    """(LangGraph SqliteSaver on a file, its sqlite3 connection); defaults of the package."""
    try:
        import sqlite3

        from langgraph.checkpoint.sqlite import SqliteSaver
    except ImportError as exc:
        raise _import_error("langgraph-checkpoint-sqlite", exc) from None
    conn = sqlite3.connect(path, check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()
    return saver, conn


def postgres_saver(url: str | None) -> tuple[Any, Any]:
    """(LangGraph PostgresSaver on the database of ``url``, its connection)."""
    if not url:
        raise Unavailable("FLOWPOINT_TEST_PG is not set (source scripts/postgres.sh)")
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise _import_error("langgraph-checkpoint-postgres", exc) from None
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    conn = Connection.connect(dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    saver = PostgresSaver(conn)
    saver.setup()
    return saver, conn
