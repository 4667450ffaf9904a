"""Finding runs and checkpoints by id prefix, and noticing runs whose process died."""

from __future__ import annotations

from collections.abc import Iterable

from ..checkpoints.liveness import run_is_stale
from ..checkpoints.lookup import normal_id
from ..errors import AmbiguousCheckpointId, CheckpointNotFound, StoreError
from ..storage import CheckpointStore, RunRecord
from ..storage.records import LIVE_STATUSES, CheckpointRecord
from .session import CliError


def mark_stale_runs(store: CheckpointStore) -> None:
    """Mark runs whose process is gone as "interrupted", as every flowpoint reader does.

    A store the user may only read is left as it is.
    """
    if getattr(store, "read_only", False):
        return
    for rec in store.list_runs(statuses=LIVE_STATUSES):
        if not run_is_stale(rec.owner, rec.heartbeat_at):
            continue
        try:
            interrupt = getattr(store, "interrupt_run", None)
            if interrupt is not None:  # compare-and-set: a run that moved on is left alone
                interrupt(rec.run_id, rec.heartbeat_at)
            else:
                store.update_run(rec.run_id, status="interrupted")
        except StoreError:
            return


def find_run(store: CheckpointStore, prefix: str) -> RunRecord:
    """The run with this id or unique id prefix (any case)."""
    prefix = normal_id(prefix)
    rec = store.get_run(prefix)
    if rec is not None:
        return rec
    matches = [r for r in store.list_runs() if r.run_id.startswith(prefix)] if prefix else []
    if not matches:
        raise CheckpointNotFound(f"no run with id or id prefix {prefix!r}; "
                                 f"'flowpoint runs' lists them")
    if len(matches) > 1:
        raise AmbiguousCheckpointId(f"run id prefix {prefix!r} matches {len(matches)} runs "
                                    f"({', '.join(r.run_id[:12] for r in matches[:5])}); "
                                    f"give more characters")
    return matches[0]


def find_runs(store: CheckpointStore, prefixes: Iterable[str]) -> list[str]:
    """Full run ids for several prefixes, in the order given."""
    return [find_run(store, p).run_id for p in prefixes]


def find_checkpoint_or_run(store: CheckpointStore,
                           prefix: str) -> CheckpointRecord | RunRecord:
    """What an id prefix names: a checkpoint (with its state) or a run."""
    prefix = normal_id(prefix)
    ckpt: CheckpointRecord | None = None
    ckpt_error: Exception | None = None
    try:
        ckpt = store.get_checkpoint(prefix)
    except (CheckpointNotFound, AmbiguousCheckpointId) as exc:
        ckpt_error = exc
    try:
        run: RunRecord | None = find_run(store, prefix)
    except CheckpointNotFound:
        run = None
    except AmbiguousCheckpointId:
        if ckpt is not None:
            raise CliError(f"{prefix!r} is the prefix of a checkpoint and of several runs; "
                           f"give more characters") from None
        raise
    if ckpt is not None and run is not None and ckpt.id != prefix and run.run_id != prefix:
        raise CliError(f"{prefix!r} is the prefix of checkpoint {ckpt.id[:12]} and of run "
                       f"{run.run_id[:12]}; give more characters")
    if ckpt is not None:
        return ckpt
    if run is not None:
        return run
    if isinstance(ckpt_error, AmbiguousCheckpointId):
        raise ckpt_error
    raise CheckpointNotFound(f"no checkpoint or run with id or id prefix {prefix!r}; "
                             f"'flowpoint checkpoints' and 'flowpoint runs' list them")
