"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax.

Each configuration runs through ``run_layer_test`` (config equal to Keras's, Keras's weights copied
in, outputs within 1e-5 of Keras's); then the values Keras documents, masks (passed through by all,
used by Softmax), PReLU's weight and gradient, and every argument error with its type and message.
"""

import warnings

import numpy as np
import pytest
import torch

import initium
from initium import layers
from layer_testing import run_layer_test


def _keras():
    import keras

    return keras


# ------------------------------------------------------------------------------------------ parity
RELU_CASES = [
    {},
    {"max_value": 6.0},  # Keras's relu6 path
    {"max_value": 1.5},
    {"negative_slope": 0.1},  # the leaky path
    {"threshold": 0.5},
    {"max_value": 1.0, "negative_slope": 0.2},
    {"negative_slope": 0.3, "threshold": 0.4},
    {"max_value": 1.5, "negative_slope": 0.2, "threshold": 0.5},
    {"max_value": 0.0, "negative_slope": 0.5},
    {"max_value": 0.3, "threshold": 0.7},  # threshold above max_value: Keras clips to max_value
]


@pytest.mark.parametrize("kwargs", RELU_CASES)
def test_relu_matches_keras(kwargs):
    run_layer_test(layers.ReLU, kwargs, input_shape=(2, 3, 4), expected_output_shape=(2, 3, 4),
                   expected_weight_shapes=[], expected_trainable=0)


PARITY_CASES = [
    (layers.LeakyReLU, {}, (2, 3, 4), []),
    (layers.LeakyReLU, {"negative_slope": 0.0}, (2, 5), []),
    (layers.LeakyReLU, {"negative_slope": 1.7}, (2, 5), []),
    (layers.ELU, {}, (2, 3, 4), []),
    (layers.ELU, {"alpha": 0.5}, (2, 5), []),
    (layers.ELU, {"alpha": -1.0}, (2, 5), []),
    (layers.PReLU, {"alpha_initializer": "random_normal"}, (2, 3, 4), [(3, 4)]),
    (layers.PReLU, {"alpha_initializer": "ones", "shared_axes": [1, 2]}, (2, 3, 4, 5), [(1, 1, 5)]),
    (layers.PReLU, {"alpha_initializer": "random_uniform", "shared_axes": 1}, (2, 3, 4), [(1, 4)]),
    (layers.PReLU, {"alpha_regularizer": "l2", "alpha_constraint": "non_neg"}, (2, 6), [(6,)]),
    (layers.Softmax, {}, (2, 3, 4), []),
    (layers.Softmax, {"axis": 1}, (2, 3, 4), []),
    (layers.Softmax, {"axis": [1, 2]}, (2, 3, 4), []),
    (layers.Softmax, {"axis": (-1,)}, (2, 3, 4), []),
]


@pytest.mark.parametrize("cls, kwargs, shape, weights", PARITY_CASES)
def test_activation_layers_match_keras(cls, kwargs, shape, weights):
    run_layer_test(cls, kwargs, input_shape=shape, expected_output_shape=shape, expected_weight_shapes=weights,
                   expected_trainable=len(weights), training_modes=(False, True))


def test_configs_equal_keras_key_for_key():
    """Key order included (ELU's config is Keras's automatic one: name, alpha, then the base keys)."""
    keras = _keras()
    for cls, kwargs in [("ReLU", {"max_value": 2.0}), ("LeakyReLU", {}), ("PReLU", {"shared_axes": 1}),
                        ("ELU", {"alpha": 0.5}), ("Softmax", {"axis": [1, 2]})]:
        ours = getattr(layers, cls)(name="a", **kwargs).get_config()
        theirs = getattr(keras.layers, cls)(name="a", **kwargs).get_config()
        assert list(ours) == list(theirs), cls
        assert ours == theirs, cls


# ------------------------------------------------------------------------------------------ values
def test_relu_values_from_keras_docs():
    x = np.array([[-10, -5, 0.0, 5, 10]], "float32")
    np.testing.assert_allclose(layers.ReLU(max_value=10, negative_slope=0.5)(x).numpy(), [[-5, -2.5, 0, 5, 10]])
    np.testing.assert_allclose(layers.ReLU(threshold=5.0)(x).numpy(), [[0, 0, 0, 0, 10]])
    np.testing.assert_allclose(layers.ReLU(max_value=5.0)(x).numpy(), [[0, 0, 0, 5, 5]])
    np.testing.assert_allclose(layers.LeakyReLU(negative_slope=0.5)(x).numpy(), [[-5, -2.5, 0, 5, 10]])
    np.testing.assert_allclose(layers.ELU()(np.array([[-1e4, 0.0, 2.0]], "float32")).numpy(), [[-1, 0, 2]])


def test_softmax_sums_to_one_over_joint_axes():
    y = layers.Softmax(axis=[1, 2])(np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32")).numpy()
    np.testing.assert_allclose(y.sum(axis=(1, 2)), [1, 1], rtol=1e-6)


# ------------------------------------------------------------------------------------------ masks
@pytest.mark.parametrize("mask_shape, mask_dtype", [((2, 3, 4), "bool"), ((2, 1, 4), "bool"), ((4,), "bool"),
                                                   ((2, 3, 4), "float32"), ((1, 3, 1), "int32")])
def test_softmax_mask_matches_keras(mask_shape, mask_dtype):
    keras = _keras()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4)).astype("float32")
    mask = (rng.random(mask_shape) > 0.4).astype(mask_dtype)
    mask.reshape(-1)[0] = 0  # at least one masked position
    ours = layers.Softmax()(torch.from_numpy(x), mask=torch.from_numpy(mask)).numpy()
    theirs = keras.ops.convert_to_numpy(keras.layers.Softmax()(x, mask=mask))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    keep = np.broadcast_to(mask.astype(bool), x.shape)
    assert np.all(ours[~keep] == 0)  # masked positions get no probability


def test_softmax_fully_masked_row_is_zero_and_multi_axis_mask_matches_keras():
    keras = _keras()
    x = np.random.default_rng(2).standard_normal((2, 3, 4)).astype("float32")
    mask = np.ones((2, 3, 4), bool)
    mask[0] = False  # every position of the first sample: Keras outputs zeros, not a uniform distribution
    mask[1, 0, :2] = False
    for axis in (-1, [1, 2]):
        ours = layers.Softmax(axis=axis)(torch.from_numpy(x), mask=torch.from_numpy(mask)).numpy()
        theirs = keras.ops.convert_to_numpy(keras.layers.Softmax(axis=axis)(x, mask=mask))
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
        assert np.all(ours[0] == 0)


def test_softmax_uses_the_mask_the_input_carries_and_passes_it_on():
    x = torch.tensor([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    x._keras_mask = mask
    y = layers.Softmax()(x)
    np.testing.assert_allclose(y.numpy(), [[1 / (1 + np.e), np.e / (1 + np.e), 0], [1, 0, 0]], rtol=1e-6)
    assert y._keras_mask is mask


@pytest.mark.parametrize("cls, kwargs", [(layers.ReLU, {}), (layers.LeakyReLU, {}), (layers.ELU, {}),
                                         (layers.PReLU, {}), (layers.Softmax, {})])
def test_every_activation_layer_passes_the_mask_through(cls, kwargs):
    layer = cls(**kwargs)
    assert layer.supports_masking
    x = torch.ones(2, 3)  # a (batch, steps) mask broadcasts to (batch, steps) inputs (Softmax checks it)
    x._keras_mask = torch.tensor([[True, False, True], [False, True, True]])
    assert layer(x)._keras_mask is x._keras_mask


def test_softmax_mask_errors_name_the_shapes():
    x = torch.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"must not have more dimensions.*inputs\.shape=\(2, 3, 4\), "
                                         r"mask\.shape=\(1, 2, 3, 4\) \(in Softmax 'sm'\)"):
        layers.Softmax(name="sm")(x, mask=torch.ones(1, 2, 3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"Each mask dimension must be 1 or match .*mask\.shape=\(2, 3\)"):
        layers.Softmax()(x, mask=torch.ones(2, 3, dtype=torch.bool))  # (2, 3) vs (3, 4): from the last axis


# ------------------------------------------------------------------------------------------ PReLU
def test_prelu_weight_learns_and_starts_as_relu():
    layer = layers.PReLU(shared_axes=[1])
    x = torch.tensor([[[-2.0, 3.0], [-1.0, -4.0]]])
    np.testing.assert_array_equal(layer(x).detach().numpy(), torch.relu(x).numpy())  # alpha starts at 0
    assert [(v.name, tuple(v.shape), v.trainable) for v in layer.weights] == [("alpha", (1, 2), True)]
    layer(x).sum().backward()
    # d/dalpha of -alpha * relu(-x) is -relu(-x), summed over the shared axis 1: (-2 - 1, 0 - 4)
    np.testing.assert_allclose(layer.alpha.grad.numpy(), [[-3.0, -4.0]])


def test_prelu_input_spec_pins_the_unshared_axes():
    layer = layers.PReLU(shared_axes=[1], name="pr")
    layer(torch.zeros(2, 3, 4))
    layer(torch.zeros(2, 7, 4))  # the shared axis may change
    with pytest.raises(ValueError, match=r"layer 'pr'.*expected axis 2 of input shape to have value 4"):
        layer(torch.zeros(2, 3, 5))


def test_prelu_errors():
    with pytest.raises(ValueError, match=r"PReLU 'p1': `shared_axes` are input axes after the batch axis, 1 to 2 "
                                         r"for inputs of rank 3\. Received: shared_axes=\[3\]"):
        layers.PReLU(shared_axes=3, name="p1")(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"shared_axes=\[0\]"):
        layers.PReLU(shared_axes=[0])(torch.zeros(2, 3, 4))
    with pytest.raises(TypeError, match=r"`shared_axes` must be an int or a list of ints\. Received: "
                                        r"shared_axes='1'"):
        layers.PReLU(shared_axes="1")
    with pytest.raises(ValueError, match=r"every axis of the input that is not in `shared_axes` must have a known "
                                         r"size.*shared_axes=None"):
        layers.PReLU()(initium.Input(shape=(None, 4)))
    assert layers.PReLU(shared_axes=[1])(initium.Input(shape=(None, 4))).shape == (None, None, 4)


# ------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("kwargs, match", [
    ({"max_value": -1.0}, r"max_value of a ReLU layer cannot be a negative value\. Received: max_value=-1\.0 "
                          r"\(in ReLU 'r'\)\. Pass a float >= 0"),
    ({"negative_slope": -0.1}, r"negative_slope of a ReLU layer cannot be a negative value\. Received: "
                               r"negative_slope=-0\.1"),
    ({"negative_slope": None}, r"negative_slope of a ReLU layer cannot be None\. Received: negative_slope=None"),
    ({"threshold": -0.5}, r"threshold of a ReLU layer cannot be a negative value\. Received: threshold=-0\.5"),
    ({"threshold": None}, r"threshold of a ReLU layer cannot be None"),
])
def test_relu_argument_errors_are_keras_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.ReLU(name="r", **kwargs)
    with pytest.raises(ValueError):  # Keras raises the same type for the same mistake
        _keras().layers.ReLU(**kwargs)


def test_argument_type_errors():
    with pytest.raises(TypeError, match=r"max_value of a ReLU layer must be a float >= 0\. Received: max_value='6' "
                                        r"\(of type str"):
        layers.ReLU(max_value="6")
    with pytest.raises(TypeError, match=r"`alpha` of an ELU layer must be a float\. Received: alpha='1'"):
        layers.ELU(alpha="1")
    with pytest.raises(TypeError, match=r"`axis` of a Softmax layer must be an int or a non-empty list of ints\. "
                                        r"Received: axis='x'"):
        layers.Softmax(axis="x")
    with pytest.raises(TypeError, match=r"axis=\[\]"):
        layers.Softmax(axis=[])


def test_leaky_relu_legacy_alpha_as_keras_3_15():
    keras = _keras()
    with pytest.warns(UserWarning, match=r"Argument `alpha` is deprecated\. Use `negative_slope` instead\."):
        ours = layers.LeakyReLU(negative_slope=0.5, alpha=0.1, name="lr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = keras.layers.LeakyReLU(negative_slope=0.5, alpha=0.1, name="lr")
    assert ours.negative_slope == theirs.negative_slope == 0.1  # alpha wins
    assert ours.get_config() == theirs.get_config()
    assert "alpha" not in ours.get_config()
    with pytest.raises(ValueError, match=r"negative_slope of a LeakyReLU layer cannot be a negative value\. "
                                         r"Received: negative_slope=-0\.2"), pytest.warns(UserWarning):
        layers.LeakyReLU(alpha=-0.2)
    with pytest.raises(ValueError, match=r"negative_slope of a LeakyReLU layer cannot be None"):
        layers.LeakyReLU(negative_slope=None)


def test_activation_layers_in_a_model_train_and_round_trip():
    model = initium.Sequential([initium.Input(shape=(4,)), layers.Dense(8), layers.PReLU(),
                                layers.LeakyReLU(), layers.Dense(3), layers.Softmax()])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert np.any(model.layers[1].alpha.numpy() != 0)  # PReLU's alpha trained
    clone = initium.models.clone_model(model)
    assert [type(la).__name__ for la in clone.layers] == [type(la).__name__ for la in model.layers]
