"""open_store turns a spec into a store, and refuses anything else with the accepted forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from storage_helpers import make_run

from flowpoint.errors import StoreError
from flowpoint.storage import MemoryStore, SQLStore, open_store


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWPOINT_STORE", raising=False)
    return tmp_path


def test_default_is_a_sqlite_file_under_the_working_directory(in_tmp: Path) -> None:
    with open_store() as store:
        assert isinstance(store, SQLStore)
        assert store.url == f"sqlite:///{in_tmp}/.flowpoint/checkpoints.db"
    assert (in_tmp / ".flowpoint" / "checkpoints.db").exists()


def test_environment_variable_overrides_the_default(in_tmp: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("FLOWPOINT_STORE", "memory")
    assert isinstance(open_store(None), MemoryStore)
    monkeypatch.setenv("FLOWPOINT_STORE", "sqlite:///from_env/x.db")
    with open_store(None) as store:
        assert store.url == f"sqlite:///{in_tmp}/from_env/x.db"


def test_memory_and_urls_and_paths(in_tmp: Path) -> None:
    assert isinstance(open_store("memory"), MemoryStore)
    with open_store("sqlite:///rel/a.db") as a:
        assert a.url == f"sqlite:///{in_tmp}/rel/a.db"
    with open_store(f"sqlite:///{in_tmp}/abs/b.db") as b:
        assert b.url == f"sqlite:///{in_tmp}/abs/b.db"
    for path in ("plain.db", "other.sqlite", in_tmp / "pathlib.sqlite3"):
        with open_store(path) as c:
            assert c.url == f"sqlite:///{in_tmp}/{Path(path).name}"


def test_relative_path_is_fixed_when_opened(in_tmp: Path, monkeypatch: Any) -> None:
    with open_store("here.db") as store:
        monkeypatch.chdir(in_tmp.parent)
        store.put_run(make_run("r"))
    assert (in_tmp / "here.db").exists()


def test_a_store_object_is_returned_as_is() -> None:
    store = MemoryStore()
    assert open_store(store) is store


@pytest.mark.parametrize("spec", ["checkpoints", "mysql://u:secret@h/db", "sqlite://",
                                  "sqlite:///:memory:", "postgresql+asyncpg://u:secret@h/db"])
def test_unusable_specs_name_the_value_and_the_accepted_forms(spec: str) -> None:
    with pytest.raises(StoreError) as err:
        open_store(spec)
    message = str(err.value)
    assert "sqlite:///" in message and "postgresql+psycopg://" in message
    assert "secret" not in message


def test_non_string_spec_is_refused() -> None:
    with pytest.raises(StoreError, match="int"):
        open_store(42)  # type: ignore[arg-type]


def test_postgres_password_never_shows(pg_url: str) -> None:
    with open_store(pg_url) as store:
        assert "***" in store.url and "***" in repr(store)
        assert ":flowpoint@" not in store.url + repr(store)
