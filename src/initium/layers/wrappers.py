"""Layers around other layers, and RMS normalization: ``Wrapper``, ``TimeDistributed``, ``Pipeline``,
``RMSNormalization`` (Keras 3.15's behaviour and configs).

- ``TimeDistributed(layer)`` applies one layer to every time step of a ``(batch, time, ...)``
  input: the wrapped layer sees each step as a batch of its own (as Keras runs it, step by step,
  so a BatchNormalization inside normalizes each step's batch), with shared weights.
- ``Pipeline(layers)`` applies preprocessing layers one after another (Keras's
  ``keras.layers.Pipeline``, with its config ``{"layers": [...]}``).
- ``RMSNormalization(axis=-1, epsilon=1e-6)``: ``x * rsqrt(mean(x**2, axis) + epsilon) * scale``,
  ``scale`` starting at ones (its ``axis`` becomes a list once built, as Keras's does).
"""

from __future__ import annotations

from typing import Any

import torch

from initium.layers.layer import Layer
from initium.layers.serialization import deserialize as deserialize_layer
from initium.layers.serialization import register_layer
from initium.layers.serialization import serialize as serialize_layer

__all__ = ["Wrapper", "TimeDistributed", "Pipeline", "RMSNormalization"]


class Wrapper(Layer):
    """Base class of layers that wrap another layer (``self.layer``), whose config holds it."""

    def __init__(self, layer: Any, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `{type(self).__name__}` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape: Any = None) -> None:
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Wrapper":
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects=custom_objects)
        return cls(**config)


class TimeDistributed(Wrapper):
    """Apply ``layer`` to every temporal slice (axis 1) of a ``(batch, time, ...)`` input.

    >>> TimeDistributed(Dense(8))(Input((10, 16))).shape
    (None, 10, 8)
    """

    def __init__(self, layer: Any, **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    @staticmethod
    def _step_shape(input_shape: Any) -> tuple:
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at least 3 dimensions, "
                             f"received: {input_shape}")
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape: Any = None) -> None:
        super().build(self._step_shape(input_shape))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        step = self.layer.compute_output_shape(self._step_shape(input_shape))
        return (step[0], input_shape[1], *step[1:])

    def call(self, inputs: torch.Tensor, training: bool | None = None, mask: Any = None) -> torch.Tensor:
        if mask is not None and (mask.ndim < 2 or tuple(mask.shape[:2]) != tuple(inputs.shape[:2])):
            raise ValueError(f"The `mask` passed to the `TimeDistributed` layer has a shape {tuple(mask.shape)} that "
                             f"is incompatible with the input shape {tuple(inputs.shape)}: its first two dimensions "
                             "(batch size and timesteps) must match the input's.")
        takes_training, takes_mask = self.layer._accepts()
        steps = []
        for t in range(inputs.shape[1]):
            kwargs: dict[str, Any] = {}
            if takes_training:
                kwargs["training"] = training
            if takes_mask and mask is not None:
                kwargs["mask"] = mask[:, t]
            steps.append(self.layer.call(inputs[:, t], **kwargs))
        return torch.stack(steps, dim=1)


class Pipeline(Layer):
    """Apply a list of (preprocessing) layers in sequence: ``Pipeline([Rescaling(1 / 255), RandomFlip()])``."""

    def __init__(self, layers: Any, name: str | None = None) -> None:
        super().__init__(name=name)
        self._pipeline_layers = torch.nn.ModuleList(layers)

    @property
    def layers(self) -> list[Layer]:
        return list(self._pipeline_layers)

    def call(self, inputs: Any, training: bool = True, mask: Any = None) -> Any:
        x = inputs
        for layer in self._pipeline_layers:
            takes_training, _ = layer._accepts()
            x = layer(x, training=training) if takes_training else layer(x)
        return x

    def get_config(self) -> dict[str, Any]:
        return {"layers": [serialize_layer(layer) for layer in self._pipeline_layers], "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Pipeline":
        layers = [deserialize_layer(c, custom_objects=custom_objects) for c in config["layers"]]
        return cls(layers, name=config.get("name"))


class RMSNormalization(Layer):
    """Root-mean-square normalization over ``axis`` (an int or a list), with a learned ``scale``."""

    def __init__(self, axis: Any = -1, epsilon: float = 1e-6, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        whole = (lambda a: isinstance(a, int) and not isinstance(a, bool))
        if not (whole(axis) or isinstance(axis, (list, tuple)) and axis and all(map(whole, axis))):
            raise TypeError(f"RMSNormalization '{self.name}': `axis` must be an int or a list of ints. "
                            f"Received: axis={axis!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon >= 0:
            raise ValueError(f"RMSNormalization '{self.name}': `epsilon` must be a non-negative number, e.g. 1e-6. "
                             f"Received: epsilon={epsilon!r}")
        self.axis = axis
        self.epsilon = epsilon

    def build(self, input_shape: Any = None) -> None:
        self.axis = sorted(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]
        self.scale = self.add_weight(name="scale", shape=tuple(input_shape[d] for d in self.axis), initializer="ones")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        from initium import ops  # not at import time: `import initium` stays light

        return ops.rms_normalization(inputs, scale=self.scale, axis=self.axis, epsilon=self.epsilon)

    def compute_output_shape(self, input_shape: Any) -> Any:
        for axis in self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]:
            if not -len(input_shape) <= axis < len(input_shape):
                raise ValueError(f"Axis {axis} is out of bounds for input shape {input_shape}. Received: "
                                 f"axis={self.axis}")
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


for _cls in (TimeDistributed, Pipeline, RMSNormalization):
    register_layer(_cls)
