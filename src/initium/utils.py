"""Keras's ``keras.utils`` names that exist so far."""

from initium.backend import clear_session
from initium.random import set_random_seed
from initium.registry import custom_object_scope, get_registered_name, register_keras_serializable

import numpy as _np


def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels: shape ``(n,)`` -> ``(n, num_classes)`` float32 (Keras)."""
    arr = _np.asarray(x)
    if arr.ndim > 1 and arr.shape[-1] == 1:
        arr = arr.reshape(arr.shape[:-1])
    if arr.size and (arr.dtype.kind not in "iu" and not _np.all(_np.equal(_np.mod(arr, 1), 0))):
        raise ValueError(f"to_categorical: labels must be integers. Received dtype {arr.dtype}.")
    arr = arr.astype(_np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0. Received a minimum of {arr.min()}.")
    top = int(arr.max()) + 1 if arr.size else 0
    if num_classes is None:
        num_classes = top
    elif top > num_classes:
        raise ValueError(f"to_categorical: label {top - 1} does not fit num_classes={num_classes}.")
    out = _np.zeros(arr.shape + (num_classes,), dtype=_np.float32)
    _np.put_along_axis(out, arr[..., None], 1.0, axis=-1)
    return out


__all__ = ["to_categorical", "clear_session", "set_random_seed", "register_keras_serializable", "get_registered_name", "custom_object_scope"]
