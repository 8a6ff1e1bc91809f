"""Model attributes and overridable steps as Keras 3.15 has them (checked against real Keras on torch).

- ``Model.input``/``output`` are the structures given to ``Model(inputs, outputs)`` (a tensor, a
  list, even of one, or a dict); ``inputs``/``outputs`` are flat lists; a Sequential has
  ``inputs``/``outputs`` once built and no ``input``/``output``; ``get_layer`` raises Keras's errors;
  ``InputLayer.input`` is its tensor; a layer called once has ``input``/``output``.
- ``CustomModel(inputs, outputs)`` is a functional model of the subclass, and ``fit``/``evaluate``/
  ``predict`` run its own ``train_step``/``test_step``/``predict_step`` (the keras.io torch guide's
  patterns: ``compute_loss``, ``loss.backward()``, ``optimizer.apply``, ``self.metrics``, a
  ``loss_tracker`` property, sample weights, ``super().train_step``).
- ``EarlyStopping(monitor="val_acc")`` infers "max"; callbacks get ``{}``, never None.
- ``PyDataset`` with workers, 1-tuple and dict batches, ``class_weight`` (taken by a PyDataset,
  refused for a generator, as Keras does).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import initium
from initium import layers

keras = pytest.importorskip("keras")


def both(build):
    """``build(lib)`` with initium, then with Keras."""
    return build(initium), build(keras)


def _names(struct):
    if isinstance(struct, dict):
        return {k: _names(v) for k, v in struct.items()}
    if isinstance(struct, list):
        return [_names(v) for v in struct]
    return ("tensor", tuple(struct.shape))


@pytest.mark.parametrize("kind", ["single", "list", "list_of_one", "dict"])
def test_model_input_and_output_have_the_structure_keras_returns(kind):
    def build(lib):
        a, b = lib.Input((3,), name="a"), lib.Input((2,), name="b")
        h = lib.layers.Dense(4, name="h")(a)
        o = lib.layers.Dense(1, name="o")(lib.layers.Concatenate()([h, b]))
        inputs, outputs = {"single": (a, h), "list": ([a, b], [h, o]), "list_of_one": ([a], [h]),
                           "dict": ({"a": a, "b": b}, {"x": o})}[kind]
        m = lib.Model(inputs, outputs)
        return _names(m.input), _names(m.output), _names(m.inputs), _names(m.outputs)

    ours, theirs = both(build)
    assert ours == theirs


def test_sequential_has_inputs_and_outputs_once_built_and_no_input_attribute():
    def build(lib):
        out = {}
        s = lib.Sequential([lib.layers.Dense(2)])
        out["before"] = hasattr(s, "inputs"), hasattr(s, "outputs")
        s.build((None, 3))
        out["built"] = _names(s.inputs), _names(s.outputs)
        s2 = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
        out["with_input"] = _names(s2.inputs), _names(s2.outputs), hasattr(s2, "input"), hasattr(s2, "output")
        out["first_layer"] = _names(s2.layers[0].input), _names(s2.layers[0].output)
        return out

    ours, theirs = both(build)
    assert ours == theirs
    assert ours["before"] == (False, False) and ours["with_input"][2:] == (False, False)


def _error(call):
    try:
        call()
    except Exception as e:  # noqa: BLE001  (the test compares the type and text)
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("args", [{}, {"name": "zz"}, {"index": 5}, {"name": "d", "index": 0}])
def test_get_layer_raises_keras_errors(args):
    def build(lib):
        i = lib.Input((3,), name="a")
        return _error(lambda: lib.Model(i, lib.layers.Dense(4, name="d")(i)).get_layer(**args))

    ours, theirs = both(build)
    assert ours is not None and ours == theirs


def test_get_layer_by_index_counts_input_layers_and_negative_positions():
    def build(lib):
        i = lib.Input((3,), name="a")
        m = lib.Model(i, lib.layers.Dense(2, name="out")(lib.layers.Dense(4, name="mid")(i)))
        return [m.get_layer(index=k).name for k in (0, 1, 2, -1)], m.get_layer("mid").name

    ours, theirs = both(build)
    assert ours == theirs == (["a", "mid", "out", "out"], "mid")
    i = initium.Input((3,))
    with pytest.raises(TypeError, match="index"):
        initium.Model(i, layers.Dense(2)(i)).get_layer(index=1.5)


def test_input_layer_input_is_its_tensor_and_layers_called_once_have_input_and_output():
    x = initium.Input((3,), name="x")
    dense = layers.Dense(4)
    y = dense(x)
    model = initium.Model(x, y)
    assert model.layers[0].input is x and model.layers[0].output is x
    assert dense.input is x and dense.output is y
    with pytest.raises(AttributeError):
        layers.Dense(2).output  # noqa: B018  (never called: no output, as in Keras)


def test_feature_extractor_over_every_layer_output_shares_the_layers():
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    i = initium.Input((6,))
    h = layers.Dense(4, activation="relu", name="h")(i)
    model = initium.Model(i, layers.Dense(2, name="o")(h))
    every = initium.Model(model.inputs, [layer.output for layer in model.layers])
    feats = every.predict(x, verbose=0)
    assert [f.shape for f in feats] == [(5, 6), (5, 4), (5, 2)]
    np.testing.assert_allclose(feats[-1], model.predict(x, verbose=0), atol=1e-6)
    cut = initium.Model(model.input, model.get_layer("h").output)
    assert cut.layers[-1] is model.layers[1]
    np.testing.assert_allclose(cut.predict(x, verbose=0), feats[1], atol=1e-6)


# ---------------------------------------------------------------------- subclasses built functionally
def _regression(n=64):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], dtype="float32")).astype("float32")


def _functional_of(cls):
    initium.utils.set_random_seed(1)
    i = initium.Input((4,))
    return cls(i, layers.Dense(1)(layers.Dense(8, activation="tanh")(i)))


def test_a_subclass_built_with_inputs_and_outputs_is_a_functional_model_of_that_subclass():
    class Custom(initium.Model):
        def extra(self):
            return "mine"

    i = initium.Input((4,))
    o = layers.Dense(1)(i)
    for model in (Custom(i, o), Custom(inputs=i, outputs=o), Custom(i, outputs=o)):
        assert type(model) is Custom and isinstance(model, initium.models.Functional)
        assert model.extra() == "mine" and model.input is i and model.output is o

    class WithInit(initium.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.note = "kept"

    model = WithInit(i, o)
    assert model.note == "kept" and model.predict(np.ones((2, 4), "float32"), verbose=0).shape == (2, 1)


def test_only_model_subclasses_called_with_inputs_and_outputs_are_rebased():
    seq = initium.Sequential([layers.Dense(1)], True)  # two positional arguments, not (inputs, outputs)
    assert initium.Sequential.__bases__ == (initium.Model,) and type(seq) is initium.Sequential
    assert initium.Sequential([initium.Input((2,)), layers.Dense(1)]).outputs[0].shape == (None, 1)

    class Plain(initium.Model):
        def call(self, x):
            return 2 * x

    assert Plain.__bases__ == (initium.Model,) and float(Plain()(torch.ones(1))) == 2.0


class GuideModel(initium.Model):
    """The torch guide's first example (compiled loss and metrics, zero_grad, loss.backward()), with
    the optimizer's Keras-2-style ``apply_gradients`` in place of ``apply``."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(x, y, y_pred, None)
        loss.backward()
        with torch.no_grad():
            self.optimizer.apply_gradients((w.value.grad, w) for w in self.trainable_weights)
        self.calls = getattr(self, "calls", 0) + 1
        for metric in self.metrics:
            metric.update_state(loss) if metric.name == "loss" else metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def test_fit_runs_the_subclass_train_step_and_logs_what_it_returns():
    x, y = _regression()
    model = _functional_of(GuideModel)
    model.compile(optimizer=initium.optimizers.Adam(0.02), loss="mse", metrics=["mae"])
    hist = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    assert model.calls == 16
    assert sorted(hist.history) == ["loss", "mae"]
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert sorted(model.evaluate(x, y, verbose=0, return_dict=True)) == ["loss", "mae"]


class TrackerModel(initium.Model):
    """The guide's lower-level example: no compiled loss, own trackers, a ``metrics`` property, and
    a custom test_step."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = initium.metrics.Mean(name="loss")
        self.mae_metric = initium.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = initium.losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.loss_fn(y, y_pred)
        loss.backward()
        weights = self.trainable_weights
        with torch.no_grad():
            self.optimizer.apply([w.grad for w in weights], weights)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.loss_tracker.update_state(self.loss_fn(y, y_pred))
        self.mae_metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


def test_own_trackers_are_reset_every_epoch_and_used_by_evaluate():
    x, y = _regression()
    model = _functional_of(TrackerModel)
    model.compile(optimizer=initium.optimizers.SGD(0.05))
    hist = model.fit(x, y, epochs=3, batch_size=16, validation_data=(x, y), verbose=0)
    assert sorted(hist.history) == ["loss", "mae", "val_loss", "val_mae"]
    scores = model.evaluate(x, y, verbose=0, return_dict=True)
    # reset before evaluate: its loss is the mean over this data only, not a running mean with training
    direct = float(initium.losses.MeanSquaredError()(torch.from_numpy(y), torch.from_numpy(model.predict(x, verbose=0))))
    assert scores["loss"] == pytest.approx(direct, rel=1e-5)
    assert model.evaluate(x, y, verbose=0) == pytest.approx([scores["loss"], scores["mae"]])  # Keras's list order


class WeightedModel(initium.Model):
    """Sample weights arrive as the batch's third element and go to compute_loss and the metrics."""

    def train_step(self, data):
        x, y, sample_weight = initium.utils.unpack_x_y_sample_weight(data)
        self.seen_weights = sample_weight is not None
        return super().train_step(data)


def test_train_step_gets_sample_weights_and_super_train_step_is_keras_default():
    x, y = _regression()
    sw = np.linspace(0.5, 1.5, len(x)).astype("float32")
    runs = {}
    for label, cls in (("fused", initium.Model), ("custom", WeightedModel)):
        model = _functional_of(cls)
        model.compile(optimizer=initium.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
        runs[label] = model.fit(x, y, sample_weight=sw, epochs=2, batch_size=16, shuffle=False, verbose=0).history
    assert model.seen_weights is True
    assert runs["custom"].keys() == runs["fused"].keys() == {"loss", "mae"}
    for key in runs["fused"]:  # Model.train_step and the trainer's fused step compute the same
        np.testing.assert_allclose(runs["custom"][key], runs["fused"][key], rtol=1e-5)


def test_overridden_compute_loss_is_used_by_the_default_steps():
    class HalfLoss(initium.Model):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return 0.5 * super().compute_loss(x, y, y_pred, sample_weight, training)

    x, y = _regression()
    losses = {}
    for label, cls in (("fused", initium.Model), ("half", HalfLoss)):
        model = _functional_of(cls)
        model.compile(optimizer=initium.optimizers.SGD(0.0), loss="mse")
        losses[label] = model.evaluate(x, y, verbose=0)
    assert losses["half"] == pytest.approx(0.5 * losses["fused"], rel=1e-5)


def test_overridden_predict_step_is_used_by_predict():
    class Doubled(initium.Model):
        def predict_step(self, data):
            x, _, _ = initium.utils.unpack_x_y_sample_weight(data)
            return 2 * self(x, training=False)

    x, _ = _regression(8)
    plain, doubled = _functional_of(initium.Model), _functional_of(Doubled)
    np.testing.assert_allclose(doubled.predict(x, verbose=0), 2 * plain.predict(x, verbose=0), rtol=1e-6)


def test_compute_loss_without_compile_or_loss_raises():
    model = _functional_of(initium.Model)
    with pytest.raises(ValueError, match="compile"):
        model.compute_loss(y=torch.zeros(2, 1), y_pred=torch.zeros(2, 1))
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        model.compute_loss(y=torch.zeros(2, 1), y_pred=torch.zeros(2, 1))


# ---------------------------------------------------------------------- callbacks
def test_early_stopping_on_val_acc_infers_max_from_the_compiled_metric():
    def build(lib):
        lib.utils.set_random_seed(0)
        m = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["acc"])
        x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
        hist = m.fit(x, (x[:, 0] > 0).astype("float32"), validation_data=(x, (x[:, 0] > 0).astype("float32")),
                     epochs=1, verbose=0)
        stop = lib.callbacks.EarlyStopping(monitor="val_acc", patience=1)
        stop.set_model(m)
        stop.on_train_begin()

        def after(epoch, value):  # "max": 0.6 improves on 0.5, then 0.4 does not and stops at epoch 2
            stop.on_epoch_end(epoch, {"val_acc": value})
            return stop.stopped_epoch

        return sorted(hist.history), [after(e, v) for e, v in enumerate([0.5, 0.6, 0.4])]

    ours, theirs = both(build)
    assert ours == theirs == (["acc", "loss", "val_acc", "val_loss"], [0, 0, 2])


def test_callbacks_receive_a_dict_never_none():
    def build(lib):
        seen = []

        class Record(lib.callbacks.Callback):
            pass

        record = Record()
        for hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
                     "on_predict_end"):
            setattr(record, hook, lambda logs=None, hook=hook: seen.append((hook, type(logs).__name__)))
        for hook in ("on_epoch_begin", "on_train_batch_begin", "on_test_batch_begin", "on_predict_batch_begin"):
            setattr(record, hook, lambda i, logs=None, hook=hook: seen.append((hook, type(logs).__name__)))
        m = lib.Sequential([lib.Input((2,)), lib.layers.Dense(1)])
        m.compile(optimizer="sgd", loss="mse")
        x = np.ones((4, 2), "float32")
        m.fit(x, x[:, :1], epochs=1, batch_size=4, callbacks=[record], verbose=0)
        m.evaluate(x, x[:, :1], callbacks=[record], verbose=0)
        m.predict(x, callbacks=[record], verbose=0)
        return sorted(set(seen))

    ours, theirs = both(build)
    assert ours == theirs
    assert all(kind == "dict" for _, kind in ours)


# ---------------------------------------------------------------------- PyDataset and batch forms
X = np.random.default_rng(5).normal(size=(64, 3)).astype("float32")
Y = (X[:, :1] > 0).astype("float32")


class Batches(initium.utils.PyDataset):
    def __init__(self, form="xy", **kwargs):
        super().__init__(**kwargs)
        self.form, self.ends = form, 0

    def __len__(self):
        return 4

    def __getitem__(self, i):
        s = slice(16 * i, 16 * i + 16)
        return {"xy": (X[s], Y[s]), "x1": (X[s],), "xyw": (X[s], Y[s], np.ones(16, "float32"))}[self.form]

    def on_epoch_end(self):
        self.ends += 1


def _classifier():
    initium.utils.set_random_seed(2)
    m = initium.Sequential([initium.Input((3,)), layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer=initium.optimizers.SGD(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    return m


def test_py_dataset_with_workers_calls_on_epoch_end_each_epoch():
    data = Batches(workers=2, use_multiprocessing=False, max_queue_size=3)
    hist = _classifier().fit(data, epochs=3, verbose=0)
    assert len(hist.history["loss"]) == 3 and data.ends == 3 and len(data) == data.num_batches == 4


def test_one_tuple_batches_are_x_for_predict():
    m = _classifier()
    np.testing.assert_allclose(m.predict(Batches("x1"), verbose=0), m.predict(X, verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match="no targets"):
        m.fit(Batches("x1"), epochs=1, verbose=0)


def test_class_weight_with_a_py_dataset_weights_each_batch_as_with_arrays():
    weights = {0: 1.0, 1: 3.0}
    from_arrays = _classifier().fit(X, Y, batch_size=16, shuffle=False, class_weight=weights, epochs=2,
                                    verbose=0).history["loss"]
    from_dataset = _classifier().fit(Batches(), class_weight=weights, epochs=2, verbose=0).history["loss"]
    np.testing.assert_allclose(from_dataset, from_arrays, rtol=1e-5)
    with pytest.raises(ValueError, match="class_weight.*sample_weight"):
        _classifier().fit(Batches("xyw"), class_weight=weights, epochs=1, verbose=0)


def test_class_weight_with_a_generator_raises_as_keras():
    def gen():
        while True:
            yield X[:16], Y[:16]

    with pytest.raises(ValueError, match="`class_weight` is not supported for generator"):
        _classifier().fit(gen(), steps_per_epoch=2, class_weight={0: 1.0}, verbose=0)


def test_dict_inputs_keyed_by_input_names_in_arrays_and_py_datasets():
    a, b = initium.Input((2,), name="a"), initium.Input((1,), name="b")
    model = initium.Model([a, b], layers.Dense(1)(layers.Concatenate()([a, b])))
    model.compile(optimizer="sgd", loss="mse")
    named = {"a": X[:, :2], "b": X[:, 2:]}

    class Named(initium.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return {"a": X[32 * i:32 * i + 32, :2], "b": X[32 * i:32 * i + 32, 2:]}, Y[32 * i:32 * i + 32]

    assert len(model.fit(named, Y, epochs=2, verbose=0).history["loss"]) == 2
    assert len(model.fit(Named(), epochs=2, verbose=0).history["loss"]) == 2
    np.testing.assert_allclose(model.predict(named, verbose=0), model.predict([X[:, :2], X[:, 2:]], verbose=0),
                               rtol=1e-6)
