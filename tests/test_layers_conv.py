"""Convolution layers: shapes, weights, configs and outputs against Keras 3 (torch backend), the
'same'/'causal'/transposed padding arithmetic, initializer defaults, and every argument error."""

import itertools
import warnings

import numpy as np
import pytest
import torch

import initium
from initium import initializers, layers
from layer_testing import run_layer_test

warnings.filterwarnings("ignore", message=".*input_shape.*")


def _keras():
    import keras

    return keras


# ------------------------------------------------------------------------------------------ parity
CONV1D_CASES = [
    ({"filters": 4, "kernel_size": 3}, (2, 9, 3), (2, 7, 4), [(3, 3, 4), (4,)]),
    ({"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 9, 3), (2, 9, 4), None),
    ({"filters": 4, "kernel_size": 4, "padding": "causal", "strides": 2}, (2, 9, 3), (2, 5, 4), None),
    ({"filters": 6, "kernel_size": 2, "padding": "same", "strides": 3, "groups": 3}, (2, 10, 3), (2, 4, 6),
     [(2, 1, 6), (6,)]),
    ({"filters": 4, "kernel_size": 3, "padding": "same", "data_format": "channels_first", "use_bias": False},
     (2, 3, 7), (2, 4, 7), [(3, 3, 4)]),
]

CONV2D_CASES = [
    ({"filters": 4, "kernel_size": 3}, (2, 7, 7, 3), (2, 5, 5, 4), [(3, 3, 3, 4), (4,)]),
    ({"filters": 4, "kernel_size": (2, 4), "strides": 2, "padding": "same"}, (2, 7, 8, 3), (2, 4, 4, 4),
     [(2, 4, 3, 4), (4,)]),
    ({"filters": 4, "kernel_size": (4, 2), "strides": (3, 2), "padding": "SAME"}, (2, 7, 5, 2), (2, 3, 3, 4), None),
    ({"filters": 4, "kernel_size": 3, "padding": "same", "data_format": "channels_first", "groups": 2,
      "dilation_rate": 2}, (2, 4, 7, 8), (2, 4, 7, 8), [(3, 3, 2, 4), (4,)]),
    ({"filters": 5, "kernel_size": (3, 5), "use_bias": False, "activation": "relu",
      "kernel_initializer": "he_normal"}, (2, 6, 7, 4), (2, 4, 3, 5), [(3, 5, 4, 5)]),
    ({"filters": 3, "kernel_size": 2, "strides": 2, "data_format": "channels_first",
      "kernel_regularizer": "l2", "bias_regularizer": {"class_name": "L1", "config": {"l1": 0.5}},
      "activity_regularizer": {"class_name": "L1", "config": {"l1": 0.25}}, "kernel_constraint": "max_norm",
      "bias_constraint": "non_neg",
      "bias_initializer": "ones"}, (2, 3, 5, 6), (2, 3, 2, 3), [(2, 2, 3, 3), (3,)]),
]

CONV3D_CASES = [
    ({"filters": 2, "kernel_size": 2}, (2, 4, 5, 3, 3), (2, 3, 4, 2, 2), [(2, 2, 2, 3, 2), (2,)]),
    ({"filters": 2, "kernel_size": (2, 3, 2), "padding": "same", "strides": 2}, (2, 5, 4, 3, 3), (2, 3, 2, 2, 2),
     None),
    ({"filters": 2, "kernel_size": 3, "padding": "same", "data_format": "channels_first", "dilation_rate": 2,
      "use_bias": False}, (1, 2, 5, 4, 5), (1, 2, 5, 4, 5), [(3, 3, 3, 2, 2)]),
]

TRANSPOSE_CASES = [
    (layers.Conv2DTranspose, {"filters": 8, "kernel_size": 3}, (2, 5, 4, 3), (2, 7, 6, 8), [(3, 3, 8, 3), (8,)]),
    (layers.Conv2DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 4, 3),
     (2, 10, 8, 4), None),
    (layers.Conv2DTranspose, {"filters": 4, "kernel_size": (4, 3), "strides": 2, "padding": "same",
                              "output_padding": 1}, (2, 5, 4, 3), (2, 9, 8, 4), None),
    (layers.Conv2DTranspose, {"filters": 4, "kernel_size": 2, "strides": 3}, (2, 3, 4, 2), (2, 9, 12, 4), None),
    (layers.Conv2DTranspose, {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "same",
                              "data_format": "channels_first", "use_bias": False}, (2, 2, 5, 4), (2, 4, 5, 4),
     [(3, 3, 4, 2)]),
    (layers.Conv2DTranspose, {"filters": 3, "kernel_size": 3, "strides": (2, 1), "output_padding": (1, 0),
                              "activation": "tanh", "bias_initializer": "random_normal"}, (2, 4, 4, 2),
     (2, 10, 6, 3), None),
    (layers.Conv1DTranspose, {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 5, 3),
     (2, 10, 4), [(4, 4, 3), (4,)]),
    (layers.Conv3DTranspose, {"filters": 2, "kernel_size": 2, "strides": 2, "data_format": "channels_first"},
     (1, 3, 2, 3, 2), (1, 2, 4, 6, 4), [(2, 2, 2, 2, 3), (2,)]),
]

DEPTHWISE_CASES = [
    (layers.DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 6, 5, 3), (2, 4, 3, 6),
     [(3, 3, 3, 2), (6,)]),
    (layers.DepthwiseConv2D, {"kernel_size": (2, 3), "strides": 2, "padding": "same",
                              "data_format": "channels_first", "use_bias": False}, (2, 3, 7, 6), (2, 3, 4, 3),
     [(2, 3, 3, 1)]),
    (layers.DepthwiseConv2D, {"kernel_size": 3, "strides": 2, "dilation_rate": 2, "depthwise_initializer": "ones",
                              "depthwise_regularizer": "l2", "bias_initializer": "ones"}, (1, 9, 9, 2),
     (1, 3, 3, 2), None),
    (layers.DepthwiseConv1D, {"kernel_size": 4, "depth_multiplier": 3, "padding": "same"}, (2, 7, 2), (2, 7, 6),
     [(4, 2, 3), (6,)]),
    (layers.SeparableConv2D, {"filters": 5, "kernel_size": 3, "depth_multiplier": 2}, (2, 7, 6, 3), (2, 5, 4, 5),
     [(3, 3, 3, 2), (1, 1, 6, 5), (5,)]),
    (layers.SeparableConv2D, {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same",
                              "data_format": "channels_first", "use_bias": False,
                              "pointwise_initializer": "he_uniform"}, (2, 3, 5, 7), (2, 4, 3, 4),
     [(2, 2, 3, 1), (1, 1, 3, 4)]),
    (layers.SeparableConv1D, {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}, (2, 8, 3),
     (2, 8, 4), [(3, 3, 1), (1, 3, 4), (4,)]),
]


@pytest.mark.parametrize("kwargs,shape,out,weights", CONV1D_CASES)
def test_conv1d_parity(kwargs, shape, out, weights):
    run_layer_test(layers.Conv1D, kwargs, shape, out, weights, expected_trainable=1 + kwargs.get("use_bias", True))


@pytest.mark.parametrize("kwargs,shape,out,weights", CONV2D_CASES)
def test_conv2d_parity(kwargs, shape, out, weights):
    run_layer_test(layers.Conv2D, kwargs, shape, out, weights, expected_trainable=1 + kwargs.get("use_bias", True))


@pytest.mark.parametrize("kwargs,shape,out,weights", CONV3D_CASES)
def test_conv3d_parity(kwargs, shape, out, weights):
    run_layer_test(layers.Conv3D, kwargs, shape, out, weights)


@pytest.mark.parametrize("cls,kwargs,shape,out,weights", TRANSPOSE_CASES)
def test_conv_transpose_parity(cls, kwargs, shape, out, weights):
    run_layer_test(cls, kwargs, shape, out, weights)


@pytest.mark.parametrize("cls,kwargs,shape,out,weights", DEPTHWISE_CASES)
def test_depthwise_and_separable_parity(cls, kwargs, shape, out, weights):
    run_layer_test(cls, kwargs, shape, out, weights)


def _copy_and_compare(ours, theirs, x, atol=1e-5):
    yo = ours(torch.from_numpy(x))
    yk = theirs(x)
    ours.set_weights(theirs.get_weights())
    yo = ours(torch.from_numpy(x)).detach().numpy()
    yk = yk.detach().cpu().numpy()
    assert yo.shape == yk.shape
    np.testing.assert_allclose(yo, yk, atol=atol, rtol=1e-5)
    return yo


def test_same_padding_matches_keras_for_every_kernel_stride_and_size():
    """Even kernels and strides > 1: Keras/TF put the odd padded cell at the bottom/right."""
    keras = _keras()
    rng = np.random.default_rng(1)
    checked = 0
    for k, s, n in itertools.product([1, 2, 3, 4, 5], [1, 2, 3], [1, 2, 4, 5, 7]):
        x = rng.standard_normal((1, n, n + 1, 2)).astype("float32")
        kw = {"filters": 3, "kernel_size": (k, max(1, k - 1)), "strides": (s, 1), "padding": "same",
              "bias_initializer": "ones"}
        y = _copy_and_compare(layers.Conv2D(**kw), keras.layers.Conv2D(**kw), x)
        assert y.shape == (1, -(-n // s), n + 1, 3)
        checked += 1
    assert checked == 75


def test_conv_transpose_sweep_matches_keras_shape_and_values():
    """Keras's output-size formula for 'valid'/'same', with and without output_padding and dilation."""
    keras = _keras()
    rng = np.random.default_rng(2)
    checked = 0
    for k, s, d, pad, op, n in itertools.product([1, 2, 3, 4], [1, 2, 3], [1, 2], ["valid", "same"],
                                                 [None, 0, 1, 2], [2, 5]):
        if (s > 1 and d > 1) or (op is not None and op >= s):
            continue
        if pad == "same" and op is not None and (n - 1) * s + ((k - 1) * d + 1) % 2 + op <= 0:
            continue
        kw = {"filters": 2, "kernel_size": (k, 2), "strides": (s, 1), "dilation_rate": (d, 1), "padding": pad,
              "output_padding": None if op is None else (op, 0), "bias_initializer": "ones"}
        x = rng.standard_normal((1, n, 3, 2)).astype("float32")
        ours = layers.Conv2DTranspose(**kw)
        y = _copy_and_compare(ours, keras.layers.Conv2DTranspose(**kw), x)
        assert ours.compute_output_shape((1, n, 3, 2)) == y.shape
        checked += 1
    assert checked > 100


def test_channels_first_equals_transposed_channels_last():
    x = np.random.default_rng(3).standard_normal((2, 6, 7, 3)).astype("float32")
    last = layers.Conv2D(4, 3, strides=2, padding="same")
    first = layers.Conv2D(4, 3, strides=2, padding="same", data_format="channels_first")
    y_last = last(torch.from_numpy(x))
    first(torch.from_numpy(x.transpose(0, 3, 1, 2)))
    first.set_weights(last.get_weights())
    y_first = first(torch.from_numpy(x.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y_first.detach().numpy().transpose(0, 2, 3, 1), y_last.detach().numpy(), atol=1e-6)


def test_conv2d_matches_a_direct_cross_correlation():
    """No flip, kernel read as (kh, kw, in, out): checked against an explicit numpy sum."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 4, 5, 2)).astype("float32")
    layer = layers.Conv2D(3, (2, 3), bias_initializer="random_normal")
    y = layer(torch.from_numpy(x)).detach().numpy()
    k, b = layer.get_weights()
    ref = np.zeros((1, 3, 3, 3), "float32")
    for i, j in itertools.product(range(3), range(3)):
        ref[0, i, j] = np.einsum("hwc,hwco->o", x[0, i:i + 2, j:j + 3], k) + b
    np.testing.assert_allclose(y, ref, atol=1e-5)


def test_gradients_reach_keras_layout_weights():
    layer = layers.SeparableConv2D(4, 3, padding="same", strides=2)
    x = torch.randn(2, 5, 6, 3)
    layer(x).square().sum().backward()
    for v in layer.weights:
        assert v.grad is not None and v.grad.shape == v.shape and torch.isfinite(v.grad).all()
        assert float(v.grad.abs().sum()) > 0


def test_kernel_regularizer_penalty_in_losses():
    layer = layers.Conv2D(2, 3, kernel_regularizer=initium.regularizers.L2(0.5), kernel_initializer="ones")
    layer(torch.zeros(1, 4, 4, 3))
    (penalty,) = layer.losses
    assert float(penalty.detach()) == pytest.approx(0.5 * 3 * 3 * 3 * 2)


def test_symbolic_unknown_spatial_dims():
    inp = initium.Input(shape=(None, None, 3))
    out = layers.Conv2D(4, 3, strides=2, padding="same")(inp)
    assert out.shape == (None, None, None, 4)
    out = layers.Conv2DTranspose(4, 3, strides=2)(inp)
    assert out.shape == (None, None, None, 4)
    model = initium.Model(inp, out)
    assert model(torch.zeros(1, 5, 6, 3)).shape == (1, 11, 13, 4)


# ------------------------------------------------------------------------------------------ init
def test_seed_cnn_first_layer_shapes_and_henormal_bias():
    """The seed CNN's Conv2D(32, (3, 3)) on (None, 28, 28, 1): shapes, and a HeNormal bias whose
    fan is its own length (32), so std = sqrt(2/32) = 0.25 (not sqrt(2/9) from the kernel's fan)."""
    model = initium.Sequential([
        initium.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu", use_bias=True,
                      bias_initializer=initium.initializers.HeNormal()),
    ])
    conv = model.layers[-1]
    assert conv.kernel.shape == (3, 3, 1, 32) and conv.bias.shape == (32,)
    assert conv.compute_output_shape((None, 28, 28, 1)) == (None, 26, 26, 32)
    assert model.outputs[0].shape == (None, 26, 26, 32)
    assert isinstance(conv.kernel_initializer, initializers.GlorotUniform)
    draws = []
    for seed in range(150):
        initium.random.set_random_seed(seed)
        layer = layers.Conv2D(32, (3, 3), bias_initializer=initium.initializers.HeNormal())
        layer.build((None, 28, 28, 1))
        draws.append(layer.bias.detach().numpy())
    values = np.concatenate(draws)
    assert abs(values.mean()) < 5 * 0.25 / np.sqrt(values.size)  # 5 standard errors
    assert values.std() == pytest.approx(np.sqrt(2 / 32), rel=0.04)
    assert np.abs(values).max() <= 2 * 0.25 / 0.87962566103423978 * 1.13  # truncated at ±2 sigma


def test_default_initializers():
    conv = layers.Conv2D(2, 3)
    assert isinstance(conv.kernel_initializer, initializers.GlorotUniform)
    assert isinstance(conv.bias_initializer, initializers.Zeros)
    conv.build((None, 5, 5, 3))
    assert np.all(conv.get_weights()[1] == 0)
    limit = np.sqrt(6 / (3 * 3 * 3 + 3 * 3 * 2))
    assert np.abs(conv.get_weights()[0]).max() <= limit
    t = layers.Conv2DTranspose(2, 3)
    assert isinstance(t.kernel_initializer, initializers.GlorotUniform)
    assert isinstance(t.bias_initializer, initializers.Zeros)
    dw = layers.DepthwiseConv2D(3)
    assert isinstance(dw.depthwise_initializer, initializers.GlorotUniform)
    assert isinstance(dw.bias_initializer, initializers.Zeros)
    sep = layers.SeparableConv2D(4, 3)
    assert isinstance(sep.depthwise_initializer, initializers.GlorotUniform)
    assert isinstance(sep.pointwise_initializer, initializers.GlorotUniform)
    assert isinstance(sep.bias_initializer, initializers.Zeros)


def test_conv_kernel_fans_follow_keras():
    """Glorot-uniform limit of a (3, 3, 16, 32) kernel: fan_in 144, fan_out 288."""
    conv = layers.Conv2D(32, 3, kernel_initializer=initializers.GlorotUniform(seed=1))
    conv.build((None, 8, 8, 16))
    k = conv.get_weights()[0]
    limit = np.sqrt(6 / (144 + 288))
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.95 * limit


def test_config_normalizes_tuples_like_keras():
    cfg = layers.Conv2D(4, 3, strides=2, padding="Same", data_format="Channels_First").get_config()
    assert cfg["kernel_size"] == (3, 3) and cfg["strides"] == (2, 2) and cfg["dilation_rate"] == (1, 1)
    assert cfg["padding"] == "same" and cfg["data_format"] == "channels_first"
    assert layers.Conv1D(4, 3).get_config()["kernel_size"] == (3,)
    assert layers.Conv2DTranspose(4, 3, strides=2, output_padding=1).get_config()["output_padding"] == (1, 1)
    assert layers.Conv2DTranspose(4, 3).get_config()["output_padding"] is None
    assert layers.Conv2D(4, np.int64(3)).get_config()["kernel_size"] == (3, 3)


def test_aliases_resolve_to_the_same_classes():
    assert layers.Convolution2D is layers.Conv2D and layers.SeparableConvolution2D is layers.SeparableConv2D
    assert layers.Convolution2DTranspose is layers.Conv2DTranspose
    cfg = {"class_name": "Convolution2D", "config": layers.Conv2D(2, 3).get_config(), "module": "keras.layers"}
    cfg["config"].pop("name")
    assert type(layers.deserialize(cfg)) is layers.Conv2D


# ------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("filters", [0, -1, 2.5, "8", None])
def test_bad_filters(filters):
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d\w*'.*`filters`.*strictly positive integer.*Received "
                                         r"filters="):
        layers.Conv2D(filters, 3)


@pytest.mark.parametrize("kernel_size,match", [
    ((3,), r"must be an int or a tuple of 2 integers > 0\. Received kernel_size=\(3,\) \(length 1\)"),
    ((3, 3, 3), r"tuple of 2 integers.*\(length 3\)"),
    (0, r"Received kernel_size=0, including values \[0\] that do not satisfy `value > 0`"),
    ((3, -1), r"including values \[-1\]"),
    ("3", r"Received kernel_size='3'\.$"),
    ((3, 1.5), r"Received kernel_size=\(3, 1\.5\)\.$"),
])
def test_bad_kernel_size(kernel_size, match):
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d\w*': the `kernel_size` argument.*" + match):
        layers.Conv2D(4, kernel_size)


def test_bad_strides_and_dilation():
    with pytest.raises(ValueError, match=r"Conv1D 'conv1d\w*': the `strides` argument.*value > 0"):
        layers.Conv1D(4, 3, strides=0)
    with pytest.raises(ValueError, match=r"`dilation_rate` argument must be an int or a tuple of 3 integers"):
        layers.Conv3D(4, 3, dilation_rate=(1, 2))


def test_bad_padding_suggests():
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d\w*': `padding` must be one of 'valid', 'same'\. "
                                         r"Received: padding='smae'\. Did you mean 'same'\?"):
        layers.Conv2D(4, 3, padding="smae")
    with pytest.raises(ValueError, match=r"'causal' padding is only supported by Conv1D"):
        layers.Conv2D(4, 3, padding="causal")
    with pytest.raises(ValueError, match=r"Conv1D .*one of 'valid', 'same', 'causal'.*Did you mean 'causal'"):
        layers.Conv1D(4, 3, padding="casual")
    with pytest.raises(ValueError, match=r"Conv2DTranspose .*padding=3"):
        layers.Conv2DTranspose(4, 3, padding=3)


def test_bad_data_format():
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d\w*': the `data_format` argument must be one of "
                                         r"\{'channels_first', 'channels_last'\}\. Received: data_format='nhwc'"):
        layers.Conv2D(4, 3, data_format="nhwc")


def test_groups_must_divide_filters_and_channels():
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d\w*': invalid value for argument `groups`"):
        layers.Conv2D(4, 3, groups=0)
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d\w*': the number of filters must be evenly divisible by "
                                         r"the number of groups\. Received: groups=3, filters=4"):
        layers.Conv2D(4, 3, groups=3)
    layer = layers.Conv2D(4, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d\w*': the number of input channels must be evenly "
                                         r"divisible by the number of groups\. Received groups=2, but the input "
                                         r"has 3 channels \(full input shape is \(1, 5, 5, 3\)\)"):
        layer(torch.zeros(1, 5, 5, 3))
    assert not layer.built and layer.weights == []


def test_strides_with_dilation_raise_like_keras():
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d\w*': `strides > 1` not supported in conjunction with "
                                         r"`dilation_rate > 1`\. Received: strides=\(2, 2\) and "
                                         r"dilation_rate=\(1, 2\)"):
        layers.Conv2D(4, 3, strides=2, dilation_rate=(1, 2))
    with pytest.raises(ValueError, match=r"Conv2DTranspose .*`strides > 1` not supported"):
        layers.Conv2DTranspose(4, 3, strides=2, dilation_rate=2)
    # Keras allows it for depthwise/separable (torch supports it): so do we (parity is tested above)
    assert layers.DepthwiseConv2D(3, strides=2, dilation_rate=2).strides == (2, 2)


def test_wrong_rank_names_the_expected_layout():
    with pytest.raises(ValueError, match=r"Input 0 of layer 'conv2d\w*' \(Conv2D\) is incompatible with the layer: "
                                         r"expected ndim=4, found ndim=3\. Full shape received: \(28, 28, 1\)\. "
                                         r"Conv2D expects \(batch, height, width, channels\) with "
                                         r"data_format='channels_last'\."):
        layers.Conv2D(4, 3)(torch.zeros(28, 28, 1))
    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=4.*Conv1D expects \(batch, channels, steps\) "
                                         r"with data_format='channels_first'"):
        layers.Conv1D(4, 3, data_format="channels_first")(initium.Input(shape=(3, 8, 8)))
    built = layers.Conv3D(2, 2)
    built(torch.zeros(1, 3, 3, 3, 1))
    with pytest.raises(ValueError, match=r"expected ndim=5, found ndim=4.*Conv3D expects \(batch, depth, height, "
                                         r"width, channels\)"):
        built(torch.zeros(1, 3, 3, 1))
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 1"):
        built(torch.zeros(1, 3, 3, 3, 2))


def test_kernel_larger_than_input_with_valid_padding():
    """Keras raises "Computed output size would be zero or negative" here; we name the layer and
    say what would work."""
    msg = (r"Conv2D 'conv2d\w*': kernel_size=\(5, 5\) is larger than the input's spatial shape \(4, 9\) with "
           r"padding='valid', so the output would be empty \(strides=\(1, 1\)\)\. Use padding='same', a smaller "
           r"kernel_size, or a larger input\.")
    layer = layers.Conv2D(2, 5)
    with pytest.raises(ValueError, match=msg):
        layer(torch.zeros(1, 4, 9, 3))
    assert layer.weights == []
    with pytest.raises(ValueError, match=msg):
        layers.Conv2D(2, 5)(initium.Input(shape=(4, 9, 3)))
    with pytest.raises(ValueError, match=r"kernel_size=\(3,\) \(dilated to \(5,\) by dilation_rate=\(2,\)\) is "
                                         r"larger than the input's spatial shape \(4,\)"):
        layers.Conv1D(2, 3, dilation_rate=2)(torch.zeros(1, 4, 1))
    with pytest.raises(ValueError, match=r"DepthwiseConv2D .*kernel_size=\(3, 3\) is larger"):
        layers.DepthwiseConv2D(3)(torch.zeros(1, 2, 2, 1))
    # unknown spatial size at build: checked when real data arrives
    model_in = initium.Input(shape=(None, None, 3))
    dyn = layers.Conv2D(2, 5)
    dyn(model_in)
    assert dyn(torch.zeros(1, 5, 5, 3)).shape == (1, 1, 1, 2)
    with pytest.raises(ValueError, match=r"larger than the input's spatial shape \(4, 5\)"):
        dyn(torch.zeros(1, 4, 5, 3))
    assert layers.Conv2D(2, 5, padding="same")(torch.zeros(1, 4, 4, 3)).shape == (1, 4, 4, 2)


def test_conv_transpose_argument_errors():
    with pytest.raises(ValueError, match=r"Conv2DTranspose 'conv2d_transpose\w*': each value in `output_padding` "
                                         r"must be strictly less than the corresponding `strides` value\. At index "
                                         r"0, `output_padding` is 2 and `strides` is 2"):
        layers.Conv2DTranspose(4, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match=r"`output_padding` argument must be an int or a tuple of 2 integers >= 0"):
        layers.Conv2DTranspose(4, 3, output_padding=-1)
    with pytest.raises(ValueError, match=r"Conv2DTranspose .*`filters`"):
        layers.Conv2DTranspose(0, 3)
    with pytest.raises(ValueError, match=r"Conv2DTranspose .*the output would be empty: spatial shape \(0, 1\) "
                                         r"for an input of spatial shape \(1, 2\)"):
        layers.Conv2DTranspose(2, 2, padding="same", output_padding=0)(torch.zeros(1, 1, 2, 3))


def test_depthwise_and_separable_argument_errors():
    with pytest.raises(ValueError, match=r"DepthwiseConv2D 'depthwise_conv2d\w*': invalid value for argument "
                                         r"`depth_multiplier`.*Received depth_multiplier=0"):
        layers.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match=r"SeparableConv2D .*`filters`.*Received filters=-2"):
        layers.SeparableConv2D(-2, 3)
    with pytest.raises(ValueError, match=r"SeparableConv2D .*Did you mean 'valid'"):
        layers.SeparableConv2D(2, 3, padding="vaild")
    with pytest.raises(ValueError, match=r"Unrecognized keyword arguments passed to DepthwiseConv2D"):
        layers.DepthwiseConv2D(3, kernel_initializer="ones")


def test_unknown_channels_cannot_build():
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d\w*': the channel axis of the input must be known"):
        layers.Conv2D(2, 3).build((None, 5, 5, None))
