"""Activation layers: ReLU, LeakyReLU, PReLU, ELU and Softmax (Keras's layer forms of the activations).

They compute what ``initium.activations`` computes, with Keras 3.15's constructor arguments,
configs and checks. All pass an incoming mask through unchanged; ``Softmax`` also *uses* it
(masked positions get probability 0). Only ``PReLU`` has a weight, ``alpha`` (default ``zeros``:
the layer starts as a plain ReLU). The others have no weights and, as in Keras, are built at
construction.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch

from initium import activations, constraints, initializers, regularizers
from initium.layers.core_extra import SameShapeLayer
from initium.layers.layer import InputSpec, Layer
from initium.layers.serialization import register_layer

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]


def _where(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _number(layer: Layer, arg: str, value: Any, allow_none: bool = False) -> Any:
    """``value`` if it is a real number >= 0 (or None when allowed); Keras's ValueError otherwise."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if value is None:
            raise ValueError(f"{arg} of a {type(layer).__name__} layer cannot be None. Received: {arg}=None "
                             f"(in {_where(layer)}). Pass a float >= 0, e.g. {arg}=0.0.")
        raise TypeError(f"{arg} of a {type(layer).__name__} layer must be a float >= 0. Received: "
                        f"{arg}={value!r} (of type {type(value).__name__}, in {_where(layer)}).")
    if value < 0:
        raise ValueError(f"{arg} of a {type(layer).__name__} layer cannot be a negative value. Received: "
                         f"{arg}={value} (in {_where(layer)}). Pass a float >= 0.")
    return value


class ReLU(SameShapeLayer):
    """Rectified linear unit with Keras's three options:

    ``f(x) = min(x, max_value)`` for ``x >= threshold``, ``negative_slope * (x - threshold)``
    below it. With the defaults, ``max(x, 0)``. No weights.

    Args:
        max_value: float >= 0 or None (no cap; the default).
        negative_slope: float >= 0 (0.0).
        threshold: float >= 0 (0.0).
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_value = _number(self, "max_value", max_value, allow_none=True)
        self.negative_slope = _number(self, "negative_slope", negative_slope)
        self.threshold = _number(self, "threshold", threshold)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(SameShapeLayer):
    """``f(x) = x`` for ``x >= 0``, ``negative_slope * x`` otherwise (Keras's default slope 0.3).

    The Keras 2 argument ``alpha`` is accepted as Keras 3.15 accepts it: with a ``UserWarning``,
    and its value wins over ``negative_slope``. The config holds ``negative_slope`` only. No weights.

    Args:
        negative_slope: float >= 0 (0.3).
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _number(self, "negative_slope", negative_slope)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """Parametric ReLU: ``f(x) = x`` for ``x >= 0``, ``alpha * x`` otherwise, with ``alpha`` learned.

    Weight: ``alpha``, of the input's shape without the batch axis, with size 1 on each of
    ``shared_axes``; drawn by ``alpha_initializer`` (default ``zeros``, a constant: zero variance,
    so training starts from a ReLU).

    Args:
        alpha_initializer, alpha_regularizer, alpha_constraint: for ``alpha``.
        shared_axes: None, an axis or a list of axes (1-based: axis 1 is the first after the batch)
            that share one ``alpha``; ``[1, 2]`` after a Conv2D gives one ``alpha`` per channel.
    """

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None, alpha_constraint: Any = None,
                 shared_axes: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in axes):
                raise TypeError(f"`shared_axes` must be an int or a list of ints. Received: shared_axes="
                                f"{shared_axes!r} (in {_where(self)}).")
            self.shared_axes = [int(a) for a in axes]
        self.alpha = None

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        shared = self.shared_axes or []
        bad = [a for a in shared if not 1 <= a < ndim]
        if bad:
            raise ValueError(
                f"{_where(self)}: `shared_axes` are input axes after the batch axis, 1 to {ndim - 1} for inputs of "
                f"rank {ndim}. Received: shared_axes={self.shared_axes} (input shape {tuple(input_shape)}). "
                "Count from 1: shared_axes=[1, 2] shares alpha over height and width of (batch, h, w, channels)."
            )
        shape = tuple(1 if i in shared else input_shape[i] for i in range(1, ndim))
        if any(d is None for d in shape):
            raise ValueError(
                f"{_where(self)}: every axis of the input that is not in `shared_axes` must have a known size to "
                f"create alpha. Received input shape {tuple(input_shape)}, shared_axes={self.shared_axes}. Share "
                "the unknown axes (e.g. shared_axes=[1] for a variable-length sequence)."
            )
        self.alpha = self.add_weight(shape=shape, name="alpha", initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        axes = {i: input_shape[i] for i in range(1, ndim) if i not in shared} if shared else {}
        self.input_spec = InputSpec(ndim=ndim, axes=axes)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.relu(inputs) - self.alpha * torch.relu(-inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


class ELU(SameShapeLayer):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise. No weights.

    Args:
        alpha: float, the value approached for very negative inputs is ``-alpha`` (1.0).
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise TypeError(f"`alpha` of an ELU layer must be a float. Received: alpha={alpha!r} (of type "
                            f"{type(alpha).__name__}, in {_where(self)}).")
        self.alpha = alpha

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self) -> dict[str, Any]:
        base = super().get_config()  # Keras's ELU config is automatic: name, alpha, then the rest
        return {"name": base.pop("name"), "alpha": self.alpha, **base}


def _large_negative(dtype: torch.dtype) -> float:
    """What masked logits become before the softmax (Keras's values: float16 cannot hold -1e9)."""
    return -3e4 if dtype == torch.float16 else -1e9


class Softmax(SameShapeLayer):
    """Softmax along ``axis``: ``exp(x - max) / sum(exp(x - max))``. No weights.

    A ``mask`` (passed, or carried by the input) must broadcast to the input (each of its axes 1 or
    the input's size, counted from the last); positions where it is False (or <= 0.5) get
    probability 0 and the others share the whole mass. Where every position along ``axis`` is
    masked, the output is 0 there. The mask passes on to the output unchanged.

    Args:
        axis: int or list of ints (the softmax then runs over their joint elements); -1.
    """

    def __init__(self, axis: Any = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        items = axis if isinstance(axis, (list, tuple)) else [axis]
        if not items or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in items):
            raise TypeError(f"`axis` of a Softmax layer must be an int or a non-empty list of ints. Received: "
                            f"axis={axis!r} (in {_where(self)}).")
        self.axis = axis

    def call(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        keep = None
        if mask is not None:
            keep = self._keep(inputs, mask)
            inputs = torch.where(keep, inputs, torch.full((), _large_negative(inputs.dtype), dtype=inputs.dtype,
                                                          device=inputs.device))
        axis = self.axis
        if isinstance(axis, (list, tuple)):
            axis = axis[0] if len(axis) == 1 else tuple(axis)
        out = activations.softmax(inputs, axis=axis)
        if keep is not None:
            out = torch.where(keep, out, torch.zeros((), dtype=out.dtype, device=out.device))
        return out

    def _keep(self, inputs: torch.Tensor, mask: Any) -> torch.Tensor:
        """The mask as booleans, after Keras's broadcast checks (ValueError naming both shapes)."""
        mask = torch.as_tensor(mask, device=inputs.device)
        if mask.ndim > inputs.ndim:
            raise ValueError(
                "The `mask` must be broadcastable to `inputs` and must not have more dimensions. Received: "
                f"inputs.shape={tuple(inputs.shape)}, mask.shape={tuple(mask.shape)} (in {_where(self)})."
            )
        for m, i in zip(reversed(mask.shape), reversed(inputs.shape)):
            if m not in (1, i):
                raise ValueError(
                    "The `mask` must be broadcastable to `inputs`. Each mask dimension must be 1 or match the "
                    f"corresponding input dimension. Received: inputs.shape={tuple(inputs.shape)}, "
                    f"mask.shape={tuple(mask.shape)} (in {_where(self)}; dimensions are matched from the last)."
                )
        return mask if mask.dtype == torch.bool else mask > 0.5

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


for _cls in (ReLU, LeakyReLU, PReLU, ELU, Softmax):
    register_layer(_cls)
