"""Random initializers: the plain distributions, VarianceScaling and its presets, Orthogonal.

Seeds: see ``initium.initializers.base`` (``seed=None`` draws fresh values on every call; an int
repeats; a ``SeedGenerator`` advances). Values come from ``initium.random``: the same seed gives
the same values on every machine and device.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Sequence

import torch

from initium import backend
from initium import random as irandom
from initium.initializers.base import SeededInitializer, _is_real, compute_fans, register

__all__ = [
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "LecunUniform",
    "Orthogonal",
]

Mode = Literal["fan_in", "fan_out", "fan_avg"]
Distribution = Literal["truncated_normal", "untruncated_normal", "uniform"]
_MODES = ("fan_avg", "fan_in", "fan_out")
_DISTRIBUTIONS = ("normal", "truncated_normal", "uniform", "untruncated_normal")


def _require_real(cls: str, **kwargs: Any) -> None:
    for key, val in kwargs.items():
        if not _is_real(val):
            raise ValueError(f"{cls}: `{key}` must be a finite number. Received: {key}={val!r}")


class RandomNormal(SeededInitializer):
    """Values from the normal distribution N(mean, stddev²).

    Args:
        mean: the mean. Default 0.0.
        stddev: the standard deviation. Default 0.05.
        seed: None, an int or a ``SeedGenerator`` (see ``initializers.base``).

    >>> RandomNormal(stddev=0.01, seed=1)((256, 128)).std()   # about 0.01
    """

    formula = "N(mean, stddev²)"

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None) -> None:
        _require_real("RandomNormal", mean=mean, stddev=stddev)
        if stddev < 0:
            raise ValueError(f"RandomNormal: `stddev` must be >= 0. Received: stddev={stddev}")
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return irandom.normal(shape, self.mean, self.stddev, dtype=self._float_dtype(dtype), seed=self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "mean": self.mean, "stddev": self.stddev}

    def expected_stats(self, shape) -> dict[str, float]:
        return {"mean": self.mean, "std": self.stddev, "min": -math.inf, "max": math.inf}


class RandomUniform(SeededInitializer):
    """Values from the uniform distribution U[minval, maxval).

    Args:
        minval: lower bound (included). Default -0.05.
        maxval: upper bound (excluded). Default 0.05.
        seed: None, an int or a ``SeedGenerator``.
    """

    formula = "U[minval, maxval)"

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Any = None) -> None:
        _require_real("RandomUniform", minval=minval, maxval=maxval)
        if maxval < minval:
            raise ValueError(
                f"RandomUniform: `minval` must be <= `maxval`. Received: minval={minval}, maxval={maxval}"
            )
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return irandom.uniform(shape, self.minval, self.maxval, dtype=self._float_dtype(dtype), seed=self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "minval": self.minval, "maxval": self.maxval}

    def expected_stats(self, shape) -> dict[str, float]:
        return {"mean": (self.minval + self.maxval) / 2, "std": (self.maxval - self.minval) / math.sqrt(12),
                "min": self.minval, "max": self.maxval}


class TruncatedNormal(SeededInitializer):
    """Values from N(mean, stddev²) restricted to [mean - 2 stddev, mean + 2 stddev].

    ``stddev`` is the standard deviation *before* truncation (as in Keras): the values' standard
    deviation is ``TRUNCATED_NORMAL_STD`` * stddev, about 0.88 stddev. Truncation is exact
    (inverse CDF), unlike Keras's torch backend, which lets about 4 values per million escape.

    Args:
        mean: the mean. Default 0.0.
        stddev: the pre-truncation standard deviation. Default 0.05.
        seed: None, an int or a ``SeedGenerator``.
    """

    formula = "N(mean, stddev²) cut at mean ± 2 stddev"

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None) -> None:
        _require_real("TruncatedNormal", mean=mean, stddev=stddev)
        if stddev < 0:
            raise ValueError(f"TruncatedNormal: `stddev` must be >= 0. Received: stddev={stddev}")
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return irandom.truncated_normal(shape, self.mean, self.stddev, dtype=self._float_dtype(dtype), seed=self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "mean": self.mean, "stddev": self.stddev}

    def expected_stats(self, shape) -> dict[str, float]:
        return {"mean": self.mean, "std": irandom.TRUNCATED_NORMAL_STD * self.stddev,
                "min": self.mean - 2 * self.stddev, "max": self.mean + 2 * self.stddev}


class VarianceScaling(SeededInitializer):
    """Values whose variance is ``scale / n``, with ``n`` a fan of the weight's shape.

    ``n`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2`` (``mode``), from
    ``compute_fans`` (Keras layout ``(..., in, out)``; at least 1). Then, by ``distribution``:

    - ``"truncated_normal"`` (alias ``"normal"``): truncated at ±2σ with σ chosen so that the
      *truncated* values have std ``sqrt(scale / n)`` (σ = sqrt(scale / n) / 0.8796...);
    - ``"untruncated_normal"``: N(0, scale / n);
    - ``"uniform"``: U[-limit, limit) with ``limit = sqrt(3 scale / n)``.

    Args:
        scale: positive variance multiplier. Default 1.0.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``. Default ``"fan_in"``.
        distribution: see above (case-insensitive). Default ``"truncated_normal"``.
        seed: None, an int or a ``SeedGenerator``.
        input_axes, output_axes: axes whose sizes multiply into fan_in and fan_out, overriding
            the layout rule (both or neither).

    Reference: Glorot & Bengio 2010; He et al. 2015; LeCun et al. 1998.
    """

    formula = "std = sqrt(scale / n), n = fan_in | fan_out | fan_avg"

    def __init__(
        self,
        scale: float = 1.0,
        mode: Mode = "fan_in",
        distribution: Distribution = "truncated_normal",
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ) -> None:
        if not _is_real(scale) or scale <= 0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in _MODES:
            raise ValueError(
                f"Invalid `mode` argument: {mode}. Please use one of {list(_MODES)}." + _did_you_mean(mode, _MODES)
            )
        dist = distribution.lower() if isinstance(distribution, str) else distribution
        if dist not in _DISTRIBUTIONS:
            raise ValueError(
                f"Invalid `distribution` argument: {distribution}. Please use one of "
                f"{list(_DISTRIBUTIONS)}." + _did_you_mean(str(distribution).lower(), _DISTRIBUTIONS)
            )
        if (input_axes is None) != (output_axes is None):
            raise ValueError(
                f"{type(self).__name__}: `input_axes` and `output_axes` must be given together. "
                f"Received: input_axes={input_axes}, output_axes={output_axes}"
            )
        super().__init__(seed)
        self.scale, self.mode = scale, mode
        self.distribution = "truncated_normal" if dist == "normal" else dist
        self.input_axes = list(input_axes) if input_axes is not None else None
        self.output_axes = list(output_axes) if output_axes is not None else None

    def fans(self, shape) -> tuple[int, int]:
        return compute_fans(shape, self.input_axes, self.output_axes)

    def variance(self, shape) -> float:
        """The variance of the values this initializer draws for ``shape``: ``scale / n``."""
        fan_in, fan_out = self.fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return self.scale / max(1.0, n)

    def __call__(self, shape, dtype=None):
        dtype = self._float_dtype(dtype)
        std = math.sqrt(self.variance(shape))
        if self.distribution == "truncated_normal":
            return irandom.truncated_normal(shape, 0.0, std / irandom.TRUNCATED_NORMAL_STD, dtype=dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return irandom.normal(shape, 0.0, std, dtype=dtype, seed=self.seed)
        limit = math.sqrt(3.0) * std
        return irandom.uniform(shape, -limit, limit, dtype=dtype, seed=self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}

    def expected_stats(self, shape) -> dict[str, float]:
        std = math.sqrt(self.variance(shape))
        if self.distribution == "uniform":
            lo, hi = -math.sqrt(3.0) * std, math.sqrt(3.0) * std
        elif self.distribution == "truncated_normal":
            lo, hi = -2 * std / irandom.TRUNCATED_NORMAL_STD, 2 * std / irandom.TRUNCATED_NORMAL_STD
        else:
            lo, hi = -math.inf, math.inf
        return {"mean": 0.0, "std": std, "min": lo, "max": hi}


def _did_you_mean(value: Any, choices: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.5)
    if not close and isinstance(value, str) and value.lower() in choices:
        close = [value.lower()]
    return f" Did you mean '{close[0]}'?" if close else ""


class _Preset(VarianceScaling):
    """A VarianceScaling with a fixed (scale, mode, distribution): its config is only the seed
    and the axes, as in Keras."""

    _scale: float
    _mode: Mode
    _distribution: Distribution

    def __init__(self, seed: Any = None, input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None, **kwargs: Any) -> None:
        if kwargs:
            name = type(self).__name__
            got = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
            raise TypeError(
                f"{name} takes only seed, input_axes and output_axes; it fixes scale={self._scale}, "
                f"mode={self._mode!r}, distribution={self._distribution!r}. Received: {got}. For "
                f"other values use VarianceScaling(scale=..., mode=..., distribution=...)."
            )
        super().__init__(self._scale, self._mode, self._distribution, seed, input_axes, output_axes)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_Preset):
    """Glorot (Xavier) uniform: U[-limit, limit), limit = sqrt(6 / (fan_in + fan_out)).

    Keras's default kernel initializer. Reference: Glorot & Bengio, AISTATS 2010.
    """

    _scale, _mode, _distribution = 1.0, "fan_avg", "uniform"
    formula = "U(±sqrt(6 / (fan_in + fan_out)))"


class GlorotNormal(_Preset):
    """Glorot (Xavier) normal: truncated normal with std sqrt(2 / (fan_in + fan_out)) after truncation."""

    _scale, _mode, _distribution = 1.0, "fan_avg", "truncated_normal"
    formula = "TN, std = sqrt(2 / (fan_in + fan_out))"


class HeNormal(_Preset):
    """He (Kaiming) normal: truncated normal with std sqrt(2 / fan_in) after truncation.

    For ReLU layers. Reference: He et al., "Delving Deep into Rectifiers", ICCV 2015.
    """

    _scale, _mode, _distribution = 2.0, "fan_in", "truncated_normal"
    formula = "TN, std = sqrt(2 / fan_in)"


class HeUniform(_Preset):
    """He (Kaiming) uniform: U[-limit, limit), limit = sqrt(6 / fan_in)."""

    _scale, _mode, _distribution = 2.0, "fan_in", "uniform"
    formula = "U(±sqrt(6 / fan_in))"


class LecunNormal(_Preset):
    """LeCun normal: truncated normal with std sqrt(1 / fan_in) after truncation (for SELU)."""

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"
    formula = "TN, std = sqrt(1 / fan_in)"


class LecunUniform(_Preset):
    """LeCun uniform: U[-limit, limit), limit = sqrt(3 / fan_in)."""

    _scale, _mode, _distribution = 1.0, "fan_in", "uniform"
    formula = "U(±sqrt(3 / fan_in))"


class Orthogonal(SeededInitializer):
    """A (semi-)orthogonal matrix times ``gain``, for any shape of rank >= 2.

    The shape is flattened to ``(prod(shape[:-1]), shape[-1])``; Q comes from the QR decomposition
    of a standard normal matrix, with the signs of R's diagonal folded in so that Q is uniformly
    (Haar) distributed. Columns (or rows, when wider than tall) are orthonormal; entries have
    standard deviation ``gain / sqrt(max(rows, cols))``.

    Args:
        gain: multiplicative factor. Default 1.0.
        seed: None, an int or a ``SeedGenerator``.

    Reference: Saxe et al., "Exact solutions to the nonlinear dynamics of learning in deep linear
    neural networks", ICLR 2014.
    """

    formula = "gain * Q, QR of N(0, 1)"

    def __init__(self, gain: float = 1.0, seed: Any = None) -> None:
        _require_real("Orthogonal", gain=gain)
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        dtype = self._float_dtype(dtype)
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(
                "The tensor to initialize must be at least two-dimensional. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        compute = "float64" if dtype == "float64" else "float32"
        a = irandom.normal((max(rows, cols), min(rows, cols)), dtype=compute, seed=self.seed, device="cpu")
        if a.numel() == 0:
            q = a
        else:
            q, r = torch.linalg.qr(a)
            d = torch.diagonal(r)
            q = q * torch.where(d < 0, -1.0, 1.0).to(q.dtype)  # sign fix; a zero pivot counts as +
        if rows < cols:
            q = q.T
        q = q.reshape(shape)
        if self.gain != 1:
            q = q * self.gain
        return q.to(dtype=backend.torch_dtype(dtype), device=backend.default_device())

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "gain": self.gain}

    def expected_stats(self, shape) -> dict[str, float]:
        rows, cols = math.prod(tuple(shape)[:-1]), tuple(shape)[-1]
        return {"mean": 0.0, "std": abs(self.gain) / math.sqrt(max(rows, cols)),
                "min": -abs(self.gain), "max": abs(self.gain)}


for _cls in (RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, GlorotNormal, GlorotUniform,
             HeNormal, HeUniform, LecunNormal, LecunUniform):
    register(_cls)
register(RandomNormal, "normal")
register(RandomUniform, "uniform")
register(Orthogonal, "OrthogonalInitializer")
