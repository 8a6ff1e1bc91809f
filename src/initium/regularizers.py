"""Weight regularizers: penalties a layer adds to the loss, with the math and configs of ``keras.regularizers``.

A regularizer is called as ``reg(w)`` on a weight tensor and returns a scalar tensor of ``w``'s
dtype, differentiable in ``w``. Any callable ``f(w) -> scalar`` works as a regularizer too.

String ids are Keras 3.15.1's: ``'l1'`` is ``L1(0.01)``, ``'l2'`` is ``L2(0.01)``,
``'orthogonal_regularizer'`` is ``OrthogonalRegularizer(0.01, 'rows')``, the class names work, and
``'l1l2'`` is ``L1L2(l1=0.0, l2=0.0)``, a regularizer that adds **no** penalty (initium warns).
``'l1_l2'``, which Keras's docstring advertises, is rejected by Keras 3 and here (with a hint).

Deliberate deviations from Keras 3.15.1:

- factors are kept as Python floats, so ``L1(0.3).get_config() == {'l1': 0.3}`` (Keras stores a
  float32 tensor and reports ``0.30000001192092896``);
- ``OrthogonalRegularizer`` on a weight with a single row (``'rows'``) or column (``'columns'``)
  has no pairs to compare and returns 0 (Keras divides by zero and returns nan);
- its gradient at an all-zero row (column) is finite; Keras's is nan, which poisons training;
- numpy scalars are accepted as factors and bools are rejected (Keras does the reverse).
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import re
import warnings
from typing import Any, Callable

import torch

from initium import backend, registry

__all__ = [
    "Regularizer",
    "L1",
    "L2",
    "L1L2",
    "OrthogonalRegularizer",
    "l1",
    "l2",
    "l1_l2",
    "orthogonal_regularizer",
    "get",
    "serialize",
    "deserialize",
    "ALL_OBJECTS",
]

_KERAS_MODULE = "keras.regularizers"
# Modules a config may name for a built-in regularizer; anything else needs registration.
_BUILTIN_MODULES = {None, "keras.regularizers", "initium.regularizers", "tensorflow.keras.regularizers"}
_EPSILON = 1e-7  # keras.config.epsilon()


def _weight(x: Any) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = backend.to_tensor(x)
    if not x.is_floating_point():
        x = x.to(backend.torch_dtype(backend.floatx()))
    return x


def _factor(value: Any, name: str, default: float) -> float:
    """A penalty factor: None means ``default``; else a finite, non-negative real number."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(
            f"Invalid value for argument `{name}`: expected a non-negative, finite float. "
            f"Received: {name}={value!r}"
        )
    return float(value)


class Regularizer:
    """Base class of all regularizers. Subclass it and implement ``__call__(x)`` and ``get_config``.

    The base penalty is 0. ``from_config`` is ``cls(**config)``. ``get_config`` returns ``{}`` for a
    subclass whose constructor takes no arguments, and otherwise raises: silently saving ``{}`` would
    reload the regularizer with its default factors.
    """

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _weight(x)
        return torch.zeros((), dtype=x.dtype, device=x.device)

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
    def from_config(cls, config: dict[str, Any]) -> "Regularizer":
        return cls(**config)

    def __repr__(self) -> str:
        try:
            cfg = self.get_config()
        except Exception:  # a broken user get_config must not break repr
            cfg = {}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in cfg.items())})"


class L1(Regularizer):
    """L1 penalty: ``l1 * sum(|x|)``. The string ``'l1'`` gives ``L1(0.01)``.

    >>> L1(0.5)(torch.tensor([1.0, -2.0]))
    tensor(1.5000)
    """

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _factor(l1, "l1", 0.01)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _weight(x)
        return self.l1 * torch.sum(torch.abs(x))

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    """L2 penalty: ``l2 * sum(x^2)`` (no factor 1/2). The string ``'l2'`` gives ``L2(0.01)``.

    >>> L2(0.5)(torch.tensor([1.0, -2.0]))
    tensor(2.5000)
    """

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _factor(l2, "l2", 0.01)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _weight(x)
        return self.l2 * torch.sum(torch.square(x))

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class L1L2(Regularizer):
    """Both penalties: ``l1 * sum(|x|) + l2 * sum(x^2)``.

    Both factors default to 0.0, so ``L1L2()`` and the string ``'l1l2'`` add no penalty (as in
    Keras); pass the factors, e.g. ``L1L2(l1=0.01, l2=0.01)``.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _factor(l1, "l1", 0.0)
        self.l2 = _factor(l2, "l2", 0.0)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _weight(x)
        penalty = torch.zeros((), dtype=x.dtype, device=x.device)
        if self.l1:
            penalty = penalty + self.l1 * torch.sum(torch.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * torch.sum(torch.square(x))
        return penalty

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


_MODES = ("columns", "rows")
_MODE_ALIASES = {"row": "rows", "col": "columns", "cols": "columns", "column": "columns"}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (``mode='rows'``) or columns (``'columns'``) of a rank-2 weight towards orthogonality.

    With ``v_i`` the L2-normalized rows (or columns) of ``x`` and ``n`` their number, the penalty is
    ``factor * mean_{i<j} |v_i . v_j|``, i.e. ``factor * 0.5 * sum_{i != j} |v_i . v_j| / (n (n-1) / 2)``.
    Normalization is ``v * min(1/||v||, 1/epsilon)`` with ``epsilon = 1e-7``, so a zero row stays 0.
    For a Dense kernel ``(in, units)``, ``'columns'`` makes the units' weight vectors orthogonal.
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        self.factor = _factor(factor, "factor", 0.01)
        if mode not in _MODES:
            key = mode.lower().strip() if isinstance(mode, str) else None
            hint = key if key in _MODES else _MODE_ALIASES.get(key or "")
            if hint is None and key:
                close = difflib.get_close_matches(key, _MODES, n=1, cutoff=0.6)
                hint = close[0] if close else None
            did = f" Did you mean '{hint}'?" if hint else ""
            raise ValueError(
                f"Invalid value for argument `mode`: {mode!r}.{did} Expected one of 'columns', 'rows'."
            )
        self.mode = mode

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _weight(x)
        if x.ndim != 2:
            raise ValueError(
                "OrthogonalRegularizer needs a rank-2 weight, such as a Dense kernel (in, units). "
                f"Received a weight of shape {tuple(x.shape)} (rank {x.ndim})."
            )
        axis = 1 if self.mode == "rows" else 0
        # min(rsqrt(s), 1/eps) as in Keras, written as rsqrt(max(s, eps^2)): the same values, but a
        # zero row gets a finite gradient (Keras's gradient there is nan: rsqrt'(0) * 0).
        inv_norm = torch.rsqrt(torch.clamp(torch.sum(torch.square(x), dim=axis, keepdim=True), min=_EPSILON**2))
        v = x * inv_norm
        product = v @ v.T if self.mode == "rows" else v.T @ v
        size = product.shape[0]
        if size < 2:  # no pairs (Keras returns nan here)
            return torch.zeros((), dtype=x.dtype, device=x.device)
        off_diagonal = product * (1.0 - torch.eye(size, dtype=x.dtype, device=x.device))
        num_pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * torch.sum(torch.abs(off_diagonal)) / num_pairs

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


# Keras 3 exports the snake_case names as aliases of the classes (not as functions).
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

# ---------------------------------------------------------------------------------------------
# The registry: class names and their snake_case forms, as in Keras.


def _snake(name: str) -> str:
    """Keras's to_snake_case: ``'OrthogonalRegularizer'`` -> ``'orthogonal_regularizer'``, ``'L1L2'`` -> ``'l1l2'``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


ALL_OBJECTS: dict[str, type] = {}
for _cls in (Regularizer, L1, L2, L1L2, OrthogonalRegularizer):
    ALL_OBJECTS[_cls.__name__] = _cls
    ALL_OBJECTS[_snake(_cls.__name__)] = _cls
del _cls

_FOREIGN_NAMES = {  # other libraries' names, for "did you mean" only
    "weight_decay": "l2", "ridge": "l2", "lasso": "l1", "elastic_net": "l1l2", "orthogonal": "orthogonal_regularizer",
}
_L1_L2_HINT = (
    " Keras 3 has no regularizer named 'l1_l2' (its docstring says otherwise). Did you mean 'l1l2'? "
    "Note that 'l1l2' is L1L2(l1=0.0, l2=0.0), which adds no penalty; for both penalties pass "
    "initium.regularizers.L1L2(l1=0.01, l2=0.01)."
)


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
    key = identifier if name is None else name
    if key == "l1_l2":
        did = _L1_L2_HINT
    else:
        hint = _suggest(key)
        did = f" Did you mean '{hint}'?" if hint else ""
    names = sorted(k for k in ALL_OBJECTS if not k[0].isupper())
    return ValueError(
        f"Could not interpret regularizer identifier: {identifier!r}.{did} Valid names: "
        f"{', '.join(names)} (or their class names). A custom regularizer must be registered with "
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
    """Build a regularizer from a name or a Keras config dict.

    Unlike Keras, an unknown name raises ``ValueError`` instead of being returned as a string.
    Only built-in, registered or ``custom_objects`` classes are ever instantiated.
    """
    if config is None:
        return None
    if isinstance(config, Regularizer):
        return config
    if isinstance(config, str):
        found = _lookup(config, custom_objects)
        if found is None:
            raise _unknown(config)
        if found is L1L2 and config == "l1l2":
            warnings.warn(
                "The regularizer 'l1l2' is L1L2(l1=0.0, l2=0.0), which adds no penalty (as in Keras). "
                "Pass initium.regularizers.L1L2(l1=0.01, l2=0.01), or 'l1' / 'l2', for a penalty.",
                UserWarning,
                stacklevel=3,
            )
        return _instantiate(found, {})
    if not isinstance(config, dict):
        raise _unknown(config)
    if "class_name" not in config:
        raise ValueError(
            f"A regularizer config dict needs a 'class_name' key (and usually 'config'). Received: {config!r}"
        )
    class_name, inner = config["class_name"], config.get("config", {})
    module, registered = config.get("module"), config.get("registered_name")
    if class_name == "function":  # Keras's form for a named function: config holds its name
        fn = _lookup(inner, custom_objects) if isinstance(inner, str) else None
        if fn is None and isinstance(inner, str) and ">" in inner:
            fn = _lookup(inner.split(">", 1)[1], custom_objects)
        if fn is None or inspect.isclass(fn):
            raise ValueError(
                f"The regularizer function {inner!r} is not registered. Decorate it with "
                f"@initium.saving.register_keras_serializable() or pass custom_objects={{{inner!r}: fn}}."
            )
        return fn
    if class_name == "__lambda__":
        raise ValueError(
            "Refusing to load a lambda regularizer: that would execute code stored in the config. "
            "Define a named function, register it, and save again."
        )
    cls = None
    if registered and registered != class_name:
        cls = _lookup(registered, custom_objects)
    if cls is None:
        cls = registry.get_registered_object(class_name, custom_objects)
    builtin_module = module in _BUILTIN_MODULES or str(module).startswith("keras.src.regularizers")
    if cls is None and builtin_module:
        cls = ALL_OBJECTS.get(class_name)
    if cls is None and class_name in ALL_OBJECTS:
        raise ValueError(
            f"The regularizer config names class {class_name!r} in module {module!r}; only built-in "
            "regularizers (module 'keras.regularizers') and registered classes are loaded, and no "
            f"module named in a config is ever imported. Received: {config!r}"
        )
    if cls is None:
        raise _unknown(config, class_name)
    return _instantiate(cls, inner)


def serialize(regularizer: Any) -> Any:
    """The Keras config dict of a regularizer (None and strings pass through).

    >>> serialize(L2(0.5))
    {'module': 'keras.regularizers', 'class_name': 'L2', 'config': {'l2': 0.5}, 'registered_name': None}
    """
    if regularizer is None or isinstance(regularizer, str):
        return regularizer
    if isinstance(regularizer, Regularizer):
        cls = type(regularizer)
        config = regularizer.get_config()
        if ALL_OBJECTS.get(cls.__name__) is cls:
            return {"module": _KERAS_MODULE, "class_name": cls.__name__, "config": config, "registered_name": None}
        return {"module": None, "class_name": cls.__name__, "config": config,
                "registered_name": registry.get_registered_name(cls)}
    if inspect.isfunction(regularizer) or inspect.ismethod(regularizer) or inspect.isbuiltin(regularizer):
        if regularizer.__name__ == "<lambda>":
            raise ValueError(
                "Cannot serialize a lambda regularizer: a file would have to store its code. "
                "Define a named function (def my_penalty(w): ...) and register it with "
                "@initium.saving.register_keras_serializable()."
            )
        return {"module": "builtins", "class_name": "function",
                "config": registry.get_registered_name(regularizer), "registered_name": "function"}
    if callable(regularizer) and hasattr(regularizer, "get_config"):
        cls = type(regularizer)
        return {"module": None, "class_name": cls.__name__, "config": regularizer.get_config(),
                "registered_name": registry.get_registered_name(cls)}
    raise TypeError(
        f"Cannot serialize {regularizer!r} (of type {type(regularizer).__name__}) as a regularizer."
    )


def get(identifier: Any) -> Regularizer | Callable[..., Any] | None:
    """Resolve a regularizer from None, a name, a config dict, a class, an instance or a callable.

    >>> get("l2")
    L2(l2=0.01)
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
        f"Could not interpret regularizer identifier: {identifier!r} (of type "
        f"{type(identifier).__name__}). Expected a name such as 'l2', a Regularizer, a config dict "
        "or a callable f(weight) returning a scalar."
    )
