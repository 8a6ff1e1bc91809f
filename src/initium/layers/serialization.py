"""Layer and model configs in Keras's dict form, and the checks that make a config from a file safe.

Only classes in initium's registry, registered with ``initium.saving.register_keras_serializable``,
or passed in ``custom_objects`` are built, and only if they are ``Layer`` classes: nothing named in
a config is imported or evaluated.

A config read from a file is data from anyone, so reading and building one is bounded, and its
failures are located:

- ``parse_config_json`` refuses JSON nested deeper than ``MAX_JSON_DEPTH`` (the parser's own
  ``RecursionError`` on thousands of levels becomes that ``ValueError`` too);
- layers nest at most ``MAX_NESTING`` deep, checked before descending (not by catching
  ``RecursionError``); shapes, node arguments and endpoints at most ``MAX_STRUCTURE_DEPTH``;
- the keys every entry shares (``class_name``, ``module``, ``registered_name``, ``config``,
  ``build_config``, and the inner ``name``, ``trainable``, ``dtype``) are type-checked;
- ``deserialize_file_config`` turns any failure into a ``ValueError`` naming the file and the
  layer path, e.g. ``Cannot load m.keras (config.json, at Sequential 'outer' > Dense 'dense'):
  ...``. Called from user code, ``deserialize`` keeps the exception types the constructors raise
  (Keras's semantics for ``Dense(units="ten")``).
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from typing import Any

from initium import registry

__all__ = ["serialize", "deserialize", "deserialize_file_config", "parse_config_json", "config_error",
           "structure_depth", "check_shape_structure", "LAYERS", "register_layer", "MAX_NESTING", "MAX_JSON_DEPTH",
           "MAX_STRUCTURE_DEPTH"]

LAYERS: dict[str, type] = {}
_KERAS_MODULES = {None, "keras.layers", "keras", "keras.models", "keras.src.models.functional",
                  "keras.src.models.sequential", "initium.layers", "initium.models"}
MAX_NESTING = 64  # layers within layers (models in models, wrappers, RNN cells); real models use a handful
# Lists and dicts within each other in a config: one level of layer nesting takes 3 (Sequential) to 9
# (Functional) of them, so a model nested MAX_NESTING deep fits, and the parser's own recursion
# stays far from Python's limit.
MAX_JSON_DEPTH = 10 * MAX_NESTING
MAX_STRUCTURE_DEPTH = 16  # a shape structure, a node's arguments, a model's inputs/outputs: nests a few levels

_MAX_MESSAGE = 2000  # characters of an inner error quoted in a loading error
_building = threading.local()  # .path: labels of the entries being built, outermost first
_FAILED_AT = "_initium_config_path"  # set on an exception by the innermost entry it passes through


def register_layer(cls: type, *aliases: str) -> type:
    for key in (cls.__name__, *aliases):
        LAYERS[key] = cls
    return cls


def _serialize_operation(op: Any) -> dict[str, Any]:
    """An op node (``initium.ops.Operation``) as Keras writes one: its class in ``keras.src.ops.<family>``."""
    from initium.ops.operation import FunctionOperation

    cls = type(op)
    if issubclass(cls, FunctionOperation):  # initium's own ops: Keras's module and class name
        return {"module": f"keras.src.ops.{cls._family}", "class_name": cls.__name__, "config": op.get_config(),
                "registered_name": cls.__name__}
    return {"module": None if cls.__module__ == "__main__" else cls.__module__, "class_name": cls.__name__,
            "config": op.get_config(), "registered_name": registry.get_registered_name(cls)}


def check_numeric_array(value: Any, dtype: Any, where: str) -> Any:
    """A numpy array from a config's ``__numpy__``/``__tensor__`` entry: numbers only, a numeric dtype."""
    import numpy as np

    if dtype not in _NUMERIC_DTYPES:
        raise ValueError(f"{where}: an array entry's dtype must be one of {sorted(_NUMERIC_DTYPES)}. Received: "
                         f"{_kind(dtype)}")
    if structure_depth(value) > MAX_STRUCTURE_DEPTH:
        raise ValueError(f"{where}: an array entry nests more than {MAX_STRUCTURE_DEPTH} levels deep.")
    try:
        array = np.array(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as e:
        raise ValueError(f"{where}: an array entry's value is not a rectangular array of {dtype} numbers ({e}).") \
            from None
    return array


_NUMERIC_DTYPES = {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"}


def serialize(layer: Any) -> dict[str, Any]:
    from initium.ops.operation import Operation

    if isinstance(layer, Operation):
        return _serialize_operation(layer)
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


# ------------------------------------------------------------------------------------------- building
def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Build the layer (or model) that ``config`` (``serialize``'s form) describes."""
    _check_entry(config)
    path = _path()
    if len(path) > MAX_NESTING:  # `path` holds the entries around this one
        raise ValueError(f"Layers nest more than {MAX_NESTING} levels deep here; initium refuses to build such a "
                         "config (real models nest a handful of levels).")
    depth = len(path)
    path.append(_label(config))
    try:
        op = _maybe_operation(config, custom_objects)
        if op is not None:
            return op
        cls = _resolve_class(config, custom_objects)
        inner = config.get("config") or {}
        _check_base_keys(inner)
        layer = _from_config(cls, inner, custom_objects)
        build = config.get("build_config")
        if build and not layer.built:
            path.append("build_config")
            if type(layer).build_from_config is _base_build_from_config():
                check_shape_structure(build.get("input_shape"), "build_config['input_shape']")
            layer.build_from_config(build)
        return layer
    except Exception as e:
        if not hasattr(e, _FAILED_AT):
            with contextlib.suppress(AttributeError, TypeError):
                setattr(e, _FAILED_AT, _format_path(path))
        raise
    finally:
        del path[depth:]


def deserialize_file_config(config: Any, custom_objects: dict[str, Any] | None, source: str) -> Any:
    """``deserialize`` for a config read from ``source`` (a file): any failure is a ``ValueError``
    naming the file and the layer path where it happened."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Cannot load {source}: `config.json` is not a model config (expected a dict with "
                         f"'class_name', got {_kind(config)}).")
    try:
        model = deserialize(config, custom_objects=custom_objects)
    except Exception as e:
        raise config_error(source, e) from e
    if not model.built:
        raise ValueError(f"Cannot load {source}: the model could not be built from its config (no input shape).")
    return model


def config_error(source: str, error: Exception, where: str = "") -> ValueError:
    """A ``ValueError`` for ``error``, raised while building from ``source``'s config: it names the
    file, where in the config the error happened, and keeps the original type and message."""
    at = getattr(error, _FAILED_AT, "") or where
    location = f" (config.json, at {at})" if at else " (config.json)"
    kind = "" if type(error) is ValueError else f"{type(error).__name__}: "
    text = str(error)
    if len(text) > _MAX_MESSAGE:  # a value quoted from a hostile file can be megabytes long
        text = f"{text[:_MAX_MESSAGE // 2]} [... {len(text) - _MAX_MESSAGE} characters ...] {text[-_MAX_MESSAGE // 2:]}"
    return ValueError(f"Cannot load {source}{location}: {kind}{text}")


def parse_config_json(text: str | bytes, what: str) -> Any:
    """``json.loads`` for untrusted text: any failure, or nesting deeper than ``MAX_JSON_DEPTH``, is a
    ``ValueError`` that starts with ``what`` (e.g. "`config.json` in /path/m.keras")."""
    import json

    try:
        value = json.loads(text.decode("utf-8") if isinstance(text, (bytes, bytearray)) else text)
    except RecursionError:  # the parser recurses once per level: thousands of '[' exhaust the stack
        raise ValueError(f"{what} nests lists and dicts too deeply to parse (initium accepts {MAX_JSON_DEPTH} "
                         "levels); it is not a config a model would write.") from None
    except (UnicodeDecodeError, ValueError, TypeError) as e:
        raise ValueError(f"{what} is not valid JSON ({e}).") from None
    depth = structure_depth(value)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{what} nests lists and dicts {depth} deep, more than the {MAX_JSON_DEPTH} initium "
                         "accepts; it is not a config a model would write.")
    return value


def structure_depth(obj: Any) -> int:
    """How deeply lists, tuples and dicts nest in ``obj`` (a scalar is 0), found without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list, tuple)):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


# ------------------------------------------------------------------------------------------- helpers
def _path() -> list[str]:
    if not hasattr(_building, "path"):
        _building.path = []
    return _building.path


def _format_path(path: list[str]) -> str:
    shown = path if len(path) <= 6 else [*path[:2], f"... ({len(path) - 5} more)", *path[-3:]]
    return " > ".join(shown)


def _kind(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _label(config: dict[str, Any]) -> str:
    inner = config.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    return f"{config['class_name']} '{name}'" if isinstance(name, str) else str(config["class_name"])


def _check_entry(config: Any) -> None:
    """The keys every serialized layer has must have their types (else a ``ValueError`` naming the key)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"A layer config must be a dict with 'class_name' and 'config'. Received: {_kind(config)}")
    where = f"the layer entry of class {config['class_name']!r}" if isinstance(config["class_name"], str) else \
        "a layer entry"
    expected = {"class_name": (str,), "module": (str, type(None)), "registered_name": (str, type(None)),
                "config": (dict, type(None)), "build_config": (dict, type(None))}
    for key, types in expected.items():
        if key in config and not isinstance(config[key], types):
            names = " or ".join("null" if t is type(None) else {"str": "a string", "dict": "a dict"}[t.__name__]
                                for t in types)
            raise ValueError(f"In {where}, '{key}' must be {names}. Received: {_kind(config[key])}")


def _check_base_keys(inner: dict[str, Any]) -> None:
    """The keys every layer's config shares: ``name``, ``trainable`` and ``dtype``."""
    name, trainable, dtype = inner.get("name"), inner.get("trainable", True), inner.get("dtype")
    if name is not None and not isinstance(name, str):
        raise ValueError(f"'name' must be a string. Received: {_kind(name)}")
    if not isinstance(trainable, bool):
        raise ValueError(f"'trainable' must be true or false. Received: {_kind(trainable)}")
    policy = dtype.get("config", dtype) if isinstance(dtype, dict) else None  # {"name": ...} alone is accepted too
    if isinstance(dtype, dict) and not (isinstance(policy, dict) and isinstance(policy.get("name"), str)):
        raise ValueError("'dtype' must be a dtype name or a DTypePolicy config {'class_name': 'DTypePolicy', "
                         f"'config': {{'name': 'float32'}}}}. Received: {_kind(dtype)}")
    if not isinstance(dtype, (str, dict, type(None))):
        raise ValueError(f"'dtype' must be a dtype name such as 'float32'. Received: {_kind(dtype)}")


def _maybe_operation(config: dict[str, Any], custom_objects: dict[str, Any] | None) -> Any:
    """The op node an entry describes (``module`` ``keras.src.ops.<family>``, or a registered
    ``Operation`` subclass), built from its constructor arguments; ``None`` for a layer entry."""
    from initium.ops.operation import Operation, op_class

    name, module = config["class_name"], config.get("module")
    inner = config.get("config") or {}
    cls = None
    if isinstance(module, str) and module.startswith(("keras.src.ops.", "initium.ops.")):
        family = module.rsplit(".", 1)[1]
        cls = op_class(family, name)
        if cls is None:
            raise ValueError(f"Unknown op '{name}' (module {module!r}): initium.ops has no such operation.")
    else:
        found = registry.get_registered_object(config.get("registered_name") or name, custom_objects)
        if inspect.isclass(found) and issubclass(found, Operation):
            cls = found
    if cls is None:
        return None
    if not isinstance(inner.get("name", ""), str):
        raise ValueError(f"'name' must be a string. Received: {_kind(inner.get('name'))}")
    if structure_depth(inner) > MAX_STRUCTURE_DEPTH:
        raise ValueError(f"The config of op '{name}' nests more than {MAX_STRUCTURE_DEPTH} levels deep.")
    return cls.from_config(dict(inner))


def _resolve_class(config: dict[str, Any], custom_objects: dict[str, Any] | None) -> type:
    """The Layer class an entry names, from the registries only."""
    from initium.layers.layer import Layer

    name, registered, module = config["class_name"], config.get("registered_name"), config.get("module")
    if name == "Lambda":
        raise ValueError(
            "Refusing to build a Lambda layer from a config: it would execute code stored in the file (a "
            "lambda's bytecode, or a function looked up by a name the file chooses). Instead of Lambda(f), "
            "use a Layer subclass whose call() applies a named function, e.g. "
            "`@initium.saving.register_keras_serializable() class F(initium.layers.Layer): def call(self, x): "
            "return f(x)`, and load with custom_objects={'F': F} if it is not registered there."
        )
    cls = None
    if registered and registered != name and not (registered == "Functional" and name == "Functional"):
        cls = registry.get_registered_object(registered, custom_objects)
    if cls is None:
        cls = registry.get_registered_object(name, custom_objects)
    if cls is None and (module in _KERAS_MODULES or module.startswith("keras.src.")):
        cls = LAYERS.get(name)
    if cls is None:
        import difflib

        close = difflib.get_close_matches(name, list(LAYERS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        where = f" (module {module!r})" if module not in (None, "keras.layers") else ""
        raise ValueError(
            f"Unknown layer class '{name}'{where}.{hint} Custom layers must be registered with "
            f"@initium.saving.register_keras_serializable() or passed as custom_objects={{'{name}': cls}}; "
            "no module named in a config is ever imported."
        )
    if not (inspect.isclass(cls) and issubclass(cls, Layer)):
        raise ValueError(f"The config names '{registered or name}' as a layer, but it resolves to {cls!r}, which "
                         "is not a Layer class. Only layers and models can be built from a layer config.")
    return cls


def _from_config(cls: type, inner: dict[str, Any], custom_objects: dict[str, Any] | None) -> Any:
    inner = dict(inner)
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(inner, custom_objects=custom_objects)
    return cls.from_config(inner)


def _base_build_from_config() -> Any:
    from initium.layers.layer import Layer

    return Layer.build_from_config


def check_shape_structure(shape: Any, what: str, nested: bool = True) -> None:
    """``shape`` is null, a shape (a list of non-negative ints and nulls) or, if ``nested``,
    lists/dicts of shapes (a ``ValueError`` naming ``what`` if not)."""
    if structure_depth(shape) > MAX_STRUCTURE_DEPTH:
        raise ValueError(f"'{what}' nests more than {MAX_STRUCTURE_DEPTH} levels deep; it is not a shape.")
    stack = [shape]
    while stack:
        s = stack.pop()
        if s is None:
            continue
        if isinstance(s, (list, tuple)) and all(d is None or (type(d) is int and d >= 0) for d in s):
            continue
        if nested and isinstance(s, (list, tuple)) and s and all(isinstance(d, (list, tuple, dict)) or d is None
                                                                 for d in s):
            stack.extend(s)
        elif nested and isinstance(s, dict) and s:
            stack.extend(s.values())
        else:
            kind = "a shape (a list of non-negative integers and nulls)" + (" or a list/dict of shapes" if nested else "")
            raise ValueError(f"'{what}' must be {kind}. Received: {_kind(shape)}")
