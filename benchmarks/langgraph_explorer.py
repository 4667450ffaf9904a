"""Opening the explorer over 10,000 LangGraph checkpoints in a SqliteSaver file.

Fills a SQLite saver with real runs of an 8-node LangGraph chain (10 checkpoints per thread:
input, __start__ and one per node), then times, side by side in one process:

- LangGraph's own read of the same history: ``get_state_history`` over every thread;
- ``WorkflowCheckpointer(workflow=graph)`` reading every run and checkpoint;
- building the whole ``CheckpointExplorer`` widget (timeline, table page, detail);
- refreshing it with nothing new in the saver (the scan is reused), and after one more thread;
- ``to_dataframe()`` over every checkpoint.

Run: ``python -m benchmarks.langgraph_explorer [--threads 1000]``.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict

NODES = 8


class ChainState(TypedDict, total=False):
    topic: str
    text: str
    step: int


def _node(i: int) -> Any:
    def node(state: ChainState) -> ChainState:
        return {"text": f"{state.get('text', state['topic'])} / step {i}", "step": i}

    node.__name__ = f"n{i}"
    return node


def chain_graph(saver: Any) -> Any:
    from langgraph.graph import END, START, StateGraph

    b = StateGraph(ChainState)
    for i in range(NODES):
        b.add_node(f"n{i}", _node(i))
    b.add_edge(START, "n0")
    for i in range(NODES - 1):
        b.add_edge(f"n{i}", f"n{i + 1}")
    b.add_edge(f"n{NODES - 1}", END)
    return b.compile(checkpointer=saver)


def _timed(fn: Any, repeat: int = 3) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(threads: int = 1000) -> dict[str, float]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    from flowpoint import WorkflowCheckpointer
    from flowpoint.notebook.explorer import CheckpointExplorer

    path = Path(tempfile.mkdtemp()) / "langgraph.db"
    saver = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
    graph = chain_graph(saver)
    t0 = time.perf_counter()
    for i in range(threads):
        graph.invoke({"topic": f"topic {i}"}, {"configurable": {"thread_id": f"thread-{i:05d}"}})
    fill = time.perf_counter() - t0
    total = sum(1 for _ in saver.list(None))
    print(f"saver: {path} — {threads} threads, {total} checkpoints (filled in {fill:.1f} s)")

    def langgraph_history() -> int:
        n = 0
        for i in range(threads):
            n += sum(1 for _ in graph.get_state_history(
                {"configurable": {"thread_id": f"thread-{i:05d}"}}))
        return n

    figures: dict[str, float] = {}
    figures["langgraph get_state_history, all threads"], n = _timed(langgraph_history, 1)
    assert n == total

    def open_data() -> int:
        ckptr = WorkflowCheckpointer(workflow=chain_graph(saver))
        assert len(ckptr.runs) == threads
        return ckptr.store.count_checkpoints()

    figures["checkpointer + every run and checkpoint (cold scan)"], n = _timed(open_data)
    assert n == total

    ckptr = WorkflowCheckpointer(workflow=graph)
    explorers: list[Any] = []

    def open_widget() -> int:
        ckptr.store.invalidate(full=True)
        ex = CheckpointExplorer(ckptr)
        explorers.append(ex)
        return ex.table.total_all

    figures["CheckpointExplorer widget (cold scan)"], n = _timed(open_widget)
    assert n == total
    ex = explorers[-1]
    figures["explorer refresh, saver unchanged"], _ = _timed(ex.refresh)
    graph.invoke({"topic": "one more"}, {"configurable": {"thread_id": "thread-extra"}})
    figures["explorer refresh after one more thread"], _ = _timed(ex.refresh, 1)
    figures["to_dataframe, every checkpoint"], df = _timed(ckptr.to_dataframe)
    assert len(df) == total + NODES + 2
    for e in explorers:
        e.close()

    ref = figures["langgraph get_state_history, all threads"]
    width = max(len(k) for k in figures)
    print(f"{'what':<{width}}  {'seconds':>8}  {'vs LangGraph history':>20}")
    for what, secs in figures.items():
        print(f"{what:<{width}}  {secs:8.3f}  {secs / ref:19.2f}x")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1000,
                        help="threads to fill (10 checkpoints each; default 1000 = 10,000)")
    main(parser.parse_args().threads)
