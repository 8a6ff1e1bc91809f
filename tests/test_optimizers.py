"""Tests of ``initium.optimizers`` and ``initium.optimizers.schedules`` against real Keras 3 (the
oracle, torch backend): 20-step trajectories from identical weights on identical gradient sequences,
configs and serialized dicts, string ids, learning-rate semantics, constraints, state, errors, and
that a step never synchronizes with the device."""

from __future__ import annotations

import copy
import math
import pickle
import warnings

import numpy as np
import pytest
import torch

import initium.optimizers as IO
from initium import constraints as C
from initium.layers import Variable
from initium.optimizers import schedules as IS
from initium.saving import register_keras_serializable

TOL = 1e-5  # the tolerance: rtol and atol
STEPS = 20
SHAPES = [(5, 3), (3,), (3, 2), (2,)]
NAMES = ["kernel", "bias", "kernel_1", "bias_1"]


@pytest.fixture(scope="module")
def keras():
    import keras

    assert keras.backend.backend() == "torch"
    return keras


def _initial() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.normal(0.0, 1.0, s).astype(np.float32) for s in SHAPES]


def _grad(step: int, i: int, w: np.ndarray) -> np.ndarray:
    """A deterministic gradient from the step and the current weights (so the paths must agree)."""
    g = np.sin(w * (i + 1) + 0.3 * step) + 0.05 * math.cos(step + i)
    if i == 2:
        g = g * 3.0  # one larger gradient, so the clipping variants differ from each other
    return g.astype(np.float32)


def _keras_value(v) -> np.ndarray:
    return np.asarray(v.numpy())


def _run_pair(keras, make_keras, make_ours, steps=STEPS, constraint=None, none_at=None):
    """Run both optimizers ``steps`` steps; return (keras weights, our weights, both optimizers)."""
    w0 = _initial()
    k_vars = [keras.Variable(w.copy(), name=n) for w, n in zip(w0, NAMES)]
    for v in k_vars:
        v.constraint = constraint[0] if constraint else None
    o_vars = [Variable(torch.from_numpy(w.copy()), name=n, constraint=(constraint[1] if constraint else None))
              for w, n in zip(w0, NAMES)]
    k_opt, o_opt = make_keras(), make_ours()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras's and our "Gradients do not exist" warnings
        for s in range(steps):
            k_grads = [torch.from_numpy(_grad(s, i, _keras_value(v))) for i, v in enumerate(k_vars)]
            o_grads = [torch.from_numpy(_grad(s, i, v.detach().numpy())) for i, v in enumerate(o_vars)]
            if none_at is not None and s % 2 == 1:
                k_grads[none_at] = None
                o_grads[none_at] = None
            k_opt.apply(k_grads, k_vars)
            o_opt.apply(o_grads, o_vars)
    return [_keras_value(v) for v in k_vars], [v.detach().numpy() for v in o_vars], k_opt, o_opt


def _assert_same(theirs, ours):
    for t, o in zip(theirs, ours):
        np.testing.assert_allclose(o, t, rtol=TOL, atol=TOL)


# (class name, kwargs): every optimizer and the variants the issue names.
PARITY = [
    ("SGD", {}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"learning_rate": 0.05, "nesterov": True}),
    ("Adam", {}),
    ("Adam", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-3}),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True}),
    ("Adam", {"learning_rate": 0.05, "weight_decay": 0.1}),
    ("Adam", {"learning_rate": 0.05, "clipnorm": 0.5}),
    ("Adam", {"learning_rate": 0.05, "clipvalue": 0.2}),
    ("Adam", {"learning_rate": 0.05, "global_clipnorm": 1.0}),
    ("AdamW", {}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.2, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.3, "centered": True, "epsilon": 1e-4}),
    ("Adagrad", {}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 1e-4}),
    ("Adadelta", {}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    ("Adamax", {}),
    ("Adamax", {"learning_rate": 0.05, "beta_1": 0.7}),
    ("Nadam", {}),
    ("Nadam", {"learning_rate": 0.05, "beta_2": 0.99}),
    ("Lion", {}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.5}),
    ("SGD", {"learning_rate": 0.1, "clipnorm": 0.5}),
    ("SGD", {"learning_rate": 0.1, "global_clipnorm": 0.5}),
    ("SGD", {"learning_rate": 0.1, "clipvalue": 0.3}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "weight_decay": 0.3}),
    ("RMSprop", {"learning_rate": 0.01, "global_clipnorm": 0.7, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("name,kwargs", PARITY, ids=[f"{n}-{i}" for i, (n, _) in enumerate(PARITY)])
def test_twenty_steps_match_keras(keras, name, kwargs):
    theirs, ours, k_opt, o_opt = _run_pair(keras, lambda: getattr(keras.optimizers, name)(**kwargs),
                                           lambda: getattr(IO, name)(**kwargs))
    _assert_same(theirs, ours)
    assert int(o_opt.iterations) == STEPS == int(k_opt.iterations)
    # The optimizer state agrees too (same order as Keras's `variables`).
    assert len(o_opt.variables) == len(k_opt.variables)
    for t, o in zip(k_opt.variables, o_opt.variables):
        np.testing.assert_allclose(o.detach().cpu().numpy(), np.asarray(t.numpy()), rtol=TOL, atol=TOL)


# Schedules, each as (keras factory, initium factory) of the same arguments.
SCHEDULES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 0.3, "staircase": True}),
    ("PiecewiseConstantDecay", {"boundaries": [3, 8, 12], "values": [0.1, 0.05, 0.02, 0.001]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "end_learning_rate": 0.01, "power": 2.0}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 6, "cycle": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5, "staircase": True}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 15}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 10, "warmup_target": 0.1, "warmup_steps": 5}),
    ("CosineDecay", {"initial_learning_rate": 0.01, "decay_steps": 8, "warmup_target": 0.1, "warmup_steps": 4,
                     "alpha": 0.2}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 4}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5, "t_mul": 1.0, "m_mul": 0.5,
                             "alpha": 0.1}),
]


@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_schedule_values_match_keras(keras, name, kwargs):
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    ours = getattr(IS, name)(**kwargs)
    for step in range(0, 40):
        t = float(np.asarray(keras.ops.convert_to_numpy(theirs(step))))
        o = ours(torch.tensor(step, dtype=torch.int64))
        assert o.dtype == torch.float32 and o.shape == ()
        assert float(o) == pytest.approx(t, rel=1e-6, abs=1e-9), step
    assert ours.get_config() == theirs.get_config()
    assert IS.serialize(ours) == keras.optimizers.schedules.serialize(theirs)


@pytest.mark.parametrize("opt_name,sched", [("SGD", 1), ("Adam", 3), ("RMSprop", 7), ("SGD", 9), ("Adam", 5),
                                            ("Nadam", 0), ("SGD", 12)])
def test_twenty_steps_with_schedule_match_keras(keras, opt_name, sched):
    name, kwargs = SCHEDULES[sched]
    extra = {"momentum": 0.9} if opt_name == "SGD" else {}
    theirs, ours, k_opt, o_opt = _run_pair(
        keras,
        lambda: getattr(keras.optimizers, opt_name)(
            learning_rate=getattr(keras.optimizers.schedules, name)(**kwargs), **extra),
        lambda: getattr(IO, opt_name)(learning_rate=getattr(IS, name)(**kwargs), **extra),
    )
    _assert_same(theirs, ours)
    assert float(o_opt.learning_rate) == pytest.approx(float(np.asarray(k_opt.learning_rate)), rel=1e-6, abs=1e-9)
    assert len(o_opt.variables) == len(k_opt.variables)  # no learning-rate variable with a schedule


def test_exclude_from_weight_decay_matches_keras(keras):
    def k():
        opt = keras.optimizers.AdamW(learning_rate=0.05, weight_decay=0.3)
        opt.exclude_from_weight_decay(var_names=["bias"])
        return opt

    def o():
        opt = IO.AdamW(learning_rate=0.05, weight_decay=0.3)
        opt.exclude_from_weight_decay(var_names=["bias"])
        return opt

    theirs, ours, _, _ = _run_pair(keras, k, o)
    _assert_same(theirs, ours)
    # And the exclusion matters: without it the biases end elsewhere.
    _, plain, _, _ = _run_pair(keras, lambda: keras.optimizers.AdamW(learning_rate=0.05, weight_decay=0.3),
                               lambda: IO.AdamW(learning_rate=0.05, weight_decay=0.3))
    assert not np.allclose(plain[1], ours[1], atol=1e-4)
    np.testing.assert_allclose(plain[0], ours[0], rtol=TOL, atol=TOL)  # kernels decay either way


def test_exclude_by_variable_list():
    a, b = torch.ones(3), torch.ones(3)
    opt = IO.SGD(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[b])
    opt.apply([torch.zeros(3), torch.zeros(3)], [a, b])
    torch.testing.assert_close(a, torch.full((3,), 0.95))
    torch.testing.assert_close(b, torch.ones(3))
    opt.exclude_from_weight_decay()  # replaces the exclusions: now both decay
    opt.apply([torch.zeros(3), torch.zeros(3)], [a, b])
    torch.testing.assert_close(b, torch.full((3,), 0.95))


def test_constraints_applied_after_the_update_as_keras(keras):
    theirs, ours, _, _ = _run_pair(keras, lambda: keras.optimizers.SGD(learning_rate=0.5, momentum=0.5),
                                   lambda: IO.SGD(learning_rate=0.5, momentum=0.5),
                                   constraint=(keras.constraints.NonNeg(), C.NonNeg()))
    _assert_same(theirs, ours)
    assert all((w >= 0).all() for w in ours)
    _, free, _, _ = _run_pair(keras, lambda: keras.optimizers.SGD(learning_rate=0.5, momentum=0.5),
                              lambda: IO.SGD(learning_rate=0.5, momentum=0.5))
    assert any((w < 0).any() for w in free)  # the constraint actually bit


def test_none_gradients_are_skipped_as_keras(keras):
    theirs, ours, _, _ = _run_pair(keras, lambda: keras.optimizers.Adam(learning_rate=0.05),
                                   lambda: IO.Adam(learning_rate=0.05), none_at=1)
    _assert_same(theirs, ours)


def test_none_gradient_warns_and_all_none_raises():
    v = [torch.ones(2), torch.ones(3)]
    opt = IO.SGD()
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['tensor of shape \(3,\)'\]"):
        opt.apply([torch.ones(2), None], v)
    torch.testing.assert_close(v[1], torch.ones(3))
    with pytest.raises(ValueError, match="No gradients provided for any variable."):
        opt.apply([None, None], v)
    assert int(opt.iterations) == 1


def test_gradients_are_not_modified_by_clipping():
    for kw in ({"clipnorm": 0.1}, {"clipvalue": 0.1}, {"global_clipnorm": 0.1}):
        g = [torch.full((4,), 3.0), torch.full((2,), -2.0)]
        before = [x.clone() for x in g]
        IO.SGD(**kw).apply(g, [torch.zeros(4), torch.zeros(2)])
        for x, y in zip(g, before):
            torch.testing.assert_close(x, y)


def test_clipping_formulas():
    # clipnorm: per tensor; global_clipnorm: jointly; clipvalue: elementwise. Zero gradients stay 0.
    def step(**kw):
        v = [torch.zeros(2), torch.zeros(2), torch.zeros(2)]
        IO.SGD(learning_rate=1.0, **kw).apply([torch.tensor([3.0, 4.0]), torch.tensor([0.3, 0.4]),
                                               torch.zeros(2)], v)
        return [(-x).tolist() for x in v]

    cn = step(clipnorm=1.0)
    assert cn[0] == pytest.approx([0.6, 0.8]) and cn[1] == pytest.approx([0.3, 0.4]) and cn[2] == [0.0, 0.0]
    gn = step(global_clipnorm=1.0)
    total = math.sqrt(25 + 0.25)
    assert gn[0] == pytest.approx([3 / total, 4 / total]) and gn[1] == pytest.approx([0.3 / total, 0.4 / total])
    cv = step(clipvalue=0.35)
    assert cv[0] == pytest.approx([0.35, 0.35]) and cv[1] == pytest.approx([0.3, 0.35])
    # Keras: a non-finite global norm turns every gradient into NaN (then the weights).
    v = [torch.zeros(2), torch.zeros(2)]
    IO.SGD(global_clipnorm=1.0).apply([torch.tensor([math.inf, 1.0]), torch.ones(2)], v)
    assert torch.isnan(v[1]).all()


# -- configs ----------------------------------------------------------------------------------

CONFIGS = [
    ("SGD", {}), ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "clipnorm": 1.0}),
    ("Adam", {}), ("Adam", {"amsgrad": True, "weight_decay": 0.01, "global_clipnorm": 2.0, "epsilon": 1e-5}),
    ("AdamW", {}), ("AdamW", {"weight_decay": 0.1, "clipvalue": 0.5}),
    ("RMSprop", {}), ("RMSprop", {"rho": 0.8, "momentum": 0.1, "centered": True}),
    ("Adagrad", {}), ("Adagrad", {"initial_accumulator_value": 0.0}),
    ("Adadelta", {}), ("Adadelta", {"rho": 0.9, "learning_rate": 1.0}),
    ("Adamax", {}), ("Nadam", {}), ("Lion", {}), ("Lion", {"beta_1": 0.95, "beta_2": 0.98}),
]


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_config_equals_keras_and_round_trips(keras, name, kwargs):
    theirs = getattr(keras.optimizers, name)(name="opt", **kwargs)
    ours = getattr(IO, name)(name="opt", **kwargs)
    assert ours.get_config() == theirs.get_config()
    assert list(ours.get_config()) == list(theirs.get_config())  # key order too
    assert IO.serialize(ours) == keras.optimizers.serialize(theirs)
    # Round trips: ours -> ours, Keras's -> ours, ours -> Keras.
    assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()
    assert IO.deserialize(keras.optimizers.serialize(theirs)).get_config() == theirs.get_config()
    assert keras.optimizers.deserialize(IO.serialize(ours)).get_config() == ours.get_config()
    assert IO.get(IO.serialize(ours)).get_config() == ours.get_config()


def test_config_with_schedule_matches_keras(keras):
    theirs = keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.CosineDecay(0.1, 100, warmup_target=0.2,
                                                                                        warmup_steps=10), name="s")
    ours = IO.SGD(learning_rate=IS.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=10), name="s")
    assert ours.get_config() == theirs.get_config()
    back = IO.deserialize(keras.optimizers.serialize(theirs))
    assert isinstance(back._learning_rate, IS.CosineDecay)
    assert back.get_config() == theirs.get_config()
    assert keras.optimizers.deserialize(IO.serialize(ours)).get_config() == theirs.get_config()


def test_default_names_and_learning_rates_as_keras(keras):
    from initium import backend

    backend.clear_session()
    names = [IO.Adam().name, IO.Adam().name, IO.RMSprop().name, IO.AdamW().name, IO.SGD().name]
    assert names == ["adam", "adam_1", "rm_sprop", "adam_w", "sgd"]
    lrs = {n: IO.get(n).get_config()["learning_rate"] for n in ("adam", "sgd", "rmsprop", "adadelta")}
    assert lrs == {"adam": 0.0010000000474974513, "sgd": 0.009999999776482582, "rmsprop": 0.0010000000474974513,
                   "adadelta": 0.0010000000474974513}
    for name in IO.ALL_OBJECTS:
        theirs = keras.optimizers.get(name.lower()).get_config()
        ours = IO.get(name.lower()).get_config()
        theirs.pop("name"), ours.pop("name")
        assert ours == theirs, name


def test_schedule_round_trips_and_errors(keras):
    for name, kwargs in SCHEDULES:
        s = getattr(IS, name)(**kwargs)
        back = IS.deserialize(IS.serialize(s))
        assert type(back) is type(s) and back.get_config() == s.get_config()
        k = keras.optimizers.schedules.deserialize(IS.serialize(s))
        assert k.get_config() == s.get_config()
    with pytest.raises(ValueError, match=r"Argument `decay_steps` must be > 0. Received: decay_steps=0"):
        IS.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match=r"Argument `first_decay_steps` must be > 0"):
        IS.CosineDecayRestarts(0.1, -1)
    with pytest.raises(ValueError, match="The length of boundaries should be 1 less than the length of values"):
        IS.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"must be sorted in increasing order. Received: boundaries=\[5, 2\]"):
        IS.PiecewiseConstantDecay([5, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"Argument `initial_learning_rate` of CosineDecay must be a finite number"):
        IS.CosineDecay(float("nan"), 10)
    with pytest.raises(ValueError, match=r"Could not interpret learning-rate schedule 'ExponentialDecai'.*"
                                         r"Did you mean 'ExponentialDecay'\?"):
        IS.deserialize({"class_name": "ExponentialDecai", "config": {}})
    with pytest.raises(NotImplementedError, match="must override `__call__"):
        IS.LearningRateSchedule()(0)


def test_custom_schedule_registered_round_trip():
    @register_keras_serializable(package="test_opt")
    class Halving(IS.LearningRateSchedule):
        def __init__(self, lr=0.1):
            self.lr = lr

        def __call__(self, step):
            return self.lr * torch.pow(0.5, step.to(torch.float32))

        def get_config(self):
            return {"lr": self.lr}

    opt = IO.SGD(learning_rate=Halving(0.2))
    back = IO.deserialize(IO.serialize(opt))
    assert isinstance(back._learning_rate, Halving) and back._learning_rate.lr == 0.2
    v = [torch.zeros(1)]
    back.apply([torch.ones(1)], v)
    back.apply([torch.ones(1)], v)
    torch.testing.assert_close(v[0], torch.tensor([-0.3]))


# -- get ----------------------------------------------------------------------------------------

def test_get_every_keras_string(keras):
    from keras.src.optimizers import ALL_OBJECTS_DICT

    ours = {k.lower() for k in IO.ALL_OBJECTS}
    unsupported = set(ALL_OBJECTS_DICT) - ours
    assert ours <= set(ALL_OBJECTS_DICT)
    assert unsupported == {"adafactor", "ftrl", "muon", "lossscaleoptimizer", "schedulefreeadamw",
                           "multioptimizer", "optimizermap", "optimizer"}
    for key, cls in ALL_OBJECTS_DICT.items():
        if key in ours:
            for spelling in (key, cls.__name__, key.upper()):
                got = IO.get(spelling)
                assert type(got).__name__ == cls.__name__
                assert type(keras.optimizers.get(spelling)).__name__ == cls.__name__  # Keras agrees
        else:
            with pytest.raises(ValueError, match=rf"Could not interpret optimizer identifier: {key}\. "
                                                 r".* (is a Keras optimizer that initium does not implement|"
                                                 r"is the abstract base class)"):
                IO.get(key)


@pytest.mark.parametrize("typo,hint", [("adamm", "adam"), ("rms_prop", "rmsprop"), ("Adam_W", "adamw"),
                                       ("sgdd", "sgd"), ("nadm", "nadam"), ("adagard", "adagrad")])
def test_get_unknown_suggests(typo, hint):
    with pytest.raises(ValueError, match=rf"Could not interpret optimizer identifier: {typo}\. Did you mean "
                                         rf"'{hint}'\?"):
        IO.get(typo)


def test_get_instances_classes_dicts_and_errors():
    opt = IO.Adam()
    assert IO.get(opt) is opt
    assert IO.get(None) is None
    assert isinstance(IO.get(IO.Lion), IO.Lion)
    got = IO.get({"class_name": "rmsprop", "config": {"rho": 0.5}})
    assert isinstance(got, IO.RMSprop) and got.rho == 0.5
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: 3"):
        IO.get(3)
    with pytest.raises(ValueError, match="Optimizer. It is the abstract base class"):
        IO.get(IO.Optimizer)
    with pytest.raises(ValueError, match="must be a dict with a 'class_name' key"):
        IO.deserialize({"config": {}})
    with pytest.raises(ValueError, match=r"Argument\(s\) not recognized: \{'beta1': 0.5\}"):
        IO.deserialize({"class_name": "Adam", "config": {"beta1": 0.5}})
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: Adam"):
        IO.deserialize({"module": "evil.module", "class_name": "Adam", "config": {}})
    with pytest.raises(TypeError, match="serialize expects an initium Optimizer"):
        IO.serialize("adam")


# -- learning rate --------------------------------------------------------------------------

def test_learning_rate_getter_and_setter():
    opt = IO.Adam(learning_rate=0.01)
    lr = opt.learning_rate
    assert isinstance(lr, torch.Tensor) and lr.dtype == torch.float32 and lr.shape == ()
    assert float(lr) == pytest.approx(0.01)
    opt.learning_rate = 0.5  # in place: the same tensor, no new state
    assert opt.learning_rate is lr and float(lr) == 0.5
    opt.learning_rate = torch.tensor(0.25)
    assert opt.learning_rate is lr and float(lr) == 0.25
    assert opt.get_config()["learning_rate"] == 0.25
    assert opt.variables[1] is lr
    # Replacing a float rate by a schedule drops the learning-rate state (Keras untracks it).
    opt.learning_rate = IS.ExponentialDecay(1.0, 1, 0.5)
    assert len(opt.variables) == 1 and float(opt.learning_rate) == 1.0
    with pytest.raises(TypeError, match="created with a `LearningRateSchedule` object .* not settable"):
        opt.learning_rate = 0.1
    v = [torch.zeros(2)]
    opt.apply([torch.ones(2)], v)
    opt.apply([torch.ones(2)], v)
    assert float(opt.learning_rate) == 0.25  # schedule(iterations=2)
    assert opt.iterations.dtype == torch.int64 and int(opt.iterations) == 2


def test_learning_rate_set_between_steps_is_used(keras):
    k_vars = [keras.Variable(np.ones(3, np.float32))]
    o_vars = [torch.ones(3)]
    k, o = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9), IO.SGD(learning_rate=0.1, momentum=0.9)
    for s in range(6):
        if s == 3:
            k.learning_rate = 0.01
            o.learning_rate = 0.01
        k.apply([torch.full((3,), float(s + 1))], k_vars)
        o.apply([torch.full((3,), float(s + 1))], o_vars)
    np.testing.assert_allclose(o_vars[0].numpy(), _keras_value(k_vars[0]), rtol=TOL, atol=TOL)


def test_callable_learning_rate():
    calls = []

    def lr():
        calls.append(1)
        return 0.5

    opt = IO.SGD(learning_rate=lr)
    v = [torch.zeros(2)]
    opt.apply([torch.ones(2)], v)
    torch.testing.assert_close(v[0], torch.full((2,), -0.5))
    assert calls and float(opt.learning_rate) == 0.5 and len(opt.variables) == 1


def test_learning_rate_errors():
    with pytest.raises(ValueError, match=r"Argument `learning_rate` should be float, or an instance of "
                                         r"LearningRateSchedule.*Received instead: learning_rate=fast"):
        IO.Adam(learning_rate="fast")
    with pytest.raises(ValueError, match=r"Argument `learning_rate` of SGD must be a finite number >= 0.0\. "
                                         r"Received: learning_rate=-0.1"):
        IO.SGD(learning_rate=-0.1)
    opt = IO.SGD()
    with pytest.raises(ValueError, match=r"Argument `learning_rate` of SGD must be a finite number >= 0.0\. "
                                         r"Received: learning_rate=nan"):
        opt.learning_rate = float("nan")
    with pytest.raises(ValueError, match="must be set to a number, a LearningRateSchedule or a callable"):
        opt.learning_rate = "0.1"
    assert IO.SGD(learning_rate=1).get_config()["learning_rate"] == 1.0  # ints accepted (Keras: floats only)


# -- constructor errors ---------------------------------------------------------------------

def test_constructor_errors():
    with pytest.raises(ValueError, match=r"Argument\(s\) not recognized: \{'beta1': 0.5\}.*did you mean 'beta_1'"):
        IO.Adam(beta1=0.5)
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set"):
        IO.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match=r"use_ema=True is not supported"):
        IO.Adam(use_ema=True)
    with pytest.raises(ValueError, match=r"gradient_accumulation_steps is not supported"):
        IO.Adam(gradient_accumulation_steps=2)
    with pytest.raises(ValueError, match=r"loss_scale_factor is not supported"):
        IO.Adam(loss_scale_factor=128.0)
    with pytest.raises(ValueError, match=r"Argument `weight_decay` must be a float. Received: weight_decay=None"):
        IO.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match=r"`momentum` must be a float between \[0, 1\]. Received: momentum=1.5"):
        IO.SGD(momentum=1.5)
    with pytest.raises(ValueError, match=r"Argument `beta_1` must be in the \[0, 1\] range. Otherwise, the "
                                         r"optimizer degenerates to SignSGD. Received: beta_1=0"):
        IO.Lion(beta_1=0)
    with pytest.raises(ValueError, match=r"Argument `clipnorm` of Adam must be a finite number >= 0.0 \(or None\). "
                                         r"Received: clipnorm=-1"):
        IO.Adam(clipnorm=-1)
    with pytest.raises(ValueError, match=r"Argument `beta_2` of Adam must be a finite number >= 0.0 and <= 1.0. "
                                         r"Received: beta_2=1.5"):
        IO.Adam(beta_2=1.5)
    with pytest.warns(UserWarning, match="Argument `decay` is no longer supported and will be ignored."):
        IO.SGD(decay=0.1)


def test_apply_errors():
    a, b = torch.zeros(2), torch.zeros(3)
    with pytest.raises(ValueError, match="When passing `grads` without `variables`, the optimizer must already be "
                                         "built"):
        IO.SGD().apply([torch.ones(2)])
    opt = IO.SGD()
    opt.apply([torch.ones(2)], [a])
    with pytest.raises(ValueError, match=r"Unknown variable: tensor of shape \(3,\). This optimizer can only be "
                                         r"called for the variables it was originally built with"):
        opt.apply([torch.ones(3)], [b])
    with pytest.raises(ValueError, match=r"received 2 gradients for 1 variables"):
        opt.apply([torch.ones(2), torch.ones(2)], [a])
    with pytest.raises(ValueError, match=r"The gradient for tensor of shape \(2,\) has shape \(5,\); the variable "
                                         r"has shape \(2,\)"):
        opt.apply([torch.ones(5)], [a])
    with pytest.raises(ValueError, match=r"can only update floating-point variables; variable 0 \(tensor of shape "
                                         r"\(2,\)\) has dtype torch.int64"):
        IO.Adam().build([torch.zeros(2, dtype=torch.int64)])
    opt.apply([], [])  # no gradients: a no-op, as Keras
    assert int(opt.iterations) == 1


# -- state ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,kwargs", [("SGD", {}), ("SGD", {"momentum": 0.5}), ("Adam", {}),
                                         ("Adam", {"amsgrad": True}), ("RMSprop", {"momentum": 0.5, "centered": True}),
                                         ("Adagrad", {}), ("Adadelta", {}), ("Adamax", {}), ("Nadam", {}),
                                         ("Lion", {}), ("AdamW", {})])
def test_variables_match_keras(keras, name, kwargs):
    k_vars = [keras.Variable(np.ones(s, np.float32), name=n) for s, n in zip(SHAPES, NAMES)]
    o_vars = [Variable(torch.ones(s), name=n) for s, n in zip(SHAPES, NAMES)]
    theirs = getattr(keras.optimizers, name)(name="opt", **kwargs)
    ours = getattr(IO, name)(name="opt", **kwargs)
    assert len(ours.variables) == len(theirs.variables) == 2  # before build: iteration, learning_rate
    theirs.build(k_vars)
    ours.build(o_vars)
    assert [tuple(v.shape) for v in ours.variables] == [tuple(v.shape) for v in theirs.variables]
    for o, t in zip(ours.variables[2:], theirs.variables[2:]):
        np.testing.assert_array_equal(o.numpy(), np.asarray(t.numpy()))  # Adagrad starts at 0.1
    keras_paths = [v.path for v in theirs.variables]  # "opt/iteration", ..., "opt/kernel_momentum", ...
    if name == "Nadam":  # its momentum cache is an unscoped auto-named "variable", "variable_1", ...
        assert keras_paths[-1].startswith("variable") and ours.variable_names[-1] == "variable"
        keras_paths[-1] = "variable"
    assert ours.variable_names == keras_paths
    assert ours.iterations.dtype == torch.int64 and ours.learning_rate.dtype == torch.float32


def test_state_round_trips():
    v = [torch.ones(3, 2), torch.ones(2)]
    opt = IO.Nadam(learning_rate=0.1)
    for s in range(3):
        opt.apply([torch.full((3, 2), float(s)), torch.full((2,), 1.0)], v)
    state = opt.state_dict()
    weights = opt.get_weights()
    store: dict = {}
    opt.save_own_variables(store)
    v2 = [x.clone() for x in v]
    twin = IO.Nadam(learning_rate=0.1)
    twin.build(v2)
    twin.load_state_dict(state)
    for o in (opt, twin):
        o.apply([torch.full((3, 2), 0.5), torch.full((2,), -1.0)], v if o is opt else v2)
    torch.testing.assert_close(v, v2)
    assert int(twin.iterations) == 4
    third = IO.Nadam(learning_rate=0.1)
    third.build([x.clone() for x in v])
    third.set_weights(weights)
    assert [float(np.asarray(w).sum()) for w in third.get_weights()] == [float(w.sum()) for w in weights]
    fourth = IO.Nadam(learning_rate=0.1)
    fourth.build([x.clone() for x in v])
    fourth.load_own_variables(store)
    assert int(fourth.iterations) == 3
    unbuilt = IO.Nadam()
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer .* because it has 2 variables "
                                         "whereas the saved optimizer has 7 variables"):
        unbuilt.load_own_variables(store)
    with pytest.raises(ValueError, match="You are calling `set_weights\\(\\)` on an optimizer that has not yet been "
                                         "built"):
        unbuilt.set_weights(weights)
    with pytest.raises(ValueError, match=r"The state has 7 tensors but optimizer .* has 2 variables \(build it "
                                         r"first"):
        unbuilt.load_state_dict(state)
    # Pickle and deepcopy keep the state (the trainer's BackupAndRestore uses state_dict instead).
    clone = pickle.loads(pickle.dumps(opt))
    assert int(clone.iterations) == 4 and copy.deepcopy(opt).get_config() == opt.get_config()


def test_apply_gradients_and_subsets():
    a, b = torch.zeros(2), torch.zeros(2)
    opt = IO.SGD(learning_rate=1.0)
    it = opt.apply_gradients([(torch.ones(2), a), (torch.ones(2), b)])
    assert it is opt.iterations and int(it) == 1
    opt.apply([torch.ones(2)], [b])  # a subset, in any order
    opt.apply([torch.ones(2), torch.ones(2)], [b, a])
    torch.testing.assert_close(a, torch.full((2,), -2.0))
    torch.testing.assert_close(b, torch.full((2,), -3.0))
    opt.apply([torch.ones(2), torch.ones(2)])  # the built variables
    torch.testing.assert_close(a, torch.full((2,), -3.0))


def test_custom_optimizer_with_update_step():
    @register_keras_serializable(package="test_opt")
    class SignSGD(IO.Optimizer):
        def __init__(self, learning_rate=0.1, **kwargs):
            super().__init__(learning_rate=learning_rate, **kwargs)

        def build(self, variables):
            if self.built:
                return
            super().build(variables)
            self.steps_taken = [self.add_variable_from_reference(v, "count") for v in variables]

        def update_step(self, gradient, variable, learning_rate):
            self.assign_add(self.steps_taken[self._get_variable_index(variable)], 1.0)
            self.assign_sub(variable, torch.sign(gradient) * learning_rate)

    opt = SignSGD(learning_rate=0.5)
    v = [torch.zeros(2)]
    opt.apply([torch.tensor([2.0, -3.0])], v)
    torch.testing.assert_close(v[0], torch.tensor([-0.5, 0.5]))
    assert len(opt.variables) == 3 and float(opt.variables[2].sum()) == 2.0
    cfg = IO.serialize(opt)
    assert cfg["registered_name"] == "test_opt>SignSGD"
    assert isinstance(IO.deserialize(cfg), SignSGD)
    assert isinstance(IO.get(cfg), SignSGD)


# -- no host synchronization on the step ----------------------------------------------------

def _forbid(*_a, **_k):
    raise AssertionError("host synchronization on the optimizer step")


@pytest.mark.parametrize("make", [
    lambda: IO.SGD(momentum=0.9, nesterov=True, weight_decay=0.1, clipnorm=1.0),
    lambda: IO.Adam(amsgrad=True, global_clipnorm=1.0),
    lambda: IO.AdamW(clipvalue=0.5),
    lambda: IO.RMSprop(momentum=0.5, centered=True),
    lambda: IO.Adagrad(), lambda: IO.Adadelta(), lambda: IO.Adamax(), lambda: IO.Nadam(), lambda: IO.Lion(),
    lambda: IO.SGD(learning_rate=IS.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=3)),
    lambda: IO.Adam(learning_rate=IS.PiecewiseConstantDecay([2, 4], [0.1, 0.01, 0.001])),
    lambda: IO.Adam(learning_rate=IS.ExponentialDecay(0.1, 2, 0.5, staircase=True)),
    lambda: IO.Adam(learning_rate=IS.InverseTimeDecay(0.1, 2, 0.5)),
    lambda: IO.Adam(learning_rate=IS.PolynomialDecay(0.1, 5, cycle=True)),
    lambda: IO.Adam(learning_rate=IS.CosineDecayRestarts(0.1, 3)),
])
def test_step_never_reads_a_tensor_on_the_host(monkeypatch, make):
    opt = make()
    v = [Variable(torch.ones(4, 3), name="kernel", constraint=C.NonNeg()), Variable(torch.ones(3), name="bias")]
    opt.apply([torch.full((4, 3), 0.5), torch.full((3,), -0.5)], v)  # the build may read tensors
    for attr in ("item", "tolist", "__bool__", "__float__", "__int__", "__index__", "cpu", "numpy"):
        monkeypatch.setattr(torch.Tensor, attr, _forbid)
    for _ in range(3):
        opt.apply([torch.full((4, 3), 0.5), torch.full((3,), -0.5)], v)
    opt.learning_rate  # reading the current rate is a tensor op as well
    monkeypatch.undo()
    assert int(opt.iterations) == 4
