"""Checkpoint, explore and resume runs of llama-index-workflows 2.x (``import workflows``).

``WorkflowCheckpointer(workflow=MyFlow())`` with ``MyFlow`` a ``workflows.Workflow`` subclass
uses this driver. The version is checked before anything from the package is imported.
"""

from __future__ import annotations

from .version import SUPPORTED, check_version, installed_version

check_version()

from .driver import LlamaIndexDriver  # noqa: E402  (only on a supported version)

__all__ = ["SUPPORTED", "LlamaIndexDriver", "check_version", "installed_version"]
