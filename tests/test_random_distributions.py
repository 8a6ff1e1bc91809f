"""``initium.random``'s categorical, gamma, beta and binomial: Keras's signatures and dtypes, the
right distributions (moments within 5 standard errors on 200k draws, fixed seeds), and seeding."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch

from initium import random as irandom

N = 200_000


def _within(observed: float, expected: float, se: float, k: float = 5.0) -> None:
    assert abs(observed - expected) <= k * se, f"{observed} vs {expected} (SE {se})"


def test_categorical_frequencies_follow_softmax():
    logits = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5]])
    out = irandom.categorical(logits, N, seed=3)
    assert out.shape == (2, N) and out.dtype == torch.int32
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for row in range(2):
        counts = np.bincount(out[row].numpy(), minlength=3) / N
        for k in range(3):
            _within(counts[k], p[row, k], math.sqrt(p[row, k] * (1 - p[row, k]) / N))


def test_gamma_beta_binomial_moments():
    alpha = 2.5
    g = irandom.gamma((N,), alpha, seed=1).double()
    _within(g.mean().item(), alpha, math.sqrt(alpha / N))
    _within(g.var().item(), alpha, math.sqrt((6 * alpha + 2 * alpha ** 2) / N) * 1.0)  # var of s^2 ~ (mu4 - s^4)/n
    a, b = 2.0, 5.0
    x = irandom.beta((N,), a, b, seed=2).double()
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    _within(x.mean().item(), mean, math.sqrt(var / N))
    n, p = 12, 0.3
    y = irandom.binomial((N,), n, p, seed=4).double()
    _within(y.mean().item(), n * p, math.sqrt(n * p * (1 - p) / N))
    assert bool(((y >= 0) & (y <= n) & (y == y.round())).all())


def test_parameters_broadcast_to_shape():
    y = irandom.binomial((2, 3), [0, 5, 10], [0.0, 1.0, 1.0], seed=0)
    assert y.tolist() == [[0.0, 5.0, 10.0], [0.0, 5.0, 10.0]]
    g = irandom.gamma((4, 2), [[1.0], [2.0], [3.0], [4.0]], seed=0)
    assert g.shape == (4, 2)


def test_seeds_reproduce_and_generators_advance():
    for fn, args in [(irandom.gamma, ((5,), 2.0)), (irandom.beta, ((5,), 1.0, 2.0)),
                     (irandom.binomial, ((5,), 10, 0.5)), (irandom.categorical, ([[0.0, 1.0]], 64))]:
        assert torch.equal(fn(*args, seed=7), fn(*args, seed=7))
        g = irandom.SeedGenerator(7)
        first, second = fn(*args, seed=g), fn(*args, seed=g)
        assert torch.equal(first, fn(*args, seed=irandom.SeedGenerator(7)))
        assert not torch.equal(first, second)


@pytest.mark.parametrize("call, match", [
    (lambda: irandom.categorical([0.0, 1.0], 3), "2-D tensor"),
    (lambda: irandom.categorical([[0.0, 1.0]], -1), "num_samples"),
    (lambda: irandom.categorical([[0.0, 1.0]], 2, dtype="float32"), "integer dtype"),
    (lambda: irandom.gamma((3,), 0.0), "alpha"),
    (lambda: irandom.gamma((3,), [1.0, 2.0]), "broadcast"),
    (lambda: irandom.beta((3,), 1.0, -1.0), "must be > 0"),
    (lambda: irandom.binomial((3,), 2.5, 0.5), "counts"),
    (lambda: irandom.binomial((3,), 2, 1.5), "probabilities"),
    (lambda: irandom.binomial((3,), 2, 0.5, dtype="int32"), "float dtype"),
])
def test_bad_arguments_raise_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_signatures_and_dtypes_match_keras():
    keras = pytest.importorskip("keras")
    for name in ("categorical", "gamma", "beta", "binomial"):
        ours, theirs = inspect.signature(getattr(irandom, name)), inspect.signature(getattr(keras.random, name))
        assert [(p.name, p.default) for p in ours.parameters.values()] == \
            [(p.name, p.default) for p in theirs.parameters.values()], name
    assert keras.random.gamma((2,), 2.0, seed=1).dtype == irandom.gamma((2,), 2.0, seed=1).dtype
    assert keras.random.binomial((2,), 3, 0.5, seed=1).dtype == irandom.binomial((2,), 3, 0.5, seed=1).dtype
    assert keras.random.categorical([[0.0, 1.0]], 3, seed=1).dtype == irandom.categorical([[0.0, 1.0]], 3, seed=1).dtype
    assert {n for n in dir(keras.random) if not n.startswith("_")} <= set(dir(irandom))
