"""Keras 3 files both ways: fixtures written by real Keras, round trips through Keras, safety.

Fixtures: tests/data/keras/ (regenerate with ``KERAS_BACKEND=torch python tests/data/make_keras_fixtures.py``).
"""

import io
import json
import os
import re
import zipfile
import zlib

import h5py
import numpy as np
import pytest
import torch

import initium as keras
from initium import layers

from fuzz_cases import KERNEL, nested_groups, one_chunk_kernel, replace  # the fuzz corpus's makers

DATA = os.path.join(os.path.dirname(__file__), "data", "keras")
FIXTURES = ["mlp", "seed_cnn", "batchnorm", "two_input", "lstm", "nested"]
TOL = 2e-5


def _fixture(name):
    d = np.load(os.path.join(DATA, f"{name}.npz"))
    x = [d["x0"], d["x1"]] if "x0" in d else d["x"]
    return x, d["y"]


def _path(name, ext):
    return os.path.join(DATA, f"{name}{ext}")


# --------------------------------------------------------------------------- Keras -> initium
@pytest.mark.parametrize("name", FIXTURES)
def test_keras_archive_loads_with_keras_predictions(name):
    x, y = _fixture(name)
    model = keras.models.load_model(_path(name, ".keras"))
    np.testing.assert_allclose(model.predict(x, verbose=0), y, atol=TOL, rtol=0)


@pytest.mark.parametrize("name", FIXTURES)
def test_keras_weights_h5_loads_into_the_architecture(name):
    x, y = _fixture(name)
    model = keras.models.load_model(_path(name, ".keras"), compile=False)
    with torch.no_grad():
        for v in model.weights:
            v.zero_()
    model.load_weights(_path(name, ".weights.h5"))
    np.testing.assert_allclose(model.predict(x, verbose=0), y, atol=TOL, rtol=0)


def test_compiled_archive_restores_compile_state_and_adam_slots():
    model = keras.models.load_model(_path("mlp", ".keras"))
    assert type(model.optimizer).__name__ == "Adam" and model.loss == "categorical_crossentropy"
    assert int(model.optimizer.iterations) == 2  # the fixture trained two steps
    with h5py.File(_path("mlp", ".weights.h5"), "r") as f:
        saved = [f["optimizer/vars"][str(i)][()] for i in range(len(f["optimizer/vars"]))]
    ours = [v.detach().cpu().numpy() for v in model.optimizer.variables]
    assert len(saved) == len(ours) == 2 + 2 * 4
    for a, b in zip(ours, saved):
        np.testing.assert_array_equal(a, b)


def test_training_continues_like_keras_after_loading():
    """One more Adam step from the loaded state gives Keras's weights (slots and step count restored)."""
    import keras as real

    ours = keras.models.load_model(_path("mlp", ".keras"))
    theirs = real.models.load_model(_path("mlp", ".keras"))
    rng = np.random.default_rng(5)
    x = rng.random((8, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 8)]
    ours.train_on_batch(x, y)
    theirs.train_on_batch(x, y)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_loading_draws_no_random_numbers():
    from initium import random as irandom

    with irandom.record_keys() as keys:
        keras.models.load_model(_path("seed_cnn", ".keras"))
    assert keys == []


# --------------------------------------------------------------------------- initium -> Keras
def _models():
    def mlp():
        return keras.Sequential([keras.Input((12,)), layers.Dense(8, activation="relu", bias_initializer="random_normal"),
                                 layers.Dense(3, activation="softmax")])

    def cnn():
        return keras.Sequential([keras.Input((9, 9, 1)), layers.Conv2D(4, (3, 3), activation="relu"), layers.Flatten(),
                                 layers.Dense(5, activation="relu"), layers.Dense(3, activation="softmax")])

    def bn():
        return keras.Sequential([keras.Input((6,)), layers.Dense(7), layers.BatchNormalization(), layers.Activation("relu"),
                                 layers.Dense(2)])

    def two():
        a, b = keras.Input((4,), name="a"), keras.Input((6,), name="b")
        h = layers.Concatenate(name="cat")([layers.Dense(3, name="da")(a), layers.Dense(3, name="db")(b)])
        return keras.Model([a, b], layers.Dense(2, name="out")(h))

    def lstm():
        return keras.Sequential([keras.Input((5, 3)), layers.LSTM(4), layers.Dense(1)])

    def nested():
        inp = keras.Input((4,))
        inner = keras.Sequential([layers.Dense(3), layers.Dense(3)], name="inner")
        return keras.Model(inp, layers.Dense(2)(inner(inp)))

    rng = np.random.default_rng(0)
    r = lambda *s: rng.standard_normal(s).astype("float32")  # noqa: E731
    return {"mlp": (mlp, r(5, 12)), "cnn": (cnn, r(5, 9, 9, 1)), "bn": (bn, r(5, 6)), "two": (two, [r(5, 4), r(5, 6)]),
            "lstm": (lstm, r(5, 5, 3)), "nested": (nested, r(5, 4))}


@pytest.mark.parametrize("name", ["mlp", "cnn", "bn", "two", "lstm", "nested"])
def test_initium_archive_loads_in_keras_and_back(name, tmp_path):
    import keras as real

    build, x = _models()[name]
    model = build()
    if name == "bn":  # make the moving statistics non-trivial
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, np.ones((5, 2), "float32"), epochs=3, verbose=0)
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    theirs = real.models.load_model(path)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, atol=TOL, rtol=0)
    # Keras's weights file loads into our model, and ours into Keras's
    theirs.save_weights(str(tmp_path / "k.weights.h5"))
    model.save_weights(str(tmp_path / "i.weights.h5"))
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, atol=TOL, rtol=0)
    again.load_weights(str(tmp_path / "k.weights.h5"))
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, atol=TOL, rtol=0)
    theirs.load_weights(str(tmp_path / "i.weights.h5"))
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, atol=TOL, rtol=0)
    # Keras re-saves; we load that too
    theirs.save(str(tmp_path / "k.keras"))
    np.testing.assert_allclose(keras.models.load_model(str(tmp_path / "k.keras")).predict(x, verbose=0), expected,
                               atol=TOL, rtol=0)


def test_compiled_initium_archive_keeps_optimizer_state_in_keras(tmp_path):
    import keras as real

    build, x = _models()["mlp"]
    model = build()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    y = np.eye(3, dtype="float32")[[0, 1, 2, 0, 1]]
    model.fit(x, y, epochs=3, batch_size=5, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    theirs = real.models.load_model(path)
    assert int(theirs.optimizer.iterations.numpy()) == 3
    ours = keras.models.load_model(path)
    theirs.train_on_batch(x, y)
    ours.train_on_batch(x, y)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_json_round_trips_with_keras():
    import keras as real

    build, _ = _models()["two"]
    ours = build()
    theirs = real.models.model_from_json(ours.to_json())
    back = keras.models.model_from_json(theirs.to_json())
    assert [type(l).__name__ for l in back.layers] == [type(l).__name__ for l in ours.layers]
    assert [tuple(w.shape) for w in back.weights] == [tuple(w.shape) for w in theirs.weights]


def test_state_dict_is_torchs():
    build, x = _models()["mlp"]
    model = build()
    sd = model.state_dict()
    assert all(isinstance(v, torch.Tensor) for v in sd.values()) and len(sd) == 4
    other = build()
    other.load_state_dict(sd)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


# --------------------------------------------------------------------------- provenance
def test_provenance_is_saved_and_a_loaded_model_reinitializes_as_born(tmp_path):
    keras.utils.set_random_seed(42)
    build, x = _models()["mlp"]
    model = build()
    born = model.get_weights()
    with torch.no_grad():
        for v in model.weights:
            v.add_(1.0)  # "trained"
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        meta = json.loads(z.read("metadata.json"))
        config = json.loads(z.read("config.json"))
    info = meta["initium"]
    assert info["generator"] == keras.random.GENERATOR and info["global_seed"] == 42
    assert info["transform_version"] == keras.random.TRANSFORM_VERSION
    assert set(info["init_keys"]) == {"layers/dense/vars/0", "layers/dense/vars/1", "layers/dense_1/vars/0"}
    dense = config["config"]["layers"][1]["config"]
    assert dense["bias_initializer"]["class_name"] == "RandomNormal"
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.get_weights()[0], born[0] + 1.0)
    for layer in loaded.layers:
        layer.reinitialize(replay=True)
    for a, b in zip(loaded.get_weights(), born):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- weights errors
def test_weights_mismatch_names_layer_weight_and_shapes(tmp_path):
    a = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="d1"), layers.Dense(2, name="d2")])
    b = keras.Sequential([keras.Input((4,)), layers.Dense(5, name="d1"), layers.Dense(2, name="d2")])
    path = str(tmp_path / "a.weights.h5")
    a.save_weights(path)
    before = b.get_weights()
    with pytest.raises(ValueError, match=r"layer 'd1' \(Dense, file group `layers/dense/vars`\): weight 'kernel' "
                                         r"has shape \(4, 5\) in the model but \(4, 3\) in the file"):
        b.load_weights(path)
    for w0, w1 in zip(before, b.get_weights()):  # nothing was written
        np.testing.assert_array_equal(w0, w1)
    b.load_weights(path, skip_mismatch=True)  # loads what fits: d2's kernel and bias
    np.testing.assert_array_equal(b.get_weights()[3], a.get_weights()[3])


def test_missing_and_extra_weights_are_refused(tmp_path):
    small = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    big = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(2)])
    p_small, p_big = str(tmp_path / "s.weights.h5"), str(tmp_path / "b.weights.h5")
    small.save_weights(p_small)
    big.save_weights(p_big)
    with pytest.raises(ValueError, match=r"file group `layers/dense_1/vars`\): the file has no weights for it"):
        big.load_weights(p_small)
    with pytest.raises(ValueError, match=r"the file has weights at `layers/dense_1/vars` that match no layer"):
        small.load_weights(p_big)
    with h5py.File(p_small, "a") as f:
        del f["layers/dense/vars/1"]
    with pytest.raises(ValueError, match=r"expected 2 weights \['kernel', 'bias'\], the file has 1"):
        small.load_weights(p_small)


def test_file_name_rules(tmp_path):
    m = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=r"The filename must end in `.weights.h5`. Received: filepath=.*w.h5"):
        m.save_weights(str(tmp_path / "w.h5"))
    with pytest.raises(ValueError, match=r"Invalid filepath extension for saving.*Received: filepath=.*m.tf"):
        m.save(str(tmp_path / "m.tf"))
    with pytest.raises(ValueError, match=r"File format not supported: filepath=.*x.npz"):
        m.load_weights(str(tmp_path / "x.npz"))
    m.save_weights(str(tmp_path / "w.weights.h5"))
    with pytest.raises(ValueError, match=r"No model config found in the file at .*w.weights.h5"):
        keras.models.load_model(str(tmp_path / "w.weights.h5"))
    with pytest.raises(FileExistsError):
        m.save_weights(str(tmp_path / "w.weights.h5"), overwrite=False)


# --------------------------------------------------------------------------- hostile files
MARKER_CODE = "import pathlib; pathlib.Path({path!r}).write_text('pwned')"


def _archive(path, config, weights=None, metadata=None, extra=()):
    if weights is None:
        buf = io.BytesIO()
        with h5py.File(buf, "w") as f:
            f.require_group("vars").attrs["name"] = "m"
        weights = buf.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps(metadata or {"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(config) if not isinstance(config, (bytes, str)) else config)
        z.writestr("model.weights.h5", weights)
        for name, data in extra:
            z.writestr(name, data)
    return str(path)


def _seq(*layer_entries):
    inp = {"module": "keras.layers", "class_name": "InputLayer",
           "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "input_layer"}, "registered_name": None}
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential", "layers": [inp, *layer_entries]}}


def _dense(**overrides):
    cfg = {"name": "dense", "units": 2, "activation": "linear"}
    cfg.update(overrides)
    return {"module": "keras.layers", "class_name": "Dense", "config": cfg, "registered_name": None}


def _hostile_cases(marker):
    code = MARKER_CODE.format(path=marker)
    import base64
    import marshal

    blob = base64.b64encode(marshal.dumps(compile(code, "<x>", "exec"))).decode()
    lam = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
           "config": {"name": "lambda", "function": {"class_name": "__lambda__", "config": {"code": blob}}}}
    os_system = {"module": "os", "class_name": "system", "config": {"command": f"touch {marker}"}, "registered_name": None}
    return {
        "lambda": (_seq(lam), r"Refusing to build a Lambda layer"),
        "unknown_module": (_seq({"module": "evil.payload", "class_name": "Backdoor", "config": {}, "registered_name": None}),
                           r"Unknown layer class 'Backdoor' \(module 'evil.payload'\)"),
        "os_system_layer": (_seq(os_system), r"Unknown layer class 'system' \(module 'os'\)"),
        "os_system_registered_name": (_seq({**os_system, "registered_name": "os.system"}),
                                      r"Unknown layer class 'system' \(module 'os'\)"),
        "os_system_activation": (_seq(_dense(activation=os_system)), r"system"),
        "os_system_initializer": (_seq(_dense(kernel_initializer=os_system)), r"system"),
        "builtins_eval_initializer": (_seq(_dense(kernel_initializer={"module": "builtins", "class_name": "eval",
                                                                      "config": {"source": code}})), r"eval"),
        "lambda_activation": (_seq(_dense(activation={"class_name": "__lambda__", "config": {"code": blob}})), r"lambda"),
    }


@pytest.mark.parametrize("case", ["lambda", "unknown_module", "os_system_layer", "os_system_registered_name",
                                  "os_system_activation", "os_system_initializer", "builtins_eval_initializer",
                                  "lambda_activation"])
def test_hostile_configs_are_refused_and_run_nothing(case, tmp_path):
    marker = tmp_path / "marker"
    config, pattern = _hostile_cases(str(marker))[case]
    path = _archive(tmp_path / "evil.keras", config)
    with pytest.raises((ValueError, TypeError), match=pattern):
        keras.models.load_model(path, safe_mode=False)
    assert not marker.exists()
    with pytest.raises((ValueError, TypeError), match=pattern):
        keras.models.model_from_json(json.dumps(config))
    assert not marker.exists()


def test_lambda_error_says_how_to_register(tmp_path):
    marker = tmp_path / "marker"
    path = _archive(tmp_path / "evil.keras", _hostile_cases(str(marker))["lambda"][0])
    with pytest.raises(ValueError, match=r"register it with @initium.saving.register_keras_serializable|"
                                         r"register_keras_serializable"):
        keras.models.load_model(path)


def test_path_traversal_entry_is_refused(tmp_path):
    path = _archive(tmp_path / "trav.keras", _seq(_dense()), extra=[("../../outside.txt", "x")])
    with pytest.raises(ValueError, match=r"unsafe name '../../outside.txt'"):
        keras.models.load_model(path)
    assert not (tmp_path.parent / "outside.txt").exists()
    path = _archive(tmp_path / "abs.keras", _seq(_dense()), extra=[("/etc/passwd", "x")])
    with pytest.raises(ValueError, match=r"unsafe name '/etc/passwd'"):
        keras.models.load_model(path)


def test_zip_bomb_is_refused_without_inflating_it(tmp_path):
    """A 200 MB run of zeros deflates to ~200 KB; the reader stops after ~100x the compressed size."""
    path = str(tmp_path / "bomb.keras")
    zeros = bytes(200 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("metadata.json", "{}")
        z.writestr("config.json", json.dumps(_seq(_dense())))
        z.writestr("model.weights.h5", zeros)
    del zeros
    with pytest.raises(ValueError, match=r"`model.weights.h5` inflates more than 100x .*zip bomb"):
        keras.models.load_model(path)
    # a huge declared config.json is refused from its header alone
    big = str(tmp_path / "bigjson.keras")
    with zipfile.ZipFile(big, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", b" " * (65 << 20))
    with pytest.raises(ValueError, match=r"`config.json` declares \d+ bytes, above the limit"):
        keras.models.load_model(big)


def test_damaged_files_give_value_errors(tmp_path):
    good = str(tmp_path / "good.keras")
    keras.Sequential([keras.Input((4,)), layers.Dense(2)]).save(good)
    raw = open(good, "rb").read()
    cases = {
        "truncated.keras": (raw[: len(raw) // 2], r"not a zip archive|corrupted or truncated"),
        "text.keras": (b"this is just a text file\n", r"not a zip archive"),
        "empty.keras": (b"", r"is empty"),
    }
    with open(os.path.join(DATA, "mlp.weights.h5"), "rb") as f:
        cases["hdf5.keras"] = (f.read(), r"it is an HDF5 file \(use load_weights")
    for name, (data, pattern) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(ValueError, match=pattern):
            keras.models.load_model(str(p))
    # a zip whose weights are not HDF5 / whose config is not JSON / which lacks a member
    p = _archive(tmp_path / "badh5.keras", _seq(_dense()), weights=b"garbage" * 100)
    with pytest.raises(ValueError, match=r"not a valid HDF5 file"):
        keras.models.load_model(p)
    p = _archive(tmp_path / "badjson.keras", b"{not json")
    with pytest.raises(ValueError, match=r"`config.json` in .* is not valid JSON"):
        keras.models.load_model(p)
    p = str(tmp_path / "nomember.keras")
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match=r"has no `config.json`"):
        keras.models.load_model(p)
    trunc_h5 = tmp_path / "t.weights.h5"
    trunc_h5.write_bytes(open(os.path.join(DATA, "mlp.weights.h5"), "rb").read()[:3000])
    with pytest.raises(ValueError, match=r"not a valid HDF5 file"):
        keras.Sequential([keras.Input((784,)), layers.Dense(16), layers.Dense(10)]).load_weights(str(trunc_h5))
    crc = bytearray(raw)
    at = crc.find(b'"class_name"')  # flip a byte inside the stored config: CRC check fails
    crc[at + 2] ^= 0x01
    p = tmp_path / "crc.keras"
    p.write_bytes(bytes(crc))
    with pytest.raises(ValueError, match=r"corrupted or truncated"):
        keras.models.load_model(str(p))


# --------------------------------------------------------------------------- atomic writes
@pytest.mark.parametrize("what", ["save", "save_weights"])
def test_a_save_that_fails_midway_leaves_the_old_file(what, tmp_path, monkeypatch):
    from initium.saving import keras_format

    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    path = str(tmp_path / ("m.keras" if what == "save" else "m.weights.h5"))
    getattr(model, what)(path)
    before = open(path, "rb").read()
    real_write = keras_format._write_h5

    def exploding(model, target, include_optimizer=True):
        real_write(model, target, include_optimizer)  # the weights are half way out when...
        raise RuntimeError("killed mid-save")

    monkeypatch.setattr(keras_format, "_write_h5", exploding)
    with torch.no_grad():
        model.layers[0].kernel.add_(1.0)
    with pytest.raises(RuntimeError, match="killed mid-save"):
        getattr(model, what)(path)
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(path)]  # no temporary file left behind


def test_registered_subclassed_model_round_trips_with_keras(tmp_path):
    """A subclassed model whose attribute names sort before and after `layers` (Keras's walk order)."""
    import keras as real

    @keras.saving.register_keras_serializable(package="T")
    class TwoLayer(keras.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.alpha = layers.Dense(units, activation="relu")
            self.zeta = layers.Dense(2)

        def call(self, x):
            return self.zeta(self.alpha(x))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    def keras_twin():  # Keras's twin, registered under the same name
        @real.saving.register_keras_serializable(package="T")
        class TwoLayer(real.Model):
            def __init__(self, units=3, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.alpha = real.layers.Dense(units, activation="relu")
                self.zeta = real.layers.Dense(2)

            def call(self, x):
                return self.zeta(self.alpha(x))

            def get_config(self):
                return {**super().get_config(), "units": self.units}

        return TwoLayer

    keras_twin()
    x = np.random.default_rng(1).standard_normal((4, 5)).astype("float32")
    ours = TwoLayer(units=4)
    ours(x)
    ours.compile(optimizer="adam", loss="mse")
    ours.fit(x, np.ones((4, 2), "float32"), epochs=2, verbose=0)
    expected = ours.predict(x, verbose=0)
    path = str(tmp_path / "sub.keras")
    ours.save(path)
    with h5py.File(io.BytesIO(zipfile.ZipFile(path).read("model.weights.h5"))) as f:
        groups = sorted(k for k in f.keys())
    assert groups == ["alpha", "layers", "optimizer", "vars"]  # zeta sorts after `layers`: saved as layers/dense_1
    back = keras.models.load_model(path)
    assert type(back) is TwoLayer and back.units == 4
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, atol=TOL, rtol=0)
    theirs = real.models.load_model(path)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, atol=TOL, rtol=0)
    theirs.save(str(tmp_path / "k.keras"))
    again = keras.models.load_model(str(tmp_path / "k.keras"))
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, atol=TOL, rtol=0)


@pytest.mark.parametrize("name", FIXTURES)
def test_initium_resave_of_each_fixture_loads_in_keras(name, tmp_path):
    import keras as real

    x, y = _fixture(name)
    path = str(tmp_path / f"{name}.keras")
    keras.models.load_model(_path(name, ".keras")).save(path)
    np.testing.assert_allclose(real.models.load_model(path).predict(x, verbose=0), y, atol=TOL, rtol=0)


def _zoo():
    """One model holding most layer kinds of the layers issue (weights of every shape and nesting)."""
    img = keras.Input((8, 8, 3), name="img")
    seq = keras.Input((6,), dtype="int32", name="tokens")
    ts = keras.Input((5, 4), name="series")
    a = layers.Conv2D(4, 3, padding="same", activation="relu")(img)
    a = layers.DepthwiseConv2D(3, padding="same")(a)
    a = layers.SeparableConv2D(5, 3)(a)
    a = layers.BatchNormalization()(a)
    a = layers.Conv2DTranspose(3, 2, strides=2)(a)
    a = layers.MaxPooling2D()(a)
    a = layers.GlobalAveragePooling2D()(a)
    b = layers.Embedding(20, 4)(seq)
    b = layers.Bidirectional(layers.GRU(3))(b)
    c = layers.SimpleRNN(3, return_sequences=True)(ts)
    c = layers.Conv1D(2, 2)(c)
    c = layers.LayerNormalization()(c)
    c = layers.Flatten()(c)
    h = layers.Concatenate()([a, b, c])
    h = layers.Dense(6, activation="tanh")(h)
    h = layers.Dropout(0.1)(h)
    out = layers.Dense(2, activation="softmax")(h)
    return keras.Model([img, seq, ts], out)


def test_layer_zoo_round_trips_through_keras(tmp_path):
    import keras as real

    rng = np.random.default_rng(3)
    x = [rng.standard_normal((4, 8, 8, 3)).astype("float32"), rng.integers(0, 20, (4, 6)).astype("int32"),
         rng.standard_normal((4, 5, 4)).astype("float32")]
    model = _zoo()
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "zoo.keras")
    model.save(path)
    theirs = real.models.load_model(path)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, atol=TOL, rtol=0)
    theirs.save(str(tmp_path / "zoo_k.keras"))
    back = keras.models.load_model(str(tmp_path / "zoo_k.keras"))
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, atol=TOL, rtol=0)


# --------------------------------------------------------------------------- hostile weight files (issue 12)

SECRET = np.frombuffer(b"KKKK", "<f4")[0]  # 13323083.0: what the sentinel files hold


def _small_trained(optimizer="adam"):
    """A compiled two-Dense model whose optimizer state is built (one step)."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.ones((2, 4), "float32"), np.zeros((2, 2), "float32"), epochs=1, verbose=0)
    return model


def _state(model):
    optimizer = model.optimizer
    return ([w.detach().clone() for w in model.weights] + [v.detach().clone() for v in optimizer.variables]
            + [optimizer.built])


def _assert_untouched(model, before):
    after = _state(model)
    assert len(after) == len(before)
    for a, b in zip(after, before):
        assert torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b


def _damaged_weights(tmp_path, model, mutate, name="w.weights.h5"):
    """``model``'s weights file, changed by ``mutate(f)``; with its weights moved so a load would show."""
    path = str(tmp_path / name)
    saved = [w.detach().clone() for w in model.weights]
    with torch.no_grad():
        for w in model.weights:
            w.add_(1.0)
    model.save_weights(path)
    with torch.no_grad():
        for w, value in zip(model.weights, saved):
            w.copy_(value)
    with h5py.File(path, "r+") as f:
        mutate(f)
    return path


def _in_archive(tmp_path, model, weights_path):
    """A `.keras` of ``model`` whose `model.weights.h5` is the file at ``weights_path``."""
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["model.weights.h5"] = open(weights_path, "rb").read()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return path


@pytest.fixture
def secrets(tmp_path):
    """A raw file and an HDF5 file of sentinel values, that hostile weights files point at."""
    raw = tmp_path / "secret.bin"
    raw.write_bytes(b"K" * 4096)
    h5 = str(tmp_path / "secret.h5")
    with h5py.File(h5, "w") as f:
        f["kernel"] = np.full((4, 3), SECRET)
        f["vars/0"] = np.full((4, 3), SECRET)
        f["vars/1"] = np.full((3,), SECRET)
    return str(raw), h5


def _outside_readers(raw, h5):
    def virtual(f, n):
        layout = h5py.VirtualLayout(shape=(4, 3), dtype="<f4")
        layout[:] = h5py.VirtualSource(h5, "kernel", shape=(4, 3))
        f.create_virtual_dataset(n, layout)

    def soft_link_out_of_tree(f, n):
        f["elsewhere"] = np.full((4, 3), SECRET)
        f[n] = h5py.SoftLink("/elsewhere")

    return {
        "external_storage": (replace(KERNEL, lambda f, n: f.create_dataset(n, shape=(4, 3), dtype="<f4",
                                                                            external=[(raw, 0, 48)])),
                             r"`layers/dense/vars/0` keeps its values in other files \(.*secret.bin"),
        "external_link": (replace(KERNEL, lambda f, n: f.__setitem__(n, h5py.ExternalLink(h5, "kernel"))),
                          r"`layers/dense/vars/0` is an external link"),
        "external_link_group": (replace("layers/dense/vars",
                                        lambda f, n: f.__setitem__(n, h5py.ExternalLink(h5, "vars"))),
                                r"`layers/dense/vars` is an external link"),
        "soft_link_out_of_tree": (replace(KERNEL, soft_link_out_of_tree), r"`layers/dense/vars/0` is a soft link"),
        "soft_link_dangling": (replace(KERNEL, lambda f, n: f.__setitem__(n, h5py.SoftLink("/nowhere"))),
                               r"`layers/dense/vars/0` is a soft link"),
        "virtual_dataset": (replace(KERNEL, virtual), r"`layers/dense/vars/0` is a virtual dataset"),
    }


@pytest.mark.parametrize("container", [".weights.h5", ".keras"])
@pytest.mark.parametrize("kind", ["external_storage", "external_link", "external_link_group", "soft_link_out_of_tree",
                                  "soft_link_dangling", "virtual_dataset"])
def test_weights_that_read_other_files_are_refused(kind, container, tmp_path, secrets):
    """Finding 1: before, these loaded the sentinel file's bytes into the kernel with no error."""
    model = _small_trained()
    mutate, pattern = _outside_readers(*secrets)[kind]
    path = _damaged_weights(tmp_path, model, mutate)
    if kind != "soft_link_dangling":  # the file works: plain h5py reads the secret through it
        with h5py.File(path, "r") as f:
            np.testing.assert_array_equal(f[KERNEL][()], np.full((4, 3), SECRET))
    if container == ".keras":
        path = _in_archive(tmp_path, model, path)
    before = _state(model)
    with pytest.raises(ValueError, match=rf"Refusing {re.escape(path)}: {pattern}"):
        model.load_weights(path)
    _assert_untouched(model, before)
    if container == ".keras":
        with pytest.raises(ValueError, match=rf"Refusing {re.escape(path)}: {pattern}"):
            keras.models.load_model(path)


def test_a_declared_shape_is_compared_before_any_byte_is_read(tmp_path):
    """Finding 2: a 240 MB gzip dataset in a tiny file was inflated whole before the shape check;
    10**12 elements gave a raw MemoryError."""
    import tracemalloc

    model = _small_trained()
    before = _state(model)
    for n in (60_000_000, 10 ** 12):
        path = _damaged_weights(tmp_path, model, replace(KERNEL, lambda f, k: f.create_dataset(
            k, shape=(n,), dtype="f4", chunks=(1 << 20,), compression="gzip", fillvalue=1.0)), name=f"{n}.weights.h5")
        assert os.path.getsize(path) < 64 << 10
        tracemalloc.start()
        try:
            # Refused when the file is opened (it declares far more bytes than it stores), before any
            # comparison with the model, let alone a read.
            with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: `layers/dense/vars/0` declares {4 * n} "
                                                 r"bytes of values but stores \d+ bytes"):
                model.load_weights(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 4 << 20
        _assert_untouched(model, before)


def test_chunks_that_decompress_far_more_than_the_dataset_are_refused(tmp_path):
    """Finding 2: one 64 MiB chunk for a 48-byte kernel was inflated whole, as were rows of long chunks."""
    model = _small_trained()
    before = _state(model)
    bomb = _damaged_weights(tmp_path, model, replace(KERNEL, one_chunk_kernel(64 << 20)), name="bomb.weights.h5")
    assert os.path.getsize(bomb) < 1 << 20
    with h5py.File(bomb) as f:  # a valid file: h5py reads the kernel (inflating the whole chunk)
        np.testing.assert_array_equal(f[KERNEL][()], np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"`layers/dense/vars/0` is 48 bytes, stored in chunks \(4096, 4096\) that "
                                         r"decompress 67108864 bytes .*: a decompression bomb"):
        model.load_weights(bomb)
    rows = _damaged_weights(tmp_path, model, replace(KERNEL, lambda f, n: f.create_dataset(
        n, data=np.ones((4, 3), "f4"), maxshape=(None, None), chunks=(1, 1 << 20), compression="gzip")))
    with pytest.raises(ValueError, match=r"stored in chunks \(1, 1048576\) that decompress 16777216 bytes"):
        model.load_weights(rows)
    _assert_untouched(model, before)


@pytest.mark.parametrize("options", [dict(compression="gzip", shuffle=True, fletcher32=True), dict(compression="lzf"),
                                     dict(chunks=(2, 2))])
def test_the_filters_and_chunks_h5py_writes_load(options, tmp_path):
    model = _small_trained()
    kernel = np.arange(12, dtype="f4").reshape(4, 3)
    path = _damaged_weights(tmp_path, model, replace(KERNEL, lambda f, n: f.create_dataset(n, data=kernel, **options)))
    model.load_weights(path)
    np.testing.assert_array_equal(model.layers[0].kernel.detach().numpy(), kernel)


def test_unknown_filters_are_refused(tmp_path):
    model = _small_trained()
    path = _damaged_weights(tmp_path, model, replace(KERNEL, lambda f, n: f.create_dataset(
        n, data=np.ones((4, 3), "f4"), scaleoffset=2)))
    with pytest.raises(ValueError, match=r"`layers/dense/vars/0` uses the HDF5 filter id 6, not one h5py writes"):
        model.load_weights(path)


def _count_links(monkeypatch):
    from initium.saving.h5 import WeightsFile

    calls = []
    real = WeightsFile._open_link
    monkeypatch.setattr(WeightsFile, "_open_link", lambda self, *a: calls.append(1) or real(self, *a))
    return calls


def test_the_group_walk_is_linear_and_depth_limited(tmp_path, monkeypatch):
    """Finding 2: 3,000 nested groups took a quadratic walk (20 s); now each link is opened once, and
    the walk stops at 64 levels."""
    model = _small_trained()
    clean = _damaged_weights(tmp_path, model, lambda f: None, name="clean.weights.h5")
    calls = _count_links(monkeypatch)
    model.load_weights(clean)
    base = len(calls)

    deep = _damaged_weights(tmp_path, model, nested_groups(3000), name="deep.weights.h5")
    calls.clear()
    with pytest.raises(ValueError, match=rf"Refusing {re.escape(deep)}: `(g/){{64}}g` nests groups deeper than 64"):
        model.load_weights(deep)
    assert len(calls) <= base + 65  # the 65th level is opened, then refused
    wide = _damaged_weights(tmp_path, model, lambda f: [f.create_group(f"junk/{i}") for i in range(3000)],
                            name="wide.weights.h5")
    calls.clear()
    model.load_weights(wide)  # stray groups that hold no weights are ignored
    assert len(calls) == base + 3001
    legal = _damaged_weights(tmp_path, model, nested_groups(60), name="legal.weights.h5")
    model.load_weights(legal)


@pytest.mark.parametrize("link", ["cycle", "shared"])
def test_an_object_linked_twice_is_refused(link, tmp_path):
    """A hard-link cycle (or a subtree linked twice) would make the walk endless (or exponential)."""
    model = _small_trained()

    def mutate(f):
        if link == "cycle":
            f["layers/dense/loop"] = f["layers"]
        else:
            f["layers/dense/vars_copy"] = f["layers/dense/vars"]

    path = _damaged_weights(tmp_path, model, mutate)
    with pytest.raises(ValueError, match=r"is a second link to an object already linked elsewhere"):
        model.load_weights(path)


def test_a_nested_model_deeper_than_the_default_limit_round_trips(tmp_path):
    """The depth limit grows with the model being loaded: any model initium saves, it loads."""
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    for _ in range(40):
        inner = keras.Sequential([inner])
    model = keras.Sequential([keras.Input((4,)), inner])
    x = np.ones((1, 4), "float32")
    path = str(tmp_path / "deep.keras")
    model.save(path)
    np.testing.assert_array_equal(keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


# Flips (xor 0xFF) of one byte of Keras's batchnorm.weights.h5 that raised, before: RuntimeError,
# KeyError, TypeError, a ValueError without the file's name, OSError.
@pytest.mark.parametrize("at", [18, 24, 720, 6729, 8961])
def test_a_corrupted_byte_gives_a_value_error_naming_the_file(at, tmp_path):
    """Finding 3 (all 22,296 single-byte flips of this file now load cleanly or raise such a ValueError)."""
    data = bytearray(open(_path("batchnorm", ".weights.h5"), "rb").read())
    data[at] ^= 0xFF
    path = str(tmp_path / "flipped.weights.h5")
    open(path, "wb").write(bytes(data))
    model = keras.models.load_model(_path("batchnorm", ".keras"))
    before = _state(model)
    with pytest.raises(ValueError, match=re.escape(path)):
        model.load_weights(path)
    _assert_untouched(model, before)


def test_big_endian_weights_load_as_their_values(tmp_path):
    """Finding 3: big-endian data is legitimate (h5py writes it when asked); it is converted, not refused."""
    model = _small_trained()
    kernel, bias = np.arange(12, dtype=">f4").reshape(4, 3), np.array([0.5, -1.5, 2.5], ">f8")

    def mutate(f):
        for name, value in ((KERNEL, kernel), ("layers/dense/vars/1", bias)):
            del f[name]
            f[name] = value
        assert f[KERNEL].dtype.str == ">f4" and f["layers/dense/vars/1"].dtype.str == ">f8"

    model.load_weights(_damaged_weights(tmp_path, model, mutate))
    np.testing.assert_array_equal(model.layers[0].kernel.detach().numpy(), kernel.astype("f4"))
    np.testing.assert_array_equal(model.layers[0].bias.detach().numpy(), bias.astype("f4"))


@pytest.mark.parametrize("what, data", [
    ("long double", np.zeros((4, 3), np.longdouble)), ("complex", np.zeros((4, 3), "c8")),
    ("byte-string", np.full((4, 3), b"ab")), ("compound or opaque", np.zeros((4, 3), [("a", "f4"), ("b", "i4")])),
])
def test_non_real_datasets_are_refused_with_their_kind(what, data, tmp_path):
    model = _small_trained()
    path = _damaged_weights(tmp_path, model, replace(KERNEL, lambda f, n: f.create_dataset(n, data=data)))
    with pytest.raises(ValueError, match=rf"{re.escape(path)}: the dataset `layers/dense/vars/0` holds {what} values "
                                         r"\(dtype .*\); a weight must be an array of bool, int, uint or float"):
        model.load_weights(path)


@pytest.mark.parametrize("key", ["\u00b2", "00", "\uff10", "9" * 5000])
def test_digit_like_keys_are_refused(key, tmp_path):
    """Finding 3: '²'.isdigit() is True but int('²') fails; 5,000 digits exceed int()'s limit."""
    model = _small_trained()
    path = _damaged_weights(tmp_path, model, lambda f: f.move(KERNEL, f"layers/dense/vars/{key}"))
    with pytest.raises(ValueError, match=rf"{re.escape(path)}: the group `layers/dense/vars` holds .*; expected "
                                         r"datasets named 0..1"):
        model.load_weights(path)


def test_an_optimizer_mismatch_is_found_before_any_weight_is_written(tmp_path):
    """Finding 4: the weights were written, then the optimizer check raised."""
    path = str(tmp_path / "adam.weights.h5")
    source = _small_trained("adam")
    with torch.no_grad():
        source.layers[0].kernel.fill_(7.0)
    source.save_weights(path)
    model = _small_trained("rmsprop")  # RMSprop: 1 slot per weight, Adam 2
    before = _state(model)
    with pytest.raises(ValueError, match=r"the optimizer state in the file \(10 variables.*does not match RMSprop "
                                         r"'rm_sprop\w*' of this model \(6 variables"):
        model.load_weights(path)
    _assert_untouched(model, before)
    model.load_weights(path, skip_mismatch=True)  # the weights load; the optimizer keeps its state
    assert float(model.layers[0].kernel.detach()[0, 0]) == 7.0
    for a, b in zip(model.optimizer.variables, before[len(model.weights):]):
        assert torch.equal(a, b)


def test_a_failed_load_does_not_build_an_unbuilt_optimizer(tmp_path):
    source = _small_trained("adam")
    path = str(tmp_path / "adam.weights.h5")
    source.save_weights(path)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(2)])
    model.compile(optimizer="rmsprop", loss="mse")  # not fit: its optimizer is not built
    with pytest.raises(ValueError, match=r"\(10 variables.*does not match RMSprop '\w+' of this model \(6 variables"):
        model.load_weights(path)
    assert not model.optimizer.built
    model.compile(optimizer="adam", loss="mse")
    model.load_weights(path)  # a matching state builds the optimizer and fills it
    assert model.optimizer.built
    for a, b in zip(model.optimizer.variables, source.optimizer.variables):
        assert torch.equal(a.to(b.dtype), b)


KERAS_SKIP = "Skipping variable loading for optimizer 'adam', because it has 10 variables whereas the saved " \
             "optimizer has 2 variables. "


def test_a_keras_file_saved_before_fit_loads_as_keras_loads_it(tmp_path):
    """Finding 4: Keras saved right after compile (optimizer/vars holds only iteration and learning
    rate). Keras restores the weights and skips the optimizer state with a warning; so does initium."""
    import warnings

    import keras as real

    real.utils.set_random_seed(4)
    theirs = real.Sequential([real.Input((4,)), real.layers.Dense(3), real.layers.Dense(2)])
    theirs.compile(optimizer="adam", loss="mse")
    path, weights = str(tmp_path / "k.keras"), str(tmp_path / "k.weights.h5")
    theirs.save(path)
    theirs.save_weights(weights)
    with h5py.File(weights) as f:
        assert sorted(f["optimizer/vars"]) == ["0", "1"]
    with warnings.catch_warnings(record=True) as seen:  # the oracle: Keras's own load of its file
        warnings.simplefilter("always")
        real.models.load_model(path)
    assert [str(w.message) for w in seen if "Skipping" in str(w.message)] == [KERAS_SKIP]
    # initium names the optimizer as Keras would in this process: 'adam', or 'adam_N' after others.
    with pytest.warns(UserWarning, match=re.escape(KERAS_SKIP).replace("'adam'", "'adam(_\\d+)?'")):
        ours = keras.models.load_model(path)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(ours.optimizer.iterations) == 0
    model = _small_trained("adam")  # into a trained model: weights restored, optimizer state kept
    before = _state(model)
    with pytest.warns(UserWarning, match=re.escape(KERAS_SKIP).replace("'adam'", "'adam(_\\d+)?'")):
        model.load_weights(weights)
    for a, b in zip(model.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.optimizer.variables, before[len(model.weights):]):
        assert torch.equal(a, b)


def test_an_initium_file_saved_before_fit_loads_in_keras_without_skipping(tmp_path):
    """The other direction: initium writes the built (zero) optimizer state, which Keras takes as is."""
    import warnings

    import keras as real

    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    path = str(tmp_path / "i.keras")
    model.save(path)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        theirs = real.models.load_model(path)
    assert not [w for w in seen if "Skipping" in str(w.message)]
    assert int(theirs.optimizer.iterations.numpy()) == 0
    for a, b in zip(theirs.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_weights_entry_is_read_in_place_and_crc_checked(tmp_path, monkeypatch):
    """`model.weights.h5` is not copied into memory, yet a damaged byte in it is still caught by its CRC;
    a deflated archive (not Keras's layout, but a valid zip) still loads."""
    from initium.saving.archive import SafeArchive

    model = _small_trained()
    x = np.ones((2, 4), "float32")
    path = str(tmp_path / "m.keras")
    model.save(path)
    real_read = SafeArchive.read
    monkeypatch.setattr(SafeArchive, "read", lambda self, name, limit: (
        pytest.fail(f"{name} was read into memory") if name == "model.weights.h5" else real_read(self, name, limit)))
    np.testing.assert_array_equal(keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))
    monkeypatch.setattr(SafeArchive, "read", real_read)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("model.weights.h5")
        members = {n: z.read(n) for n in z.namelist()}
    data = bytearray(open(path, "rb").read())
    name_len, extra_len = np.frombuffer(bytes(data[info.header_offset + 26:info.header_offset + 30]), "<u2")
    data[info.header_offset + 30 + int(name_len) + int(extra_len) + info.file_size // 2] ^= 0x01
    damaged = tmp_path / "crc.keras"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"Cannot read `model.weights.h5` from .*crc.keras: .*Bad CRC-32"):
        keras.models.load_model(str(damaged))
    before = _state(model)
    with pytest.raises(ValueError, match=r"Bad CRC-32"):
        model.load_weights(str(damaged))
    _assert_untouched(model, before)
    deflated = str(tmp_path / "deflated.keras")
    with zipfile.ZipFile(deflated, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n, blob in members.items():
            z.writestr(n, blob)
    np.testing.assert_array_equal(keras.models.load_model(deflated).predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_config_declaring_a_huge_model_is_refused_before_anything_is_allocated(tmp_path):
    """The loader builds the model from config.json on the meta device first and checks every declared
    weight against the file's datasets: a tiny .keras whose config asks for a 400 GB kernel costs nothing."""
    import json
    import tracemalloc
    import zipfile

    import initium

    model = initium.Sequential([initium.Input((4,)), initium.layers.Dense(3)])
    good = tmp_path / "good.keras"
    model.save(good)
    with zipfile.ZipFile(good) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    config = json.loads(entries["config.json"])
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, 100_000]
    config["config"]["layers"][1]["config"]["units"] = 1_000_000
    config["config"]["layers"][1]["build_config"] = {"input_shape": [None, 100_000]}
    entries["config.json"] = json.dumps(config).encode()
    huge = tmp_path / "huge.keras"
    with zipfile.ZipFile(huge, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=rf"(?s){re.escape(str(huge))}.*weight 'kernel' has shape \(100000, 1000000\) "
                                             r"in the model but \(4, 3\) in the file"):
            initium.models.load_model(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    assert initium.models.load_model(good).layers[0].kernel.shape == (4, 3)  # the untampered file still loads
