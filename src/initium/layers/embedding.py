"""Embedding: a lookup table from integer ids to dense vectors."""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from initium import constraints, initializers, regularizers
from initium.layers.layer import Layer
from initium.layers.serialization import register_layer

__all__ = ["Embedding"]

_INDEX_DTYPES = (torch.int32, torch.int64)


def _positive_dim(layer: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"`{arg}` must be a positive integer. Received: {arg}={value} (of type {type(value).__name__}). "
            f"({layer})"
        )
    return value


class Embedding(Layer):
    """Turns integer ids ``i`` in ``[0, input_dim)`` into the rows ``embeddings[i]``: an input
    of shape ``(batch, ...)`` gives ``(batch, ..., output_dim)``.

    The table ``embeddings`` has shape ``(input_dim, output_dim)`` and is drawn by
    ``embeddings_initializer`` (default ``'uniform'`` = ``RandomUniform(-0.05, 0.05)``: variance
    0.1**2 / 12 ~ 8.3e-4, independent of the table's size).

    Args:
        input_dim: positive int, the vocabulary size (largest id + 1).
        output_dim: positive int, the vector size.
        embeddings_initializer, embeddings_regularizer, embeddings_constraint: for the table.
        mask_zero: if True, id 0 is padding: the output carries ``_keras_mask = inputs != 0``
            for mask-aware layers downstream (so id 0 cannot be a real token: size the vocabulary
            ``input_dim = vocabulary + 1``).
        weights: optional initial table, an ``(input_dim, output_dim)`` array (or a list holding
            one); the layer is then built at once.
        lora_rank, lora_alpha, quantization_config: Keras's LoRA / quantization, not supported:
            must be None.

    Inputs: int32 and int64 ids are used as they are (never through a float); other dtypes are
    cast to int32, as Keras does. Ids are not range-checked on the way in (that would cost a
    host sync every call): on the CPU an id outside ``[0, input_dim)`` raises an IndexError
    naming the layer and the offending range; on CUDA it triggers torch's device-side assert.
    Negative ids are errors too (they do not count from the end).
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None, mask_zero: bool = False,
                 weights: Any = None, lora_rank: Any = None, lora_alpha: Any = None,
                 quantization_config: Any = None, **kwargs: Any) -> None:
        input_length = kwargs.pop("input_length", None)
        if input_length is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
        super().__init__(**kwargs)
        where = f"in Embedding '{self.name}'"
        self.input_dim = _positive_dim(where, "input_dim", input_dim)
        self.output_dim = _positive_dim(where, "output_dim", output_dim)
        if lora_rank is not None or lora_alpha is not None or quantization_config is not None:
            raise ValueError(
                f"Embedding '{self.name}': LoRA and quantization are not supported by initium. Received: "
                f"lora_rank={lora_rank!r}, lora_alpha={lora_alpha!r}, quantization_config={quantization_config!r}; "
                "all three must be None."
            )
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = bool(mask_zero)
        self.lora_rank = None
        self.lora_alpha = None
        self.quantization_config = None
        self.embeddings = None
        if weights is not None:
            self.build()
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape: Any = None) -> None:
        self.embeddings = self.add_weight(name="embeddings", shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        ids = inputs if inputs.dtype in _INDEX_DTYPES else inputs.to(torch.int32)
        try:
            return F.embedding(ids, self.embeddings)
        except IndexError as err:  # CPU only; the check runs on the error path, never per call
            lo, hi = int(ids.min()), int(ids.max())
            raise IndexError(
                f"Embedding '{self.name}': ids must lie in [0, input_dim) = [0, {self.input_dim}), but the "
                f"input holds ids in [{lo}, {hi}]. Raise input_dim to the vocabulary size (largest id + 1), "
                "or map unknown ids to a reserved one."
            ) from err

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return inputs != 0

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "quantization_config": None,
        })
        return config


register_layer(Embedding)
