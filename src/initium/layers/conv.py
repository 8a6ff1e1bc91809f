"""Convolution layers: Conv1D/2D/3D, Conv1D/2D/3DTranspose, DepthwiseConv1D/2D, SeparableConv1D/2D.

Keras semantics at the boundary, torch inside:

- inputs are ``channels_last`` by default (``(batch, *spatial, channels)``); ``channels_first``
  is accepted. A channels_last input is handed to torch as a *permuted view* (no copy): torch
  sees an NCHW tensor in channels_last memory, and the output is permuted back, again a view;
- kernels are stored in Keras's layout — ``(*kernel_size, in/groups, filters)`` for a convolution,
  ``(*kernel_size, filters, in)`` for a transposed one, ``(*kernel_size, in, depth_multiplier)``
  for a depthwise one — and permuted to torch's layout in one place, ``_torch_kernel``;
- ``padding='same'`` follows Keras/TensorFlow exactly: the total padding is
  ``max(0, (ceil(n/s) - 1)*s + (k-1)*d + 1 - n)``, and when it is odd the extra cell goes to the
  end (bottom/right); ``'causal'`` (Conv1D only) pads ``(k-1)*d`` on the left.
"""

from __future__ import annotations

import difflib
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from initium import activations, backend, constraints, initializers, regularizers
from initium.layers.layer import InputSpec, Layer
from initium.layers.serialization import register_layer
from initium.layers.symbolic import KerasTensor

__all__ = [
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    "Convolution1D", "Convolution2D", "Convolution3D", "Convolution1DTranspose", "Convolution2DTranspose",
    "Convolution3DTranspose", "SeparableConvolution1D", "SeparableConvolution2D",
]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_SPATIAL = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


# ---------------------------------------------------------------------------------------- arguments
def _where(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _int_like(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return int(v)
    if hasattr(v, "__index__") and not isinstance(v, float):  # numpy integers
        try:
            return int(v.__index__())
        except TypeError:
            return None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def tuple_arg(where: str, arg: str, value: Any, n: int, allow_zero: bool = False) -> tuple[int, ...]:
    """``value`` (an int or ``n`` ints) as a tuple of ``n`` ints, as Keras's ``standardize_tuple``
    stores it; a ValueError naming the layer otherwise."""
    cond = ">= 0" if allow_zero else "> 0"
    expect = f"an int or a tuple of {n} integer{'s' if n > 1 else ''} {cond}"
    single = _int_like(value) if not isinstance(value, float) else None
    if single is not None:
        out = (single,) * n
    else:
        try:
            if isinstance(value, (str, bytes, float)):
                raise TypeError
            items = tuple(value)
        except TypeError:
            raise ValueError(f"{where}: the `{arg}` argument must be {expect}. Received {arg}={value!r}.") from None
        ints = tuple(_int_like(v) for v in items)
        if len(items) != n or any(v is None for v in ints):
            got = f" (length {len(items)})" if len(items) != n else ""
            raise ValueError(
                f"{where}: the `{arg}` argument must be {expect}. Received {arg}={value!r}{got}."
            )
        out = ints  # type: ignore[assignment]
    bad = [v for v in out if (v < 0 if allow_zero else v <= 0)]
    if bad:
        raise ValueError(
            f"{where}: the `{arg}` argument must be {expect}. Received {arg}={value!r}, including "
            f"values {sorted(set(bad))} that do not satisfy `value {cond}`."
        )
    return out


def padding_arg(where: str, value: Any, allowed: Sequence[str]) -> str:
    """Lower-cased ``padding`` (Keras accepts any case), or a ValueError with a suggestion."""
    options = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise ValueError(f"{where}: `padding` must be one of {options}. Received: padding={value!r}.")
    padding = value.lower()
    if padding not in allowed:
        if padding == "causal":
            hint = " 'causal' padding is only supported by Conv1D."
        else:
            close = difflib.get_close_matches(padding, list(allowed), n=1, cutoff=0.5)
            hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"{where}: `padding` must be one of {options}. Received: padding={value!r}.{hint}")
    return padding


def data_format_arg(where: str, value: Any) -> str:
    """``None`` -> ``backend.image_data_format()`` (``'channels_last'`` by default); lower-cased otherwise."""
    if value is None:
        return backend.image_data_format()
    fmt = str(value).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{where}: the `data_format` argument must be one of {{'channels_first', 'channels_last'}}. "
            f"Received: data_format={value!r}."
        )
    return fmt


def positive_count(where: str, arg: str, value: Any) -> int:
    got = _int_like(value) if not isinstance(value, float) else None
    if got is None or got <= 0:
        raise ValueError(
            f"{where}: invalid value for argument `{arg}`. Expected a strictly positive integer. "
            f"Received {arg}={value!r}."
        )
    return got


def rank_hint(cls_name: str, rank: int, data_format: str) -> str:
    dims = ", ".join(_SPATIAL[rank])
    layout = f"(batch, {dims}, channels)" if data_format == "channels_last" else f"(batch, channels, {dims})"
    return f"{cls_name} expects {layout} with data_format='{data_format}'."


def check_rank(layer: Layer, input_shape: Any, rank: int) -> tuple:
    """The InputSpec rank check, done at build: the base ``Layer`` checks ``input_spec`` only
    after ``build`` ran, so a wrong-rank input would otherwise reach ``build``."""
    shape = tuple(input_shape)
    if len(shape) != rank + 2:
        layer._check_input_spec(KerasTensor(shape))
    return shape


def same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """Keras/TensorFlow 'same' padding of one axis: (before, after); the odd cell goes after."""
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max(0, (out - 1) * s + eff - size)
    return total // 2, total - total // 2


def pad_input(x: torch.Tensor, padding: str, kernel_size: Sequence[int], strides: Sequence[int],
              dilation: Sequence[int]) -> tuple[torch.Tensor, Any]:
    """(input, torch padding) for ``padding`` ('valid', 'same' or 'causal'); ``x`` is channels-first.
    Symmetric 'same' padding is left to torch; an odd total pads the end explicitly."""
    if padding == "valid":
        return x, 0
    if padding == "causal":
        return F.pad(x, ((kernel_size[0] - 1) * dilation[0], 0)), 0
    spatial = x.shape[2:]
    pads = [same_pads(int(n), k, s, d) for n, k, s, d in zip(spatial, kernel_size, strides, dilation)]
    before = tuple(p[0] for p in pads)
    if all(a == b for a, b in pads):
        return x, before
    extra: list[int] = []
    for a, b in reversed(pads):  # F.pad lists the last axis first; the odd cell goes after
        extra += [0, b - a]
    return F.pad(x, extra), before


def _torch_kernel(kernel: torch.Tensor, rank: int) -> torch.Tensor:
    """Keras layout ``(*k, a, b)`` -> torch layout ``(b, a, *k)`` (a view). For a convolution
    ``(a, b) = (in/groups, out)``; for a transposed one ``(filters, in)``, which is torch's
    ``(in, out, *k)`` after the same permutation."""
    return kernel.permute(rank + 1, rank, *range(rank))


def _to_channels_first(x: torch.Tensor, rank: int) -> torch.Tensor:
    return x.permute(0, rank + 1, *range(1, rank + 1))


def _to_channels_last(y: torch.Tensor, rank: int) -> torch.Tensor:
    return y.permute(0, *range(2, rank + 2), 1)


def _spatial(shape: Sequence[Any], data_format: str) -> tuple:
    return tuple(shape[1:-1]) if data_format == "channels_last" else tuple(shape[2:])


def _channels(shape: Sequence[Any], data_format: str) -> Any:
    return shape[-1] if data_format == "channels_last" else shape[1]


def _with_spatial(shape: Sequence[Any], spatial: Sequence[Any], channels: Any, data_format: str) -> tuple:
    if data_format == "channels_last":
        return (shape[0], *spatial, channels)
    return (shape[0], channels, *spatial)


def conv_output_length(size: Any, k: int, s: int, d: int, padding: str) -> Any:
    if size is None:
        return None
    if padding == "valid":
        return (size - (k - 1) * d - 1) // s + 1
    return (size - 1) // s + 1  # same, causal


def check_fits(layer: Layer, spatial: Sequence[Any], kernel_size: Sequence[int], dilation: Sequence[int],
               strides: Sequence[int], padding: str, what: str = "kernel_size") -> None:
    """With padding='valid' the (dilated) kernel must fit inside the input: raise a ValueError
    naming the layer, the kernel, the input's spatial shape and what would work."""
    if padding != "valid":
        return
    for n, k, d in zip(spatial, kernel_size, dilation):
        if n is not None and (k - 1) * d + 1 > n:
            eff = tuple((kk - 1) * dd + 1 for kk, dd in zip(kernel_size, dilation))
            dil = f" (dilated to {eff} by dilation_rate={tuple(dilation)})" if any(dd > 1 for dd in dilation) else ""
            raise ValueError(
                f"{_where(layer)}: {what}={tuple(kernel_size)}{dil} is larger than the input's spatial "
                f"shape {tuple(spatial)} with padding='valid', so the output would be empty (strides="
                f"{tuple(strides)}). Use padding='same', a smaller {what}, or a larger input."
            )


# ---------------------------------------------------------------------------------------- the engine
class _ConvEngine(Layer):
    """Shared by every convolution: argument handling, layout conversion, 'same'/'causal' padding."""

    rank = 2

    def _init_common(self, kernel_size: Any, strides: Any, padding: Any, data_format: Any, dilation_rate: Any,
                     allowed_padding: Sequence[str]) -> None:
        where = _where(self)
        n = self.rank
        self.kernel_size = tuple_arg(where, "kernel_size", kernel_size, n)
        self.strides = tuple_arg(where, "strides", strides, n)
        self.dilation_rate = tuple_arg(where, "dilation_rate", dilation_rate, n)
        self.padding = padding_arg(where, padding, allowed_padding)
        self.data_format = data_format_arg(where, data_format)
        self._channels_last = self.data_format == "channels_last"
        self.input_spec = InputSpec(ndim=n + 2, hint=rank_hint(type(self).__name__, n, self.data_format))
        self._dynamic_spatial = False

    def _check_strides_dilation(self) -> None:
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{_where(self)}: `strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}. Use strides=1 "
                "with a dilation, or dilation_rate=1 with strides."
            )

    def _input_channels(self, input_shape: Any) -> int:
        shape = check_rank(self, input_shape, self.rank)
        channels = _channels(shape, self.data_format)
        if channels is None:
            raise ValueError(
                f"{_where(self)}: the channel axis of the input must be known to build the kernel. "
                f"Received input shape {shape} with data_format='{self.data_format}'."
            )
        return int(channels)

    def _set_built_spec(self, input_shape: Any, channels: int) -> None:
        axis = -1 if self._channels_last else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={axis: channels},
                                    hint=rank_hint(type(self).__name__, self.rank, self.data_format))
        spatial = _spatial(tuple(input_shape), self.data_format)
        self._dynamic_spatial = any(s is None for s in spatial)

    # ---- the torch side
    def _enter(self, x: torch.Tensor) -> torch.Tensor:
        return _to_channels_first(x, self.rank) if self._channels_last else x

    def _leave(self, y: torch.Tensor) -> torch.Tensor:
        y = _to_channels_last(y, self.rank) if self._channels_last else y
        return y if self.activation is activations.linear else self.activation(y)

    def _pad_for(self, x: torch.Tensor, kernel_size: Sequence[int], strides: Sequence[int],
                 dilation: Sequence[int]) -> tuple[torch.Tensor, Any]:
        """(input, torch padding) for this layer's padding mode; ``x`` is channels-first."""
        return pad_input(x, self.padding, kernel_size, strides, dilation)

    def _check_call_fits(self, x: torch.Tensor, kernel_size: Sequence[int]) -> None:
        if self._dynamic_spatial:
            check_fits(self, _spatial(tuple(x.shape), self.data_format), kernel_size, self.dilation_rate,
                       self.strides, self.padding)

    def _common_config(self) -> dict[str, Any]:
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate}


# ---------------------------------------------------------------------------------------- Conv
class _Conv(_ConvEngine):
    """Base of Conv1D/2D/3D (see Conv2D)."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, lora_rank: Any = None,
                 lora_alpha: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        where = _where(self)
        if lora_rank is not None:
            raise ValueError(f"{where}: LoRA is not supported by initium (lora_rank must be None).")
        self.filters = positive_count(where, "filters", filters)
        self.groups = positive_count(where, "groups", groups)
        allowed = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, allowed)
        if self.filters % self.groups:
            raise ValueError(
                f"{where}: the number of filters must be evenly divisible by the number of groups. "
                f"Received: groups={self.groups}, filters={self.filters}. Choose filters as a multiple of groups."
            )
        self._check_strides_dilation()
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel = None
        self.bias = None

    def build(self, input_shape: Any) -> None:
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(
                f"{_where(self)}: the number of input channels must be evenly divisible by the number of "
                f"groups. Received groups={self.groups}, but the input has {channels} channels (full input "
                f"shape is {tuple(input_shape)}). Use a groups value that divides {channels}."
            )
        check_fits(self, _spatial(tuple(input_shape), self.data_format), self.kernel_size, self.dilation_rate,
                   self.strides, self.padding)
        self.kernel = self.add_weight(name="kernel", shape=(*self.kernel_size, channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self._set_built_spec(input_shape, channels)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_call_fits(inputs, self.kernel_size)
        x, pad = self._pad_for(self._enter(inputs), self.kernel_size, self.strides, self.dilation_rate)
        y = _CONV[self.rank](x, _torch_kernel(self.kernel, self.rank), self.bias, self.strides, pad,
                             self.dilation_rate, self.groups)
        return self._leave(y)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        spatial = [conv_output_length(n, k, s, d, self.padding) for n, k, s, d in
                   zip(_spatial(shape, self.data_format), self.kernel_size, self.strides, self.dilation_rate)]
        return _with_spatial(shape, spatial, self.filters, self.data_format)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"filters": self.filters, **self._common_config(), "groups": self.groups,
                       "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                       "kernel_initializer": initializers.serialize(self.kernel_initializer),
                       "bias_initializer": initializers.serialize(self.bias_initializer),
                       "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                       "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                       "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                       "kernel_constraint": constraints.serialize(self.kernel_constraint),
                       "bias_constraint": constraints.serialize(self.bias_constraint)})
        return config


class Conv1D(_Conv):
    """1-D convolution (temporal): ``(batch, steps, channels)`` -> ``(batch, new_steps, filters)``.

    Same arguments as :class:`Conv2D` with one spatial axis, plus ``padding='causal'`` (pad
    ``(k-1)*dilation`` on the left, so output ``t`` sees only inputs ``<= t``). The kernel has shape
    ``(k, in/groups, filters)``; default ``glorot_uniform`` with fan_in = k·in/groups and fan_out =
    k·filters, i.e. variance 2 / (fan_in + fan_out); the bias ``(filters,)`` defaults to zeros.
    """

    rank = 1


class Conv2D(_Conv):
    """2-D convolution: ``(batch, h, w, channels)`` -> ``(batch, new_h, new_w, filters)``
    (``channels_last``, the default) or the ``channels_first`` equivalent.

    The kernel has Keras's shape ``(kh, kw, in/groups, filters)`` whatever the data_format, and is
    drawn by ``kernel_initializer`` (default ``glorot_uniform``: U(±sqrt(6 / (fan_in + fan_out)))
    with fan_in = kh·kw·in/groups and fan_out = kh·kw·filters, variance 2 / (fan_in + fan_out)); the
    bias has shape ``(filters,)`` and is drawn by ``bias_initializer`` (default zeros; a variance
    scaling initializer such as HeNormal sees the bias's own length as its fan).

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or tuple of 2 ints.
        strides: int or tuple (default 1). ``strides > 1`` cannot be combined with ``dilation_rate > 1``.
        padding: ``'valid'`` (no padding) or ``'same'`` (output size ceil(n / stride); an odd total
            padding puts the extra cell at the bottom/right, as Keras/TensorFlow do).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: int or tuple (default 1).
        groups: positive int dividing both the input channels and ``filters``.
        activation, use_bias, kernel/bias initializer, regularizer and constraint,
        activity_regularizer: as in Keras.

    >>> Conv2D(32, 3)(Input(shape=(28, 28, 1))).shape
    (None, 26, 26, 32)
    """

    rank = 2


class Conv3D(_Conv):
    """3-D convolution: ``(batch, d, h, w, channels)`` -> ``(batch, new_d, new_h, new_w, filters)``.

    Same arguments as :class:`Conv2D` with three spatial axes. Kernel ``(kd, kh, kw, in/groups,
    filters)``, default ``glorot_uniform`` (fans multiplied by kd·kh·kw); bias zeros.
    """

    rank = 3


# ---------------------------------------------------------------------------------------- ConvTranspose
def transpose_pads(k: int, s: int, d: int, padding: str, output_padding: int | None) -> tuple[int, int]:
    """Keras's (left, right) padding of a transposed convolution (as in its JAX backend)."""
    eff = (k - 1) * d + 1
    if padding == "valid":
        op = max(eff, s) - eff if output_padding is None else output_padding
        return eff - 1, eff - 1 + op
    pad_len = s + eff - 2 if output_padding is None else eff + eff % 2 - 2 + output_padding
    left = min(pad_len // 2 + pad_len % 2, eff - 1)
    return left, pad_len - left


def transpose_output_length(size: Any, k: int, s: int, d: int, padding: str, output_padding: int | None) -> Any:
    """Keras's output size of a transposed convolution along one axis."""
    if size is None:
        return None
    eff = (k - 1) * d + 1
    if padding == "valid":
        op = max(eff, s) - eff if output_padding is None else output_padding
        return (size - 1) * s + eff + op
    if output_padding is None:
        return size * s
    return (size - 1) * s + eff % 2 + output_padding


class _ConvTranspose(_ConvEngine):
    """Base of Conv1D/2D/3DTranspose (see Conv2DTranspose)."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        where = _where(self)
        self.filters = positive_count(where, "filters", filters)
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, ("valid", "same"))
        self.output_padding = (None if output_padding is None else
                               tuple_arg(where, "output_padding", output_padding, self.rank, allow_zero=True))
        if self.output_padding is not None:
            for i, (op, s) in enumerate(zip(self.output_padding, self.strides)):
                if op >= s:
                    raise ValueError(
                        f"{where}: each value in `output_padding` must be strictly less than the corresponding "
                        f"`strides` value. At index {i}, `output_padding` is {op} and `strides` is {s}. "
                        f"Received: output_padding={self.output_padding}, strides={self.strides}."
                    )
        self._check_strides_dilation()
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel = None
        self.bias = None
        self._plan_crops()

    def _plan_crops(self) -> None:
        """How to get Keras's output from torch's: torch's conv_transpose with padding p and
        output_padding q crops p cells at the start and p - q at the end of the full output
        ``(n-1)*s + eff``. When Keras's crops fit that form we use it; otherwise we run torch
        with no padding and slice (or zero-pad, for negative crops) afterwards."""
        ops = self.output_padding or (None,) * self.rank
        crops = []
        for k, s, d, op in zip(self.kernel_size, self.strides, self.dilation_rate, ops):
            left, right = transpose_pads(k, s, d, self.padding, op)
            eff = (k - 1) * d + 1
            crops.append((eff - 1 - left, eff - 1 - right))
        fits = all(a >= 0 and b >= 0 and 0 <= a - b < max(s, d)
                   for (a, b), s, d in zip(crops, self.strides, self.dilation_rate))
        # valid padding: crop (0, -q) is torch's output_padding q (q < stride by Keras's own rule)
        fits_valid = all(a == 0 and b <= 0 and -b < max(s, d)
                         for (a, b), s, d in zip(crops, self.strides, self.dilation_rate))
        if fits:
            self._torch_padding = tuple(a for a, _ in crops)
            self._torch_output_padding = tuple(a - b for a, b in crops)
            self._crops = None
        elif fits_valid:
            self._torch_padding = 0
            self._torch_output_padding = tuple(-b for _, b in crops)
            self._crops = None
        else:
            self._torch_padding, self._torch_output_padding = 0, 0
            self._crops = tuple(crops)

    def build(self, input_shape: Any) -> None:
        channels = self._input_channels(input_shape)
        out = _spatial(self.compute_output_shape(input_shape), self.data_format)
        if any(n is not None and n <= 0 for n in out):
            raise ValueError(
                f"{_where(self)}: the output would be empty: spatial shape {tuple(out)} for an input of spatial "
                f"shape {_spatial(tuple(input_shape), self.data_format)} with kernel_size={self.kernel_size}, "
                f"strides={self.strides}, padding='{self.padding}', output_padding={self.output_padding}. "
                "Use a larger output_padding (< strides), padding='valid', or an odd kernel_size."
            )
        self.kernel = self.add_weight(name="kernel", shape=(*self.kernel_size, self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self._set_built_spec(input_shape, channels)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self._enter(inputs)
        crops = self._crops
        y = _CONV_T[self.rank](x, _torch_kernel(self.kernel, self.rank), self.bias if crops is None else None,
                               self.strides, self._torch_padding, self._torch_output_padding, 1, self.dilation_rate)
        if crops is not None:
            y = y[(slice(None), slice(None), *(slice(max(a, 0), y.shape[i + 2] - max(b, 0))
                                               for i, (a, b) in enumerate(crops)))]
            if any(a < 0 or b < 0 for a, b in crops):
                extra: list[int] = []
                for a, b in reversed(crops):
                    extra += [max(-a, 0), max(-b, 0)]
                y = F.pad(y, extra)
            if self.bias is not None:
                y = y + self.bias.view(-1, *([1] * self.rank))
        return self._leave(y)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        ops = self.output_padding or (None,) * self.rank
        spatial = [transpose_output_length(n, k, s, d, self.padding, op) for n, k, s, d, op in
                   zip(_spatial(shape, self.data_format), self.kernel_size, self.strides, self.dilation_rate, ops)]
        return _with_spatial(shape, spatial, self.filters, self.data_format)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
                       "padding": self.padding, "output_padding": self.output_padding,
                       "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                       "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                       "kernel_initializer": initializers.serialize(self.kernel_initializer),
                       "bias_initializer": initializers.serialize(self.bias_initializer),
                       "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                       "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                       "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                       "kernel_constraint": constraints.serialize(self.kernel_constraint),
                       "bias_constraint": constraints.serialize(self.bias_constraint)})
        return config


class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution; see :class:`Conv2DTranspose`. Kernel ``(k, filters, in)``."""

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution ("deconvolution"): the gradient of Conv2D with respect to its input.

    The kernel has Keras's shape ``(kh, kw, filters, in)`` — note ``filters`` before ``in`` — and is
    drawn by ``kernel_initializer`` (default ``glorot_uniform``; the fan rule reads the last two axes,
    so fan_in = kh·kw·filters and fan_out = kh·kw·in, variance 2 / (fan_in + fan_out)); the bias
    ``(filters,)`` defaults to zeros.

    Output size per spatial axis (n in, k kernel, s stride, d dilation, e = (k-1)·d + 1, q =
    output_padding), as in Keras:

    - ``'valid'``: ``(n-1)·s + e + q``, with q defaulting to ``max(e, s) - e``;
    - ``'same'``: ``n·s`` when q is None, else ``(n-1)·s + e % 2 + q``.

    ``output_padding`` must be smaller than ``strides``; ``strides > 1`` cannot be combined with
    ``dilation_rate > 1``.
    """

    rank = 2


class Conv3DTranspose(_ConvTranspose):
    """3-D transposed convolution; see :class:`Conv2DTranspose`. Kernel ``(kd, kh, kw, filters, in)``."""

    rank = 3


# ---------------------------------------------------------------------------------------- Depthwise
class _DepthwiseConv(_ConvEngine):
    """Base of DepthwiseConv1D/2D (see DepthwiseConv2D)."""

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        where = _where(self)
        self.depth_multiplier = positive_count(where, "depth_multiplier", depth_multiplier)
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, ("valid", "same"))
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel = None
        self.bias = None

    def build(self, input_shape: Any) -> None:
        channels = self._input_channels(input_shape)
        check_fits(self, _spatial(tuple(input_shape), self.data_format), self.kernel_size, self.dilation_rate,
                   self.strides, self.padding)
        self.kernel = self.add_weight(name="kernel", shape=(*self.kernel_size, channels, self.depth_multiplier),
                                      initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(channels * self.depth_multiplier,),
                                        initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self._in_channels = channels
        self._set_built_spec(input_shape, channels)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_call_fits(inputs, self.kernel_size)
        x, pad = self._pad_for(self._enter(inputs), self.kernel_size, self.strides, self.dilation_rate)
        y = _CONV[self.rank](x, _depthwise_torch_kernel(self.kernel, self.rank), self.bias, self.strides, pad,
                             self.dilation_rate, self._in_channels)
        return self._leave(y)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        channels = _channels(shape, self.data_format)
        spatial = [conv_output_length(n, k, s, d, self.padding) for n, k, s, d in
                   zip(_spatial(shape, self.data_format), self.kernel_size, self.strides, self.dilation_rate)]
        out_ch = None if channels is None else channels * self.depth_multiplier
        return _with_spatial(shape, spatial, out_ch, self.data_format)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"depth_multiplier": self.depth_multiplier, **self._common_config(),
                       "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                       "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                       "bias_initializer": initializers.serialize(self.bias_initializer),
                       "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
                       "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                       "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                       "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
                       "bias_constraint": constraints.serialize(self.bias_constraint)})
        return config


def _depthwise_torch_kernel(kernel: torch.Tensor, rank: int) -> torch.Tensor:
    """Keras ``(*k, in, dm)`` -> torch grouped ``(in*dm, 1, *k)``: output channel ``c*dm + m``."""
    return _torch_kernel(kernel.reshape(*kernel.shape[:rank], 1, -1), rank)


class DepthwiseConv1D(_DepthwiseConv):
    """1-D depthwise convolution; see :class:`DepthwiseConv2D`. Kernel ``(k, in, depth_multiplier)``."""

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution: each input channel is convolved with its own ``depth_multiplier``
    filters; output channels = in·depth_multiplier (channel ``c*depth_multiplier + m``).

    The weight is named ``kernel`` (as in Keras 3) with shape ``(kh, kw, in, depth_multiplier)``,
    drawn by ``depthwise_initializer`` (default ``glorot_uniform``; Keras's fan rule gives fan_in =
    kh·kw·in and fan_out = kh·kw·depth_multiplier, although each output sees only kh·kw inputs);
    the bias ``(in·depth_multiplier,)`` is drawn by ``bias_initializer`` (default zeros).
    """

    rank = 2


# ---------------------------------------------------------------------------------------- Separable
class _SeparableConv(_ConvEngine):
    """Base of SeparableConv1D/2D (see SeparableConv2D)."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, pointwise_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        where = _where(self)
        self.depth_multiplier = positive_count(where, "depth_multiplier", depth_multiplier)
        self.filters = positive_count(where, "filters", filters)
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, ("valid", "same"))
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.depthwise_kernel = None
        self.pointwise_kernel = None
        self.bias = None

    def build(self, input_shape: Any) -> None:
        channels = self._input_channels(input_shape)
        check_fits(self, _spatial(tuple(input_shape), self.data_format), self.kernel_size, self.dilation_rate,
                   self.strides, self.padding)
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel", shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel", shape=(*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self._in_channels = channels
        self._set_built_spec(input_shape, channels)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_call_fits(inputs, self.kernel_size)
        conv = _CONV[self.rank]
        x, pad = self._pad_for(self._enter(inputs), self.kernel_size, self.strides, self.dilation_rate)
        h = conv(x, _depthwise_torch_kernel(self.depthwise_kernel, self.rank), None, self.strides, pad,
                 self.dilation_rate, self._in_channels)
        y = conv(h, _torch_kernel(self.pointwise_kernel, self.rank), self.bias)
        return self._leave(y)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        spatial = [conv_output_length(n, k, s, d, self.padding) for n, k, s, d in
                   zip(_spatial(shape, self.data_format), self.kernel_size, self.strides, self.dilation_rate)]
        return _with_spatial(shape, spatial, self.filters, self.data_format)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"depth_multiplier": self.depth_multiplier, "filters": self.filters, **self._common_config(),
                       "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                       "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                       "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
                       "bias_initializer": initializers.serialize(self.bias_initializer),
                       "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
                       "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
                       "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                       "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                       "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
                       "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
                       "bias_constraint": constraints.serialize(self.bias_constraint)})
        return config


class SeparableConv1D(_SeparableConv):
    """1-D separable convolution; see :class:`SeparableConv2D`."""

    rank = 1


class SeparableConv2D(_SeparableConv):
    """Depthwise-separable 2-D convolution: a depthwise convolution (``depth_multiplier`` filters per
    input channel, with the strides, padding and dilation) followed by a 1x1 pointwise convolution
    to ``filters`` channels, plus a bias.

    Weights, in order: ``depthwise_kernel`` ``(kh, kw, in, depth_multiplier)`` (default
    ``glorot_uniform``: fan_in = kh·kw·in, fan_out = kh·kw·depth_multiplier), ``pointwise_kernel``
    ``(1, 1, in·depth_multiplier, filters)`` (default ``glorot_uniform``: variance
    2 / (in·depth_multiplier + filters)) and ``bias`` ``(filters,)`` (default zeros).
    """

    rank = 2


Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

register_layer(Conv1D, "Convolution1D")
register_layer(Conv2D, "Convolution2D")
register_layer(Conv3D, "Convolution3D")
register_layer(Conv1DTranspose, "Convolution1DTranspose")
register_layer(Conv2DTranspose, "Convolution2DTranspose")
register_layer(Conv3DTranspose, "Convolution3DTranspose")
register_layer(DepthwiseConv1D)
register_layer(DepthwiseConv2D)
register_layer(SeparableConv1D, "SeparableConvolution1D")
register_layer(SeparableConv2D, "SeparableConvolution2D")
