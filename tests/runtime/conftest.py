"""Runs given a context record checkpoints in the default store: keep it per test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_default_store(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FLOWPOINT_STORE", f"sqlite:///{tmp_path / 'default.db'}")
