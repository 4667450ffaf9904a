"""The same chain (and growth loop) in llama-index-workflows 2.x and LangGraph, when installed.

Each builder returns the runnable thing or raises ``Unavailable`` with the reason, which the
tables print instead of a number.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from .chains import CHAIN_STEPS, FAN_ITEMS, ITEM, chain_body, item


class Unavailable(Exception):
    """A peer framework (or one of its savers) cannot be used here; the message says why."""


def _import_error(what: str, exc: BaseException) -> Unavailable:
    return Unavailable(f"{what} not importable ({type(exc).__name__}: {exc})")


# --- llama-index-workflows ----------------------------------------------------------------------
def llama_chain(write: Callable[[], None] | None = None) -> Any:
    """An instance of a 10-step llama-index-workflows chain, like benchmarks.chains.ChainFlow
    (``write``: called in each step before it returns, as benchmarks.chains.writing_chain)."""
    try:
        from workflows import Workflow, step
        from workflows.events import Event, StartEvent, StopEvent
    except ImportError as exc:
        raise _import_error("llama-index-workflows", exc) from None
    kinds: list[type] = [StartEvent]
    for i in range(1, CHAIN_STEPS):
        kinds.append(type(f"LlamaEvent{i}", (Event,), {"__module__": __name__}))
    kinds.append(StopEvent)

    attrs: dict[str, Any] = {"__module__": __name__}
    for i in range(CHAIN_STEPS):
        attrs[f"step{i}"] = step(chain_body(f"step{i}", "LlamaChainFlow", kinds[i],
                                            kinds[i + 1], write))
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


class AppendState(TypedDict):
    """A list that gains one item per step (a reducer channel), and how many to append."""

    items: Annotated[list[str], operator.add]
    target: int
    size: int


def langgraph_append(checkpointer: Any) -> Any:
    """Like benchmarks.chains.AppendFlow: one ``size``-byte item appended per step."""
    StateGraph, START, END = _langgraph()
    graph = StateGraph(AppendState)

    def grow(state: AppendState) -> dict[str, Any]:
        return {"items": [item(len(state["items"]), state["size"])]}

    def again(state: AppendState) -> str:
        return END if len(state["items"]) >= state["target"] else "grow"

    graph.add_node("grow", grow)
    graph.add_edge(START, "grow")
    graph.add_conditional_edges("grow", again)
    return graph.compile(checkpointer=checkpointer)


class BigState(TypedDict):
    """A big value set once, a counter, and the loop bound."""

    document: str
    counter: int
    target: int


def langgraph_big_value(checkpointer: Any, with_counter: bool) -> Any:
    """Like benchmarks.chains.BigValueFlow: a big value left alone beside a changing counter."""
    StateGraph, START, END = _langgraph()
    graph = StateGraph(BigState)

    def count(state: BigState) -> dict[str, Any]:
        return {"counter": state["counter"] + 1} if with_counter else {}

    steps = {"n": 0}

    def again(state: BigState) -> str:
        steps["n"] += 1
        if steps["n"] >= state["target"]:
            steps["n"] = 0
            return END
        return "count"

    graph.add_node("count", count)
    graph.add_edge(START, "count")
    graph.add_conditional_edges("count", again)
    return graph.compile(checkpointer=checkpointer)


class FanState(TypedDict):
    """The fan-out's results (a reducer list) and their sum."""

    results: Annotated[list[int], operator.add]
    total: int


def langgraph_fanout(checkpointer: Any) -> Any:
    """Like benchmarks.chains.FanFlow: ``FAN_ITEMS`` Send()s to one node, then a join node."""
    StateGraph, START, END = _langgraph()
    try:
        from langgraph.types import Send
    except ImportError as exc:
        raise _import_error("langgraph.types.Send", exc) from None
    graph = StateGraph(FanState)

    def spread(state: FanState) -> list[Any]:
        return [Send("work", {"i": i}) for i in range(FAN_ITEMS)]

    def work(arg: dict[str, int]) -> dict[str, Any]:
        return {"results": [arg["i"] * 2]}

    def gather(state: FanState) -> dict[str, Any]:
        return {"total": sum(state["results"])}

    graph.add_node("work", work)
    graph.add_node("gather", gather)
    graph.add_conditional_edges(START, spread, ["work"])
    graph.add_edge("work", "gather")
    graph.add_edge("gather", END)
    return graph.compile(checkpointer=checkpointer)


async def async_sqlite_saver(path: str) -> tuple[Any, Any]:
    """(LangGraph AsyncSqliteSaver on a file, its aiosqlite connection); package defaults."""
    try:
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    except ImportError as exc:
        raise _import_error("langgraph-checkpoint-sqlite (aio)", exc) from None
    conn = await aiosqlite.connect(path)
    saver = AsyncSqliteSaver(conn)
    await saver.setup()
    return saver, conn


def saver_bytes(conn: Any) -> int:
    """Bytes a SqliteSaver holds: checkpoint + metadata + pending writes blobs."""
    b_ckpt = conn.execute(
        "SELECT coalesce(sum(length(checkpoint)) + sum(length(metadata)), 0) FROM checkpoints"
    ).fetchone()[0]
    b_writes = conn.execute("SELECT coalesce(sum(length(value)), 0) FROM writes").fetchone()[0]
    return int(b_ckpt + b_writes)
