"""``serialize_keras_object`` / ``deserialize_keras_object``: any Keras object to and from its config
dict, in Keras 3's format (also ``initium.saving.serialize_keras_object``).

Serializing goes through the family's own ``serialize`` (``initium.layers``, ``initializers``,
``losses``, ``metrics``, ``optimizers`` and their ``schedules``, ``regularizers``, ``constraints``;
``activations`` functions as Keras's ``{"module": "builtins", "class_name": "function", ...}``);
plain Python values, containers, numpy arrays, tensors, bytes, slices and ``KerasTensor``\\ s take
Keras's special forms (``__numpy__``, ``__tensor__``, ``__bytes__``, ...). A tuple stays a tuple.

Deserializing never imports a module named in a config. A class is resolved, in order, from
``custom_objects``, the active ``custom_object_scope``\\ s and the global registry (by its
``registered_name``), then from the family that the config's ``module`` names
(``keras.layers``, ``keras.initializers``, ``keras.src.backend.torch.optimizers.torch_adam``,
...), whose own ``deserialize`` builds it. A registered class outside those families is built with
``cls.from_config(config)``. Anything else is a ``TypeError`` (``Could not locate class ...``),
as in Keras. Functions (``"class_name": "function"``) resolve from the registry, then from the
built-in activations, losses, metrics, initializers, regularizers, constraints and optimizers.

Differences from Keras, deliberate: a Python ``lambda`` is never serialized (``ValueError``; Keras
stores its bytecode) and a ``__lambda__`` config is never loaded, whatever ``safe_mode`` says;
``__numpy__``/``__tensor__`` entries must hold numbers; a ``DTypePolicy`` config deserializes to
its dtype name (initium layers take the name).
"""

from __future__ import annotations

import importlib
import inspect
import types
from typing import Any

import numpy as np

from initium import registry

__all__ = ["serialize_keras_object", "deserialize_keras_object"]

_PLAIN = (str, int, float, bool)
# family -> (module, base class name or None, the Keras modules whose configs it builds)
_FAMILIES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "layers": ("initium.layers", "Layer", ("keras.layers", "keras", "keras.models", "keras.src.layers",
                                           "keras.src.models", "keras.src.ops")),
    "initializers": ("initium.initializers", "Initializer", ("keras.initializers", "keras.src.initializers")),
    "losses": ("initium.losses", "Loss", ("keras.losses", "keras.src.losses")),
    "metrics": ("initium.metrics", "Metric", ("keras.metrics", "keras.src.metrics")),
    "schedules": ("initium.optimizers.schedules", "LearningRateSchedule",
                  ("keras.optimizers.schedules", "keras.src.optimizers.schedules")),
    "optimizers": ("initium.optimizers", "Optimizer", ("keras.optimizers", "keras.src.optimizers",
                                                        "keras.src.backend.torch.optimizers")),
    "regularizers": ("initium.regularizers", "Regularizer", ("keras.regularizers", "keras.src.regularizers")),
    "constraints": ("initium.constraints", "Constraint", ("keras.constraints", "keras.src.constraints")),
    "activations": ("initium.activations", None, ("keras.activations", "keras.src.activations")),
}
# where a bare function name is looked for (Keras's BUILTIN_MODULES)
_FUNCTION_FAMILIES = ("activations", "losses", "metrics", "initializers", "regularizers", "constraints", "optimizers")
_DTYPE_POLICIES = ("DTypePolicy", "FloatDTypePolicy")


def _family(name: str) -> Any:
    return importlib.import_module(_FAMILIES[name][0])


def _serializer(family: str) -> Any:
    if family == "layers":
        from initium.layers.serialization import serialize

        return serialize
    return _family(family).serialize


def _deserializer(family: str) -> Any:
    if family == "layers":
        from initium.layers.serialization import deserialize

        return deserialize
    return _family(family).deserialize


# ------------------------------------------------------------------------------------------ serialize
def serialize_keras_object(obj: Any) -> Any:
    """The config of ``obj`` (a Keras object, function, or plain/nested Python and numpy values),
    which ``deserialize_keras_object`` turns back into an equal object.

    >>> serialize_keras_object(initium.initializers.HeNormal(seed=1))["class_name"]
    'HeNormal'
    """
    if obj is None or isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(x) for x in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return _serialize_dict(obj)
    special = _special_form(obj)
    if special is not None:
        return special
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        raise ValueError("Cannot serialize a Python lambda: a config would have to store its code, which initium "
                         "never loads. Define a named function and register it with "
                         "@initium.saving.register_keras_serializable().")
    family = _family_of_instance(obj)
    if family is not None:
        config = _serializer(family)(obj)
    elif isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        return {"module": "builtins", "class_name": "function", "config": registry.get_registered_name(obj),
                "registered_name": "function"}
    else:
        config = _generic_config(obj)
    if isinstance(config, dict) and isinstance(config.get("config"), dict):
        config["config"] = _serialize_dict(config["config"])
    _add_compile_config(obj, config)
    return config


def _serialize_dict(d: dict) -> dict:
    return {k: serialize_keras_object(v) for k, v in d.items()}


def _special_form(obj: Any) -> Any:
    """Keras's ``__bytes__``/``__slice__``/``__ellipsis__``/``__keras_tensor__``/``__tensor__``/
    ``__numpy__`` forms (a numpy scalar or 0-d array becomes its Python value); ``None`` otherwise."""
    import torch

    from initium.backend import standardize_dtype
    from initium.symbolic import KerasTensor

    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {"start": serialize_keras_object(obj.start),
                                                      "stop": serialize_keras_object(obj.stop),
                                                      "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, KerasTensor):
        history = list(obj._keras_history) if obj._keras_history else None
        if history:
            history[0] = history[0].name
        return {"class_name": "__keras_tensor__", "config": {"shape": obj.shape, "dtype": obj.dtype,
                                                             "keras_history": history}}
    if isinstance(obj, torch.Tensor):
        return {"class_name": "__tensor__", "config": {"value": obj.detach().cpu().numpy().tolist(),
                                                       "dtype": standardize_dtype(obj.dtype)}}
    if type(obj).__module__ == "numpy":
        if isinstance(obj, np.ndarray) and obj.ndim > 0:
            return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": standardize_dtype(obj.dtype)}}
        if isinstance(obj, (np.ndarray, np.generic)):
            return obj.item()
    return None


def _family_of_instance(obj: Any) -> str | None:
    """The family whose ``serialize`` handles ``obj`` (a layer, op, initializer, ...), or ``None``."""
    return _family_of_class(type(obj))


def _generic_config(obj: Any) -> dict:
    """Keras's form for an object of no family: ``get_config()`` if it has one, else its name."""
    cls = type(obj)
    if hasattr(obj, "get_config") and not inspect.isclass(obj):
        inner = obj.get_config()
        if not isinstance(inner, dict):
            raise TypeError(f"The `get_config()` method of {obj} should return a dict. It returned: {inner}")
    elif hasattr(obj, "__name__"):
        inner = registry.get_registered_name(obj)
    else:
        raise TypeError(f"Cannot serialize object {obj} of type {cls}. To be serializable, a class must implement "
                        "the `get_config()` method.")
    module = cls.__module__
    return {"module": None if module == "__main__" else module, "class_name": cls.__name__, "config": inner,
            "registered_name": None if module == "builtins" else registry.get_registered_name(cls)}


def _add_compile_config(obj: Any, config: Any) -> None:
    if isinstance(config, dict) and hasattr(obj, "get_compile_config") and not inspect.isclass(obj):
        compiled = obj.get_compile_config()
        if compiled is not None:
            config["compile_config"] = _serialize_dict(compiled)


# ---------------------------------------------------------------------------------------- deserialize
def deserialize_keras_object(config: Any, custom_objects: dict[str, Any] | None = None, safe_mode: bool = True,
                             **kwargs: Any) -> Any:
    """The object that ``config`` (``serialize_keras_object``'s output) describes.

    Args:
        config: a config dict, a list of them, a plain value, or a registered object's name.
        custom_objects: ``{name: class or function}`` for custom objects (also consulted: the
            active ``custom_object_scope``\\ s and the global registry).
        safe_mode: accepted for Keras's signature; a ``__lambda__`` config is refused either way.
        module_objects: (keyword) a dict ``{name: class or function}`` that a config may name
            directly, as in Keras's legacy calls.
    """
    module_objects = kwargs.pop("module_objects", None)
    if kwargs:
        raise TypeError(f"deserialize_keras_object: unexpected keyword argument(s) {sorted(kwargs)}.")
    if not isinstance(safe_mode, bool):
        raise ValueError(f"`safe_mode` must be True or False. Received: safe_mode={safe_mode!r}")
    scope = dict(module_objects or {}, **(custom_objects or {}))
    return _deserialize(config, scope)


def _deserialize(config: Any, custom_objects: dict[str, Any]) -> Any:
    if config is None:
        return None
    if isinstance(config, str):
        found = registry.get_registered_object(config, custom_objects)
        return config if found is None else found
    if isinstance(config, (list, tuple)):
        return [_deserialize(x, custom_objects) for x in config]
    if isinstance(config, _PLAIN):
        return config
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: {config}")
    if "class_name" not in config or "config" not in config:
        return {k: _deserialize(v, custom_objects) for k, v in config.items()}
    if not isinstance(config["class_name"], str):
        raise TypeError(f"'class_name' must be a string. Received: {config['class_name']!r}")
    special = _from_special_form(config, custom_objects)
    if special is not _NOT_SPECIAL:
        return special
    if config["class_name"] == "function":
        return _function(config, custom_objects)
    return _instance(config, custom_objects)


_NOT_SPECIAL = object()


def _from_special_form(config: dict, custom_objects: dict[str, Any]) -> Any:
    from initium.layers.serialization import check_numeric_array

    name, inner = config["class_name"], config["config"] if config["config"] is not None else {}
    if name == "__numpy__":
        return check_numeric_array(inner.get("value"), inner.get("dtype"), "a `__numpy__` config")
    if name == "__tensor__":
        import torch

        return torch.from_numpy(check_numeric_array(inner.get("value"), inner.get("dtype"), "a `__tensor__` config"))
    if name == "__bytes__":
        return inner["value"].encode("utf-8")
    if name == "__ellipsis__":
        return Ellipsis
    if name == "__slice__":
        return slice(*(_deserialize(inner.get(k), custom_objects) for k in ("start", "stop", "step")))
    if name == "__keras_tensor__":
        from initium.symbolic import KerasTensor

        tensor = KerasTensor(inner["shape"], dtype=inner["dtype"])
        tensor._pre_serialization_keras_history = inner.get("keras_history")
        return tensor
    if name == "__lambda__":
        raise ValueError("Requested the deserialization of a Python lambda. initium never executes code stored in a "
                         "config (with or without safe_mode): define a named function, register it with "
                         "@initium.saving.register_keras_serializable(), and save again.")
    if name in _DTYPE_POLICIES:
        return inner.get("name")
    return _NOT_SPECIAL


def _function(config: dict, custom_objects: dict[str, Any]) -> Any:
    """A function config: registered, then a built-in of the family its module names (``builtins``:
    any family)."""
    name, module = config["config"], config.get("module")
    if not isinstance(name, str):
        raise TypeError(f"Expected 'config' to be a non-null str for a function classname,\ninstead got "
                        f"{type(name)}\nFull config: {config}")
    found = registry.get_registered_object(name, custom_objects)
    if found is None and ">" not in name:  # a plain name may match a registered "package>name"
        pool = {**registry.get_custom_objects(), **custom_objects}
        found = next((obj for key, obj in pool.items() if key.endswith(f">{name}")), None)
    if found is not None:
        return found
    family = _family_of_module(module)
    for candidate in ((family,) if family else _FUNCTION_FAMILIES if module in (None, "builtins") else ()):
        fn = _builtin_function(candidate, name)
        if fn is not None:
            return fn
    raise TypeError(f"Could not locate function '{name}'. Make sure custom functions are decorated with "
                    "`@initium.saving.register_keras_serializable()` (or passed in `custom_objects`); no module "
                    f"named in a config is ever imported. Full object config: {config}")


def _builtin_function(family: str, name: str) -> Any:
    """The built-in function ``name`` of ``family``, or ``None``."""
    if family in ("layers", "schedules"):
        return None
    try:
        fn = _deserializer(family)({"module": "builtins", "class_name": "function", "config": name,
                                    "registered_name": "function"})
    except (ValueError, TypeError, KeyError):
        return None
    return fn if callable(fn) and not inspect.isclass(fn) else None


def _family_of_module(module: Any) -> str | None:
    if not isinstance(module, str):
        return None
    best = None
    for family, (_, _, prefixes) in _FAMILIES.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[1])):
                best = (family, prefix)
    return best[0] if best else None


def _family_of_class(cls: Any) -> str | None:
    """The family whose base class ``cls`` derives from (ops count as layers), or ``None``."""
    if not inspect.isclass(cls):
        return None
    from initium.ops.operation import Operation

    if issubclass(cls, Operation):
        return "layers"
    for family, (_, base, _) in _FAMILIES.items():
        if base is not None and issubclass(cls, getattr(_family(family), base)):
            return family
    return None


def _instance(config: dict, custom_objects: dict[str, Any]) -> Any:
    """A class config: built by its family's ``deserialize``, or a registered class's ``from_config``."""
    class_name = config["class_name"]
    registered = registry.get_registered_object(config.get("registered_name") or class_name, custom_objects)
    if registered is None:
        registered = registry.get_registered_object(class_name, custom_objects)
    family = _family_of_class(registered) if registered is not None else _family_of_module(config.get("module"))
    if family is not None:
        obj = _deserializer(family)(config, custom_objects)
    elif registered is not None and inspect.isclass(registered):
        if not hasattr(registered, "from_config"):
            raise TypeError(f"Unable to reconstruct an instance of '{class_name}' because the class is missing a "
                            f"`from_config()` method. Full object config: {config}")
        obj = registered.from_config(config["config"] if config["config"] is not None else {})
    elif registered is not None:
        return registered
    else:
        raise TypeError(f"Could not locate class '{class_name}'. Make sure custom classes are decorated with "
                        "`@initium.saving.register_keras_serializable()` (or passed in `custom_objects`); no module "
                        f"named in a config is ever imported. Full object config: {config}")
    compiled = config.get("compile_config")
    if compiled and hasattr(obj, "compile_from_config"):
        obj.compile_from_config(compiled)
    return obj
