"""Checks that an ``initium.ops`` family has Keras's API, shared by the family test files:
public names, signatures, and graph-node classes (Keras's class name and constructor arguments,
which are what saved configs hold)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any


def parameters(fn: Any) -> list[tuple]:
    """Name, kind and default of each parameter of ``fn``."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def constructor_arguments(cls: type) -> list[str]:
    """The arguments a Keras ``Operation`` subclass stores in its config (all but ``name``)."""
    return [p.name for p in inspect.signature(cls.__init__).parameters.values()
            if p.name not in ("self", "name") and p.kind is not p.VAR_KEYWORD]


def check_graph_node(family: str, fn: Any) -> None:
    """``fn``'s graph-node class has the name of a class in ``keras.src.ops.<family>`` and takes
    the same constructor arguments (its declared ones, then any keyword its constructor adds)."""
    cls = fn.operation_class
    keras_cls = getattr(importlib.import_module(f"keras.src.ops.{family}"), cls.__name__)
    added = [p.name for p in inspect.signature(cls.__init__).parameters.values()
             if p.kind is p.KEYWORD_ONLY and p.name != "name"]
    assert list(cls._init_names) + added == constructor_arguments(keras_cls)
