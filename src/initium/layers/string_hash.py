"""The two string hashes Keras's ``Hashing`` and lookup layers use, in pure Python.

- ``fingerprint64``: FarmHash's ``Fingerprint64`` (the ``farmhashna`` 64-bit hash), which
  TensorFlow's ``tf.strings.to_hash_bucket_fast`` reduces modulo the number of buckets. It is a
  fixed, platform-independent function of the bytes, so initium's bins are Keras's bins.
- ``siphash64``: SipHash-2-4 with a 128-bit key given as two 64-bit words, which
  ``tf.strings.to_hash_bucket_strong(key=[k0, k1])`` reduces modulo the number of buckets
  (the ``salt`` of Keras's layers).

Both take ``bytes`` and return an unsigned 64-bit ``int``. All arithmetic is modulo 2**64.
Strings repeat a lot in categorical data, so ``fingerprint64`` keeps a bounded cache.
"""

from __future__ import annotations

import functools
import struct

__all__ = ["fingerprint64", "siphash64"]

_MASK = (1 << 64) - 1
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F


def _rotr(value: int, shift: int) -> int:
    """Rotate a 64-bit word right by ``shift`` bits."""
    return ((value >> shift) | (value << (64 - shift))) & _MASK


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK


def _u64(data: bytes, at: int) -> int:
    return struct.unpack_from("<Q", data, at)[0]


def _u32(data: bytes, at: int) -> int:
    return struct.unpack_from("<I", data, at)[0]


def _shift_mix(value: int) -> int:
    return value ^ (value >> 47)


def _mix16(u: int, v: int, mul: int) -> int:
    """FarmHash's ``HashLen16(u, v, mul)``: two words folded into one."""
    a = ((u ^ v) * mul) & _MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & _MASK
    b ^= b >> 47
    return (b * mul) & _MASK


def _short(data: bytes) -> int:
    """Inputs of 0 to 16 bytes."""
    n = len(data)
    if n >= 8:
        mul = _K2 + n * 2
        a = (_u64(data, 0) + _K2) & _MASK
        b = _u64(data, n - 8)
        c = (_rotr(b, 37) * mul + a) & _MASK
        d = ((_rotr(a, 25) + b) * mul) & _MASK
        return _mix16(c, d, mul)
    if n >= 4:
        mul = _K2 + n * 2
        return _mix16((n + (_u32(data, 0) << 3)) & _MASK, _u32(data, n - 4), mul)
    if n > 0:
        y = data[0] + (data[n >> 1] << 8)
        z = n + (data[n - 1] << 2)
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _MASK) * _K2) & _MASK
    return _K2


def _ends(data: bytes, factor: int) -> tuple[int, int, int, int]:
    """What the 17-32 and 33-64 byte cases share: ``(mul, a, first, second)`` from the first 16
    and last 16 bytes, ``first``/``second`` being the words they fold together."""
    n = len(data)
    mul = _K2 + n * 2
    a = (_u64(data, 0) * factor) & _MASK
    b = _u64(data, 8)
    c = (_u64(data, n - 8) * mul) & _MASK
    d = (_u64(data, n - 16) * _K2) & _MASK
    first = (_rotr((a + b) & _MASK, 43) + _rotr(c, 30) + d) & _MASK
    return mul, a, first, (a + _rotr((b + _K2) & _MASK, 18) + c) & _MASK


def _medium(data: bytes) -> int:
    """Inputs of 17 to 32 bytes."""
    mul, _, first, second = _ends(data, _K1)
    return _mix16(first, second, mul)


def _long(data: bytes) -> int:
    """Inputs of 33 to 64 bytes: the 17-32 byte fold, then the middle 32 bytes."""
    n = len(data)
    mul, a, y, second = _ends(data, _K2)
    z = _mix16(y, second, mul)
    e = (_u64(data, 16) * mul) & _MASK
    f = _u64(data, 24)
    g = ((y + _u64(data, n - 32)) * mul) & _MASK
    h = ((z + _u64(data, n - 24)) * mul) & _MASK
    return _mix16((_rotr((e + f) & _MASK, 43) + _rotr(g, 30) + h) & _MASK,
                  (e + _rotr((f + a) & _MASK, 18) + g) & _MASK, mul)


def _weak32(data: bytes, at: int, a: int, b: int) -> tuple[int, int]:
    """FarmHash's ``WeakHashLen32WithSeeds`` over the 32 bytes at ``at``."""
    w, x, y, z = (_u64(data, at + 8 * i) for i in range(4))
    a = (a + w) & _MASK
    b = _rotr((b + a + z) & _MASK, 21)
    c = a
    a = (a + x + y) & _MASK
    b = (b + _rotr(a, 44)) & _MASK
    return (a + z) & _MASK, (b + c) & _MASK


def _chunk(data: bytes, at: int, state: list[int], mul: int, last: bool) -> None:
    """One 64-byte round of the long-input loop; ``state`` is ``[x, y, z, v0, v1, w0, w1]``."""
    x, y, z, v0, v1, w0, w1 = state
    x = (_rotr((x + y + v0 + _u64(data, at + 8)) & _MASK, 37) * mul) & _MASK
    y = (_rotr((y + v1 + _u64(data, at + 48)) & _MASK, 42) * mul) & _MASK
    x ^= (w1 * 9) & _MASK if last else w1
    y = (y + (v0 * 9 if last else v0) + _u64(data, at + 40)) & _MASK
    z = (_rotr((z + w0) & _MASK, 33) * mul) & _MASK
    v0, v1 = _weak32(data, at, (v1 * mul) & _MASK, (x + w0) & _MASK)
    w0, w1 = _weak32(data, at + 32, (z + w1) & _MASK, (y + _u64(data, at + 16)) & _MASK)
    state[:] = [z, y, x, v0, v1, w0, w1]  # x and z trade places after every round


def _very_long(data: bytes) -> int:
    """Inputs over 64 bytes: 64-byte rounds, then one round over the last 64 bytes."""
    n = len(data)
    seed = 81
    y = (seed * _K1 + 113) & _MASK
    z = (_shift_mix((y * _K2 + 113) & _MASK) * _K2) & _MASK
    x = (seed * _K2 + _u64(data, 0)) & _MASK
    state = [x, y, z, 0, 0, 0, 0]
    end = ((n - 1) // 64) * 64
    for at in range(0, end, 64):
        _chunk(data, at, state, _K1, last=False)
    mul = _K1 + ((state[2] & 0xFF) << 1)
    tail = (n - 1) & 63
    w0 = (state[5] + tail) & _MASK
    v0 = (state[3] + w0) & _MASK
    state[3], state[5] = v0, (w0 + v0) & _MASK
    _chunk(data, end + tail - 63, state, mul, last=True)
    x, y, z, v0, v1, w0, w1 = state
    return _mix16((_mix16(v0, w0, mul) + _shift_mix(y) * _K0 + z) & _MASK,
                  (_mix16(v1, w1, mul) + x) & _MASK, mul)


@functools.lru_cache(maxsize=1 << 16)
def fingerprint64(data: bytes) -> int:
    """FarmHash ``Fingerprint64`` of ``data`` (TensorFlow's ``Fingerprint64``)."""
    n = len(data)
    if n <= 16:
        return _short(data)
    if n <= 32:
        return _medium(data)
    if n <= 64:
        return _long(data)
    return _very_long(data)


def _sip_round(v: list[int]) -> None:
    v0, v1, v2, v3 = v
    v0 = (v0 + v1) & _MASK
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & _MASK
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & _MASK
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & _MASK
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    v[:] = [v0, v1, v2, v3]


def siphash64(key0: int, key1: int, data: bytes) -> int:
    """SipHash-2-4 of ``data`` under the key ``(key0, key1)`` (two unsigned 64-bit words)."""
    k0, k1 = key0 & _MASK, key1 & _MASK
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]
    full = len(data) - len(data) % 8
    last = data[full:] + bytes(7 - len(data) % 8) + bytes([len(data) & 0xFF])
    for word in struct.unpack(f"<{full // 8 + 1}Q", data[:full] + last):
        v[3] ^= word
        _sip_round(v)
        _sip_round(v)
        v[0] ^= word
    v[2] ^= 0xFF
    for _ in range(4):
        _sip_round(v)
    return v[0] ^ v[1] ^ v[2] ^ v[3]
