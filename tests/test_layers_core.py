"""Dense, Activation and InputLayer through the declarative helper (shapes, config, Keras parity)."""

import os

import numpy as np
import pytest
import torch

import initium
from initium import initializers, layers
from layer_testing import run_layer_test

os.environ.setdefault("KERAS_BACKEND", "torch")


@pytest.mark.parametrize("kwargs, in_shape, out_shape, weights", [
    ({"units": 3}, (2, 4), (2, 3), [(4, 3), (3,)]),
    ({"units": 5, "activation": "relu"}, (2, 3, 4), (2, 3, 5), [(4, 5), (5,)]),
    ({"units": 2, "use_bias": False, "activation": "tanh"}, (4, 6), (4, 2), [(6, 2)]),
    ({"units": 4, "kernel_initializer": "he_normal", "bias_initializer": "ones", "activation": "gelu"}, (3, 2, 2, 7), (3, 2, 2, 4), [(7, 4), (4,)]),
    ({"units": 3, "kernel_regularizer": "l2", "bias_constraint": "non_neg", "activation": "softplus"}, (2, 4), (2, 3), [(4, 3), (3,)]),
    ({"units": 3, "activity_regularizer": "l1", "kernel_initializer": {"class_name": "RandomNormal", "config": {"stddev": 0.3, "seed": 2}}}, (2, 4), (2, 3), [(4, 3), (3,)]),
], ids=["plain", "rank3-relu", "nobias-tanh", "rank4-he-ones-gelu", "reg-constraint", "activity-dict-init"])
def test_dense(kwargs, in_shape, out_shape, weights):
    run_layer_test(layers.Dense, kwargs, in_shape, out_shape, expected_weight_shapes=weights,
                   expected_trainable=len(weights))


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "softmax", "elu", "selu", "swish", "hard_sigmoid",
                                        "leaky_relu", "relu6", "log_softmax", "linear", "mish"])
def test_activation(activation):
    run_layer_test(layers.Activation, {"activation": activation}, (3, 5), (3, 5), expected_weight_shapes=[],
                   expected_trainable=0)


def test_input_layer_config_matches_keras():
    import keras

    ours = layers.InputLayer(shape=(28, 28, 1), name="img")
    theirs = keras.layers.InputLayer(shape=(28, 28, 1), name="img")
    cfg = ours.get_config()
    assert cfg == {**theirs.get_config(), "batch_shape": tuple(theirs.get_config()["batch_shape"])}
    again = layers.InputLayer.from_config(cfg)
    assert again.batch_shape == (None, 28, 28, 1) and again.output.shape == (None, 28, 28, 1)
    x = initium.Input(shape=(3,), batch_size=8, dtype="int32")
    assert x.shape == (8, 3) and x.dtype == "int32"


@pytest.mark.parametrize("bad, message", [
    (None, "You must pass a `shape` argument."),
    (3, r"Cannot convert '3' to a shape. Pass a tuple: shape=\(3,\)."),
    ((3, -1), r"is not a non-negative int or None"),
])
def test_input_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        initium.Input(shape=bad)


def test_unknown_activation_suggests():
    with pytest.raises(ValueError, match=r"Could not interpret activation function identifier: 'rellu'.*Did you mean 'relu'"):
        layers.Dense(2, activation="rellu")
    with pytest.raises(ValueError, match="Did you mean 'softmax'"):
        layers.Activation("softmx")


def test_dense_softmax_on_one_unit_warns():
    d = layers.Dense(1, activation="softmax")
    with pytest.warns(UserWarning, match="size 1"):
        out = d(np.ones((4, 3), "float32"))
    assert torch.all(out == 1.0)


def test_dense_default_initializers_and_variance():
    d = layers.Dense(300)
    d.build((None, 500))
    assert isinstance(d.kernel_initializer, initializers.GlorotUniform)
    assert isinstance(d.bias_initializer, initializers.Zeros) and float(d.bias.detach().abs().max()) == 0.0
    k = d.kernel.detach().double()
    n = k.numel()
    expected_var = 2.0 / (500 + 300)  # Glorot: limit^2 / 3 = 6 / (in + out) / 3
    assert abs(float(k.var()) / expected_var - 1) < 6 * (0.8 / n) ** 0.5
    assert float(k.abs().max()) <= (6 / 800) ** 0.5


def test_dense_lora_and_quantization_refused():
    with pytest.raises(ValueError, match="LoRA and quantization are not supported"):
        layers.Dense(2, lora_rank=4)
