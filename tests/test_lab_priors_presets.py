"""initium.lab.bias_from_priors / PriorBias, TorchDefault, and the framework presets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from initium import initializers, layers, losses, saving
from initium.initializers import LecunNormal, PriorBias, TorchDefault
from initium.lab import PRESETS, bias_from_priors, preset, use_preset
from initium.models import Sequential

import initium as keras
from initium import lab
from initium import random as irandom


def H(p: float) -> float:
    return -p * math.log(p) - (1 - p) * math.log(1 - p)


def _labels(n: int, positives: int, seed: int = 0) -> np.ndarray:
    y = np.zeros(n, dtype="int64")
    y[np.random.default_rng(seed).choice(n, positives, replace=False)] = 1
    return y


def _bce_at_init(x: np.ndarray, y: np.ndarray, bias_initializer) -> float:
    model = Sequential([layers.Input((x.shape[1],)),
                        layers.Dense(1, activation="sigmoid", kernel_initializer="zeros",
                                     bias_initializer=bias_initializer)])
    with torch.no_grad():
        pred = model(x.astype("float32"))
        return float(losses.BinaryCrossentropy()(y.reshape(-1, 1).astype("float32"), pred))


# ============================================================================ priors: the numbers
def test_tf_tutorial_numbers():
    # 0.0018 positive rate: the TF imbalanced-data tutorial's initial loss 0.01317 vs ln 2.
    n, pos = 100_000, 180
    y = _labels(n, pos)
    x = np.random.default_rng(1).normal(size=(n, 4))
    b = bias_from_priors(y)
    assert b.shape == (1,) and b.dtype == np.float64
    assert b[0] == pytest.approx(math.log(pos / (n - pos)), abs=1e-12)
    loss = _bce_at_init(x, y, PriorBias(y))
    assert abs(loss - H(0.0018)) < 1e-6 and round(H(0.0018), 5) == 0.01317
    assert abs(_bce_at_init(x, y, "zeros") - math.log(2)) < 1e-6
    assert round(math.log(2), 5) == 0.69315 and round(_bce_at_init(x, y, "zeros"), 4) == 0.6931


def test_digits_is_it_a_zero():
    from initium.datasets import digits

    (x, y), _ = digits.load_data()
    t = (y == 0).astype("uint8")
    p = t.mean()
    assert abs(p - 0.099) < 0.002
    x = x.reshape(len(x), -1) / 16.0
    loss = _bce_at_init(x, t, PriorBias(t))
    assert abs(loss - H(p)) < 1e-6 and abs(loss - 0.3230) < 2e-3
    # a small random last kernel keeps it within 1e-3
    model = Sequential([layers.Input((64,)), layers.Dense(1, activation="sigmoid",
                        kernel_initializer=initializers.RandomNormal(stddev=1e-3, seed=0),
                        bias_initializer=PriorBias(t))])
    with torch.no_grad():
        small = float(losses.BinaryCrossentropy()(t.reshape(-1, 1).astype("float32"), model(x.astype("float32"))))
    assert abs(small - H(p)) < 1e-3


def test_softmax_initial_loss_is_class_entropy():
    rng = np.random.default_rng(0)
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    y = rng.choice(4, size=20_000, p=probs)
    freq = np.bincount(y, minlength=4) / len(y)
    entropy = float(-(freq * np.log(freq)).sum())
    b = bias_from_priors(y)
    np.testing.assert_allclose(b, np.log(freq), rtol=0, atol=1e-12)
    model = Sequential([layers.Input((3,)), layers.Dense(4, kernel_initializer="zeros",
                                                         bias_initializer=PriorBias(y))])
    with torch.no_grad():
        logits = model(rng.normal(size=(len(y), 3)).astype("float32"))
    loss = float(losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits))
    assert abs(loss - entropy) < 1e-5
    zero = Sequential([layers.Input((3,)), layers.Dense(4, kernel_initializer="zeros")])
    with torch.no_grad():
        zero_loss = float(losses.SparseCategoricalCrossentropy(from_logits=True)(y, zero(np.ones((len(y), 3), "float32"))))
    assert abs(zero_loss - math.log(4)) < 1e-6 and entropy < zero_loss - 0.2
    # one-hot rows give the same vector, and auto picks softmax for them
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(bias_from_priors(onehot), b, atol=1e-12)
    assert PriorBias(onehot).kind == "softmax"


def test_regression_bias_is_the_mean():
    y = np.random.default_rng(0).normal(50.0, 3.0, size=(1000, 2))
    np.testing.assert_allclose(bias_from_priors(y), y.mean(axis=0))
    assert PriorBias(y[:, 0]).kind == "linear" and PriorBias(y[:, 0]).bias == pytest.approx([y[:, 0].mean()])


def test_auto_kind_rules_and_priors():
    assert PriorBias(np.array([0.0, 1.0, 1.0])).kind == "sigmoid"
    assert PriorBias(np.array([[0], [1], [1]])).kind == "sigmoid"
    assert PriorBias(np.array([True, False])).kind == "sigmoid"
    assert PriorBias(np.array([0, 1, 2])).kind == "softmax"
    assert PriorBias(np.array([[1, 1], [0, 1], [1, 0]])).kind == "sigmoid"  # multi-label
    ml = bias_from_priors(np.array([[1, 1], [0, 1], [1, 0], [0, 1]]))
    np.testing.assert_allclose(ml, [0.0, math.log(3)])
    assert PriorBias(np.array([0.5, 2.0])).kind == "linear"
    assert PriorBias(torch.tensor([0, 1, 1, 1])).bias == pytest.approx([math.log(3)])
    np.testing.assert_allclose(bias_from_priors(priors=0.01), [-math.log(99)])
    assert round(float(bias_from_priors(priors=0.01)[0]), 4) == -4.5951  # RetinaNet's pi
    np.testing.assert_allclose(bias_from_priors(priors=[0.2, 0.8]), np.log([0.2, 0.8]))
    np.testing.assert_allclose(bias_from_priors(priors=[0.2, 0.3], kind="sigmoid"),
                               [math.log(0.25), math.log(3 / 7)])
    # Laplace smoothing rescues an absent class
    np.testing.assert_allclose(bias_from_priors([0, 0, 2], smoothing=1), np.log([3 / 6, 1 / 6, 2 / 6]))
    np.testing.assert_allclose(bias_from_priors([0, 0, 0], kind="sigmoid", smoothing=1), [math.log(1 / 4)])


@pytest.mark.parametrize("kwargs, exc, match", [
    ({}, ValueError, r"pass the labels as `y=` or the probabilities as `priors=`"),
    ({"y": [0, 1], "priors": 0.5}, ValueError, r"pass `y=` or `priors=`, not both"),
    ({"y": [0, 1], "kind": "logistic"}, ValueError, r"unknown `kind`: 'logistic'\. Did you mean 'sigmoid'\?"),
    ({"y": [0, 1], "kind": "softmx"}, ValueError, r"Did you mean 'softmax'\?.*\['sigmoid', 'softmax', 'linear', 'auto'\]"),
    ({"y": [0, 1], "kind": 3}, TypeError, r"`kind` must be a string.*Received: kind=3"),
    ({"y": []}, ValueError, r"`y` is empty"),
    ({"y": [0.0, float("nan"), 1.0]}, ValueError, r"`y` has 1 non-finite value\(s\)"),
    ({"y": ["a", "b"]}, TypeError, r"`y` must be an array of numbers"),
    ({"y": np.zeros((2, 2, 2))}, ValueError, r"shape \(n,\) or \(n, k\).*\(2, 2, 2\)"),
    ({"y": [0, 0, 0]}, ValueError, r"output 0 has no positive labels in y \(p=0\).*smoothing=.*priors="),
    ({"y": [1, 1]}, ValueError, r"output 0 has only positive labels in y \(p=1\).*Laplace"),
    ({"y": [0, 0, 2, 3]}, ValueError, r"class 1 has zero frequency in y.*smoothing=.*priors="),
    ({"y": [0, 1], "smoothing": -1}, ValueError, r"`smoothing` must be a finite number >= 0. Received: smoothing=-1"),
    ({"y": [0, 1], "smoothing": "1"}, TypeError, r"`smoothing` must be a non-negative number"),
    ({"y": [1.5, 2.5], "smoothing": 1}, ValueError, r"no meaning for kind='linear'"),
    ({"y": [0, 2], "kind": "sigmoid"}, ValueError, r"kind='sigmoid' needs 0/1 labels.*\[2\]"),
    ({"y": [0.5, 1.0], "kind": "softmax"}, ValueError, r"integer class labels 0..K-1.*\[0.5\]"),
    ({"y": [[0.5, 0.6]], "kind": "softmax"}, ValueError, r"Row 0 sums to 1.1"),
    ({"y": [-1, 3]}, ValueError, r"cannot tell from integer y.*kind='softmax'.*kind='linear'"),
    ({"priors": [0.2, 0.7]}, ValueError, r"`priors` must sum to 1 .*summing to 0.9.*kind='sigmoid'"),
    ({"priors": [0.2, 0.7], "kind": "softmax"}, ValueError, r"must sum to 1 for a softmax output"),
    ({"priors": [1.2, -0.2]}, ValueError, r"`priors` must be probabilities \(>= 0\).*negative entries at \[1\]"),
    ({"priors": [1.0, 0.0]}, ValueError, r"class 1 has zero frequency in priors"),
    ({"priors": 0.0}, ValueError, r"output 0 has no positive labels in priors"),
    ({"priors": 0.5, "smoothing": 1}, ValueError, r"`smoothing` applies to counts taken from `y`"),
    ({"priors": 0.5, "kind": "linear"}, ValueError, r"do not define a regression bias"),
    ({"priors": 0.5, "kind": "softmax"}, ValueError, r"one probability per class"),
])
def test_bias_from_priors_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        bias_from_priors(**kwargs)


# ============================================================================ PriorBias: the initializer
def test_prior_bias_shape_dtype_and_errors():
    init = PriorBias([0, 1, 2, 2])
    t = init((3,), dtype="float64")
    assert t.dtype == torch.float64 and t.tolist() == pytest.approx(np.log([0.25, 0.25, 0.5]).tolist())
    with pytest.raises(ValueError, match=r"holds a bias of length 3 .*shape \(5,\)\. Give the output layer 3 units"):
        init((5,))
    with pytest.raises(ValueError, match=r"cannot fill a weight of dtype int32"):
        init((3,), dtype="int32")
    with pytest.raises(ValueError, match=r"either `bias` .* or `y`/`priors`"):
        PriorBias(y=[0, 1], bias=[0.0])
    with pytest.raises(ValueError, match=r"`bias` must be finite"):
        PriorBias(bias=[float("inf")])
    with pytest.raises(TypeError, match=r"PriorBias: `bias` must be a list of numbers"):
        PriorBias(bias=["x"])
    with pytest.raises(ValueError, match=r"PriorBias: unknown `kind`: 'softmaxx'"):
        PriorBias(bias=[0.0], kind="softmaxx")
    with pytest.raises(ValueError, match=r"PriorBias: output 0 has no positive labels"):
        PriorBias([0, 0])
    # in a layer, a wrong width is caught at build
    with pytest.raises(ValueError, match=r"length 3"):
        layers.Dense(4, bias_initializer=init)(np.zeros((1, 2), "float32"))


def test_prior_bias_config_and_registry():
    init = PriorBias(priors=[0.25, 0.75])
    cfg = init.get_config()
    assert set(cfg) == {"bias", "kind"} and cfg["kind"] == "softmax"
    assert all(isinstance(v, float) for v in cfg["bias"])
    back = initializers.deserialize(initializers.serialize(init))
    assert type(back) is PriorBias and back.bias == init.bias and back.kind == "softmax"
    assert initializers.ALL_OBJECTS["prior_bias"] is PriorBias and initializers.ALL_OBJECTS["torch_default"] is TorchDefault
    assert PriorBias not in initializers.BUILTINS and TorchDefault not in initializers.BUILTINS
    assert "PriorBias" in initializers.__all__ and "TorchDefault" in initializers.__all__


def test_prior_bias_model_saves_and_loads(tmp_path):
    y = _labels(1000, 37)
    y3 = np.random.default_rng(0).choice(3, size=300, p=[0.6, 0.3, 0.1])
    model = Sequential([layers.Input((5,)), layers.Dense(3, bias_initializer=PriorBias(y3)),
                        layers.Dense(1, activation="sigmoid", bias_initializer=PriorBias(y))])
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = saving.load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.get_config() == model.get_config()
    init = loaded.layers[-1].bias_initializer
    assert isinstance(init, PriorBias) and init.bias == pytest.approx([math.log(37 / 963)])
    clone = Sequential.from_config(model.get_config())
    clone.build((None, 5))
    np.testing.assert_allclose(clone.layers[0].bias.detach().numpy(), np.log(np.bincount(y3) / 300), rtol=1e-6)


# ============================================================================ TorchDefault
def test_torch_default_statistics_and_support():
    fan_in = 256
    bound = 1 / math.sqrt(fan_in)
    w = TorchDefault(seed=3)((fan_in, 512)).double()
    n = w.numel()
    assert n >= 100_000
    var = bound ** 2 / 3
    se_mean = math.sqrt(var / n)
    se_var = math.sqrt((1.8 * var ** 2 - var ** 2) / n)  # uniform: E[x^4] = bound^4 / 5 = 1.8 var^2
    assert abs(float(w.mean())) < 6 * se_mean
    assert abs(float(w.var(unbiased=False)) - var) < 6 * se_var
    assert float(w.detach().abs().max()) <= bound and float(w.max()) > 0.999 * bound and float(w.min()) < -0.999 * bound
    # same bound as torch.nn.Linear's default for the same fan_in
    lin = torch.nn.Linear(256, 128).requires_grad_(False)
    assert float(lin.weight.detach().abs().max()) <= 1 / 16 and float(lin.bias.detach().abs().max()) <= 1 / 16
    assert float(lin.weight.detach().abs().max()) > 0.99 / 16
    init = TorchDefault()
    assert init.expected_stats((256, 128)) == {"mean": 0.0, "std": bound / math.sqrt(3), "min": -bound, "max": bound}
    # conv kernel: fan_in = kh*kw*in, as torch.nn.Conv2d(16, 32, 3)
    assert init.resolve_fan_in((3, 3, 16, 32)) == 144
    b = TorchDefault(fan_in=256, seed=0)((128,))
    assert b.shape == (128,) and float(b.detach().abs().max()) <= bound
    assert torch.equal(TorchDefault(seed=5)((4, 4)), TorchDefault(seed=5)((4, 4)))


def test_torch_default_errors_and_config():
    with pytest.raises(ValueError, match=r"a bias's shape does not hold the layer's fan_in; pass "
                                         r"TorchDefault\(fan_in=\.\.\.\) or use initium\.lab\.use_preset\(model, 'torch'\)"):
        TorchDefault()((128,))
    with pytest.raises(TypeError, match=r"`fan_in` must be None or a positive integer.*fan_in='256'"):
        TorchDefault(fan_in="256")
    with pytest.raises(ValueError, match=r"`fan_in` must be a positive integer. Received: fan_in=0"):
        TorchDefault(fan_in=0)
    with pytest.raises(TypeError, match=r"fan_in=True"):
        TorchDefault(fan_in=True)
    assert TorchDefault(fan_in=np.int64(9)).fan_in == 9
    init = TorchDefault(fan_in=12, seed=4)
    assert init.get_config() == {"seed": 4, "fan_in": 12}
    back = initializers.deserialize(initializers.serialize(init))
    assert type(back) is TorchDefault and back.get_config() == init.get_config()
    assert type(initializers.get("torch_default")) is TorchDefault


# ============================================================================ presets
def _std_ok(t: torch.Tensor, fan_in: int) -> None:
    x = t.detach().double().reshape(-1)
    bound = 1 / math.sqrt(fan_in)
    sd = bound / math.sqrt(3)
    n = x.numel()
    se = sd * math.sqrt(0.8 / (4 * n))  # se of the std for a uniform (kurtosis -1.2)
    assert abs(float(x.std(unbiased=False)) - sd) < 6 * se + 1e-12, (float(x.std()), sd, n)
    assert float(x.detach().abs().max()) <= float(np.float32(bound))  # the float32 weight rounds the bound


def _torch_model():
    # fixed names: a seeded use_preset mixes the seed with each weight's path
    return Sequential([layers.Input((10, 10, 16)),
                       layers.Conv2D(32, 3, name="conv"),
                       layers.DepthwiseConv2D(3, depth_multiplier=8, name="dw"),
                       layers.Flatten(name="flat"),
                       layers.Dense(128, name="head")], name="net")


def test_use_preset_torch_uses_true_fan_in():
    model = Sequential([layers.Input((256,)), layers.Dense(128, name="out")])
    before = model.layers[0].kernel.detach().clone()
    changes = use_preset(model, "torch", seed=0)
    dense = model.layers[0]
    assert not torch.equal(before, dense.kernel.detach())
    _std_ok(dense.kernel, 256)
    assert [(c.weight.split("/", 1)[1], type(c.old).__name__, type(c.new).__name__) for c in changes] == [
        ("out/kernel", "GlorotUniform", "TorchDefault"), ("out/bias", "Zeros", "TorchDefault")]
    assert changes[0].layer == dense.path
    assert changes[0].new.fan_in == 256 and changes[1].new.fan_in == 256
    assert dense.kernel_initializer is changes[0].new and dense.kernel.initializer is changes[0].new
    assert dense.bias.initializer is changes[1].new and dense.bias_initializer.get_config()["fan_in"] == 256
    assert "-> TorchDefault(seed=None, fan_in=256)" in str(changes[0])
    # the bias of 128 values: std check with a looser (but still 6 SE) bound, exact support
    _std_ok(dense.bias, 256)
    assert float(dense.bias.detach().abs().max()) > 0


def test_use_preset_torch_conv_and_depthwise():
    model = _torch_model()
    use_preset(model, "torch", seed=1)
    conv, dw, _, dense = model.layers
    _std_ok(conv.kernel, 3 * 3 * 16)   # nn.Conv2d(16, 32, 3): fan_in 144
    _std_ok(dw.kernel, 3 * 3)          # nn.Conv2d(32, 256, 3, groups=32): fan_in 9
    _std_ok(dw.bias, 3 * 3)
    _std_ok(dense.kernel, dense.kernel.shape[0])
    assert conv.bias_initializer.fan_in == 144 and dw.bias_initializer.fan_in == 9
    assert dw.depthwise_initializer.fan_in == 9
    # the same kernel seed draws the same values twice
    again = _torch_model()
    use_preset(again, "torch", seed=1)
    assert torch.equal(again.layers[0].kernel.detach(), conv.kernel.detach())
    # reinitialize keeps using the preset's initializers
    model.reinitialize(seed=2)
    _std_ok(dw.kernel, 9)


def test_use_preset_flax_and_keras():
    model = _torch_model()
    use_preset(model, "torch")
    changes = use_preset(model, "flax")
    conv, dw, _, dense = model.layers
    assert isinstance(conv.kernel_initializer, LecunNormal) and isinstance(dense.kernel_initializer, LecunNormal)
    assert torch.count_nonzero(dense.bias) == 0 and torch.count_nonzero(conv.bias) == 0
    k = dense.kernel.detach().double()
    assert abs(float(k.std()) / math.sqrt(1 / k.shape[0]) - 1) < 0.05
    assert float(k.detach().abs().max()) <= 2 / 0.87962566103423978 / math.sqrt(k.shape[0]) + 1e-6  # truncated at 2 sigma
    assert dw.depthwise_initializer.fans(tuple(dw.kernel.shape))[0] == 9
    assert all(type(c.new).__name__ in ("LecunNormal", "Zeros") for c in changes) and len(changes) == 6
    use_preset(model, "keras")
    assert type(dense.kernel_initializer).__name__ == "GlorotUniform" and type(dense.bias_initializer).__name__ == "Zeros"
    limit = math.sqrt(6 / sum(dense.kernel.shape))
    assert float(dense.kernel.detach().abs().max()) <= limit and float(dense.kernel.detach().abs().max()) > 0.9 * limit
    assert torch.count_nonzero(conv.bias) == 0


def test_use_preset_rnn_and_embedding():
    model = Sequential([layers.Input((6,), dtype="int32"), layers.Embedding(50, 8), layers.LSTM(16)])
    emb, lstm = model.layers
    use_preset(model, "torch", seed=0)
    b = 1 / math.sqrt(16)
    cell = lstm.cell
    for w in (cell.kernel, cell.recurrent_kernel, cell.bias):
        assert float(w.detach().abs().max()) <= b and float(w.detach().abs().max()) > 0.8 * b
    assert cell.unit_forget_bias is False
    assert abs(float(emb.embeddings.detach().std()) - 1.0) < 0.15
    use_preset(model, "flax")
    assert abs(float(emb.embeddings.detach().std()) - 1 / math.sqrt(8)) < 0.03
    assert torch.count_nonzero(cell.bias) == 0
    use_preset(model, "keras")
    assert cell.unit_forget_bias is True
    assert cell.bias.detach()[16:32].tolist() == [1.0] * 16 and torch.count_nonzero(cell.bias) == 16
    assert float(emb.embeddings.detach().abs().max()) <= 0.05


def test_use_preset_errors_and_untouched_layers():
    with pytest.raises(ValueError, match=r"unknown preset 'pytorch'\. Did you mean 'torch'\? Valid presets: flax, keras, torch"):
        use_preset(Sequential([layers.Input((2,)), layers.Dense(1)]), "pytorch")
    with pytest.raises(ValueError, match=r"unknown preset 'tourch'\. Did you mean 'torch'\?"):
        preset("tourch")
    unbuilt = Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match=r"is not built.*model\.build\(input_shape\), or call it on a batch of data"):
        use_preset(unbuilt, "torch")
    with pytest.raises(TypeError, match=r"must be an initium model or layer"):
        use_preset(torch.nn.Linear(2, 2), "torch")
    assert set(PRESETS) == {"keras", "torch", "flax"}
    model = Sequential([layers.Input((4,)), layers.Dense(3), layers.BatchNormalization()])
    gamma = model.layers[1].gamma.detach().clone()
    changes = use_preset(model, "torch")
    assert [c.weight.rsplit("/", 1)[1] for c in changes] == ["kernel", "bias"]
    assert torch.equal(model.layers[1].gamma.detach(), gamma)


def test_preset_context_manager():
    with preset("torch"):
        explicit = layers.Dense(64, kernel_initializer="he_normal")
        default = layers.Dense(64)
        conv = layers.Conv2D(8, 3, groups=2)
        lstm = layers.LSTM(4, recurrent_initializer="zeros")
        with preset("flax"):
            inner = layers.Dense(3)
        after_inner = layers.Dense(3)
    outside = layers.Dense(64)
    assert type(explicit.kernel_initializer).__name__ == "HeNormal"
    assert isinstance(explicit.bias_initializer, TorchDefault)
    assert isinstance(default.kernel_initializer, TorchDefault) and isinstance(default.bias_initializer, TorchDefault)
    assert isinstance(inner.kernel_initializer, LecunNormal) and isinstance(after_inner.kernel_initializer, TorchDefault)
    assert type(outside.kernel_initializer).__name__ == "GlorotUniform"
    assert type(outside.bias_initializer).__name__ == "Zeros"
    assert type(lstm.cell.recurrent_initializer).__name__ == "Zeros"
    assert type(lstm.cell.kernel_initializer).__name__ == "RandomUniform" and lstm.cell.unit_forget_bias is False
    # the bias's fan_in is resolved at build from the kernel: 256 inputs -> bound 1/16
    x = np.zeros((2, 256), "float32")
    explicit(x)
    default(x)
    assert explicit.bias_initializer.fan_in == 256 and default.bias_initializer.fan_in == 256
    assert default.get_config()["bias_initializer"]["config"]["fan_in"] == 256
    _std_ok(default.kernel, 256)
    assert float(default.bias.detach().abs().max()) <= 1 / 16 and float(explicit.bias.detach().abs().max()) <= 1 / 16
    conv(np.zeros((1, 6, 6, 10), "float32"))  # nn.Conv2d(10, 8, 3, groups=2): fan_in 5*9 = 45
    assert conv.bias_initializer.fan_in == 45
    _std_ok(conv.kernel, 45)
    lstm(np.zeros((1, 3, 5), "float32"))
    assert float(lstm.cell.bias.detach().abs().max()) <= 0.5
    # a model built inside the block and then saved loads with the same configs
    with preset("torch"):
        model = Sequential([layers.Input((7,)), layers.Dense(3)])
    clone = Sequential.from_config(model.get_config())
    assert clone.layers[0].bias_initializer.fan_in == 7


def test_preset_is_per_thread():
    import threading

    seen = {}

    def other():
        seen["init"] = type(layers.Dense(2).kernel_initializer).__name__

    with preset("flax"):
        t = threading.Thread(target=other)
        t.start()
        t.join()
        here = type(layers.Dense(2).kernel_initializer).__name__
    assert seen["init"] == "GlorotUniform" and here == "LecunNormal"


@pytest.mark.parametrize("name", ["torch", "flax", "keras"])
def test_use_preset_with_a_seed_equals_building_inside_the_preset_after_that_seed(name):
    def build():
        return keras.Sequential([keras.Input((6, 6, 3)), layers.Conv2D(4, 3, activation="relu"),
                                 layers.DepthwiseConv2D(2), layers.Flatten(), layers.Dense(8, activation="relu"),
                                 layers.Dense(3)])

    irandom.set_random_seed(7)
    with lab.preset(name):
        born_in_preset = build()
    ported = build()
    lab.use_preset(ported, name, seed=7)
    for a, b in zip(born_in_preset.get_weights(), ported.get_weights()):
        np.testing.assert_array_equal(a, b)
    lab.use_preset(ported, name, seed=8)
    assert not np.array_equal(born_in_preset.get_weights()[0], ported.get_weights()[0])
