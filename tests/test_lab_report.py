"""initium.lab.report and initium.lab.ActivationMonitor."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import initium as keras
from initium import activations
from initium import initializers as I
import initium.lab
from initium.lab import ActivationMonitor
from initium.lab.report import Report, cli_report, load_report_data, report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _mlp(init: str, seed: int, depth: int = 10, width: int = 256) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.layers.Input((width,))] + [
        keras.layers.Dense(width, activation="relu", kernel_initializer=init) for _ in range(depth)])


def _gauss(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype("float32")


# ------------------------------------------------------------------------------ acceptance
def test_broken_bias_layer_is_dead_and_flagged():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.layers.Input((64,)),
        keras.layers.Dense(64, activation="relu", bias_initializer=I.Constant(-10.0), name="broken"),
        keras.layers.Dense(32, activation="relu", kernel_initializer="he_normal", name="fine"),
        keras.layers.Dense(10, activation="softmax", name="out"),
    ])
    x = np.random.default_rng(0).uniform(0, 1, (300, 64)).astype("float32")
    rep = report(model, x)
    rows = {r["layer"]: r for r in rep.layers}
    assert rows["broken"]["dead_share"] == 1.0 and rows["broken"]["dead_units"] == 64
    assert any(f.startswith("broken:") and "dead" in f for f in rep.flags)
    # the layer after it sees only zeros: its pre-activation second moment collapses, and that is flagged too
    assert rows["fine"]["pre_second_moment"] == 0.0
    # the Constant bias itself matches its initializer exactly: no weight flag for it
    assert not any("broken/bias" in f for f in rep.flags)


@pytest.mark.parametrize("init, target", [("he_normal", 1.0), ("glorot_uniform", 0.5)])
def test_second_moment_ratio_he_one_glorot_half(init, target):
    # He: q_l / q_{l-1} = fan_in * Var(W) * 1/2 = 1; Glorot on square layers: n * 2/(2n) * 1/2 = 0.5.
    # The per-layer standard error (across units) is about 0.03-0.08 at width 256 (it grows with
    # depth: Hanin & Rolnick's FM2); 4 SE per layer, and the mean of 9 ratios within 2.5 of its SE.
    rep = report(_mlp(init, seed=0), _gauss(1024, 256))
    ratios = [(r["second_moment_ratio"], r["ratio_se"], r["expected_ratio"]) for r in rep.layers
              if r["second_moment_ratio"] is not None]
    assert len(ratios) == 9
    for ratio, se, expected in ratios:
        assert 0 < se < 0.1 * target * 1.5
        assert abs(ratio - target) < 4 * se, (ratio, se)
        assert abs(expected - target) < 0.03 * target  # from the observed weights: n * mean(W²) * 1/2
    mean_se = math.sqrt(sum(se * se for _, se, _ in ratios)) / len(ratios)
    assert abs(np.mean([r for r, _, _ in ratios]) - target) < 2.5 * mean_se
    assert not any("dead" in f or "ratio" in f for f in rep.flags)
    vanishes = any("signal vanishes" in f for f in rep.flags)
    assert vanishes == (init == "glorot_uniform")  # 0.5**9 = 0.002


# ------------------------------------------------------------------------------ weights
def test_expected_vs_observed_std_no_false_flags():
    inits = [I.HeNormal(seed=1), I.HeUniform(seed=2), I.GlorotNormal(seed=3), I.GlorotUniform(seed=4),
             I.LecunNormal(seed=5), I.LecunUniform(seed=6), I.RandomNormal(0.1, 0.02, seed=7),
             I.RandomUniform(-0.3, 0.1, seed=8), I.TruncatedNormal(0.0, 0.5, seed=9), I.Orthogonal(gain=2.0, seed=10),
             I.VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=11), I.Zeros(), I.Ones(), I.Constant(0.3),
             I.Identity(1.5)]
    layers = [keras.layers.Dense(48, kernel_initializer=init, name=f"d{i}") for i, init in enumerate(inits)]
    model = keras.Sequential([keras.layers.Input((48,)), *layers])
    rep = report(model)
    assert rep.flags == []
    kernels = {w["layer"]: w for w in rep.weights if w["name"] == "kernel"}
    assert kernels["d0"]["expected_std"] == pytest.approx(math.sqrt(2 / 48))
    assert kernels["d8"]["expected_std"] == pytest.approx(0.5 * 0.87962566103423978)
    assert kernels["d9"]["expected_std"] == pytest.approx(2.0 / math.sqrt(48))
    assert kernels["d11"]["expected_std"] == 0.0 and kernels["d11"]["observed_std"] == 0.0
    assert kernels["d0"]["fan_in_axes"] == [0] and kernels["d0"]["fan_out_axes"] == [1]
    assert kernels["d0"]["seed"] == 1


def test_wrong_weight_is_flagged_and_custom_initializer_is_unknown():
    def my_init(shape, dtype=None):
        return np.full(shape, 0.01)

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Input((64,)), keras.layers.Dense(128, kernel_initializer="he_normal", name="a"),
                              keras.layers.Dense(8, kernel_initializer=my_init, name="b")])
    model.layers[0].kernel.assign(model.layers[0].kernel.detach() * 3)
    rep = report(model)
    (flag,) = [f for f in rep.flags if "a/kernel" in f]
    assert "observed std" in flag and "HeNormal" in flag and "standard errors" in flag
    a = next(w for w in rep.weights if w["path"].endswith("a/kernel"))
    assert a["std_ratio"] == pytest.approx(3.0, rel=0.02)
    b = next(w for w in rep.weights if w["path"].endswith("b/kernel"))
    assert b["expected_std"] is None and b["initializer"] == "my_init"
    assert not any("b/kernel" in f for f in rep.flags)
    assert "unknown" in str(rep)


def test_fan_flags_depthwise_grouped_and_bias():
    keras.utils.set_random_seed(0)
    inp = keras.layers.Input((8, 8, 4))
    h = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw")(inp)
    h = keras.layers.Conv2D(16, 3, groups=4, kernel_initializer="glorot_uniform", name="grouped_glorot")(h)
    h = keras.layers.Conv2D(16, 3, groups=4, kernel_initializer="he_normal", name="grouped_he")(h)
    out = keras.layers.Dense(4, bias_initializer="he_normal", name="he_bias")(keras.layers.Flatten()(h))
    rep = report(keras.Model(inp, out))
    w = {r["path"]: r for r in rep.weights}
    dw = w["dw/kernel"]
    assert (dw["fan_in"], dw["fan_out"]) == (36, 18) and (dw["true_fan_in"], dw["true_fan_out"]) == (9, 18)
    assert dw["fan_in_axes"] == [0, 1, 2] and dw["fan_out_axes"] == [0, 1, 3]
    gg = w["grouped_glorot/kernel"]
    assert (gg["fan_in"], gg["fan_out"]) == (18, 144) and (gg["true_fan_in"], gg["true_fan_out"]) == (18, 36)
    flagged = {f.split(":")[0] for f in rep.flags}
    assert {"dw/kernel", "grouped_glorot/kernel", "he_bias/bias"} <= flagged
    # He uses fan_in only, which compute_fans gets right for a grouped kernel: reported, not flagged
    assert "grouped_he/kernel" not in flagged and w["grouped_he/kernel"]["true_fan_out"] == 36


# ------------------------------------------------------------------------------ loss
def test_initial_loss_of_a_zero_output_model_is_exactly_ln_k():
    model = keras.Sequential([keras.layers.Input((5,)), keras.layers.Dense(10, activation="softmax",
                                                                            kernel_initializer="zeros")])
    x = _gauss(200, 5)
    y = np.arange(200) % 10
    rep = report(model, x, y)
    assert rep.initial_loss == pytest.approx(math.log(10), abs=1e-12)
    assert rep.reference_loss == pytest.approx(math.log(10), abs=1e-12)
    assert rep.reference_kind.startswith("ln k") and "balanced" in rep.reference_kind
    assert report(model, x).initial_loss == pytest.approx(math.log(10), abs=1e-12)  # no labels: uniform labels
    # one-hot labels, and logits (a linear output) given labels
    onehot = np.eye(10)[y]
    assert report(model, x, onehot).initial_loss == pytest.approx(math.log(10), abs=1e-12)
    linear = keras.Sequential([keras.layers.Input((5,)), keras.layers.Dense(10, kernel_initializer="zeros")])
    assert report(linear, x, y).initial_loss == pytest.approx(math.log(10), abs=1e-12)
    # unbalanced labels: the reference is the entropy of the priors, and the uniform model is above it
    y2 = np.r_[np.zeros(150, int), np.arange(50) % 10]
    rep2 = report(model, x, y2)
    p = np.bincount(y2, minlength=10) / 200
    assert rep2.reference_loss == pytest.approx(float(-(p * np.log(p)).sum()))
    assert rep2.reference_kind.startswith("H(label priors)")
    assert any("initial loss" in f for f in rep2.flags)


# ------------------------------------------------------------------------------ forms
def _plain_types(v) -> bool:
    if isinstance(v, dict):
        return all(isinstance(k, str) and _plain_types(x) for k, x in v.items())
    if isinstance(v, list):
        return all(_plain_types(x) for x in v)
    return v is None or type(v) in (bool, int, float, str)


def test_records_are_plain_python_and_text_has_no_escape_codes(capsys):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Input((16,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")])
    rep = report(model, _gauss(64, 16), np.arange(64) % 3)
    assert isinstance(rep, Report)
    records = rep.to_records()
    assert {r["table"] for r in records} == {"weights", "layers"}
    assert all(_plain_types(r) for r in records)
    assert _plain_types(rep.to_dict())
    json.dumps(rep.to_dict())
    lines: list[str] = []
    rep.print(print_fn=lines.append)
    text = "\n".join(lines)
    assert "\x1b" not in text and "Weights of" in text and "Initial loss" in text
    rep.print()  # stdout is not a TTY under pytest: plain text
    out = capsys.readouterr().out
    assert "\x1b" not in out and "saturated" in out


def test_rich_tables_on_a_terminal(monkeypatch, capsys):
    import re
    import sys

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Input((6,)), keras.layers.Dense(4, activation="relu")])
    rep = report(model, _gauss(20, 6))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    rep.print()
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    assert "┃" in out and "E[z²] ratio" in out  # rich table; brackets are not eaten as markup


def test_shared_layer_calls_are_separate_rows_and_model_is_unchanged():
    keras.utils.set_random_seed(0)
    inp = keras.layers.Input((8,))
    shared = keras.layers.Dense(8, activation="relu", name="shared")
    out = shared(shared(inp))
    model = keras.Model(inp, out)
    before = [w.copy() for w in model.get_weights()]
    rep = report(model, _gauss(50, 8))
    assert [r["layer"] for r in rep.layers] == ["shared", "shared#2"]
    assert shared.activation is activations.relu and not shared._forward_hooks
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_lab_report_is_the_function_whatever_the_import_order():
    import importlib
    import sys

    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(2)])
    importlib.import_module("initium.lab.report")  # as the CLI does
    assert isinstance(initium.lab.report(model), Report)
    assert callable(sys.modules["initium.lab.report"].cli_report)


def test_unbuilt_model_without_data_raises():
    model = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="not built"):
        report(model)


# ------------------------------------------------------------------------------ monitor
_SYNC_METHODS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__")


def _count_syncs(monkeypatch, counts: dict) -> None:
    for name in _SYNC_METHODS:
        orig = getattr(torch.Tensor, name)

        def wrapper(self, *a, _orig=orig, _name=name, **k):
            counts[_name] = counts.get(_name, 0) + 1
            return _orig(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, wrapper)


def test_activation_monitor_in_fit_records_on_device(monkeypatch, tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Input((20,)), keras.layers.Dense(32, activation="relu", name="h1"),
                              keras.layers.Dense(32, activation="tanh", name="h2"),
                              keras.layers.Dense(4, activation="softmax", name="out")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _gauss(640, 20), np.arange(640) % 4  # 20 steps per epoch at batch 32
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # warm-up: optimizer state, metrics
    base: dict = {}
    _count_syncs(monkeypatch, base)
    model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    monkeypatch.undo()
    mon = ActivationMonitor(every=7)
    counts: dict = {}
    _count_syncs(monkeypatch, counts)
    model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[mon])
    monkeypatch.undo()
    # 60 steps, recorded at 0, 7, ..., 56
    assert list(mon.steps) == list(range(0, 60, 7))
    assert mon.sites == ["h1", "h2", "out"]
    # no per-step host sync: the same scalar reads as plain fit, and one copy of the whole history
    for name in ("item", "tolist", "__bool__", "__float__", "__int__"):
        assert counts.get(name, 0) == base.get(name, 0), name
    assert counts.get("cpu", 0) - base.get("cpu", 0) <= 1
    hist = mon.history
    assert hist["pre_var"].shape == (9, 3)
    assert np.isfinite(hist["dead_share"][:, 0]).all() and np.isnan(hist["dead_share"][:, 1]).all()
    assert np.isfinite(hist["saturated_share"][:, 1]).all()
    assert np.isnan(hist["second_moment_ratio"][:, 0]).all() and np.isfinite(hist["second_moment_ratio"][:, 1:]).all()
    records = mon.to_records()
    assert len(records) == 9 * 3 and all(_plain_types(r) for r in records)
    # the taps are gone and the layers untouched after fit
    assert all(not layer._forward_hooks for layer in model.layers)
    assert model.layers[0].activation is activations.relu
    path = mon.plot(str(tmp_path / "monitor.png"))
    assert open(path, "rb").read(8) == PNG_MAGIC


def test_activation_monitor_arguments():
    with pytest.raises(ValueError, match="every"):
        ActivationMonitor(every=0)
    with pytest.raises(ValueError, match="max_records"):
        ActivationMonitor(max_records=0)
    model = keras.Sequential([keras.layers.Input((3,)), keras.layers.Dense(2, name="d")])
    mon = ActivationMonitor(layers=["nope"])
    mon.set_model(model)
    with pytest.raises(ValueError, match="nope"):
        mon.on_train_begin()


# ------------------------------------------------------------------------------ plot and CLI
def test_report_plot_and_cli(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    path = str(tmp_path / "m.keras")
    model.save(path)
    lines: list[str] = []
    png = tmp_path / "acts.png"
    assert cli_report(path, data="digits", plot=str(png), print_fn=lines.append) == 0
    text = "\n".join(lines)
    assert "Weights of" in text and "Activations on 450 samples" in text and "Initial loss" in text
    assert png.read_bytes()[:8] == PNG_MAGIC
    x, _ = load_report_data(model, "digits")
    assert x.shape == (450, 8, 8, 1) and x.max() <= 1.0
    with pytest.raises(ValueError, match="64"):
        load_report_data(keras.Sequential([keras.layers.Input((10,)), keras.layers.Dense(2)]), "digits")
    with pytest.raises(ValueError, match="needs activation data"):
        report(model).plot(str(tmp_path / "x.png"))
