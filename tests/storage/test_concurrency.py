"""Several writers on one store: nothing lost, duplicated or torn."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from storage_helpers import make_ckpt, make_run

from flowpoint.storage import CheckpointQuery, SQLStore

SHARED = [f"shared entry {i}" * 3 for i in range(70)]


def state(tag: str, seq: int) -> dict[str, Any]:
    return {"shared": SHARED, "mine": [tag] * 40, "seq": seq}


def test_two_stores_on_one_file_interleave_writes(sql_url: str) -> None:
    a, b = SQLStore(sql_url), SQLStore(sql_url)
    try:
        a.put_run(make_run("ra", started_at=1.0))
        b.put_run(make_run("rb", started_at=2.0))
        for seq in range(20):
            a.put_checkpoint(make_ckpt("ra", seq, ctx_state=state("a", seq)))
            b.put_checkpoint(make_ckpt("rb", seq, ctx_state=state("b", seq)))
            assert a.count_checkpoints() == b.count_checkpoints() == 2 * seq + 2
        b.update_run("ra", status="completed")
        assert a.get_run("ra").status == "completed"
        got = a.list_checkpoints(CheckpointQuery(run_ids=("rb",)), with_state=True)
        assert [c.ctx_state for c in got] == [state("b", seq) for seq in range(20)]
    finally:
        a.close()
        b.close()


def test_threads_share_one_store(store: Any) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            store.put_run(make_run(f"t{n}"))
            for seq in range(25):
                store.put_checkpoint(make_ckpt(f"t{n}", seq, ctx_state=state(f"t{n}", seq)))
                store.list_checkpoints(CheckpointQuery(run_ids=(f"t{n}",)), limit=3)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count_checkpoints() == 100
    for ck in store.list_checkpoints(with_state=True):
        assert ck.ctx_state == state(ck.run_id, ck.seq)


WRITER = textwrap.dedent("""
    import os, sys, time
    from flowpoint.storage import CheckpointRecord, RunRecord, SQLStore
    url, n, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    while not os.path.exists(go):
        time.sleep(0.005)
    store = SQLStore(url)
    run_id = f"proc{n}"
    store.put_run(RunRecord(run_id=run_id, workflow="W", status="running", started_at=n))
    shared = [f"shared entry {i}" * 3 for i in range(70)]
    for seq in range(200):
        store.put_checkpoint(CheckpointRecord(
            id=f"{run_id}-{seq}", run_id=run_id, seq=seq, step="s", input_type="m.A",
            output_type="m.B", input_event={}, output_event={"seq": seq},
            ctx_state={"shared": shared, "mine": [run_id] * 40, "seq": seq},
            created_at=time.time(),
        ))
    store.close()
""")


@pytest.mark.slow
def test_four_processes_write_one_sqlite_file(sqlite_url: str, tmp_path: Any) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, sqlite_url, str(n), str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    go.write_text("go")
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    with SQLStore(sqlite_url) as store:
        got = store.list_checkpoints(with_state=True)
        assert len(got) == 800 == len({c.id for c in got})
        assert [(c.run_id, c.seq) for c in got] == [
            (f"proc{n}", seq) for n in range(4) for seq in range(200)]
        for ck in got:
            assert ck.ctx_state == {"shared": SHARED, "mine": [ck.run_id] * 40, "seq": ck.seq}
            assert ck.output_event == {"seq": ck.seq}
        assert store.storage_report()["runs"] == 4
