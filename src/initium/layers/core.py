"""Core layers: InputLayer / Input, Dense, Activation."""

from __future__ import annotations

from typing import Any

import torch

from initium import activations, backend, constraints, initializers, regularizers
from initium.layers.layer import InputSpec, Layer
from initium.layers.symbolic import KerasTensor

__all__ = ["InputLayer", "Input", "Dense", "Activation", "positive_int"]


def positive_int(layer: str, arg: str, value: Any) -> int:
    """Validate a positive integer argument with Keras's message, naming the layer."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        if isinstance(value, float) and value.is_integer() and value > 0:
            return int(value)
        raise ValueError(
            f"Received an invalid value for `{arg}`, expected a positive integer. Received: {arg}={value!r}"
            f" (in {layer})."
        )
    return value


def _shape_arg(shape: Any) -> tuple:
    if shape is None:
        raise ValueError("You must pass a `shape` argument.")
    if isinstance(shape, int) and not isinstance(shape, bool):
        raise ValueError(f"Cannot convert '{shape}' to a shape. Pass a tuple: shape=({shape},).")
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"Cannot convert '{shape!r}' to a shape. Pass a tuple such as (28, 28, 1).") from None
    for d in dims:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0):
            raise ValueError(f"Cannot convert '{shape!r}' to a shape: {d!r} is not a non-negative int or None.")
    return dims


class InputLayer(Layer):
    """The entry point of a model: holds the input shape (batch dimension first, may be None)."""

    def __init__(self, shape: Any = None, batch_size: int | None = None, dtype: Any = None, sparse: Any = None,
                 ragged: Any = None, batch_shape: Any = None, input_tensor: Any = None, optional: bool = False,
                 name: str | None = None, **kwargs: Any) -> None:
        if sparse or ragged:
            raise ValueError("Sparse and ragged inputs are not supported by initium.")
        if input_tensor is not None:
            raise ValueError("InputLayer(input_tensor=...) is not supported; pass shape= instead.")
        kwargs.pop("input_shape", None) if shape is not None else None
        if shape is None and kwargs.get("input_shape") is not None:
            shape = kwargs.pop("input_shape")
        if batch_shape is None:
            batch_shape = (batch_size, *_shape_arg(shape))
        elif shape is not None:
            raise ValueError("Pass either `shape` or `batch_shape` to InputLayer, not both.")
        else:
            batch_shape = _shape_arg(batch_shape)
        super().__init__(name=name or backend.unique_name("input_layer"), dtype=dtype, **kwargs)
        self.batch_shape = tuple(batch_shape)
        self.optional = optional
        self.built = True
        self._output = KerasTensor(self.batch_shape, dtype=self.dtype, name=self.name, history=None)
        from initium.layers.symbolic import Node

        node = Node(self, (), {}, self._output)
        self._inbound_nodes.append(node)
        self._output._keras_history = (self, 0, 0)

    @property
    def input(self) -> KerasTensor:
        """The symbolic tensor this layer holds (an InputLayer's input is its output, as in Keras)."""
        return self._output

    @property
    def output(self) -> KerasTensor:
        return self._output

    def call(self, inputs: Any) -> Any:
        return inputs

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "sparse": False, "ragged": False,
                "name": self.name, "optional": self.optional}


def Input(shape: Any = None, batch_size: int | None = None, dtype: Any = None, sparse: Any = None,
          batch_shape: Any = None, name: str | None = None, tensor: Any = None, optional: bool = False,
          ragged: Any = None) -> KerasTensor:
    """A symbolic input of ``shape`` (without the batch dimension): the start of a model.

    >>> x = Input(shape=(28, 28, 1))
    >>> x.shape
    (None, 28, 28, 1)
    """
    if tensor is not None:
        raise ValueError("Input(tensor=...) is not supported; pass shape= instead.")
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, ragged=ragged,
                       batch_shape=batch_shape, name=name, optional=optional)
    return layer.output


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis; any input rank >= 2.

    The kernel has shape ``(in, units)`` and is drawn by ``kernel_initializer`` (default
    ``glorot_uniform``: U(±sqrt(6 / (in + units))), variance 2 / (in + units)); the bias has shape
    ``(units,)`` and is drawn by ``bias_initializer`` (default zeros).

    Args:
        units: positive int, the output size.
        activation: name or callable (default: none, i.e. linear).
        use_bias: whether to add a bias (default True).
        kernel_initializer, bias_initializer: any initializer identifier.
        kernel_regularizer, bias_regularizer, activity_regularizer: regularizers.
        kernel_constraint, bias_constraint: constraints.
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, lora_rank: Any = None,
                 lora_alpha: Any = None, quantization_config: Any = None, **kwargs: Any) -> None:
        if lora_rank is not None or quantization_config is not None:
            raise ValueError("Dense: LoRA and quantization are not supported by initium (lora_rank and "
                             "quantization_config must be None).")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True  # as Keras: a mask passes through (e.g. a transformer's feed-forward)
        self.units = positive_int(f"Dense '{self.name}'", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2, hint="Dense needs (batch, ..., features).")
        self.kernel = None
        self.bias = None

    def build(self, input_shape: Any) -> None:
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"Dense '{self.name}': the last axis of the input must be known. Received shape {input_shape}.")
        self.kernel = self.add_weight(name="kernel", shape=(in_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.bias is not None:
            if inputs.ndim == 2:
                out = torch.addmm(self.bias, inputs, self.kernel)
            else:
                out = torch.matmul(inputs, self.kernel) + self.bias
        else:
            out = torch.matmul(inputs, self.kernel)
        return self.activation(out)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": None,
        })
        return config


class Activation(Layer):
    """Applies an activation function: ``Activation('relu')``."""

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config
