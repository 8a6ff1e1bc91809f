"""``Variable``: a layer weight. A ``torch.nn.Parameter`` with Keras's name and path, and the
record of how it was born (initializer and random keys), so it can be re-drawn or inspected.

It also carries Keras's per-variable training flags (``add_weight``'s arguments):

- ``aggregation`` (``"none"``, ``"mean"``, ``"sum"`` or ``"only_first_replica"``): how replicas would
  combine this variable under distributed training. initium trains on one device, so it is
  recorded (validated as Keras validates it, kept through copies and pickling) and has no effect yet.
- ``autocast``: whether a mixed-precision scope may cast the variable on read. initium has no
  mixed-precision scope, so it is recorded only.
- ``overwrite_with_gradient``: the optimizer writes the variable's gradient into it instead of
  applying its update rule (Keras's float8 scales). This one is live: every optimizer honours it.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch

_BIRTHS = itertools.count()

__all__ = ["Variable", "AGGREGATIONS", "check_flags", "overwrite_flags_version"]

AGGREGATIONS = ("none", "mean", "sum", "only_first_replica")

# Bumped whenever a variable's `overwrite_with_gradient` changes: optimizers cache which of their
# variables are overwritten, and compare this number (one int per step) to know when to look again.
_overwrite_flags_version = 0


def overwrite_flags_version() -> int:
    """A number that changes whenever any variable's ``overwrite_with_gradient`` is set."""
    return _overwrite_flags_version


def check_flags(name: str, aggregation: Any, overwrite_with_gradient: Any) -> None:
    """Keras's checks (and error texts) of ``aggregation`` and ``overwrite_with_gradient``."""
    if aggregation not in (None, *AGGREGATIONS):
        raise ValueError(
            "Invalid value for argument `aggregation`. Expected one of `None`, `'none'`, `'mean'`, `'sum'`, "
            f"`'only_first_replica'`. Received: aggregation={aggregation!r} (variable '{name}')"
        )
    if not isinstance(overwrite_with_gradient, bool):
        raise TypeError(
            f"`overwrite_with_gradient` must be a boolean. Received: {overwrite_with_gradient!r} (variable '{name}')"
        )


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
        aggregation, autocast, overwrite_with_gradient: Keras's flags (see the module docstring).
    """

    def __new__(cls, initializer: Any = None, shape: Any = None, dtype: Any = None, trainable: bool = True,
                autocast: bool = True, aggregation: str | None = "none", synchronization: str = "auto",
                name: str | None = None, layout: Any = None, *, path: str | None = None, origin: Any = None,
                init_keys: Any = (), regularizer: Any = None, constraint: Any = None, birth: int | None = None,
                overwrite_with_gradient: bool = False) -> "Variable":
        """Keras's ``keras.Variable(initializer, shape=None, dtype=None, trainable=True, ...)``.

        ``initializer`` is either the initial value (a tensor, array, list or number; ``shape`` then
        comes from it) or an initializer (a name such as ``"he_normal"``, an ``Initializer``, or a
        callable ``f(shape, dtype)``; ``shape`` is then required). ``path`` is ``name`` under the
        active ``initium.name_scope``s. The keyword-only arguments are initium's bookkeeping
        (``add_weight`` passes them): ``origin`` is the initializer that produced a given value.
        """
        if name is None:  # Keras names an unnamed variable "variable", then "variable_1", ...
            from initium import backend

            name = backend.unique_name("variable")
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"Variable: `name` must be a string without '/'. Received: name={name!r}")
        if layout is not None:
            raise ValueError("Variable: `layout` (a sharding layout) needs ModelParallel, which initium does not "
                             f"support yet. Received: layout={layout!r}")
        if synchronization not in ("auto", "none", "on_read", "on_write"):
            raise ValueError("Invalid value for argument `synchronization`. Expected one of 'auto', 'none', "
                             f"'on_read', 'on_write'. Received: synchronization={synchronization!r}")
        check_flags(path or name, aggregation, overwrite_with_gradient)
        data, origin, init_keys = _initial_value(initializer, shape, dtype, name, origin, init_keys)
        if path is None:
            from initium import backend

            scope = backend.current_name_scope()
            path = f"{scope}/{name}" if scope else name
        self = torch.Tensor._make_subclass(cls, data, bool(trainable) and data.is_floating_point())
        self._trainable = bool(trainable)
        self._name = name
        self._path = path
        self.initializer = origin
        self.init_keys = tuple(init_keys)
        self.regularizer = regularizer
        self.constraint = constraint
        # Creation order across the process: `reinitialize(seed=...)` re-draws in this order.
        self.birth = next(_BIRTHS) if birth is None else int(birth)
        self._aggregation = aggregation or "none"
        self._autocast = bool(autocast)
        self._synchronization = synchronization
        self._overwrite_with_gradient = False
        if overwrite_with_gradient:
            self.overwrite_with_gradient = True
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
    def aggregation(self) -> str:
        """How replicas would combine this variable (recorded; initium trains on one device)."""
        return self._aggregation

    @property
    def autocast(self) -> bool:
        """Whether a mixed-precision scope may cast it on read (recorded; initium has no such scope)."""
        return self._autocast

    @property
    def overwrite_with_gradient(self) -> bool:
        """Whether the optimizer replaces the value by the gradient instead of applying its update."""
        return self._overwrite_with_gradient

    @overwrite_with_gradient.setter
    def overwrite_with_gradient(self, value: bool) -> None:
        global _overwrite_flags_version
        check_flags(self._path, self._aggregation, value)
        self._overwrite_with_gradient = value
        _overwrite_flags_version += 1

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

    @property
    def synchronization(self) -> str:
        """Keras's replica synchronization setting (recorded; initium's data-parallel fit all-reduces
        gradients, not variables)."""
        return self._synchronization

    def _checked(self, value: Any, method: str) -> torch.Tensor:
        src = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
        if tuple(src.shape) != tuple(self.shape):
            raise ValueError(
                "The shape of the target variable and the shape of the target value in "
                f"`variable.{method}(value)` must match. variable.shape={tuple(self.shape)}, "
                f"Received: value.shape={tuple(src.shape)}. Target variable: {self!r}"
            )
        return src.to(device=self.device, dtype=self.dtype)

    def assign(self, value: Any) -> "Variable":
        """Copy ``value`` (tensor, array or list) into this weight in place, checking the shape."""
        with torch.no_grad():
            self.copy_(self._checked(value, "assign"))
        return self

    def assign_add(self, value: Any) -> "Variable":
        """Add ``value`` to this weight in place (no gradient flows through the update)."""
        with torch.no_grad():
            self.add_(self._checked(value, "assign_add"))
        return self

    def assign_sub(self, value: Any) -> "Variable":
        """Subtract ``value`` from this weight in place (no gradient flows through the update)."""
        with torch.no_grad():
            self.sub_(self._checked(value, "assign_sub"))
        return self

    def __repr__(self) -> str:
        vals = np.array2string(self.numpy(), threshold=20, edgeitems=2, precision=6)
        dtype = str(self.dtype).replace("torch.", "")
        return f"<Variable path={self._path}, shape={tuple(self.shape)}, dtype={dtype}, value={vals}>"

    def _attrs(self) -> dict[str, Any]:
        return {"trainable": self._trainable, "name": self._name, "path": self._path,
                "origin": self.initializer, "init_keys": self.init_keys, "synchronization": self._synchronization,
                "regularizer": self.regularizer, "constraint": self.constraint, "birth": self.birth,
                "aggregation": self._aggregation, "autocast": self._autocast,
                "overwrite_with_gradient": self._overwrite_with_gradient}

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


def _initial_value(initializer: Any, shape: Any, dtype: Any, name: str, origin: Any,
                   init_keys: Any) -> tuple[torch.Tensor, Any, Any]:
    """The tensor a Variable starts from, the initializer that made it, and its Philox keys."""
    from initium import backend

    if isinstance(initializer, torch.Tensor):
        data = initializer.detach()
        if shape is not None and tuple(shape) != tuple(data.shape):
            raise ValueError(f"Variable '{name}': `shape` {tuple(shape)} does not match the initial value's shape "
                             f"{tuple(data.shape)}.")
        return (data if dtype is None else data.to(backend.torch_dtype(dtype))), origin, init_keys
    if isinstance(initializer, (np.ndarray, list, tuple, int, float, bool, np.generic)):
        from initium.ops.core import convert_to_tensor

        data = convert_to_tensor(initializer, dtype=dtype)
        if shape is not None and tuple(shape) != tuple(data.shape):
            raise ValueError(f"Variable '{name}': `shape` {tuple(shape)} does not match the initial value's shape "
                             f"{tuple(data.shape)}.")
        return data, origin, init_keys
    if initializer is None:
        raise ValueError(f"Variable '{name}': `initializer` is required: an initial value, or an initializer "
                         "(e.g. 'zeros', keras.initializers.HeNormal()) together with `shape`.")
    if shape is None:
        raise ValueError(f"Variable '{name}': when `initializer` is an initializer ({initializer!r}), `shape` must be "
                         "given. Received: shape=None")
    from initium import initializers
    from initium import random as irandom

    init = initializers.get(initializer)
    with irandom.record_keys() as keys:
        data = initializers.initialize(init, tuple(shape), backend.standardize_dtype(dtype), name=name)
    return data, init, keys
