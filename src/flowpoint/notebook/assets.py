"""Locate the front-end files (ES modules, CSS) that back flowpoint's notebook widgets.

Two layouts are supported:

* an installed wheel, where the repository's top-level ``widgets/`` directory is shipped
  as ``flowpoint/_widgets`` (see ``force-include`` in ``pyproject.toml``);
* a source checkout or an editable install, where the files live in ``<repo>/widgets``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["asset_path", "asset_dirs"]

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # .../flowpoint


def asset_dirs() -> list[Path]:
    """The directories searched by :func:`asset_path`, in order."""
    dirs = [_PACKAGE_DIR / "_widgets"]
    parents = Path(__file__).resolve().parents
    if len(parents) > 3:
        dirs.append(parents[3] / "widgets")
    return dirs


def asset_path(name: str) -> Path:
    """Return the path of the front-end file ``name`` (e.g. ``"timeline.js"``).

    The installed package (``flowpoint/_widgets/<name>``) wins over the source checkout
    (``<repo>/widgets/<name>``). Raises :class:`FileNotFoundError` naming every place tried.
    """
    rel = Path(name)
    if not name or rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"asset name must be a plain relative file name, got {name!r}")
    tried = []
    for base in asset_dirs():
        candidate = base / rel
        if candidate.is_file():
            return candidate
        tried.append(str(candidate))
    raise FileNotFoundError(
        f"flowpoint front-end asset {name!r} not found; tried: " + ", ".join(tried)
    )
