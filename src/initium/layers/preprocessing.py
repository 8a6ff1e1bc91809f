"""Preprocessing layers: ``Rescaling``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from initium import backend
from initium.layers.layer import Layer
from initium.layers.serialization import register_layer

__all__ = ["Rescaling"]


def _check_numbers(layer: Layer, arg: str, value: Any) -> Any:
    """Accept a number, a (nested) list/tuple of numbers, a NumPy array or a tensor (kept as NumPy)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = np.asarray(None)
    if arr.dtype.kind not in "iuf" or isinstance(value, (bool, str)) or arr.size == 0:
        raise ValueError(
            f"Rescaling '{layer.name}': `{arg}` must be a number or a list/array of numbers (one per "
            f"channel). Received: {arg}={value!r}"
        )
    return value


def _serialize(value: Any) -> Any:
    """Keras's ``serialize_keras_object`` for the values Rescaling takes."""
    if isinstance(value, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": str(value.dtype)}}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _deserialize(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        cfg = value["config"]
        return np.array(cfg["value"], dtype=cfg.get("dtype"))
    return value


class Rescaling(Layer):
    """``inputs * scale + offset``, computed in the layer's dtype (integer inputs such as uint8
    images are cast to float32 first). ``Rescaling(1 / 255)`` maps pixels to [0, 1];
    ``Rescaling(1 / 127.5, offset=-1)`` to [-1, 1].

    ``scale`` and ``offset`` may be numbers or per-channel lists/arrays, which broadcast against
    the last axis (channels_last). No weights (so no initializers and no variance to state).

    Args:
        scale: number or per-channel sequence.
        offset: number or per-channel sequence (default 0.0).
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = _check_numbers(self, "scale", scale)
        self.offset = _check_numbers(self, "offset", offset)
        self.supports_masking = True
        self._consts: dict[tuple, tuple[Any, Any]] = {}

    def _constants(self, dtype: torch.dtype, device: torch.device) -> tuple[Any, Any]:
        """scale and offset as tensors on the input's device (cached); plain numbers stay numbers."""
        key = (dtype, device)
        got = self._consts.get(key)
        if got is None:
            def conv(v: Any) -> Any:
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    return torch.tensor(float(v), dtype=dtype, device=device)
                return torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=dtype, device=device)

            got = self._consts[key] = (conv(self.scale), conv(self.offset))
        return got

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        dtype = backend.torch_dtype(self.compute_dtype)
        if inputs.dtype != dtype:
            inputs = inputs.to(dtype)
        scale, offset = self._constants(dtype, inputs.device)
        return inputs * scale + offset

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": _serialize(self.scale), "offset": _serialize(self.offset)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Rescaling":
        config = dict(config)
        config["scale"] = _deserialize(config["scale"])
        config["offset"] = _deserialize(config.get("offset", 0.0))
        return cls(**config)


register_layer(Rescaling)
