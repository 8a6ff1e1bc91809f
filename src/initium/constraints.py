"""Weight constraints: projections applied to a weight after each optimizer step (``keras.constraints``).

A constraint is called as ``c(w)`` and returns a tensor of ``w``'s shape and dtype. Norms are
taken over ``axis`` (an int or a list of ints): for a Dense kernel ``(in, units)`` the default
``axis=0`` constrains each unit's incoming weight vector; for a Conv2D kernel
``(kh, kw, in, filters)`` use ``axis=[0, 1, 2]`` to constrain each filter.

The math is Keras 3.15.1's, including where its ``epsilon = 1e-7`` goes: the scale factor is
``desired / (epsilon + norm)``, so a zero vector stays zero and a unit-norm result has norm
``norm / (norm + 1e-7)``, not exactly 1.

String ids are Keras's: the class names and ``'max_norm'``, ``'min_max_norm'``, ``'non_neg'``,
``'unit_norm'`` (and ``'constraint'``, the identity). Deliberate deviations: arguments are
validated (Keras accepts e.g. ``MaxNorm(-1)``, which flips the weights' signs), and an ``axis`` out
of range raises a ``ValueError`` that names the weight's shape.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import re
from typing import Any, Callable, Sequence

import torch

from initium import backend, registry

__all__ = [
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "unit_norm",
    "get",
    "serialize",
    "deserialize",
    "ALL_OBJECTS",
]

_KERAS_MODULE = "keras.constraints"
# Modules a config may name for a built-in constraint; anything else needs registration.
_BUILTIN_MODULES = {None, "keras.constraints", "initium.constraints", "tensorflow.keras.constraints"}
_EPSILON = 1e-7  # keras.config.epsilon()

AxisLike = int | Sequence[int]


def _weight(w: Any) -> torch.Tensor:
    return w if isinstance(w, torch.Tensor) else backend.to_tensor(w)


def _number(value: Any, name: str, owner: str, low: float = 0.0, high: float | None = None) -> Any:
    """Check a finite real in ``[low, high]``; return it unchanged (the config keeps its type)."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
          and value >= low and (high is None or value <= high))
    if not ok:
        bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(
            f"Invalid value for argument `{name}` of {owner}: expected a finite number {bounds}. "
            f"Received: {name}={value!r}"
        )
    return value


def _check_axis(axis: Any, owner: str) -> Any:
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not items or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in items):
        raise ValueError(
            f"Invalid value for argument `axis` of {owner}: expected an int or a non-empty list of "
            f"ints. Received: axis={axis!r}"
        )
    return axis


def _dims(w: torch.Tensor, axis: Any, owner: str) -> tuple[int, ...]:
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    rank = w.ndim
    dims = []
    for a in items:
        a = int(a)
        if not -rank <= a < rank:
            raise ValueError(
                f"{owner}(axis={axis!r}) does not fit a weight of shape {tuple(w.shape)} (rank {rank}). "
                "For a Dense kernel (in, units) use axis=0; for a Conv2D kernel (kh, kw, in, filters) "
                "use axis=[0, 1, 2]."
            )
        dims.append(a % rank)
    if len(set(dims)) != len(dims):
        raise ValueError(f"{owner}(axis={axis!r}) names the same axis twice (weight shape {tuple(w.shape)}).")
    return tuple(dims)


class Constraint:
    """Base class of all constraints: the identity. Subclass it and implement ``__call__(w)``.

    ``from_config`` is ``cls(**config)``. ``get_config`` returns ``{}`` for a subclass whose
    constructor takes no arguments, and otherwise raises (Keras silently returns ``{}``, so a saved
    model would reload the constraint with its default arguments).
    """

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return _weight(w)

    def get_config(self) -> dict[str, Any]:
        params = [name for name, p in inspect.signature(type(self).__init__).parameters.items()
                  if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if params:
            raise NotImplementedError(
                f"{type(self).__name__} takes constructor arguments ({', '.join(params)}) but does not "
                "implement get_config(); without it a saved model would reload it with default "
                "arguments. Return them as a dict from get_config()."
            )
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Constraint":
        return cls(**config)

    def __repr__(self) -> str:
        try:
            cfg = self.get_config()
        except Exception:  # a broken user get_config must not break repr
            cfg = {}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in cfg.items())})"


def _norms(w: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    return torch.sqrt(torch.sum(torch.square(w), dim=dims, keepdim=True))


class MaxNorm(Constraint):
    """Caps the norm of each weight vector along ``axis`` at ``max_value``.

    ``w * clip(n, 0, max_value) / (epsilon + n)`` with ``n = ||w||`` over ``axis``, ``epsilon = 1e-7``.
    """

    def __init__(self, max_value: float = 2, axis: AxisLike = 0) -> None:
        self.max_value = _number(max_value, "max_value", "MaxNorm")
        self.axis = _check_axis(axis, "MaxNorm")

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        w = _weight(w)
        norms = _norms(w, _dims(w, self.axis, "MaxNorm"))
        desired = torch.clamp(norms, 0, self.max_value)
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the norm of each weight vector along ``axis`` into ``[min_value, max_value]``.

    ``w * d / (epsilon + n)`` with ``n = ||w||`` over ``axis`` and
    ``d = rate * clip(n, min_value, max_value) + (1 - rate) * n``: ``rate=1`` enforces the bounds at
    once, a smaller rate moves towards them gradually.
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: AxisLike = 0) -> None:
        self.min_value = _number(min_value, "min_value", "MinMaxNorm")
        self.max_value = _number(max_value, "max_value", "MinMaxNorm")
        if min_value > max_value:
            raise ValueError(
                f"MinMaxNorm needs min_value <= max_value. Received: min_value={min_value!r}, "
                f"max_value={max_value!r}"
            )
        self.rate = _number(rate, "rate", "MinMaxNorm", 0.0, 1.0)
        self.axis = _check_axis(axis, "MinMaxNorm")

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        w = _weight(w)
        norms = _norms(w, _dims(w, self.axis, "MinMaxNorm"))
        desired = self.rate * torch.clamp(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to 0: ``max(w, 0)``."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return torch.clamp_min(_weight(w), 0)


class UnitNorm(Constraint):
    """Scales each weight vector along ``axis`` to unit norm: ``w / (epsilon + ||w||)``."""

    def __init__(self, axis: AxisLike = 0) -> None:
        self.axis = _check_axis(axis, "UnitNorm")

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        w = _weight(w)
        return w / (_EPSILON + _norms(w, _dims(w, self.axis, "UnitNorm")))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


# Keras 3 exports the snake_case names as aliases of the classes.
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

# ---------------------------------------------------------------------------------------------
# The registry: class names and their snake_case forms, as in Keras.


def _snake(name: str) -> str:
    """Keras's ``to_snake_case``: ``'MinMaxNorm'`` gives ``'min_max_norm'``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


ALL_OBJECTS: dict[str, type] = {}
for _cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm):
    ALL_OBJECTS[_cls.__name__] = _cls
    ALL_OBJECTS[_snake(_cls.__name__)] = _cls
del _cls

_FOREIGN_NAMES = {  # other libraries' names, for "did you mean" only
    "non_negative": "non_neg", "nonnegative": "non_neg", "positive": "non_neg", "relu": "non_neg",
    "max_norm_constraint": "max_norm", "clip_norm": "max_norm", "unit_l2_norm": "unit_norm",
    "normalize": "unit_norm", "l2_normalize": "unit_norm",
}


def _suggest(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    low = name.lower().strip()
    keys = sorted(ALL_OBJECTS, key=lambda k: (k[0].isupper(), k))
    for key in keys:
        if key.lower() == low or key.lower().replace("_", "") == low.replace("_", ""):
            return key
    if low in _FOREIGN_NAMES:
        return _FOREIGN_NAMES[low]
    close = difflib.get_close_matches(low, keys, n=1, cutoff=0.75)
    return close[0] if close else None


def _unknown(identifier: Any, name: Any = None) -> ValueError:
    hint = _suggest(identifier if name is None else name)
    did = f" Did you mean '{hint}'?" if hint else ""
    names = sorted(k for k in ALL_OBJECTS if not k[0].isupper())
    return ValueError(
        f"Could not interpret constraint identifier: {identifier!r}.{did} Valid names: "
        f"{', '.join(names)} (or their class names). A custom constraint must be registered with "
        "@initium.saving.register_keras_serializable() or passed in custom_objects."
    )


def _lookup(name: str, custom_objects: dict[str, Any] | None) -> Any | None:
    found = registry.get_registered_object(name, custom_objects)
    return found if found is not None else ALL_OBJECTS.get(name)


def _instantiate(cls: Any, config: Any) -> Any:
    if not inspect.isclass(cls):
        return cls  # a registered function
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise TypeError(f"The config of {cls.__name__} must be a dict. Received: {config!r}")
    try:
        return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
    except TypeError as e:
        accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "args", "kwargs")]
        bad = [k for k in config if k not in accepted]
        hints = []
        for k in bad:
            close = difflib.get_close_matches(k, accepted, n=1)
            hints.append(f"'{k}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        detail = f" Unexpected key(s): {', '.join(hints)}." if bad else ""
        raise TypeError(
            f"{cls.__name__} could not be built from config={config!r}.{detail} "
            f"{cls.__name__} accepts: {', '.join(accepted) or 'no arguments'}. ({e})"
        ) from e


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Build a constraint from a name or a Keras config dict.

    Unlike Keras, an unknown name raises ``ValueError`` instead of being returned as a string.
    Only built-in, registered or ``custom_objects`` classes are ever instantiated.
    """
    if config is None:
        return None
    if isinstance(config, Constraint):
        return config
    if isinstance(config, str):
        found = _lookup(config, custom_objects)
        if found is None:
            raise _unknown(config)
        return _instantiate(found, {})
    if not isinstance(config, dict):
        raise _unknown(config)
    if "class_name" not in config:
        raise ValueError(
            f"A constraint config dict needs a 'class_name' key (and usually 'config'). Received: {config!r}"
        )
    class_name, inner = config["class_name"], config.get("config", {})
    module, registered = config.get("module"), config.get("registered_name")
    if class_name == "function":  # Keras's form for a named function: config holds its name
        fn = _lookup(inner, custom_objects) if isinstance(inner, str) else None
        if fn is None and isinstance(inner, str) and ">" in inner:
            fn = _lookup(inner.split(">", 1)[1], custom_objects)
        if fn is None or inspect.isclass(fn):
            raise ValueError(
                f"The constraint function {inner!r} is not registered. Decorate it with "
                f"@initium.saving.register_keras_serializable() or pass custom_objects={{{inner!r}: fn}}."
            )
        return fn
    if class_name == "__lambda__":
        raise ValueError(
            "Refusing to load a lambda constraint: that would execute code stored in the config. "
            "Define a named function, register it, and save again."
        )
    cls = None
    if registered and registered != class_name:
        cls = _lookup(registered, custom_objects)
    if cls is None:
        cls = registry.get_registered_object(class_name, custom_objects)
    builtin_module = module in _BUILTIN_MODULES or str(module).startswith("keras.src.constraints")
    if cls is None and builtin_module:
        cls = ALL_OBJECTS.get(class_name)
    if cls is None and class_name in ALL_OBJECTS:
        raise ValueError(
            f"The constraint config names class {class_name!r} in module {module!r}; only built-in "
            "constraints (module 'keras.constraints') and registered classes are loaded, and no "
            f"module named in a config is ever imported. Received: {config!r}"
        )
    if cls is None:
        raise _unknown(config, class_name)
    return _instantiate(cls, inner)


def serialize(constraint: Any) -> Any:
    """The Keras config dict of a constraint (None and strings pass through).

    >>> serialize(MaxNorm(3))["config"]
    {'max_value': 3, 'axis': 0}
    """
    if constraint is None or isinstance(constraint, str):
        return constraint
    if isinstance(constraint, Constraint):
        cls = type(constraint)
        config = constraint.get_config()
        if ALL_OBJECTS.get(cls.__name__) is cls:
            return {"module": _KERAS_MODULE, "class_name": cls.__name__, "config": config, "registered_name": None}
        return {"module": None, "class_name": cls.__name__, "config": config,
                "registered_name": registry.get_registered_name(cls)}
    if inspect.isfunction(constraint) or inspect.ismethod(constraint) or inspect.isbuiltin(constraint):
        if constraint.__name__ == "<lambda>":
            raise ValueError(
                "Cannot serialize a lambda constraint: a file would have to store its code. "
                "Define a named function (def my_constraint(w): ...) and register it with "
                "@initium.saving.register_keras_serializable()."
            )
        return {"module": "builtins", "class_name": "function",
                "config": registry.get_registered_name(constraint), "registered_name": "function"}
    if callable(constraint) and hasattr(constraint, "get_config"):
        cls = type(constraint)
        return {"module": None, "class_name": cls.__name__, "config": constraint.get_config(),
                "registered_name": registry.get_registered_name(cls)}
    raise TypeError(f"Cannot serialize {constraint!r} (of type {type(constraint).__name__}) as a constraint.")


def get(identifier: Any) -> Constraint | Callable[..., Any] | None:
    """Resolve a constraint from None, a name, a config dict, a class, an instance or a callable.

    >>> get("max_norm")
    MaxNorm(max_value=2, axis=0)
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret constraint identifier: {identifier!r} (of type "
        f"{type(identifier).__name__}). Expected a name such as 'max_norm', a Constraint, a config "
        "dict or a callable f(weight) returning the projected weight."
    )
