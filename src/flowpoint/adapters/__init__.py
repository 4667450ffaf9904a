"""Adapters for other runtimes, registered as checkpointer drivers.

Each registration is a cheap predicate on the workflow object (class names in its MRO, so the
optional package is not imported) and a factory that imports its adapter only when used.
"""

from __future__ import annotations

from ..checkpoints.drivers import class_path_names, register_driver

__all__ = ["class_path_names", "register_driver"]
