"""Dropout and friends: Keras parity in inference, statistics in training, seeded reproducibility,
argument errors."""

import copy
import math
import re

import pytest
import torch

import initium
from initium import layers
from layer_testing import run_layer_test

# A fraction estimated from n Bernoulli(p) draws lies within 6 standard errors of p.
def _assert_fraction(dropped, n, p):
    se = math.sqrt(p * (1 - p) / n)
    assert abs(dropped / n - p) < 6 * se, f"dropped fraction {dropped / n:.4f}, expected {p} +- {6 * se:.4f}"


# ---------------------------------------------------------------------------------------- Dropout
@pytest.mark.parametrize("kwargs,shape", [
    ({"rate": 0.5}, (2, 5)),
    ({"rate": 0.3, "seed": 7}, (2, 3, 4)),
    ({"rate": 0.5, "noise_shape": (None, 1, 4)}, (2, 3, 4)),
    ({"rate": 0.2, "noise_shape": [2, 3, 1]}, (2, 3, 4)),
])
def test_dropout_parity_in_inference(kwargs, shape):
    run_layer_test(layers.Dropout, kwargs, input_shape=shape, expected_output_shape=shape, expected_weight_shapes=[],
                   expected_trainable=0)


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_dropout_edge_rates_match_keras_in_training_too(rate):
    # rate 0 is the identity and rate 1 gives zeros, in both modes: deterministic, so Keras must agree
    run_layer_test(layers.Dropout, {"rate": rate}, input_shape=(3, 4), expected_output_shape=(3, 4),
                   expected_weight_shapes=[], training_modes=(True, False))


def test_dropout_inference_is_the_identity_object():
    x = torch.randn(4, 4)
    d = layers.Dropout(0.5)
    assert d(x) is x and d(x, training=False) is x


@pytest.mark.parametrize("seed", [None, 3])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_training_statistics(rate, seed):
    x = torch.full((200, 300), 2.0)
    y = layers.Dropout(rate, seed=seed)(x, training=True)
    dropped = int((y == 0).sum())
    _assert_fraction(dropped, x.numel(), rate)
    kept = y[y != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 2.0 / (1 - rate)), rtol=1e-6, atol=0)


def test_dropout_noise_shape_shares_the_mask():
    x = torch.ones(50, 8, 20)
    y = layers.Dropout(0.5, noise_shape=(None, 1, 20), seed=1)(x, training=True)
    assert torch.equal(y, y[:, :1, :].expand_as(y))  # same mask at every step
    _assert_fraction(int((y[:, 0] == 0).sum()), 50 * 20, 0.5)
    with pytest.raises(ValueError, match=r"noise_shape=\(None, 1\) has 2 dimensions but the input has shape \(50, 8, 20\)"):
        layers.Dropout(0.5, noise_shape=(None, 1))(x, training=True)
    with pytest.raises(ValueError, match=r"does not broadcast to the input shape"):
        layers.Dropout(0.5, noise_shape=(None, 3, 1))(x, training=True)


def test_seeded_dropout_is_reproducible():
    x = torch.ones(64, 64)
    a, b = layers.Dropout(0.5, seed=11), layers.Dropout(0.5, seed=11)
    a1, a2 = a(x, training=True), a(x, training=True)
    b1, b2 = b(x, training=True), b(x, training=True)
    assert torch.equal(a1, b1) and torch.equal(a2, b2)  # same seed, same sequence of masks
    assert not torch.equal(a1, a2)  # the generator advances: fresh masks per call
    c = layers.Dropout.from_config(a.get_config())
    assert torch.equal(c(x, training=True), a1)
    assert not torch.equal(layers.Dropout(0.5, seed=12)(x, training=True), a1)
    d = copy.deepcopy(b)  # a copy continues the same stream
    assert torch.equal(d(x, training=True), b(x, training=True))


def test_unseeded_dropout_follows_torch_global_seed():
    x = torch.ones(32, 32)
    initium.random.set_random_seed(5)
    first = layers.Dropout(0.5)(x, training=True)
    initium.random.set_random_seed(5)
    again = layers.Dropout(0.5)(x, training=True)
    assert torch.equal(first, again)


def test_dropout_gradient_is_the_mask():
    x = torch.ones(10, 10, requires_grad=True)
    y = layers.Dropout(0.4, seed=2)(x, training=True)
    y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach())


def test_dropout_training_comes_from_the_enclosing_call():
    inp = initium.Input(shape=(100,))
    model = initium.Model(inp, layers.Dropout(0.5)(inp))
    x = torch.ones(4, 100)
    assert torch.equal(model(x), x)
    assert int((model(x, training=True) == 0).sum()) > 0


def test_dropout_passes_a_mask_through():
    ids = torch.tensor([[1, 0, 2]])
    y = layers.Dropout(0.5)(layers.Embedding(4, 2, mask_zero=True)(ids))
    assert torch.equal(y._keras_mask, ids != 0)


def test_dropout_errors():
    msg = "Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate=1.5"
    with pytest.raises(ValueError, match=re.escape(msg) + r" \(in Dropout 'drop_a'\)"):
        layers.Dropout(1.5, name="drop_a")
    with pytest.raises(ValueError, match=r"Received: rate=-0.1"):
        layers.Dropout(-0.1)
    with pytest.raises(TypeError, match=r"Received: rate='a' \(of type str\)"):
        layers.Dropout("a")
    with pytest.raises(ValueError, match=r"Expected a tuple or list of integers. Received: noise_shape=abc"):
        layers.Dropout(0.5, noise_shape="abc")
    with pytest.raises(ValueError, match=r"Expected an iterable of integers"):
        layers.Dropout(0.5, noise_shape=3)
    with pytest.raises(ValueError, match=r"Received element at index 1: 2.5 \(type: float\)"):
        layers.Dropout(0.5, noise_shape=(None, 2.5))
    with pytest.raises(ValueError, match=r"Received negative or zero value at index 0: 0"):
        layers.Dropout(0.5, noise_shape=(0, 1))
    with pytest.raises(ValueError, match=r"Argument `seed` must be an integer. Received: seed='s'"):
        layers.Dropout(0.5, seed="s")
    layers.Dropout(1.0)  # accepted, as in Keras


# ---------------------------------------------------------------------------------------- spatial dropouts
@pytest.mark.parametrize("cls,kwargs,shape", [
    (layers.SpatialDropout2D, {"rate": 0.5}, (2, 4, 5, 3)),
    (layers.SpatialDropout2D, {"rate": 0.3, "data_format": "channels_first", "seed": 1}, (2, 3, 4, 5)),
    (layers.SpatialDropout1D, {"rate": 0.5}, (2, 4, 3)),
    (layers.SpatialDropout3D, {"rate": 0.5, "data_format": "channels_last"}, (2, 3, 4, 2, 3)),
    (layers.SpatialDropout3D, {"rate": 0.5, "data_format": "channels_first"}, (2, 3, 4, 2, 3)),
])
def test_spatial_dropout_parity_in_inference(cls, kwargs, shape):
    run_layer_test(cls, kwargs, input_shape=shape, expected_output_shape=shape, expected_weight_shapes=[])


@pytest.mark.parametrize("cls,kwargs,shape,channel_axis", [
    (layers.SpatialDropout2D, {}, (40, 6, 7, 25), 3),
    (layers.SpatialDropout2D, {"data_format": "channels_first"}, (40, 25, 6, 7), 1),
    (layers.SpatialDropout2D, {"seed": 4}, (40, 6, 7, 25), 3),
    (layers.SpatialDropout1D, {}, (40, 9, 25), 2),
    (layers.SpatialDropout3D, {"data_format": "channels_first"}, (40, 25, 3, 2, 4), 1),
])
def test_spatial_dropout_drops_whole_channels(cls, kwargs, shape, channel_axis):
    rate = 0.4
    x = torch.full(shape, 3.0)
    y = cls(rate, **kwargs)(x, training=True)
    spatial = [d for d in range(1, len(shape)) if d != channel_axis]
    per_map = y.amax(dim=spatial)
    assert torch.equal(y.amin(dim=spatial), per_map)  # every feature map is all kept or all dropped
    _assert_fraction(int((per_map == 0).sum()), per_map.numel(), rate)
    kept = per_map[per_map != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 3.0 / (1 - rate)), rtol=1e-6, atol=0)


def test_spatial_dropout_config_is_keras_short_form():
    cfg = layers.SpatialDropout2D(0.5, name="sd").get_config()
    assert cfg == {"rate": 0.5, "seed": None, "name": "sd", "dtype": "float32", "data_format": "channels_last"}
    assert layers.SpatialDropout2D(0.5, data_format="Channels_First").data_format == "channels_first"
    assert set(layers.SpatialDropout1D(0.5).get_config()) == {"rate", "seed", "name", "dtype"}


def test_spatial_dropout_errors():
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=3"):
        layers.SpatialDropout2D(0.5)(torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=2"):
        layers.SpatialDropout1D(0.5)(torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"The `data_format` argument must be one of .*Received: data_format=nhwc"):
        layers.SpatialDropout2D(0.5, data_format="nhwc")
    with pytest.raises(TypeError, match=r"trainable"):
        layers.SpatialDropout2D(0.5, trainable=False)  # Keras's signature has no **kwargs
    with pytest.raises(ValueError, match=r"Received: rate=2 \(in SpatialDropout2D"):
        layers.SpatialDropout2D(2)


def test_spatial_dropout_rate_one_and_zero():
    x = torch.ones(2, 3, 3, 4)
    assert torch.equal(layers.SpatialDropout2D(1.0)(x, training=True), torch.zeros_like(x))
    assert torch.equal(layers.SpatialDropout2D(0.0)(x, training=True), x)


# ---------------------------------------------------------------------------------------- noise layers
@pytest.mark.parametrize("cls,kwargs", [
    (layers.GaussianNoise, {"stddev": 0.3}),
    (layers.GaussianNoise, {"stddev": 1.0, "seed": 3}),
    (layers.GaussianDropout, {"rate": 0.4}),
    (layers.AlphaDropout, {"rate": 0.2, "noise_shape": [None, 1]}),
    (layers.AlphaDropout, {"rate": 0.5, "seed": 2}),
])
def test_noise_layers_parity_in_inference(cls, kwargs):
    run_layer_test(cls, kwargs, input_shape=(3, 4), expected_output_shape=(3, 4), expected_weight_shapes=[])


def test_gaussian_noise_training_statistics():
    x = torch.randn(400, 500)
    layer = layers.GaussianNoise(0.5)
    assert torch.equal(layer(x), x)
    noise = layer(x, training=True) - x
    n = noise.numel()
    assert abs(float(noise.mean())) < 6 * 0.5 / math.sqrt(n)
    assert abs(float(noise.std()) - 0.5) < 6 * 0.5 / math.sqrt(2 * n)


def test_gaussian_dropout_training_statistics():
    rate = 0.3
    x = torch.full((400, 500), 2.0)
    factor = layers.GaussianDropout(rate)(x, training=True) / 2.0
    sd = math.sqrt(rate / (1 - rate))
    n = factor.numel()
    assert abs(float(factor.mean()) - 1.0) < 6 * sd / math.sqrt(n)
    assert abs(float(factor.std()) - sd) < 6 * sd / math.sqrt(2 * n)


def test_alpha_dropout_keeps_selu_statistics():
    rate = 0.2
    x = torch.randn(500, 400, generator=torch.Generator().manual_seed(0))
    y = layers.AlphaDropout(rate, seed=1)(x, training=True)
    assert abs(float(y.mean())) < 0.02 and abs(float(y.var()) - 1.0) < 0.02
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * rate
    dropped = torch.isclose(y, torch.tensor(a * alpha_p + b), atol=1e-6)
    _assert_fraction(int(dropped.sum()), y.numel(), rate)
    torch.testing.assert_close(y[~dropped], a * x[~dropped] + b)


def test_seeded_noise_is_reproducible():
    x = torch.ones(16, 16)
    for cls in (layers.GaussianNoise, layers.GaussianDropout, layers.AlphaDropout):
        a, b = cls(0.5, seed=9), cls(0.5, seed=9)
        first = a(x, training=True)
        assert torch.equal(first, b(x, training=True))
        assert not torch.equal(first, a(x, training=True))


def test_noise_layer_errors():
    with pytest.raises(ValueError, match=re.escape(
            "Invalid value received for argument `stddev`. Expected a float value between 0 and 1. Received: stddev=2")):
        layers.GaussianNoise(2)
    with pytest.raises(ValueError, match=r"Received: rate=1.2 \(in GaussianDropout"):
        layers.GaussianDropout(1.2)
    with pytest.raises(ValueError, match=r"GaussianDropout 'gd1': rate=1 means noise of infinite"):
        layers.GaussianDropout(1.0, name="gd1")(torch.ones(2, 2), training=True)
    with pytest.raises(ValueError, match=r"AlphaDropout 'ad1': rate=1 drops every unit"):
        layers.AlphaDropout(1.0, name="ad1")(torch.ones(2, 2), training=True)
    with pytest.raises(ValueError, match=r"Argument `seed` must be an integer"):
        layers.GaussianNoise(0.1, seed=1.5)


# ---------------------------------------------------------------------------------------- ActivityRegularization
def test_activity_regularization_parity_and_loss():
    run_layer_test(layers.ActivityRegularization, {"l1": 0.1, "l2": 0.01}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_weight_shapes=[])
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    x = torch.tensor([[1.0, -2.0], [3.0, 0.0]])
    assert torch.equal(layer(x), x)
    assert float(layer.losses[0]) == pytest.approx((0.1 * 6 + 0.01 * 14) / 2)
    assert "activity_regularizer" not in layer.get_config()
