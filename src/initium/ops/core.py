"""``keras.ops`` core: tensors in and out, casts, shapes, control flow, slicing and scattering.

``convert_to_tensor`` is the door every op's inputs pass through, with Keras's torch-backend
rules: a Python ``int`` becomes int32 (int64 beyond 32 bits), a ``float`` becomes ``floatx()``
(so does a ``np.float64`` scalar, a ``float`` subclass, while other numpy scalars keep their dtype),
a list takes the promoted type of its items (``[1, 2.5]`` is float32), a numpy array keeps its
dtype (float64 stays float64), a tensor keeps its own and is moved to the default device.

Control flow (``cond``, ``while_loop``, ``fori_loop``, ``scan``, ``map``, ``switch``,
``associative_scan``) runs eagerly in Python, as Keras's torch backend runs it: the functions are
called on real tensors and autograd sees every step. On KerasTensors these ops build graph nodes
whose output specs come from running the functions once on meta tensors (one slice of the mapped
axis for ``map``/``scan``), which is what Keras's ``compute_output_spec`` does for them.
"""

from __future__ import annotations

import builtins
import functools
import inspect
from typing import Any, Callable

import numpy as np
import torch
from torch.utils import _pytree as pytree

from initium import backend
from initium.ops.operation import any_symbolic, device, keras_op, on_meta, symbolic_spec
from initium.symbolic import KerasTensor

__all__ = ["associative_scan", "cast", "cond", "convert_to_numpy", "convert_to_tensor", "custom_gradient", "dtype",
           "fori_loop", "is_tensor", "map", "saturate_cast", "scan", "scatter", "scatter_update", "shape", "slice",
           "slice_update", "stop_gradient", "switch", "unstack", "vectorized_map", "while_loop"]


# ------------------------------------------------------------------------------------- conversion
def _item_dtype(x: Any) -> Any:
    if isinstance(x, (torch.Tensor, np.ndarray, np.generic)):
        return x.dtype
    if isinstance(x, bool):
        return bool
    if isinstance(x, int):
        return "int64" if not -(2 ** 31) <= x < 2 ** 31 else int
    if isinstance(x, float):
        return float
    if isinstance(x, complex):
        return complex
    raise TypeError(f"convert_to_tensor: cannot convert {type(x).__name__} {x!r} to a tensor (expected numbers, "
                    "arrays, tensors, or nested lists of them).")


def convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None, ragged: Any = None) -> torch.Tensor:
    """``x`` as a torch tensor on the default device (see the module docstring for the dtypes).

    On a KerasTensor it records a ``ConvertToTensor`` node (a cast when ``dtype`` is given), as
    Keras does."""
    if sparse:
        raise ValueError("convert_to_tensor: `sparse=True` is not supported with the torch backend.")
    if ragged:
        raise ValueError("convert_to_tensor: `ragged=True` is not supported with the torch backend.")
    if isinstance(x, KerasTensor):
        dtype = None if dtype is None else backend.standardize_dtype(dtype)
        return _ConvertToTensor(dtype=dtype, sparse=sparse, ragged=ragged).symbolic_call(x)
    target = backend.torch_dtype(dtype) if dtype is not None else None
    where = device()
    if isinstance(x, torch.Tensor):
        if x.device != where and not (x.is_meta or where.type == "meta" and x.dim() == 0):
            x = x.to(where)
        elif where.type == "meta" and not x.is_meta:
            x = torch.empty(x.shape, dtype=x.dtype, device=where)
        return x if target is None or x.dtype == target else x.to(target)
    if isinstance(x, (bool, int, float, complex)):
        if isinstance(x, np.generic):  # np.float64/np.complex128 subclass float/complex: Python's rules, as Keras
            x = x.item()
        name = backend.standardize_dtype(dtype) if dtype is not None else backend.result_type(_item_dtype(x))
        if isinstance(x, int) and not isinstance(x, bool) and not -(2 ** 31) <= x < 2 ** 31 and dtype is None:
            name = "int64"
        return torch.tensor(x, dtype=backend.torch_dtype(name), device=where)
    if isinstance(x, (list, tuple)):
        leaves = pytree.tree_leaves(x)
        if any(isinstance(e, torch.Tensor) for e in leaves):
            return torch.stack([convert_to_tensor(e, dtype=dtype) for e in x])
        if dtype is None:
            dtype = backend.result_type(*[_item_dtype(e) for e in leaves]) if leaves else backend.floatx()
        values = np.asarray(x) if any(isinstance(e, np.ndarray) for e in leaves) else x
        return torch.tensor(values, dtype=backend.torch_dtype(dtype), device=where)
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"convert_to_tensor: cannot convert an array of dtype {arr.dtype} to a tensor "
                        "(strings and objects are not supported by the torch backend).")
    if arr.dtype == np.uint32 or arr.dtype == np.uint64 or arr.dtype == np.uint16:
        arr = arr.astype(np.int64 if arr.dtype != np.uint16 else np.int32)
    t = torch.from_numpy(arr if arr.flags.c_contiguous else np.ascontiguousarray(arr))  # (0-d stays 0-d)
    return t.to(device=where, dtype=target or t.dtype)


# The graph node of convert_to_tensor on a KerasTensor (its output spec: the same call on meta).
_ConvertToTensor = keras_op("ConvertToTensor", "core", init=("dtype", "sparse", "ragged"))(
    convert_to_tensor).operation_class


def convert_to_numpy(x: Any) -> np.ndarray:
    """A numpy array of ``x`` (tensors are detached and copied to the host; bfloat16 becomes float32)."""
    if isinstance(x, KerasTensor):
        raise ValueError(f"convert_to_numpy: {x!r} is symbolic; it has no values until the model runs.")
    if isinstance(x, (list, tuple)):
        return np.array([convert_to_numpy(e) for e in x])
    return backend.to_numpy(x)


def is_tensor(x: Any) -> bool:
    """True for a torch tensor (a backend-native tensor, as Keras's ``ops.is_tensor``)."""
    return isinstance(x, torch.Tensor)


def shape(x: Any) -> tuple:
    """The shape as a tuple of ints (``None`` for a KerasTensor's unknown sizes)."""
    if isinstance(x, (KerasTensor, torch.Tensor)):
        return tuple(x.shape)
    return tuple(np.shape(x))


def dtype(x: Any) -> str:
    """The Keras name of ``x``'s dtype (``"float32"``); a numpy ``uint32`` array is ``"uint32"``."""
    own = getattr(x, "dtype", None)
    if own is not None:
        return backend.standardize_dtype(own)
    return backend.standardize_dtype(convert_to_tensor(x).dtype)


# ------------------------------------------------------------------------------------- casts
def _cast_eager(x: Any, dtype: Any) -> torch.Tensor:
    return convert_to_tensor(x).to(backend.torch_dtype(dtype))


_Cast = keras_op("Cast", "core", init=("dtype",))(_cast_eager).operation_class


def _to_dtype(op_class: type, eager: Callable[[Any, str], torch.Tensor], x: Any, dtype: Any) -> torch.Tensor:
    """Keras's dtype ops: the dtype is standardized first (so a graph node saves ``"float32"``)."""
    dtype = backend.standardize_dtype(dtype)
    if isinstance(x, KerasTensor):
        return op_class(dtype=dtype).symbolic_call(x)
    return eager(x, dtype)


def cast(x: Any, dtype: Any) -> torch.Tensor:
    """``x`` converted to ``dtype`` (float to int truncates toward zero, as torch and Keras do)."""
    return _to_dtype(_Cast, _cast_eager, x, dtype)


def _dtype_range(name: str) -> tuple[Any, Any]:
    if name == "bool":
        return 0, 1
    info = np.iinfo(name) if name in backend.INT_DTYPES else torch.finfo(backend.torch_dtype(name))
    return info.min, info.max


def _limit_toward_zero(value: Any, bound: Any, t_dtype: torch.dtype, too_far: Callable[[Any, Any], bool]) -> Any:
    """``value`` stored in ``t_dtype``; if rounding pushed it past ``bound``, the next value toward 0."""
    stored = torch.tensor(value, dtype=t_dtype, device="cpu")
    if too_far(stored.item(), bound):
        stored = torch.nextafter(stored, torch.zeros((), dtype=t_dtype, device="cpu"))
    return stored.item()


def _saturate_eager(x: Any, dtype: Any) -> torch.Tensor:
    x = convert_to_tensor(x)
    in_name = backend.standardize_dtype(x.dtype)
    in_min, in_max = _dtype_range(in_name)
    out_min, out_max = _dtype_range(dtype)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    # The clip limits are the tighter of the two ranges, held in x's dtype; where that dtype cannot
    # hold the output's limit exactly (float32 holds 2**31 - 1 as 2**31), step toward zero.
    lo = _limit_toward_zero(max(in_min, out_min), out_min, x.dtype, lambda v, b: v < b)
    hi = _limit_toward_zero(min(in_max, out_max), out_max, x.dtype, lambda v, b: v > b)
    return torch.clamp(x, lo, hi).to(backend.torch_dtype(dtype))


_SaturateCast = keras_op("SaturateCast", "core", init=("dtype",))(_saturate_eager).operation_class


def saturate_cast(x: Any, dtype: Any) -> torch.Tensor:
    """``x`` clipped to the range of ``dtype``, then cast, so that values saturate instead of wrapping."""
    return _to_dtype(_SaturateCast, _saturate_eager, x, dtype)


# ------------------------------------------------------------------------------------- spec helpers
def _spec(x: Any) -> KerasTensor:
    """A KerasTensor with the shape and dtype of ``x`` (a KerasTensor, tensor, array or number)."""
    if isinstance(x, KerasTensor):
        return KerasTensor(x.shape, dtype=x.dtype)
    t = x if isinstance(x, torch.Tensor) else convert_to_tensor(x)
    return KerasTensor(tuple(t.shape), dtype=t.dtype)


def _element_spec(x: Any) -> KerasTensor:
    """The spec of one slice of ``x`` along its first axis."""
    s = _spec(x)
    return KerasTensor(s.shape[1:], dtype=s.dtype)


def _stacked_spec(n: Any, structure: Any) -> Any:
    """``structure``'s KerasTensors with a leading axis of size ``n`` added."""
    return pytree.tree_map(lambda s: KerasTensor((n, *s.shape), dtype=s.dtype)
                           if isinstance(s, KerasTensor) else s, structure)


def _leading_size(xs: Any) -> Any:
    return _spec(pytree.tree_leaves(xs)[0]).shape[0]


def _mapped_spec(f: Callable[..., Any], xs: Any, what: str) -> Any:
    """Spec of mapping ``f`` over the first axis of ``xs``: ``f`` runs once on one slice."""
    element = pytree.tree_map(_element_spec, xs)
    return _stacked_spec(_leading_size(xs), symbolic_spec(f, (element,), {}, what))


def _stack_results(results: list, what: str) -> Any:
    if not results:
        raise ValueError(f"{what}: there is nothing to stack (the mapped axis has size 0); Keras cannot map or "
                         "scan over an empty axis either. Check the leading dimension of the inputs.")
    return pytree.tree_map(lambda *ys: torch.stack(ys), results[0], *results[1:])


# ------------------------------------------------------------------------------------- control flow
def _check_callable(f: Any, what: str, name: str = "f") -> None:
    if not callable(f):
        raise TypeError(f"{what}: `{name}` should be a callable. Received: {name}={f!r}")


def _same_kind(a: Any, b: Any) -> bool:
    flat_a, spec_a = pytree.tree_flatten(a)
    flat_b, spec_b = pytree.tree_flatten(b)
    if spec_a != spec_b:
        return False
    return all((x is None and y is None) or (isinstance(x, KerasTensor) and isinstance(y, KerasTensor)
                                             and x.shape == y.shape and x.dtype == y.dtype)
               for x, y in zip(flat_a, flat_b))


def _cond_spec(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    true_spec = symbolic_spec(true_fn, (), {}, "ops.cond: true_fn")
    false_spec = symbolic_spec(false_fn, (), {}, "ops.cond: false_fn")
    if not _same_kind(true_spec, false_spec):
        raise ValueError("ops.cond: `true_fn` and `false_fn` should return outputs of the same kind (structure, "
                         f"dtype and shape). Got {true_spec} and {false_spec} instead.")
    return true_spec


@keras_op("Cond", "core", spec=_cond_spec)
def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()`` (a Python branch; a tensor ``pred`` is read on the host)."""
    if on_meta():  # shapes only: both branches must agree, take the first
        return true_fn()
    return true_fn() if pred else false_fn()


def _loop_vars_spec(loop_vars: Any) -> Any:
    return pytree.tree_map(_spec, loop_vars)


def _while_spec(loop_vars: Any, cond: Any, body: Any, maximum_iterations: Any = None) -> Any:
    return _loop_vars_spec(loop_vars)


@keras_op("WhileLoop", "core", init=("cond", "body", "maximum_iterations"), spec=_while_spec)
def while_loop(cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
               maximum_iterations: Any = None) -> Any:
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (and fewer than
    ``maximum_iterations`` steps); a tuple/list of loop variables is passed positionally and
    returned as a tuple."""
    several = isinstance(loop_vars, (tuple, list))
    state = pytree.tree_map(convert_to_tensor, tuple(loop_vars) if several else (loop_vars,))
    if on_meta():  # loop variables keep their shapes and dtypes
        return state if several else state[0]
    steps = 0
    while cond(*state) and (maximum_iterations is None or steps < maximum_iterations):
        state = body(*state)
        state = tuple(state) if isinstance(state, (tuple, list)) else (state,)
        steps += 1
    return state if several else state[0]


def _fori_spec(init_val: Any, lower: Any, upper: Any, body_fun: Any) -> Any:
    return _loop_vars_spec(init_val)


@keras_op("ForiLoop", "core", init=("lower", "upper", "body_fun"), spec=_fori_spec)
def fori_loop(lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``, starting from ``init_val``."""
    val = init_val
    for i in range(lower, upper):
        val = body_fun(i, val)
    return val


def _scan_spec(f: Any, init: Any, xs: Any = None, length: Any = None, reverse: Any = False, unroll: Any = 1) -> Any:
    n = int(length) if length is not None else (_leading_size(xs) if xs is not None else None)
    x = None if xs is None else pytree.tree_map(_element_spec, xs)
    carry, y = symbolic_spec(f, (pytree.tree_map(_spec, init), x), {}, "ops.scan: f")
    return carry, _stacked_spec(n, y)


@keras_op("Scan", "core", init=("length", "reverse", "unroll"), spec=_scan_spec)
def scan(f: Callable[[Any, Any], Any], init: Any, xs: Any = None, length: Any = None, reverse: bool = False,
         unroll: Any = 1) -> Any:
    """``carry, y = f(carry, x)`` over the first axis of ``xs`` (or ``length`` times with ``x=None``);
    returns the last carry and the stacked ``y``s. ``unroll`` is validated and has no effect (as on
    Keras's torch backend)."""
    _check_callable(f, "ops.scan")
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"ops.scan: `unroll` must be a positive integer or a boolean. Received: unroll={unroll!r}")
    if xs is None and length is None:
        raise ValueError("ops.scan: got no `xs` to scan over and `length` not provided; pass one of them.")
    carry = pytree.tree_map(convert_to_tensor, init)
    if xs is None:
        leaves, tree, n = [], None, int(length)
    else:
        leaves, tree = pytree.tree_flatten(xs)
        leaves = [convert_to_tensor(leaf) for leaf in leaves]
        n = int(length) if length is not None else leaves[0].shape[0]
    no_y = [torch.zeros_like(leaf) for leaf in pytree.tree_leaves(carry)]  # Keras stacks these for y=None
    ys = []
    for i in (range(n - 1, -1, -1) if reverse else range(n)):
        x = pytree.tree_unflatten([leaf[i] for leaf in leaves], tree) if tree is not None else None
        carry, y = f(carry, x)
        ys.append(no_y if y is None else y)
    if reverse:
        ys.reverse()
    return carry, _stack_results(ys, "ops.scan")


def _map_spec(f: Any, xs: Any) -> Any:
    return _mapped_spec(f, xs, "ops.map: f")


@keras_op("Map", "core", spec=_map_spec)
def map(f: Callable[[Any], Any], xs: Any) -> Any:  # noqa: A001  (Keras's name)
    """``f`` applied to each slice of ``xs`` along its first axis, the results stacked."""
    leaves, tree = pytree.tree_flatten(xs)
    leaves = [convert_to_tensor(leaf) for leaf in leaves]
    n = leaves[0].shape[0]
    return _stack_results([f(pytree.tree_unflatten([leaf[i] for leaf in leaves], tree)) for i in range(n)],
                          "ops.map")


def _vmap_spec(elements: Any, function: Any) -> Any:
    return _mapped_spec(function, elements, "ops.vectorized_map: function")


@keras_op("VectorizedMap", "core", init=("function",), spec=_vmap_spec)
def vectorized_map(function: Callable[[Any], Any], elements: Any) -> Any:
    """``function`` applied to each slice of ``elements`` along axis 0, vectorized by ``torch.vmap``;
    a function vmap cannot batch (one that reads values on the host) runs in a loop instead."""
    elements = pytree.tree_map(convert_to_tensor, elements)
    try:
        return torch.vmap(function)(elements)
    except RuntimeError as vmap_error:
        leaves, tree = pytree.tree_flatten(elements)
        if not leaves or leaves[0].shape[0] == 0:
            raise vmap_error
        results = [function(pytree.tree_unflatten([leaf[i] for leaf in leaves], tree))
                   for i in range(leaves[0].shape[0])]
        return _stack_results(results, "ops.vectorized_map")


def _switch_spec(index: Any, branches: Any, *operands: Any) -> Any:
    return symbolic_spec(branches[0], operands, {}, "ops.switch: branches[0]")


@keras_op("Switch", "core", spec=_switch_spec)
def switch(index: Any, branches: Any, *operands: Any) -> Any:
    """``branches[index](*operands)``, ``index`` clipped into ``[0, len(branches) - 1]``."""
    if on_meta():
        return branches[0](*operands)
    i = int(convert_to_tensor(index, "int32"))
    return branches[min(max(i, 0), len(branches) - 1)](*operands)


# ------------------------------------------------------------------------------------- associative scan
def _along(x: torch.Tensor, axis: int, start: int, stop: Any = None, step: int = 1) -> torch.Tensor:
    index = [builtins.slice(None)] * x.dim()
    index[axis] = builtins.slice(start, stop, step)
    return x[tuple(index)]


def _interleave(evens: torch.Tensor, odds: torch.Tensor, axis: int) -> torch.Tensor:
    """``[e0, o0, e1, o1, ...]`` along ``axis`` (``evens`` may be one longer than ``odds``)."""
    m = odds.shape[axis]
    paired = torch.stack([evens.narrow(axis, 0, m), odds], dim=axis + 1).flatten(axis, axis + 1)
    if evens.shape[axis] == m:
        return paired
    return torch.cat([paired, evens.narrow(axis, m, evens.shape[axis] - m)], dim=axis)


def _prefix_scan(combine: Callable[[list, list], list], xs: list, axis: int) -> list:
    """All prefix combinations of ``xs`` along ``axis``: pair neighbours, scan the pairs (half as
    many), then fill the even positions from the scanned odd ones (Blelloch's parallel scan)."""
    n = xs[0].shape[axis]
    if n < 2:
        return xs
    odds = _prefix_scan(combine, combine([_along(x, axis, 0, -1, 2) for x in xs],
                                         [_along(x, axis, 1, None, 2) for x in xs]), axis)
    left = [_along(o, axis, 0, -1) for o in odds] if n % 2 == 0 else odds
    evens = combine(left, [_along(x, axis, 2, None, 2) for x in xs])
    evens = [torch.cat([_along(x, axis, 0, 1), e], dim=axis) for x, e in zip(xs, evens)]
    return [_interleave(e, o, axis) for e, o in zip(evens, odds)]


@keras_op("AssociativeScan", "core", init=("reverse", "axis"))
def associative_scan(f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """The running combination ``[a, f(a, b), f(f(a, b), c), ...]`` of ``elems`` along ``axis`` for
    an associative ``f``, computed in O(log n) rounds of element-wise ``f`` calls."""
    _check_callable(f, "ops.associative_scan")
    leaves, tree = pytree.tree_flatten(elems)
    leaves = [convert_to_tensor(leaf) for leaf in leaves]
    if leaves[0].dim() == 0:
        raise ValueError("ops.associative_scan: `elems` must have at least one axis to scan along; received a "
                         "scalar.")
    axis = axis % leaves[0].dim()
    sizes = [leaf.shape[axis] for leaf in leaves]
    if len(set(sizes)) != 1:
        raise ValueError("ops.associative_scan: every array in `elems` must have the same size along `axis` "
                         f"{axis}. Received shapes: {[tuple(leaf.shape) for leaf in leaves]}")
    if reverse:
        leaves = [torch.flip(leaf, (axis,)) for leaf in leaves]

    def combine(a: list, b: list) -> list:
        out = f(pytree.tree_unflatten(a, tree), pytree.tree_unflatten(b, tree))
        return [convert_to_tensor(leaf) for leaf in pytree.tree_leaves(out)]

    out = _prefix_scan(combine, leaves, axis)
    if reverse:
        out = [torch.flip(leaf, (axis,)) for leaf in out]
    return pytree.tree_unflatten(out, tree)


# ------------------------------------------------------------------------------------- scatter and slices
def _index_tuple(indices: torch.Tensor) -> tuple:
    return tuple(indices.long().unbind(-1))


def _scatter_spec(indices: Any, values: Any, shape: Any) -> KerasTensor:
    return KerasTensor(tuple(shape), dtype=_spec(values).dtype)


@keras_op("Scatter", "core", init=("shape",), spec=_scatter_spec)
def scatter(indices: Any, values: Any, shape: Any) -> torch.Tensor:
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (repeated indices add up)."""
    indices = convert_to_tensor(indices)
    values = convert_to_tensor(values)
    k = indices.shape[-1]
    out = torch.zeros(tuple(shape), dtype=values.dtype, device=values.device)
    indices = indices.reshape(-1, k)
    values = values.reshape(-1, *tuple(shape)[k:])
    return out.index_put_(_index_tuple(indices), values, accumulate=True)


_REDUCTIONS = {"max": "amax", "min": "amin", "mul": "prod"}


def _flat_positions(indices: torch.Tensor, lead: tuple) -> torch.Tensor:
    """Row-major positions of the index rows in a tensor of shape ``lead`` (negative indices wrap)."""
    if not on_meta():
        limits = torch.tensor(lead, device=indices.device)
        if bool(((indices >= limits) | (indices < -limits)).any()):
            raise IndexError(f"ops.scatter_update: an index in `indices` is out of bounds for the updated axes of "
                             f"size {list(lead)}.")
    flat = torch.zeros(indices.shape[0], dtype=torch.long, device=indices.device)
    for j, size in enumerate(lead):
        flat = flat * size + indices[:, j] % size
    return flat


def _reduce_into(out: torch.Tensor, indices: torch.Tensor, updates: torch.Tensor, reduction: str) -> torch.Tensor:
    k = indices.shape[-1]
    lead, rest = tuple(out.shape[:k]), tuple(out.shape[k:])
    work = out.to(torch.uint8) if out.dtype == torch.bool else out
    rows = work.reshape(-1, int(np.prod(rest, dtype=np.int64)))
    updates = updates.to(work.dtype).broadcast_to((indices.shape[0], *rest)).reshape(indices.shape[0], -1)
    where = _flat_positions(indices, lead)[:, None].expand_as(updates)
    rows = rows.scatter_reduce(0, where, updates, _REDUCTIONS[reduction], include_self=True)
    return rows.reshape(out.shape).to(out.dtype)


def _check_reduction(reduction: Any) -> Any:
    if reduction is None:
        return None
    name = reduction.lower() if isinstance(reduction, str) else reduction
    if name not in ("add", "max", "min", "mul"):
        raise ValueError(f"ops.scatter_update: invalid reduction: {reduction!r}. Supported values are: None, 'add', "
                         "'max', 'min', 'mul'.")
    return name


@keras_op("ScatterUpdate", "core", init=("reduction",))
def scatter_update(inputs: Any, indices: Any, updates: Any, reduction: Any = None) -> torch.Tensor:
    """A copy of ``inputs`` with ``updates`` written at the ``(N, k)`` ``indices`` (each row names an
    element, or a slice when ``k < inputs.ndim``); ``reduction`` ("add", "max", "min", "mul")
    combines repeated indices and the old value instead of overwriting."""
    reduction = _check_reduction(reduction)
    inputs = convert_to_tensor(inputs)
    indices = convert_to_tensor(indices).long()
    updates = convert_to_tensor(updates, dtype=inputs.dtype)
    out = torch.clone(inputs)
    if reduction is None:
        out[_index_tuple(indices)] = updates
        return out
    if reduction == "add":
        return out.index_put_(_index_tuple(indices), updates, accumulate=True)
    return _reduce_into(out, indices, updates, reduction)


def _all_ints(values: Any) -> bool:
    return isinstance(values, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _slice_spec(inputs: Any, start_indices: Any, shape: Any) -> KerasTensor:
    in_shape = _spec(inputs).shape
    if len(shape) != len(in_shape):
        raise ValueError("ops.slice: the number of dimensions in `inputs` must match the number of dimensions in "
                         f"`shape`. Received inputs.shape={in_shape} and shape={shape}")
    if hasattr(start_indices, "__len__") and len(start_indices) != len(in_shape):
        raise ValueError("ops.slice: the number of dimensions in `start_indices` must match the number of "
                         f"dimensions in `inputs`. Received start_indices={start_indices} and inputs.shape={in_shape}")
    out = []
    for i, (dim, size) in enumerate(zip(in_shape, shape)):
        if size != -1:
            out.append(size)
        elif isinstance(start_indices, KerasTensor) or dim is None:
            out.append(None)
        else:
            out.append(dim - int(start_indices[i]))
    return KerasTensor(tuple(out), dtype=_spec(inputs).dtype)


@keras_op("Slice", "core", init=("shape",), spec=_slice_spec)
def slice(inputs: Any, start_indices: Any, shape: Any) -> torch.Tensor:  # noqa: A001  (Keras's name)
    """``inputs[start : start + size]`` on each axis; a size of -1 takes the rest of the axis.
    ``start_indices`` may be a tensor (read on the host)."""
    inputs = convert_to_tensor(inputs)
    if not _all_ints(start_indices):
        start_indices = [int(s) for s in convert_to_tensor(start_indices)]
    sizes = [int(n) for n in (shape.tolist() if isinstance(shape, (np.ndarray, torch.Tensor)) else shape)]
    return inputs[tuple(builtins.slice(s, None if n == -1 else s + n) for s, n in zip(start_indices, sizes))]


def _slice_update_spec(inputs: Any, start_indices: Any, updates: Any) -> KerasTensor:
    return _spec(inputs)


@keras_op("SliceUpdate", "core", spec=_slice_update_spec)
def slice_update(inputs: Any, start_indices: Any, updates: Any) -> torch.Tensor:
    """A copy of ``inputs`` with the block at ``start_indices`` (the size of ``updates``) replaced by ``updates``."""
    inputs = convert_to_tensor(inputs)
    updates = convert_to_tensor(updates)
    out = torch.clone(inputs)
    if _all_ints(start_indices):
        out[tuple(builtins.slice(s, s + n) for s, n in zip(start_indices, updates.shape))] = updates
        return out
    block = out
    for axis, start in enumerate(convert_to_tensor(start_indices).long()):
        block = block.narrow(axis, start, updates.shape[axis])
    block.copy_(updates)
    return out


# ------------------------------------------------------------------------------------- gradients and stacking
@keras_op("StopGradient", "core")
def stop_gradient(variable: Any) -> torch.Tensor:
    """``variable``'s value, cut from the autograd graph."""
    return convert_to_tensor(variable).detach()


def _unstack_spec(x: Any, num: Any = None, axis: int = 0) -> list:
    s = _spec(x)
    axis = axis % len(s.shape)
    count = s.shape[axis] if num is None else num
    if count is None:
        raise ValueError(f"ops.unstack: cannot infer `num` from shape {s.shape}. Either provide a tensor with a "
                         "known size on `axis`, or pass `num` explicitly.")
    rest = s.shape[:axis] + s.shape[axis + 1:]
    return [KerasTensor(rest, dtype=s.dtype) for _ in range(count)]


@keras_op("Unstack", "core", init=("num", "axis"), spec=_unstack_spec)
def unstack(x: Any, num: Any = None, axis: int = 0) -> tuple:
    """The slices of ``x`` along ``axis``, as a tuple of tensors (``num`` is only needed symbolically)."""
    return convert_to_tensor(x).unbind(axis)


class _CustomGradient(torch.autograd.Function):
    """Runs ``f`` (returning a checked ``(output, grad_fn)``) forward; asks ``grad_fn`` for the input gradients."""

    @staticmethod
    def forward(ctx: Any, f: Callable[..., Any], kwargs: dict, *args: Any) -> Any:
        output, ctx.grad_fn = f(*args, **kwargs)
        leaves, ctx.tree = pytree.tree_flatten(output)
        ctx.is_tensor = [isinstance(a, torch.Tensor) for a in args]
        ctx.others = [None if t else a for a, t in zip(args, ctx.is_tensor)]
        ctx.save_for_backward(*[a for a in args if isinstance(a, torch.Tensor)])
        return tuple(leaves) if len(leaves) != 1 else leaves[0]

    @staticmethod
    def backward(ctx: Any, *upstream_leaves: torch.Tensor) -> tuple:
        saved = iter(ctx.saved_tensors)
        args = [next(saved) if t else a for a, t in zip(ctx.others, ctx.is_tensor)]
        upstream = pytree.tree_unflatten(list(upstream_leaves), ctx.tree)
        grads = _call_grad_fn(ctx.grad_fn, args, upstream)
        grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
        if len(grads) != len(args):
            raise ValueError(f"ops.custom_gradient: grad_fn returned {len(grads)} gradient(s) for {len(args)} "
                             "input(s); return one gradient per positional argument of the decorated function.")
        grads = tuple(convert_to_tensor(g) if t and g is not None else None for g, t in zip(grads, ctx.is_tensor))
        return (None, None, *grads)


def _call_grad_fn(grad_fn: Callable[..., Any], args: list, upstream: Any) -> Any:
    """Keras's torch calling convention ``grad_fn(*args, upstream=...)``; a JAX/TF-style
    ``grad_fn(upstream)`` that cannot take that call is called with the upstream gradient alone."""
    try:
        inspect.signature(grad_fn).bind(*args, upstream=upstream)
    except TypeError:
        return grad_fn(upstream)
    except ValueError:  # no signature (a builtin): use Keras's convention
        pass
    return grad_fn(*args, upstream=upstream)


def custom_gradient(f: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: ``f(*args)`` returns ``(output, grad_fn)``; the decorated function returns ``output``
    and, under autograd, takes its input gradients from ``grad_fn(*args, upstream=g)`` (one per
    positional argument; ``None`` for non-tensor ones). ``output`` may be a nested structure.
    Keyword arguments reach ``f`` but get no gradient. On KerasTensors it just runs ``f`` forward."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if any_symbolic(args, kwargs):
            return f(*args, **kwargs)[0]
        tree_box: list = []

        def forward(*fargs: Any, **fkwargs: Any) -> Any:
            output, grad_fn = _checked_pair(f(*fargs, **fkwargs), f)
            tree_box.append(pytree.tree_flatten(output)[1])
            return output, grad_fn

        out = _CustomGradient.apply(forward, kwargs, *args)
        leaves = list(out) if isinstance(out, tuple) and tree_box[0].num_leaves != 1 else [out]
        return pytree.tree_unflatten(leaves, tree_box[0])

    return wrapper


def _checked_pair(result: Any, f: Callable[..., Any]) -> tuple:
    if not isinstance(result, (tuple, list)) or len(result) != 2 or not callable(result[1]):
        raise ValueError(f"ops.custom_gradient: the decorated function {getattr(f, '__name__', f)!r} must return a "
                         f"pair (output, grad_fn). Received: {type(result).__name__}")
    return result[0], result[1]
