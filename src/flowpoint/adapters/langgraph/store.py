"""`LangGraphStore`: a read-only `CheckpointStore` over a LangGraph checkpoint saver.

Everything is read through the saver's own API (``list``, ``get_tuple``) with a serializer that
turns stored bytes into plain data only (see ``serde``). One scan of the saver builds the runs and
records; it is reused until the saver holds a newer checkpoint or a run started here changes.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ...errors import AmbiguousCheckpointId, CheckpointNotFound, StoreError
from ...storage.records import CheckpointQuery, CheckpointRecord, RunRecord
from .history import (
    EDITED_META,
    ORIGIN_META,
    Branch,
    Node,
    branches,
    node_of,
    record_of,
    run_of,
)
from .scan import ScanIndex, page_of, select_nodes
from .serde import reading_serde

#: Savers whose ``list(None, limit=1)`` returns the newest checkpoint of all threads.
_ORDERED_SAVERS = {"SqliteSaver", "PostgresSaver", "ShallowPostgresSaver"}
_LIVE = ("running", "waiting")


class LangGraphStore:
    """The checkpoints of a LangGraph saver as flowpoint runs and checkpoints (read-only).

    ``graph``: the compiled graph, used to tell a finished thread from one that stopped early;
    ``name``: the workflow name its runs are listed under.
    """

    def __init__(self, saver: Any, graph: Any = None, name: str | None = None) -> None:
        self.saver = saver
        self.reader = copy.copy(saver)
        self.reader.serde = reading_serde(getattr(saver, "serde", None))
        self._graph = graph.copy({"checkpointer": self.reader}) if graph is not None else None
        self.name = name or getattr(graph, "name", None) or "LangGraph"
        self.url = f"langgraph:{type(saver).__name__}"
        self._lock = threading.RLock()
        self._index: ScanIndex | None = None
        self._signal: Any = None
        self._dirty = False
        self._records: dict[str, CheckpointRecord] = {}
        self._has_next: dict[str, bool] = {}
        self._live: dict[str, RunRecord] = {}

    def __repr__(self) -> str:
        return f"LangGraphStore({type(self.saver).__name__})"

    # --- reading the saver ----------------------------------------------------------------------
    def _newest(self) -> Any:
        """What changes whenever the saver gains data (None: no cheap way to tell)."""
        kind = type(self.saver).__name__
        conn = getattr(self.saver, "conn", None)
        if kind == "SqliteSaver" and conn is not None:
            # The connection's own writes and other connections' commits, without a query
            # over the checkpoints (the graph writes through this same connection).
            with self.saver.lock:
                version = conn.execute("PRAGMA data_version").fetchone()[0]
                return ("sqlite", conn.total_changes, version)
        if kind not in _ORDERED_SAVERS:
            return None
        for tup in self.reader.list(None, limit=1):
            return tup.config["configurable"].get("checkpoint_id")
        return ""

    def invalidate(self, full: bool = False) -> None:
        """Read the saver again at the next access: what is new (and the pending writes of
        unfinished threads), or with ``full`` everything (e.g. after ``delete_thread``)."""
        with self._lock:
            self._dirty = True
            if full:
                self._index = None

    def index(self) -> ScanIndex:
        """The current scan: rebuilt when forced, extended by what the saver holds that is new."""
        with self._lock:
            signal = self._newest()
            if self._index is None or signal is None:
                self._index = self._scan(self._full_read())
            elif signal != self._signal or self._dirty:
                self._index = self._scan(self._new_read(self._index))
            self._signal, self._dirty = signal, False
            return self._index

    def _read(self, limit_to_new: set[str] | None) -> list[Node]:
        """Checkpoints from ``reader.list(None)``, newest first; with ``limit_to_new``, only
        those newer than the first already known one (the saver lists by id, newest first)."""
        out = []
        listing = self.reader.list(None)
        try:
            for tup in listing:
                node = node_of(tup)
                if node is None:
                    continue
                if limit_to_new is not None and node.id in limit_to_new:
                    break
                out.append(node)
        except Exception as exc:
            raise StoreError(f"cannot list the checkpoints of {self.url}: "
                             f"{type(exc).__name__}: {exc}") from exc
        finally:
            close = getattr(listing, "close", None)  # a saver holds its lock while listing
            if close is not None:
                close()
        return out

    def _full_read(self) -> dict[str, Node]:
        self._records = {}
        return {n.id: n for n in self._read(None)}

    def _new_read(self, index: ScanIndex) -> dict[str, Node]:
        nodes = dict(index.nodes)
        for n in self._read(set(nodes)):
            nodes[n.id] = n
        for run_id, branch in index.branches.items():  # writes may arrive without a checkpoint
            if index.runs[run_id].status in ("completed", "failed"):
                continue
            fresh = self.reader.get_tuple(branch.tip.config())
            node = node_of(fresh) if fresh is not None else None
            if node is not None:
                nodes[node.id] = node
        return nodes

    def _scan(self, nodes: dict[str, Node]) -> ScanIndex:
        found = branches(nodes.values())
        runs = {b.run_id: self._run(b) for b in found}
        return ScanIndex(found, runs, self._records)

    def _finished(self, node: Node) -> bool:
        """True if nothing runs after ``node`` (the graph reached its end)."""
        known = self._has_next.get(node.id)
        if known is None:
            known = self._next_of(node)
            self._has_next[node.id] = known
        return not known

    def _next_of(self, node: Node) -> bool:
        """Whether a node is triggered after ``node``: a trigger channel holds a value (LangGraph
        clears them once consumed); other bookkeeping channels (join barriers, ...) are left to
        the graph's own ``get_state``."""
        values = node.values if isinstance(node.values, dict) else {}
        own = [k for k in values if k.startswith("branch:") or k.startswith("__")
               or ":" in k]
        if any(k.startswith("branch:to:") or k in ("__start__", "__pregel_tasks") for k in own):
            return True
        if not own or self._graph is None:
            return False
        try:
            return bool(self._graph.get_state(node.config()).next)
        except Exception:  # an unreadable state: nothing is known to run next
            return False

    def _run(self, branch: Branch) -> RunRecord:
        tip = branch.tip
        if tip.pending("__error__"):
            status = "failed"
        elif tip.pending("__interrupt__"):
            status = "waiting"
        elif self._finished(tip):
            status = "completed"
        else:
            status = "interrupted"
        first = branch.nodes[0]
        origin_id = branch.origin.id if branch.origin is not None else None
        edited = None
        if origin_id is None and isinstance(first.metadata.get(ORIGIN_META), str):
            origin_id = first.metadata[ORIGIN_META]
            edited = _json_object(first.metadata.get(EDITED_META))
        elif branch.origin is not None and first.source == "update":
            before = branch.origin.output or {}
            changes = {k: {"before": before.get(k), "after": v}
                       for k, v in (first.output or {}).items() if before.get(k) != v}
            if changes:
                edited = {"output_event": {"type": record_of(first, False).output_type,
                                           "changes": changes}}
        return run_of(branch, self.name, status, origin_id, edited)

    # --- runs -----------------------------------------------------------------------------------
    def _merged(self, index: ScanIndex) -> dict[str, RunRecord]:
        runs = dict(index.runs)
        for run_id, live in self._live.items():
            rec = runs.get(run_id)
            if rec is None:
                runs[run_id] = live
                continue
            if live.status in _LIVE:
                runs[run_id] = replace(rec, status=live.status, ended_at=None)
        return runs

    def put_run(self, run: RunRecord) -> None:
        """Note a run started here (LangGraph writes its checkpoints; this tracks its status)."""
        with self._lock:
            self._live[run.run_id] = run
            self._dirty = True

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Status changes of a run started here; the saver stays as LangGraph wrote it."""
        with self._lock:
            live = self._live.get(run_id)
            if live is not None:
                known = {k: v for k, v in fields.items() if k in RunRecord.__dataclass_fields__}
                self._live[run_id] = replace(live, **known)
            self._dirty = True

    def get_run(self, run_id: str) -> RunRecord | None:
        return self._merged(self.index()).get(run_id)

    def list_runs(self, run_ids: Sequence[str] | None = None,
                  statuses: Sequence[str] | None = None) -> list[RunRecord]:
        runs = [r for r in self._merged(self.index()).values()
                if (run_ids is None or r.run_id in run_ids)
                and (statuses is None or r.status in statuses)]
        runs.sort(key=lambda r: (r.started_at, r.run_id))
        return runs

    # --- checkpoints ----------------------------------------------------------------------------
    def put_checkpoint(self, ckpt: CheckpointRecord) -> None:
        raise StoreError(f"{self.url} is read-only: LangGraph writes its own checkpoints "
                         f"(run the graph, or use run_from to fork it)")

    def get_checkpoint(self, id_or_prefix: str) -> CheckpointRecord:
        index = self.index()
        key = str(id_or_prefix)
        node = index.nodes.get(key)
        if node is None:
            hits = [k for k in index.nodes if k.startswith(key)] if key else []
            if len(hits) > 1:
                raise AmbiguousCheckpointId(f"checkpoint id prefix {key!r} matches {len(hits)} "
                                            f"LangGraph checkpoints; give more characters")
            if not hits:
                raise CheckpointNotFound(f"no LangGraph checkpoint with id or prefix {key!r} in "
                                         f"{self.url}")
            node = index.nodes[hits[0]]
        run = self._merged(index).get(node.run_id)
        tip = index.branches[node.run_id].tip
        waiting = run is not None and run.status == "waiting" and tip.id == node.id
        return record_of(node, with_state=True, waiting=waiting)

    def _select(self, query: CheckpointQuery | None) -> tuple[ScanIndex, list[Node]]:
        index = self.index()
        q = query or CheckpointQuery()
        runs = self._merged(index)
        key = (q, tuple(sorted((r, live.status) for r, live in self._live.items())))
        hit = index.selected.get(key)
        if hit is None:
            hit = index.selected[key] = select_nodes(index, q, runs)
        return index, hit

    def list_checkpoints(self, query: CheckpointQuery | None = None, limit: int | None = None,
                         offset: int = 0, with_state: bool = False) -> list[CheckpointRecord]:
        index, nodes = self._select(query)
        page = page_of(nodes, limit, offset)
        if with_state:
            return [self.get_checkpoint(n.id) for n in page]
        return [index.record(n) for n in page]

    def table_rows(self, query: CheckpointQuery | None = None, limit: int | None = None,
                   offset: int = 0) -> list[tuple[Any, ...]]:
        index, nodes = self._select(query)
        runs = self._merged(index)
        tails = {}
        rows = []
        for n in page_of(nodes, limit, offset):
            tail = tails.get(n.run_id)
            if tail is None:
                run = runs[n.run_id]
                tail = tails[n.run_id] = (run.status, run.workflow, run.origin_checkpoint_id,
                                          json.dumps(run.edited) if run.edited is not None
                                          else None)
            rows.append(index.row(n) + tail)
        return rows

    def count_checkpoints(self, query: CheckpointQuery | None = None) -> int:
        return len(self._select(query)[1])

    # --- housekeeping ---------------------------------------------------------------------------
    def delete_runs(self, run_ids: Sequence[str]) -> int:
        raise StoreError(f"{self.url} is read-only here; delete LangGraph threads with the "
                         f"saver's own delete_thread(thread_id)")

    def prune(self, keep_last: int | None = None, older_than: float | None = None) -> int:
        raise StoreError(f"{self.url} is read-only here; LangGraph checkpoints are kept and "
                         f"pruned by the saver itself")

    def storage_report(self) -> dict[str, Any]:
        index = self.index()
        return {"runs": len(index.runs), "checkpoints": len(index.nodes),
                "threads": len({b.thread_id for b in index.branches.values()}),
                "bytes": None, "url": self.url}

    def close(self) -> None:
        """The saver belongs to the graph: it is left open."""


def _json_object(text: Any) -> dict[str, Any] | None:
    """A JSON object stored as text in LangGraph metadata (LangGraph keeps only flat values)."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
