"""Models: ``Model`` (functional and subclassed), ``Sequential``, and JSON round trips."""

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
    from initium.layers.serialization import deserialize, parse_config_json

    if not isinstance(json_string, (str, bytes, bytearray)):
        raise TypeError(f"model_from_json expects a JSON string. Received: {type(json_string).__name__}")
    return deserialize(parse_config_json(json_string, "model_from_json: the string"), custom_objects=custom_objects)


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
