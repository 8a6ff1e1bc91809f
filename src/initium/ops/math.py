"""``keras.ops`` math: segment reductions, top-k, FFTs and spectrograms, logsumexp, erf and friends.

Complex numbers follow Keras's convention: FFT ops take and return a ``(real, imag)`` pair of
float tensors (``fft((re, im)) -> (re, im)``); only ``view_as_complex``/``view_as_real`` produce
or read complex tensors. ``stft`` returns ``(..., frames, fft_length // 2 + 1)`` spectra and
``istft`` inverts them, with Keras's periodic ``"hann"``/``"hamming"`` windows and centering.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from initium import backend
from initium.ops.core import convert_to_tensor
from initium.ops.operation import device, keras_op, symbolic_spec
from initium.symbolic import KerasTensor, shape_of

__all__ = ["cdist", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "ifft2", "in_top_k", "irfft",
           "istft", "logdet", "logsumexp", "rfft", "rsqrt", "segment_max", "segment_min", "segment_prod",
           "segment_sum", "stft", "top_k", "view_as_complex", "view_as_real"]


# ------------------------------------------------------------------------------------- segments
def _dims(x: Any) -> tuple:
    return tuple(x.shape) if hasattr(x, "shape") else tuple(np.shape(x))


def _check_segments(what: str, data: Any, segment_ids: Any) -> None:
    data_shape, ids_shape = _dims(data), _dims(segment_ids)
    if len(ids_shape) != 1:
        raise ValueError(f"ops.{what}: `segment_ids` should be a 1-D vector; got one of rank {len(ids_shape)}. "
                         "Flatten it (and `data` accordingly) or vectorize with vmap.")
    if ids_shape[0] is not None and data_shape and data_shape[0] is not None and ids_shape[0] != data_shape[0]:
        raise ValueError(f"ops.{what}: `segment_ids` and `data` should have the same leading dimension. Got "
                         f"{ids_shape} vs {data_shape}.")


# reduction -> (torch scatter_reduce name, value of an empty segment before the cast back)
_SEGMENT = {"segment_sum": ("sum", 0.0), "segment_max": ("amax", -math.inf), "segment_min": ("amin", math.inf),
            "segment_prod": ("prod", 1.0)}


def _segment_reduce(what: str, data: Any, segment_ids: Any, num_segments: Any) -> torch.Tensor:
    """Reduce the rows of ``data`` that share a segment id. Ids outside ``[0, num_segments)`` are
    dropped; empty segments hold the reduction's identity (``-inf``/``inf`` for max/min, which an
    integer output reads as its minimum, as Keras's does). Integers and float64 accumulate in
    float64, other floats and bools in float32."""
    _check_segments(what, data, segment_ids)
    data = convert_to_tensor(data)
    ids = convert_to_tensor(segment_ids).long()
    how, empty = _SEGMENT[what]
    n = int(num_segments or int(ids.max()) + 1)
    exact = data.dtype == torch.float64 or not (data.is_floating_point() or data.dtype == torch.bool)
    work = torch.float64 if exact else torch.float32
    ids = torch.where((ids >= 0) & (ids < n), ids, n)  # row n collects the dropped ones
    out = torch.full((n + 1, *data.shape[1:]), empty, dtype=work, device=data.device)
    where = ids.view(-1, *[1] * (data.dim() - 1)).expand(data.shape)
    out = out.scatter_reduce(0, where, data.to(work), how, include_self=True)
    return out[:-1].to(data.dtype)


def _segment_spec(what: str) -> Any:
    """Keras's symbolic rule: (num_segments, *data.shape[1:]), unknown when ``num_segments`` is None."""

    def spec(data: Any, segment_ids: Any, num_segments: Any = None, sorted: Any = False) -> KerasTensor:  # noqa: A002
        _check_segments(what, data, segment_ids)
        return KerasTensor((num_segments, *shape_of(data)[1:]), dtype=data.dtype)

    return spec


def _segment_op(what: str, class_name: str, doc: str) -> Any:
    """The public ``ops.<what>(data, segment_ids, num_segments=None, sorted=False)``."""

    def op(data: Any, segment_ids: Any, num_segments: Any = None, sorted: bool = False) -> torch.Tensor:  # noqa: A002
        return _segment_reduce(what, data, segment_ids, num_segments)

    op.__name__ = op.__qualname__ = what
    op.__doc__ = doc + " ``num_segments`` defaults to ``max(segment_ids) + 1``; ``sorted`` is a hint only."
    return keras_op(class_name, "math", init=("num_segments", "sorted"), spec=_segment_spec(what))(op)


segment_sum = _segment_op("segment_sum", "SegmentSum", "Sum of the rows of ``data`` per segment id.")
segment_max = _segment_op("segment_max", "SegmentMax", "Maximum of the rows of ``data`` per segment id "
                                                       "(an empty segment is ``-inf``).")
segment_min = _segment_op("segment_min", "SegmentMin", "Minimum of the rows of ``data`` per segment id "
                                                       "(an empty segment is ``inf``).")
segment_prod = _segment_op("segment_prod", "SegmentProd", "Product of the rows of ``data`` per segment id "
                                                          "(an empty segment is 1).")


# ------------------------------------------------------------------------------------- top-k, logsumexp, distances
@keras_op("TopK", "math", init=("k", "sorted"))
def top_k(x: Any, k: int, sorted: bool = True) -> Any:  # noqa: A002
    """The ``k`` largest values of the last axis and their indices (int64), as torch's ``topk`` pair."""
    return torch.topk(convert_to_tensor(x), k, sorted=sorted)


@keras_op("InTopK", "math", init=("k",))
def in_top_k(targets: Any, predictions: Any, k: int) -> torch.Tensor:
    """Whether each ``targets[i]`` is among the ``k`` largest ``predictions[i]`` (ties count as in)."""
    targets = convert_to_tensor(targets).long()
    predictions = convert_to_tensor(predictions)
    kth_largest = torch.topk(predictions, k).values[..., -1:]
    return (predictions.gather(-1, targets[:, None]) >= kth_largest).squeeze(-1)


@keras_op("Logsumexp", "math", init=("axis", "keepdims"))
def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``log(sum(exp(x)))`` over ``axis`` (all axes by default), computed stably."""
    x = convert_to_tensor(x)
    dims = tuple(range(x.dim())) if axis is None else (tuple(axis) if isinstance(axis, (list, tuple)) else axis)
    return torch.logsumexp(x, dim=dims, keepdim=keepdims)


@keras_op("CDist", "math")
def cdist(x: Any, y: Any) -> torch.Tensor:
    """Euclidean distances between the rows of ``x`` (..., n, d) and of ``y`` (..., m, d): (..., n, m)."""
    x, y = convert_to_tensor(x), convert_to_tensor(y)
    if x.dim() < 2 or y.dim() < 2:
        raise ValueError(f"ops.cdist: inputs must have rank >= 2. Received shapes: x.shape={tuple(x.shape)}, "
                         f"y.shape={tuple(y.shape)}")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"ops.cdist: the last dimension of `x` and `y` must match. Received shapes: "
                         f"x.shape={tuple(x.shape)}, y.shape={tuple(y.shape)}")
    diff = x.unsqueeze(-2) - y.unsqueeze(-3)
    return torch.sqrt(torch.sum(diff * diff, dim=-1))


@keras_op("ExtractSequences", "math", init=("sequence_length", "sequence_stride"))
def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> torch.Tensor:
    """Frames of ``sequence_length`` samples every ``sequence_stride`` along the last axis:
    (..., n) -> (..., frames, sequence_length)."""
    return torch.unfold_copy(convert_to_tensor(x), -1, sequence_length, sequence_stride)


# ------------------------------------------------------------------------------------- element-wise
@keras_op("Rsqrt", "math")
def rsqrt(x: Any) -> torch.Tensor:
    """``1 / sqrt(x)``."""
    return torch.rsqrt(convert_to_tensor(x))


@keras_op("Erf", "math")
def erf(x: Any) -> torch.Tensor:
    """The Gauss error function."""
    return torch.erf(convert_to_tensor(x))


@keras_op("Erfc", "math")
def erfc(x: Any) -> torch.Tensor:
    """The complementary error function ``1 - erf(x)``, accurate for large ``x``."""
    return torch.erfc(convert_to_tensor(x))


@keras_op("Erfinv", "math")
def erfinv(x: Any) -> torch.Tensor:
    """The inverse error function."""
    return torch.erfinv(convert_to_tensor(x))


@keras_op("Logdet", "math")
def logdet(x: Any) -> torch.Tensor:
    """``log(det(x))`` of (batched) square matrices (NaN for a negative determinant)."""
    return torch.logdet(convert_to_tensor(x))


@keras_op("ViewAsComplex", "math")
def view_as_complex(x: Any) -> torch.Tensor:
    """A complex64 tensor from a real one whose last axis (of size 2) holds (real, imag)."""
    x = convert_to_tensor(x)
    if x.dim() < 1 or x.shape[-1] != 2:
        raise ValueError("ops.view_as_complex: the last dimension of the input must have size 2 (real and "
                         f"imaginary). Received shape: {tuple(x.shape)}")
    return torch.complex(x[..., 0].to(torch.float32), x[..., 1].to(torch.float32))


@keras_op("ViewAsReal", "math")
def view_as_real(x: Any) -> torch.Tensor:
    """A complex tensor's (real, imag) parts stacked on a new last axis of size 2."""
    x = convert_to_tensor(x)
    return torch.stack((x.real, x.imag), dim=-1)


# ------------------------------------------------------------------------------------- FFTs
def _complex_pair(x: Any, what: str) -> torch.Tensor:
    """One complex tensor from Keras's ``(real, imag)`` pair, checked as Keras checks it."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"ops.{what}: input `x` should be a tuple of two tensors - real and imaginary. "
                         f"Received: x={x!r}")
    real, imag = convert_to_tensor(x[0]), convert_to_tensor(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"ops.{what}: the real and imaginary parts of `x` should have the same shape. Received: "
                         f"x[0].shape = {tuple(real.shape)}, x[1].shape = {tuple(imag.shape)}")
    if not real.is_floating_point() or not imag.is_floating_point():
        raise ValueError(f"ops.{what}: both tensors of `x` must be floats. Received dtypes: "
                         f"{backend.standardize_dtype(real.dtype)}, {backend.standardize_dtype(imag.dtype)}")
    return torch.complex(real, imag)


def _pair(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return z.real, z.imag


def _fft_spec(what: str, axes: int) -> Any:
    """Keras's symbolic rule for the complex FFTs: the transformed axes must be known."""

    def spec(x: Any) -> Any:
        if isinstance(x, (tuple, list)) and len(x) == 2:
            dims = shape_of(x[0])
            if len(dims) >= axes and None in dims[len(dims) - axes:]:
                raise ValueError(f"ops.{what}: the last {axes} axes of the input must be known to build it "
                                 f"symbolically. Received: input.shape = {dims}")
        return symbolic_spec(globals()[what], (x,), {}, f"ops.{what}")  # the op below, run on meta tensors

    return spec


@keras_op("FFT", "math", spec=_fft_spec("fft", 1))
def fft(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The FFT over the last axis of ``(real, imag)``, returned as ``(real, imag)``."""
    return _pair(torch.fft.fft(_complex_pair(x, "fft")))


@keras_op("FFT2", "math", spec=_fft_spec("fft2", 2))
def fft2(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The 2-D FFT over the last two axes of ``(real, imag)``, returned as ``(real, imag)``."""
    return _pair(torch.fft.fft2(_complex_pair(x, "fft2")))


@keras_op("IFFT2", "math", spec=_fft_spec("ifft2", 2))
def ifft2(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The inverse 2-D FFT over the last two axes of ``(real, imag)``, returned as ``(real, imag)``."""
    return _pair(torch.fft.ifft2(_complex_pair(x, "ifft2")))


@keras_op("RFFT", "math", init=("fft_length",))
def rfft(x: Any, fft_length: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The FFT of a real signal over its last axis (``fft_length // 2 + 1`` bins), as ``(real, imag)``."""
    return _pair(torch.fft.rfft(convert_to_tensor(x), n=fft_length, dim=-1))


@keras_op("IRFFT", "math", init=("fft_length",))
def irfft(x: Any, fft_length: Any = None) -> torch.Tensor:
    """The real signal whose ``rfft`` is ``(real, imag)`` (``2 * (bins - 1)`` samples by default)."""
    return torch.fft.irfft(_complex_pair(x, "irfft"), n=fft_length, dim=-1)


# ------------------------------------------------------------------------------------- spectrograms
def _check_stride(what: str, sequence_stride: Any) -> None:
    if not isinstance(sequence_stride, int) or isinstance(sequence_stride, bool) or sequence_stride <= 0:
        raise ValueError(f"ops.{what}: `sequence_stride` must be a positive integer. "
                         f"Received: sequence_stride={sequence_stride!r}")


def _window(what: str, window: Any, sequence_length: int, dtype: torch.dtype) -> Any:
    """The analysis window: ``None``, a periodic ``"hann"``/``"hamming"`` window, or the given values."""
    if window is None:
        return None
    if isinstance(window, str):
        make = {"hann": torch.hann_window, "hamming": torch.hamming_window}.get(window)
        if make is None:
            raise ValueError(f'ops.{what}: a string `window` must be one of "hann", "hamming". Received: '
                             f"window={window!r}")
        return make(sequence_length, periodic=True, dtype=dtype, device=device())
    win = convert_to_tensor(window, dtype=dtype)
    if win.dim() != 1 or win.shape[-1] != sequence_length:
        raise ValueError(f"ops.{what}: the shape of `window` must be ({sequence_length},) = (sequence_length,). "
                         f"Received: window shape={tuple(win.shape)}")
    return win


def _batched(fn: Any, x: torch.Tensor, core_dims: int) -> torch.Tensor:
    """``fn`` on ``x`` with its leading axes (beyond ``core_dims``) flattened into one, then restored."""
    batch = x.shape[:-core_dims]
    if len(batch) <= 1:
        return fn(x)
    out = fn(x.reshape(-1, *x.shape[-core_dims:]))
    return out.reshape(*batch, *out.shape[1:])


@keras_op("STFT", "math", init=("sequence_length", "sequence_stride", "fft_length", "window", "center"))
def stft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int, window: Any = "hann",
         center: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Short-time Fourier transform of the last axis: ``(real, imag)`` of shape
    (..., frames, fft_length // 2 + 1); ``center`` reflect-pads ``fft_length // 2`` on each side."""
    _check_stride("stft", sequence_stride)
    x = convert_to_tensor(x)
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"ops.stft: invalid input dtype {backend.standardize_dtype(x.dtype)}; expected float32 or "
                        "float64. Cast the signal first.")
    if fft_length < sequence_length:
        raise ValueError("ops.stft: `fft_length` must be equal to or larger than `sequence_length`. Received: "
                         f"sequence_length={sequence_length}, fft_length={fft_length}")
    win = _window("stft", window, sequence_length, x.dtype)
    if win is None:
        win = torch.ones(sequence_length, dtype=x.dtype, device=device())

    def transform(signal: torch.Tensor) -> torch.Tensor:
        return torch.stft(signal, n_fft=fft_length, hop_length=sequence_stride, win_length=sequence_length,
                          window=win, center=center, return_complex=True)

    return _pair(_batched(transform, x, 1).transpose(-2, -1))


def _overlap_add(frames: torch.Tensor, stride: int) -> torch.Tensor:
    """Sum of ``frames`` (..., n, length) laid ``stride`` samples apart: (..., stride * (n - 1) + length)."""
    *batch, n, length = frames.shape
    if stride > length:
        raise ValueError(f"ops.istft: `sequence_stride` must be <= the frame length. Received: "
                         f"sequence_stride={stride}, frame length={length}")
    if stride < length / n:
        raise ValueError("ops.istft: `sequence_stride` must be >= frame length / number of frames. Received: "
                         f"sequence_stride={stride}, frame length={length}, frames={n}")
    flat = frames.reshape(-1, n, length).transpose(1, 2)
    total = stride * (n - 1) + length
    out = torch.nn.functional.fold(flat, output_size=(1, total), kernel_size=(1, length), stride=(1, stride))
    return out.reshape(*batch, total)


def _istft_by_overlap_add(z: torch.Tensor, sequence_length: int, sequence_stride: int, fft_length: int,
                          win: Any) -> torch.Tensor:
    """Inverse STFT for the cases torch.istft does not cover: each frame is the inverse rFFT, scaled
    by the window divided by the sum of the squared windows that overlap at its position."""
    frames = torch.fft.irfft(z, n=fft_length, dim=-1)
    if win is not None:
        left = (fft_length - sequence_length) // 2
        win = torch.nn.functional.pad(win, (left, fft_length - sequence_length - left))
        hops = -(-fft_length // sequence_stride)
        squares = torch.nn.functional.pad(win * win, (0, hops * sequence_stride - fft_length))
        overlap = squares.reshape(hops, sequence_stride).sum(0).repeat(hops)[:fft_length]
        frames = frames * (win / overlap)
    return _overlap_add(frames, sequence_stride)


def _istft_spec(x: Any, sequence_length: int, sequence_stride: int, fft_length: int, length: Any = None,
                window: Any = "hann", center: bool = True) -> KerasTensor:
    real = x[0]
    dims = shape_of(real)
    if len(dims) < 2:
        raise ValueError(f"ops.istft: input should have rank >= 2. Received: input.shape = {dims}")
    size = length
    if size is None and dims[-2] is not None:
        size = (dims[-2] - 1) * sequence_stride + fft_length - (2 * (fft_length // 2) if center else 0)
    return KerasTensor((*dims[:-2], size), dtype=real.dtype)


@keras_op("ISTFT", "math", init=("sequence_length", "sequence_stride", "fft_length", "length", "window", "center"),
          spec=_istft_spec)
def istft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int, length: Any = None,
          window: Any = "hann", center: bool = True) -> torch.Tensor:
    """The signal whose ``stft`` is ``x = (real, imag)`` (..., frames, bins), by windowed overlap-add;
    ``length`` trims or pads the output, ``center`` drops the ``fft_length // 2`` padding."""
    _check_stride("istft", sequence_stride)
    z = _complex_pair(x, "istft")
    win = _window("istft", window, sequence_length, z.real.dtype)
    if sequence_length == fft_length and center and win is not None:
        def inverse(spectra: torch.Tensor) -> torch.Tensor:
            return torch.istft(spectra.transpose(-2, -1), n_fft=fft_length, hop_length=sequence_stride,
                               win_length=sequence_length, window=win, center=True, length=length)

        return _batched(inverse, z, 2)
    signal = _istft_by_overlap_add(z, sequence_length, sequence_stride, fft_length, win)
    start = fft_length // 2 if center else 0
    if length is not None:
        return signal[..., start:start + length]
    return signal[..., start:signal.shape[-1] - start]
