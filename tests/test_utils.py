"""``initium.utils`` against Keras 3.15.1's ``keras.utils`` (the oracle, on its torch backend).

Where Keras runs without TensorFlow (pad_sequences, normalize, to_categorical, Progbar, the image
utilities, serialization, split_dataset, the directory indexing, ``keras.ops.image.resize``) the
results are compared with it directly; ``get_file`` runs against a local HTTP server on 127.0.0.1
(no test touches the internet); the tf.data builders are checked against numpy references of
Keras's documented semantics.
"""

from __future__ import annotations

import functools
import http.server
import inspect
import io
import json
import logging
import os
import re
import socket
import sys
import tarfile
import threading
import time
import wave
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import initium
from initium import utils as U

keras = pytest.importorskip("keras")

# ------------------------------------------------------------------------------------ coverage
# Names of keras.utils that initium does not have, each with the reason.
KERAS_ONLY = {
    "FeatureSpace": "a preprocessing layer built on StringLookup/IntegerLookup/Hashing whose adapt() only accepts a "
                    "tf.data.Dataset (keras/src/layers/preprocessing/feature_space.py); initium has the lookup layers "
                    "but not FeatureSpace's own tf.data-based adapt and crossing (HashedCrossing): not written yet",
}
# Parameters whose defaults or names initium deliberately does not share (name -> reason).
SIGNATURE_EXCEPTIONS = {
    "standardize_dtype": "initium.backend.standardize_dtype(dtype=None): None gives floatx, which Keras's also "
                         "returns for None, but Keras's parameter has no default",
}


def _public(module):
    return sorted(n for n in dir(module) if not n.startswith("_"))


def test_every_keras_utils_name_exists_or_is_listed_with_its_reason():
    missing = [n for n in _public(keras.utils) if not hasattr(U, n) and n not in KERAS_ONLY]
    assert not missing, f"keras.utils names missing from initium.utils and not in KERAS_ONLY: {missing}"
    stale = [n for n in KERAS_ONLY if hasattr(U, n)]
    assert not stale, f"listed as Keras-only but present: {stale}"
    assert all(len(why) > 40 for why in KERAS_ONLY.values())


@pytest.mark.parametrize("name", [n for n in _public(keras.utils) if n not in KERAS_ONLY])
def test_signatures_match_keras(name):
    ours, theirs = getattr(U, name), getattr(keras.utils, name)
    if inspect.ismodule(theirs):
        assert inspect.ismodule(ours)
        assert [n for n in _public(theirs) if not hasattr(ours, n)] == []
        return
    if inspect.isclass(theirs):  # Keras's CustomObjectScope is a class, initium's a context-manager function
        theirs = theirs.__init__
        ours = ours.__init__ if inspect.isclass(ours) else ours

    def params(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values() if p.name != "self"]

    if name in SIGNATURE_EXCEPTIONS:  # same names and kinds; only the documented default differs
        assert [p[:2] for p in params(ours)] == [p[:2] for p in params(theirs)] and params(ours) != params(theirs)
        return
    assert params(ours) == params(theirs)


def test_legacy_and_saving_aliases():
    assert initium.saving.serialize_keras_object is U.serialize_keras_object
    assert initium.saving.deserialize_keras_object is U.deserialize_keras_object
    assert U.Sequence is U.PyDataset
    assert U.CustomObjectScope is U.custom_object_scope


def test_importing_utils_stays_light():
    code = ("import sys, initium.utils; heavy = [m for m in ('PIL', 'pydot', 'scipy', 'matplotlib', 'h5py', "
            "'initium.losses', 'initium.metrics', 'initium.optimizers', 'initium.datasets', 'http.server') "
            "if m in sys.modules]; print(heavy)")
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------- numbers and sequences
PAD_CASES = [
    ([[1, 2, 3], [4], []], {}),
    ([[1, 2, 3], [4, 5]], {"maxlen": 2}),
    ([[1, 2, 3], [4, 5]], {"maxlen": 2, "truncating": "post"}),
    ([[1, 2, 3], [4, 5]], {"maxlen": 4, "padding": "post"}),
    ([[1, 2, 3], [4, 5]], {"maxlen": 2, "padding": "post", "truncating": "post", "value": 9}),
    ([[1.5, 2.25], [3.0]], {"dtype": "float32", "value": -1.0}),
    ([[1.5, 2.25], [3.0]], {}),  # int32 cast of floats, as Keras
    ([["a", "bb"], ["c"]], {"dtype": object, "value": ""}),
    ([["a", "bb"], ["c"]], {"dtype": "<U2", "value": "-"}),
    ([["a", "bb"], ["c"]], {"dtype": "str", "value": "?"}),
    ([np.ones((2, 3)), np.zeros((1, 3)), np.full((4, 3), 2.0)], {"maxlen": 3, "dtype": "float64"}),
    ([np.arange(5), np.arange(2)], {"maxlen": 3, "truncating": "post"}),
    ([[7]], {"maxlen": 5, "dtype": "int64", "value": 1}),
    ((np.arange(3), np.arange(6)), {"padding": "post"}),
]


@pytest.mark.parametrize("seqs,kwargs", PAD_CASES)
def test_pad_sequences_matches_keras(seqs, kwargs):
    want = keras.utils.pad_sequences(seqs, **kwargs)
    got = U.pad_sequences(seqs, **kwargs)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)


@pytest.mark.parametrize("seqs,kwargs,match", [
    ([[1, 2], [3]], {"padding": "middle"}, 'Padding type "middle"'),
    ([[1, 2], [3]], {"maxlen": 1, "truncating": "mid"}, 'Truncating type "mid"'),
    ([[1, 2], [3]], {"value": "x"}, "dtype=object"),
    ([[1, 2], 3], {}, "non-iterable"),
    ([np.ones((2, 3)), np.ones((1, 4))], {}, "different from expected shape"),
    (5, {}, "must be iterable"),
])
def test_pad_sequences_errors_are_keras_types(seqs, kwargs, match):
    with pytest.raises(ValueError):
        keras.utils.pad_sequences(seqs, **kwargs)
    with pytest.raises(ValueError, match=match):
        U.pad_sequences(seqs, **kwargs)


def test_pad_sequences_edge_cases_keras_does_not_handle():
    assert U.pad_sequences([[1, 2], [3]], maxlen=0).shape == (2, 0)  # Keras: a numpy broadcast error
    assert U.pad_sequences([], maxlen=3).shape == (0, 3)
    with pytest.raises(ValueError, match="cannot be inferred"):
        U.pad_sequences([])
    with pytest.raises(ValueError, match="non-negative integer"):
        U.pad_sequences([[1]], maxlen=-1)


@pytest.mark.parametrize("axis", [-1, 1, 2])
@pytest.mark.parametrize("order", [1, 2, 3, np.inf])
def test_normalize_matches_keras(axis, order):
    x = np.random.RandomState(0).randn(3, 4, 5)
    x[0, 0] = 0.0  # a zero vector divides by 1
    np.testing.assert_allclose(U.normalize(x, axis, order), keras.utils.normalize(x, axis, order), rtol=1e-12)


def test_normalize_1d_and_axis0_and_tensors():
    np.testing.assert_allclose(U.normalize(np.array([3.0, 4.0])), keras.utils.normalize(np.array([3.0, 4.0])))
    assert U.normalize(np.array([3.0, 4.0])).shape == (1, 2)  # Keras's shape for a 1-D input
    x = np.arange(6.0).reshape(2, 3)  # Keras 3.15.1 raises here (it expands the norms at the last axis)
    np.testing.assert_allclose(U.normalize(x, axis=0), x / np.linalg.norm(x, axis=0, keepdims=True))
    t = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    got = U.normalize(t)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), keras.utils.normalize(t).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="axis"):
        U.normalize(x, axis=None)


@pytest.mark.parametrize("labels,num_classes", [([0, 2, 1], None), ([[1], [0]], 3), (np.array([[0, 1], [2, 0]]), 4),
                                                ([], 2), ([2, 0], 0)])
def test_to_categorical_matches_keras(labels, num_classes):
    want = keras.utils.to_categorical(labels, num_classes)
    got = U.to_categorical(labels, num_classes)
    assert got.dtype == want.dtype == np.float64 and np.array_equal(got, want)
    t = torch.tensor(labels, dtype=torch.int64)
    got_t = U.to_categorical(t, num_classes or 3)
    assert isinstance(got_t, torch.Tensor) and got_t.dtype == torch.float32
    assert np.array_equal(got_t.numpy(), keras.utils.to_categorical(t, num_classes or 3).numpy())


def test_to_categorical_refuses_what_keras_silently_mangles():
    with pytest.raises(ValueError, match="integers"):
        U.to_categorical([0.5, 1])
    with pytest.raises(ValueError, match=">= 0"):
        U.to_categorical([-1, 1])
    with pytest.raises(ValueError, match="num_classes=2"):
        U.to_categorical([0, 2], 2)


# ------------------------------------------------------------------------------------------ Progbar
class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _capture_bar(cls, calls, monkeypatch, terminal, **kwargs):
    """Run ``calls`` on a ``cls(**kwargs)`` with a clock that advances 0.37 s per reading."""
    ticks = iter(100.0 + 0.37 * i for i in range(10_000))
    monkeypatch.setattr(time, "time", lambda: next(ticks))
    stream = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    bar = cls(**kwargs)
    for method, *args in calls:
        getattr(bar, method)(*args)
    monkeypatch.undo()
    return stream.getvalue()


BAR_CALLS = [("update", 1, [("loss", 2.0), ("acc", 0.5)]), ("update", 3, [("loss", 1.0), ("acc", 0.7)]),
             ("add", 1, [("loss", -0.25), ("acc", 0.75)]), ("update", 6, [("loss", 0.0004), ("acc", 0.8)])]
BAR_SETTINGS = [{"target": 6}, {"target": 6, "stateful_metrics": ["acc"]}, {"target": 6, "stateless_metrics": ["loss"]},
                {"target": 6, "verbose": 2}, {"target": None}, {"target": 12, "width": 7, "unit_name": "sample"},
                {"target": 6, "interval": 10.0}, {"target": 6, "verbose": 0}, {"target": 150}]


def _rendered_lines(raw: str) -> list[str]:
    """What a terminal shows for Keras's output: escape codes dropped, ``\\b``/``\\r`` applied."""
    raw = re.sub(r"\x1b\[[0-9;]*m", "", raw)
    lines, current = [], ""
    for chunk in re.split(r"(\n)", raw):
        if chunk == "\n":
            lines.append(current.rstrip())
            current = ""
        else:
            current = re.split(r"[\r]", chunk.replace("\b", ""))[-1] if ("\r" in chunk) else current + chunk
    if current.strip():
        lines.append(current.rstrip())
    return lines


@pytest.mark.parametrize("settings", BAR_SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_progbar_terminal_output_is_byte_identical_to_keras(settings, monkeypatch):
    want = _capture_bar(keras.utils.Progbar, BAR_CALLS, monkeypatch, True, **settings)
    got = _capture_bar(U.Progbar, BAR_CALLS, monkeypatch, True, **settings)
    assert got == want


@pytest.mark.parametrize("settings", BAR_SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_progbar_in_a_pipe_shows_what_keras_shows_without_escape_codes(settings, monkeypatch):
    keras_raw = _capture_bar(keras.utils.Progbar, BAR_CALLS, monkeypatch, False, **settings)
    got = _capture_bar(U.Progbar, BAR_CALLS, monkeypatch, False, **settings)
    assert "\x1b" not in got and "\b" not in got
    assert _rendered_lines(got) == _rendered_lines(keras_raw)
    assert got.split("\r")[-1].rstrip() == _rendered_lines(keras_raw)[-1] if got else keras_raw == ""


def test_progbar_averages_and_stateful_values():
    bar = U.Progbar(4, verbose=0, stateful_metrics=["lr"])
    bar.update(1, [("loss", 4.0), ("lr", 0.1)])
    bar.update(3, [("loss", 1.0), ("lr", 0.2)])  # covers 2 steps: weight 2
    assert bar._sums["loss"] == [6.0, 3] and bar._sums["lr"] == [0.2, 1]
    with pytest.raises(ValueError, match="Only one of"):
        U.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


def test_progbar_follows_interactive_logging(monkeypatch, caplog):
    U.disable_interactive_logging()
    try:
        assert not U.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="initium"):
            out = _capture_bar(U.Progbar, BAR_CALLS, monkeypatch, True, target=6)
        assert out == ""
        assert any("6/6" in r.getMessage() and "\x1b" not in r.getMessage() for r in caplog.records)
    finally:
        U.enable_interactive_logging()
    assert U.is_interactive_logging_enabled()


# ------------------------------------------------------------------------------------ image utilities
def _image(h=5, w=7, c=3, seed=0):
    return np.random.RandomState(seed).uniform(0, 255, (h, w, c)).astype("float32")


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_array_to_img_and_back_match_keras(channels, scale, data_format):
    x = _image(c=channels)
    if data_format == "channels_first":
        x = x.transpose(2, 0, 1)
    ours = U.array_to_img(x, data_format=data_format, scale=scale)
    theirs = keras.utils.array_to_img(x, data_format=data_format, scale=scale)
    assert ours.mode == theirs.mode and ours.size == theirs.size
    assert np.array_equal(np.asarray(ours), np.asarray(theirs))
    back = U.img_to_array(ours, data_format=data_format)
    want = keras.utils.img_to_array(theirs, data_format=data_format)
    assert back.dtype == want.dtype == np.float32 and np.array_equal(back, want)


def test_array_to_img_wide_grayscale_and_errors():
    x = np.full((2, 2, 1), 300.0)
    assert U.array_to_img(x, scale=False).mode == keras.utils.array_to_img(x, scale=False).mode == "I"
    with pytest.raises(ValueError, match="rank 3"):
        U.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="channel number"):
        U.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="data_format"):
        U.img_to_array(np.zeros((2, 2, 3)), data_format="nchw")
    assert U.img_to_array(np.zeros((2, 3)), dtype="uint8").shape == (2, 3, 1)


@pytest.mark.parametrize("ext", ["png", "bmp", "jpg"])
def test_save_and_load_img_round_trip_like_keras(ext, tmp_path):
    x = _image(8, 6, 3)
    U.save_img(tmp_path / f"a.{ext}", x)
    keras.utils.save_img(tmp_path / f"k.{ext}", x)
    ours, theirs = U.load_img(tmp_path / f"a.{ext}"), keras.utils.load_img(tmp_path / f"k.{ext}")
    assert np.array_equal(np.asarray(ours), np.asarray(theirs))
    if ext != "jpg":  # lossless: the scaled pixels come back exactly
        want = np.asarray(keras.utils.array_to_img(x), dtype="float32")
        assert np.array_equal(U.img_to_array(ours), want)


def test_save_img_rgba_as_jpeg_warns(tmp_path):
    with pytest.warns(UserWarning, match="RGBA"):
        U.save_img(tmp_path / "a.jpeg", _image(c=4))


@pytest.mark.parametrize("kwargs", [
    {"color_mode": "grayscale"}, {"color_mode": "rgba"}, {"target_size": (4, 9)},
    {"target_size": (3, 3), "interpolation": "bilinear"}, {"target_size": (4, 4), "keep_aspect_ratio": True,
                                                           "interpolation": "bicubic"},
    {"target_size": (8, 6)}, {"target_size": (5, 2), "keep_aspect_ratio": True, "interpolation": "lanczos"},
])
def test_load_img_matches_keras(kwargs, tmp_path):
    keras.utils.save_img(tmp_path / "x.png", _image(8, 6, 3, seed=3))
    ours = U.load_img(str(tmp_path / "x.png"), **kwargs)
    theirs = keras.utils.load_img(str(tmp_path / "x.png"), **kwargs)
    assert ours.mode == theirs.mode and np.array_equal(np.asarray(ours), np.asarray(theirs))
    with open(tmp_path / "x.png", "rb") as f:
        from_buffer = U.load_img(io.BytesIO(f.read()), **kwargs)
    assert np.array_equal(np.asarray(from_buffer), np.asarray(ours))


def test_load_img_errors(tmp_path):
    keras.utils.save_img(tmp_path / "x.png", _image())
    with pytest.raises(ValueError, match="Invalid interpolation"):
        U.load_img(tmp_path / "x.png", target_size=(2, 2), interpolation="cubic")
    with pytest.raises(ValueError, match="color_mode"):
        U.load_img(tmp_path / "x.png", color_mode="cmyk")
    with pytest.raises(TypeError, match="path-like"):
        U.load_img(3)


# --------------------------------------------------------------------------------- serialization
def _json(x):
    return json.loads(json.dumps(x, default=str))


def _family_pairs():
    import initium.losses
    import initium.metrics
    import initium.optimizers

    return [
        ("layer", keras.layers.Dense(3, activation="relu", name="d"), initium.layers.Dense(3, activation="relu", name="d")),
        ("conv", keras.layers.Conv2D(2, 3, name="c"), initium.layers.Conv2D(2, 3, name="c")),
        ("initializer", keras.initializers.HeNormal(seed=1), initium.initializers.HeNormal(seed=1)),
        ("activation", keras.activations.relu, initium.activations.relu),
        ("loss", keras.losses.MeanSquaredError(), initium.losses.MeanSquaredError()),
        ("loss function", keras.losses.mean_squared_error, initium.losses.mean_squared_error),
        ("metric", keras.metrics.AUC(num_thresholds=50, name="auc"), initium.metrics.AUC(num_thresholds=50, name="auc")),
        ("metric function", keras.metrics.binary_accuracy, initium.metrics.binary_accuracy),
        ("optimizer", keras.optimizers.Adam(0.01, name="opt"), initium.optimizers.Adam(0.01, name="opt")),
        ("schedule", keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9),
         initium.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)),
        ("regularizer", keras.regularizers.L1L2(0.1, 0.2), initium.regularizers.L1L2(0.1, 0.2)),
        ("constraint", keras.constraints.MaxNorm(2), initium.constraints.MaxNorm(2)),
        ("values", {"a": (1, (2.5, "x")), "b": [None, True]}, {"a": (1, (2.5, "x")), "b": [None, True]}),
        ("numpy", np.array([[1, 2]], dtype="int32"), np.array([[1, 2]], dtype="int32")),
        ("numpy scalar", np.float32(2.5), np.float32(2.5)),
        ("bytes", b"ab", b"ab"),
        ("slice", slice(1, None, 2), slice(1, None, 2)),
        ("ellipsis", Ellipsis, Ellipsis),
        ("tensor", keras.ops.convert_to_tensor(np.ones((2, 2), "float32")), torch.ones(2, 2)),
    ]


@pytest.mark.parametrize("what", [p[0] for p in _family_pairs()])
def test_serialize_keras_object_writes_keras_config(what):
    _, k_obj, i_obj = next(p for p in _family_pairs() if p[0] == what)
    assert _json(U.serialize_keras_object(i_obj)) == _json(keras.saving.serialize_keras_object(k_obj))


@pytest.mark.parametrize("what", [p[0] for p in _family_pairs()])
def test_deserialize_reads_keras_configs_and_round_trips(what):
    _, k_obj, i_obj = next(p for p in _family_pairs() if p[0] == what)
    from_keras = U.deserialize_keras_object(_json(keras.saving.serialize_keras_object(k_obj)))
    again = U.deserialize_keras_object(U.serialize_keras_object(i_obj))
    for obj in (from_keras, again):
        if callable(i_obj) and not hasattr(i_obj, "get_config"):
            assert obj is i_obj  # a function resolves to the same built-in of the same family
        elif hasattr(i_obj, "get_config"):
            assert type(obj) is type(i_obj)
            assert _json(U.serialize_keras_object(obj)) == _json(U.serialize_keras_object(i_obj))
        elif isinstance(i_obj, (np.ndarray, torch.Tensor)):
            assert type(obj) is type(i_obj) and np.array_equal(np.asarray(obj), np.asarray(i_obj))
            assert str(obj.dtype).replace("torch.", "") == str(i_obj.dtype).replace("torch.", "")
        elif isinstance(i_obj, dict):
            assert obj == {"a": [1, [2.5, "x"]], "b": [None, True]}  # Keras gives lists back for tuples
        else:
            assert obj == i_obj


def test_serialize_models_with_compile_config_like_keras():
    # explicit names: both libraries number automatic names by what the process created before
    ours = initium.Sequential([initium.Input((4,), name="in"), initium.layers.Dense(2, name="out")], name="m")
    ours.compile(optimizer=initium.optimizers.Adam(name="opt"), loss="mse", metrics=["mae"])
    theirs = keras.Sequential([keras.Input((4,), name="in"), keras.layers.Dense(2, name="out")], name="m")
    theirs.compile(optimizer=keras.optimizers.Adam(name="opt"), loss="mse", metrics=["mae"])
    assert _json(U.serialize_keras_object(ours)) == _json(keras.saving.serialize_keras_object(theirs))
    back = U.deserialize_keras_object(_json(keras.saving.serialize_keras_object(theirs)))
    assert isinstance(back, initium.Sequential) and back.built and back.compiled
    assert [layer.name for layer in back.layers] == ["out"]


def test_registered_custom_objects_round_trip():
    @initium.saving.register_keras_serializable(package="utils_test")
    class Scale:
        def __init__(self, k=1.0):
            self.k = k

        def get_config(self):
            return {"k": self.k, "w": np.array([1.0, 2.0])}

        @classmethod
        def from_config(cls, config):
            return cls(config["k"])

    @initium.saving.register_keras_serializable(package="utils_test")
    def my_fn(x):
        return x

    config = U.serialize_keras_object(Scale(3.0))
    assert config["registered_name"] == "utils_test>Scale" and config["config"]["w"]["class_name"] == "__numpy__"
    assert U.deserialize_keras_object(config).k == 3.0
    fn_config = U.serialize_keras_object(my_fn)
    assert fn_config == {"module": "builtins", "class_name": "function", "config": "utils_test>my_fn",
                         "registered_name": "function"}
    assert U.deserialize_keras_object(fn_config) is my_fn
    assert U.deserialize_keras_object({**fn_config, "config": "my_fn"}) is my_fn  # a plain name finds "pkg>name"
    assert U.deserialize_keras_object("utils_test>Scale") is Scale


def test_custom_objects_and_scopes_resolve_unregistered_classes():
    class Plain:
        def __init__(self, a):
            self.a = a

        def get_config(self):
            return {"a": self.a}

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    config = {"module": "somewhere", "class_name": "Plain", "config": {"a": 1}, "registered_name": "Plain"}
    with pytest.raises(TypeError, match="Could not locate class 'Plain'"):
        U.deserialize_keras_object(config)
    assert U.deserialize_keras_object(config, custom_objects={"Plain": Plain}).a == 1
    with U.custom_object_scope({"Plain": Plain}):
        assert U.deserialize_keras_object(config).a == 1


def test_deserialize_never_imports_a_module_named_in_a_config():
    name = "initium_utils_test_not_a_module"
    for config in ({"module": name, "class_name": "Evil", "config": {}, "registered_name": None},
                   {"module": name, "class_name": "function", "config": "boom", "registered_name": "boom"},
                   {"module": "os", "class_name": "function", "config": "system", "registered_name": None}):
        with pytest.raises(TypeError, match="Could not locate"):
            U.deserialize_keras_object(config)
    assert name not in sys.modules


def test_lambdas_are_never_serialized_nor_loaded():
    with pytest.raises(ValueError, match="lambda"):
        U.serialize_keras_object(lambda x: x)
    lam = {"class_name": "__lambda__", "config": {"value": ["YQ==", None, None]}}
    for safe_mode in (True, False):
        with pytest.raises(ValueError, match="never executes code"):
            U.deserialize_keras_object(lam, safe_mode=safe_mode)


def test_deserialize_plain_values_and_special_forms():
    assert U.deserialize_keras_object(None) is None
    assert U.deserialize_keras_object("not registered anywhere") == "not registered anywhere"
    assert U.deserialize_keras_object({"x": {"class_name": "__bytes__", "config": {"value": "hi"}}}) == {"x": b"hi"}
    kt = U.deserialize_keras_object({"class_name": "__keras_tensor__",
                                     "config": {"shape": [None, 3], "dtype": "float32", "keras_history": ["d", 0, 0]}})
    assert U.is_keras_tensor(kt) and kt.shape == (None, 3)
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float16"}, "registered_name": None}
    assert U.deserialize_keras_object(policy) == "float16"
    with pytest.raises(ValueError, match="dtype"):
        U.deserialize_keras_object({"class_name": "__numpy__", "config": {"value": [1], "dtype": "object"}})
    with pytest.raises(TypeError, match="unexpected keyword"):
        U.deserialize_keras_object({}, bogus=1)
    x = initium.Input((3,))
    y = initium.layers.Dense(2, name="dd")(x)
    assert U.serialize_keras_object(y)["config"]["keras_history"] == ["dd", 0, 0]


def test_module_objects_keyword_resolves_like_keras():
    class Thing:
        def __init__(self, n=0):
            self.n = n

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    got = U.deserialize_keras_object({"class_name": "Thing", "config": {"n": 2}}, module_objects={"Thing": Thing})
    assert isinstance(got, Thing) and got.n == 2


def test_legacy_serialization_round_trip():
    @initium.saving.register_keras_serializable(package="legacy_test")
    class Box:
        def __init__(self, size, inner=None, fn=None):
            self.size, self.inner, self.fn = size, inner, fn

        def get_config(self):
            return {"size": self.size, "inner": self.inner, "fn": self.fn}

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    @initium.saving.register_keras_serializable(package="legacy_test")
    def doubler(x):
        return 2 * x

    obj = Box(2, inner=Box(1), fn=doubler)
    config = U.legacy.serialize_keras_object(obj)
    assert config["class_name"] == "legacy_test>Box"
    assert config["config"]["inner"]["__passive_serialization__"] is True
    assert config["config"]["fn"] == "legacy_test>doubler"
    back = U.legacy.deserialize_keras_object(config)
    assert back.size == 2 and back.inner.size == 1 and back.fn is doubler
    with pytest.raises(ValueError, match="Unknown object: 'Nope'"):
        U.legacy.deserialize_keras_object({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="Improper config"):
        U.legacy.deserialize_keras_object({"class_name": "Box"})
    assert U.legacy.deserialize_keras_object("Box", module_objects={"Box": dict}) == {}


# --------------------------------------------------------------------------------------- get_file
class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; ``/short/<n>`` announces ``n`` bytes and sends half; counts requests."""

    counts: dict[str, int] = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        _Handler.counts[self.path] = _Handler.counts.get(self.path, 0) + 1
        if self.path.startswith("/short/"):
            n = int(self.path.rsplit("/", 1)[1])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            self.wfile.write(b"x" * (n // 2))
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _md5(data: bytes) -> str:
    import hashlib

    return hashlib.md5(data).hexdigest()


def _no_partials(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith((".part", ".extracting"))]


def test_get_file_downloads_then_uses_the_cache(server, tmp_path, monkeypatch):
    root, base = server
    (root / "data.bin").write_bytes(b"payload" * 100)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    path = U.get_file(origin=f"{base}/data.bin", file_hash=_sha256(b"payload" * 100))
    assert path == str(tmp_path / "home" / "datasets" / "data.bin")
    assert Path(path).read_bytes() == b"payload" * 100
    assert U.get_file("data.bin", origin=f"{base}/data.bin") == path  # cache hit: no second request
    assert _Handler.counts["/data.bin"] == 1
    U.get_file("data.bin", origin=f"{base}/data.bin", force_download=True)
    assert _Handler.counts["/data.bin"] == 2
    custom = U.get_file("renamed.bin", origin=f"{base}/data.bin", cache_dir=tmp_path / "c", cache_subdir="a/b",
                        md5_hash=_md5(b"payload" * 100))
    assert custom == str(tmp_path / "c" / "a" / "b" / "renamed.bin")
    assert _no_partials(tmp_path)


def test_get_file_redownloads_a_cached_file_whose_hash_changed(server, tmp_path, capsys):
    root, base = server
    (root / "v.bin").write_bytes(b"fresh")
    stale = tmp_path / "datasets" / "v.bin"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"stale")
    path = U.get_file("v.bin", origin=f"{base}/v.bin", file_hash=_md5(b"fresh"), cache_dir=tmp_path)
    assert Path(path).read_bytes() == b"fresh"
    assert "hash does not match" in capsys.readouterr().out


def test_get_file_hash_mismatch_raises_and_saves_nothing(server, tmp_path):
    root, base = server
    (root / "h.bin").write_bytes(b"abc")
    with pytest.raises(ValueError, match="file hash does not match") as err:
        U.get_file("h.bin", origin=f"{base}/h.bin", file_hash="0" * 64, cache_dir=tmp_path)
    assert f"{base}/h.bin" in str(err.value) and _sha256(b"abc") in str(err.value)
    assert not (tmp_path / "datasets" / "h.bin").exists() and _no_partials(tmp_path)
    with pytest.raises(ValueError, match="hash_algorithm"):
        U.get_file("h.bin", origin=f"{base}/h.bin", file_hash="0", hash_algorithm="sha1", cache_dir=tmp_path)


def test_get_file_writes_atomically(server, tmp_path):
    _, base = server
    cached = tmp_path / "datasets" / "big.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"previous good copy")
    with pytest.raises(OSError, match=f"URL fetch failure on {re.escape(base)}/short/1000"):
        U.get_file("big.bin", origin=f"{base}/short/1000", cache_dir=tmp_path, force_download=True)
    assert cached.read_bytes() == b"previous good copy"  # a broken transfer never replaces the cached file
    with pytest.raises(OSError):
        U.get_file("new.bin", origin=f"{base}/short/1000", cache_dir=tmp_path)
    assert not (tmp_path / "datasets" / "new.bin").exists() and _no_partials(tmp_path)


def test_get_file_errors_name_the_url(server, tmp_path):
    _, base = server
    with pytest.raises(OSError, match=rf"URL fetch failure on {re.escape(base)}/missing.bin: 404") as err:
        U.get_file(origin=f"{base}/missing.bin", cache_dir=tmp_path)
    assert "missing.bin" in str(err.value) and str(tmp_path) in str(err.value)  # says where to put it by hand
    with socket.socket() as s:  # a port nobody listens on: the machine is "offline" for this URL
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.npz"
    with pytest.raises(OSError, match=rf"URL fetch failure on {re.escape(url)}"):
        U.get_file(origin=url, cache_dir=tmp_path)
    assert not list((tmp_path / "datasets").iterdir())
    with pytest.raises(ValueError, match="origin"):
        U.get_file("a.bin")
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        U.get_file("sub/a.bin", origin=url, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="file name"):
        U.get_file(origin="http://127.0.0.1/", cache_dir=tmp_path)


def _tar_bytes(members: dict[str, bytes], links: dict[str, tuple[str, bytes]] | None = None, mode: str = "w:gz"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, (target, kind) in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            tar.addfile(info)
    return buf.getvalue()


def _zip_bytes(members: dict[str, bytes]):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["tar.gz", "tar", "zip"])
def test_get_file_extracts_archives_like_keras(kind, server, tmp_path):
    root, base = server
    members = {"pkg/a.txt": b"A", "pkg/sub/b.txt": b"B"}
    data = _zip_bytes(members) if kind == "zip" else _tar_bytes(members, mode="w:gz" if kind == "tar.gz" else "w")
    (root / f"arch.{kind}").write_bytes(data)
    named = U.get_file(f"arch.{kind}", origin=f"{base}/arch.{kind}", extract=True, cache_dir=tmp_path)
    assert named == str(tmp_path / "datasets" / "arch_extracted")  # Keras: name up to the first dot + _extracted
    assert (Path(named) / "pkg" / "sub" / "b.txt").read_bytes() == b"B"
    bare = U.get_file("target", origin=f"{base}/arch.{kind}", extract=True, cache_dir=tmp_path,
                      archive_format="zip" if kind == "zip" else "tar")
    assert bare == str(tmp_path / "datasets" / "target")
    assert (tmp_path / "datasets" / "target_archive").is_file() and (Path(bare) / "pkg" / "a.txt").is_file()
    if kind != "zip":
        assert Path(U.get_file("t2", origin=f"{base}/arch.{kind}", untar=True, cache_dir=tmp_path)).is_dir()
    assert _no_partials(tmp_path)


def test_extraction_of_a_cached_archive_is_not_repeated(server, tmp_path):
    root, base = server
    (root / "once.zip").write_bytes(_zip_bytes({"f.txt": b"1"}))
    folder = Path(U.get_file("once", origin=f"{base}/once.zip", extract=True, cache_dir=tmp_path))
    (folder / "f.txt").write_bytes(b"edited")
    U.get_file("once", origin=f"{base}/once.zip", extract=True, cache_dir=tmp_path)
    assert (folder / "f.txt").read_bytes() == b"edited"
    (folder / "f.txt").unlink()
    folder.rmdir()
    U.get_file("once", origin=f"{base}/once.zip", extract=True, cache_dir=tmp_path)  # folder gone: unpack again
    assert (folder / "f.txt").read_bytes() == b"1"


def test_non_archives_warn_like_keras(server, tmp_path):
    root, base = server
    (root / "plain.txt").write_bytes(b"not an archive")
    with pytest.warns(UserWarning, match="Could not extract"):
        U.get_file("plain", origin=f"{base}/plain.txt", extract=True, cache_dir=tmp_path)
    with pytest.raises(NotImplementedError, match="rar"):
        U.get_file("plain2", origin=f"{base}/plain.txt", extract=True, archive_format="rar", cache_dir=tmp_path)


HOSTILE = {
    "tar absolute": lambda: _tar_bytes({"/tmp/initium_escape.txt": b"x"}),
    "tar dotdot": lambda: _tar_bytes({"ok.txt": b"1", "../escape.txt": b"x"}),
    "tar nested dotdot": lambda: _tar_bytes({"a/../../escape.txt": b"x"}),
    "tar symlink out": lambda: _tar_bytes({}, {"link": ("../../outside", tarfile.SYMTYPE)}),
    "tar absolute symlink": lambda: _tar_bytes({}, {"link": ("/etc/passwd", tarfile.SYMTYPE)}),
    "tar hardlink out": lambda: _tar_bytes({}, {"hard": ("../outside", tarfile.LNKTYPE)}),
    "tar fifo": lambda: _tar_bytes({}, {"pipe": ("", tarfile.FIFOTYPE)}),
    "zip dotdot": lambda: _zip_bytes({"ok.txt": b"1", "../escape.txt": b"x"}),
    "zip absolute": lambda: _zip_bytes({"/abs.txt": b"x"}),
    "zip windows": lambda: _zip_bytes({"..\\escape.txt": b"x"}),
    "zip drive": lambda: _zip_bytes({"C:/escape.txt": b"x"}),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_archives_with_escaping_members_are_refused_whole(case, server, tmp_path):
    root, base = server
    name = case.replace(" ", "_") + (".zip" if case.startswith("zip") else ".tar.gz")
    (root / name).write_bytes(HOSTILE[case]())
    with pytest.raises(ValueError, match="Refusing to extract"):
        U.get_file(name, origin=f"{base}/{name}", extract=True, cache_dir=tmp_path / "cache")
    extracted = [p for p in (tmp_path / "cache" / "datasets").iterdir() if not p.name.startswith(name)]
    assert extracted == []  # nothing was unpacked, not even the safe members
    assert not list(tmp_path.glob("escape*")) and not (tmp_path / "outside").exists()


def test_links_inside_the_folder_are_allowed(server, tmp_path):
    root, base = server
    (root / "links.tar").write_bytes(_tar_bytes({"d/f.txt": b"F"}, {"d/alias": ("f.txt", tarfile.SYMTYPE)}, "w"))
    folder = Path(U.get_file("links", origin=f"{base}/links.tar", extract=True, cache_dir=tmp_path))
    assert (folder / "d" / "alias").read_bytes() == b"F"


# ---------------------------------------------------------------------------------------- PyDataset
class _Squares(U.PyDataset):
    def __init__(self, n=6, delay=0.0, **kwargs):
        super().__init__(**kwargs)
        self.n, self.delay, self.events, self.threads = n, delay, [], set()

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if self.delay:
            time.sleep(self.delay)
        self.threads.add(threading.get_ident())
        x = np.full((2, 1), float(index), dtype="float32")
        return x, 2 * x

    def on_epoch_begin(self):
        self.events.append("begin")

    def on_epoch_end(self):
        self.events.append("end")


def _returning(*batches):
    """A PyDataset whose batch ``i`` is ``batches[i]``."""

    class Fixed(U.PyDataset):
        def __len__(self):
            return len(batches)

        def __getitem__(self, i):
            return batches[i]

    return Fixed()


def test_pydataset_plain_iteration_is_one_epoch():
    ds = _Squares(4)
    assert [int(x[0, 0]) for x, _ in ds] == [0, 1, 2, 3]  # the batches as __getitem__ returns them
    assert ds.events == ["begin", "end"] and ds.num_batches == 4  # Keras's manual iteration runs no hooks
    assert [(a.shape, b.shape) for a, b in keras.utils.PyDataset.__iter__(ds)] == [((2, 1), (2, 1))] * 4
    prefetched = _Squares(6, delay=0.01, workers=3)
    assert [int(x[0, 0]) for x, _ in prefetched] == list(range(6)) and len(prefetched.threads) > 1

    raw = _returning(np.full(3, 0), np.full(3, 1))
    assert [b.tolist() for b in raw] == [[0, 0, 0], [1, 1, 1]]  # a bare array stays bare when iterated


def test_pydataset_without_a_length_is_infinite():
    class Endless(U.PyDataset):
        def __getitem__(self, i):
            return np.array([i])

    it = iter(Endless())
    assert [int(next(it)[0]) for _ in range(5)] == [0, 1, 2, 3, 4]


def test_iter_epoch_runs_hooks_and_shuffles_the_batch_order():
    ds = _Squares(8)
    order = [int(b[0][0, 0]) for b in ds.iter_epoch()]
    assert order == list(range(8)) and ds.events == ["begin", "end"]
    import random

    random.seed(5)
    first = [int(b[0][0, 0]) for b in ds.iter_epoch(shuffle=True)]
    random.seed(5)
    assert [int(b[0][0, 0]) for b in ds.iter_epoch(shuffle=True)] == first
    assert sorted(first) == list(range(8)) and first != list(range(8))
    it = ds.iter_epoch()
    next(it)
    it.close()  # an epoch cut short (steps_per_epoch) still ends
    assert ds.events[-2:] == ["begin", "end"]


@pytest.mark.parametrize("batch,expected", [(np.ones(2), 1), ([np.ones(2), np.ones(2)], 2), ({"a": 1}, None)])
def test_iter_epoch_standardizes_batches_like_keras(batch, expected):
    got = next(_returning(batch).iter_epoch())
    assert (got == batch) if expected is None else (isinstance(got, tuple) and len(got) == expected)


def test_a_subclass_that_skips_super_init_gets_keras_warning_and_defaults():
    class NoSuper(U.PyDataset):
        def __init__(self):
            self.n = 2

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return (np.zeros(1),)

    ds = NoSuper()
    with pytest.warns(UserWarning, match=r"should call `super\(\).__init__\(\*\*kwargs\)`"):
        assert ds.workers == 1
    assert ds.use_multiprocessing is False and ds.max_queue_size == 10 and len(list(ds.iter_epoch())) == 2


def test_iter_epoch_rejects_bad_batches():
    with pytest.raises(ValueError, match="must return a tuple or a dict"):
        list(_returning((1, 2, 3, 4)).iter_epoch())


def test_thread_workers_prefetch_in_order():
    ds = _Squares(12, delay=0.02, workers=3, max_queue_size=4)
    got = [int(b[0][0, 0]) for b in ds.iter_epoch()]
    assert got == list(range(12)) and len(ds.threads) > 1
    assert threading.get_ident() not in ds.threads and ds.events == ["begin", "end"]


def test_thread_workers_stop_early_and_propagate_errors():
    ds = _Squares(50, delay=0.01, workers=2, max_queue_size=3)
    it = ds.iter_epoch()
    assert int(next(it)[0][0, 0]) == 0
    it.close()
    assert ds.events == ["begin", "end"]

    class Failing(_Squares):
        def __getitem__(self, index):
            if index == 3:
                raise KeyError("batch 3 is broken")
            return super().__getitem__(index)

    with pytest.raises(KeyError, match="batch 3"):
        list(Failing(6, workers=2).iter_epoch())


class _ProcessSquares(U.PyDataset):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def __len__(self):
        return 5

    def __getitem__(self, index):
        return np.full((1,), os.getpid(), dtype=np.int64), np.full((1,), index)


def test_process_workers_build_batches_in_other_processes():
    ds = _ProcessSquares(workers=2, use_multiprocessing=True)
    batches = list(ds.iter_epoch())
    assert [int(y[0]) for _, y in batches] == [0, 1, 2, 3, 4]
    assert all(int(pid[0]) != os.getpid() for pid, _ in batches)


def test_multiprocessing_that_cannot_be_honoured_says_why(monkeypatch):
    ds = _ProcessSquares(workers=2, use_multiprocessing=True)
    ds.unpicklable = lambda: None
    monkeypatch.setattr(sys, "platform", "darwin")  # spawned workers: the dataset must pickle
    with pytest.raises(ValueError, match="cannot be honoured.*picklable"):
        next(ds.iter_epoch())


@pytest.mark.parametrize("kwargs,match", [({"workers": -1}, "workers"), ({"workers": 1.5}, "workers"),
                                          ({"use_multiprocessing": 1}, "use_multiprocessing"),
                                          ({"max_queue_size": 0}, "max_queue_size")])
def test_pydataset_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _Squares(**kwargs)


def test_pydataset_without_len_or_getitem():
    class NoLen(U.PyDataset):
        pass

    with pytest.raises(NotImplementedError, match="num_batches"):
        NoLen().num_batches
    with pytest.raises(NotImplementedError, match="__getitem__"):
        NoLen()[0]


def _mlp():
    model = initium.Sequential([initium.Input((1,)), initium.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_fit_consumes_pydatasets_and_datasets():
    ds = _Squares(5, workers=2)
    h = _mlp().fit(ds, epochs=2, verbose=0)
    assert h.params["steps"] == 5 and len(h.history["loss"]) == 2
    assert ds.events == ["begin", "end"] * 2 and len(ds.threads) >= 1  # every epoch ran the hooks and the workers
    ts = U.timeseries_dataset_from_array(np.arange(40, dtype="float32")[:, None], np.arange(40, dtype="float32"),
                                         sequence_length=1, batch_size=8, shuffle=True, seed=0)
    h = _mlp().fit(ts, epochs=2, verbose=0)
    assert h.params["steps"] == len(ts) == 5 and np.isfinite(h.history["loss"]).all()


# ----------------------------------------------------------------------------------- time series
def _windows_reference(data, targets, length, stride, rate, start, end):
    """Keras's documented semantics, spelled out with Python loops."""
    start = start or 0
    end = len(data) if end is None else end
    count = end - start - (length - 1) * rate
    if targets is not None:
        count = min(count, len(targets))
    out = []
    for first in range(0, max(count, 0), stride):
        window = np.stack([data[start + first + j * rate] for j in range(length)])
        out.append((window, None if targets is None else targets[start + first]))
    return out


TS_CASES = [
    dict(sequence_length=3), dict(sequence_length=4, sequence_stride=3), dict(sequence_length=2, sampling_rate=4),
    dict(sequence_length=3, sampling_rate=2, sequence_stride=2, start_index=5, end_index=40),
    dict(sequence_length=5, batch_size=None), dict(sequence_length=1, batch_size=7, start_index=10),
    dict(sequence_length=3, targets_len=12), dict(sequence_length=3, no_targets=True, batch_size=4),
    dict(sequence_length=48), dict(sequence_length=60),  # one window; none at all
]


@pytest.mark.parametrize("case", TS_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_timeseries_matches_the_reference(case):
    case = dict(case)
    data = np.arange(50 * 2, dtype="float32").reshape(50, 2)
    targets = None if case.pop("no_targets", False) else np.arange(100, 100 + case.pop("targets_len", 50))
    length = case.pop("sequence_length")
    batch_size = case.pop("batch_size", 4)
    ds = U.timeseries_dataset_from_array(data, targets, length, batch_size=batch_size, **case)
    want = _windows_reference(data, targets, length, case.get("sequence_stride", 1), case.get("sampling_rate", 1),
                              case.get("start_index"), case.get("end_index"))
    got = []
    for batch in ds:
        if batch_size is None:
            got.append(batch if targets is not None else (batch, None))
            continue
        xs, ys = (batch, [None] * len(batch)) if targets is None else batch
        got += list(zip(xs, ys))
    assert len(got) == len(want) and len(ds) == (len(want) if batch_size is None else -(-len(want) // batch_size))
    for (gx, gy), (wx, wy) in zip(got, want):
        assert gx.dtype == np.float32 and np.array_equal(gx, wx) and gy == wy


def test_timeseries_shuffle_is_seeded_and_fresh_each_pass():
    data = np.arange(30)
    ds = U.timeseries_dataset_from_array(data, data, 2, batch_size=5, shuffle=True, seed=11)
    again = U.timeseries_dataset_from_array(data, data, 2, batch_size=5, shuffle=True, seed=11)
    first = [y.tolist() for _, y in ds]
    second = [y.tolist() for _, y in ds]
    assert first == [y.tolist() for _, y in again] and first != second
    assert sorted(sum(first, [])) == sorted(sum(second, [])) == list(range(29))
    for x, y in ds:
        assert np.array_equal(x[:, 0], y) and np.array_equal(x[:, 1], y + 1)  # windows keep their targets


@pytest.mark.parametrize("kwargs,match", [
    ({"start_index": -1}, "start_index"), ({"start_index": 20}, "start_index"),
    ({"start_index": 5, "end_index": 3}, "end_index"), ({"end_index": 20}, "end_index"),
    ({"sampling_rate": 0}, "sampling_rate"), ({"sequence_stride": 20}, "sequence_stride"),
    ({"format": "numpy"}, "format"), ({"sequence_length": 0}, "sequence_length"),
])
def test_timeseries_argument_errors(kwargs, match):
    kwargs = {"sequence_length": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        U.timeseries_dataset_from_array(np.arange(20), None, **kwargs)


def test_dataset_take_and_unbatched_elements():
    ds = U.Dataset(lambda i: (i * 10, i), size=7, batch_size=3)
    assert len(ds) == 3 and len(ds.take(2)) == 2 and len(ds.take(9)) == 3
    assert [x.tolist() for x, _ in ds.take(2)] == [[0, 10, 20], [30, 40, 50]]
    single = U.Dataset(lambda i: i * 2, size=3, batch_size=None)
    assert [int(v) for v in single] == [0, 2, 4] and len(single) == 3
    with pytest.raises(ValueError, match="batch_size"):
        U.Dataset(lambda i: i, size=3, batch_size=0)


# ------------------------------------------------------------------------------------ split_dataset
def test_split_dataset_shuffled_matches_keras_and_unshuffled_keeps_order():
    arrays = (np.arange(10), np.arange(10) * 2)
    left, right = U.split_dataset(arrays, left_size=4, shuffle=True, seed=3)
    k_left, k_right = keras.utils.split_dataset(arrays, left_size=4, shuffle=True, seed=3)
    assert left.indices == k_left.indices and right.indices == k_right.indices
    assert [int(v) for v in left[0]] == [int(v) for v in k_left[0]]
    left, right = U.split_dataset(np.arange(10), left_size=0.6)
    assert left.indices == list(range(6)) and right.indices == [6, 7, 8, 9]
    left, right = U.split_dataset(np.arange(10), left_size=3, right_size=2)
    assert left.indices == [0, 1, 2] and right.indices == [8, 9]
    assert len(U.split_dataset(torch.utils.data.TensorDataset(torch.zeros(5)), right_size=0.4)[1]) == 2


@pytest.mark.parametrize("kwargs,err", [({}, ValueError), ({"left_size": 10}, ValueError),
                                        ({"left_size": "1"}, TypeError), ({"left_size": 0.7, "right_size": 0.5}, ValueError),
                                        ({"left_size": 0.01}, ValueError), ({"left_size": 1, "preferred_backend": "jax"},
                                                                            ValueError)])
def test_split_dataset_errors(kwargs, err):
    with pytest.raises(err):
        U.split_dataset(np.arange(10), **kwargs)


def test_pack_and_unpack_like_keras():
    from keras.src.trainers.data_adapters import data_adapter_utils as ku

    for data in ((1,), (1, 2), [1, 2, 3], 5):
        assert U.unpack_x_y_sample_weight(data) == ku.unpack_x_y_sample_weight(data)
    for args in ((1,), ([1, 2],), (1, 2), (1, 2, 3)):
        assert U.pack_x_y_sample_weight(*args) == keras.utils.pack_x_y_sample_weight(*args)
    with pytest.raises(ValueError, match="format"):
        U.unpack_x_y_sample_weight((1, 2, 3, 4))


# --------------------------------------------------------------------------- datasets from folders
def _write_images(root: Path, counts: dict[str, int], size=(6, 9), seed=0) -> None:
    rng = np.random.RandomState(seed)
    for cls, n in counts.items():
        for i in range(n):
            folder = root / cls / ("nested" if i % 3 == 2 else "")
            folder.mkdir(parents=True, exist_ok=True)
            ext = ["png", "PNG", "bmp"][i % 3]
            keras.utils.save_img(folder / f"img_{i}.{ext}", rng.uniform(0, 255, (*size, 3)), scale=False)
    (root / "notes.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "notes.txt").write_text("ignored")
    (root / ".hidden").mkdir(exist_ok=True)


def test_indexing_and_split_match_keras(tmp_path):
    from keras.src.utils import dataset_utils as kd

    _write_images(tmp_path, {"cats": 5, "dogs": 4, "zebras": 3})
    formats = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
    for labels, shuffle in (("inferred", True), ("inferred", False), (None, True), (list(range(12)), True)):
        ours = U.directory.index_directory(tmp_path, labels, formats, shuffle=shuffle, seed=7, verbose=False)
        theirs = kd.index_directory(str(tmp_path), labels, formats, shuffle=shuffle, seed=7, verbose=False)
        assert ours[0] == theirs[0] and ours[2] == theirs[2]
        assert (ours[1] is None and theirs[1] is None) or list(ours[1]) == list(theirs[1])
    ds_train, ds_val = U.image_dataset_from_directory(tmp_path, validation_split=0.25, subset="both", seed=7,
                                                      image_size=(4, 4), verbose=False)
    paths, labels, _ = kd.index_directory(str(tmp_path), "inferred", formats, seed=7, verbose=False)
    for ds, part in ((ds_train, "training"), (ds_val, "validation")):
        want_paths, _ = kd.get_training_or_validation_split(paths, labels, 0.25, part)
        assert ds.file_paths == want_paths


def _keras_resize(path, size, mode, **kwargs):
    img = np.asarray(keras.utils.load_img(path, color_mode=mode), dtype="float32")
    img = img[:, :, None] if img.ndim == 2 else img
    return keras.ops.convert_to_numpy(keras.ops.image.resize(img, size, **kwargs))


@pytest.mark.parametrize("options", [
    dict(), dict(color_mode="grayscale", interpolation="nearest"), dict(color_mode="rgba", interpolation="bicubic"),
    dict(crop_to_aspect_ratio=True), dict(pad_to_aspect_ratio=True), dict(data_format="channels_first"),
])
def test_image_dataset_pixels_and_labels(options, tmp_path):
    _write_images(tmp_path, {"a": 3, "b": 2})
    ds = U.image_dataset_from_directory(tmp_path, image_size=(5, 4), batch_size=2, shuffle=False, verbose=False,
                                        **options)
    assert ds.class_names == ["a", "b"] and len(ds) == 3
    xs, ys = zip(*ds)
    x, y = np.concatenate(xs), np.concatenate(ys)
    channels = {"grayscale": 1, "rgba": 4}.get(options.get("color_mode"), 3)
    channels_first = options.get("data_format") == "channels_first"
    assert x.dtype == np.float32 and x.shape == ((5, channels, 5, 4) if channels_first else (5, 5, 4, channels))
    assert y.dtype == np.int32 and y.tolist() == [0, 0, 0, 1, 1]
    resize = {k: v for k, v in options.items() if k in ("interpolation", "crop_to_aspect_ratio", "pad_to_aspect_ratio")}
    for img, path in zip(x, ds.file_paths):
        want = _keras_resize(path, (5, 4), options.get("color_mode", "rgb"), **resize)
        np.testing.assert_allclose(img.transpose(1, 2, 0) if channels_first else img, want, atol=1e-4)


@pytest.mark.parametrize("label_mode", ["int", "categorical", "binary", None])
def test_image_dataset_label_modes(label_mode, tmp_path):
    _write_images(tmp_path, {"no": 3, "yes": 4})
    ds = U.image_dataset_from_directory(tmp_path, label_mode=label_mode, image_size=3, batch_size=4, seed=1,
                                        verbose=False)
    batch = next(iter(ds))
    if label_mode is None:
        assert isinstance(batch, np.ndarray) and batch.shape == (4, 3, 3, 3)
        return
    x, y = batch
    want = {"int": ((4,), np.int32), "categorical": ((4, 2), np.float32), "binary": ((4, 1), np.float32)}[label_mode]
    assert (y.shape, y.dtype) == want
    if label_mode == "categorical":
        assert np.array_equal(y.sum(axis=1), np.ones(4))
    labels_by_path = {p: int("yes" in Path(p).parts[-2] or "yes" in Path(p).parts[-3]) for p in ds.file_paths}
    seen = [labels_by_path[p] for p in ds.file_paths]
    assert sorted(seen) == [0, 0, 0, 1, 1, 1, 1]


def test_image_dataset_shuffles_each_pass_with_its_seed(tmp_path):
    _write_images(tmp_path, {"a": 6, "b": 6}, size=(2, 2))
    ds = U.image_dataset_from_directory(tmp_path, image_size=(2, 2), batch_size=12, seed=3, verbose=False)
    again = U.image_dataset_from_directory(tmp_path, image_size=(2, 2), batch_size=12, seed=3, verbose=False)
    a1, a2 = (next(iter(ds))[0] for _ in range(2))
    assert not np.array_equal(a1, a2) and np.array_equal(a1, next(iter(again))[0])
    assert np.allclose(np.sort(a1.reshape(12, -1), axis=0), np.sort(a2.reshape(12, -1), axis=0))


def test_image_dataset_options_and_errors(tmp_path, capsys):
    _write_images(tmp_path, {"a": 3, "b": 3, "c": 2})
    ds = U.image_dataset_from_directory(tmp_path, class_names=["c", "a"], image_size=(2, 2), shuffle=False)
    assert ds.class_names == ["c", "a"] and ds.num_elements == 5
    assert "Found 5 files belonging to 2 classes." in capsys.readouterr().out
    unlabeled = U.image_dataset_from_directory(tmp_path, labels=None, image_size=(2, 2), verbose=False)
    assert unlabeled.class_names is None and unlabeled.num_elements == 8
    train = U.image_dataset_from_directory(tmp_path, validation_split=0.25, subset="training", seed=1,
                                           image_size=(2, 2), verbose=False)
    val = U.image_dataset_from_directory(tmp_path, validation_split=0.25, subset="validation", seed=1,
                                         image_size=(2, 2), verbose=False)
    assert (train.num_elements, val.num_elements) == (6, 2) and not set(train.file_paths) & set(val.file_paths)
    bad = [
        (dict(label_mode="binary"), "exactly 2"), (dict(validation_split=0.2), "subset"),
        (dict(validation_split=0.2, subset="training"), "seed"), (dict(subset="all", validation_split=0.2, seed=1), "subset"),
        (dict(labels="folders"), "labels"), (dict(labels=[0, 1], class_names=["a"]), "class_names"),
        (dict(class_names=["nope"]), "did not match"), (dict(color_mode="cmyk"), "color_mode"),
        (dict(image_size=(1, 2, 3)), "image_size"), (dict(interpolation="area"), "torch"),
        (dict(interpolation="cubic"), "interpolation"), (dict(crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "Only one"),
        (dict(labels=[0, 1]), "lengths of `labels`"), (dict(label_mode="ints"), "label_mode"), (dict(format="np"), "format"),
    ]
    for kwargs, match in bad:
        with pytest.raises(ValueError, match=match):
            U.image_dataset_from_directory(tmp_path, verbose=False, **kwargs)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No images found"):
        U.image_dataset_from_directory(tmp_path / "empty", verbose=False)


def test_text_dataset(tmp_path):
    texts = {"neg": ["bad film", "awful", "dull ünïcode"], "pos": ["great", "superb acting", "fine"]}
    for cls, items in texts.items():
        (tmp_path / cls).mkdir()
        for i, t in enumerate(items):
            (tmp_path / cls / f"{i}.txt").write_text(t, encoding="utf-8")
    (tmp_path / "pos" / "skip.md").write_text("not a txt")
    ds = U.text_dataset_from_directory(tmp_path, batch_size=4, max_length=5, shuffle=False, verbose=False)
    (x1, y1), (x2, y2) = list(ds)
    assert ds.class_names == ["neg", "pos"] and x1.dtype == object and y1.dtype == np.int32
    assert list(x1) + list(x2) == ["bad f", "awful", "dull ", "great", "super", "fine"]
    assert list(y1) + list(y2) == [0, 0, 0, 1, 1, 1]
    train, val = U.text_dataset_from_directory(tmp_path, validation_split=0.5, subset="both", seed=2,
                                               label_mode="binary", verbose=False)
    assert train.num_elements == val.num_elements == 3 and next(iter(val))[1].shape == (3, 1)
    (tmp_path / "neg" / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        list(U.text_dataset_from_directory(tmp_path, verbose=False))


def _write_wav(path: Path, samples: np.ndarray, rate: int = 8000, width: int = 2) -> None:
    scale = {1: 128, 2: 32768, 3: 8388608, 4: 2147483648}[width]
    ints = np.round(samples * scale).astype(np.int64).clip(-scale, scale - 1)
    if width == 1:
        raw = (ints + 128).astype(np.uint8).tobytes()
    elif width == 3:
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints.ravel())
    else:
        raw = ints.astype({2: "<i2", 4: "<i4"}[width]).tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_audio_dataset_decodes_pcm_like_tf_decode_wav(width, tmp_path):
    rng = np.random.RandomState(width)
    clips = {"a": [rng.uniform(-1, 0.99, (n, 2)) for n in (5, 9)], "b": [rng.uniform(-1, 0.99, (7, 2))]}
    for cls, items in clips.items():
        (tmp_path / cls).mkdir()
        for i, c in enumerate(items):
            _write_wav(tmp_path / cls / f"{i}.wav", c, width=width)
    ds = U.audio_dataset_from_directory(tmp_path, batch_size=3, shuffle=False, verbose=False)
    x, y = next(iter(ds))
    assert x.shape == (3, 9, 2) and x.dtype == np.float32 and y.tolist() == [0, 0, 1]
    step = 1.0 / {1: 128, 2: 32768, 3: 8388608, 4: 2147483648}[width]
    np.testing.assert_allclose(x[0, :5], clips["a"][0], atol=step)
    assert np.all(x[0, 5:] == 0)  # padded to the longest clip of the batch
    fixed = next(iter(U.audio_dataset_from_directory(tmp_path, output_sequence_length=6, shuffle=False, verbose=False)))
    assert fixed[0].shape == (3, 6, 2)
    ragged = next(iter(U.audio_dataset_from_directory(tmp_path, ragged=True, shuffle=False, verbose=False)))
    assert [c.shape for c in ragged[0]] == [(5, 2), (9, 2), (7, 2)]


def test_audio_dataset_resampling_and_errors(tmp_path):
    (tmp_path / "a").mkdir()
    t = np.arange(800) / 8000
    _write_wav(tmp_path / "a" / "tone.wav", np.sin(2 * np.pi * 440 * t)[:, None] * 0.5)
    x = next(iter(U.audio_dataset_from_directory(tmp_path, sampling_rate=4000, label_mode=None, verbose=False)))
    assert x.shape == (1, 400, 1)
    with pytest.raises(ValueError, match="ragged"):
        U.audio_dataset_from_directory(tmp_path, ragged=True, output_sequence_length=3)
    with pytest.raises(ValueError, match="integer"):
        U.audio_dataset_from_directory(tmp_path, sampling_rate=1.5)
    (tmp_path / "a" / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(ValueError, match="not a PCM WAV"):
        list(U.audio_dataset_from_directory(tmp_path, verbose=False))


# ---------------------------------------------------------------------------------------- the rest
def test_config_behaves_like_keras():
    for cls in (U.Config, keras.utils.Config):
        c = cls(a=1, b=2)
        c.c = 3
        c["d"] = 4
        assert list(c) == ["a", "b", "c", "d"] and c.a == 1 and "c" in c and len(c) == 4
        assert json.loads(c.to_json()) == {"a": 1, "b": 2, "c": 3, "d": 4}
        c.freeze()
        for action in (lambda: setattr(c, "e", 5), lambda: c.update(a=2), lambda: c.pop("a")):
            with pytest.raises(ValueError, match="frozen"):
                action()
        c.unfreeze()
        c.pop("d")
        c.learning_rate = 0.1
        with pytest.raises(AttributeError, match="Did you mean 'learning_rate'"):
            c.learning_rat  # noqa: B018


def test_get_source_inputs_matches_keras():
    a, b = initium.Input((2,), name="a"), initium.Input((3,), name="b")
    merged = initium.layers.Concatenate()([initium.layers.Dense(2)(a), b])
    out = initium.layers.Dense(1)(initium.layers.Dense(2)(merged))
    got = U.get_source_inputs(out)
    assert len(got) == 2 and got[0] is a and got[1] is b
    assert U.get_source_inputs(a) == [a]
    assert U.get_source_inputs(5) == 5
    ka, kb = keras.Input((2,)), keras.Input((3,))
    kout = keras.layers.Dense(1)(keras.layers.Concatenate()([keras.layers.Dense(2)(ka), kb]))
    theirs = keras.utils.get_source_inputs(kout)
    assert [t is ka for t in theirs] == [t is a for t in got]


def test_get_registered_object_falls_back_to_module_objects():
    assert U.get_registered_object("zz_nothing", module_objects={"zz_nothing": int}) is int
    assert U.get_registered_object("zz_nothing") is None
    with U.custom_object_scope({"zz_nothing": float}):
        assert U.get_registered_object("zz_nothing", module_objects={"zz_nothing": int}) is float


def test_small_reexports():
    assert U.is_keras_tensor(initium.Input((2,))) and not U.is_keras_tensor(np.zeros(2))
    assert U.standardize_dtype(np.float32) == keras.utils.standardize_dtype(np.float32) == "float32"
    initium.layers.Dense(1)
    U.clear_session(free_memory=False)
    assert initium.layers.Dense(1).name == "dense"
    with pytest.raises(ValueError, match="free_memory"):
        U.clear_session(free_memory="yes")


def _built_models():
    inner = initium.Sequential([initium.Input((3,)), initium.layers.Dense(3, activation="relu", name="i1"),
                                initium.layers.Dense(3, name="i2")], name="inner")
    x = initium.Input((3,), name="x")
    y = initium.layers.Dense(2, name="head")(inner(x))
    return inner, initium.Model(x, y, name="outer")


def test_plot_model_without_pydot_raises_keras_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pydot", None)
    monkeypatch.setitem(sys.modules, "pydot_ng", None)
    monkeypatch.setitem(sys.modules, "pydotplus", None)
    _, model = _built_models()
    with pytest.raises(ImportError, match=r"You must install pydot \(`pip install pydot`\) for `plot_model` to work."):
        U.plot_model(model, to_file=tmp_path / "m.png")
    with pytest.raises(ImportError, match="model_to_dot"):
        U.model_to_dot(model)
    with pytest.raises(ValueError, match="not yet been built"):
        U.plot_model(initium.Sequential([initium.layers.Dense(1)]))


class _FakePydot:
    """Records what model_to_dot asks of pydot (pydot itself is not a dependency)."""

    class PydotException(Exception):
        pass

    class _Graph:
        def __init__(self, *args, **kwargs):
            self.attrs, self.nodes, self.edges, self.subgraphs, self.written = dict(kwargs), [], [], [], None

        def set(self, key, value):
            self.attrs[key] = value

        def set_node_defaults(self, **kwargs):
            self.attrs["node_defaults"] = kwargs

        def add_node(self, node):
            self.nodes.append(node)

        def add_edge(self, edge):
            self.edges.append(edge)

        def add_subgraph(self, graph):
            self.subgraphs.append(graph)

        def get_edge(self, src, dst):
            return [e for e in self.edges if (e.src, e.dst) == (src, dst)]

        def write(self, path, format):
            Path(path).write_text(f"{format}:{len(self.nodes)} nodes, {len(self.edges)} edges")

        def create(self):
            if _FakePydot.graphviz_missing:
                raise OSError("dot not found")
            return b""

    Dot = Cluster = _Graph
    graphviz_missing = False

    class Node:
        def __init__(self, name, label):
            self.name, self.label, self.attrs = name, label, {}

        def set(self, key, value):
            self.attrs[key] = value

    class Edge:
        def __init__(self, src, dst):
            self.src, self.dst, self.attrs = src, dst, {}

        def set(self, key, value):
            self.attrs[key] = value


def test_model_to_dot_builds_keras_graph_with_pydot(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pydot", _FakePydot)
    inner, model = _built_models()
    dot = U.model_to_dot(model, show_shapes=True, show_layer_activations=True, show_trainable=True, show_dtype=True)
    names = [n.label.split("<b>")[1].split("</b>")[0] for n in dot.nodes]
    assert names == ["x", "inner", "head"]
    ids = {str(id(layer)): layer.name for layer in model.operations}
    assert [(ids[e.src], ids[e.dst]) for e in dot.edges] == [("x", "inner"), ("inner", "head")]
    head = dot.nodes[2].label
    assert "Output shape: <b>(None, 2)</b>" in head and "Input shape: <b>(None, 3)</b>" in head
    assert "Trainable" in head and "Output dtype: <b>float32</b>" in head
    assert dot.attrs["rankdir"] == "TB" and dot.attrs["dpi"] == 200
    nested = U.model_to_dot(model, expand_nested=True)
    assert len(nested.subgraphs) == 1 and [n.label.count("i1") for n in nested.subgraphs[0].nodes] == [1, 0]
    ids.update({str(id(layer)): layer.name for layer in inner.layers})
    assert [(ids[e.src], ids[e.dst]) for e in nested.edges] == [("x", "i1"), ("i2", "head")]
    chain = U.model_to_dot(inner)
    assert len(chain.nodes) == 2 and len(chain.edges) == 1 and "Activation" not in chain.nodes[0].label
    shown = U.plot_model(model, to_file=tmp_path / "m.svg")  # IPython's Image when IPython is installed
    assert shown is None or type(shown).__name__ == "Image"
    assert (tmp_path / "m.svg").read_text() == "svg:3 nodes, 2 edges"
    monkeypatch.setattr(_FakePydot, "graphviz_missing", True)
    with pytest.raises(ImportError, match="install graphviz"):
        U.plot_model(model, to_file=tmp_path / "n.png")
    with pytest.raises(ValueError, match="layer_range"):
        U.model_to_dot(model, layer_range=["a", "b"])


# --------------------------------------------------------------------------------- bounding boxes
BB = U.bounding_boxes
KBB = keras.utils.bounding_boxes


def _boxes(shape=(5,), seed=0):
    rng = np.random.RandomState(seed)
    xy = rng.uniform(0, 60, shape + (2,))
    wh = rng.uniform(1, 40, shape + (2,))
    return np.concatenate([xy, xy + wh], axis=-1).astype("float32")  # xyxy, inside a 100x120 image mostly


def _close(ours, theirs, atol=1e-5):
    assert isinstance(ours, torch.Tensor)
    np.testing.assert_allclose(ours.numpy(), keras.ops.convert_to_numpy(theirs), atol=atol, rtol=1e-5)


@pytest.mark.parametrize("target", BB.SUPPORTED_FORMATS)
@pytest.mark.parametrize("source", BB.SUPPORTED_FORMATS)
def test_convert_format_matches_keras(source, target):
    boxes = KBB.convert_format(_boxes((2, 3)), "xyxy", source, height=100, width=120)
    boxes = keras.ops.convert_to_numpy(boxes)
    _close(BB.convert_format(boxes, source, target, height=100, width=120),
           KBB.convert_format(boxes, source, target, height=100, width=120))


def test_convert_format_dicts_and_errors():
    data = {"boxes": _boxes(), "labels": np.arange(5)}
    out = BB.convert_format(data, "xyxy", "xywh")
    assert out["labels"] is data["labels"] and isinstance(data["boxes"], np.ndarray)  # the input is not modified
    _close(out["boxes"], KBB.convert_format(_boxes(), "xyxy", "xywh"))
    with pytest.raises(ValueError, match="height"):
        BB.convert_format(_boxes(), "xyxy", "rel_xyxy")
    with pytest.raises(ValueError, match="Supported formats"):
        BB.convert_format(_boxes(), "xyxy", "xxyy")
    with pytest.raises(ValueError, match="last dimension of 4"):
        BB.convert_format(np.zeros((2, 3)), "xyxy", "xywh")


@pytest.mark.parametrize("fmt", ["xyxy", "rel_xyxy"])
def test_clip_to_image_size_matches_keras(fmt):
    boxes = np.array([[-10, -20, 150, 160], [50, 40, 70, 80], [130, 10, 140, 20]], "float32")
    if fmt == "rel_xyxy":
        boxes = boxes / 100.0
    data = {"boxes": boxes, "labels": np.array([0, 1, 2])}
    ours = BB.clip_to_image_size(dict(data), height=100, width=120, bounding_box_format=fmt)
    theirs = KBB.clip_to_image_size(dict(data), height=100, width=120, bounding_box_format=fmt)
    _close(ours["boxes"], theirs["boxes"])
    assert ours["labels"].tolist() == keras.ops.convert_to_numpy(theirs["labels"]).tolist()


def test_crop_pad_and_affine_match_keras():
    boxes = _boxes((2, 4), seed=1)
    _close(BB.crop(boxes, 10, 20, 40, 30), KBB.crop(boxes, 10, 20, 40, 30))
    _close(BB.pad(boxes, 5, 7), KBB.pad(boxes, 5, 7))
    params = [np.array(v, "float32") for v in ([15.0, -30.0], [0.1, 0.0], [-0.05, 0.2], [1.2, 0.8], [5.0, 0.0],
                                              [0.0, -10.0])]
    _close(BB.affine_transform(boxes, *params, 100, 120), KBB.affine_transform(boxes, *params, 100, 120), atol=1e-3)
    one = [float(p[0]) for p in params]
    _close(BB.affine_transform(boxes[0], *one, 100, 120, center_x=0.3, center_y=0.6),
           KBB.affine_transform(boxes[:1], *[p[:1] for p in params], 100, 120, center_x=0.3, center_y=0.6)[0], atol=1e-3)
    for fn, args in ((BB.crop, (1, 1, 5, 5)), (BB.pad, (1, 1))):
        with pytest.raises(NotImplementedError, match="xyxy"):
            fn(boxes, *args, bounding_box_format="xywh")


@pytest.mark.parametrize("fmt", ["center_yxhw", "center_xywh"])
def test_encode_and_decode_deltas_match_keras(fmt):
    anchors, boxes = _boxes((6,), seed=2), _boxes((2, 6), seed=3)
    variance = [0.1, 0.1, 0.2, 0.2]
    ours = BB.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", fmt, variance=variance)
    theirs = KBB.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", fmt, variance=variance)
    _close(ours, theirs)
    back = BB.decode_deltas_to_boxes(anchors, ours.numpy(), "xyxy", "xywh", fmt, variance=variance)
    _close(back, KBB.decode_deltas_to_boxes(anchors, theirs, "xyxy", "xywh", fmt, variance=variance), atol=1e-3)
    _close(BB.convert_format(back, "xywh", "xyxy"), boxes, atol=1e-3)
    levels = BB.decode_deltas_to_boxes({"p3": anchors}, {"p3": ours.numpy()}, "xyxy", "xyxy", fmt, variance=variance)
    _close(levels["p3"], boxes, atol=1e-3)
    with pytest.raises(ValueError, match="length 4"):
        BB.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", variance=[1, 2])
    with pytest.raises(ValueError, match="encoding_format"):
        BB.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", encoding_format="xyxy")


@pytest.mark.parametrize("shapes", [((4,), (3,)), ((2, 4), (2, 3)), ((2, 4), (3,)), ((4,), (2, 3))])
def test_compute_iou_matches_keras(shapes):
    b1, b2 = _boxes(shapes[0], seed=4), _boxes(shapes[1], seed=5)
    b1[..., 0, :] = b2[..., 0, :] if b1.ndim == b2.ndim else b1[..., 0, :]
    _close(BB.compute_iou(b1, b2, "xyxy"), KBB.compute_iou(b1, b2, "xyxy"))
    _close(BB.compute_iou(b1 / 200, b2 / 200, "rel_xyxy", image_shape=(100, 120, 3)),
           KBB.compute_iou(b1 / 200, b2 / 200, "rel_xyxy", image_shape=(100, 120, 3)))
    if len(shapes[0]) == len(shapes[1]):  # Keras's masking needs equal ranks
        b1[..., 1, :] = -1
        _close(BB.compute_iou(b1, b2, "xyxy", use_masking=True, mask_val=-5),
               KBB.compute_iou(b1, b2, "xyxy", use_masking=True, mask_val=-5))
    with pytest.raises(ValueError, match="image_shape"):
        BB.compute_iou(b1, b2, "rel_xyxy")
    with pytest.raises(ValueError, match="boxes1"):
        BB.compute_iou(b1[..., 0, 0], b2, "xyxy")


def test_compute_ciou_matches_keras():
    b1, b2 = _boxes((2, 5), seed=6), _boxes((2, 5), seed=7)
    _close(BB.compute_ciou(b1, b2, "xyxy"), KBB.compute_ciou(b1, b2, "xyxy"))
    _close(BB.compute_ciou(BB.convert_format(b1, "xyxy", "center_yxhw").numpy(),
                           BB.convert_format(b2, "xyxy", "center_yxhw").numpy(), "center_yxhw"),
           KBB.compute_ciou(b1, b2, "xyxy"), atol=1e-4)
    rel = BB.compute_ciou(b1 / 200, b2 / 200, "rel_xyxy", image_shape=(200, 200, 3))
    _close(rel, KBB.compute_ciou(b1, b2, "xyxy"), atol=1e-4)
    with pytest.raises(ValueError, match="image_shape"):
        BB.compute_ciou(b1, b2, "rel_xyxy")
