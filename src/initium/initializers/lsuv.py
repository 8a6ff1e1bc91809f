"""``LSUV``: layer-sequential unit-variance initialization (Mishkin & Matas, ICLR 2016), as an initializer.

LSUV is data-dependent: a kernel starts orthogonal, then ``initium.lab.lsuv(model, x)`` scales it
so that the layer's pre-activation has unit variance on a calibration batch, layer by layer from
the input. The initializer carries the two halves:

- before calibration (``scale=None``) it draws ``gain * Q`` exactly as ``Orthogonal(gain, seed)``;
- calibration stores the factor found in ``scale``; from then on a call draws ``gain * Q * scale``
  (one multiplication), so ``layer.reinitialize(replay=True)`` re-creates the calibrated kernel
  bit for bit and the config (``{"scale": 0.87, ...}``) saves and loads with the model.

``model.fit`` calibrates layers whose kernel initializer is an uncalibrated ``LSUV`` on its first
batch, so ``Dense(64, kernel_initializer="lsuv")`` works as any other initializer.

Reference: D. Mishkin, J. Matas, "All you need is a good init", ICLR 2016, arXiv:1511.06422
(Algorithm 1: orthonormal pre-init, then ``W <- W / sqrt(Var(B))`` until ``|Var(B) - 1| < tol``
or ``max_iter`` trials).
"""

from __future__ import annotations

from typing import Any

from initium.initializers.base import _is_real, register
from initium.initializers.random import Orthogonal

__all__ = ["LSUV"]


class LSUV(Orthogonal):
    """An orthogonal kernel scaled to unit output variance on data (see the module docstring).

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
