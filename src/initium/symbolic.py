"""Symbolic tensors for the functional API: ``Input`` returns a ``KerasTensor``; calling a layer on
KerasTensors records a ``Node`` and returns new KerasTensors, from which ``Model(inputs, outputs)``
reads the graph."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils import _pytree as pytree

from initium import backend

__all__ = ["KerasTensor", "Node", "is_symbolic", "shape_of"]


class KerasTensor:
    """A placeholder with a shape (``None`` for unknown sizes) and a dtype, but no values.

    ``_keras_history`` is ``(layer, node_index, tensor_index)``: which call produced it.
    """

    def __init__(self, shape: tuple, dtype: Any = None, name: str | None = None, history: Any = None) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = backend.standardize_dtype(dtype)
        self.name = name
        self._keras_history = history

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        raise TypeError(
            f"{getattr(func, '__name__', func)} was called on a symbolic KerasTensor {self!r}. "
            "KerasTensors only flow through initium layers (Model(inputs, outputs) style); wrap "
            "torch code in a Layer subclass (its call() receives real tensors)."
        )

    def __array__(self, *a: Any, **k: Any) -> Any:
        raise TypeError(f"A symbolic KerasTensor has no values: {self!r}. Call the model on data instead.")


class Node:
    """One call of a layer in a functional graph."""

    def __init__(self, layer: Any, args: tuple, kwargs: dict, outputs: Any) -> None:
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.input_tensors = [t for t in pytree.tree_leaves((args, kwargs)) if isinstance(t, KerasTensor)]
        self.output_tensors = [t for t in pytree.tree_leaves(outputs) if isinstance(t, KerasTensor)]

    @property
    def parent_nodes(self) -> list["Node"]:
        out = []
        for t in self.input_tensors:
            layer, node_index, _ = t._keras_history
            out.append(layer._inbound_nodes[node_index])
        return out


def is_symbolic(structure: Any) -> bool:
    return any(isinstance(t, KerasTensor) for t in pytree.tree_leaves(structure))


def shape_of(x: Any) -> tuple:
    if isinstance(x, KerasTensor):
        return x.shape
    if isinstance(x, torch.Tensor):
        return tuple(x.shape)
    return tuple(getattr(x, "shape", ()))
