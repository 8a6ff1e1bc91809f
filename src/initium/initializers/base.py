"""The ``Initializer`` base class, fans, the name registry and ``get``/``serialize``/``deserialize``.

Seed semantics (every random initializer links here):

- ``seed=None``: every call draws fresh values from the global stream (``initium.random``), so
  one instance shared by two layers gives two different kernels. Keras 3 instead draws one seed
  in the constructor and gives both layers *identical* kernels; this is a deliberate deviation.
  The config still says ``"seed": None``; ``initium.random.set_random_seed`` makes it reproducible.
- ``seed=<int>``: the same values on every call, on every machine and device.
- ``seed=SeedGenerator(s)``: fresh values on every call; the sequence is reproducible.

An initializer is called as ``init(shape, dtype=None)`` with a Keras-layout shape, ``(in, out)``
for a dense kernel and ``(*kernel_size, in, out)`` for a convolution, and returns a tensor.
``initialize`` is the checked entry point that layers use: it also accepts plain callables that
return numpy arrays or lists, and checks the shape, dtype and finiteness of what comes back.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import re
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np
import torch

from initium import backend, registry
from initium import random as irandom

__all__ = [
    "Initializer",
    "InitializerLike",
    "compute_fans",
    "get",
    "serialize",
    "deserialize",
    "initialize",
    "register",
    "ALL_OBJECTS",
]

_KERAS_MODULE = "keras.initializers"
# Modules a config may name for a built-in initializer; anything else needs registration.
_BUILTIN_MODULES = {None, "keras.initializers", "initium.initializers", "tensorflow.keras.initializers"}


@runtime_checkable
class InitializerLike(Protocol):
    """Anything callable as ``f(shape, dtype=None)`` that returns an array-like of that shape."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> Any: ...


class Initializer:
    """Base class of all initializers. Subclass it and implement ``__call__(shape, dtype=None)``.

    ``get_config`` returns the constructor arguments (``{}`` here) and ``from_config`` is
    ``cls(**config)``, so a subclass whose config keys are its constructor arguments needs nothing
    more to serialize.
    """

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        raise NotImplementedError("Initializer subclasses must implement the `__call__()` method.")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Initializer":
        return cls(**config)

    def clone(self) -> "Initializer":
        return self.__class__.from_config(self.get_config())

    def __repr__(self) -> str:
        try:
            cfg = self.get_config()
        except Exception:  # a broken user get_config must not break repr
            cfg = {}
        args = ", ".join(f"{k}={_short(v)}" for k, v in cfg.items())
        return f"{type(self).__name__}({args})"


def _short(v: Any) -> str:
    if isinstance(v, dict) and v.get("class_name") == "SeedGenerator":
        return f"SeedGenerator({v.get('config', {}).get('seed')})"
    return repr(v)


def compute_fans(
    shape: Sequence[int],
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a Keras-layout weight shape ``(..., in, out)``.

    - rank 0: ``(1, 1)``; rank 1 (a bias): ``(n, n)``; rank 2: ``(shape[0], shape[1])``;
    - rank >= 3 (convolutions): ``in`` and ``out`` times the receptive field ``prod(shape[:-2])``;
    - ``input_axes`` and ``output_axes``: the products of those axes (both must be given).

    >>> compute_fans((3, 3, 16, 32))
    (144, 288)
    """
    shape = tuple(int(d) for d in shape)
    if (input_axes is None) != (output_axes is None):
        raise ValueError(
            "`input_axes` and `output_axes` must be given together (Keras silently ignores one "
            f"given alone). Received: input_axes={input_axes}, output_axes={output_axes}"
        )
    if input_axes is not None:
        rank = len(shape)
        for ax in (*input_axes, *output_axes):
            if not -rank <= ax < rank:
                raise ValueError(
                    f"Axis {ax} in input_axes={list(input_axes)} / output_axes={list(output_axes)} "
                    f"is out of range for a weight of shape {shape}."
                )
        return (math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (shape[0], shape[0])
    if len(shape) == 2:
        return (shape[0], shape[1])
    receptive = math.prod(shape[:-2])
    return (shape[-2] * receptive, shape[-1] * receptive)


# ---------------------------------------------------------------------------------------------
# The registry: class names, their snake_case forms, and Keras's aliases.

ALL_OBJECTS: dict[str, type] = {}
_FOREIGN_NAMES = {  # names from PyTorch / Flax / papers, for "did you mean" only
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "kaiming_uniform": "he_uniform",
    "kaiming_normal": "he_normal",
    "trunc_normal": "truncated_normal",
    "eye": "identity",
    "constant_": "constant",
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def register(cls: type, *aliases: str) -> type:
    """Add a built-in class to the registry under its name, its snake_case name and ``aliases``."""
    for key in (cls.__name__, _snake(cls.__name__), *aliases):
        ALL_OBJECTS[key] = cls
    return cls


def _suggest(name: str) -> str | None:
    if not isinstance(name, str):
        return None
    low = name.lower().rstrip("_")
    # Prefer the snake_case ids (what the seeds and most code use) over the CamelCase class names.
    keys = sorted(ALL_OBJECTS, key=lambda k: (k[0].isupper(), k))
    for key in keys:
        if key.lower() == low or key.lower().replace("_", "") == low.replace("_", ""):
            return key
    if low in _FOREIGN_NAMES:
        return _FOREIGN_NAMES[low]
    close = difflib.get_close_matches(name, keys, n=1, cutoff=0.75)
    return close[0] if close else None


def _unknown(identifier: Any, name: Any = None) -> ValueError:
    hint = _suggest(identifier if name is None else name)
    names = sorted(k for k in ALL_OBJECTS if not k[0].isupper())
    did = f" Did you mean '{hint}'?" if hint else ""
    return ValueError(
        f"Could not interpret initializer identifier: {identifier!r}.{did} Valid names: "
        f"{', '.join(names)} (or their CamelCase class names). A custom initializer must be "
        "registered with @initium.saving.register_keras_serializable() or passed in custom_objects."
    )


def _lookup(name: str, custom_objects: dict[str, Any] | None) -> Any | None:
    found = registry.get_registered_object(name, custom_objects)
    return found if found is not None else ALL_OBJECTS.get(name)


def _instantiate(cls: Any, config: Any, identifier: Any) -> Any:
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
    """Build an initializer from a name or a Keras config dict.

    Unlike Keras, an unknown name raises ``ValueError`` instead of being returned as a string.
    Only built-in, registered or ``custom_objects`` classes are ever instantiated.
    """
    if config is None:
        return None
    if isinstance(config, Initializer):
        return config
    if isinstance(config, str):
        found = _lookup(config, custom_objects)
        if found is None:
            raise _unknown(config)
        return _instantiate(found, {}, config)
    if not isinstance(config, dict):
        raise _unknown(config)
    if "class_name" not in config:
        raise ValueError(
            f"An initializer config dict needs a 'class_name' key (and usually 'config'). Received: {config!r}"
        )
    class_name, inner = config["class_name"], config.get("config", {})
    module, registered = config.get("module"), config.get("registered_name")
    if class_name == "function":  # Keras's form for a named function: config holds its name
        fn = _lookup(inner, custom_objects) if isinstance(inner, str) else None
        if fn is None and isinstance(inner, str) and ">" in inner:
            fn = _lookup(inner.split(">", 1)[1], custom_objects)
        if fn is None or inspect.isclass(fn):
            raise ValueError(
                f"The initializer function {inner!r} is not registered. Decorate it with "
                f"@initium.saving.register_keras_serializable() or pass custom_objects={{{inner!r}: fn}}."
            )
        return fn
    if class_name == "__lambda__":
        raise ValueError(
            "Refusing to load a lambda initializer: that would execute code stored in the config. "
            "Define a named function, register it, and save again."
        )
    cls = None
    if registered and registered != class_name:
        cls = _lookup(registered, custom_objects)
    if cls is None:
        cls = registry.get_registered_object(class_name, custom_objects)
    builtin_module = module in _BUILTIN_MODULES or str(module).startswith("keras.src.initializers")
    if cls is None and builtin_module:
        cls = ALL_OBJECTS.get(class_name)
    if cls is None and class_name in ALL_OBJECTS:
        raise ValueError(
            f"The initializer config names class {class_name!r} in module {module!r}; only built-in "
            "initializers (module 'keras.initializers') and registered classes are loaded, and no "
            f"module named in a config is ever imported. Received: {config!r}"
        )
    if cls is None:
        raise _unknown(config, class_name)
    return _instantiate(cls, inner, config)


def serialize(initializer: Any) -> Any:
    """The Keras config dict of an initializer (strings and None pass through)."""
    if initializer is None or isinstance(initializer, str):
        return initializer
    if isinstance(initializer, Initializer):
        cls = type(initializer)
        config = initializer.get_config()
        name = getattr(cls, "_serialize_as", cls.__name__)
        if ALL_OBJECTS.get(name) is cls or name != cls.__name__:
            return {"module": _KERAS_MODULE, "class_name": name, "config": config, "registered_name": None}
        return {"module": _module_of(cls), "class_name": cls.__name__, "config": config,
                "registered_name": registry.get_registered_name(cls)}
    if inspect.isfunction(initializer) or inspect.ismethod(initializer) or inspect.isbuiltin(initializer):
        if initializer.__name__ == "<lambda>":
            raise ValueError(
                "Cannot serialize a lambda initializer: a file would have to store its code. "
                "Define a named function (def my_init(shape, dtype=None): ...) and register it "
                "with @initium.saving.register_keras_serializable()."
            )
        return {"module": "builtins", "class_name": "function",
                "config": registry.get_registered_name(initializer), "registered_name": "function"}
    if callable(initializer) and hasattr(initializer, "get_config"):
        cls = type(initializer)
        return {"module": _module_of(cls), "class_name": cls.__name__, "config": initializer.get_config(),
                "registered_name": registry.get_registered_name(cls)}
    raise TypeError(
        f"Cannot serialize {initializer!r} (of type {type(initializer).__name__}) as an initializer."
    )


def _module_of(cls: type) -> str | None:
    """Keras writes a custom class's module (informational only: never imported on load)."""
    return None if cls.__module__ == "__main__" else cls.__module__


# The initializer ``get(array)`` returns (``constant.FromArray``), filled in when that module
# registers its classes: ``base`` sits below the concrete initializers and never imports them.
_ARRAY_INITIALIZER: list[type] = []


def get(identifier: Any) -> Any:
    """Resolve an initializer from a name, config dict, class, instance, callable or array.

    >>> get("he_normal")
    HeNormal(seed=None, input_axes=None, output_axes=None)
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, (np.ndarray, torch.Tensor)):
        return _ARRAY_INITIALIZER[0](identifier)
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret initializer identifier: {identifier!r} (of type "
        f"{type(identifier).__name__}). Expected a name such as 'he_normal', an Initializer, a "
        "config dict, a numpy array or a callable f(shape, dtype=None)."
    )


def _label(init: Any) -> str:
    if isinstance(init, Initializer):
        return repr(init)
    return getattr(init, "__qualname__", None) or getattr(init, "__name__", None) or repr(init)


def _accepts_dtype(fn: Any) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "dtype" or p.kind is p.VAR_KEYWORD for p in params)


_skip_state = threading.local()


@contextmanager
def skip_initialization() -> Iterator[None]:
    """Inside this block, layers allocate weights without calling their initializers.

    Loading a saved model uses it: every weight is about to be overwritten from the file, so
    drawing random numbers for it first would be wasted work (Keras draws them). The weights keep
    their initializer, so ``reinitialize`` still works afterwards.
    """
    depth = getattr(_skip_state, "depth", 0)
    _skip_state.depth = depth + 1
    try:
        yield
    finally:
        _skip_state.depth = depth


def initialization_skipped() -> bool:
    """True inside ``skip_initialization()``."""
    return getattr(_skip_state, "depth", 0) > 0


def initialize(
    initializer: Any,
    shape: Sequence[int],
    dtype: Any = None,
    device: str | torch.device | None = None,
    name: str | None = None,
) -> torch.Tensor:
    """Call ``initializer`` for a weight and return a checked tensor of ``shape`` and ``dtype``.

    This is the one door every weight goes through. A plain callable may return a tensor, a numpy
    array (float64 is cast, as Keras does), a list or a scalar-shaped array; what comes back must
    have exactly ``shape``, be numeric, and (for float weights) be finite. Errors name the
    initializer and the weight.
    """
    init = get(initializer)
    if init is None:
        raise ValueError(f"No initializer given for weight {name or '?'!r} of shape {tuple(shape)}.")
    dims = irandom._shape_tuple(shape)
    dname = backend.standardize_dtype(dtype)
    what = f"weight {name!r}" if name else "a weight"
    label = _label(init)
    if isinstance(init, Initializer) or _accepts_dtype(init):
        value = init(dims, dtype=dname)
    else:
        value = init(dims)
    if not isinstance(value, torch.Tensor):
        try:
            arr = np.asarray(value)
        except Exception as e:  # ragged lists and the like
            raise TypeError(
                f"Initializer {label} returned {type(value).__name__} that is not an array for {what} "
                f"of shape {dims}: {e}"
            ) from e
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"Initializer {label} returned values of dtype {arr.dtype} for {what} of shape "
                f"{dims}; expected numbers (a tensor, numpy array or list of floats)."
            )
        value = torch.from_numpy(np.ascontiguousarray(arr))
    elif value.is_complex():
        raise TypeError(f"Initializer {label} returned complex values for {what} of shape {dims}.")
    if tuple(value.shape) != dims:
        raise ValueError(
            f"Initializer {label} returned shape {tuple(value.shape)} for {what} of shape {dims}. "
            "An initializer must return exactly the shape it is called with."
        )
    target = backend.torch_dtype(dname)
    if value.dtype != target:
        value = value.to(target)
    if value.is_floating_point() and not _trusted(init):
        bad = value.numel() - int(torch.isfinite(value).sum())
        if bad:
            raise ValueError(
                f"Initializer {label} returned {bad} non-finite value(s) (nan or inf) for {what} "
                f"of shape {dims}."
            )
    dev = torch.device(device) if device is not None else backend.default_device()
    if value.device != dev:
        value = value.to(dev)
    return value


def _trusted(init: Any) -> bool:
    """Built-in random initializers validate their parameters, so their output is finite."""
    return getattr(type(init), "_finite_by_construction", False) and ALL_OBJECTS.get(type(init).__name__) is type(init)


class SeededInitializer(Initializer):
    """Base of the random initializers: validates and stores ``seed`` (see the module docstring)."""

    _finite_by_construction = True

    def __init__(self, seed: Any = None) -> None:
        if isinstance(seed, dict) and seed.get("class_name") == "SeedGenerator":
            seed = irandom.SeedGenerator.from_config(seed.get("config", {}))
        if seed is not None and not isinstance(seed, irandom.SeedGenerator):
            seed = irandom._check_seed_value(seed)
        self.seed = seed

    def _seed_config(self) -> Any:
        if isinstance(self.seed, irandom.SeedGenerator):
            return {"module": "keras.random", "class_name": "SeedGenerator",
                    "config": self.seed.get_config(), "registered_name": None}
        return self.seed

    def _float_dtype(self, dtype: Any) -> str:
        name = backend.standardize_dtype(dtype)
        if name not in backend.FLOAT_DTYPES:
            raise ValueError(
                f"{type(self).__name__} draws random floats and cannot fill a weight of dtype "
                f"{name}. Use a float dtype ({', '.join(backend.FLOAT_DTYPES)}), or Zeros/Ones/"
                "Constant for integer weights."
            )
        return name


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)
