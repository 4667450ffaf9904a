"""Record factories and raw SQL access shared by the store tests."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from flowpoint.storage import CheckpointRecord, RunRecord

PG_ENV = "FLOWPOINT_TEST_PG"


def pg_base_url() -> str:
    """The PostgreSQL URL to test against; fails in CI and skips locally when it is not set."""
    url = os.environ.get(PG_ENV, "")
    if not url:
        reason = f"{PG_ENV} is not set, so the PostgreSQL store is untested (see scripts/postgres.sh)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return url


def raw_execute(url: str, *statements: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Run SQL behind the store's back (to plant bad rows); returns the last statement's rows."""
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url[len("sqlite:///"):]), exist_ok=True)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = None
            for sql in statements:
                result = conn.execute(text(sql), params or {})
            return list(result) if result is not None and result.returns_rows else []
    finally:
        engine.dispose()


def make_run(run_id: str | None = None, **fields: Any) -> RunRecord:
    fields.setdefault("workflow", "JokeFlow")
    fields.setdefault("status", "running")
    fields.setdefault("started_at", time.time())
    return RunRecord(run_id=run_id or uuid.uuid4().hex, **fields)


def make_ckpt(run_id: str, seq: int, **fields: Any) -> CheckpointRecord:
    fields.setdefault("id", str(uuid.uuid4()))
    fields.setdefault("step", None if seq == 0 else f"step_{seq}")
    fields.setdefault("input_type", "flowpoint.runtime.events.StartEvent")
    fields.setdefault("output_type", "demo.flows.JokeEvent")
    fields.setdefault("input_event", {"type": fields["input_type"], "data": {"topic": "cats"}})
    fields.setdefault("output_event", {"type": fields["output_type"], "data": {"joke": "meow"}})
    fields.setdefault("ctx_state", {"store": {"seq": seq}, "log": []})
    fields.setdefault("created_at", time.time())
    return CheckpointRecord(run_id=run_id, seq=seq, **fields)


def seq_ckpt(run_id: str, seq: int, **fields: Any) -> CheckpointRecord:
    """A bare checkpoint named ``<run_id>-<seq>`` whose state is ``{"store": {"seq": seq}}``."""
    fields.setdefault("id", f"{run_id}-{seq}")
    return CheckpointRecord(run_id=run_id, seq=seq, step=None if seq == 0 else "s",
                            input_type=None, output_type=None, input_event=None,
                            output_event=None, ctx_state={"store": {"seq": seq}},
                            created_at=time.time(), **fields)
