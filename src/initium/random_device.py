"""Philox4x64-10 on the device: the CPU's exact random values, generated where the tensor lives.

``initium.random`` defines every draw as a pure function of ``(seed, stream, element index)``
(see its module docstring). On the CPU numpy produces the bits; this module produces the *same*
bits, and the same values, on any torch device, in one pass that writes each output once:

- ``triton``: a Triton kernel (the optional ``gpu`` extra). Each program computes ``BLOCK``
  Philox blocks (four 64-bit words each), splits them into values, applies the transform and
  stores them. With ``TRITON_INTERPRET=1`` the same kernel runs on CPU tensors, which is how the
  tests check its bits without a GPU.
- ``torch``: the same arithmetic written with torch's int64 tensor ops (wrapping multiplication,
  masks for the unsigned shifts), for devices without Triton.

Bits. Block ``j`` of a draw keyed ``(k0, k1)`` is Philox4x64-10 of the 128-bit counter
``start + j`` (low word first, carries into the high word), as numpy's ``Philox`` with
``key=(k0, k1)`` produces it. A 64x64-bit product's high half is ``umulhi`` in Triton and four
32-bit partial products in the torch path.

Values (``initium.random.TRANSFORM_VERSION`` 1). Uniform values use only exact or correctly
rounded IEEE operations (mantissa bits OR-ed into an exponent, one subtraction, one multiply,
one add, a clamp), so they are bit-identical on every device. Normal values need ``erfinv``,
which no two libraries compute alike; but the float32 transform only ever evaluates it on the
2**23 grid points ``t = (2m + 1) 2**-23 - 1``, so the device looks the result up in a table of
those 2**23 values computed once by the CPU's own ``erfinv`` (32 MiB per device and kind, built
on first use). Normal and truncated-normal float32 values are therefore bit-identical to the
CPU's too. (float16/bfloat16 are float32 values rounded.) float64 normal values apply the
device's ``erfinv`` to the exact grid value: within an ulp or so of the CPU's, not bit-identical.

On CUDA the final ``x = z * s + a`` uses round-to-nearest multiply and add intrinsics, so the
compiler cannot fuse them into an FMA (which rounds once instead of twice, and would differ from
the CPU's two rounded steps).
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any

import numpy as np
import torch

__all__ = ["philox_words", "fill", "available_backends", "default_backend"]

M0, M1 = 0xD2E7470EE14C6C93, 0xCA5A826395121157  # Philox4x64 multipliers
W0, W1 = 0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B  # Weyl key increments
ROUNDS = 10
_MASK64 = (1 << 64) - 1
_SQRT2 = math.sqrt(2.0)
_ERF_SQRT2 = math.erf(_SQRT2)
_BLOCK = 256  # Philox blocks per Triton program: 1024 words, 2048 float32 values

_KINDS = ("uniform", "normal", "truncated_normal")


def _signed(u: int) -> int:
    """A 64-bit unsigned integer as the int64 with the same bits."""
    u &= _MASK64
    return u - (1 << 64) if u >= 1 << 63 else u


# ------------------------------------------------------------------------------------------ tables
_tables: dict[tuple[str, str], torch.Tensor] = {}
_tables_lock = threading.Lock()


def _grid_float32() -> torch.Tensor:
    """The 2**23 float32 values ``t(m) = (2m + 1) 2**-23 - 1``, computed as the CPU path does."""
    m = torch.arange(1 << 23, dtype=torch.int32)
    t = (m | 0x40000000).view(torch.float32)  # 2 + m * 2**-22, in [2, 4)
    return t.sub_(3.0).add_(2.0 ** -23)


def _table(kind: str, device: torch.device) -> torch.Tensor:
    """``erfinv`` of every grid point (for ``kind`` ``normal``, or the truncated-normal variant)."""
    key = (kind, str(device))
    with _tables_lock:
        table = _tables.get(key)
        if table is None:
            t = _grid_float32()
            if kind == "truncated_normal":
                t.mul_(_ERF_SQRT2).erfinv_().clamp_(-_SQRT2, _SQRT2)
            else:
                t.erfinv_()
            table = _tables[key] = t.to(device)
    return table


# ------------------------------------------------------------------------------------------ torch path
_LOW32 = 0xFFFFFFFF


def _shr(x: torch.Tensor, n: int) -> torch.Tensor:
    """Logical (unsigned) right shift of int64 bit patterns."""
    return (x >> n) & ((1 << (64 - n)) - 1)


def _mulhilo(a: int, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 64-bit words of the 128-bit product of the constant ``a`` and the words ``b``."""
    a_lo, a_hi = a & _LOW32, a >> 32
    b_lo, b_hi = b & _LOW32, _shr(b, 32)
    lo_lo = a_lo * b_lo  # each partial product of two 32-bit halves fits in 64 bits (as bit patterns)
    hi_lo = a_hi * b_lo
    lo_hi = a_lo * b_hi
    hi_hi = a_hi * b_hi
    cross = _shr(lo_lo, 32) + (hi_lo & _LOW32) + (lo_hi & _LOW32)
    high = hi_hi + _shr(hi_lo, 32) + _shr(lo_hi, 32) + _shr(cross, 32)
    low = b * _signed(a)  # int64 multiplication wraps: exactly the low 64 bits
    return high, low


def _philox_torch(c0: torch.Tensor, c1: torch.Tensor, key: tuple[int, int]) -> list[torch.Tensor]:
    c2 = torch.zeros_like(c0)
    c3 = torch.zeros_like(c0)
    k0, k1 = key[0] & _MASK64, key[1] & _MASK64
    for _ in range(ROUNDS):
        hi0, lo0 = _mulhilo(M0, c0)
        hi1, lo1 = _mulhilo(M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ _signed(k0), lo1, hi0 ^ c3 ^ _signed(k1), lo0
        k0, k1 = (k0 + W0) & _MASK64, (k1 + W1) & _MASK64
    return [c0, c1, c2, c3]


def _counters(start: int, nblocks: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Low and high 64-bit words of the 128-bit counters ``start + j``, as int64 bit patterns."""
    lo_start = start & _MASK64
    j = torch.arange(nblocks, dtype=torch.int64, device=device)
    low = j + _signed(lo_start)
    # The low word wraps when lo_start + j >= 2**64: unsigned compare via the sign-flipped values.
    wrapped = (low ^ (-(1 << 63))) < (j ^ (-(1 << 63)))
    high = torch.full_like(j, _signed(start >> 64)) + wrapped.to(torch.int64)
    return low, high


def _words_torch(nwords: int, key: tuple[int, int], first_block: int, device: torch.device) -> torch.Tensor:
    nblocks = -(-nwords // 4)
    c0, c1 = _counters(first_block, nblocks, device)
    return torch.stack(_philox_torch(c0, c1, key), dim=1).reshape(-1)[:nwords]


def _transform_torch(words: torch.Tensor, n: int, kind: str, dtype: torch.dtype, a: float, b: float) -> torch.Tensor:
    """The values of the CPU path (``initium.random._standard``) from the words, on their device."""
    wide = dtype == torch.float64
    ints = words if wide else words.view(torch.int32)[:n]  # little-endian: low half first, as numpy's view
    if wide:
        ints = ints[:n]
    mbits = 52 if wide else 23
    bits = ints & ((1 << mbits) - 1)
    one, two = ((0x3FF << 52, 0x400 << 52) if wide else (0x3F800000, 0x40000000))
    if kind == "uniform":
        x = (bits | one).view(dtype).sub_(1.0)
        if b != 1.0:
            x.mul_(b)
        if a != 0.0:
            x.add_(a)
        if b > 0:
            upper = np.nextafter(np.array(a + b, dtype=np.float64 if wide else np.float32), -np.inf)
            x.clamp_(max=float(upper))
        return x
    if wide:
        t = (bits | two).view(dtype).sub_(3.0).add_(2.0 ** -mbits)
        if kind == "truncated_normal":
            t.mul_(_ERF_SQRT2).erfinv_().clamp_(-_SQRT2, _SQRT2)
        else:
            t.erfinv_()
        z = t
    else:
        z = _table(kind, words.device)[bits.to(torch.int64)]
    z = z.mul(_SQRT2 * b)
    if a != 0.0:
        z.add_(a)
    return z


# ------------------------------------------------------------------------------------------ triton path
_triton_module: list[Any] = []


def _triton() -> Any:
    """The Triton kernel module (imported on first use), or ``None`` when Triton is not installed."""
    if not _triton_module:
        try:
            from initium import random_device_triton
        except ImportError:
            random_device_triton = None
        _triton_module.append(random_device_triton)
    return _triton_module[0]


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "") not in ("", "0")


def available_backends(device: torch.device | str) -> list[str]:
    """The backends that can draw on ``device``: ``"triton"`` (CUDA, or any device when
    ``TRITON_INTERPRET=1``) when Triton is installed, and always ``"torch"``."""
    device = torch.device(device)
    out = []
    if (device.type == "cuda" or _interpreting() and device.type == "cpu") and _triton() is not None:
        out.append("triton")
    return out + ["torch"]


def default_backend(device: torch.device | str) -> str:
    return available_backends(device)[0]


def _launch(out: torch.Tensor, n: int, key: tuple[int, int], first_block: int, kind: str, a: float, b: float,
            raw: bool) -> None:
    kernel = _triton().kernel
    wide = out.dtype in (torch.float64, torch.int64)
    per_block = 4 if wide else 8
    nblocks = -(-n // per_block)
    grid = (max(1, -(-nblocks // _BLOCK)),)
    table = out if raw or wide or kind == "uniform" else _table(kind, out.device)
    ftype = np.float64 if wide else np.float32
    if kind == "uniform":
        upper = float(np.nextafter(np.array(a + b, dtype=ftype), -np.inf))
        scale, clamp = b, b > 0
    else:
        upper, scale, clamp = 0.0, _SQRT2 * b, False
    kernel[grid](out, table, n, _signed(key[0]), _signed(key[1]), _signed(first_block & _MASK64),
                 _signed(first_block >> 64), float(scale), float(a), upper,
                 KIND=_KINDS.index(kind), WIDE=wide, RAW=raw, SHIFT=a != 0.0, CLAMP=clamp,
                 RN=out.device.type == "cuda" and not _interpreting(), BLOCK=_BLOCK)


# ------------------------------------------------------------------------------------------ API
def philox_words(n: int, key: tuple[int, int], first_block: int = 0, device: Any = "cpu",
                 backend: str | None = None) -> torch.Tensor:
    """``n`` raw 64-bit words (int64 bit patterns) of the stream ``key`` from block ``first_block``
    (any integer below 2**128), on ``device``: numpy's ``Philox(key=key, counter=first_block - 1)``
    gives the same words."""
    nblocks = -(-n // 4)
    if not 0 <= first_block or first_block + nblocks > 1 << 128:
        raise ValueError(f"philox_words: the counters must stay below 2**128 (this module carries into the second "
                         f"counter word, never the third). Received: first_block={first_block}, n={n}")
    device = torch.device(device)
    backend = backend or default_backend(device)
    if backend == "triton":
        out = torch.empty(n, dtype=torch.int64, device=device)
        if n:
            _launch(out, n, key, first_block, "uniform", 0.0, 1.0, raw=True)
        return out
    return _words_torch(n, key, first_block, device)


def fill(n: int, key: tuple[int, int], kind: str, dtype: torch.dtype, a: float, b: float, device: Any,
         backend: str | None = None) -> torch.Tensor:
    """``n`` values of ``kind`` (``a + b * z``) for the draw keyed ``key``, computed on ``device``;
    equal to what ``initium.random`` computes on the CPU (see the module docstring)."""
    if kind not in _KINDS:
        raise ValueError(f"random_device.fill: `kind` must be one of {_KINDS}. Received: kind={kind!r}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"random_device.fill: values are computed in float32 or float64. Received: dtype={dtype}")
    device = torch.device(device)
    backend = backend or default_backend(device)
    wide = dtype == torch.float64
    if backend == "torch":
        nwords = n if wide else -(-n // 2)
        return _transform_torch(_words_torch(nwords, key, 0, device), n, kind, dtype, a, b)
    if wide and kind != "uniform":  # float64 normals: no table (2**52 grid points); the device's erfinv
        return _transform_torch(philox_words(n, key, 0, device, backend="triton"), n, kind, dtype, a, b)
    out = torch.empty(n, dtype=dtype, device=device)
    if n:
        _launch(out, n, key, 0, kind, a, b, raw=False)
    return out
