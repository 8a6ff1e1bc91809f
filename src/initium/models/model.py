"""``Model``: a Layer with model-level methods. ``Model(inputs, outputs)`` builds a functional
model; subclass ``Model`` and write ``call`` for a subclassed one; see also ``Sequential``."""

from __future__ import annotations

import json
from typing import Any, Callable

import torch
from torch.utils import _pytree as pytree

from initium.layers.layer import Layer
from initium.layers.symbolic import KerasTensor

__all__ = ["Model"]


class Model(Layer):
    """A model: ``Model(inputs, outputs)`` (functional) or a subclass with ``call`` (subclassed).

    A model is a ``torch.nn.Module``: ``model.to("cuda")``, ``model.parameters()`` and
    ``model.state_dict()`` work as for any module.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "Model":
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from initium.models.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args:
            raise TypeError(
                f"{type(self).__name__}.__init__ takes keyword arguments only (name=, trainable=, dtype=). "
                "For a functional model write Model(inputs, outputs)."
            )
        if "name" not in kwargs or kwargs["name"] is None:
            from initium import backend
            from initium.layers.layer import _snake

            kwargs["name"] = backend.unique_name(_snake(type(self).__name__))
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ layers
    @property
    def layers(self) -> list[Layer]:
        """The model's direct sub-layers (a new list)."""
        return list(self._flatten_layers(recursive=False))

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name``, or at position ``index`` of ``layers``."""
        if (name is None) == (index is None):
            raise ValueError("Provide either a layer name or layer index at `get_layer`: exactly one of them.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has {len(layers)} layers."
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in layers]}.")

    def build(self, input_shape: Any = None) -> None:
        """Build a subclassed model by calling it once on zeros of ``input_shape`` (None -> 1)."""
        if input_shape is None:
            return
        if type(self).call is Model.call:
            raise ValueError(f"Model '{self.name}' has no `call` method to build with.")

        def zeros(shape: Any) -> torch.Tensor:
            return torch.zeros(tuple(1 if d is None else d for d in shape))

        from initium.layers.layer import _is_shape

        x = zeros(input_shape) if _is_shape(input_shape) else pytree.tree_map(zeros, input_shape, is_leaf=_is_shape)
        self.built = True  # so that __call__ does not recurse into build
        with torch.no_grad():
            self.call(x, **({"training": False} if self._accepts()[0] else {}))

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        raise NotImplementedError(
            f"Model '{self.name}' ({type(self).__name__}) has no `call`. Subclasses of Model must implement "
            "call(self, inputs, training=None); or use Model(inputs, outputs) or Sequential([...])."
        )

    # ------------------------------------------------------------------ inspection
    def summary(self, line_length: int | None = None, positions: Any = None, print_fn: Callable | None = None,
                expand_nested: bool = False, show_trainable: bool = False, layer_range: Any = None) -> None:
        """Print a table of layers: name (type), output shape, parameter count, and the kernel and
        bias initializers (initium's addition), then the totals as Keras prints them."""
        from initium.models.summary import print_summary

        print_summary(self, print_fn=print_fn, line_length=line_length, show_trainable=show_trainable)

    # ------------------------------------------------------------------ config and JSON
    def get_config(self) -> dict[str, Any]:
        if type(self).get_config is Model.get_config and type(self).__init__ is not Model.__init__:
            # a subclassed model: Keras also needs the subclass to define get_config
            return super().get_config()
        return super().get_config()

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Model":
        """A functional config (with ``input_layers``) builds a functional model, as in Keras."""
        if cls is Model and "input_layers" in config and "output_layers" in config:
            from initium.models.functional import Functional

            return Functional.from_config(config, custom_objects=custom_objects)
        return super().from_config(config)

    def to_json(self, **kwargs: Any) -> str:
        """The model's architecture as Keras-compatible JSON (no weights)."""
        from initium.layers.serialization import serialize

        return json.dumps(serialize(self), default=_json_default, **kwargs)

    @property
    def inputs(self) -> list[KerasTensor]:
        raise AttributeError(f"Model '{self.name}' has no symbolic inputs (it was not built from Input).")

    @property
    def outputs(self) -> list[KerasTensor]:
        raise AttributeError(f"Model '{self.name}' has no symbolic outputs (it was not built from Input).")


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, tuple):
        return list(o)
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable: {o!r}")
