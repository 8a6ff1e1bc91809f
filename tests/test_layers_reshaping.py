"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, ZeroPadding2D, UpSampling2D.

Every layer runs through ``run_layer_test`` (shapes, config round trip, Keras parity of config and
outputs); the symbolic shapes with unknown sizes are compared with Keras's; every argument error
is checked for its type and message.
"""

import numpy as np
import pytest
import torch

import initium
from initium import layers
from layer_testing import run_layer_test


def _keras():
    import keras

    return keras


def _symbolic_shape_matches_keras(cls_name, kwargs, shape):
    """``layer(Input(shape)).shape`` equals Keras's for the same layer and input."""
    keras = _keras()
    ours = getattr(layers, cls_name)(**kwargs)(initium.Input(shape=shape)).shape
    theirs = getattr(keras.layers, cls_name)(**kwargs)(keras.Input(shape=shape)).shape
    assert ours == tuple(theirs), (ours, theirs)
    return ours


# ---------------------------------------------------------------------------------------- Flatten
@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    ({}, (2, 3, 4), (2, 12)),
    ({}, (2, 3, 4, 5), (2, 60)),
    ({}, (5,), (5, 1)),
    ({"data_format": "channels_first"}, (2, 3, 4, 5), (2, 60)),
    ({"data_format": "channels_first"}, (2, 3, 4), (2, 12)),
    ({"data_format": "channels_last"}, (2, 7), (2, 7)),
])
def test_flatten(kwargs, in_shape, out_shape):
    run_layer_test(layers.Flatten, kwargs, input_shape=in_shape, expected_output_shape=out_shape,
                   expected_weight_shapes=[], expected_trainable=0)


def test_flatten_channels_first_moves_channels_last_first():
    x = np.arange(24, dtype="float32").reshape(1, 2, 3, 4)  # (batch, channels, h, w)
    y = layers.Flatten(data_format="channels_first")(x).numpy()
    np.testing.assert_array_equal(y, x.transpose(0, 2, 3, 1).reshape(1, -1))
    y_last = layers.Flatten()(x).numpy()
    np.testing.assert_array_equal(y_last, x.reshape(1, -1))


def test_flatten_unknown_dims_and_config_default():
    assert _symbolic_shape_matches_keras("Flatten", {}, (None, 3)) == (None, None)
    assert _symbolic_shape_matches_keras("Flatten", {}, (4, 3)) == (None, 12)
    assert layers.Flatten().compute_output_shape((None, None, 3)) == (None, None)
    assert layers.Flatten().compute_output_shape((7, 2, 3)) == (7, 6)
    layer = layers.Flatten()
    assert layer.get_config()["data_format"] == "channels_last"
    assert layers.Flatten(data_format="CHANNELS_FIRST").data_format == "channels_first"
    for n in (3, 5):  # an unknown axis: one layer serves any length
        assert layer(np.ones((2, n, 3), "float32")).shape == (2, 3 * n)


def test_flatten_errors():
    with pytest.raises(ValueError, match=r"`data_format` argument must be one of .*Received: data_format='foo' "
                                         r"\(in Flatten 'flat'\)"):
        layers.Flatten(data_format="foo", name="flat")
    with pytest.raises(ValueError, match=r"layer 'f0'.*expected min_ndim=1, found ndim=0"):
        layers.Flatten(name="f0")(torch.tensor(1.0))


# ---------------------------------------------------------------------------------------- Reshape
@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    ({"target_shape": (3, 4)}, (2, 12), (2, 3, 4)),
    ({"target_shape": (3, -1)}, (2, 12), (2, 3, 4)),
    ({"target_shape": (-1,)}, (2, 3, 4), (2, 12)),
    ({"target_shape": [2, -1, 3]}, (2, 4, 3), (2, 2, 2, 3)),
    ({"target_shape": (6, 2, 1)}, (2, 3, 4), (2, 6, 2, 1)),
])
def test_reshape(kwargs, in_shape, out_shape):
    layer = run_layer_test(layers.Reshape, kwargs, input_shape=in_shape, expected_output_shape=out_shape,
                           expected_weight_shapes=[], expected_trainable=0)
    assert isinstance(layer.get_config()["target_shape"], tuple)


def test_reshape_unknown_dims():
    assert _symbolic_shape_matches_keras("Reshape", {"target_shape": (3, -1)}, (None, 2)) == (None, 3, None)
    assert _symbolic_shape_matches_keras("Reshape", {"target_shape": (3, -1)}, (2, 3)) == (None, 3, 2)
    layer = layers.Reshape((-1, 2))
    assert layer(np.ones((2, 4, 3), "float32")).shape == (2, 6, 2)
    assert layer(np.ones((2, 5, 2), "float32")).shape == (2, 5, 2)  # a new sample shape re-resolves -1


def test_reshape_values_follow_row_major_order():
    x = np.arange(24, dtype="float32").reshape(2, 12)
    np.testing.assert_array_equal(layers.Reshape((3, 4))(x).numpy(), x.reshape(2, 3, 4))


def test_reshape_errors():
    with pytest.raises(ValueError, match=r"Reshape 'rs': the total size of the tensor must be unchanged\. "
                                         r"Received: input_shape=\(6,\).*target_shape=\(5,\)"):
        layers.Reshape((5,), name="rs")(np.ones((2, 6), "float32"))
    with pytest.raises(ValueError, match=r"Reshape 'rs2': the total size .*input_shape=\(6,\).*target_shape=\(5,\)"):
        layers.Reshape((5,), name="rs2")(initium.Input((6,)))
    with pytest.raises(ValueError, match=r"Reshape 'rs3'.*cannot be divided.*target_shape=\(5, -1\)"):
        layers.Reshape((5, -1), name="rs3")(np.ones((2, 6), "float32"))
    with pytest.raises(ValueError, match=r"at most one unknown dimension \(-1\).*target_shape=\(-1, -1\)"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match=r"must be a non-negative integer, or `-1`.*target_shape=\(-2, 3\)"):
        layers.Reshape((-2, 3))
    with pytest.raises(ValueError, match=r"non-negative integer.*\(2.5, 3\)"):
        layers.Reshape((2.5, 3))
    with pytest.raises(TypeError, match=r"Reshape 'r4'.*received the int 12\. Pass target_shape=\(12,\)"):
        layers.Reshape(12, name="r4")


# ---------------------------------------------------------------------------------------- Permute
@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    ({"dims": (2, 1)}, (2, 3, 4), (2, 4, 3)),
    ({"dims": (1, 2)}, (2, 3, 4), (2, 3, 4)),
    ({"dims": [3, 1, 2]}, (2, 3, 4, 5), (2, 5, 3, 4)),
    ({"dims": (1,)}, (2, 3), (2, 3)),
])
def test_permute(kwargs, in_shape, out_shape):
    run_layer_test(layers.Permute, kwargs, input_shape=in_shape, expected_output_shape=out_shape,
                   expected_weight_shapes=[], expected_trainable=0)


def test_permute_values_and_unknown_dims():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype("float32")
    np.testing.assert_array_equal(layers.Permute((3, 1, 2))(x).numpy(), x.transpose(0, 3, 1, 2))
    assert _symbolic_shape_matches_keras("Permute", {"dims": (2, 1)}, (None, 4)) == (None, 4, None)
    assert layers.Permute([2, 1]).get_config()["dims"] == (2, 1)


def test_permute_errors():
    with pytest.raises(ValueError, match=r"Invalid permutation argument `dims` for Permute Layer.*consecutive and "
                                         r"start from 1\. Received dims=\(1, 3\) \(in Permute 'pm'\)"):
        layers.Permute((1, 3), name="pm")
    with pytest.raises(ValueError, match=r"Received dims=\(0, 1\)"):
        layers.Permute((0, 1))
    with pytest.raises(ValueError, match=r"Received dims=\(1, 1\)"):
        layers.Permute((1, 1))
    with pytest.raises(TypeError, match=r"Permute 'pm2': `dims` must be a tuple"):
        layers.Permute(2, name="pm2")
    with pytest.raises(ValueError, match=r"layer 'pm3'.*expected ndim=3, found ndim=4"):
        layers.Permute((2, 1), name="pm3")(np.ones((2, 3, 4, 5), "float32"))


# ---------------------------------------------------------------------------------------- RepeatVector
@pytest.mark.parametrize("n, in_shape", [(3, (2, 4)), (1, (2, 5)), (4, (3, 1))])
def test_repeat_vector(n, in_shape):
    run_layer_test(layers.RepeatVector, {"n": n}, input_shape=in_shape,
                   expected_output_shape=(in_shape[0], n, in_shape[1]), expected_weight_shapes=[],
                   expected_trainable=0)


def test_repeat_vector_values_and_output_is_writable():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = layers.RepeatVector(3)(x)
    np.testing.assert_array_equal(y.numpy(), np.repeat(x.numpy()[:, None, :], 3, axis=1))
    y[0, 0, 0] = 9.0  # a real copy, not a broadcast view: in-place writes touch one element
    assert y[0, 1, 0] == 1.0 and x[0, 0] == 1.0
    assert _symbolic_shape_matches_keras("RepeatVector", {"n": 2}, (None,)) == (None, 2, None)


def test_repeat_vector_errors():
    with pytest.raises(ValueError, match=r"Argument `n` should be a positive integer\. Received: n=0 \(in RepeatVector 'rv'\)"):
        layers.RepeatVector(0, name="rv")
    with pytest.raises(TypeError, match=r"Expected an integer value for `n`, got <class 'float'>"):
        layers.RepeatVector(2.0)
    with pytest.raises(TypeError, match=r"Expected an integer value for `n`, got <class 'bool'>"):
        layers.RepeatVector(True)
    with pytest.raises(ValueError, match=r"layer 'rv2'.*expected ndim=2, found ndim=3.*RepeatVector needs"):
        layers.RepeatVector(2, name="rv2")(np.ones((2, 3, 4), "float32"))


# ---------------------------------------------------------------------------------------- ZeroPadding2D
@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    ({}, (2, 3, 4, 2), (2, 5, 6, 2)),
    ({"padding": 2}, (2, 3, 4, 2), (2, 7, 8, 2)),
    ({"padding": (1, 2)}, (2, 3, 4, 2), (2, 5, 8, 2)),
    ({"padding": ((1, 2), (3, 0))}, (2, 3, 4, 2), (2, 6, 7, 2)),
    ({"padding": ((1, 2), (3, 0)), "data_format": "channels_first"}, (2, 2, 3, 4), (2, 2, 6, 7)),
    ({"padding": 0}, (1, 3, 3, 1), (1, 3, 3, 1)),
])
def test_zero_padding_2d(kwargs, in_shape, out_shape):
    run_layer_test(layers.ZeroPadding2D, kwargs, input_shape=in_shape, expected_output_shape=out_shape,
                   expected_weight_shapes=[], expected_trainable=0)


def test_zero_padding_2d_values_config_and_unknown_dims():
    x = np.ones((1, 2, 2, 1), "float32")
    y = layers.ZeroPadding2D(((1, 0), (0, 2)))(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(y, [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]])
    assert layers.ZeroPadding2D(3).get_config()["padding"] == ((3, 3), (3, 3))
    assert layers.ZeroPadding2D([1, 2]).get_config()["padding"] == ((1, 1), (2, 2))
    assert _symbolic_shape_matches_keras("ZeroPadding2D", {"padding": 2}, (None, 3, 2)) == (None, None, 7, 2)
    assert _symbolic_shape_matches_keras(
        "ZeroPadding2D", {"padding": (1, 2), "data_format": "channels_first"}, (3, None, 4)) == (None, 3, None, 8)


def test_zero_padding_2d_errors():
    with pytest.raises(ValueError, match=r"`padding` should have two elements\. Received: padding=\(1,\) "
                                         r"\(in ZeroPadding2D 'zp'\)"):
        layers.ZeroPadding2D((1,), name="zp")
    with pytest.raises(ValueError, match=r"`padding` should have two elements\. Received: padding=\(1, 2, 3\)"):
        layers.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match=r"The `1st entry of padding` argument must be a tuple of 2 integers\. "
                                         r"Received 1st entry of padding=-1, including values \{-1\} that do not "
                                         r"satisfy `value >= 0`"):
        layers.ZeroPadding2D((-1, 2))
    with pytest.raises(ValueError, match=r"The `2nd entry of padding` argument must be a tuple of 2 integers"):
        layers.ZeroPadding2D(((1, 1), (1, 2, 3)))
    with pytest.raises(ValueError, match=r"1st entry of padding=1\.5"):
        layers.ZeroPadding2D((1.5, 2))
    with pytest.raises(ValueError, match=r"`padding` should be either an int, a tuple of 2 ints.*padding=1\.5"):
        layers.ZeroPadding2D(1.5)
    with pytest.raises(ValueError, match=r"`padding` must be >= 0\. Received: padding=-1 \(in ZeroPadding2D 'zn'\)"):
        layers.ZeroPadding2D(-1, name="zn")  # Keras crops silently here; initium refuses
    with pytest.raises(ValueError, match=r"data_format='nhwc'"):
        layers.ZeroPadding2D(data_format="nhwc")
    with pytest.raises(ValueError, match=r"layer 'zp4'.*expected ndim=4, found ndim=3"):
        layers.ZeroPadding2D(name="zp4")(np.ones((2, 3, 4), "float32"))


# ---------------------------------------------------------------------------------------- UpSampling2D
@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    ({}, (2, 3, 4, 2), (2, 6, 8, 2)),
    ({"size": 3}, (2, 3, 4, 2), (2, 9, 12, 2)),
    ({"size": (2, 3), "data_format": "channels_first"}, (2, 2, 3, 4), (2, 2, 6, 12)),
    ({"size": (2, 3), "interpolation": "bilinear"}, (2, 3, 4, 2), (2, 6, 12, 2)),
    ({"size": (3, 2), "interpolation": "bilinear", "data_format": "channels_first"}, (2, 2, 3, 4), (2, 2, 9, 8)),
    ({"size": (1, 4), "interpolation": "bilinear"}, (1, 5, 2, 3), (1, 5, 8, 3)),
    ({"size": 2, "interpolation": "bicubic"}, (2, 4, 3, 2), (2, 8, 6, 2)),
    ({"size": (2, 1), "interpolation": "nearest", "data_format": "channels_first"}, (1, 3, 2, 2), (1, 3, 4, 2)),
])
def test_up_sampling_2d(kwargs, in_shape, out_shape):
    run_layer_test(layers.UpSampling2D, kwargs, input_shape=in_shape, expected_output_shape=out_shape,
                   expected_weight_shapes=[], expected_trainable=0)


def test_up_sampling_2d_nearest_repeats_each_pixel():
    x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    y = layers.UpSampling2D((2, 3))(x).numpy()
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, 2, axis=1), 3, axis=2))


def test_up_sampling_2d_bilinear_is_half_pixel_without_antialias():
    # align_corners=False (half-pixel centres): 1-D [0, 1] upsampled by 2 is [0, .25, .75, 1].
    x = np.array([0.0, 1.0], "float32").reshape(1, 1, 2, 1)
    y = layers.UpSampling2D((1, 2), interpolation="bilinear")(x).numpy().ravel()
    np.testing.assert_allclose(y, [0.0, 0.25, 0.75, 1.0], atol=1e-7)


def test_up_sampling_2d_config_and_unknown_dims():
    layer = layers.UpSampling2D(3, interpolation="BILINEAR")
    cfg = layer.get_config()
    assert cfg["size"] == (3, 3) and cfg["interpolation"] == "bilinear" and cfg["data_format"] == "channels_last"
    assert _symbolic_shape_matches_keras("UpSampling2D", {"size": 2}, (None, 3, 2)) == (None, None, 6, 2)
    assert _symbolic_shape_matches_keras(
        "UpSampling2D", {"size": (2, 3), "data_format": "channels_first"}, (3, 4, None)) == (None, 3, 8, None)


@pytest.mark.parametrize("dtype", ["float64", "bfloat16", "float16"])
def test_up_sampling_2d_keeps_the_layer_dtype(dtype):
    x = torch.rand(1, 2, 2, 1, dtype=torch.float64)
    y = layers.UpSampling2D(interpolation="bilinear", dtype=dtype)(x)
    assert y.dtype == getattr(torch, dtype) and y.shape == (1, 4, 4, 1)
    ref = layers.UpSampling2D(interpolation="bilinear", dtype="float64")(x.to(getattr(torch, dtype)))
    np.testing.assert_allclose(y.double().numpy(), ref.numpy(), atol=1e-2)  # computed in float32 (Keras)


def test_up_sampling_2d_errors():
    with pytest.raises(ValueError, match=r"The `size` argument must be a tuple of 2 integers\. Received size=0, "
                                         r"including values \{0\} that do not satisfy `value > 0` "
                                         r"\(in UpSampling2D 'up'\)"):
        layers.UpSampling2D(0, name="up")
    with pytest.raises(ValueError, match=r"The `size` argument must be a tuple of 2 integers\. Received size=\(1, 2, 3\)"):
        layers.UpSampling2D((1, 2, 3))
    with pytest.raises(ValueError, match=r"Received size=1\.5"):
        layers.UpSampling2D(1.5)
    with pytest.raises(ValueError, match=r"Received size=\(2, 1\.5\)"):
        layers.UpSampling2D((2, 1.5))
    for bad in ("lanczos3", "area", "linear"):
        with pytest.raises(ValueError, match=rf"Invalid value for argument `interpolation` of UpSampling2D 'u_{bad}'\. "
                                             rf"Expected one of \['nearest', 'bilinear', 'bicubic'\].*'{bad}'"):
            layers.UpSampling2D(interpolation=bad, name=f"u_{bad}")
    with pytest.raises(ValueError, match=r"layer 'up5'.*expected ndim=4, found ndim=3"):
        layers.UpSampling2D(name="up5")(np.ones((2, 3, 4), "float32"))


# ---------------------------------------------------------------------------------------- in a model
def test_reshaping_layers_in_a_sequential_model_match_keras():
    keras = _keras()

    def build(k, L):
        return k.Sequential([k.Input((4, 4, 2)), L.ZeroPadding2D(1), L.UpSampling2D(2, interpolation="bilinear"),
                             L.Permute((3, 1, 2)), L.Flatten(data_format="channels_first"), L.Reshape((-1, 8)),
                             L.Flatten(), L.Dense(3), L.RepeatVector(2)])

    ours, theirs = build(initium, layers), build(keras, keras.layers)
    assert ours.output_shape == tuple(theirs.output_shape) == (None, 2, 3)
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(1).standard_normal((3, 4, 4, 2)).astype("float32")
    np.testing.assert_allclose(ours(x).detach().numpy(), theirs(x).detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("name, kwargs, shape", [
    ("Flatten", {}, (3, 4)), ("Reshape", {"target_shape": (-1,)}, (3, 4)), ("Permute", {"dims": (2, 1)}, (3, 4)),
    ("RepeatVector", {"n": 2}, (3,)), ("ZeroPadding2D", {}, (3, 4, 2)), ("UpSampling2D", {}, (3, 4, 2)),
])
def test_integer_inputs_keep_their_dtype_eagerly_and_symbolically(name, kwargs, shape):
    cls = getattr(layers, name)
    eager = cls(**kwargs)(np.ones((2, *shape), "int32"))
    symbolic = cls(**kwargs)(initium.Input(shape, dtype="int32"))
    assert eager.dtype == torch.int32 and symbolic.dtype == "int32"
    assert tuple(eager.shape[1:]) == symbolic.shape[1:]
    assert cls(**kwargs)(initium.Input(shape)).dtype == "float32"
    if name in ("Flatten", "Reshape", "Permute"):  # Keras reports float32 for the other three (its eager output is int32)
        keras = _keras()
        assert getattr(keras.layers, name)(**kwargs)(keras.Input(shape, dtype="int32")).dtype == "int32"


# ------------------------------------------------------------------ Cropping, ZeroPadding, UpSampling 1D/3D
SPATIAL_CASES = [
    (layers.Cropping1D, {}, (2, 5, 3), (2, 3, 3)),
    (layers.Cropping1D, {"cropping": (0, 2)}, (2, 5, 3), (2, 3, 3)),
    (layers.Cropping1D, {"cropping": 2}, (2, 5, 3), (2, 1, 3)),  # one step left: the smallest allowed
    (layers.Cropping2D, {}, (2, 3, 4, 2), (2, 3, 4, 2)),  # Keras's default crops nothing
    (layers.Cropping2D, {"cropping": ((1, 0), (0, 2))}, (2, 4, 5, 3), (2, 3, 3, 3)),
    (layers.Cropping2D, {"cropping": (1, 2), "data_format": "channels_first"}, (2, 3, 4, 5), (2, 3, 2, 1)),
    (layers.Cropping3D, {}, (2, 4, 5, 6, 3), (2, 2, 3, 4, 3)),
    (layers.Cropping3D, {"cropping": (1, 0, 2), "data_format": "channels_first"}, (2, 3, 4, 5, 6), (2, 3, 2, 5, 2)),
    (layers.Cropping3D, {"cropping": ((0, 1), (2, 0), (0, 0))}, (1, 3, 3, 2, 2), (1, 2, 1, 2, 2)),
    (layers.ZeroPadding1D, {}, (2, 5, 3), (2, 7, 3)),
    (layers.ZeroPadding1D, {"padding": (0, 2), "data_format": "channels_first"}, (2, 5, 3), (2, 5, 5)),
    (layers.ZeroPadding3D, {}, (2, 2, 3, 4, 3), (2, 4, 5, 6, 3)),
    (layers.ZeroPadding3D, {"padding": ((1, 0), (0, 2), (1, 1)), "data_format": "channels_first"},
     (2, 3, 2, 3, 4), (2, 3, 3, 5, 6)),
    (layers.ZeroPadding3D, {"padding": (0, 1, 2)}, (1, 2, 2, 2, 1), (1, 2, 4, 6, 1)),
    (layers.UpSampling1D, {}, (2, 4, 3), (2, 8, 3)),
    (layers.UpSampling1D, {"size": 3}, (2, 4, 3), (2, 12, 3)),
    (layers.UpSampling3D, {}, (2, 2, 3, 1, 3), (2, 4, 6, 2, 3)),
    (layers.UpSampling3D, {"size": (1, 2, 3), "data_format": "channels_first"}, (2, 3, 2, 3, 1), (2, 3, 2, 6, 3)),
]


@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape", SPATIAL_CASES)
def test_cropping_padding_upsampling_match_keras(cls, kwargs, in_shape, out_shape):
    run_layer_test(cls, kwargs, input_shape=in_shape, expected_output_shape=out_shape,
                   expected_weight_shapes=[], expected_trainable=0)


def test_cropping_padding_upsampling_values():
    x = np.arange(1, 7, dtype="float32").reshape(1, 6, 1)
    np.testing.assert_array_equal(layers.Cropping1D((1, 2))(x).numpy().ravel(), [2, 3, 4])
    np.testing.assert_array_equal(layers.ZeroPadding1D((2, 1))(x[:, :2]).numpy().ravel(), [0, 0, 1, 2, 0])
    np.testing.assert_array_equal(layers.UpSampling1D(2)(x[:, :3]).numpy().ravel(), [1, 1, 2, 2, 3, 3])
    v = np.arange(8, dtype="float32").reshape(1, 2, 2, 2, 1)
    up = layers.UpSampling3D((2, 1, 3))(v).numpy()[0, ..., 0]
    np.testing.assert_array_equal(up, np.repeat(np.repeat(v[0, ..., 0], 2, axis=0), 3, axis=2))
    padded = layers.ZeroPadding3D(((1, 0), (0, 0), (0, 1)), data_format="channels_first")(
        np.ones((1, 1, 1, 1, 1), "float32")).numpy()[0, 0]
    np.testing.assert_array_equal(padded, [[[0, 0]], [[1, 0]]])
    np.testing.assert_array_equal(layers.Cropping3D(((1, 0), (0, 1), (1, 1)))(v.repeat(2, axis=3)).numpy()[0, ..., 0],
                                  v[0, 1:, :1, :, 0].repeat(2, axis=2)[:, :, 1:3])


@pytest.mark.parametrize("name, kwargs, shape", [
    ("Cropping1D", {"cropping": 1}, (None, 3)), ("Cropping2D", {"cropping": 1}, (None, 4, 2)),
    ("Cropping3D", {"data_format": "channels_first"}, (2, 3, None, 4)), ("ZeroPadding1D", {}, (None, 3)),
    ("ZeroPadding3D", {"padding": 2}, (None, 3, None, 1)), ("UpSampling1D", {"size": 3}, (None, 2)),
    ("UpSampling3D", {"data_format": "channels_first"}, (2, None, 3, 4)),
])
def test_spatial_layers_unknown_sizes_match_keras(name, kwargs, shape):
    _symbolic_shape_matches_keras(name, kwargs, shape)


@pytest.mark.parametrize("cls, kwargs, shape", [
    (layers.Cropping1D, {"cropping": (2, 1)}, (2, 3, 4)),
    (layers.Cropping1D, {"cropping": 4}, (2, 3, 4)),
    (layers.Cropping2D, {"cropping": ((1, 1), (0, 0))}, (2, 2, 5, 1)),
    (layers.Cropping2D, {"cropping": ((0, 0), (3, 2)), "data_format": "channels_first"}, (2, 1, 4, 5)),
    (layers.Cropping3D, {"cropping": (0, 0, 2)}, (1, 3, 3, 4, 1)),
])
def test_cropping_everything_is_refused_like_keras(cls, kwargs, shape):
    keras = _keras()
    x = np.ones(shape, "float32")
    match = r"Values in `cropping` argument should be smaller than the corresponding spatial dimension .*cropping="
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)(x)
    with pytest.raises(ValueError, match=match):  # symbolic too, when the size is known
        cls(**kwargs)(initium.Input(shape=shape[1:]))
    with pytest.raises(ValueError):
        getattr(keras.layers, cls.__name__)(**kwargs)(x)


def test_spatial_layers_keep_integer_dtypes():
    for layer, shape in [(layers.Cropping1D(), (4, 2)), (layers.ZeroPadding3D(), (1, 2, 1, 1)),
                         (layers.UpSampling1D(), (3, 2)), (layers.Cropping3D(0), (2, 2, 2, 1))]:
        assert layer(np.ones((2, *shape), "int32")).dtype == torch.int32
        assert type(layer)(**layer.get_config())(initium.Input(shape, dtype="int32")).dtype == "int32"


def test_spatial_layer_argument_errors():
    with pytest.raises(ValueError, match=r"The `cropping` argument must be a tuple of 2 integers\. Received "
                                         r"cropping=-1, including values \{-1\} .*\(in Cropping1D 'c1'\)"):
        layers.Cropping1D(-1, name="c1")
    with pytest.raises(ValueError, match=r"`cropping` must be >= 0\. Received: cropping=-2 \(in Cropping2D 'c2'\)"):
        layers.Cropping2D(-2, name="c2")
    with pytest.raises(ValueError, match=r"`cropping` should have two elements\. Received: cropping=\(1, 2, 3\)"):
        layers.Cropping2D((1, 2, 3))
    with pytest.raises(ValueError, match=r"`cropping` should have 3 elements\. Received: cropping=\(1, 2\)"):
        layers.Cropping3D((1, 2))
    with pytest.raises(ValueError, match=r"The `3rd entry of cropping` argument must be a tuple of 2 integers"):
        layers.Cropping3D((1, 2, (3, 4, 5)))
    with pytest.raises(ValueError, match=r"`cropping` should be either an int, a tuple of 3 ints "
                                         r"\(symmetric_dim1_crop, symmetric_dim2_crop, symmetric_dim3_crop\), or a "
                                         r"tuple of 3 tuples of 2 ints \(\(left_dim1_crop, right_dim1_crop\).*"
                                         r"cropping='a'"):
        layers.Cropping3D("a")
    with pytest.raises(ValueError, match=r"`padding` should have 3 elements\. Received: padding=\[1\] \(in "
                                         r"ZeroPadding3D 'z3'\)"):
        layers.ZeroPadding3D([1], name="z3")
    with pytest.raises(ValueError, match=r"`padding` must be >= 0\. Received: padding=-1"):
        layers.ZeroPadding3D(-1)  # Keras would crop silently here; initium refuses
    with pytest.raises(ValueError, match=r"The `padding` argument must be a tuple of 2 integers\. Received "
                                         r"padding=\(1, 2, 3\)"):
        layers.ZeroPadding1D((1, 2, 3))
    with pytest.raises(TypeError, match=r"Expected an integer value for `size`, got <class 'tuple'> \(size=\(2,\), "
                                        r"in UpSampling1D 'u1'\)"):
        layers.UpSampling1D((2,), name="u1")
    with pytest.raises(ValueError, match=r"Argument `size` should be a positive integer\. Received: size=0"):
        layers.UpSampling1D(0)
    with pytest.raises(ValueError, match=r"The `size` argument must be a tuple of 3 integers\. Received size=\(2, 2\)"):
        layers.UpSampling3D((2, 2))
    with pytest.raises(ValueError, match=r"data_format='nhwc'"):
        layers.Cropping3D(data_format="nhwc")
    with pytest.raises(ValueError, match=r"layer 'u3'.*expected ndim=5, found ndim=4.*UpSampling3D needs \(batch, "
                                         r"depth, rows, cols, channels\) inputs"):
        layers.UpSampling3D(name="u3")(np.ones((1, 2, 2, 2), "float32"))


def test_spatial_layers_follow_the_global_data_format():
    initium.backend.set_image_data_format("channels_first")
    try:
        layer = layers.Cropping3D(1)
        assert layer.data_format == "channels_first"
        assert layer(np.ones((1, 2, 3, 3, 3), "float32")).shape == (1, 2, 1, 1, 1)
        assert layers.ZeroPadding1D().get_config()["data_format"] == "channels_first"
        assert layers.UpSampling3D().data_format == "channels_first"
    finally:
        initium.backend.set_image_data_format("channels_last")
    assert layers.Cropping2D().data_format == "channels_last"
