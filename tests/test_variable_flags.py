"""``add_weight(aggregation=, autocast=, overwrite_with_gradient=)`` (issue 12, finding 7).

The three flags are validated as Keras validates them and kept on the ``Variable``;
``overwrite_with_gradient`` is live: the optimizer writes the gradient into the variable instead of
updating it (Keras's rule in ``BaseOptimizer.apply``), checked against real Keras (torch backend).
"""

import copy
import os
import pickle

import numpy as np
import pytest
import torch

import initium as keras
from initium import layers

os.environ.setdefault("KERAS_BACKEND", "torch")


def scaled_layer_class(base):
    """A layer with a kernel and a scalar ``s`` that the optimizer overwrites with its gradient."""

    class Scaled(base):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="glorot_uniform", name="w")
            self.s = self.add_weight(shape=(1,), initializer="ones", name="s", overwrite_with_gradient=True)

        def call(self, x):
            return (x @ self.w) * self.s

    return Scaled


def test_flags_are_kept_on_the_variable():
    layer = layers.Dense(2)
    layer.build((None, 3))
    v = layer.add_weight(shape=(2,), name="acc", aggregation="sum", autocast=False, overwrite_with_gradient=True,
                         trainable=True)
    assert (v.aggregation, v.autocast, v.overwrite_with_gradient) == ("sum", False, True)
    kernel = layer.kernel
    assert (kernel.aggregation, kernel.autocast, kernel.overwrite_with_gradient) == ("none", True, False)
    assert layer.add_weight(shape=(1,), name="n", aggregation=None).aggregation == "none"  # Keras maps None to "none"
    for clone in (copy.deepcopy(v), pickle.loads(pickle.dumps(v))):
        assert (clone.aggregation, clone.autocast, clone.overwrite_with_gradient) == ("sum", False, True)


def test_invalid_flags_raise_keras_errors():
    import keras as real

    layer = layers.Dense(2)
    theirs = real.layers.Dense(2)
    msg = (r"Invalid value for argument `aggregation`. Expected one of `None`, `'none'`, `'mean'`, `'sum'`, "
           r"`'only_first_replica'`. Received: aggregation=")
    for lay in (layer, theirs):
        with pytest.raises(ValueError, match=msg):
            lay.add_weight(shape=(2,), name="bad", aggregation="max")
    for lay in (layer, theirs):
        with pytest.raises(TypeError, match=r"`overwrite_with_gradient` must be a boolean. Received: 1"):
            lay.add_weight(shape=(2,), name="bad", overwrite_with_gradient=1)
    assert layer.weights == []  # nothing was created by the failed calls
    v = layer.add_weight(shape=(2,), name="ok")
    with pytest.raises(TypeError, match=r"`overwrite_with_gradient` must be a boolean. Received: 'yes'"):
        v.overwrite_with_gradient = "yes"


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_overwrite_with_gradient_in_fit_matches_keras(optimizer):
    import keras as real

    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 3)).astype("float32")
    y = rng.standard_normal((24, 2)).astype("float32")
    theirs = real.Sequential([real.Input((3,)), scaled_layer_class(real.layers.Layer)()])
    ours = keras.Sequential([keras.Input((3,)), scaled_layer_class(layers.Layer)()])
    ours.set_weights(theirs.get_weights())
    for m, opt in ((ours, keras.optimizers.get(optimizer)), (theirs, real.optimizers.get(optimizer))):
        opt.clipnorm = 0.5  # clipping and decay must not touch the overwritten variable
        m.compile(optimizer=opt, loss="mse")
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)  # 3 steps
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(ours.optimizer.iterations) == 3


def test_overwritten_variable_holds_the_last_gradient():
    layer = scaled_layer_class(layers.Layer)()
    model = keras.Sequential([keras.Input((3,)), layer])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1, weight_decay=0.5), loss="mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    w_before = layer.w.detach().clone()
    s_before = layer.s.detach().clone()
    out = (torch.from_numpy(x) @ w_before) * s_before
    grad_s = (2 * out * (torch.from_numpy(x) @ w_before)).sum(0).sum(0, keepdim=True) / out.numel()  # d mse / d s
    model.train_on_batch(x, y)
    torch.testing.assert_close(layer.s.detach(), grad_s)
    assert not torch.equal(layer.w.detach(), w_before)  # the other variable took the normal update


def test_setting_the_flag_after_the_first_step_takes_effect():
    layer = layers.Dense(1, use_bias=False, kernel_initializer="ones")
    model = keras.Sequential([keras.Input((1,)), layer])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    x, y = np.ones((2, 1), "float32"), np.zeros((2, 1), "float32")
    model.train_on_batch(x, y)  # kernel 1 -> 1 - 0.1 * 2 = 0.8
    np.testing.assert_allclose(layer.kernel.numpy(), [[0.8]], rtol=1e-6)
    layer.kernel.overwrite_with_gradient = True
    model.train_on_batch(x, y)  # gradient of mean((k - 0)^2) at k=0.8: 1.6
    np.testing.assert_allclose(layer.kernel.numpy(), [[1.6]], rtol=1e-6)
    layer.kernel.overwrite_with_gradient = False
    model.train_on_batch(x, y)  # 1.6 - 0.1 * 3.2
    np.testing.assert_allclose(layer.kernel.numpy(), [[1.28]], rtol=1e-6)
