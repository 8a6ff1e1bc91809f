"""Models: ``Model`` (functional and subclassed), ``Sequential``, and JSON round trips."""

import json
from typing import Any

from initium.models.functional import Functional
from initium.models.model import Model
from initium.models.sequential import Sequential
from initium.layers.serialization import register_layer as _register

_register(Sequential)
_register(Functional)
_register(Model)


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Model:
    """Rebuild a model's architecture from ``model.to_json()`` (initium's or Keras's). No weights."""
    from initium.layers.serialization import deserialize

    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ValueError(f"model_from_json: not valid JSON ({e}).") from None
    return deserialize(config, custom_objects=custom_objects)


def clone_model(model: Model) -> Model:
    """A new model with the same architecture and freshly initialized weights."""
    from initium.layers.serialization import deserialize, serialize

    return deserialize(serialize(model))


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Model:
    """Load a Keras 3 ``.keras`` archive (written by Keras or initium). Never runs code from the file."""
    from initium.saving.keras_format import load_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model: Model, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
    """``model.save(filepath)``."""
    model.save(filepath, overwrite=overwrite, **kwargs)


__all__ = ["Model", "Sequential", "Functional", "model_from_json", "clone_model", "load_model", "save_model"]
