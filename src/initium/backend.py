"""Dtypes and devices: the only module that knows about either.

Keras names dtypes with strings (``"float32"``); torch with ``torch.dtype`` objects. Everything
public in initium accepts either (and numpy dtypes) and speaks strings back, as Keras does.
The default device is CUDA when it is available, else CPU; ``set_default_device`` overrides it.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

import numpy as np
import torch

__all__ = [
    "backend",
    "floatx",
    "set_floatx",
    "epsilon",
    "set_epsilon",
    "image_data_format",
    "set_image_data_format",
    "standardize_dtype",
    "torch_dtype",
    "is_float_dtype",
    "is_int_dtype",
    "result_type",
    "is_keras_tensor",
    "get_uid",
    "default_device",
    "set_default_device",
    "device",
    "name_scope",
    "current_name_scope",
    "to_numpy",
    "to_tensor",
    "unique_name",
    "clear_session",
]

_DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "uint8": torch.uint8,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
    "float8_e4m3fn": torch.float8_e4m3fn,
    "float8_e5m2": torch.float8_e5m2,
}
_NAMES: dict[torch.dtype, str] = {v: k for k, v in _DTYPES.items()}
# Names Keras accepts whose values torch stores in a wider signed type (as Keras's torch backend does):
# a "uint16" tensor *is* an int32 tensor, and reports "int32".
_STORED_AS = {"uint16": torch.int32, "uint32": torch.int64, "uint64": torch.int64}
_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "int": "int64"}
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
INT_DTYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
_PYTHON_TYPES = {bool: "bool", int: "int32", float: "float32", complex: "complex64"}
STRING = "string"  # Keras's text dtype: an Input(dtype="string") feeding the string layers (initium.layers.text)

_floatx = "float32"
_device: torch.device | None = None


def floatx() -> str:
    """The default float dtype name, ``"float32"`` unless ``set_floatx`` changed it."""
    return _floatx


def set_floatx(value: str) -> None:
    """Set the default float dtype (``"float16"``, ``"bfloat16"``, ``"float32"`` or ``"float64"``)."""
    global _floatx
    name = standardize_dtype(value)
    if name not in FLOAT_DTYPES:
        raise ValueError(
            f"Unknown `floatx` value: {value!r}. Expected one of {list(FLOAT_DTYPES)}."
        )
    _floatx = name


def standardize_dtype(dtype: Any = None) -> str:
    """Return the Keras name of ``dtype`` (a string, ``torch.dtype``, numpy dtype, Python type or None)."""
    if dtype is None:
        return _floatx
    if isinstance(dtype, type) and dtype in _PYTHON_TYPES:
        return _PYTHON_TYPES[dtype]
    if isinstance(dtype, torch.dtype):
        if dtype in _NAMES:
            return _NAMES[dtype]
        raise ValueError(f"Unsupported dtype: {dtype}. Expected one of {sorted(_DTYPES)}.")
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
        if name in _DTYPES or name in _STORED_AS or name == STRING:
            return name
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
        if name in _DTYPES or name in _STORED_AS:
            return name
    raise ValueError(f"Unsupported dtype: {dtype!r}. Expected one of {sorted(_DTYPES)}.")


def torch_dtype(dtype: Any = None) -> torch.dtype:
    """The ``torch.dtype`` for any dtype spelling accepted by ``standardize_dtype``."""
    name = standardize_dtype(dtype)
    if name == STRING:
        raise ValueError("torch has no string tensors: dtype 'string' data stays a NumPy array of str, which only "
                         "the string layers (StringLookup, TextVectorization, Hashing) read. Received: dtype='string'")
    return _STORED_AS.get(name) or _DTYPES[name]


def is_float_dtype(dtype: Any) -> bool:
    return standardize_dtype(dtype) in FLOAT_DTYPES


def is_int_dtype(dtype: Any) -> bool:
    return standardize_dtype(dtype) in INT_DTYPES


def backend() -> str:
    """The name of the engine underneath, as ``keras.backend.backend()`` reports it: ``"torch"``."""
    return "torch"


_epsilon = 1e-7
_image_data_format = "channels_last"


def epsilon() -> float:
    """The fuzz factor of numeric expressions (``1e-7`` unless ``set_epsilon`` changed it)."""
    return _epsilon


def set_epsilon(value: float) -> None:
    """Set the fuzz factor ``epsilon()`` returns."""
    global _epsilon
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"set_epsilon: expected a non-negative float. Received: value={value!r}")
    _epsilon = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (the default) or ``"channels_first"``: the layout layers assume when
    their ``data_format`` argument is ``None``."""
    return _image_data_format


def set_image_data_format(data_format: str) -> None:
    """Set what ``image_data_format()`` returns."""
    global _image_data_format
    value = str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
                         f"Received: data_format={data_format!r}")
    _image_data_format = value


# --------------------------------------------------------------------------- type promotion
# Keras's promotion lattice (the one JAX uses), as a map from each type to the types directly above
# it. "int" and "float" are the weak types of Python scalars: `int32_tensor + 1` stays int32 and
# `int32_tensor + 1.5` becomes floatx, where numpy would widen.
_LATTICE: dict[str, tuple[str, ...]] = {
    "bool": ("int",), "int": ("uint8", "int8", "complex64"),
    "uint8": ("int16", "uint16"), "uint16": ("int32", "uint32"), "uint32": ("int64", "uint64"), "uint64": ("float",),
    "int8": ("int16",), "int16": ("int32",), "int32": ("int64",), "int64": ("float",),
    "float": ("bfloat16", "float16"), "bfloat16": ("float32",), "float16": ("float32",),
    "float32": ("float64", "complex64"), "float64": ("complex128",), "complex64": ("complex128",), "complex128": (),
}


def _upper_bounds() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}

    def above(node: str) -> frozenset[str]:
        if node not in out:
            out[node] = frozenset({node}).union(*(above(n) for n in _LATTICE[node]))
        return out[node]

    for node in _LATTICE:
        above(node)
    return out


_UPPER = _upper_bounds()
_NARROW_64 = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def _least_upper_bound(nodes: set[str]) -> str:
    common = frozenset.intersection(*(_UPPER[n] for n in nodes))
    least = (common & nodes) or {c for c in common if common <= _UPPER[c]}
    if len(least) != 1:
        raise ValueError(f"Input dtypes {tuple(sorted(nodes))} have no available implicit dtype promotion path. "
                         "Try explicitly casting inputs to the desired output type.")
    return next(iter(least))


def result_type(*dtypes: Any) -> str:
    """The dtype Keras's promotion rules give for ``dtypes`` (``keras.backend.result_type``).

    Each argument is a dtype spelling, or the Python types ``int``/``float`` for weakly typed
    scalars (``result_type("int8", int) == "int8"``, ``result_type("int32", float) == floatx()``).
    As in Keras on torch and JAX, a promotion that lands on a 64-bit type is narrowed to 32 bits
    (``result_type("int64") == "int32"``); ``None`` counts as ``floatx()``; no arguments give ``floatx()``.
    """
    if not dtypes:
        return _floatx
    names, weak = [], []
    for d in dtypes:
        is_weak = d is int or d is float
        name = _floatx if d is None else standardize_dtype(d)
        if name.startswith("float8"):
            raise ValueError("There is no implicit conversions from float8 dtypes to others. You must cast it "
                             f"internally. Received: {dtypes}")
        names.append(name)
        weak.append(is_weak)
    if len(names) == 1 or (len(set(names)) == 1 and not all(weak)):
        out, out_weak = names[0], weak[0]
    elif all(weak):
        out, out_weak = _least_upper_bound(set(names)), True
    else:
        out = _least_upper_bound({_weaken(n) if w else n for n, w in zip(names, weak)})
        out_weak = out in ("int", "float")
    if out_weak and out != "bool":
        kind = "f" if out == "bfloat16" else out[0]
        bits = _floatx[-2:]
        out = {"i": f"int{bits}", "u": f"uint{bits}", "b": "bool"}.get(kind, f"float{bits}")
    return _NARROW_64.get(out, out)


def _weaken(name: str) -> str:
    if name == "bool":
        return name
    if "float" in name:
        return "float"
    if "int" in name:
        return "int"
    return "complex"


# The symbolic tensor class, registered by ``initium.symbolic`` when it loads (it sits beside this
# leaf and imports it; a KerasTensor cannot exist before that module has run).
_KERAS_TENSOR_TYPES: list[type] = []


def is_keras_tensor(x: Any) -> bool:
    """True for a symbolic ``KerasTensor`` (what ``keras.Input`` returns), False for anything else."""
    return isinstance(x, tuple(_KERAS_TENSOR_TYPES))


_uids: dict[str, int] = {}


def get_uid(prefix: str = "") -> int:
    """1, 2, 3, ... per ``prefix`` (Keras's ``backend.get_uid``), reset by ``clear_session``."""
    _uids[prefix] = _uids.get(prefix, 0) + 1
    return _uids[prefix]


def default_device() -> torch.device:
    """Where new weights and random tensors live: CUDA when available, else CPU."""
    global _device
    if _device is None:
        _device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return _device


def set_default_device(device: str | torch.device | None) -> None:
    """Pin the default device (``None`` goes back to automatic choice)."""
    global _device
    _device = None if device is None else torch.device(device)


_GPU_ALIASES = {"gpu": "cuda"}


@contextlib.contextmanager
def device(device_name: str | torch.device) -> Iterator[None]:
    """``with device("cpu")`` / ``device("gpu:0")``: new weights, random draws and ops' tensors go
    there inside the block (Keras's ``keras.device``; ``gpu`` means CUDA)."""
    global _device
    if isinstance(device_name, str):
        kind, _, index = device_name.lower().partition(":")
        kind = _GPU_ALIASES.get(kind, kind)
        name = f"{kind}:{index}" if index else kind
    else:
        name = device_name
    try:
        target = torch.device(name)
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"keras.device: cannot use the device {device_name!r} ({e}). Use 'cpu', 'gpu:N' or "
                         "'cuda:N'.") from None
    saved = _device
    _device = target
    try:
        yield
    finally:
        _device = saved


_scopes = threading.local()


class name_scope:  # noqa: N801  (Keras's name)
    """``with name_scope("encoder"):`` prefixes the paths of the variables created inside
    (``encoder/dense/kernel``); scopes nest. ``deduplicate``: re-entering the scope that is
    already innermost adds no second level, as in Keras."""

    def __init__(self, name: str, caller: Any = None, deduplicate: bool = True, override_parent: Any = None) -> None:
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"name_scope: `name` must be a string without '/'. Received: name={name!r}")
        self.name, self.caller, self.deduplicate, self.override_parent = name, caller, deduplicate, override_parent
        self._pushed = False

    def __enter__(self) -> "name_scope":
        stack = _scope_stack()
        if self.override_parent is not None:
            stack.append(("override", self.override_parent))
        if not (self.deduplicate and stack and stack[-1] == ("name", self.name)):
            stack.append(("name", self.name))
            self._pushed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        stack = _scope_stack()
        if self._pushed:
            stack.pop()
        if self.override_parent is not None:
            stack.pop()


def _scope_stack() -> list[tuple[str, str]]:
    if not hasattr(_scopes, "stack"):
        _scopes.stack = []
    return _scopes.stack


def current_name_scope() -> str:
    """The path prefix of the active ``name_scope``s (``"outer/inner"``), ``""`` outside any."""
    parts: list[str] = []
    for kind, value in _scope_stack():
        if kind == "override":
            parts = [value] if value else []
        else:
            parts.append(value)
    return "/".join(parts)


def to_numpy(x: Any) -> np.ndarray:
    """A numpy copy (or view, on CPU) of a tensor, array, list or scalar."""
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.cpu().numpy()
    return np.asarray(x)


def to_tensor(x: Any, dtype: Any = None, device: str | torch.device | None = None) -> torch.Tensor:
    """A tensor on ``device`` (default: ``default_device()``), cast to ``dtype`` when given."""
    target = torch.device(device) if device is not None else default_device()
    tdtype = torch_dtype(dtype) if dtype is not None else None
    if isinstance(x, torch.Tensor):
        return x.to(device=target, dtype=tdtype or x.dtype)
    arr = np.asarray(x)
    if tdtype is None and arr.dtype == np.float64:
        tdtype = torch_dtype(_floatx)
    t = torch.from_numpy(np.ascontiguousarray(arr)) if arr.dtype != object else torch.tensor(x)
    return t.to(device=target, dtype=tdtype or t.dtype)


_name_counts: dict[str, int] = {}


def unique_name(base: str) -> str:
    """``base``, then ``base_1``, ``base_2``, ... (Keras's automatic layer and model names)."""
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


@contextlib.contextmanager
def preserved_names() -> Iterator[None]:
    """Automatic names (``unique_name``) handed out inside the block are handed out again after it:
    a throw-away build (a loader's shape check on the meta device) leaves no trace in later names."""
    saved = dict(_name_counts)
    try:
        yield
    finally:
        _name_counts.clear()
        _name_counts.update(saved)


def clear_session() -> None:
    """Reset automatic names (``dense``, ``dense_1``, ...) and ``get_uid``'s counters, as
    ``keras.backend.clear_session``."""
    _name_counts.clear()
    _uids.clear()
