"""Initializers that other frameworks or the data define: ``TorchDefault``, ``PriorBias``, ``LSUV``.

- ``TorchDefault(fan_in=None)``: PyTorch's default for ``nn.Linear`` and ``nn.ConvNd`` weights
  *and* biases, U(-1/sqrt(fan_in), +1/sqrt(fan_in)). (``kaiming_uniform_(a=sqrt(5))`` gives
  gain sqrt(1/3), so its bound sqrt(3) * gain / sqrt(fan_in) is 1/sqrt(fan_in); the bias uses the
  same bound with the layer's fan_in.)
- ``PriorBias(y)``: an output layer's bias set from the label distribution (class priors, or the
  regression mean), so the untrained model predicts the base rate. The math is
  ``initium.lab.bias_from_priors``.
- ``LSUV()``: an orthogonal kernel scaled to unit pre-activation variance on data (below).

None is one of Keras's 15 built-ins (``initializers.BUILTINS``); all are registered by name
so that configs that use them load.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

from initium import backend
from initium import random as irandom
from initium.initializers.base import Initializer, SeededInitializer, _is_real, compute_fans, register
from initium.initializers.random import Orthogonal

__all__ = ["TorchDefault", "PriorBias", "LSUV"]

_NEEDS_FAN_IN = (
    "a bias's shape does not hold the layer's fan_in; pass TorchDefault(fan_in=...) or use "
    "initium.lab.use_preset(model, 'torch')"
)


def _check_fan_in(fan_in: Any) -> int | None:
    if fan_in is None:
        return None
    if isinstance(fan_in, bool) or not isinstance(fan_in, numbers.Integral):
        if isinstance(fan_in, float) and fan_in.is_integer() and fan_in > 0:
            return int(fan_in)
        raise TypeError(
            f"TorchDefault: `fan_in` must be None or a positive integer (the number of inputs each "
            f"output unit sees). Received: fan_in={fan_in!r} (of type {type(fan_in).__name__})"
        )
    if fan_in <= 0:
        raise ValueError(f"TorchDefault: `fan_in` must be a positive integer. Received: fan_in={fan_in!r}")
    return int(fan_in)


class TorchDefault(SeededInitializer):
    """PyTorch's default initialization of ``nn.Linear`` / ``nn.ConvNd`` weights and biases:
    U[-1/sqrt(fan_in), 1/sqrt(fan_in)).

    For a kernel (rank >= 2, Keras layout ``(..., in, out)``) ``fan_in`` is read from the shape
    (``compute_fans(shape)[0]``: ``in`` for a dense kernel, ``kh·kw·in/groups`` for a convolution,
    ``kh·kw·filters`` for a transposed one — all what torch computes) unless given. A bias's shape
    does not hold the layer's fan_in, so for a rank-0/1 weight ``fan_in`` is required. A depthwise
    kernel ``(kh, kw, in, multiplier)`` also needs it: torch's fan_in there is ``kh·kw``.

    Args:
        fan_in: None (from the shape) or a positive int.
        seed: None, an int or a ``SeedGenerator`` (see ``initializers.base``).

    >>> TorchDefault(seed=0)((256, 128)).abs().max() <= 1 / 16
    tensor(True)
    >>> TorchDefault(fan_in=256)((128,)).shape   # nn.Linear(256, 128).bias
    torch.Size([128])
    """

    formula = "U(±1/sqrt(fan_in))"

    def __init__(self, fan_in: int | None = None, seed: Any = None) -> None:
        fan_in = _check_fan_in(fan_in)
        super().__init__(seed)
        self.fan_in = fan_in
        # Set by initium.lab.preset on a bias whose fan_in is known only at build time: a callable
        # returning it, asked once at the first draw (not part of the config).
        self._fan_in_from: Any = None

    def resolve_fan_in(self, shape: Any) -> int:
        """The fan_in used for ``shape``: the given one, else the kernel layout's."""
        shape = tuple(int(d) for d in shape)
        if self.fan_in is None and self._fan_in_from is not None:
            self.fan_in, self._fan_in_from = _check_fan_in(self._fan_in_from()), None
        if self.fan_in is not None:
            return self.fan_in
        if len(shape) < 2:
            raise ValueError(f"TorchDefault for a weight of shape {shape}: {_NEEDS_FAN_IN}.")
        return max(1, compute_fans(shape)[0])

    def bound(self, shape: Any) -> float:
        """The half-width ``1 / sqrt(fan_in)`` of the distribution for ``shape``."""
        return 1.0 / math.sqrt(self.resolve_fan_in(shape))

    def __call__(self, shape, dtype=None):
        dtype = self._float_dtype(dtype)
        b = 1.0 / math.sqrt(self.resolve_fan_in(shape))
        return irandom.uniform(shape, -b, b, dtype=dtype, seed=self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "fan_in": self.fan_in}

    def expected_stats(self, shape) -> dict[str, float]:
        b = self.bound(shape)
        return {"mean": 0.0, "std": b / math.sqrt(3.0), "min": -b, "max": b}


class PriorBias(Initializer):
    """An output layer's bias from the label distribution: the untrained model predicts the priors.

    - ``kind="sigmoid"``: ``log(p / (1 - p))`` per output (p = positive rate), so the initial
      binary cross-entropy is the label entropy H(p) instead of ln 2;
    - ``kind="softmax"``: ``log(p_k)`` per class, so the initial categorical cross-entropy is the
      entropy of the class distribution instead of about ln k;
    - ``kind="linear"``: the mean of ``y`` per output (regression);
    - ``kind="auto"``: chosen from ``y`` (see ``initium.lab.bias_from_priors``).

    Only the resulting vector is kept (no data), and the config is ``{"bias": [...], "kind": ...}``,
    so a model that uses it saves and loads.

    Args:
        y: labels or targets (array-like, ``(n,)`` or ``(n, k)``).
        priors: the probabilities directly, instead of ``y`` (a scalar p, or a vector).
        kind: ``"auto"``, ``"sigmoid"``, ``"softmax"`` or ``"linear"``.
        smoothing: additive (Laplace) smoothing of the class counts, >= 0.
        bias: the finished vector (what ``from_config`` passes); excludes ``y`` and ``priors``.

    >>> layer = Dense(1, activation="sigmoid", bias_initializer=PriorBias(y_train))

    Reference: Karpathy, "A Recipe for Training Neural Networks" (2019), "init well"; TensorFlow's
    tutorial "Classification on imbalanced data"; Lin et al. 2017 (focal loss) for the sigmoid form.
    """

    formula = "log(p / (1 - p)) | log p_k | mean(y)"

    def __init__(self, y: Any = None, priors: Any = None, kind: str = "auto", smoothing: float = 0.0,
                 bias: Any = None) -> None:
        from initium.initializers.priors import _KINDS, _bias_and_kind, _check_kind

        if bias is not None:
            if y is not None or priors is not None:
                raise ValueError(
                    "PriorBias: pass either `bias` (a finished vector) or `y`/`priors` to compute it from, "
                    f"not both. Received: bias={_brief(bias)}, y={_brief(y)}, priors={_brief(priors)}"
                )
            kind = _check_kind(kind, _KINDS + ("auto",), "PriorBias")
            self.bias = _check_bias(bias)
            self.kind = kind
        else:
            values, resolved = _bias_and_kind(y, priors, kind, smoothing, owner="PriorBias")
            self.bias = [float(v) for v in values]
            self.kind = resolved

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        name = backend.standardize_dtype(dtype)
        if name not in backend.FLOAT_DTYPES:
            raise ValueError(
                f"PriorBias fills a float bias and cannot fill a weight of dtype {name}. Use a float dtype "
                f"({', '.join(backend.FLOAT_DTYPES)})."
            )
        k = len(self.bias)
        if shape != (k,):
            raise ValueError(
                f"PriorBias holds a bias of length {k} (kind={self.kind!r}), but it was asked to fill a "
                f"weight of shape {shape}. Give the output layer {k} units, or compute the bias from "
                f"labels/priors with as many outputs as the layer has (e.g. one-hot labels with "
                f"{shape[0] if len(shape) == 1 else 'that many'} columns, or a priors= vector of that length)."
            )
        return torch.tensor(self.bias, dtype=backend.torch_dtype(name), device=backend.default_device())

    def get_config(self) -> dict[str, Any]:
        return {"bias": list(self.bias), "kind": self.kind}

    def expected_stats(self, shape) -> dict[str, float]:
        b = np.asarray(self.bias, dtype=np.float64)
        return {"mean": float(b.mean()), "std": float(b.std()), "min": float(b.min()), "max": float(b.max())}

    def __repr__(self) -> str:
        shown = ", ".join(f"{v:.4g}" for v in self.bias[:6]) + (", ..." if len(self.bias) > 6 else "")
        return f"PriorBias(kind={self.kind!r}, bias=[{shown}])"


def _brief(x: Any) -> str:
    if x is None:
        return "None"
    shape = getattr(x, "shape", None)
    if shape is not None:
        return f"<{type(x).__name__} of shape {tuple(shape)}>"
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_bias(bias: Any) -> list[float]:
    if isinstance(bias, torch.Tensor):
        bias = backend.to_numpy(bias)
    try:
        arr = np.asarray(bias)
    except Exception as e:  # ragged lists
        raise TypeError(f"PriorBias: `bias` must be a list of numbers. Received: bias={_brief(bias)} ({e})") from e
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"PriorBias: `bias` must be a list of numbers. Received: bias={_brief(bias)} (dtype {arr.dtype})")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"PriorBias: `bias` must be a non-empty 1-D list of numbers. Received shape {arr.shape}.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"PriorBias: `bias` must be finite. Received: bias={_brief(bias)}")
    return [float(v) for v in arr]


register(TorchDefault)
register(PriorBias)


# ------------------------------------------------------------------------------------------- LSUV
# ``LSUV``: layer-sequential unit-variance initialization (Mishkin & Matas, ICLR 2016), as an initializer.
#
# LSUV is data-dependent: a kernel starts orthogonal, then ``initium.lab.lsuv(model, x)`` scales it
# so that the layer's pre-activation has unit variance on a calibration batch, layer by layer from
# the input. The initializer carries the two halves:
#
# - before calibration (``scale=None``) it draws ``gain * Q`` exactly as ``Orthogonal(gain, seed)``;
# - calibration stores the factor found in ``scale``; from then on a call draws ``gain * Q * scale``
#   (one multiplication), so ``layer.reinitialize(replay=True)`` re-creates the calibrated kernel
#   bit for bit and the config (``{"scale": 0.87, ...}``) saves and loads with the model.
#
# ``model.fit`` calibrates layers whose kernel initializer is an uncalibrated ``LSUV`` on its first
# batch, so ``Dense(64, kernel_initializer="lsuv")`` works as any other initializer.
#
# Reference: D. Mishkin, J. Matas, "All you need is a good init", ICLR 2016, arXiv:1511.06422
# (Algorithm 1: orthonormal pre-init, then ``W <- W / sqrt(Var(B))`` until ``|Var(B) - 1| < tol``
# or ``max_iter`` trials).


class LSUV(Orthogonal):
    """An orthogonal kernel scaled to unit output variance on data (see the comment above).

    Args:
        tol: stop when ``|Var - 1| < tol`` (the paper's Tol_var). Default 0.1.
        max_iter: at most this many scalings per layer (the paper's T_max). Default 10.
        gain: the orthogonal matrix's gain before calibration. Default 1.0.
        scale: the calibrated factor; None until ``initium.lab.lsuv`` has run.
        seed: None, an int or a ``SeedGenerator``.
    """

    formula = "gain * Q * scale (Q orthogonal; scale from data)"

    def __init__(self, tol: float = 0.1, max_iter: int = 10, gain: float = 1.0, scale: float | None = None,
                 seed: Any = None) -> None:
        if not _is_real(tol) or tol <= 0:
            raise ValueError(f"LSUV: `tol` must be a positive number. Received: tol={tol!r}")
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
            raise ValueError(f"LSUV: `max_iter` must be an integer >= 1. Received: max_iter={max_iter!r}")
        if scale is not None and (not _is_real(scale) or scale <= 0):
            raise ValueError(f"LSUV: `scale` must be a positive number or None. Received: scale={scale!r}")
        super().__init__(gain=gain, seed=seed)
        self.tol, self.max_iter = float(tol), int(max_iter)
        self.scale = None if scale is None else float(scale)

    @property
    def calibrated(self) -> bool:
        return self.scale is not None

    def __call__(self, shape, dtype=None):
        q = super().__call__(shape, dtype)
        return q if self.scale is None else q * self.scale

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "gain": self.gain, "tol": self.tol, "max_iter": self.max_iter,
                "scale": self.scale}

    def expected_stats(self, shape) -> dict[str, float]:
        stats = super().expected_stats(shape)
        s = 1.0 if self.scale is None else self.scale
        return {"mean": 0.0, "std": stats["std"] * s, "min": stats["min"] * s, "max": stats["max"] * s}


register(LSUV, "lsuv")
