"""Path-level differences between two checkpoints: what was added, removed or changed."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

from .codec import encode_event
from .model import Checkpoint

_MISSING = object()


@dataclass(frozen=True)
class Change:
    """One difference: ``kind`` is added / removed / changed, at ``path``, with both values."""

    path: str
    kind: str
    before: Any = None
    after: Any = None


def _key_path(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def diff_values(a: Any, b: Any, path: str = "") -> list[Change]:
    """Recursive differences of two plain-data values (dicts by key, lists by index)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[Change] = []
        for k in list(a) + [k for k in b if k not in a]:
            p = _key_path(path, str(k))
            if k not in b:
                out.append(Change(p, "removed", a[k], None))
            elif k not in a:
                out.append(Change(p, "added", None, b[k]))
            else:
                out.extend(diff_values(a[k], b[k], p))
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for i in range(max(len(a), len(b))):
            p = f"{path}[{i}]"
            if i >= len(b):
                out.append(Change(p, "removed", a[i], None))
            elif i >= len(a):
                out.append(Change(p, "added", None, b[i]))
            else:
                out.extend(diff_values(a[i], b[i], p))
        return out
    if type(a) is not type(b) or a != b:
        return [Change(path, "changed", a, b)]
    return []


def _event_data(ev: Any) -> Any:
    return None if ev is None else encode_event(ev)


class CheckpointDiff:
    """The differences of checkpoint ``b`` against ``a``: events and context state."""

    def __init__(self, a: Checkpoint, b: Checkpoint) -> None:
        self.a = a
        self.b = b
        left = {"input_event": _event_data(a.input_event), "output_event": _event_data(a.output_event),
                "metadata": a.metadata, "ctx_state": a.ctx_state}
        right = {"input_event": _event_data(b.input_event), "output_event": _event_data(b.output_event),
                 "metadata": b.metadata, "ctx_state": b.ctx_state}
        self.changes: list[Change] = diff_values(left, right)

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.changes)

    def counts(self) -> dict[str, int]:
        """How many changes of each kind."""
        out = {"added": 0, "removed": 0, "changed": 0}
        for c in self.changes:
            out[c.kind] += 1
        return out

    def paths(self, kind: str | None = None) -> list[str]:
        """The changed paths, optionally of one kind."""
        return [c.path for c in self.changes if kind is None or c.kind == kind]

    def to_dataframe(self) -> Any:
        """The changes as a pandas DataFrame: path, kind, before, after."""
        import pandas as pd

        return pd.DataFrame([{"path": c.path, "kind": c.kind, "before": c.before, "after": c.after}
                             for c in self.changes], columns=["path", "kind", "before", "after"])

    def __repr__(self) -> str:
        c = self.counts()
        return (f"CheckpointDiff({self.a.id_[:8]} → {self.b.id_[:8]}: {c['added']} added, "
                f"{c['removed']} removed, {c['changed']} changed)")

    def _repr_html_(self) -> str:
        return diff_html(self)


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=repr, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


def diff_html(d: CheckpointDiff, max_rows: int = 500) -> str:
    """An escaped HTML table of the changes (at most ``max_rows``)."""
    head = html.escape(repr(d))
    if not d.changes:
        return f"<div class='fp-diff'><b>{head}</b><p>No differences.</p></div>"
    rows = []
    for c in d.changes[:max_rows]:
        rows.append(f"<tr class='fp-{c.kind}'><td><code>{html.escape(c.path)}</code></td>"
                    f"<td>{c.kind}</td><td>{html.escape(_short(c.before)) if c.kind != 'added' else ''}</td>"
                    f"<td>{html.escape(_short(c.after)) if c.kind != 'removed' else ''}</td></tr>")
    more = (f"<p>… {len(d.changes) - max_rows} more</p>" if len(d.changes) > max_rows else "")
    return (f"<div class='fp-diff'><b>{head}</b><table><thead><tr><th>path</th><th>kind</th>"
            f"<th>before</th><th>after</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"{more}</div>")


def diff(a: Checkpoint, b: Checkpoint) -> CheckpointDiff:
    """Path-level differences of checkpoint ``b`` against checkpoint ``a``."""
    return CheckpointDiff(a, b)
