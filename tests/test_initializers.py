"""Tests of ``initium.initializers``: one table drives the shape, statistics, config and Keras checks.

Expected values are written here from the formulas (KERAS_FACTS §1.3), never read from the
library; the library's own ``expected_stats`` is checked against them. Statistical tolerances follow
STYLE.md Appendix A: n = 10**5 values, fixed seed, |mean| < 6·sd/√n, |var/expected − 1| < 6·SE,
exact support, a one-sample KS test against the exact distribution, and negative controls that the
same checks must reject.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any, NamedTuple

import numpy as np
import pytest
import torch
from scipy import stats

import initium
from initium import initializers
from initium import random as irandom
from initium.saving import custom_object_scope, register_keras_serializable

# Standard deviation of a unit normal truncated to [-2, 2] (checked against scipy below).
TN_STD = 0.8796256610342398

SHAPE = (400, 250)  # distinct fans, so swapping fan_in and fan_out shows
FAN_IN, FAN_OUT = 400, 250
FAN_AVG = (FAN_IN + FAN_OUT) / 2
N = FAN_IN * FAN_OUT
SEED = 1234


class Row(NamedTuple):
    id: str
    cls: str  # class name in initium.initializers
    kwargs: dict
    shape: tuple
    mean: float
    var: float
    support: tuple | None  # (lo, hi) every value must lie in, None for unbounded
    dist: str  # "const", "orthogonal", "normal", "uniform" or "truncnorm": how to test it


def _normal(cls, kwargs, mean, std, id):
    return Row(id, cls, kwargs, SHAPE, mean, std**2, None, "normal")


def _uniform(cls, kwargs, lo, hi, id):
    return Row(id, cls, kwargs, SHAPE, (lo + hi) / 2, (hi - lo) ** 2 / 12, (lo, hi), "uniform")


def _tn_pre(cls, kwargs, mean, pre_std, id):
    """Truncated at mean ± 2·pre_std; the values' std is TN_STD·pre_std."""
    return Row(id, cls, kwargs, SHAPE, mean, (TN_STD * pre_std) ** 2,
               (mean - 2 * pre_std, mean + 2 * pre_std), "truncnorm")


def _tn_post(cls, kwargs, post_std, id):
    """VarianceScaling's truncated normal: the std *after* truncation is post_std."""
    return _tn_pre(cls, kwargs, 0.0, post_std / TN_STD, id)


def _limit(var):  # U(-limit, limit) has variance limit**2 / 3
    return math.sqrt(3 * var)


_GAIN = 1.5
_P_EYE = min(SHAPE) / N  # fraction of ones in a rectangular identity
_S = {"seed": SEED}

TABLE = [
    Row("Zeros", "Zeros", {}, SHAPE, 0.0, 0.0, (0.0, 0.0), "const"),
    Row("Ones", "Ones", {}, SHAPE, 1.0, 0.0, (1.0, 1.0), "const"),
    Row("Constant", "Constant", {"value": -0.25}, SHAPE, -0.25, 0.0, (-0.25, -0.25), "const"),
    # gain·I on a 400x250 matrix: a fraction p = 250/1e5 of entries equal gain, the rest 0.
    Row("Identity-gain2", "Identity", {"gain": 2.0}, SHAPE, 2.0 * _P_EYE,
        4.0 * _P_EYE * (1 - _P_EYE), (0.0, 2.0), "const"),
    # Tall: 250 orthonormal columns of length 400, so the mean square is gain²/400 exactly.
    Row("Orthogonal-gain1.5", "Orthogonal", {"gain": _GAIN, **_S}, SHAPE, 0.0, _GAIN**2 / FAN_IN,
        (-_GAIN, _GAIN), "orthogonal"),
    _normal("RandomNormal", {"mean": 0.3, "stddev": 0.7, **_S}, 0.3, 0.7, "RandomNormal"),
    _uniform("RandomUniform", {"minval": -0.25, "maxval": 0.75, **_S}, -0.25, 0.75, "RandomUniform"),
    _tn_pre("TruncatedNormal", {"mean": 0.1, "stddev": 0.3, **_S}, 0.1, 0.3, "TruncatedNormal"),
    _tn_post("VarianceScaling", dict(_S), math.sqrt(1.0 / FAN_IN), "VS-default-fan_in-tn"),
    _normal("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "untruncated_normal", **_S},
            0.0, math.sqrt(2.0 / FAN_OUT), "VS-fan_out-untruncated"),
    _uniform("VarianceScaling", {"scale": 3.0, "mode": "fan_avg", "distribution": "uniform", **_S},
             -_limit(3.0 / FAN_AVG), _limit(3.0 / FAN_AVG), "VS-fan_avg-uniform"),
    _tn_post("VarianceScaling", {"scale": 0.5, "mode": "fan_avg", "distribution": "normal", **_S},
             math.sqrt(0.5 / FAN_AVG), "VS-fan_avg-normal-alias"),
    _uniform("VarianceScaling", {"mode": "fan_out", "distribution": "uniform", **_S},
             -math.sqrt(3.0 / FAN_OUT), math.sqrt(3.0 / FAN_OUT), "VS-fan_out-uniform"),
    _uniform("GlorotUniform", dict(_S), -math.sqrt(6 / (FAN_IN + FAN_OUT)),
             math.sqrt(6 / (FAN_IN + FAN_OUT)), "GlorotUniform"),
    _tn_post("GlorotNormal", dict(_S), math.sqrt(2 / (FAN_IN + FAN_OUT)), "GlorotNormal"),
    _tn_post("HeNormal", dict(_S), math.sqrt(2 / FAN_IN), "HeNormal"),
    _uniform("HeUniform", dict(_S), -math.sqrt(6 / FAN_IN), math.sqrt(6 / FAN_IN), "HeUniform"),
    _tn_post("LecunNormal", dict(_S), math.sqrt(1 / FAN_IN), "LecunNormal"),
    _uniform("LecunUniform", dict(_S), -math.sqrt(3 / FAN_IN), math.sqrt(3 / FAN_IN), "LecunUniform"),
]
RANDOM_ROWS = [r for r in TABLE if r.dist != "const"]
ALL_NAMES = [c.__name__ for c in initializers.BUILTINS]


def _make(row: Row):
    return getattr(initializers, row.cls)(**row.kwargs)


def _sample(row: Row) -> np.ndarray:
    return _make(row)(row.shape).double().numpy().ravel()


# Relative standard error of a sample variance: sqrt((kurtosis - 1) / n), since
# Var(s²) ≈ (μ4 − σ⁴)/n. Normal: kurtosis 3 → sqrt(2/(n−1)); uniform: 1.8 → sqrt(0.8/n).
# The truncated normal (±2σ) has kurtosis ≈ 2.37, so the normal SE would be ~20% too loose;
# use the exact one from scipy.
_TN_KURTOSIS = 3.0 + float(stats.truncnorm(-2, 2).stats(moments="k"))


def _var_se(n: int, se_kind: str) -> float:
    if se_kind == "normal":
        return math.sqrt(2.0 / (n - 1))
    if se_kind == "uniform":
        return math.sqrt(0.8 / n)
    if se_kind == "truncnorm":
        return math.sqrt((_TN_KURTOSIS - 1.0) / n)
    raise ValueError(se_kind)


def check_variance(x: np.ndarray, expected: float, se_kind: str) -> bool:
    """True when the sample variance of ``x`` is within 6 standard errors of ``expected``."""
    x = np.asarray(x, dtype=np.float64).ravel()
    return abs(x.var(ddof=1) / expected - 1.0) < 6.0 * _var_se(x.size, se_kind)


def check_mean(x: np.ndarray, expected: float, sd: float) -> bool:
    x = np.asarray(x, dtype=np.float64).ravel()
    return abs(x.mean() - expected) < 6.0 * sd / math.sqrt(x.size)


def _outward_f32(lo: float, hi: float) -> tuple[float, float]:
    """The float32 bounds a float32 sampler can honour: lo and hi rounded outwards.

    A float32 sample cannot equal an irrational bound such as sqrt(6/650); the nearest float32
    may lie a fraction of an ulp outside it. Exact bounds are kept when representable.
    """
    lo32, hi32 = np.float32(lo), np.float32(hi)
    if float(lo32) > lo:
        lo32 = np.nextafter(lo32, np.float32(-np.inf))
    if float(hi32) < hi:
        hi32 = np.nextafter(hi32, np.float32(np.inf))
    return float(lo32), float(hi32)


def _ks_dist(row: Row):
    sd = math.sqrt(row.var)
    if row.dist == "normal":
        return stats.norm(loc=row.mean, scale=sd)
    if row.dist == "uniform":
        lo, hi = row.support
        return stats.uniform(loc=lo, scale=hi - lo)
    if row.dist == "truncnorm":
        return stats.truncnorm(-2, 2, loc=row.mean, scale=sd / TN_STD)
    raise ValueError(row.dist)


_SE_KIND = {"normal": "normal", "orthogonal": "normal", "uniform": "uniform", "truncnorm": "truncnorm"}


# ---------------------------------------------------------------------------------------------
# 1. The table


def test_table_covers_every_builtin():
    assert sorted({r.cls for r in TABLE}) == sorted(ALL_NAMES)
    assert len(ALL_NAMES) == 15
    assert len({r.id for r in TABLE}) == len(TABLE)


def test_truncated_normal_std_constant_matches_scipy():
    assert abs(irandom.TRUNCATED_NORMAL_STD - stats.truncnorm(-2, 2).std()) < 1e-12
    assert abs(TN_STD - stats.truncnorm(-2, 2).std()) < 1e-12


@pytest.mark.parametrize("row", TABLE, ids=[r.id for r in TABLE])
def test_shape_and_default_dtype(row):
    x = _make(row)(row.shape)
    assert isinstance(x, torch.Tensor)
    assert tuple(x.shape) == row.shape
    assert x.dtype == torch.float32
    x2 = _make(row)(list(row.shape))  # a list shape works too
    assert tuple(x2.shape) == row.shape


@pytest.mark.parametrize("row", TABLE, ids=[r.id for r in TABLE])
def test_expected_stats_agrees_with_formula(row):
    es = _make(row).expected_stats(row.shape)
    assert es["mean"] == pytest.approx(row.mean, rel=1e-12, abs=1e-15)
    assert es["std"] ** 2 == pytest.approx(row.var, rel=1e-12, abs=1e-15)
    lo, hi = row.support if row.support is not None else (-math.inf, math.inf)
    assert es["min"] == pytest.approx(lo, rel=1e-12, abs=1e-15)
    assert es["max"] == pytest.approx(hi, rel=1e-12, abs=1e-15)


# ---------------------------------------------------------------------------------------------
# 2. Statistics


@pytest.mark.parametrize("row", TABLE, ids=[r.id for r in TABLE])
def test_statistics(row):
    x = _sample(row)
    assert x.size == N
    if row.dist == "const":  # deterministic: exact values
        assert x.mean() == pytest.approx(row.mean, rel=1e-9, abs=1e-12)
        assert x.var() == pytest.approx(row.var, rel=1e-9, abs=1e-12)
        assert x.min() == row.support[0] and x.max() == row.support[1]
        return
    sd = math.sqrt(row.var)
    assert check_mean(x, row.mean, sd), (x.mean(), row.mean)
    assert check_variance(x, row.var, _SE_KIND[row.dist]), (x.var(ddof=1), row.var)
    if row.support is not None:
        lo, hi = _outward_f32(*row.support)
        assert x.min() >= lo and x.max() <= hi, (x.min(), x.max(), row.support)
        if row.dist in ("uniform", "truncnorm"):  # and the whole support is used
            width = row.support[1] - row.support[0]
            assert x.min() < row.support[0] + 0.01 * width and x.max() > row.support[1] - 0.01 * width
    if row.dist != "orthogonal":
        assert stats.kstest(x, _ks_dist(row).cdf).pvalue > 1e-4


def _row(id):
    return next(r for r in TABLE if r.id == id)


@pytest.mark.parametrize(
    "sampled, wrong_expectation",
    [
        ("LecunNormal", "HeNormal"),
        ("HeUniform", "LecunUniform"),
        ("VS-fan_out-uniform", "LecunUniform"),  # same scale/distribution, fan_in instead of fan_out
        ("GlorotNormal", "HeNormal"),
        ("HeNormal", "LecunNormal"),
    ],
)
def test_negative_controls_fail_the_variance_check(sampled, wrong_expectation):
    right, wrong = _row(sampled), _row(wrong_expectation)
    x = _sample(right)
    kind = _SE_KIND[right.dist]
    assert check_variance(x, right.var, kind)
    assert not check_variance(x, wrong.var, kind)


def test_negative_control_ks_rejects_the_wrong_shape_of_distribution():
    he_u, he_n = _row("HeUniform"), _row("HeNormal")
    x = _sample(he_u)
    # Same variance as He normal, but uniform: the KS test must tell them apart.
    assert stats.kstest(x, stats.norm(scale=math.sqrt(he_u.var)).cdf).pvalue < 1e-4
    assert stats.kstest(x, stats.truncnorm(-2, 2, scale=math.sqrt(he_n.var) / TN_STD).cdf).pvalue < 1e-4


# ---------------------------------------------------------------------------------------------
# 3. Fans


@pytest.mark.parametrize(
    "shape, axes, fans",
    [
        ((3, 3, 16, 32), None, (144, 288)),
        ((2, 3, 3, 8, 16), None, (144, 288)),
        ((3, 5, 4), None, (15, 12)),
        ((7,), None, (7, 7)),
        ((), None, (1, 1)),
        ((5, 3), None, (5, 3)),
        ((400, 250), None, (400, 250)),
        ((4, 5, 6), ([0, 1], [2]), (20, 6)),
    ],
    ids=str,
)
def test_compute_fans(shape, axes, fans):
    got = initializers.compute_fans(shape) if axes is None else initializers.compute_fans(shape, *axes)
    assert got == fans
    assert all(type(f) is int for f in got)


@pytest.mark.parametrize("which", ["input_axes", "output_axes"])
def test_compute_fans_needs_both_axis_lists(which):
    with pytest.raises(ValueError, match="`input_axes` and `output_axes` must be given together"):
        initializers.compute_fans((4, 5, 6), **{which: [0]})
    with pytest.raises(ValueError, match="must be given together"):
        initializers.VarianceScaling(**{which: [0]})


def test_conv_fans_drive_the_variance():
    assert initializers.HeNormal().variance((3, 3, 16, 32)) == pytest.approx(2 / 144)
    assert initializers.GlorotUniform().variance((3, 3, 16, 32)) == pytest.approx(2 / (144 + 288))
    vs = initializers.VarianceScaling(mode="fan_out", input_axes=[0, 1], output_axes=[2])
    assert vs.variance((4, 5, 6)) == pytest.approx(1 / 6)
    assert initializers.VarianceScaling(mode="fan_in").variance((4, 5, 6)) == pytest.approx(1 / 20)


# ---------------------------------------------------------------------------------------------
# 4. Exact formulas and Keras defaults


@pytest.mark.parametrize(
    "kwargs, shape, var",
    [
        ({}, (400, 250), 1 / 400),
        ({"scale": 2.0, "mode": "fan_out"}, (400, 250), 2 / 250),
        ({"scale": 3.0, "mode": "fan_avg"}, (400, 250), 3 / 325),
        ({"mode": "fan_avg"}, (3, 3, 16, 32), 1 / 216),
        ({"scale": 0.5}, (7,), 0.5 / 7),
        ({"scale": 4.0}, (0, 5), 4.0),  # n = max(1, fan_in)
    ],
    ids=str,
)
def test_variance_scaling_variance(kwargs, shape, var):
    assert initializers.VarianceScaling(**kwargs).variance(shape) == pytest.approx(var, rel=1e-12)


def test_glorot_uniform_limit():
    limit = math.sqrt(6 / (FAN_IN + FAN_OUT))
    init = initializers.GlorotUniform(seed=3)
    assert init.expected_stats(SHAPE)["max"] == pytest.approx(limit, rel=1e-12)
    x = init(SHAPE).double()
    assert x.abs().max().item() <= _outward_f32(-limit, limit)[1]
    assert x.abs().max().item() > 0.999 * limit


def test_keras_defaults():
    rn, ru, tn = initializers.RandomNormal(), initializers.RandomUniform(), initializers.TruncatedNormal()
    assert (rn.mean, rn.stddev) == (0.0, 0.05)
    assert (ru.minval, ru.maxval) == (-0.05, 0.05)
    assert (tn.mean, tn.stddev) == (0.0, 0.05)
    assert initializers.Orthogonal().gain == 1.0
    assert initializers.Identity().gain == 1.0
    assert initializers.Constant().value == 0.0
    vs = initializers.VarianceScaling()
    assert (vs.scale, vs.mode, vs.distribution) == (1.0, "fan_in", "truncated_normal")
    assert initializers.TruncatedNormal(stddev=1.0).expected_stats((10,))["std"] == pytest.approx(TN_STD)


# ---------------------------------------------------------------------------------------------
# 5. Orthogonal


def _orth_err(m: torch.Tensor, gain: float = 1.0) -> float:
    m = m.double()
    if m.shape[0] >= m.shape[1]:
        gram = m.T @ m
    else:
        gram = m @ m.T
    return (gram - gain**2 * torch.eye(gram.shape[0], dtype=torch.float64)).abs().max().item()


@pytest.mark.parametrize("shape", [(400, 250), (250, 400), (6, 6)], ids=str)
def test_orthogonal_tall_wide_square(shape):
    q = initializers.Orthogonal(gain=_GAIN, seed=5)(shape)
    assert tuple(q.shape) == shape
    assert _orth_err(q, _GAIN) < 1e-5
    # the other product is not the identity for non-square shapes
    if shape[0] != shape[1]:
        other = q.double() @ q.double().T if shape[0] > shape[1] else q.double().T @ q.double()
        assert (other - _GAIN**2 * torch.eye(other.shape[0], dtype=torch.float64)).abs().max() > 0.1


def test_orthogonal_conv_shape_is_flattened():
    q = initializers.Orthogonal(seed=1)((3, 3, 4, 6))
    assert tuple(q.shape) == (3, 3, 4, 6)
    assert _orth_err(q.reshape(36, 6)) < 1e-5


@pytest.mark.parametrize("shape, rank", [((3,), 1), ((), 0)])
def test_orthogonal_rank_error(shape, rank):
    msg = (r"The tensor to initialize must be at least two-dimensional\. "
           rf"Received: shape={re_escape(shape)} of rank {rank}\.")
    with pytest.raises(ValueError, match=msg):
        initializers.Orthogonal(seed=1)(shape)


def re_escape(x: Any) -> str:
    import re

    return re.escape(str(x))


def test_orthogonal_2048_float32():
    q = initializers.Orthogonal(seed=11)((2048, 2048), dtype="float32")
    assert q.dtype == torch.float32
    g = q.T @ q  # float32 product, as a user would compute it
    assert (g - torch.eye(2048)).abs().max().item() < 1e-4


def test_orthogonal_4096_float32():
    # 8192x8192 takes ~39 s on the 2-core test machine (QR alone), so 4096 is the large case.
    t0 = time.perf_counter()
    q = initializers.Orthogonal(seed=12)((4096, 4096), dtype="float32")
    assert time.perf_counter() - t0 < 60
    g = q.T @ q
    assert (g - torch.eye(4096)).abs().max().item() < 1e-4


# ---------------------------------------------------------------------------------------------
# 6. Identity, Constant, Zeros/Ones, dtypes


@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (3, 3)], ids=str)
def test_identity_rectangular_and_gain(shape):
    np.testing.assert_array_equal(initializers.Identity()(shape).numpy(), np.eye(*shape, dtype=np.float32))
    np.testing.assert_array_equal(initializers.Identity(gain=-2.5)(shape).numpy(), -2.5 * np.eye(*shape))


@pytest.mark.parametrize("shape", [(3, 3, 3), (3,)], ids=str)
def test_identity_rank_error(shape):
    msg = (r"Identity matrix initializer can only be used for 2D matrices\. "
           rf"Received: shape={re_escape(shape)} of rank {len(shape)}\.")
    with pytest.raises(ValueError, match=msg):
        initializers.Identity()(shape)


def test_constant_scalar_array_and_dtypes():
    x = initializers.Constant(0.1)((3,))
    np.testing.assert_array_equal(x.numpy(), np.full(3, 0.1, dtype=np.float32))
    y = initializers.Constant([1.0, 2.0])((3, 2))
    np.testing.assert_array_equal(y.numpy(), [[1, 2], [1, 2], [1, 2]])
    z = initializers.Constant(3)((2, 2), dtype="int32")
    assert z.dtype == torch.int32 and z.tolist() == [[3, 3], [3, 3]]
    w = initializers.Constant(np.array([1, 2]))((2, 2), dtype="int64")
    assert w.dtype == torch.int64 and w.tolist() == [[1, 2], [1, 2]]


def test_constant_not_broadcastable():
    with pytest.raises(ValueError, match=r"cannot be broadcast to the weight shape \(3, 3\)"):
        initializers.Constant([1.0, 2.0])((3, 3))


@pytest.mark.parametrize("dtype, torch_dtype", [("int32", torch.int32), ("bool", torch.bool),
                                                ("float64", torch.float64)])
def test_zeros_ones_any_dtype(dtype, torch_dtype):
    z, o = initializers.Zeros()((2, 3), dtype=dtype), initializers.Ones()((2, 3), dtype=dtype)
    assert z.dtype == torch_dtype and o.dtype == torch_dtype
    assert not z.any() and o.all()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
@pytest.mark.parametrize("name", ["RandomNormal", "RandomUniform", "TruncatedNormal", "HeNormal",
                                  "GlorotUniform", "Orthogonal-gain1.5", "VS-fan_out-untruncated"])
def test_random_initializers_other_float_dtypes(name, dtype):
    row = _row(name)
    x = _make(row)(row.shape, dtype=dtype)
    assert x.dtype == getattr(torch, dtype)
    assert tuple(x.shape) == row.shape
    assert torch.isfinite(x).all()
    v = x.double().numpy().ravel()
    if dtype == "float64":  # the float64 path draws the same distribution, to the same tolerance
        assert check_variance(v, row.var, _SE_KIND[row.dist])
        assert check_mean(v, row.mean, math.sqrt(row.var))
    else:  # rounding to 8 (bfloat16) or 11 (float16) bits moves the variance by well under 2%
        assert abs(v.var() / row.var - 1) < 0.02 + 6 * _var_se(v.size, _SE_KIND[row.dist])
    if row.support is not None:
        lo, hi = row.support
        assert v.min() >= lo - 0.01 * abs(lo) and v.max() <= hi + 0.01 * abs(hi)


@pytest.mark.parametrize("name", ["RandomNormal", "RandomUniform", "TruncatedNormal", "HeUniform", "Orthogonal"])
def test_random_initializers_refuse_int_dtype(name):
    with pytest.raises(ValueError, match=rf"{name} draws random floats and cannot fill a weight of dtype int32"):
        getattr(initializers, name)(seed=1)((3, 3), dtype="int32")


# ---------------------------------------------------------------------------------------------
# 7. Seeds


SEEDED_CLASSES = ["RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotUniform",
                  "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal"]
_SMALL = (30, 20)


@pytest.mark.parametrize("name", SEEDED_CLASSES)
def test_seed_matrix(name):
    cls = getattr(initializers, name)
    eq = torch.equal

    # int seed: repeats across calls and across instances; another int differs
    a = cls(seed=7)
    assert eq(a(_SMALL), a(_SMALL))
    assert eq(a(_SMALL), cls(seed=7)(_SMALL))
    assert not eq(a(_SMALL), cls(seed=8)(_SMALL))
    # clone of a seeded one repeats
    assert eq(a.clone()(_SMALL), a(_SMALL))

    # seed=None: differs between calls on one instance (one instance shared by two layers gives two
    # kernels) and between clones, while the config still says None
    u = cls()
    assert not eq(u(_SMALL), u(_SMALL))
    assert not eq(u.clone()(_SMALL), u.clone()(_SMALL))
    assert u.get_config()["seed"] is None and u.clone().get_config()["seed"] is None

    # SeedGenerator: differs between calls; two generators with the same seed give the same sequence
    g1, g2 = cls(seed=irandom.SeedGenerator(5)), cls(seed=irandom.SeedGenerator(5))
    first, second = g1(_SMALL), g1(_SMALL)
    assert not eq(first, second)
    assert eq(g2(_SMALL), first) and eq(g2(_SMALL), second)


def test_set_random_seed_makes_unseeded_reproducible():
    irandom.set_random_seed(42)
    a = [initializers.HeNormal()(_SMALL), initializers.GlorotUniform()(_SMALL)]
    irandom.set_random_seed(42)
    b = [initializers.HeNormal()(_SMALL), initializers.GlorotUniform()(_SMALL)]
    irandom.set_random_seed(43)
    c = [initializers.HeNormal()(_SMALL), initializers.GlorotUniform()(_SMALL)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not any(torch.equal(x, y) for x, y in zip(a, c))
    assert initium.utils.set_random_seed is irandom.set_random_seed


def test_numpy_int_seed_accepted():
    a = initializers.GlorotUniform(seed=np.int64(3))
    assert torch.equal(a(_SMALL), initializers.GlorotUniform(seed=3)(_SMALL))
    assert type(a.get_config()["seed"]) is int
    json.dumps(a.get_config())


@pytest.mark.parametrize("bad", [1.5, "a", True], ids=repr)
def test_bad_seed(bad):
    msg = (r"`seed` argument should be None, an integer or an `initium\.random\.SeedGenerator`\. "
           rf"Received: seed={re_escape(repr(bad))}")
    with pytest.raises(ValueError, match=msg):
        initializers.RandomNormal(seed=bad)


# ---------------------------------------------------------------------------------------------
# 8. Registry and get()

KERAS_IDS = {
    "Zeros": ["Zeros", "zeros", "zero"],
    "Ones": ["Ones", "ones", "one"],
    "Constant": ["Constant", "constant"],
    "Identity": ["Identity", "identity", "IdentityInitializer"],
    "Orthogonal": ["Orthogonal", "orthogonal", "OrthogonalInitializer"],
    "RandomNormal": ["RandomNormal", "random_normal", "normal"],
    "RandomUniform": ["RandomUniform", "random_uniform", "uniform"],
    "TruncatedNormal": ["TruncatedNormal", "truncated_normal"],
    "VarianceScaling": ["VarianceScaling", "variance_scaling"],
    "GlorotUniform": ["GlorotUniform", "glorot_uniform"],
    "GlorotNormal": ["GlorotNormal", "glorot_normal"],
    "HeNormal": ["HeNormal", "he_normal"],
    "HeUniform": ["HeUniform", "he_uniform"],
    "LecunNormal": ["LecunNormal", "lecun_normal"],
    "LecunUniform": ["LecunUniform", "lecun_uniform"],
}
_ID_CASES = [(cls, s) for cls, ids in KERAS_IDS.items() for s in ids]


def test_keras_id_table_covers_every_builtin():
    assert sorted(KERAS_IDS) == sorted(ALL_NAMES)


@pytest.mark.parametrize("cls_name, identifier", _ID_CASES, ids=[s for _, s in _ID_CASES])
def test_get_resolves_every_keras_string(cls_name, identifier):
    cls = getattr(initializers, cls_name)
    a, b = initializers.get(identifier), initializers.get(identifier)
    assert type(a) is cls
    assert a is not b  # a fresh instance per call
    assert type(initializers.deserialize(identifier)) is cls


def test_get_constant_string_works():
    c = initializers.get("constant")
    assert type(c) is initializers.Constant and c.get_config() == {"value": 0.0}
    assert c((2,)).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("snake, cls_name", [
    ("zeros", "Zeros"), ("ones", "Ones"), ("constant", "Constant"), ("identity", "Identity"),
    ("orthogonal", "Orthogonal"), ("random_normal", "RandomNormal"), ("random_uniform", "RandomUniform"),
    ("truncated_normal", "TruncatedNormal"), ("variance_scaling", "VarianceScaling"),
    ("glorot_normal", "GlorotNormal"), ("glorot_uniform", "GlorotUniform"), ("he_normal", "HeNormal"),
    ("he_uniform", "HeUniform"), ("lecun_normal", "LecunNormal"), ("lecun_uniform", "LecunUniform"),
    ("IdentityInitializer", "Identity"), ("OrthogonalInitializer", "Orthogonal"),
])
def test_python_exports(snake, cls_name):
    assert getattr(initializers, snake) is getattr(initializers, cls_name)


@pytest.mark.parametrize("wrong, suggestion", [
    ("he_normall", "he_normal"),
    ("xavier_uniform", "glorot_uniform"),
    ("GLOROT_UNIFORM", "glorot_uniform"),
    ("kaiming_normal", "he_normal"),
])
def test_wrong_id_suggests_and_lists(wrong, suggestion):
    with pytest.raises(ValueError) as info:
        initializers.get(wrong)
    msg = str(info.value)
    assert "Could not interpret initializer identifier" in msg and wrong in msg
    assert f"Did you mean '{suggestion}'?" in msg
    for name in ("glorot_uniform", "he_normal", "lecun_uniform", "orthogonal", "random_normal",
                 "truncated_normal", "variance_scaling", "zeros"):
        assert name in msg.split("Valid names:")[1]


def test_deserialize_unknown_string_raises():  # Keras returns the string
    with pytest.raises(ValueError, match="Could not interpret initializer identifier: 'nonsense'"):
        initializers.deserialize("nonsense")


def my_bias_initializer(shape, dtype=None):  # seed 003, with numpy instead of tf
    return np.random.uniform(-0.1, 0.1, size=shape)


def test_get_passthroughs_and_instantiation():
    assert initializers.get(None) is None
    inst = initializers.HeNormal(seed=1)
    assert initializers.get(inst) is inst
    assert initializers.get(my_bias_initializer) is my_bias_initializer
    made = initializers.get(initializers.HeUniform)
    assert type(made) is initializers.HeUniform


def test_get_numpy_array():
    arr = np.arange(6, dtype=np.float64).reshape(2, 3)
    init = initializers.get(arr)
    out = init((2, 3))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), arr)
    with pytest.raises(ValueError, match=re_escape(
            "Expected `shape` to be (2, 3) for direct tensor as initializer. Received shape=(3, 2)")):
        init((3, 2))


def test_get_array_serializes_as_constant():
    # constant.FromArray's docstring: "It serializes as Constant with the array value."
    arr = np.ones((2, 2))
    cfg = initializers.serialize(initializers.get(arr))
    assert cfg["class_name"] == "Constant" and cfg["module"] == "keras.initializers"
    back = initializers.deserialize(cfg)
    np.testing.assert_array_equal(back((2, 2)).numpy(), arr)


@pytest.mark.parametrize("bad", [123, 1.5])
def test_get_rejects_numbers(bad):
    with pytest.raises(ValueError, match=f"Could not interpret initializer identifier: {bad}"):
        initializers.get(bad)


# ---------------------------------------------------------------------------------------------
# 9. Config round trip and Keras parity


@pytest.mark.parametrize("row", TABLE, ids=[r.id for r in TABLE])
def test_config_round_trip(row):
    obj = _make(row)
    cls = type(obj)
    config = obj.get_config()
    assert json.dumps(cls.from_config(config).get_config()) == json.dumps(config)
    assert json.dumps(obj.clone().get_config()) == json.dumps(config)
    ser = initializers.serialize(obj)
    assert ser == {"module": "keras.initializers", "class_name": row.cls, "config": config,
                   "registered_name": None}
    back = initializers.deserialize(json.loads(json.dumps(ser)))
    assert type(back) is cls and json.dumps(back.get_config()) == json.dumps(config)
    if "seed" in row.kwargs:  # same seed, same values after the round trip
        assert torch.equal(back(_SMALL), obj(_SMALL))


def test_config_round_trip_seed_generator_and_array():
    obj = initializers.RandomNormal(seed=irandom.SeedGenerator(5))
    cfg = obj.get_config()
    assert cfg["seed"] == {"module": "keras.random", "class_name": "SeedGenerator",
                           "config": {"seed": 5, "name": "seed_generator"}, "registered_name": None}
    assert json.dumps(obj.clone().get_config()) == json.dumps(cfg)
    c = initializers.Constant(np.array([1.0, 2.0]))
    assert c.get_config() == {"value": {"class_name": "__numpy__",
                                        "config": {"value": [1.0, 2.0], "dtype": "float64"}}}
    c2 = initializers.Constant.from_config(json.loads(json.dumps(c.get_config())))
    assert torch.equal(c2((2, 2)), c((2, 2)))


def test_identity_keeps_gain():
    assert initializers.Identity(gain=2).get_config() == {"gain": 2}
    back = initializers.deserialize(initializers.serialize(initializers.Identity(gain=2)))
    assert back.gain == 2


def _keras():
    os.environ["KERAS_BACKEND"] = "torch"
    import keras

    assert keras.backend.backend() == "torch"
    return keras


@pytest.mark.parametrize("name", ALL_NAMES)
def test_default_config_equals_keras(name):
    keras = _keras()
    ours = getattr(initializers, name)().get_config()
    theirs = getattr(keras.initializers, name)().get_config()
    if name == "Identity":
        assert theirs == {} and ours == {"gain": 1.0}  # deliberate: ours keeps gain
        return
    assert json.dumps(ours) == json.dumps(theirs)  # keys, values and key order


@pytest.mark.parametrize("row", TABLE, ids=[r.id for r in TABLE])
def test_serialize_interop_with_keras(row):
    keras = _keras()
    obj = _make(row)
    kobj = keras.initializers.deserialize(initializers.serialize(obj))
    assert type(kobj).__name__ == row.cls
    kcfg = kobj.get_config()
    if row.cls == "Identity":
        kcfg = {"gain": kobj.gain}
    assert json.dumps(kcfg) == json.dumps(obj.get_config())
    back = initializers.deserialize(keras.initializers.serialize(kobj))
    assert type(back) is type(obj)
    if row.cls != "Identity":  # Keras drops gain
        assert json.dumps(back.get_config()) == json.dumps(obj.get_config())


def test_serialize_interop_seed_generator_and_array():
    keras = _keras()
    k = keras.initializers.RandomNormal(stddev=0.2, seed=keras.random.SeedGenerator(5))
    ours = initializers.deserialize(keras.initializers.serialize(k))
    assert type(ours) is initializers.RandomNormal
    assert isinstance(ours.seed, irandom.SeedGenerator) and ours.seed.seed == 5
    assert ours.get_config() == k.get_config()
    o = initializers.TruncatedNormal(seed=irandom.SeedGenerator(9))
    k2 = keras.initializers.deserialize(initializers.serialize(o))
    assert isinstance(k2.seed, keras.random.SeedGenerator)
    assert k2.get_config() == o.get_config()

    kc = keras.initializers.Constant(np.array([1.0, 2.0]))
    oc = initializers.deserialize(keras.initializers.serialize(kc))
    assert type(oc) is initializers.Constant and oc.get_config() == kc.get_config()
    np.testing.assert_array_equal(oc((3, 2)).numpy(), [[1, 2]] * 3)
    kc2 = keras.initializers.deserialize(initializers.serialize(initializers.Constant(np.array([3.0, 4.0]))))
    np.testing.assert_array_equal(np.asarray(kc2((2, 2))), [[3, 4], [3, 4]])


@pytest.mark.parametrize("name", ["HeNormal", "GlorotUniform", "TruncatedNormal", "RandomNormal"])
def test_distribution_parity_with_keras(name):
    keras = _keras()
    row = _row(name)
    ours = _sample(row)
    theirs = np.asarray(getattr(keras.initializers, name)(**row.kwargs)(SHAPE), dtype=np.float64).ravel()
    kind = _SE_KIND[row.dist]
    se_mean = math.sqrt(ours.var() / ours.size + theirs.var() / theirs.size)
    assert abs(ours.mean() - theirs.mean()) < 6 * se_mean
    # the ratio of two independent sample variances: relative SE sqrt(2)·SE
    assert abs(ours.var() / theirs.var() - 1) < 6 * math.sqrt(2) * _var_se(ours.size, kind)
    if row.support is not None:
        lo, hi = _outward_f32(*row.support)
        assert lo <= ours.min() and ours.max() <= hi
        if row.dist == "uniform":  # Keras's truncated normal may leak past ±2σ; its uniform may not
            assert lo <= theirs.min() and theirs.max() <= hi


# ---------------------------------------------------------------------------------------------
# 10. Errors


def test_variance_scaling_errors():
    with pytest.raises(ValueError, match=r"Argument `scale` must be positive float\. Received: scale=0"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match=r"Received: scale=-1"):
        initializers.VarianceScaling(scale=-1)
    with pytest.raises(ValueError, match=r"Invalid `mode` argument: FAN_IN\..*Did you mean 'fan_in'\?"):
        initializers.VarianceScaling(mode="FAN_IN")
    with pytest.raises(ValueError, match=r"Invalid `distribution` argument: gaussian\. Please use one of"):
        initializers.VarianceScaling(distribution="gaussian")
    assert initializers.VarianceScaling(distribution="UNIFORM").distribution == "uniform"


@pytest.mark.parametrize("name", ["GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform",
                                  "LecunNormal", "LecunUniform"])
@pytest.mark.parametrize("kw", [{"scale": 2.0}, {"mode": "fan_out"}, {"distribution": "uniform"}], ids=str)
def test_presets_refuse_variance_scaling_args(name, kw):
    with pytest.raises(TypeError, match=rf"{name} takes only seed.*use VarianceScaling\("):
        getattr(initializers, name)(**kw)


def test_deserialize_errors():
    with pytest.raises(TypeError, match=r"'sttdev' \(did you mean 'stddev'\?\)"):
        initializers.deserialize({"class_name": "RandomNormal", "config": {"sttdev": 1.0}})
    with pytest.raises(ValueError, match=r"Could not interpret initializer identifier: .*'Foo'"):
        initializers.deserialize({"class_name": "Foo", "config": {}})
    with pytest.raises(ValueError, match=r"names class 'RandomNormal' in module 'os'"):
        initializers.deserialize({"module": "os", "class_name": "RandomNormal", "config": {},
                                  "registered_name": None})
    with pytest.raises(ValueError, match=r"Refusing to load a lambda initializer"):
        initializers.deserialize({"class_name": "__lambda__", "config": {"value": ["AAAA", None, None]}})
    with pytest.raises(ValueError, match=r"Cannot serialize a lambda initializer"):
        initializers.serialize(lambda shape, dtype=None: torch.zeros(shape))
    with pytest.raises(ValueError, match=r"'unregistered_fn' is not registered.*custom_objects="):
        initializers.deserialize({"module": "builtins", "class_name": "function",
                                  "config": "unregistered_fn", "registered_name": "function"})


# ---------------------------------------------------------------------------------------------
# 11. Custom initializers


def bias_without_dtype(shape):
    return np.full(shape, 0.5)


def bias_as_list(shape, dtype=None):
    return [0.1] * shape[0]


def bias_wrong_shape(shape, dtype=None):
    return np.zeros((shape[0] + 1,))


def bias_nan(shape, dtype=None):
    return np.full(shape, np.nan)


def bias_strings(shape, dtype=None):
    return np.array(["a"] * shape[0])


def test_initialize_plain_functions():
    x = initializers.initialize(my_bias_initializer, (64,), "float32", name="bias")
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32 and tuple(x.shape) == (64,)
    assert x.abs().max().item() <= 0.1 and x.std().item() > 0.01
    y = initializers.initialize(bias_without_dtype, (4,), "float32", name="bias")
    assert y.dtype == torch.float32 and y.tolist() == [0.5] * 4
    z = initializers.initialize(bias_as_list, (3,), "float64", name="bias")
    assert z.dtype == torch.float64 and z.tolist() == [0.1] * 3


def test_initialize_checks_what_comes_back():
    with pytest.raises(ValueError, match=r"bias_wrong_shape returned shape \(4,\) for weight 'bias' of shape \(3,\)"):
        initializers.initialize(bias_wrong_shape, (3,), "float32", name="bias")
    with pytest.raises(ValueError, match=r"bias_nan returned 3 non-finite value\(s\).*weight 'bias'"):
        initializers.initialize(bias_nan, (3,), "float32", name="bias")
    with pytest.raises(TypeError, match=r"bias_strings returned values of dtype <U1 for weight 'bias'"):
        initializers.initialize(bias_strings, (3,), "float32", name="bias")


def _example_class():
    """Seed 004's ExampleRandomNormal, on initium (a fresh class per call)."""

    class ExampleRandomNormal(initium.initializers.Initializer):
        def __init__(self, mean, stddev):
            self.mean = mean
            self.stddev = stddev

        def __call__(self, shape, dtype=None):
            return initium.random.normal(shape, mean=self.mean, stddev=self.stddev, dtype=dtype)

        def get_config(self):
            return {"mean": self.mean, "stddev": self.stddev}

    return ExampleRandomNormal


RegisteredExample = register_keras_serializable(package="my")(_example_class())
UnregisteredExample = _example_class()


@register_keras_serializable(package="my", name="fn")
def _registered_fn(shape, dtype=None):
    return initium.random.uniform(shape, -1.0, 1.0, dtype=dtype, seed=0)


def test_custom_subclass_config_round_trip():
    obj = UnregisteredExample(0.5, 2.0)
    back = UnregisteredExample.from_config(obj.get_config())
    assert type(back) is UnregisteredExample and back.get_config() == {"mean": 0.5, "stddev": 2.0}
    x = initializers.initialize(obj, (2000,), "float32", name="w")
    assert abs(x.mean().item() - 0.5) < 6 * 2.0 / math.sqrt(2000)


def test_registered_subclass_serializes_and_loads_without_custom_objects():
    obj = RegisteredExample(0.0, 0.3)
    ser = initializers.serialize(obj)
    # Keras writes the defining module (None only for __main__); it is never imported on load.
    assert ser == {"module": RegisteredExample.__module__, "class_name": "ExampleRandomNormal",
                   "config": {"mean": 0.0, "stddev": 0.3}, "registered_name": "my>ExampleRandomNormal"}
    back = initializers.deserialize(json.loads(json.dumps(ser)))
    assert type(back) is RegisteredExample and back.get_config() == obj.get_config()
    assert type(initializers.get(ser)) is RegisteredExample


def test_unregistered_subclass_needs_custom_objects():
    ser = initializers.serialize(UnregisteredExample(1.0, 0.1))
    assert ser["registered_name"] == "ExampleRandomNormal"
    with pytest.raises(ValueError, match="custom_objects"):
        initializers.deserialize(ser)
    back = initializers.deserialize(ser, custom_objects={"ExampleRandomNormal": UnregisteredExample})
    assert type(back) is UnregisteredExample and back.get_config() == {"mean": 1.0, "stddev": 0.1}
    with custom_object_scope({"ExampleRandomNormal": UnregisteredExample}):
        assert type(initializers.deserialize(ser)) is UnregisteredExample
    with pytest.raises(ValueError):
        initializers.deserialize(ser)  # the scope is gone


def test_registered_function_round_trip():
    ser = initializers.serialize(_registered_fn)
    assert ser == {"module": "builtins", "class_name": "function", "config": "my>fn",
                   "registered_name": "function"}
    assert initializers.deserialize(json.loads(json.dumps(ser))) is _registered_fn
    assert initializers.get(ser) is _registered_fn


def test_base_initializer_call_raises():
    with pytest.raises(NotImplementedError, match=re_escape(
            "Initializer subclasses must implement the `__call__()` method.")):
        initializers.Initializer()((2,))
    assert initializers.Initializer().get_config() == {}
