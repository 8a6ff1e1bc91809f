"""``keras.ops.nn``: activations, convolutions and pooling, normalization, losses, attention, CTC.

Every op is a thin function over ``torch.nn.functional`` with Keras's argument names, defaults and
layouts, and with the dtypes and errors Keras's torch backend gives (it calls the same torch
kernels, so an integer input that torch cannot take raises the same ``NotImplementedError``).

Layouts, as in Keras:

- images are ``channels_last`` ``(batch, *spatial, channels)`` or ``channels_first``
  ``(batch, channels, *spatial)``; ``data_format=None`` means ``backend.image_data_format()``.
  torch wants channels first, so channels-last inputs are viewed with the channel axis moved
  (``movedim``, no copy; the convolution kernels then run in torch's channels-last memory format).
- convolution kernels are ``(*spatial, in_channels / groups, out_channels)``; transposed
  convolution kernels ``(*spatial, out_channels, in_channels)``; depthwise kernels
  ``(*spatial, in_channels, multiplier)``.
- ``padding="same"`` pads as TensorFlow does: the output has ``ceil(size / stride)`` positions and
  an odd total padding puts the extra element at the end. torch only pads symmetrically, so an
  asymmetric padding is applied beforehand with ``F.pad`` (zeros for convolutions; for pooling the
  edge values are repeated, which is what Keras's torch backend does).

Everything here also runs on meta tensors, so the ops build graph nodes on KerasTensors; the two
CTC ops, whose kernels have no meta implementation or depend on values, declare their output specs.
A symbolic output therefore always has the dtype and shape the eager op returns (Keras's own specs
disagree with its eager ops for ``polar``, ``multi_hot``, ``normalize``, ``psnr`` and channels-last
adaptive pooling).

Where Keras's torch backend misbehaves, initium does what Keras documents instead:
``layer_normalization``/``rms_normalization`` normalize the axes asked for (Keras hands any axis
to torch's fused kernels, which always take the last axes); an unknown ``padding`` string or a
``one_hot`` axis outside ``-1, 0..rank`` is a ``ValueError`` (Keras reads the first as "valid"
and permutes wrongly for the second); unknown keywords to ``layer_normalization``/``multi_hot``
are a ``TypeError`` (Keras ignores them); ``unfold``/``fold`` convert their input like every op;
CTC beam search merges scores with a per-prefix log-sum-exp (Keras subtracts one global maximum,
which underflows beams far behind the best to -inf).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from initium import activations, backend
from initium.ops.core import convert_to_tensor
from initium.ops.operation import keras_op
from initium.symbolic import KerasTensor

__all__ = [
    "relu", "relu6", "sigmoid", "sparse_sigmoid", "softplus", "softsign", "soft_shrink", "sparse_plus", "silu",
    "swish", "squareplus", "log_sigmoid", "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish", "elu", "selu",
    "gelu", "celu", "glu", "tanh_shrink", "hard_tanh", "hard_shrink", "threshold", "softmax", "log_softmax",
    "sparsemax", "max_pool", "average_pool", "adaptive_max_pool", "adaptive_average_pool", "conv", "depthwise_conv",
    "separable_conv", "conv_transpose", "one_hot", "multi_hot", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "moments", "batch_normalization", "ctc_loss", "ctc_decode", "normalize",
    "psnr", "dot_product_attention", "rms_normalization", "layer_normalization", "polar", "unfold", "fold",
    "depth_to_space", "space_to_depth",
]


# ============================================================================ activations
@keras_op("Relu", "nn")
def relu(x: Any) -> torch.Tensor:
    """``max(x, 0)``."""
    return F.relu(convert_to_tensor(x))


@keras_op("Relu6", "nn")
def relu6(x: Any) -> torch.Tensor:
    """``min(max(x, 0), 6)``."""
    return F.relu6(convert_to_tensor(x))


@keras_op("Sigmoid", "nn")
def sigmoid(x: Any) -> torch.Tensor:
    """``1 / (1 + exp(-x))`` (integers give ``float32``)."""
    return torch.sigmoid(convert_to_tensor(x))


@keras_op("SparseSigmoid", "nn")
def sparse_sigmoid(x: Any) -> torch.Tensor:
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` between."""
    x = convert_to_tensor(x)
    return torch.where(x <= -1, 0.0, torch.where(x >= 1, 1.0, 0.5 * (x + 1)))


@keras_op("Softplus", "nn")
def softplus(x: Any) -> torch.Tensor:
    """``log(1 + exp(x))``."""
    return F.softplus(convert_to_tensor(x))


@keras_op("Softsign", "nn")
def softsign(x: Any) -> torch.Tensor:
    """``x / (1 + |x|)``."""
    return F.softsign(convert_to_tensor(x))


@keras_op("SoftShrink", "nn", init=("threshold",))
def soft_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    return F.softshrink(convert_to_tensor(x), lambd=threshold)


@keras_op("SparsePlus", "nn")
def sparse_plus(x: Any) -> torch.Tensor:
    """0 for ``x <= -1``, ``(x + 1)**2 / 4`` on ``(-1, 1)``, ``x`` from 1 on."""
    x = convert_to_tensor(x)
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


@keras_op("Silu", "nn")
def silu(x: Any) -> torch.Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    return F.silu(convert_to_tensor(x))


swish = silu  # Keras's alias


@keras_op("Squareplus", "nn", init=("b",))
def squareplus(x: Any, b: float = 4) -> torch.Tensor:
    """``(x + sqrt(x**2 + b)) / 2``."""
    x = convert_to_tensor(x)
    return (x + torch.sqrt(x ** 2 + convert_to_tensor(b))) / 2


@keras_op("LogSigmoid", "nn")
def log_sigmoid(x: Any) -> torch.Tensor:
    """``log(sigmoid(x))``, computed stably."""
    return F.logsigmoid(convert_to_tensor(x))


@keras_op("LeakyRelu", "nn", init=("negative_slope",))
def leaky_relu(x: Any, negative_slope: float = 0.2) -> torch.Tensor:
    """``x`` for ``x >= 0``, ``negative_slope * x`` below."""
    return F.leaky_relu(convert_to_tensor(x), negative_slope=negative_slope)


@keras_op("HardSigmoid", "nn")
def hard_sigmoid(x: Any) -> torch.Tensor:
    """``relu6(x + 3) / 6``."""
    return F.hardsigmoid(convert_to_tensor(x))


@keras_op("HardSilu", "nn")
def hard_silu(x: Any) -> torch.Tensor:
    """``x * relu6(x + 3) / 6`` (also called hard swish)."""
    return F.hardswish(convert_to_tensor(x))


hard_swish = hard_silu  # Keras's alias


@keras_op("Elu", "nn", init=("alpha",))
def elu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below."""
    return F.elu(convert_to_tensor(x), alpha)


@keras_op("Selu", "nn")
def selu(x: Any) -> torch.Tensor:
    """The scaled ELU of Klambauer et al. (2017), with its fixed ``alpha`` and ``scale``."""
    return F.selu(convert_to_tensor(x))


@keras_op("Gelu", "nn", init=("approximate",))
def gelu(x: Any, approximate: bool = True) -> torch.Tensor:
    """``x * Phi(x)``; ``approximate=True`` (the default, as in Keras) uses the tanh formula."""
    return F.gelu(convert_to_tensor(x), approximate="tanh" if approximate else "none")


@keras_op("Celu", "nn", init=("alpha",))
def celu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return F.celu(convert_to_tensor(x), alpha=alpha)


@keras_op("Glu", "nn", init=("axis",))
def glu(x: Any, axis: int = -1) -> torch.Tensor:
    """The gated linear unit: ``a * sigmoid(b)`` for the two halves ``a, b`` of ``x`` along ``axis``."""
    return F.glu(convert_to_tensor(x), dim=axis)


@keras_op("TanhShrink", "nn")
def tanh_shrink(x: Any) -> torch.Tensor:
    """``x - tanh(x)``."""
    return F.tanhshrink(convert_to_tensor(x))


@keras_op("HardTanh", "nn")
def hard_tanh(x: Any) -> torch.Tensor:
    """``x`` clipped to ``[-1, 1]``."""
    return F.hardtanh(convert_to_tensor(x), min_val=-1.0, max_val=1.0)


@keras_op("HardShrink", "nn", init=("threshold",))
def hard_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """``x`` where ``|x| > threshold``, else 0."""
    return F.hardshrink(convert_to_tensor(x), lambd=threshold)


@keras_op("Threshold", "nn", init=("threshold", "default_value"))
def threshold(x: Any, threshold: float, default_value: float) -> torch.Tensor:
    """``x`` where ``x > threshold``, else ``default_value``."""
    return F.threshold(convert_to_tensor(x), threshold, default_value)


def _over_axes(fn: Any, x: torch.Tensor, axis: Any) -> torch.Tensor:
    """``fn(t, dim=-1)`` applied jointly over several axes of ``x`` (all of them for ``None``): the
    axes are moved to the end and flattened into one, and the result is put back in place."""
    axes = range(x.dim()) if axis is None else [a % x.dim() for a in axis]
    moved = torch.movedim(x, list(axes), list(range(x.dim() - len(axes), x.dim())))
    flat = moved.reshape(*moved.shape[: x.dim() - len(axes)], -1)
    out = fn(flat, dim=-1).reshape(moved.shape)
    return torch.movedim(out, list(range(x.dim() - len(axes), x.dim())), list(axes))


def _softmax_like(fn: Any, x: Any, axis: Any) -> torch.Tensor:
    x = convert_to_tensor(x)
    dtype = x.dtype
    if dtype == torch.float16 and x.device.type == "cpu":  # computed in float32 on CPUs, as Keras does
        x = x.float()
    if isinstance(axis, int):
        if -x.dim() <= axis < x.dim() and x.shape[axis] == 1:
            warnings.warn(f"You are using a softmax over axis {axis} of a tensor of shape {tuple(x.shape)}. This axis "
                          "has size 1. The softmax operation will always return the value 1, which is likely not what "
                          "you intended. Did you mean to use a sigmoid instead?", stacklevel=3)
        out = fn(x, dim=axis)
    else:
        out = _over_axes(fn, x, axis)
    return out.to(dtype)


@keras_op("Softmax", "nn", init=("axis",))
def softmax(x: Any, axis: Any = -1) -> torch.Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (an int, a tuple of axes taken jointly, or ``None``
    for all axes)."""
    return _softmax_like(F.softmax, x, axis)


@keras_op("LogSoftmax", "nn", init=("axis",))
def log_softmax(x: Any, axis: Any = -1) -> torch.Tensor:
    """``x - logsumexp(x)`` along ``axis`` (as ``softmax``)."""
    return _softmax_like(F.log_softmax, x, axis)


@keras_op("Sparsemax", "nn", init=("axis",))
def sparsemax(x: Any, axis: int = -1) -> torch.Tensor:
    """The Euclidean projection of ``x`` onto the probability simplex along ``axis`` (Martins and
    Astudillo, 2016): ``max(x - tau, 0)`` with ``tau`` chosen so the result sums to 1."""
    return activations.sparsemax_along(convert_to_tensor(x), axis)


# ============================================================================ spatial helpers
def _data_format(data_format: Any) -> str:
    """``data_format`` checked, with ``None`` read as ``backend.image_data_format()``."""
    if data_format is None:
        return backend.image_data_format()
    value = str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
                         f"Received: data_format={data_format}")
    return value


def _int_tuple(value: Any, n: int, name: str) -> tuple[int, ...]:
    """``value`` (an int, or ``n`` ints) as a tuple of ``n`` positive ints."""
    if isinstance(value, int):
        values = (value,) * n
    else:
        try:
            values = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received {name}={value}") from None
    if len(values) != n or any(v <= 0 for v in values):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} positive integers. Received {name}={value}")
    return values


def _padding(padding: Any, what: str) -> str:
    value = str(padding).lower()
    if value not in ("valid", "same"):
        raise ValueError(f"ops.{what}: the `padding` argument must be 'valid' or 'same'. Received: padding={padding!r}")
    return value


def _spatial_rank(x: torch.Tensor, what: str) -> int:
    if x.dim() not in (3, 4, 5):
        raise ValueError(f"ops.{what}: inputs must have ndim=3, 4 or 5 (1D, 2D or 3D inputs with batch and channel "
                         f"axes). Received input shape: {tuple(x.shape)}.")
    return x.dim() - 2


def _channels_first(x: torch.Tensor, data_format: str) -> torch.Tensor:
    return x.movedim(-1, 1) if data_format == "channels_last" else x


def _restore_format(x: torch.Tensor, data_format: str) -> torch.Tensor:
    return x.movedim(1, -1) if data_format == "channels_last" else x


def _same_padding(sizes: Any, kernel: Any, strides: Any, dilation: Any) -> list[tuple[int, int]]:
    """Per spatial axis, the (before, after) padding that makes ``ceil(size / stride)`` outputs."""
    pads = []
    for size, k, s, d in zip(sizes, kernel, strides, dilation):
        span = (k - 1) * d + 1
        total = max(0, (-(-size // s) - 1) * s + span - size)
        pads.append((total // 2, total - total // 2))
    return pads


def _apply_padding(x: torch.Tensor, pads: list[tuple[int, int]], mode: str) -> tuple[torch.Tensor, Any]:
    """``x`` and the ``padding`` argument for torch: symmetric paddings are left to the torch
    kernel (cheapest), others are applied here and torch is told 0."""
    if all(before == after for before, after in pads):
        return x, [before for before, _ in pads]
    flat = [p for before_after in reversed(pads) for p in before_after]
    return F.pad(x, flat, mode=mode), 0


def _channels(x: torch.Tensor, data_format: str) -> int:
    return x.shape[-1] if data_format == "channels_last" else x.shape[1]


def _check_channels(inputs: torch.Tensor, kernel_channels: int, data_format: str) -> None:
    channels = _channels(inputs, data_format)
    if channels != kernel_channels:
        raise ValueError("The number of input channels must match the kernel's input channels. Received: input "
                         f"channels={channels}, kernel input channels={kernel_channels}, data_format='{data_format}'.")


# ============================================================================ pooling
_MAX_POOL = (F.max_pool1d, F.max_pool2d, F.max_pool3d)
_AVG_POOL = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)
_ADAPTIVE_MAX = (F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d)
_ADAPTIVE_AVG = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)


def _pool(kind: str, inputs: Any, pool_size: Any, strides: Any, padding: Any, data_format: Any) -> torch.Tensor:
    inputs = convert_to_tensor(inputs)
    what = f"{kind}_pool"
    n = _spatial_rank(inputs, what)
    data_format = _data_format(data_format)
    pool_size = _int_tuple(pool_size, n, "pool_size")
    strides = pool_size if strides is None else _int_tuple(strides, n, "strides")
    x = _channels_first(inputs, data_format)
    pad: Any = 0
    if _padding(padding, what) == "same":
        x, pad = _apply_padding(x, _same_padding(x.shape[2:], pool_size, strides, (1,) * n), "replicate")
    if kind == "max":
        out = _MAX_POOL[n - 1](x, pool_size, strides, pad)
    else:
        out = _AVG_POOL[n - 1](x, pool_size, strides, pad, count_include_pad=False)
    return _restore_format(out, data_format)


@keras_op("MaxPool", "nn", init=("pool_size", "strides", "padding", "data_format"))
def max_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
             data_format: Any = None) -> torch.Tensor:
    """The maximum over windows of ``pool_size`` moved by ``strides`` (default: ``pool_size``)."""
    return _pool("max", inputs, pool_size, strides, padding, data_format)


@keras_op("AveragePool", "nn", init=("pool_size", "strides", "padding", "data_format"))
def average_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: Any = None) -> torch.Tensor:
    """The mean over windows of ``pool_size`` moved by ``strides`` (default: ``pool_size``).

    With ``padding="same"``, a symmetric padding is left out of the means; an asymmetric one repeats
    the edge values, as Keras's torch backend does."""
    return _pool("average", inputs, pool_size, strides, padding, data_format)


def _adaptive_pool(table: tuple, inputs: Any, output_size: Any, data_format: Any, what: str) -> torch.Tensor:
    inputs = convert_to_tensor(inputs)
    n = _spatial_rank(inputs, what)
    data_format = _data_format(data_format)
    size = output_size if isinstance(output_size, int) and n == 1 else _int_tuple(output_size, n, "output_size")
    out = table[n - 1](_channels_first(inputs, data_format), size)
    return _restore_format(out, data_format)


@keras_op("AdaptiveMaxPool", "nn", init=("output_size", "data_format"))
def adaptive_max_pool(inputs: Any, output_size: Any, data_format: Any = None) -> torch.Tensor:
    """Max pooling to a fixed spatial ``output_size``, with windows sized to fit the input."""
    return _adaptive_pool(_ADAPTIVE_MAX, inputs, output_size, data_format, "adaptive_max_pool")


@keras_op("AdaptiveAveragePool", "nn", init=("output_size", "data_format"))
def adaptive_average_pool(inputs: Any, output_size: Any, data_format: Any = None) -> torch.Tensor:
    """Average pooling to a fixed spatial ``output_size``, with windows sized to fit the input."""
    return _adaptive_pool(_ADAPTIVE_AVG, inputs, output_size, data_format, "adaptive_average_pool")


# ============================================================================ convolutions
_CONV = (F.conv1d, F.conv2d, F.conv3d)
_CONV_TRANSPOSE = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)


def _torch_kernel(kernel: torch.Tensor, n: int) -> torch.Tensor:
    """A Keras kernel ``(*spatial, a, b)`` in torch's order ``(b, a, *spatial)``."""
    return kernel.permute(n + 1, n, *range(n))


def _conv(inputs: torch.Tensor, kernel: torch.Tensor, strides: Any, padding: Any, data_format: str,
          dilation_rate: Any, what: str) -> torch.Tensor:
    n = _spatial_rank(inputs, what)
    strides = _int_tuple(strides, n, "strides")
    dilation = _int_tuple(dilation_rate, n, "dilation_rate")
    x = _channels_first(inputs, data_format)
    weight = _torch_kernel(kernel, n)
    if weight.shape[1] == 0 or x.shape[1] % weight.shape[1]:
        raise ValueError(f"ops.{what}: input channels ({x.shape[1]}) must be divisible by kernel input channels "
                         f"({weight.shape[1]}).")
    pad: Any = 0
    if _padding(padding, what) == "same":
        x, pad = _apply_padding(x, _same_padding(x.shape[2:], weight.shape[2:], strides, dilation), "constant")
    out = _CONV[n - 1](x, weight, None, strides, pad, dilation, x.shape[1] // weight.shape[1])
    return _restore_format(out, data_format)


@keras_op("Conv", "nn", init=("strides", "padding", "data_format", "dilation_rate"))
def conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", data_format: Any = None,
         dilation_rate: Any = 1) -> torch.Tensor:
    """N-D convolution (1D, 2D or 3D by the rank of ``inputs``) with a kernel of shape
    ``(*spatial, in_channels / groups, out_channels)``; ``in_channels`` a multiple of the kernel's
    input channels makes a grouped convolution."""
    data_format = _data_format(data_format)
    return _conv(convert_to_tensor(inputs), convert_to_tensor(kernel), strides, padding, data_format, dilation_rate,
                 "conv")


def _depthwise(inputs: torch.Tensor, kernel: torch.Tensor, strides: Any, padding: Any, data_format: str,
               dilation_rate: Any, what: str) -> torch.Tensor:
    _check_channels(inputs, kernel.shape[-2], data_format)
    flat = kernel.reshape(*kernel.shape[:-2], 1, kernel.shape[-2] * kernel.shape[-1])
    return _conv(inputs, flat, strides, padding, data_format, dilation_rate, what)


@keras_op("DepthwiseConv", "nn", init=("strides", "padding", "data_format", "dilation_rate"))
def depthwise_conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", data_format: Any = None,
                   dilation_rate: Any = 1) -> torch.Tensor:
    """Each input channel convolved with its own ``multiplier`` filters; the kernel has shape
    ``(*spatial, in_channels, multiplier)`` and the output ``in_channels * multiplier`` channels."""
    data_format = _data_format(data_format)
    return _depthwise(convert_to_tensor(inputs), convert_to_tensor(kernel), strides, padding, data_format,
                      dilation_rate, "depthwise_conv")


@keras_op("SeparableConv", "nn", init=("strides", "padding", "data_format", "dilation_rate"))
def separable_conv(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any, strides: Any = 1,
                   padding: str = "valid", data_format: Any = None, dilation_rate: Any = 1) -> torch.Tensor:
    """A depthwise convolution followed by a 1x1 (pointwise) convolution mixing the channels."""
    data_format = _data_format(data_format)
    hidden = _depthwise(convert_to_tensor(inputs), convert_to_tensor(depthwise_kernel), strides, padding, data_format,
                        dilation_rate, "separable_conv")
    return _conv(hidden, convert_to_tensor(pointwise_kernel), 1, "valid", data_format, dilation_rate, "separable_conv")


def _transpose_crops(kernel: Any, strides: Any, dilation: Any, padding: str, output_padding: Any
                     ) -> list[tuple[int, int]]:
    """Per spatial axis, how much to cut (negative: zero-pad) from each end of torch's full
    transposed convolution (no padding) to get Keras's output for ``padding``/``output_padding``.

    Keras defines the transposed convolution as a stride-1 convolution of the input dilated by
    ``strides`` and padded by (left, right); torch's full output corresponds to padding
    ``span - 1`` on both sides, ``span`` being the dilated kernel extent.
    """
    crops = []
    for i, (k, s, d) in enumerate(zip(kernel, strides, dilation)):
        extra = output_padding if output_padding is None or isinstance(output_padding, int) else output_padding[i]
        span = (k - 1) * d + 1
        if padding == "valid":
            left = span - 1
            right = span - 1 + (max(span, s) - span if extra is None else extra)
        else:
            total = s + span - 2 if extra is None else span + span % 2 - 2 + extra
            left = min(total // 2 + total % 2, span - 1)
            right = total - left
        crops.append((span - 1 - left, span - 1 - right))
    return crops


@keras_op("ConvTranspose", "nn", init=("strides", "padding", "output_padding", "data_format", "dilation_rate"))
def conv_transpose(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", output_padding: Any = None,
                   data_format: Any = None, dilation_rate: Any = 1) -> torch.Tensor:
    """The transposed convolution (the gradient of ``conv`` with respect to its input), kernel of
    shape ``(*spatial, out_channels, in_channels)``; output sizes follow Keras
    (``size * stride`` for ``"same"`` without ``output_padding``)."""
    inputs, kernel = convert_to_tensor(inputs), convert_to_tensor(kernel)
    data_format = _data_format(data_format)
    n = _spatial_rank(inputs, "conv_transpose")
    strides = _int_tuple(strides, n, "strides")
    dilation = _int_tuple(dilation_rate, n, "dilation_rate")
    _check_channels(inputs, kernel.shape[-1], data_format)
    crops = _transpose_crops(kernel.shape[:-2], strides, dilation, _padding(padding, "conv_transpose"), output_padding)
    out = _CONV_TRANSPOSE[n - 1](_channels_first(inputs, data_format), _torch_kernel(kernel, n), None, strides,
                                 0, 0, 1, dilation)
    out = out[(slice(None), slice(None), *(slice(max(a, 0), out.shape[2 + i] - max(b, 0)) for i, (a, b) in
                                           enumerate(crops)))]
    if any(a < 0 or b < 0 for a, b in crops):
        out = F.pad(out, [max(-c, 0) for pair in reversed(crops) for c in pair])
    return _restore_format(out, data_format)


# ============================================================================ one-hot encodings
def _one_hot(x: torch.Tensor, num_classes: int, axis: int, dtype: Any) -> torch.Tensor:
    x = x.long()
    out = F.one_hot(x.clamp(min=0), num_classes) * (x >= 0).unsqueeze(-1)
    out = out.to(backend.torch_dtype(dtype or backend.floatx()))
    if axis == -1:
        return out
    if not 0 <= axis <= x.dim():
        raise ValueError(f"ops.one_hot: axis must be -1 or between [0, {x.dim()}]. Received: axis={axis}")
    return out.movedim(-1, axis)


@keras_op("OneHot", "nn", init=("num_classes", "axis", "dtype", "sparse"))
def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> torch.Tensor:
    """Integer class ids as one-hot vectors (of ``dtype``, default ``floatx``) along a new ``axis``;
    negative ids give all-zero vectors."""
    if sparse:
        raise ValueError("ops.one_hot: `sparse=True` is not supported with the torch backend. Use sparse=False.")
    return _one_hot(convert_to_tensor(x), num_classes, axis, dtype)


@keras_op("MultiHot", "nn", init=("num_classes", "axis", "dtype", "sparse"))
def multi_hot(inputs: Any, num_classes: Any = None, axis: int = -1, dtype: Any = None, sparse: bool = False,
              **kwargs: Any) -> torch.Tensor:
    """Per sample (the first axis of a batched input), a vector with 1 at every class id present.

    ``num_tokens`` is accepted as the older name of ``num_classes``, as in Keras."""
    num_tokens = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"ops.multi_hot: unexpected keyword arguments {sorted(kwargs)}.")
    if num_classes is None:
        num_classes = num_tokens
    if num_classes is None:
        raise ValueError("Argument `num_classes` must be specified.")
    if sparse:
        raise ValueError("ops.multi_hot: `sparse=True` is not supported with the torch backend. Use sparse=False.")
    x = convert_to_tensor(inputs)
    return _one_hot(x.to(torch.int32), num_classes, axis, dtype).amax(dim=1 if x.dim() > 1 else 0)


# ============================================================================ losses
def _same_shapes(target: torch.Tensor, output: torch.Tensor) -> None:
    if target.shape != output.shape:
        raise ValueError("Arguments `target` and `output` must have the same shape. Received: "
                         f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}")


def _normalized_log(output: torch.Tensor, dim: int) -> torch.Tensor:
    """``log`` of probabilities rescaled to sum to 1 along ``dim`` and clipped to
    ``[epsilon, 1 - epsilon]``."""
    eps = backend.epsilon()
    return torch.log(torch.clip(output / output.sum(dim=dim, keepdim=True), eps, 1.0 - eps))


@keras_op("BinaryCrossentropy", "nn", init=("from_logits",))
def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> torch.Tensor:
    """Element-wise ``-(t log p + (1 - t) log(1 - p))``; probabilities are clipped to
    ``[epsilon, 1 - epsilon]``, logits go through a stable log-sigmoid."""
    target, output = convert_to_tensor(target), convert_to_tensor(output)
    _same_shapes(target, output)
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    eps = backend.epsilon()
    return F.binary_cross_entropy(torch.clip(output, eps, 1.0 - eps), target, reduction="none")


@keras_op("CategoricalCrossentropy", "nn", init=("from_logits", "axis"))
def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> torch.Tensor:
    """``-sum(target * log(p))`` along ``axis``, ``p`` the softmax of logits or the renormalized,
    clipped probabilities."""
    target, output = convert_to_tensor(target), convert_to_tensor(output)
    _same_shapes(target, output)
    if target.dim() < 1:
        raise ValueError("Arguments `target` and `output` must be at least rank 1. Received: "
                         f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}")
    log_p = F.log_softmax(output, dim=axis) if from_logits else _normalized_log(output, axis)
    return -torch.sum(target * log_p, dim=axis)


@keras_op("SparseCategoricalCrossentropy", "nn", init=("from_logits", "axis"))
def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1
                                    ) -> torch.Tensor:
    """The categorical crossentropy of integer class ids ``target`` (shape of ``output`` without
    ``axis``, or with it of size 1), without building the one-hot matrix."""
    target, output = convert_to_tensor(target).long(), convert_to_tensor(output)
    if output.dim() < 1:
        raise ValueError(f"Argument `output` must be at least rank 1. Received: output.shape={tuple(output.shape)}")
    if target.dim() == output.dim() and target.shape[axis] == 1:
        target = target.squeeze(axis)
    expected = list(output.shape)
    del expected[axis]
    if list(target.shape) != expected:
        raise ValueError("Arguments `target` and `output` must have the same shape up until the last dimension: "
                         f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}")
    scores = output.unsqueeze(0) if output.dim() == 1 else output.movedim(axis, 1)
    labels = target.unsqueeze(0) if output.dim() == 1 else target
    if from_logits:
        loss = F.cross_entropy(scores, labels, reduction="none")
    else:
        loss = F.nll_loss(_normalized_log(scores, 1), labels, reduction="none")
    return loss.squeeze(0) if output.dim() == 1 else loss


# ============================================================================ statistics and normalization
def _axes(axis: Any) -> tuple[int, ...]:
    return (axis,) if isinstance(axis, int) else tuple(axis)


@keras_op("Moments", "nn", init=("axes", "keepdims", "synchronized"))
def moments(x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of ``x`` over ``axes``, as ``E[x]`` and ``E[x**2] - E[x]**2`` (float16 is
    computed in float32)."""
    if synchronized:
        raise NotImplementedError("Argument synchronized=True is not supported with PyTorch.")
    x = convert_to_tensor(x)
    axes = _axes(axes)
    half = x.dtype == torch.float16
    if half:
        x = x.float()
    mean = x.mean(dim=axes, keepdim=True)
    variance = x.square().mean(dim=axes, keepdim=True) - mean.square()
    if not keepdims:
        mean, variance = mean.squeeze(axes), variance.squeeze(axes)
    if half:
        limit = torch.finfo(torch.float16).max
        mean, variance = mean.clip(-limit, limit).half(), variance.clip(-limit, limit).half()
    return mean, variance


@keras_op("BatchNorm", "nn", init=("axis", "epsilon"))
def batch_normalization(x: Any, mean: Any, variance: Any, axis: int, offset: Any = None, scale: Any = None,
                        epsilon: float = 1e-3) -> torch.Tensor:
    """``(x - mean) * scale / sqrt(variance + epsilon) + offset``, the vectors laid along ``axis``."""
    x, mean, variance = convert_to_tensor(x), convert_to_tensor(mean), convert_to_tensor(variance)
    shape = [1] * x.dim()
    shape[axis] = mean.shape[0]
    centered = x - mean.reshape(shape)
    factor = torch.rsqrt(variance.reshape(shape) + epsilon)
    if scale is not None:
        factor = factor * convert_to_tensor(scale).reshape(shape)
    out = centered * factor
    if offset is not None:
        out = out + convert_to_tensor(offset).reshape(shape)
    return out.to(centered.dtype)


def _trailing(axes: list[int], ndim: int) -> bool:
    """True if ``axes`` (sorted) are the last ``len(axes)`` axes, where torch's fused norms apply."""
    return [a % ndim for a in axes] == list(range(ndim - len(axes), ndim))


@keras_op("RMSNorm", "nn", init=("axis", "epsilon"))
def rms_normalization(x: Any, scale: Any = None, axis: Any = -1, epsilon: Any = None) -> torch.Tensor:
    """``x / sqrt(mean(x**2, axis) + epsilon) * scale``, computed in at least float32 and returned
    in ``x``'s dtype; ``epsilon`` defaults to ``backend.epsilon()``."""
    x = convert_to_tensor(x)
    dtype = x.dtype
    x = x.to(backend.torch_dtype(backend.result_type(dtype, "float32")))
    eps = backend.epsilon() if epsilon is None else epsilon
    scale = None if scale is None else convert_to_tensor(scale).to(x.dtype)
    axes = sorted(_axes(axis))
    if x.dim() and _trailing(axes, x.dim()):
        out = F.rms_norm(x, [x.shape[a] for a in axes], scale, eps)
    else:
        x = x.reshape(1) if x.dim() == 0 else x
        out = x * torch.rsqrt(x.square().mean(dim=axes, keepdim=True) + eps)
        out = out if scale is None else out * scale
    return out.to(dtype)


@keras_op("LayerNorm", "nn", init=("axis", "epsilon"))
def layer_normalization(x: Any, gamma: Any = None, beta: Any = None, axis: Any = -1, epsilon: Any = None,
                        **kwargs: Any) -> torch.Tensor:
    """``(x - mean) / sqrt(variance + epsilon) * gamma + beta`` over ``axis``, computed in at
    least float32 and returned in ``x``'s dtype.

    The deprecated ``rms_scaling=True`` (Keras's keyword) divides by ``sqrt(variance + epsilon)``
    without centering and ignores ``beta``, as Keras does, and warns.
    """
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"ops.layer_normalization: unexpected keyword arguments {sorted(kwargs)}.")
    if rms_scaling:
        warnings.warn("You passed `rms_scaling=True`, which is deprecated. This argument incorrectly scales the input "
                      "by the variance, not the root mean square. To correctly use RMS Normalization, please use "
                      "`ops.rms_normalization` / `ops.nn.rms_normalization` instead.", stacklevel=2)
    x = convert_to_tensor(x)
    dtype = x.dtype
    x = x.to(backend.torch_dtype(backend.result_type(dtype, "float32")))
    eps = backend.epsilon() if epsilon is None else epsilon
    gamma = None if gamma is None else convert_to_tensor(gamma).to(x.dtype)
    beta = None if beta is None else convert_to_tensor(beta).to(x.dtype)
    axes = sorted(_axes(axis))
    if not rms_scaling and _trailing(axes, x.dim()):
        return F.layer_norm(x, [x.shape[a] for a in axes], gamma, beta, eps).to(dtype)
    shape = [x.shape[a] if a in axes or a - x.dim() in axes else 1 for a in range(x.dim())]

    def laid_out(v: torch.Tensor | None) -> torch.Tensor | None:
        return v.reshape(shape) if v is not None and v.dim() != x.dim() else v

    gamma, beta = laid_out(gamma), laid_out(beta)
    if rms_scaling:
        out = x * torch.rsqrt(x.var(dim=axes, unbiased=False, keepdim=True) + eps)
        return (out if gamma is None else out * gamma).to(dtype)
    mean, variance = moments(x, axes, keepdims=True)
    inv = torch.rsqrt(variance + eps)
    inv = inv if gamma is None else inv * gamma
    shift = -mean * inv if beta is None else -mean * inv + beta
    return (x * inv + shift).to(dtype)


def _takes_rms_scaling(cls: type) -> None:
    """Keras's ``LayerNorm`` node takes ``rms_scaling`` in its constructor (its configs carry it);
    here the function receives it through ``**kwargs``, so the node's constructor accepts it too
    and hands it on at call time."""
    base_init = cls.__init__

    def __init__(self: Any, *args: Any, rms_scaling: Any = None, **kwargs: Any) -> None:
        base_init(self, *args, **kwargs)
        if rms_scaling is not None:
            self._init_kwargs["rms_scaling"] = rms_scaling

    cls.__init__ = __init__  # type: ignore[method-assign]


_takes_rms_scaling(layer_normalization.operation_class)  # type: ignore[attr-defined]


@keras_op("Normalize", "nn", init=("axis", "order", "epsilon"))
def normalize(x: Any, axis: Any = -1, order: int = 2, epsilon: Any = None) -> torch.Tensor:
    """``x`` divided by its ``order``-norm along ``axis`` (a norm below ``epsilon`` counts as
    ``epsilon``); a 0-d ``x`` is treated as a vector of one."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    x = convert_to_tensor(x)
    x = x.reshape(1) if x.dim() == 0 else x
    eps = backend.epsilon() if epsilon is None else epsilon
    if order == 2:
        inv_norm = torch.rsqrt(torch.sum(torch.square(x), dim=axis, keepdim=True))
        return x * torch.clamp(inv_norm, max=1.0 / eps)
    wide = "float32" if x.dtype == torch.int64 else backend.result_type(backend.standardize_dtype(x.dtype), float)
    norm = torch.linalg.norm(x.to(backend.torch_dtype(wide)), ord=order, dim=axis, keepdim=True)
    return x / torch.clamp(norm, min=eps)


@keras_op("PSNR", "nn", init=("max_val",))
def psnr(x1: Any, x2: Any, max_val: Any) -> torch.Tensor:
    """Peak signal-to-noise ratio ``20 log10(max_val) - 10 log10(mean((x1 - x2)**2))``, in dB."""
    x1, x2 = convert_to_tensor(x1), convert_to_tensor(x2)
    if x1.shape != x2.shape:
        raise ValueError(f"Input shapes {tuple(x1.shape)} and {tuple(x2.shape)} must match for PSNR calculation.")
    peak = convert_to_tensor(max_val, dtype=x1.dtype)
    return 20 * torch.log10(peak) - 10 * torch.log10(torch.mean((x1 - x2) ** 2))


# ============================================================================ CTC
def _ctc_loss_spec(target: Any, output: Any, target_length: Any, output_length: Any, mask_index: int = 0
                   ) -> KerasTensor:
    for (a, sa), (b, sb) in ((("target", target.shape), ("output", output.shape)),
                             (("target_length", target_length.shape), ("target", target.shape)),
                             (("output_length", output_length.shape), ("output", output.shape))):
        if sa[0] != sb[0]:
            raise ValueError(f"Arguments `{a}` and `{b}` must have the same first dimension. Received shapes: "
                             f"`{sa}` and `{sb}`.")
    return KerasTensor((target.shape[0],), dtype=backend.result_type(output.dtype, "float32"))


@keras_op("CTCLoss", "nn", init=("mask_index",), spec=_ctc_loss_spec)
def ctc_loss(target: Any, output: Any, target_length: Any, output_length: Any, mask_index: int = 0) -> torch.Tensor:
    """The connectionist temporal classification loss per sample: ``output`` are logits
    ``(batch, time, classes)``, ``target`` label ids ``(batch, max_label_length)``,
    ``mask_index`` the blank class."""
    output = convert_to_tensor(output)
    output = output.to(backend.torch_dtype(backend.result_type(output.dtype, "float32")))
    log_probs = F.log_softmax(output.transpose(0, 1), dim=-1)
    return F.ctc_loss(log_probs, convert_to_tensor(target), convert_to_tensor(output_length),
                      convert_to_tensor(target_length), blank=mask_index, reduction="none")


def _ctc_greedy(scores: torch.Tensor, lengths: torch.Tensor, merge_repeated: bool, blank: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    batch, steps, _ = scores.shape
    labels = scores.argmax(dim=-1).to(torch.int32)
    best = scores.amax(dim=-1)
    inside = torch.arange(steps, device=scores.device) < lengths[:, None]
    labels = torch.where(inside, labels, blank)
    best = torch.where(inside, best, 0.0)
    if merge_repeated:
        repeated = F.pad(labels[:, 1:] == labels[:, :-1], (1, 0))
        labels = torch.where(repeated, blank, labels)
    kept = labels != blank
    # Kept labels first, in time order; the rest become -1.
    order = torch.argsort(torch.where(kept, torch.arange(steps, device=scores.device), steps), dim=-1, stable=True)
    decoded = torch.take_along_dim(torch.where(kept, labels, -1), order, dim=-1)
    return decoded.unsqueeze(0), -best.sum(dim=1, keepdim=True)


def _beam_search_one(log_probs: torch.Tensor, length: int, beam_width: int, top_paths: int, blank: int
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """CTC prefix beam search on one sequence ``(time, classes)`` of log-probabilities.

    A beam is a label prefix (a row of ``prefixes``, padded with -1) with two log-scores: its
    paths ending in a label (``emit``) and ending in a blank (``rest``). At each step every beam
    grows by every label (after a repeat of its last label, only its blank-ending paths may append
    that label again; its label-ending paths merge into the prefix), or stays as it is; equal
    prefixes are merged by log-sum-exp per track and the ``beam_width`` best totals are kept.
    The first step keeps the ``min(classes, beam_width)`` most likely classes, as Keras does.
    """
    steps, classes = log_probs.shape
    dev = log_probs.device
    first = torch.argsort(log_probs[0], descending=True, stable=True)[: min(classes, beam_width)]
    prefixes = torch.full((first.numel(), steps), -1, dtype=torch.int32, device=dev)
    prefixes[:, 0] = torch.where(first == blank, -1, first).to(torch.int32)
    emit = torch.where(first == blank, float("-inf"), log_probs[0, first])
    rest = torch.where(first == blank, log_probs[0, first], float("-inf"))
    labels = torch.tensor([c for c in range(classes) if c != blank], dtype=torch.int32, device=dev)
    for t in range(1, length):
        size = (prefixes >= 0).sum(dim=1)
        last = prefixes.gather(1, (size - 1).clamp(min=0)[:, None])[:, 0].where(size > 0, -1)
        total = torch.logaddexp(emit, rest)

        def per_label(v: torch.Tensor) -> torch.Tensor:  # each beam's value once per label
            return v.repeat_interleave(labels.numel(), dim=0)

        grown, new = per_label(prefixes), labels.repeat(prefixes.shape[0])
        grown[torch.arange(grown.shape[0], device=dev), per_label(size)] = new
        source = torch.where(new == per_label(last), per_label(rest), per_label(total))
        stay_emit = (emit + log_probs[t, last.clamp(min=0).long()]).where(last >= 0, float("-inf"))
        prefixes, emit, rest = _merge_beams(
            torch.cat([grown, prefixes]),
            torch.cat([source + log_probs[t, new.long()], stay_emit]),
            torch.cat([torch.full_like(source, float("-inf")), total + log_probs[t, blank]]))
        keep = torch.argsort(torch.logaddexp(emit, rest), descending=True, stable=True)[:beam_width]
        prefixes, emit, rest = prefixes[keep], emit[keep], rest[keep]
    total = torch.logaddexp(emit, rest)
    best = torch.argsort(total, descending=True, stable=True)[:top_paths]
    best = best[torch.isfinite(total[best])]
    paths = torch.full((top_paths, steps), -1, dtype=torch.int32, device=dev)
    scores = torch.full((top_paths,), float("-inf"), dtype=log_probs.dtype, device=dev)
    paths[: best.numel()], scores[: best.numel()] = prefixes[best], total[best]
    return paths, scores


def _merge_beams(prefixes: torch.Tensor, emit: torch.Tensor, rest: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Equal prefixes made one, their scores combined by log-sum-exp on each track."""
    unique, inverse = torch.unique(prefixes, dim=0, return_inverse=True)

    def combine(scores: torch.Tensor) -> torch.Tensor:
        peak = torch.full((unique.shape[0],), float("-inf"), dtype=scores.dtype, device=scores.device)
        peak = peak.scatter_reduce(0, inverse, scores, "amax")
        safe = torch.where(torch.isfinite(peak), peak, 0.0)
        sums = torch.zeros_like(peak).scatter_add(0, inverse, torch.exp(scores - safe[inverse]))
        return torch.log(sums) + safe

    return unique, combine(emit), combine(rest)


def _ctc_decode_spec(inputs: Any, sequence_lengths: Any, strategy: str = "greedy", beam_width: int = 100,
                     top_paths: int = 1, merge_repeated: bool = True, mask_index: int = 0) -> tuple:
    _check_strategy(strategy)
    paths = 1 if strategy == "greedy" else top_paths
    dtype = backend.result_type(inputs.dtype, "float32")
    return KerasTensor((paths, inputs.shape[0], inputs.shape[1]), dtype="int32"), \
        KerasTensor((inputs.shape[0], paths), dtype=dtype)


def _check_strategy(strategy: str) -> None:
    if strategy not in ("greedy", "beam_search"):
        raise ValueError(f"Invalid strategy {strategy}. Supported values are 'greedy' and 'beam_search'.")


@keras_op("CTCDecode", "nn", init=("strategy", "beam_width", "top_paths", "merge_repeated", "mask_index"),
          spec=_ctc_decode_spec)
def ctc_decode(inputs: Any, sequence_lengths: Any, strategy: str = "greedy", beam_width: int = 100,
               top_paths: int = 1, merge_repeated: bool = True, mask_index: int = 0
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode CTC outputs ``(batch, time, classes)``: returns label paths ``(top_paths, batch, time)``
    (int32, padded with -1) and their scores ``(batch, top_paths)``.

    ``"greedy"`` takes the best class per step (scores: the negated sum of the best raw values),
    ``"beam_search"`` a prefix beam search over log-softmax scores (scores: log-probabilities of the
    paths); ``mask_index`` is the blank class (``None``: the last class).
    """
    _check_strategy(strategy)
    inputs = convert_to_tensor(inputs)
    inputs = inputs.to(backend.torch_dtype(backend.result_type(inputs.dtype, "float32")))
    lengths = convert_to_tensor(sequence_lengths, dtype="int32")
    blank = inputs.shape[-1] - 1 if mask_index is None else mask_index
    if strategy == "greedy":
        return _ctc_greedy(inputs, lengths, merge_repeated, blank)
    log_probs = F.log_softmax(inputs, dim=-1)
    results = [_beam_search_one(log_probs[b], n, beam_width, top_paths, blank)
               for b, n in enumerate(lengths.tolist())]
    paths = torch.stack([p for p, _ in results], dim=1)
    scores = torch.stack([s for _, s in results])
    return paths, scores


# ============================================================================ attention
def _large_negative(dtype: torch.dtype) -> float:
    """A finite stand-in for -inf in masks, as Keras uses (70% of the dtype's largest value)."""
    return (65500.0 if dtype == torch.float16 else 3.38953e38) * -0.7


def _flash_available(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: Any, is_causal: bool,
                     strict: bool) -> bool:
    """Whether torch's flash-attention kernel takes these inputs; ``strict`` raises if not."""
    try:
        from torch.backends.cuda import SDPAParams, can_use_flash_attention
    except ImportError:
        if strict:
            raise ImportError("Flash attention is not supported in your current PyTorch version. Please update it "
                              "by following the official guide: https://pytorch.org/get-started/locally/") from None
        return False
    params = SDPAParams(query, key, value, mask, 0.0, is_causal, False)
    if strict and not can_use_flash_attention(params, True):
        raise RuntimeError("Flash attention is not supported with the provided inputs. Please check the warnings for "
                           "more details.")
    return bool(can_use_flash_attention(params, False))


@keras_op("DotProductAttention", "nn", init=("is_causal", "flash_attention", "attn_logits_soft_cap"))
def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None, scale: Any = None,
                          is_causal: bool = False, flash_attention: Any = None,
                          attn_logits_soft_cap: Any = None) -> torch.Tensor:
    """``softmax(q k^T * scale + bias) v`` on ``(batch, time, heads, head_dim)`` inputs.

    ``scale`` defaults to ``1/sqrt(head_dim)``; ``mask`` (boolean, True = attend) and ``bias``
    (added to the logits) are exclusive; ``is_causal`` masks future keys (combined with ``mask``
    when both are given). Fewer key/value heads than query heads (grouped-query attention) are
    repeated to match. ``flash_attention``: ``None`` uses torch's flash kernel when it can take the
    inputs, ``True`` requires it (``RuntimeError`` if it cannot), ``False`` never uses it.
    ``attn_logits_soft_cap`` exists only for JAX on TPU and must be ``None``.
    """
    if attn_logits_soft_cap is not None:
        raise ValueError("attn_logits_soft_cap is only supported for JAX on TPU. Set attn_logits_soft_cap=None "
                         "when not using JAX on TPU.")
    query, key, value = convert_to_tensor(query), convert_to_tensor(key), convert_to_tensor(value)
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise ValueError("`dot_product_attention` only supports 4D inputs. Received: "
                         f"query.shape={tuple(query.shape)}, key.shape={tuple(key.shape)}, "
                         f"value.shape={tuple(value.shape)}.")
    if bias is not None and mask is not None:
        raise ValueError("Only one of `bias` and `mask` can be provided. Received both.")
    dtype = backend.torch_dtype(backend.result_type(query.dtype, key.dtype, value.dtype))
    query, key, value = (t.to(dtype).transpose(1, 2) for t in (query, key, value))
    attn_mask = None
    if mask is not None:
        allowed = convert_to_tensor(mask, dtype="bool")
        if is_causal:
            allowed = allowed & torch.ones(query.shape[2], key.shape[2], dtype=torch.bool,
                                           device=allowed.device).tril()
            is_causal = False
        attn_mask = torch.where(allowed, 0.0, _large_negative(dtype)).to(dtype)
    elif bias is not None:
        attn_mask = convert_to_tensor(bias, dtype=dtype)
    heads, kv_heads = query.shape[1], key.shape[1]
    if heads > kv_heads > 1:
        key = key.repeat_interleave(heads // kv_heads, dim=1)
        value = value.repeat_interleave(heads // kv_heads, dim=1)
    if flash_attention is None:
        flash_attention = _flash_available(query, key, value, attn_mask, is_causal, strict=False)
    elif flash_attention:
        _flash_available(query, key, value, attn_mask, is_causal, strict=True)
    if flash_attention:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            out = F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask, is_causal=is_causal,
                                                 scale=scale)
    else:  # contiguous inputs let torch pick its fastest CPU/GPU kernel (and give Keras's exact values)
        attn_mask = None if attn_mask is None else attn_mask.contiguous()
        out = F.scaled_dot_product_attention(query.contiguous(), key.contiguous(), value.contiguous(),
                                             attn_mask=attn_mask, is_causal=is_causal, scale=scale)
    return out.transpose(1, 2)


# ============================================================================ complex, patches, blocks
@keras_op("Polar", "nn")
def polar(abs_: Any, angle: Any) -> torch.Tensor:
    """The complex number ``abs_ * (cos(angle) + i sin(angle))``."""
    abs_, angle = convert_to_tensor(abs_), convert_to_tensor(angle)
    return torch.complex(abs_ * torch.cos(angle), abs_ * torch.sin(angle))


def _check_rank(x: Any, rank: int) -> torch.Tensor:
    x = convert_to_tensor(x)
    if x.dim() != rank:
        raise ValueError(f"Input must be a {rank}D tensor. Received: input.shape={tuple(x.shape)}")
    return x


@keras_op("Unfold", "nn", init=("kernel_size", "dilation", "padding", "stride"))
def unfold(x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> torch.Tensor:
    """Sliding blocks of a channels-first image batch ``(N, C, H, W)`` as columns
    ``(N, C * kh * kw, blocks)`` (im2col)."""
    return F.unfold(_check_rank(x, 4), kernel_size, dilation=dilation, padding=padding, stride=stride)


@keras_op("Fold", "nn", init=("output_size", "kernel_size", "dilation", "padding", "stride"))
def fold(x: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
         ) -> torch.Tensor:
    """The inverse of ``unfold`` (col2im): columns ``(N, C * kh * kw, blocks)`` summed back into
    images ``(N, C, *output_size)``."""
    return F.fold(_check_rank(x, 3), output_size, kernel_size, dilation=dilation, padding=padding, stride=stride)


def _block_size(block_size: int) -> None:
    if block_size < 2:
        raise ValueError(f"`block_size` must be at least 2. Received: block_size={block_size}")


@keras_op("DepthToSpace", "nn", init=("block_size", "data_format"))
def depth_to_space(x: Any, block_size: int, data_format: str = "channels_last") -> torch.Tensor:
    """Channels moved into ``block_size x block_size`` spatial blocks (TensorFlow's layout for
    channels-last, torch's ``pixel_shuffle`` for channels-first)."""
    _block_size(block_size)
    data_format = _data_format(data_format)
    x = _check_rank(x, 4)
    if data_format == "channels_first":
        return F.pixel_shuffle(x, block_size)
    n, h, w, c = x.shape
    blocks = x.reshape(n, h, w, block_size, block_size, c // block_size ** 2)
    return blocks.permute(0, 1, 3, 2, 4, 5).reshape(n, h * block_size, w * block_size, c // block_size ** 2)


@keras_op("SpaceToDepth", "nn", init=("block_size", "data_format"))
def space_to_depth(x: Any, block_size: int, data_format: str = "channels_last") -> torch.Tensor:
    """The inverse of ``depth_to_space``: ``block_size x block_size`` spatial blocks moved into
    channels."""
    _block_size(block_size)
    data_format = _data_format(data_format)
    x = _check_rank(x, 4)
    if data_format == "channels_first":
        return F.pixel_unshuffle(x, block_size)
    n, h, w, c = x.shape
    blocks = x.reshape(n, h // block_size, block_size, w // block_size, block_size, c)
    return blocks.permute(0, 1, 3, 2, 4, 5).reshape(n, h // block_size, w // block_size, c * block_size ** 2)
