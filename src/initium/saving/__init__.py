"""Saving and loading: Keras 3 ``.keras`` archives and ``.weights.h5`` files, and the name registry.

The registry itself lives in the leaf module ``initium.registry`` (re-exported here under Keras's
names), and ``serialize_keras_object``/``deserialize_keras_object`` in ``initium.utils``; the file
format (``initium.saving.keras_format``) sits above the models and is imported on first use, so
importing this package stays light and below nothing.
"""

from __future__ import annotations

from typing import Any

from initium.registry import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from initium.utils.serialization import deserialize_keras_object, serialize_keras_object

__all__ = [
    "register_keras_serializable",
    "get_registered_name",
    "get_registered_object",
    "custom_object_scope",
    "CustomObjectScope",
    "get_custom_objects",
    "serialize_keras_object",
    "deserialize_keras_object",
    "load_model",
    "save_model",
    "load_weights",
    "save_weights",
]


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Load a Keras 3 ``.keras`` archive (see ``initium.saving.keras_format``)."""
    from initium.saving.keras_format import load_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model: Any, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
    """``model.save(filepath)``: a Keras 3 ``.keras`` archive, written atomically."""
    from initium.saving.keras_format import save_model as _save

    _save(model, filepath, overwrite=overwrite, **kwargs)


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False) -> None:
    from initium.saving.keras_format import load_weights as _load

    _load(model, filepath, skip_mismatch=skip_mismatch)


def save_weights(model: Any, filepath: Any, overwrite: bool = True) -> None:
    from initium.saving.keras_format import save_weights as _save

    _save(model, filepath, overwrite=overwrite)
