"""Checkpoints: the model, the codec, the checkpointer, diffs."""

from . import context_api  # noqa: F401  (registers ctx.checkpoints with the runtime)
from .checkpointer import WorkflowCheckpointer, latest_checkpointer
from .codec import JsonCodec, PickleCodec, UnknownEvent, get_codec
from .diff import Change, CheckpointDiff, diff
from .model import Checkpoint, Run

__all__ = [
    "Change",
    "Checkpoint",
    "CheckpointDiff",
    "JsonCodec",
    "PickleCodec",
    "Run",
    "UnknownEvent",
    "WorkflowCheckpointer",
    "diff",
    "get_codec",
    "latest_checkpointer",
]
