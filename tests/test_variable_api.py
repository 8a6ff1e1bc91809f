"""``initium.Variable`` takes Keras 3's constructor (``keras.Variable(initializer, shape, dtype, trainable,
autocast, aggregation, synchronization, name)``) and has Keras's update methods; compared with real Keras."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import initium

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("make", [
    lambda lib: lib.Variable(initializer="ones", shape=(2, 3), dtype="float16", trainable=False, name="v"),
    lambda lib: lib.Variable([1.0, 2.0, 3.0]),
    lambda lib: lib.Variable(np.arange(4, dtype="float64").reshape(2, 2)),
    lambda lib: lib.Variable(np.array([1, 2], dtype="int32"), trainable=False),
    lambda lib: lib.Variable(2.5, name="scalar"),
    lambda lib: lib.Variable(lib.initializers.Constant(3.0), shape=(2,), aggregation="sum"),
])
def test_construction_matches_keras(make):
    ours, theirs = make(initium), make(keras)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert initium.backend.standardize_dtype(ours.dtype) == keras.backend.standardize_dtype(theirs.dtype)
    assert (ours.trainable, ours.name, ours.path, ours.aggregation) == \
        (theirs.trainable, theirs.name, theirs.path, theirs.aggregation)
    np.testing.assert_array_equal(ours.numpy(), keras.ops.convert_to_numpy(theirs.value))


def test_random_initializers_draw_from_initium_random():
    a = initium.Variable(initium.initializers.HeNormal(seed=3), shape=(64, 32))
    initium.utils.set_random_seed(0)
    b = initium.Variable("he_normal", shape=(64, 32))  # std sqrt(2/64) = 0.177; SE of the sample std ~0.003
    assert a.shape == (64, 32) and a.initializer.__class__.__name__ == "HeNormal" and len(a.init_keys) == 1
    assert torch.equal(a, initium.Variable(initium.initializers.HeNormal(seed=3), shape=(64, 32)))
    assert abs(float(b.detach().std()) - (2 / 64) ** 0.5) < 0.02


def test_updates_match_keras():
    ours, theirs = initium.Variable([1.0, 2.0]), keras.Variable([1.0, 2.0])
    for method, value in [("assign", [5.0, 6.0]), ("assign_add", [1.0, 1.0]), ("assign_sub", np.array([0.5, 2.0]))]:
        getattr(ours, method)(value)
        getattr(theirs, method)(value)
        np.testing.assert_array_equal(ours.numpy(), keras.ops.convert_to_numpy(theirs.value))
    with pytest.raises(ValueError, match="assign_add"):
        ours.assign_add([1.0, 2.0, 3.0])


def test_name_scope_prefixes_paths_like_keras():
    with initium.name_scope("outer"):
        v = initium.Variable(1.0, name="v")
        with initium.name_scope("inner"):
            layer = initium.layers.Dense(2)
            layer.build((None, 3))
    with keras.name_scope("outer"):
        kv = keras.Variable(1.0, name="v")
        with keras.name_scope("inner"):
            klayer = keras.layers.Dense(2)
            klayer.build((None, 3))
    assert v.path == kv.path == "outer/v"
    assert layer.kernel.path.split("/")[:2] == klayer.kernel.path.split("/")[:2] == ["outer", "inner"]


@pytest.mark.parametrize("call, error, match", [
    (lambda: initium.Variable("zeros"), ValueError, "`shape` must be given"),
    (lambda: initium.Variable(), ValueError, "`initializer` is required"),
    (lambda: initium.Variable([1.0], shape=(2,)), ValueError, "does not match"),
    (lambda: initium.Variable(1.0, aggregation="max"), ValueError, "aggregation"),
    (lambda: initium.Variable(1.0, synchronization="often"), ValueError, "synchronization"),
    (lambda: initium.Variable(1.0, name="a/b"), ValueError, "without '/'"),
    (lambda: initium.Variable(1.0, layout="x"), ValueError, "ModelParallel"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_metric_variables_are_variables_with_updates():
    class Total(initium.metrics.Metric):
        def __init__(self):
            super().__init__(name="total")
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")

        def update_state(self, x):
            self.total.assign_add(initium.ops.sum(x))

        def result(self):
            return self.total

    m = Total()
    m.update_state(np.ones(3, "float32"))
    m.update_state(np.ones(2, "float32"))
    assert float(m.result()) == 5.0 and not m.total.trainable
