"""Regularization layers: Dropout, SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout,
AlphaDropout, ActivityRegularization.

None of these layers has weights. The random ones act only when called with ``training=True``
(inside ``fit``, or ``layer(x, training=True)``); in inference they return their input unchanged.

Random numbers and reproducibility
    The masks and noise are drawn on the input's device by torch's own generators, so a training
    step never waits on the host:

    - ``seed=None`` (the default) uses torch's global generator; for ``Dropout`` without a
      ``noise_shape`` this is ``torch.nn.functional.dropout``, the fused (fastest) kernel.
      ``initium.random.set_random_seed(s)`` seeds torch, so a whole run repeats.
    - ``seed=<int>`` gives the layer its own ``torch.Generator`` per device, seeded with ``seed``
      on first use. Like Keras's ``SeedGenerator`` it advances on every call: successive calls
      get fresh masks, and two layers built with the same seed draw the same sequence of masks
      (as does a layer re-created from its config). The sequence is reproducible on the same
      device type and torch version; CPU and CUDA give different (equally valid) masks, and the
      masks are not Keras's. A private generator is outside torch's default-generator handling
      in CUDA-graph capture and ``torch.compile``; use ``seed=None`` there.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
import torch.nn.functional as F

from initium import backend, regularizers
from initium.layers.layer import InputSpec, Layer
from initium.layers.serialization import register_layer

__all__ = ["Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
           "GaussianDropout", "AlphaDropout", "ActivityRegularization"]


def _check_fraction(layer: Layer, arg: str, value: Any) -> Any:
    """Keras's ``0 <= value <= 1`` check, with its message plus the layer's name."""
    where = f" (in {type(layer).__name__} '{layer.name}')"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Invalid value received for argument `{arg}`. Expected a float value between 0 and 1. "
            f"Received: {arg}={value!r} (of type {type(value).__name__}){where}"
        )
    if not 0 <= value <= 1:
        raise ValueError(
            f"Invalid value received for argument `{arg}`. Expected a float value between 0 and 1. "
            f"Received: {arg}={value}{where}"
        )
    return value


def _check_seed(layer: Layer, seed: Any) -> Any:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(
            f"Argument `seed` must be an integer. Received: seed={seed!r} (in {type(layer).__name__} "
            f"'{layer.name}'). Pass an int for reproducible masks, or None."
        )
    return None if seed is None else int(seed)


def _standardize_data_format(layer: str, data_format: Any) -> str:
    if data_format is None:
        return backend.image_data_format()
    fmt = str(data_format).lower()
    if fmt not in ("channels_first", "channels_last"):
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
            f"Received: data_format={data_format} (in {layer})"
        )
    return fmt


class _RandomLayer(Layer):
    """Shared by the random layers: a private per-device ``torch.Generator`` when seeded.

    Their ``call`` declares an unused ``mask`` argument: that is how the base ``Layer`` hands an
    incoming mask (``_keras_mask``) on to the output of a mask-supporting layer.
    """

    seed: int | None

    def _generator(self, device: torch.device) -> torch.Generator | None:
        if self.seed is None:
            return None
        gens = self.__dict__.setdefault("_generators", {})
        gen = gens.get(device)
        if gen is None:
            gen = torch.Generator(device=device)
            gen.manual_seed(self.seed & 0xFFFF_FFFF_FFFF_FFFF)
            gens[device] = gen
        return gen

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


def _keep_mask(inputs: torch.Tensor, shape: tuple[int, ...], rate: float,
               gen: torch.Generator | None) -> torch.Tensor:
    """A mask of ``shape`` that is ``1 / (1 - rate)`` with probability ``1 - rate``, else 0."""
    keep = torch.empty(shape, dtype=inputs.dtype, device=inputs.device).bernoulli_(1.0 - rate, generator=gen)
    return keep.mul_(1.0 / (1.0 - rate))


class Dropout(_RandomLayer):
    """Sets each input unit to 0 with probability ``rate`` during training and scales the others
    by ``1 / (1 - rate)``, so the expected sum is unchanged; identity in inference. No weights.

    Args:
        rate: float in [0, 1], the fraction of units to drop (``1.0`` gives zeros).
        noise_shape: optional shape of the binary mask, broadcast over the input: e.g.
            ``(batch, 1, features)`` drops the same features at every timestep. ``None``
            entries take the input's size.
        seed: optional int; see the module docstring for the reproducibility it gives.
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _check_fraction(self, "rate", rate)
        self.seed = _check_seed(self, seed)
        self.noise_shape = self._validate_noise_shape(noise_shape)
        self.supports_masking = True

    def _validate_noise_shape(self, noise_shape: Any) -> tuple | None:
        if noise_shape is None:
            return None
        head = f"Invalid value received for argument `noise_shape` of {type(self).__name__} '{self.name}'."
        if isinstance(noise_shape, str):
            raise ValueError(f"{head} Expected a tuple or list of integers. Received: noise_shape={noise_shape}")
        try:
            shape = tuple(noise_shape)
        except TypeError:
            raise ValueError(
                f"{head} Expected an iterable of integers (e.g., a tuple or list). Received: noise_shape={noise_shape}"
            ) from None
        for i, dim in enumerate(shape):
            if dim is None:
                continue
            if isinstance(dim, bool) or not isinstance(dim, int):
                raise ValueError(
                    f"{head} Expected all elements to be integers or None. Received element at index {i}: "
                    f"{dim} (type: {type(dim).__name__})"
                )
            if dim <= 0:
                raise ValueError(
                    f"{head} Expected all dimensions to be positive integers or None. Received negative or "
                    f"zero value at index {i}: {dim}"
                )
        return shape

    def _concrete_noise_shape(self, inputs: torch.Tensor, noise_shape: tuple) -> tuple[int, ...]:
        shape = tuple(inputs.shape)
        if len(noise_shape) != len(shape):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': noise_shape={noise_shape} has {len(noise_shape)} "
                f"dimensions but the input has shape {shape}. Give one entry per input axis (None = the "
                "input's size, 1 = share the mask along that axis)."
            )
        out = tuple(s if d is None else d for d, s in zip(noise_shape, shape))
        for d, s in zip(out, shape):
            if d != 1 and d != s:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': noise_shape={noise_shape} does not broadcast to "
                    f"the input shape {shape}: each entry must be None, 1 or the input's size."
                )
        return out

    def call(self, inputs: torch.Tensor, training: bool = False, mask: Any = None) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        if self.rate >= 1:
            return torch.zeros_like(inputs)
        gen = self._generator(inputs.device)
        if self.noise_shape is None:
            if gen is None:
                return F.dropout(inputs, p=float(self.rate), training=True)
            return inputs * _keep_mask(inputs, tuple(inputs.shape), self.rate, gen)
        shape = self._concrete_noise_shape(inputs, self.noise_shape)
        return inputs * _keep_mask(inputs, shape, self.rate, gen)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape})
        return config


class _SpatialDropout(Dropout):
    """Drops whole feature maps (one Bernoulli draw per sample and channel)."""

    _rank = 0

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.input_spec = InputSpec(
            ndim=self._rank,
            hint=f"{type(self).__name__} needs (batch, {', '.join(['dim'] * (self._rank - 2))}, channels) inputs "
                 "(channels first or last, see data_format).",
        )

    def _channels_axis(self) -> int:
        return -1

    def call(self, inputs: torch.Tensor, training: bool = False, mask: Any = None) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        if self.rate >= 1:
            return torch.zeros_like(inputs)
        ax = self._channels_axis() % inputs.ndim
        shape = tuple(s if i in (0, ax) else 1 for i, s in enumerate(inputs.shape))
        return inputs * _keep_mask(inputs, shape, self.rate, self._generator(inputs.device))

    def get_config(self) -> dict[str, Any]:
        # Keras's spatial dropouts have their own, shorter config (no `trainable`, dtype as a string).
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole 1-D feature maps: inputs ``(batch, steps, channels)``; each
    ``(sample, channel)`` pair is dropped (all steps) with probability ``rate``, the kept ones
    scaled by ``1 / (1 - rate)``. Identity in inference. No weights.
    """

    _rank = 3


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole 2-D feature maps: each ``(sample, channel)`` is zeroed over all rows and
    columns with probability ``rate`` during training, the kept ones scaled by ``1 / (1 - rate)``.
    Identity in inference. No weights.

    Args:
        rate: float in [0, 1].
        data_format: ``"channels_last"`` (default: ``(batch, rows, cols, channels)``) or
            ``"channels_first"`` (``(batch, channels, rows, cols)``).
        seed: optional int (see the module docstring).
    """

    _rank = 4

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = _standardize_data_format(f"{type(self).__name__} '{self.name}'", data_format)

    def _channels_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class SpatialDropout3D(SpatialDropout2D):
    """Dropout of whole 3-D feature maps, inputs ``(batch, d1, d2, d3, channels)`` (or channels
    first); otherwise as ``SpatialDropout2D``."""

    _rank = 5


class GaussianNoise(_RandomLayer):
    """Adds zero-centred Gaussian noise of standard deviation ``stddev`` during training (a
    regularizer for real-valued inputs); identity in inference. No weights.

    Args:
        stddev: float in [0, 1] (Keras's bound), the standard deviation of the noise.
        seed: optional int (see the module docstring).
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stddev = _check_fraction(self, "stddev", stddev)
        self.seed = _check_seed(self, seed)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor, training: bool = False, mask: Any = None) -> torch.Tensor:
        if not training or self.stddev == 0:
            return inputs
        noise = torch.randn(inputs.shape, generator=self._generator(inputs.device), dtype=inputs.dtype,
                            device=inputs.device)
        return inputs + noise.mul_(float(self.stddev))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config


class GaussianDropout(_RandomLayer):
    """Multiplies the inputs by Gaussian noise of mean 1 and standard deviation
    ``sqrt(rate / (1 - rate))`` during training; identity in inference. No weights.

    Args:
        rate: float in [0, 1], the drop probability of the equivalent Dropout.
        seed: optional int (see the module docstring).
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _check_fraction(self, "rate", rate)
        self.seed = _check_seed(self, seed)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor, training: bool = False, mask: Any = None) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        if self.rate >= 1:
            raise ValueError(f"GaussianDropout '{self.name}': rate=1 means noise of infinite standard deviation "
                             "sqrt(rate / (1 - rate)) (Keras fails here too). Use a rate below 1.")
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = torch.randn(inputs.shape, generator=self._generator(inputs.device), dtype=inputs.dtype,
                            device=inputs.device)
        return inputs * noise.mul_(stddev).add_(1.0)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(Dropout):
    """Dropout that keeps the mean and variance of SELU activations: dropped units are set to
    SELU's negative saturation value and an affine correction is applied (training only).
    Arguments as ``Dropout``. No weights.
    """

    def _validate_noise_shape(self, noise_shape: Any) -> Any:
        return noise_shape  # Keras stores AlphaDropout's noise_shape as given

    def call(self, inputs: torch.Tensor, training: bool = False, mask: Any = None) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        shape = (tuple(inputs.shape) if self.noise_shape is None
                 else self._concrete_noise_shape(inputs, tuple(self.noise_shape)))
        if self.rate >= 1:
            raise ValueError(f"AlphaDropout '{self.name}': rate=1 drops every unit and its affine correction "
                             "divides by zero (Keras fails here too). Use a rate below 1.")
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        rate = float(self.rate)
        kept = torch.empty(shape, dtype=inputs.dtype, device=inputs.device).bernoulli_(
            1.0 - rate, generator=self._generator(inputs.device))
        a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * rate
        x = inputs * kept + alpha_p * (1 - kept)
        return a * x + b


class ActivityRegularization(Layer):
    """Identity that adds ``l1 * sum(|x|) + l2 * sum(x**2)`` (divided by the batch size) to the
    layer's losses. No weights.

    Args:
        l1, l2: non-negative floats.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs: Any, mask: Any = None) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"l1": self.l1, "l2": self.l2})
        return config


for _cls in (Dropout, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D, GaussianNoise, GaussianDropout,
             AlphaDropout, ActivityRegularization):
    register_layer(_cls)
