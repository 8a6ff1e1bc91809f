"""Pooling layers: Max/AveragePooling1D/2D/3D, GlobalAverage/GlobalMaxPooling1D/2D/3D and
AdaptiveAverage/AdaptiveMaxPooling1D/2D/3D.

No weights. Like Keras, these layers are built at construction (so they have no build config).
``channels_last`` inputs (the default) are handed to torch as permuted views; the output is
permuted back. ``padding='same'`` pads as Keras/TensorFlow do (the odd cell at the end) and:

- max pooling never picks a padded cell;
- average pooling divides by the number of *real* cells in each window (padded cells are
  excluded), which is what Keras's TensorFlow and JAX backends compute. (Keras 3.15.1's torch
  backend differs when the padding is asymmetric: it pads by repeating the edge values and counts
  them; initium keeps the backend-independent definition.)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from initium.layers.conv import (_channels, _spatial, _to_channels_first, _to_channels_last, _with_spatial,
                                 data_format_arg, padding_arg, rank_hint, same_pads, tuple_arg)
from initium.layers.layer import InputSpec, Layer
from initium.layers.serialization import register_layer

__all__ = [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
]

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_ADAPTIVE = {"max": {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d},
             "average": {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}}
_ADAPTIVE_SIZES = {1: "an integer or tuple of 1 integer", 2: "an integer or (height, width) tuple",
                   3: "an integer or (depth, height, width) tuple"}


def _where(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


class _Pooling(Layer):
    """Base of the windowed pooling layers (see MaxPooling2D / AveragePooling2D)."""

    rank = 2
    mode = "max"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        where = _where(self)
        n = self.rank
        self.pool_size = tuple_arg(where, "pool_size", pool_size, n)
        self.strides = tuple_arg(where, "strides", pool_size if strides is None else strides, n)
        self._padding = padding_arg(where, padding, ("valid", "same"))
        self.padding = padding  # Keras stores the string as given ('SAME' stays 'SAME')
        self.data_format = data_format_arg(where, data_format)
        self._channels_last = self.data_format == "channels_last"
        self.input_spec = InputSpec(ndim=n + 2, hint=rank_hint(type(self).__name__, n, self.data_format))
        self._counts: dict[tuple, torch.Tensor] = {}
        self.built = True  # as in Keras: nothing to build

    def _check_fits(self, spatial: Any) -> None:
        if self._padding != "valid":
            return
        for n, k in zip(spatial, self.pool_size):
            if n is not None and k > n:
                raise ValueError(
                    f"{_where(self)}: pool_size={self.pool_size} is larger than the input's spatial shape "
                    f"{tuple(spatial)} with padding='valid', so the output would be empty (strides="
                    f"{self.strides}). Use padding='same', a smaller pool_size, or a larger input."
                )

    def _inverse_counts(self, spatial: tuple, pads: list, x: torch.Tensor) -> torch.Tensor:
        """1 / (fraction of real cells) per output window, for asymmetric 'same' average pooling;
        cached per input size, device and dtype."""
        key = (spatial, x.device, x.dtype)
        inv = self._counts.get(key)
        if inv is None:
            ones = F.pad(torch.ones((1, 1, *spatial), device=x.device, dtype=x.dtype), pads)
            inv = 1.0 / _AVG[self.rank](ones, self.pool_size, self.strides)
            self._counts[key] = inv
        return inv

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = _to_channels_first(inputs, self.rank) if self._channels_last else inputs
        spatial = tuple(x.shape[2:])
        if self._padding == "valid":
            self._check_fits(spatial)
            if self.mode == "max":
                y = _MAX[self.rank](x, self.pool_size, self.strides)
            else:
                y = _AVG[self.rank](x, self.pool_size, self.strides)
        else:
            pads = [same_pads(n, k, s, 1) for n, k, s in zip(spatial, self.pool_size, self.strides)]
            if all(a == b for a, b in pads):
                before = tuple(a for a, _ in pads)
                if self.mode == "max":
                    y = _MAX[self.rank](x, self.pool_size, self.strides, before)
                else:
                    y = _AVG[self.rank](x, self.pool_size, self.strides, before, count_include_pad=False)
            else:
                flat: list[int] = []
                for a, b in reversed(pads):  # F.pad lists the last axis first
                    flat += [a, b]
                if self.mode == "max":
                    y = _MAX[self.rank](F.pad(x, flat, value=float("-inf")), self.pool_size, self.strides)
                else:
                    y = _AVG[self.rank](F.pad(x, flat), self.pool_size, self.strides)
                    y = y * self._inverse_counts(spatial, flat, x)
        return _to_channels_last(y, self.rank) if self._channels_last else y

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        spatial = _spatial(shape, self.data_format)
        self._check_fits(spatial)
        out = []
        for n, k, s in zip(spatial, self.pool_size, self.strides):
            if n is None:
                out.append(None)
            elif self._padding == "valid":
                out.append((n - k) // s + 1)
            else:
                out.append((n - 1) // s + 1)
        return _with_spatial(shape, out, _channels(shape, self.data_format), self.data_format)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding, "strides": self.strides,
                       "data_format": self.data_format})
        return config


class MaxPooling1D(_Pooling):
    """Max over windows of ``pool_size`` steps: ``(batch, steps, features)`` -> ``(batch, new_steps,
    features)``. ``strides=None`` means ``pool_size``. No weights."""

    rank, mode = 1, "max"

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling2D(_Pooling):
    """Max over ``pool_size`` windows: ``(batch, h, w, channels)`` -> ``(batch, new_h, new_w, channels)``.

    Args:
        pool_size: int or tuple of 2 ints (default (2, 2)).
        strides: int, tuple, or None (the default, meaning ``pool_size``).
        padding: ``'valid'`` (output ``(n - k) // s + 1``) or ``'same'`` (output ``ceil(n / s)``;
            the odd padded cell goes at the bottom/right and is never picked).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    No weights.

    >>> MaxPooling2D()(Input(shape=(5, 5, 1))).shape
    (None, 2, 2, 1)
    """

    rank, mode = 2, "max"

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling3D(_Pooling):
    """3-D max pooling; see :class:`MaxPooling2D` (default pool_size (2, 2, 2)). No weights."""

    rank, mode = 3, "max"

    def __init__(self, pool_size: Any = (2, 2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling1D(_Pooling):
    """1-D average pooling; see :class:`AveragePooling2D`. ``pool_size`` is required. No weights."""

    rank, mode = 1, "average"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling2D(_Pooling):
    """Mean over ``pool_size`` windows (``pool_size`` is required, as in Keras); ``strides=None``
    means ``pool_size``. With ``padding='same'`` padded cells are excluded from each mean (a
    corner window of a 5x5 input with pool 2 averages the one real cell it covers). No weights."""

    rank, mode = 2, "average"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling3D(_Pooling):
    """3-D average pooling; see :class:`AveragePooling2D`. No weights."""

    rank, mode = 3, "average"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


# ---------------------------------------------------------------------------------------- global
class _GlobalPooling(Layer):
    """Base of the global pooling layers: reduce every spatial axis (``keepdims`` keeps them as 1)."""

    rank = 2
    mode = "average"

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format_arg(_where(self), data_format)
        self.keepdims = keepdims
        self._axes = (tuple(range(1, self.rank + 1)) if self.data_format == "channels_last"
                      else tuple(range(2, self.rank + 2)))
        self.input_spec = InputSpec(ndim=self.rank + 2, hint=rank_hint(type(self).__name__, self.rank,
                                                                         self.data_format))
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.mode == "max":
            return torch.amax(inputs, dim=self._axes, keepdim=bool(self.keepdims))
        return torch.mean(inputs, dim=self._axes, keepdim=bool(self.keepdims))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        channels = _channels(shape, self.data_format)
        if not self.keepdims:
            return (shape[0], channels)
        return _with_spatial(shape, (1,) * self.rank, channels, self.data_format)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps axis: ``(batch, steps, features)`` -> ``(batch, features)`` (or
    ``(batch, 1, features)`` with ``keepdims=True``). Supports a mask ``(batch, steps)``: masked
    steps are left out of the mean; the output carries no mask. No weights."""

    rank, mode = 1, "average"

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        if mask is None:
            return torch.mean(inputs, dim=self._axes, keepdim=bool(self.keepdims))
        m = torch.as_tensor(mask, device=inputs.device).to(torch.bool)
        m = m.unsqueeze(2 if self.data_format == "channels_last" else 1)
        weights = m.to(inputs.dtype)
        total = torch.where(m, inputs, torch.zeros((), dtype=inputs.dtype, device=inputs.device))
        return (total.sum(dim=self._axes, keepdim=bool(self.keepdims))
                / weights.sum(dim=self._axes, keepdim=bool(self.keepdims)))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: ``(batch, h, w, channels)`` -> ``(batch, channels)`` (or
    ``(batch, 1, 1, channels)`` with ``keepdims=True``); ``channels_first`` accepted. No weights."""

    rank, mode = 2, "average"


class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over the three spatial axes; see :class:`GlobalAveragePooling2D`. No weights."""

    rank, mode = 3, "average"


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps axis: ``(batch, steps, features)`` -> ``(batch, features)``. No weights."""

    rank, mode = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width: ``(batch, h, w, channels)`` -> ``(batch, channels)``. No weights."""

    rank, mode = 2, "max"


class GlobalMaxPooling3D(_GlobalPooling):
    """Max over the three spatial axes; see :class:`GlobalMaxPooling2D`. No weights."""

    rank, mode = 3, "max"


# ---------------------------------------------------------------------------------------- adaptive
def _output_size(value: Any, rank: int, where: str) -> tuple[int, ...]:
    """Keras's ``output_size``: an int (every spatial axis) or ``rank`` ints, here also checked to be
    positive (torch would fail at the first call)."""
    if isinstance(value, int) and not isinstance(value, bool):
        sizes: tuple = (value,) * rank
    elif isinstance(value, (list, tuple)):
        if len(value) != rank:
            if rank == 1:
                raise ValueError(f"For 1D input, `output_size` tuple must have length 1. Received: {value!r} "
                                 f"(in {where}).")
            raise TypeError(f"`output_size` must be {_ADAPTIVE_SIZES[rank]}. Received: {value!r} of type "
                            f"{type(value)} (length {len(value)}, in {where}).")
        sizes = tuple(value)
    else:
        raise TypeError(f"`output_size` must be {_ADAPTIVE_SIZES[rank]}. Received: {value!r} of type {type(value)} "
                        f"(in {where}).")
    if any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in sizes):
        raise ValueError(f"{where}: every entry of `output_size` must be a positive integer (the number of output "
                         f"cells along that axis). Received: output_size={value!r}.")
    return sizes


class _AdaptivePooling(Layer):
    """Base of the adaptive pooling layers: the output has ``output_size`` cells along the spatial
    axes, whatever the input's size. Cell ``i`` of an axis of input size ``n`` covers the input
    cells ``floor(i * n / out)`` to ``ceil((i + 1) * n / out) - 1`` (windows may overlap or differ in
    size by one), and takes their max or mean: torch's ``adaptive_*_pool``, which Keras's torch
    backend calls. No weights."""

    rank = 2
    mode = "average"

    def __init__(self, output_size: Any, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        where = _where(self)
        self.output_size = _output_size(output_size, self.rank, where)
        self.data_format = data_format_arg(where, data_format)
        self._channels_last = self.data_format == "channels_last"
        self.input_spec = InputSpec(ndim=self.rank + 2, hint=rank_hint(type(self).__name__, self.rank,
                                                                         self.data_format))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = _to_channels_first(inputs, self.rank) if self._channels_last else inputs
        y = _ADAPTIVE[self.mode][self.rank](x, self.output_size)
        return _to_channels_last(y, self.rank) if self._channels_last else y

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        return _with_spatial(shape, self.output_size, _channels(shape, self.data_format), self.data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "output_size": self.output_size, "data_format": self.data_format}


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Mean over ``output_size`` adaptive windows of the steps axis: ``(batch, steps, features)`` ->
    ``(batch, output_size, features)``. See :class:`AdaptiveAveragePooling2D`. No weights."""

    rank, mode = 1, "average"


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Mean over adaptive windows so that the output is ``output_size`` (an int or ``(h, w)``)
    whatever the input's size: ``(batch, H, W, channels)`` -> ``(batch, h, w, channels)``. Windows
    split each axis as evenly as possible (torch's rule). No weights.

    >>> AdaptiveAveragePooling2D(1)(Input(shape=(7, 9, 3))).shape
    (None, 1, 1, 3)
    """

    rank, mode = 2, "average"


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """3-D adaptive average pooling; see :class:`AdaptiveAveragePooling2D`. No weights."""

    rank, mode = 3, "average"


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Max over ``output_size`` adaptive windows of the steps axis. No weights."""

    rank, mode = 1, "max"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Max over adaptive windows; see :class:`AdaptiveAveragePooling2D`. No weights."""

    rank, mode = 2, "max"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """3-D adaptive max pooling; see :class:`AdaptiveAveragePooling2D`. No weights."""

    rank, mode = 3, "max"


MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D

for _n in (1, 2, 3):
    register_layer(globals()[f"MaxPooling{_n}D"], f"MaxPool{_n}D")
    register_layer(globals()[f"AveragePooling{_n}D"], f"AvgPool{_n}D")
    register_layer(globals()[f"GlobalAveragePooling{_n}D"], f"GlobalAvgPool{_n}D")
    register_layer(globals()[f"GlobalMaxPooling{_n}D"], f"GlobalMaxPool{_n}D")
    register_layer(globals()[f"AdaptiveAveragePooling{_n}D"])
    register_layer(globals()[f"AdaptiveMaxPooling{_n}D"])
del _n
