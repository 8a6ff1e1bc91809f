"""initium.random: the generator's bits, the documented transform, seeds, and the helpers."""

import math
import random as pyrandom

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

import initium
from initium import random as R

# --- a reference Philox4x64-10 in plain Python (Salmon et al. 2011; Random123 philox.h) ---------
M0, M1 = 0xD2E7470EE14C6C93, 0xCA5A826395121157
W0, W1 = 0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B
MASK = (1 << 64) - 1


def philox4x64_10(counter, key):
    c, k = list(counter), list(key)
    for _ in range(10):
        p0, p1 = M0 * c[0], M1 * c[2]
        c = [(p1 >> 64) ^ c[1] ^ k[0], p1 & MASK, (p0 >> 64) ^ c[3] ^ k[1], p0 & MASK]
        k = [(k[0] + W0) & MASK, (k[1] + W1) & MASK]
    return c


def reference_words(seed, stream, n):
    """The first n 64-bit words of the stream keyed (seed, stream): block j = philox(j)."""
    out = []
    j = 0
    while len(out) < n:
        out.extend(philox4x64_10([j, 0, 0, 0], [seed & MASK, stream]))
        j += 1
    return np.array(out[:n], dtype=np.uint64)


def test_known_answer_vector():
    # Random123 kat_vectors: philox4x64 10 rounds, counter 0, key 0.
    assert [hex(w) for w in philox4x64_10([0, 0, 0, 0], [0, 0])] == [
        "0x16554d9eca36314c", "0xdb20fe9d672d0fdc", "0xd7e772cee186176b", "0x7e68b68aec7ba23b"]
    assert list(R.random_bits(4, seed=0)) == philox4x64_10([0, 0, 0, 0], [0, 0])


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**63 + 5, -1])
def test_bits_match_reference_philox(seed):
    np.testing.assert_array_equal(R.random_bits(37, seed=seed), reference_words(seed, 0, 37))


def test_seed_generator_streams_are_keyed_by_call_count():
    g = R.SeedGenerator(9)
    first, second = R.random_bits(8, seed=g), R.random_bits(8, seed=g)
    np.testing.assert_array_equal(first, reference_words(9, 0, 8))
    np.testing.assert_array_equal(second, reference_words(9, 1, 8))


def test_parallel_chunks_equal_one_sequential_stream(monkeypatch):
    n = (1 << 20) * 2 + 13  # more than two chunks, with a ragged tail
    big = R.random_bits(n, seed=3)
    sequential = np.random.Philox(key=[3, 0], counter=(1 << 256) - 1).random_raw(n)
    np.testing.assert_array_equal(big, sequential)
    monkeypatch.setattr(R, "_CHUNK_WORDS", 1 << 12)  # many small chunks: same bits, same values
    np.testing.assert_array_equal(R.random_bits(n, seed=3), sequential)
    a = R.truncated_normal((1000, 523), seed=4)
    monkeypatch.setattr(R, "_CHUNK_WORDS", 1 << 20)
    assert torch.equal(a, R.truncated_normal((1000, 523), seed=4))


def _words32(seed, n):
    w = R.random_bits((n + 1) // 2, seed=seed)
    return w.view(np.uint32)[:n].astype(np.int64)  # little-endian: low half first


def test_uniform_follows_documented_transform_exactly():
    n = 1001
    m = _words32(11, n) & ((1 << 23) - 1)
    u = m.astype(np.float64) * 2.0**-23
    x = R.uniform((n,), seed=11).numpy()
    np.testing.assert_array_equal(x, u.astype(np.float32))  # exact for [0, 1)
    lo, hi = np.float32(-0.25), np.float32(0.75)
    expected = (u.astype(np.float32) * (hi - lo) + lo).astype(np.float32)
    np.testing.assert_array_equal(R.uniform((n,), -0.25, 0.75, seed=11).numpy(), expected)


def test_normal_and_truncated_follow_documented_transform():
    n = 4001
    m = _words32(5, n) & ((1 << 23) - 1)
    t = (2 * m + 1) * 2.0**-23 - 1
    z = math.sqrt(2) * scipy.special.erfinv(t)
    np.testing.assert_allclose(R.normal((n,), seed=5).numpy(), z, rtol=2e-6, atol=2e-6)
    zt = math.sqrt(2) * scipy.special.erfinv(t * math.erf(math.sqrt(2)))
    np.testing.assert_allclose(R.truncated_normal((n,), seed=5).numpy(), zt, rtol=2e-6, atol=2e-6)
    w = R.random_bits(n, seed=5).astype(object)
    t64 = np.array([(2 * (int(x) & ((1 << 52) - 1)) + 1) * 2.0**-52 - 1 for x in w])
    np.testing.assert_allclose(R.normal((n,), seed=5, dtype="float64").numpy(),
                               math.sqrt(2) * scipy.special.erfinv(t64), rtol=1e-12, atol=1e-12)


def test_prefix_property_and_shape_independence():
    a = R.uniform((10000,), seed=2)
    assert torch.equal(a[:77], R.uniform((77,), seed=2))
    assert torch.equal(a.reshape(100, 100), R.uniform((100, 100), seed=2))


def test_uniform_stays_below_maxval_and_above_minval():
    x = R.uniform((1 << 20,), minval=1.0, maxval=1.0 + 2**-20, seed=0)
    assert float(x.min()) >= 1.0 and float(x.max()) < 1.0 + 2**-20
    assert torch.equal(R.uniform((3,), 2.0, 2.0, seed=0), torch.full((3,), 2.0))


def test_truncated_normal_is_exactly_truncated_with_the_right_std():
    n = 1_000_000
    x = R.truncated_normal((n,), mean=1.0, stddev=0.5, seed=8).double()
    assert float(x.min()) >= 1.0 - 1.0 and float(x.max()) <= 1.0 + 1.0
    # sample std of a truncated normal: SE of the variance ~ sqrt((kurt - 1) / n) * var
    kurt = scipy.stats.truncnorm(-2, 2).stats(moments="k") + 3
    se = math.sqrt((kurt - 1) / n)
    var = float(x.var())
    assert abs(var / (0.5 * R.TRUNCATED_NORMAL_STD) ** 2 - 1) < 6 * se
    assert scipy.stats.kstest(((x - 1) / 0.5).numpy()[:20000], scipy.stats.truncnorm(-2, 2).cdf).pvalue > 1e-4


def test_truncated_normal_std_constant_against_scipy():
    assert R.TRUNCATED_NORMAL_STD == pytest.approx(scipy.stats.truncnorm(-2, 2).std(), abs=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_is_normal(dtype):
    n = 200_000
    x = R.normal((n,), mean=-3.0, stddev=2.0, dtype=dtype, seed=21).double()
    assert abs(float(x.mean()) + 3.0) < 6 * 2.0 / math.sqrt(n)
    assert abs(float(x.var()) / 4.0 - 1) < 6 * math.sqrt(2 / (n - 1))
    assert scipy.stats.kstest(((x + 3) / 2).numpy()[:20000], "norm").pvalue > 1e-4
    # negative control: a uniform of the same variance fails the same KS test
    u = R.uniform((20000,), -math.sqrt(3), math.sqrt(3), seed=21).double().numpy()
    assert scipy.stats.kstest(u, "norm").pvalue < 1e-4


def test_uniform_is_uniform():
    n = 200_000
    x = R.uniform((n,), minval=-1.0, maxval=3.0, seed=22).double()
    assert abs(float(x.mean()) - 1.0) < 6 * (4 / math.sqrt(12)) / math.sqrt(n)
    assert abs(float(x.var()) / (16 / 12) - 1) < 6 * math.sqrt(0.8 / n)
    assert scipy.stats.kstest(x.numpy()[:20000], scipy.stats.uniform(-1, 4).cdf).pvalue > 1e-4


@pytest.mark.parametrize("dtype,torch_dtype", [("float16", torch.float16), ("bfloat16", torch.bfloat16),
                                               ("float64", torch.float64), (torch.float32, torch.float32)])
def test_dtypes(dtype, torch_dtype):
    for fn in (R.normal, R.uniform, R.truncated_normal):
        x = fn((64, 3), dtype=dtype, seed=1)
        assert x.dtype == torch_dtype and x.shape == (64, 3)


def test_half_precision_is_rounded_float32():
    assert torch.equal(R.normal((100,), dtype="bfloat16", seed=3), R.normal((100,), seed=3).to(torch.bfloat16))


def test_shapes_scalar_and_empty():
    assert R.normal((), seed=1).shape == ()
    assert R.normal((), seed=1) == R.normal((1,), seed=1)[0]
    assert R.uniform((0, 5), seed=1).shape == (0, 5)
    assert R.normal(7, seed=1).shape == (7,)


def test_seed_semantics():
    assert torch.equal(R.normal((5,), seed=3), R.normal((5,), seed=3))
    assert not torch.equal(R.normal((5,), seed=3), R.normal((5,), seed=4))
    assert not torch.equal(R.normal((5,)), R.normal((5,)))
    g = R.SeedGenerator(5)
    a, b = R.normal((5,), seed=g), R.normal((5,), seed=g)
    assert not torch.equal(a, b)
    assert torch.equal(a, R.normal((5,), seed=5))  # call 0 of SeedGenerator(s) is seed s, as in Keras
    g2 = R.SeedGenerator(5)
    assert torch.equal(R.normal((5,), seed=g2), a) and torch.equal(R.normal((5,), seed=g2), b)
    assert torch.equal(R.normal((5,), seed=np.int64(3)), R.normal((5,), seed=3))


def test_set_random_seed_reproduces_everything():
    R.set_random_seed(123)
    first = (R.normal((4,)), R.normal((4,)), np.random.rand(), pyrandom.random(), torch.rand(1))
    R.set_random_seed(123)
    again = (R.normal((4,)), R.normal((4,)), np.random.rand(), pyrandom.random(), torch.rand(1))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], first[1])
    assert first[2] == again[2] and first[3] == again[3] and torch.equal(first[4], again[4])
    assert R.global_seed() == 123
    assert initium.utils.set_random_seed is R.set_random_seed


@pytest.mark.parametrize("bad", [1.5, "7", [1], True])
def test_bad_seed_messages(bad):
    with pytest.raises(ValueError, match=r"`seed` argument should be None, an integer or an `initium.random.SeedGenerator`. Received: seed="):
        R.normal((2,), seed=bad)


def test_argument_errors():
    with pytest.raises(ValueError, match=r"initium.random.normal: `dtype` must be a float dtype .* Received: dtype=int32. For integers use initium.random.randint"):
        R.normal((2,), dtype="int32")
    with pytest.raises(ValueError, match=r"`minval` must be <= `maxval`. Received: minval=1, maxval=0"):
        R.uniform((2,), 1, 0)
    with pytest.raises(ValueError, match=r"`stddev` must be >= 0. Received: stddev=-1"):
        R.normal((2,), stddev=-1)
    with pytest.raises(ValueError, match=r"`shape` must be a tuple of non-negative integers. Received: shape=\(2, -1\)"):
        R.normal((2, -1))
    with pytest.raises(ValueError, match=r"Unsupported dtype: 'float8'"):
        R.normal((2,), dtype="float8")
    with pytest.raises(ValueError, match=r"`seed` must be a non-negative integer. Received: seed=-3"):
        R.set_random_seed(-3)
    with pytest.raises(ValueError, match="parameters must be finite"):
        R.normal((2,), mean=float("nan"))


def test_randint():
    x = R.randint((10000,), 3, 9, seed=1)
    assert x.dtype == torch.int32 and int(x.min()) == 3 and int(x.max()) == 8
    assert torch.equal(x, R.randint((10000,), 3, 9, seed=1))
    counts = torch.bincount(x.long() - 3, minlength=6).double()
    assert float(counts.min()) > 10000 / 6 - 6 * math.sqrt(10000 * (1 / 6) * (5 / 6))
    assert R.randint((2,), 0, 5, dtype="int64").dtype == torch.int64
    with pytest.raises(ValueError, match=r"`minval` must be < `maxval`. Received: minval=5, maxval=5"):
        R.randint((2,), 5, 5)
    with pytest.raises(ValueError, match=r"`dtype` must be an integer dtype. Received: dtype=float32"):
        R.randint((2,), 0, 5, dtype="float32")


def test_shuffle():
    x = torch.arange(1000).reshape(100, 10)
    y = R.shuffle(x, seed=1)
    assert not torch.equal(x, y)
    assert torch.equal(torch.sort(y[:, 0]).values, x[:, 0]) and torch.equal(y[:, 1] - y[:, 0], torch.ones(100, dtype=torch.long))
    assert torch.equal(y, R.shuffle(x, seed=1))
    z = R.shuffle(x, axis=1, seed=2)
    assert torch.equal(torch.sort(z, dim=1).values, x)
    with pytest.raises(ValueError, match="out of range for an input of rank 2"):
        R.shuffle(x, axis=2)


def test_dropout():
    x = torch.ones(200_000)
    y = R.dropout(x, 0.3, seed=1)
    kept = float((y != 0).double().mean())
    assert abs(kept - 0.7) < 6 * math.sqrt(0.21 / 200_000)
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / 0.7))
    m = R.dropout(torch.ones(50, 8), 0.5, noise_shape=(1, 8), seed=2)
    assert torch.equal(m, m[:1].expand(50, 8))  # one mask row broadcast over the batch
    assert torch.equal(R.dropout(x, 0.0), x)
    with pytest.raises(ValueError, match=r"`rate` must be in \[0, 1\). Received: rate=1.0"):
        R.dropout(x, 1.0)


def test_seed_generator_config_and_errors():
    g = R.SeedGenerator(4, name="g")
    assert g.get_config() == {"seed": 4, "name": "g"}
    assert R.SeedGenerator.from_config(g.get_config()).seed == 4
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        R.SeedGenerator(seed=1, stat=2)
    assert R.GENERATOR == "philox4x64-10" and R.RNG_INFO["transform_version"] == R.TRANSFORM_VERSION


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_same_values_on_cpu_and_cuda():
    for fn in (R.uniform, R.normal, R.truncated_normal):
        cpu = fn((513, 1025), seed=17, device="cpu")
        gpu = fn((513, 1025), seed=17, device="cuda")
        assert gpu.device.type == "cuda"
        assert torch.equal(cpu, gpu.cpu())
