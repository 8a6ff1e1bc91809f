"""What ``fit`` does with doubtful data (issue 12, finding 6): no silent ignores.

NaN weights, empty data and non-positive step counts raise; bool inputs are cast as Keras casts
them; ``class_weight``/``sample_weight`` with a DataLoader or a generator raise as Keras raises;
``validation_data`` wins over ``validation_split``; class weights stay out of ``val_loss``. Where
Keras is the reference, the real Keras (torch backend) runs the same case.
"""

import os
import warnings

import numpy as np
import pytest
import torch

import initium as keras
from initium import layers

os.environ.setdefault("KERAS_BACKEND", "torch")


def data(n=64, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype("float32"), rng.integers(0, k, size=n)


def ours_and_keras(d=4, k=3, metrics=None, weighted_metrics=None, optimizer="sgd"):
    """The same softmax classifier in initium and in Keras, with identical starting weights."""
    import keras as real

    theirs = real.Sequential([real.Input((d,)), real.layers.Dense(5, activation="relu"),
                              real.layers.Dense(k, activation="softmax")])
    ours = keras.Sequential([keras.Input((d,)), layers.Dense(5, activation="relu"),
                             layers.Dense(k, activation="softmax")])
    ours.set_weights(theirs.get_weights())
    for m in (ours, theirs):
        m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=metrics,
                  weighted_metrics=weighted_metrics)
    return ours, theirs


def compiled(**kwargs):
    m = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax")])
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", **kwargs)
    return m


def assert_history_close(h1, h2, rtol=1e-5):
    assert sorted(h1.history) == sorted(h2.history)
    for key in h1.history:
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=rtol, atol=1e-6, err_msg=key)


# ------------------------------------------------------------------ NaN weights, empty data, step counts

def test_nan_or_inf_sample_weight_raises_naming_the_rows():
    x, y = data()
    sw = np.ones(len(y))
    sw[[3, 9]] = [np.nan, np.inf]
    with pytest.raises(ValueError, match=r"`sample_weight` contains NaN or infinite values \(first bad rows: \[3, 9\]"):
        compiled().fit(x, y, sample_weight=sw, verbose=0)
    with pytest.raises(ValueError, match=r"evaluate: `sample_weight` contains NaN"):
        compiled().evaluate(x, y, sample_weight=sw, verbose=0)
    with pytest.raises(ValueError, match=r"fit \(validation_data\): `sample_weight` contains NaN"):
        compiled().fit(x, y, validation_data=(x, y, sw), verbose=0)


@pytest.mark.parametrize("bad", [{0: np.nan, 1: 1.0}, {0: 1.0, 2: np.inf}, {0: "2"}, {"0": 1.0}, {-1: 1.0},
                                 {0.5: 1.0}, [1.0, 2.0]])
def test_bad_class_weight_raises(bad):
    x, y = data()
    with pytest.raises(ValueError, match=r"class_weight"):
        compiled().fit(x, y, class_weight=bad, verbose=0)


@pytest.mark.parametrize("call", ["fit", "evaluate"])
def test_empty_arrays_raise(call):
    x, y = data()
    with pytest.raises(ValueError, match=rf"{call}: `x` has no samples \(0 rows\)"):
        getattr(compiled(), call)(x[:0], y[:0], verbose=0)


def test_keras_also_refuses_empty_arrays():
    _, theirs = ours_and_keras()
    x, y = data()
    with pytest.raises(ValueError, match="num_samples=0"):
        theirs.fit(x[:0], y[:0], verbose=0)


@pytest.mark.parametrize("kwargs", [dict(steps_per_epoch=0), dict(steps_per_epoch=-1), dict(steps_per_epoch=1.5),
                                    dict(steps_per_epoch=True), dict(validation_steps=0)])
def test_non_positive_step_counts_raise(kwargs):
    x, y = data()
    arg = next(iter(kwargs))
    with pytest.raises(ValueError, match=rf"fit: `{arg}` must be a positive integer or None"):
        compiled().fit(x, y, validation_split=0.25, verbose=0, **kwargs)


def test_evaluate_and_predict_steps_must_be_positive():
    x, y = data()
    m = compiled()
    with pytest.raises(ValueError, match=r"evaluate: `steps` must be a positive integer or None .*Received: steps=0"):
        m.evaluate(x, y, steps=0, verbose=0)
    with pytest.raises(ValueError, match=r"predict: `steps` must be a positive integer or None .*Received: steps=-2"):
        m.predict(x, steps=-2, verbose=0)


def test_steps_per_epoch_limits_the_batches():
    x, y = data()
    m = compiled()
    seen = []
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    h = m.fit(x, y, batch_size=8, steps_per_epoch=3, verbose=0, callbacks=[cb])
    assert seen == [0, 1, 2] and h.history["loss"][0] > 0


# ------------------------------------------------------------------ bool inputs

def test_bool_x_is_cast_to_floatx_as_in_keras():
    x, y = data()
    ours, theirs = ours_and_keras()
    h1 = ours.fit(x > 0, y, batch_size=16, shuffle=False, verbose=0)
    h2 = theirs.fit(x > 0, y, batch_size=16, shuffle=False, verbose=0)
    assert_history_close(h1, h2)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.predict(x > 0, verbose=0), ours.predict((x > 0).astype("float32"), verbose=0))


def test_bool_y_trains_a_binary_classifier():
    x, y = data()
    m = keras.Sequential([keras.Input((4,)), layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y > 0, verbose=0)
    assert np.isfinite(h.history["loss"][0])
    assert m.evaluate(x, y > 0, verbose=0) == pytest.approx(m.evaluate(x, (y > 0).astype("float32"), verbose=0))


# ------------------------------------------------------------------ weights with DataLoaders and generators

def loader(x, y):
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    return torch.utils.data.DataLoader(ds, batch_size=16)


def generator(x, y):
    for i in range(0, len(x), 16):
        yield x[i:i + 16], y[i:i + 16]


@pytest.mark.parametrize("make, kind", [(loader, "torch DataLoader"), (generator, "generator")])
def test_class_weight_with_a_dataloader_or_generator_raises_as_keras(make, kind):
    x, y = data()
    _, theirs = ours_and_keras()
    with pytest.raises(ValueError, match=f"`class_weight` is not supported for .*{kind.split()[-1]}"):
        theirs.fit(make(x, y), class_weight={0: 2.0}, verbose=0)
    with pytest.raises(ValueError, match=rf"Argument `class_weight` is not supported for {kind} inputs\. Yield "
                                         r"\(x, y, sample_weight\) batches"):
        compiled().fit(make(x, y), class_weight={0: 2.0}, verbose=0)


@pytest.mark.parametrize("make, kind", [(loader, "torch DataLoader"), (generator, "generator")])
def test_sample_weight_with_a_dataloader_or_generator_raises_as_keras(make, kind):
    x, y = data()
    _, theirs = ours_and_keras()
    with pytest.raises(ValueError, match=f"When providing `x` as a {kind}, `sample_weights` should not be passed"):
        theirs.fit(make(x, y), sample_weight=np.ones(len(y)), verbose=0)
    msg = rf"When providing `x` as a {kind}, `sample_weight` should not be passed\. Instead, the sample weights"
    with pytest.raises(ValueError, match=msg):
        compiled().fit(make(x, y), sample_weight=np.ones(len(y)), verbose=0)
    with pytest.raises(ValueError, match=msg):
        compiled().evaluate(make(x, y), sample_weight=np.ones(len(y)), verbose=0)
    with pytest.raises(ValueError, match=rf"When providing `x` as a {kind}, `y` should not be passed"):
        compiled().fit(make(x, y), y, verbose=0)


def test_class_weight_together_with_sample_weight_raises_as_keras():
    x, y = data()
    ours, theirs = ours_and_keras()
    msg = r"You cannot `class_weight` and `sample_weight` at the same time"
    for model in (ours, theirs):
        with pytest.raises(ValueError, match=msg):
            model.fit(x, y, sample_weight=np.ones(len(y)), class_weight={0: 2.0}, verbose=0)
    with pytest.raises(ValueError, match=r"Arguments `sample_weight` and `class_weight` cannot be specified"):
        ours.train_on_batch(x, y, sample_weight=np.ones(len(y)), class_weight={0: 2.0})


def test_weights_inside_the_batches_of_a_dataloader_are_used():
    x, y = data()
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y), torch.zeros(len(y)))
    m = compiled()
    before = m.get_weights()
    h = m.fit(torch.utils.data.DataLoader(ds, batch_size=16), verbose=0)
    assert h.history["loss"] == [0.0]  # all-zero weights: no loss, no update
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ validation

def test_validation_data_wins_over_validation_split_as_in_keras():
    x, y = data()
    vx, vy = data(n=10, seed=5)
    ours, theirs = ours_and_keras(metrics=["accuracy"])
    with pytest.warns(UserWarning, match=r"both `validation_data` and `validation_split=0.5` were given; "
                                         r"validation_data is used"):
        h1 = ours.fit(x, y, validation_split=0.5, validation_data=(vx, vy), batch_size=16, shuffle=False, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h2 = theirs.fit(x, y, validation_split=0.5, validation_data=(vx, vy), batch_size=16, shuffle=False,
                        verbose=0)
    assert_history_close(h1, h2)  # the same training samples (all 64) and the same validation set
    assert h1.history["val_loss"][0] == pytest.approx(ours.evaluate(vx, vy, verbose=0)[0], rel=1e-6)


def test_class_weight_applies_to_training_only_as_in_keras():
    x, y = data(n=80)
    ours, theirs = ours_and_keras(metrics=["accuracy"], weighted_metrics=["accuracy"])
    cw = {0: 0.2, 1: 3.0, 2: 1.0}
    kw = dict(class_weight=cw, validation_split=0.25, batch_size=20, epochs=2, shuffle=False, verbose=0)
    h1 = ours.fit(x, y, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h2 = theirs.fit(x, y, **kw)
    assert_history_close(h1, h2)
    # val_loss is the plain loss on the last quarter: no class weights
    assert h1.history["val_loss"][-1] == pytest.approx(ours.evaluate(x[60:], y[60:], verbose=0)[0], rel=1e-6)


def test_class_weight_zero_everywhere_zeroes_the_training_loss_only():
    x, y = data()
    m = compiled()
    h = m.fit(x, y, class_weight={0: 0.0, 1: 0.0, 2: 0.0}, validation_split=0.5, verbose=0)
    assert h.history["loss"] == [0.0] and h.history["val_loss"][0] > 0.1
