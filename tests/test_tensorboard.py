"""``callbacks.TensorBoard`` writes real event files, read back here with TensorBoard's own
``EventAccumulator``: Keras's run directories (``train/``, ``validation/``) and tags
(``epoch_loss``, ``epoch_learning_rate``, ``batch_*`` every ``update_freq`` batches,
``evaluation_*_vs_iterations``, ``<weight path>/histogram``, the ``keras`` model config), the
argument checks, the ImportError when the optional ``tensorboard`` package is missing, and the
``should_write`` switch a distributed run uses to keep all ranks but one silent.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import initium
from initium import layers

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

X = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-1.0], [0.5]], dtype="float32")).astype("float32")


def _model():
    initium.utils.set_random_seed(0)
    model = initium.Sequential([initium.Input((3,)), layers.Dense(4, activation="relu", name="hidden"),
                                layers.Dense(1, name="out")])
    model.compile(optimizer=initium.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def _read(run_dir):
    acc = event_accumulator.EventAccumulator(str(run_dir), size_guidance={"histograms": 0, "tensors": 0,
                                                                           "scalars": 0})
    acc.Reload()
    return acc


def _scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_epoch_scalars_in_train_and_validation_runs(tmp_path):
    model = _model()
    board = initium.callbacks.TensorBoard(log_dir=tmp_path, write_graph=False)
    hist = model.fit(X[:48], Y[:48], validation_data=(X[48:], Y[48:]), epochs=3, batch_size=16,
                     callbacks=[board], verbose=0).history
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train", "validation"]
    train, val = _read(tmp_path / "train"), _read(tmp_path / "validation")
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_mae", "epoch_learning_rate"}
    assert {"epoch_loss", "epoch_mae"} <= set(val.Tags()["scalars"])
    for tag, key in (("epoch_loss", "loss"), ("epoch_mae", "mae")):
        assert [s for s, _ in _scalars(train, tag)] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in _scalars(train, tag)], hist[key], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in _scalars(val, tag)], hist[f"val_{key}"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in _scalars(train, "epoch_learning_rate")], [0.01] * 3, rtol=1e-6)


def test_update_freq_writes_batch_scalars_every_n_global_batches(tmp_path):
    board = initium.callbacks.TensorBoard(log_dir=tmp_path, update_freq=3, write_graph=False)
    _model().fit(X, Y, epochs=2, batch_size=16, callbacks=[board], verbose=0)  # 4 batches an epoch
    train = _read(tmp_path / "train")
    assert [s for s, _ in _scalars(train, "batch_loss")] == [3, 6]
    assert [s for s, _ in _scalars(train, "batch_mae")] == [3, 6]
    every = initium.callbacks.TensorBoard(log_dir=tmp_path / "every", update_freq="batch", write_graph=False)
    _model().fit(X, Y, epochs=1, batch_size=16, callbacks=[every], verbose=0)
    assert [s for s, _ in _scalars(_read(tmp_path / "every" / "train"), "batch_loss")] == [1, 2, 3, 4]


def test_histograms_images_and_model_config(tmp_path):
    model = _model()
    board = initium.callbacks.TensorBoard(log_dir=tmp_path, histogram_freq=2, write_images=True)
    model.fit(X, Y, epochs=3, batch_size=32, callbacks=[board], verbose=0)
    train = _read(tmp_path / "train")
    paths = [w.path.replace(":", "_") for layer in model.layers for w in layer.weights]
    assert set(train.Tags()["histograms"]) == {f"{p}/histogram" for p in paths}
    assert [e.step for e in train.Histograms(f"{paths[0]}/histogram")] == [0, 2]  # epochs 0 and 2
    kernel = train.Histograms(f"{paths[0]}/histogram")[-1].histogram_value
    assert kernel.num == model.layers[0].kernel.numel()
    assert kernel.min == pytest.approx(float(model.layers[0].kernel.detach().min()), rel=1e-6)
    # Keras's images: every weight but the output bias, whose single value squeezes to a scalar
    assert set(train.Tags()["images"]) == {f"{p}/image" for p in paths[:-1]}
    config = train.Tensors("keras")[0]
    assert config.step == 0
    assert json.loads(config.tensor_proto.string_val[0])["class_name"] == "Sequential"


def test_evaluate_alone_writes_evaluation_scalars(tmp_path):
    model = _model()
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    board = initium.callbacks.TensorBoard(log_dir=tmp_path, write_graph=False)
    loss = model.evaluate(X, Y, callbacks=[board], verbose=0)[0]
    board.on_train_end()  # evaluate has no train end: close the writers to flush
    val = _read(tmp_path / "validation")
    assert _scalars(val, "evaluation_loss_vs_iterations") == [(2, pytest.approx(loss, rel=1e-6))]


def test_embeddings_projector_config_and_checkpoints(tmp_path):
    initium.utils.set_random_seed(0)
    model = initium.Sequential([initium.Input((4,), dtype="int32"), layers.Embedding(10, 3, name="emb"),
                                layers.GlobalAveragePooling1D(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    board = initium.callbacks.TensorBoard(log_dir=tmp_path, embeddings_freq=1, embeddings_metadata={"emb": "m.tsv"},
                                          write_graph=False)
    model.fit(np.arange(32).reshape(8, 4) % 10, np.ones((8, 1), "float32"), epochs=2, callbacks=[board], verbose=0)
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"' in config
    assert 'metadata_path: "m.tsv"' in config
    assert sorted(p.name for p in (tmp_path / "train").glob("keras_embedding.ckpt-*")) == [
        "keras_embedding.ckpt-0.weights.h5", "keras_embedding.ckpt-1.weights.h5"]


@pytest.mark.parametrize("kwargs, match", [
    ({"profile_batch": 2}, "Profiling is not yet available"), ({"profile_batch": (3, 1)}, "profile_batch"),
    ({"update_freq": 0}, "update_freq"), ({"histogram_freq": -1}, "histogram_freq")])
def test_arguments_are_checked(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        initium.callbacks.TensorBoard(log_dir=tmp_path, **kwargs)


def test_a_missing_tensorboard_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install initium\[tensorboard\]"):
        initium.callbacks.TensorBoard(log_dir=tmp_path)


def test_should_write_false_writes_nothing(tmp_path):
    class Silent(initium.callbacks.TensorBoard):
        def should_write(self):
            return False

    board = Silent(log_dir=tmp_path / "logs", histogram_freq=1, embeddings_freq=1)
    _model().fit(X, Y, validation_split=0.25, epochs=2, callbacks=[board], verbose=0)
    assert not (tmp_path / "logs").exists()


def test_import_initium_does_not_import_tensorboard():
    import subprocess

    code = "import sys, initium, initium.callbacks; print('tensorboard' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
