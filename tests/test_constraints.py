"""Tests of ``initium.constraints``: projections against real Keras 3 (the oracle), including its
epsilon handling, string ids, config round trips both ways, and the error messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from initium import constraints as C
from initium.saving import register_keras_serializable

ATOL = RTOL = 1e-6

# Every string keras.constraints.get accepts in Keras 3.15.1 -> (class name, config).
KERAS_IDS = {
    "max_norm": ("MaxNorm", {"max_value": 2, "axis": 0}),
    "MaxNorm": ("MaxNorm", {"max_value": 2, "axis": 0}),
    "min_max_norm": ("MinMaxNorm", {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
    "MinMaxNorm": ("MinMaxNorm", {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
    "non_neg": ("NonNeg", {}),
    "NonNeg": ("NonNeg", {}),
    "unit_norm": ("UnitNorm", {"axis": 0}),
    "UnitNorm": ("UnitNorm", {"axis": 0}),
    "constraint": ("Constraint", {}),
    "Constraint": ("Constraint", {}),
}

CASES = [
    ("MaxNorm", {}, "dense"),
    ("MaxNorm", {"max_value": 1.5, "axis": 1}, "dense"),
    ("MaxNorm", {"max_value": 0.5, "axis": [0, 1, 2]}, "conv"),
    ("MaxNorm", {"max_value": 3, "axis": -1}, "conv"),
    ("MaxNorm", {"max_value": 0}, "dense"),
    ("MinMaxNorm", {}, "dense"),
    ("MinMaxNorm", {"min_value": 0.5, "max_value": 2.0, "rate": 0.5, "axis": 1}, "dense"),
    ("MinMaxNorm", {"min_value": 1.0, "max_value": 1.0, "axis": [0, 1, 2]}, "conv"),
    ("MinMaxNorm", {"min_value": 0.1, "max_value": 3.0, "rate": 0.0}, "dense"),
    ("NonNeg", {}, "dense"),
    ("NonNeg", {}, "conv"),
    ("UnitNorm", {}, "dense"),
    ("UnitNorm", {"axis": 1}, "dense"),
    ("UnitNorm", {"axis": [0, 1, 2]}, "conv"),
    ("UnitNorm", {"axis": (0, 1)}, "conv"),
    ("Constraint", {}, "dense"),
]


def _weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    dense = rng.normal(0.0, 1.5, size=(6, 5)).astype(np.float32)
    dense[:, 0] = [2.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # norm exactly max_value=2
    dense[:, 1] = [1e3, -1e3, 250.0, -3.0, 0.0, 7.0]  # large magnitudes
    dense[:, 3] = 0.0  # a zero vector: epsilon keeps it 0
    dense[:, 4] = [1e-7, -1e-7, 0.0, 0.0, 0.0, 0.0]  # norm comparable to epsilon
    dense[2] = 0.0  # a zero row (axis=1)
    conv = rng.normal(0.0, 0.3, size=(3, 3, 4, 5)).astype(np.float32)
    conv[..., 2] = 0.0  # a zero filter
    return {"dense": dense, "conv": conv}


WEIGHTS = _weights()


def _case_id(case) -> str:
    name, kwargs, wname = case
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items()) + f"-{wname}"


@pytest.fixture(scope="module")
def keras():
    import keras

    assert keras.backend.backend() == "torch"
    return keras


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_projection_matches_keras(keras, case):
    name, kwargs, wname = case
    w = WEIGHTS[wname]
    ours = getattr(C, name)(**kwargs)(torch.from_numpy(w.copy()))
    theirs = getattr(keras.constraints, name)(**kwargs)(torch.from_numpy(w.copy()))
    assert isinstance(ours, torch.Tensor) and ours.dtype == torch.float32 and ours.shape == w.shape
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=RTOL, atol=ATOL)


def test_known_projections_and_epsilon():
    """Hand-computed, independent of Keras: the scale is desired / (1e-7 + norm)."""
    w = torch.tensor([[3.0, 0.0, 1e-7], [4.0, 0.0, 0.0]], dtype=torch.float64)
    eps = 1e-7
    torch.testing.assert_close(C.MaxNorm(2)(w)[:, 0], torch.tensor([3.0, 4.0], dtype=torch.float64) * 2 / (5 + eps))
    torch.testing.assert_close(C.UnitNorm()(w)[:, 0], torch.tensor([0.6, 0.8], dtype=torch.float64) * 5 / (5 + eps))
    assert C.UnitNorm()(w)[0, 2].item() == pytest.approx(0.5)  # 1e-7 / (1e-7 + 1e-7): not unit norm
    assert C.UnitNorm()(w)[:, 1].tolist() == [0.0, 0.0]  # a zero vector stays zero, no nan
    assert C.MaxNorm(2)(w)[:, 1].tolist() == [0.0, 0.0]
    # rate=0.5 moves norm 5 halfway to the interval [1, 2]: 0.5 * 2 + 0.5 * 5 = 3.5.
    torch.testing.assert_close(C.MinMaxNorm(1.0, 2.0, rate=0.5)(w)[:, 0],
                               torch.tensor([3.0, 4.0], dtype=torch.float64) * 3.5 / (5 + eps))
    assert C.MinMaxNorm(1.0, 2.0)(w)[:, 1].tolist() == [0.0, 0.0]  # min_value cannot grow a zero vector
    assert C.NonNeg()(torch.tensor([-1.0, 0.0, 2.0])).tolist() == [0.0, 0.0, 2.0]
    assert C.MaxNorm(2)(w).dtype == torch.float64


def test_ids_match_keras(keras):
    from keras.src.constraints import ALL_OBJECTS_DICT

    assert set(ALL_OBJECTS_DICT) == set(KERAS_IDS) == set(C.ALL_OBJECTS)


@pytest.mark.parametrize("identifier", sorted(KERAS_IDS))
def test_every_keras_id_resolves_to_the_same_constraint(keras, identifier):
    cls_name, config = KERAS_IDS[identifier]
    ours, theirs = C.get(identifier), keras.constraints.get(identifier)
    assert type(ours).__name__ == type(theirs).__name__ == cls_name
    assert ours.get_config() == theirs.get_config() == config
    assert type(C.deserialize(identifier)) is type(ours)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_config_round_trips_with_keras(keras, case):
    name, kwargs, _ = case
    ours = getattr(C, name)(**kwargs)
    ser = C.serialize(ours)
    assert ser == {"module": "keras.constraints", "class_name": name, "config": ours.get_config(),
                   "registered_name": None}
    kobj = keras.constraints.deserialize(ser)  # ours -> Keras
    assert type(kobj).__name__ == name and kobj.get_config() == ours.get_config()
    kser = keras.constraints.serialize(getattr(keras.constraints, name)(**kwargs))  # Keras -> ours
    back = C.deserialize(kser)
    assert type(back) is type(ours) and C.serialize(back) == kser
    assert C.get(kser).get_config() == kser["config"]


@pytest.mark.parametrize("name", ["MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"])
def test_default_configs_equal_keras(keras, name):
    ours, theirs = getattr(C, name)().get_config(), getattr(keras.constraints, name)().get_config()
    assert ours == theirs and list(ours) == list(theirs)


def test_keras_accepts_a_negative_max_norm_that_flips_signs(keras):
    w = torch.tensor([[3.0], [4.0]])
    assert (keras.constraints.MaxNorm(-1)(w) < 0).all()  # why initium validates
    with pytest.raises(ValueError, match=(
        r"Invalid value for argument `max_value` of MaxNorm: expected a finite number >= 0\.0\. Received: max_value=-1$"
    )):
        C.MaxNorm(-1)


@pytest.mark.parametrize("make, pattern", [
    (lambda: C.MaxNorm(float("nan")), r"`max_value` of MaxNorm: .*Received: max_value=nan$"),
    (lambda: C.MaxNorm("2"), r"`max_value` of MaxNorm: .*Received: max_value='2'$"),
    (lambda: C.MinMaxNorm(min_value=-0.5),
     r"`min_value` of MinMaxNorm: expected a finite number >= 0\.0\. Received: min_value=-0\.5$"),
    (lambda: C.MinMaxNorm(max_value=math.inf), r"`max_value` of MinMaxNorm: .*Received: max_value=inf$"),
    (lambda: C.MinMaxNorm(2.0, 1.0),
     r"MinMaxNorm needs min_value <= max_value\. Received: min_value=2\.0, max_value=1\.0$"),
    (lambda: C.MinMaxNorm(rate=1.5),
     r"`rate` of MinMaxNorm: expected a finite number in \[0\.0, 1\.0\]\. Received: rate=1\.5$"),
    (lambda: C.UnitNorm(axis="0"),
     r"`axis` of UnitNorm: expected an int or a non-empty list of ints\. Received: axis='0'$"),
    (lambda: C.MaxNorm(axis=[]), r"`axis` of MaxNorm: .*Received: axis=\[\]$"),
    (lambda: C.MaxNorm(axis=[0, 1.5]), r"`axis` of MaxNorm: .*Received: axis=\[0, 1\.5\]$"),
    (lambda: C.UnitNorm(axis=True), r"`axis` of UnitNorm: .*Received: axis=True$"),
], ids=["max-nan", "max-str", "min-negative", "max-inf", "min-above-max", "rate-above-1", "axis-str",
        "axis-empty", "axis-float", "axis-bool"])
def test_invalid_arguments(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_axis_out_of_range_names_the_shape():
    with pytest.raises(ValueError, match=(
        r"MaxNorm\(axis=2\) does not fit a weight of shape \(3, 4\) \(rank 2\)\. For a Dense kernel .*axis=\[0, 1, 2\]"
    )):
        C.MaxNorm(axis=2)(torch.ones(3, 4))
    with pytest.raises(ValueError, match=r"UnitNorm\(axis=\[0, -2\]\) names the same axis twice \(weight shape"):
        C.UnitNorm(axis=[0, -2])(torch.ones(3, 4))


@pytest.mark.parametrize("identifier, hint", [
    ("maxnorm", "max_norm"), ("nonneg", "non_neg"), ("non_negative", "non_neg"), ("Unit_Norm", "unit_norm"),
    ("minmax_norm", "min_max_norm"), ("max_nrom", "max_norm"),
])
def test_unknown_ids_say_did_you_mean(keras, identifier, hint):
    with pytest.raises(ValueError, match=f"Could not interpret constraint identifier: {identifier}"):
        keras.constraints.get(identifier)
    with pytest.raises(ValueError, match=(
        rf"^Could not interpret constraint identifier: '{identifier}'\. Did you mean '{hint}'\? "
        r"Valid names: constraint, max_norm, min_max_norm, non_neg, unit_norm \(or their class names\)"
    )):
        C.get(identifier)


def test_dict_errors():
    with pytest.raises(TypeError, match=(
        r"MaxNorm could not be built from config=\{'max_val': 3\}\. Unexpected key\(s\): 'max_val' "
        r"\(did you mean 'max_value'\?\)\. MaxNorm accepts: max_value, axis\."
    )):
        C.deserialize({"class_name": "MaxNorm", "config": {"max_val": 3}})
    with pytest.raises(ValueError, match=r"names class 'NonNeg' in module 'evil\.module'; only built-in"):
        C.deserialize({"module": "evil.module", "class_name": "NonNeg", "config": {}})
    with pytest.raises(ValueError, match="needs a 'class_name' key"):
        C.deserialize({"config": {}})
    with pytest.raises(ValueError, match="Refusing to load a lambda constraint"):
        C.deserialize({"class_name": "__lambda__", "config": {}})
    with pytest.raises(ValueError, match=r"identifier: 1\.5 \(of type float\)\. Expected a name such as 'max_norm'"):
        C.get(1.5)


def test_get_passes_none_instances_callables_and_builds_classes():
    assert C.get(None) is None and C.serialize(None) is None and C.deserialize(None) is None
    c = C.UnitNorm(axis=1)
    assert C.get(c) is c
    built = C.get(C.MaxNorm)
    assert type(built) is C.MaxNorm and built.get_config() == {"max_value": 2, "axis": 0}

    def clip(w):
        return w.clamp(-1, 1)

    assert C.get(clip) is clip
    assert C.max_norm is C.MaxNorm and C.min_max_norm is C.MinMaxNorm
    assert C.non_neg is C.NonNeg and C.unit_norm is C.UnitNorm
    x = torch.randn(3, 2)
    assert torch.equal(C.Constraint()(x), x)


def test_non_tensor_input():
    out = C.MaxNorm(1.0)(np.full((4, 2), 3.0))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(np.linalg.norm(out.numpy(), axis=0), [1.0, 1.0], rtol=1e-6)


def test_functions_and_custom_classes_serialize():
    @register_keras_serializable(package="contest")
    def clip_unit(w):
        return w.clamp(-1, 1)

    config = C.serialize(clip_unit)
    assert config == {"module": "builtins", "class_name": "function", "config": "contest>clip_unit",
                      "registered_name": "function"}
    assert C.deserialize(config) is clip_unit
    with pytest.raises(ValueError, match=r"Cannot serialize a lambda constraint.*register_keras_serializable"):
        C.serialize(lambda w: w)

    @register_keras_serializable(package="contest")
    class Clip(C.Constraint):
        def __init__(self, limit=1.0):
            self.limit = limit

        def __call__(self, w):
            return w.clamp(-self.limit, self.limit)

        def get_config(self):
            return {"limit": self.limit}

    config = C.serialize(Clip(0.5))
    assert config == {"module": None, "class_name": "Clip", "config": {"limit": 0.5}, "registered_name": "contest>Clip"}
    back = C.deserialize(config)
    assert type(back) is Clip and back.limit == 0.5

    class NoConfig(C.Constraint):
        def __init__(self, limit=1.0):
            self.limit = limit

    with pytest.raises(NotImplementedError, match=r"NoConfig takes constructor arguments \(limit\) but does not"):
        NoConfig().get_config()
    assert repr(C.MinMaxNorm(0.5, 2.0)) == "MinMaxNorm(min_value=0.5, max_value=2.0, rate=1.0, axis=0)"
