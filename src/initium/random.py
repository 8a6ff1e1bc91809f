"""Random numbers that one seed reproduces on any machine and any device.

The generator
    Philox4x64-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the
    counter-based generator of Random123; numpy ships it as ``numpy.random.Philox``. A draw is keyed
    by ``(seed, stream)``, two 64-bit words, and block ``j`` of its bits is Philox applied to the
    counter ``j``. Nothing depends on thread count, chunking or device: the bits of element ``i``
    are a pure function of ``(seed, stream, i)``. (cuRAND's Philox is the 4x32 variant; the issue
    that asked for this module named 4x32 believing numpy used it, which it does not. 4x64 is what
    numpy implements in C, so the CPU path is fast and the bits are checked against the Random123
    known-answer vector in the tests.)

Bits to values (``TRANSFORM_VERSION`` 1). Each 64-bit word gives two 32-bit words, low half first;
float32 uses one 32-bit word per value, float64 one 64-bit word. With ``m`` the low 23 bits of the
word (52 for float64), placed as the mantissa of a float in [1, 2) or [2, 4) (no integer-to-float
conversion, so every step is exact and cheap), and ``eps`` = 2**-23 (2**-52):

- uniform:          ``u = m * eps`` in [0, 1), exact; ``x = minval + u * (maxval - minval)``,
  and a value that rounds up to ``maxval`` is set to the float just below it, so ``x < maxval``.
- normal:           ``t = (2 m + 1) eps - 1``, an exact, symmetric grid inside (-1, 1);
  ``z = sqrt(2) * erfinv(t)`` (inverse CDF); ``x = mean + stddev * z``. float32 tails reach
  about 5.2 standard deviations (8.1 in float64).
- truncated normal: the same ``t`` scaled by ``erf(sqrt(2))``, so that ``z`` is the inverse CDF of
  the normal restricted to [-2, 2]: exact truncation, no resampling, every value within
  ``mean +- 2 stddev``. Its standard deviation is ``TRUNCATED_NORMAL_STD`` * ``stddev``.

float16 and bfloat16 values are computed in float32 and rounded. On the CPU numpy fills the bits
from several threads and torch does the arithmetic; on any other device ``initium.random_device``
computes the same bits and the same values there, in one pass (a Triton kernel on CUDA, torch ops
elsewhere), so CPU and GPU get identical values (float64 normals: within an ulp).

Seeds
    ``seed=None`` draws from the global ``SeedGenerator`` (fresh values every call);
    an ``int`` gives the same values on every call; a ``SeedGenerator`` gives fresh values on every
    call and a reproducible sequence. ``set_random_seed`` resets the global generator and seeds
    Python, numpy and torch too.
"""

from __future__ import annotations

import math
import numbers
import os
import random as _pyrandom
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import numpy as np
import torch

from initium import backend

__all__ = [
    "GENERATOR",
    "TRANSFORM_VERSION",
    "RNG_INFO",
    "TRUNCATED_NORMAL_STD",
    "SeedGenerator",
    "normal",
    "uniform",
    "truncated_normal",
    "randint",
    "shuffle",
    "dropout",
    "categorical",
    "gamma",
    "beta",
    "binomial",
    "set_random_seed",
    "global_seed",
    "random_bits",
    "record_keys",
    "replay_keys",
    "seed_scope",
]

GENERATOR = "philox4x64-10"
TRANSFORM_VERSION = 1
RNG_INFO = {"generator": GENERATOR, "transform_version": TRANSFORM_VERSION}

# Standard deviation of a unit normal truncated to [-2, 2]:
#   sqrt(1 - 2 * 2 * phi(2) / (Phi(2) - Phi(-2)))  with phi, Phi the normal pdf and cdf.
# Keras writes this constant bare; it is tested against scipy.stats.truncnorm(-2, 2).std().
TRUNCATED_NORMAL_STD = 0.87962566103423978

_MASK64 = (1 << 64) - 1
_SQRT2 = math.sqrt(2.0)
_ERF_SQRT2 = math.erf(_SQRT2)  # P(|Z| < 2) for a unit normal
_CHUNK_WORDS = 1 << 20  # 64-bit words per work item: 8 MiB of bits, 2 Mi float32 values
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _check_seed_value(seed: Any, what: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(
            f"`{what}` argument should be None, an integer or an `initium.random.SeedGenerator`. "
            f"Received: {what}={seed!r} (of type {type(seed).__name__})"
        )
    return int(seed)


class SeedGenerator:
    """A seed that advances: every draw made with it gets a new stream.

    Args:
        seed: an integer, or None to draw one from Python's ``random`` (which
            ``set_random_seed`` seeds).
        name: a name, for Keras compatibility of configs.

    >>> g = SeedGenerator(7)
    >>> a, b = normal((2,), seed=g), normal((2,), seed=g)   # different values
    >>> c = normal((2,), seed=SeedGenerator(7))              # equal to a
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        if kwargs:
            unknown = ", ".join(sorted(kwargs))
            raise TypeError(f"SeedGenerator got unexpected keyword argument(s): {unknown}")
        if seed is None:
            seed = _pyrandom.getrandbits(63)
        self.seed = _check_seed_value(seed)
        self.name = name or "seed_generator"
        self._calls = 0
        self._lock = threading.Lock()

    @property
    def state(self) -> tuple[int, int]:
        """``(seed, calls)``: the key the next draw will use is ``(seed, calls)``."""
        return (self.seed, self._calls)

    def next(self) -> tuple[int, int]:
        """Return the Philox key ``(seed, stream)`` for one draw and advance."""
        with self._lock:
            key = (self.seed & _MASK64, self._calls)
            self._calls += 1
        return key

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "SeedGenerator":
        return cls(**config)

    def __repr__(self) -> str:
        return f"SeedGenerator(seed={self.seed}, calls={self._calls})"


_global_generator: SeedGenerator | None = None
_global_seed: int | None = None


def _global() -> SeedGenerator:
    global _global_generator, _global_seed
    if _global_generator is None:
        _global_seed = _pyrandom.getrandbits(63)
        _global_generator = SeedGenerator(_global_seed, name="global_seed_generator")
    return _global_generator


def global_seed() -> int:
    """The seed of the global stream (set by ``set_random_seed``, else drawn at first use)."""
    _global()
    assert _global_seed is not None
    return _global_seed


def set_random_seed(seed: int) -> None:
    """Seed initium's global stream, and Python's ``random``, numpy and torch, as Keras does."""
    global _global_generator, _global_seed
    seed = _check_seed_value(seed)
    if seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed}")
    _pyrandom.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)
    _global_seed = seed
    _global_generator = SeedGenerator(seed, name="global_seed_generator")


_tls = threading.local()


def draw_key(seed: Any) -> tuple[int, int]:
    """The Philox key for one draw with ``seed`` (None, int or SeedGenerator).

    Inside ``record_keys()`` every key handed out is also appended to the recorder; inside
    ``replay_keys(keys)`` the recorded keys are handed out again, in order, whatever the seed.
    """
    replay = getattr(_tls, "replay", None)
    if replay:
        key = replay.pop(0)
    elif seed is None:
        key = getattr(_tls, "scope", None).next() if getattr(_tls, "scope", None) else _global().next()
    elif isinstance(seed, SeedGenerator):
        key = seed.next()
    else:
        key = (_check_seed_value(seed) & _MASK64, 0)
    for rec in getattr(_tls, "recorders", ()):
        rec.append(key)
    return key


class _Context:
    def __init__(self, enter, exit_):
        self._enter, self._exit = enter, exit_

    def __enter__(self):
        return self._enter()

    def __exit__(self, *exc):
        self._exit()
        return False


def record_keys() -> _Context:
    """``with record_keys() as keys:`` collects the ``(seed, stream)`` key of every draw made."""
    keys: list[tuple[int, int]] = []

    def enter():
        _tls.recorders = getattr(_tls, "recorders", ()) + (keys,)
        return keys

    def exit_():
        _tls.recorders = tuple(r for r in _tls.recorders if r is not keys)

    return _Context(enter, exit_)


def replay_keys(keys: Sequence[tuple[int, int]]) -> _Context:
    """Within the block, draws use ``keys`` in order: re-creates recorded values exactly."""
    saved: list = []

    def enter():
        saved.append(getattr(_tls, "replay", None))
        _tls.replay = [tuple(k) for k in keys]
        return None

    def exit_():
        _tls.replay = saved.pop()

    return _Context(enter, exit_)


def seed_scope(seed: int | SeedGenerator) -> _Context:
    """Within the block, unseeded draws come from ``seed``'s stream instead of the global one."""
    gen = seed if isinstance(seed, SeedGenerator) else SeedGenerator(_check_seed_value(seed))
    saved: list = []

    def enter():
        saved.append(getattr(_tls, "scope", None))
        _tls.scope = gen
        return gen

    def exit_():
        _tls.scope = saved.pop()

    return _Context(enter, exit_)


def _philox(key: tuple[int, int], first_block: int) -> np.random.Philox:
    # numpy's Philox emits block counter+1 first, so start one block early.
    return np.random.Philox(key=np.array(key, dtype=np.uint64), counter=(first_block - 1) % (1 << 256))


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = max(1, min(os.cpu_count() or 1, torch.get_num_threads(), 8))
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="initium-random")
        return _pool


def _run_chunks(nwords: int, work) -> None:
    """Call ``work(lo, hi)`` over [0, nwords) in chunks of 64-bit words, in parallel when large."""
    nchunks = -(-nwords // _CHUNK_WORDS)
    if nchunks <= 1:
        if nwords:
            work(0, nwords)
        return
    pool = _executor()
    nworkers = min(pool._max_workers, nchunks)

    def run(worker: int) -> None:
        for c in range(worker, nchunks, nworkers):
            lo = c * _CHUNK_WORDS
            work(lo, min(nwords, lo + _CHUNK_WORDS))

    for f in [pool.submit(run, w) for w in range(nworkers)]:
        f.result()


def random_bits(n: int, seed: Any = None) -> np.ndarray:
    """``n`` raw 64-bit words of the stream for ``seed`` (for tests and provenance checks)."""
    key = draw_key(seed)
    out = np.empty(n, dtype=np.uint64)

    def work(lo: int, hi: int) -> None:
        out[lo:hi] = _philox(key, lo // 4).random_raw(hi - lo)

    _run_chunks(n, work)
    return out


def _standard(n: int, key: tuple[int, int], kind: str, dtype: torch.dtype, a: float, b: float) -> torch.Tensor:
    """``n`` values of ``kind`` (see the module docstring), then ``x = a + b * z``, on the CPU."""
    out = torch.empty(n, dtype=dtype)
    wide = dtype == torch.float64
    ints = out.view(torch.int64 if wide else torch.int32)
    mbits = 52 if wide else 23
    mantissa = (1 << mbits) - 1
    # Exponent patterns of 1.0 and 2.0: OR-ing mantissa bits into them gives [1, 2) or [2, 4).
    one, two = (0x3FF << 52, 0x400 << 52) if wide else (0x3F800000, 0x40000000)
    nwords = n if wide else (n + 1) // 2
    if kind == "uniform":
        upper = np.nextafter(np.array(a + b, dtype=np.float64 if wide else np.float32), -np.inf)

    def work(lo: int, hi: int) -> None:
        raw = _philox(key, lo // 4).random_raw(hi - lo)
        vals = torch.from_numpy(raw.view(np.int64 if wide else np.int32))
        start = lo if wide else 2 * lo
        seg_i = ints[start : start + min(vals.numel(), n - start)]
        torch.bitwise_and(vals[: seg_i.numel()], mantissa, out=seg_i)
        seg = seg_i.view(dtype)
        if kind == "uniform":
            seg_i.bitwise_or_(one)
            seg.sub_(1.0)  # exact: u = m * 2**-mbits in [0, 1)
            if b != 1.0:
                seg.mul_(b)
            if a != 0.0:
                seg.add_(a)
            if b > 0:
                seg.clamp_(max=float(upper))
            return
        seg_i.bitwise_or_(two)
        seg.sub_(3.0).add_(2.0**-mbits)  # exact: t = (2m + 1) * 2**-mbits - 1, inside (-1, 1)
        if kind == "truncated_normal":
            seg.mul_(_ERF_SQRT2).erfinv_().clamp_(-_SQRT2, _SQRT2)
        else:
            seg.erfinv_()
        seg.mul_(_SQRT2 * b)
        if a != 0.0:
            seg.add_(a)

    _run_chunks(nwords, work)
    return out


def _shape_tuple(shape: Any, what: str = "shape") -> tuple[int, ...]:
    if isinstance(shape, torch.Size):
        return tuple(shape)
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"`{what}` must be a tuple of non-negative integers. Received: {what}={shape!r}") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0:
            raise ValueError(
                f"`{what}` must be a tuple of non-negative integers. Received: {what}={shape!r}"
            )
    return tuple(int(d) for d in dims)


def _draw(shape: Any, kind: str, a: float, b: float, dtype: Any, seed: Any, device: Any, fn: str) -> torch.Tensor:
    dims = _shape_tuple(shape)
    name = backend.standardize_dtype(dtype)
    if name not in backend.FLOAT_DTYPES:
        raise ValueError(
            f"initium.random.{fn}: `dtype` must be a float dtype {list(backend.FLOAT_DTYPES)}. "
            f"Received: dtype={name}. For integers use initium.random.randint."
        )
    for arg, val in (("a", a), ("b", b)):
        if not math.isfinite(val):
            raise ValueError(f"initium.random.{fn}: parameters must be finite. Received: {val}")
    dev = torch.device(device) if device is not None else backend.default_device()
    if dev.type == "meta":  # shapes only (symbolic shape inference): no values, and no key consumed
        return torch.empty(dims, dtype=backend.torch_dtype(name), device=dev)
    key = draw_key(seed)
    compute = torch.float64 if name == "float64" else torch.float32
    n = math.prod(dims)
    if dev.type == "cpu":
        out = _standard(n, key, kind, compute, float(a), float(b))
    else:  # the same values, computed where they will live (initium.random_device)
        from initium import random_device

        out = random_device.fill(n, key, kind, compute, float(a), float(b), dev)
    out = out.reshape(dims)
    target = backend.torch_dtype(name)
    return out if target == compute else out.to(target)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, device=None) -> torch.Tensor:
    """Values from N(mean, stddev**2), by inverse CDF of the Philox bits (module docstring)."""
    if stddev < 0:
        raise ValueError(f"initium.random.normal: `stddev` must be >= 0. Received: stddev={stddev}")
    return _draw(shape, "normal", mean, stddev, dtype, seed, device, "normal")


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, device=None) -> torch.Tensor:
    """Values from N(mean, stddev**2) restricted to mean +- 2 stddev, exactly (no resampling).

    ``stddev`` is the standard deviation *before* truncation, as in Keras; the values' actual
    standard deviation is ``TRUNCATED_NORMAL_STD * stddev`` (about 0.88 stddev).
    """
    if stddev < 0:
        raise ValueError(
            f"initium.random.truncated_normal: `stddev` must be >= 0. Received: stddev={stddev}"
        )
    return _draw(shape, "truncated_normal", mean, stddev, dtype, seed, device, "truncated_normal")


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None, device=None) -> torch.Tensor:
    """Values from U[minval, maxval): ``minval + u * (maxval - minval)`` with 24-bit ``u``."""
    if maxval < minval:
        raise ValueError(
            f"initium.random.uniform: `minval` must be <= `maxval`. "
            f"Received: minval={minval}, maxval={maxval}"
        )
    return _draw(shape, "uniform", minval, maxval - minval, dtype, seed, device, "uniform")


def _numpy_generator(seed: Any) -> np.random.Generator:
    return np.random.Generator(_philox(draw_key(seed), 0))


def randint(shape, minval, maxval, dtype="int32", seed=None, device=None) -> torch.Tensor:
    """Integers uniform in [minval, maxval), from numpy's Generator on the same Philox stream."""
    dims = _shape_tuple(shape)
    name = backend.standardize_dtype(dtype)
    if name in backend.FLOAT_DTYPES or name == "bool":
        raise ValueError(f"initium.random.randint: `dtype` must be an integer dtype. Received: dtype={name}")
    if maxval <= minval:
        raise ValueError(
            f"initium.random.randint: `minval` must be < `maxval`. Received: minval={minval}, maxval={maxval}"
        )
    values = _numpy_generator(seed).integers(minval, maxval, size=dims, dtype=np.int64)
    return backend.to_tensor(values, dtype=name, device=device)


def shuffle(x, axis=0, seed=None) -> torch.Tensor:
    """``x`` with its entries permuted along ``axis`` (a tensor on ``x``'s device)."""
    t = x if isinstance(x, torch.Tensor) else backend.to_tensor(x)
    if t.ndim == 0:
        raise ValueError("initium.random.shuffle: cannot shuffle a scalar (rank 0) input.")
    if not -t.ndim <= axis < t.ndim:
        raise ValueError(
            f"initium.random.shuffle: `axis`={axis} is out of range for an input of rank {t.ndim}."
        )
    perm = _numpy_generator(seed).permutation(t.shape[axis])
    return t.index_select(axis, torch.from_numpy(perm).to(t.device))


def dropout(inputs, rate, noise_shape=None, seed=None) -> torch.Tensor:
    """Zero each entry with probability ``rate`` and scale the rest by ``1 / (1 - rate)``."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"initium.random.dropout: `rate` must be in [0, 1). Received: rate={rate}")
    t = inputs if isinstance(inputs, torch.Tensor) else backend.to_tensor(inputs)
    if rate == 0.0:
        return t
    shape = tuple(t.shape) if noise_shape is None else _shape_tuple(noise_shape, "noise_shape")
    keep = uniform(shape, dtype="float32", seed=seed, device=t.device) >= rate
    return t * keep.to(t.dtype) / (1.0 - rate)


# ---------------------------------------------------------------------- distributions on numpy's samplers
# Keras's categorical / gamma / beta / binomial. Their samplers are numpy's (rejection and inversion
# algorithms that consume a varying number of bits), fed by the same Philox stream as every other
# draw, so one seed gives the same values on every machine and device.
def _params(name: str, fn: str, value: Any, dims: tuple[int, ...]) -> np.ndarray:
    arr = backend.to_numpy(value).astype(np.float64)
    try:
        return np.broadcast_to(arr, dims)
    except ValueError:
        raise ValueError(f"initium.random.{fn}: `{name}` of shape {arr.shape} does not broadcast to shape={dims}.") from None


def _float_result(values: np.ndarray, dtype: Any, fn: str, device: Any) -> torch.Tensor:
    name = backend.standardize_dtype(dtype)
    if name not in backend.FLOAT_DTYPES:
        raise ValueError(f"initium.random.{fn}: `dtype` must be a float dtype {list(backend.FLOAT_DTYPES)}. "
                         f"Received: dtype={name}")
    return backend.to_tensor(values, dtype=name, device=device)


def categorical(logits, num_samples, dtype="int32", seed=None) -> torch.Tensor:
    """``num_samples`` class indices per row of ``logits`` (shape ``(batch, classes)``), drawn with
    probabilities ``softmax(logits)`` (inverse CDF of Philox uniforms)."""
    t = logits if isinstance(logits, torch.Tensor) else backend.to_tensor(logits)
    if t.ndim != 2:
        raise ValueError("`logits` should be a 2-D tensor with shape [batch_size, num_classes]. "
                         f"Received: logits={logits}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or num_samples < 0:
        raise ValueError(f"initium.random.categorical: `num_samples` must be a non-negative integer. "
                         f"Received: num_samples={num_samples!r}")
    name = backend.standardize_dtype(dtype)
    if name in backend.FLOAT_DTYPES or name == "bool":
        raise ValueError(f"initium.random.categorical: `dtype` must be an integer dtype. Received: dtype={name}")
    z = backend.to_numpy(t).astype(np.float64)
    if not np.isfinite(z).any(axis=1).all() or np.isnan(z).any():
        raise ValueError("initium.random.categorical: every row of `logits` needs a finite entry and no NaN.")
    p = np.exp(z - z.max(axis=1, keepdims=True))
    cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = _numpy_generator(seed).random((t.shape[0], int(num_samples)))
    idx = np.stack([np.searchsorted(cdf[i], u[i], side="right") for i in range(t.shape[0])]) if t.shape[0] else \
        np.zeros((0, int(num_samples)), dtype=np.int64)
    idx = np.minimum(idx, t.shape[1] - 1)  # guards a cdf that rounds to just below 1
    return backend.to_tensor(idx, dtype=name, device=t.device)


def gamma(shape, alpha, dtype=None, seed=None) -> torch.Tensor:
    """Gamma(alpha, 1) values of ``shape`` (``alpha`` > 0 broadcasts to ``shape``)."""
    dims = _shape_tuple(shape)
    a = _params("alpha", "gamma", alpha, dims)
    if not (a > 0).all():
        raise ValueError(f"initium.random.gamma: `alpha` must be > 0. Received: alpha={alpha!r}")
    return _float_result(_numpy_generator(seed).standard_gamma(a), dtype, "gamma", None)


def beta(shape, alpha, beta, dtype=None, seed=None) -> torch.Tensor:
    """Beta(alpha, beta) values of ``shape`` (both > 0, broadcast to ``shape``)."""
    dims = _shape_tuple(shape)
    a, b = _params("alpha", "beta", alpha, dims), _params("beta", "beta", beta, dims)
    if not ((a > 0).all() and (b > 0).all()):
        raise ValueError(f"initium.random.beta: `alpha` and `beta` must be > 0. Received: alpha={alpha!r}, beta={beta!r}")
    return _float_result(_numpy_generator(seed).beta(a, b), dtype, "beta", None)


def binomial(shape, counts, probabilities, dtype=None, seed=None) -> torch.Tensor:
    """Binomial(counts, probabilities) values of ``shape``, as floats (Keras's default dtype)."""
    dims = _shape_tuple(shape)
    n, p = _params("counts", "binomial", counts, dims), _params("probabilities", "binomial", probabilities, dims)
    if not ((n >= 0).all() and (n == np.floor(n)).all()):
        raise ValueError(f"initium.random.binomial: `counts` must be non-negative integers. Received: counts={counts!r}")
    if not ((p >= 0).all() and (p <= 1).all()):
        raise ValueError(f"initium.random.binomial: `probabilities` must be in [0, 1]. "
                         f"Received: probabilities={probabilities!r}")
    return _float_result(_numpy_generator(seed).binomial(n.astype(np.int64), p), dtype, "binomial", None)
