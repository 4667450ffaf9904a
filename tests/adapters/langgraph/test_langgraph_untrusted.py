"""Stored LangGraph data is untrusted: nothing in it is unpickled, imported or called."""

from __future__ import annotations

import pickle

import ormsgpack
from lg_graphs import joke_builder, thread

from flowpoint import WorkflowCheckpointer
from flowpoint.adapters.langgraph import PlainSerializer


class _Trap:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _evil_ext(path: str) -> ormsgpack.Ext:
    """A msgpack value LangGraph's permissive loader would rebuild as open(path, "w")."""
    return ormsgpack.Ext(2, ormsgpack.packb(("builtins", "open", {"file": path, "mode": "w"})))


def _keep_ext(code: int, data: bytes) -> ormsgpack.Ext:
    return ormsgpack.Ext(code, data)


def test_reading_serializer_never_unpickles_or_calls_what_data_names(tmp_path):
    marker = tmp_path / "pwned"
    serde = PlainSerializer()
    assert "$corrupt" in serde.loads_typed(("pickle", pickle.dumps(_Trap(str(marker)))))
    value = serde.loads_typed(("msgpack", ormsgpack.packb({"x": _evil_ext(str(marker))})))
    assert value == {"x": {"file": str(marker), "mode": "w"}}
    named = ormsgpack.Ext(0, ormsgpack.packb(("os", "system", "touch " + str(marker))))
    assert serde.loads_typed(("msgpack", ormsgpack.packb(named))) == {
        "$type": "os.system", "value": "touch " + str(marker)}
    assert "$corrupt" in serde.loads_typed(("exotic", b"x"))
    assert not marker.exists()


def test_a_tampered_saver_is_listed_and_shown_without_running_anything(sqlite_saver, tmp_path):
    marker = tmp_path / "pwned"
    graph = joke_builder().compile(checkpointer=sqlite_saver)
    graph.invoke({"topic": "x"}, {"configurable": {"thread_id": "t1"}})
    conn = sqlite_saver.conn
    rows = conn.execute("SELECT checkpoint_id, checkpoint FROM checkpoints ORDER BY checkpoint_id"
                        ).fetchall()
    joke_id, blob = rows[3]
    data = ormsgpack.unpackb(blob, ext_hook=_keep_ext, option=ormsgpack.OPT_NON_STR_KEYS)
    data["channel_values"]["topic"] = _evil_ext(str(marker))
    conn.execute("UPDATE checkpoints SET checkpoint = ? WHERE checkpoint_id = ?",
                 (ormsgpack.packb(data), joke_id))
    conn.execute("UPDATE checkpoints SET type = 'pickle', checkpoint = ? WHERE checkpoint_id = ?",
                 (pickle.dumps(_Trap(str(marker))), rows[4][0]))
    conn.commit()
    ckptr = WorkflowCheckpointer(workflow=graph)
    ckpts = thread(ckptr, "t1")
    assert len(ckpts) == 5
    assert ckpts[3].ctx_state["store"]["topic"] == {"file": str(marker), "mode": "w"}
    assert "pickled value" in str(ckptr.get(rows[4][0]).ctx_state)
    assert len(ckptr.to_dataframe()) == 5
    assert not marker.exists()
