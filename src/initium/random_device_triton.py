"""The Triton kernel behind ``initium.random_device`` (imported only when Triton is installed and a
draw runs on a device that uses it). See ``initium.random_device`` for what it computes."""

import triton
import triton.language as tl

__all__ = ["philox_block", "kernel"]


@triton.jit
def philox_block(c0, c1, k0, k1):
    c2 = tl.full(c0.shape, 0, tl.uint64)
    c3 = tl.full(c0.shape, 0, tl.uint64)
    for _ in tl.static_range(10):
        m0 = tl.full(c0.shape, 0xD2E7470EE14C6C93, tl.uint64)
        m1 = tl.full(c0.shape, 0xCA5A826395121157, tl.uint64)
        hi0 = tl.umulhi(m0, c0)
        lo0 = m0 * c0
        hi1 = tl.umulhi(m1, c2)
        lo1 = m1 * c2
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = k0 + 0x9E3779B97F4A7C15
        k1 = k1 + 0xBB67AE8584CAA73B
    return c0, c1, c2, c3

@triton.jit
def kernel(out_ptr, table_ptr, n, k0_in, k1_in, start_lo, start_hi, scale, shift, upper,
           KIND: tl.constexpr, WIDE: tl.constexpr, RAW: tl.constexpr, SHIFT: tl.constexpr,
           CLAMP: tl.constexpr, RN: tl.constexpr, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    j = (pid * BLOCK + tl.arange(0, BLOCK)).to(tl.uint64)
    lo = j + start_lo.to(tl.uint64)
    hi = tl.full(lo.shape, 0, tl.uint64) + start_hi.to(tl.uint64) + (lo < j).to(tl.uint64)
    k0 = tl.full(lo.shape, 0, tl.uint64) + k0_in.to(tl.uint64)
    k1 = tl.full(lo.shape, 0, tl.uint64) + k1_in.to(tl.uint64)
    w0, w1, w2, w3 = philox_block(lo, hi, k0, k1)
    words = tl.reshape(tl.join(tl.join(w0, w2), tl.join(w1, w3)), (BLOCK * 4,))  # w0, w1, w2, w3 per block
    base = pid.to(tl.int64) * BLOCK * 4
    if RAW:
        idx = base + tl.arange(0, BLOCK * 4)
        tl.store(out_ptr + idx, words.to(tl.int64, bitcast=True), mask=idx < n)
        return
    if WIDE:
        bits = words & 0xFFFFFFFFFFFFF
        idx = base + tl.arange(0, BLOCK * 4)
    else:
        low = (words & 0xFFFFFFFF).to(tl.uint32)
        high = (words >> 32).to(tl.uint32)
        bits = tl.reshape(tl.join(low, high), (BLOCK * 8,)) & 0x7FFFFF
        idx = base * 2 + tl.arange(0, BLOCK * 8)
    mask = idx < n
    if KIND == 0:  # uniform: exact u in [0, 1), then u * scale + shift, clamped below the top
        if WIDE:
            x = (bits | 0x3FF0000000000000).to(tl.float64, bitcast=True) - 1.0
        else:
            x = (bits | 0x3F800000).to(tl.float32, bitcast=True) - 1.0
    else:  # normal / truncated normal, float32: erfinv of the grid point, from the CPU's table
        x = tl.load(table_ptr + bits.to(tl.int32), mask=mask, other=0.0)
    if RN:  # round-to-nearest intrinsics: never fused into an FMA, so two roundings as on the CPU
        x = tl.extra.cuda.libdevice.mul_rn(x, scale)
        if SHIFT:
            x = tl.extra.cuda.libdevice.add_rn(x, shift)
    else:
        x = x * scale
        if SHIFT:
            x = x + shift
    if CLAMP:
        x = tl.minimum(x, upper)
    tl.store(out_ptr + idx, x, mask=mask)
