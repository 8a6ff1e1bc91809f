"""``Operation``: an op that runs eagerly on tensors and becomes a graph node on KerasTensors.

Every function of ``initium.ops`` is written once, eagerly, over torch, and declared with
``@keras_op(...)``, which gives it what Keras 3 gives its ops:

- **eager**: called on tensors (or numpy arrays, Python numbers), the function just runs; the only
  cost over calling torch directly is a scan of the arguments for a ``KerasTensor``.
- **symbolic**: called with a ``KerasTensor`` among its arguments (``ops.concatenate([a, b])``
  while building a functional model), it builds an ``Operation`` object of Keras's class name
  (``Concatenate``), records a ``Node`` and returns KerasTensors. The output shapes and dtypes come
  from running the same eager function on *meta* tensors (no memory, no arithmetic), twice, with
  the unknown sizes (``None``) set to two different stand-ins: an output size that changes with the
  stand-in is unknown (``None``). Ops whose output shape depends on values (``nonzero``,
  ``unique``) declare their own ``spec`` function instead.
- **saved**: the Operation serializes as Keras writes it (``module`` ``keras.src.ops.<family>``,
  Keras's class name and constructor arguments), so a functional model with op nodes saves to a
  ``.keras`` file that real Keras loads, and initium loads Keras's.

Which arguments are constructor arguments (saved in the config) and which are call arguments
(graph inputs, tensors or constants) follows Keras's class for that op: ``ExpandDims(axis)`` is
called on ``x``; ``Clip(x_min, x_max)`` on ``x``; ``Add()`` on ``x1, x2``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import threading
from typing import Any, Callable

import torch
from torch.utils import _pytree as pytree

from initium import backend
from initium.symbolic import KerasTensor, Node

__all__ = ["Operation", "keras_op", "OPS", "op_class", "any_symbolic", "device", "on_meta", "symbolic_spec"]

# (family, Keras class name) -> Operation subclass; family is "numpy", "nn", "math", ... as in Keras's
# module path keras.src.ops.<family>.
OPS: dict[tuple[str, str], type["Operation"]] = {}

_state = threading.local()


def _snake(name: str) -> str:
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z0-9])([A-Z])", r"\1_\2", name).lower()


# ------------------------------------------------------------------------------------- devices
def device() -> torch.device:
    """Where ops create new tensors: the meta device while an output spec is being computed,
    else ``backend.default_device()``."""
    meta = getattr(_state, "meta", 0)
    return torch.device("meta") if meta else backend.default_device()


def on_meta() -> bool:
    """True while ops run on meta tensors to compute a symbolic output spec."""
    return bool(getattr(_state, "meta", 0))


@contextlib.contextmanager
def _meta_scope() -> Any:
    _state.meta = getattr(_state, "meta", 0) + 1
    try:
        yield
    finally:
        _state.meta -= 1


# ------------------------------------------------------------------------------------- symbolic
def _is_kt(x: Any) -> bool:
    return isinstance(x, KerasTensor)


def any_symbolic(args: tuple, kwargs: dict) -> bool:
    """True if a KerasTensor is among ``args``/``kwargs`` (scanning lists, tuples and dicts)."""
    for a in args:
        if isinstance(a, KerasTensor) or (isinstance(a, (list, tuple, dict)) and any(map(_is_kt, pytree.tree_leaves(a)))):
            return True
    for a in kwargs.values():
        if isinstance(a, KerasTensor) or (isinstance(a, (list, tuple, dict)) and any(map(_is_kt, pytree.tree_leaves(a)))):
            return True
    return False


# Two stand-ins for unknown sizes: highly composite (so reshapes to any small factor work) and
# different, so a size that depends on them is seen to change.
_STAND_INS = (720, 1680)


def _to_meta(x: Any, stand_in: int) -> Any:
    if isinstance(x, KerasTensor):
        shape = tuple(stand_in if d is None else d for d in x.shape)
        return torch.empty(shape, dtype=backend.torch_dtype(x.dtype), device="meta")
    if isinstance(x, torch.Tensor) and not x.is_meta:
        return torch.empty(x.shape, dtype=x.dtype, device="meta")
    return x


def symbolic_spec(fn: Callable[..., Any], args: tuple, kwargs: dict, what: str) -> Any:
    """KerasTensors for what ``fn(*args, **kwargs)`` returns, by two runs on meta tensors."""
    runs = []
    for stand_in in _STAND_INS:
        margs, mkwargs = pytree.tree_map(lambda x: _to_meta(x, stand_in), (args, kwargs))
        try:
            with _meta_scope():
                runs.append(fn(*margs, **mkwargs))
        except (RuntimeError, NotImplementedError, IndexError) as e:  # IndexError: an axis or index out of range
            raise ValueError(f"{what}: cannot compute the output shape for the symbolic inputs "
                             f"{_describe(args, kwargs)} ({type(e).__name__}: {e}).") from None
    first, second = runs

    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, torch.Tensor):
            shape = tuple(da if da == db else None for da, db in zip(a.shape, b.shape))
            return KerasTensor(shape, dtype=backend.standardize_dtype(a.dtype))
        return a

    flat_a, spec = pytree.tree_flatten(first)
    flat_b = pytree.tree_leaves(second)
    return pytree.tree_unflatten([merge(a, b) for a, b in zip(flat_a, flat_b)], spec)


def _describe(args: tuple, kwargs: dict) -> str:
    def one(x: Any) -> Any:
        return f"KerasTensor(shape={x.shape}, dtype={x.dtype})" if isinstance(x, KerasTensor) else x

    parts = [repr(pytree.tree_map(one, a)) for a in args] + [f"{k}={pytree.tree_map(one, v)!r}" for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


# ------------------------------------------------------------------------------------- Operation
class Operation:
    """Keras's ``keras.Operation``: a named computation, eager on tensors, a graph node on KerasTensors.

    Subclass it and write ``call`` (eager, over torch) and, when running ``call`` on meta tensors
    cannot tell the output, ``compute_output_spec`` returning ``KerasTensor``s. Constructor
    arguments are recorded for ``get_config`` when they are plain data.
    """

    _family = "core"  # Keras's keras.src.ops.<family>, for the saved module name

    def __init__(self, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: `name` must be a string. Received: name={name!r}")
        self.name = name or backend.unique_name(_snake(type(self).__name__))
        self._inbound_nodes: list[Node] = []
        self._outbound_nodes: list[Node] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if any_symbolic(args, kwargs):
            return self.symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        return symbolic_spec(self.call, args, kwargs, f"{type(self).__name__} '{self.name}'")

    def symbolic_call(self, *args: Any, **kwargs: Any) -> Any:
        outputs = self.compute_output_spec(*args, **kwargs)
        node = Node(self, args, kwargs, outputs)
        self._inbound_nodes.append(node)
        index = len(self._inbound_nodes) - 1
        for i, t in enumerate(node.output_tensors):
            t._keras_history = (self, index, i)
        return outputs

    # Keras's Layer/Operation attributes that graph code reads.
    @property
    def input(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Operation '{self.name}' has never been called, so it has no `input`.")
        node = self._inbound_nodes[0]
        return node.input_tensors[0] if len(node.input_tensors) == 1 else node.input_tensors

    @property
    def output(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Operation '{self.name}' has never been called, so it has no `output`.")
        return self._inbound_nodes[0].outputs

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Operation":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class FunctionOperation(Operation):
    """The Operation behind one ``@keras_op`` function: constructor arguments are the function's
    non-tensor arguments under Keras's names; ``call`` runs the function."""

    _function: Callable[..., Any]
    _init_names: tuple[str, ...] = ()
    _leading_init: tuple[str, ...] = ()  # constructor arguments placed before *args (einsum's subscripts)
    _spec: Callable[..., Any] | None = None

    def __init__(self, *args: Any, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name)
        names = self._init_names
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} constructor argument(s) {list(names)}; "
                            f"received {len(args)}.")
        init = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise TypeError(f"{type(self).__name__}: unexpected constructor argument {k!r}; expected {list(names)}.")
            if k in init:
                raise TypeError(f"{type(self).__name__}: got two values for {k!r}.")
            init[k] = v
        params = inspect.signature(type(self)._function).parameters
        for k in names:  # Keras's constructors have defaults too: record them, so the config is complete
            if k not in init and params[k].default is not inspect.Parameter.empty:
                init[k] = params[k].default
        missing = [k for k in names if k not in init]
        if missing:
            raise TypeError(f"{type(self).__name__} is missing the constructor argument(s) {missing}.")
        self._init_kwargs = init

    def call(self, *args: Any, **kwargs: Any) -> Any:
        init = dict(self._init_kwargs)
        leading = [init.pop(k) for k in self._leading_init]
        return type(self)._function(*leading, *args, **kwargs, **init)

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        what = f"ops.{type(self)._function.__name__}"
        if self._spec is not None:
            return type(self)._spec(*args, **kwargs, **self._init_kwargs)
        return symbolic_spec(self.call, args, kwargs, what)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, **{k: _plain(v, k) for k, v in self._init_kwargs.items()}}


def _plain(v: Any, key: str = "") -> Any:
    """A config value as JSON can hold it: a dtype (torch, numpy or Python type) by its Keras name;
    tuples stay tuples here and become lists when saved, as Keras's do."""
    if isinstance(v, torch.dtype) or (key == "dtype" and v is not None):
        return backend.standardize_dtype(v)
    return v


def op_class(family: str, class_name: str) -> type[Operation] | None:
    """The Operation class Keras calls ``class_name`` in ``keras.src.ops.<family>``, if initium has it."""
    return OPS.get((family, class_name))


def keras_op(class_name: str | None, family: str, init: tuple[str, ...] = (), spec: Callable[..., Any] | None = None,
             ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an op function (see the module docstring).

    Args:
        class_name: Keras's Operation class for this op (``"ExpandDims"``); ``None`` for ops Keras
            does not put in graphs (creation ops such as ``ones``): then a KerasTensor argument is
            an error naming the op.
        family: ``"numpy"``, ``"nn"``, ``"math"``, ``"linalg"``, ``"image"``, ``"core"`` or
            ``"einops"``: Keras's module, written into saved configs.
        init: the arguments that are Keras's constructor arguments (saved in the config); every
            other argument is passed at call time (and may be a KerasTensor).
        spec: ``spec(*call_args, **init_args) -> KerasTensor(s)`` for ops whose output shape
            cannot come from a meta-tensor run (it depends on the values).
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        unknown = set(init) - {p.name for p in params}
        if unknown:
            raise AssertionError(f"keras_op({class_name}): {sorted(unknown)} are not arguments of {fn.__name__}")
        cls = None
        star = next((i for i, p in enumerate(params) if p.kind is p.VAR_POSITIONAL), 0)  # where *args sits
        if class_name is not None:
            cls = type(class_name, (FunctionOperation,), {
                "_function": staticmethod(fn), "_init_names": tuple(init),
                "_leading_init": tuple(p.name for p in params[:star] if p.name in init),
                "_spec": staticmethod(spec) if spec is not None else None, "_family": family,
                "__module__": f"initium.ops.{family}",
                "__doc__": f"The graph node of ``ops.{fn.__name__}`` (Keras's ``{class_name}``).",
            })
            OPS[(family, class_name)] = cls

        @functools.wraps(fn)
        def op(*args: Any, **kwargs: Any) -> Any:
            if not any_symbolic(args, kwargs):
                return fn(*args, **kwargs)
            if cls is None:  # TypeError, as Keras (ops.eye, ops.zeros, ops.bartlett, ... on a KerasTensor)
                raise TypeError(f"ops.{fn.__name__} cannot take a symbolic KerasTensor (it makes a new tensor from "
                                 "its arguments, not from an input). Call it inside a Layer's call() instead.")
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError as e:
                raise TypeError(f"ops.{fn.__name__}: {e}") from None
            bound.apply_defaults()
            init_kwargs = {k: bound.arguments[k] for k in init}
            if any(any_symbolic((v,), {}) for v in init_kwargs.values()):
                bad = [k for k, v in init_kwargs.items() if any_symbolic((v,), {})]
                raise ValueError(f"ops.{fn.__name__}: the argument(s) {bad} must be known while the model is built "
                                 "(Python values or tensors), not symbolic KerasTensors.")
            call_args: list[Any] = []
            call_kwargs: dict[str, Any] = {}
            skipped = False  # after a constructor argument, call arguments go by keyword (pad's constant_values)
            for p in params:
                if p.name in init or p.name not in bound.arguments:
                    skipped = True
                    continue
                value = bound.arguments[p.name]
                if p.kind is p.VAR_POSITIONAL:
                    call_args.extend(value)
                elif p.kind is p.VAR_KEYWORD:
                    call_kwargs.update(value)
                elif p.kind is p.KEYWORD_ONLY or skipped:
                    call_kwargs[p.name] = value
                else:
                    call_args.append(value)
            return cls(**init_kwargs).symbolic_call(*call_args, **call_kwargs)

        op.operation_class = cls  # type: ignore[attr-defined]
        return op

    return decorate
