"""Tests of ``initium.activations``: values and gradients against real Keras 3 (the oracle), names,
serialization, errors and the size-1 softmax warning.

Inputs are float32, random plus two rows of edge values: large magnitudes, negatives, and the exact
kinks and thresholds of every function (0, ±0.5, ±1, ±3, 3.5, 4, 6).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from initium import activations as A
from initium.saving import custom_object_scope, register_keras_serializable

ATOL = RTOL = 1e-6

# Every name keras.activations.get accepts in Keras 3.15.1 (checked against Keras below).
KERAS_NAMES = sorted([
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu",
    "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
    "threshold",
])
# The name each one serializes under (the aliases go to the function's own name).
SERIALIZED_AS = {**{n: n for n in KERAS_NAMES}, "swish": "silu", "hard_swish": "hard_silu"}

_EDGE_A = [-1e4, -100.0, -20.0, -6.0, -3.0, -2.0, -1.0, -0.75, -0.5, -0.25, -1e-3, 0.0,
           1e-3, 0.25, 0.5, 0.75, 1.0, 2.0, 3.0, 6.0, 20.0, 100.0, 1e4, 4.5]
_EDGE_B = [3.5, 4.0, 6.0, -3.0, 3.0, 1.0, -1.0, 0.5, -0.5, 0.0, -0.0, 5.999, 6.001, -2.999,
           2.999, -1.001, 1.001, 0.499, 0.501, -30.0, 30.0, 50.0, -50.0, 88.0]


def _x2d() -> np.ndarray:
    x = np.random.default_rng(0).normal(0.0, 4.0, size=(6, 24)).astype(np.float32)
    x[4] = _EDGE_A
    x[5] = _EDGE_B
    return x


def _x3d() -> np.ndarray:
    return np.random.default_rng(1).normal(0.0, 3.0, size=(3, 4, 6)).astype(np.float32)


# (name, kwargs, input): every Keras name with its defaults, plus non-default arguments.
CASES = [(n, {}, "2d") for n in KERAS_NAMES if n != "threshold"] + [
    ("relu", {"negative_slope": 0.1}, "2d"),
    ("relu", {"max_value": 6.0}, "2d"),
    ("relu", {"max_value": 3.5}, "2d"),
    ("relu", {"threshold": 1.0}, "2d"),
    ("relu", {"threshold": -1.0}, "2d"),
    ("relu", {"negative_slope": 0.3, "max_value": 4.0, "threshold": 0.5}, "2d"),
    ("relu", {"negative_slope": 0.2, "threshold": -0.5}, "2d"),
    ("relu", {"negative_slope": 0.25, "max_value": 6}, "2d"),
    ("relu", {"max_value": 0.0}, "2d"),
    ("leaky_relu", {"negative_slope": 0.05}, "2d"),
    ("elu", {"alpha": 0.5}, "2d"),
    ("celu", {"alpha": 2.0}, "2d"),
    ("gelu", {"approximate": True}, "2d"),
    ("soft_shrink", {"threshold": 1.0}, "2d"),
    ("hard_shrink", {"threshold": 1.0}, "2d"),
    ("squareplus", {"b": 1}, "2d"),
    ("threshold", {"threshold": 0.5, "default_value": -2.0}, "2d"),
    ("threshold", {"threshold": -1.0, "default_value": 0.0}, "2d"),
    ("softmax", {"axis": 0}, "2d"),
    ("softmax", {"axis": None}, "3d"),
    ("softmax", {"axis": (0, 2)}, "3d"),
    ("softmax", {"axis": 1}, "3d"),
    ("log_softmax", {"axis": 0}, "2d"),
    ("log_softmax", {"axis": (1, 2)}, "3d"),
    ("glu", {"axis": 0}, "2d"),
    ("glu", {"axis": 1}, "3d"),
    ("sparsemax", {"axis": 0}, "2d"),
    ("sparsemax", {"axis": 1}, "3d"),
]


def _case_id(case) -> str:
    name, kwargs, inp = case
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items()) + f"-{inp}"


@pytest.fixture(scope="module")
def keras():
    import keras

    assert keras.backend.backend() == "torch"
    return keras


def _keras_fn(keras, name):
    fn = keras.activations.get(name)
    assert callable(fn)
    return fn


def _run(fn, x_np: np.ndarray, kwargs: dict, weights: np.ndarray):
    """Value and d(sum(w * f(x)))/dx, with random w so that softmax gradients are not zero."""
    x = torch.from_numpy(x_np.copy()).requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = fn(x, **kwargs)
    (y * torch.from_numpy(weights)).sum().backward()
    return y.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_values_and_gradients_match_keras(keras, case):
    name, kwargs, inp = case
    x = _x2d() if inp == "2d" else _x3d()
    weights = np.random.default_rng(2).uniform(-1, 1, size=x.shape).astype(np.float32)
    if name == "glu":  # its output has half the axis: weights of the output's shape
        axis = kwargs.get("axis", -1)
        weights = np.take(weights, range(x.shape[axis] // 2), axis=axis)
    ours, our_grad = _run(A.get(name) if name != "threshold" else A.threshold, x, kwargs, weights)
    theirs, their_grad = _run(_keras_fn(keras, name), x, kwargs, weights)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(our_grad, their_grad, rtol=RTOL, atol=ATOL)


def test_cases_cover_every_keras_name():
    assert {c[0] for c in CASES} == set(KERAS_NAMES)


def test_known_values_at_the_thresholds():
    """Hand-computed values, independent of Keras: the kinks are where implementations differ."""
    x = torch.tensor([-4.0, -3.0, -1.0, 0.0, 0.5, 1.0, 3.0, 6.0, 7.0])
    assert A.relu(x, threshold=1.0).tolist() == [0, 0, 0, 0, 0, 0, 3, 6, 7]  # x == threshold gives 0
    assert A.relu(x, max_value=6.0).tolist() == [0, 0, 0, 0, 0.5, 1, 3, 6, 6]
    assert A.relu(x, negative_slope=0.5, threshold=1.0).tolist() == [-2.5, -2, -1, -0.5, -0.25, 0, 3, 6, 7]
    assert A.relu6(x).tolist() == [0, 0, 0, 0, 0.5, 1, 3, 6, 6]
    np.testing.assert_allclose(A.hard_sigmoid(x).numpy(), [0, 0, 1 / 3, 0.5, 7 / 12, 2 / 3, 1, 1, 1], atol=1e-7)
    np.testing.assert_allclose(A.hard_silu(x).numpy(), [0, 0, -1 / 3, 0, 7 / 24, 2 / 3, 3, 6, 7], atol=1e-6)
    assert A.leaky_relu(x).tolist()[0] == pytest.approx(-0.8)  # Keras's default slope is 0.2
    assert A.threshold(x, 0.5, -9.0).tolist() == [-9, -9, -9, -9, -9, 1, 3, 6, 7]


def test_names_match_keras(keras):
    from keras.src.activations import ALL_OBJECTS_DICT

    assert set(ALL_OBJECTS_DICT) == set(KERAS_NAMES)
    assert set(A.ALL_OBJECTS) == set(KERAS_NAMES)


@pytest.mark.parametrize("name", [n for n in KERAS_NAMES if n != "threshold"])
def test_every_keras_name_resolves_to_the_same_function(keras, name):
    kfn = _keras_fn(keras, name)
    ours = A.get(name)
    assert ours.__name__ == kfn.__name__ == SERIALIZED_AS[name]
    assert A.deserialize(name) is ours
    assert A.serialize(ours) == keras.activations.serialize(kfn) == SERIALIZED_AS[name]
    # Keras's dict form for a function resolves too.
    assert A.get(keras.saving.serialize_keras_object(kfn)) is ours


def test_aliases_are_the_same_functions():
    assert A.swish is A.silu and A.get("swish") is A.silu and A.serialize(A.swish) == "silu"
    assert A.hard_swish is A.hard_silu and A.get("hard_swish") is A.hard_silu
    assert A.serialize("swish") == "silu"


def test_threshold_by_name_fails_early_where_keras_fails_late(keras):
    kfn = keras.activations.get("threshold")  # Keras accepts the name...
    with pytest.raises(TypeError, match="missing 2 required positional arguments"):
        kfn(torch.ones(2))  # ...and fails at the first call
    with pytest.raises(ValueError, match=r"'threshold' activation cannot be used by name.*needs two arguments"):
        A.get("threshold")
    with pytest.raises(ValueError, match="cannot be used by name"):
        A.deserialize({"module": "builtins", "class_name": "function", "config": "threshold",
                       "registered_name": "function"})


def test_none_and_callables():
    assert A.get(None) is A.linear
    assert A.serialize(None) == "linear"
    x = torch.randn(3)
    assert A.linear(x) is x

    def mine(t):
        return t * 3

    assert A.get(mine) is mine
    assert A.get(torch.tanh) is torch.tanh


def test_keras_serializes_none_as_linear(keras):
    assert keras.activations.serialize(keras.activations.get(None)) == "linear"


@pytest.mark.parametrize("identifier, hint", [
    ("rellu", "relu"), ("ReLU", "relu"), ("RELU", "relu"), ("hardswish", "hard_swish"),
    ("identity", "linear"), ("logsigmoid", "log_sigmoid"), ("Softmax", "softmax"), ("lrelu", "leaky_relu"),
])
def test_unknown_name_says_did_you_mean(identifier, hint):
    with pytest.raises(ValueError, match=(
        rf"^Could not interpret activation function identifier: '{identifier}'\. Did you mean '{hint}'\? "
        r"Valid names: celu, elu, exponential, gelu, glu, .*squareplus, swish, tanh, tanh_shrink\. "
    )):
        A.get(identifier)


def test_unknown_name_without_a_close_match_lists_the_names_without_threshold():
    with pytest.raises(ValueError, match=r"identifier: 'zzzz'\. Valid names: celu") as info:
        A.get("zzzz")
    assert "Did you mean" not in str(info.value)
    assert "threshold" not in str(info.value).split("Valid names:")[1].split(".")[0]


def test_keras_returns_unknown_strings_from_deserialize(keras):
    """The Keras behaviour initium deliberately does not copy."""
    assert keras.activations.deserialize("rellu") == "rellu"
    with pytest.raises(ValueError, match="Could not interpret activation function identifier: rellu"):
        keras.activations.get("rellu")
    with pytest.raises(ValueError, match="Did you mean 'relu'"):
        A.deserialize("rellu")


def test_get_rejects_non_callables():
    with pytest.raises(ValueError, match=r"identifier: 5 \(of type int\)\. Expected a name such as 'relu'"):
        A.get(5)


def test_serialize_refuses_lambdas_and_partials():
    with pytest.raises(ValueError, match=r"Cannot serialize a lambda activation .*Define a named function.*register"):
        A.serialize(lambda x: x)
    with pytest.raises(ValueError, match=r"Cannot serialize a functools\.partial activation"):
        A.serialize(functools.partial(A.relu, max_value=3.0))


# PyTorch functions with the Keras math and defaults: they serialize under the Keras name.
TORCH_EQUIVALENTS = [
    (torch.relu, "relu"), (F.relu, "relu"), (torch.sigmoid, "sigmoid"), (torch.tanh, "tanh"),
    (F.silu, "silu"), (F.gelu, "gelu"), (F.elu, "elu"), (F.selu, "selu"), (F.celu, "celu"),
    (F.softplus, "softplus"), (F.softsign, "softsign"), (F.relu6, "relu6"), (F.mish, "mish"),
    (F.logsigmoid, "log_sigmoid"), (torch.exp, "exponential"), (F.hardswish, "hard_silu"),
    (F.hardsigmoid, "hard_sigmoid"), (F.hardtanh, "hard_tanh"), (F.tanhshrink, "tanh_shrink"),
    (F.softshrink, "soft_shrink"), (F.hardshrink, "hard_shrink"), (F.glu, "glu"),
]


@pytest.mark.parametrize("fn, name", TORCH_EQUIVALENTS, ids=[n for _, n in TORCH_EQUIVALENTS])
def test_torch_functions_serialize_under_the_keras_name_only_when_equal(fn, name):
    x = torch.from_numpy(_x2d())
    assert A.serialize(fn) == name
    np.testing.assert_allclose(fn(x).numpy(), A.get(name)(x).numpy(), rtol=RTOL, atol=ATOL)


def test_torch_functions_with_other_defaults_are_refused():
    x = torch.tensor([-1.0])
    assert F.leaky_relu(x).item() != A.leaky_relu(x).item()  # 0.01 vs 0.2: why it must not map
    with pytest.raises(ValueError, match=r"PyTorch function torch\.nn\.functional\.leaky_relu.*negative_slope=0\.2"):
        A.serialize(F.leaky_relu)
    with pytest.raises(ValueError, match=r"PyTorch function torch\.nn\.functional\.softmax"):
        A.serialize(F.softmax)


def test_registered_function_round_trip_matches_keras(keras):
    @register_keras_serializable(package="acttest")
    def doubled(x):
        return 2 * x

    @keras.saving.register_keras_serializable(package="acttest")
    def doubled(x):  # noqa: F811 - the same name, registered in Keras
        return 2 * x

    kdoubled = doubled
    ours = A.get("acttest>doubled")
    expected = {"module": "builtins", "class_name": "function", "config": "acttest>doubled",
                "registered_name": "function"}
    assert A.serialize(ours) == keras.activations.serialize(kdoubled) == expected
    assert A.deserialize(expected) is ours
    assert A.get(keras.activations.serialize(kdoubled)) is ours
    assert ours(torch.tensor([1.5])).item() == 3.0


def test_unregistered_function_serializes_but_needs_custom_objects_to_load():
    def plain(x):
        return x + 1

    config = A.serialize(plain)
    assert config == {"module": "builtins", "class_name": "function", "config": "plain", "registered_name": "function"}
    with pytest.raises(ValueError, match=r"function 'plain' is not registered.*custom_objects=\{'plain': fn\}"):
        A.deserialize(config)
    assert A.deserialize(config, custom_objects={"plain": plain}) is plain
    assert A.deserialize("plain", custom_objects={"plain": plain}) is plain
    with custom_object_scope({"plain": plain}):
        assert A.get("plain") is plain


def test_registered_callable_class_round_trip():
    @register_keras_serializable(package="acttest")
    class Scaled:
        def __init__(self, k=1.0):
            self.k = k

        def __call__(self, x):
            return self.k * x

        def get_config(self):
            return {"k": self.k}

    config = A.serialize(Scaled(2.5))
    assert config == {"module": None, "class_name": "Scaled", "config": {"k": 2.5}, "registered_name": "acttest>Scaled"}
    back = A.deserialize(config)
    assert isinstance(back, Scaled) and back.k == 2.5


def test_unsafe_or_malformed_dicts_are_refused():
    with pytest.raises(ValueError, match="Refusing to load a lambda activation"):
        A.deserialize({"class_name": "__lambda__", "config": {"code": "..."}})
    with pytest.raises(ValueError, match="needs a 'class_name' key"):
        A.deserialize({"config": "relu"})
    with pytest.raises(ValueError, match=r"identifier: \{'class_name': 'os\.system'.*Valid names"):
        A.deserialize({"class_name": "os.system", "config": {}})


def test_lenient_function_dict_without_module():
    assert A.get({"class_name": "function", "config": "relu"}) is A.relu
    with pytest.raises(ValueError, match=r"'rellu' \(did you mean the built-in 'relu'\?\) is not registered"):
        A.get({"class_name": "function", "config": "rellu"})


def test_softmax_over_a_size_one_axis_warns():
    with pytest.warns(UserWarning, match=(
        r"softmax over axis -1 of a tensor of shape \(4, 1\): that axis has size 1, so the result is "
        r"always 1\.0\. This is probably not what you intended\. For a single output unit .*use "
        r"activation='sigmoid'"
    )):
        out = A.get("softmax")(torch.randn(4, 1))
    assert torch.equal(out, torch.ones(4, 1))
    with pytest.warns(UserWarning) as record:
        A.softmax(torch.randn(2, 1))
    assert record[0].filename == __file__  # points at the caller, not at initium
    with pytest.warns(UserWarning, match=r"log_softmax over axis -1 .*always 0\.0.*'sigmoid'"):
        out = A.log_softmax(torch.randn(4, 1))
    assert torch.equal(out, torch.zeros(4, 1))
    with pytest.warns(UserWarning, match=r"over axis 0 of a tensor of shape \(1, 5\)"):
        A.softmax(torch.randn(1, 5), axis=0)
    with pytest.warns(UserWarning, match=r"over axis \(0, 2\)"):
        A.softmax(torch.randn(1, 5, 1), axis=(0, 2))


def test_softmax_over_larger_axes_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A.softmax(torch.randn(4, 2))
        A.softmax(torch.randn(4, 1), axis=0)
        A.log_softmax(torch.randn(1, 5, 1), axis=(0, 1))


def test_keras_warns_for_softmax_too(keras):
    with pytest.warns(UserWarning, match="This axis has size 1"):
        keras.activations.softmax(torch.randn(4, 1))


def test_argument_errors():
    with pytest.raises(ValueError, match=r"`max_value` of relu cannot be negative .*Received: max_value=-1\.0"):
        A.relu(torch.ones(2), max_value=-1.0)
    with pytest.raises(ValueError, match=r"glu splits axis -1 into two halves, so its size must be even; .*\(2, 3\)"):
        A.glu(torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"`axis`=2 of softmax is out of range for a tensor of shape \(2, 3\) \(rank"):
        A.softmax(torch.ones(2, 3), axis=2)
    with pytest.raises(ValueError, match=r"names the same axis twice"):
        A.softmax(torch.ones(2, 3), axis=(1, -1))
    with pytest.raises(TypeError, match=r"`axis` of log_softmax must be an int.*axis='x'"):
        A.log_softmax(torch.ones(2, 3), axis="x")


def test_dtypes_and_non_tensor_inputs():
    assert A.relu(torch.tensor([-1, 2])).dtype == torch.float32
    assert A.relu(torch.tensor([-1, 2])).tolist() == [0.0, 2.0]
    assert A.gelu(torch.zeros(2, dtype=torch.float64)).dtype == torch.float64
    assert A.sigmoid([0.0, 0.0]).tolist() == [0.5, 0.5]
    x = torch.randn(3, 5)
    half = A.softmax(x.half())
    assert half.dtype == torch.float16
    np.testing.assert_allclose(half.float().numpy(), A.softmax(x.half().float()).numpy(), atol=1e-3)
    with pytest.warns(UserWarning, match=r"shape \(\): .*always 1\.0"):
        scalar = A.softmax(torch.tensor(3.0))
    assert scalar.shape == () and scalar.item() == 1.0
