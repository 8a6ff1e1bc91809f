"""Image files and arrays: ``array_to_img``, ``img_to_array``, ``load_img``, ``save_img`` (Keras's, on
Pillow).

Pillow is the image library Keras uses for these; it is imported on first use (it comes with
matplotlib, one of initium's dependencies). Arrays follow ``data_format`` (``None`` means
``initium.config.image_data_format()``): ``(height, width, channels)`` for ``"channels_last"``,
``(channels, height, width)`` for ``"channels_first"``.
"""

from __future__ import annotations

import io
import os
import pathlib
import warnings
from typing import Any

import numpy as np

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img"]

_RESAMPLING = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil() -> Any:
    """``PIL.Image``, or the ``ImportError`` Keras raises without it."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("Could not import PIL.Image. The image utilities of initium.utils require Pillow "
                          "(pip install pillow).") from e
    return Image


def _standardize_data_format(data_format: Any) -> str:
    if data_format is None:
        from initium.backend import image_data_format

        return image_data_format()
    fmt = str(data_format).lower()
    if fmt not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
                         f"Received: data_format={data_format}")
    return fmt


def _default_dtype(dtype: Any) -> Any:
    if dtype is not None:
        return dtype
    from initium.backend import floatx

    return floatx()


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True, dtype: Any = None) -> Any:
    """A 3-D array as a ``PIL.Image``: 3 channels give RGB, 4 RGBA, 1 ``"L"`` (or 32-bit ``"I"`` when
    a value exceeds 255).

    ``scale`` maps the array's range ``[min, max]`` onto ``[0, 255]`` first; without it, values are
    cast to uint8 as they are.
    """
    data_format = _standardize_data_format(data_format)
    image = _pil()
    x = np.asarray(x, dtype=_default_dtype(dtype))
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x /= x_max
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image.fromarray(x.astype("uint8"), "RGBA" if channels == 4 else "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return image.fromarray(x[:, :, 0].astype("int32"), "I")
        return image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """A ``PIL.Image`` (or any array-like image) as a 3-D numpy array of ``dtype`` (floatx by default);
    a grayscale image gets a channel axis of 1."""
    data_format = _standardize_data_format(data_format)
    x = np.asarray(img, dtype=_default_dtype(dtype))
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x
    if x.ndim == 2:
        return x.reshape((1, *x.shape)) if data_format == "channels_first" else x.reshape((*x.shape, 1))
    raise ValueError(f"Unsupported image shape: {x.shape}")


def save_img(path: Any, x: Any, data_format: str | None = None, file_format: str | None = None, scale: bool = True,
             **kwargs: Any) -> None:
    """Write an image array to ``path`` (a path or a file object); the format comes from
    ``file_format`` or the path's extension. An RGBA image saved as JPEG is converted to RGB with a
    warning (JPEG has no alpha). Extra keyword arguments go to ``PIL.Image.save``."""
    data_format = _standardize_data_format(data_format)
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.", stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format or None, **kwargs)


def _convert_mode(img: Any, color_mode: str) -> Any:
    """``img`` in ``color_mode``'s Pillow mode (16-bit and 32-bit grayscale stay as they are)."""
    if color_mode == "grayscale":
        return img if img.mode in ("L", "I;16", "I") else img.convert("L")
    if color_mode == "rgba":
        return img if img.mode == "RGBA" else img.convert("RGBA")
    if color_mode == "rgb":
        return img if img.mode == "RGB" else img.convert("RGB")
    raise ValueError(f'color_mode must be "grayscale", "rgb", or "rgba". Received: color_mode={color_mode!r}')


def load_img(path: Any, color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Any:
    """Load an image file as a ``PIL.Image`` in ``color_mode`` (``"rgb"``, ``"rgba"`` or
    ``"grayscale"``), resized to ``target_size = (height, width)`` with Pillow's ``interpolation``
    (``"nearest"``, ``"bilinear"``, ``"bicubic"``, ``"hamming"``, ``"box"``, ``"lanczos"``).
    ``keep_aspect_ratio`` resizes the largest centred crop that has the target's aspect ratio.

    ``path`` is a path (``str``, ``bytes`` or ``pathlib.Path``) or an ``io.BytesIO``.
    """
    image = _pil()
    if isinstance(path, io.BytesIO):
        img = image.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str)):
        with open(os.fspath(path.resolve() if isinstance(path, pathlib.Path) else path), "rb") as f:
            img = image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    img = _convert_mode(img, color_mode)
    if target_size is None:
        return img
    size = (target_size[1], target_size[0])  # Pillow's (width, height)
    if img.size == size:
        return img
    if interpolation not in _RESAMPLING:
        raise ValueError(f"Invalid interpolation method {interpolation} specified. Supported methods are "
                         f"{', '.join(_RESAMPLING)}")
    resample = getattr(getattr(image, "Resampling", image), interpolation.upper())
    if not keep_aspect_ratio:
        return img.resize(size, resample)
    width, height = img.size
    crop_h = min(height, (width * size[1]) // size[0])
    crop_w = min(width, (height * size[0]) // size[1])
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return img.resize(size, resample, box=[left, top, left + crop_w, top + crop_h])
