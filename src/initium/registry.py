"""The name registry: custom classes and functions that configs and files may name.

A leaf module (it imports nothing of initium), so that activations, initializers, losses, metrics,
optimizers and layers can all consult it without pulling in the file format. A file may only ever
instantiate what initium ships, what the user registered here, or what is passed as
``custom_objects``: nothing is imported by a name read from a file (docs/DESIGN.md, "Files are data").
"""

from __future__ import annotations

import inspect
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

__all__ = [
    "register_keras_serializable",
    "get_registered_name",
    "get_registered_object",
    "custom_object_scope",
    "CustomObjectScope",
    "get_custom_objects",
]

_REGISTERED: dict[str, Any] = {}  # "package>Name" -> class or function
_NAMES: dict[int, str] = {}  # id(obj) -> "package>Name"
_scope = threading.local()


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable[[Any], Any]:
    """Decorator: make a class or function loadable by the name ``"package>Name"``.

    >>> @register_keras_serializable(package="my")
    ... class Scaled(initium.initializers.Initializer):
    ...     def __init__(self, k=1.0): self.k = k
    ...     def __call__(self, shape, dtype=None): return self.k * initium.random.normal(shape, dtype=dtype)
    ...     def get_config(self): return {"k": self.k}
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"`package` must be a string without '>'. Received: package={package!r}")

    def decorator(obj: Any) -> Any:
        short = name if name is not None else getattr(obj, "__name__", None)
        if not short:
            raise ValueError(f"Cannot register {obj!r}: it has no __name__; pass name=...")
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        full = f"{package}>{short}"
        _REGISTERED[full] = obj
        _NAMES[id(obj)] = full
        return obj

    return decorator


def get_registered_name(obj: Any) -> str:
    """``"package>Name"`` for a registered object, else its ``__name__``."""
    return _NAMES.get(id(obj), getattr(obj, "__name__", type(obj).__name__))


def get_custom_objects() -> dict[str, Any]:
    """The live global registry (``"package>Name"`` -> object)."""
    return _REGISTERED


def _scopes() -> list[dict[str, Any]]:
    if not hasattr(_scope, "stack"):
        _scope.stack = []
    return _scope.stack


def get_registered_object(name: str, custom_objects: dict[str, Any] | None = None) -> Any | None:
    """Look ``name`` up in ``custom_objects``, the active scopes, then the global registry."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    for scope in reversed(_scopes()):
        if name in scope:
            return scope[name]
    return _REGISTERED.get(name)


@contextmanager
def custom_object_scope(custom_objects: dict[str, Any]) -> Iterator[None]:
    """Within the block, ``custom_objects`` resolve by their plain names."""
    if not isinstance(custom_objects, dict):
        raise TypeError(
            f"custom_object_scope expects a dict of name -> object. Received: {type(custom_objects).__name__}"
        )
    _scopes().append(dict(custom_objects))
    try:
        yield
    finally:
        _scopes().pop()


CustomObjectScope = custom_object_scope
