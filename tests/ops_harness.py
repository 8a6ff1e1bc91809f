"""The oracle for ``initium.ops``: run an op under initium and under real Keras (torch backend) and
compare values, dtypes and symbolic output specs.

Table-driven tests (tests/test_ops_*.py) declare, per op name, a list of ``Case``s; ``run_case``
calls ``initium.ops.<name>`` and ``keras.ops.<name>`` on the same inputs (numpy arrays are handed
to both; each converts them its own way) and requires:

- the same structure (tensor, tuple/list of tensors, Python value);
- the same dtype name per tensor (Keras's names: ``"float32"``, ``"int32"``, ...);
- the same shape, and values equal within the case's tolerance (float: ``rtol`` relative plus
  ``atol``; NaNs in the same places; integers and bools exactly);
- or, when Keras raises, an exception of the same type from initium (``Case(raises=True)``).

``run_symbolic`` builds the op on KerasTensors of each library and compares output shapes and
dtypes (Keras's ``compute_output_spec`` against initium's meta-tensor run).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
from keras import ops as kops  # noqa: E402

import initium  # noqa: E402
from initium import ops as iops  # noqa: E402

RNG = np.random.default_rng(0)


@dataclasses.dataclass
class Case:
    """One call: ``args``/``kwargs`` (numpy arrays, Python values, or callables ``lib -> value``
    for arguments that must be built per library, e.g. a function that calls ``lib.ops``)."""

    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    rtol: float = 1e-6
    atol: float = 1e-6
    raises: bool = False  # Keras raises: initium must raise the same type
    note: str = ""  # why a tolerance is looser, or what the case covers

    def id(self) -> str:
        def brief(v: Any) -> str:
            if isinstance(v, np.ndarray):
                return f"{v.dtype}{list(v.shape)}"
            if callable(v):
                return getattr(v, "__name__", "fn")
            return repr(v)[:20]

        parts = [brief(a) for a in self.args] + [f"{k}={brief(v)}" for k, v in self.kwargs.items()]
        return ",".join(parts) or "noargs"


def arr(shape: tuple, dtype: str = "float32", low: float = -3.0, high: float = 3.0) -> np.ndarray:
    """A reproducible random array: floats uniform in [low, high), ints in [low, high], bools 50/50."""
    if dtype == "bool":
        return RNG.random(shape) < 0.5
    if "int" in dtype:
        return RNG.integers(int(low), int(high) + 1, size=shape).astype(dtype)
    return RNG.uniform(low, high, size=shape).astype(dtype)


def positive(shape: tuple, dtype: str = "float32") -> np.ndarray:
    return arr(shape, dtype, 0.1, 3.0)


class _Lib:
    def __init__(self, name: str, ops: Any, module: Any) -> None:
        self.name, self.ops, self.module = name, ops, module


KERAS = _Lib("keras", kops, keras)
INITIUM = _Lib("initium", iops, initium)


def _resolve(value: Any, lib: _Lib) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if callable(value) and getattr(value, "_per_lib", False):
        return value(lib)
    if isinstance(value, list):
        return [_resolve(v, lib) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolve(v, lib) for v in value)
    return value


def per_lib(fn: Callable[[_Lib], Any]) -> Callable[[_Lib], Any]:
    """Mark ``fn(lib)`` as an argument built separately for each library."""
    fn._per_lib = True  # type: ignore[attr-defined]
    return fn


def _get(ops_ns: Any, name: str) -> Callable[..., Any]:
    obj = ops_ns
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _call(lib: _Lib, name: str, case: Case) -> Any:
    args = tuple(_resolve(a, lib) for a in case.args)
    kwargs = {k: _resolve(v, lib) for k, v in case.kwargs.items()}
    return _get(lib.ops, name)(*args, **kwargs)


def _dtype_name(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return initium.backend.standardize_dtype(x.dtype)
    return type(x).__name__


def assert_same(name: str, ours: Any, theirs: Any, case: Case, where: str = "") -> None:
    label = f"ops.{name}({case.id()}){where}"
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)), f"{label}: Keras returns a {type(theirs).__name__}, initium {type(ours).__name__}"
        assert len(ours) == len(theirs), f"{label}: {len(theirs)} outputs in Keras, {len(ours)} in initium"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_same(name, o, t, case, f"{where}[{i}]")
        return
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), f"{label}: dict keys differ"
        for k in theirs:
            assert_same(name, ours[k], theirs[k], case, f"{where}[{k!r}]")
        return
    if not isinstance(theirs, (torch.Tensor, np.ndarray)):
        assert not isinstance(ours, torch.Tensor) or ours.dim() == 0, f"{label}: Keras returns {theirs!r}, initium a tensor"
        o = ours.item() if isinstance(ours, torch.Tensor) else ours
        if isinstance(theirs, float) and math.isnan(theirs):
            assert isinstance(o, float) and math.isnan(o), f"{label}: {o!r} != nan"
        else:
            assert o == theirs or (isinstance(theirs, float) and math.isclose(o, theirs, rel_tol=case.rtol, abs_tol=case.atol)), \
                f"{label}: {o!r} != {theirs!r}"
        return
    t_np = theirs if isinstance(theirs, np.ndarray) else theirs.detach().cpu()
    assert isinstance(ours, (torch.Tensor, np.ndarray)), f"{label}: Keras returns a tensor, initium {type(ours).__name__}"
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, torch.Tensor), f"{label}: Keras returns a torch tensor, initium {type(ours).__name__}"
        assert _dtype_name(ours) == _dtype_name(theirs), f"{label}: dtype {_dtype_name(ours)} != Keras's {_dtype_name(theirs)}"
        t_np = theirs.detach().cpu().resolve_conj()
        t_np = (t_np.float() if t_np.dtype == torch.bfloat16 else t_np).numpy()
        o = ours.detach().cpu().resolve_conj()
        o_np = (o.float() if o.dtype == torch.bfloat16 else o).numpy()
    else:
        assert ours.dtype == theirs.dtype, f"{label}: numpy dtype {ours.dtype} != Keras's {theirs.dtype}"
        o_np = ours
    assert o_np.shape == t_np.shape, f"{label}: shape {o_np.shape} != Keras's {t_np.shape}"
    if t_np.dtype.kind in "fc":
        np.testing.assert_allclose(o_np, t_np, rtol=case.rtol, atol=case.atol, equal_nan=True, err_msg=label)
    else:
        np.testing.assert_array_equal(o_np, t_np, err_msg=label)


def run_case(name: str, case: Case) -> None:
    """Compare ``initium.ops.<name>`` with ``keras.ops.<name>`` on ``case``."""
    try:
        theirs = _call(KERAS, name, case)
    except Exception as e:  # noqa: BLE001  (any Keras error: initium must raise the same type)
        if not case.raises:
            raise AssertionError(f"Keras raised on ops.{name}({case.id()}) ({type(e).__name__}: {e}); "
                                 "mark the case raises=True if that is the point") from e
        with pytest.raises(type(e)):
            _call(INITIUM, name, case)
        return
    assert not case.raises, f"ops.{name}({case.id()}): the case says Keras raises, but it returned {theirs!r}"
    ours = _call(INITIUM, name, case)
    assert_same(name, ours, theirs, case)


@dataclasses.dataclass
class Sym:
    """A symbolic input: shape (``None`` for unknown sizes) and dtype."""

    shape: tuple
    dtype: str = "float32"


def _symbolic_args(value: Any, lib: _Lib) -> Any:
    if isinstance(value, Sym):
        return lib.module.KerasTensor(value.shape, dtype=value.dtype) if lib is KERAS else \
            initium.KerasTensor(value.shape, dtype=value.dtype)
    if isinstance(value, list):
        return [_symbolic_args(v, lib) for v in value]
    if isinstance(value, tuple):
        return tuple(_symbolic_args(v, lib) for v in value)
    return _resolve(value, lib)


def _specs(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_specs(e) for e in x]
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, (torch.Tensor, np.ndarray)):
        return (tuple(x.shape), initium.backend.standardize_dtype(x.dtype))
    return x


def run_symbolic(name: str, *args: Any, **kwargs: Any) -> None:
    """Compare the output shapes/dtypes of the op on KerasTensors (``Sym``) in both libraries."""
    theirs = _get(KERAS.ops, name)(*_symbolic_args(args, KERAS), **{k: _symbolic_args(v, KERAS) for k, v in kwargs.items()})
    ours = _get(INITIUM.ops, name)(*_symbolic_args(args, INITIUM), **{k: _symbolic_args(v, INITIUM) for k, v in kwargs.items()})
    assert _specs(ours) == _specs(theirs), f"symbolic ops.{name}: initium {_specs(ours)} != Keras {_specs(theirs)}"


def params(table: dict[str, list[Case]]) -> list[Any]:
    """``pytest.mark.parametrize`` arguments for ``(name, case)`` over a table, with readable ids."""
    return [pytest.param(name, case, id=f"{name}-{case.id()}") for name, cases in table.items() for case in cases]
