"""``keras.ops.image``: color conversions, resizing, geometric transforms, crops and pads, patches,
filters and image metrics, over torch, with Keras's arguments, layouts and dtypes.

Images are ``(height, width, channels)`` or batches ``(batch, height, width, channels)`` in
``channels_last`` (``(channels, height, width)`` in ``channels_first``); ``data_format=None``
means ``backend.image_data_format()``.

Sampling (``map_coordinates`` and the transforms built on it) follows Keras and SciPy's
``ndimage.map_coordinates``: ``order=0`` takes the nearest pixel (halves round to even),
``order=1`` interpolates linearly between the surrounding pixels; ``fill_mode`` says what lies
outside the image: ``"constant"`` (``fill_value``, blended at the edge pixel by pixel),
``"nearest"`` (the edge pixel), ``"wrap"`` (periodic), ``"mirror"`` (``d c b | a b c d | c b a``,
edge not repeated) or ``"reflect"`` (``c b a | a b c d | d c b``, edge repeated).

Where Keras's torch backend misbehaves, initium does what Keras documents instead:
``gaussian_blur`` reads ``data_format=None`` as ``image_data_format()`` (Keras: channels_first)
and keeps the image size for any kernel (Keras scrambles non-square kernels and grows images for
even ones); ``elastic_transform`` honours ``seed`` through ``initium.random`` (Keras ignores it
eagerly and draws from torch's global generator); ``affine_transform`` applies one transform to
a whole batch and leaves the transform tensor passed in untouched (Keras fails, and swaps its
entries in place); ``crop_images`` refuses a crop past the edge (Keras returns a smaller image);
wrong channel counts and ranks are ``ValueError``s, not torch ``RuntimeError``s;
``extract_patches`` copies the patches (Keras convolves with an identity kernel: no booleans, and
an infinity turns its neighbours into NaN).
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from typing import Any, Callable

import torch
import torch.nn.functional as F

from initium import backend
from initium import random as irandom
from initium.ops.core import convert_to_tensor
from initium.ops.nn import _apply_padding, _data_format, _int_tuple, _padding, _same_padding
from initium.ops.operation import keras_op, on_meta
from initium.symbolic import KerasTensor

__all__ = ["affine_transform", "crop_images", "elastic_transform", "extract_patches", "extract_patches_3d",
           "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images", "perspective_transform", "resize",
           "rgb_to_grayscale", "rgb_to_hsv", "scale_and_translate", "sobel_edges", "ssim"]

_INTERPOLATIONS = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic"}
_SAMPLING_ORDERS = {"nearest": 0, "bilinear": 1}
_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
_INT_TYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


# ============================================================================ shared checks
def _check_rank(images: Any, name: str = "images") -> None:
    if len(images.shape) not in (3, 4):
        raise ValueError(f"Invalid {name} rank: expected rank 3 (single image) or rank 4 (batch of images). "
                         f"Received input with shape: {name}.shape={tuple(images.shape)}")


def _batched(images: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``images`` with a batch axis, and whether one was added."""
    return (images.unsqueeze(0), True) if images.dim() == 3 else (images, False)


def _choice(value: Any, allowed: Any, name: str) -> None:
    if value not in allowed:
        raise ValueError(f"Invalid value for argument `{name}`. Expected of one {set(allowed)}. "
                         f"Received: {name}={value}")


def _channels_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else -3


# ============================================================================ colors
@keras_op("RGBToGrayscale", "image", init=("data_format",))
def rgb_to_grayscale(images: Any, data_format: Any = None) -> torch.Tensor:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` as one channel, in the input's dtype (1-channel images
    are returned as they are)."""
    images = convert_to_tensor(images)
    axis = _channels_axis(_data_format(data_format))
    _check_rank(images)
    if images.shape[axis] not in (1, 3):
        raise ValueError("Invalid channel size: expected 3 (RGB) or 1 (Grayscale). Received input with shape: "
                         f"images.shape={tuple(images.shape)}")
    if images.shape[axis] == 1:
        return images.clone()
    red, green, blue = images.unbind(axis)
    return (0.2989 * red + 0.587 * green + 0.114 * blue).to(images.dtype).unsqueeze(axis)


def _color_planes(images: Any, data_format: Any) -> tuple[torch.Tensor, int]:
    """The three channel planes of float ``images``, and the channel axis to stack them back on."""
    images = convert_to_tensor(images)
    axis = _channels_axis(_data_format(data_format))
    _check_rank(images)
    if not images.is_floating_point():
        raise ValueError("Invalid images dtype: expected float dtype. Received: "
                         f"images.dtype={backend.standardize_dtype(images.dtype)}")
    if images.shape[axis] != 3:
        raise ValueError(f"Input images must have 3 channels, but received images with {images.shape[axis]} channels.")
    return images, axis


@keras_op("RGBToHSV", "image", init=("data_format",))
def rgb_to_hsv(images: Any, data_format: Any = None) -> torch.Tensor:
    """RGB in [0, 1] to hue, saturation, value in [0, 1] (float images only)."""
    images, axis = _color_planes(images, data_format)
    images = torch.where(images.abs() < torch.finfo(images.dtype).eps, 0.0, images)
    red, green, blue = images.unbind(axis)
    value = torch.maximum(torch.maximum(red, green), blue)
    spread = value - torch.minimum(torch.minimum(red, green), blue)
    saturation = torch.where(value > 0, spread / torch.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * torch.where(spread > 0, spread, 1.0))
    hue = torch.where(value == green, norm * (blue - red) + 2.0 / 6.0, norm * (red - green) + 4.0 / 6.0)
    hue = torch.where(value == red, norm * (green - blue), hue)
    hue = torch.where(spread > 0, hue, 0.0) + (hue < 0.0).to(hue.dtype)
    return torch.stack([hue, saturation, value], dim=axis)


@keras_op("HSVToRGB", "image", init=("data_format",))
def hsv_to_rgb(images: Any, data_format: Any = None) -> torch.Tensor:
    """Hue, saturation, value in [0, 1] to RGB in [0, 1] (float images only)."""
    images, axis = _color_planes(images, data_format)
    hue, saturation, value = images.unbind(axis)
    sector = torch.remainder(hue, 1.0) * 6.0

    def channel(center: float, sign: float, base: float) -> torch.Tensor:
        ramp = torch.clip(base + sign * torch.abs(sector - center), 0.0, 1.0)
        return value * (1.0 - saturation + saturation * ramp)

    return torch.stack([channel(3.0, 1.0, -1.0), channel(2.0, -1.0, 2.0), channel(4.0, -1.0, 2.0)], dim=axis)


# ============================================================================ resize
def _crop_to_aspect(x: torch.Tensor, size: tuple) -> torch.Tensor:
    """The largest centered crop of ``x`` (NCHW) with the aspect ratio of ``size``."""
    height, width = x.shape[-2:]
    crop_h = max(min(height, int(width * size[0] / size[1])), 1)
    crop_w = max(min(width, int(height * size[1] / size[0])), 1)
    top, left = int((height - crop_h) / 2), int((width - crop_w) / 2)
    return x[..., top:top + crop_h, left:left + crop_w]


def _pad_to_aspect(x: torch.Tensor, size: tuple, fill_value: float) -> torch.Tensor:
    """``x`` (NCHW) padded with ``fill_value`` on both sides of one axis toward the aspect ratio of
    ``size`` (the same amount on both sides, as Keras)."""
    height, width = x.shape[-2:]
    top = int((max(height, int(width * size[0] / size[1])) - height) / 2)
    left = int((max(width, int(height * size[1] / size[0])) - width) / 2)
    return F.pad(x, (left, left, top, top), value=fill_value) if top or left else x


@keras_op("Resize", "image", init=("size", "interpolation", "antialias", "crop_to_aspect_ratio",
                                   "pad_to_aspect_ratio", "fill_mode", "fill_value", "data_format"))
def resize(images: Any, size: Any, interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False, fill_mode: str = "constant",
           fill_value: float = 0.0, data_format: Any = None) -> torch.Tensor:
    """Images resized to ``size = (height, width)`` by ``"bilinear"``, ``"nearest"`` or
    ``"bicubic"`` interpolation (half-pixel centers; ``antialias`` widens the filter when
    shrinking, for the bilinear and bicubic kernels). ``crop_to_aspect_ratio`` first takes the
    largest centered crop of the target's aspect ratio; ``pad_to_aspect_ratio`` pads with
    ``fill_value`` instead. Integer images are computed in float32, rounded and cast back."""
    if len(size) != 2:
        raise ValueError(f"Expected `size` to be a tuple of 2 integers. Received: size={size}")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"`size` must have positive height and width. Received: size={size}")
    images = convert_to_tensor(images)
    _check_rank(images)
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
    if interpolation in ("lanczos3", "lanczos5"):
        raise ValueError("Resizing with Lanczos interpolation is not supported by the PyTorch backend. "
                         f"Received: interpolation={interpolation}.")
    _choice(interpolation, _INTERPOLATIONS, "interpolation")
    if fill_mode != "constant":
        raise ValueError(f"Invalid value for argument `fill_mode`. Only `'constant'` is supported. "
                         f"Received: fill_mode={fill_mode}")
    data_format = _data_format(data_format)
    x, unbatched = _batched(images)
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    x = x.movedim(-1, 1) if data_format == "channels_last" else x
    size = (int(size[0]), int(size[1]))
    if crop_to_aspect_ratio:
        x = _crop_to_aspect(x, size)
    elif pad_to_aspect_ratio:
        x = _pad_to_aspect(x, size, fill_value)
    smooth = interpolation in ("bilinear", "bicubic")
    out = F.interpolate(x, size=size, mode=_INTERPOLATIONS[interpolation], align_corners=False if smooth else None,
                        antialias=bool(antialias) and smooth)
    if interpolation == "bicubic" and images.dtype == torch.uint8:
        out = out.clamp(0, 255)
    out = out.movedim(1, -1) if data_format == "channels_last" else out
    out = out.squeeze(0) if unbatched else out
    if out.dtype == images.dtype:
        return out
    return (torch.round(out) if images.dtype in _INT_TYPES else out).to(images.dtype)


# ============================================================================ sampling
def _mirror(index: torch.Tensor, size: int) -> torch.Tensor:
    period = size - 1
    return torch.abs((index + period) % (2 * period) - period)


_INDEX_FIXERS: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    "constant": lambda index, size: torch.clip(index, 0, size - 1),
    "nearest": lambda index, size: torch.clip(index, 0, size - 1),
    "wrap": lambda index, size: index % size,
    "mirror": _mirror,
    "reflect": lambda index, size: torch.floor_divide(_mirror(2 * index + 1, 2 * size + 1) - 1, 2),
}


def _nodes(coordinate: torch.Tensor, order: int) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """The (index, weight) pairs that interpolate along one axis; exact positions (integer
    coordinates) have one node and no weight."""
    if not coordinate.is_floating_point():
        return [(coordinate.long(), None)]
    if order == 0:
        return [(torch.round(coordinate).long(), None)]
    lower = torch.floor(coordinate)
    upper_weight = coordinate - lower
    return [(lower.long(), 1 - upper_weight), (lower.long() + 1, upper_weight)]


def _sample(image: torch.Tensor, coordinates: list[torch.Tensor], order: int, fill_mode: str,
            fill_value: Any) -> torch.Tensor:
    """``image`` read at ``coordinates`` (one tensor per axis, broadcasting to the output's shape), by the
    nearest pixel (``order=0``) or multilinear interpolation (``order=1``); see the module docstring
    for ``fill_mode``. The corners are summed in row-major order, as Keras does, so float sums agree."""
    fixer = _INDEX_FIXERS[fill_mode]
    if isinstance(fill_value, (int, float)) and not image.is_floating_point():
        fill_value = int(fill_value)
    per_axis = []
    for coordinate, size in zip(coordinates, image.shape):
        per_axis.append([(fixer(index, size), (index >= 0) & (index < size) if fill_mode == "constant" else None,
                          weight) for index, weight in _nodes(coordinate, order)])
    terms = []
    for corner in itertools.product(*per_axis):
        value = image[tuple(index for index, _, _ in corner)]
        valid = [ok for _, ok, _ in corner if ok is not None]
        if valid:
            value = torch.where(functools.reduce(operator.and_, valid), value, fill_value)
        weights = [w for _, _, w in corner if w is not None]
        terms.append(functools.reduce(operator.mul, weights) * value if weights else value)
    result = functools.reduce(operator.add, terms)
    if not image.is_floating_point() and result.is_floating_point():
        result = torch.round(result)
    return result.to(image.dtype)


def _check_sampling(interpolation: str, fill_mode: str | None = None) -> int:
    _choice(interpolation, _SAMPLING_ORDERS, "interpolation")
    if fill_mode is not None:
        _choice(fill_mode, _FILL_MODES, "fill_mode")
    return _SAMPLING_ORDERS[interpolation]


@keras_op("MapCoordinates", "image", init=("order", "fill_mode", "fill_value"))
def map_coordinates(inputs: Any, coordinates: Any, order: int, fill_mode: str = "constant",
                    fill_value: Any = 0) -> torch.Tensor:
    """``inputs`` (any rank) read at ``coordinates`` (one coordinate array per axis of ``inputs``,
    stacked or as a list), SciPy's ``ndimage.map_coordinates`` with ``order`` 0 or 1."""
    inputs = convert_to_tensor(inputs)
    coords = [convert_to_tensor(c) for c in coordinates]
    if len(coords) != inputs.dim():
        raise ValueError("First dim of `coordinates` must be the same as the rank of `inputs`. Received inputs with "
                         f"shape: {tuple(inputs.shape)} and coordinate leading dim of {len(coords)}")
    if coords[0].dim() < 1:
        raise ValueError("Invalid coordinates rank: expected at least rank 2. Received input with shape: "
                         f"{(len(coords), *coords[0].shape)}")
    if fill_mode not in _INDEX_FIXERS:
        raise ValueError(f"Invalid value for argument `fill_mode`. Expected one of {set(_INDEX_FIXERS)}. "
                         f"Received: fill_mode={fill_mode}")
    if order not in (0, 1):
        raise NotImplementedError("map_coordinates currently requires order<=1")
    return _sample(inputs, coords, order, fill_mode, fill_value)


def _sample_batch(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, order: int, fill_mode: str,
                  fill_value: Any) -> torch.Tensor:
    """Images ``x`` (NHWC) read at ``(rows, cols)``, which broadcast to ``(N, H', W', C)``; the
    batch and channel indices stay small and broadcast in the indexing."""
    n, _, _, c = x.shape
    batch = torch.arange(n, device=x.device).reshape(n, 1, 1, 1)
    channel = torch.arange(c, device=x.device).reshape(1, 1, 1, c)
    return _sample(x, [batch, rows, cols, channel], order, fill_mode, fill_value)


def _as_nhwc(images: torch.Tensor, data_format: str) -> tuple[torch.Tensor, bool]:
    x, unbatched = _batched(images)
    return (x.movedim(1, -1) if data_format == "channels_first" else x), unbatched


def _from_nhwc(x: torch.Tensor, data_format: str, unbatched: bool) -> torch.Tensor:
    x = x.movedim(-1, 1) if data_format == "channels_first" else x
    return x.squeeze(0) if unbatched else x


@keras_op("AffineTransform", "image", init=("interpolation", "fill_mode", "fill_value", "data_format"))
def affine_transform(images: Any, transform: Any, interpolation: str = "bilinear", fill_mode: str = "constant",
                     fill_value: Any = 0, data_format: Any = None) -> torch.Tensor:
    """Images resampled through ``transform = [a0, a1, a2, b0, b1, b2, c0, c1]`` (one per image or
    one for all): output pixel ``(x, y)`` reads the input at ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``.
    As in Keras, ``c0``/``c1`` add ``c0 * k`` and ``c1 * k`` (``k`` the channel index) to the
    row and column read, rather than dividing (Keras's projective terms; keep them 0)."""
    order = _check_sampling(interpolation, fill_mode)
    images, transform = convert_to_tensor(images), convert_to_tensor(transform)
    _check_rank(images)
    if transform.dim() not in (1, 2):
        raise ValueError("Invalid transform rank: expected rank 1 (single transform) or rank 2 (batch of transforms). "
                         f"Received input with shape: transform.shape={tuple(transform.shape)}")
    data_format = _data_format(data_format)
    x, unbatched = _as_nhwc(images, data_format)
    _, height, width, channels = x.shape
    t = transform.reshape(-1, 8)[:, :, None, None, None].unbind(1)  # each (N or 1, 1, 1, 1)
    ys, xs, ks = (torch.arange(s, dtype=transform.dtype, device=x.device) for s in (height, width, channels))
    ys, xs, ks = ys.reshape(1, -1, 1, 1), xs.reshape(1, 1, -1, 1), ks.reshape(1, 1, 1, -1)
    rows = ys * t[4] + xs * t[3] + ks * t[6] + t[5]
    cols = ys * t[1] + xs * t[0] + ks * t[7] + t[2]
    out = _sample_batch(x, rows, cols, order, fill_mode, fill_value)
    return _from_nhwc(out, data_format, unbatched)


def _homography(start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """Per batch, the 8 coefficients of the projective map sending ``end`` corners to ``start``
    corners (``(N, 4, 2)`` each), by solving the 8x8 linear system."""
    dtype = backend.result_type(start.dtype, end.dtype, float)
    compute = backend.torch_dtype(backend.result_type(dtype, "float32"))
    start, end = start.to(backend.torch_dtype(dtype)), end.to(backend.torch_dtype(dtype))
    sx, sy, ex, ey = start[..., 0], start[..., 1], end[..., 0], end[..., 1]
    one, zero = torch.ones_like(ex), torch.zeros_like(ex)
    row_x = torch.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], dim=-1)
    row_y = torch.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], dim=-1)
    system = torch.stack([row_x, row_y], dim=2).reshape(-1, 8, 8).to(compute)
    target = torch.stack([sx, sy], dim=-1).reshape(-1, 8, 1).to(compute)
    return torch.linalg.solve(system, target).reshape(-1, 8).to(backend.torch_dtype(dtype))


def _check_points(points: torch.Tensor, name: str) -> None:
    if tuple(points.shape[-2:]) != (4, 2) or points.dim() not in (2, 3):
        raise ValueError(f"Invalid {name} shape: expected (4,2) for a single image or (N,4,2) for a batch. Received "
                         f"shape: {tuple(points.shape)}")


@keras_op("PerspectiveTransform", "image", init=("interpolation", "fill_value", "data_format"))
def perspective_transform(images: Any, start_points: Any, end_points: Any, interpolation: str = "bilinear",
                          fill_value: Any = 0, data_format: Any = None) -> torch.Tensor:
    """Images warped so that the 4 ``start_points`` (x, y corners) land on the 4 ``end_points``;
    pixels from outside the input are ``fill_value``."""
    images = convert_to_tensor(images)
    start = convert_to_tensor(start_points, dtype=images.dtype)
    end = convert_to_tensor(end_points, dtype=images.dtype)
    order = _check_sampling(interpolation)
    _check_rank(images)
    _check_points(start, "start_points")
    _check_points(end, "end_points")
    if start.shape != end.shape:
        raise ValueError("start_points and end_points must have the same shape. Received "
                         f"start_points.shape={tuple(start.shape)}, end_points.shape={tuple(end.shape)}")
    data_format = _data_format(data_format)
    x, unbatched = _as_nhwc(images, data_format)
    _, height, width, _ = x.shape
    h = _homography(start.reshape(-1, 4, 2), end.reshape(-1, 4, 2))[:, :, None, None, None].unbind(1)
    gx = torch.arange(width, dtype=images.dtype, device=x.device).reshape(1, 1, -1, 1)
    gy = torch.arange(height, dtype=images.dtype, device=x.device).reshape(1, -1, 1, 1)
    denom = h[6] * gx + h[7] * gy + 1.0
    cols = (h[0] * gx + h[1] * gy + h[2]) / denom
    rows = (h[3] * gx + h[4] * gy + h[5]) / denom
    out = _sample_batch(x, rows, cols, order, "constant", fill_value)
    return _from_nhwc(out, data_format, unbatched)


# ============================================================================ filters
def _gaussian_1d(size: int, sigma: Any, dtype: torch.dtype, dev: torch.device) -> torch.Tensor:
    x = torch.arange(size, dtype=dtype, device=dev) - (size - 1) / 2
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def _blur(x: torch.Tensor, kernel_size: tuple[int, int], sigma: Any) -> torch.Tensor:
    """NCHW images convolved, channel by channel, with the Gaussian of ``kernel_size`` (x, y) and
    ``sigma`` (x, y), keeping their size ('same' padding with zeros)."""
    sigma = convert_to_tensor(sigma)
    kernel = torch.outer(_gaussian_1d(kernel_size[1], sigma[1], x.dtype, x.device),
                         _gaussian_1d(kernel_size[0], sigma[0], x.dtype, x.device))
    x, pad = _apply_padding(x, _same_padding(x.shape[2:], kernel.shape, (1, 1), (1, 1)), "constant")
    return F.conv2d(x, kernel.expand(x.shape[1], 1, *kernel.shape), padding=pad, groups=x.shape[1])


@keras_op("GaussianBlur", "image", init=("kernel_size", "sigma", "data_format"))
def gaussian_blur(images: Any, kernel_size: Any = (3, 3), sigma: Any = (1.0, 1.0), data_format: Any = None
                  ) -> torch.Tensor:
    """Images smoothed by a Gaussian filter; ``kernel_size[0]``/``sigma[0]`` act along the width
    and ``kernel_size[1]``/``sigma[1]`` along the height (Keras's kernels are built so); the output
    keeps the input's size."""
    images = convert_to_tensor(images)
    _check_rank(images)
    data_format = _data_format(data_format)
    x, unbatched = _batched(images)
    x = x.movedim(-1, 1) if data_format == "channels_last" else x
    out = _blur(x, (int(kernel_size[0]), int(kernel_size[1])), sigma)
    out = out.movedim(1, -1) if data_format == "channels_last" else out
    return out.squeeze(0) if unbatched else out


@keras_op("ElasticTransform", "image", init=("alpha", "sigma", "interpolation", "fill_mode", "fill_value", "seed",
                                             "data_format"))
def elastic_transform(images: Any, alpha: float = 20.0, sigma: float = 5.0, interpolation: str = "bilinear",
                      fill_mode: str = "reflect", fill_value: float = 0.0, seed: Any = None, data_format: Any = None
                      ) -> torch.Tensor:
    """Images displaced by a random smooth field: per pixel, normal noise times ``sigma``, blurred
    by a Gaussian of ``sigma`` (kernel ``int(6 sigma) | 1``) and scaled by ``alpha``, in each
    direction; the images are then resampled there (as ``map_coordinates``).

    The noise comes from ``initium.random.normal`` with ``seed`` (None: the global stream; an int:
    the same field every call; a ``SeedGenerator``: a reproducible sequence), identical on CPU and
    GPU.
    """
    order = _check_sampling(interpolation, fill_mode)
    images = convert_to_tensor(images)
    _check_rank(images)
    if not images.is_floating_point():
        raise ValueError("ops.image.elastic_transform: images must have a float dtype (the displacement field is "
                         f"drawn in it). Received: images.dtype={backend.standardize_dtype(images.dtype)}")
    data_format = _data_format(data_format)
    x, unbatched = _as_nhwc(images, data_format)
    n, height, width, _ = x.shape
    alpha_t, sigma_t = convert_to_tensor(alpha), convert_to_tensor(sigma)
    shape = (2, n, height, width)
    if on_meta():
        noise = torch.empty(shape, dtype=x.dtype, device=x.device)
    else:
        noise = irandom.normal(shape, dtype=x.dtype, seed=seed, device=x.device)
    size = int(6 * float(sigma)) | 1
    field = _blur((noise * sigma_t).reshape(2 * n, 1, height, width), (size, size), (sigma_t, sigma_t))
    dx, dy = (alpha_t * field).reshape(2, n, height, width, 1).unbind(0)
    rows = torch.arange(height, device=x.device).reshape(1, -1, 1, 1) + dy
    cols = torch.arange(width, device=x.device).reshape(1, 1, -1, 1) + dx
    out = _sample_batch(x, rows, cols, order, fill_mode, fill_value)
    return _from_nhwc(out, data_format, unbatched)


@keras_op("SobelEdges", "image", init=("data_format",))
def sobel_edges(images: Any, data_format: Any = None) -> torch.Tensor:
    """The Sobel derivatives of a batch of images, ``(dy, dx)`` stacked on a new last axis (zero
    padding at the borders)."""
    images = convert_to_tensor(images)
    data_format = _data_format(data_format)
    if images.dim() != 4:
        raise ValueError(f"Invalid images rank: expected rank 4 (batch of images). Received: "
                         f"images.shape={list(images.shape)}")
    x = images.movedim(-1, 1) if data_format == "channels_last" else images
    n, c, h, w = x.shape
    d_x = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=images.dtype, device=images.device)
    kernels = torch.stack([d_x.T, d_x]).repeat(c, 1, 1).unsqueeze(1)  # per channel: d/dy, then d/dx
    edges = F.conv2d(x, kernels, padding=1, groups=c).reshape(n, c, 2, h, w).movedim(2, -1)
    return edges.movedim(1, 3) if data_format == "channels_last" else edges


# ============================================================================ crops, pads, patches
def _resolve_sides(before: Any, after: Any, target: Any, size: int | None, names: tuple[str, str, str]
                   ) -> tuple[Any, Any, Any]:
    """Two of (``before``, ``after``, ``target``) given, the third from ``size``: for padding
    ``target = before + size + after``, for cropping ``size = before + target + after``. ``names``
    are the arguments' names (the first says which); ``size`` None (unknown) leaves the missing
    amounts None."""
    if [before, after, target].count(None) != 1:
        raise ValueError(f"Must specify exactly two of {', '.join(names)}. Received: {names[0]}={before}, "
                         f"{names[1]}={after}, {names[2]}={target}")
    for name, value in zip(names, (before, after, target)):
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")
    if size is None:
        return before, after, target
    sign = 1 if names[0].endswith("padding") else -1  # padding adds the sides, cropping removes them
    if target is None:
        target = size + sign * (before + after)
    elif before is None:
        before = sign * (target - size) - after
    elif after is None:
        after = sign * (target - size) - before
    for name, value in zip(names, (before, after, target)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value} (the image is {size} pixels).")
    return before, after, target


def _per_axis(kind: str, data_format: Any, top: Any, left: Any, bottom: Any, right: Any, target_height: Any,
              target_width: Any) -> list[tuple[int, Any, Any, Any, tuple[str, str, str]]]:
    """Per spatial axis (height, width): its axis, the amounts before and after, the target size,
    and the three arguments' names."""
    height, width = (-3, -2) if _data_format(data_format) == "channels_last" else (-2, -1)
    return [(height, top, bottom, target_height, (f"top_{kind}", f"bottom_{kind}", "target_height")),
            (width, left, right, target_width, (f"left_{kind}", f"right_{kind}", "target_width"))]


def _pad_crop_spec(kind: str, images: Any, *args: Any) -> KerasTensor:
    """The output spec of ``pad_images``/``crop_images`` (sizes may be unknown); ``args`` are their
    arguments after ``images``, in order."""
    _check_rank(images)
    shape = list(images.shape)
    for axis, before, after, target, names in _per_axis(kind, args[-1], *args[:-1]):
        if kind == "cropping" and shape[axis] is None and target is None:
            raise ValueError(f"When the {names[2][7:]} of the images is unknown, `{names[2]}` must be specified. "
                             f"Received images.shape={shape} and {names[2]}={target}")
        shape[axis] = _resolve_sides(before, after, target, shape[axis], names)[2]
    return KerasTensor(tuple(shape), dtype=images.dtype)


def _named_spec(kind: str) -> Callable[..., KerasTensor]:
    """The spec function of ``pad_images``/``crop_images``: the graph node hands it ``images`` and
    its constructor arguments by name."""
    def spec(images: Any, **init: Any) -> KerasTensor:
        sides = [init.get(f"{side}_{kind}") for side in ("top", "left", "bottom", "right")]
        return _pad_crop_spec(kind, images, *sides, init.get("target_height"), init.get("target_width"),
                              init.get("data_format"))
    return spec


def _pad_crop(kind: str, images: Any, *args: Any) -> tuple[torch.Tensor, list[tuple[int, int, int]]]:
    """``images`` as a tensor and, per spatial axis (height, width), ``(axis, before, after)``."""
    images = convert_to_tensor(images)
    _check_rank(images)
    amounts = []
    for axis, before, after, target, names in _per_axis(kind, args[-1], *args[:-1]):
        before, after, _ = _resolve_sides(before, after, target, images.shape[axis], names)
        amounts.append((axis, before, after))
    return images, amounts


@keras_op("PadImages", "image", init=("top_padding", "left_padding", "bottom_padding", "right_padding",
                                      "target_height", "target_width", "data_format"),
          spec=_named_spec("padding"))
def pad_images(images: Any, top_padding: Any = None, left_padding: Any = None, bottom_padding: Any = None,
               right_padding: Any = None, target_height: Any = None, target_width: Any = None,
               data_format: Any = None) -> torch.Tensor:
    """Images padded with zeros; per axis give two of the two paddings and the target size."""
    images, ((_, top, bottom), (_, left, right)) = _pad_crop("padding", images, top_padding, left_padding,
                                                             bottom_padding, right_padding, target_height,
                                                             target_width, data_format)
    pads = [left, right, top, bottom]  # F.pad lists the last axis first
    return F.pad(images, pads if _data_format(data_format) == "channels_first" else [0, 0, *pads])


@keras_op("CropImages", "image", init=("top_cropping", "left_cropping", "bottom_cropping", "right_cropping",
                                       "target_height", "target_width", "data_format"),
          spec=_named_spec("cropping"))
def crop_images(images: Any, top_cropping: Any = None, left_cropping: Any = None, bottom_cropping: Any = None,
                right_cropping: Any = None, target_height: Any = None, target_width: Any = None,
                data_format: Any = None) -> torch.Tensor:
    """Images cropped; per axis give two of the two croppings and the target size."""
    images, amounts = _pad_crop("cropping", images, top_cropping, left_cropping, bottom_cropping, right_cropping,
                                target_height, target_width, data_format)
    for axis, before, after in amounts:
        images = images.narrow(axis, before, images.shape[axis] - before - after)
    return images


def _patches(images: torch.Tensor, size: tuple, strides: Any, dilation_rate: Any, padding: str, data_format: str
             ) -> torch.Tensor:
    """Patches of ``size`` (2 or 3 spatial axes) as vectors ordered (*size, channels), the layout a
    convolution with an identity kernel gives (Keras's definition), but copied exactly."""
    n = len(size)
    x, unbatched = (images.unsqueeze(0), True) if images.dim() == n + 1 else (images, False)
    if x.dim() != n + 2:
        raise ValueError(f"ops.image.extract_patches: expected images of rank {n + 1} or {n + 2} for patches of "
                         f"size {size}. Received images.shape={tuple(images.shape)}")
    strides = _int_tuple(strides, n, "strides")
    dilation = _int_tuple(dilation_rate, n, "dilation_rate")
    x = x.movedim(-1, 1) if data_format == "channels_last" else x
    if _padding(padding, "image.extract_patches") == "same":
        x = F.pad(x, [p for pair in reversed(_same_padding(x.shape[2:], size, strides, dilation)) for p in pair])
    for axis, (k, s, d) in enumerate(zip(size, strides, dilation)):
        x = x.unfold(2 + axis, (k - 1) * d + 1, s)[..., ::d]  # windows appended as a last axis
    # (N, C, *out, *size) -> (N, *out, *size, C) -> (N, *out, prod(size) * C)
    out = x.movedim(1, -1).flatten(-n - 1)
    out = out.movedim(-1, 1) if data_format == "channels_first" else out
    return out.squeeze(0) if unbatched else out


@keras_op("ExtractPatches", "image", init=("size", "strides", "dilation_rate", "padding", "data_format"))
def extract_patches(images: Any, size: Any, strides: Any = None, dilation_rate: Any = 1, padding: str = "valid",
                    data_format: Any = None) -> torch.Tensor:
    """Patches of ``size`` (an int, ``(h, w)``, or ``(d, h, w)`` for volumes) taken every
    ``strides`` (default: ``size``), flattened into the channel axis in (rows, columns, channels)
    order: ``(batch, out_h, out_w, h * w * channels)`` in channels-last."""
    if not isinstance(size, int):
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"Invalid `size` argument. Expected an int or a tuple. Received: size={size} of type "
                            f"{type(size).__name__}")
        if len(size) not in (2, 3):
            raise ValueError(f"Invalid `size` argument. Expected a tuple of length 2 or 3. Received: size={size} with "
                             f"length {len(size)}")
    dims = (size, size) if isinstance(size, int) else tuple(size)
    return _patches(convert_to_tensor(images), dims, strides or dims, dilation_rate, padding, _data_format(data_format))


def extract_patches_3d(volumes: Any, size: Any, strides: Any = None, dilation_rate: Any = 1, padding: str = "valid",
                       data_format: Any = None) -> torch.Tensor:
    """``extract_patches`` for volumes ``(batch, depth, height, width, channels)``; an int ``size``
    is a cube. (Keras builds the same ``ExtractPatches`` graph node for both.)"""
    if isinstance(size, int):
        size = (size, size, size)
    return extract_patches(volumes, size, strides, dilation_rate, padding, data_format)


extract_patches_3d.operation_class = extract_patches.operation_class  # type: ignore[attr-defined]


# ============================================================================ scale and translate
def _triangle(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(1 - x, min=0)


def _keys_cubic(x: torch.Tensor) -> torch.Tensor:
    """Keys' cubic convolution kernel with a = -0.5, on ``x = |distance|``."""
    near = (1.5 * x - 2.5) * x * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return torch.where(x >= 2.0, 0.0, torch.where(x >= 1.0, far, near))


def _lanczos(radius: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def kernel(x: torch.Tensor) -> torch.Tensor:
        y = radius * torch.sin(math.pi * x) * torch.sin(math.pi * x / radius)
        out = torch.where(x > 0.001, y / torch.where(x != 0, math.pi ** 2 * x ** 2, 1), 1)
        return torch.where(x > radius, 0.0, out)
    return kernel


_SCALE_KERNELS = {"linear": _triangle, "bilinear": _triangle, "trilinear": _triangle, "cubic": _keys_cubic,
                  "bicubic": _keys_cubic, "tricubic": _keys_cubic, "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0)}


def _resampling_weights(in_size: int, out_size: int, scale: torch.Tensor, translation: torch.Tensor,
                        kernel: Callable, antialias: bool) -> torch.Tensor:
    """The ``(in_size, out_size)`` matrix taking one axis to its scaled and translated resampling."""
    inv_scale = 1.0 / scale
    widen = torch.clamp(inv_scale, min=1.0) if antialias else 1.0
    dev = scale.device
    sample = (torch.arange(out_size, dtype=scale.dtype, device=dev) + 0.5) * inv_scale - translation * inv_scale - 0.5
    distance = torch.abs(sample[None, :] - torch.arange(in_size, dtype=scale.dtype, device=dev)[:, None]) / widen
    weights = kernel(distance)
    total = weights.sum(dim=0, keepdim=True)
    weights = torch.where(torch.abs(total) > 1000.0 * torch.finfo(torch.float32).eps,
                          weights / torch.where(total != 0, total, 1), 0)
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return torch.where(inside[None, :], weights, 0)


@keras_op("ScaleAndTranslate", "image", init=("spatial_dims", "method", "antialias"))
def scale_and_translate(images: Any, output_shape: Any, scale: Any, translation: Any, spatial_dims: Any, method: str,
                        antialias: bool = True) -> torch.Tensor:
    """JAX's ``image.scale_and_translate``: each axis of ``spatial_dims`` resampled to
    ``output_shape`` so that input position ``p`` lands at ``p * scale + translation`` (pixel
    centers at half-integers), with the ``method`` kernel (linear, cubic, lanczos3, lanczos5),
    widened when shrinking if ``antialias``. Integer images are rounded and clipped to their range."""
    _choice(method, _SCALE_KERNELS, "method")
    images, scale, translation = convert_to_tensor(images), convert_to_tensor(scale), convert_to_tensor(translation)
    dtype = backend.torch_dtype(backend.result_type(scale.dtype, translation.dtype))
    scale, translation = scale.to(dtype), translation.to(dtype)
    integer = not images.is_floating_point() and not images.is_complex()
    out = images.float() if integer else images.clone()
    for i, axis in enumerate(spatial_dims):
        axis %= images.dim()
        weights = _resampling_weights(images.shape[axis], output_shape[axis], scale[i], translation[i],
                                      _SCALE_KERNELS[method], antialias)
        out = torch.tensordot(out, weights.to(out.dtype), dims=([axis], [0])).movedim(-1, axis)
    if integer and len(spatial_dims):
        out = torch.clip(torch.round(out), images.min(), images.max()).to(images.dtype)
    return out


# ============================================================================ metrics
@keras_op("SSIM", "image", init=("max_val", "filter_size", "filter_sigma", "k1", "k2", "data_format"))
def ssim(image1: Any, image2: Any, max_val: float = 1.0, filter_size: int = 11, filter_sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03, data_format: Any = None) -> torch.Tensor:
    """The structural similarity index (Wang et al., 2004) per image, averaged over channels and
    the positions of a ``filter_size`` Gaussian window (no padding); returned in ``image1``'s dtype."""
    data_format = _data_format(data_format)
    image1, image2 = convert_to_tensor(image1), convert_to_tensor(image2)
    dtype = image1.dtype
    compute = backend.torch_dtype(backend.result_type(dtype, float))
    a, b = image1.to(compute), image2.to(compute)
    _check_rank(a, "image1")
    _check_rank(b, "image2")
    (a, unbatched), (b, _) = _batched(a), _batched(b)
    if data_format == "channels_last":
        a, b = a.movedim(-1, 1), b.movedim(-1, 1)
    n, c, h, w = a.shape
    g = torch.arange(filter_size, dtype=compute, device=a.device) - (filter_size - 1) / 2.0
    g = torch.exp(-(g ** 2) / (2.0 * filter_sigma ** 2))
    g = g / g.sum()
    window = torch.outer(g, g)[None, None]

    def local_mean(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x.reshape(n * c, 1, h, w), window)

    mu1, mu2 = local_mean(a), local_mean(b)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    var1 = local_mean(a * a) - mu1 * mu1
    var2 = local_mean(b * b) - mu2 * mu2
    cov = local_mean(a * b) - mu1 * mu2
    index = (2.0 * mu1 * mu2 + c1) * (2.0 * cov + c2) / ((mu1 * mu1 + mu2 * mu2 + c1) * (var1 + var2 + c2))
    result = index.mean(dim=(1, 2, 3)).reshape(n, c).mean(dim=-1)
    return (result.squeeze(0) if unbatched else result).to(dtype)
