"""Fixtures shared by the explorer tests: a SQLite store URL and explorers closed afterwards."""

from __future__ import annotations

import pytest

from flowpoint.notebook.explorer import CheckpointExplorer


@pytest.fixture
def store(tmp_path):
    return f"sqlite:///{tmp_path}/x.db"


@pytest.fixture
def explorers():
    made: list[CheckpointExplorer] = []

    def make(ckptr, **kw):
        made.append(CheckpointExplorer(ckptr, **kw))
        return made[-1]

    yield make
    for e in made:
        e.close()
