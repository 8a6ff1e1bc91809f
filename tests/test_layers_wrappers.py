"""TimeDistributed, Pipeline and RMSNormalization against real Keras (torch backend): outputs,
shapes, weight paths, configs, and the .keras weight layout of a wrapped layer."""

from __future__ import annotations

import zipfile

import h5py
import numpy as np
import pytest

import initium

keras = pytest.importorskip("keras")

X = np.random.default_rng(1).normal(size=(2, 5, 4)).astype("float32")


def both(build):
    return build(initium), build(keras)


def _numpy(lib, t):
    return np.asarray(lib.ops.convert_to_numpy(t))


def test_time_distributed_dense_matches_keras():
    def build(lib):
        i = lib.Input((5, 4))
        td = lib.layers.TimeDistributed(lib.layers.Dense(3, name="dense"), name="td")
        return lib.Model(i, td(i)), td

    (ours, our_td), (theirs, their_td) = both(build)
    assert tuple(ours.output.shape) == tuple(theirs.output.shape) == (None, 5, 3)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights] == ["td/dense/kernel", "td/dense/bias"]
    assert sorted(our_td.get_config()) == sorted(their_td.get_config()) == ["dtype", "layer", "name", "trainable"]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-5, atol=1e-6)


def test_time_distributed_applies_the_layer_to_each_step_and_round_trips(tmp_path):
    i = initium.Input((5, 4))
    m = initium.Model(i, initium.layers.TimeDistributed(initium.layers.Dense(2), name="td")(i))
    out = m.predict(X, verbose=0)
    dense = m.get_layer("td").layer
    for t in range(5):
        np.testing.assert_allclose(out[:, t], _numpy(initium, dense(X[:, t])), rtol=1e-6)
    m.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z, h5py.File(z.extract("model.weights.h5", tmp_path)) as f:
        assert sorted(f["layers/time_distributed/layer/vars"]) == ["0", "1"]  # Keras's layout
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), out, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        initium.layers.TimeDistributed(initium.layers.Dense(2))(initium.Input((4,)))
    with pytest.raises(ValueError, match="Layer` instance"):
        initium.layers.TimeDistributed("dense")


def test_rms_normalization_matches_keras():
    def build(lib):
        layer = lib.layers.RMSNormalization()
        y = _numpy(lib, layer(X))
        config = {k: v for k, v in layer.get_config().items() if k != "dtype"}
        return y, config, [w.path for w in layer.weights]

    ours, theirs = both(build)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    assert ours[1:] == theirs[1:]
    assert ours[1]["axis"] == [-1]


def test_pipeline_applies_layers_in_order_and_serializes_like_keras():
    def build(lib):
        p = lib.layers.Pipeline([lib.layers.Rescaling(2.0), lib.layers.Rescaling(0.5, offset=1.0)])
        return _numpy(lib, p(X)), [c["class_name"] for c in p.get_config()["layers"]], sorted(p.get_config())

    ours, theirs = both(build)
    np.testing.assert_allclose(ours[0], X + 1.0, rtol=1e-6)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    assert ours[1:] == theirs[1:]
    again = initium.layers.deserialize(initium.layers.serialize(
        initium.layers.Pipeline([initium.layers.Rescaling(3.0)])))
    np.testing.assert_allclose(_numpy(initium, again(X)), 3 * X, rtol=1e-6)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"epsilon": "x"}, ValueError, r"`epsilon` must be a non-negative number.*epsilon='x'"),
    ({"epsilon": -1.0}, ValueError, r"epsilon=-1.0"),
    ({"axis": "last"}, TypeError, r"`axis` must be an int or a list of ints.*axis='last'"),
    ({"axis": []}, TypeError, r"axis=\[\]"),
])
def test_rms_normalization_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        initium.layers.RMSNormalization(**kwargs)
