"""``initium.random_device``: Philox4x64-10 computed on the device gives numpy's bits and the CPU's
values. The Triton kernel runs here under Triton's interpreter (``TRITON_INTERPRET=1``) on CPU
tensors; the torch fallback runs on the CPU device. 56 (seed, stream, offset, size) cases for the
bits, including counters that carry across the 64-bit boundary; every transform and dtype for the
values, compared bit for bit with ``initium.random``'s CPU path."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest
import torch

from initium import random as R
from initium import random_device as RD

HAVE_TRITON = RD._triton() is not None


@pytest.fixture(scope="module", autouse=True)
def triton_interpreter():
    """Run the Triton kernel under Triton's interpreter for this module, whatever imported the kernel
    module before (Triton decides compiled vs interpreted when the kernel is decorated)."""
    if not HAVE_TRITON:
        yield
        return
    saved = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    importlib.reload(RD._triton())
    yield
    if saved is None:
        del os.environ["TRITON_INTERPRET"]
    else:
        os.environ["TRITON_INTERPRET"] = saved
    importlib.reload(RD._triton())
BACKENDS = ["torch", pytest.param("triton", marks=pytest.mark.skipif(not HAVE_TRITON, reason="the `gpu` extra "
                                                                       "(Triton) is not installed"))]

_rng = np.random.default_rng(2026)
BIT_CASES = (
    [((0, 0), 0, 1), ((0, 0), 0, 4), ((1, 0), 0, 9), ((2**64 - 1, 2**64 - 1), 0, 17)]
    + [((int(_rng.integers(0, 2**63)), int(_rng.integers(0, 1000))), int(_rng.integers(0, 10**6)),
        int(_rng.integers(1, 3000))) for _ in range(44)]
    # counters whose low word wraps into the high word inside the draw
    + [((7, 3), 2**64 - k, 4 * k + 5) for k in (1, 2, 3, 4)]
    + [((11, 0), 2**64 - 1 + 2**64 * h, 12) for h in (0, 1, 5, 2**63)]
)


def _numpy_words(key, first_block, n):
    gen = np.random.Philox(key=np.array(key, dtype=np.uint64), counter=(first_block - 1) % (1 << 256))
    return gen.random_raw(n).view(np.int64)


def test_there_are_at_least_fifty_bit_cases():
    assert len(BIT_CASES) >= 50


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key,first_block,n", BIT_CASES)
def test_words_equal_numpys_philox(backend, key, first_block, n):
    ours = RD.philox_words(n, key, first_block, device="cpu", backend=backend)
    assert ours.dtype == torch.int64 and ours.shape == (n,)
    np.testing.assert_array_equal(ours.numpy(), _numpy_words(key, first_block, n))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["uniform", "normal", "truncated_normal"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,a,b", [(1, 0.0, 1.0), (2, 0.0, 1.0), (2049, 0.5, 2.0), (5000, -1.0, 0.05), (3, 3.0, 0.0)])
def test_values_equal_the_cpu_path_bit_for_bit(backend, kind, dtype, n, a, b):
    key = (987654321, 42)
    ours = RD.fill(n, key, kind, dtype, a, b, "cpu", backend=backend)
    expected = R._standard(n, key, kind, dtype, a, b)
    assert ours.dtype == dtype and ours.shape == (n,)
    # Bit for bit: on the CPU device even float64 normals use the same erfinv (on CUDA they may differ by an ulp).
    assert torch.equal(ours.view(torch.int64 if dtype == torch.float64 else torch.int32),
                       expected.view(torch.int64 if dtype == torch.float64 else torch.int32))


def test_the_table_holds_the_cpu_erfinv_of_every_grid_point():
    table = RD._table("normal", torch.device("cpu"))
    assert table.shape == (1 << 23,) and table.dtype == torch.float32
    m = torch.tensor([0, 1, 12345, (1 << 22), (1 << 23) - 1])
    t = ((2 * m.double() + 1) * 2.0 ** -23 - 1).float()
    assert torch.equal(table[m], torch.erfinv(t))
    assert table[0] < -3.5 and table[-1] > 3.5 and torch.equal(table, -table.flip(0))  # symmetric grid
    trunc = RD._table("truncated_normal", torch.device("cpu"))
    assert float(trunc.abs().max()) <= 2 ** 0.5


def test_initium_random_on_the_meta_device_gives_shapes_without_drawing():
    g = R.SeedGenerator(3)
    out = R.normal((4, 5), seed=g, device="meta", dtype="float16")
    assert out.device.type == "meta" and out.shape == (4, 5) and out.dtype == torch.float16
    assert g.state == (3, 0)  # no key consumed by a shape-only draw


def test_counter_range_is_checked():
    with pytest.raises(ValueError, match="below 2\\*\\*128"):
        RD.philox_words(8, (1, 1), 2**128 - 1)
    with pytest.raises(ValueError, match="kind"):
        RD.fill(4, (1, 1), "gamma", torch.float32, 0.0, 1.0, "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("kind", ["uniform", "normal", "truncated_normal"])
def test_cuda_values_equal_cpu_values(kind):
    key = (5, 9)
    gpu = RD.fill(1 << 20, key, kind, torch.float32, 0.25, 1.5, "cuda")
    assert torch.equal(gpu.cpu(), R._standard(1 << 20, key, kind, torch.float32, 0.25, 1.5))
