"""initium.callbacks: each callback driven by hand (as trainer.fit drives them), against real Keras where it helps."""

from __future__ import annotations

import os
import types

import keras
import numpy as np
import pytest
import torch

import initium
from initium import callbacks
from initium.callbacks import LazyLogs


# ------------------------------------------------------------------ helpers

class FakeOptimizer:
    def __init__(self, lr: float = 0.1) -> None:
        self._lr = torch.tensor(lr, dtype=torch.float32)

    @property
    def learning_rate(self) -> torch.Tensor:
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._lr = torch.tensor(float(value), dtype=torch.float32)


class FakeModel:
    """Enough of a model for the monitoring callbacks (and Keras's, for parity runs)."""

    def __init__(self, optimizer=None) -> None:
        self.optimizer = optimizer
        self.stop_training = False
        self.weights = [np.zeros(2)]
        self.saved: list[tuple[str, str]] = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, path, overwrite=True):
        self.saved.append(("model", path))

    def save_weights(self, path, overwrite=True):
        self.saved.append(("weights", path))


def dense_model(seed: int = 0):
    torch.manual_seed(seed)
    model = initium.Sequential([initium.Input((3,)), initium.layers.Dense(2)])
    model.stop_training = False  # trainer.fit sets it
    return model


def attach_optimizer(model, optimizer):
    """Give a real model an optimizer without compile (compile needs the losses module)."""
    model._trainer = types.SimpleNamespace(optimizer=optimizer)
    model.stop_training = False
    return model


def train_step(model, optimizer, x, y):
    params = list(model.trainable_weights)
    for p in params:
        p.grad = None
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    optimizer.apply([p.grad for p in params], params)
    return loss.detach()


def run_epochs(cb, logs_seq, model):
    cb.set_model(model)
    cb.set_params({"verbose": 0, "epochs": len(logs_seq), "steps": 1})
    model.stop_training = False
    cb.on_train_begin()
    last = None
    for epoch, logs in enumerate(logs_seq):
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, dict(logs))
        last = epoch
        if model.stop_training:
            break
    cb.on_train_end()
    return last


# ------------------------------------------------------------------ LazyLogs

def test_lazy_logs_reads_once_and_caches():
    calls = []

    def fn():
        calls.append(1)
        return {"loss": 0.5, "accuracy": 0.25}

    logs = LazyLogs(fn)
    assert repr(logs) == "LazyLogs(<not read yet>)" and calls == [] and not logs.is_read
    assert logs["loss"] == 0.5
    assert logs.get("accuracy") == 0.25 and logs.get("nope") is None
    assert sorted(logs) == ["accuracy", "loss"] and len(logs) == 2 and "loss" in logs
    assert dict(logs) == {"loss": 0.5, "accuracy": 0.25}
    assert calls == [1] and logs.is_read
    assert "0.5" in repr(logs)
    with pytest.raises(TypeError):
        logs["loss"] = 1.0  # read-only
    with pytest.raises(TypeError, match=r"LazyLogs: `fn` must be a callable returning a dict of logs. Received: fn=3"):
        LazyLogs(3)


# ------------------------------------------------------------------ CallbackList

def test_callback_list_accepts_none_single_list_and_adds_defaults_in_keras_order():
    assert callbacks.CallbackList().callbacks == []
    es = callbacks.EarlyStopping()
    assert callbacks.CallbackList(es).callbacks == [es]
    cbl = callbacks.CallbackList([es, [callbacks.TerminateOnNaN()]], add_history=True, add_progbar=True)
    names = [type(c).__name__ for c in cbl.callbacks]
    knames = [type(c).__name__ for c in keras.callbacks.CallbackList(
        [keras.callbacks.EarlyStopping(), keras.callbacks.TerminateOnNaN()], add_history=True, add_progbar=True).callbacks]
    assert names == knames == ["EarlyStopping", "TerminateOnNaN", "History", "ProgbarLogger"]
    h, p = callbacks.History(), callbacks.ProgbarLogger()
    cbl = callbacks.CallbackList([p, h], add_history=True, add_progbar=True)
    assert cbl.callbacks == [p, h] and len(cbl) == 2 and list(cbl) == [p, h]


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(TypeError, match=r"every callback must be an instance of initium.callbacks.Callback. "
                                        r"Received: 'early' of type str"):
        callbacks.CallbackList(["early"])
    with pytest.raises(TypeError, match=r"pass an instance: add parentheses"):
        callbacks.CallbackList([callbacks.EarlyStopping])
    with pytest.raises(TypeError, match=r"Received: <function .*> of type function.*LambdaCallback"):
        callbacks.CallbackList([lambda: None])
    with pytest.raises(TypeError, match=r"CallbackList.append: every callback"):
        callbacks.CallbackList().append(3)


def test_callback_list_sets_model_params_and_history():
    model = FakeModel()
    rec = callbacks.Callback()
    cbl = callbacks.CallbackList([rec], add_history=True, model=model, verbose=1, epochs=3, steps=7)
    assert rec.model is model and rec.params == {"verbose": 1, "epochs": 3, "steps": 7}
    assert model.history is cbl.callbacks[-1]
    late = callbacks.Callback()
    cbl.append(late)
    assert late.model is model and late.params["steps"] == 7


def test_callback_list_dispatches_every_hook_in_order():
    seen = []

    class Rec(callbacks.Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                return lambda *args: seen.append((name, args))
            return object.__getattribute__(self, name)

    cbl = callbacks.CallbackList([Rec()])
    cbl.on_train_begin()
    cbl.on_epoch_begin(0)
    cbl.on_train_batch_begin(0)
    cbl.on_train_batch_end(0, {"loss": 1.0})
    cbl.on_batch_begin(1)
    cbl.on_batch_end(1)
    cbl.on_epoch_end(0, {"loss": 1.0})
    cbl.on_train_end({"loss": 1.0})
    cbl.on_test_begin()
    cbl.on_test_batch_begin(0)
    cbl.on_test_batch_end(0)
    cbl.on_test_end()
    cbl.on_predict_begin()
    cbl.on_predict_batch_begin(0)
    cbl.on_predict_batch_end(0)
    cbl.on_predict_end()
    assert [s[0] for s in seen] == [
        "on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end", "on_batch_begin",
        "on_batch_end", "on_epoch_end", "on_train_end", "on_test_begin", "on_test_batch_begin", "on_test_batch_end",
        "on_test_end", "on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end"]
    assert seen[3][1] == (0, {"loss": 1.0})
    with pytest.raises(ValueError, match=r"`on_xxx_end` called without corresponding `on_xxx_begin`"):
        cbl.on_test_end()


def test_base_callback_batch_aliases():
    seen = []

    class Old(callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, logs["loss"]))

    cb = Old()
    cb.on_train_batch_begin(3)
    cb.on_train_batch_end(3, LazyLogs(lambda: {"loss": 2.0}))
    assert seen == [("begin", 3), ("end", 3, 2.0)]
    cb.on_test_batch_end(0)  # not aliased
    assert len(seen) == 2


def test_default_callbacks_never_force_batch_logs(capsys):
    forced = []
    model = dense_model()
    cbl = callbacks.CallbackList([callbacks.EarlyStopping(monitor="loss"), callbacks.Callback()], add_history=True,
                                 add_progbar=True, model=model, verbose=1, epochs=2, steps=50)
    cbl.on_train_begin()
    for epoch in range(2):
        cbl.on_epoch_begin(epoch)
        for step in range(50):
            cbl.on_train_batch_begin(step)
            cbl.on_train_batch_end(step, LazyLogs(lambda: forced.append(1) or {"loss": 1.0}))
        cbl.on_epoch_end(epoch, {"loss": 1.0})
    cbl.on_train_end({"loss": 1.0})
    assert forced == []
    capsys.readouterr()


# ------------------------------------------------------------------ History

def test_history_records_python_floats_and_epochs():
    model = FakeModel()
    cbl = callbacks.CallbackList(None, add_history=True, model=model, verbose=1, epochs=2, steps=4)
    cbl.on_train_begin()
    cbl.on_epoch_end(0, {"accuracy": np.float32(0.5), "loss": torch.tensor(1.5)})
    cbl.on_epoch_end(1, {"accuracy": 0.75, "loss": 1.25})
    cbl.on_train_end()
    h = model.history
    assert isinstance(h, callbacks.History)
    assert h.history == {"accuracy": [0.5, 0.75], "loss": [1.5, 1.25]}
    assert all(type(v) is float for vs in h.history.values() for v in vs)
    assert h.epoch == [0, 1] and h.params == {"verbose": 1, "epochs": 2, "steps": 4}


# ------------------------------------------------------------------ EarlyStopping

ES_SEQ = [{"val_loss": v, "loss": v + 1, "val_acc": 1 - v} for v in (1.0, 0.8, 0.85, 0.79, 0.9, 0.95, 0.7, 0.99, 1.0, 1.1)]
ES_CASES = [
    dict(patience=0),
    dict(patience=1),
    dict(patience=2),
    dict(patience=2, min_delta=0.02),
    dict(patience=1, baseline=0.75),
    dict(patience=1, start_from_epoch=3),
    dict(patience=1, monitor="val_acc", mode="max"),
    dict(patience=2, monitor="loss"),
    dict(patience=3, restore_best_weights=True),
    dict(patience=1, baseline=0.5, restore_best_weights=True),
]


@pytest.mark.parametrize("kwargs", ES_CASES, ids=[str(c) for c in ES_CASES])
def test_early_stopping_matches_keras(kwargs):
    results = []
    for cls in (keras.callbacks.EarlyStopping, callbacks.EarlyStopping):
        model = FakeModel()
        cb = cls(**kwargs)
        model.set_weights([np.zeros(2)])
        cb.set_model(model)
        cb.on_train_begin()
        last = None
        for epoch, logs in enumerate(ES_SEQ):
            model.set_weights([np.full(2, float(epoch))])  # the weights "trained" during this epoch
            cb.on_epoch_end(epoch, dict(logs))
            last = epoch
            if model.stop_training:
                break
        cb.on_train_end()
        results.append((last, cb.stopped_epoch, cb.wait, float(cb.best), cb.best_epoch, model.get_weights()[0].tolist()))
    assert results[0] == results[1]


def test_early_stopping_restores_real_model_weights():
    model = dense_model()
    cb = callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    cb.set_model(model)
    cb.on_train_begin()
    snapshots = []
    for epoch, loss in enumerate([1.0, 0.5, 0.7, 0.8]):
        with torch.no_grad():
            for w in model.weights:
                w.add_(1.0)
        snapshots.append(model.get_weights())
        cb.on_epoch_end(epoch, {"loss": loss})
        if model.stop_training:
            break
    assert model.stop_training and cb.stopped_epoch == 2
    cb.on_train_end()
    for a, b in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_auto_mode_from_metric_direction():
    model = FakeModel()
    model.metrics = [initium.metrics.Mean(name="loss"), initium.metrics.SparseCategoricalAccuracy(name="accuracy")]
    cb = callbacks.EarlyStopping(monitor="val_accuracy", patience=0)
    run_epochs(cb, [{"val_accuracy": 0.5}, {"val_accuracy": 0.6}, {"val_accuracy": 0.55}], model)
    assert cb.stopped_epoch == 2 and cb.best == 0.6
    model.metrics = [initium.metrics.MeanSquaredError(name="mse")]
    cb = callbacks.EarlyStopping(monitor="val_mse", patience=0)
    run_epochs(cb, [{"val_mse": 0.5}, {"val_mse": 0.6}], model)
    assert cb.stopped_epoch == 1 and cb.best == 0.5


def test_early_stopping_errors_and_warnings(capsys):
    model = FakeModel()
    cb = callbacks.EarlyStopping(monitor="val_thing")
    cb.set_model(model)
    with pytest.raises(ValueError, match=r"EarlyStopping callback received monitor=val_thing, but Keras isn't able to "
                                         r"automatically determine .* Pass `mode='max'`"):
        cb.on_epoch_end(0, {"val_thing": 1.0})
    with pytest.warns(UserWarning, match=r"EarlyStopping mode 'bogus' is unknown, fallback to auto mode"):
        cb = callbacks.EarlyStopping(mode="bogus")
    assert cb.mode == "auto"
    cb.set_model(model)
    cb.on_train_begin()
    with pytest.warns(UserWarning, match=r"Early stopping conditioned on metric `val_loss` which is not available. "
                                         r"Available metrics are: loss,accuracy"):
        cb.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5})
    assert cb.wait == 0
    cb = callbacks.EarlyStopping(monitor="loss", verbose=1, patience=0, restore_best_weights=True)
    run_epochs(cb, [{"loss": 1.0}, {"loss": 2.0}], model)
    out = capsys.readouterr().out
    assert "Epoch 2: early stopping" in out and "Restoring model weights from the end of the best epoch: 1." in out


# ------------------------------------------------------------------ ReduceLROnPlateau

RLR_LOSSES = [1.0, 0.9, 0.95, 0.96, 0.97, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.84, 0.9, 0.9, 0.9, 0.9, 0.9]
RLR_CASES = [
    dict(patience=2, factor=0.5),
    dict(patience=1, factor=0.5, cooldown=2),
    dict(patience=1, factor=0.1, min_lr=0.0005),
    dict(patience=2, factor=0.5, min_delta=0.1),
    dict(patience=1, factor=0.5, monitor="val_acc", mode="max"),
]


@pytest.mark.parametrize("kwargs", RLR_CASES, ids=[str(c) for c in RLR_CASES])
@pytest.mark.parametrize("opt", ["fake", "adam"])
def test_reduce_lr_on_plateau_matches_keras(kwargs, opt):
    logs_seq = [{"val_loss": v, "val_acc": 1 - v} for v in RLR_LOSSES]
    kmodel = FakeModel(keras.optimizers.SGD(learning_rate=0.1))
    kcb = keras.callbacks.ReduceLROnPlateau(**kwargs)
    kcb.set_model(kmodel)
    kcb.on_train_begin()
    klrs, klogged = [], []
    for epoch, logs in enumerate(logs_seq):
        logs = dict(logs)
        kcb.on_epoch_end(epoch, logs)
        klogged.append(logs["learning_rate"])
        klrs.append(float(kmodel.optimizer.learning_rate))
    optimizer = FakeOptimizer(0.1) if opt == "fake" else initium.optimizers.Adam(learning_rate=0.1)
    model = FakeModel(optimizer)
    cb = callbacks.ReduceLROnPlateau(**kwargs)
    cb.set_model(model)
    cb.on_train_begin()
    lrs, logged = [], []
    for epoch, logs in enumerate(logs_seq):
        logs = dict(logs)
        cb.on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])
        lrs.append(float(model.optimizer.learning_rate))
    np.testing.assert_allclose(lrs, klrs, rtol=1e-6)
    np.testing.assert_allclose(logged, klogged, rtol=1e-6)
    assert len(set(lrs)) > 1


def test_reduce_lr_on_plateau_errors_and_messages(capsys):
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau does not support a factor >= 1.0. Received factor=1.5"):
        callbacks.ReduceLROnPlateau(factor=1.5)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'patiense'. Did you mean 'patience'\?"):
        callbacks.ReduceLROnPlateau(patiense=3)
    cb = callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, verbose=1)
    model = FakeModel(FakeOptimizer(0.1))
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 1.0})
    cb.on_epoch_end(1, {"loss": 1.0})
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05" in capsys.readouterr().out
    with pytest.warns(UserWarning, match=r"Learning rate reduction is conditioned on metric `loss` which is not "
                                         r"available. Available metrics are: acc,learning_rate."):
        cb.on_epoch_end(2, {"acc": 1.0})
    cb.set_model(FakeModel(None))
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: the model has no optimizer .* Call model.compile"):
        cb.on_epoch_end(3, {"loss": 1.0})


# ------------------------------------------------------------------ LearningRateScheduler

def test_learning_rate_scheduler_sets_lr_each_epoch(capsys):
    opt = initium.optimizers.SGD(learning_rate=0.1)
    model = FakeModel(opt)
    cb = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch > 0 else lr, verbose=1)
    cbl = callbacks.CallbackList([cb], add_history=True, model=model, verbose=0, epochs=3, steps=1)
    cbl.on_train_begin()
    lrs = []
    for epoch in range(3):
        cbl.on_epoch_begin(epoch)
        lrs.append(float(opt.learning_rate))
        cbl.on_epoch_end(epoch, {"loss": 1.0})
    cbl.on_train_end()
    np.testing.assert_allclose(lrs, [0.1, 0.05, 0.025], rtol=1e-6)
    np.testing.assert_allclose(model.history.history["learning_rate"], [0.1, 0.05, 0.025], rtol=1e-6)
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.05" in capsys.readouterr().out
    old = callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))  # Keras's old one-argument API
    old.set_model(model)
    old.on_epoch_begin(2)
    assert float(opt.learning_rate) == pytest.approx(0.03)


def test_learning_rate_scheduler_rejects_non_float():
    cb = callbacks.LearningRateScheduler(lambda epoch, lr: 1)
    cb.set_model(FakeModel(FakeOptimizer()))
    with pytest.raises(ValueError, match=r"The output of the `schedule` function should be a float. Got: 1 "
                                         r"\(of type int\)"):
        cb.on_epoch_begin(0)
    cb = callbacks.LearningRateScheduler(lambda epoch, lr: torch.tensor(0.1))
    cb.set_model(FakeModel(FakeOptimizer()))
    with pytest.raises(ValueError, match=r"should be a float. Got: 0.1000\d* \(of type Tensor\)"):
        cb.on_epoch_begin(0)
    with pytest.raises(TypeError, match=r"`schedule` must be a function \(epoch, lr\) -> float. Received: 0.1"):
        callbacks.LearningRateScheduler(0.1)
    cb = callbacks.LearningRateScheduler(lambda epoch, lr: np.float32(0.5))
    opt = FakeOptimizer()
    cb.set_model(FakeModel(opt))
    cb.on_epoch_begin(0)
    assert float(opt.learning_rate) == 0.5


# ------------------------------------------------------------------ CSVLogger

def _csv_run(cls, path, logs_seq, **kwargs):
    cb = cls(str(path), **kwargs)
    cb.set_model(FakeModel())
    cb.on_train_begin()
    for epoch, logs in enumerate(logs_seq):
        cb.on_epoch_end(epoch, dict(logs))
    cb.on_train_end()
    return open(path, "rb").read()


@pytest.mark.parametrize("kwargs", [{}, {"separator": ";"}])
@pytest.mark.parametrize("with_val", [False, True])
def test_csv_logger_matches_keras(tmp_path, kwargs, with_val):
    seq = [{"loss": 0.5, "accuracy": np.float32(0.25)}, {"loss": 0.25, "accuracy": 0.5}]
    if with_val:
        seq = [dict(d, val_loss=1.0) for d in seq]
    k = _csv_run(keras.callbacks.CSVLogger, tmp_path / "k.csv", seq, **kwargs)
    ours = _csv_run(callbacks.CSVLogger, tmp_path / "o.csv", seq, **kwargs)
    assert ours == k
    if not with_val and not kwargs:
        assert ours == b"epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.25,0.5,NA,NA\r\n1,0.5,0.25,NA,NA\r\n"


def test_csv_logger_append_matches_keras(tmp_path):
    seq = [{"loss": 0.5}]
    for cls, name in ((keras.callbacks.CSVLogger, "k.csv"), (callbacks.CSVLogger, "o.csv")):
        _csv_run(cls, tmp_path / name, seq, append=True)
        _csv_run(cls, tmp_path / name, [{"loss": 0.125}], append=True)
    assert (tmp_path / "o.csv").read_bytes() == (tmp_path / "k.csv").read_bytes()
    assert (tmp_path / "o.csv").read_bytes().count(b"epoch") == 1


# ------------------------------------------------------------------ TerminateOnNaN

def test_terminate_on_nan_stops_and_restores_last_finite_weights(capsys):
    model = attach_optimizer(dense_model(), initium.optimizers.Adam(learning_rate=0.01))
    opt = model.optimizer
    cb = callbacks.TerminateOnNaN()
    cbl = callbacks.CallbackList([cb], model=model, verbose=0, epochs=2, steps=3)
    x, y = torch.randn(4, 3), torch.randn(4, 2)
    cbl.on_train_begin()
    good = None
    step = 0
    tracker = {"sum": 0.0, "n": 0}
    stopped = None
    for epoch in range(2):
        cbl.on_epoch_begin(epoch)
        tracker["sum"], tracker["n"] = 0.0, 0
        for batch in range(3):
            cbl.on_train_batch_begin(batch)
            if step == 4:
                with torch.no_grad():
                    model.weights[0][0, 0] = float("nan")  # this step's forward is poisoned
            if step == 3:
                good = ([w.detach().clone() for w in model.weights], [v.detach().clone() for v in opt.variables])
            loss = train_step(model, opt, x, y)
            tracker["sum"] += float(loss)
            tracker["n"] += 1
            mean = tracker["sum"] / tracker["n"]
            cbl.on_train_batch_end(batch, LazyLogs(lambda m=mean: {"loss": m}))
            step += 1
            if model.stop_training:
                stopped = (epoch, batch)
                break
        if model.stop_training:
            break
    assert stopped == (1, 1) and cb.restored
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    for w, g in zip(model.weights, good[0]):
        assert torch.equal(w.detach(), g)
    for v, g in zip(opt.variables, good[1]):
        assert torch.equal(v.detach(), g)
    assert all(bool(torch.isfinite(w).all()) for w in model.weights)


def test_terminate_on_nan_first_step_and_raise_error():
    model = attach_optimizer(dense_model(), initium.optimizers.SGD(learning_rate=0.1))
    initial = [w.detach().clone() for w in model.weights]
    cb = callbacks.TerminateOnNaN(raise_error=True)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_train_batch_begin(0)
    with torch.no_grad():
        model.weights[0].fill_(float("inf"))
    with pytest.raises(RuntimeError, match=r"NaN or Inf loss encountered at batch 0. Loss value: inf. .*restored"):
        cb.on_train_batch_end(0, LazyLogs(lambda: {"loss": float("inf")}))
    for w, g in zip(model.weights, initial):
        assert torch.equal(w.detach(), g)


def test_terminate_on_nan_finite_loss_keeps_training():
    model = attach_optimizer(dense_model(), initium.optimizers.SGD(learning_rate=0.1))
    cb = callbacks.TerminateOnNaN()
    cb.set_model(model)
    cb.on_train_begin()
    for batch in range(3):
        cb.on_train_batch_begin(batch)
        cb.on_train_batch_end(batch, LazyLogs(lambda: {"loss": 1.0}))
    cb.on_train_batch_end(3, None)
    cb.on_train_batch_end(4, {"accuracy": float("nan")})
    assert model.stop_training is False and not cb.restored


# ------------------------------------------------------------------ LambdaCallback

def test_lambda_callback_hooks():
    seen = []
    cb = callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(("eb", epoch)),
        on_epoch_end=lambda epoch, logs: seen.append(("ee", epoch, logs["loss"])),
        on_train_begin=lambda logs: seen.append(("tb",)),
        on_train_end=lambda logs: seen.append(("te",)),
        on_batch_end=lambda batch, logs: seen.append(("be", batch)),
        on_test_begin=lambda logs: seen.append(("testb",)),
    )
    cbl = callbacks.CallbackList([cb])
    cbl.on_train_begin()
    cbl.on_epoch_begin(0)
    cbl.on_train_batch_begin(0)
    cbl.on_train_batch_end(0, LazyLogs(lambda: {"loss": 1.0}))
    cbl.on_epoch_end(0, {"loss": 0.5})
    cbl.on_train_end()
    cbl.on_test_begin()
    cbl.on_test_end()
    assert seen == [("tb",), ("eb", 0), ("be", 0), ("ee", 0, 0.5), ("te",), ("testb",)]
    only = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(("tbe", batch)))
    only.on_train_batch_end(7, None)
    assert seen[-1] == ("tbe", 7)


def test_lambda_callback_errors():
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'on_epoch_ends'.*Did you mean 'on_epoch_end'\?"):
        callbacks.LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match=r"LambdaCallback: `on_epoch_end` must be a function. Received: on_epoch_end=3"):
        callbacks.LambdaCallback(on_epoch_end=3)


# ------------------------------------------------------------------ BackupAndRestore

def _fit_epochs(model, cb, epochs, start=0, fail_at=None):
    opt = model.optimizer
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 3, generator=g), torch.randn(8, 2, generator=g)
    cb.set_model(model)
    cb.on_train_begin()
    start = cb._resume_epoch if cb._resume_epoch is not None else start
    for epoch in range(start, epochs):
        cb.on_epoch_begin(epoch)
        for batch in range(2):
            cb.on_train_batch_begin(batch)
            train_step(model, opt, x, y)
            cb.on_train_batch_end(batch, LazyLogs(lambda: {"loss": 1.0}))
        if fail_at is not None and epoch == fail_at:
            raise KeyboardInterrupt  # the run dies before on_epoch_end: the backup is from the epoch before
        cb.on_epoch_end(epoch, {"loss": 1.0})
    cb.on_train_end()
    return start


def test_backup_and_restore_round_trip(tmp_path):
    backup = tmp_path / "backup"
    model = attach_optimizer(dense_model(0), initium.optimizers.Adam(learning_rate=0.01))
    initial = model.get_weights()
    with pytest.raises(KeyboardInterrupt):
        _fit_epochs(model, callbacks.BackupAndRestore(backup), epochs=4, fail_at=2)
    assert sorted(os.listdir(backup)) == ["latest.pt"]
    # what the backup must hold: the state after epoch 1 (two completed epochs)
    state = torch.load(backup / "latest.pt", weights_only=True)
    assert state["epoch"] == 2 and len(state["optimizer"]) == len(model.optimizer.variables)

    reference = attach_optimizer(dense_model(0), initium.optimizers.Adam(learning_rate=0.01))
    reference.set_weights(initial)
    _fit_epochs(reference, _NoBackup(), epochs=4)  # the same run, uninterrupted

    fresh = attach_optimizer(dense_model(5), initium.optimizers.Adam(learning_rate=0.01))
    cb = callbacks.BackupAndRestore(backup)
    start = _fit_epochs(fresh, cb, epochs=4)
    assert start == 2 and cb._resume_epoch == 2
    for a, b in zip(fresh.weights, reference.weights):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=0)
    for a, b in zip(fresh.optimizer.variables, reference.optimizer.variables):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=0)
    assert not backup.exists()  # delete_checkpoint: removed at the end of a finished fit


class _NoBackup(callbacks.Callback):
    _resume_epoch = None


def test_backup_and_restore_no_backup_means_no_resume(tmp_path):
    model = attach_optimizer(dense_model(), initium.optimizers.SGD(learning_rate=0.1))
    cb = callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    cb.set_model(model)
    cb.on_train_begin()
    assert cb._resume_epoch is None
    cb.on_epoch_end(0)
    cb.on_train_end()
    assert (tmp_path / "b" / "latest.pt").exists()
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "mine.txt").write_text("x")
    cb = callbacks.BackupAndRestore(tmp_path / "keep")
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0)
    cb.on_train_end()
    assert os.listdir(tmp_path / "keep") == ["mine.txt"]  # only our files are deleted


def test_backup_and_restore_write_is_atomic(tmp_path, monkeypatch):
    model = attach_optimizer(dense_model(), initium.optimizers.SGD(learning_rate=0.1))
    cb = callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0)
    before = (tmp_path / "latest.pt").read_bytes()
    real_save = torch.save

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with torch.no_grad():
        model.weights[0].add_(1.0)
    with pytest.raises(OSError, match="disk full"):
        cb.on_epoch_end(1)
    monkeypatch.setattr(torch, "save", real_save)
    assert (tmp_path / "latest.pt").read_bytes() == before
    assert os.listdir(tmp_path) == ["latest.pt"]  # no temp file left behind
    assert torch.load(tmp_path / "latest.pt", weights_only=True)["epoch"] == 1


def test_backup_and_restore_save_freq_and_double_checkpoint(tmp_path):
    model = attach_optimizer(dense_model(), initium.optimizers.SGD(learning_rate=0.1))
    cb = callbacks.BackupAndRestore(tmp_path, save_freq=3, double_checkpoint=True, delete_checkpoint=False)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch in range(2):
        cb.on_epoch_begin(epoch)
        for batch in range(4):  # Keras's counting: saves after batch 2 of epoch 0 and batch 1 of epoch 1
            cb.on_train_batch_end(batch)
    assert (tmp_path / "latest.pt.bkp").exists()
    assert torch.load(tmp_path / "latest.pt.bkp", weights_only=True)["batch"] == 2
    state = torch.load(tmp_path / "latest.pt", weights_only=True)
    assert state["epoch"] == 1 and state["batch"] == 1
    (tmp_path / "latest.pt").write_bytes(b"corrupt")
    cb2 = callbacks.BackupAndRestore(tmp_path, double_checkpoint=True)
    cb2.set_model(model)
    cb2.on_train_begin()  # falls back to latest.pt.bkp
    assert cb2._resume_epoch == 0
    with pytest.raises(ValueError, match=r"Invalid value for argument `save_freq`. Received: save_freq=batch"):
        callbacks.BackupAndRestore(tmp_path, save_freq="batch")
    with pytest.raises(ValueError, match=r"Empty `backup_dir` argument passed"):
        callbacks.BackupAndRestore("")


def test_backup_and_restore_unbuilt_model(tmp_path):
    model = attach_optimizer(dense_model(), initium.optimizers.SGD(learning_rate=0.1))
    cb = callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0)
    unbuilt = initium.Sequential([initium.layers.Dense(2)])
    cb = callbacks.BackupAndRestore(tmp_path)
    cb.set_model(unbuilt)
    with pytest.raises(ValueError, match=r"BackupAndRestore found a backup at .*latest.pt, but the model is not built"):
        cb.on_train_begin()
    other = attach_optimizer(dense_model(), initium.optimizers.Adam())
    other.optimizer.build(list(other.trainable_weights))
    cb = callbacks.BackupAndRestore(tmp_path)
    cb.set_model(other)
    with pytest.raises(ValueError, match=r"holds 2 optimizer variables but the model's optimizer has 6"):
        cb.on_train_begin()


# ------------------------------------------------------------------ ModelCheckpoint

def test_model_checkpoint_filename_checks():
    with pytest.raises(ValueError, match=r"When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                                         r"provided must end in `.weights.h5` \(Keras weights format\). "
                                         r"Received: filepath=w.h5"):
        callbacks.ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match=r"The filepath provided must end in `.keras` \(Keras model format\). "
                                         r"Received: filepath=model.pt"):
        callbacks.ModelCheckpoint("model.pt")
    with pytest.raises(ValueError, match=r"Unrecognized save_freq: batch. Expected save_freq are 'epoch' or integer"):
        callbacks.ModelCheckpoint("m.keras", save_freq="batch")
    for cls in (keras.callbacks.ModelCheckpoint, callbacks.ModelCheckpoint):
        cls("m.keras")
        cls("w.weights.h5", save_weights_only=True)
    keras.callbacks.ModelCheckpoint("m.h5")  # Keras takes the legacy model format, which initium cannot write:
    with pytest.raises(ValueError, match=r"must end in `.keras` \(Keras model format\). Received: filepath=m.h5\. "
                                         r"initium does not write Keras 2's legacy `.h5`"):
        callbacks.ModelCheckpoint("m.h5")  # refused when made, not after the first epoch's training


def _ckpt_run(cls, tmp_path, seq, **kwargs):
    model = FakeModel()
    cb = cls(**kwargs)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, logs in enumerate(seq):
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, dict(logs))
    return [(kind, os.path.relpath(p, tmp_path)) for kind, p in model.saved]


@pytest.mark.parametrize("kwargs", [
    dict(save_best_only=True),
    dict(save_best_only=True, save_weights_only=True),
    dict(save_best_only=True, monitor="val_acc", mode="max"),
    dict(save_best_only=True, initial_value_threshold=0.85),
    dict(save_best_only=False),
])
def test_model_checkpoint_matches_keras(tmp_path, kwargs):
    seq = [{"val_loss": v, "val_acc": 1 - v} for v in (1.0, 0.8, 0.9, 0.5, 0.5, 0.6)]
    ext = ".weights.h5" if kwargs.get("save_weights_only") else ".keras"
    path = str(tmp_path / ("ckpt-{epoch:02d}-{val_loss:.2f}" + ext))
    k = _ckpt_run(keras.callbacks.ModelCheckpoint, tmp_path, seq, filepath=path, **kwargs)
    ours = _ckpt_run(callbacks.ModelCheckpoint, tmp_path, seq, filepath=path, **kwargs)
    assert ours == k and ours
    assert ours[0][1].startswith("ckpt-0")


def test_model_checkpoint_best_only_sequence(tmp_path, capsys):
    seq = [{"val_loss": v} for v in (1.0, 0.8, 0.9, 0.5)]
    saved = _ckpt_run(callbacks.ModelCheckpoint, tmp_path, seq, filepath=str(tmp_path / "e{epoch}.keras"),
                      save_best_only=True, verbose=1)
    assert saved == [("model", "e1.keras"), ("model", "e2.keras"), ("model", "e4.keras")]
    out = capsys.readouterr().out
    assert "Epoch 2: val_loss improved from 1.00000 to 0.80000, saving model to" in out
    assert "Epoch 3: val_loss did not improve from 0.80000" in out


def test_model_checkpoint_batches_missing_keys_and_format_errors(tmp_path):
    model = FakeModel()
    cb = callbacks.ModelCheckpoint(str(tmp_path / "b{epoch}-{batch}.weights.h5"), save_weights_only=True, save_freq=2)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch in range(2):
        cb.on_epoch_begin(epoch)
        for batch in range(3):
            cb.on_train_batch_end(batch, LazyLogs(lambda: {"loss": 1.0}))
        cb.on_epoch_end(epoch, {"loss": 1.0})
    assert [os.path.basename(p) for _, p in model.saved] == ["b1-2.weights.h5", "b2-1.weights.h5", "b2-3.weights.h5"]
    cb = callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_best_only=True)
    cb.set_model(FakeModel())
    with pytest.warns(UserWarning, match=r"Can save best model only with val_loss available."):
        cb.on_epoch_end(0, {"loss": 1.0})
    assert cb.model.saved
    cb = callbacks.ModelCheckpoint(str(tmp_path / "m-{val_acc}.keras"), monitor="loss")
    cb.set_model(FakeModel())
    with pytest.raises(KeyError, match=r"Failed to format this callback filepath: .*m-\{val_acc\}.keras.*"
                                       r"Reason: .*val_acc.*Available keys"):
        cb.on_epoch_end(0, {"loss": 1.0})
    (tmp_path / "d.keras").mkdir()
    cb = callbacks.ModelCheckpoint(str(tmp_path / "d.keras"), monitor="loss")
    cb.set_model(FakeModel())
    with pytest.raises(IOError, match=r"Please specify a non-directory filepath for ModelCheckpoint"):
        cb.on_epoch_end(0, {"loss": 1.0})


# ------------------------------------------------------------------ package surface

def test_reachable_from_initium():
    assert initium.callbacks is callbacks
    for name in callbacks.__all__:
        assert hasattr(initium.callbacks, name)
    assert issubclass(callbacks.EarlyStopping, callbacks.Callback)


def test_terminate_on_nan_model_built_during_failing_step_warns():
    model = initium.Sequential([initium.layers.Dense(2)])
    attach_optimizer(model, initium.optimizers.SGD(learning_rate=0.1))
    cb = callbacks.TerminateOnNaN()
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_train_batch_begin(0)
    model(torch.ones(1, 3))  # built inside the step
    with pytest.warns(UserWarning, match=r"the model was built during the failing step, so there were no earlier "
                                         r"weights to restore"):
        cb.on_train_batch_end(0, LazyLogs(lambda: {"loss": float("nan")}))
    assert model.stop_training and not cb.restored


# ------------------------------------------------------------------ through a real fit and real files

def _regression(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32") + 0.1).astype("float32")
    return x, y


def _compiled(seed=0, optimizer="adam", lr=0.01):
    initium.utils.set_random_seed(seed)
    model = initium.Sequential([initium.Input((3,)), initium.layers.Dense(4, activation="tanh"),
                                initium.layers.Dense(1)])
    opt = initium.optimizers.get({"class_name": optimizer, "config": {"learning_rate": lr}})
    model.compile(optimizer=opt, loss="mse")
    return model


class _Interrupt(callbacks.Callback):
    """Raises in the middle of epoch ``epoch`` (after ``batch``), as a crash or a Ctrl-C would."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt("simulated crash")


def test_backup_and_restore_resumes_a_real_fit_to_the_same_weights(tmp_path):
    x, y = _regression()
    reference = _compiled(seed=1)
    initial = reference.get_weights()
    reference.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=0)  # uninterrupted

    backup = tmp_path / "backup"
    crashed = _compiled(seed=1)
    with pytest.raises(KeyboardInterrupt):
        crashed.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=0,
                    callbacks=[callbacks.BackupAndRestore(backup), _Interrupt(epoch=3, batch=4)])
    assert torch.load(backup / "latest.pt", weights_only=True)["epoch"] == 3  # epochs 0-2 finished

    resumed = _compiled(seed=7)  # another process: other initial weights, a fresh optimizer
    assert not all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), initial))
    seen = []
    history = resumed.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=0,
                          callbacks=[callbacks.BackupAndRestore(backup),
                                     callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))])
    assert seen == [3, 4] and history.epoch == [3, 4]  # the interrupted epoch restarts from its first batch
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(resumed.optimizer.variables, reference.optimizer.variables):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not backup.exists()  # a finished fit deletes the backup


def test_model_checkpoint_save_best_only_through_a_real_fit(tmp_path):
    x, y = _regression(n=64, seed=0)
    vx, vy = _regression(n=32, seed=1)
    model = _compiled(seed=3, optimizer="sgd", lr=0.05)
    # validation targets half-way between the untrained and the trained predictions: val_loss falls, then rises
    vy = 0.5 * (model.predict(vx, verbose=0) + vy)
    weights_at = {}
    record = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: weights_at.__setitem__(e + 1, model.get_weights()))
    path = str(tmp_path / "best-{epoch:02d}.keras")
    history = model.fit(x, y, epochs=8, batch_size=16, shuffle=False, verbose=0, validation_data=(vx, vy),
                        callbacks=[record, callbacks.ModelCheckpoint(path, save_best_only=True)])
    val = history.history["val_loss"]
    expected, best = [], np.inf
    for epoch, v in enumerate(val, start=1):
        if v < best:
            expected.append(epoch)
            best = v
    assert 1 < len(expected) < len(val), val  # the run has both improving and non-improving epochs
    assert sorted(os.listdir(tmp_path)) == [f"best-{e:02d}.keras" for e in expected]
    for epoch in expected:  # each file is a loadable model holding that epoch's weights
        loaded = initium.models.load_model(tmp_path / f"best-{epoch:02d}.keras")
        for a, b in zip(loaded.get_weights(), weights_at[epoch]):
            np.testing.assert_array_equal(a, b)


def test_model_checkpoint_weights_every_epoch_through_a_real_fit(tmp_path):
    x, y = _regression()
    model = _compiled(seed=4)
    path = str(tmp_path / "w-{epoch}-{loss:.3f}.weights.h5")
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0,
                        callbacks=[callbacks.ModelCheckpoint(path, monitor="loss", save_weights_only=True)])
    names = sorted(os.listdir(tmp_path))
    assert names == sorted(f"w-{e + 1}-{loss:.3f}.weights.h5" for e, loss in enumerate(history.history["loss"]))
    fresh = _compiled(seed=9)
    fresh.load_weights(tmp_path / f"w-3-{history.history['loss'][2]:.3f}.weights.h5")  # the last epoch's file
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_terminate_on_nan_stops_a_real_diverging_fit(capsys):
    x, y = _regression(n=256)
    y = y * 1e3
    model = _compiled(seed=5, optimizer="sgd", lr=10.0)  # diverges to inf/NaN within a few steps
    history = model.fit(x, y, epochs=20, batch_size=8, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert len(history.epoch) == 1 and model.stop_training  # stopped inside the first epoch
    assert "Invalid loss, terminating training" in capsys.readouterr().out
    assert all(np.isfinite(w).all() for w in model.get_weights())  # the last finite step's weights
    without = _compiled(seed=5, optimizer="sgd", lr=10.0)
    unchecked = without.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert not np.isfinite(unchecked.history["loss"][-1])  # the same run, unguarded, ends in NaN/inf


def test_fit_validation_calls_the_test_hooks_as_keras_does():
    """Keras runs fit's validation as an evaluate the callbacks see: on_test_begin, the test batch
    hooks and on_test_end (with the unprefixed validation logs) come between the last training
    batch and on_epoch_end."""
    keras = pytest.importorskip("keras")

    def trace(lib):
        seen = []

        class Recorder(lib.callbacks.Callback):
            def __getattribute__(self, name):
                attr = object.__getattribute__(self, name)
                if name.startswith("on_") and callable(attr):
                    def hook(*args, **kwargs):
                        logs = args[-1] if args and isinstance(args[-1], dict) else kwargs.get("logs")
                        seen.append((name, sorted(logs) if logs else []))
                    return hook
                return attr

        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(12, 3)).astype("float32"), rng.normal(size=(12, 1)).astype("float32")
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        model.fit(x, y, batch_size=6, epochs=2, validation_data=(x[:8], y[:8]), callbacks=[Recorder()], verbose=0)
        return seen

    ours, theirs = trace(initium), trace(keras)
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    test_end = [logs for n, logs in ours if n == "on_test_end"]
    assert test_end == [["loss", "mae"]] * 2
    assert test_end == [logs for n, logs in theirs if n == "on_test_end"]
