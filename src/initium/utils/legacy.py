"""``keras.utils.legacy``: the TF-Keras 2 serialization format, ``{"class_name": ..., "config": ...}``.

No ``module`` key: a class is found by name in ``custom_objects``, the active
``custom_object_scope``\\ s, the global registry, or the ``module_objects`` dict the caller passes
(nothing is imported). Nested objects in a config carry ``"__passive_serialization__": True`` and
are rebuilt on load; a string item that names a registered function becomes that function.
"""

from __future__ import annotations

import inspect
from typing import Any

from initium import registry

__all__ = ["serialize_keras_object", "deserialize_keras_object"]

_PASSIVE = "__passive_serialization__"


def serialize_keras_object(instance: Any) -> Any:
    """``{"class_name": <registered name>, "config": {...}}`` for an object with ``get_config``;
    a function or class gives its registered name."""
    instance = inspect.unwrap(instance) if callable(instance) else instance
    if instance is None:
        return None
    if hasattr(instance, "get_config") and not inspect.isclass(instance):
        config = {}
        for key, item in instance.get_config().items():
            if isinstance(item, str):
                config[key] = item
                continue
            try:
                nested = serialize_keras_object(item)
            except ValueError:
                config[key] = item
                continue
            if isinstance(nested, dict) and not isinstance(item, dict):
                nested[_PASSIVE] = True
            config[key] = nested
        return {"class_name": registry.get_registered_name(type(instance)), "config": config}
    if hasattr(instance, "__name__"):
        return registry.get_registered_name(instance)
    raise ValueError(f"Cannot serialize {instance} because it doesn't implement `get_config()`.")


def _lookup(name: str, module_objects: dict[str, Any] | None, custom_objects: dict[str, Any] | None) -> Any:
    found = registry.get_registered_object(name, custom_objects)
    return found if found is not None else (module_objects or {}).get(name)


def _unknown(what: str, name: Any) -> ValueError:
    return ValueError(f"Unknown {what}: '{name}'. Please ensure you are using a `initium.utils.custom_object_scope` "
                      "and that this object is included in the scope, or pass it in `custom_objects` (or register "
                      "it with @initium.saving.register_keras_serializable()).")


def deserialize_keras_object(identifier: Any, module_objects: dict[str, Any] | None = None,
                             custom_objects: dict[str, Any] | None = None,
                             printable_module_name: str = "object") -> Any:
    """The object ``identifier`` (a legacy config dict, a name, or a function) describes."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        if "class_name" not in identifier or "config" not in identifier:
            raise ValueError(f"Improper config format for {identifier}. Expecting python dict contains `class_name` "
                             "and `config` as keys")
        cls = _lookup(identifier["class_name"], module_objects, custom_objects)
        if cls is None:
            raise _unknown(printable_module_name, identifier["class_name"])
        config = identifier["config"]
        if isinstance(config, dict):
            config = _resolve_items(config, module_objects, custom_objects)
        if not hasattr(cls, "from_config"):
            return cls(**config)
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            return cls.from_config(config, custom_objects={**registry.get_custom_objects(), **(custom_objects or {})})
        with registry.custom_object_scope(custom_objects or {}):
            return cls.from_config(config)
    if isinstance(identifier, str):
        obj = _lookup(identifier, module_objects, custom_objects)
        if obj is None:
            raise _unknown(printable_module_name, identifier)
        return obj() if inspect.isclass(obj) else obj
    if inspect.isfunction(identifier):
        return identifier
    raise ValueError(f"Could not interpret serialized {printable_module_name}: {identifier}")


def _resolve_items(config: dict, module_objects: Any, custom_objects: Any) -> dict:
    """Rebuild the passively serialized items of a config, and turn function names into functions."""
    out = dict(config)
    for key, item in config.items():
        if key == "name":
            continue
        if isinstance(item, dict) and _PASSIVE in item:
            out[key] = deserialize_keras_object(item, module_objects, custom_objects, "config_item")
        elif isinstance(item, str):
            found = _lookup(item, module_objects, custom_objects)
            if inspect.isfunction(found):
                out[key] = found
    return out
