"""Adapters for other runtimes, registered as checkpointer drivers.

Each registration is a cheap predicate on the workflow object (class names in its MRO, so the
optional package is not imported) and a factory that imports its adapter only when used.
"""

from __future__ import annotations

from typing import Any

from ..checkpoints.drivers import class_path_names, register_driver

__all__ = ["class_path_names", "register_driver"]


def _is_llamaindex_workflow(obj: Any) -> bool:
    # any ``Workflow`` of the ``workflows`` package, wherever a release keeps it: the adapter
    # then checks the installed version (and refuses an unsupported one by name)
    return any(c.__name__ == "Workflow" and c.__module__.partition(".")[0] == "workflows"
               for c in type(obj).__mro__)


def _llamaindex_driver(obj: Any) -> Any:
    from .llamaindex import LlamaIndexDriver

    return LlamaIndexDriver(obj)


register_driver(_is_llamaindex_workflow, _llamaindex_driver)


def _is_langgraph_graph(obj: Any) -> bool:
    return any(n.startswith("langgraph.") and n.endswith(".Pregel") for n in class_path_names(obj))


def _langgraph_driver(obj: Any) -> Any:
    from .langgraph import LangGraphDriver

    return LangGraphDriver(obj)


register_driver(_is_langgraph_graph, _langgraph_driver)
