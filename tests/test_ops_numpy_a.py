"""Parity of ``initium.ops.numpy`` (Keras's names A to L) with Keras 3.15.1 on its torch backend.

Table-driven (see tests/ops_harness.py): every op runs under initium and under real Keras on the
same inputs, and the values, dtypes, shapes and errors must agree; a symbolic case per op compares
the output specs on KerasTensors; the signatures must equal Keras's. Where initium deliberately
departs from Keras's torch backend (its eager result disagrees with its own symbolic spec and with
NumPy), the case is checked against NumPy instead, in the tests at the end.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from ops_harness import (INITIUM, KERAS, Case, Sym, _symbolic_args, arr, params, per_lib, positive, run_case,
                         run_symbolic)

from initium import KerasTensor
from initium.ops import numpy as inumpy

# Keras's own torch code warns about torch deprecations it uses (count_nonzero's .T, cross without dim).
pytestmark = pytest.mark.filterwarnings("ignore:.*(Tensor.T|x.T|torch.cross without specifying):UserWarning")

# This file covers ops.numpy's names A to L; tests/test_ops_numpy_b.py covers M to Z.
NAMES = [n for n in inumpy.__all__ if n[0] <= "l"]


# ------------------------------------------------------------------------------------- case batteries
def unary(low: float = -3.0, high: float = 3.0, int64: bool = False) -> list:
    """An element-wise op of one tensor: 2-D, empty, 0-d, float64, int32, bool (and int64)."""
    cases = [Case((arr((2, 3), "float32", low, high),)), Case((arr((0, 4), "float32", low, high),)),
             Case((arr((), "float32", low, high),)), Case((arr((3,), "float64", low, high),)),
             Case((arr((2, 2), "int32", low, high),)), Case((arr((4,), "bool"),))]
    if int64:
        cases.append(Case((arr((3,), "int64", low, high),)))
    return cases


def binary(low: float = -3.0, high: float = 3.0, bools: bool = True) -> list:
    """An element-wise op of two tensors: broadcasting, Python scalars (weak types), empty, 0-d,
    mixed dtypes, int pairs, and a bool pair (``bools=False``: Keras refuses it)."""
    a = lambda shape, dtype="float32": arr(shape, dtype, low, high)  # noqa: E731
    return [
        Case((a((2, 3)), a((3,)))), Case((a((2, 1, 3)), a((4, 1)))), Case((a((2, 3)), 2.5)), Case((2, a((3,)))),
        Case((a((0, 3)), a((3,)))), Case((a(()), a(()))), Case((a((3,), "float64"), a((3,)))),
        Case((a((2, 3), "int32"), a((3,), "float32"))), Case((a((2, 3), "int32"), a((2, 3), "int32"))),
        Case((a((3,), "int8"), 2)),
        Case((a((4,), "bool"), a((4,), "bool")), raises=not bools),
    ]


def integer_binary(low: int = -20, high: int = 20) -> list:
    """An op defined on integers only (gcd, bitwise): int pairs, broadcasting, scalars, bools; floats refused."""
    return [
        Case((arr((2, 3), "int32", low, high), arr((3,), "int32", low, high))),
        Case((arr((3,), "int8", low, high), 6)), Case((arr((2, 2), "int64", low, high), arr((2, 2), "int16", low, high))),
        Case((arr((0, 3), "int32"), arr((3,), "int32"))), Case((arr((), "uint8", 0, 9), arr((), "uint8", 0, 9))),
        Case((arr((3,)), arr((3,))), raises=True),
    ]


def reduction() -> list:
    """A reduction: every kind of ``axis`` (None, int, negative, tuple, empty), ``keepdims``, int32,
    bool, 0-d, and an axis out of range."""
    cases = [Case((arr((2, 3, 4)),), {"axis": ax}) for ax in (None, 0, -1, (0, 1), ())]
    return cases + [Case((arr((2, 3, 4)),), {"axis": 1, "keepdims": True}), Case((arr((3, 4), "int32"),), {"axis": 0}),
                    Case((arr((5,), "bool"),)), Case((arr(()),)), Case((arr((2, 3, 4)),), {"axis": 3}, raises=True)]


def _with(cases: list, **tolerances: float) -> list:
    for case in cases:
        for k, v in tolerances.items():
            setattr(case, k, v)
    return cases


def floats(*values: float, dtype: str = "float32") -> np.ndarray:
    return np.array(values, dtype=dtype)


def tensor(value: np.ndarray) -> object:
    """A torch tensor argument (for ops Keras applies to tensors without converting, like get_item)."""
    return per_lib(lambda lib: torch.as_tensor(value.copy()))


SPECIALS = floats(0.0, -0.0, np.inf, -np.inf, np.nan, 1.5, -2.0)

# ------------------------------------------------------------------------------------- the table
TABLE: dict[str, list[Case]] = {
    # arithmetic
    "add": binary(),
    "divide": binary() + [Case((arr((3,), "int32"), 0)), Case((arr((3,)), floats(0.0, 1.0, -0.0)))],
    "divide_no_nan": binary() + [Case((arr((3,)), floats(0.0, 2.0, 0.0))), Case((arr((3,), "int32"), 0))],
    "floor_divide": [Case((arr((2, 3)), positive((3,)))), Case((arr((2, 3), "int32", -9, 9), arr((3,), "int32", 1, 4))),
                     Case((arr((3,), "int8", -9, 9), 2)), Case((arr((3,)), 2.5)), Case((arr((0, 3)), positive((3,)))),
                     Case((arr(()), positive(()))), Case((arr((4,), "bool"), arr((4,), "bool")), raises=True)],
    "fmod": [Case((arr((2, 3)), positive((3,)))), Case((arr((2, 3), "int32", -9, 9), arr((3,), "int32", 1, 4))),
             Case((arr((3,), "int8", -9, 9), 2)), Case((arr((0, 3)), positive((3,)))), Case((arr(()), positive(()))),
             Case((np.array([True, False, True]), np.array([True, True, True])))],
    "absolute": unary() + [Case((arr((3,), "int8"),))],
    "abs": unary(),
    "fabs": unary() + [Case((np.array([1 + 2j, -3j], dtype="complex64"),), raises=True)],
    "fmax": binary() + [Case((SPECIALS, floats(1.0, np.nan, 0.0, np.nan, 2.0, np.nan, -3.0)))],
    "fmin": binary() + [Case((SPECIALS, floats(1.0, np.nan, 0.0, np.nan, 2.0, np.nan, -3.0)))],
    "gcd": integer_binary(),
    "lcm": integer_binary(-9, 9),
    "heaviside": binary() + [Case((floats(-1.0, 0.0, 2.0), 0.5)), Case((arr((3,), "int64"), arr((3,), "int64")))],
    "hypot": binary(bools=False) + [Case((arr((3,), "int64"), arr((3,), "int64")))],
    "ldexp": [Case((arr((2, 3)), arr((3,), "int32", -4, 4))), Case((arr((3,), "int32"), arr((3,), "int8", 0, 4))),
              Case((arr((0, 3)), arr((3,), "int32"))), Case((arr(()), arr((), "int32"))), Case((arr((3,)), 3)),
              Case((arr((3,)), arr((3,))), raises=True)],
    "logaddexp": binary() + [Case((arr((3,), "float16"), arr((3,), "float16")), rtol=1e-3, note="float16 result")],
    "logaddexp2": binary(),
    "arctan2": binary() + [Case((arr((3,), "float16"), arr((3,), "float16")), rtol=1e-3, note="float16 result"),
                           Case((floats(0.0, -0.0, 1.0, -1.0), floats(-0.0, -1.0, 0.0, 0.0)))],
    # unary math
    "exp": unary() + [Case((arr((3,), "float16"),), rtol=1e-3, note="float16 result")],
    "exp2": unary(),
    "expm1": unary() + [Case((floats(1e-8, -1e-7, 0.0),))],
    "log": unary(0.1, 5.0) + [Case((SPECIALS,))],
    "log10": unary(0.1, 5.0),
    "log1p": unary(-0.9, 5.0) + [Case((floats(1e-8, -1e-7, -1.0),))],
    "log2": unary(0.1, 5.0),
    "cos": unary(),
    "cosh": unary(),
    "arccos": unary(-1.0, 1.0) + [Case((floats(-1.5, 2.0),))],
    "arccosh": unary(1.0, 4.0),
    "arcsin": unary(-1.0, 1.0),
    "arcsinh": unary(),
    "arctan": unary(),
    "arctanh": unary(-0.99, 0.99) + [Case((floats(1.0, -1.0, 2.0),))],
    "cbrt": unary(int64=True) + [Case((floats(-27.0, 8.0, 0.0),))],
    "deg2rad": unary(-360, 360, int64=True),
    "i0": unary(int64=True),
    "ceil": unary(int64=True) + [Case((arr((3,), "float16"),))],
    "floor": unary(int64=True),
    "clip": [Case((arr((2, 3)), -1.0, 1.0)), Case((arr((2, 3), "int32"), -1, 2)), Case((arr((2, 3), "int32"), -1.5, 2.5)),
             Case((arr((4,), "bool"), 0, 1)), Case((arr((0, 3)), 0.0, 1.0)), Case((arr(()), 0.0, 1.0)),
             Case((arr((2, 3)),), {"x_min": arr((3,)) - 1, "x_max": arr((3,)) + 1})],
    # complex
    "angle": unary() + [Case((np.array([1 + 1j, -1 + 0j, -2j], dtype="complex64"),))],
    "conjugate": [Case((np.array([1 + 1j, -2j], dtype="complex64"),)), Case((arr((2, 3)),)), Case((arr((3,), "int32"),)),
                  Case((arr((0, 2)),)), Case((arr(()),))],
    "conj": [Case((np.array([[1 + 1j, -2j]], dtype="complex64"),)), Case((arr((2, 3)),)), Case((arr((4,), "bool"),))],
    "imag": [Case((np.array([1 + 1j, -2j], dtype="complex64"),)), Case((np.zeros((0, 2), dtype="complex64"),)),
             Case((arr((2, 3)),), raises=True)],
    "isreal": [Case((np.array([1 + 1j, -2 + 0j], dtype="complex64"),)), Case((arr((2, 3)),)), Case((arr((3,), "int32"),)),
               Case((arr((0,)),)), Case((arr(()),))],
    # comparisons
    "equal": binary(-2, 2) + [Case((SPECIALS, SPECIALS))],
    "greater": binary(-2, 2),
    "greater_equal": binary(-2, 2),
    "less": binary(-2, 2),
    "less_equal": binary(-2, 2),
    "isclose": binary() + [
        Case((floats(1.0, 1.0, np.nan), floats(1.000001, 1.1, np.nan)), {"equal_nan": True}),
        Case((floats(1.0, 1.0, np.nan), floats(1.000001, 1.1, np.nan)), {"rtol": 0.2, "atol": 0.0}),
        Case((np.array([1, 2, 3]), np.array([1, 2, 4])))],
    "allclose": [Case((arr((2, 3)), arr((3,)))), Case((floats(1.0, 2.0), floats(1.000001, 2.0)))] + [
        Case((floats(1.0, 1.0, np.nan), floats(1.05, 1.1, np.nan)), {"rtol": 0.2, "equal_nan": eq}) for eq in (True, False)] + [
        Case((np.array([1, 2]), np.array([1, 2]))), Case((arr((0,)), arr((0,)))), Case((arr(()), 1.0)),
        Case((arr((4,), "bool"), arr((4,), "bool")))],
    "isfinite": unary() + [Case((SPECIALS,))],
    "isinf": unary() + [Case((SPECIALS,))],
    "isnan": unary() + [Case((SPECIALS,))],
    "isneginf": unary() + [Case((SPECIALS,))],
    "isposinf": unary() + [Case((SPECIALS,))],
    "isin": [Case((arr((2, 3), "int32"), arr((4,), "int32"))), Case((arr((2, 3), "int32"), arr((2, 2), "int32")), {"invert": True}),
             Case((floats(1.0, 2.0, 3.5), floats(3.5, 1.0))), Case((np.array([True, False]), np.array([True]))),
             Case((np.array([0, 1, 2]), np.array([True]))), Case((np.array([True, False]), np.array([1, 5]))),
             Case((arr((0,), "int32"), arr((3,), "int32"))), Case((arr((), "int32"), arr((3,), "int32"))),
             Case((np.array([1, 2, 3]), np.array([3, 4])), {"assume_unique": True})],
    # logic and bits
    "logical_and": binary(),
    "logical_or": binary(),
    "logical_xor": binary(),
    "logical_not": unary(-1, 1),
    "bitwise_and": integer_binary() + [Case((np.array([True, False]), np.array([True, True])))],
    "bitwise_or": integer_binary(),
    "bitwise_xor": integer_binary(),
    "bitwise_invert": [Case((arr((2, 3), "int32"),)), Case((arr((3,), "uint8", 0, 255),)), Case((arr((4,), "bool"),)),
                       Case((arr((0,), "int8"),)), Case((arr((), "int64"),)), Case((arr((3,)),), raises=True)],
    "bitwise_not": [Case((arr((2, 3), "int16"),)), Case((arr((4,), "bool"),)), Case((arr((3,)),), raises=True)],
    "bitwise_left_shift": [Case((arr((2, 3), "int32", 0, 9), arr((3,), "int32", 0, 4))), Case((arr((3,), "int8", -9, 9), 2)),
                           Case((arr((3,), "int32"), arr((3,), "int8", 0, 3))), Case((arr((0,), "int32"), 1)),
                           Case((arr((3,)), 1), raises=True)],
    "bitwise_right_shift": [Case((arr((2, 3), "int32", -99, 99), arr((3,), "int32", 0, 4))),
                            Case((arr((3,), "uint8", 0, 255), 3)), Case((arr((), "int16", -9, 9), 1)),
                            Case((arr((3,)), 1), raises=True)],
    "left_shift": [Case((arr((2, 3), "int32", 0, 9), arr((3,), "int32", 0, 4))), Case((arr((3,), "int8", -9, 9), 2)),
                   Case((arr((0,), "int32"), 1)), Case((arr((3,)), 1), raises=True)],
    # reductions
    "all": reduction() + [Case((np.array([[1, 0], [2, 3]], dtype="uint8"),), {"axis": 1})],
    "any": reduction() + [Case((np.array([[0, 0], [2, 0]], dtype="uint8"),), {"axis": [0]})],
    "amax": reduction() + [Case((arr((4,), "bool"),), {"axis": 0}), Case((arr((0, 3)),), {"axis": 1}), Case((arr((0, 3)),), raises=True)],
    "amin": reduction() + [Case((arr((0, 3)),), {"axis": 1}), Case((arr((0, 3)),), raises=True)],
    "argmax": [Case((arr((2, 3, 4)),)), Case((arr((2, 3, 4)),), {"axis": 1}), Case((arr((2, 3, 4)),), {"axis": -1, "keepdims": True}),
               Case((arr((2, 3, 4)),), {"keepdims": True}), Case((arr((3, 4), "int32"),), {"axis": 0}),
               Case((np.array([False, True, True]),)), Case((arr(()),)), Case((floats(1.0, 3.0, 3.0),)),
               Case((arr((0, 3)),), raises=True), Case((arr((2, 3)),), {"axis": 2}, raises=True)],
    "argmin": [Case((arr((2, 3, 4)),)), Case((arr((2, 3, 4)),), {"axis": 0}), Case((arr((3, 4), "int32"),), {"axis": 1}),
               Case((np.array([True, False, False]),)), Case((arr(()),)), Case((arr((0, 3)),), raises=True)],
    "count_nonzero": [Case((arr((2, 3), "int32", -1, 1),)), Case((arr((2, 3), "int32", -1, 1),), {"axis": 0}),
                      Case((arr((4, 3)),), {"axis": -1}), Case((arr((2, 3, 4), "int32", -1, 1),), {"axis": (0, 2)}),
                      Case((arr((2, 3), "int32", -1, 1),), {"axis": ()}), Case((arr((5,), "bool"),)),
                      Case((arr((0, 3)),), {"axis": 0}), Case((arr(()),))],
    "average": [Case((arr((2, 3, 4)),)), Case((arr((2, 3, 4)),), {"axis": 1}), Case((arr((2, 3)),), {"axis": ()}),
                Case((arr((2, 3), "int32"),), {"axis": 0}), Case((arr((5,), "bool"),)), Case((arr(()),)),
                Case((arr((4,)),), {"weights": positive((4,))}), Case((arr((2, 3)),), {"axis": -1, "weights": positive((2, 3))}),
                Case((arr((2, 3)),), {"axis": 1, "weights": positive((3,))}),
                Case((arr((3,), "int32"),), {"weights": arr((3,), "int32", 1, 3)}), Case((arr((0, 3)),), {"axis": 1})],
    "cumsum": [Case((arr((2, 3)),)), Case((arr((2, 3)),), {"axis": 0}), Case((arr((2, 3)),), {"axis": -1, "dtype": "float64"}),
               Case((arr((2, 3), "int32"),), {"axis": 1}), Case((arr((4,), "bool"),)), Case((arr((3,), "int8"),), {"dtype": "int32"}),
               Case((arr((3,), "int64"),)), Case((arr((0, 3)),), {"axis": 0}), Case((arr(()),)),
               Case((arr((3,), "float16"),), rtol=1e-3, note="float16 result"), Case((arr((2, 3)),), {"axis": 2}, raises=True)],
    "cumprod": [Case((arr((2, 3)),)), Case((arr((2, 3)),), {"axis": 0}), Case((arr((2, 3), "int32"),), {"axis": 1}),
                Case((arr((4,), "bool"),)), Case((arr((3,), "uint8", 0, 5),), {"dtype": "int16"}), Case((arr((0, 3)),), {"axis": 1}),
                Case((arr(()),))],
    # sorting, searching
    "argsort": [Case((arr((2, 5)),)), Case((arr((2, 5)),), {"axis": 0}), Case((arr((2, 3)),), {"axis": None}),
                Case((arr((6,), "int32", -2, 2),)), Case((np.array([True, False, True, False]),)), Case((arr((0, 3)),)),
                Case((arr((2, 3)),), {"axis": 2}, raises=True)],
    "argpartition": [Case((np.array([5, 1, 4, 2, 3]), 1)), Case((np.array([[9, 1, 7], [2, 8, 3]]), 0)),
                     Case((np.array([[9, 1, 7], [2, 8, 3]]), 1), {"axis": 0}), Case((np.array([[9, 1], [2, 8]]), 2), {"axis": None}),
                     Case((floats(3.0, -1.0, 2.0, 0.0), 2)), Case((np.array([True, False, True]), 0)),
                     Case((np.array([5, 1, 4]), 3), raises=True)],
    "digitize": [Case((floats(-1.0, 0.0, 0.5, 1.0, 2.5), floats(0.0, 1.0, 2.0))), Case((arr((2, 3)), floats(-1.0, 0.0, 1.0))),
                 Case((arr((4,), "int32"), np.array([-1, 0, 2]))), Case((np.array([True, False]), np.array([0, 1]))),
                 Case((arr((0,)), floats(0.0))), Case((arr(()), floats(0.0, 1.0)))],
    "bincount": [Case((np.array([0, 1, 1, 3]),)), Case((np.array([0, 1, 1, 3]),), {"minlength": 6}),
                 Case((np.array([0, 1, 1]),), {"weights": floats(0.5, 1.0, 2.0)}),
                 Case((np.array([0, 1, 1], dtype="int32"),), {"weights": np.array([2, 3, 4], dtype="int32")}),
                 Case((np.array([[0, 1, 2], [2, 1, 0]]),)), Case((np.array([[0, 2, 1], [2, 0, 2]]),), {"weights": arr((2, 3))}),
                 Case((np.zeros((0,), "int32"),), {"minlength": 2}), Case((floats(0.0, 1.0),), raises=True), Case((np.array([0, 1]),), {"sparse": True}, raises=True),
                 Case((np.array([0, -1]),), raises=True)],
    "histogram": [Case((arr((20,)),)), Case((arr((6,), "int32"),), raises=True), Case((arr((20,)),), {"bins": 4}), Case((arr((20,)),), {"bins": 5, "range": (-1.0, 1.0)}),
                  Case((arr((20,), "float64"),), {"bins": 3}), Case((arr((2, 3)),), raises=True),
                  Case((arr((5,)),), {"bins": 2.5}, raises=True), Case((arr((5,)),), {"bins": -1}, raises=True),
                  Case((arr((5,)),), {"range": [0.0, 1.0]}, raises=True), Case((arr((5,)),), {"range": (1.0, 0.0)}, raises=True)],
    # shapes
    "array": [Case((arr((2, 3)),)), Case((arr((2, 3)),), {"dtype": "int32"}), Case(([1, 2.5],)), Case(([[1, 2], [3, 4]],)),
              Case((arr((0,)),)), Case((3,)), Case((True,)), Case((arr((3,), "int32"),), {"dtype": "float16"})],
    "copy": unary(),
    "broadcast_to": [Case((arr((3,)), (2, 3))), Case((arr((2, 1)), [2, 4])), Case((arr(()), (2,))), Case((arr((3,), "int32"), (0, 3))),
                     Case((arr((4,), "bool"), (2, 4))), Case((arr((3,)), (2, 4)), raises=True)],
    "expand_dims": [Case((arr((2, 3)), 0)), Case((arr((2, 3)), -1)), Case((arr((2, 3)), (0, 3))), Case((arr((2, 3)), [1, -1])),
                    Case((arr(()), 0)), Case((arr((0,), "int32"), 1)), Case((arr((3,), "bool"), 1)),
                    Case((arr((2, 3)), 3), raises=True), Case((arr((2, 3)), -4), raises=True)],
    "concatenate": [Case(([arr((2, 3)), arr((1, 3))],)), Case(([arr((2, 3)), arr((2, 1))],), {"axis": 1}),
                    Case(([arr((2, 3)), arr((2, 3), "int32")],), {"axis": -1}), Case(([arr((0, 3)), arr((2, 3))],)),
                    Case(([arr((3,), "bool"), arr((2,), "bool")],)), Case(([arr((2, 3)), arr((2, 4))],), raises=True),
                    Case(([arr(()), arr(())],), raises=True)],
    "append": [Case((arr((2, 3)), arr((2, 3)))), Case((arr((2, 3)), arr((1, 3))), {"axis": 0}), Case((arr((2, 3)), arr((2, 2))), {"axis": 1}),
               Case((arr((3,), "int32"), arr((2,), "float32"))), Case((arr(()), arr((0,)))), Case((arr((2,), "bool"), arr((1,), "bool"))),
               Case((arr((2, 3)), arr((2, 2))), {"axis": 0}, raises=True)],
    "hstack": [Case(([arr((2, 3)), arr((2, 1))],)), Case(([arr((3,)), arr((2,), "int32")],)), Case(([arr(()), arr(())],)),
               Case(([arr((0, 2)), arr((0, 1))],)), Case(([arr((2, 3)), arr((3, 3))],), raises=True)],
    "dstack": [Case(([arr((2, 3)), arr((2, 3))],)), Case(([arr((3,)), arr((3,), "int32")],)), Case(([arr((2, 3, 1)), arr((2, 3, 2))],)),
               Case(([arr(()), arr(())],)), Case(([arr((2, 3)), arr((3, 3))],), raises=True)],
    "array_split": [Case((arr((7, 2)), 3)), Case((arr((6,)), 2)), Case((arr((2, 5), "int32"), 2), {"axis": 1}),
                    Case((arr((2, 5)), 3), {"axis": -1}), Case((arr((0, 2)), 2)), Case((arr((3,)), 5)),
                    Case((arr((4,)), [1, 2]), raises=True), Case((arr((4,)), 0), raises=True),
                    Case((arr((4,)), 2), {"axis": 0.0}, raises=True)],
    "hsplit": [Case((arr((2, 4)), 2)), Case((arr((6,)), 3)), Case((arr((2, 5), "int32"), [1, 3])), Case((arr((3, 4)), np.array([2]))),
               Case((arr((2, 5)), 2), raises=True), Case((arr(()), 1), raises=True)],
    "dsplit": [Case((arr((2, 2, 4)), 2)), Case((arr((1, 2, 5), "bool"), [1, 3])), Case((arr((2, 3)), 1), raises=True),
               Case((arr((1, 2, 5)), 2), raises=True)],
    "flip": [Case((arr((2, 3)),)), Case((arr((2, 3)),), {"axis": 0}), Case((arr((2, 3, 2)),), {"axis": (0, 2)}),
             Case((arr((3,), "int32"),), {"axis": -1}), Case((arr((4,), "bool"),)), Case((arr((0, 2)),)), Case((arr(()),)),
             Case((arr((2, 3)),), {"axis": 2}, raises=True)],
    "fliplr": [Case((arr((2, 3)),)), Case((arr((2, 3, 2), "int32"),)), Case((arr((0, 2)),)), Case((arr((3,)),), raises=True)],
    "flipud": [Case((arr((2, 3)),)), Case((arr((3,), "bool"),)), Case((arr((0, 2)),)), Case((arr(()),), raises=True)],
    "diag": [Case((arr((3,)),)), Case((arr((3,)),), {"k": 1}), Case((arr((3, 4), "int32"),)), Case((arr((3, 4)),), {"k": -1}),
             Case((arr((3, 4)),), {"k": 5}), Case((arr((0,)),)), Case((arr((2,), "bool"),)), Case((arr((2, 2, 2)),), raises=True)],
    "diagflat": [Case((arr((3,)),)), Case((arr((2, 2)),), {"k": -1}), Case((arr((2,), "int32"),), {"k": 2}), Case((arr(()),)),
                 Case((arr((0,)),)), Case((arr((2,), "bool"),))],
    "diagonal": [Case((arr((3, 4)),)), Case((arr((3, 4)),), {"offset": 1}), Case((arr((3, 4)),), {"offset": -2}),
                 Case((arr((2, 3, 4), "int32"),), {"axis1": 1, "axis2": 2}), Case((arr((2, 3, 4)),), {"axis1": -1, "axis2": 0}),
                 Case((arr((0, 3)),)), Case((arr((2, 2), "bool"),)), Case((arr((3, 4)),), {"axis1": 1, "axis2": 1}, raises=True),
                 Case((arr((3, 4)),), {"axis2": 2}, raises=True), Case((arr((3,)),), raises=True)],
    "diff": [Case((arr((5,)),)), Case((arr((5,)),), {"n": 2}), Case((arr((3, 4)),), {"axis": 0}), Case((arr((3, 4), "int32"),)),
             Case((np.array([True, False, False]),)), Case((arr((3, 4)),), {"n": 0}), Case((arr((2,)),), {"n": 3}),
             Case((arr((0, 3)),)), Case((arr(()),), raises=True)],
    "get_item": [Case((tensor(arr((3, 4))), 1)), Case((tensor(arr((3, 4))), (slice(None), 2))),
                 Case((tensor(arr((3, 4))), (Ellipsis, slice(1, 3)))), Case((tensor(arr((3, 4))), (None, 0))),
                 Case((tensor(arr((3, 4))), [0, 2])), Case((tensor(arr((3, 4), "int32")), -1)),
                 Case((tensor(arr((3, 4))), tensor(np.array([True, False, True])))), Case((tensor(arr((3, 4))), 5), raises=True)],
    # creation
    "arange": [Case((5,)), Case((1, 7, 2)), Case((0.5, 3.0)), Case((5,), {"dtype": "float32"}), Case((2, 11, 3), {"dtype": "int16"}),
               Case((3, 0, -1)), Case((0,)), Case((0.0, 1.0, 0.25)), Case((np.int64(4),))],
    "full": [Case(((2, 3), 7)), Case(((2, 3), 7), {"dtype": "int32"}), Case(((2, 3), 1.5)), Case(((3,), True), {"dtype": "bool"}),
             Case(((2, 3), np.array([1.0, 2.0, 3.0]))), Case(((0, 2), 1.0)), Case(((), 4.0)), Case(((2, 3), np.float64(2.0)))],
    "full_like": [Case((arr((2, 3)), 7)), Case((arr((2, 3), "int32"), 1.5)), Case((arr((2, 3)), 2), {"dtype": "int8"}),
                  Case((arr((3,), "bool"), 1)), Case((arr((0, 3)), 1.0)), Case((arr(()), 3.0)), Case((arr((2, 3)), floats(1.0, 2.0, 3.0)))],
    "eye": [Case((3,)), Case((2, 4)), Case((4, 3, 1)), Case((3, 3, -2)), Case((3,), {"k": 5}), Case((3,), {"dtype": "int32"}),
            Case((2, 3), {"dtype": "bool"}), Case((0,)), Case((2,), {"k": None}), Case((2.0,), raises=True), Case((2, 3.0), raises=True)],
    "identity": [Case((3,)), Case((2,), {"dtype": "int32"}), Case((3,), {"dtype": "bool"}), Case((0,)), Case((2.5,), raises=True)],
    "linspace": [Case((0, 1)), Case((0.0, 1.0, 5)), Case((2, 10, 4), {"endpoint": False}), Case((0.0, 1.0, 5), {"retstep": True}),
                 Case((0.0, 1.0, 4), {"endpoint": False, "retstep": True}), Case((-1.0, 1.0, 1)), Case((0.0, 1.0, 0)),
                 Case((0, 10, 4), {"dtype": "int32"}), Case((1.0, 2.0, 3), {"dtype": "float64"}),
                 Case((floats(0.0, 1.0), floats(1.0, 3.0), 5)), Case((floats(0.0, 1.0), floats(1.0, 3.0), 4), {"endpoint": False}),
                 Case((0.0, 1.0, 3), {"axis": 1}, raises=True)],
    "logspace": [Case((0, 2)), Case((0.0, 2.0, 5)), Case((1, 3, 4), {"endpoint": False}), Case((0.0, 3.0, 4), {"base": 2}),
                 Case((-1.0, 1.0, 1)), Case((0.0, 1.0, 0)), Case((floats(0.0, 1.0), floats(1.0, 2.0), 3)),
                 Case((0.0, 2.0, 3), {"dtype": "float64"}), Case((0.0, 1.0, 3), {"axis": 1}, raises=True)],
    "geomspace": [Case((1, 1000, 4)), Case((1.0, 256.0, 9), {"endpoint": False}), Case((-1.0, -100.0, 3)), Case((2.0, 32.0, 2)),
                  Case((1.0, 10.0, 0)), Case((floats(1.0, 2.0), floats(10.0, 32.0), 3)), Case((1.0, 8.0, 4), {"dtype": "float64"}),
                  Case((1.0, 8.0, 3), {"axis": 1}, raises=True)],
    "bartlett": [Case((5,)), Case((1,)), Case((0,)), Case((np.array(6),)), Case((6.0,), raises=True)],
    "blackman": [Case((5,)), Case((8,)), Case((1,)), Case((0,))],
    "hamming": [Case((5,)), Case((8,)), Case((1,)), Case((0,)), Case((np.array(4),))],
    "hanning": [Case((5,)), Case((8,)), Case((1,)), Case((0,))],
    "kaiser": [Case((5, 14.0)), Case((8, 0.0)), Case((6, 5)), Case((1, 2.0)), Case((0, 2.0))],
    # products
    "dot": [Case((arr((3,)), arr((3,)))), Case((arr((2, 3)), arr((3, 4)))), Case((arr((2, 3)), arr((3,)))), Case((arr((2, 3, 4)), arr((4, 2)))),
            Case((arr(()), arr((2, 3)))), Case((arr((2, 3), "int32"), arr((3,), "int32"))), Case((arr((2, 3), "int8"), arr((3, 2)))),
            Case((arr((3,), "bool"), arr((3,), "bool"))), Case((arr((0, 3)), arr((3, 2)))), Case((arr((2, 3)), arr((2, 3))), raises=True),
            Case((arr((2, 3), "float16"), arr((3,), "float16")), rtol=1e-3, atol=1e-3, note="float16 result")],
    "inner": [Case((arr((3,)), arr((3,)))), Case((arr((2, 3)), arr((4, 3)))), Case((arr(()), arr((2, 3)))),
              Case((arr((2, 3), "int32"), arr((3,), "int32"))), Case((arr((3,), "int8"), arr((3,)))), Case((arr((0, 3)), arr((2, 3)))),
              Case((arr((2, 3)), arr((2, 4))), raises=True)],
    "kron": [Case((arr((2, 2)), arr((2, 3)))), Case((arr((3,)), arr((2,)))), Case((arr((2, 2), "int32"), arr((2,), "int32"))),
             Case((arr((2,), "int32"), arr((2,)))), Case((arr((0, 2)), arr((2, 2)))), Case((arr(()), arr((2,)))),
             Case((arr((2, 2), "bool"), arr((2,), "bool")))],
    "cross": [Case((arr((3,)), arr((3,)))), Case((arr((4, 3)), arr((4, 3)))), Case((arr((2, 4, 3)), arr((1, 4, 3)))),
              Case((arr((3,), "int32"), arr((3,), "int32"))), Case((arr((2, 3), "int32"), arr((2, 3)))),
              Case((arr((0, 3)), arr((1, 3)))), Case((arr((3, 4)), arr((3, 4))), {"axis": 0}),
              Case((arr((3,), "float16"), arr((3,), "float16")), rtol=1e-3, atol=1e-3, note="float16 result"),
              Case((arr((4, 2)), arr((4, 2))), raises=True), Case((arr((3,), "bool"), arr((3,), "bool")), raises=True)],
    "einsum": [Case(("ij,jk->ik", arr((2, 3)), arr((3, 4)))), Case(("ii", arr((3, 3)))), Case(("i,i", arr((3,)), arr((3,)))),
               Case(("bij->bji", arr((2, 3, 4)))), Case(("...j,j", arr((2, 3, 4)), arr((4,)))),
               Case(("ij,jk", arr((2, 3), "int8"), arr((3, 2), "int8"))), Case(("ij,j->i", arr((2, 3), "int32"), arr((3,), "int32"))),
               Case(("ij->", arr((0, 3)))), Case(("i,i->i", arr((3,), "bool"), arr((3,), "bool"))), Case(("ij,jk->ik", arr((2, 3)), arr((3, 2), "int32")), raises=True),
               Case(("ij,jk->ik", arr((2, 3)), arr((4, 2))), raises=True)],
    "corrcoef": _with([Case((arr((3, 5)),)), Case((arr((5,)),)), Case((arr((2, 4), "int32"),)), Case((arr((2, 4), "int64"),)),
                       Case((arr((2, 6), "bool"),)), Case((arr((2, 5), "float64"),))], rtol=1e-5,
                      note="normalized covariances: float32 sums over a row"),
    "correlate": [Case((floats(1.0, 2.0, 3.0, 4.0), floats(0.0, 1.0, 0.5))), Case((arr((5,)), arr((3,))), {"mode": "same"}),
                  Case((arr((5,)), arr((3,))), {"mode": "full"}), Case((arr((5,)), arr((2,))), {"mode": "same"}),
                  Case((arr((2,)), arr((4,))), {"mode": "valid"}), Case((arr((2,)), arr((4,))), {"mode": "full"}),
                  Case((arr((5,), "int32"), arr((3,), "int32"))), Case((arr((5,), "int64"), arr((2,), "int64")), {"mode": "full"}),
                  Case((arr((4,), "float64"), arr((2,))), {"mode": "same"}),
                  Case((arr((4,), "bool"), arr((2,), "bool")))],
}


@pytest.mark.parametrize("name,case", params(TABLE))
def test_matches_keras(name: str, case: Case) -> None:
    run_case(name, case)


def test_table_covers_every_op() -> None:
    assert sorted(TABLE) == sorted(n for n in NAMES if n not in ("empty", "empty_like"))


@pytest.mark.parametrize("name", NAMES)
def test_signature_equals_keras(name: str) -> None:
    def params_of(fn: object) -> list:
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert params_of(getattr(INITIUM.ops, name)) == params_of(getattr(KERAS.ops, name))


# ------------------------------------------------------------------------------------- symbolic
V = Sym((None, 3))  # a batch of 3-vectors
M = Sym((None, 3, 4))
I = Sym((None, 3), "int32")
B = Sym((None, 3), "bool")
UNARY_SYMBOLIC = ["abs", "absolute", "angle", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "cbrt", "ceil",
                  "conj", "conjugate", "copy", "cos", "cosh", "deg2rad", "exp", "exp2", "expm1", "fabs", "floor", "i0",
                  "isfinite", "isinf", "isnan", "isneginf", "isposinf", "isreal", "log", "log10", "log1p", "log2",
                  "logical_not"]
BINARY_SYMBOLIC = ["add", "arctan2", "divide", "divide_no_nan", "equal", "floor_divide", "fmax", "fmin", "fmod", "greater",
                   "greater_equal", "heaviside", "hypot", "isclose", "less", "less_equal", "logaddexp", "logaddexp2",
                   "logical_and", "logical_or", "logical_xor"]
INT_BINARY_SYMBOLIC = ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "gcd", "lcm",
                       "left_shift"]
SYMBOLIC = (
    [(n, (V,), {}) for n in UNARY_SYMBOLIC] + [(n, (I,), {}) for n in ("exp", "cos", "ceil", "cbrt", "fabs", "i0", "deg2rad")]
    + [(n, (V, Sym((3,))), {}) for n in BINARY_SYMBOLIC] + [(n, (I, Sym((1, 3), "int8")), {}) for n in INT_BINARY_SYMBOLIC]
    + [(n, (I,), {}) for n in ("bitwise_invert", "bitwise_not")] + [
        ("add", (Sym((None, 3), "int8"), 3), {}), ("divide", (I, I), {}), ("logaddexp", (I, V), {}),
        ("bitwise_left_shift", (I, 2), {}), ("ldexp", (V, I), {}), ("allclose", (V, V), {"rtol": 0.1}),
        ("isin", (I, Sym((5,), "int32")), {"invert": True}),
        ("all", (M,), {"axis": 1}), ("any", (B,), {"axis": -1, "keepdims": True}), ("amax", (M,), {"axis": (1, 2)}),
        ("amin", (M,), {"axis": 0, "keepdims": True}), ("argmax", (M,), {"axis": -1}), ("argmin", (I,), {"axis": 0}),
        ("count_nonzero", (M,), {"axis": 2}), ("average", (M,), {"axis": 1}), ("average", (V,), {"axis": 1, "weights": Sym((3,))}),
        ("cumsum", (M,), {"axis": 1}), ("cumsum", (B,), {"axis": 0}), ("cumprod", (I,), {"axis": -1, "dtype": "float32"}),
        ("argsort", (M,), {"axis": 1}), ("argpartition", (I, 1), {}), ("digitize", (V, Sym((4,))), {}),
        ("bincount", (Sym((None, 5), "int32"),), {"minlength": 3}), ("bincount", (Sym((7,), "int32"),), {"weights": arr((7,))}),
        ("histogram", (Sym((None,)),), {"bins": 4}),
        ("array", (V,), {"dtype": "int32"}), ("broadcast_to", (Sym((None, 3)),), {"shape": (4, 3)}),
        ("broadcast_to", (Sym((1, 3), "int32"),), {"shape": (2, 5, 3)}),
        ("expand_dims", (V, (0, -1)), {}), ("concatenate", ([V, Sym((None, 2))],), {"axis": 1}),
        ("append", (V, Sym((None, 2))), {"axis": 1}), ("append", (Sym((2, 3)), Sym((4,))), {}),
        ("hstack", ([V, Sym((None, 1), "int32")],), {}), ("dstack", ([M, M],), {}),
        ("array_split", (Sym((7, None)), 3), {}), ("array_split", (Sym((None, 4)), 2), {"axis": 1}),
        ("hsplit", (M, 3), {}), ("hsplit", (Sym((None, 6)), [1, 4]), {}), ("dsplit", (M, [1, 3]), {}),
        ("flip", (M,), {"axis": (0, 2)}), ("fliplr", (M,), {}), ("flipud", (V,), {}),
        ("diag", (Sym((3,)),), {"k": 1}), ("diag", (Sym((3, 4)),), {"k": -1}), ("diag", (Sym((None,)),), {}),
        ("diag", (Sym((None, 4)),), {}), ("diagflat", (Sym((2, 2)),), {}), ("diagflat", (Sym((None, 2)),), {"k": 1}),
        ("diagonal", (M,), {"axis1": 1, "axis2": 2, "offset": 1}), ("diagonal", (Sym((None, 4)),), {}),
        ("diff", (M,), {"n": 2}), ("diff", (V,), {"axis": 0}),
        ("get_item", (M, (slice(None), 1)), {}), ("get_item", (M, (Ellipsis, slice(1, 3))), {}), ("get_item", (V, (None, 0)), {}),
        ("get_item", (V, (slice(0, 5),)), {}), ("get_item", (M, (0, Ellipsis, None, -1)), {}), ("get_item", (M, 2), {}),
        ("get_item", (Sym((5, 3)), (slice(1, None, 2),)), {}),
        ("clip", (V, 0.0, 1.0), {}), ("clip", (B, 0, 1), {}),
        ("full", ((2, 3), Sym(())), {}), ("full_like", (V, 2.0), {"dtype": "int32"}), ("empty_like", (V,), {}),
        ("linspace", (Sym((3,)), Sym((3,))), {"num": 5}), ("linspace", (Sym((None,)), Sym((None,))), {"num": 2}),
        ("logspace", (Sym(()), Sym(())), {"num": 4}), ("logspace", (Sym((None, 2)), Sym((None, 2))), {"num": 3}),
        ("geomspace", (Sym((2,)), Sym((2,))), {"num": 3}), ("geomspace", (Sym((None,)), Sym((None,))), {"num": 3}),
        ("dot", (V, Sym((3, 5))), {}), ("dot", (M, Sym((4,))), {}), ("inner", (V, Sym((2, 3))), {}),
        ("kron", (Sym((2, 3)), Sym((2, 2))), {}), ("kron", (V, Sym((2, 2), "int32")), {}), ("cross", (V, V), {}),
        ("einsum", ("bij,jk->bik", M, Sym((4, 5))), {}), ("einsum", ("ij,ij->i", Sym((None, 3), "int8"), Sym((None, 3), "int8")), {}),
        ("correlate", (Sym((5,)), Sym((3,))), {"mode": "same"}),
    ]
)
SYMBOLIC_IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(SYMBOLIC)]


@pytest.mark.parametrize("name,args,kwargs", SYMBOLIC, ids=SYMBOLIC_IDS)
def test_symbolic_spec_matches_keras(name: str, args: tuple, kwargs: dict) -> None:
    run_symbolic(name, *args, **kwargs)


# Keras's spec says imag keeps the complex dtype and corrcoef keeps the input's shape.
WRONG_KERAS_SPEC = [
    ("imag", Sym((None, 2), "complex64"), np.array([[1 + 2j, 3j]], dtype="complex64")),
    ("corrcoef", Sym((3, None)), arr((3, 5))),
    ("corrcoef", Sym((None,), "int64"), arr((4,), "int64")),
]
CREATION = {"arange", "bartlett", "blackman", "empty", "eye", "hamming", "hanning", "identity", "kaiser"}


def test_symbolic_cases_cover_every_op_with_a_graph_class() -> None:
    covered = {n for n, _, _ in SYMBOLIC} | {n for n, _, _ in WRONG_KERAS_SPEC}
    assert sorted(covered) == sorted(set(NAMES) - CREATION)


def _build(lib: object, name: str, args: tuple, kwargs: dict) -> object:
    """``lib.ops.<name>`` called on that library's KerasTensors for the ``Sym`` arguments."""
    return getattr(lib.ops, name)(*_symbolic_args(args, lib), **{k: _symbolic_args(v, lib) for k, v in kwargs.items()})


def _node_op(outputs: object) -> object:
    first = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    return first._keras_history[0]


def _plain(config: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, (np.ndarray, torch.Tensor)) else v) for k, v in config.items() if k != "name"}


@pytest.mark.parametrize("name,args,kwargs", SYMBOLIC, ids=SYMBOLIC_IDS)
def test_graph_node_is_keras_class_and_config(name: str, args: tuple, kwargs: dict) -> None:
    ours, theirs = _node_op(_build(INITIUM, name, args, kwargs)), _node_op(_build(KERAS, name, args, kwargs))
    assert type(ours).__name__ == type(theirs).__name__
    if name == "bincount" and "weights" in kwargs:
        return  # Keras cannot write a config holding a weights tensor
    assert _plain(ours.get_config()) == _plain(theirs.get_config())


@pytest.mark.parametrize("name,sym,concrete", WRONG_KERAS_SPEC)
def test_symbolic_spec_follows_keras_eager_where_its_spec_is_wrong(name: str, sym: Sym, concrete: np.ndarray) -> None:
    """Keras's eager results (and NumPy's) are real for imag and ``(rows, rows)`` for corrcoef:
    initium's spec says what runs."""
    spec = getattr(INITIUM.ops, name)(KerasTensor(sym.shape, dtype=sym.dtype))
    theirs = getattr(KERAS.ops, name)(concrete)
    assert spec.dtype == INITIUM.module.backend.standardize_dtype(theirs.dtype)
    assert len(spec.shape) == theirs.dim()
    assert [s for s in spec.shape if s is not None] == [t for s, t in zip(spec.shape, theirs.shape) if s is not None]


@pytest.mark.parametrize("name,args", [
    ("eye", (Sym((), "int32"),)), ("identity", (Sym((), "int32"),)), ("empty", (Sym((2,), "int32"),)),
    ("bartlett", (Sym((), "int32"),)), ("blackman", (Sym((), "int32"),)), ("hamming", (Sym((), "int32"),)),
    ("hanning", (Sym((), "int32"),)), ("kaiser", (Sym((), "int32"), 2.0)), ("arange", (Sym((), "int32"),)),
])
def test_creation_ops_refuse_symbolic_inputs_as_keras(name: str, args: tuple) -> None:
    with pytest.raises(Exception) as theirs:
        _build(KERAS, name, args, {})
    with pytest.raises(theirs.type, match=name):
        _build(INITIUM, name, args, {})


@pytest.mark.parametrize("name,args,kwargs", [
    ("get_item", (Sym((2, 3)), 5), {}), ("get_item", (Sym((None, 3)), (0, 3)), {}),
    ("get_item", (Sym((2, 3)), (0, 1, 2)), {}), ("get_item", (Sym((2, 3)), (Ellipsis, 0, Ellipsis)), {}),
    ("concatenate", ([Sym((None, 3)), Sym((None, 4))],), {}), ("diagonal", (Sym((3, 3)),), {"axis2": 0}),
    ("histogram", (Sym((5,)),), {"bins": 2.5}), ("histogram", (Sym((5,)),), {"range": (1.0, 0.0)}),
    ("array_split", (Sym((4,)), 0), {}), ("correlate", (Sym((2, 5)), Sym((3,))), {}),
    ("expand_dims", (Sym((2, 3)), 3), {}),
    *[(name, (Sym((2, 3)),), {"axis": 2}) for name in ("argsort", "cumsum", "cumprod", "flip", "diff", "count_nonzero",
                                                       "argmax", "all", "amax", "average")],
    ("concatenate", ([Sym((2, 3)), Sym((2, 3))],), {"axis": 2}), ("diagonal", (Sym((2, 3)),), {"axis1": 2}),
])
def test_symbolic_errors_match_keras(name: str, args: tuple, kwargs: dict) -> None:
    with pytest.raises(Exception) as theirs:
        _build(KERAS, name, args, kwargs)
    with pytest.raises(theirs.type):
        _build(INITIUM, name, args, kwargs)


@pytest.mark.parametrize("name,args,kwargs", [
    ("empty", ((2, 3),), {}), ("empty", ((0,),), {"dtype": "int32"}), ("empty", ((),), {"dtype": "bool"}),
    ("empty_like", (arr((2, 3)),), {}), ("empty_like", (arr((2, 3), "int32"),), {"dtype": "float16"}),
    ("empty_like", (arr((0, 3), "bool"),), {}),
])
def test_empty_shape_and_dtype_match_keras(name: str, args: tuple, kwargs: dict) -> None:
    """Uninitialized values differ from run to run: only the shape and dtype are compared."""
    ours, theirs = getattr(INITIUM.ops, name)(*args, **kwargs), getattr(KERAS.ops, name)(*args, **kwargs)
    assert (ours.shape, ours.dtype) == (theirs.shape, theirs.dtype)


# ------------------------------------------------------------------------------------- deliberate differences
# Where Keras's torch backend disagrees with Keras's own symbolic spec and with NumPy, initium follows
# those two; these cases are checked against NumPy (each would fail against Keras's torch backend).
def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()


X234 = arr((2, 3, 4), "int32", -1, 1)


@pytest.mark.parametrize("name", ["amax", "amin"])
def test_keepdims_with_axis_none_keeps_every_axis(name: str) -> None:
    x = arr((2, 3))
    out = getattr(INITIUM.ops, name)(x, keepdims=True)
    np.testing.assert_array_equal(_np(out), getattr(np, name)(x, keepdims=True))
    assert _build(KERAS, name, (Sym((2, 3)),), {"keepdims": True}).shape == (1, 1)


@pytest.mark.parametrize("axis", [0, 1, (0, 1)])
def test_count_nonzero_keeps_the_order_of_remaining_axes(axis: object) -> None:
    np.testing.assert_array_equal(_np(INITIUM.ops.count_nonzero(X234, axis=axis)), np.count_nonzero(X234, axis=axis))


@pytest.mark.parametrize("shape,axis,weights_shape", [((3, 4), 0, (3,)), ((3, 4), None, (3, 4)), ((2, 3, 4), 1, (3,)),
                                                      ((3, 4), 0, (3, 4))])
def test_average_weighs_along_the_given_axis(shape: tuple, axis: object, weights_shape: tuple) -> None:
    x, w = arr(shape), positive(weights_shape)
    np.testing.assert_allclose(_np(INITIUM.ops.average(x, axis=axis, weights=w)), np.average(x, axis=axis, weights=w),
                               rtol=1e-6)


def test_average_refuses_weights_of_another_shape() -> None:
    with pytest.raises(ValueError, match="weights"):
        INITIUM.ops.average(arr((3, 4)), axis=0, weights=positive((4,)))


@pytest.mark.parametrize("x1,x2,kwargs", [
    (arr((3, 3)), arr((3, 3)), {}), (arr((4, 3)), arr((2, 1, 3)), {}), (arr((3, 2)), arr((2, 3)), {"axisa": 0}),
    (arr((3, 5)), arr((5, 3)), {"axisa": 0, "axisb": -1, "axisc": 0}), (arr((3, 2)), arr((3, 2)), {"axis": 0}),
])
def test_cross_uses_numpys_axes_and_broadcasting(x1: np.ndarray, x2: np.ndarray, kwargs: dict) -> None:
    np.testing.assert_allclose(_np(INITIUM.ops.cross(x1, x2, **kwargs)), np.cross(x1, x2, **kwargs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n1,n2,mode", [(3, 5, "same"), (2, 6, "same"), (4, 4, "valid"), (1, 1, "full")])
def test_correlate_same_length_and_no_squeeze(n1: int, n2: int, mode: str) -> None:
    a, v = arr((n1,)), arr((n2,))
    np.testing.assert_allclose(_np(INITIUM.ops.correlate(a, v, mode=mode)), np.correlate(a, v, mode=mode), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("args,kwargs,error", [((arr((5,)), arr((3,))), {"mode": "middle"}, "mode"),
                                               ((arr((2, 5)), arr((3,))), {}, "1-D")])
def test_correlate_refuses_what_keras_spec_refuses(args: tuple, kwargs: dict, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        INITIUM.ops.correlate(*args, **kwargs)


@pytest.mark.parametrize("name,args,kwargs", [
    ("linspace", (floats(0.0, 1.0), floats(1.0, 3.0), 5), {"axis": 1}),
    ("linspace", (floats(0.0, 1.0), floats(1.0, 3.0), 1), {}),
    ("linspace", (0.0, 1.0, 4), {"axis": -1}),
    ("logspace", (floats(0.0, 1.0), floats(1.0, 2.0), 3), {"axis": 1}),
    ("geomspace", (floats(1.0, 2.0), floats(8.0, 32.0), 4), {"axis": -1}),
    ("geomspace", (2.0, 32.0, 1), {}),
])
def test_spaced_sequences_support_numpys_axis_and_a_single_point(name: str, args: tuple, kwargs: dict) -> None:
    np.testing.assert_allclose(_np(getattr(INITIUM.ops, name)(*args, **kwargs)), getattr(np, name)(*args, **kwargs),
                               rtol=1e-6)


def test_linspace_retstep_is_a_tensor_also_for_arrays() -> None:
    points, step = INITIUM.ops.linspace(floats(0.0, 1.0), floats(1.0, 3.0), 5, retstep=True)
    expected_points, expected_step = np.linspace(floats(0.0, 1.0), floats(1.0, 3.0), 5, retstep=True)
    np.testing.assert_allclose(_np(points), expected_points)
    np.testing.assert_allclose(_np(step), expected_step)


def test_bincount_gives_every_row_the_same_bins() -> None:
    x = np.array([[0, 1, 1], [3, 0, 3]])
    expected = np.stack([np.bincount(row, minlength=4) for row in x])
    np.testing.assert_array_equal(_np(INITIUM.ops.bincount(x)), expected)


def test_argpartition_compares_floats_as_they_are() -> None:
    x = floats(0.7, 0.2, 0.9, 0.4, 0.1)
    out = _np(INITIUM.ops.argpartition(x, 1))
    assert sorted(out.tolist()) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(np.sort(x[out[:2]]), np.sort(x)[:2])
    assert x[out[2:]].min() >= x[out[1]]


@pytest.mark.parametrize("shape,fill", [((2, 3), floats(1.0, 2.0, 3.0)[None]), (3, 2.5), ((2, 2, 3), arr((2, 1, 3)))])
def test_full_broadcasts_the_fill_value(shape: object, fill: object) -> None:
    np.testing.assert_array_equal(_np(INITIUM.ops.full(shape, fill)), np.full(shape, fill, dtype="float32"))


def test_a_bare_slice_of_an_unknown_size_stays_unknown() -> None:
    """Keras's spec refuses a key that is a bare slice (``x[:5]``); NumPy and torch take it."""
    x = KerasTensor((None, 3))
    assert x[:5].shape == (None, 3)
    assert INITIUM.ops.get_item(KerasTensor((7, 3)), slice(2, None)).shape == (5, 3)
