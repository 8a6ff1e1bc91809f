"""``Variable``: a layer weight. A ``torch.nn.Parameter`` with Keras's name and path, and the
record of how it was born (initializer and random keys), so it can be re-drawn or inspected."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch

_BIRTHS = itertools.count()

__all__ = ["Variable"]


class Variable(torch.nn.Parameter):
    """A weight. Behaves as the ``torch.nn.Parameter`` it is; adds Keras's attributes.

    Attributes:
        name: the bare Keras name (``"kernel"``).
        path: ``"<scope>/<layer>/<name>"``, e.g. ``"sequential/dense/kernel"``.
        trainable: whether the optimizer updates it (also sets ``requires_grad``).
        initializer: the initializer object (or callable) that made it.
        init_keys: the ``(seed, stream)`` Philox keys its initializer drew: replaying them
            re-creates the initial values exactly (``Layer.reinitialize(replay=True)``).
        regularizer, constraint: as passed to ``add_weight``.
    """

    def __new__(cls, data: torch.Tensor, trainable: bool = True, name: str = "variable",
                path: str | None = None, initializer: Any = None, init_keys: Any = (),
                regularizer: Any = None, constraint: Any = None, birth: int | None = None) -> "Variable":
        self = torch.Tensor._make_subclass(cls, data, bool(trainable) and data.is_floating_point())
        self._trainable = bool(trainable)
        self._name = name
        self._path = path or name
        self.initializer = initializer
        self.init_keys = tuple(init_keys)
        self.regularizer = regularizer
        self.constraint = constraint
        # Creation order across the process: `reinitialize(seed=...)` re-draws in this order.
        self.birth = next(_BIRTHS) if birth is None else int(birth)
        return self

    @property
    def name(self) -> str:
        return self._name

    @property
    def path(self) -> str:
        return self._path

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        if self.is_floating_point():
            self.requires_grad_(self._trainable)

    @property
    def value(self) -> "Variable":
        return self

    def numpy(self, *, force: bool = False) -> np.ndarray:  # noqa: ARG002 - torch's signature
        """A numpy **copy** of the values (Keras semantics; works although it requires grad)."""
        t = self.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.cpu().numpy().copy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def assign(self, value: Any) -> "Variable":
        """Copy ``value`` (tensor, array or list) into this weight in place, checking the shape."""
        src = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
        if tuple(src.shape) != tuple(self.shape):
            raise ValueError(
                "The shape of the target variable and the shape of the target value in "
                f"`variable.assign(value)` must match. variable.shape={tuple(self.shape)}, "
                f"Received: value.shape={tuple(src.shape)}. Target variable: {self!r}"
            )
        with torch.no_grad():
            self.copy_(src.to(device=self.device, dtype=self.dtype))
        return self

    def __repr__(self) -> str:
        vals = np.array2string(self.numpy(), threshold=20, edgeitems=2, precision=6)
        dtype = str(self.dtype).replace("torch.", "")
        return f"<Variable path={self._path}, shape={tuple(self.shape)}, dtype={dtype}, value={vals}>"

    def _attrs(self) -> dict[str, Any]:
        return {"trainable": self._trainable, "name": self._name, "path": self._path,
                "initializer": self.initializer, "init_keys": self.init_keys,
                "regularizer": self.regularizer, "constraint": self.constraint, "birth": self.birth}

    def __deepcopy__(self, memo: dict) -> "Variable":
        if id(self) in memo:
            return memo[id(self)]
        import copy

        attrs = copy.deepcopy(self._attrs(), memo)
        out = Variable(self.data.clone(memory_format=torch.preserve_format), **attrs)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, proto: int) -> Any:
        return (_rebuild_variable, (self.data, self._attrs()))


def _rebuild_variable(data: torch.Tensor, attrs: dict[str, Any]) -> Variable:
    return Variable(data, **attrs)
