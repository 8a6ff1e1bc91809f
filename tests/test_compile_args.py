"""``compile``'s arguments that used to be accepted and ignored (issue 12, finding 7).

``weighted_metrics`` (weighted by sample_weight/class_weight, named as Keras logs them),
``steps_per_execution`` (batch callbacks once per execution), ``run_eagerly`` (no torch.compile;
``model.run_eagerly``), ``auto_scale_loss`` (checked and recorded), and their compile config.
Keras (torch backend) is the reference for names, values and messages.
"""

import os
import warnings

import numpy as np
import pytest
import torch

import initium as keras
from initium import callbacks, layers

os.environ.setdefault("KERAS_BACKEND", "torch")


def data(n=60, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype("float32"), rng.integers(0, k, size=n)


def pair(loss="sparse_categorical_crossentropy", k=3, activation="softmax", **compile_kwargs):
    """One model in initium and the same in Keras, identical weights, compiled alike."""
    import keras as real

    theirs = real.Sequential([real.Input((4,)), real.layers.Dense(5, activation="relu"),
                              real.layers.Dense(k, activation=activation)])
    ours = keras.Sequential([keras.Input((4,)), layers.Dense(5, activation="relu"),
                             layers.Dense(k, activation=activation)])
    ours.set_weights(theirs.get_weights())
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss=loss, **compile_kwargs)
    return ours, theirs


def fit_both(ours, theirs, *args, **kwargs):
    h1 = ours.fit(*args, verbose=0, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h2 = theirs.fit(*args, verbose=0, **kwargs)
    return h1.history, h2.history


def assert_logs_close(a, b):
    assert list(a) == sorted(b), (list(a), sorted(b))
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)


# ------------------------------------------------------------------ weighted_metrics

@pytest.mark.parametrize("kwargs", [
    dict(metrics=["accuracy"], weighted_metrics=["accuracy"]),
    dict(weighted_metrics=["accuracy"]),
    dict(metrics=["accuracy", "accuracy"]),
    dict(metrics=["accuracy"], weighted_metrics=["accuracy", "accuracy"]),
])
def test_weighted_metrics_values_and_log_names_match_keras(kwargs):
    x, y = data()
    sw = np.random.default_rng(1).random(len(y)).astype("float32")
    vx, vy = data(n=20, seed=2)
    vsw = np.random.default_rng(3).random(len(vy)).astype("float32")
    ours, theirs = pair(**kwargs)
    h1, h2 = fit_both(ours, theirs, x, y, sample_weight=sw, validation_data=(vx, vy, vsw), batch_size=15,
                      epochs=2, shuffle=False)
    assert_logs_close(h1, h2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e2 = theirs.evaluate(vx, vy, sample_weight=vsw, verbose=0, return_dict=True)
    assert_logs_close(ours.evaluate(vx, vy, sample_weight=vsw, verbose=0, return_dict=True), e2)


def test_regression_weighted_metrics_match_keras():
    x, _ = data()
    y = (x @ np.arange(1, 5, dtype="float32"))[:, None]
    sw = np.linspace(0.0, 2.0, len(y)).astype("float32")
    ours, theirs = pair(loss="mse", k=1, activation=None, metrics=["mae"], weighted_metrics=["mae", "mse"])
    h1, h2 = fit_both(ours, theirs, x, y, sample_weight=sw, batch_size=20, shuffle=False)
    assert list(h1) == ["loss", "mae", "mse", "weighted_mae"]
    assert_logs_close(h1, h2)


def test_plain_metrics_ignore_sample_weight_and_weighted_ones_use_it():
    x, y = data()
    m = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax")])
    m.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    right = m.predict(x, verbose=0).argmax(-1) == y
    sw = right.astype("float32")  # weight only the samples the model gets right
    logs = m.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(right.mean())
    assert logs["weighted_accuracy"] == pytest.approx(1.0)
    assert m.evaluate(x, y, sample_weight=sw, verbose=0) == [logs["loss"], logs["accuracy"], logs["weighted_accuracy"]]


def test_weighted_metrics_use_class_weight():
    x, y = data()
    m = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax")])
    m.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy",
              weighted_metrics=["accuracy"])
    right = m.predict(x, verbose=0).argmax(-1) == y
    h = m.fit(x, y, class_weight={0: 1.0, 1: 0.0, 2: 0.0}, batch_size=len(y), verbose=0)
    assert h.history["accuracy"][0] == pytest.approx(right[y == 0].mean())


def test_weighted_metrics_per_output_on_a_two_output_model():
    inp = keras.Input((4,))
    a = layers.Dense(3, activation="softmax", name="a")(inp)
    b = layers.Dense(3, activation="softmax", name="b")(inp)
    m = keras.Model(inp, [a, b])
    m.compile(loss="sparse_categorical_crossentropy", metrics={"a": ["accuracy"]},
              weighted_metrics={"a": ["accuracy"], "b": ["accuracy"]})
    x, y = data()
    logs = m.evaluate(x, [y, y], sample_weight=np.ones(len(y)), verbose=0, return_dict=True)
    assert {"a_accuracy", "a_weighted_accuracy", "b_accuracy"} <= set(logs)
    assert logs["a_accuracy"] == pytest.approx(logs["a_weighted_accuracy"])  # weights of one change nothing


def test_metrics_arguments_must_be_lists_as_in_keras():
    for arg in ("metrics", "weighted_metrics"):
        with pytest.raises(ValueError, match=rf"`{arg}` must be a list, tuple, or dict"):
            keras.Sequential([keras.Input((4,)), layers.Dense(3)]).compile(loss="mse", **{arg: "accuracy"})


# ------------------------------------------------------------------ steps_per_execution

def recorder():
    """A callback that logs ``(tag, batch)`` for every batch hook, and the list it fills."""
    calls = []
    tags = {"on_train_batch_begin": "begin", "on_train_batch_end": "end", "on_test_batch_begin": "test_begin",
            "on_test_batch_end": "test_end", "on_predict_batch_begin": "predict_begin",
            "on_predict_batch_end": "predict_end"}

    def hook(tag):
        return lambda batch, logs=None: calls.append((tag, batch))

    return calls, callbacks.LambdaCallback(**{name: hook(tag) for name, tag in tags.items()})


def classifier(seed=0, **compile_kwargs):
    keras.utils.set_random_seed(seed)
    m = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], **compile_kwargs)
    return m


def test_steps_per_execution_calls_batch_callbacks_once_per_execution():
    x, y = data(n=100)  # 10 batches of 10: executions [0-3], [4-7], [8-9]
    calls, rec = recorder()
    m = classifier(steps_per_execution=4)
    m.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0, callbacks=[rec])
    assert calls == [("begin", 0), ("end", 3), ("begin", 4), ("end", 7), ("begin", 8), ("end", 9)] * 2
    assert int(m.optimizer.iterations) == 20  # every batch still trains
    reference = classifier(steps_per_execution=1)
    reference.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)  # the same steps, only fewer callback calls


def test_steps_per_execution_in_evaluate_and_predict():
    x, y = data(n=50)
    calls, rec = recorder()
    m = classifier(steps_per_execution=3)
    m.evaluate(x, y, batch_size=10, verbose=0, callbacks=[rec])
    m.predict(x, batch_size=10, verbose=0, callbacks=[rec])
    assert calls == [("test_begin", 0), ("test_end", 2), ("test_begin", 3), ("test_end", 4),
                         ("predict_begin", 0), ("predict_end", 2), ("predict_begin", 3), ("predict_end", 4)]


def test_steps_per_execution_larger_than_an_epoch_is_one_execution():
    x, y = data(n=30)
    calls, rec = recorder()
    classifier(steps_per_execution=100).fit(x, y, batch_size=10, verbose=0, callbacks=[rec])
    assert calls == [("begin", 0), ("end", 2)]


def test_progress_bar_updates_once_per_execution():
    class Bar(callbacks.ProgbarLogger):
        def __init__(self):
            super().__init__()
            self.updates = []

        def _update_progbar(self, batch, logs):
            self.updates.append(batch + 1)
            super()._update_progbar(batch, logs)

    x, y = data(n=100)
    bar = Bar()
    classifier(steps_per_execution=4).fit(x, y, batch_size=10, verbose=2, callbacks=[bar])
    assert bar.updates == [4, 8, 10]


def test_stop_training_is_seen_between_executions():
    x, y = data(n=100)
    m = classifier(steps_per_execution=4)
    stop = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: setattr(m, "stop_training", True))
    h = m.fit(x, y, batch_size=10, epochs=3, verbose=0, callbacks=[stop])
    assert int(m.optimizer.iterations) == 4 and h.epoch == [0]


@pytest.mark.parametrize("bad", [0, -1, 2.5, "auto", True, None])
def test_steps_per_execution_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match=r"compile: `steps_per_execution` must be a positive integer"):
        classifier(steps_per_execution=bad)


# ------------------------------------------------------------------ run_eagerly and jit_compile

@pytest.fixture
def compile_calls(monkeypatch):
    """Replace torch.compile by a recorder that returns the function unchanged (compiling is slow)."""
    calls = []

    def fake_compile(fn, *args, **kwargs):
        calls.append(fn)
        return fn

    monkeypatch.setattr(torch, "compile", fake_compile)
    return calls


def test_jit_compile_true_compiles_the_step(compile_calls):
    x, y = data()
    m = classifier(jit_compile=True)
    assert not m.run_eagerly
    m.fit(x, y, verbose=0)
    assert len(compile_calls) == 1


def test_run_eagerly_never_compiles_and_is_observable(compile_calls):
    x, y = data()
    assert classifier().run_eagerly is False
    m = classifier(run_eagerly=True)
    assert m.run_eagerly is True
    m.fit(x, y, verbose=0)
    assert compile_calls == []
    m = classifier(jit_compile=True)
    m.run_eagerly = True  # switched after compile: the next steps run eagerly
    m.fit(x, y, verbose=0)
    assert compile_calls == [] and m.get_compile_config()["run_eagerly"] is True
    with pytest.raises(ValueError, match=r"`run_eagerly` must be True or False. Received: 'yes'"):
        m.run_eagerly = "yes"


def test_run_eagerly_with_jit_compile_warns_and_disables_it_as_keras(compile_calls):
    import keras as real

    msg = r"If `run_eagerly` is True, then `jit_compile` cannot also be True. Disabling `jit_compile`."
    theirs = real.Sequential([real.Input((4,)), real.layers.Dense(3)])
    with pytest.warns(UserWarning, match=msg):
        theirs.compile(loss="mse", run_eagerly=True, jit_compile=True)
    with pytest.warns(UserWarning, match=msg):
        m = classifier(run_eagerly=True, jit_compile=True)
    assert theirs.jit_compile is False and m.get_compile_config()["jit_compile"] is False
    m.fit(*data(), verbose=0)
    assert compile_calls == []


def test_run_eagerly_set_before_compile_is_replaced_by_compile():
    m = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    m.run_eagerly = True
    assert m.run_eagerly is True
    m.compile(loss="mse")
    assert m.run_eagerly is False  # Keras: compile(run_eagerly=False) sets it


# ------------------------------------------------------------------ auto_scale_loss and the compile config

def test_auto_scale_loss_is_checked_and_recorded():
    with pytest.raises(ValueError, match=r"`auto_scale_loss` must be True or False. Received: auto_scale_loss=1"):
        classifier(auto_scale_loss=1)
    assert "auto_scale_loss" not in classifier().get_compile_config()
    assert classifier(auto_scale_loss=False).get_compile_config()["auto_scale_loss"] is False


def test_default_compile_config_has_keras_keys():
    ours, theirs = pair(metrics=["accuracy"])
    assert list(ours.get_compile_config()) == list(theirs.get_compile_config())
    ours, theirs = pair(metrics=["accuracy"], weighted_metrics=["accuracy"], steps_per_execution=1)
    a, b = ours.get_compile_config(), theirs.get_compile_config()
    assert {k: a[k] for k in ("metrics", "weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile")} == \
        {k: b[k] for k in ("metrics", "weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile")}


def test_compile_config_round_trips_through_a_file(tmp_path):
    x, y = data()
    m = classifier(weighted_metrics=["accuracy"], steps_per_execution=3, run_eagerly=True, auto_scale_loss=False)
    m.fit(x, y, verbose=0)
    m.save(tmp_path / "m.keras")
    back = keras.models.load_model(tmp_path / "m.keras")
    cfg = back.get_compile_config()
    assert cfg["weighted_metrics"] == ["accuracy"] and cfg["steps_per_execution"] == 3
    assert cfg["run_eagerly"] is True and back.run_eagerly and cfg["auto_scale_loss"] is False
    logs = back.evaluate(x, y, sample_weight=np.ones(len(y)), verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "weighted_accuracy"}
