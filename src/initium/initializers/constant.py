"""Deterministic initializers: Zeros, Ones, Constant, Identity."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from initium import backend
from initium.initializers.base import _ARRAY_INITIALIZER, Initializer, register

__all__ = ["Zeros", "Ones", "Constant", "Identity", "FromArray"]


def _new(shape: tuple[int, ...], dtype: Any, fill: Any) -> torch.Tensor:
    return torch.full(tuple(shape), fill, dtype=backend.torch_dtype(dtype), device=backend.default_device())


class Zeros(Initializer):
    """All zeros. Any dtype (float, int, bool).

    >>> Zeros()((2, 3))
    tensor([[0., 0., 0.], [0., 0., 0.]])
    """

    formula = "0"

    def __call__(self, shape, dtype=None):
        return _new(shape, dtype, 0)

    def expected_stats(self, shape) -> dict[str, float]:
        return {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}


class Ones(Initializer):
    """All ones. Any dtype (float, int, bool)."""

    formula = "1"

    def __call__(self, shape, dtype=None):
        return _new(shape, dtype, 1)

    def expected_stats(self, shape) -> dict[str, float]:
        return {"mean": 1.0, "std": 0.0, "min": 1.0, "max": 1.0}


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        cfg = value.get("config", {})
        return np.asarray(cfg.get("value"), dtype=cfg.get("dtype"))
    return value


class Constant(Initializer):
    """Every entry equal to ``value``; an array ``value`` is broadcast to the weight's shape.

    Args:
        value: a number, or an array broadcastable to the shapes it will fill. Default 0.0, so
            ``get("constant")`` works (Keras raises ``KeyError: 'value'`` there).

    >>> Constant(0.1)((3,))
    tensor([0.1000, 0.1000, 0.1000])
    """

    formula = "value"

    def __init__(self, value: Any = 0.0) -> None:
        value = _decode_value(value)
        if isinstance(value, torch.Tensor):
            value = backend.to_numpy(value)
        if isinstance(value, (list, tuple)):
            value = np.asarray(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise TypeError(f"Constant: `value` must be numeric. Received an array of dtype {value.dtype}.")
            if value.ndim == 0:
                value = value.item()
        elif isinstance(value, np.generic):
            value = value.item()
        elif not isinstance(value, (int, float)):
            raise TypeError(
                f"Constant: `value` must be a number or an array. Received: value={value!r} "
                f"(of type {type(value).__name__})"
            )
        self.value = value

    def __call__(self, shape, dtype=None):
        if not isinstance(self.value, np.ndarray):
            return _new(shape, dtype, self.value)
        src = torch.from_numpy(np.ascontiguousarray(self.value)).to(backend.torch_dtype(dtype))
        try:
            out = torch.broadcast_to(src, tuple(shape))
        except RuntimeError:
            raise ValueError(
                f"Constant: a value of shape {self.value.shape} cannot be broadcast to the weight "
                f"shape {tuple(shape)}."
            ) from None
        return out.contiguous().to(backend.default_device())

    def get_config(self) -> dict[str, Any]:
        if isinstance(self.value, np.ndarray):  # JSON-safe, in Keras's own form
            return {"value": {"class_name": "__numpy__",
                              "config": {"value": self.value.tolist(), "dtype": self.value.dtype.name}}}
        return {"value": self.value}

    def expected_stats(self, shape) -> dict[str, float]:
        vals = np.broadcast_to(np.asarray(self.value, dtype=np.float64), tuple(shape))
        return {"mean": float(vals.mean()), "std": float(vals.std()), "min": float(vals.min()),
                "max": float(vals.max())}


class FromArray(Constant):
    """What ``initializers.get(array)`` returns: exactly ``array``, for exactly its shape.

    It serializes as ``Constant`` with the array value.
    """

    _serialize_as = "Constant"

    def __call__(self, shape, dtype=None):
        have = tuple(np.shape(self.value))
        if have != tuple(shape):
            raise ValueError(
                f"Expected `shape` to be {have} for direct tensor as initializer. Received shape={tuple(shape)}"
            )
        return super().__call__(shape, dtype)

    def get_config(self) -> dict[str, Any]:
        value = np.asarray(self.value)
        return {"value": {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": value.dtype.name}}}


_ARRAY_INITIALIZER[:] = [FromArray]


class Identity(Initializer):
    """``gain`` times the identity matrix (rectangular allowed); 2-D shapes only.

    Args:
        gain: multiplicative factor. Kept in the config (Keras drops it, so a Keras round trip
            resets it to 1.0).
    """

    formula = "gain * I"

    def __init__(self, gain: float = 1.0) -> None:
        if isinstance(gain, bool) or not isinstance(gain, (int, float)):
            raise TypeError(f"Identity: `gain` must be a number. Received: gain={gain!r}")
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) != 2:
            raise ValueError(
                "Identity matrix initializer can only be used for 2D matrices. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        eye = torch.eye(*shape, dtype=backend.torch_dtype(dtype), device=backend.default_device())
        return eye * self.gain if self.gain != 1 else eye

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}

    def expected_stats(self, shape) -> dict[str, float]:
        r, c = shape
        k, n = min(r, c), r * c
        mean = self.gain * k / n
        std = abs(self.gain) * (k / n - (k / n) ** 2) ** 0.5
        return {"mean": mean, "std": std, "min": min(0.0, self.gain) if n > k else self.gain,
                "max": max(0.0, self.gain) if n > k else self.gain}


register(Zeros, "zero")
register(Ones, "one")
register(Constant)
register(Identity, "IdentityInitializer")
