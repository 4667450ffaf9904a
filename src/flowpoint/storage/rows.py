"""Records to flat rows of JSON text and back: the one encoding every backend stores.

Reading never raises on bad data: a JSON column that does not parse becomes
``{"$corrupt": "<column>: <reason>"}``, so one broken row cannot hide the others.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from ..errors import AmbiguousCheckpointId, CheckpointNotFound, StoreError
from .contentstore import CORRUPT, Blobs, GetBlob, compact_text, join_state, split_state
from .records import RECORD_COLUMNS, RUN_STATUSES, CheckpointRecord, RunRecord

RUN_FIELDS = tuple(f.name for f in fields(RunRecord))
RUN_JSON_FIELDS = frozenset(("edited", "error", "result"))
PLAIN_TEXT_COLUMNS = ("id", "run_id", "step", "input_type", "output_type")
JSON_TEXT_COLUMNS = ("input_event", "output_event", "metadata", "state_manifest")
RUN_TEXT_COLUMNS = ("error",)  # JSON text of the run a checkpoint belongs to, searched too
_FIXED_ROW_BYTES = 48
MIN_PREFIX = 4
MAX_TIME = 9.2e9  # epoch seconds pandas and datetime can both hold (years 1678 to 2261)
_SCAN = json.JSONDecoder().scan_once  # json.loads minus its wrappers, for compact text
_INF = math.inf


def dumps(value: Any, column: str) -> str:
    """Compact JSON text of a value (non-ASCII text as is, so that SQL can search it), or
    StoreError naming the column that cannot be stored."""
    try:
        return compact_text(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise StoreError(f"{column} cannot be stored as JSON: {exc}") from None


def _dumps_or_none(value: Any, column: str) -> str | None:
    return None if value is None else dumps(value, column)


def corrupt(column: str, reason: object) -> dict[str, str]:
    """The placeholder that stands in for a value that could not be read."""
    return {CORRUPT: f"{column}: {str(reason)[:120]}"}


def loads(text: Any, column: str) -> Any:
    """Parse a JSON column; NULL is None and unparseable text is a corrupt placeholder."""
    if text is None:
        return None
    if type(text) is str:  # as stored: one compact value, parsed without json.loads' layers
        try:
            value, end = _SCAN(text, 0)
            if end == len(text):
                return value
        except Exception:  # noqa: BLE001 - json.loads below tells what is wrong, or reads it
            pass
    try:
        return json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        return corrupt(column, exc)


_ESCAPE = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})", re.I)


def _unescape(match: re.Match[str]) -> str:
    if match[3] is not None:
        return chr(int(match[3], 16))
    high, low = int(match[1], 16), int(match[2], 16)
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def fold(text: Any) -> Any:
    """Lower-cased text with JSON \\uXXXX escapes read as the characters they stand for: the
    text search of SQLite, whose own lower() only knows ASCII."""
    if not isinstance(text, str):
        return text
    if "\\u" in text:
        text = _ESCAPE.sub(_unescape, text)
    return text.lower()


def bare_name(type_key: str | None) -> str | None:
    """The class name of an event registry key: the text after the last '.'."""
    return None if type_key is None else type_key.rsplit(".", 1)[-1]


def split_type_filter(values: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(full keys, bare names): a dotted value can only equal a key, a dotless one only a name."""
    full = [v for v in values if "." in v]
    return full, [v for v in values if "." not in v]


#: The columns of a table facet group (``table_facets``), before its count.
FACET_COLUMNS = ("step", "input_type", "input_name", "output_type", "output_name", "status")


def facets_of(groups: list[tuple[Any, ...]]) -> dict[str, Any]:
    """``table_facets`` from per-group counts (FACET_COLUMNS then the count): the total, the
    sorted distinct values (None first) of step, input_type, output_type and status, and the
    groups themselves."""
    out: dict[str, Any] = {"total": sum(g[-1] for g in groups), "groups": groups}
    for name in ("step", "input_type", "output_type", "status"):
        i = FACET_COLUMNS.index(name)
        out[name] = sorted({g[i] for g in groups}, key=lambda v: (v is not None, str(v)))
    return out


def text_needles(text: str) -> tuple[str, tuple[str, ...]]:
    """Lower-cased needles: one for plain columns, and those for JSON columns (where text is
    JSON-escaped, with non-ASCII characters as they are or, in older rows, as \\u escapes)."""
    in_json = json.dumps(text, ensure_ascii=False)[1:-1].lower()
    ascii_json = json.dumps(text)[1:-1].lower()
    return text.lower(), (in_json,) if ascii_json == in_json else (in_json, ascii_json)


def checkpoint_row(ckpt: CheckpointRecord) -> tuple[dict[str, Any], Blobs]:
    """The row for a checkpoint and the content-addressed blobs of its ctx_state."""
    split = ckpt.encoded_state
    if split is not None:
        manifest_text = split.text
        if manifest_text is None:
            manifest_text = dumps(split.manifest, "state_manifest")
        blobs = split.blobs
    elif ckpt.ctx_state is None:
        manifest_text, blobs = None, {}
    else:
        try:
            manifest, blobs = split_state(ckpt.ctx_state)
        except (TypeError, ValueError, RecursionError) as exc:
            raise StoreError(f"ctx_state of checkpoint {ckpt.id} cannot be stored: {exc}") from None
        manifest_text = dumps(manifest, "state_manifest")
    texts = ckpt.event_texts
    if texts is None:
        texts = (dumps(ckpt.input_event, "input_event"), dumps(ckpt.output_event, "output_event"))
    input_text, output_text = texts
    metadata = dumps(ckpt.metadata, "metadata") if ckpt.metadata else "{}"
    input_type, output_type, step = ckpt.input_type, ckpt.output_type, ckpt.step
    input_name = None if input_type is None else input_type.rsplit(".", 1)[-1]
    output_name = None if output_type is None else output_type.rsplit(".", 1)[-1]
    size = _FIXED_ROW_BYTES + len(ckpt.id) + len(ckpt.run_id) + len(metadata) + sum(map(len, (
        filter(None, (step, input_type, output_type, input_name, output_name, input_text,
                      output_text, manifest_text, ckpt.parent_id, ckpt.serializer)))))
    return {
        "id": ckpt.id,
        "run_id": ckpt.run_id,
        "seq": ckpt.seq,
        "step": step,
        "input_type": input_type,
        "output_type": output_type,
        "input_name": input_name,
        "output_name": output_name,
        "input_event": input_text,
        "output_event": output_text,
        "state_manifest": manifest_text,
        "created_at": ckpt.created_at,
        "step_duration_s": ckpt.step_duration_s,
        "metadata": metadata,
        "parent_id": ckpt.parent_id,
        "serializer": ckpt.serializer,
        "size_bytes": size,
    }, blobs


def decode_state(manifest_text: Any, get_blob: GetBlob) -> Any:
    """ctx_state from its stored manifest; corrupt parts become placeholders."""
    manifest = loads(manifest_text, "state_manifest")
    return join_state(manifest, get_blob)


def _number(value: Any, column: str, problems: list[str], required: bool = False,
            limit: float = math.inf) -> Any:
    """A numeric column as a finite number within ±limit; SQLite keeps whatever was written,
    so check. Anything else is a problem, read as 0.0 (required) or None."""
    number: Any = value
    if value is None and not required:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
    if number is not None and math.isfinite(number) and abs(number) < limit:
        return number
    what = "a time datetimes can hold" if limit < math.inf else "a number"
    problems.append(f"{column}: {str(value)[:40]!r} is not {what}")
    return 0.0 if required else None


def _object(value: Any, column: str) -> Any:
    """A JSON column that must hold an object (or null); anything else is reported corrupt."""
    if value is None or isinstance(value, dict):
        return value
    return corrupt(column, f"expected an object, got {type(value).__name__}")


def _with_problems(value: Any, problems: list[str]) -> Any:
    """Attach the row's problems to a dict field as its "$corrupt" entry."""
    if not problems:
        return value
    base = value if isinstance(value, dict) else {}
    return {**base, CORRUPT: "; ".join([*filter(None, [base.get(CORRUPT)]), *problems])}


def checked_fields(seq: Any, created_at: Any, step_duration_s: Any, metadata_text: Any
                   ) -> tuple[int, float, float | None, dict[str, Any]]:
    """(seq, created_at, step_duration_s, metadata) of a stored row, never raising: a bad
    number is reported in the metadata's "$corrupt" entry (read as -1, 0.0 or None)."""
    if (type(seq) is int and type(created_at) is float and -MAX_TIME < created_at < MAX_TIME
            and (step_duration_s is None or type(step_duration_s) is float
                 and -_INF < step_duration_s < _INF)):
        if metadata_text == "{}":
            return seq, created_at, step_duration_s, {}
        return seq, created_at, step_duration_s, (
            _object(loads(metadata_text, "metadata"), "metadata") or {})
    problems: list[str] = []
    if not isinstance(seq, int) or isinstance(seq, bool):
        problems.append(f"seq: {str(seq)[:40]!r} is not an integer")
        seq = -1
    created_at = _number(created_at, "created_at", problems, True, MAX_TIME)
    step_duration_s = _number(step_duration_s, "step_duration_s", problems)
    metadata = _object(loads(metadata_text, "metadata"), "metadata")
    return seq, created_at, step_duration_s, _with_problems(metadata or {}, problems)


def checkpoint_record(row: Mapping[str, Any], ctx_state: Any = None) -> CheckpointRecord:
    """A CheckpointRecord from a stored row, never raising: bad JSON or numbers are reported
    as "$corrupt" values (numbers in the metadata, read as 0.0 or None)."""
    return record_from_values(tuple(row[c] for c in RECORD_COLUMNS), ctx_state)


def record_from_values(row: Sequence[Any], ctx_state: Any = None) -> CheckpointRecord:
    """checkpoint_record of a row given as its values in RECORD_COLUMNS order."""
    (id_, run_id, seq, step, input_type, output_type, input_event, output_event, created_at,
     step_duration_s, metadata, parent_id, serializer) = row[:13]
    seq, created_at, step_duration_s, metadata = checked_fields(
        seq, created_at, step_duration_s, metadata)
    return CheckpointRecord(
        id_, run_id, seq, step, input_type, output_type, loads(input_event, "input_event"),
        loads(output_event, "output_event"), ctx_state, created_at, step_duration_s, metadata,
        parent_id, serializer)


def _check_status(status: Any) -> None:
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}; expected one of {', '.join(RUN_STATUSES)}")


def run_row(run: RunRecord) -> dict[str, Any]:
    """The row for a run, with its JSON fields as text."""
    _check_status(run.status)
    return {
        name: _dumps_or_none(getattr(run, name), name) if name in RUN_JSON_FIELDS
        else getattr(run, name)
        for name in RUN_FIELDS
    }


def run_updates(fields_: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for update_run; ValueError names a field RunRecord does not have."""
    out: dict[str, Any] = {}
    for name, value in fields_.items():
        if name not in RUN_FIELDS or name == "run_id":
            allowed = ", ".join(f for f in RUN_FIELDS if f != "run_id")
            raise ValueError(f"cannot update run field {name!r}; updatable fields: {allowed}")
        if name == "status":
            _check_status(value)
        out[name] = _dumps_or_none(value, name) if name in RUN_JSON_FIELDS else value
    return out


def run_record(row: Mapping[str, Any]) -> RunRecord:
    """A RunRecord from a stored row, never raising: bad JSON is a "$corrupt" value, and bad
    times (read as 0.0 or None) are reported in the error's "$corrupt" entry."""
    return run_from_values(tuple(row[name] for name in RUN_FIELDS))


def _time_or_none(value: Any) -> bool:
    return value is None or type(value) is float and -MAX_TIME < value < MAX_TIME


def run_from_values(row: Sequence[Any]) -> RunRecord:
    """run_record of a row given as its values in RUN_FIELDS order."""
    (run_id, workflow, status, started_at, ended_at, origin, edited, error, result, owner,
     heartbeat_at) = row
    edited = _object(loads(edited, "edited"), "edited")
    error = _object(loads(error, "error"), "error")
    result = loads(result, "result")
    if not (type(started_at) is float and -MAX_TIME < started_at < MAX_TIME
            and _time_or_none(ended_at) and _time_or_none(heartbeat_at)):
        problems: list[str] = []
        started_at = _number(started_at, "started_at", problems, True, MAX_TIME)
        ended_at = _number(ended_at, "ended_at", problems, False, MAX_TIME)
        heartbeat_at = _number(heartbeat_at, "heartbeat_at", problems, False, MAX_TIME)
        if problems:
            error = _with_problems(error, problems)
    return RunRecord(run_id, workflow, status, started_at, ended_at, origin, edited, error,
                     result, owner, heartbeat_at)


def unique_prefix(prefix: str, ids: Iterable[str]) -> str:
    """The one id among ids starting with prefix, or the error a user can act on."""
    if len(prefix) < MIN_PREFIX:
        raise CheckpointNotFound(
            f"no checkpoint with id '{prefix}'; an id prefix needs at least {MIN_PREFIX} characters"
        )
    matches = sorted({cid for cid in ids if cid.startswith(prefix)})
    if not matches:
        raise CheckpointNotFound(f"no checkpoint with id or prefix '{prefix}'")
    if len(matches) > 1:
        raise AmbiguousCheckpointId(
            f"checkpoint id prefix '{prefix}' matches {len(matches)} checkpoints; "
            "give more characters"
        )
    return matches[0]
