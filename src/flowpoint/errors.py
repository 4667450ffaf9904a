"""The exceptions flowpoint raises: one base class, one subclass per thing a user can act on."""

from __future__ import annotations


class FlowpointError(Exception):
    """Base of every error flowpoint raises on purpose."""


class WorkflowValidationError(FlowpointError):
    """The workflow's steps do not form a runnable graph (named step, named event type)."""


class WorkflowConfigurationError(WorkflowValidationError):
    """A workflow class is defined or constructed wrongly (e.g. no step takes a StartEvent)."""


class WorkflowRuntimeError(FlowpointError):
    """The run loop hit a state it cannot continue from (e.g. an event nobody accepts)."""


class WorkflowTimeoutError(FlowpointError, TimeoutError):
    """A run exceeded its `timeout`."""


class WorkflowCancelledError(FlowpointError):
    """A run was cancelled through its handler."""


class WorkflowCancelledByUser(WorkflowCancelledError):
    """A run was cancelled on purpose (``handler.cancel_run()``); LlamaIndex's name for it."""


class ContextSerdeError(FlowpointError, ValueError):
    """A context dict (``Context.from_dict``) is of the wrong shape, or cannot be encoded."""


class CheckpointNotFound(FlowpointError, KeyError):
    """No checkpoint (or run) has the id or id prefix given."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class AmbiguousCheckpointId(FlowpointError, KeyError):
    """An id prefix matches more than one checkpoint."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownEventType(FlowpointError):
    """Stored data names an event type that no loaded `Event` subclass registers."""


class InvalidEdit(FlowpointError, ValueError):
    """An edited output event has the wrong type or fields that fail validation."""


class SerializationError(FlowpointError, TypeError):
    """A value in the context cannot be stored by the chosen serializer."""


class StepNotInWorkflow(FlowpointError):
    """A checkpoint's step does not exist in the checkpointer's current workflow."""


class CorruptCheckpoint(FlowpointError):
    """A stored checkpoint cannot be read back whole (damaged or of the wrong shape)."""


class StoreError(FlowpointError):
    """The store cannot be opened or read (bad URL, newer schema, corrupt row)."""


class SchemaVersionError(StoreError):
    """The store was written by a schema version this flowpoint cannot read."""


class UnsupportedWorkflow(FlowpointError, TypeError):
    """The object given as a workflow is not one any driver can run."""


class UnsupportedVersion(FlowpointError):
    """An installed runtime package is outside the version range an adapter supports."""


class RunNotCompleted(FlowpointError):
    """A run's result was asked for, but the run did not complete (failed, running, ...)."""


class MissingFilter(FlowpointError, ValueError):
    """``filter_checkpoints()`` was called with no filter at all (list ``checkpoints`` instead)."""


class WorkflowMismatch(StepNotInWorkflow):
    """A checkpoint of one workflow was given to a checkpointer (or workflow) of another."""
