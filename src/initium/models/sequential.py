"""``Sequential``: a plain stack of layers, each feeding the next."""

from __future__ import annotations

import inspect
from typing import Any

import torch

from initium import backend
from initium.layers.core import InputLayer
from initium.layers.layer import Layer
from initium.layers.symbolic import KerasTensor
from initium.models.model import Model

__all__ = ["Sequential"]


def _not_a_layer(obj: Any) -> ValueError:
    hint = ""
    if inspect.isclass(obj) and issubclass(obj, Layer):
        hint = f" It is the class {obj.__name__}: instantiate it, e.g. {obj.__name__}(...)."
    elif isinstance(obj, str):
        hint = " Strings are not layers: write e.g. Dense(10) or Activation('relu')."
    elif callable(obj):
        hint = " Wrap a function in a Layer subclass (its call() gets tensors) or use Activation(fn)."
    return ValueError(
        "Only instances of `keras.Layer` can be added to a Sequential model. "
        f"Received: {obj!r} (of type {type(obj)}).{hint}"
    )


class Sequential(Model):
    """A stack of layers. ``Sequential([Input((3,)), Dense(4), Dense(2)])``.

    The model is built as soon as its input shape is known (an ``Input`` first, or
    ``input_shape=`` on the first layer); otherwise on the first call or ``build(shape)``.
    """

    def __init__(self, layers: Any = None, trainable: bool = True, name: str | None = None, **kwargs: Any) -> None:
        if layers is not None and not isinstance(layers, (list, tuple)):
            what = type(layers).__name__
            raise TypeError(
                f"Sequential expects a list of layers, but received a single {what}. Pass the layers "
                f"inside square brackets: Sequential([{what}(...), ...])."
            )
        if not isinstance(trainable, bool):
            raise TypeError(
                f"Sequential received {type(trainable).__name__} as its second argument (`trainable`). "
                "Pass all layers as one list: Sequential([layer1, layer2, ...])."
            )
        super().__init__(trainable=trainable, name=name, **kwargs)
        self._stack = torch.nn.ModuleList()  # indexed: state_dict keys do not depend on auto-names
        self._input_layer: InputLayer | None = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    # ------------------------------------------------------------------ editing
    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append ``layer`` (an ``Input(...)`` may come first)."""
        if isinstance(layer, KerasTensor):
            origin = layer._keras_history[0] if layer._keras_history else None
            if not isinstance(origin, InputLayer):
                raise ValueError("Only the output of keras.Input(...) can be added to a Sequential model, "
                                 f"not another symbolic tensor. Received: {layer!r}")
            layer = origin
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or len(self._stack):
                raise ValueError(f"Sequential '{self.name}': an Input can only be the first element.")
            self._input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise _not_a_layer(layer)
        if any(l.name == layer.name for l in self._stack):
            raise ValueError(
                f"All layers added to a Sequential model should have unique names. Name '{layer.name}' is "
                f"already the name of a layer in this model ('{self.name}'). Give it name=..."
            )
        if not len(self._stack) and self._input_layer is None and layer._batch_input_shape is not None:
            self._input_layer = InputLayer(batch_shape=layer._batch_input_shape, dtype=layer.dtype)
        self._stack.append(layer)
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not len(self._stack):
            raise IndexError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._stack[-1]
        del self._stack[-1]
        if rebuild:
            self._maybe_rebuild()
        return layer

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    # ------------------------------------------------------------------ build and call
    def _maybe_rebuild(self) -> None:
        if self._input_layer is not None and len(self._stack):
            self.built = False
            self._maybe_build(self._input_layer.batch_shape)

    def build(self, input_shape: Any = None) -> None:
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError(f"Sequential '{self.name}': pass an input shape to build(), e.g. build((None, 3)).")
            input_shape = self._input_layer.batch_shape
        if self._input_layer is None:
            self._input_layer = InputLayer(batch_shape=(None, *tuple(input_shape)[1:]))
        x = KerasTensor((None, *tuple(input_shape)[1:]), dtype=self._input_layer.dtype)
        self._outputs_spec = []
        for layer in self._stack:  # build() already runs inside this model's name scope
            x = layer(x)
            self._outputs_spec.append(x)
        self._build_input_shape = tuple(self._input_layer.batch_shape)

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        x = inputs
        for layer in self._stack:
            x = layer(x)
        return x

    @property
    def input_shape(self) -> tuple:
        if self._input_layer is None:
            raise AttributeError(f"Sequential '{self.name}' has no input shape yet: it is not built.")
        return tuple(self._input_layer.batch_shape)

    @property
    def output_shape(self) -> tuple:
        if not self.built or not getattr(self, "_outputs_spec", None):
            raise AttributeError(f"Sequential '{self.name}' has no output shape yet: it is not built.")
        return self._outputs_spec[-1].shape

    @property
    def inputs(self) -> list[KerasTensor]:
        if self._input_layer is None:
            raise AttributeError(f"Sequential '{self.name}' has no inputs yet: it is not built.")
        return [self._input_layer.output]

    @property
    def outputs(self) -> list[KerasTensor]:
        if not getattr(self, "_outputs_spec", None):
            raise AttributeError(f"Sequential '{self.name}' has no outputs yet: it is not built.")
        return [self._outputs_spec[-1]]

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        from initium.layers.serialization import serialize

        config = Layer.get_config(self)
        layers = []
        if self._input_layer is not None:
            layers.append(serialize(self._input_layer))
        layers.extend(serialize(l) for l in self._stack)
        config["layers"] = layers
        config["build_input_shape"] = self._build_input_shape if self.built else None
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Sequential":
        from initium.layers.serialization import check_shape_structure, deserialize

        layer_configs = config.get("layers", [])
        if not isinstance(layer_configs, list):
            raise ValueError(f"A Sequential config's 'layers' must be a list of layer entries. Received: "
                             f"{type(layer_configs).__name__}")
        build_shape = config.get("build_input_shape")
        check_shape_structure(build_shape, "build_input_shape", nested=False)
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for lc in layer_configs:
            model.add(deserialize(lc, custom_objects=custom_objects), rebuild=False)
        if model._input_layer is None and build_shape is not None:
            model._input_layer = InputLayer(batch_shape=tuple(build_shape))
        model._maybe_rebuild()
        return model
