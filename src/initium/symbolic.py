"""Symbolic tensors for the functional API: ``Input`` returns a ``KerasTensor``; calling a layer or an
op (``initium.ops``) on KerasTensors records a ``Node`` and returns new KerasTensors, from which
``Model(inputs, outputs)`` reads the graph.

A leaf module: the layers and the ops both build on it. Python's operators on a KerasTensor
(``x + 1``, ``x[:, 0]``, ``-x``) are ops too, taken from ``initium.ops`` when first used.
"""

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

    sparse = False
    ragged = False

    def __init__(self, shape: tuple, dtype: Any = None, sparse: bool = False, ragged: bool = False,
                 name: str | None = None, history: Any = None, **kwargs: Any) -> None:
        if sparse or ragged:
            raise ValueError(f"KerasTensor: sparse and ragged tensors are not supported on torch (nor by Keras's "
                             f"torch backend). Received: sparse={sparse!r}, ragged={ragged!r}")
        history = kwargs.pop("record_history", None) or history
        if kwargs:
            raise TypeError(f"KerasTensor: unexpected argument(s) {sorted(kwargs)}.")
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = backend.standardize_dtype(dtype)
        self.name = name
        self._keras_history = history

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # Python's operators build op nodes, as in Keras (which also leaves == alone, but not !=).
    def reshape(self, newshape: Any) -> "KerasTensor":
        return _op("reshape")(self, newshape)

    def squeeze(self, axis: Any = None) -> "KerasTensor":
        return _op("squeeze")(self, axis)

    def __add__(self, other): return _op("add")(self, other)
    def __radd__(self, other): return _op("add")(other, self)
    def __sub__(self, other): return _op("subtract")(self, other)
    def __rsub__(self, other): return _op("subtract")(other, self)
    def __mul__(self, other): return _op("multiply")(self, other)
    def __rmul__(self, other): return _op("multiply")(other, self)
    def __matmul__(self, other): return _op("matmul")(self, other)
    def __rmatmul__(self, other): return _op("matmul")(other, self)
    def __truediv__(self, other): return _op("true_divide")(self, other)
    def __rtruediv__(self, other): return _op("true_divide")(other, self)
    def __floordiv__(self, other): return _op("floor_divide")(self, other)
    def __rfloordiv__(self, other): return _op("floor_divide")(other, self)
    def __mod__(self, other): return _op("mod")(self, other)
    def __rmod__(self, other): return _op("mod")(other, self)
    def __pow__(self, other): return _op("power")(self, other)
    def __rpow__(self, other): return _op("power")(other, self)
    def __neg__(self): return _op("negative")(self)
    def __abs__(self): return _op("absolute")(self)
    def __lt__(self, other): return _op("less")(self, other)
    def __le__(self, other): return _op("less_equal")(self, other)
    def __gt__(self, other): return _op("greater")(self, other)
    def __ge__(self, other): return _op("greater_equal")(self, other)
    def __ne__(self, other): return _op("not_equal")(self, other)
    def __and__(self, other): return _op("logical_and")(self, other)
    def __rand__(self, other): return _op("logical_and")(other, self)
    def __or__(self, other): return _op("logical_or")(self, other)
    def __ror__(self, other): return _op("logical_or")(other, self)
    def __xor__(self, other): return _op("logical_xor")(self, other)
    def __rxor__(self, other): return _op("logical_xor")(other, self)
    def __invert__(self): return _op("logical_not")(self)
    def __getitem__(self, key): return _op("get_item")(self, key)
    def __round__(self, ndigits=None): return _op("round")(self, ndigits or 0)

    __hash__ = object.__hash__  # identity, as Keras (== is not an op)

    def __iter__(self) -> Any:
        raise NotImplementedError("Iterating over a symbolic KerasTensor is not supported: its length is not "
                                  "known until the model runs. Use ops (e.g. ops.unstack) or a Layer instead.")

    def __bool__(self) -> bool:
        raise TypeError("A symbolic KerasTensor cannot be used as a Python boolean (its value is not known while "
                        "the model is being built). Use ops.cond / ops.where, or put the logic in a Layer's call().")

    def __int__(self) -> int:
        raise ValueError("A KerasTensor is symbolic: it has no integer value. Use it inside a Layer's call() or an op.")

    def __float__(self) -> float:
        raise ValueError("A KerasTensor is symbolic: it has no float value. Use it inside a Layer's call() or an op.")

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        raise TypeError(
            f"{getattr(func, '__name__', func)} was called on a symbolic KerasTensor {self!r}. "
            "KerasTensors only flow through initium layers (Model(inputs, outputs) style); wrap "
            "torch code in a Layer subclass (its call() receives real tensors)."
        )

    def __array__(self, *a: Any, **k: Any) -> Any:
        raise TypeError(f"A symbolic KerasTensor has no values: {self!r}. Call the model on data instead.")


backend._KERAS_TENSOR_TYPES[:] = [KerasTensor]


def _op(name: str) -> Any:
    from initium.ops import numpy as ops_numpy  # a facade: the ops sit above this leaf

    return getattr(ops_numpy, name)


class Node:
    """One call of a layer or an op (``initium.ops.Operation``) in a functional graph."""

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
