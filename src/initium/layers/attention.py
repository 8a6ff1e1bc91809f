"""Attention layers: MultiHeadAttention, GroupQueryAttention, Attention (dot-product) and AdditiveAttention.

Multi-head layers (``MultiHeadAttention``, ``GroupQueryAttention``) project ``query``, ``key`` and
``value`` with ``EinsumDense`` sub-layers, attend per head, and project back with a fourth one.
Their weights are Keras's, in Keras's order: ``query`` kernel and bias, ``key``, (``gate`` when
``use_gate``), ``value``, then ``attention_output``; each kernel is drawn by ``kernel_initializer``
with the projection's own fans (``EinsumDense`` gives a VarianceScaling initializer the
equation's axes), each bias by ``bias_initializer``. Called as ``layer(query, value, key=None,
...)``, they build on the first call from all three shapes.

Masks combine as in Keras, into one boolean ``(batch, T, S)`` mask (True = attend):

- the Keras masks (``_keras_mask``, e.g. from ``Embedding(mask_zero=True)``) of ``query``,
  ``value`` and ``key``, or ``query_mask`` / ``value_mask`` / ``key_mask`` passed explicitly:
  ``query_mask[:, :, None] & value_mask[:, None, :] & key_mask[:, None, :]``;
- ``use_causal_mask=True``: query position ``i`` sees key positions ``j <= i``;
- ``sliding_window=w``: only ``|i - j| < w``;
- ``attention_mask``, any shape that broadcasts to ``(batch, T, S)`` (or with a heads axis).

The output carries the query's mask. Two deliberate differences from Keras's ``MultiHeadAttention``:

- Keras ignores an explicit ``query_mask`` argument (it reads only the query's own mask); initium
  uses it.
- Keras deletes the Keras masks of the tensors it was given (to silence a warning of its inner
  layers; keras-team/keras#20594). In a Keras functional model, single-input layers with a
  ``mask`` argument (pooling, RNNs) still get the masks, which Keras also propagates through the
  graph as if nothing were deleted; but the layers that read the masks of those tensors, or of
  tensors computed from them, when they run (a second transformer block's attention, ``Attention``
  on a list, ``Maximum``) get none. initium keeps the masks for all of them: padding stays masked
  in every block, and a single block followed by pooling gives Keras's numbers.

Two computation paths, chosen as in Keras, and with Keras's numbers on both:

- fused (``initium.ops.nn.dot_product_attention``, torch's scaled-dot-product kernels, flash
  attention when ``flash_attention`` allows it) when there is no dropout, no
  ``return_attention_scores`` and one attention axis. A query row whose keys are all masked
  attends uniformly to every key there.
- explicit (einsum, masked softmax, dropout on the probabilities) otherwise. A fully masked row
  has probabilities 0 and gives 0 before the output projection.

Dropout is an inner ``Dropout`` layer (seeded with ``seed``: reproducible masks), active only in
training. ``flash_attention``: ``True`` requires torch's flash kernel (an error where it cannot run,
e.g. on the CPU, and with ``dropout > 0`` or ``return_attention_scores``); ``None`` lets torch
choose; ``False`` never uses it (in Keras ``False`` means ``None`` unless flash attention is
disabled globally). It is not part of the config, as in Keras.

``Attention`` and ``AdditiveAttention`` take ``[query, value]`` or ``[query, value, key]`` and an
optional ``mask=[query_mask, value_mask]`` (by default the inputs' Keras masks); their dropout
draws from ``initium.random`` with the layer's ``SeedGenerator`` (reproducible from ``seed``).
"""

from __future__ import annotations

import inspect
import math
import numbers
import string
from typing import Any

import numpy as np
import torch

from initium import backend, regularizers
from initium import random as irandom
from initium.layers.einsum_dense import KERNEL_BIAS_OPTIONS, EinsumDense, kernel_bias_config, set_kernel_bias_options
from initium.layers.layer import Layer
from initium.layers.regularization import Dropout
from initium.layers.serialization import check_shape_structure, register_layer
from initium.layers.symbolic import KerasTensor, is_symbolic, shape_of

__all__ = ["MultiHeadAttention", "GroupQueryAttention", "Attention", "AdditiveAttention"]

_INPUT_NAMES = ("query", "value", "key")


# ------------------------------------------------------------------------------------------- arguments
def _where(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _positive_int(where: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"Received an invalid value for argument `{arg}`, expected a positive integer. "
                         f"Received: {arg}={value!r} (in {where}).")
    return int(value)


def _rate(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid value received for argument `dropout`. Expected a float value between 0 and 1. "
                        f"Received: dropout={value!r} (of type {type(value).__name__}) (in {where}).")
    if not 0 <= value <= 1:
        raise ValueError(f"Invalid value received for argument `dropout`. Expected a float value between 0 and 1. "
                         f"Received: dropout={value} (in {where}).")
    return value


def _seed(where: str, value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
        raise ValueError(f"Argument `seed` must be an integer. Received: seed={value!r} (in {where}). Pass an int "
                         "for reproducible dropout masks, or None.")
    return None if value is None else int(value)


def _sliding_window(where: str, value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError(f"`sliding_window` must be `None` or a positive integer. Received: sliding_window={value!r} "
                         f"(in {where}).")
    return value


def _bool_arg(where: str, arg: str, value: Any, allow_none: bool = False) -> Any:
    if not (isinstance(value, bool) or (allow_none and value is None)):
        allowed = "True, False or None" if allow_none else "True or False"
        raise TypeError(f"`{arg}` must be {allowed}. Received: {arg}={value!r} (in {where}).")
    return value


def _check_value_key(where: str, value_shape: tuple, key_shape: tuple) -> None:
    if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
        raise ValueError(f"All dimensions of `value` and `key`, except the last one, must be equal. Received: "
                         f"value_shape={value_shape} and key_shape={key_shape} (in {where}).")


def _input_shape(x: Any) -> tuple:
    if isinstance(x, (KerasTensor, torch.Tensor, np.ndarray)):
        return tuple(shape_of(x))
    return tuple(np.shape(x))


# ------------------------------------------------------------------------------------------- masks
def _as_mask(mask: Any, device: torch.device) -> torch.Tensor:
    """A boolean tensor (True = attend): nonzero entries of numeric masks count as True."""
    mask = mask if isinstance(mask, torch.Tensor) else torch.as_tensor(np.asarray(mask))
    mask = mask.to(device)
    return mask if mask.dtype == torch.bool else mask != 0


def _causal_mask(t: int, s: int, device: torch.device) -> torch.Tensor:
    """``(1, t, s)``: query ``i`` sees keys ``j <= i``."""
    return torch.ones(t, s, dtype=torch.bool, device=device).tril().unsqueeze(0)


def _window_mask(t: int, s: int, window: int, device: torch.device) -> torch.Tensor:
    """``(1, t, s)``: query ``i`` sees keys with ``|i - j| < window``."""
    rows = torch.arange(t, device=device).unsqueeze(1)
    cols = torch.arange(s, device=device).unsqueeze(0)
    return ((rows - cols).abs() < window).unsqueeze(0)


def _and(a: torch.Tensor | None, b: torch.Tensor) -> torch.Tensor:
    return b if a is None else a & b


def _check_mask_shape(where: str, arg: str, mask: torch.Tensor, expected: tuple, what: str) -> None:
    """An input's mask has the input's shape without the features axis (size-1 axes broadcast)."""
    if mask.ndim != len(expected) or not all(m in (1, e) for m, e in zip(mask.shape, expected)):
        raise ValueError(f"{where}: `{arg}` must have the shape of its input without the features axis, {what} = "
                         f"{tuple(expected)}. Received: {arg}.shape={tuple(mask.shape)}. A Keras mask comes from "
                         "e.g. Embedding(mask_zero=True) on the same ids as the input.")


def _expanded_mask(where: str, mask: torch.Tensor, scores_shape: tuple, axis: int, layout: str) -> torch.Tensor:
    """``mask`` with size-1 axes inserted at ``axis`` up to the scores' rank (Keras's expansion from
    the heads axis); it must then broadcast to the scores (each axis 1 or equal)."""
    given = tuple(mask.shape)
    while mask.ndim < len(scores_shape):
        mask = mask.unsqueeze(axis)
    if mask.ndim > len(scores_shape) or not all(m in (1, s) for m, s in zip(mask.shape, scores_shape)):
        raise ValueError(f"{where}: the attention mask of shape {given} does not broadcast to the "
                         f"attention scores {layout} = {tuple(scores_shape)}. Pass `attention_mask` of shape "
                         "(batch, query length, key length), 1 = attend; its batch axis may be 1.")
    return mask


_SIGNATURES: dict[type, inspect.Signature] = {}


def _signature(call: Any) -> inspect.Signature:
    """The signature of a bound ``call`` (cached per class: the call path is hot)."""
    cls = type(call.__self__)
    if cls not in _SIGNATURES:
        _SIGNATURES[cls] = inspect.signature(call)
    return _SIGNATURES[cls]


def _input_masks(bound: dict[str, Any], positional: list[str]) -> dict[str, Any]:
    """The ``<input>_mask`` arguments Keras's ``__call__`` fills in: for each of ``query``,
    ``value`` and ``key`` given as a tensor with a Keras mask, when its mask was not passed
    (``bound``: the call's arguments by name; ``positional``: the names passed by position)."""
    out = {}
    for name in _INPUT_NAMES:
        mask = getattr(bound.get(name), "_keras_mask", None)
        if mask is not None and bound.get(f"{name}_mask") is None and f"{name}_mask" not in positional:
            out[f"{name}_mask"] = mask
    return out


# ------------------------------------------------------------------------------------------- equations
def _projection_equation(free: int, bound: int, out: int) -> tuple[str, str]:
    """The einsum of a projection: ``free`` axes pass through, ``bound`` are summed with the
    kernel, ``out`` come from it; returns the equation and the bias letters (the ``out`` ones)."""
    letters = string.ascii_lowercase
    passed, summed, made = letters[:free], letters[free:free + bound], letters[free + bound:free + bound + out]
    return f"{passed}{summed},{summed}{made}->{passed}{made}", made


def _attention_equations(rank: int, axes: tuple[int, ...]) -> tuple[str, str]:
    """Einsums for projected tensors of ``rank`` (``batch, ..., heads, channels``) attending over
    ``axes``: ``key, query -> scores`` and ``scores, value -> output``.

    The scores put the other axes first (batch, non-attention axes, heads), then the query's
    attention axes, then the key's."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    others = [i for i in range(rank - 1) if i not in axes]
    fresh = iter(letters[rank:])
    source = "".join(next(fresh) if i in axes else target[i] for i in range(rank))
    scores = "".join([target[i] for i in others] + [target[i] for i in axes] + [source[i] for i in axes])
    return f"{source},{target}->{scores}", f"{scores},{source}->{target}"


# ------------------------------------------------------------------------------------------- multi-head base
class _MultiHeadBase(Layer):
    """What ``MultiHeadAttention`` and ``GroupQueryAttention`` share: arguments, the build from
    the three input shapes, mask combination, the two attention paths and the output mask.

    Subclasses set in ``build``: ``_dot_equation`` / ``_combine_equation`` (``key, query ->
    scores`` and ``scores, value -> output`` on projected tensors), ``_softmax_axes``,
    ``_mask_axis`` (where a mask gets its missing axes) and ``_scale``; and implement
    ``_project(query, value, key) -> (q, k, v, gate)`` and ``_scores_layout``.
    """

    def __init__(self, dropout: float, use_bias: bool, sliding_window: Any, flash_attention: Any,
                 kernel_initializer: Any, bias_initializer: Any, kernel_regularizer: Any, bias_regularizer: Any,
                 kernel_constraint: Any, bias_constraint: Any, use_gate: bool, seed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        where = _where(self)
        self.supports_masking = True
        self.dropout = _rate(where, dropout)
        self.use_bias = bool(use_bias)
        self.use_gate = _bool_arg(where, "use_gate", use_gate)
        self.sliding_window = _sliding_window(where, sliding_window)
        self._flash_attention = _bool_arg(where, "flash_attention", flash_attention, allow_none=True)
        set_kernel_bias_options(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                                kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                                kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.seed = _seed(where, seed)
        if self._flash_attention and self.dropout > 0:
            raise ValueError(f"Dropout is not supported when flash attention is enabled. Please set dropout to 0.0 to "
                             f"use flash attention, or flash_attention=None (in {where}).")
        self._build_shapes: dict[str, tuple] | None = None

    # ------------------------------------------------------------------ building
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Build from the query, value and key shapes, then fill the masks in as Keras's ``__call__``."""
        signature = _signature(self.call)
        try:
            bound = signature.bind(*args, **kwargs).arguments
        except TypeError as e:
            raise TypeError(f"{_where(self)}: {e}. Call it as layer(query, value, key=None, attention_mask=None, "
                            "...).") from None
        if not self.built:  # positionally: the base's build wrapper takes the first shape as `input_shape`
            self.build(*(None if bound.get(n) is None else _input_shape(bound[n]) for n in _INPUT_NAMES))
        if not is_symbolic((args, kwargs)):
            kwargs.update(_input_masks(bound, list(signature.parameters)[:len(args)]))
        return super().__call__(*args, **kwargs)

    def _record_shapes(self, query_shape: Any, value_shape: Any, key_shape: Any) -> tuple[tuple, tuple, tuple]:
        """Check the build shapes (same rank, value and key agree, known feature sizes) and keep
        them for ``get_build_config``; returns them as tuples, ``key_shape`` defaulting to ``value_shape``."""
        where = _where(self)
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        given_key = key_shape is not None
        key_shape = tuple(key_shape) if given_key else value_shape
        _check_value_key(where, value_shape, key_shape)
        if not len(query_shape) == len(value_shape) == len(key_shape):
            raise ValueError(f"{where}: `query`, `value` and `key` must have the same rank (batch, positions..., "
                             f"features). Received: query_shape={query_shape}, value_shape={value_shape}, "
                             f"key_shape={key_shape}.")
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) < 3 or shape[-1] is None:
                raise ValueError(f"{where}: `{name}` must have shape (batch, positions..., features) with a known "
                                 f"number of features. Received: {name}_shape={shape}.")
        self._build_shapes = {"query_shape": query_shape, "value_shape": value_shape}
        if given_key:
            self._build_shapes["key_shape"] = key_shape
        return query_shape, value_shape, key_shape

    def _common_kwargs(self) -> dict[str, Any]:
        """The arguments every projection shares."""
        return {**{name: getattr(self, name) for name in KERNEL_BIAS_OPTIONS},
                "activity_regularizer": self._projection_activity_regularizer(), "dtype": self.dtype}

    def _projection_activity_regularizer(self) -> Any:
        return self.activity_regularizer

    def _make_attention_layers(self) -> None:
        """The inner Dropout, created where Keras creates its Softmax and Dropout layers (so
        automatic layer names stay in step with Keras's: ``softmax``, ``dropout`` are taken)."""
        backend.unique_name("softmax")  # Keras's inner Softmax layer; initium computes it inline
        self._dropout_layer = Dropout(rate=self.dropout, seed=self.seed, dtype=self.dtype)

    def get_build_config(self) -> dict[str, Any] | None:
        return None if self._build_shapes is None else {"shapes_dict": dict(self._build_shapes)}

    def build_from_config(self, config: dict[str, Any]) -> None:
        shapes = config.get("shapes_dict")
        if shapes is None and config.get("input_shape") is None:
            return
        names = {f"{n}_shape" for n in _INPUT_NAMES}
        if not isinstance(shapes, dict) or not {"query_shape", "value_shape"} <= set(shapes) <= names:
            raise ValueError(f"{_where(self)}: build_config must be {{'shapes_dict': {{'query_shape': [...], "
                             f"'value_shape': [...]}}}} (and optionally 'key_shape'). Received: {config!r}")
        for name, shape in shapes.items():
            check_shape_structure(shape, f"build_config['shapes_dict']['{name}']", nested=False)
        self.build(*(None if shapes.get(f"{n}_shape") is None else tuple(shapes[f"{n}_shape"]) for n in _INPUT_NAMES))

    # ------------------------------------------------------------------ calling
    def call(self, query: Any, value: Any, key: Any = None, query_mask: Any = None, value_mask: Any = None,
             key_mask: Any = None, attention_mask: Any = None, return_attention_scores: bool = False,
             training: Any = None, use_causal_mask: bool = False) -> Any:
        value = self._convert(value)
        key = value if key is None else self._convert(key)
        self._check_inputs(query, value, key)
        device = query.device
        masks = {name: None if m is None else _as_mask(m, device)
                 for name, m in (("query_mask", query_mask), ("value_mask", value_mask), ("key_mask", key_mask))}
        for (name, m), t in zip(masks.items(), (query, value, key)):
            if m is not None:
                _check_mask_shape(_where(self), name, m, tuple(t.shape[:-1]), f"{name[:-5]}.shape[:-1]")
        causal_only = (use_causal_mask and attention_mask is None and self.sliding_window is None
                       and all(m is None for m in masks.values()))
        mask = None if causal_only else self._combined_mask(query, value, masks, attention_mask, use_causal_mask)
        q, k, v, gate = self._project(query, value, key)
        if mask is not None:
            mask = _expanded_mask(_where(self), mask, self._scores_shape(q, k), self._mask_axis, self._scores_layout)
        out, scores = self._attend(q, k, v, mask, training, return_attention_scores, causal_only)
        if gate is not None:
            out = out * gate
        out = self._output_dense(out)
        if masks["query_mask"] is not None:
            out._keras_mask = masks["query_mask"]
        return (out, scores) if return_attention_scores else out

    def _check_inputs(self, query: torch.Tensor, value: torch.Tensor, key: torch.Tensor) -> None:
        """The call's tensors against the built shapes: ranks, feature sizes, batch, value/key positions."""
        built = self._build_shapes
        for name, t in (("query", query), ("value", value), ("key", key)):
            shape = built.get(f"{name}_shape", built["value_shape"])
            if t.ndim != len(shape) or t.shape[-1] != shape[-1]:
                raise ValueError(f"{_where(self)} was built for `{name}` of shape {shape} (rank and features fixed); "
                                 f"it received {name}.shape={tuple(t.shape)}. Build a new layer for the new shape.")
        if tuple(value.shape[:-1]) != tuple(key.shape[:-1]):
            raise ValueError(f"{_where(self)}: `value` and `key` must agree on every axis but the last. Received: "
                             f"value.shape={tuple(value.shape)}, key.shape={tuple(key.shape)}.")
        if query.shape[0] != value.shape[0]:
            raise ValueError(f"{_where(self)}: `query` and `value` must have the same batch size. Received: "
                             f"query.shape={tuple(query.shape)}, value.shape={tuple(value.shape)}.")

    def _combined_mask(self, query: torch.Tensor, value: torch.Tensor, masks: dict[str, Any], attention_mask: Any,
                       use_causal_mask: bool) -> torch.Tensor | None:
        """Keras's ``_compute_attention_mask``: the input masks, the causal and window masks, and
        ``attention_mask``, AND-ed into one ``(batch, T, S)``-broadcastable boolean mask."""
        auto = None
        if masks["query_mask"] is not None:
            auto = masks["query_mask"].unsqueeze(-1)
        for name in ("value_mask", "key_mask"):
            if masks[name] is not None:
                auto = _and(auto, masks[name].unsqueeze(-2))
        t, s = query.shape[1], value.shape[1]
        if use_causal_mask:
            auto = _and(auto, _causal_mask(t, s, query.device))
        if self.sliding_window is not None:
            auto = _and(auto, _window_mask(t, s, self.sliding_window, query.device))
        if attention_mask is not None:
            attention_mask = _as_mask(attention_mask, query.device)
        if auto is not None:
            attention_mask = auto if attention_mask is None else attention_mask & auto
        return attention_mask

    def _scores_shape(self, q: torch.Tensor, k: torch.Tensor) -> tuple[int, ...]:
        key_letters, rest = self._dot_equation.split(",")
        query_letters, scores = rest.split("->")
        sizes = {**dict(zip(key_letters, k.shape)), **dict(zip(query_letters, q.shape))}
        return tuple(sizes[c] for c in scores)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, training: Any,
                return_scores: bool, causal_only: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Keras's ``_compute_attention`` on projected tensors: the fused kernel when it can, else
        scores, masked softmax, dropout; returns the heads' output and the probabilities (or None)."""
        if self._flash_attention and return_scores:
            raise ValueError(f"Returning attention scores is not supported when flash attention is enabled. Please "
                             f"disable flash attention to access attention scores (in {_where(self)}).")
        if not (self.dropout > 0 or return_scores or q.ndim != 4):
            from initium.ops import nn as ops_nn  # lazily: `import initium` does not load the ops

            return ops_nn.dot_product_attention(q, k, v, mask=mask, scale=self._scale, is_causal=causal_only,
                                                flash_attention=self._flash_attention), None
        if causal_only:
            mask = _causal_mask(q.shape[1], k.shape[1], q.device).unsqueeze(self._mask_axis)
        scores = torch.einsum(self._dot_equation, k, q * self._scale)
        probs = _masked_softmax(scores, mask, self._softmax_axes)
        dropped = self._dropout_layer(probs, training=training) if self.dropout > 0 else probs
        return torch.einsum(self._combine_equation, dropped, v), probs

    def _common_config(self) -> dict[str, Any]:
        return {**kernel_bias_config(self),
                "activity_regularizer": regularizers.serialize(self._projection_activity_regularizer()),
                "seed": self.seed}


def _masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None, axes: tuple[int, ...]) -> torch.Tensor:
    """Keras's ``Softmax`` layer with a mask: masked scores are set to -1e9 (-3e4 in float16)
    before the softmax over ``axes``, and their probabilities to 0 after it."""
    if mask is not None:
        scores = torch.where(mask, scores, -3e4 if scores.dtype == torch.float16 else -1e9)
    if len(axes) == 1:
        probs = torch.softmax(scores, dim=axes[0])
    else:
        probs = torch.exp(scores - torch.logsumexp(scores, dim=axes, keepdim=True))
    return probs if mask is None else torch.where(mask, probs, 0.0)


# ------------------------------------------------------------------------------------------- MultiHeadAttention
class MultiHeadAttention(_MultiHeadBase):
    """Multi-head attention (Vaswani et al., 2017, "Attention Is All You Need").

    ``query`` ``(B, T, dim)`` attends to ``key`` ``(B, S, dim_k)`` (``value`` when not given) and
    mixes ``value`` ``(B, S, dim_v)``: per head, ``softmax(q k^T / sqrt(key_dim)) v``; the heads are
    concatenated and projected to ``output_shape`` (default: the query's features).

    Args:
        num_heads: number of heads.
        key_dim: size of each head's query and key.
        value_dim: size of each head's value (default ``key_dim``).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: whether the projections have biases.
        output_shape: the output's feature shape (int or tuple); default the query's features.
        attention_axes: axes of the query/value attended over (default: all but batch and
            features); e.g. ``(1, 2)`` for 2-D attention on ``(B, H, W, C)`` inputs.
        sliding_window: optional positive int: each position attends within ``sliding_window - 1``.
        flash_attention: ``None``, ``True`` or ``False`` (module docstring).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: for the four projections.
        use_gate: gate the heads' output by ``sigmoid`` of a projection of the query.
        seed: int seed of the dropout masks.

    Call: ``layer(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False)``;
    returns the output, or ``(output, scores)`` with the probabilities ``(B, heads, T, S)``.

    >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = Input(shape=(8, 16))
    >>> mha(x, x).shape
    (None, 8, 16)
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape: Any = None, attention_axes: Any = None,
                 sliding_window: int | None = None, flash_attention: bool | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, use_gate: bool = False,
                 seed: int | None = None, **kwargs: Any) -> None:
        where = f"MultiHeadAttention '{kwargs.get('name')}'" if kwargs.get("name") else "MultiHeadAttention"
        self._num_heads = _positive_int(where, "num_heads", num_heads)
        self._key_dim = _positive_int(where, "key_dim", key_dim)
        self._value_dim = self._key_dim if value_dim is None else _positive_int(where, "value_dim", value_dim)
        self._output_shape = _output_shape(where, output_shape)
        self._attention_axes = _attention_axes(where, attention_axes)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        super().__init__(dropout, use_bias, sliding_window, flash_attention, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint, use_gate, seed,
                         **kwargs)
        self._scale = 1.0 / math.sqrt(float(self._key_dim))

    @property
    def num_heads(self) -> int:
        return self._num_heads

    @property
    def key_dim(self) -> int:
        return self._key_dim

    @property
    def value_dim(self) -> int:
        return self._value_dim

    @property
    def attention_axes(self) -> tuple[int, ...] | None:
        return self._attention_axes

    def _projection_activity_regularizer(self) -> Any:
        return self._activity_regularizer  # Keras applies it to the four projections, not to the layer's output

    def build(self, query_shape: Any, value_shape: Any, key_shape: Any = None) -> None:
        query_shape, value_shape, key_shape = self._record_shapes(query_shape, value_shape, key_shape)
        free = len(query_shape) - 1
        self.query_dense = self._projection("query", free, (self._num_heads, self._key_dim), query_shape)
        self.key_dense = self._projection("key", free, (self._num_heads, self._key_dim), key_shape)
        if self.use_gate:
            self._gate_dense = self._projection("gate", free, (self._num_heads, self._value_dim), query_shape,
                                                activation="sigmoid")
        self.value_dense = self._projection("value", free, (self._num_heads, self._value_dim), value_shape)
        rank = len(query_shape) + 1  # the projected tensors: (batch, ..., heads, channels)
        self._attention_axes = _normalized_axes(_where(self), self._attention_axes, rank, query_shape)
        self._dot_equation, self._combine_equation = _attention_equations(rank, self._attention_axes)
        n = len(self._attention_axes)
        self._softmax_axes = tuple(range(-n, 0))
        self._mask_axis = -2 * n - 1
        self._make_attention_layers()
        features = self._output_shape or (query_shape[-1],)
        equation, bias_axes = _projection_equation(free, 2, len(features))
        self.output_dense = EinsumDense(equation, output_shape=(*([None] * (free - 1)), *features),
                                        bias_axes=bias_axes if self.use_bias else None, name="attention_output",
                                        **self._common_kwargs())
        self.output_dense.build((*query_shape[:-1], self._num_heads, self._value_dim))

    def _projection(self, name: str, free: int, heads: tuple[int, int], shape: tuple, **kwargs: Any) -> EinsumDense:
        equation, bias_axes = _projection_equation(free, 1, 2)
        layer = EinsumDense(equation, output_shape=(*([None] * (free - 1)), *heads),
                            bias_axes=bias_axes if self.use_bias else None, name=name, **kwargs,
                            **self._common_kwargs())
        layer.build(shape)
        return layer

    @property
    def _output_dense(self) -> EinsumDense:
        return self.output_dense

    @property
    def _scores_layout(self) -> str:
        return "(batch, ..., heads, query axes..., key axes...)"

    def _project(self, query: torch.Tensor, value: torch.Tensor, key: torch.Tensor) -> tuple:
        gate = self._gate_dense(query) if self.use_gate else None
        return self.query_dense(query), self.key_dense(key), self.value_dense(value), gate

    def compute_output_shape(self, query_shape: Any, value_shape: Any, key_shape: Any = None) -> tuple:
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        _check_value_key(_where(self), value_shape, key_shape)
        return (*query_shape[:-1], *self._output_shape) if self._output_shape else query_shape

    def compute_output_spec(self, query: Any, value: Any, key: Any = None, query_mask: Any = None,
                            value_mask: Any = None, key_mask: Any = None, attention_mask: Any = None,
                            return_attention_scores: bool = False, training: Any = None,
                            use_causal_mask: bool = False) -> Any:
        key_shape = None if key is None else _input_shape(key)
        out = KerasTensor(self.compute_output_shape(_input_shape(query), _input_shape(value), key_shape),
                          dtype=self.compute_dtype)
        if not return_attention_scores:
            return out
        query_shape, source_shape = _input_shape(query), _input_shape(value if key is None else key)
        axes = self._attention_axes
        others = [query_shape[i] for i in range(len(query_shape) - 1) if i not in axes]
        scores = (*others, self._num_heads, *(query_shape[i] for i in axes), *(source_shape[i] for i in axes))
        return out, KerasTensor(scores, dtype=self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"num_heads": self._num_heads, "key_dim": self._key_dim, "value_dim": self._value_dim,
                       "dropout": self.dropout, "use_bias": self.use_bias, "use_gate": self.use_gate,
                       "output_shape": self._output_shape, "attention_axes": self._attention_axes,
                       "sliding_window": self.sliding_window, **self._common_config()})
        return config


def _output_shape(where: str, value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    dims = (value,) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    try:
        dims = tuple(dims)
    except TypeError:
        dims = None
    if dims is None or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0 for d in dims):
        raise ValueError(f"Invalid `output_shape`: {value!r}. When specified, the `output_shape` should be a positive "
                         f"int or a tuple/list of them, the output's feature shape (in {where}).")
    return tuple(int(d) for d in dims)


def _attention_axes(where: str, value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),)
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in value):
        raise ValueError(f"`attention_axes` must be an int, list, or tuple of ints. Received: attention_axes={value!r} "
                         f"(in {where}).")
    return tuple(int(a) for a in value)


def _normalized_axes(where: str, axes: tuple[int, ...] | None, rank: int, query_shape: tuple) -> tuple[int, ...]:
    """Attention axes as non-negative axes of the query (Keras counts a negative one from the
    projected tensor's heads axis): each between the batch and the features axis, no repeats."""
    if axes is None:
        return tuple(range(1, rank - 2))
    out = tuple(a if a >= 0 else (rank - 1) + a for a in axes)
    if len(set(out)) != len(out) or not all(1 <= a <= rank - 3 for a in out):
        raise ValueError(f"{where}: attention_axes={axes} must name distinct axes of the query between its batch axis "
                         f"and its features axis, i.e. within 1..{rank - 3} (or -{rank - 2}..-2). Received a query of "
                         f"shape {query_shape}.")
    return out


# ------------------------------------------------------------------------------------------- GroupQueryAttention
class GroupQueryAttention(_MultiHeadBase):
    """Grouped-query attention (Ainslie et al., 2023): ``num_query_heads`` query heads share
    ``num_key_value_heads`` key/value heads (each repeated ``num_query_heads // num_key_value_heads``
    times). ``num_key_value_heads=1`` is multi-query attention; equal counts are multi-head
    attention. Inputs ``(B, T, dim)`` and ``(B, S, dim_v)``; the output has the query's features.

    Args:
        head_dim: size of every head.
        num_query_heads, num_key_value_heads: head counts (the first a multiple of the second).
        dropout, use_bias, sliding_window, flash_attention, use_gate, seed, and the initializers,
        regularizers and constraints: as in ``MultiHeadAttention``.

    Call: as ``MultiHeadAttention``; scores are ``(B, num_query_heads, T, S)``. Keras's Python class
    is ``GroupedQueryAttention``: default names are ``grouped_query_attention``, and its files name
    the layer ``GroupQueryAttention``, as here.
    """

    _keras_class_name = "GroupedQueryAttention"  # what Keras's files use for the layer's weights group

    def __init__(self, head_dim: int, num_query_heads: int, num_key_value_heads: int, dropout: float = 0.0,
                 use_bias: bool = True, sliding_window: int | None = None, flash_attention: bool | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, use_gate: bool = False,
                 seed: int | None = None, **kwargs: Any) -> None:
        kwargs["name"] = kwargs.get("name") or backend.unique_name("grouped_query_attention")
        where = f"GroupQueryAttention '{kwargs['name']}'"
        self.head_dim = _positive_int(where, "head_dim", head_dim)
        self.num_query_heads = _positive_int(where, "num_query_heads", num_query_heads)
        self.num_key_value_heads = _positive_int(where, "num_key_value_heads", num_key_value_heads)
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError(f"`num_query_heads` must be divisible by `num_key_value_heads`. Received: "
                             f"num_query_heads={num_query_heads}, num_key_value_heads={num_key_value_heads} (in "
                             f"{where}). Each key/value head serves a whole group of query heads.")
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        super().__init__(dropout, use_bias, sliding_window, flash_attention, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint, use_gate, seed,
                         activity_regularizer=activity_regularizer, **kwargs)
        self._scale = 1.0 / math.sqrt(float(self.head_dim))

    def build(self, query_shape: Any, value_shape: Any, key_shape: Any = None) -> None:
        query_shape, value_shape, key_shape = self._record_shapes(query_shape, value_shape, key_shape)
        if len(query_shape) != 3:
            raise ValueError(f"{_where(self)}: inputs must have shape (batch, positions, features). Received: "
                             f"query_shape={query_shape}.")
        self.feature_dim = query_shape[-1]
        query_heads = (None, self.num_query_heads, self.head_dim)
        kv_heads = (None, self.num_key_value_heads, self.head_dim)
        self._query_dense = self._projection("query", "bqm,muh->bquh", query_heads, "uh", query_shape)
        self._key_dense = self._projection("key", "bkm,mvh->bkvh", kv_heads, "vh", key_shape)
        if self.use_gate:
            self._gate_dense = self._projection("gate", "bqm,muh->bquh", query_heads, "uh", query_shape,
                                                activation="sigmoid")
        self._value_dense = self._projection("value", "bkm,mvh->bkvh", kv_heads, "vh", value_shape)
        self._make_attention_layers()
        self._dot_equation, self._combine_equation = "bkuh,bquh->buqk", "buqk,bkuh->bquh"
        self._softmax_axes, self._mask_axis = (-1,), -3
        self._output_dense = self._projection("attention_output", "bquh,uhm->bqm", (None, self.feature_dim), "m",
                                              (None, None, self.num_query_heads, self.head_dim))

    def _projection(self, name: str, equation: str, output_shape: tuple, bias_axes: str, shape: tuple,
                    **kwargs: Any) -> EinsumDense:
        layer = EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes if self.use_bias else None,
                            name=name, **kwargs, **self._common_kwargs())
        layer.build(shape)
        return layer

    @property
    def _scores_layout(self) -> str:
        return "(batch, query heads, query length, key length)"

    def _project(self, query: torch.Tensor, value: torch.Tensor, key: torch.Tensor) -> tuple:
        gate = self._gate_dense(query) if self.use_gate else None
        k = self._key_dense(key).repeat_interleave(self.num_repeats, dim=2)
        v = self._value_dense(value).repeat_interleave(self.num_repeats, dim=2)
        return self._query_dense(query), k, v, gate

    def compute_output_shape(self, query_shape: Any, value_shape: Any, key_shape: Any = None) -> tuple:
        value_shape = tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        _check_value_key(_where(self), value_shape, key_shape)
        return tuple(query_shape)

    def compute_output_spec(self, query: Any, value: Any, key: Any = None, query_mask: Any = None,
                            value_mask: Any = None, key_mask: Any = None, attention_mask: Any = None,
                            return_attention_scores: bool = False, training: Any = None,
                            use_causal_mask: bool = False) -> Any:
        query_shape, value_shape = _input_shape(query), _input_shape(value)
        key_shape = None if key is None else _input_shape(key)
        out = KerasTensor(self.compute_output_shape(query_shape, value_shape, key_shape), dtype=self.compute_dtype)
        if not return_attention_scores:
            return out
        scores = (query_shape[0], self.num_query_heads, query_shape[1], (key_shape or value_shape)[1])
        return out, KerasTensor(scores, dtype=self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                       "num_key_value_heads": self.num_key_value_heads, "use_bias": self.use_bias,
                       "use_gate": self.use_gate, "sliding_window": self.sliding_window, "dropout": self.dropout,
                       **self._common_config()})
        return config


# ------------------------------------------------------------------------------------------- Attention
class Attention(Layer):
    """Dot-product (Luong-style) attention over ``[query, value]`` or ``[query, value, key]``.

    ``query`` ``(B, Tq, dim)``, ``value`` ``(B, Tv, dim_v)``, ``key`` ``(B, Tv, dim)`` (default
    ``value``). Scores ``(B, Tq, Tv)``: ``score_mode="dot"``: ``query @ key^T`` (times ``scale``
    when ``use_scale``); ``"concat"``: ``concat_score_weight * sum(tanh(scale * (q_i + k_j)))``.
    The output ``softmax(scores) @ value`` has shape ``(B, Tq, dim_v)``.

    Args:
        use_scale: learn a scalar ``scale`` (initialized to 1).
        score_mode: ``"dot"`` or ``"concat"`` (adds a scalar ``concat_score_weight``, initialized to 1).
        dropout: dropout rate on the attention probabilities (training only).
        seed: int seed of the dropout masks.

    Call: ``layer([query, value(, key)], mask=None, training=False, return_attention_scores=False,
    use_causal_mask=False)``. ``mask=[query_mask, value_mask]`` (default: the inputs' Keras
    masks): masked values get no probability; masked queries give zeros. Returns the output, or
    ``(output, probabilities)``.
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        where = _where(self)
        self.use_scale = _bool_arg(where, "use_scale", use_scale)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Invalid value for argument score_mode. Expected one of {{'dot', 'concat'}}. Received: "
                             f"score_mode={score_mode!r} (in {where}).")
        self.score_mode = score_mode
        self.dropout = _rate(where, dropout)
        self.seed = _seed(where, seed)
        self.seed_generator = irandom.SeedGenerator(self.seed) if self.dropout > 0 else None
        self.scale = None
        self.concat_score_weight = None

    def build(self, input_shape: Any) -> None:
        self._check_shapes(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(), initializer="ones")

    def _check_shapes(self, shapes: Any) -> list[tuple]:
        """Keras's input checks (a list of 2 or 3), plus ranks, feature and length agreement."""
        where = _where(self)
        if not isinstance(shapes, (list, tuple)) or not all(isinstance(s, (list, tuple)) for s in shapes):
            raise ValueError(f"{type(self).__name__} layer must be called on a list of inputs, namely [query, value] "
                             f"or [query, value, key]. Received: inputs={shapes} (in {where}).")
        if not 2 <= len(shapes) <= 3:
            raise ValueError(f"{type(self).__name__} layer accepts inputs list of length 2 or 3, namely [query, value] "
                             f"or [query, value, key]. Received length: {len(shapes)} (in {where}).")
        query, value = tuple(shapes[0]), tuple(shapes[1])
        key = tuple(shapes[2]) if len(shapes) > 2 else value
        if not len(query) == len(value) == len(key) or len(query) < 3:
            raise ValueError(f"{where}: query, value and key must have the same rank, at least 3 (batch, positions, "
                             f"features). Received shapes: query={query}, value={value}, key={key}.")
        if value[-2] is not None and key[-2] is not None and value[-2] != key[-2]:
            raise ValueError(f"{where}: value and key must have the same length (axis -2). Received shapes: "
                             f"value={value}, key={key}.")
        if query[-1] is not None and key[-1] is not None and query[-1] != key[-1]:
            raise ValueError(f"{where}: query and key must have the same number of features (scores compare them "
                             f"feature by feature). Received shapes: query={query}, key={key}.")
        return [query, value, key]

    def _calculate_scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-2, -1))
            return scores if self.scale is None else scores * self.scale
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * torch.tanh(summed).sum(dim=-1)

    def call(self, inputs: Any, mask: Any = None, training: bool = False, return_attention_scores: bool = False,
             use_causal_mask: bool = False) -> Any:
        inputs = self._inputs_list(inputs)
        self._check_shapes([tuple(t.shape) for t in inputs])
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask, value_mask = self._masks(inputs, mask)
        scores = self._calculate_scores(query, key)
        scores_mask = value_mask.unsqueeze(-2) if value_mask is not None else None
        if use_causal_mask:
            scores_mask = _and(scores_mask, _causal_mask(scores.shape[-2], scores.shape[-1], scores.device))
        if scores_mask is not None:
            scores = torch.where(scores_mask, scores, scores - (65504.0 if scores.dtype == torch.float16 else 1.0e9))
        weights = torch.softmax(scores, dim=-1)
        if training and self.dropout > 0:
            weights = _dropout(weights, self.dropout, self.seed_generator)
        out = torch.matmul(weights, value)
        if query_mask is not None:
            out = torch.where(query_mask.unsqueeze(-1), out, 0.0)
        return (out, weights) if return_attention_scores else out

    def _inputs_list(self, inputs: Any) -> list:
        if not isinstance(inputs, (list, tuple)):
            self._check_shapes(_input_shape(inputs))  # raises: not a list
        return [self._convert(t) for t in inputs]

    def _masks(self, inputs: list, mask: Any) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(query_mask, value_mask)`` as booleans, from ``mask`` or the inputs' Keras masks."""
        where = _where(self)
        if mask is None:
            mask = [getattr(t, "_keras_mask", None) for t in inputs]
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{type(self).__name__} layer mask must be a list, namely [query_mask, value_mask]. "
                             f"Received: mask={mask!r} (in {where}).")
        if not 2 <= len(mask) <= 3:
            raise ValueError(f"{type(self).__name__} layer accepts mask list of length 2 or 3. Received a list of "
                             f"length {len(mask)} (in {where}).")
        out = []
        for name, m, t in (("query_mask", mask[0], inputs[0]), ("value_mask", mask[1], inputs[1])):
            if m is not None:
                m = _as_mask(m, t.device)
                _check_mask_shape(where, name, m, tuple(t.shape[:-1]), f"{name[:-5]}.shape[:-1]")
            out.append(m)
        return out[0], out[1]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            if not isinstance(inputs, (list, tuple)):
                return None
            mask = [getattr(t, "_keras_mask", None) for t in inputs]
        if not isinstance(mask, (list, tuple)) or not mask or mask[0] is None:
            return None
        return _as_mask(mask[0], inputs[0].device)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        query, value, _ = self._check_shapes(input_shape)
        return (*query[:-1], value[-1])

    def compute_output_spec(self, inputs: Any, mask: Any = None, return_attention_scores: bool = False,
                            training: Any = None, use_causal_mask: bool = False) -> Any:
        shapes = self._check_shapes([_input_shape(t) for t in inputs] if isinstance(inputs, (list, tuple))
                                    else inputs)
        out = KerasTensor(self.compute_output_shape(shapes), dtype=self.compute_dtype)
        if not return_attention_scores:
            return out
        return out, KerasTensor((*shapes[0][:-1], shapes[2][-2]), dtype=self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode, "dropout": self.dropout,
                       "seed": self.seed})
        return config


def _dropout(weights: torch.Tensor, rate: float, seed: irandom.SeedGenerator) -> torch.Tensor:
    """Keras's ``random.dropout`` on the probabilities, drawn from ``initium.random``."""
    if rate >= 1:
        return torch.zeros_like(weights)
    return irandom.dropout(weights, rate, seed=seed)


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention over ``[query, value]`` or ``[query, value, key]``:
    scores ``sum(scale * tanh(q_i + k_j))`` over the features, with a learned ``scale`` of shape
    ``(dim,)`` (glorot_uniform) when ``use_scale`` (the default); then as ``Attention``.

    Args:
        use_scale: learn the per-feature ``scale`` (default True).
        dropout: dropout rate on the attention probabilities (training only).
        seed: int seed of the dropout masks.
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape: Any) -> None:
        query, _, _ = self._check_shapes(input_shape)
        if self.use_scale:
            if query[-1] is None:
                raise ValueError(f"{_where(self)}: the query's last axis must be known to create `scale`. Received "
                                 f"shape {query}.")
            self.scale = self.add_weight(name="scale", shape=(query[-1],), initializer="glorot_uniform")

    def _calculate_scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        summed = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        return (summed if self.scale is None else self.scale * summed).sum(dim=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config


for _cls in (MultiHeadAttention, GroupQueryAttention, Attention, AdditiveAttention):
    register_layer(_cls)
