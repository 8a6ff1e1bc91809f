"""Preprocessing layers: Rescaling (scalar and per-channel scale/offset, Keras config and outputs),
Normalization (given or adapted statistics, against Keras's adapt), Discretization (bin boundaries,
Keras's quantile summaries) and CategoryEncoding (one_hot / multi_hot / count)."""

import json
import os

import numpy as np
import pytest
import torch

import initium
from initium import layers
from layer_testing import run_layer_test


@pytest.mark.parametrize("kwargs, in_shape", [
    ({"scale": 1 / 255.0}, (2, 4, 4, 3)),
    ({"scale": 1 / 127.5, "offset": -1.0}, (2, 5)),
    ({"scale": 2, "offset": 1}, (3, 2, 2)),
    ({"scale": [1.0, 2.0, 3.0]}, (2, 4, 3)),
    ({"scale": [0.5, 2.0, -1.0], "offset": [0.0, 1.0, 2.0]}, (2, 2, 2, 3)),
    ({"scale": (1, 2), "offset": 0.5}, (4, 2)),
    ({"scale": np.array([1.0, 2.0, 3.0], dtype="float32"), "offset": 0.25}, (2, 3)),
    ({"scale": 0.5, "offset": np.array([1.0, 2.0], dtype="float32")}, (2, 3, 2)),
])
def test_rescaling(kwargs, in_shape):
    run_layer_test(layers.Rescaling, kwargs, input_shape=in_shape, expected_output_shape=in_shape,
                   expected_weight_shapes=[], expected_trainable=0)


@pytest.mark.parametrize("dtype", ["uint8", "int32"])
def test_rescaling_integer_images_become_float32(dtype):
    layer = run_layer_test(layers.Rescaling, {"scale": 1 / 255.0}, input_shape=(2, 3, 3, 1), input_dtype=dtype,
                           input_range=(0, 256 if dtype == "uint8" else 1000), expected_output_shape=(2, 3, 3, 1),
                           expected_weight_shapes=[])
    y = layer(np.full((1, 2), 255, dtype))
    assert y.dtype == torch.float32
    np.testing.assert_allclose(y.numpy(), [[1.0, 1.0]], rtol=1e-7)
    assert layers.Rescaling(0.5)(initium.Input((2,), dtype=dtype)).dtype == "float32"


def test_rescaling_values():
    x = np.array([[[0.0, 10.0, 20.0]]], "float32")
    np.testing.assert_allclose(layers.Rescaling(0.1, offset=-1.0)(x).numpy(), [[[-1.0, 0.0, 1.0]]], atol=1e-6)
    np.testing.assert_allclose(layers.Rescaling([1.0, 2.0, 3.0], offset=[1.0, 0.0, -1.0])(x).numpy(),
                               [[[1.0, 20.0, 59.0]]])
    y = layers.Rescaling(2.0, dtype="float64")(x)
    assert y.dtype == torch.float64


def test_rescaling_config():
    layer = layers.Rescaling(1 / 255.0)
    cfg = layer.get_config()
    assert cfg["scale"] == 1 / 255.0 and cfg["offset"] == 0.0
    assert layers.Rescaling([1.0, 2.0], offset=[0.0, 1.0]).get_config()["scale"] == [1.0, 2.0]
    arr = layers.Rescaling(np.array([1.0, 2.0], dtype="float32")).get_config()["scale"]
    assert arr == {"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float32"}}
    again = layers.Rescaling.from_config(json.loads(json.dumps(layers.Rescaling(np.array([3.0, 4.0])).get_config())))
    assert isinstance(again.scale, np.ndarray) and again.scale.tolist() == [3.0, 4.0] and again.scale.dtype == "float64"
    assert layers.Rescaling(torch.tensor([2.0])).get_config()["scale"]["config"]["value"] == [2.0]


def test_rescaling_in_a_model_on_the_symbolic_path():
    x = initium.Input((4, 4, 3))
    y = layers.Rescaling([1.0, 0.5, 0.25])(x)
    assert y.shape == (None, 4, 4, 3)
    model = initium.Model(x, y)
    out = model(np.ones((2, 4, 4, 3), "float32"))
    np.testing.assert_allclose(out.numpy()[0, 0, 0], [1.0, 0.5, 0.25])


def test_rescaling_errors():
    with pytest.raises(ValueError, match=r"Rescaling 'rs': `scale` must be a number or a list/array of numbers "
                                         r"\(one per channel\)\. Received: scale='a'"):
        layers.Rescaling("a", name="rs")
    with pytest.raises(ValueError, match=r"Rescaling 'ro': `offset` must be a number.*offset=\[1\.0, 'x'\]"):
        layers.Rescaling(1.0, offset=[1.0, "x"], name="ro")
    with pytest.raises(ValueError, match=r"Rescaling 'rn': `scale` must be a number.*Received: scale=None"):
        layers.Rescaling(None, name="rn")
    with pytest.raises(TypeError, match=r"missing 1 required positional argument: 'scale'"):
        layers.Rescaling()
    for bad in ("2", True, [], [[1.0], [2.0, 3.0]]):
        with pytest.raises(ValueError, match=r"`scale` must be a number or a list/array of numbers"):
            layers.Rescaling(bad)


# =========================================================================== Normalization
def _keras():
    import keras

    return keras


def _data(shape=(120, 4, 3), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape) * 3 + 5).astype("float32")


def _assert_stats_close(ours, theirs):
    """Adapted weights against Keras's (which sums in float32): 1e-6 relative to the data's scale."""
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * max(1.0, float(np.abs(b).max())))


@pytest.mark.parametrize("kwargs, in_shape", [
    ({"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}, (2, 3)),
    ({"mean": 2.0, "variance": 4.0}, (3, 5)),
    ({"mean": [1.0, -1.0], "variance": [0.5, 2.0], "invert": True}, (2, 3, 2)),
    ({"axis": None, "mean": 1.5, "variance": 2.0}, (2, 4, 3)),
    ({"axis": (1, 2), "mean": [[1.0, 2.0, 3.0]] * 4, "variance": [[1.0, 4.0, 9.0]] * 4}, (2, 4, 3)),
    ({"axis": (1, 2), "mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}, (2, 4, 3)),  # aligned right to left
    ({"axis": 1, "mean": [0.0, 1.0, 2.0, 3.0], "variance": [1.0, 1.0, 2.0, 0.0]}, (2, 4, 3)),  # variance 0: eps floor
])
def test_normalization_with_given_statistics(kwargs, in_shape):
    run_layer_test(layers.Normalization, kwargs, input_shape=in_shape, expected_output_shape=in_shape,
                   expected_weight_shapes=[], expected_trainable=0)


@pytest.mark.parametrize("axis", [-1, None, (1, 2), 1, (-2,)])
def test_normalization_adapt_matches_keras(axis):
    x = _data()
    ours, theirs = layers.Normalization(axis=axis), _keras().layers.Normalization(axis=axis)
    ours.adapt(x)
    theirs.adapt(x)
    assert [v.name for v in ours.weights] == [v.name for v in theirs.weights] == ["mean", "variance", "count"]
    assert [str(w.dtype) for w in ours.get_weights()] == ["float32", "float32", "int32"]
    assert len(ours.trainable_weights) == 0 and len(ours.non_trainable_weights) == 3
    _assert_stats_close(ours.get_weights(), theirs.get_weights())
    assert ours.get_build_config() == {"input_shape": x.shape} and theirs.get_build_config()["input_shape"] == x.shape
    np.testing.assert_allclose(ours(x[:5]).numpy(), np.asarray(theirs(x[:5])), atol=1e-5)
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}


def test_normalization_invert_after_adapt_matches_keras():
    x = _data((50, 3))
    ours, theirs = layers.Normalization(invert=True), _keras().layers.Normalization(invert=True)
    ours.adapt(x)
    theirs.adapt(x)
    z = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]], "float32")
    np.testing.assert_allclose(ours(z).numpy(), np.asarray(theirs(z)), rtol=1e-5)
    forward = layers.Normalization()
    forward.adapt(x)
    np.testing.assert_allclose(ours(forward(x)).numpy(), x, atol=1e-4)  # invert undoes the forward map


def _generator(batches):
    yield from batches


@pytest.mark.parametrize("make", [
    lambda x: [x[:17], x[17:60], x[60:]],
    lambda x: _generator([x[:50], x[50:]]),
    lambda x: [(x[:30], np.zeros(30)), (x[30:], np.zeros(len(x) - 30))],  # (x, y) batches: x is used
    lambda x: torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.zeros(len(x))),
                                          batch_size=32),
    lambda x: torch.from_numpy(x),
    lambda x: x.tolist(),
])
def test_normalization_adapt_streams_batches_exactly(make):
    """Every source gives the whole array's statistics (Keras's adapt on the array) to float32 rounding."""
    x = _data()
    whole = layers.Normalization()
    whole.adapt(x)
    streamed = layers.Normalization()
    streamed.adapt(make(x))
    np.testing.assert_allclose(streamed.get_weights()[0], whole.get_weights()[0], rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(streamed.get_weights()[1], whole.get_weights()[1], rtol=1e-7, atol=1e-7)
    theirs = _keras().layers.Normalization()
    theirs.adapt(x)
    _assert_stats_close(streamed.get_weights(), theirs.get_weights())


def test_normalization_adapt_batch_size_and_steps():
    x = _data((100, 3))
    by_batches = layers.Normalization()
    by_batches.adapt(x, batch_size=7)
    whole = layers.Normalization()
    whole.adapt(x)
    np.testing.assert_allclose(by_batches.get_weights()[1], whole.get_weights()[1], rtol=1e-7)
    first_two = layers.Normalization()
    first_two.adapt(x, batch_size=10, steps=2)
    np.testing.assert_allclose(first_two.get_weights()[0], x[:20].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(first_two.get_weights()[1], x[:20].var(axis=0), rtol=1e-5)
    from_iterable = layers.Normalization()
    from_iterable.adapt(iter([x[:10], x[10:20], x[20:]]), steps=2)
    np.testing.assert_allclose(from_iterable.get_weights()[0], first_two.get_weights()[0], rtol=1e-7)


def test_normalization_adapt_twice_replaces_the_statistics():
    layer = layers.Normalization()
    layer.adapt(_data((40, 3), seed=1))
    other = _data((40, 3), seed=2) * 2
    layer.adapt(other)
    np.testing.assert_allclose(layer.get_weights()[0], other.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(layer.mean.numpy(), other.mean(axis=0, keepdims=True), rtol=1e-6)


def test_normalization_before_adapt_raises_and_set_weights_counts_as_statistics():
    layer = layers.Normalization(name="norm")
    with pytest.raises(ValueError, match=r"Normalization 'norm' has no statistics yet: it was neither adapted nor "
                                         r"given `mean` and `variance`\. Call layer\.adapt\(data\)"):
        layer(np.ones((2, 3), "float32"))
    layer.set_weights([np.zeros(3, "float32"), np.ones(3, "float32"), np.array(0, "int32")])  # Keras's initial state
    np.testing.assert_allclose(layer(np.full((1, 3), 2.0, "float32")).numpy(), [[2.0, 2.0, 2.0]])
    loaded = layers.Normalization()
    loaded.build((None, 2))
    with torch.no_grad():  # as a file load writes them: in place, no set_weights
        loaded.adapt_mean.copy_(torch.tensor([1.0, 2.0]))
        loaded.adapt_variance.copy_(torch.tensor([4.0, 4.0]))
    np.testing.assert_allclose(loaded(np.array([[3.0, 2.0]], "float32")).numpy(), [[1.0, 0.0]])


def test_normalization_integer_inputs_give_float32_and_symbolic_shape():
    layer = layers.Normalization(mean=1.0, variance=4.0)
    y = layer(np.array([[1, 3], [5, 7]], "int32"))
    assert y.dtype == torch.float32
    np.testing.assert_allclose(y.numpy(), [[0.0, 1.0], [2.0, 3.0]])
    out = layers.Normalization(mean=0.0, variance=1.0)(initium.Input((4, 3)))
    assert out.shape == (None, 4, 3) and out.dtype == "float32"
    assert layers.Normalization().compute_output_shape((None, 4, 3)) == (None, 4, 3)


def test_normalization_weights_file_both_ways_with_keras(tmp_path):
    keras = _keras()
    x = _data((60, 3))
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Normalization(), keras.layers.Dense(2)])
    theirs.layers[0].adapt(x)
    theirs.save_weights(tmp_path / "k.weights.h5")
    ours = initium.Sequential([initium.Input((3,)), layers.Normalization(), layers.Dense(2)])
    ours.load_weights(str(tmp_path / "k.weights.h5"))
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-5)
    ours.layers[0].adapt(x * 2 + 1)
    ours.save_weights(str(tmp_path / "i.weights.h5"))
    theirs.load_weights(tmp_path / "i.weights.h5")
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_normalization_errors():
    with pytest.raises(ValueError, match=r"Normalization 'n1': when setting values directly, both `mean` and "
                                         r"`variance` must be set\. Received: mean=1\.0 and variance=None"):
        layers.Normalization(mean=1.0, name="n1")
    with pytest.raises(ValueError, match=r"`mean` and `variance` must have the same shape\. Received: mean shape "
                                         r"\(2,\) and variance shape \(3,\)"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"rank of `mean` must be at most the number of axes \(1\)"):
        layers.Normalization(mean=[[1.0]], variance=[[1.0]])
    with pytest.raises(ValueError, match=r"`axis` must be an integer, a tuple of integers, or None\. "
                                         r"Received: axis='x'"):
        layers.Normalization(axis="x")
    with pytest.raises(ValueError, match=r"all `axis` values must be in the range \[-ndim, ndim\)\. Received inputs "
                                         r"with ndim=2, while axis=\(2,\)"):
        layers.Normalization(axis=2, mean=0.0, variance=1.0)(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"kept must have a known size\. Received axis=\(-1,\), "
                                         r"inputs\.shape=\(None, None\)"):
        layers.Normalization()(initium.Input((None,)))
    with pytest.raises(ValueError, match=r"`mean` of shape \(2,\) cannot be broadcast to the kept axes' shape \(3,\)"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0])(np.ones((2, 3), "float32"))
    layer = layers.Normalization(name="n2")
    layer.adapt(np.ones((4, 3), "float32"))
    with pytest.raises(ValueError, match=r"'n2' was built with input_shape=\(4, 3\), but adapt\(\) received data of "
                                         r"an incompatible shape \(4, 2\)"):
        layer.adapt(np.ones((4, 2), "float32"))
    with pytest.raises(ValueError, match=r"was given `mean` and `variance`, so it has no statistics to adapt"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"adapt\(\) received an empty iterable \(no batches\)"):
        layers.Normalization().adapt(iter([]))
    with pytest.raises(TypeError, match=r"adapt\(\) expects batches that are arrays or tensors .* got a batch of "
                                        r"type str"):
        layers.Normalization().adapt(["ab", "cd"])
    with pytest.raises(TypeError, match=r"adapt\(\) cannot read data of type dict"):
        layers.Normalization().adapt({"x": np.ones((2, 2))})
    with pytest.raises(ValueError, match=r"received an iterable of batches and batch_size=4"):
        layers.Normalization().adapt([np.ones((2, 2))], batch_size=4)
    with pytest.raises(ValueError, match=r"received an array and steps=2, but no batch_size"):
        layers.Normalization().adapt(np.ones((6, 2)), steps=2)
    with pytest.raises(ValueError, match=r"`batch_size` of adapt\(\) must be a positive integer or None\. "
                                         r"Received: batch_size=0"):
        layers.Normalization().adapt(np.ones((6, 2)), batch_size=0)
    with pytest.raises(ValueError, match=r"adapt\(\) needs at least one sample"):
        layers.Normalization().adapt(np.ones((0, 2)))


# =========================================================================== Discretization
def _keras_bins(kwargs, batches):
    """Keras's adapted boundaries (its adapt() needs TensorFlow to type-check the data, so the
    batches go through update_state, what adapt runs for each)."""
    layer = _keras().layers.Discretization(**kwargs)
    layer.reset_state()
    for b in batches:
        layer.update_state(b)
    layer.finalize_state()
    return layer.bin_boundaries


@pytest.mark.parametrize("mode, in_shape, out_shape", [
    ("int", (3, 5), (3, 5)),
    ("int", (2, 3, 4), (2, 3, 4)),
    ("one_hot", (3, 5), (3, 5, 4)),
    ("one_hot", (3, 1), (3, 4)),
    ("multi_hot", (3, 5), (3, 4)),
    ("count", (3, 5), (3, 4)),
    ("count", (2, 3, 4), (2, 4, 4)),
])
def test_discretization_with_boundaries(mode, in_shape, out_shape):
    layer = run_layer_test(layers.Discretization, {"bin_boundaries": [-0.5, 0.0, 1.0], "output_mode": mode},
                           input_shape=in_shape, expected_output_shape=out_shape, expected_weight_shapes=[])
    y = layer(np.zeros(in_shape, "float32"))
    assert y.dtype == (torch.int32 if mode == "int" else torch.float32)
    assert layer(initium.Input(in_shape[1:])).dtype == ("int32" if mode == "int" else "float32")


def test_discretization_bins_are_left_closed():
    layer = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]], "float32")
    np.testing.assert_array_equal(layer(x).numpy(), [[0, 2, 3, 1], [1, 3, 2, 1]])
    np.testing.assert_array_equal(layer(np.array([[0, 1, 2]], "int32")).numpy(), [[1, 2, 3]])


@pytest.mark.parametrize("kwargs", [{"num_bins": 4}, {"num_bins": 7, "epsilon": 0.1}, {"num_bins": 3, "epsilon": 0.001},
                                    {"num_bins": 50}])
def test_discretization_adapt_matches_keras(kwargs):
    x = _data((300, 2))
    layer = layers.Discretization(**kwargs)
    layer.adapt(x)
    assert layer.bin_boundaries == _keras_bins(kwargs, [x])
    layer.adapt([x[:70], x[70:]])  # batches merge summaries in Keras's order
    assert layer.bin_boundaries == _keras_bins(kwargs, [x[:70], x[70:]])
    assert len(layer.bin_boundaries) == kwargs["num_bins"] - 1
    # roughly equal bins: each boundary's rank is off by about epsilon at most (each of two merged summaries)
    fractions = np.bincount(layer(x).numpy().ravel(), minlength=kwargs["num_bins"]) / x.size
    assert np.all(np.abs(fractions - 1 / kwargs["num_bins"]) <= 2 * kwargs.get("epsilon", 0.01) + 0.01)


def test_discretization_adapted_config_round_trips_through_keras():
    layer = layers.Discretization(num_bins=5, output_mode="count")
    layer.adapt(_data((100, 3)))
    config = json.loads(json.dumps(layer.get_config()))
    assert set(config) == {"bin_boundaries", "num_bins", "epsilon", "output_mode", "sparse", "name", "dtype"}
    again = layers.Discretization.from_config(config)
    theirs = _keras().layers.Discretization.from_config(config)
    assert again.bin_boundaries == theirs.bin_boundaries == layer.bin_boundaries
    x = _data((4, 3), seed=3)
    np.testing.assert_array_equal(again(x).numpy(), np.asarray(theirs(x)))
    assert theirs.get_config() == again.get_config()


def test_discretization_errors():
    with pytest.raises(ValueError, match=r"Discretization 'd1': you need to set either `num_bins` \(then call "
                                         r"adapt\(data\)\) or `bin_boundaries`"):
        layers.Discretization(name="d1")
    with pytest.raises(ValueError, match=r"both `num_bins` and `bin_boundaries` should not be set\. Received: "
                                         r"num_bins=3 and bin_boundaries=\[0\.0\]"):
        layers.Discretization(bin_boundaries=[0.0], num_bins=3)
    with pytest.raises(ValueError, match=r"`num_bins` must be a positive integer\. Received: num_bins=-1"):
        layers.Discretization(num_bins=-1)
    with pytest.raises(ValueError, match=r"Unknown value for `output_mode` argument of layer Discretization 'd2'\. "
                                         r"Allowed values are: \('int', 'one_hot', 'multi_hot', 'count'\)\. Received: "
                                         r"output_mode='binary'"):
        layers.Discretization(num_bins=2, output_mode="binary", name="d2")
    with pytest.raises(ValueError, match=r"`sparse=True` is not supported .* Use sparse=False"):
        layers.Discretization(num_bins=2, output_mode="count", sparse=True)
    with pytest.raises(ValueError, match=r"`bin_boundaries` must be a list of numbers in increasing order\. "
                                         r"Received: bin_boundaries=\[1\.0, 0\.0\]"):
        layers.Discretization(bin_boundaries=[1.0, 0.0])
    with pytest.raises(ValueError, match=r"`epsilon` must be a number in \(0, 1\)"):
        layers.Discretization(num_bins=3, epsilon=0)
    with pytest.raises(ValueError, match=r"call `adapt\(data\)` before you can start using the Discretization layer"):
        layers.Discretization(num_bins=3)(np.ones((2, 2), "float32"))
    with pytest.raises(ValueError, match=r"cannot adapt a Discretization layer that has been initialized with "
                                         r"`bin_boundaries`; use `num_bins` instead"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(np.ones((2, 2)))
    with pytest.raises(TypeError, match=r"missing 1 required positional argument|unexpected keyword argument"):
        layers.Discretization(num_bins=2, trainable=False)  # Keras's constructor takes no base kwargs either


# =========================================================================== CategoryEncoding
@pytest.mark.parametrize("mode, in_shape, out_shape", [
    ("multi_hot", (3, 4), (3, 6)),
    ("count", (3, 4), (3, 6)),
    ("one_hot", (3,), (3, 6)),
    ("one_hot", (3, 1), (3, 6)),
    ("one_hot", (3, 4), (3, 4, 6)),
])
def test_category_encoding(mode, in_shape, out_shape):
    layer = run_layer_test(layers.CategoryEncoding, {"num_tokens": 6, "output_mode": mode}, input_shape=in_shape,
                           expected_output_shape=out_shape, input_dtype="int32", input_range=(0, 6),
                           expected_weight_shapes=[], keras_parity=len(in_shape) > 1)
    assert layer(np.zeros(in_shape, "int64")).dtype == torch.float32


def test_category_encoding_values_and_count_weights_match_keras():
    keras = _keras()
    ids = np.array([[0, 1, 1], [3, 3, 3], [5, 0, 2]])
    expected = {"multi_hot": [[1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0], [1, 0, 1, 0, 0, 1]],
                "count": [[1, 2, 0, 0, 0, 0], [0, 0, 0, 3, 0, 0], [1, 0, 1, 0, 0, 1]]}
    for mode, want in expected.items():
        np.testing.assert_array_equal(layers.CategoryEncoding(6, output_mode=mode)(ids).numpy(), want)
    w = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 0.25], [3.0, 0.0, 1.0]], "float32")
    ours = layers.CategoryEncoding(6, output_mode="count")(ids, count_weights=w)
    theirs = keras.layers.CategoryEncoding(6, output_mode="count")(ids, count_weights=w)
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs))
    np.testing.assert_allclose(ours.numpy()[0], [0.5, 3.0, 0, 0, 0, 0])
    vector = layers.CategoryEncoding(4, output_mode="binary")(np.array([0, 2, 2]))  # Keras's deprecated name
    np.testing.assert_array_equal(vector.numpy(), [1, 0, 1, 0])
    sym = layers.CategoryEncoding(4, output_mode="count")(initium.Input((3,), dtype="int32"))
    assert sym.shape == (None, 4) and sym.dtype == "float32"


def test_category_encoding_errors():
    with pytest.raises(ValueError, match=r"CategoryEncoding 'c1': `num_tokens` must be set to use this layer"):
        layers.CategoryEncoding(name="c1")
    with pytest.raises(ValueError, match=r"`num_tokens` must be >= 1\. Received: num_tokens=0\."):
        layers.CategoryEncoding(0)
    with pytest.raises(TypeError, match=r"`num_tokens` must be an integer\. Received: num_tokens='3' \(of type str\)"):
        layers.CategoryEncoding("3")
    with pytest.raises(ValueError, match=r"Unknown value for `output_mode` argument of layer CategoryEncoding"):
        layers.CategoryEncoding(3, output_mode="int")
    with pytest.raises(ValueError, match=r"`sparse=True` is not supported"):
        layers.CategoryEncoding(3, sparse=True)
    with pytest.raises(ValueError, match=r"CategoryEncoding 'c2': input values must be in the range 0 <= values < "
                                         r"num_tokens with num_tokens=3\. Received values from 0 to 3"):
        layers.CategoryEncoding(3, name="c2")(np.array([[0, 3]]))
    with pytest.raises(ValueError, match=r"Received values from -1 to 1"):
        layers.CategoryEncoding(3)(np.array([[-1, 1]]))
    with pytest.raises(ValueError, match=r"`count_weights` is not used when `output_mode` is not 'count' \(it is "
                                         r"'multi_hot'\)"):
        layers.CategoryEncoding(3)(np.array([[0, 1]]), count_weights=np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"`count_weights` must have the inputs' shape \(1, 2\)\. Received: "
                                         r"count_weights\.shape=\(2,\)"):
        layers.CategoryEncoding(3, output_mode="count")(np.array([[0, 1]]), count_weights=np.ones(2))
