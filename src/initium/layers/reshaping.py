"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, Cropping1D/2D/3D, ZeroPadding1D/2D/3D,
UpSampling1D/2D/3D.

None of them has weights. Shapes follow Keras (``channels_last`` unless ``data_format`` says
otherwise); every one implements ``compute_output_shape`` so the functional API needs no dummy
forward pass. Unknown sizes (``None``) stay unknown.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from initium import backend
from initium.layers.layer import InputSpec, Layer
from initium.layers.serialization import register_layer
from initium.layers.symbolic import KerasTensor

__all__ = ["Flatten", "Reshape", "Permute", "RepeatVector", "Cropping1D", "Cropping2D", "Cropping3D",
           "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "UpSampling1D", "UpSampling2D", "UpSampling3D"]

_DATA_FORMATS = ("channels_first", "channels_last")


def standardize_data_format(data_format: Any, where: str) -> str:
    """``None`` -> the global image data format (``channels_last``); otherwise validate, naming the layer."""
    if data_format is None:
        return backend.image_data_format()
    value = str(data_format).lower() if isinstance(data_format, str) else data_format
    if value not in _DATA_FORMATS:
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
            f"Received: data_format={data_format!r} (in {where})."
        )
    return value


def int_tuple(value: Any, n: int, arg: str, where: str, allow_zero: bool = False) -> tuple[int, ...]:
    """Keras's ``standardize_tuple``: an int or ``n`` ints, all positive (or >= 0 with ``allow_zero``)."""
    msg = f"The `{arg}` argument must be a tuple of {n} integers. Received {arg}={value!r}"
    if isinstance(value, int) and not isinstance(value, bool):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(f"{msg} (in {where}).") from None
        if len(values) != n or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            raise ValueError(f"{msg} (in {where}).")
    bad = {v for v in values if (v < 0 if allow_zero else v <= 0)}
    if bad:
        req = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{msg}, including values {bad} that do not satisfy `value {req}` (in {where}).")
    return tuple(int(v) for v in values)


def _where(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


class _Rearrange(Layer):
    """Base of the layers that only move values around: the output keeps the input's dtype
    (an int32 input gives an int32 output, symbolically too), as in Keras."""

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> KerasTensor:
        x = args[0]
        return KerasTensor(self.compute_output_shape(x.shape), dtype=x.dtype)


class Flatten(_Rearrange):
    """Flattens every axis but the batch axis: ``(2, 3, 4) -> (2, 12)``; a 1-D ``(5,)`` input
    gives ``(5, 1)``. With ``data_format='channels_first'`` the channel axis is moved last before
    flattening, so the order of features is the channels-last one (Keras's rule).

    No weights (so no initializers and no variance to state).

    Args:
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, _where(self))
        self.input_spec = InputSpec(min_ndim=1, hint="Flatten needs at least a batch axis.")
        self._channels_first = self.data_format == "channels_first"

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        rank = inputs.ndim
        if self._channels_first and rank > 2:
            inputs = inputs.permute(0, *range(2, rank), 1)
        return inputs.reshape(inputs.shape[0], math.prod(inputs.shape[1:]))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        rest = tuple(input_shape)[1:]
        flat = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], flat)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


def _resolve_shape(input_shape: tuple, target: tuple, where: str) -> tuple:
    """Keras's ``compute_reshape_output_shape`` with the layer named in the error."""
    if any(d is None for d in input_shape):
        return tuple(None if d == -1 else d for d in target)
    size = math.prod(input_shape)
    if -1 not in target:
        if size != math.prod(target):
            raise ValueError(
                f"{where}: the total size of the tensor must be unchanged. Received: "
                f"input_shape={tuple(input_shape)} ({size} values per sample), target_shape={target} "
                f"({math.prod(target)} values). Use a target_shape whose sizes multiply to {size}, "
                "or put -1 in one place to have it inferred."
            )
        return target
    known = math.prod(d for d in target if d != -1)
    if known == 0 or size % known != 0:
        raise ValueError(
            f"{where}: the total size of the tensor must be unchanged, but the input size {size} "
            f"(input_shape={tuple(input_shape)}) cannot be divided by the known dimensions of "
            f"target_shape={target} (product {known})."
        )
    return tuple(size // known if d == -1 else d for d in target)


class Reshape(_Rearrange):
    """Reshapes every sample to ``target_shape`` (the batch axis is kept): ``Reshape((3, 4))``
    maps ``(B, 12)`` to ``(B, 3, 4)``. One entry may be ``-1``; it is inferred.

    No weights.

    Args:
        target_shape: tuple of ints (without the batch axis); at most one ``-1``.
    """

    def __init__(self, target_shape: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        where = _where(self)
        if isinstance(target_shape, int) and not isinstance(target_shape, bool):
            raise TypeError(
                f"{where}: `target_shape` must be a tuple of ints (without the batch axis), but received "
                f"the int {target_shape}. Pass target_shape=({target_shape},)."
            )
        try:
            target = tuple(target_shape)
        except TypeError:
            raise TypeError(
                f"{where}: `target_shape` must be a tuple of ints (without the batch axis). "
                f"Received: target_shape={target_shape!r}"
            ) from None
        for d in target:
            if isinstance(d, bool) or not isinstance(d, int) or d < -1:
                raise ValueError(
                    "Each dimension in `target_shape` must be a non-negative integer, or `-1` for a single "
                    f"unknown dimension. Received: target_shape={target} (in {where})."
                )
        if target.count(-1) > 1:
            raise ValueError(
                "There must be at most one unknown dimension (-1) in `target_shape`. "
                f"Received: target_shape={target} (in {where})."
            )
        self.target_shape = tuple(int(d) for d in target)
        self._cache: tuple[Any, tuple] | None = None  # (input sample shape, resolved shape)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        rest = tuple(inputs.shape[1:])
        cache = self._cache
        if cache is None or cache[0] != rest:
            cache = self._cache = (rest, _resolve_shape(rest, self.target_shape, _where(self)))
        return inputs.reshape(inputs.shape[0], *cache[1])

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], *_resolve_shape(tuple(input_shape)[1:], self.target_shape, _where(self)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(_Rearrange):
    """Permutes the non-batch axes: ``Permute((2, 1))`` maps ``(B, 10, 64)`` to ``(B, 64, 10)``.
    ``dims`` is 1-based (axis 0 is the batch axis and never moves), as in Keras.

    No weights.

    Args:
        dims: a permutation of ``1..n``.
    """

    def __init__(self, dims: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            dims = tuple(dims)
        except TypeError:
            raise TypeError(
                f"{_where(self)}: `dims` must be a tuple of axis indices such as (2, 1). Received: dims={dims!r}"
            ) from None
        if (any(isinstance(d, bool) or not isinstance(d, int) for d in dims)
                or sorted(dims) != list(range(1, len(dims) + 1))):
            raise ValueError(
                "Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` must be "
                f"consecutive and start from 1. Received dims={dims} (in {_where(self)}); for example "
                f"{tuple(range(len(dims), 0, -1)) or (2, 1)} reverses the non-batch axes."
            )
        self.dims = dims
        self._perm = (0, *dims)
        self.input_spec = InputSpec(ndim=len(dims) + 1, hint=f"Permute(dims={dims}) needs inputs of rank {len(dims) + 1}.")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.permute(self._perm)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[d] for d in self._perm)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(_Rearrange):
    """Repeats a ``(B, features)`` input ``n`` times: output ``(B, n, features)``.

    No weights.

    Args:
        n: positive int, the number of repetitions.
    """

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)} (n={n!r}, in {_where(self)}).")
        if n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n} (in {_where(self)}).")
        self.n = n
        self.input_spec = InputSpec(ndim=2, hint="RepeatVector needs (batch, features) inputs.")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.unsqueeze(1).repeat(1, self.n, 1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}


_ORDINALS = ("1st", "2nd", "3rd")
_AXIS_NAMES = {2: (("height", "top", "bottom"), ("width", "left", "right")),
               3: (("dim1", "left_dim1", "right_dim1"), ("dim2", "left_dim2", "right_dim2"),
                   ("dim3", "left_dim3", "right_dim3"))}


def side_pairs(value: Any, n: int, arg: str, where: str) -> tuple[tuple[int, int], ...]:
    """Keras's ``padding`` / ``cropping`` of ``n`` spatial axes as ``((before, after),) * n``: from an
    int (every side), ``n`` ints (symmetric per axis) or ``n`` pairs; a ValueError naming the layer."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"`{arg}` must be >= 0. Received: {arg}={value} (in {where}).")
        return ((value, value),) * n
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            count = "two" if n == 2 else str(n)
            raise ValueError(f"`{arg}` should have {count} elements. Received: {arg}={value!r} (in {where}).")
        return tuple(int_tuple(v, 2, f"{_ORDINALS[i]} entry of {arg}", where, allow_zero=True)
                     for i, v in enumerate(value))
    short = "pad" if arg == "padding" else "crop"
    names = _AXIS_NAMES[n]
    symmetric = ", ".join(f"symmetric_{axis}_{short}" for axis, _, _ in names)
    pairs = ", ".join(f"({a}_{short}, {b}_{short})" for _, a, b in names)
    raise ValueError(
        f"`{arg}` should be either an int, a tuple of {n} ints ({symmetric}), or a tuple of {n} tuples of 2 ints "
        f"({pairs}). Received: {arg}={value!r} (in {where})."
    )


class _Spatial(_Rearrange):
    """Base of the layers that change the ``rank`` spatial axes of ``(batch, *spatial, channels)``
    (or ``(batch, channels, *spatial)``) inputs, one axis at a time."""

    rank = 2

    def __init__(self, data_format: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, _where(self))
        self._first = 2 if self.data_format == "channels_first" else 1  # the first spatial axis
        dims = ", ".join(("steps",) if self.rank == 1 else ("depth", "rows", "cols")[3 - self.rank:])
        layout = (f"(batch, channels, {dims})" if self.data_format == "channels_first"
                  else f"(batch, {dims}, channels)")
        self.input_spec = InputSpec(ndim=self.rank + 2, hint=f"{type(self).__name__} needs {layout} inputs.")

    def _new_size(self, i: int, size: int) -> int:
        """The output size of spatial axis ``i`` for an input size ``size`` (known)."""
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any) -> tuple:
        out = list(input_shape)
        for i in range(self.rank):
            if out[self._first + i] is not None:
                out[self._first + i] = self._new_size(i, out[self._first + i])
        return tuple(out)


class _Cropping(_Spatial):
    """Base of Cropping1D/2D/3D: removes ``_pairs[i] = (before, after)`` cells from spatial axis i."""

    _pairs: tuple[tuple[int, int], ...] = ()

    def _new_size(self, i: int, size: int) -> int:
        left = size - sum(self._pairs[i])
        if left <= 0:
            raise ValueError(
                "Values in `cropping` argument should be smaller than the corresponding spatial dimension of the "
                f"input ({_where(self)}: at least one cell must remain on each axis). Received: spatial axis "
                f"{self._first + i} of size {size}, cropping={self.cropping}. Crop at most {size - 1} cells there "
                "in all."
            )
        return left

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        out = inputs
        for i, (before, _) in enumerate(self._pairs):
            axis = self._first + i
            out = out.narrow(axis, before, self._new_size(i, inputs.shape[axis]))
        return out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class Cropping1D(_Cropping):
    """Crops the steps axis of ``(batch, steps, features)`` inputs: ``cropping=(a, b)`` removes
    ``a`` steps at the start and ``b`` at the end (an int ``n`` means ``(n, n)``). No weights.

    Args:
        cropping: int or pair of ints >= 0 ((1, 1)); at least one step must remain.
    """

    rank = 1

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__("channels_last", **kwargs)
        self.cropping = int_tuple(cropping, 2, "cropping", _where(self), allow_zero=True)
        self._pairs = (self.cropping,)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["data_format"]  # Keras's Cropping1D has no data_format
        return config


class Cropping2D(_Cropping):
    """Crops the two spatial axes of 4-D inputs. No weights.

    Args:
        cropping: an int (all four sides), a pair ``(h, w)`` (symmetric) or a pair of pairs
            ``((top, bottom), (left, right))`` (default: no cropping); at least one row and one
            column must remain.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    rank = 2

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.cropping = self._pairs = side_pairs(cropping, 2, "cropping", _where(self))


class Cropping3D(_Cropping):
    """Crops the three spatial axes of 5-D inputs; see :class:`Cropping2D`. No weights.

    Args:
        cropping: an int, 3 ints, or 3 pairs ((1, 1), (1, 1), (1, 1)).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    rank = 3

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.cropping = self._pairs = side_pairs(cropping, 3, "cropping", _where(self))


class _ZeroPadding(_Spatial):
    """Base of ZeroPadding1D/2D/3D: adds ``padding[i] = (before, after)`` zeros on spatial axis i."""

    def _set_pairs(self, pairs: tuple[tuple[int, int], ...]) -> None:
        self._pairs = pairs
        flat: list[int] = []
        for before, after in reversed(pairs):  # F.pad lists the last axis first
            flat += [before, after]
        self._pads = tuple(flat) if self.data_format == "channels_first" else (0, 0, *flat)

    def _new_size(self, i: int, size: int) -> int:
        return size + sum(self._pairs[i])

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.pad(inputs, self._pads)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Pads the steps axis of 3-D inputs with zeros: ``padding=(a, b)`` adds ``a`` steps at the
    start and ``b`` at the end (an int ``n`` means ``(n, n)``). No weights.

    Args:
        padding: int or pair of ints >= 0 (1).
        data_format: ``'channels_last'`` (default, ``(batch, steps, features)``) or ``'channels_first'``.
    """

    rank = 1

    def __init__(self, padding: Any = 1, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.padding = int_tuple(padding, 2, "padding", _where(self), allow_zero=True)
        self._set_pairs((self.padding,))


class ZeroPadding2D(_ZeroPadding):
    """Pads the two spatial axes of a 4-D input with zeros.

    No weights.

    Args:
        padding: an int (same on all four sides), a pair ``(h, w)`` (symmetric), or a pair of
            pairs ``((top, bottom), (left, right))``.
        data_format: ``'channels_last'`` (default, ``(B, H, W, C)``) or ``'channels_first'``.
    """

    rank = 2

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.padding = side_pairs(padding, 2, "padding", _where(self))
        self._set_pairs(self.padding)


class ZeroPadding3D(_ZeroPadding):
    """Pads the three spatial axes of a 5-D input with zeros; see :class:`ZeroPadding2D`. No weights.

    Args:
        padding: an int, 3 ints, or 3 pairs ((1, 1), (1, 1), (1, 1)).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    rank = 3

    def __init__(self, padding: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.padding = side_pairs(padding, 3, "padding", _where(self))
        self._set_pairs(self.padding)


def _repeat_spatial(inputs: torch.Tensor, first: int, sizes: tuple[int, ...]) -> torch.Tensor:
    """Nearest-neighbour upsampling: every cell repeated ``sizes[i]`` times along spatial axis i."""
    out = inputs
    for i, size in enumerate(sizes):
        if size != 1:
            out = torch.repeat_interleave(out, size, dim=first + i)
    return out


class UpSampling1D(_Spatial):
    """Repeats each step ``size`` times: ``(batch, steps, features) -> (batch, steps * size, features)``.
    No weights.

    Args:
        size: positive int (2).
    """

    rank = 1

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__("channels_last", **kwargs)
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"Expected an integer value for `size`, got {type(size)} (size={size!r}, in "
                            f"{_where(self)}).")
        if size <= 0:
            raise ValueError(f"Argument `size` should be a positive integer. Received: size={size} (in "
                             f"{_where(self)}).")
        self.size = size

    def _new_size(self, i: int, size: int) -> int:
        return size * self.size

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return _repeat_spatial(inputs, 1, (self.size,))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}


class UpSampling3D(_Spatial):
    """Repeats each cell ``size[i]`` times along spatial axis i of 5-D inputs:
    ``(B, D, H, W, C) -> (B, D*sd, H*sh, W*sw, C)``. No weights.

    Args:
        size: int or 3 positive ints ((2, 2, 2)).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    rank = 3

    def __init__(self, size: Any = (2, 2, 2), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.size = int_tuple(size, 3, "size", _where(self))

    def _new_size(self, i: int, size: int) -> int:
        return size * self.size[i]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return _repeat_spatial(inputs, self._first, self.size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


_INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


class UpSampling2D(_Rearrange):
    """Repeats (``'nearest'``) or interpolates (``'bilinear'``, ``'bicubic'``) the spatial axes
    by ``size``: ``(B, H, W, C) -> (B, H*sh, W*sw, C)``.

    Interpolation matches Keras's torch backend: ``torch.nn.functional.interpolate`` with
    ``align_corners=False`` and no antialiasing (half-pixel centres, edge samples clamped).

    No weights.

    Args:
        size: int or pair of positive ints ``(sh, sw)``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        interpolation: ``'nearest'`` (default), ``'bilinear'`` or ``'bicubic'``.
    """

    def __init__(self, size: Any = (2, 2), data_format: str | None = None, interpolation: str = "nearest",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        where = _where(self)
        self.data_format = standardize_data_format(data_format, where)
        self.size = int_tuple(size, 2, "size", where)
        value = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if value not in _INTERPOLATIONS:
            raise ValueError(
                f"Invalid value for argument `interpolation` of {where}. Expected one of {list(_INTERPOLATIONS)} "
                f"(the interpolations Keras's torch backend supports). Received: interpolation={interpolation!r}"
            )
        self.interpolation = value
        self.input_spec = InputSpec(ndim=4, hint="UpSampling2D needs (batch, rows, cols, channels) inputs.")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        sh, sw = self.size
        if self.interpolation == "nearest":
            if self.data_format == "channels_first":
                b, c, h, w = inputs.shape
                return inputs[:, :, :, None, :, None].expand(b, c, h, sh, w, sw).reshape(b, c, h * sh, w * sw)
            b, h, w, c = inputs.shape
            return inputs[:, :, None, :, None, :].expand(b, h, sh, w, sw, c).reshape(b, h * sh, w * sw, c)
        x = inputs if self.data_format == "channels_first" else inputs.permute(0, 3, 1, 2)
        dtype = x.dtype
        if dtype not in (torch.float32, torch.float64):  # Keras resizes in float32 and casts back
            x = x.to(torch.float32)
        y = F.interpolate(x, size=(x.shape[2] * sh, x.shape[3] * sw), mode=self.interpolation,
                          align_corners=False, antialias=False)
        if y.dtype != dtype:
            y = y.to(dtype)
        return y if self.data_format == "channels_first" else y.permute(0, 2, 3, 1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        b = input_shape[0]
        if self.data_format == "channels_first":
            c, h, w = input_shape[1], input_shape[2], input_shape[3]
        else:
            h, w, c = input_shape[1], input_shape[2], input_shape[3]
        h = None if h is None else h * self.size[0]
        w = None if w is None else w * self.size[1]
        return (b, c, h, w) if self.data_format == "channels_first" else (b, h, w, c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


for _cls in (Flatten, Reshape, Permute, RepeatVector, Cropping1D, Cropping2D, Cropping3D, ZeroPadding1D,
             ZeroPadding2D, ZeroPadding3D, UpSampling1D, UpSampling2D, UpSampling3D):
    register_layer(_cls)
