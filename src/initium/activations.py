"""Activation functions on torch tensors, with the names, defaults and math of ``keras.activations``.

Every function takes a tensor (anything else goes through ``backend.to_tensor``; integer input is
computed in ``floatx``), is built from ``torch`` / ``torch.nn.functional`` ops, so it is fast and
differentiable, and returns a tensor of the input's shape (``glu`` halves one axis).

Names: every string Keras 3 accepts works here (``ALL_OBJECTS``), including its two aliases
``'swish'`` (= ``silu``) and ``'hard_swish'`` (= ``hard_silu``). As in Keras, an alias serializes
under the function's own name: ``serialize(get('swish')) == 'silu'``.

Deliberate deviations from Keras 3.15.1:

- ``get('threshold')`` raises: ``threshold(x, threshold, default_value)`` has two required
  arguments, so Keras accepts the name and then fails at the layer's first call.
- ``get``/``deserialize`` of an unknown name raise a ``ValueError`` with a suggestion and the list
  of valid names (Keras's ``deserialize`` returns the unknown string unchanged).
- ``log_softmax`` over an axis of size 1 warns, like ``softmax`` (Keras warns for softmax only).
- ``relu(max_value<0)`` raises, as Keras's ``ReLU`` layer does (the Keras function returns
  ``max_value`` everywhere).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import warnings
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from initium import backend, registry

__all__ = [
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu",
    "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
    "threshold", "get", "serialize", "deserialize", "ALL_OBJECTS",
]

Axis = int | Sequence[int] | None


def _tensor(x: Any) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = backend.to_tensor(x)
    if not x.is_floating_point():
        x = x.to(backend.torch_dtype(backend.floatx()))
    return x


# ---------------------------------------------------------------------------------------------
# The ReLU family.


def relu(
    x: torch.Tensor,
    negative_slope: float = 0.0,
    max_value: float | None = None,
    threshold: float = 0.0,
) -> torch.Tensor:
    """Rectified linear unit, with Keras's three options.

    ``f(x) = min(x, max_value)`` for ``x > threshold`` (and ``x >= 0`` when ``threshold == 0``),
    ``negative_slope * (x - threshold)`` below the threshold. With the defaults: ``max(x, 0)``.
    Exactly at the threshold the result is 0. ``max_value`` also clips from below at 0.

    >>> relu(torch.tensor([-10., -5., 0., 5., 10.]), threshold=5.)
    tensor([ 0.,  0.,  0.,  0., 10.])
    """
    x = _tensor(x)
    if max_value is not None and max_value < 0:
        raise ValueError(
            f"`max_value` of relu cannot be negative (the output would be {max_value} everywhere). "
            f"Received: max_value={max_value}"
        )
    # The branch structure mirrors keras.src.activations.activations.ReLU.static_call, so that the
    # values (and gradients at the kinks) are the same.
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return F.leaky_relu(x, negative_slope=negative_slope)
        negative_part = F.relu(-x + threshold) if threshold != 0 else F.relu(-x)
    clip = max_value is not None
    if threshold != 0:
        y = torch.where(x > threshold, x, torch.zeros((), dtype=x.dtype, device=x.device))
    elif max_value == 6:  # relu6's gradient is 0 at exactly 6; clamp's is 1
        y = F.relu6(x)
        clip = False
    else:
        y = F.relu(x)
    if clip:
        y = torch.clamp(y, 0.0, float(max_value))
    if negative_slope != 0.0:
        y = y - negative_slope * negative_part
    return y


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    """``f(x) = x`` for ``x >= 0``, ``negative_slope * x`` otherwise (Keras default slope 0.2,
    not PyTorch's 0.01)."""
    return F.leaky_relu(_tensor(x), negative_slope=negative_slope)


def relu6(x: torch.Tensor) -> torch.Tensor:
    """``f(x) = min(max(x, 0), 6)``."""
    return F.relu6(_tensor(x))


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""
    return F.elu(_tensor(x), alpha=alpha)


def selu(x: torch.Tensor) -> torch.Tensor:
    """Scaled ELU: ``scale * elu(x, alpha)`` with ``alpha = 1.67326324``, ``scale = 1.05070098``.

    Pair it with the ``lecun_normal`` initializer.
    """
    return F.selu(_tensor(x))


def celu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Continuously differentiable ELU: ``x`` for ``x >= 0``, ``alpha * (exp(x / alpha) - 1)`` otherwise."""
    return F.celu(_tensor(x), alpha=alpha)


def gelu(x: torch.Tensor, approximate: bool = False) -> torch.Tensor:
    """Gaussian error linear unit: ``0.5 * x * (1 + erf(x / sqrt(2)))``.

    With ``approximate=True``: ``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))``.
    """
    x = _tensor(x)
    return F.gelu(x, approximate="tanh") if approximate else F.gelu(x)


def silu(x: torch.Tensor) -> torch.Tensor:
    """SiLU, also called swish: ``x * sigmoid(x)``. ``'swish'`` is an alias; both serialize as ``'silu'``."""
    return F.silu(_tensor(x))


swish = silu


def mish(x: torch.Tensor) -> torch.Tensor:
    """``x * tanh(softplus(x))``."""
    x = _tensor(x)
    return x * torch.tanh(F.softplus(x))


def hard_silu(x: torch.Tensor) -> torch.Tensor:
    """Hard SiLU (hard swish): 0 for ``x <= -3``, ``x`` for ``x >= 3``, ``x * (x + 3) / 6`` between.

    ``'hard_swish'`` is an alias; both serialize as ``'hard_silu'``.
    """
    return F.hardswish(_tensor(x))


hard_swish = hard_silu


# ---------------------------------------------------------------------------------------------
# Sigmoid-like and smooth functions.


def _keep_logits(out: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Remember the pre-activation on the output, so crossentropy losses can use the logits
    (``log_softmax``, log-sigmoid) instead of the log of rounded probabilities."""
    out._keras_logits = x
    out._keras_logits_kind = kind
    return out


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``1 / (1 + exp(-x))``."""
    x = _tensor(x)
    return _keep_logits(torch.sigmoid(x), x, "sigmoid")


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 3's hard sigmoid: ``relu6(x + 3) / 6``, i.e. 0 for ``x <= -3``, 1 for ``x >= 3``,
    ``x / 6 + 0.5`` between.

    Keras 2 (tf.keras) used ``clip(0.2 * x + 0.5, 0, 1)`` instead; a model trained there gives
    different outputs here, as it does in Keras 3.
    """
    return F.hardsigmoid(_tensor(x))


def sparse_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``0.5 * (x + 1)`` between."""
    x = _tensor(x)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    one = torch.ones((), dtype=x.dtype, device=x.device)
    return torch.where(x <= -1, zero, torch.where(x >= 1, one, 0.5 * (x + 1)))


def log_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, computed stably."""
    return F.logsigmoid(_tensor(x))


def tanh(x: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent ``(exp(x) - exp(-x)) / (exp(x) + exp(-x))``."""
    return torch.tanh(_tensor(x))


def hard_tanh(x: torch.Tensor) -> torch.Tensor:
    """``clip(x, -1, 1)``."""
    return F.hardtanh(_tensor(x), min_val=-1.0, max_val=1.0)


def tanh_shrink(x: torch.Tensor) -> torch.Tensor:
    """``x - tanh(x)``."""
    return F.tanhshrink(_tensor(x))


def softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(exp(x) + 1)`` (returns ``x`` itself for ``x > 20``, as PyTorch and Keras do)."""
    return F.softplus(_tensor(x))


def softsign(x: torch.Tensor) -> torch.Tensor:
    """``x / (abs(x) + 1)``."""
    return F.softsign(_tensor(x))


def squareplus(x: torch.Tensor, b: float = 4) -> torch.Tensor:
    """``(x + sqrt(x^2 + b)) / 2``; ``b`` sets the smoothness at 0."""
    x = _tensor(x)
    return (x + torch.sqrt(x**2 + b)) / 2


def sparse_plus(x: torch.Tensor) -> torch.Tensor:
    """0 for ``x <= -1``, ``x`` for ``x >= 1``, ``(x + 1)^2 / 4`` between."""
    x = _tensor(x)
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


def soft_shrink(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """``x - threshold`` for ``x > threshold``, ``x + threshold`` for ``x < -threshold``, else 0."""
    return F.softshrink(_tensor(x), lambd=threshold)


def hard_shrink(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """``x`` where ``|x| > threshold``, else 0."""
    return F.hardshrink(_tensor(x), lambd=threshold)


def threshold(x: torch.Tensor, threshold: float, default_value: float) -> torch.Tensor:
    """``x`` where ``x > threshold``, else ``default_value``.

    Both arguments are required, so ``'threshold'`` cannot be used as an activation by name;
    wrap it in a named, registered function instead.
    """
    return F.threshold(_tensor(x), threshold, default_value)


def exponential(x: torch.Tensor) -> torch.Tensor:
    """``exp(x)``."""
    return torch.exp(_tensor(x))


def linear(x: torch.Tensor) -> torch.Tensor:
    """The identity, ``f(x) = x`` (the input is returned unchanged). ``activation=None`` means this."""
    return x


# ---------------------------------------------------------------------------------------------
# Functions over an axis.


def _axes(x: torch.Tensor, axis: Axis, fn: str) -> tuple[int, ...]:
    rank = x.ndim
    raw = tuple(range(rank)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in raw:
        if isinstance(a, bool) or not isinstance(a, int):
            raise TypeError(f"`axis` of {fn} must be an int, a tuple of ints or None. Received: axis={axis!r}")
        if not -max(rank, 1) <= a < max(rank, 1):
            raise ValueError(
                f"`axis`={axis!r} of {fn} is out of range for a tensor of shape {tuple(x.shape)} (rank {rank})."
            )
        out.append(a % rank if rank else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"`axis` of {fn} names the same axis twice. Received: axis={axis!r}")
    return tuple(out)


def _warn_size_one(x: torch.Tensor, axis: Axis, dims: tuple[int, ...], fn: str, value: str) -> None:
    if (math.prod(x.shape[d] for d in dims) if x.ndim else 1) == 1:
        warnings.warn(
            f"{fn} over axis {axis} of a tensor of shape {tuple(x.shape)}: that axis has size 1, so "
            f"the result is always {value}. This is probably not what you intended. For a single "
            "output unit (e.g. Dense(1)) use activation='sigmoid' instead, or give the layer one "
            f"unit per class.",
            UserWarning,
            stacklevel=4,  # _warn_size_one < _over_axes < softmax < the caller
        )


def _over_axes(x: torch.Tensor, axis: Axis, fn: Callable[..., torch.Tensor], name: str, value: str) -> torch.Tensor:
    x = _tensor(x)
    dims = _axes(x, axis, name)
    _warn_size_one(x, axis, dims, name, value)
    dtype = x.dtype
    if dtype == torch.float16 and x.device.type == "cpu":  # as Keras: compute half on CPU in float32
        x = x.float()
    if x.ndim == 0:
        out = fn(x.reshape(1), dim=0).reshape(())
    elif len(dims) == 1:
        out = fn(x, dim=dims[0])
    else:
        keep = [d for d in range(x.ndim) if d not in dims]
        moved = x.permute(*keep, *dims)
        flat = moved.reshape(*moved.shape[: len(keep)], -1)
        out = fn(flat, dim=-1).reshape(moved.shape)
        out = out.permute(*sorted(range(x.ndim), key=[*keep, *dims].__getitem__))
    return out.to(dtype)


def softmax(x: torch.Tensor, axis: Axis = -1) -> torch.Tensor:
    """``exp(x) / sum(exp(x), axis)``: a probability distribution along ``axis``.

    ``axis`` may be an int, a tuple of ints (the softmax runs over their joint elements) or None
    (all elements). Over an axis of size 1 the result is always 1.0, so a ``UserWarning`` says so.
    """
    out = _over_axes(x, axis, F.softmax, "softmax", "1.0")
    if isinstance(x, torch.Tensor) and isinstance(axis, int) and axis in (-1, x.ndim - 1) and out.dtype == x.dtype:
        _keep_logits(out, x, "softmax")
    return out


def log_softmax(x: torch.Tensor, axis: Axis = -1) -> torch.Tensor:
    """``x - logsumexp(x, axis)``, computed stably. Warns over an axis of size 1 (always 0.0)."""
    return _over_axes(x, axis, F.log_softmax, "log_softmax", "0.0")


def glu(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Gated linear unit: split ``x`` in halves ``a, b`` along ``axis``; return ``a * sigmoid(b)``.

    The output has half as many elements along ``axis``: ``Dense(8, activation='glu')`` outputs 4.
    """
    x = _tensor(x)
    (dim,) = _axes(x, axis, "glu")
    if x.shape[dim] % 2:
        raise ValueError(
            f"glu splits axis {axis} into two halves, so its size must be even; received a tensor "
            f"of shape {tuple(x.shape)}. Give the layer an even number of units."
        )
    return F.glu(x, dim=dim)


def sparsemax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Sparsemax (Martins & Astudillo, 2016): ``max(x - tau, 0)`` along ``axis``, where ``tau`` is
    chosen so the result sums to 1. Unlike softmax, it gives exact zeros.
    """
    x = _tensor(x)
    (dim,) = _axes(x, axis, "sparsemax")
    return sparsemax_along(x, dim)


def sparsemax_along(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Sparsemax's projection of a tensor along one axis, in ``x``'s dtype, without conversions or
    checks (shared with ``ops.nn.sparsemax``)."""
    srt, _ = torch.sort(x, dim=dim, descending=True)
    cum = torch.cumsum(srt, dim=dim)
    shape = [1] * x.ndim
    shape[dim] = -1
    r = torch.arange(1, x.shape[dim] + 1, device=x.device, dtype=x.dtype).view(shape)
    support = srt - (cum - 1) / r > 0
    k = torch.sum(support, dim=dim, keepdim=True)
    tau = (torch.sum(torch.where(support, cum, torch.zeros_like(cum)), dim=dim, keepdim=True) - 1) / k
    return torch.clamp(x - tau, min=0.0)


# ---------------------------------------------------------------------------------------------
# The registry: exactly Keras 3.15.1's activations.ALL_OBJECTS_DICT.

_BUILTINS = (
    relu, leaky_relu, relu6, softmax, celu, elu, selu, softplus, softsign, squareplus, soft_shrink,
    sparse_plus, silu, gelu, glu, tanh, tanh_shrink, threshold, sigmoid, sparse_sigmoid,
    exponential, hard_sigmoid, hard_silu, hard_tanh, hard_shrink, linear, mish, log_softmax,
    log_sigmoid, sparsemax,
)
ALL_OBJECTS: dict[str, Callable[..., torch.Tensor]] = {fn.__name__: fn for fn in _BUILTINS}
ALL_OBJECTS["swish"] = silu
ALL_OBJECTS["hard_swish"] = hard_silu
_NAME_OF: dict[int, str] = {id(fn): fn.__name__ for fn in _BUILTINS}

# PyTorch functions with exactly the Keras math *and defaults*, so they serialize under the Keras
# name. Others (F.leaky_relu: slope 0.01, not 0.2; F.softmax: no default dim) are refused.
_TORCH_EQUIVALENTS: dict[int, str] = {
    id(fn): name
    for fn, name in [
        (torch.relu, "relu"), (F.relu, "relu"), (torch.sigmoid, "sigmoid"), (F.sigmoid, "sigmoid"),
        (torch.tanh, "tanh"), (F.tanh, "tanh"), (F.silu, "silu"), (F.gelu, "gelu"), (F.elu, "elu"),
        (F.selu, "selu"), (torch.selu, "selu"), (F.celu, "celu"), (F.softplus, "softplus"),
        (F.softsign, "softsign"), (F.relu6, "relu6"), (F.mish, "mish"), (F.logsigmoid, "log_sigmoid"),
        (torch.exp, "exponential"), (F.hardswish, "hard_silu"), (F.hardsigmoid, "hard_sigmoid"),
        (F.hardtanh, "hard_tanh"), (F.tanhshrink, "tanh_shrink"), (F.softshrink, "soft_shrink"),
        (F.hardshrink, "hard_shrink"), (F.glu, "glu"),
    ]
}

_FOREIGN_NAMES = {  # names from PyTorch, papers and other libraries, for "did you mean" only
    "identity": "linear", "none": "linear", "logistic": "sigmoid", "exp": "exponential",
    "lrelu": "leaky_relu", "prelu": "leaky_relu", "hardswish": "hard_swish", "logsigmoid": "log_sigmoid",
    "swiglu": "glu", "gelu_tanh": "gelu", "gelu_new": "gelu", "relu_6": "relu6", "softmax2d": "softmax",
}

_THRESHOLD_BY_NAME = (
    "The 'threshold' activation cannot be used by name: threshold(x, threshold, default_value) "
    "needs two arguments that a name cannot carry (Keras 3 accepts the name and then fails at the "
    "layer's first call). Define a named function instead, e.g. "
    "`def my_threshold(x): return initium.activations.threshold(x, 0.5, 0.0)`, register it with "
    "@initium.saving.register_keras_serializable() and pass it as the activation, or use "
    "relu(x, threshold=...)."
)


def _suggest(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    low = name.lower().strip()
    for key in sorted(ALL_OBJECTS):
        if key == low or key.replace("_", "") == low.replace("_", "").replace("-", ""):
            return key
    if low in _FOREIGN_NAMES:
        return _FOREIGN_NAMES[low]
    close = difflib.get_close_matches(low, sorted(ALL_OBJECTS), n=1, cutoff=0.7)
    return close[0] if close else None


def _unknown(identifier: Any, name: Any = None) -> ValueError:
    hint = _suggest(identifier if name is None else name)
    did = f" Did you mean '{hint}'?" if hint else ""
    return ValueError(
        f"Could not interpret activation function identifier: {identifier!r}.{did} Valid names: "
        f"{', '.join(sorted(k for k in ALL_OBJECTS if k != 'threshold'))}. A custom activation must be "
        "a callable f(x), or a "
        "function registered with @initium.saving.register_keras_serializable() (or passed in "
        "custom_objects) to be loaded by name."
    )


def _lookup(name: str, custom_objects: dict[str, Any] | None) -> Any | None:
    found = registry.get_registered_object(name, custom_objects)
    if found is not None:
        return found
    if name == "threshold":
        raise ValueError(_THRESHOLD_BY_NAME)
    return ALL_OBJECTS.get(name)


def _instantiate(cls: type, config: Any) -> Any:
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise TypeError(f"The config of activation class {cls.__name__} must be a dict. Received: {config!r}")
    try:
        return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
    except TypeError as e:
        raise TypeError(f"Activation class {cls.__name__} could not be built from config={config!r}: {e}") from e


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """The activation function named by ``config``: a name (``'relu'``) or a Keras config dict.

    Accepts Keras's ``{'module': 'builtins', 'class_name': 'function', 'config': 'my>fn',
    'registered_name': 'function'}`` form for a registered function, and a ``{'class_name': C,
    'config': {...}}`` dict for a registered callable class. Only built-in, registered or
    ``custom_objects`` objects are returned; nothing named in a config is imported, and a
    ``'__lambda__'`` config is refused.

    >>> deserialize('swish') is silu
    True
    """
    if config is None:
        return None
    if isinstance(config, str):
        found = _lookup(config, custom_objects)
        if found is None:
            raise _unknown(config)
        return _instantiate(found, {}) if inspect.isclass(found) else found
    if not isinstance(config, dict):
        if callable(config):
            return config
        raise _unknown(config)
    if "class_name" not in config:
        raise ValueError(
            f"An activation config dict needs a 'class_name' key (and usually 'config'). Received: {config!r}"
        )
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "__lambda__":
        raise ValueError(
            "Refusing to load a lambda activation: that would execute code stored in the config. "
            "Define a named function, register it with @initium.saving.register_keras_serializable(), "
            "and save again."
        )
    if class_name in ("function", "builtin_function_or_method"):  # Keras's form for a named function
        fn = _lookup(inner, custom_objects) if isinstance(inner, str) else None
        if fn is None and isinstance(inner, str) and ">" in inner:
            fn = _lookup(inner.split(">", 1)[1], custom_objects)
        if fn is None or inspect.isclass(fn):
            hint = _suggest(inner)
            did = f" (did you mean the built-in '{hint}'?)" if hint else ""
            raise ValueError(
                f"The activation function {inner!r}{did} is not registered. Decorate it with "
                f"@initium.saving.register_keras_serializable() or pass custom_objects={{{inner!r}: fn}}."
            )
        return fn
    registered = config.get("registered_name")
    cls = None
    if registered and registered != class_name:
        cls = registry.get_registered_object(registered, custom_objects)
    if cls is None:
        cls = registry.get_registered_object(class_name, custom_objects)
    if cls is None and class_name in ALL_OBJECTS and not inner:
        return _lookup(class_name, custom_objects)
    if cls is None:
        raise _unknown(config, class_name)
    return _instantiate(cls, inner) if inspect.isclass(cls) else cls


def _is_lambda(fn: Any) -> bool:
    return getattr(fn, "__name__", None) == "<lambda>"


def serialize(activation: Any) -> Any:
    """The Keras config of an activation: its Keras name for a built-in (``'relu'``).

    - an alias serializes under the function's name (``swish`` gives ``'silu'``), and ``None`` gives
      ``'linear'``;
    - a PyTorch function with the same math and defaults gives the Keras name (``torch.tanh`` gives
      ``'tanh'``); other PyTorch functions raise;
    - a named function gives Keras's dict ``{'module': 'builtins', 'class_name': 'function',
      'config': 'package>name', 'registered_name': 'function'}``; loading it needs registration;
    - a callable object with ``get_config`` gives ``{'module', 'class_name', 'config', 'registered_name'}``;
    - a lambda or a ``functools.partial`` raises ``ValueError``: a file could only store its code.
    """
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return serialize(get(activation))
    key = id(activation)
    if key in _NAME_OF and ALL_OBJECTS.get(_NAME_OF[key]) is activation:
        return _NAME_OF[key]
    if key in _TORCH_EQUIVALENTS:
        return _TORCH_EQUIVALENTS[key]
    label = getattr(activation, "__qualname__", None) or repr(activation)
    if _is_lambda(activation) or isinstance(activation, functools.partial):
        kind = "a lambda" if _is_lambda(activation) else "a functools.partial"
        raise ValueError(
            f"Cannot serialize {kind} activation ({label}): a file would have to store its code. "
            "Define a named function (def my_activation(x): ...) and register it with "
            "@initium.saving.register_keras_serializable()."
        )
    if inspect.isfunction(activation) or inspect.isbuiltin(activation) or inspect.ismethod(activation):
        module = getattr(activation, "__module__", None) or ""
        if module == "torch" or module.startswith("torch."):
            raise ValueError(
                f"Cannot serialize the PyTorch function {module}.{activation.__name__} as an activation: "
                "no Keras activation has the same math and defaults. Use the initium.activations "
                "function of that name (e.g. leaky_relu has Keras's negative_slope=0.2, PyTorch's "
                "is 0.01), or a registered named function."
            )
        return {"module": "builtins", "class_name": "function",
                "config": registry.get_registered_name(activation), "registered_name": "function"}
    if callable(activation) and hasattr(activation, "get_config"):
        cls = type(activation)
        return {"module": None, "class_name": cls.__name__, "config": activation.get_config(),
                "registered_name": registry.get_registered_name(cls)}
    raise ValueError(
        f"Cannot serialize activation {activation!r} (of type {type(activation).__name__}). Use a "
        "Keras name such as 'relu', a registered named function, or a registered callable class "
        "with get_config()."
    )


def get(identifier: Any) -> Callable[..., Any]:
    """Resolve an activation: None (``linear``), a name, a Keras config dict, or a callable.

    >>> get(None) is linear, get('swish') is silu
    (True, True)
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret activation function identifier: {identifier!r} (of type "
        f"{type(identifier).__name__}). Expected a name such as 'relu', a callable f(x), a config "
        "dict, or None (linear)."
    )
