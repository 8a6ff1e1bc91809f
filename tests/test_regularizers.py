"""Tests of ``initium.regularizers``: penalties and gradients against real Keras 3 (the oracle),
string ids, config round trips both ways, and the error messages."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from initium import regularizers as R
from initium.saving import register_keras_serializable

ATOL = RTOL = 1e-6

# Every string keras.regularizers.get accepts in Keras 3.15.1 -> (class name, expected config).
KERAS_IDS = {
    "l1": ("L1", {"l1": 0.01}),
    "L1": ("L1", {"l1": 0.01}),
    "l2": ("L2", {"l2": 0.01}),
    "L2": ("L2", {"l2": 0.01}),
    "l1l2": ("L1L2", {"l1": 0.0, "l2": 0.0}),
    "L1L2": ("L1L2", {"l1": 0.0, "l2": 0.0}),
    "orthogonal_regularizer": ("OrthogonalRegularizer", {"factor": 0.01, "mode": "rows"}),
    "OrthogonalRegularizer": ("OrthogonalRegularizer", {"factor": 0.01, "mode": "rows"}),
    "regularizer": ("Regularizer", None),
    "Regularizer": ("Regularizer", None),
}

CASES = [
    ("L1", {}), ("L1", {"l1": 0.3}), ("L2", {}), ("L2", {"l2": 0.05}),
    ("L1L2", {}), ("L1L2", {"l1": 0.1, "l2": 0.2}), ("L1L2", {"l1": 0.01}), ("L1L2", {"l2": 0.02}),
    ("OrthogonalRegularizer", {}), ("OrthogonalRegularizer", {"factor": 0.5, "mode": "columns"}),
    ("OrthogonalRegularizer", {"factor": 2.0, "mode": "rows"}),
]


def _weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    edge = rng.normal(0.0, 1.0, size=(6, 5)).astype(np.float32)
    edge[0] = [1e3, -1e3, 0.0, 250.0, -0.5]  # large magnitudes and negatives
    edge[1] = [-1.0, -2.0, -3.0, -4.0, -5.0]
    edge[2] = [1.0, 2.0, 3.0, 4.0, 5.0]  # exactly anti-parallel to row 1
    return {
        "normal": rng.normal(0.0, 0.5, size=(5, 7)).astype(np.float32),
        "tall": rng.normal(0.0, 2.0, size=(9, 3)).astype(np.float32),
        "wide": rng.uniform(-3.0, 3.0, size=(3, 9)).astype(np.float32),
        "edge": edge,
    }


WEIGHTS = _weights()


def _case_id(case) -> str:
    name, kwargs = case
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items())


@pytest.fixture(scope="module")
def keras():
    import keras

    assert keras.backend.backend() == "torch"
    return keras


def _assert_config_close(theirs: dict, ours: dict) -> None:
    """Same keys in the same order; floats equal up to Keras's float32 rounding."""
    assert list(theirs) == list(ours)
    for key, value in ours.items():
        if isinstance(value, float):
            assert theirs[key] == pytest.approx(value, rel=1e-7)
        else:
            assert theirs[key] == value


def _penalty_and_grad(reg, w: np.ndarray):
    x = torch.from_numpy(w.copy()).requires_grad_(True)
    value = reg(x)
    if not value.requires_grad:  # L1L2() with both factors 0 is a constant, in Keras too
        return float(value), np.zeros_like(w)
    value.backward()
    return float(value.detach()), x.grad.numpy()


@pytest.mark.parametrize("wname", sorted(WEIGHTS))
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_penalty_and_gradient_match_keras(keras, case, wname):
    name, kwargs = case
    w = WEIGHTS[wname]
    ours, our_grad = _penalty_and_grad(getattr(R, name)(**kwargs), w)
    theirs, their_grad = _penalty_and_grad(getattr(keras.regularizers, name)(**kwargs), w)
    assert ours == pytest.approx(theirs, rel=RTOL, abs=ATOL)
    np.testing.assert_allclose(our_grad, their_grad, rtol=RTOL, atol=ATOL)


def test_known_penalties():
    """Hand-computed, independent of Keras."""
    x = torch.tensor([[1.0, -2.0], [0.0, 3.0]])
    assert R.L1(0.5)(x).item() == pytest.approx(3.0)
    assert R.L2(0.5)(x).item() == pytest.approx(7.0)
    assert R.L1L2(0.1, 0.2)(x).item() == pytest.approx(0.6 + 2.8)
    assert R.L1L2()(x).item() == 0.0
    assert R.OrthogonalRegularizer(3.0)(torch.eye(4)).item() == 0.0
    # Two parallel rows: |cos| = 1 for the single pair, so the penalty is the factor.
    assert R.OrthogonalRegularizer(3.0)(torch.tensor([[1.0, 0.0], [2.0, 0.0]])).item() == pytest.approx(3.0)
    # Three rows, pairs (1,2): cos 1, (1,3), (2,3): 0 -> mean 1/3.
    rows = torch.tensor([[1.0, 0.0], [5.0, 0.0], [0.0, 2.0]])
    assert R.OrthogonalRegularizer(1.0)(rows).item() == pytest.approx(1 / 3)
    assert R.OrthogonalRegularizer(1.0, mode="columns")(rows.T).item() == pytest.approx(1 / 3)


def test_penalties_are_differentiable_and_keep_dtype():
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    penalty = R.L2(0.25)(x)
    assert penalty.dtype == torch.float64 and penalty.shape == ()
    penalty.backward()
    torch.testing.assert_close(x.grad, 0.5 * x.detach())
    assert R.Regularizer()(x).dtype == torch.float64 and R.Regularizer()(x).item() == 0.0


def test_orthogonal_zero_row_has_keras_value_and_a_finite_gradient(keras):
    w = np.random.default_rng(3).normal(size=(4, 3)).astype(np.float32)
    w[1] = 0.0
    w[2] = [3e-9, -4e-9, 0.0]  # norm 5e-9 < epsilon: scaled by 1/epsilon, not normalized to 1
    ours, our_grad = _penalty_and_grad(R.OrthogonalRegularizer(0.5), w)
    theirs, their_grad = _penalty_and_grad(keras.regularizers.OrthogonalRegularizer(0.5), w)
    assert ours == pytest.approx(theirs, rel=RTOL, abs=ATOL)
    assert np.isnan(their_grad[1]).all()  # Keras: nan, which would poison the whole kernel
    assert np.isfinite(our_grad).all()
    np.testing.assert_allclose(np.delete(our_grad, 1, axis=0), np.delete(their_grad, 1, axis=0), rtol=RTOL, atol=ATOL)


def test_orthogonal_single_row_is_zero_where_keras_gives_nan(keras):
    w = torch.randn(1, 5)
    assert math.isnan(float(keras.regularizers.OrthogonalRegularizer()(w)))
    assert R.OrthogonalRegularizer()(w).item() == 0.0
    assert R.OrthogonalRegularizer(mode="columns")(w.T).item() == 0.0


def test_ids_match_keras(keras):
    from keras.src.regularizers import ALL_OBJECTS_DICT

    assert set(ALL_OBJECTS_DICT) == set(KERAS_IDS) == set(R.ALL_OBJECTS)


@pytest.mark.parametrize("identifier", sorted(KERAS_IDS))
def test_every_keras_id_resolves_to_the_same_regularizer(keras, identifier):
    cls_name, config = KERAS_IDS[identifier]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'l1l2' warns here (tested below)
        ours = R.get(identifier)
        assert type(R.deserialize(identifier)) is type(ours)
    theirs = keras.regularizers.get(identifier)
    assert type(ours).__name__ == type(theirs).__name__ == cls_name
    if config is not None:
        assert ours.get_config() == config
        _assert_config_close(theirs.get_config(), config)


def test_l1l2_string_is_a_no_op_and_warns(keras):
    x = torch.randn(3, 3)
    assert float(keras.regularizers.get("l1l2")(x)) == 0.0  # Keras: silently no penalty
    with pytest.warns(UserWarning, match=r"'l1l2' is L1L2\(l1=0\.0, l2=0\.0\), which adds no penalty"):
        reg = R.get("l1l2")
    assert reg(x).item() == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        R.get("L1L2")  # the class name is explicit enough: no warning


def test_l1_l2_string_is_rejected_with_a_hint(keras):
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: l1_l2"):
        keras.regularizers.get("l1_l2")
    with pytest.raises(ValueError, match=(
        r"identifier: 'l1_l2'\. Keras 3 has no regularizer named 'l1_l2' .*Did you mean 'l1l2'\? "
        r"Note that 'l1l2' is L1L2\(l1=0\.0, l2=0\.0\), which adds no penalty; .*L1L2\(l1=0\.01, l2=0\.01\)"
    )):
        R.get("l1_l2")


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_config_round_trips_with_keras(keras, case):
    name, kwargs = case
    ours = getattr(R, name)(**kwargs)
    ser = R.serialize(ours)
    assert ser == {"module": "keras.regularizers", "class_name": name, "config": ours.get_config(),
                   "registered_name": None}
    # ours -> Keras: same class, same config (Keras rounds factors to float32).
    kobj = keras.regularizers.deserialize(ser)
    assert type(kobj).__name__ == name
    _assert_config_close(kobj.get_config(), ours.get_config())
    # Keras -> ours -> serialize gives Keras's dict back exactly.
    kser = keras.regularizers.serialize(getattr(keras.regularizers, name)(**kwargs))
    back = R.deserialize(kser)
    assert type(back) is type(ours)
    assert R.serialize(back) == kser
    assert R.get(kser).get_config() == kser["config"]


@pytest.mark.parametrize("name", ["L1", "L2", "L1L2", "OrthogonalRegularizer"])
def test_default_configs_have_keras_keys_and_values(keras, name):
    _assert_config_close(getattr(keras.regularizers, name)().get_config(), getattr(R, name)().get_config())


def test_factors_are_python_floats_where_keras_rounds_to_float32(keras):
    assert keras.regularizers.L1(0.3).get_config()["l1"] == 0.30000001192092896
    assert R.L1(0.3).get_config() == {"l1": 0.3}
    assert R.L1(np.float32(0.5)).get_config() == {"l1": 0.5}  # numpy scalars are accepted here
    with pytest.raises(ValueError, match="expected a non-negative float"):
        keras.regularizers.L1(np.float32(0.5))  # ...and rejected by Keras
    assert R.L1(None).l1 == 0.01 and R.L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


@pytest.mark.parametrize("make, pattern", [
    (lambda: R.L1(-1), r"Invalid value for argument `l1`: expected a non-negative, finite float\. Received: l1=-1$"),
    (lambda: R.L2(float("nan")), r"`l2`: .*Received: l2=nan$"),
    (lambda: R.L1L2(l2=float("inf")), r"`l2`: .*Received: l2=inf$"),
    (lambda: R.L1L2(l1=-0.5), r"`l1`: .*Received: l1=-0\.5$"),
    (lambda: R.OrthogonalRegularizer(factor=-0.1), r"`factor`: .*Received: factor=-0\.1$"),
    (lambda: R.L1("0.1"), r"`l1`: .*Received: l1='0\.1'$"),
    (lambda: R.L2(True), r"`l2`: .*Received: l2=True$"),
], ids=["l1-negative", "l2-nan", "l2-inf", "l1l2-negative", "factor-negative", "l1-string", "l2-bool"])
def test_invalid_factors(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


@pytest.mark.parametrize("mode, hint", [
    ("row", "rows"), ("Rows", "rows"), ("cols", "columns"), ("column", "columns"), ("colums", "columns"),
])
def test_bad_mode_says_did_you_mean(mode, hint):
    with pytest.raises(ValueError, match=(
        rf"Invalid value for argument `mode`: '{mode}'\. Did you mean '{hint}'\? Expected one of 'columns', 'rows'\.$"
    )):
        R.OrthogonalRegularizer(mode=mode)


def test_bad_mode_without_a_close_match():
    with pytest.raises(ValueError, match=r"`mode`: 'diagonal'\. Expected one of") as info:
        R.OrthogonalRegularizer(mode="diagonal")
    assert "Did you mean" not in str(info.value)


def test_orthogonal_needs_rank_2():
    with pytest.raises(ValueError, match=r"needs a rank-2 weight, .*Received a weight of shape \(2, 3, 4\) \(rank 3\)"):
        R.OrthogonalRegularizer()(torch.ones(2, 3, 4))


@pytest.mark.parametrize("identifier, hint", [
    ("L1l2", "l1l2"), ("orthogonal", "orthogonal_regularizer"), ("weight_decay", "l2"), ("l2_", "l2"),
    ("Orthogonal_Regularizer", "orthogonal_regularizer"),
])
def test_unknown_ids_say_did_you_mean(identifier, hint):
    with pytest.raises(ValueError, match=(
        rf"^Could not interpret regularizer identifier: '{identifier}'\. Did you mean '{hint}'\? "
        r"Valid names: l1, l1l2, l2, orthogonal_regularizer, regularizer \(or their class names\)"
    )):
        R.get(identifier)


def test_dict_errors():
    with pytest.raises(TypeError, match=(
        r"L1 could not be built from config=\{'ll1': 0\.1\}\. Unexpected key\(s\): 'll1' \(did you mean 'l1'\?\)\. "
        r"L1 accepts: l1\."
    )):
        R.deserialize({"class_name": "L1", "config": {"ll1": 0.1}})
    with pytest.raises(ValueError, match=r"names class 'L1' in module 'evil\.module'; only built-in"):
        R.deserialize({"module": "evil.module", "class_name": "L1", "config": {}})
    with pytest.raises(ValueError, match="needs a 'class_name' key"):
        R.deserialize({"config": {"l1": 0.1}})
    with pytest.raises(ValueError, match="Refusing to load a lambda regularizer"):
        R.deserialize({"class_name": "__lambda__", "config": {}})
    with pytest.raises(ValueError, match=r"identifier: 3 \(of type int\)\. Expected a name such as 'l2'"):
        R.get(3)


def test_get_passes_none_instances_callables_and_builds_classes():
    assert R.get(None) is None and R.serialize(None) is None and R.deserialize(None) is None
    reg = R.L1(0.2)
    assert R.get(reg) is reg
    built = R.get(R.L2)
    assert type(built) is R.L2 and built.l2 == 0.01

    def penalty(w):
        return w.sum()

    assert R.get(penalty) is penalty
    assert R.l1 is R.L1 and R.l2 is R.L2 and R.l1_l2 is R.L1L2 and R.orthogonal_regularizer is R.OrthogonalRegularizer


def test_functions_serialize_by_registered_name_and_lambdas_are_refused():
    @register_keras_serializable(package="regtest")
    def center_penalty(w):
        return 0.1 * w.sum() ** 2

    config = R.serialize(center_penalty)
    assert config == {"module": "builtins", "class_name": "function", "config": "regtest>center_penalty",
                      "registered_name": "function"}
    assert R.deserialize(config) is center_penalty
    with pytest.raises(ValueError, match=r"Cannot serialize a lambda regularizer.*register_keras_serializable"):
        R.serialize(lambda w: w.sum())


def test_custom_regularizer_class_round_trip_and_missing_get_config():
    @register_keras_serializable(package="regtest")
    class Scaled(R.Regularizer):
        def __init__(self, k=1.0):
            self.k = k

        def __call__(self, x):
            return self.k * x.abs().max()

        def get_config(self):
            return {"k": self.k}

    config = R.serialize(Scaled(3.0))
    assert config == {"module": None, "class_name": "Scaled", "config": {"k": 3.0}, "registered_name": "regtest>Scaled"}
    back = R.deserialize(config)
    assert type(back) is Scaled and back.k == 3.0

    class NoConfig(R.Regularizer):
        def __init__(self, k=1.0):
            self.k = k

    with pytest.raises(NotImplementedError, match=r"NoConfig takes constructor arguments \(k\) but does not implement"):
        NoConfig().get_config()

    class NoArgs(R.Regularizer):
        pass

    assert NoArgs().get_config() == {}
    assert repr(R.L1L2(0.5, 0.25)) == "L1L2(l1=0.5, l2=0.25)"
