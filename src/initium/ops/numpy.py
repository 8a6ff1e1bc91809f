"""``keras.ops.numpy``: NumPy's API over torch tensors, with Keras's dtype rules.

Every function converts its inputs with ``core.convert_to_tensor`` (Python scalars stay weakly
typed: ``int8_tensor + 3`` is int8, ``int32_tensor + 1.5`` is float32) and is declared with
``keras_op`` under Keras's class name, so it also builds graph nodes on KerasTensors.

The results follow Keras 3 on its torch backend: the same dtypes (integer inputs to float
functions give ``floatx()``, int64 ones float64 where Keras says so), the same shapes and the same
errors. Where that backend disagrees with Keras's own symbolic output spec and with NumPy (an
ignored ``keepdims``, a transposed count, a weighted average over the wrong axis), initium follows
the spec and NumPy, so a model gives the same answer eagerly and as a graph; each such function
says so in its docstring ("Keras's torch backend ..."): ``max(keepdims=True)`` keeps the axes,
``pad`` with an ``int`` width pads every axis, ``take`` with ``axis=None`` counts negative indices
from the end of the flattened tensor, ``vdot`` flattens, ``nancumsum`` leaves infinities alone,
``average`` weighs along ``axis``. Dtypes always follow Keras: ``sum`` of int8 is int32, ``mean`` of
ints is float32, ``prod`` of int64 is int32 (Keras narrows 64-bit promotions).
"""

from __future__ import annotations

import builtins
import functools
import math
import operator
import re
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from initium import backend
from initium.ops.core import convert_to_tensor
from initium.ops.core import shape as _static_shape
from initium.ops.operation import any_symbolic, device, keras_op, symbolic_spec
from initium.symbolic import KerasTensor

__all__ = [
    "abs", "absolute", "add", "all", "allclose", "amax", "amin", "angle", "any", "append", "arange", "arccos",
    "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin", "argpartition", "argsort",
    "array", "array_split", "average", "bartlett", "bincount", "bitwise_and", "bitwise_invert", "bitwise_left_shift",
    "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "blackman", "broadcast_to", "cbrt", "ceil",
    "clip", "concatenate", "conj", "conjugate", "copy", "corrcoef", "correlate", "cos", "cosh", "count_nonzero",
    "cross", "cumprod", "cumsum", "deg2rad", "diag", "diagflat", "diagonal", "diff", "digitize", "divide",
    "divide_no_nan", "dot", "dsplit", "dstack", "einsum", "empty", "empty_like", "equal", "exp", "exp2",
    "expand_dims", "expm1", "eye", "fabs", "flip", "fliplr", "flipud", "floor", "floor_divide", "fmax", "fmin",
    "fmod", "full", "full_like", "gcd", "geomspace", "get_item", "greater", "greater_equal", "hamming", "hanning",
    "heaviside", "histogram", "hsplit", "hstack", "hypot", "i0", "identity", "imag", "inner", "isclose",
    "isfinite", "isin", "isinf", "isnan", "isneginf", "isposinf", "isreal", "kaiser", "kron", "lcm", "ldexp",
    "left_shift", "less", "less_equal", "linspace", "log", "log10", "log1p", "log2", "logaddexp", "logaddexp2",
    "logical_and", "logical_not", "logical_or", "logical_xor", "logspace",
    "matmul", "max", "maximum", "mean", "median", "meshgrid", "min", "minimum", "mod", "moveaxis",
    "multiply", "nan_to_num", "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin",
    "nanpercentile", "nanprod", "nanquantile", "nanstd", "nansum", "nanvar", "ndim", "negative", "nextafter", "nonzero",
    "not_equal", "ones", "ones_like", "outer", "pad", "percentile", "power", "prod", "ptp", "quantile",
    "rad2deg", "ravel", "real", "reciprocal", "repeat", "reshape", "right_shift", "roll", "rot90", "round",
    "searchsorted", "select", "sign", "signbit", "sin", "sinc", "sinh", "size", "slogdet", "sort",
    "split", "sqrt", "square", "squeeze", "stack", "std", "subtract", "sum", "swapaxes", "take",
    "take_along_axis", "tan", "tanh", "tensordot", "tile", "trace", "transpose", "trapezoid", "tri", "tril",
    "triu", "true_divide", "trunc", "unique", "unravel_index", "vander", "var", "vdot", "vectorize", "view",
    "vsplit", "vstack", "where", "zeros", "zeros_like",
]

_SMALL_INTS = ("int8", "int16", "int32", "uint8", "uint16", "uint32")
_HALF = (torch.float16, torch.bfloat16)


# ------------------------------------------------------------------------------------- helpers
def _pair(x1: Any, x2: Any) -> tuple[torch.Tensor, torch.Tensor]:
    return convert_to_tensor(x1), convert_to_tensor(x2)


def _name(x: torch.Tensor) -> str:
    """The Keras dtype name of a tensor."""
    return backend.standardize_dtype(x.dtype)


def _dtype_of(x: Any) -> Any:
    """What Keras promotes an argument as: a Python scalar by its (weak) type, else by its dtype."""
    if isinstance(x, (bool, int, float, complex)):
        return type(x)
    return x.dtype if hasattr(x, "dtype") else convert_to_tensor(x).dtype


def _cast(x: torch.Tensor, dtype: str) -> torch.Tensor:
    target = backend.torch_dtype(dtype)
    return x if x.dtype == target else x.to(target)


def _promoted(x1: Any, x2: Any, *extra: Any) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Both inputs converted and cast to ``result_type`` of their dtypes (and of ``extra``)."""
    x1, x2 = _pair(x1, x2)
    dtype = backend.result_type(x1.dtype, x2.dtype, *extra)
    return _cast(x1, dtype), _cast(x2, dtype), dtype


def _to_float(x: torch.Tensor) -> torch.Tensor:
    """Integer and bool tensors as ``floatx()``; float (and complex) tensors unchanged."""
    return x if x.is_floating_point() or x.is_complex() else _cast(x, backend.floatx())


def _wide_float(dtype: str) -> str:
    """The dtype Keras computes ``hypot`` and ``heaviside`` in: integers become float (int64 float64)."""
    if dtype in _SMALL_INTS:
        return backend.floatx()
    return "float64" if dtype == "int64" else dtype


def _axes(axis: Any) -> Any:
    """``None``, or the axes as a tuple (an int becomes a 1-tuple)."""
    if axis is None or isinstance(axis, (list, tuple)):
        return None if axis is None else tuple(axis)
    return (operator.index(axis),)


def _canonical_axis(axis: int, ndim: int, op: str, name: str = "axis") -> int:
    """``axis`` in ``[0, ndim)``, or NumPy's AxisError naming the op: a ValueError (as Keras's
    ``canonicalize_axis`` raises) that is also an IndexError (as torch raises)."""
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"ops.{op}: {name}={axis} is out of bounds for a tensor of rank {ndim} "
                         f"(expected -{ndim} <= {name} < {ndim}).")
    return axis % ndim


# ------------------------------------------------------------------------------------- arithmetic
@keras_op("Add", "numpy")
def add(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 + x2``, element-wise with broadcasting."""
    return torch.add(*_pair(x1, x2))


def _number_or_tensor(x: Any) -> Any:
    """Python numbers pass through (torch treats them as weak scalars); anything else is converted."""
    return x if isinstance(x, (int, float)) else convert_to_tensor(x)


@keras_op("Divide", "numpy")
def divide(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 / x2``, true division (integers and bools divide to a float dtype)."""
    return torch.divide(_number_or_tensor(x1), _number_or_tensor(x2))


@keras_op("DivideNoNan", "numpy")
def divide_no_nan(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 / x2``, but 0 wherever ``x2 == 0`` (no inf or NaN from a zero divisor)."""
    dtype = backend.result_type(_dtype_of(x1), _dtype_of(x2), float)
    x1, x2 = convert_to_tensor(x1, dtype), convert_to_tensor(x2, dtype)
    zero = x2 == 0
    return torch.where(zero, 0, x1 / torch.where(zero, 1, x2))


@keras_op("FloorDivide", "numpy")
def floor_divide(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 // x2``, rounding toward minus infinity, in the promoted dtype."""
    dtype = backend.result_type(_dtype_of(x1), _dtype_of(x2))
    return _cast(torch.floor_divide(*_pair(x1, x2)), dtype)


@keras_op("Fmod", "numpy")
def fmod(x1: Any, x2: Any) -> torch.Tensor:
    """The remainder of ``x1 / x2`` with the sign of ``x1`` (C's ``fmod``); bools count as int32."""
    x1, x2 = _pair(x1, x2)
    if x1.dtype == torch.bool and x2.dtype == torch.bool:
        x1, x2 = x1.int(), x2.int()
    return torch.fmod(x1, x2)


@keras_op("Absolute", "numpy")
def absolute(x: Any) -> torch.Tensor:
    """``|x|`` (bools are returned as they are)."""
    x = convert_to_tensor(x)
    return x if x.dtype == torch.bool else torch.abs(x)


abs = absolute  # noqa: A001  (Keras's alias)


@keras_op("Fabs", "numpy")
def fabs(x: Any) -> torch.Tensor:
    """``|x|`` as a float (integers and bools become ``floatx``); complex inputs are refused."""
    x = convert_to_tensor(x)
    if x.is_complex():
        raise TypeError(f"ops.fabs: complex inputs are not supported (use ops.absolute for the modulus). "
                        f"Received: x.dtype={_name(x)}")
    return torch.abs(_to_float(x))


def _fmax_fmin(fn: Any, x1: Any, x2: Any) -> torch.Tensor:
    dtype = backend.result_type(_dtype_of(x1), _dtype_of(x2))
    return fn(convert_to_tensor(x1, dtype), convert_to_tensor(x2, dtype))


@keras_op("Fmax", "numpy")
def fmax(x1: Any, x2: Any) -> torch.Tensor:
    """Element-wise maximum that ignores NaNs (NaN only where both are NaN)."""
    return _fmax_fmin(torch.fmax, x1, x2)


@keras_op("Fmin", "numpy")
def fmin(x1: Any, x2: Any) -> torch.Tensor:
    """Element-wise minimum that ignores NaNs (NaN only where both are NaN)."""
    return _fmax_fmin(torch.fmin, x1, x2)


@keras_op("Gcd", "numpy")
def gcd(x1: Any, x2: Any) -> torch.Tensor:
    """Greatest common divisor of integers, element-wise."""
    return torch.gcd(*_pair(x1, x2))


@keras_op("Lcm", "numpy")
def lcm(x1: Any, x2: Any) -> torch.Tensor:
    """Least common multiple of integers, element-wise."""
    return torch.lcm(*_pair(x1, x2))


@keras_op("Heaviside", "numpy")
def heaviside(x1: Any, x2: Any) -> torch.Tensor:
    """The step function: 0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 where ``x1 > 0``."""
    x1, x2 = _pair(x1, x2)
    dtype = _wide_float(backend.result_type(x1.dtype, x2.dtype))
    return torch.heaviside(_cast(x1, dtype), _cast(x2, dtype))


@keras_op("Hypot", "numpy")
def hypot(x1: Any, x2: Any) -> torch.Tensor:
    """``sqrt(x1**2 + x2**2)`` without intermediate overflow; integers give a float dtype."""
    x1, x2 = _pair(x1, x2)
    dtype = _wide_float(backend.result_type(x1.dtype, x2.dtype))
    return torch.hypot(_cast(x1, dtype), _cast(x2, dtype))


@keras_op("Ldexp", "numpy")
def ldexp(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 * 2**x2`` for an integer exponent ``x2``."""
    x1, x2 = _pair(x1, x2)
    dtype = backend.result_type(x1.dtype, x2.dtype, float)
    if _name(x2) not in backend.INT_DTYPES:
        raise TypeError(f"ops.ldexp: the exponent `x2` must have an integer dtype. Received: x2.dtype={_name(x2)}")
    return _cast(torch.ldexp(x1, x2), dtype)


@keras_op("Logaddexp", "numpy")
def logaddexp(x1: Any, x2: Any) -> torch.Tensor:
    """``log(exp(x1) + exp(x2))``, computed stably, in a float dtype."""
    x1, x2, _ = _promoted(x1, x2, float)
    return torch.logaddexp(x1, x2)


@keras_op("Logaddexp2", "numpy")
def logaddexp2(x1: Any, x2: Any) -> torch.Tensor:
    """``log2(2**x1 + 2**x2)``, computed stably, in a float dtype."""
    x1, x2, _ = _promoted(x1, x2, float)
    return torch.logaddexp2(x1, x2)


@keras_op("Arctan2", "numpy")
def arctan2(x1: Any, x2: Any) -> torch.Tensor:
    """The angle of the point ``(x2, x1)``, in ``[-pi, pi]``, in a float dtype."""
    x1, x2, _ = _promoted(x1, x2, float)
    return torch.arctan2(x1, x2)


# ------------------------------------------------------------------------------------- unary math
@keras_op("Exp", "numpy")
def exp(x: Any) -> torch.Tensor:
    """``e**x`` (integers and bools become ``floatx``)."""
    return torch.exp(_to_float(convert_to_tensor(x)))


@keras_op("Exp2", "numpy")
def exp2(x: Any) -> torch.Tensor:
    """``2**x`` (integers and bools become ``floatx``)."""
    return torch.exp2(_to_float(convert_to_tensor(x)))


@keras_op("Expm1", "numpy")
def expm1(x: Any) -> torch.Tensor:
    """``e**x - 1``, accurate near 0 (integers and bools become ``floatx``)."""
    return torch.expm1(_to_float(convert_to_tensor(x)))


@keras_op("Log", "numpy")
def log(x: Any) -> torch.Tensor:
    """Natural logarithm (integers give float32)."""
    return torch.log(convert_to_tensor(x))


@keras_op("Log10", "numpy")
def log10(x: Any) -> torch.Tensor:
    """Base-10 logarithm (integers give float32)."""
    return torch.log10(convert_to_tensor(x))


@keras_op("Log1p", "numpy")
def log1p(x: Any) -> torch.Tensor:
    """``log(1 + x)``, accurate near 0 (integers give float32)."""
    return torch.log1p(convert_to_tensor(x))


@keras_op("Log2", "numpy")
def log2(x: Any) -> torch.Tensor:
    """Base-2 logarithm (integers give float32)."""
    return torch.log2(convert_to_tensor(x))


@keras_op("Cos", "numpy")
def cos(x: Any) -> torch.Tensor:
    """Cosine, element-wise (integers give float32)."""
    return torch.cos(convert_to_tensor(x))


@keras_op("Cosh", "numpy")
def cosh(x: Any) -> torch.Tensor:
    """Hyperbolic cosine, element-wise (integers give float32)."""
    return torch.cosh(convert_to_tensor(x))


@keras_op("Arccos", "numpy")
def arccos(x: Any) -> torch.Tensor:
    """Inverse cosine, in ``[0, pi]`` (NaN outside ``[-1, 1]``)."""
    return torch.arccos(convert_to_tensor(x))


@keras_op("Arccosh", "numpy")
def arccosh(x: Any) -> torch.Tensor:
    """Inverse hyperbolic cosine (NaN below 1)."""
    return torch.arccosh(convert_to_tensor(x))


@keras_op("Arcsin", "numpy")
def arcsin(x: Any) -> torch.Tensor:
    """Inverse sine, in ``[-pi/2, pi/2]`` (NaN outside ``[-1, 1]``)."""
    return torch.arcsin(convert_to_tensor(x))


@keras_op("Arcsinh", "numpy")
def arcsinh(x: Any) -> torch.Tensor:
    """Inverse hyperbolic sine."""
    return torch.arcsinh(convert_to_tensor(x))


@keras_op("Arctan", "numpy")
def arctan(x: Any) -> torch.Tensor:
    """Inverse tangent, in ``(-pi/2, pi/2)``."""
    return torch.arctan(convert_to_tensor(x))


@keras_op("Arctanh", "numpy")
def arctanh(x: Any) -> torch.Tensor:
    """Inverse hyperbolic tangent (inf at +-1, NaN beyond)."""
    return torch.arctanh(convert_to_tensor(x))


@keras_op("Cbrt", "numpy")
def cbrt(x: Any) -> torch.Tensor:
    """Real cube root (negative for negative inputs); int64 gives float64, other integers floatx."""
    x = convert_to_tensor(x)
    x = _cast(x, "float64") if x.dtype == torch.int64 else _to_float(x)
    return torch.sign(x) * x.abs().pow(1.0 / 3.0)


@keras_op("Deg2rad", "numpy")
def deg2rad(x: Any) -> torch.Tensor:
    """Degrees to radians; int64 gives float64, other integers float32."""
    x = convert_to_tensor(x)
    return torch.deg2rad(_cast(x, "float64") if x.dtype == torch.int64 else x)


@keras_op("I0", "numpy")
def i0(x: Any) -> torch.Tensor:
    """The modified Bessel function of the first kind, order 0; int64 gives float64."""
    x = convert_to_tensor(x)
    name = _name(x)
    if name in ("int64", "float64"):
        dtype = "float64"
    else:
        dtype = name if name in ("bfloat16", "float16") else backend.floatx()
    return torch.i0(_cast(x, dtype))


def _rounded(fn: Any, x: Any) -> torch.Tensor:
    """``fn`` (ceil or floor) in Keras's output dtype: int64 gives ``floatx``, others promote with float."""
    x = convert_to_tensor(x)
    dtype = backend.floatx() if x.dtype == torch.int64 else backend.result_type(x.dtype, float)
    return fn(_cast(x, dtype))


@keras_op("Ceil", "numpy")
def ceil(x: Any) -> torch.Tensor:
    """The smallest integer value >= x, as a float."""
    return _rounded(torch.ceil, x)


@keras_op("Floor", "numpy")
def floor(x: Any) -> torch.Tensor:
    """The largest integer value <= x, as a float."""
    return _rounded(torch.floor, x)


@keras_op("Clip", "numpy", init=("x_min", "x_max"))
def clip(x: Any, x_min: Any, x_max: Any) -> torch.Tensor:
    """``x`` limited to ``[x_min, x_max]`` (bools clip as int32)."""
    x = convert_to_tensor(x)
    if x.dtype == torch.bool:
        x = x.int()
    return torch.clip(x, min=convert_to_tensor(x_min), max=convert_to_tensor(x_max))


# ------------------------------------------------------------------------------------- complex
@keras_op("Angle", "numpy")
def angle(x: Any) -> torch.Tensor:
    """The argument of complex numbers (0 or pi for real ones)."""
    return torch.angle(convert_to_tensor(x))


@keras_op("Conjugate", "numpy")
def conjugate(x: Any) -> torch.Tensor:
    """The complex conjugate (real tensors are returned unchanged)."""
    return torch.conj(convert_to_tensor(x)).resolve_conj()


conj = conjugate  # Keras's alias


@keras_op("Imag", "numpy")
def imag(x: Any) -> torch.Tensor:
    """The imaginary part of a complex tensor (torch refuses real ones, as in Keras)."""
    return torch.imag(convert_to_tensor(x))


@keras_op("Isreal", "numpy")
def isreal(x: Any) -> torch.Tensor:
    """True where the imaginary part is 0 (everywhere, for real tensors)."""
    return torch.isreal(convert_to_tensor(x))


# ------------------------------------------------------------------------------------- comparisons
@keras_op("Equal", "numpy")
def equal(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 == x2``, element-wise, as bool."""
    return torch.eq(*_pair(x1, x2))


@keras_op("Greater", "numpy")
def greater(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 > x2``, element-wise, as bool."""
    return torch.greater(*_pair(x1, x2))


@keras_op("GreaterEqual", "numpy")
def greater_equal(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 >= x2``, element-wise, as bool."""
    return torch.greater_equal(*_pair(x1, x2))


@keras_op("Less", "numpy")
def less(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 < x2``, element-wise, as bool."""
    return torch.less(*_pair(x1, x2))


@keras_op("LessEqual", "numpy")
def less_equal(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 <= x2``, element-wise, as bool."""
    return torch.less_equal(*_pair(x1, x2))


def _close(x1: Any, x2: Any, rtol: Any, atol: Any, equal_nan: bool) -> torch.Tensor:
    """Element-wise ``|x1 - x2| <= atol + rtol * |x2|`` for floats, equality for other dtypes."""
    x1, x2, dtype = _promoted(x1, x2)
    if "float" in dtype:
        return torch.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return torch.eq(x1, x2)


@keras_op("Isclose", "numpy", init=("equal_nan",))
def isclose(x1: Any, x2: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: bool = False) -> torch.Tensor:
    """Where ``x1`` and ``x2`` are equal within ``atol + rtol * |x2|`` (exactly, for non-floats)."""
    return _close(x1, x2, rtol, atol, equal_nan)


@keras_op("AllClose", "numpy", init=("rtol", "atol", "equal_nan"))
def allclose(x1: Any, x2: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: bool = False) -> torch.Tensor:
    """Whether ``isclose`` holds everywhere (a 0-d bool tensor)."""
    return torch.all(_close(x1, x2, rtol, atol, equal_nan))


@keras_op("Isfinite", "numpy")
def isfinite(x: Any) -> torch.Tensor:
    """True where ``x`` is neither inf nor NaN."""
    return torch.isfinite(convert_to_tensor(x))


@keras_op("Isinf", "numpy")
def isinf(x: Any) -> torch.Tensor:
    """True where ``x`` is +inf or -inf."""
    return torch.isinf(convert_to_tensor(x))


@keras_op("Isnan", "numpy")
def isnan(x: Any) -> torch.Tensor:
    """True where ``x`` is NaN."""
    return torch.isnan(convert_to_tensor(x))


@keras_op("Isneginf", "numpy")
def isneginf(x: Any) -> torch.Tensor:
    """True where ``x`` is -inf."""
    return torch.isneginf(convert_to_tensor(x))


@keras_op("Isposinf", "numpy")
def isposinf(x: Any) -> torch.Tensor:
    """True where ``x`` is +inf."""
    return torch.isposinf(convert_to_tensor(x))


@keras_op("IsIn", "numpy", init=("assume_unique", "invert"))
def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> torch.Tensor:
    """True where an element of ``x1`` occurs in ``x2`` (False, with ``invert=True``); shape of ``x1``."""
    x1, x2 = _pair(x1, x2)
    if x1.dtype == torch.bool and x2.dtype == torch.bool:
        x1, x2 = x1.int(), x2.int()
    elif x1.dtype == torch.bool:
        x1 = x1.to(x2.dtype)
    elif x2.dtype == torch.bool:
        x2 = x2.to(x1.dtype)
    return torch.isin(x1, x2, assume_unique=assume_unique, invert=invert)


# ------------------------------------------------------------------------------------- logic and bits
@keras_op("LogicalAnd", "numpy")
def logical_and(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 and x2`` (non-zero is true), element-wise, as bool."""
    return torch.logical_and(*_pair(x1, x2))


@keras_op("LogicalNot", "numpy")
def logical_not(x: Any) -> torch.Tensor:
    """``not x`` (non-zero is true), element-wise, as bool."""
    return torch.logical_not(convert_to_tensor(x))


@keras_op("LogicalOr", "numpy")
def logical_or(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 or x2`` (non-zero is true), element-wise, as bool."""
    return torch.logical_or(*_pair(x1, x2))


@keras_op("LogicalXor", "numpy")
def logical_xor(x1: Any, x2: Any) -> torch.Tensor:
    """Exactly one of ``x1``, ``x2`` true (non-zero), element-wise, as bool."""
    return torch.logical_xor(*_pair(x1, x2))


@keras_op("BitwiseAnd", "numpy")
def bitwise_and(x: Any, y: Any) -> torch.Tensor:
    """Bitwise AND of integers (logical AND of bools)."""
    return torch.bitwise_and(*_pair(x, y))


@keras_op("BitwiseOr", "numpy")
def bitwise_or(x: Any, y: Any) -> torch.Tensor:
    """Bitwise OR of integers (logical OR of bools)."""
    return torch.bitwise_or(*_pair(x, y))


@keras_op("BitwiseXor", "numpy")
def bitwise_xor(x: Any, y: Any) -> torch.Tensor:
    """Bitwise XOR of integers (logical XOR of bools)."""
    return torch.bitwise_xor(*_pair(x, y))


@keras_op("BitwiseInvert", "numpy")
def bitwise_invert(x: Any) -> torch.Tensor:
    """Bitwise NOT of integers (``~x``; logical NOT of bools)."""
    return torch.bitwise_not(convert_to_tensor(x))


@keras_op("BitwiseNot", "numpy")
def bitwise_not(x: Any) -> torch.Tensor:
    """Bitwise NOT of integers (``~x``; logical NOT of bools)."""
    return torch.bitwise_not(convert_to_tensor(x))


def _shift(fn: Any, x: Any, y: Any) -> torch.Tensor:
    """``fn(x, y)`` with a Python int shift kept as a scalar (so it does not promote ``x``)."""
    return fn(convert_to_tensor(x), y if isinstance(y, int) else convert_to_tensor(y))


@keras_op("BitwiseLeftShift", "numpy")
def bitwise_left_shift(x: Any, y: Any) -> torch.Tensor:
    """``x << y`` for integers."""
    return _shift(torch.bitwise_left_shift, x, y)


@keras_op("BitwiseRightShift", "numpy")
def bitwise_right_shift(x: Any, y: Any) -> torch.Tensor:
    """``x >> y`` for integers (arithmetic shift for signed ones)."""
    return _shift(torch.bitwise_right_shift, x, y)


@keras_op("LeftShift", "numpy")
def left_shift(x: Any, y: Any) -> torch.Tensor:
    """``x << y`` for integers (NumPy's name for ``bitwise_left_shift``)."""
    return _shift(torch.bitwise_left_shift, x, y)


# ------------------------------------------------------------------------------------- reductions
def _bool_reduction(fn: Any, x: Any, axis: Any, keepdims: bool) -> torch.Tensor:
    x = convert_to_tensor(x)
    axis = _axes(axis)
    if axis == ():
        return x.to(torch.bool)
    return fn(x, dim=axis, keepdim=keepdims).to(torch.bool)


@keras_op("All", "numpy", init=("axis", "keepdims"))
def all(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Whether every element along ``axis`` (all axes by default) is true (non-zero)."""
    return _bool_reduction(torch.all, x, axis, keepdims)


@keras_op("Any", "numpy", init=("axis", "keepdims"))
def any(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Whether some element along ``axis`` (all axes by default) is true (non-zero)."""
    return _bool_reduction(torch.any, x, axis, keepdims)


def _extremum(fn: Any, x: Any, axis: Any, keepdims: bool) -> torch.Tensor:
    x = convert_to_tensor(x)
    axis = _axes(axis)
    if axis == ():
        return x
    return fn(x, dim=() if axis is None else axis, keepdim=keepdims)


@keras_op("Amax", "numpy", init=("axis", "keepdims"))
def amax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The maximum along ``axis`` (all axes by default).

    ``keepdims=True`` keeps the reduced axes also when ``axis=None`` (Keras's torch backend drops
    them there, unlike its symbolic spec and NumPy)."""
    return _extremum(torch.amax, x, axis, keepdims)


@keras_op("Amin", "numpy", init=("axis", "keepdims"))
def amin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The minimum along ``axis`` (all axes by default); ``keepdims`` as for ``amax``."""
    return _extremum(torch.amin, x, axis, keepdims)


def _arg_extremum(fn: Any, x: Any, axis: Any, keepdims: bool) -> torch.Tensor:
    x = convert_to_tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    return fn(x, dim=axis, keepdim=keepdims).int()


@keras_op("Argmax", "numpy", init=("axis", "keepdims"))
def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The int32 index of the (first) maximum along ``axis``, or in the flattened tensor."""
    return _arg_extremum(torch.argmax, x, axis, keepdims)


@keras_op("Argmin", "numpy", init=("axis", "keepdims"))
def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The int32 index of the (first) minimum along ``axis``, or in the flattened tensor."""
    return _arg_extremum(torch.argmin, x, axis, keepdims)


@keras_op("CountNonzero", "numpy", init=("axis",))
def count_nonzero(x: Any, axis: Any = None) -> torch.Tensor:
    """The int32 number of non-zero elements along ``axis`` (all axes by default).

    The result keeps the order of the remaining axes (Keras's torch backend transposes results of
    rank 2 and more, unlike its symbolic spec and NumPy)."""
    x = convert_to_tensor(x)
    axis = _axes(axis)
    if axis == ():
        return (x != 0).int()
    return torch.count_nonzero(x, dim=axis).int()


@keras_op("Average", "numpy", init=("axis",))
def average(x: Any, axis: Any = None, weights: Any = None) -> torch.Tensor:
    """The (weighted) mean along ``axis`` (all axes by default), in a float dtype.

    ``weights`` has the shape of ``x``, or is 1-D with the length of ``x`` along ``axis``, as in
    NumPy (Keras's torch backend weighs along the last axis whatever ``axis`` is)."""
    x = convert_to_tensor(x)
    if weights is None:
        x = _cast(x, backend.result_type(x.dtype, float))
        return x if axis == () or axis == [] else torch.mean(x, dim=axis)
    weights = convert_to_tensor(weights)
    dtype = backend.result_type(x.dtype, float, weights.dtype)
    x, weights = _cast(x, dtype), _cast(weights, dtype)
    if axis == () or axis == []:
        return x
    if weights.shape != x.shape:
        if not isinstance(axis, int) or weights.dim() != 1 or weights.shape[0] != x.shape[axis]:
            raise ValueError(f"ops.average: `weights` must have the shape of `x` {tuple(x.shape)}, or be 1-D with "
                             f"the length of `x` along an int `axis`. Received: weights.shape={tuple(weights.shape)}, "
                             f"axis={axis}")
        weights = weights.reshape([-1] + [1] * (x.dim() - 1 - _canonical_axis(axis, x.dim(), "average")))
    return torch.sum(x * weights, dim=axis) / torch.sum(weights.expand_as(x), dim=axis)


def _cumulative(fn: Any, x: Any, axis: Any, dtype: Any) -> torch.Tensor:
    """``fn`` (cumsum or cumprod) along ``axis`` (of the flattened tensor when None), in Keras's
    dtype: ``result_type(dtype or x.dtype)``, bools counting as int32."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.flatten(), 0
    dtype = backend.result_type(dtype or x.dtype)
    target = backend.torch_dtype("int32" if dtype == "bool" else dtype)
    if target in _HALF:  # accumulate in float32
        return fn(x, dim=axis, dtype=torch.float32).to(target)
    return fn(x, dim=axis, dtype=target)


@keras_op("Cumsum", "numpy", init=("axis", "dtype"))
def cumsum(x: Any, axis: Any = None, dtype: Any = None) -> torch.Tensor:
    """Running sums along ``axis`` (of the flattened tensor by default)."""
    return _cumulative(torch.cumsum, x, axis, dtype)


@keras_op("Cumprod", "numpy", init=("axis", "dtype"))
def cumprod(x: Any, axis: Any = None, dtype: Any = None) -> torch.Tensor:
    """Running products along ``axis`` (of the flattened tensor by default)."""
    return _cumulative(torch.cumprod, x, axis, dtype)


# ------------------------------------------------------------------------------------- sorting, searching
@keras_op("Argsort", "numpy", init=("axis",))
def argsort(x: Any, axis: Any = -1) -> torch.Tensor:
    """The int32 indices that sort ``x`` along ``axis`` (of the flattened tensor when None); stable."""
    x = convert_to_tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    if axis is None:
        x, axis = x.reshape(-1), -1
    _canonical_axis(axis, x.dim(), "argsort")  # torch does not check it on meta tensors
    return torch.argsort(x, dim=axis, stable=True).int()


@keras_op("Argpartition", "numpy", init=("kth", "axis"))
def argpartition(x: Any, kth: int, axis: Any = -1) -> torch.Tensor:
    """int32 indices that put the ``kth`` smallest element in place along ``axis``: the ``kth + 1``
    smallest come first (sorted), then the rest. ``axis=None`` works on the flattened tensor.

    Floats are compared as they are (Keras's torch backend truncates them to int32 first, which ties
    values such as 0.2 and 0.7)."""
    x = convert_to_tensor(x)
    if x.dtype == torch.bool:
        x = x.int()
    if axis is None:
        x, axis = x.flatten(), 0
    x = x.transpose(axis, -1)
    bottom = torch.topk(-x, kth + 1).indices
    rest = torch.ones_like(x, dtype=torch.int32).scatter(-1, bottom, 0)
    top = torch.topk(rest, x.shape[-1] - kth - 1).indices
    return torch.cat([bottom, top], dim=-1).transpose(-1, axis).int()


@keras_op("Digitize", "numpy")
def digitize(x: Any, bins: Any) -> torch.Tensor:
    """The int32 index of the bin each value falls in, for increasing ``bins`` (``bins[i-1] <= x < bins[i]``)."""
    x, bins = _pair(x, bins)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    return torch.bucketize(x, bins, right=True).int()


def _bincount_spec(x: KerasTensor, weights: Any = None, minlength: int = 0, sparse: bool = False) -> KerasTensor:
    dtype = "int32" if weights is None else backend.result_type(x.dtype, _dtype_of(weights))
    return KerasTensor(tuple(x.shape[:-1]) + (None,), dtype=dtype)


@keras_op("Bincount", "numpy", init=("weights", "minlength", "sparse"), spec=_bincount_spec)
def bincount(x: Any, weights: Any = None, minlength: int = 0, sparse: bool = False) -> torch.Tensor:
    """How often each non-negative int occurs in ``x`` (the sum of its ``weights`` if given), per row
    of a 2-D ``x``; at least ``minlength`` bins. int32 counts, or the promoted dtype of the weights.

    A 2-D ``x`` gets as many bins in every row (Keras's torch backend fails when rows differ in
    their largest value)."""
    if sparse:
        raise ValueError("ops.bincount: `sparse=True` is not supported with the torch backend. Received: sparse=True")
    x = convert_to_tensor(x)
    if weights is None:
        dtype = "int32"
    else:
        weights = convert_to_tensor(weights)
        dtype = backend.result_type(x.dtype, weights.dtype)
    if x.dim() != 2:
        return _cast(torch.bincount(x, weights, minlength), dtype)
    length = builtins.max(minlength, int(x.max()) + 1 if x.numel() else 0)  # value-dependent: a host sync
    source = torch.ones_like(x) if weights is None else weights
    out = torch.zeros(x.shape[0], length, dtype=source.dtype, device=x.device)
    return _cast(out.scatter_add_(1, x.long(), source), dtype)


def _check_histogram_args(bins: Any, range: Any) -> None:  # noqa: A002
    if not isinstance(bins, int):
        raise TypeError(f"ops.histogram: `bins` must be an int. Received: bins={bins!r}")
    if bins < 0:
        raise ValueError(f"ops.histogram: `bins` must be a non-negative int. Received: bins={bins}")
    if range:
        if not isinstance(range, tuple) or len(range) < 2:
            raise ValueError(f"ops.histogram: `range` must be a tuple (low, high). Received: range={range!r}")
        if range[1] < range[0]:
            raise ValueError(f"ops.histogram: `range` must have low <= high. Received: range={range!r}")


def _histogram_spec(x: KerasTensor, bins: int = 10, range: Any = None) -> tuple:  # noqa: A002
    _check_histogram_args(bins, range)
    return KerasTensor((bins,), dtype=x.dtype), KerasTensor((bins + 1,), dtype=x.dtype)


@keras_op("Histogram", "numpy", init=("bins", "range"), spec=_histogram_spec)
def histogram(x: Any, bins: int = 10, range: Any = None) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: A002
    """Counts of a 1-D float tensor in ``bins`` equal bins over ``range`` (default: its min to max),
    and the ``bins + 1`` bin edges."""
    _check_histogram_args(bins, range)
    x = convert_to_tensor(x)
    if x.dim() > 1:
        raise ValueError(f"ops.histogram: `x` must be 1-D. Received: x.shape={tuple(x.shape)}")
    hist, edges = torch.histogram(x, bins=bins, range=range)
    return hist, edges


# ------------------------------------------------------------------------------------- shapes
@keras_op("Array", "numpy", init=("dtype",))
def array(x: Any, dtype: Any = None) -> torch.Tensor:
    """``x`` as a tensor (of ``dtype`` if given)."""
    return convert_to_tensor(x, dtype=dtype)


@keras_op("Copy", "numpy")
def copy(x: Any) -> torch.Tensor:
    """A copy of ``x`` that shares no memory with it."""
    return torch.clone(convert_to_tensor(x))


def _broadcast_to_spec(x: KerasTensor, shape: Any) -> KerasTensor:
    """``shape``, once every known size of ``x`` is seen to broadcast to it (an unknown one may be
    1 or the target size, so it is not run on a stand-in)."""
    target = (shape,) if isinstance(shape, int) else tuple(shape)
    fits = len(x.shape) <= len(target) and builtins.all(
        have in (None, 1, want) for have, want in zip(reversed(x.shape), reversed(target)))
    if not fits:
        raise ValueError(f"ops.broadcast_to: a tensor of shape {x.shape} cannot be broadcast to {target}.")
    return KerasTensor(target, dtype=x.dtype)


@keras_op("BroadcastTo", "numpy", init=("shape",), spec=_broadcast_to_spec)
def broadcast_to(x: Any, shape: Any) -> torch.Tensor:
    """``x`` broadcast to ``shape`` (a view: size-1 axes are repeated without copying)."""
    return torch.broadcast_to(convert_to_tensor(x), shape)


@keras_op("ExpandDims", "numpy", init=("axis",))
def expand_dims(x: Any, axis: Any) -> torch.Tensor:
    """``x`` with a new axis of size 1 at ``axis`` (or at each of several axes)."""
    x = convert_to_tensor(x)
    axes = _axes(axis)
    out_rank = x.dim() + len(axes)
    for a in sorted(_canonical_axis(a, out_rank, "expand_dims") for a in axes):
        x = x.unsqueeze(a)
    return x


@keras_op("Concatenate", "numpy", init=("axis",))
def concatenate(xs: Any, axis: int = 0) -> torch.Tensor:
    """The tensors of ``xs`` joined along ``axis``."""
    return torch.cat([convert_to_tensor(x) for x in xs], dim=axis)


@keras_op("Append", "numpy", init=("axis",))
def append(x1: Any, x2: Any, axis: Any = None) -> torch.Tensor:
    """``x2`` joined after ``x1`` along ``axis``; both are flattened first when ``axis`` is None."""
    x1, x2 = _pair(x1, x2)
    if axis is None:
        return torch.cat((x1.flatten(), x2.flatten()))
    return torch.cat((x1, x2), dim=axis)


@keras_op("Hstack", "numpy")
def hstack(xs: Any) -> torch.Tensor:
    """The tensors joined along axis 1 (axis 0 for 1-D ones)."""
    return torch.hstack([convert_to_tensor(x) for x in xs])


@keras_op("Dstack", "numpy")
def dstack(xs: Any) -> torch.Tensor:
    """The tensors, made at least 3-D, joined along axis 2."""
    return torch.dstack([convert_to_tensor(x) for x in xs])


@keras_op("ArraySplit", "numpy", init=("indices_or_sections", "axis"))
def array_split(x: Any, indices_or_sections: int, axis: int = 0) -> list[torch.Tensor]:
    """``x`` cut into ``indices_or_sections`` parts along ``axis``, as equal as possible (the first
    ``size % n`` parts are one longer)."""
    if not isinstance(indices_or_sections, int):
        raise TypeError("ops.array_split: `indices_or_sections` must be an int (the number of parts). "
                        f"Received: indices_or_sections={indices_or_sections!r}")
    if indices_or_sections <= 0:
        raise ValueError("ops.array_split: `indices_or_sections` must be a positive int. "
                         f"Received: indices_or_sections={indices_or_sections}")
    if not isinstance(axis, int):
        raise TypeError(f"ops.array_split: `axis` must be an int. Received: axis={axis!r}")
    return list(torch.tensor_split(convert_to_tensor(x), indices_or_sections, dim=axis))


def _sections(indices_or_sections: Any) -> Any:
    """An int number of equal parts, or the split indices as a list of ints."""
    if isinstance(indices_or_sections, int):
        return indices_or_sections
    return [int(i) for i in indices_or_sections]


@keras_op("Hsplit", "numpy", init=("indices_or_sections",))
def hsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """``x`` split along axis 1 (axis 0 when 1-D) into equal parts, or at the given indices."""
    return list(torch.hsplit(convert_to_tensor(x), _sections(indices_or_sections)))


@keras_op("Dsplit", "numpy", init=("indices_or_sections",))
def dsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """``x`` (at least 3-D) split along axis 2 into equal parts, or at the given indices."""
    return list(torch.dsplit(convert_to_tensor(x), _sections(indices_or_sections)))


@keras_op("Flip", "numpy", init=("axis",))
def flip(x: Any, axis: Any = None) -> torch.Tensor:
    """``x`` with the order of elements reversed along ``axis`` (all axes by default)."""
    x = convert_to_tensor(x)
    return torch.flip(x, dims=tuple(range(x.dim())) if axis is None else _axes(axis))


@keras_op("Fliplr", "numpy")
def fliplr(x: Any) -> torch.Tensor:
    """``x`` (at least 2-D) reversed along axis 1."""
    return torch.fliplr(convert_to_tensor(x))


@keras_op("Flipud", "numpy")
def flipud(x: Any) -> torch.Tensor:
    """``x`` (at least 1-D) reversed along axis 0."""
    return torch.flipud(convert_to_tensor(x))


def _unknown_diagonal(spec: KerasTensor, sides: tuple) -> KerasTensor:
    """The diagonal's length is unknown when a side of its matrices is (a run on stand-in sizes
    would fix it at the other side's length)."""
    if None in sides:
        return KerasTensor(spec.shape[:-1] + (None,), dtype=spec.dtype)
    return spec


def _diag_spec(x: KerasTensor, k: int = 0) -> KerasTensor:
    spec = symbolic_spec(diag, (x,), {"k": k}, "ops.diag")
    return _unknown_diagonal(spec, x.shape) if len(x.shape) == 2 else spec


def _diagonal_spec(x: KerasTensor, offset: int = 0, axis1: int = 0, axis2: int = 1) -> KerasTensor:
    spec = symbolic_spec(diagonal, (x,), {"offset": offset, "axis1": axis1, "axis2": axis2}, "ops.diagonal")
    return _unknown_diagonal(spec, (x.shape[axis1], x.shape[axis2]))


@keras_op("Diag", "numpy", init=("k",), spec=_diag_spec)
def diag(x: Any, k: int = 0) -> torch.Tensor:
    """The ``k``-th diagonal of a 2-D ``x``, or a 2-D tensor with the 1-D ``x`` on its ``k``-th diagonal."""
    return torch.diag(convert_to_tensor(x), diagonal=k)


@keras_op("Diagflat", "numpy", init=("k",))
def diagflat(x: Any, k: int = 0) -> torch.Tensor:
    """A 2-D tensor with the flattened ``x`` on its ``k``-th diagonal."""
    return torch.diagflat(convert_to_tensor(x), offset=k)


@keras_op("Diagonal", "numpy", init=("offset", "axis1", "axis2"), spec=_diagonal_spec)
def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """The diagonal (shifted by ``offset``) of the 2-D slices spanned by ``axis1`` and ``axis2``,
    as a new last axis."""
    x = convert_to_tensor(x)
    if _canonical_axis(axis1, x.dim(), "diagonal", "axis1") == _canonical_axis(axis2, x.dim(), "diagonal", "axis2"):
        raise ValueError(f"ops.diagonal: `axis1` and `axis2` must be different axes. Received: axis1={axis1}, "
                         f"axis2={axis2}")
    return torch.diagonal(x, offset=offset, dim1=axis1, dim2=axis2)


@keras_op("Diff", "numpy", init=("n", "axis"))
def diff(a: Any, n: int = 1, axis: int = -1) -> torch.Tensor:
    """The ``n``-th discrete difference along ``axis`` (``a[i+1] - a[i]``, applied ``n`` times)."""
    return torch.diff(convert_to_tensor(a), n=n, dim=axis)


def _get_item_spec(x: KerasTensor, key: Any) -> KerasTensor:
    """Basic keys (ints, slices, None, one Ellipsis) index the shape itself, so that a slice of an
    unknown size stays unknown (a run on a stand-in size would fix ``x[:5]`` at 5); other keys
    (tensors) go through a meta-tensor run. A list key is a tuple of indices here, as in Keras's graph
    node (see ``_get_item_node``)."""
    key = tuple(key) if isinstance(key, list) else key
    parts = key if isinstance(key, tuple) else (key,)
    if parts.count(Ellipsis) > 1:
        raise ValueError(f"ops.get_item: a key may hold one Ellipsis (...) at most. Received: key={key!r}")
    basic = (int, slice, type(None), type(Ellipsis))
    if not builtins.all(isinstance(p, basic) and not isinstance(p, bool) for p in parts):
        return symbolic_spec(get_item, (x, key), {}, "ops.get_item")
    indexed = len(parts) - parts.count(None) - parts.count(Ellipsis)
    if indexed > len(x.shape):
        raise ValueError(f"ops.get_item: {indexed} indices for a tensor of rank {len(x.shape)}. Received: key={key!r}")
    at = parts.index(Ellipsis) if Ellipsis in parts else len(parts)
    parts = parts[:at] + (slice(None),) * (len(x.shape) - indexed) + parts[at + 1:]
    shape, sizes = [], iter(x.shape)
    for part in parts:
        if part is None:
            shape.append(1)
            continue
        size = next(sizes)
        if isinstance(part, slice):
            shape.append(None if size is None else len(range(*part.indices(size))))
        elif size is not None and not -size <= part < size:
            raise ValueError(f"ops.get_item: index {part} is out of bounds for an axis of size {size} "
                             f"(shape {x.shape}). Received: key={key!r}")
    return KerasTensor(tuple(shape), dtype=x.dtype)


@keras_op("GetItem", "numpy", spec=_get_item_spec)
def get_item(x: Any, key: Any) -> torch.Tensor:
    """``x[key]``, with torch's (and NumPy's) indexing rules: a list of ints selects those entries."""
    return convert_to_tensor(x)[key]


def _get_item_node(self: Any, x: Any, key: Any) -> torch.Tensor:
    """A GetItem graph node reads a list key as a tuple of indices, as Keras's node does: a saved
    graph has no tuples (JSON), so ``x[:, 0]`` comes back from a file as the list ``[slice, 0]``."""
    return get_item(x, tuple(key) if isinstance(key, list) else key)


get_item.operation_class.call = _get_item_node


# ------------------------------------------------------------------------------------- creation
def _int_arg(value: Any, op: str, name: str) -> int:
    """A size argument as a Python int (an int tensor is read: a host sync, as the size is needed)."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"ops.{op}: `{name}` must be an int or an integer tensor. Received: {name}={value!r}") from None


@keras_op("Arange", "numpy", init=("dtype",))
def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> torch.Tensor:
    """Evenly spaced values in ``[start, stop)`` (``[0, start)`` with one argument), ``step`` apart.
    The dtype defaults to the promoted type of the arguments (``arange(5)`` is int32)."""
    if dtype is None:
        dtype = backend.result_type(*[_dtype_of(v) for v in (start, stop, step) if v is not None])
    if stop is None:
        start, stop = 0, start
    return torch.arange(start, stop, 1 if step is None else step, dtype=backend.torch_dtype(dtype), device=device())


@keras_op(None, "numpy")
def empty(shape: Any, dtype: Any = None) -> torch.Tensor:
    """An uninitialized tensor of ``shape`` and ``dtype`` (``floatx`` by default)."""
    return torch.empty(shape, dtype=backend.torch_dtype(dtype or backend.floatx()), device=device())


@keras_op("EmptyLike", "numpy", init=("dtype",))
def empty_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """An uninitialized tensor with the shape of ``x`` and its dtype (or ``dtype``)."""
    x = convert_to_tensor(x)
    return torch.empty_like(x, dtype=x.dtype if dtype is None else backend.torch_dtype(dtype))


@keras_op("Full", "numpy", init=("shape", "dtype"))
def full(shape: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (broadcast, if it is a tensor), of ``dtype``
    (``floatx`` by default, whatever the fill value's type)."""
    fill = convert_to_tensor(fill_value, dtype=backend.standardize_dtype(dtype))
    return torch.broadcast_to(fill, (shape,) if isinstance(shape, int) else tuple(shape)).clone(
        memory_format=torch.contiguous_format)


@keras_op("FullLike", "numpy", init=("dtype",))
def full_like(x: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor with the shape of ``x`` filled with ``fill_value``, of ``x``'s dtype (or ``dtype``)."""
    x = convert_to_tensor(x)
    return full(x.shape, fill_value, dtype=x.dtype if dtype is None else dtype)


@keras_op(None, "numpy")
def eye(N: Any, M: Any = None, k: Any = 0, dtype: Any = None) -> torch.Tensor:  # noqa: N803  (Keras's names)
    """A 2-D ``N x M`` tensor (``M`` defaults to ``N``) with ones on the ``k``-th diagonal."""
    rows = _int_arg(N, "eye", "N")
    cols = rows if M is None else _int_arg(M, "eye", "M")
    ones = torch.ones((rows, cols), dtype=backend.torch_dtype(dtype or backend.floatx()), device=device())
    k = k or 0
    return ones.tril(k).triu(k)


@keras_op(None, "numpy")
def identity(n: Any, dtype: Any = None) -> torch.Tensor:
    """The ``n x n`` identity matrix, of ``dtype`` (``floatx`` by default)."""
    size = _int_arg(n, "identity", "n")
    return torch.eye(size, dtype=backend.torch_dtype(dtype or backend.floatx()), device=device())


def _grid(start: Any, stop: Any, num: int, endpoint: bool, dtype: Any, axis: int, op: str,
          ) -> tuple[torch.Tensor, torch.Tensor, str]:
    """``num`` evenly spaced points from ``start`` to ``stop`` (excluded unless ``endpoint``) along
    ``axis``, computed in float64; the spacing; and the output dtype (by default the promoted type
    of ``start``, ``stop`` and float)."""
    if dtype is None:
        dtype = backend.result_type(_dtype_of(start), _dtype_of(stop), float)
    start, stop = convert_to_tensor(start, "float64"), convert_to_tensor(stop, "float64")
    intervals = num - 1 if endpoint else num
    step = (stop - start) / builtins.max(intervals, 1)
    shape = (num,) + (1,) * step.dim()
    points = start + torch.arange(num, dtype=torch.float64, device=device()).reshape(shape) * step
    if intervals < 1:  # a single point (or none): no spacing
        step = torch.full_like(step, math.nan)
    return points.movedim(0, _canonical_axis(axis, points.dim(), op)), step, backend.standardize_dtype(dtype)


@keras_op("Linspace", "numpy", init=("num", "endpoint", "retstep", "dtype", "axis"))
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False, dtype: Any = None,
             axis: int = 0) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (``stop`` excluded if not ``endpoint``);
    tensors of starts and stops give one sequence each, along ``axis``. With ``retstep``, also the
    spacing (a tensor; NaN when there is no interval).

    ``axis`` may be any axis of the result (Keras's torch backend accepts only 0)."""
    points, step, dtype = _grid(start, stop, num, endpoint, dtype, axis, "linspace")
    points = _cast(points, dtype)
    return (points, _cast(step, dtype)) if retstep else points


@keras_op("Logspace", "numpy", init=("num", "endpoint", "base", "dtype", "axis"))
def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: Any = 10, dtype: Any = None,
             axis: int = 0) -> torch.Tensor:
    """``base ** linspace(start, stop, num, endpoint)``: values evenly spaced on a log scale.
    ``axis`` may be any axis of the result (Keras's torch backend accepts only 0)."""
    points, _, dtype = _grid(start, stop, num, endpoint, dtype, axis, "logspace")
    return _cast(torch.pow(base, points), dtype)


@keras_op("Geomspace", "numpy", init=("num", "endpoint", "dtype", "axis"))
def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
              axis: int = 0) -> torch.Tensor:
    """A geometric progression from ``start`` to ``stop`` (``num`` values, ``stop`` excluded if not
    ``endpoint``); both must have the same sign. ``axis`` may be any axis of the result (Keras's
    torch backend accepts only 0)."""
    if dtype is None:
        dtype = backend.result_type(_dtype_of(start), _dtype_of(stop), float)
    start, stop = convert_to_tensor(start, "float64"), convert_to_tensor(stop, "float64")
    points, _, dtype = _grid(torch.log10(start.abs()), torch.log10(stop.abs()), num, endpoint, dtype, 0, "geomspace")
    values = torch.pow(10.0, points) * torch.sign(start)
    return _cast(values.movedim(0, _canonical_axis(axis, values.dim(), "geomspace")), dtype)


def _window(fn: Any, x: Any, op: str, **kwargs: Any) -> torch.Tensor:
    return fn(_int_arg(x, op, "x"), device=device(), **kwargs)


@keras_op(None, "numpy")
def bartlett(x: Any) -> torch.Tensor:
    """The Bartlett (triangular) window of length ``x``, 0 at both ends, float32."""
    return _window(torch.signal.windows.bartlett, x, "bartlett")


@keras_op(None, "numpy")
def blackman(x: Any) -> torch.Tensor:
    """The Blackman window of length ``x`` (``0.42 - 0.5 cos(2 pi n/(N-1)) + 0.08 cos(4 pi n/(N-1))``), float32."""
    return _window(torch.signal.windows.blackman, x, "blackman")


@keras_op(None, "numpy")
def hamming(x: Any) -> torch.Tensor:
    """The Hamming window of length ``x`` (``0.54 - 0.46 cos(2 pi n/(N-1))``), float32."""
    return _window(torch.signal.windows.hamming, x, "hamming")


@keras_op(None, "numpy")
def hanning(x: Any) -> torch.Tensor:
    """The Hann window of length ``x`` (``0.5 - 0.5 cos(2 pi n/(N-1))``), float32."""
    return _window(torch.signal.windows.hann, x, "hanning")


@keras_op(None, "numpy")
def kaiser(x: Any, beta: Any) -> torch.Tensor:
    """The Kaiser window of length ``x`` with shape parameter ``beta``
    (``I0(beta sqrt(1 - (2n/(N-1) - 1)**2)) / I0(beta)``), float32."""
    return _window(torch.signal.windows.kaiser, x, "kaiser", beta=beta)


# ------------------------------------------------------------------------------------- products
def _float_product(fn: Any, x1: Any, x2: Any) -> torch.Tensor:
    """``fn(x1, x2)`` computed in a float dtype (integers as ``floatx``) and returned in the promoted
    dtype of the inputs, as Keras does for dot products."""
    x1, x2 = _pair(x1, x2)
    result = backend.result_type(x1.dtype, x2.dtype)
    compute = backend.result_type(result, float)
    return _cast(fn(_cast(x1, compute), _cast(x2, compute)), result)


def _dot(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    return x1 * x2 if x1.dim() == 0 or x2.dim() == 0 else torch.matmul(x1, x2)


@keras_op("Dot", "numpy")
def dot(x1: Any, x2: Any) -> torch.Tensor:
    """NumPy's ``dot``: the product for scalars, the inner product for vectors, else the sum over the
    last axis of ``x1`` and the second-to-last of ``x2`` (as ``matmul``)."""
    return _float_product(_dot, x1, x2)


@keras_op("Inner", "numpy")
def inner(x1: Any, x2: Any) -> torch.Tensor:
    """The sum of products over the last axes of ``x1`` and ``x2`` (a product for scalars)."""
    return _float_product(torch.inner, x1, x2)


@keras_op("Kron", "numpy")
def kron(x1: Any, x2: Any) -> torch.Tensor:
    """The Kronecker product: every element of ``x1`` times the whole of ``x2``, blocks tiled."""
    return torch.kron(*_pair(x1, x2))


@keras_op("Cross", "numpy", init=("axisa", "axisb", "axisc", "axis"))
def cross(x1: Any, x2: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None) -> torch.Tensor:
    """The cross product of 3-vectors along ``axisa`` of ``x1`` and ``axisb`` of ``x2``, placed along
    ``axisc`` of the result (``axis`` sets all three); other axes broadcast.

    As NumPy and Keras's symbolic spec: all axes are honoured and inputs of different ranks
    broadcast (Keras's torch backend refuses ``axisa``/``axisb``/``axisc`` and inputs of different
    ranks, and when ``axis`` is None crosses along the first axis of size 3 instead of the last)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    x1, x2, _ = _promoted(x1, x2)
    vectors = torch.broadcast_tensors(x1.movedim(axisa, -1), x2.movedim(axisb, -1))
    return torch.linalg.cross(*vectors).movedim(-1, axisc)


@keras_op("Einsum", "numpy", init=("subscripts",))
def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> torch.Tensor:
    """Einstein summation over ``operands`` as described by ``subscripts`` (``"ij,jk->ik"``).
    int8 operands are summed in int32 (and give int32), so products do not overflow. Keyword
    arguments (NumPy's ``optimize=``...) are accepted and ignored, as in Keras's torch backend."""
    tensors = [convert_to_tensor(x) for x in operands]
    if tensors and builtins.all(t.dtype == torch.int8 for t in tensors):
        return torch.einsum(subscripts, *[t.int() for t in tensors])
    return torch.einsum(subscripts, *tensors)


def _corrcoef_dtype(dtype: Any) -> str:
    name = backend.standardize_dtype(dtype)
    if name in backend.FLOAT_DTYPES:
        return name
    return "float64" if name == "int64" else backend.floatx()


def _corrcoef_spec(x: KerasTensor) -> KerasTensor:
    """``(rows, rows)`` for a 2-D ``x``, a scalar for a 1-D one (Keras's spec says ``x.shape``, which
    its own eager result does not have)."""
    if len(x.shape) not in (1, 2):
        raise ValueError(f"ops.corrcoef: `x` must be 1-D or 2-D. Received: x.shape={x.shape}")
    return KerasTensor(x.shape[:1] * 2 if len(x.shape) == 2 else (), dtype=_corrcoef_dtype(x.dtype))


@keras_op("Corrcoef", "numpy", spec=_corrcoef_spec)
def corrcoef(x: Any) -> torch.Tensor:
    """Pearson correlation coefficients between the rows (variables) of ``x``; int64 gives float64,
    other integers and bools float32."""
    x = convert_to_tensor(x)
    return torch.corrcoef(_cast(x, _corrcoef_dtype(x.dtype)))


@keras_op("Correlate", "numpy", init=("mode",))
def correlate(x1: Any, x2: Any, mode: str = "valid") -> torch.Tensor:
    """The cross-correlation ``c[k] = sum_n x1[n + k] * x2[n]`` of two 1-D tensors.

    ``mode="full"`` gives every overlap (length ``n1 + n2 - 1``), ``"same"`` the centred
    ``max(n1, n2)`` values and ``"valid"`` those where the shorter lies inside the longer
    (``|n1 - n2| + 1``), as NumPy and Keras's symbolic spec (Keras's torch backend squeezes a
    length-1 result to a scalar and keeps ``n1`` values for ``"same"``). int64 gives float64,
    other non-half dtypes float32."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"ops.correlate: `mode` must be 'valid', 'same' or 'full'. Received: mode={mode!r}")
    x1, x2 = _pair(x1, x2)
    if x1.dim() != 1 or x2.dim() != 1:
        raise ValueError(f"ops.correlate: `x1` and `x2` must be 1-D. Received: x1.shape={tuple(x1.shape)}, "
                         f"x2.shape={tuple(x2.shape)}")
    dtype = backend.result_type(x1.dtype, x2.dtype)
    dtype = "float64" if dtype == "int64" else dtype if dtype in ("bfloat16", "float16", "float64") else "float32"
    n1, n2 = x1.shape[0], x2.shape[0]
    signal, kernel = _cast(x1, dtype).reshape(1, 1, n1), _cast(x2, dtype).reshape(1, 1, n2)
    full_out = torch.nn.functional.conv1d(signal, kernel, padding=n2 - 1).reshape(-1)
    length = {"full": n1 + n2 - 1, "same": builtins.max(n1, n2), "valid": builtins.max(n1, n2) - builtins.min(n1, n2) + 1}[mode]
    surplus = n1 + n2 - 1 - length
    begin = (surplus + 1) // 2 if n1 < n2 else surplus // 2  # NumPy centres an odd surplus this way
    return full_out[begin:begin + length]


# ======================================================================================= M to Z
_MZ_SMALL_INTS = ("bool", "uint8", "int8", "int16")  # what sums and products widen to int32


# ------------------------------------------------------------------------------------- helpers




def _to(x: torch.Tensor, dtype: Any) -> torch.Tensor:
    """``x`` in ``dtype`` (no copy when it already is)."""
    target = backend.torch_dtype(dtype)
    return x if x.dtype == target else x.to(target)


def _is_int_or_bool(x: torch.Tensor) -> bool:
    name = _name(x)
    return "int" in name or name == "bool"


def _no_axes(axis: Any) -> bool:
    """``axis=()`` or ``[]``: a reduction over no axis, which leaves every element as it is."""
    return isinstance(axis, (tuple, list)) and len(axis) == 0


def _checked_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` (an int or a sequence of ints) as non-negative axes, or Keras's ValueError."""
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"ops.{op}: axis {a} is out of bounds for a tensor of rank {ndim}; "
                             f"expected an axis in [{-ndim}, {ndim}).")
    return tuple(a % ndim for a in axes)


def _dims(axis: Any) -> Any:
    """``axis`` as torch's ``dim`` argument (``None``, an int, or a tuple)."""
    return tuple(axis) if isinstance(axis, list) else axis


def _all_dims(axis: Any) -> Any:
    """torch's ``dim`` for a reduction: ``()`` (every axis, honouring ``keepdim``) for ``axis=None``."""
    return () if axis is None else _dims(axis)


def _sum_dtype(x: torch.Tensor) -> str:
    name = _name(x)
    return "int32" if name in _MZ_SMALL_INTS else name


def _stack_if_sequence(x: Any) -> torch.Tensor:
    """Keras's reductions take a list of tensors as the tensor they stack to."""
    if isinstance(x, (list, tuple)):
        return torch.stack([convert_to_tensor(e) for e in x])
    return convert_to_tensor(x)


def _on_cpu_half(x: torch.Tensor, dtype: str) -> bool:
    """torch has no float16 kernel on CPU for some ops (prod, cumsum, matmul, tensordot)."""
    return dtype == "float16" and x.device.type == "cpu"


# ------------------------------------------------------------------------------------- arithmetic
@keras_op("Matmul", "numpy")
def matmul(x1: Any, x2: Any) -> torch.Tensor:
    """The matrix product, batched over leading axes as ``numpy.matmul``.

    int8 by int8 gives int32; other inputs give their promoted dtype (bools multiply as floats and
    come back as bools; float16 is computed in float32 on CPU, integers in ``floatx()`` on CUDA).
    """
    x1, x2 = _pair(x1, x2)
    names = (_name(x1), _name(x2))
    out = "int32" if names == ("int8", "int8") else backend.result_type(*names)
    compute = out
    if out == "bool" or (x1.device.type == "cuda" and "int" in out):
        compute = backend.floatx()
    elif _on_cpu_half(x1, out):
        compute = "float32"
    return _to(torch.matmul(_to(x1, compute), _to(x2, compute)), out)


def _weak_pair(x1: Any, x2: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Both operands in their promoted dtype, Python numbers counting as weak types
    (``maximum(int8_tensor, 2)`` is int8, ``maximum(int8_tensor, 2.5)`` is ``floatx()``)."""
    a = x1 if isinstance(x1, (int, float)) else convert_to_tensor(x1)
    b = x2 if isinstance(x2, (int, float)) else convert_to_tensor(x2)
    dtype = backend.result_type(getattr(a, "dtype", type(a)), getattr(b, "dtype", type(b)))
    return convert_to_tensor(a, dtype), convert_to_tensor(b, dtype)


@keras_op("Maximum", "numpy")
def maximum(x1: Any, x2: Any) -> torch.Tensor:
    """The element-wise larger of ``x1`` and ``x2`` (NaN wins), with broadcasting."""
    return torch.maximum(*_weak_pair(x1, x2))


@keras_op("Minimum", "numpy")
def minimum(x1: Any, x2: Any) -> torch.Tensor:
    """The element-wise smaller of ``x1`` and ``x2`` (NaN wins), with broadcasting."""
    return torch.minimum(*_weak_pair(x1, x2))


@keras_op("Mod", "numpy")
def mod(x1: Any, x2: Any) -> torch.Tensor:
    """The remainder of ``x1 / x2`` with the sign of ``x2`` (as ``numpy.mod``); bools give int32."""
    x1, x2 = _pair(x1, x2)
    if backend.result_type(x1.dtype, x2.dtype) == "bool":
        x1, x2 = x1.to(torch.int32), x2.to(torch.int32)
    return torch.remainder(x1, x2)


@keras_op("Multiply", "numpy")
def multiply(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 * x2``, element-wise with broadcasting."""
    return torch.multiply(*_pair(x1, x2))


@keras_op("Negative", "numpy")
def negative(x: Any) -> torch.Tensor:
    """``-x`` (bools are refused, as torch refuses them)."""
    return torch.negative(convert_to_tensor(x))


@keras_op("Nextafter", "numpy")
def nextafter(x1: Any, x2: Any) -> torch.Tensor:
    """The next representable float after ``x1`` towards ``x2``, found in float64 and returned in
    the promoted float dtype of the inputs."""
    x1, x2 = _pair(x1, x2)
    dtype = backend.result_type(x1.dtype, x2.dtype, float)
    return _to(torch.nextafter(x1.to(torch.float64), x2.to(torch.float64)), dtype)


@keras_op("NotEqual", "numpy")
def not_equal(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 != x2``, element-wise with broadcasting (bool)."""
    return torch.not_equal(*_pair(x1, x2))


@keras_op("Power", "numpy")
def power(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 ** x2``, element-wise with broadcasting."""
    return torch.pow(*_pair(x1, x2))


@keras_op("Subtract", "numpy")
def subtract(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 - x2``, element-wise with broadcasting; a bool operand takes the other's dtype."""
    x1, x2 = _pair(x1, x2)
    if x1.dtype == torch.bool:
        x1 = x1.to(x2.dtype)
    if x2.dtype == torch.bool:
        x2 = x2.to(x1.dtype)
    return torch.subtract(x1, x2)


@keras_op("TrueDivide", "numpy")
def true_divide(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 / x2``: integers divide to float32; Python numbers stay weakly typed
    (``float16_tensor / 2.5`` is float16)."""
    a = x1 if isinstance(x1, (int, float)) else convert_to_tensor(x1)
    b = x2 if isinstance(x2, (int, float)) else convert_to_tensor(x2)
    if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
        a = convert_to_tensor(a)
    return torch.divide(a, b)


@keras_op("RightShift", "numpy")
def right_shift(x: Any, y: Any) -> torch.Tensor:
    """``x >> y`` on integers, element-wise (a Python int ``y`` keeps ``x``'s dtype)."""
    x = convert_to_tensor(x)
    return torch.bitwise_right_shift(x, y if isinstance(y, int) else convert_to_tensor(y))


# ------------------------------------------------------------------------------------- element-wise
@keras_op("NanToNum", "numpy", init=("nan", "posinf", "neginf"))
def nan_to_num(x: Any, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> torch.Tensor:
    """``x`` with NaN replaced by ``nan`` and infinities by ``posinf``/``neginf`` (default: the
    largest finite values of the dtype)."""
    return torch.nan_to_num(convert_to_tensor(x), nan=nan, posinf=posinf, neginf=neginf)


@keras_op("Rad2deg", "numpy")
def rad2deg(x: Any) -> torch.Tensor:
    """Radians to degrees (integers give float32, int64 float64, as Keras's torch backend)."""
    x = convert_to_tensor(x)
    out = torch.rad2deg(x)
    return out.to(torch.float64) if x.dtype == torch.int64 else out


@keras_op("Real", "numpy")
def real(x: Any) -> torch.Tensor:
    """The real part (a real tensor is returned as it is)."""
    return torch.real(convert_to_tensor(x))


@keras_op("Reciprocal", "numpy")
def reciprocal(x: Any) -> torch.Tensor:
    """``1 / x`` (integers give float32)."""
    return torch.reciprocal(convert_to_tensor(x))


@keras_op("Round", "numpy", init=("decimals",))
def round(x: Any, decimals: int = 0) -> torch.Tensor:  # noqa: A001  (Keras's name)
    """``x`` rounded half to even to ``decimals`` places (integers stay integers)."""
    x = convert_to_tensor(x)
    if "int" in _name(x):
        return torch.round(x.to(backend.torch_dtype(backend.floatx())), decimals=decimals).to(x.dtype)
    return torch.round(x, decimals=decimals)


@keras_op("Sign", "numpy")
def sign(x: Any) -> torch.Tensor:
    """-1, 0 or 1 by the sign of each element (in ``x``'s dtype)."""
    return torch.sign(convert_to_tensor(x))


@keras_op("Signbit", "numpy")
def signbit(x: Any) -> torch.Tensor:
    """True where the sign bit is set (negative numbers and -0.0)."""
    return torch.signbit(convert_to_tensor(x))


@keras_op("Sin", "numpy")
def sin(x: Any) -> torch.Tensor:
    """The sine, element-wise (integers give float32)."""
    return torch.sin(convert_to_tensor(x))


@keras_op("Sinc", "numpy")
def sinc(x: Any) -> torch.Tensor:
    """The normalized sinc, ``sin(pi x) / (pi x)`` (1 at 0)."""
    return torch.sinc(convert_to_tensor(x))


@keras_op("Sinh", "numpy")
def sinh(x: Any) -> torch.Tensor:
    """The hyperbolic sine, element-wise."""
    return torch.sinh(convert_to_tensor(x))


@keras_op("Sqrt", "numpy")
def sqrt(x: Any) -> torch.Tensor:
    """The square root, element-wise (integers give float32)."""
    x = convert_to_tensor(x)
    if x.dtype == torch.int64:
        x = x.to(backend.torch_dtype(backend.floatx()))
    return torch.sqrt(x)


@keras_op("Square", "numpy")
def square(x: Any) -> torch.Tensor:
    """``x * x`` (bools give int32)."""
    x = convert_to_tensor(x)
    return torch.square(x.to(torch.int32) if x.dtype == torch.bool else x)


@keras_op("Tan", "numpy")
def tan(x: Any) -> torch.Tensor:
    """The tangent, element-wise."""
    return torch.tan(convert_to_tensor(x))


@keras_op("Tanh", "numpy")
def tanh(x: Any) -> torch.Tensor:
    """The hyperbolic tangent, element-wise."""
    return torch.tanh(convert_to_tensor(x))


@keras_op("Trunc", "numpy")
def trunc(x: Any) -> torch.Tensor:
    """``x`` rounded toward zero (bools and integers are returned as they are)."""
    x = convert_to_tensor(x)
    return x if x.dtype == torch.bool else torch.trunc(x)


# ------------------------------------------------------------------------------------- reductions
def _reduced_shape(shape: tuple, axis: Any, keepdims: bool, op: str) -> tuple:
    axes = range(len(shape)) if axis is None else _checked_axes(axis, len(shape), op)
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduces_empty_axis(x: torch.Tensor, axis: Any, op: str) -> bool:
    axes = range(x.dim()) if axis is None else _checked_axes(axis, x.dim(), op)
    return builtins.any(x.shape[a] == 0 for a in axes)


def _extreme(x: Any, axis: Any, keepdims: bool, initial: Any, largest: bool) -> torch.Tensor:
    """``max``/``min``: NumPy's rules for empty inputs and ``keepdims`` with ``axis=None``."""
    op = "max" if largest else "min"
    x = convert_to_tensor(x)
    if _no_axes(axis):
        result = x
    elif x.numel() == 0 and _reduces_empty_axis(x, axis, op):
        if initial is None:
            raise ValueError(f"ops.{op}: cannot reduce a tensor of shape {tuple(x.shape)} over an empty axis "
                             f"(axis={axis!r}) without a starting value. Pass `initial=`.")
        shape = _reduced_shape(tuple(x.shape), axis, keepdims, op)
        return torch.full(shape, initial, dtype=x.dtype, device=x.device)
    else:
        reduce = torch.amax if largest else torch.amin
        result = reduce(x, dim=_all_dims(axis), keepdim=keepdims)
    if initial is None:
        return result
    bound = convert_to_tensor(initial, dtype=result.dtype)
    return torch.maximum(result, bound) if largest else torch.minimum(result, bound)


@keras_op("Max", "numpy", init=("axis", "keepdims", "initial"))
def max(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:  # noqa: A001
    """The largest element (over ``axis``; at least ``initial``).

    An empty reduction needs ``initial`` (ValueError otherwise). Keras's torch backend drops
    ``keepdims`` when ``axis=None`` and returns a scalar of ``initial``'s Python type for any
    empty input; this returns NumPy's (and Keras's symbolic) shape in ``x``'s dtype.
    """
    return _extreme(x, axis, keepdims, initial, largest=True)


@keras_op("Min", "numpy", init=("axis", "keepdims", "initial"))
def min(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:  # noqa: A001
    """The smallest element (over ``axis``; at most ``initial``); empty inputs as ``max``."""
    return _extreme(x, axis, keepdims, initial, largest=False)


@keras_op("Mean", "numpy", init=("axis", "keepdims"))
def mean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The arithmetic mean (over ``axis``); integers and bools give float32 (float64 stays)."""
    x = _stack_if_sequence(x)
    if _no_axes(axis):
        return x
    compute = backend.result_type(x.dtype, "float32")
    out = compute if _is_int_or_bool(x) else _name(x)
    return _to(torch.mean(_to(x, compute), dim=_dims(axis), keepdim=keepdims), out)


def _quantile(x: Any, q: Any, axis: Any, method: str, keepdims: bool, skip_nan: bool) -> torch.Tensor:
    """``quantile``/``nanquantile``: the reduced axes are moved last and flattened into one, then
    torch's quantile runs over it; a 1-d ``q`` adds a leading axis."""
    x = convert_to_tensor(x)
    q = convert_to_tensor(q)
    out = backend.result_type(x.dtype, float)
    x = _to(x, backend.result_type(x.dtype, "float32"))
    q = q.to(x.dtype)
    ndim = x.dim()
    if axis is None:
        axes: tuple[int, ...] = tuple(range(ndim))
        y = x.reshape(-1)
    else:
        axes = _checked_axes(axis, ndim, "quantile")
        kept = [i for i in range(ndim) if i not in axes]
        y = x.permute(kept + list(axes)).reshape([x.shape[i] for i in kept] + [math.prod(x.shape[a] for a in axes)])
    y = (torch.nanquantile if skip_nan else torch.quantile)(y, q, dim=-1, interpolation=method)
    if keepdims:
        lead = 1 if q.dim() > 0 else 0
        for a in sorted(axes):
            y = y.unsqueeze(a + lead)
    return _to(y, out)


@keras_op("Quantile", "numpy", init=("axis", "method", "keepdims"))
def quantile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> torch.Tensor:
    """The ``q``-th quantiles (``q`` in [0, 1], a number or a 1-d tensor giving a leading axis),
    interpolated by ``method`` ("linear", "lower", "higher", "midpoint", "nearest")."""
    return _quantile(x, q, axis, method, keepdims, skip_nan=False)


@keras_op("Percentile", "numpy", init=("axis", "method", "keepdims"))
def percentile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> torch.Tensor:
    """``quantile`` with ``q`` in percent (0 to 100)."""
    q = convert_to_tensor(q, dtype=backend.floatx()) / 100.0
    return _quantile(x, q, axis, method, keepdims, skip_nan=False)


@keras_op("Median", "numpy", init=("axis", "keepdims"))
def median(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The median (the mean of the two middle values for an even count), as a float."""
    return _quantile(x, 0.5, axis, "linear", keepdims, skip_nan=False)


@keras_op("Nanquantile", "numpy", init=("axis", "method", "keepdims"))
def nanquantile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> torch.Tensor:
    """``quantile`` ignoring NaNs (NaN where every value is NaN)."""
    return _quantile(x, q, axis, method, keepdims, skip_nan=True)


@keras_op("Nanpercentile", "numpy", init=("axis", "method", "keepdims"))
def nanpercentile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> torch.Tensor:
    """``percentile`` ignoring NaNs."""
    q = convert_to_tensor(q, dtype=backend.floatx()) / 100.0
    return _quantile(x, q, axis, method, keepdims, skip_nan=True)


@keras_op("Nanmedian", "numpy", init=("axis", "keepdims"))
def nanmedian(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``median`` ignoring NaNs (``axis=()`` returns ``x`` as it is)."""
    if _no_axes(axis):
        return convert_to_tensor(x)
    return _quantile(x, 0.5, axis, "linear", keepdims, skip_nan=True)


def _nan_extreme(x: Any, axis: Any, keepdims: bool, largest: bool) -> torch.Tensor:
    """``nanmax``/``nanmin``: NaNs are skipped; an all-NaN slice gives NaN."""
    x = convert_to_tensor(x)
    if _no_axes(axis):
        return x
    reduce = torch.amax if largest else torch.amin
    dims = _all_dims(axis)
    if not x.is_floating_point():
        return reduce(x, dim=dims, keepdim=keepdims)
    missing = torch.isnan(x)
    out = reduce(torch.where(missing, float("-inf") if largest else float("inf"), x), dim=dims, keepdim=keepdims)
    return torch.where(missing.all(dim=_dims(axis), keepdim=keepdims), float("nan"), out)


@keras_op("Nanmax", "numpy", init=("axis", "keepdims"))
def nanmax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``max`` ignoring NaNs (NaN where a slice is all NaN)."""
    return _nan_extreme(x, axis, keepdims, largest=True)


@keras_op("Nanmin", "numpy", init=("axis", "keepdims"))
def nanmin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``min`` ignoring NaNs (NaN where a slice is all NaN)."""
    return _nan_extreme(x, axis, keepdims, largest=False)


def _arg_extreme(x: torch.Tensor, axis: Any, keepdims: bool, largest: bool) -> torch.Tensor:
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    pick = torch.argmax if largest else torch.argmin
    return pick(x, dim=axis, keepdim=keepdims).to(torch.int32)


def _nan_arg_extreme(x: Any, axis: Any, keepdims: bool, largest: bool) -> torch.Tensor:
    """``nanargmax``/``nanargmin``: int32 indices skipping NaNs; -1 for an all-NaN slice."""
    x = convert_to_tensor(x)
    if not x.is_floating_point():
        return _arg_extreme(x, axis, keepdims, largest)
    missing = torch.isnan(x)
    cleaned = torch.where(missing, float("-inf") if largest else float("inf"), x)
    index = _arg_extreme(cleaned, axis, keepdims, largest)
    return torch.where(missing.all(dim=axis, keepdim=keepdims), -1, index)


@keras_op("Nanargmax", "numpy", init=("axis", "keepdims"))
def nanargmax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The index of the largest non-NaN element (of the flattened tensor if ``axis`` is None)."""
    return _nan_arg_extreme(x, axis, keepdims, largest=True)


@keras_op("Nanargmin", "numpy", init=("axis", "keepdims"))
def nanargmin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The index of the smallest non-NaN element (of the flattened tensor if ``axis`` is None)."""
    return _nan_arg_extreme(x, axis, keepdims, largest=False)


def _without_nan(x: torch.Tensor, fill: float) -> torch.Tensor:
    return torch.where(torch.isnan(x), fill, x) if x.is_floating_point() or x.is_complex() else x


def _nan_cumulative(x: Any, axis: Any, dtype: Any, fill: float, product: bool) -> torch.Tensor:
    """``nancumsum``/``nancumprod``: NaNs count as ``fill``; ``axis=None`` runs over the flattened
    tensor; bools accumulate in int32, int64 in int32 (Keras's narrowing)."""
    x = _without_nan(convert_to_tensor(x), fill)
    if axis is None:
        x, axis = x.reshape(-1), 0
    out = backend.result_type(dtype or x.dtype)
    if out == "bool":
        out = "int32"
    run = torch.cumprod if product else torch.cumsum
    if _on_cpu_half(x, out):
        return run(x, dim=axis, dtype=torch.float32).to(torch.float16)
    return run(x, dim=axis, dtype=backend.torch_dtype(out))


@keras_op("Nancumsum", "numpy", init=("axis", "dtype"))
def nancumsum(x: Any, axis: Any = None, dtype: Any = None) -> torch.Tensor:
    """The running sum, NaNs counting as zero. Keras's torch backend also turns infinities into
    the largest finite floats; here they stay infinite, as NumPy's."""
    return _nan_cumulative(x, axis, dtype, 0.0, product=False)


@keras_op("Nancumprod", "numpy", init=("axis", "dtype"))
def nancumprod(x: Any, axis: Any = None, dtype: Any = None) -> torch.Tensor:
    """The running product, NaNs counting as one (infinities stay infinite, see ``nancumsum``)."""
    return _nan_cumulative(x, axis, dtype, 1.0, product=True)


@keras_op("Nanmean", "numpy", init=("axis", "keepdims"))
def nanmean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The mean of the non-NaN elements (integers give float32)."""
    x = convert_to_tensor(x)
    if _no_axes(axis):
        return x
    x = _to(x, backend.result_type(x.dtype, float))
    return torch.nanmean(x, dim=_dims(axis), keepdim=keepdims)


def _prod(x: torch.Tensor, axis: Any, keepdims: bool, dtype: Any) -> torch.Tensor:
    if dtype is None:
        dtype = backend.result_type(x.dtype)
        dtype = "int32" if dtype in _MZ_SMALL_INTS else dtype
    else:
        dtype = backend.standardize_dtype(dtype)
    compute = backend.torch_dtype("float32" if _on_cpu_half(x, dtype) else dtype)
    if axis is None:
        out = torch.prod(x, dtype=compute)
        return _to(out.reshape((1,) * x.dim()) if keepdims else out, dtype)
    for a in sorted(_checked_axes(axis, x.dim(), "prod"), reverse=True):
        x = _to(torch.prod(x, dim=a, keepdim=keepdims, dtype=compute), dtype)
    return x


@keras_op("Prod", "numpy", init=("axis", "keepdims", "dtype"))
def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> torch.Tensor:
    """The product of the elements (over ``axis``).

    Small integers and bools multiply in int32, int64 in int32 (Keras's narrowing); ``dtype``
    overrides. Keras's torch backend drops ``keepdims`` when ``axis=None``; this keeps the axes.
    """
    return _prod(convert_to_tensor(x), axis, keepdims, dtype)


@keras_op("Nanprod", "numpy", init=("axis", "keepdims"))
def nanprod(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``prod`` with NaNs counting as one (``axis=()`` only replaces the NaNs)."""
    x = _without_nan(convert_to_tensor(x), 1.0)
    return x if _no_axes(axis) else _prod(x, axis, keepdims, None)


@keras_op("Sum", "numpy", init=("axis", "keepdims"))
def sum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """The sum of the elements (over ``axis``); bools and 8/16-bit integers sum to int32.

    Keras's torch backend drops ``keepdims`` when ``axis=None``; this keeps the axes.
    """
    x = _stack_if_sequence(x)
    if _no_axes(axis):
        return x
    return _to(torch.sum(x, dim=_all_dims(axis), keepdim=keepdims), _sum_dtype(x))


@keras_op("Nansum", "numpy", init=("axis", "keepdims"))
def nansum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``sum`` with NaNs counting as zero."""
    x = _stack_if_sequence(x)
    dtype = _sum_dtype(x)
    if _no_axes(axis):
        return _to(_without_nan(x, 0.0), dtype)
    return _to(torch.nansum(x, dim=_dims(axis), keepdim=keepdims), dtype)


@keras_op("Ptp", "numpy", init=("axis", "keepdims"))
def ptp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The range ``max - min`` (over ``axis``); bools are refused, as by torch's subtraction.

    Keras's torch backend drops ``keepdims`` when ``axis=None``; this keeps the axes.
    """
    x = convert_to_tensor(x)
    if _no_axes(axis):
        return torch.zeros_like(x)
    dims = _all_dims(axis)
    return torch.amax(x, dim=dims, keepdim=keepdims) - torch.amin(x, dim=dims, keepdim=keepdims)


@keras_op("Std", "numpy", init=("axis", "keepdims"))
def std(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The population standard deviation (no Bessel correction); integers and bools give float32.

    With ``axis=()`` Keras's torch backend reduces every axis; this gives zeros of ``x``'s shape,
    as NumPy (and ``var``).
    """
    x = convert_to_tensor(x)
    if _is_int_or_bool(x):
        x = x.to(torch.float32)
    if _no_axes(axis):
        return torch.zeros_like(x)
    return torch.std(x, dim=_dims(axis), keepdim=keepdims, correction=0)


@keras_op("Var", "numpy", init=("axis", "keepdims"))
def var(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The population variance (no Bessel correction); integers and bools give float32."""
    x = convert_to_tensor(x)
    out = backend.result_type(x.dtype, float)
    if _no_axes(axis):
        return torch.zeros_like(x, dtype=backend.torch_dtype(out))
    x = _to(x, backend.result_type(x.dtype, "float32"))
    return _to(torch.var(x, dim=_dims(axis), keepdim=keepdims, correction=0), out)


@keras_op("Nanvar", "numpy", init=("axis", "keepdims"))
def nanvar(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``var`` of the non-NaN elements (NaN where a slice is all NaN)."""
    x = convert_to_tensor(x)
    x = _to(x, backend.result_type(x.dtype, float))
    if _no_axes(axis):
        return torch.where(torch.isnan(x), x, 0.0)
    dims = _dims(axis)
    valid = ~torch.isnan(x)
    centered = torch.where(valid, x - torch.nanmean(x, dim=dims, keepdim=True), 0.0)
    squares = centered.real.square() + centered.imag.square() if centered.is_complex() else centered.square()
    return squares.sum(dim=dims, keepdim=keepdims) / valid.sum(dim=dims, keepdim=keepdims)


@keras_op("Nanstd", "numpy", init=("axis", "keepdims"))
def nanstd(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``std`` of the non-NaN elements."""
    return torch.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


@keras_op("Trace", "numpy", init=("offset", "axis1", "axis2"))
def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """The sum along a diagonal (``offset`` above the main one) of the ``axis1``/``axis2`` planes;
    bools and 8/16-bit integers sum to int32."""
    x = convert_to_tensor(x)
    diagonal = torch.diagonal(x, offset, axis1, axis2)
    return torch.sum(diagonal, dim=-1, dtype=backend.torch_dtype(_sum_dtype(x)))


@keras_op("Trapezoid", "numpy", init=("x", "dx", "axis"))
def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> torch.Tensor:
    """The integral of ``y`` along ``axis`` by the trapezoidal rule, at sample points ``x`` or
    spacing ``dx``."""
    y = convert_to_tensor(y)
    if y.dtype == torch.bool:
        y = y.to(backend.torch_dtype(backend.floatx()))
    if x is not None:
        return torch.trapezoid(y, x=convert_to_tensor(x), dim=axis)
    return torch.trapezoid(y, dx=dx.item() if isinstance(dx, torch.Tensor) else dx, dim=axis)


# ------------------------------------------------------------------------------------- shapes
@keras_op("Meshgrid", "numpy", init=("indexing",))
def meshgrid(*x: Any, indexing: str = "xy") -> tuple[torch.Tensor, ...]:
    """Coordinate grids from 1-d tensors: "xy" (Cartesian, the first two axes swapped) or "ij"
    (matrix) indexing. The inputs must share a dtype (torch's rule)."""
    return torch.meshgrid([convert_to_tensor(v) for v in x], indexing=indexing)


@keras_op("Moveaxis", "numpy", init=("source", "destination"))
def moveaxis(x: Any, source: Any, destination: Any) -> torch.Tensor:
    """``x`` with the axes ``source`` moved to the positions ``destination``."""
    return torch.moveaxis(convert_to_tensor(x), source, destination)


@keras_op("Ndim", "numpy")
def ndim(x: Any) -> int:
    """The rank of ``x`` as a Python int. On a KerasTensor too (the rank is known while building);
    Keras's symbolic ``ndim`` gives a float tensor of shape ``(rank,)`` instead."""
    return len(_static_shape(x))


def _nonzero_spec(x: KerasTensor) -> KerasTensor:
    return KerasTensor((len(x.shape), None), dtype="int32")


@keras_op("Nonzero", "numpy", spec=_nonzero_spec)
def nonzero(x: Any) -> torch.Tensor:
    """The indices of the non-zero elements as one int32 tensor of shape ``(rank, count)`` (what
    Keras's torch backend returns; unpacking it gives NumPy's per-axis index arrays). Its
    symbolic spec says that shape too, where Keras's says a tuple of ``rank`` vectors."""
    return torch.nonzero(convert_to_tensor(x)).T.to(torch.int32)


@keras_op("Outer", "numpy")
def outer(x1: Any, x2: Any) -> torch.Tensor:
    """The outer product of the flattened ``x1`` and ``x2``."""
    x1, x2 = _pair(x1, x2)
    return torch.outer(x1.reshape(-1), x2.reshape(-1))


def _pad_widths(pad_width: Any, rank: int) -> list[tuple[int, int]]:
    """``pad_width`` as one ``(before, after)`` pair per axis (NumPy's shortcuts: an int, ``(n,)``,
    ``(before, after)``, or one pair to use for every axis)."""
    if isinstance(pad_width, (int, np.integer)):
        return [(int(pad_width), int(pad_width))] * rank
    widths = list(pad_width)
    if widths and isinstance(widths[0], (int, np.integer)):
        widths = [tuple(widths)]
    pairs = []
    for w in widths:
        w = tuple(w)
        if len(w) not in (1, 2) or len(w) != len(tuple(widths[0])):
            raise ValueError(f"ops.pad: `pad_width` should be an int or (before, after) pairs of one length. "
                             f"Received: pad_width={pad_width!r}")
        pairs.append((int(w[0]), int(w[-1])))
    if len(pairs) == 1:
        return pairs * rank
    if len(pairs) != rank:
        raise ValueError(f"ops.pad: `pad_width` must have one pair per axis of `x` ({rank}), or a single pair for "
                         f"all of them. Received: pad_width={pad_width!r} for x of rank {rank}")
    return pairs


def _pad_source(n: int, before: int, after: int, mode: str, where: torch.device) -> torch.Tensor:
    """For each position of a padded axis of length ``n``, the index it copies (NumPy's "reflect"
    and "symmetric" mirror about the edge without/with repeating it; "circular" wraps around),
    for pads of any width."""
    i = torch.arange(-before, n + after, device=where)
    if mode == "circular":
        return i.remainder(n)
    period = 2 * n if mode == "symmetric" else 2 * n - 2
    if period == 0:  # reflecting one element repeats it
        return torch.zeros_like(i)
    m = i.remainder(period)
    return torch.where(m < n, m, period - 1 - m if mode == "symmetric" else period - m)


_MZ_PAD_MODES = ("constant", "reflect", "symmetric", "circular")


@keras_op("Pad", "numpy", init=("pad_width", "mode"))
def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> torch.Tensor:
    """``x`` padded by ``pad_width`` on each axis: with ``constant_values`` (default 0), or by
    mirroring ("reflect", "symmetric") or wrapping ("circular") its values.

    Other NumPy modes raise NotImplementedError, as Keras's torch backend. Where that backend
    pads only the last axis for an ``int`` or single-pair ``pad_width``, mirrors "symmetric" as
    "edge", and refuses reflections wider than the axis or over more than 3 axes, this follows
    NumPy (and Keras's documentation and symbolic spec).
    """
    if constant_values is not None and mode != "constant":
        raise ValueError(f"ops.pad: `constant_values` can only be given with mode='constant'. Received: mode={mode!r}")
    if mode not in _MZ_PAD_MODES:
        raise NotImplementedError(f"ops.pad: mode={mode!r} is not supported on the torch backend; expected one of "
                                  f"{list(_MZ_PAD_MODES)}.")
    x = convert_to_tensor(x)
    widths = _pad_widths(pad_width, x.dim())
    if mode == "constant":
        flat = [w for pair in reversed(widths) for w in pair]
        return F.pad(x, flat, value=0 if constant_values is None else constant_values)
    for axis, (before, after) in enumerate(widths):
        if before or after:
            x = x.index_select(axis, _pad_source(x.shape[axis], before, after, mode, x.device))
    return x


@keras_op("Ravel", "numpy")
def ravel(x: Any) -> torch.Tensor:
    """``x`` flattened to one axis."""
    return torch.ravel(convert_to_tensor(x))


def _repeat_each(x: torch.Tensor, count: int, axis: int) -> torch.Tensor:
    """Every slice along ``axis`` repeated ``count`` times, with a static output shape."""
    expanded = x.unsqueeze(axis + 1).expand(*x.shape[:axis + 1], count, *x.shape[axis + 1:])
    return expanded.reshape(*x.shape[:axis], x.shape[axis] * count, *x.shape[axis + 1:])


@keras_op("Repeat", "numpy", init=("repeats", "axis"))
def repeat(x: Any, repeats: Any, axis: Any = None) -> torch.Tensor:
    """Each element (slice along ``axis``; of the flattened tensor if None) repeated ``repeats``
    times: an int, or one count per element. Keras's torch backend refuses any list of counts
    (it reaches ``ops.all`` where it means Python's ``all``); this takes them, as NumPy."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = _checked_axes(axis, x.dim(), "repeat")[0]
    if isinstance(repeats, (list, tuple)) and len(repeats) == 1:
        repeats = repeats[0]
    if isinstance(repeats, int):
        return _repeat_each(x, repeats, axis)
    if isinstance(repeats, (list, tuple)):
        if len(repeats) != x.shape[axis]:
            raise ValueError(f"ops.repeat: `repeats` has {len(repeats)} counts for an axis of size {x.shape[axis]}; "
                             "give one count per element, or a single int.")
        counts = torch.tensor(repeats, dtype=torch.int64, device=x.device)
        return torch.repeat_interleave(x, counts, dim=axis, output_size=builtins.sum(repeats))
    return torch.repeat_interleave(x, convert_to_tensor(repeats).to(torch.int64), dim=axis)


@keras_op("Reshape", "numpy", init=("newshape",))
def reshape(x: Any, newshape: Any) -> torch.Tensor:
    """``x`` with shape ``newshape``: one entry may be -1 (or None) to take the remaining size."""
    if isinstance(newshape, torch.Tensor):
        newshape = newshape.tolist()
    shape = (newshape,) if isinstance(newshape, int) else tuple(-1 if d is None else d for d in newshape)
    if builtins.any(d < -1 for d in shape) or shape.count(-1) > 1:
        raise ValueError(f"ops.reshape: each entry of `newshape` must be a non-negative size, or -1 (None) for at most "
                         f"one unknown size. Received: newshape={newshape!r}")
    return torch.reshape(convert_to_tensor(x), shape)


@keras_op("Roll", "numpy", init=("shift", "axis"))
def roll(x: Any, shift: Any, axis: Any = None) -> torch.Tensor:
    """``x`` shifted cyclically by ``shift`` along ``axis`` (the flattened tensor if None)."""
    return torch.roll(convert_to_tensor(x), shift, dims=axis)


@keras_op("Rot90", "numpy", init=("k", "axes"))
def rot90(array: Any, k: int = 1, axes: tuple = (0, 1)) -> torch.Tensor:
    """``array`` rotated ``k`` quarter turns in the plane of ``axes`` (from the first axis
    toward the second)."""
    array = convert_to_tensor(array)
    if array.dim() < 2:
        raise ValueError(f"ops.rot90: `array` must have at least 2 dimensions. Received: array.ndim={array.dim()}")
    if len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError(f"ops.rot90: `axes` must be two different axes. Received: axes={axes!r}")
    plane = tuple(a + array.dim() if a < 0 else a for a in axes)
    if not builtins.all(0 <= a < array.dim() for a in plane):
        raise ValueError(f"ops.rot90: axes {axes!r} are out of range for a tensor of rank {array.dim()}.")
    return torch.rot90(array, k, plane)


@keras_op("SearchSorted", "numpy", init=("side",))
def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> torch.Tensor:
    """Where ``values`` would be inserted into the 1-d ``sorted_sequence`` to keep it sorted
    ("left": before equal entries, "right": after them); int32 indices."""
    sorted_sequence, values = _pair(sorted_sequence, values)
    if sorted_sequence.dim() != 1:
        raise ValueError("ops.searchsorted: `sorted_sequence` must be 1-D (use ops.vectorized_map for N-D). "
                         f"Received: sorted_sequence.shape={tuple(sorted_sequence.shape)}")
    small = sorted_sequence.shape[0] <= np.iinfo(np.int32).max
    return torch.searchsorted(sorted_sequence, values, side=side, out_int32=small)


@keras_op("Select", "numpy")
def select(condlist: Any, choicelist: Any, default: Any = 0) -> torch.Tensor:
    """Element-wise, the entry of the first choice whose condition holds, else ``default``."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError("ops.select: `condlist` and `choicelist` must be lists. Received: "
                         f"type(condlist)={type(condlist).__name__}, type(choicelist)={type(choicelist).__name__}")
    if not condlist or not choicelist:
        raise ValueError("ops.select: `condlist` and `choicelist` must not be empty.")
    out = convert_to_tensor(default)
    for condition, choice in reversed(list(zip(condlist, choicelist))):
        out = torch.where(convert_to_tensor(condition), convert_to_tensor(choice), out)
    return out


@keras_op("Size", "numpy")
def size(x: Any) -> torch.Tensor:
    """The number of elements, as an int64 scalar tensor (what Keras's torch backend returns,
    except for a 0-d input, where it gives float32 1.0; its symbolic spec says int32)."""
    return torch.tensor(math.prod(_static_shape(x)), dtype=torch.int64, device=device())


@keras_op("Slogdet", "numpy")
def slogdet(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sign, log|det|)`` of the square matrices in the last two axes (floats only)."""
    return tuple(torch.linalg.slogdet(convert_to_tensor(x)))


@keras_op("Sort", "numpy", init=("axis",))
def sort(x: Any, axis: Any = -1) -> torch.Tensor:
    """``x`` sorted ascending along ``axis`` (the flattened tensor if None)."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.dtype == torch.bool and x.device.type == "cuda":  # no CUDA kernel for bools
        return torch.sort(x.to(torch.uint8), dim=axis).values.to(torch.bool)
    return torch.sort(x, dim=axis).values


@keras_op("Split", "numpy", init=("indices_or_sections", "axis"))
def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[torch.Tensor]:
    """``x`` cut along ``axis`` into ``indices_or_sections`` equal parts (an int dividing the
    size; ValueError otherwise) or at the sorted indices given (a list)."""
    x = convert_to_tensor(x)
    length = x.shape[axis]
    if isinstance(indices_or_sections, int):
        parts = indices_or_sections
        if length % parts:
            raise ValueError(f"ops.split: the size {length} of axis {axis} of x (shape {tuple(x.shape)}) is not "
                             f"divisible by indices_or_sections={parts}; pass a divisor or a list of split indices.")
        if length == 0:
            return [x.clone() for _ in range(parts)]
        return list(torch.split(x, length // parts, dim=axis))
    cuts = indices_or_sections.tolist() if isinstance(indices_or_sections, torch.Tensor) else list(indices_or_sections)
    bounds = [0, *cuts, length]
    return list(torch.split(x, [b - a for a, b in zip(bounds, bounds[1:])], dim=axis))


@keras_op("Squeeze", "numpy", init=("axis",))
def squeeze(x: Any, axis: Any = None) -> torch.Tensor:
    """``x`` without its size-1 axes (or without those of ``axis`` that have size 1: as Keras's
    torch backend, an axis of another size is kept, not refused)."""
    x = convert_to_tensor(x)
    if axis is None:
        return torch.squeeze(x)
    return torch.squeeze(x, dim=axis if isinstance(axis, int) else tuple(axis))


@keras_op("Stack", "numpy", init=("axis",))
def stack(x: Any, axis: int = 0) -> torch.Tensor:
    """The tensors of ``x`` (one shape) joined along a new axis ``axis``."""
    return torch.stack([convert_to_tensor(e) for e in x], dim=axis)


@keras_op("Swapaxes", "numpy", init=("axis1", "axis2"))
def swapaxes(x: Any, axis1: int, axis2: int) -> torch.Tensor:
    """``x`` with axes ``axis1`` and ``axis2`` interchanged."""
    return torch.swapaxes(convert_to_tensor(x), axis1, axis2)


def _wrap_negative(indices: Any, length: int) -> torch.Tensor:
    """int64 indices with negative ones counted from the end of an axis of ``length``."""
    indices = convert_to_tensor(indices).to(torch.int64)
    return torch.where(indices < 0, indices + length, indices)


@keras_op("Take", "numpy", init=("axis",))
def take(x: Any, indices: Any, axis: Any = None) -> torch.Tensor:
    """The slices of ``x`` at ``indices`` along ``axis`` (elements of the flattened ``x`` if None),
    the index shape replacing that axis. Keras's torch backend counts negative indices from the
    end of axis 0 when ``axis`` is None; here from the end of the flattened tensor, as NumPy."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    length = x.shape[axis]
    axis %= x.dim()
    indices = _wrap_negative(indices, length)
    out = torch.index_select(x, axis, indices.reshape(-1))
    return out.reshape(*x.shape[:axis], *indices.shape, *x.shape[axis + 1:])


@keras_op("TakeAlongAxis", "numpy", init=("axis",))
def take_along_axis(x: Any, indices: Any, axis: Any = None) -> torch.Tensor:
    """The elements of ``x`` at ``indices`` along ``axis`` (the two broadcast against each other
    on the other axes; both flattened if None; negative indices as in ``take``)."""
    x = convert_to_tensor(x)
    length = x.numel() if axis is None else x.shape[axis]
    return torch.take_along_dim(x, _wrap_negative(indices, length), dim=axis)


@keras_op("Tensordot", "numpy", init=("axes",))
def tensordot(x1: Any, x2: Any, axes: Any = 2) -> torch.Tensor:
    """The sum of products over ``axes``: the last ``axes`` of ``x1`` with the first of ``x2``
    (an int), or the listed pairs of axes (two axes or two lists of axes)."""
    x1, x2 = _pair(x1, x2)
    out = backend.result_type(x1.dtype, x2.dtype)
    compute = backend.result_type(out, float)
    if _on_cpu_half(x1, compute):
        compute = "float32"
    if isinstance(axes, (list, tuple)):
        axes = tuple(a if isinstance(a, (list, tuple)) else (a,) for a in axes)
    return _to(torch.tensordot(_to(x1, compute), _to(x2, compute), dims=axes), out)


@keras_op("Tile", "numpy", init=("repeats",))
def tile(x: Any, repeats: Any) -> torch.Tensor:
    """``x`` repeated ``repeats`` times along each axis (aligned to the trailing axes)."""
    if isinstance(repeats, torch.Tensor):
        repeats = repeats.tolist()
    return torch.tile(convert_to_tensor(x), (repeats,) if isinstance(repeats, int) else tuple(repeats))


@keras_op("Transpose", "numpy", init=("axes",))
def transpose(x: Any, axes: Any = None) -> torch.Tensor:
    """``x`` with its axes permuted by ``axes`` (reversed if None)."""
    x = convert_to_tensor(x)
    return x.permute(tuple(range(x.dim() - 1, -1, -1)) if axes is None else tuple(axes))


@keras_op("Tril", "numpy", init=("k",))
def tril(x: Any, k: int = 0) -> torch.Tensor:
    """``x`` with the elements above the ``k``-th diagonal of its last two axes set to zero."""
    return torch.tril(convert_to_tensor(x), diagonal=k)


@keras_op("Triu", "numpy", init=("k",))
def triu(x: Any, k: int = 0) -> torch.Tensor:
    """``x`` with the elements below the ``k``-th diagonal of its last two axes set to zero."""
    return torch.triu(convert_to_tensor(x), diagonal=k)


def _unique_spec(x: KerasTensor, sorted: bool = True, return_index: bool = False, return_inverse: bool = False,
                    return_counts: bool = False, axis: Any = None, size: Any = None, fill_value: Any = None) -> Any:
    """``unique``'s outputs on KerasTensors: the count of unique values is unknown unless ``size``
    is given; the index tensors are int64, as ``unique`` returns them eagerly."""
    if axis is None:
        outputs = [KerasTensor((size,), dtype=x.dtype)]
        inverse_shape = x.shape
    else:
        axis = _checked_axes(axis, len(x.shape), "unique")[0]
        outputs = [KerasTensor(x.shape[:axis] + (size,) + x.shape[axis + 1:], dtype=x.dtype)]
        inverse_shape = (x.shape[axis],)
    if return_index:
        outputs.append(KerasTensor((size,), dtype="int64"))
    if return_inverse:
        outputs.append(KerasTensor(inverse_shape, dtype="int64"))
    if return_counts:
        outputs.append(KerasTensor((size,), dtype="int64"))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _fit_length(t: torch.Tensor, dim: int, size: int, fill: Any) -> torch.Tensor:
    """``t`` cut or padded with ``fill`` to length ``size`` along ``dim``."""
    if t.shape[dim] >= size:
        return t.narrow(dim, 0, size)
    widths = [0, 0] * (t.dim() - 1 - dim) + [0, size - t.shape[dim]]
    return F.pad(t, widths, value=fill)


@keras_op("Unique", "numpy", init=("sorted", "return_index", "return_inverse", "return_counts", "axis", "size",
                                   "fill_value"), spec=_unique_spec)
def unique(x: Any, sorted: bool = True, return_index: bool = False, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, axis: Any = None, size: Any = None, fill_value: Any = None) -> Any:
    """The unique elements of ``x`` (of the flattened ``x``, or the unique slices along ``axis``),
    and on request the index of each one's first occurrence, the inverse (which unique entry
    each element is) and the counts -- in that order, int64.

    ``size`` pads (values with ``fill_value``, default 0; counts with 0; first indices with 1,
    as Keras's torch backend) or truncates the outputs to a fixed length. Keras's torch backend
    fails on ``return_index`` for an input of rank > 1 with ``axis=None``; this answers it.
    """
    x = convert_to_tensor(x)
    found = torch.unique(x, sorted=sorted, return_inverse=return_inverse or return_index,
                         return_counts=return_counts, dim=axis)
    values, *extra = found if isinstance(found, tuple) else (found,)
    inverse = extra.pop(0) if return_inverse or return_index else None
    counts = extra.pop(0) if return_counts else None
    dim = 0 if axis is None else _checked_axes(axis, x.dim(), "unique")[0]
    first = None
    if return_index:
        positions = inverse.reshape(-1)
        order = torch.arange(positions.numel(), dtype=positions.dtype, device=positions.device)
        first = positions.new_zeros(values.shape[dim]).scatter_reduce(0, positions, order, "amin", include_self=False)
    if size is not None:
        values = _fit_length(values, dim, size, 0 if fill_value is None else fill_value)
        counts = None if counts is None else _fit_length(counts, 0, size, 0)
        first = None if first is None else _fit_length(first, 0, size, 1)
    outputs = [values] + [t for t, wanted in ((first, return_index), (inverse, return_inverse),
                                              (counts, return_counts)) if wanted]
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


@keras_op("UnravelIndex", "numpy", init=("shape",))
def unravel_index(indices: Any, shape: Any) -> tuple[torch.Tensor, ...]:
    """The coordinates, in a tensor of ``shape``, of the flat ``indices``: one tensor per axis,
    in ``indices``' dtype (int64 narrowed to int32, as Keras)."""
    indices = convert_to_tensor(indices)
    dtype = backend.result_type(indices.dtype)
    return tuple(_to(i, dtype) for i in torch.unravel_index(indices, tuple(shape)))


@keras_op("Vander", "numpy", init=("N", "increasing"))
def vander(x: Any, N: Any = None, increasing: bool = False) -> torch.Tensor:  # noqa: N803  (Keras's name)
    """The Vandermonde matrix of the 1-d ``x``: ``N`` columns (default ``len(x)``) of its powers,
    highest first unless ``increasing``."""
    x = convert_to_tensor(x)
    if x.dim() != 1:
        raise ValueError(f"ops.vander: `x` must be 1-dimensional. Received: x.shape={tuple(x.shape)}")
    if N is not None and (not isinstance(N, int) or isinstance(N, bool)):
        raise TypeError(f"ops.vander: `N` must be an int. Received: N={N!r} of type {type(N).__name__}")
    if N is not None and N < 0:
        raise ValueError(f"ops.vander: `N` must be non-negative. Received: N={N}")
    if not isinstance(increasing, bool):
        raise TypeError(f"ops.vander: `increasing` must be a bool. Received: increasing={increasing!r}")
    return _to(torch.vander(x, N=N, increasing=increasing), backend.result_type(x.dtype))


@keras_op("Vdot", "numpy")
def vdot(x1: Any, x2: Any) -> torch.Tensor:
    """The dot product of the flattened ``x1`` (conjugated if complex) and ``x2``, in their
    promoted dtype. Keras documents the flattening, but its torch backend refuses inputs of
    rank > 1; this flattens them."""
    x1, x2 = _pair(x1, x2)
    out = backend.result_type(x1.dtype, x2.dtype)
    compute = backend.result_type(out, float)
    if _on_cpu_half(x1, compute):
        compute = "float32"
    return _to(torch.vdot(_to(x1, compute).reshape(-1), _to(x2, compute).reshape(-1)), out)


@keras_op("View", "numpy", init=("dtype",))
def view(x: Any, dtype: Any = None) -> torch.Tensor:
    """``x``'s memory read as ``dtype`` (the last axis rescales by the ratio of item sizes).

    ``dtype=None`` keeps ``x``'s dtype, as NumPy and Keras's symbolic spec; Keras's torch backend
    reads it as ``floatx()`` instead.
    """
    x = convert_to_tensor(x)
    return x.view(x.dtype if dtype is None else backend.torch_dtype(dtype))


@keras_op("Vsplit", "numpy", init=("indices_or_sections",))
def vsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """``split`` along axis 0, for tensors of rank 2 or more."""
    if isinstance(indices_or_sections, torch.Tensor):
        indices_or_sections = indices_or_sections.tolist()
    sections = indices_or_sections if isinstance(indices_or_sections, int) else list(indices_or_sections)
    return list(torch.vsplit(convert_to_tensor(x), sections))


@keras_op("Vstack", "numpy")
def vstack(xs: Any) -> torch.Tensor:
    """The tensors of ``xs`` joined along axis 0 (1-d tensors become rows)."""
    return torch.vstack([convert_to_tensor(x) for x in xs])


def _check_where(x1: Any, x2: Any) -> None:
    if (x1 is None) != (x2 is None):
        given = "x1" if x2 is None else "x2"
        raise ValueError(f"ops.where: `x1` and `x2` must both be given or both be None. Received only {given}.")


def _where_spec(condition: Any, x1: Any = None, x2: Any = None) -> KerasTensor:
    _check_where(x1, x2)
    if x1 is None:
        return KerasTensor((len(_static_shape(condition)), None), dtype="int64")
    return symbolic_spec(where, (condition, x1, x2), {}, "ops.where")


@keras_op("Where", "numpy", spec=_where_spec)
def where(condition: Any, x1: Any = None, x2: Any = None) -> torch.Tensor:
    """``x1`` where ``condition`` holds, else ``x2`` (broadcast; promoted dtype). Without ``x1``
    and ``x2``: the indices of the true elements, one int64 tensor of shape ``(rank, count)``
    (as Keras's torch backend; its symbolic spec says the condition's shape)."""
    _check_where(x1, x2)
    condition = convert_to_tensor(condition, dtype="bool")
    if x1 is None:
        return torch.stack(torch.where(condition), dim=0)
    return torch.where(condition, *_pair(x1, x2))


# ------------------------------------------------------------------------------------- creation
def _dtype_or_floatx(dtype: Any) -> torch.dtype:
    return backend.torch_dtype(dtype or backend.floatx())


@keras_op(None, "numpy")
def ones(shape: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor of ``shape`` (an int or a tuple) filled with ones, in ``dtype`` (default ``floatx()``)."""
    return torch.ones((shape,) if isinstance(shape, int) else tuple(shape), dtype=_dtype_or_floatx(dtype),
                      device=device())


@keras_op(None, "numpy")
def zeros(shape: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor of ``shape`` (an int or a tuple) filled with zeros, in ``dtype`` (default ``floatx()``)."""
    return torch.zeros((shape,) if isinstance(shape, int) else tuple(shape), dtype=_dtype_or_floatx(dtype),
                       device=device())


@keras_op("OnesLike", "numpy", init=("dtype",))
def ones_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """Ones in ``x``'s shape, in ``dtype`` (default ``x``'s)."""
    x = convert_to_tensor(x)
    return torch.ones_like(x, dtype=backend.torch_dtype(dtype) if dtype else x.dtype)


@keras_op("ZerosLike", "numpy", init=("dtype",))
def zeros_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """Zeros in ``x``'s shape, in ``dtype`` (default ``x``'s)."""
    x = convert_to_tensor(x)
    return torch.zeros_like(x, dtype=backend.torch_dtype(dtype) if dtype else x.dtype)


@keras_op(None, "numpy")
def tri(N: int, M: Any = None, k: int = 0, dtype: Any = None) -> torch.Tensor:  # noqa: N803  (Keras's names)
    """An ``N`` x ``M`` (default ``N`` x ``N``) matrix with ones at and below the ``k``-th
    diagonal. (Keras's torch backend reads ``M=0`` as ``M=N``; this gives an ``N`` x 0 matrix.)"""
    columns = N if M is None else M
    return torch.tril(torch.ones((N, columns), dtype=_dtype_or_floatx(dtype), device=device()), diagonal=k)


# ------------------------------------------------------------------------------------- vectorize
_MZ_CORE = r"\((?:\w+(?:,\w+)*)?\)"
_MZ_SIGNATURE = re.compile(rf"^{_MZ_CORE}(?:,{_MZ_CORE})*->{_MZ_CORE}(?:,{_MZ_CORE})*$")


def _parse_signature(signature: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """A gufunc signature ("(m,n),(n)->(m)") as the core axis names of each input and output."""
    compact = signature.replace(" ", "")
    if not _MZ_SIGNATURE.match(compact):
        raise ValueError(f"ops.vectorize: not a valid gufunc signature: {signature!r} "
                         "(expected e.g. '(m,n),(n)->(m)').")
    inputs, outputs = compact.split("->")
    return ([tuple(re.findall(r"\w+", a)) for a in re.findall(_MZ_CORE, part)] for part in (inputs, outputs))


def _core_sizes(shapes: list[tuple], cores: list[tuple[str, ...]], sizes: dict[str, int], what: str) -> None:
    """Check that each shape ends with its core axes (an output: is exactly them), consistently
    sized across arguments."""
    for shape, core in zip(shapes, cores):
        if len(shape) < len(core) or (what == "output" and len(shape) != len(core)):
            raise ValueError(f"ops.vectorize: {what} of shape {shape} does not match its core axes {core}.")
        for name, n in zip(core, shape[len(shape) - len(core):]):
            if sizes.setdefault(name, n) != n:
                raise ValueError(f"ops.vectorize: core axis {name!r} has size {n} in one {what} and {sizes[name]} "
                                 "in another.")


def _map_loop_axes(fn: Callable[..., Any], tensors: list[torch.Tensor], loops: list[tuple], batch: tuple) -> Any:
    """``fn`` mapped with ``torch.vmap`` over the broadcast loop axes ``batch``: an argument whose
    loop axis has size 1 (or is missing) is broadcast, not mapped; an axis no argument maps
    comes back as size 1."""
    squeezed, padded = [], []
    for t, loop in zip(tensors, loops):
        full = (1,) * (len(batch) - len(loop)) + tuple(loop)
        ones = tuple(i - (len(batch) - len(loop)) for i, n in enumerate(full) if n == 1 and i >= len(batch) - len(loop))
        squeezed.append(t.squeeze(ones) if ones else t)
        padded.append(full)
    unmapped = []
    for position in range(len(batch) - 1, -1, -1):
        in_dims = tuple(None if full[position] == 1 else 0 for full in padded)
        if builtins.all(d is None for d in in_dims):
            unmapped.append(position)
        else:
            fn = torch.vmap(fn, in_dims=in_dims)
    result = fn(*squeezed)
    for position in sorted(unmapped):
        if isinstance(result, tuple):
            result = tuple(r.unsqueeze(position) for r in result)
        else:
            result = result.unsqueeze(position)
    return result


def vectorize(pyfunc: Callable[..., Any], *, excluded: Any = None, signature: Any = None) -> Callable[..., Any]:
    """``pyfunc`` made to map over the leading axes of its tensor arguments, as ``numpy.vectorize``
    (with ``torch.vmap``): each positional argument keeps its core axes (the trailing ones its
    ``signature`` entry names, none by default) and the other axes are broadcast and looped over.

    ``excluded`` (positions or keyword names) and ``None`` arguments are passed through
    unchanged; so are keyword arguments. (Keras's torch backend ignores ``excluded`` and drops
    keyword arguments.) The vectorized function takes tensors, not KerasTensors (TypeError).
    """
    if not callable(pyfunc):
        raise ValueError(f"ops.vectorize: `pyfunc` must be callable. Received: pyfunc={pyfunc!r}")
    fixed = set(excluded or ())
    in_cores, out_cores = _parse_signature(signature) if signature is not None else (None, None)

    @functools.wraps(pyfunc)
    def vectorized(*args: Any, **kwargs: Any) -> Any:
        if any_symbolic(args, kwargs):
            raise TypeError(f"ops.vectorize: the vectorized {getattr(pyfunc, '__name__', 'function')} runs torch.vmap "
                            "on values, so it cannot take symbolic KerasTensors; call it inside a Layer's call().")
        static = {i: a for i, a in enumerate(args) if i in fixed or a is None}
        tensors = [convert_to_tensor(a) for i, a in enumerate(args) if i not in static]
        cores = in_cores if in_cores is not None else [()] * len(tensors)
        if len(cores) != len(tensors):
            raise TypeError(f"ops.vectorize: the signature {signature!r} has {len(cores)} inputs; received "
                            f"{len(tensors)} mapped arguments.")
        sizes: dict[str, int] = {}
        _core_sizes([tuple(t.shape) for t in tensors], cores, sizes, "input")
        loops = [tuple(t.shape[:t.dim() - len(core)]) for t, core in zip(tensors, cores)]
        batch = tuple(torch.broadcast_shapes(*loops)) if loops else ()

        def call(*mapped: Any) -> Any:
            given = iter(mapped)
            full = [static[i] if i in static else next(given) for i in range(len(args))]
            return pyfunc(*full, **kwargs)

        result = _map_loop_axes(call, tensors, loops, batch)
        if out_cores is not None:
            outputs = list(result) if isinstance(result, tuple) else [result]
            if len(outputs) != len(out_cores):
                raise TypeError(f"ops.vectorize: the signature {signature!r} has {len(out_cores)} outputs; "
                                f"pyfunc returned {len(outputs)}.")
            _core_sizes([tuple(o.shape[len(batch):]) for o in outputs], out_cores, sizes, "output")
        return result

    return vectorized
