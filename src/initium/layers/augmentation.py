"""Image preprocessing and augmentation layers, with Keras 3.15.1's arguments, configs and outputs.

- ``Resizing`` and ``CenterCrop`` are deterministic.
- ``RandomFlip``, ``RandomRotation``, ``RandomZoom``, ``RandomCrop``, ``RandomTranslation``,
  ``RandomContrast`` and ``RandomBrightness`` draw one random transformation per image.

Images are ``(height, width, channels)`` or batches ``(batch, height, width, channels)``
(``channels_first``: channels before height); ``data_format=None`` means
``backend.image_data_format()``. Resizing and cropping use ``initium.ops.image.resize``;
rotation, zoom and translation resample with ``torch.nn.functional.grid_sample`` (one fused
kernel, tens of times faster than per-pixel gathers), arranged to give exactly Keras's
``affine_transform``: its interpolation (nearest rounds half to even, bilinear) and fill modes
(``reflect``, ``wrap``, ``constant`` with ``fill_value``, ``nearest``).

When the random layers act
    As in Keras, a random layer's ``training`` defaults to True: ``RandomFlip()(images)``
    augments, and so does a model called without ``training`` (``model(images)``). ``fit`` runs
    them with ``training=True``; ``predict``, ``evaluate`` and ``training=False`` leave images
    unchanged (``RandomCrop`` too, as Keras 3.15.1: its output is then the uncropped input).

Random numbers
    Each random layer owns an ``initium.random.SeedGenerator(seed)`` and draws its parameters
    from initium's Philox streams: the same ``seed`` gives the same sequence of augmentations (a
    layer rebuilt from its config starts the sequence again), on any device. The numbers are not
    Keras's (Keras has its own generator), only their distribution is.

Output dtypes follow Keras: float (the layer's dtype) for the geometric layers; ``Resizing``
keeps integer images integer (rounded); ``RandomBrightness`` keeps the input dtype;
``RandomContrast`` returns its input unchanged at inference and floats when it acts.
Dictionaries of images with boxes, labels or masks (Keras's ``bounding_box_format``) are not
supported: pass image tensors.
"""

from __future__ import annotations

import math
import numbers
import random as _pyrandom
from typing import Any

import torch
import torch.nn.functional as F

from initium import backend
from initium import random as irandom
from initium.layers import layer as _layer_module
from initium.layers.layer import Layer
from initium.layers.serialization import register_layer
from initium.layers.symbolic import is_symbolic

__all__ = ["Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom", "RandomCrop",
           "RandomTranslation", "RandomContrast", "RandomBrightness"]

_RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic")
_AFFINE_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_AFFINE_INTERPOLATIONS = ("nearest", "bilinear")
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


# ============================================================================ argument checks
def _label(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _data_format(layer: Layer, value: Any) -> str:
    if value is None:
        return backend.image_data_format()
    fmt = str(value).lower()
    if fmt not in ("channels_first", "channels_last"):
        raise ValueError(f"{_label(layer)}: the `data_format` argument must be one of 'channels_first', "
                         f"'channels_last' or None. Received: data_format={value!r}")
    return fmt


def _size(layer: Layer, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{_label(layer)}: `{arg}` must be a positive integer (pixels). Received: {arg}={value!r}")
    return int(value)


def _seed(layer: Layer, seed: Any) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"{_label(layer)}: `seed` must be an integer or None. Received: seed={seed!r} (of type "
                         f"{type(seed).__name__}). Pass an int for reproducible augmentation.")
    return seed


def _choice(layer: Layer, arg: str, value: Any, allowed: tuple[str, ...], error: type = ValueError) -> str:
    if value not in allowed:
        raise error(f"{_label(layer)}: unknown `{arg}` {value!r}. Expected one of {allowed}.")
    return value


def _factor_range(layer: Layer, arg: str, factor: Any, low: float, high: float) -> tuple[Any, Any]:
    """Keras's ``_set_factor``: a number ``f`` gives ``(max(-|f|, low), |f|)``, a pair gives itself
    sorted; a pair is refused only when it lies wholly outside ``[low, high]``."""
    message = (f"{_label(layer)}: the `{arg}` argument should be a number (or a list of two numbers) in the "
               f"range [{low}, {high}]. Received: {arg}={factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(_is_number(f) for f in factor) or factor[0] > high or factor[1] < low:
            raise ValueError(message)
        lower, upper = sorted(factor)
        return lower, upper
    if not _is_number(factor) or factor < low or factor > high:
        raise ValueError(message)
    factor = abs(factor)
    return max(-factor, low), factor


def _symmetric_range(layer: Layer, arg: str, factor: Any, low_open: bool) -> tuple[Any, Any]:
    """RandomZoom/RandomTranslation factors: each number in ``(-1, 1]`` (zoom) or ``[-1, 1]``;
    a number ``f`` gives ``(-|f|, |f|)``."""
    interval = "(-1.0, 1.0]" if low_open else "[-1.0, 1.0]"
    message = (f"{_label(layer)}: the `{arg}` argument should be a number (or a list of two numbers) in the "
               f"range {interval}. Received: {arg}={factor!r}")
    values = list(factor) if isinstance(factor, (tuple, list)) else [factor]
    if (len(values) != (2 if isinstance(factor, (tuple, list)) else 1) or not all(_is_number(v) for v in values)
            or any(v > 1.0 or v < -1.0 or (low_open and v == -1.0) for v in values)):
        raise ValueError(message)
    if len(values) == 2:
        lower, upper = sorted(values)
        return lower, upper
    return -abs(factor), abs(factor)


def _value_range(layer: Layer, value_range: Any) -> list:
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(_is_number(v) for v in value_range)):
        raise ValueError(f"{_label(layer)}: the `value_range` argument should be a list of two numbers, e.g. "
                         f"(0, 255) or (0, 1). Received: value_range={value_range!r}")
    return list(value_range)


def _resize(images: torch.Tensor, size: tuple[int, int], data_format: str, **kwargs: Any) -> torch.Tensor:
    """``initium.ops.image.resize``, imported on first use (``import initium`` leaves the ops unloaded)."""
    from initium.ops import image as image_ops

    return image_ops.resize(images, size, data_format=data_format, **kwargs)


# ============================================================================ affine resampling
_GRID_PADDING = {"constant": "zeros", "nearest": "border", "reflect": "reflection", "wrap": "border"}


def _affine_resample(images: torch.Tensor, coefficients: list[torch.Tensor], interpolation: str, fill_mode: str,
                     fill_value: float, data_format: str) -> torch.Tensor:
    """Keras's ``affine_transform`` by ``grid_sample``: output pixel ``(x, y)`` of image ``i`` reads
    the input at ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``, ``coefficients = [a0, a1, a2, b0, b1,
    b2]``, each ``(batch, 1)`` (or ``(1, 1)`` for all images).

    How the fill modes map (pixel centers at integer coordinates, ``align_corners=False``):
    ``reflect`` (``c b a | a b c d | d c b``) is grid_sample's reflection about the image's
    outer edges; ``nearest`` clamps to the border; ``constant`` samples zeros outside and adds
    ``fill_value`` times the weight that fell outside; ``wrap`` takes coordinates modulo the size
    on the image padded with its own first row and column. ``nearest`` interpolation rounds the
    coordinates first (half to even, as Keras), so the sampler reads exact pixel positions.
    """
    x = images if images.dim() == 4 else images.unsqueeze(0)
    x = x.movedim(-1, 1) if data_format == "channels_last" else x
    n, _, height, width = x.shape
    a0, a1, a2, b0, b1, b2 = (c.reshape(-1, 1, 1) for c in coefficients)
    ys = torch.arange(height, dtype=x.dtype, device=x.device).reshape(1, -1, 1)
    xs = torch.arange(width, dtype=x.dtype, device=x.device).reshape(1, 1, -1)
    cols, rows = ys * a1 + xs * a0 + a2, ys * b1 + xs * b0 + b2  # Keras's order of operations
    if interpolation == "nearest":
        cols, rows = torch.round(cols), torch.round(rows)
    if fill_mode == "wrap":
        cols, rows = torch.remainder(cols, width), torch.remainder(rows, height)
        x = torch.cat([x, x[:, :, :1]], dim=2)
        x = torch.cat([x, x[:, :, :, :1]], dim=3)
    grid_h, grid_w = x.shape[-2:]
    grid = torch.stack([(2 * cols + 1) / grid_w - 1, (2 * rows + 1) / grid_h - 1], dim=-1).expand(n, -1, -1, -1)

    def sample(t: torch.Tensor) -> torch.Tensor:
        return F.grid_sample(t, grid, mode=interpolation, padding_mode=_GRID_PADDING[fill_mode], align_corners=False)

    out = sample(x)
    if fill_mode == "constant" and fill_value != 0:
        out = out + fill_value * (1 - sample(torch.ones_like(x[:, :1])))
    out = out.movedim(1, -1) if data_format == "channels_last" else out
    return out if images.dim() == 4 else out.squeeze(0)


# ============================================================================ bases
class _ImageLayer(Layer):
    """What every image layer shares: ``data_format``, the rank check, the spatial axes."""

    def __init__(self, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _data_format(self, data_format)

    @property
    def _spatial_axes(self) -> tuple[int, int]:
        return (-3, -2) if self.data_format == "channels_last" else (-2, -1)

    def _image_size(self, shape: Any) -> tuple[Any, Any]:
        h_axis, w_axis = self._spatial_axes
        return shape[h_axis], shape[w_axis]

    def _check_rank(self, shape: Any) -> None:
        if len(shape) not in (3, 4):
            raise ValueError(f"{_label(self)} expects images of rank 3 (one image) or 4 (a batch of images), in "
                             f"{self.data_format}. Received: inputs.shape={tuple(shape)}")

    def _as_float(self, images: torch.Tensor) -> torch.Tensor:
        dtype = backend.torch_dtype(self.compute_dtype)
        return images if images.dtype == dtype else images.to(dtype)

    def _with_size(self, input_shape: Any, height: int, width: int) -> tuple:
        """``input_shape`` with its spatial sizes replaced."""
        self._check_rank(input_shape)
        shape = list(input_shape)
        h_axis, w_axis = self._spatial_axes
        shape[h_axis], shape[w_axis] = height, width
        return tuple(shape)

    def compute_output_shape(self, input_shape: Any) -> Any:
        self._check_rank(input_shape)
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class _RandomImageLayer(_ImageLayer):
    """A random augmentation: its own seeded stream, ``training`` defaulting to True (Keras), and
    ``call`` dispatching to ``_augment`` (training) or ``_inference``."""

    def __init__(self, seed: Any = None, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.seed = _seed(self, seed)
        self.generator = irandom.SeedGenerator(seed)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        unset = kwargs.get("training") is None and getattr(_layer_module._tls, "training", None) is None
        if unset and not is_symbolic((args, kwargs)):
            kwargs["training"] = True  # Keras's default for these layers, when no call up the chain said
        return super().__call__(*args, **kwargs)

    def call(self, inputs: torch.Tensor, training: bool = True) -> torch.Tensor:
        self._check_rank(inputs.shape)
        return self._augment(inputs) if training else self._inference(inputs)

    def _inference(self, images: torch.Tensor) -> torch.Tensor:
        return self._as_float(images)

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _uniform(self, shape: tuple[int, ...], low: float, high: float, device: Any) -> torch.Tensor:
        """Values uniform between ``low`` and ``high`` (either order; exactly ``low`` when equal)."""
        u = irandom.uniform(shape, seed=self.generator, device=device)
        return low + u * (high - low)

    @staticmethod
    def _per_image(images: torch.Tensor) -> tuple[int, int]:
        """The shape of one draw per image, as a column: ``(batch, 1)`` (batch 1 for one image)."""
        return (images.shape[0] if images.dim() == 4 else 1, 1)

    def _draw_per_image(self, images: torch.Tensor, low: float, high: float) -> torch.Tensor:
        """One value per image, shaped to broadcast against ``images``."""
        shape = (images.shape[0], 1, 1, 1) if images.dim() == 4 else (1, 1, 1)
        return self._uniform(shape, low, high, images.device)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


class _AffineLayer(_RandomImageLayer):
    """Rotation, zoom and translation: an affine map per image, resampled as Keras's
    ``affine_transform`` with ``fill_mode``/``interpolation``/``fill_value``."""

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear", seed: Any = None,
                 fill_value: float = 0.0, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        # Keras raises NotImplementedError for these (affine_transform itself supports "mirror")
        self.fill_mode = _choice(self, "fill_mode", fill_mode, _AFFINE_FILL_MODES, NotImplementedError)
        self.interpolation = _choice(self, "interpolation", interpolation, _AFFINE_INTERPOLATIONS,
                                     NotImplementedError)
        self.fill_value = fill_value

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        images = self._as_float(images)
        height, width = self._image_size(images.shape)
        coefficients = self._coefficients(images, height, width)
        return _affine_resample(images, coefficients, self.interpolation, self.fill_mode, self.fill_value,
                                self.data_format)

    def _coefficients(self, images: torch.Tensor, height: int, width: int) -> list[torch.Tensor]:
        """``[a0, a1, a2, b0, b1, b2]``, each ``(batch, 1)``: output pixel ``(x, y)`` reads the input
        at ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "interpolation": self.interpolation}


# ============================================================================ deterministic layers
class Resizing(_ImageLayer):
    """Resizes images to ``(height, width)``.

    Args:
        height, width: the output size.
        interpolation: ``"bilinear"`` (default), ``"nearest"`` or ``"bicubic"``. Keras's
            ``"lanczos3"``/``"lanczos5"`` are refused, as by Keras's torch backend.
        crop_to_aspect_ratio: first take the largest central window with the target aspect ratio
            (no distortion).
        pad_to_aspect_ratio: instead pad the short side evenly with ``fill_value``.
        fill_mode: only ``"constant"``.
        fill_value: the padding value.
        antialias: widen the filter when shrinking (bilinear, bicubic).
        data_format: ``"channels_last"``, ``"channels_first"`` or None.

    Integer images stay integer (rounded); float images come out in the layer's dtype.
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 pad_to_aspect_ratio: bool = False, fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _size(self, "height", height), _size(self, "width", width)
        if interpolation in ("lanczos3", "lanczos5"):
            raise ValueError(f"{_label(self)}: Lanczos interpolation is not supported (nor by Keras's torch "
                             f"backend). Received: interpolation={interpolation!r}. Use 'bicubic' or 'bilinear'.")
        self.interpolation = _choice(self, "interpolation", interpolation, _RESIZE_INTERPOLATIONS)
        self.fill_mode = _choice(self, "fill_mode", fill_mode, ("constant",))
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"{_label(self)}: only one of `pad_to_aspect_ratio` and `crop_to_aspect_ratio` can be "
                             "True. Received both True.")
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.fill_value = fill_value
        self.antialias = bool(antialias)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_rank(inputs.shape)
        return _resize(inputs, (self.height, self.width), self.data_format, interpolation=self.interpolation,
                       antialias=self.antialias, crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                       pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
                       fill_value=self.fill_value)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self._with_size(input_shape, self.height, self.width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class _CroppingLayer(_ImageLayer):
    """A fixed output ``(height, width)``; the central window, resized when the image is smaller."""

    def __init__(self, height: int, width: int, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _size(self, "height", height), _size(self, "width", width)

    def _window(self, images: torch.Tensor, top: int, left: int) -> torch.Tensor:
        h_axis, w_axis = self._spatial_axes
        return images.narrow(h_axis, top, self.height).narrow(w_axis, left, self.width)

    def _center_crop(self, images: torch.Tensor) -> torch.Tensor:
        """The central window; for a smaller image, Keras's ``smart_resize`` (the largest central
        window of the target aspect ratio, resized)."""
        height, width = self._image_size(images.shape)
        if height >= self.height and width >= self.width:
            return self._window(images, (height - self.height) // 2, (width - self.width) // 2)
        return _resize(images, (self.height, self.width), self.data_format, crop_to_aspect_ratio=True)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self._with_size(input_shape, self.height, self.width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width}


class CenterCrop(_CroppingLayer):
    """Crops the central ``(height, width)`` window of images; an image smaller than that is
    resized (its largest central window of the target aspect ratio, bilinear). Outputs are floats
    in the layer's dtype."""

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_rank(inputs.shape)
        return self._center_crop(self._as_float(inputs))


# ============================================================================ random layers
class RandomFlip(_RandomImageLayer):
    """Flips each image with probability 1/2 during training.

    ``mode``: ``"horizontal"`` (left-right), ``"vertical"`` (top-bottom) or
    ``"horizontal_and_vertical"`` (default: as Keras, one draw per image flips both axes at
    once, a 180 degree turn). An unknown mode raises ``ValueError`` (Keras silently does nothing).
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: Any = None, data_format: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = _choice(self, "mode", mode, _FLIP_MODES)

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        images = self._as_float(images)
        flips = self._draw_per_image(images, 0.0, 1.0) <= 0.5
        h_axis, w_axis = self._spatial_axes
        axes = {"horizontal": (w_axis,), "vertical": (h_axis,), "horizontal_and_vertical": (h_axis, w_axis)}
        return torch.where(flips, images.flip(axes[self.mode]), images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


class RandomRotation(_AffineLayer):
    """Rotates each image about its center by a random angle during training.

    ``factor``: a fraction of a full turn: ``f`` draws angles in ``[-f * 360, f * 360]`` degrees,
    ``(lo, hi)`` in ``[lo * 360, hi * 360]`` (positive is counter-clockwise). ``fill_mode``
    (``"reflect"``, ``"wrap"``, ``"constant"``, ``"nearest"``), ``interpolation`` (``"bilinear"``,
    ``"nearest"``) and ``fill_value`` say how pixels are read, as in ``ops.image.affine_transform``.
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear", seed: Any = None,
                 fill_value: float = 0.0, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.factor = _factor_range(self, "factor", factor or 0.0, -1, 1)

    def _coefficients(self, images: torch.Tensor, height: int, width: int) -> list[torch.Tensor]:
        lower, upper = self.factor
        degrees = self._uniform(self._per_image(images), lower * 360.0, upper * 360.0, images.device)
        radians = degrees * (math.pi / 180.0)
        cos, sin = torch.cos(radians), torch.sin(radians)
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
        return [cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_AffineLayer):
    """Zooms each image about its center by a random amount during training.

    ``height_factor``: ``f`` or ``(lo, hi)`` in ``(-1, 1]``: the image is read over ``1 + z`` times
    its height, ``z`` drawn from ``[-f, f]`` (or ``[lo, hi]``): positive values zoom out, negative
    zoom in. ``width_factor``: the same for the width; None (default) keeps the aspect ratio (the
    height's draw). ``fill_mode``, ``interpolation``, ``fill_value``: as ``RandomRotation``.
    """

    def __init__(self, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: Any = None, fill_value: float = 0.0, data_format: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = _symmetric_range(self, "height_factor", height_factor, True)
        if width_factor is not None:
            self.width_lower, self.width_upper = _symmetric_range(self, "width_factor", width_factor, True)

    def _coefficients(self, images: torch.Tensor, height: int, width: int) -> list[torch.Tensor]:
        shape, dev = self._per_image(images), images.device
        zoom_y = self._uniform(shape, 1.0 + self.height_lower, 1.0 + self.height_upper, dev)
        zoom_x = zoom_y if self.width_factor is None else self._uniform(
            shape, 1.0 + self.width_lower, 1.0 + self.width_upper, dev)
        zero = torch.zeros_like(zoom_y)
        return [zoom_x, zero, (width - 1.0) / 2.0 * (1.0 - zoom_x), zero, zoom_y, (height - 1.0) / 2.0 * (1.0 - zoom_y)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomTranslation(_AffineLayer):
    """Shifts each image by a random offset during training.

    ``height_factor`` / ``width_factor``: ``f`` or ``(lo, hi)`` in ``[-1, 1]``, fractions of the
    height / width: the shift is drawn from ``[-f, f]`` (or ``[lo, hi]``) times the size;
    positive moves the content down / right. ``fill_mode``, ``interpolation``, ``fill_value``: as
    ``RandomRotation``.
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: Any = None, fill_value: float = 0.0, data_format: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = _symmetric_range(self, "height_factor", height_factor, False)
        self.width_lower, self.width_upper = _symmetric_range(self, "width_factor", width_factor, False)

    def _coefficients(self, images: torch.Tensor, height: int, width: int) -> list[torch.Tensor]:
        shape, dev = self._per_image(images), images.device
        shift_y = self._uniform(shape, self.height_lower, self.height_upper, dev) * height
        shift_x = self._uniform(shape, self.width_lower, self.width_upper, dev) * width
        one, zero = torch.ones_like(shift_y), torch.zeros_like(shift_y)
        return [one, zero, -shift_x, zero, one, -shift_y]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomCrop(_RandomImageLayer, _CroppingLayer):
    """Crops a random ``(height, width)`` window during training: one window position for the
    whole batch (as Keras). An image not larger than the target on both sides gets Keras's
    central window instead, resized if it falls short. Training outputs are floats.

    At inference the input is returned unchanged, as Keras 3.15.1 does (its docstring promises a
    central crop, its code passes the images through): the output shape then differs from the
    training one, so a model must accept both sizes (e.g. global pooling after the crop).

    ``seed``: as in Keras, None draws a seed (from Python's ``random``) and the config records it.
    """

    def __init__(self, height: int, width: int, seed: Any = None, data_format: Any = None, name: str | None = None,
                 **kwargs: Any) -> None:
        seed = seed if seed is not None else _pyrandom.randint(1, int(1e9))
        super().__init__(height=height, width=width, seed=seed, data_format=data_format, name=name, **kwargs)

    def _inference(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        images = self._as_float(images)
        height, width = self._image_size(images.shape)
        if height > self.height and width > self.width:
            u = irandom.uniform((2,), seed=self.generator)  # on the host: the offsets become Python ints
            top = min(int(u[0] * (height - self.height + 1)), height - self.height)
            left = min(int(u[1] * (width - self.width + 1)), width - self.width)
            return self._window(images, top, left)
        # Keras's fallback: start where the central window of the target aspect ratio starts
        crop_h = max(min(height, int(float(width * self.height) / self.width)), 1)
        crop_w = max(min(width, int(float(height * self.width) / self.height)), 1)
        top, left = int(float(height - crop_h) / 2), int(float(width - crop_w) / 2)
        h_axis, w_axis = self._spatial_axes
        window = images.narrow(h_axis, top, min(self.height, height - top))
        window = window.narrow(w_axis, left, min(self.width, width - left))
        if self._image_size(window.shape) != (self.height, self.width):
            window = _resize(window, (self.height, self.width), self.data_format)
        return window


class RandomContrast(_RandomImageLayer):
    """Scales each image's contrast by a random factor during training: per channel,
    ``(x - mean) * c + mean`` (the mean over the image's pixels), clipped to ``value_range``.

    ``factor``: as in Keras 3.15.1's code, a number ``f`` in [0, 1] draws ``c`` from
    ``[1, 1 + f]`` (its docstring says ``[1 - f, 1 + f]``), and a pair ``(lo, hi)`` from
    ``[1 - lo, 1 + hi]``. ``value_range``: the images' ``(low, high)``, default ``(0, 255)``.
    At inference the input is returned unchanged (any dtype); in training the output is float.
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: Any = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.factor = _factor_range(self, "factor", factor or 0.0, 0, 1)
        bounds = _value_range(self, value_range)
        if bounds[0] > bounds[1]:
            raise ValueError(f"{_label(self)}: `value_range` must be (low, high) with low <= high. Received: "
                             f"value_range={value_range!r}")
        self.value_range = value_range

    def _inference(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        images = self._as_float(images)
        lower, upper = self.factor
        contrast = self._draw_per_image(images, 1.0 - lower, 1.0 + upper)
        h_axis, w_axis = self._spatial_axes
        mean = images.mean(dim=h_axis, keepdim=True).mean(dim=w_axis, keepdim=True)
        out = (images - mean) * contrast + mean
        return torch.clamp(out, min=self.value_range[0], max=self.value_range[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomBrightness(_RandomImageLayer):
    """Adds a random brightness offset to each image during training, clipped to ``value_range``.

    ``factor``: ``f`` or ``(lo, hi)`` in [-1, 1]: the offset is drawn from ``[-f, f]`` (or
    ``[lo, hi]``) times ``high - low`` of ``value_range`` (default ``[0, 255]``): -1 makes the
    image black, 1 white. The input dtype is kept; integer images get the offset truncated toward
    zero (as Keras's cast), computed without wrapping around.
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: Any = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.factor = _factor_range(self, "factor", factor or 0.0, -1, 1)
        self.value_range = sorted(_value_range(self, value_range))

    def _inference(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        low, high = self.value_range
        lower, upper = self.factor
        delta = self._draw_per_image(images, lower, upper) * (high - low)
        if images.is_floating_point():
            return torch.clamp(images + delta.to(images.dtype), min=low, max=high)
        shifted = images.long() + torch.trunc(delta).long()
        return torch.clamp(shifted, min=math.ceil(low), max=math.floor(high)).to(images.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


for _cls in (Resizing, CenterCrop, RandomFlip, RandomRotation, RandomZoom, RandomCrop, RandomTranslation,
             RandomContrast, RandomBrightness):
    register_layer(_cls)
