"""durability= wherever a user can give it, checked from outside: the checkpointer, open_store,
SQLStore and the store URL (so $FLOWPOINT_STORE and --store carry it); bad values named; and on
PostgreSQL one round trip per checkpoint (counted on the wire) and commits before dispatch."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url
from test_cost_contract_probe import Turn, fsyncs

from flowpoint import (
    Context,
    StartEvent,
    StopEvent,
    StoreError,
    Workflow,
    WorkflowCheckpointer,
    step,
)
from flowpoint.demo import JokeFlow
from flowpoint.storage import CheckpointQuery, SQLStore, open_store


@pytest.mark.parametrize("bad", ["", "POWER", "disk", False, 1])
def test_a_bad_level_is_refused_by_name_wherever_it_is_given(tmp_path: Path, bad: Any) -> None:
    db = str(tmp_path / "bad.db")
    makers = [lambda: WorkflowCheckpointer(JokeFlow(), store=db, durability=bad),
              lambda: open_store(db, durability=bad),
              lambda: SQLStore(f"sqlite:///{db}", durability=bad)]
    if isinstance(bad, str) and bad:  # (an empty URL option is no option)
        makers.append(lambda: open_store(f"sqlite:///{db}?durability={bad}"))
    for make in makers:
        with pytest.raises(StoreError) as err:
            make()
        assert repr(bad) in str(err.value) and "'process'" in str(err.value), str(err.value)
        assert "'power'" in str(err.value)
    assert not Path(db).exists()


def test_the_store_url_carries_the_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """?durability=power on a URL is obeyed, never dropped (it was ignored with a warning)."""
    url = f"sqlite:///{tmp_path / 'u.db'}?durability=power"
    store = open_store(url)
    assert store.durability == "power" and "durability" not in store.url
    store.close()
    with SQLStore(url) as store, SQLStore(url, durability="power") as same:
        assert store.durability == same.durability == "power"
    monkeypatch.setenv("FLOWPOINT_STORE", url)
    ckptr = WorkflowCheckpointer(JokeFlow())
    assert ckptr.store.durability == "power"
    ckptr.store.close()
    with pytest.raises(StoreError, match="durability='power' but durability='process'"):
        WorkflowCheckpointer(JokeFlow(), durability="process")
    with pytest.raises(StoreError, match="more than once"):
        open_store(f"{url}&durability=process")
    spec = f"sqlite:///{tmp_path / 'fs.db'}?durability=power"
    synced, ckpts = fsyncs(tmp_path, None, 1, 5, spec=spec)
    assert ckpts == 15 and synced >= 15, synced


def test_postgresql_takes_the_level_from_its_url_too(pg_store_url: str) -> None:
    with SQLStore(f"{pg_store_url}&durability=power") as store:
        assert store.durability == "power"
        raw = store._engine.raw_connection()  # the store's own sessions commit synchronously
        try:
            cur = raw.driver_connection.cursor()
            cur.execute("SHOW synchronous_commit")
            assert cur.fetchone()[0] == "on"
        finally:
            raw.close()


class RoundTrips:
    """A TCP relay in front of PostgreSQL counting round trips: each time a client sends after
    the server last answered it."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.count = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            answered = [True]
            for src, dst, up in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=(src, dst, up, answered),
                                 daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, up: bool, answered: list[bool]) -> None:
        try:
            while data := src.recv(1 << 16):
                with self._lock:
                    if up and answered[0]:
                        self.count += 1
                    answered[0] = not up
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


class Counting(Workflow):
    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Turn:
        await ctx.store.set("n", 0)
        return Turn(n=1)

    @step
    async def again(self, ev: Turn, ctx: Context) -> Turn | StopEvent:
        await ctx.store.set("n", ev.n)
        return StopEvent(result=ev.n) if ev.n >= STEPS[0] else Turn(n=ev.n + 1)


STEPS = [10]  # steps of the next Counting run


@pytest.mark.parametrize("durability", ["process", "power"])
async def test_postgresql_takes_one_round_trip_per_checkpoint(
        pg_store_url: str, durability: str) -> None:
    url = make_url(pg_store_url)
    relay = RoundTrips(url.host or "127.0.0.1", url.port or 5432)
    try:
        via = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
        ckptr = WorkflowCheckpointer(Counting(timeout=None), store=via, durability=durability)
        trips = []
        for steps in (10, 50):
            STEPS[0] = steps
            await ckptr.run()  # connections opened; then count one run of `steps` checkpoints
            before = relay.count
            assert await ckptr.run() == steps
            trips.append(relay.count - before)
        ckptr.store.close()
    finally:
        relay.close()
    per_checkpoint = (trips[1] - trips[0]) / 40
    assert per_checkpoint <= 1.05, trips
    assert trips[0] <= 10 + 1 + 3, trips  # checkpoints, the start one, the run's row and so on


WATCH: dict[str, Any] = {}


class Watched(Workflow):
    """Each step records how many of its run's checkpoints another connection sees committed."""

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Turn:
        WATCH.setdefault(ctx.run_id, []).append(seen(ctx))
        return Turn(n=1)

    @step
    async def again(self, ev: Turn, ctx: Context) -> Turn | StopEvent:
        WATCH.setdefault(ctx.run_id, []).append(seen(ctx))
        return StopEvent(result=ev.n) if ev.n >= 6 else Turn(n=ev.n + 1)


def seen(ctx: Context) -> int:
    return WATCH["reader"].count_checkpoints(CheckpointQuery(run_ids=(ctx.run_id,)))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_runs_at_once_under_power_see_each_checkpoint_committed_before_its_output(
        request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> None:
    url = (f"sqlite:///{tmp_path / 'g.db'}" if backend == "sqlite"
           else request.getfixturevalue("pg_store_url"))
    WATCH.clear()
    ckptr = WorkflowCheckpointer(Watched(timeout=None), store=url, durability="power")
    WATCH["reader"] = SQLStore(url)
    try:
        handlers = [ckptr.run() for _ in range(8)]
        assert await asyncio.gather(*handlers) == [6] * 8
        for h in handlers:
            # the step after checkpoint k (the start checkpoint is 0) saw k + 1 committed
            assert WATCH[h.run_id] == list(range(1, 8)), WATCH[h.run_id]
            ckpts = ckptr.filter_checkpoints(run_id=h.run_id, include_start=True)
            assert [c.seq for c in ckpts] == list(range(8))
            assert ckptr.runs[h.run_id].status == "completed"
        assert ckptr.storage_report()["checkpoints"] == 8 * 8
    finally:
        WATCH.pop("reader").close()
        ckptr.store.close()


async def make_old_store(path: Path) -> None:
    """One JokeFlow run in the first layout (no meta table, no row sizes or bare names)."""
    first = WorkflowCheckpointer(JokeFlow(timeout=None), store=str(path))
    await first.run(topic="old")
    first.store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    for sql in ("DROP INDEX IF EXISTS ix_flowpoint_checkpoints_input_name",
                "DROP INDEX IF EXISTS ix_flowpoint_checkpoints_output_name",
                "ALTER TABLE flowpoint_checkpoints DROP COLUMN input_name",
                "ALTER TABLE flowpoint_checkpoints DROP COLUMN output_name",
                "ALTER TABLE flowpoint_checkpoints DROP COLUMN size_bytes",
                "DROP TABLE flowpoint_meta", "PRAGMA wal_checkpoint(TRUNCATE)"):
        conn.execute(sql)
    conn.close()


async def test_opening_an_old_store_read_only_writes_nothing(tmp_path: Path) -> None:
    """An old store is refused read-only without a byte changed; opened writable it migrates
    and takes new runs."""
    path = tmp_path / "old.db"
    await make_old_store(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(StoreError, match="read-only.*migrated"):
        SQLStore(f"sqlite:///{path}", read_only=True)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    ckptr = WorkflowCheckpointer(JokeFlow(timeout=None), store=str(path), durability="power")
    (old,) = ckptr.runs
    assert len(ckptr.checkpoints[old]) == 2
    assert len(ckptr.filter_checkpoints(output_event_type="JokeEvent")) == 1
    await ckptr.run(topic="new")
    assert sorted(len(c) for c in ckptr.checkpoints.values()) == [2, 2]
    ckptr.store.close()


def test_checkpointers_in_threads_of_their_own_share_a_store_safely(tmp_path: Path) -> None:
    """One store for a path is shared by checkpointers whose runs are on different loops."""
    path = str(tmp_path / "threads.db")
    errors: list[BaseException] = []
    stores: list[Any] = []

    def work() -> None:
        async def main() -> None:
            ckptr = WorkflowCheckpointer(JokeFlow(timeout=None), store=path, durability="power")
            stores.append(ckptr.store)
            await asyncio.gather(*[ckptr.run(topic=f"t{i}") for i in range(5)])
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({id(s) for s in stores}) == 1
    ckptr = WorkflowCheckpointer(JokeFlow(timeout=None), store=path)
    assert len(ckptr.runs) == 20 and {r.status for r in ckptr.runs.values()} == {"completed"}
    assert all([c.seq for c in cs] == [1, 2] for cs in ckptr.checkpoints.values())
    ckptr.store.close()


def test_a_langgraph_graph_refuses_power_saying_its_saver_is_langgraphs() -> None:
    """flowpoint only reads a graph's saver: "power" cannot apply, and the error says why
    instead of telling the user to reopen a store they never gave."""
    from typing import TypedDict

    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        x: int

    graph = StateGraph(State)
    graph.add_node("a", lambda s: {"x": s["x"] + 1})
    graph.add_edge(START, "a")
    graph.add_edge("a", END)
    compiled = graph.compile(checkpointer=InMemorySaver())
    with pytest.raises(StoreError, match="LangGraph saver.*durability='power' cannot apply"):
        WorkflowCheckpointer(compiled, durability="power")
    assert WorkflowCheckpointer(compiled, durability="process").store is not None


async def test_a_migrated_store_still_fsyncs_every_checkpoint_under_power(tmp_path: Path) -> None:
    path = tmp_path / "old-power.db"
    await make_old_store(path)
    synced, ckpts = fsyncs(tmp_path, "power", 1, 4, spec=str(path))  # migrates, then 4 runs
    assert ckpts == 3 + 4 * 3
    assert synced >= 4 * 3, synced
