"""Dtypes and devices: the only module that knows about either.

Keras names dtypes with strings (``"float32"``); torch with ``torch.dtype`` objects. Everything
public in initium accepts either (and numpy dtypes) and speaks strings back, as Keras does.
The default device is CUDA when it is available, else CPU; ``set_default_device`` overrides it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = [
    "floatx",
    "set_floatx",
    "standardize_dtype",
    "torch_dtype",
    "is_float_dtype",
    "default_device",
    "set_default_device",
    "to_numpy",
    "to_tensor",
    "unique_name",
    "clear_session",
]

_DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "uint8": torch.uint8,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
}
_NAMES: dict[torch.dtype, str] = {v: k for k, v in _DTYPES.items()}
_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "int": "int64"}
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")

_floatx = "float32"
_device: torch.device | None = None


def floatx() -> str:
    """The default float dtype name, ``"float32"`` unless ``set_floatx`` changed it."""
    return _floatx


def set_floatx(value: str) -> None:
    """Set the default float dtype (``"float16"``, ``"bfloat16"``, ``"float32"`` or ``"float64"``)."""
    global _floatx
    name = standardize_dtype(value)
    if name not in FLOAT_DTYPES:
        raise ValueError(
            f"Unknown `floatx` value: {value!r}. Expected one of {list(FLOAT_DTYPES)}."
        )
    _floatx = name


def standardize_dtype(dtype: Any = None) -> str:
    """Return the Keras name of ``dtype`` (a string, ``torch.dtype``, numpy dtype or None)."""
    if dtype is None:
        return _floatx
    if isinstance(dtype, torch.dtype):
        if dtype in _NAMES:
            return _NAMES[dtype]
        raise ValueError(f"Unsupported dtype: {dtype}. Expected one of {sorted(_DTYPES)}.")
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
        if name in _DTYPES:
            return name
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
        if name in _DTYPES:
            return name
    raise ValueError(f"Unsupported dtype: {dtype!r}. Expected one of {sorted(_DTYPES)}.")


def torch_dtype(dtype: Any = None) -> torch.dtype:
    """The ``torch.dtype`` for any dtype spelling accepted by ``standardize_dtype``."""
    return _DTYPES[standardize_dtype(dtype)]


def is_float_dtype(dtype: Any) -> bool:
    return standardize_dtype(dtype) in FLOAT_DTYPES


def default_device() -> torch.device:
    """Where new weights and random tensors live: CUDA when available, else CPU."""
    global _device
    if _device is None:
        _device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return _device


def set_default_device(device: str | torch.device | None) -> None:
    """Pin the default device (``None`` goes back to automatic choice)."""
    global _device
    _device = None if device is None else torch.device(device)


def to_numpy(x: Any) -> np.ndarray:
    """A numpy copy (or view, on CPU) of a tensor, array, list or scalar."""
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.cpu().numpy()
    return np.asarray(x)


def to_tensor(x: Any, dtype: Any = None, device: str | torch.device | None = None) -> torch.Tensor:
    """A tensor on ``device`` (default: ``default_device()``), cast to ``dtype`` when given."""
    target = torch.device(device) if device is not None else default_device()
    tdtype = torch_dtype(dtype) if dtype is not None else None
    if isinstance(x, torch.Tensor):
        return x.to(device=target, dtype=tdtype or x.dtype)
    arr = np.asarray(x)
    if tdtype is None and arr.dtype == np.float64:
        tdtype = torch_dtype(_floatx)
    t = torch.from_numpy(np.ascontiguousarray(arr)) if arr.dtype != object else torch.tensor(x)
    return t.to(device=target, dtype=tdtype or t.dtype)


_name_counts: dict[str, int] = {}


def unique_name(base: str) -> str:
    """``base``, then ``base_1``, ``base_2``, ... (Keras's automatic layer and model names)."""
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def clear_session() -> None:
    """Reset automatic names (``dense``, ``dense_1``, ...), as ``keras.backend.clear_session``."""
    _name_counts.clear()
