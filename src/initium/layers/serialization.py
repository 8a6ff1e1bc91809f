"""Layer and model configs in Keras's dict form. Only classes in initium's registry, registered
with ``initium.saving.register_keras_serializable``, or passed in ``custom_objects`` are built:
nothing named in a config is imported or evaluated."""

from __future__ import annotations

import inspect
from typing import Any

from initium import registry

__all__ = ["serialize", "deserialize", "LAYERS", "register_layer"]

LAYERS: dict[str, type] = {}
_KERAS_MODULES = {None, "keras.layers", "keras", "keras.models", "keras.src.models.functional",
                  "keras.src.models.sequential", "initium.layers", "initium.models"}


def register_layer(cls: type, *aliases: str) -> type:
    for key in (cls.__name__, *aliases):
        LAYERS[key] = cls
    return cls


def serialize(layer: Any) -> dict[str, Any]:
    cls = type(layer)
    builtin = LAYERS.get(cls.__name__) is cls
    module = ("keras" if cls.__name__ in ("Sequential", "Functional", "Model") else "keras.layers") if builtin else None
    registered = None if builtin else registry.get_registered_name(cls)
    if not builtin:
        module = None if cls.__module__ == "__main__" else cls.__module__
    if builtin and cls.__name__ == "Functional":  # Keras's own spelling for functional models
        module, registered = "keras.src.models.functional", "Functional"
    out = {"module": module, "class_name": cls.__name__, "config": layer.get_config(),
           "registered_name": registered}
    build = layer.get_build_config() if hasattr(layer, "get_build_config") else None
    if cls.__name__ == "Functional":
        out["build_config"] = {"input_shape": None}
    elif build is not None and cls.__name__ != "InputLayer":
        out["build_config"] = build
    return out


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"A layer config must be a dict with 'class_name' and 'config'. Received: {config!r}")
    name, registered = config["class_name"], config.get("registered_name")
    module = config.get("module")
    if name == "Lambda":
        raise ValueError(
            "Refusing to build a Lambda layer from a config: it would execute code stored in the file. "
            "Write a Layer subclass, register it with @initium.saving.register_keras_serializable(), "
            "and pass it in custom_objects if needed."
        )
    cls = None
    if registered and registered != name and not (registered == "Functional" and name == "Functional"):
        cls = registry.get_registered_object(registered, custom_objects)
    if cls is None:
        cls = registry.get_registered_object(name, custom_objects)
    if cls is None and (module in _KERAS_MODULES or str(module).startswith("keras.src.")):
        cls = LAYERS.get(name)
    if cls is None:
        import difflib

        close = difflib.get_close_matches(str(name), list(LAYERS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        where = f" (module {module!r})" if module not in (None, "keras.layers") else ""
        raise ValueError(
            f"Unknown layer class '{name}'{where}.{hint} Custom layers must be registered with "
            f"@initium.saving.register_keras_serializable() or passed as custom_objects={{'{name}': cls}}; "
            "no module named in a config is ever imported."
        )
    inner = dict(config.get("config") or {})
    if hasattr(cls, "from_config") and "custom_objects" in inspect.signature(cls.from_config).parameters:
        layer = cls.from_config(inner, custom_objects=custom_objects)
    else:
        layer = cls.from_config(inner)
    build = config.get("build_config")
    if build and not layer.built and hasattr(layer, "build_from_config"):
        layer.build_from_config(build)
    return layer
