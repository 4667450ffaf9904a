"""flowpoint: step-level checkpoints for event-driven workflows, explored and resumed in Jupyter.

Everything a user needs is importable from here; ``%load_ext flowpoint`` adds the notebook tools.
"""

from . import adapters  # noqa: F401  (registers the drivers of other runtimes)
from .checkpoints import (
    Change,
    Checkpoint,
    CheckpointDiff,
    Run,
    UnknownEvent,
    WorkflowCheckpointer,
    diff,
)
from .errors import (
    AmbiguousCheckpointId,
    CheckpointNotFound,
    ContextSerdeError,
    CorruptCheckpoint,
    FlowpointError,
    InvalidEdit,
    MissingFilter,
    RunNotCompleted,
    SchemaVersionError,
    SerializationError,
    StepNotInWorkflow,
    StoreError,
    UnknownEventType,
    UnsupportedVersion,
    UnsupportedWorkflow,
    WorkflowCancelledByUser,
    WorkflowCancelledError,
    WorkflowConfigurationError,
    WorkflowMismatch,
    WorkflowRuntimeError,
    WorkflowTimeoutError,
    WorkflowValidationError,
)
from .runtime import (
    BaseSerializer,
    ConstantDelayRetryPolicy,
    Context,
    DictState,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    JsonPickleSerializer,
    JsonSerializer,
    PickleSerializer,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowHandler,
    step,
)
from .storage import CheckpointStore, MemoryStore, SQLStore, open_store

__version__ = "0.1.0"

__all__ = [
    "WorkflowConfigurationError",
    "WorkflowCancelledByUser",
    "PickleSerializer",
    "JsonSerializer",
    "JsonPickleSerializer",
    "DictState",
    "ContextSerdeError",
    "BaseSerializer",
    "AmbiguousCheckpointId",
    "CorruptCheckpoint",
    "Change",
    "Checkpoint",
    "CheckpointDiff",
    "CheckpointNotFound",
    "CheckpointStore",
    "ConstantDelayRetryPolicy",
    "Context",
    "Event",
    "FlowpointError",
    "HumanResponseEvent",
    "InputRequiredEvent",
    "InvalidEdit",
    "MemoryStore",
    "MissingFilter",
    "Run",
    "RunNotCompleted",
    "SQLStore",
    "SchemaVersionError",
    "SerializationError",
    "StartEvent",
    "StepNotInWorkflow",
    "StopEvent",
    "StoreError",
    "UnknownEvent",
    "UnknownEventType",
    "UnsupportedVersion",
    "UnsupportedWorkflow",
    "Workflow",
    "WorkflowCancelledError",
    "WorkflowCheckpointer",
    "WorkflowHandler",
    "WorkflowMismatch",
    "WorkflowRuntimeError",
    "WorkflowTimeoutError",
    "WorkflowValidationError",
    "diff",
    "load_ipython_extension",
    "open_store",
    "step",
]


def load_ipython_extension(ipython):  # type: ignore[no-untyped-def]
    """``%load_ext flowpoint``: magics and rich display of checkpoints and runs."""
    from .notebook.extension import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):  # type: ignore[no-untyped-def]
    """``%unload_ext flowpoint``."""
    from .notebook.extension import unload_ipython_extension as unload

    unload(ipython)
