"""Parity of ``initium.ops.numpy`` names M to Z with real Keras 3.15.1 on torch.

``TABLE`` runs each op under both libraries on the same inputs (tests/ops_harness.py compares
structure, dtype names, shapes and values); ``SYMBOLIC`` compares output specs on KerasTensors;
``test_signatures_match_keras`` compares parameter names, kinds and defaults. Where initium
deliberately differs from Keras's torch backend (a wrong value or shape there), ``DEVIATIONS``
checks initium against NumPy and that Keras still differs, so each difference stays deliberate.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from ops_harness import INITIUM, KERAS, Case, Sym, arr, assert_same, params, positive, run_case, run_symbolic

import initium
from initium import ops as iops

kops = KERAS.ops

# Keras's keras.ops.numpy functions from M to Z (95 names), read from the oracle itself.
NAMES = sorted(n for n in dir(KERAS.module.ops.numpy) if not n.startswith("_") and "m" <= n[0] <= "z")


def with_nans(shape: tuple, dtype: str = "float32") -> np.ndarray:
    """Random values with scattered NaNs and an all-NaN last row."""
    a = arr(shape, dtype)
    a.flat[::5] = np.nan
    a[-1] = np.nan
    return a


def specials() -> np.ndarray:
    return np.array([np.nan, np.inf, -np.inf, 1.5, -0.0, 0.0], dtype="float32")


F2 = arr((3, 4))
F3 = arr((2, 3, 4))
I2 = arr((3, 4), "int32")
B2 = arr((3, 4), "bool")
NAN2 = with_nans((3, 4))
EMPTY = np.zeros((0, 3), "float32")
SCALAR = np.float32(1.25)
SQ = arr((3, 3))
SORTED = np.sort(arr((6,)))

TABLE: dict[str, list[Case]] = {
    "matmul": [Case((arr((2, 3)), arr((3, 4)))), Case((arr((2, 2, 3)), arr((3, 4))), note="batch broadcast"),
               Case((arr((3,)), arr((3,)))), Case((arr((2, 3), "int32"), arr((3, 2), "int32"))),
               Case((arr((2, 3), "int8"), arr((3, 2), "int8")), note="int8 x int8 -> int32"),
               Case((arr((2, 3), "bool"), arr((3, 2), "bool"))), Case((arr((2, 3)), arr((3, 2), "int32"))),
               Case((arr((2, 3), "float16"), arr((3, 2), "float16"))),
               Case((EMPTY, arr((3, 2)))), Case((arr((2, 3)), arr((4, 2))), raises=True),
               Case((SCALAR, arr((3,))), raises=True)],
    "max": [Case((F2,)), Case((F2,), {"axis": 1}), Case((F3,), {"axis": (0, 2), "keepdims": True}),
            Case((I2,), {"axis": -1, "keepdims": True}), Case((B2,), {"axis": 0}), Case((F2,), {"initial": 1.0}),
            Case((I2,), {"axis": 0, "initial": 2.5}), Case((SCALAR,)), Case((F2,), {"axis": ()}),
            Case((EMPTY,), raises=True), Case((F2,), {"axis": 2}, raises=True)],
    "min": [Case((F2,)), Case((F2,), {"axis": 0}), Case((F3,), {"axis": [1, 2], "keepdims": True}),
            Case((I2,), {"axis": 1}), Case((B2,), {"axis": 1}),
            Case((F2,), {"axis": 0, "keepdims": True, "initial": 0.5}),
            Case((SCALAR,)), Case((EMPTY,), raises=True)],
    "maximum": [Case((F2, arr((4,)))), Case((arr((3,), "int8"), 2)), Case((I2, 2.5)), Case((B2, arr((3, 4), "bool"))),
                Case((F2, I2)), Case((SCALAR, F2)), Case((EMPTY, arr((3,)))), Case((specials(), np.float32(0.5))),
                Case((arr((3,), "int8"), 300), raises=True)],
    "minimum": [Case((F2, arr((4,)))), Case((arr((3,), "int8"), 2)), Case((2.5, I2)), Case((B2, arr((3, 4), "bool"))),
                Case((F2, I2)), Case((SCALAR, F2)), Case((EMPTY, arr((3,))))],
    "mean": [Case((F2,)), Case((F2,), {"axis": 0}), Case((F3,), {"axis": (0, 2), "keepdims": True}),
             Case((I2,)), Case((B2,), {"axis": 1}), Case((arr((3, 4), "float16"),)),
             Case((arr((3, 4), "float64"),), {"axis": -1}), Case((F2,), {"axis": ()}), Case(([F2, F2],), {"axis": 0}),
             Case((EMPTY,)), Case((F2,), {"keepdims": True})],
    "median": [Case((F2,)), Case((F2,), {"axis": 1}), Case((F3,), {"axis": 0, "keepdims": True}),
               Case((I2,), {"axis": -1}), Case((arr((4,)),), note="even count: mean of the middle two"),
               Case((F3,), {"axis": (1, 2)}), Case((arr((3,), "int64"),))],
    "meshgrid": [Case((arr((3,)), arr((4,)))), Case((arr((3,)), arr((4,))), {"indexing": "ij"}),
                 Case((arr((2,), "int32"), arr((3,), "int32"), arr((4,), "int32"))),
                 Case((arr((2,), "int32"), arr((3,))), raises=True),
                 Case((arr((2,)), arr((3,))), {"indexing": "zz"}, raises=True)],
    "mod": [Case((F2, positive((4,)))), Case((arr((3, 4), "int32", -9, 9), 4)), Case((arr((3,), "int32", -9, 9), -4)),
            Case((B2, np.ones((3, 4), bool))), Case((F2, 2)), Case((SCALAR, np.float32(-0.5)))],
    "moveaxis": [Case((F3, 0, -1)), Case((F3, [0, 1], [1, 2])), Case((F2, 1, 0)), Case((F3, [0, 1], [2]), raises=True)],
    "multiply": [Case((F2, arr((4,)))), Case((I2, 3)), Case((I2, 1.5)), Case((B2, arr((3, 4), "bool"))),
                 Case((arr((3,), "int8"), arr((3,), "uint8"))), Case((SCALAR, F2)), Case((EMPTY, arr((3,))))],
    "nan_to_num": [Case((specials(),)), Case((specials(),), {"nan": 1.5, "posinf": 9.0, "neginf": -9.0}),
                   Case((I2,)), Case((specials().astype("float64"),), {"nan": -1.0}), Case((B2,))],
    "nanargmax": [Case((NAN2,)), Case((NAN2,), {"axis": 1}), Case((NAN2,), {"axis": 0, "keepdims": True}),
                  Case((I2,), {"axis": 1}), Case((B2,)), Case((NAN2,), {"keepdims": True})],
    "nanargmin": [Case((NAN2,)), Case((NAN2,), {"axis": 1}), Case((NAN2,), {"axis": -1, "keepdims": True}),
                  Case((I2,), {"axis": 0}), Case((B2,), {"axis": 1})],
    "nancumsum": [Case((NAN2,)), Case((NAN2,), {"axis": 1}), Case((I2,), {"axis": 0}), Case((B2,), {"axis": 1}),
                  Case((NAN2,), {"axis": 0, "dtype": "float64"}), Case((arr((4,), "int64"),)),
                  Case((arr((3,), "float16"),))],
    "nancumprod": [Case((with_nans((3, 4), "float32") / 2,)), Case((NAN2,), {"axis": 1}), Case((I2,), {"axis": 0}),
                   Case((B2,), {"axis": 1}), Case((arr((4,), "int32"),), {"dtype": "float32"})],
    "nanmax": [Case((NAN2,)), Case((NAN2,), {"axis": 1}), Case((NAN2,), {"axis": 0, "keepdims": True}),
               Case((I2,), {"axis": 1}), Case((NAN2,), {"axis": ()}), Case((NAN2,), {"keepdims": True})],
    "nanmin": [Case((NAN2,)), Case((NAN2,), {"axis": 1}), Case((NAN2,), {"axis": (0, 1), "keepdims": True}),
               Case((I2,), {"axis": 0}), Case((with_nans((2, 3, 4)),), {"axis": -1})],
    "nanmean": [Case((NAN2,)), Case((NAN2,), {"axis": 0}), Case((NAN2,), {"axis": 1, "keepdims": True}),
                Case((I2,)), Case((NAN2,), {"axis": ()}), Case((B2,), {"axis": 1})],
    "nanmedian": [Case((NAN2,)), Case((NAN2,), {"axis": 1}), Case((NAN2,), {"axis": 0, "keepdims": True}),
                  Case((I2,), {"axis": 1}), Case((NAN2,), {"axis": ()})],
    "nanpercentile": [Case((NAN2, 50)), Case((NAN2, [25.0, 75.0]), {"axis": 0}),
                      Case((NAN2, 30), {"axis": 1, "method": "lower", "keepdims": True}), Case((I2, 40.0))],
    "nanquantile": [Case((NAN2, 0.5)), Case((NAN2, np.array([0.1, 0.9], "float32")), {"axis": 1}),
                    Case((NAN2, 0.3), {"axis": 0, "method": "higher", "keepdims": True}), Case((I2, 0.25), {"axis": 0}),
                    Case((NAN2, [0.2, 0.4]), {"axis": 1, "keepdims": True})],
    "nanprod": [Case((NAN2 / 2,)), Case((NAN2,), {"axis": 1}), Case((NAN2,), {"axis": (0, 1), "keepdims": True}),
                Case((I2,), {"axis": 0}), Case((B2,), {"axis": 1}), Case((arr((3,), "int8"),)),
                Case((NAN2,), {"axis": 0})],
    "nanstd": [Case((NAN2,)), Case((NAN2,), {"axis": 1}), Case((NAN2,), {"axis": 0, "keepdims": True}), Case((I2,))],
    "nanvar": [Case((NAN2,)), Case((NAN2,), {"axis": 1}), Case((NAN2,), {"axis": (0, 1), "keepdims": True}),
               Case((I2,), {"axis": 0}), Case((NAN2,), {"axis": ()})],
    "nansum": [Case((NAN2,)), Case((NAN2,), {"axis": 1}), Case((arr((3, 4), "int8"),), {"axis": 0}), Case((B2,)),
               Case((NAN2,), {"axis": 0, "keepdims": True}), Case((arr((3,), "int64"),)), Case(([NAN2, NAN2],))],
    "ndim": [Case((F3,)), Case((SCALAR,)), Case((EMPTY,))],
    "negative": [Case((F2,)), Case((I2,)), Case((SCALAR,)), Case((EMPTY,)), Case((B2,), raises=True)],
    "nextafter": [Case((F2, arr((4,)))), Case((arr((3,), "int32"), arr((3,), "int32"))),
                  Case((arr((3,), "float64"), np.float64(0.0))), Case((F2, 2.0))],
    "nonzero": [Case((arr((3, 4), "int32", -1, 1),)), Case((B2,)), Case((arr((5,), "int32", 0, 1),)),
                Case((EMPTY,))],
    "not_equal": [Case((I2, arr((4,), "int32"))), Case((F2, F2)), Case((B2, True)), Case((I2, 1.0)),
                  Case((SCALAR, 1.25))],
    "ones": [Case((3,)), Case(((2, 3),), {"dtype": "int32"}), Case(((),)), Case(((2, 0),), {"dtype": "bool"}),
             Case(([2, 2],), {"dtype": "float16"})],
    "ones_like": [Case((F2,)), Case((F2,), {"dtype": "int32"}), Case((B2,)), Case((SCALAR,), {"dtype": "bool"})],
    "outer": [Case((arr((3,)), arr((4,)))), Case((F2, arr((2,)))), Case((arr((3,), "int32"), arr((2,))), note="mixed"),
              Case((np.zeros((0,), "float32"), arr((2,))))],
    "pad": [Case((F2, ((1, 2), (0, 1)))), Case((I2, [[1, 1], [2, 0]]), {"constant_values": 5}),
            Case((F2, ((1, 1), (2, 2))), {"mode": "reflect"}),
            Case((F3, ((0, 0), (1, 1), (2, 1))), {"mode": "circular"}),
            Case((arr((4,)), ((2, 3),)), {"mode": "reflect"}),
            Case((arr((4,), "int32"), ((1, 2),)), {"mode": "reflect"}),
            Case((B2, ((1, 0), (0, 1)))), Case((F2, ((1, 1), (1, 1))), {"mode": "edge"}, raises=True),
            Case((F2, ((1, 1), (1, 1))), {"mode": "reflect", "constant_values": 1}, raises=True),
            Case((F3, ((1, 1), (1, 1))), raises=True)],
    "percentile": [Case((F2, 50)), Case((F2, [10.0, 90.0]), {"axis": 1}), Case((F3, 25), {"axis": 0, "keepdims": True}),
                   Case((I2, 75), {"method": "nearest"}), Case((F2, np.array([5.0, 95.0], "float32")))],
    "power": [Case((positive((3, 4)), arr((4,)))), Case((arr((3,), "int32", 0, 4), arr((3,), "int32", 0, 3))),
              Case((F2, 2)), Case((positive((3,)), 0.5)), Case((SCALAR, F2)), Case((2, I2 % 4))],
    "prod": [Case((F2 / 2,)), Case((F2,), {"axis": 1}), Case((F3 / 2,), {"axis": (0, 1)}), Case((arr((3, 4), "int8"),)),
             Case((B2,), {"axis": 0}), Case((arr((4,), "int64"),)), Case((I2,), {"dtype": "float32", "axis": 1}),
             Case((F2,), {"axis": 0, "keepdims": True}), Case((arr((3,), "float16"),), {"axis": 0}),
             Case((arr((3,), "int8"),), {"axis": ()})],
    "ptp": [Case((F2,), {"axis": 0}), Case((F2,), {"axis": 1, "keepdims": True}), Case((I2,), {"axis": -1}),
            Case((F2,)), Case((F2,), {"axis": ()}), Case((B2,), raises=True)],
    "quantile": [Case((F2, 0.5)), Case((F2, [0.1, 0.9]), {"axis": 1}), Case((F3, 0.25), {"axis": (0, 2)}),
                 Case((F2, 0.3), {"method": "lower"}), Case((F2, 0.3), {"method": "higher"}),
                 Case((F2, 0.3), {"method": "midpoint", "axis": 0}), Case((F2, 0.3), {"method": "nearest", "axis": 1}),
                 Case((F3, [0.2, 0.8]), {"axis": 1, "keepdims": True}), Case((I2, 0.5), {"axis": 0}),
                 Case((arr((5,), "float64"), 0.4)), Case((F2, 1.5), raises=True),
                 Case((F2, 0.5), {"method": "cubic"}, raises=True)],
    "rad2deg": [Case((F2,)), Case((arr((3,), "int32"),)), Case((arr((3,), "int64"),)), Case((SCALAR,))],
    "ravel": [Case((F3,)), Case((SCALAR,)), Case((EMPTY,)), Case((B2,))],
    "real": [Case((F2,)), Case((I2,)), Case(((arr((3,)) + 1j * arr((3,))).astype("complex64"),))],
    "reciprocal": [Case((positive((3, 4)),)), Case((arr((3,), "int32", 1, 5),)), Case((SCALAR,))],
    "repeat": [Case((F2, 2), {"axis": 0}), Case((F2, 2)), Case((SCALAR, 3)), Case((I2, 3), {"axis": -1}),
               Case((F2, np.array([1, 2, 1], "int32")), {"axis": 0}), Case((F2, 0), {"axis": 1}),
               Case((F2, [1, 2]), {"axis": 0}, raises=True)],
    "reshape": [Case((F2, (4, 3))), Case((F2, (-1, 2))), Case((F2, 12)), Case((SCALAR, (1, 1))),
                Case((F2, (-1, -1)), raises=True), Case((F2, (5, 3)), raises=True), Case((F2, (-2, 6)), raises=True)],
    "right_shift": [Case((arr((3, 4), "int32", 0, 64), 2)), Case((arr((3,), "int32", 0, 64), arr((3,), "int32", 0, 3))),
                    Case((arr((3,), "uint8", 0, 200), 1)), Case((arr((3,), "float64"), 1), raises=True)],
    "roll": [Case((F2, 1)), Case((F2, -2), {"axis": 1}), Case((F3, (1, 2)), {"axis": (0, 2)}),
             Case((I2, 5), {"axis": 0})],
    "rot90": [Case((F2,)), Case((F3,), {"k": 2, "axes": (1, 2)}), Case((F2,), {"k": -1}), Case((I2,), {"k": 3}),
              Case((arr((4,)),), raises=True), Case((F2,), {"axes": (1, 1)}, raises=True),
              Case((F2,), {"axes": (0, 2)}, raises=True)],
    "round": [Case((F2 * 3,)), Case((F2,), {"decimals": 2}), Case((arr((4,), "int32", -99, 99),), {"decimals": -1}),
              Case((np.array([0.5, 1.5, 2.5, -0.5], "float32"),), note="half to even"), Case((B2,), raises=True)],
    "searchsorted": [Case((SORTED, arr((2, 3)))), Case((SORTED, SORTED), {"side": "right"}),
                     Case((np.arange(5, dtype="int32"), arr((4,), "int32", -1, 6))),
                     Case((F2, arr((3,))), raises=True)],
    "select": [Case(([F2 > 1, F2 < -1], [F2, -F2])), Case(([B2], [I2]), {"default": 7}),
               Case(([F2 > 0], [F2]), {"default": np.float32(-1.0)}), Case((F2 > 0, [F2]), raises=True),
               Case(([], []), raises=True)],
    "sign": [Case((F2,)), Case((I2,)), Case((B2,)), Case((SCALAR,)), Case((specials(),))],
    "signbit": [Case((specials(),)), Case((I2,)), Case((SCALAR,))],
    "sin": [Case((F2,)), Case((I2,)), Case((arr((3,), "float64"),)), Case((SCALAR,)), Case((EMPTY,))],
    "sinc": [Case((F2,)), Case((np.array([0.0, 0.5, -1.0], "float32"),)), Case((arr((3,), "float64"),))],
    "sinh": [Case((F2,)), Case((I2,)), Case((SCALAR,))],
    "size": [Case((F2,)), Case((EMPTY,)), Case((F3,))],
    "slogdet": [Case((SQ,)), Case((arr((2, 3, 3)),)), Case((arr((2, 2), "float64"),)),
                Case((arr((3, 3), "int32"),), raises=True)],
    "sort": [Case((F2,)), Case((F2,), {"axis": 0}), Case((F2,), {"axis": None}), Case((I2,), {"axis": 1}),
             Case((B2,)), Case((SCALAR,), {"axis": None})],
    "split": [Case((arr((4, 3)), 2)), Case((F2, [1, 3]), {"axis": 1}), Case((F3, 2), {"axis": -1}),
              Case((EMPTY, 3)), Case((F2, 2), raises=True), Case((arr((5,)), [2, 10]), raises=True)],
    "sqrt": [Case((positive((3, 4)),)), Case((arr((3,), "int32", 0, 9),)), Case((arr((3,), "int64", 0, 9),)),
             Case((arr((3,), "bool"),)), Case((SCALAR,))],
    "square": [Case((F2,)), Case((I2,)), Case((B2,)), Case((SCALAR,))],
    "squeeze": [Case((arr((1, 3, 1)),)), Case((arr((1, 3, 1)),), {"axis": 0}),
                Case((arr((1, 3, 1)),), {"axis": (0, 2)}),
                Case((arr((1, 3, 1)),), {"axis": -1}),
                Case((F2,), {"axis": 0}, note="non-1 axis kept, as Keras on torch"),
                Case((F2,), {"axis": 3}, raises=True)],
    "stack": [Case(([F2, F2],)), Case(([F2, F2],), {"axis": -1}), Case(([I2, F2],)), Case(([SCALAR, SCALAR],)),
              Case(([F2, F3],), raises=True)],
    "std": [Case((F2,)), Case((F2,), {"axis": 1}), Case((F3,), {"axis": (0, 2), "keepdims": True}), Case((I2,)),
            Case((B2,), {"axis": 0}), Case((arr((3,), "float64"),))],
    "subtract": [Case((F2, arr((4,)))), Case((B2, F2)), Case((I2, B2)), Case((I2, 2)), Case((SCALAR, F2)),
                 Case((B2, arr((3, 4), "bool")), raises=True)],
    "sum": [Case((F2,)), Case((F2,), {"axis": 1}), Case((F3,), {"axis": (0, 2), "keepdims": True}),
            Case((arr((3, 4), "int8"),)), Case((B2,), {"axis": 0}), Case((arr((3,), "int64"),)),
            Case((arr((3,), "uint8", 0, 200),)), Case((F2,), {"axis": ()}), Case(([F2, F2],)), Case((EMPTY,))],
    "swapaxes": [Case((F3, 0, 2)), Case((F3, -1, 0)), Case((F2, 0, 1)), Case((F2, 0, 2), raises=True)],
    "take": [Case((F2, np.array([[0, 5], [11, 2]]))), Case((F2, np.array([0, -1, 2])), {"axis": 1}),
             Case((F2, np.array([[1, 0]])), {"axis": 0}), Case((F3, np.int64(1)), {"axis": 1}),
             Case((I2, [2, 0]), {"axis": -1}), Case((arr((5,)), np.array([-1, -5]))),
             Case((F2, np.array([0])), {"axis": 2}, raises=True), Case((F2, np.array([4])), {"axis": 1}, raises=True)],
    "take_along_axis": [Case((F2, np.argsort(F2, axis=1)), {"axis": 1}),
                        Case((F2, np.array([[2, 0, 1, 1]])), {"axis": 0}),
                        Case((F2, np.array([[-1], [0], [-4]])), {"axis": 1}),
                        Case((I2, np.array([[0, 1]])), {"axis": -1}),
                        Case((arr((5,)), np.array([4, -1, 0])))],
    "tan": [Case((F2 / 2,)), Case((I2,)), Case((SCALAR,))],
    "tanh": [Case((F2,)), Case((I2,)), Case((arr((3,), "float64"),)), Case((EMPTY,))],
    "tensordot": [Case((F2, arr((4, 5))), {"axes": 1}), Case((F3, arr((3, 4, 2)))),
                  Case((F3, arr((4, 2, 3))), {"axes": ([1, 2], [2, 0])}),
                  Case((F2, arr((4, 2))), {"axes": (1, 0)}),
                  Case((arr((2, 3), "int32"), arr((3, 2), "int32")), {"axes": 1}),
                  Case((arr((2,)), arr((3,))), {"axes": 0}), Case((F2, arr((3, 2))), {"axes": 1}, raises=True)],
    "tile": [Case((F2, 2)), Case((F2, (2, 1))), Case((F2, (2, 1, 3))), Case((SCALAR, 3)), Case((I2, [1, 2]))],
    "trace": [Case((SQ,)), Case((F2,), {"offset": 1}), Case((F3,), {"axis1": 1, "axis2": 2}),
              Case((arr((3, 3), "int8"),)), Case((arr((3, 3), "bool"),)), Case((F2,), {"offset": -2}),
              Case((arr((3, 3), "int64"),))],
    "transpose": [Case((F2,)), Case((F3,), {"axes": (1, 0, 2)}), Case((arr((4,)),)), Case((F3,)),
                  Case((F2,), {"axes": (0, 0)}, raises=True)],
    "trapezoid": [Case((F2,)), Case((F2,), {"dx": 0.5}), Case((F2,), {"x": np.array([0.0, 0.5, 2.0, 2.5], "float32")}),
                  Case((F2,), {"axis": 0}), Case((I2,)), Case((B2,)), Case((arr((4,), "float64"),))],
    "tri": [Case((3,)), Case((3, 4), {"k": 1}), Case((2,), {"dtype": "int32"}), Case((4, 2, -1)),
            Case((3, 3), {"dtype": "bool"})],
    "tril": [Case((F2,)), Case((F2,), {"k": 1}), Case((F3,), {"k": -1}), Case((B2,)), Case((I2,), {"k": 2})],
    "triu": [Case((F2,)), Case((F2,), {"k": -1}), Case((F3,), {"k": 1}), Case((B2,)), Case((I2,), {"k": -2})],
    "true_divide": [Case((F2, positive((4,)))), Case((I2, arr((4,), "int32", 1, 3))), Case((arr((3,), "int8"), 2)),
                    Case((2, positive((3,)))), Case((arr((3,), "float16"), 2.5)), Case((3, 4)),
                    Case((B2, 2))],
    "trunc": [Case((F2 * 2,)), Case((I2,)), Case((B2,)), Case((specials(),))],
    "unique": [Case((arr((10,), "int32", 0, 4),)), Case((arr((10,), "int32", 0, 4),), {"return_counts": True}),
               Case((arr((10,), "int32", 0, 4),), {"return_index": True, "return_inverse": True}),
               Case((np.array([[1, 2], [3, 4], [1, 2]], "int32"),), {"axis": 0, "return_inverse": True}),
               Case((np.array([3, 1, 1], "int32"),),
                    {"size": 4, "fill_value": 9, "return_counts": True, "return_index": True}),
               Case((np.array([3, 1, 2, 5], "float32"),), {"size": 2, "return_counts": True}),
               Case((arr((3, 4), "int32", 0, 3),), {"return_inverse": True}), Case((B2,))],
    "unravel_index": [Case((np.array([1, 5, 11], "int64"), (3, 4))), Case((7, (2, 4))),
                      Case((np.array([[0, 3]], "int32"), (2, 2)))],
    "vander": [Case((arr((4,)),)), Case((arr((4,)),), {"N": 2}), Case((arr((3,)),), {"increasing": True}),
               Case((arr((3,), "int32"),)), Case((arr((3,)),), {"N": 0}), Case((F2,), raises=True),
               Case((arr((3,)),), {"N": -1}, raises=True), Case((arr((3,)),), {"N": 2.0}, raises=True),
               Case((arr((3,)),), {"increasing": 1}, raises=True)],
    "var": [Case((F2,)), Case((F2,), {"axis": 0, "keepdims": True}), Case((I2,)), Case((arr((3,), "float64"),)),
            Case((F2,), {"axis": ()}), Case((B2,), {"axis": 1})],
    "vdot": [Case((arr((4,)), arr((4,)))), Case((arr((3,), "int32"), arr((3,), "int32"))),
             Case((arr((3,)), arr((3,), "int32"))), Case((arr((3,)), arr((4,))), raises=True)],
    "view": [Case((I2, "float32")), Case((F2, "int8")), Case((arr((2, 4), "int8"), "int32")), Case((F2, "int32")),
             Case((arr((3,), "int8"), "int16"), raises=True)],
    "vsplit": [Case((arr((4, 3)), 2)), Case((arr((4, 3)), [1, 3])), Case((arr((4,)), 2), raises=True),
               Case((arr((3, 2)), 2), raises=True)],
    "vstack": [Case(([F2, F2],)), Case(([arr((3,)), arr((3,))],)), Case(([I2, F2],)),
               Case(([F2, arr((2, 3))],), raises=True)],
    "where": [Case((B2, F2, arr((4,)))), Case((B2, 1, 2.5)), Case((F2, 1, 2)), Case((B2,)),
              Case((B2, I2, F2)), Case((B2, F2), raises=True)],
    "zeros": [Case((3,)), Case(((2, 3),), {"dtype": "int32"}), Case(((),)), Case(((0, 2),), {"dtype": "bool"})],
    "zeros_like": [Case((F2,)), Case((F2,), {"dtype": "int32"}), Case((B2,)), Case((SCALAR,), {"dtype": "float64"})],
}


@pytest.mark.parametrize("name,case", params(TABLE))
def test_matches_keras(name, case):
    run_case(name, case)


def test_every_op_has_cases():
    assert len(NAMES) == 95
    assert set(TABLE) | {"vectorize"} == set(NAMES)
    assert set(NAMES) <= set(iops.__all__), "every name is in the flat initium.ops namespace"


@pytest.mark.parametrize("name", NAMES)
def test_signatures_match_keras(name):
    def described(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert described(getattr(iops, name)) == described(getattr(kops, name))


# ------------------------------------------------------------------------------------- vectorize
def _dot_rows(lib):
    return lambda a, b: lib.ops.sum(a * b)


def _scale(lib):
    return lambda a, s: a * s


VECTORIZE = [
    (_scale, {}, (arr((3, 4)), arr((4,)))),
    (_dot_rows, {"signature": "(n),(n)->()"}, (arr((2, 3, 5)), arr((5,)))),
    (_dot_rows, {"signature": "(n),(n)->()"}, (arr((3, 1, 5)), arr((4, 5)))),
    (_scale, {"signature": "(m,n),()->(m,n)"}, (arr((2, 3, 4)), arr((2,)))),
]


@pytest.mark.parametrize("make,kwargs,inputs", VECTORIZE)
def test_vectorize_matches_keras(make, kwargs, inputs):
    theirs = kops.vectorize(make(KERAS), **kwargs)(*[x.copy() for x in inputs])
    ours = iops.vectorize(make(INITIUM), **kwargs)(*[x.copy() for x in inputs])
    assert_same("vectorize", ours, theirs, Case(inputs, kwargs))


def test_vectorize_excluded_and_errors():
    calls = []

    def f(a, power, *, offset=0.0):
        calls.append(power)
        return a ** power + offset

    out = iops.vectorize(f, excluded={1})(torch.tensor([1.0, 2.0, 3.0]), 2, offset=1.0)
    torch.testing.assert_close(out, torch.tensor([2.0, 5.0, 10.0]))
    assert calls == [2], "an excluded argument is passed once, unchanged (not mapped)"
    with pytest.raises(ValueError, match="pyfunc"):
        iops.vectorize(3)
    with pytest.raises(ValueError, match="signature"):
        iops.vectorize(f, signature="(n->()")
    with pytest.raises(ValueError, match="core axis 'n'"):
        iops.vectorize(lambda a, b: (a * b).sum(), signature="(n),(n)->()")(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="core axes"):
        iops.vectorize(lambda a: a, signature="(n)->()")(torch.ones(2, 3))


# ------------------------------------------------------------------------------------- symbolic
SYMBOLIC = [
    ("matmul", (Sym((None, 3)), Sym((3, 4))), {}), ("max", (Sym((None, 3)),), {"axis": 1}),
    ("maximum", (Sym((None, 3)), Sym((3,))), {}), ("mean", (Sym((None, 3), "int32"),), {"axis": 0, "keepdims": True}),
    ("median", (Sym((None, 4)),), {"axis": -1}), ("meshgrid", (Sym((3,)), Sym((None,))), {}),
    ("meshgrid", (Sym((3,)), Sym((4,))), {"indexing": "ij"}), ("min", (Sym((2, None)),), {"keepdims": True}),
    ("minimum", (Sym((None, 3), "int32"), Sym((None, 3), "int32")), {}),
    ("mod", (Sym((None, 2), "bool"), Sym((2,), "bool")), {}),
    ("moveaxis", (Sym((None, 3, 4)), 0, -1), {}), ("multiply", (Sym((None, 3)), 2.0), {}),
    ("nan_to_num", (Sym((None, 3)),), {"nan": 1.0}), ("nanargmax", (Sym((None, 3)),), {"axis": 1}),
    ("nanargmin", (Sym((4, None)),), {"axis": 0, "keepdims": True}),
    ("nancumprod", (Sym((None, 3), "int32"),), {"axis": 1}),
    ("nancumsum", (Sym((2, 3)),), {}), ("nanmax", (Sym((None, 3)),), {"axis": 0}),
    ("nanmean", (Sym((None, 3), "int32"),), {}),
    ("nanmedian", (Sym((None, 3)),), {"axis": 1}), ("nanmin", (Sym((None, 3)),), {"axis": -1, "keepdims": True}),
    ("nanpercentile", (Sym((None, 3)), 50.0), {"axis": 1}), ("nanprod", (Sym((None, 3), "int8"),), {"axis": 1}),
    ("nanquantile", (Sym((None, 3)), Sym((2,))), {"axis": 1}), ("nanstd", (Sym((None, 3)),), {"axis": 0}),
    ("nansum", (Sym((None, 3), "bool"),), {"axis": 1}), ("nanvar", (Sym((None, 3)),), {"axis": 1, "keepdims": True}),
    ("negative", (Sym((None, 3)),), {}), ("nextafter", (Sym((None, 3)), Sym((3,))), {}),
    ("not_equal", (Sym((None, 3)), Sym((1, 3))), {}), ("ones_like", (Sym((None, 3)),), {"dtype": "int32"}),
    ("outer", (Sym((None,)), Sym((4,))), {}), ("pad", (Sym((None, 3)), ((1, 2), (0, 1))), {}),
    ("pad", (Sym((2, 3)), 1), {"mode": "reflect"}),
    ("percentile", (Sym((None, 5), "int32"), [10.0, 50.0]), {"axis": 1}),
    ("power", (Sym((None, 3)), Sym((3,))), {}), ("prod", (Sym((None, 3), "int16"),), {"axis": 0}),
    ("ptp", (Sym((None, 3)),), {"axis": 1}), ("quantile", (Sym((None, 3)), 0.5), {"axis": 1, "keepdims": True}),
    ("rad2deg", (Sym((None, 3)),), {}), ("ravel", (Sym((None, 3)),), {}), ("ravel", (Sym((2, 3)),), {}),
    ("real", (Sym((None, 3)),), {}), ("reciprocal", (Sym((None, 3)),), {}),
    ("repeat", (Sym((None, 3)), 2), {"axis": 1}),
    ("repeat", (Sym((None, 3)), 2), {"axis": 0}), ("repeat", (Sym((2, 3)), [1, 2]), {"axis": 0}),
    ("reshape", (Sym((None, 6)), (-1, 3, 2)), {}), ("right_shift", (Sym((None, 3), "int32"), 1), {}),
    ("roll", (Sym((None, 3)), 1), {"axis": 1}), ("rot90", (Sym((None, 3, 4)),), {"axes": (1, 2)}),
    ("round", (Sym((None, 3)),), {"decimals": 1}), ("searchsorted", (Sym((5,)), Sym((None, 3))), {}),
    ("select", ([Sym((None, 3), "bool")], [Sym((None, 3))]), {}), ("sign", (Sym((None, 3), "int32"),), {}),
    ("signbit", (Sym((None, 3)),), {}), ("sin", (Sym((None, 3), "int32"),), {}), ("sinc", (Sym((None, 3)),), {}),
    ("sinh", (Sym((None, 3)),), {}), ("slogdet", (Sym((3, 3)),), {}),
    ("sort", (Sym((None, 3)),), {"axis": 0}), ("sort", (Sym((None, 3)),), {"axis": None}),
    ("split", (Sym((None, 4)), 2), {"axis": 1}), ("split", (Sym((5, None)), [1, 3]), {"axis": 0}),
    ("sqrt", (Sym((None, 3), "int64"),), {}), ("square", (Sym((None, 3), "bool"),), {}),
    ("squeeze", (Sym((None, 1, 3)),), {"axis": 1}), ("stack", ([Sym((None, 3)), Sym((None, 3))],), {"axis": 1}),
    ("std", (Sym((None, 3), "int32"),), {"axis": 1}), ("subtract", (Sym((None, 3)), Sym((3,))), {}),
    ("sum", (Sym((None, 3), "int8"),), {"axis": 1}), ("swapaxes", (Sym((None, 3, 4)), 0, 2), {}),
    ("take", (Sym((None, 3)), np.array([[0, 1]])), {"axis": 1}),
    ("take", (Sym((4, 3)), Sym((None,), "int32")), {"axis": 0}),
    ("take_along_axis", (Sym((None, 3)), Sym((None, 2), "int32")), {"axis": 1}), ("tan", (Sym((None, 3)),), {}),
    ("tanh", (Sym((None, 3)),), {}), ("tensordot", (Sym((None, 3, 4)), Sym((4, 5))), {"axes": 1}),
    ("tile", (Sym((None, 3)),), {"repeats": (2, 2)}), ("trace", (Sym((None, 3, 3), "int8"),), {"axis1": 1, "axis2": 2}),
    ("transpose", (Sym((None, 3, 4)),), {"axes": (2, 0, 1)}), ("trapezoid", (Sym((None, 5)),), {}),
    ("tril", (Sym((None, 3)),), {"k": 1}), ("triu", (Sym((None, 3)),), {}),
    ("true_divide", (Sym((None, 3), "int32"), 2), {}),
    ("trunc", (Sym((None, 3)),), {}), ("unique", (Sym((None,), "int32"),), {}),
    ("unique", (Sym((6,), "int32"),), {"size": 4}), ("unravel_index", (Sym((None,), "int32"), (3, 4)), {}),
    ("vander", (Sym((None,)),), {"N": 3}), ("var", (Sym((None, 3)),), {"axis": 0}),
    ("vdot", (Sym((3,)), Sym((3,))), {}),
    ("view", (Sym((None, 4), "int32"), "int8"), {}), ("vsplit", (Sym((4, None)), 2), {}),
    ("vstack", ([Sym((None, 3)), Sym((2, 3))],), {}),
    ("where", (Sym((None, 3), "bool"), Sym((3,)), Sym((None, 1))), {}),
    ("zeros_like", (Sym((None, 3), "int32"),), {}),
]


@pytest.mark.parametrize("name,args,kwargs",
                         [pytest.param(n, a, k, id=f"{n}-{i}") for i, (n, a, k) in enumerate(SYMBOLIC)])
def test_symbolic_spec_matches_keras(name, args, kwargs):
    run_symbolic(name, *args, **kwargs)


def test_every_graph_op_has_a_symbolic_case():
    creation = {"ones", "zeros", "tri", "vectorize"}
    own_specs = {"ndim", "nonzero", "size"}  # their specs deliberately differ from Keras's (see test below)
    assert {n for n, _, _ in SYMBOLIC} | creation | own_specs == set(NAMES)


def test_symbolic_specs_follow_the_eager_result():
    """Where Keras's symbolic spec disagrees with what its torch backend returns, initium's spec
    is what the op returns when it runs."""
    x = initium.KerasTensor((None, 3))
    assert iops.ndim(x) == 2
    spec = iops.size(x)
    assert (spec.shape, spec.dtype) == ((), "int64")
    spec = iops.nonzero(x)
    assert (spec.shape, spec.dtype) == ((2, None), "int32")
    assert tuple(iops.nonzero(torch.tensor([[1.0, 0.0, 2.0]])).shape) == (2, 2)
    spec = iops.where(initium.KerasTensor((None, 3), dtype="bool"))
    assert (spec.shape, spec.dtype) == ((2, None), "int64")
    values, index, inverse, counts = iops.unique(initium.KerasTensor((None, 2), "int32"), return_index=True,
                                                 return_inverse=True, return_counts=True)
    assert [(t.shape, t.dtype) for t in (values, index, inverse, counts)] == [
        ((None,), "int32"), ((None,), "int64"), ((None, 2), "int64"), ((None,), "int64")]
    eager = iops.unique(torch.tensor([[1, 2], [2, 3]]), return_index=True, return_inverse=True, return_counts=True)
    assert [str(t.dtype) for t in eager[1:]] == ["torch.int64"] * 3


def test_creation_ops_refuse_symbolic_inputs():
    with pytest.raises(TypeError, match="ops.ones"):
        iops.ones(initium.KerasTensor((3,), "int32"))
    with pytest.raises(TypeError, match="ops.vectorize"):
        iops.vectorize(lambda a: a)(initium.KerasTensor((3,)))


def test_pad_node_passes_constant_values_by_keyword():
    """Pad's constructor takes pad_width and mode; constant_values is a call argument that comes
    after them, so the node must receive it by keyword."""
    x = initium.KerasTensor((None, 2))
    y = iops.pad(x, ((1, 0), (0, 1)), constant_values=3.0)
    op, _, _ = y._keras_history
    assert op._inbound_nodes[0].kwargs == {"constant_values": 3.0}
    out = op.call(torch.zeros(1, 2), constant_values=3.0)
    torch.testing.assert_close(out, torch.tensor([[3.0, 3.0, 3.0], [0.0, 0.0, 3.0]]))


# ------------------------------------------------------------------------------------- deviations
DEVIATIONS = [
    # (op, args, kwargs, NumPy's answer, why Keras's torch backend differs)
    ("pad", (F2, 1), {}, np.pad(F2, 1), "an int width pads only the last axis"),
    ("pad", (F2, (1, 2)), {}, np.pad(F2, (1, 2)), "a single pair pads only the last axis"),
    ("pad", (F2, ((2, 3), (3, 1))), {"mode": "symmetric"}, np.pad(F2, ((2, 3), (3, 1)), mode="symmetric"),
     "symmetric is padded as edge"),
    ("pad", (np.arange(3, dtype="float32"), ((5, 4),)), {"mode": "reflect"},
     np.pad(np.arange(3, dtype="float32"), ((5, 4),), mode="reflect"), "reflections wider than the axis are refused"),
    ("max", (F2,), {"keepdims": True}, F2.max(keepdims=True), "keepdims is dropped when axis=None"),
    ("min", (np.zeros((0, 3), "float32"),), {"axis": 0, "initial": 2.0},
     np.min(np.zeros((0, 3), "float32"), axis=0, initial=2.0), "an empty input gives a scalar"),
    ("max", (np.zeros((2, 0), "int32"),), {"axis": 0}, np.zeros((0,), "int32"), "any empty input raises"),
    ("sum", (F2,), {"keepdims": True}, F2.sum(keepdims=True), "keepdims is dropped when axis=None"),
    ("prod", (F2,), {"keepdims": True}, F2.prod(keepdims=True), "keepdims is dropped when axis=None"),
    ("ptp", (F2,), {"keepdims": True}, np.ptp(F2, keepdims=True), "keepdims is dropped when axis=None"),
    ("std", (F2,), {"axis": ()}, np.zeros_like(F2), "axis=() reduces every axis"),
    ("take", (F2, np.array([-1, -12])), {}, np.take(F2, [-1, -12]), "negative indices count from the end of axis 0"),
    ("take_along_axis", (F2, np.array([-1, 0])), {}, np.take_along_axis(F2.ravel(), np.array([-1, 0]), None),
     "negative indices count from the end of axis 0"),
    ("vdot", (F2, F2 + 1), {}, np.vdot(F2, F2 + 1), "inputs of rank > 1 are refused"),
    ("nancumsum", (np.array([np.inf, 1.0, np.nan, 2.0], "float32"),), {},
     np.nancumsum(np.array([np.inf, 1.0, np.nan, 2.0], "float32")), "infinities become the largest finite floats"),
    ("nancumprod", (np.array([np.nan, np.inf, 0.5], "float32"),), {},
     np.nancumprod(np.array([np.nan, np.inf, 0.5], "float32")), "infinities become the largest finite floats"),
    ("nanmax", (I2,), {"axis": ()}, I2, "axis=() reduces every axis of an integer input"),
    ("view", (np.arange(3, dtype="int32"),), {}, np.arange(3, dtype="int32"), "dtype=None reads the bits as float32"),
    ("size", (SCALAR,), {}, np.array(1, "int64"), "a 0-d input gives float32"),
    ("tri", (3, 0), {}, np.tri(3, 0, dtype="float32"), "M=0 is read as M=N"),
    ("repeat", (np.arange(3, dtype="int32"), [1, 0, 2]), {}, np.repeat(np.arange(3, dtype="int32"), [1, 0, 2]),
     "a list of counts is refused"),
    ("repeat", (I2, [1, 0, 2]), {"axis": 0}, np.repeat(I2, [1, 0, 2], axis=0), "a list of counts is refused"),
    ("repeat", (F2, [2]), {"axis": 1}, np.repeat(F2, [2], axis=1), "a list of counts is refused"),
    ("unique", (np.array([[3, 1], [1, 2]], "int32"),), {"return_index": True},
     (np.array([1, 2, 3], "int32"), np.array([1, 3, 0])), "return_index fails for rank > 1"),
]


def _np_like(ours, expected):
    if isinstance(expected, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(expected)
        for o, e in zip(ours, expected):
            _np_like(o, e)
        return
    got = ours.detach().cpu().numpy()
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, f"dtype {got.dtype} != NumPy's {expected.dtype}"
    if expected.dtype.kind == "f" and got.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name,args,kwargs,expected,why",
                         [pytest.param(*d, id=f"{d[0]}-{i}") for i, d in enumerate(DEVIATIONS)])
def test_deviations_follow_numpy(name, args, kwargs, expected, why):
    """initium gives NumPy's answer; Keras's torch backend still differs (``why``), so the
    difference stays a deliberate one."""
    ours = getattr(iops, name)(*args, **kwargs)
    _np_like(ours, expected)
    try:
        theirs = getattr(kops, name)(*[a.copy() if isinstance(a, np.ndarray) else a for a in args], **kwargs)
    except Exception:  # noqa: BLE001  (Keras refusing the input is the difference)
        return
    with pytest.raises(AssertionError):
        assert_same(name, ours, theirs, Case(args, kwargs))
