"""compile / fit / evaluate / predict: Keras parity, data forms, errors, and the tour."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import initium as keras
from initium import layers

os.environ.setdefault("KERAS_BACKEND", "torch")


def data(n=96, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype("float32")
    y = rng.integers(0, k, size=n)
    return x, y


def mlp(d=6, k=3, activation="softmax"):
    return keras.Sequential([keras.Input((d,)), layers.Dense(8, activation="relu"), layers.Dense(k, activation=activation)])


@pytest.mark.parametrize("opt", ["sgd", "adam", "rmsprop", "adamw"])
def test_twenty_fit_steps_match_keras(opt):
    """Acceptance: 20 steps from identical weights on the same batches give Keras's weights to 1e-5."""
    import keras as real

    x, y = data(n=320)
    y1h = keras.utils.to_categorical(y, 3)
    ours = mlp()
    theirs = real.Sequential([real.Input((6,)), real.layers.Dense(8, activation="relu"), real.layers.Dense(3, activation="softmax")])
    ours.set_weights(theirs.get_weights())
    ours.compile(optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy"])
    theirs.compile(optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy"])
    h1 = ours.fit(x, y1h, batch_size=16, epochs=1, shuffle=False, verbose=0)  # 320 / 16 = 20 steps
    h2 = theirs.fit(x, y1h, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    assert h1.history["loss"][0] == pytest.approx(h2.history["loss"][0], rel=1e-5)
    assert h1.history["accuracy"][0] == pytest.approx(h2.history["accuracy"][0], abs=1e-6)


def test_evaluate_and_predict_match_keras():
    import keras as real

    x, y = data()
    ours = mlp()
    theirs = real.Sequential([real.Input((6,)), real.layers.Dense(8, activation="relu"), real.layers.Dense(3, activation="softmax")])
    ours.set_weights(theirs.get_weights())
    ours.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    theirs.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ev_o, ev_t = ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(ev_o, ev_t, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.predict(x, batch_size=7, verbose=0), theirs.predict(x, verbose=0), atol=1e-6)
    assert ours.metrics_names == ["loss", "accuracy"]


def test_history_keys_sorted_and_validation():
    x, y = data()
    m = mlp()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert list(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"] and h.epoch == [0, 1]
    h = m.fit(x, y, epochs=1, validation_data=(x[:10], y[:10]), verbose=0)
    assert "val_loss" in h.history
    assert m.history is h


def test_data_forms_tensors_dataloader_generator_and_dicts():
    x, y = data()
    m = mlp()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(torch.from_numpy(x), torch.from_numpy(y), epochs=1, verbose=0)
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    m.fit(torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True), epochs=2, verbose=0)

    def gen():
        while True:
            yield x[:16], y[:16]

    h = m.fit(gen(), steps_per_epoch=3, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
    a, b = keras.Input((6,), name="a"), keras.Input((2,), name="b")
    out = layers.Dense(3, activation="softmax")(layers.Concatenate()([a, b]))
    two = keras.Model([a, b], out)
    two.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    two.fit({"a": x, "b": x[:, :2]}, y, epochs=1, verbose=0)
    two.fit([x, x[:, :2]], y, epochs=1, verbose=0)
    assert two.predict([x, x[:, :2]], verbose=0).shape == (96, 3)


def test_sample_and_class_weight_change_the_loss():
    x, y = data()
    m = mlp()
    m.compile(loss="sparse_categorical_crossentropy")
    base = m.evaluate(x, y, verbose=0)
    zero_w = m.evaluate(x, y, sample_weight=np.zeros(len(y)), verbose=0)
    assert zero_w == pytest.approx(0.0, abs=1e-7) and base > 0
    w = m.train_on_batch(x, y, class_weight={0: 1.0, 1: 0.0, 2: 0.0})
    assert isinstance(w, float)


def test_regularization_losses_are_added():
    x, y = data()
    m = keras.Sequential([keras.Input((6,)), layers.Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.L2(10.0))])
    plain = keras.Sequential([keras.Input((6,)), layers.Dense(3, activation="softmax")])
    plain.set_weights(m.get_weights())
    for model in (m, plain):
        model.compile(loss="sparse_categorical_crossentropy")
    penalty = 10.0 * float((m.layers[0].kernel.detach() ** 2).sum())
    assert m.evaluate(x, y, verbose=0) == pytest.approx(plain.evaluate(x, y, verbose=0) + penalty, rel=1e-5)


def test_dropout_and_batchnorm_follow_training_mode():
    x, y = data()
    m = keras.Sequential([keras.Input((6,)), layers.Dropout(0.99), layers.Dense(3, activation="softmax")])
    m.compile(loss="sparse_categorical_crossentropy")
    p1, p2 = m.predict(x, verbose=0), m.predict(x, verbose=0)
    np.testing.assert_array_equal(p1, p2)  # inference: no dropout
    bn = keras.Sequential([keras.Input((6,)), layers.BatchNormalization(), layers.Dense(3, activation="softmax")])
    bn.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = bn.layers[0].moving_mean.detach().clone()
    bn.fit(x, y, epochs=1, verbose=0)
    assert not torch.equal(before, bn.layers[0].moving_mean.detach())  # training updated the statistics


def test_errors():
    x, y = data()
    m = mlp()
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before using the model \(fit\)"):
        m.fit(x, y, verbose=0)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"Data cardinality is ambiguous.*x has 96, y has 95"):
        m.fit(x, y[:-1], verbose=0)
    bad = x.copy()
    bad[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"`x` contains NaN or infinite values \(first bad rows: \[5\], 1 in all\)"):
        m.fit(bad, y, verbose=0)
    bad_y = keras.utils.to_categorical(y, 3)
    bad_y[7, 0] = np.inf
    cce_model = mlp()
    cce_model.compile(optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"`y` contains NaN or infinite values \(first bad rows: \[7\]"):
        cce_model.fit(x, bad_y, verbose=0)
    for split in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"`validation_split` must be a float in \[0, 1\)"):
            m.fit(x, y, validation_split=split, verbose=0)
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer"):
        m.fit(x, y, batch_size=0, verbose=0)
    cce = mlp()
    cce.compile(optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        cce.fit(x, y, verbose=0)


@pytest.mark.parametrize("kind, bad, hint", [("optimizer", "adamm", "adam"), ("loss", "categorical_crossentropyy", "categorical_crossentropy"),
                                             ("metrics", ["acuracy"], "accuracy")])
def test_unknown_names_suggest(kind, bad, hint):
    x, y = data()
    m = mlp()
    kwargs = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", kind: bad}
    with pytest.raises(ValueError, match=f"Did you mean '{hint}'"):
        m.compile(**kwargs)
        m.fit(x, y, verbose=0)


def test_tour_reaches_ninety_percent_and_pipes_clean():
    from initium.tour import run_tour

    lines = []
    results = run_tour(epochs=15, verbose=0, print_fn=lines.append)
    assert [r["test_accuracy"] >= 0.90 for r in results] == [True, True, True], results
    assert "Seed 003's claim" in "\n".join(lines)
    r = subprocess.run([sys.executable, "-m", "initium", "tour", "--epochs", "1"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\r" not in r.stdout and "\b" not in r.stdout
    assert "Epoch" not in r.stdout or "1/1" in r.stdout
