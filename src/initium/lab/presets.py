"""Other frameworks' default initializers: ``use_preset(model, name)`` and ``with preset(name):``.

The same architecture starts differently in Keras, PyTorch and Flax because their layers have
different default initializers. ``PRESETS`` names them:

- ``"keras"``: Dense/Conv/ConvTranspose/Depthwise/Separable kernels ``glorot_uniform``, biases
  zeros; Embedding ``RandomUniform(-0.05, 0.05)``; SimpleRNN/LSTM/GRU kernel ``glorot_uniform``,
  recurrent kernel ``orthogonal``, bias zeros (LSTM: +1 on the forget gate).
- ``"torch"``: Linear/Conv kernels *and* biases ``TorchDefault``, U(±1/sqrt(fan_in)) with the
  layer's true fan_in; Embedding ``RandomNormal(0, 1)``; RNN kernel, recurrent kernel and bias
  all ``RandomUniform(±1/sqrt(units))``.
- ``"flax"``: kernels ``lecun_normal`` (truncated normal with std sqrt(1/fan_in), as Keras's
  ``LecunNormal``), biases zeros; Embed ``RandomNormal(0, 1/sqrt(output_dim))`` (Flax's
  ``variance_scaling(1, "fan_in", "normal", out_axis=0)``); RNN kernel ``lecun_normal``,
  recurrent kernel ``orthogonal``, bias zeros.

fan_in is each framework's own: torch's is ``in`` for a Linear, ``in/groups·prod(kernel_size)``
for a convolution, ``filters·prod(kernel_size)`` for a transposed one and ``prod(kernel_size)``
for a depthwise one (``groups=in``); Flax's depthwise convolution (``feature_group_count=in``)
and transposed convolution (fan_in ``in·prod(kernel_size)``) get ``LecunNormal`` with
``input_axes`` that select those axes. Separable convolutions are treated as a depthwise
convolution followed by a 1x1 one (whose bias is the layer's bias). Deviations that a per-tensor
initializer cannot express: torch's LSTM/GRU have two biases, each U(±1/sqrt(units)), where
Keras has one (GRU's ``reset_after`` bias ``(2, 3·units)`` matches torch's pair exactly); Flax
draws one orthogonal ``(units, units)`` block per gate where the preset draws one
``(units, gates·units)`` orthogonal matrix. ``unit_forget_bias`` is True for "keras" and False
for "torch" and "flax" (neither adds 1 to the forget gate).

Two ways to apply a preset:

- ``use_preset(model, "torch", seed=None)`` on a built model: every supported layer gets the
  preset's initializers (the layer's ``kernel_initializer`` etc. and each weight's
  ``Variable.initializer``, so ``reinitialize`` and saved configs agree) and those weights are
  re-drawn in place. Unsupported layers keep theirs. It returns one ``PresetChange`` per re-drawn
  weight: ``(layer, weight, old, new)``.
- ``with preset("torch"):`` — layers *created* inside the block get the preset's initializers
  for every initializer argument the caller did not pass (an explicit ``kernel_initializer=...``
  wins; an explicit ``None`` counts as not passed). It works by wrapping, once, the ``__init__``
  of the supported layer classes; the wrapper does nothing unless a preset is active *in the
  calling thread* (a thread-local stack, so blocks nest and threads do not see each other's).

Deferred fan_in (torch preset, at creation): a Dense or convolution kernel's fan_in can be read
from its shape when it is drawn, but a bias's cannot, and the input size is unknown until build.
So the bias's ``TorchDefault`` is given a private resolver that, when the bias is drawn, reads
the fan_in from the layer's kernel (every supported layer creates its kernel before its bias)
and stores it in ``fan_in``, so the config saved afterwards holds the number. A layer cloned from
config *before* it was built has a plain ``TorchDefault(fan_in=None)`` bias and raises a clear
error at build; ``use_preset`` after building fixes that.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import threading
from typing import Any, Callable, Iterator, NamedTuple

import torch

__all__ = ["PRESETS", "use_preset", "preset", "PresetChange"]

PRESETS: dict[str, str] = {
    "keras": "Keras 3: glorot_uniform kernels, zero biases, Embedding U(±0.05), RNN orthogonal recurrent "
             "kernels and unit forget bias.",
    "torch": "PyTorch: Linear/Conv kernels and biases U(±1/sqrt(fan_in)), Embedding N(0, 1), RNN weights "
             "and biases U(±1/sqrt(units)).",
    "flax": "Flax (linen): lecun_normal kernels, zero biases, Embed N(0, 1/output_dim), RNN orthogonal "
            "recurrent kernels.",
}
_ALIASES = {"pytorch": "torch", "jax": "flax", "linen": "flax", "tf": "keras", "tensorflow": "keras",
            "tf.keras": "keras"}
_INIT_ARGS = ("kernel_initializer", "bias_initializer", "recurrent_initializer", "depthwise_initializer",
              "pointwise_initializer", "embeddings_initializer", "unit_forget_bias")


class PresetChange(NamedTuple):
    """One weight that ``use_preset`` re-drew: the layer's path, the weight's path, and the
    initializers before and after."""

    layer: str
    weight: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.weight}: {self.old!r} -> {self.new!r}"


def _check_name(name: Any, owner: str) -> str:
    if not isinstance(name, str):
        raise TypeError(
            f"{owner}: the preset name must be a string, one of {sorted(PRESETS)}. Received: {name!r} "
            f"(of type {type(name).__name__})"
        )
    low = name.lower()
    if low in PRESETS:
        return low
    hint = _ALIASES.get(low)
    if hint is None:
        close = difflib.get_close_matches(low, sorted(PRESETS), n=1, cutoff=0.6)
        hint = close[0] if close else None
    did = f" Did you mean '{hint}'?" if hint else ""
    raise ValueError(f"{owner}: unknown preset {name!r}.{did} Valid presets: {', '.join(sorted(PRESETS))}.")


# --------------------------------------------------------------------------------------------- what each layer gets
def _kind(layer: Any) -> str | None:
    from initium.layers import conv, core, embedding, recurrent

    if isinstance(layer, core.Dense):
        return "dense"
    if isinstance(layer, conv._DepthwiseConv):
        return "depthwise"
    if isinstance(layer, conv._SeparableConv):
        return "separable"
    if isinstance(layer, conv._ConvTranspose):
        return "conv_t"
    if isinstance(layer, conv._Conv):
        return "conv"
    if isinstance(layer, embedding.Embedding):
        return "embedding"
    if isinstance(layer, recurrent._Cell):
        return "cell"
    return None


# (initializer attribute, weight attribute) per kind; the kernel comes before the bias.
_SLOTS = {
    "dense": (("kernel_initializer", "kernel"), ("bias_initializer", "bias")),
    "conv": (("kernel_initializer", "kernel"), ("bias_initializer", "bias")),
    "conv_t": (("kernel_initializer", "kernel"), ("bias_initializer", "bias")),
    "depthwise": (("depthwise_initializer", "kernel"), ("bias_initializer", "bias")),
    "separable": (("depthwise_initializer", "depthwise_kernel"), ("pointwise_initializer", "pointwise_kernel"),
                  ("bias_initializer", "bias")),
    "embedding": (("embeddings_initializer", "embeddings"),),
    "cell": (("kernel_initializer", "kernel"), ("recurrent_initializer", "recurrent_kernel"),
             ("bias_initializer", "bias")),
}


class _FanInFromKernel:
    """Reads a torch-style fan_in from the layer's kernel when the bias is drawn (see the module
    docstring). Holds the layer until then; picklable and deep-copyable with it."""

    def __init__(self, layer: Any, weight: str) -> None:
        self.layer, self.weight = layer, weight

    def __call__(self) -> int:
        kernel = getattr(self.layer, self.weight, None)
        if kernel is None:
            from initium.initializers.data import _NEEDS_FAN_IN

            raise ValueError(f"TorchDefault for the bias of layer '{self.layer.name}': {_NEEDS_FAN_IN}.")
        return max(1, math.prod(int(d) for d in tuple(kernel.shape)[:-1]))


def _rank(layer: Any) -> int:
    return len(layer.kernel_size)


def _torch(layer: Any, kind: str, built: bool) -> dict[str, Any]:
    from initium.initializers import RandomNormal, RandomUniform, TorchDefault

    if kind == "embedding":
        return {"embeddings_initializer": RandomNormal(0.0, 1.0)}
    if kind == "cell":
        b = 1.0 / math.sqrt(layer.units)
        return {a: RandomUniform(-b, b) for a in ("kernel_initializer", "recurrent_initializer", "bias_initializer")}
    if kind in ("depthwise", "conv_t"):
        if kind == "depthwise":
            fan_in = math.prod(layer.kernel_size)
        else:
            fan_in = math.prod(layer.kernel_size) * layer.filters // getattr(layer, "groups", 1)
        first = "depthwise_initializer" if kind == "depthwise" else "kernel_initializer"
        return {first: TorchDefault(fan_in=fan_in), "bias_initializer": TorchDefault(fan_in=fan_in)}
    out: dict[str, Any] = {}
    if kind == "separable":
        out["depthwise_initializer"] = TorchDefault(fan_in=math.prod(layer.kernel_size))
        attr, weight = "pointwise_initializer", "pointwise_kernel"
    else:
        attr, weight = "kernel_initializer", "kernel"
    if built and getattr(layer, weight, None) is not None:
        fan_in = max(1, math.prod(int(d) for d in tuple(getattr(layer, weight).shape)[:-1]))
        out[attr], out["bias_initializer"] = TorchDefault(fan_in=fan_in), TorchDefault(fan_in=fan_in)
    else:
        bias = TorchDefault()
        bias._fan_in_from = _FanInFromKernel(layer, weight)
        out[attr], out["bias_initializer"] = TorchDefault(), bias
    return out


def _keras(layer: Any, kind: str, built: bool) -> dict[str, Any]:
    from initium.initializers import GlorotUniform, Orthogonal, RandomUniform, Zeros

    if kind == "embedding":
        return {"embeddings_initializer": RandomUniform(-0.05, 0.05)}
    if kind == "cell":
        return {"kernel_initializer": GlorotUniform(), "recurrent_initializer": Orthogonal(),
                "bias_initializer": Zeros()}
    return {attr: (Zeros() if attr == "bias_initializer" else GlorotUniform()) for attr, _ in _SLOTS[kind]}


def _flax(layer: Any, kind: str, built: bool) -> dict[str, Any]:
    from initium.initializers import LecunNormal, Orthogonal, RandomNormal, Zeros

    if kind == "embedding":
        return {"embeddings_initializer": RandomNormal(0.0, 1.0 / math.sqrt(layer.output_dim))}
    if kind == "cell":
        return {"kernel_initializer": LecunNormal(), "recurrent_initializer": Orthogonal(),
                "bias_initializer": Zeros()}
    out: dict[str, Any] = {"bias_initializer": Zeros()}
    if kind in ("depthwise", "separable"):
        r = _rank(layer)  # kernel (*k, in, multiplier): flax's fan_in is prod(k) (feature_group_count=in)
        out["depthwise_initializer"] = LecunNormal(input_axes=list(range(r)), output_axes=list(range(r + 2)))
        if kind == "separable":
            out["pointwise_initializer"] = LecunNormal()
    elif kind == "conv_t":
        r = _rank(layer)  # kernel (*k, filters, in): flax's fan_in is in·prod(k)
        out["kernel_initializer"] = LecunNormal(input_axes=[*range(r), r + 1], output_axes=list(range(r + 1)))
    else:
        out["kernel_initializer"] = LecunNormal()
    return out


_BUILDERS: dict[str, Callable[[Any, str, bool], dict[str, Any]]] = {"keras": _keras, "torch": _torch, "flax": _flax}


def _plan(layer: Any, name: str, built: bool) -> tuple[str | None, dict[str, Any]]:
    kind = _kind(layer)
    if kind is None:
        return None, {}
    return kind, _BUILDERS[name](layer, kind, built)


def _forget_bias(name: str) -> bool:
    return name == "keras"


# --------------------------------------------------------------------------------------------- use_preset
def use_preset(model: Any, name: str, seed: int | None = None) -> list[PresetChange]:
    """Give every supported layer of a built ``model`` the default initializers of framework
    ``name`` (``"keras"``, ``"torch"`` or ``"flax"``; see ``PRESETS``) and re-draw those weights
    in place.

    Args:
        model: a built layer or model (all its sub-layers are visited).
        name: the preset.
        seed: None (draw from the global stream) or an int: the weights a model built with these
            initializers right after ``initium.random.set_random_seed(seed)`` would have.

    Returns:
        One ``PresetChange(layer, weight, old, new)`` per re-drawn weight.

    >>> changes = use_preset(model, "torch")
    >>> print(*changes, sep="\\n")
    sequential/dense/kernel: GlorotUniform(...) -> TorchDefault(seed=None, fan_in=256)
    ...
    """
    from initium import backend, initializers
    from initium import random as irandom
    from initium.layers.layer import Layer
    from initium.layers.recurrent import LSTMCell, _UnitForgetBias

    name = _check_name(name, "use_preset")
    if not isinstance(model, Layer):
        raise TypeError(
            f"use_preset: `model` must be an initium model or layer. Received: {model!r} (of type "
            f"{type(model).__name__})"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"use_preset: `seed` must be None or a non-negative int. Received: seed={seed!r}")
    if not model.built:
        raise ValueError(
            f"use_preset: model '{model.name}' is not built, so it has no weights to re-draw. Build it first "
            f"(model.build(input_shape), or call it on a batch of data), or create its layers inside "
            f"`with initium.lab.preset({name!r}):`."
        )
    changes: list[PresetChange] = []
    changed_layers: list[Any] = []
    for layer in model._flatten_layers(include_self=True):
        built = bool(layer.built)
        kind, plan = _plan(layer, name, built)
        if kind is None:
            continue
        if isinstance(layer, LSTMCell):
            layer.unit_forget_bias = _forget_bias(name)
        for attr, weight_attr in _SLOTS[kind]:
            new = plan[attr]
            setattr(layer, attr, new)
            v = getattr(layer, weight_attr, None) if built else None
            if v is None:
                continue
            var_init = new
            if attr == "bias_initializer" and isinstance(layer, LSTMCell) and layer.unit_forget_bias:
                var_init = _UnitForgetBias(new, layer.units)
            old = v.initializer
            v.initializer = var_init
            if seed is None:  # with a seed, all are drawn below, in creation order
                with irandom.record_keys() as keys:
                    value = initializers.initialize(var_init, tuple(v.shape), backend.standardize_dtype(v.dtype),
                                                    device=v.device, name=v.path)
                with torch.no_grad():
                    v.copy_(value)
                v.init_keys = tuple(keys)
            changes.append(PresetChange(layer.path, v.path, old, var_init))
            if not any(layer is c for c in changed_layers):
                changed_layers.append(layer)
    if seed is not None and changed_layers:
        # As if the model had been built with these initializers right after set_random_seed(seed).
        model.reinitialize(layers=changed_layers, seed=seed)
    return changes


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return False


# --------------------------------------------------------------------------------------------- preset(...)
_state = threading.local()
_install_lock = threading.Lock()
_installed = False


def _active() -> str | None:
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else None


def _roots() -> list[type]:
    from initium.layers import conv, core, embedding, recurrent

    return [core.Dense, conv._Conv, conv._ConvTranspose, conv._DepthwiseConv, conv._SeparableConv,
            embedding.Embedding, recurrent._Cell, recurrent.SimpleRNN, recurrent.LSTM, recurrent.GRU]


def _subclasses(cls: type) -> Iterator[type]:
    yield cls
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("initium.layers"):
            yield from _subclasses(sub)


def _install() -> None:
    """Wrap, once and for good, the ``__init__`` of every built-in class that defines one under
    the supported roots. The wrapper is inert unless ``preset`` is active in the calling thread."""
    global _installed
    with _install_lock:
        if _installed:
            return
        seen: set[type] = set()
        for root in _roots():
            for cls in _subclasses(root):
                if cls in seen or "__init__" not in cls.__dict__:
                    continue
                seen.add(cls)
                original = cls.__dict__["__init__"]
                if not getattr(original, "_initium_preset", False):
                    cls.__init__ = _wrap_init(original)
        _installed = True


def _wrap_init(original: Callable[..., None]) -> Callable[..., None]:
    sig = inspect.signature(original)
    var_kw = next((p.name for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD), None)

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        name = _active()
        if name is None:
            return
        try:
            bound = sig.bind(self, *args, **kwargs).arguments
        except TypeError:  # the original accepted it, so this cannot happen; stay inert if it does
            return
        given = dict(bound)
        if var_kw is not None:
            given.update(given.pop(var_kw, {}) or {})
        explicit = {k for k in _INIT_ARGS if given.get(k) is not None}
        _apply_at_creation(self, name, explicit)

    __init__._initium_preset = True  # type: ignore[attr-defined]
    return __init__


def _apply_at_creation(layer: Any, name: str, explicit: set[str]) -> None:
    from initium.layers.recurrent import LSTMCell, RNN

    target = layer.cell if isinstance(layer, RNN) else layer
    kind, plan = _plan(target, name, built=False)
    if kind is None:
        return
    for attr, new in plan.items():
        if attr not in explicit:
            setattr(target, attr, new)
    if isinstance(target, LSTMCell) and "unit_forget_bias" not in explicit:
        target.unit_forget_bias = _forget_bias(name)


class preset:
    """``with preset("torch"):`` — layers created in the block get that framework's default
    initializers for the arguments not passed explicitly (see the module docstring).

    The effect is limited to the calling thread; blocks nest (the innermost wins). Layers created
    after the block, and layers loaded from a file (their configs name every initializer), are
    untouched.

    >>> with preset("torch"):
    ...     model = Sequential([Input((256,)), Dense(128), Dense(10, kernel_initializer="zeros")])
    """

    def __init__(self, name: str) -> None:
        self.name = _check_name(name, "preset")

    def __enter__(self) -> "preset":
        _install()
        stack = getattr(_state, "stack", None)
        if stack is None:
            stack = _state.stack = []
        stack.append(self.name)
        return self

    def __exit__(self, *exc: Any) -> bool:
        _state.stack.pop()
        return False

    def __repr__(self) -> str:
        return f"preset({self.name!r})"
