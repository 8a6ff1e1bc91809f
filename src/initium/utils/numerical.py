"""Label and vector helpers of ``keras.utils``: ``to_categorical`` and ``normalize``."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["to_categorical", "normalize"]


def to_categorical(x: Any, num_classes: int | None = None) -> Any:
    """One-hot encode integer class labels: shape ``(n,)`` -> ``(n, num_classes)``.

    As in Keras, a numpy/list input gives a float64 numpy array, a tensor gives a float tensor
    (floatx); a trailing axis of size 1 is dropped first (``(n, 1)`` labels give
    ``(n, num_classes)``), and ``num_classes=None`` means ``max(x) + 1``. Unlike Keras, labels that
    are not whole numbers or are negative raise ``ValueError`` (Keras truncates them, or counts a
    negative label from the end).

    >>> to_categorical([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    import torch

    tensor = isinstance(x, torch.Tensor)
    arr = x.detach().cpu().numpy() if tensor else np.asarray(x)
    if arr.ndim > 1 and arr.shape[-1] == 1:
        arr = arr.reshape(arr.shape[:-1])
    if arr.size and (arr.dtype.kind not in "iu" and not np.all(np.equal(np.mod(arr, 1), 0))):
        raise ValueError(f"to_categorical: labels must be integers. Received dtype {arr.dtype}.")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0. Received a minimum of {arr.min()}.")
    top = int(arr.max()) + 1 if arr.size else 0
    if not num_classes:
        num_classes = top
    elif top > num_classes:
        raise ValueError(f"to_categorical: label {top - 1} does not fit num_classes={num_classes}.")
    out = np.zeros(arr.shape + (int(num_classes),))
    np.put_along_axis(out, arr[..., None], 1.0, axis=-1)
    if not tensor:
        return out
    from initium.backend import floatx, torch_dtype

    return torch.from_numpy(out).to(device=x.device, dtype=torch_dtype(floatx()))


def normalize(x: Any, axis: int = -1, order: Any = 2) -> Any:
    """``x`` divided by its ``order``-norm along ``axis`` (a zero norm divides by 1).

    A numpy array gives a numpy array (``order`` is any ``np.linalg.norm`` vector order: 1, 2,
    ``np.inf``, ...); a tensor gives a tensor (``initium.ops.nn.normalize``, ``order`` an int >= 1).

    As in Keras, a 1-D array comes back with a leading axis of 1 (``[3., 4.]`` gives
    ``[[0.6, 0.8]]``). Unlike Keras 3.15.1, ``axis=0`` normalizes the columns (Keras expands the
    norms at the last axis, so it divides row ``i`` by the norm of column ``i``).
    """
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"normalize: `axis` must be an integer. Received: axis={axis!r}")
    if not isinstance(x, np.ndarray):
        from initium.ops import nn

        return nn.normalize(x, axis=int(axis), order=order)
    norm = np.atleast_1d(np.linalg.norm(x, order, int(axis), keepdims=True))
    norm[norm == 0] = 1
    out = x / norm
    return out[None] if x.ndim == 1 else out
