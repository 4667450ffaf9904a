"""The adapter requires LangGraph releases with the serializer advisories fixed."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from flowpoint.adapters.langgraph import versions
from flowpoint.errors import UnsupportedVersion


def test_installed_langgraph_is_supported():
    found = versions.check_versions()
    assert found["langgraph-checkpoint"] == version("langgraph-checkpoint")
    major, minor, patch = versions._parse(found["langgraph-checkpoint"])
    assert (major, minor, patch) >= (4, 1, 1)


@pytest.mark.parametrize("old", ["3.0.1", "4.1.0", "5.0.0"])
def test_a_vulnerable_or_untested_checkpoint_release_is_refused(monkeypatch, old):
    real = versions.version
    monkeypatch.setattr(versions, "version",
                        lambda pkg: old if pkg == "langgraph-checkpoint" else real(pkg))
    with pytest.raises(UnsupportedVersion, match=r"langgraph-checkpoint>=4\.1\.1,<5"):
        versions.check_versions()
