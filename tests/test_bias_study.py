"""The bias study (docs/bias_study_protocol.md): its laws, its statistics, its arms drawn through
initium's initializers, its batched LSUV and training against lab.lsuv and fit, and a tiny end-to-end run."""

import importlib
import json
import math

import numpy as np
import pytest
import torch

import initium as keras
from initium import initializers, lab
from initium import layers as L
from initium import random as irandom
from initium.cli import main
bs = importlib.import_module("initium.lab.bias_study")  # the module (initium.lab.bias_study is the function)


@pytest.fixture(scope="module")
def tiny():
    return bs.bias_study("tiny")


def test_the_born_dead_law_and_the_entropy_reproduce_the_published_numbers():
    # docs/bias_study_protocol.md §4.1 and §4.5: H = 10 hidden layers; TF imbalanced-data tutorial: 0.69314 -> 0.01317 at p = 0.0018.
    for (n, h), want in {(2, 10): 0.9437, (4, 10): 0.4755, (8, 10): 0.0384, (16, 10): 0.0002, (4, 50): 0.9603}.items():
        assert round(bs.born_dead_law(n, h), 4) == want
    assert round(bs.binary_entropy(0.0018), 5) == 0.01317
    assert bs.binary_entropy(0.5) == pytest.approx(math.log(2), abs=1e-15)


def test_paired_statistics_and_flags():
    base = np.array([0.90, 0.92, 0.91, 0.93, 0.89])
    same = base + np.array([0.001, -0.001, 0.0, 0.002, -0.002])
    better = base + np.array([0.020, 0.022, 0.018, 0.021, 0.019])
    st = bs.paired({"zeros": base, "same": same, "better": better})
    assert st["zeros"]["mean"] == pytest.approx(0.91)
    assert st["zeros"]["se"] == pytest.approx(np.std(base, ddof=1) / math.sqrt(5))
    d = better - base
    assert st["better"]["diff"] == pytest.approx(d.mean())
    assert st["better"]["diff_se"] == pytest.approx(np.std(d, ddof=1) / math.sqrt(5))
    assert st["better"]["flag"] and not st["same"]["flag"]
    assert "diff" not in st["zeros"]
    # A constant, non-zero difference has SE 0 and is flagged; an identical arm is not.
    st = bs.paired({"zeros": base, "shift": base + 0.1, "copy": base.copy()})
    assert st["shift"]["flag"] and not st["copy"]["flag"]


# Each arm's identifier, and the initializer a per-net layer would call for the same weight.
PER_NET = [
    ("normal0.05", "bias", lambda g, fi: initializers.RandomNormal(0.0, 0.05, seed=g)),
    ("uniform0.1", "bias", lambda g, fi: initializers.RandomUniform(-0.1, 0.1, seed=g)),
    ("torch", "bias", lambda g, fi: initializers.TorchDefault(fan_in=fi, seed=g)),
    ("he_bias", "bias", lambda g, fi: initializers.HeNormal(seed=g)),
    ("rai_control", "kernel", lambda g, fi: initializers.VarianceScaling(0.6007 ** 2, "fan_in", "untruncated_normal",
                                                                          seed=g)),
]


@pytest.mark.parametrize("arm, which, make", PER_NET, ids=[p[0] for p in PER_NET])
def test_each_arm_is_drawn_by_its_registered_initializer(arm, which, make):
    nets, fan_in, units = 3000, 48, 32
    shape = (units,) if which == "bias" else (fan_in, units)
    spec = bs._ARM[arm]
    got = bs.draw(getattr(spec, which), shape, nets, irandom.SeedGenerator(11), fan_in=fan_in).double()
    assert got.shape == (nets, *shape)
    per_net = make(irandom.SeedGenerator(11), fan_in)
    # Net 0 is, bit for bit, what the registered initializer draws for one net with the same Philox key.
    torch.testing.assert_close(got[0], per_net(shape).double(), rtol=0, atol=0)
    # All nets together have that initializer's distribution (so the fans are the per-net ones).
    want = per_net.expected_stats(shape)
    n, sd = got.numel(), float(got.std())
    assert abs(float(got.mean()) - want["mean"]) < 5 * sd / math.sqrt(n)
    # SE of a sample std ~ std * sqrt((2 + kurtosis) / (4 n)); 2 bounds every kurtosis used here.
    assert abs(sd / want["std"] - 1) < 5 * math.sqrt(2 / (4 * n))
    assert float(got.min()) >= want["min"] and float(got.max()) <= want["max"]


@pytest.mark.parametrize("kernel, per_net", [("he_normal", initializers.HeNormal),
                                             ("glorot_uniform", initializers.GlorotUniform)])
def test_the_cells_kernels_are_keras_he_and_glorot_per_net(kernel, per_net):
    got = bs.draw(kernel, (64, 16), 500, irandom.SeedGenerator(4)).double()
    torch.testing.assert_close(got[0], per_net(seed=irandom.SeedGenerator(4))((64, 16)).double(), rtol=0, atol=0)
    want = per_net().expected_stats((64, 16))
    assert abs(float(got.std()) / want["std"] - 1) < 5 * math.sqrt(2 / (4 * got.numel()))


def test_deterministic_arms_and_every_identifier_resolve_to_registered_initializers():
    for arm in bs.ARMS:
        for ident in (arm.bias, arm.kernel):
            if ident is None or ident == bs.RAI:
                continue
            init = initializers.get(ident)
            assert initializers.ALL_OBJECTS[type(init).__name__] is type(init), (arm.name, init)
    b = bs.draw(bs._ARM["const0.1"].bias, (5,), 4, irandom.SeedGenerator(0))
    torch.testing.assert_close(b, torch.full((4, 5), 0.1))
    assert float(bs.draw("zeros", (5,), 4).abs().max()) == 0.0
    y = np.array([0, 0, 1, 0, 0, 0, 1, 0])
    prior = bs.draw(initializers.PriorBias(y=y, kind="sigmoid"), (1,), 3)
    torch.testing.assert_close(prior, torch.full((3, 1), float(lab.bias_from_priors(y)[0])))
    assert float(prior[0, 0]) == pytest.approx(math.log(0.25 / 0.75))
    with pytest.raises(ValueError, match="cannot be batched by shape; use lsuv_kernels"):
        bs.draw("orthogonal", (4, 4), 2, irandom.SeedGenerator(0))


def test_the_report_names_each_arm_by_the_initializer_drawn():
    rows = {r[0]: r for r in bs.arm_rows()}
    assert rows["normal0.05"][1] == "RandomNormal(mean=0, stddev=0.05)"
    assert rows["uniform0.1"][1] == "RandomUniform(minval=-0.1, maxval=0.1)"
    assert rows["torch"][1] == "TorchDefault(fan_in=layer's)"
    assert rows["he_bias"][1] == "HeNormal()"
    assert rows["rai_control"][2].startswith("VarianceScaling(scale=0.36084, mode=fan_in")
    assert rows["lsuv"][2].startswith("LSUV(gain=1, tol=0.1, max_iter=10)")
    assert "no RAI initializer" in rows["rai"][2]


def test_rai_gives_each_unit_one_beta_coordinate_and_the_rest_at_rai_scale():
    nets, fan_in, units = 2000, 3, 8
    w, b = bs.rai_layer(nets, fan_in, units, bs._Rng(1).gen("rai"))
    v = torch.cat([w.transpose(1, 2), b.unsqueeze(-1)], dim=-1).double()  # (nets, units, fan_in + 1)
    assert w.shape == (nets, fan_in, units) and b.shape == (nets, units)
    # Every unit has a coordinate in (0, 1] (the Beta(2, 1) draw); the mean of all coordinates is
    # E[Beta(2,1)] / (fan_in + 1) = (2/3) / 4.
    assert bool((v.amax(-1) > 0).all())
    n = v.numel()
    assert abs(float(v.mean()) - (2 / 3) / (fan_in + 1)) < 5 * float(v.std()) / math.sqrt(n)


def _mlp(d_in, widths, d_out):
    return keras.Sequential([keras.Input((d_in,))] + [L.Dense(w, activation="relu") for w in widths]
                            + [L.Dense(d_out)])


def test_batched_lsuv_gives_unit_pre_activation_variance_per_net():
    x = irandom.normal((300, 16), seed=0)
    layers = bs.make_nets("lsuv", "he_normal", [12, 12, 12], 16, 0, 50, bs._Rng(2), "t", calib=x)
    h = x
    for w, b in layers:  # an independent forward: torch ops only
        z = h @ w + b.unsqueeze(1)
        var = z.double().var(dim=(1, 2), unbiased=False)
        assert float((var - 1).abs().max()) < 0.1  # LSUV's default tol
        h = torch.relu(z)
        assert float(b.abs().max()) == 0.0
        gram = w.double().transpose(1, 2) @ w.double()  # columns orthogonal, each of the same norm
        scale2 = gram.diagonal(dim1=1, dim2=2)
        torch.testing.assert_close(gram, torch.diag_embed(scale2), atol=1e-5, rtol=0)
        torch.testing.assert_close(scale2, scale2[:, :1].expand_as(scale2), atol=1e-5, rtol=1e-5)


def test_batched_lsuv_equals_lab_lsuv_on_an_initium_sequential():
    x = irandom.normal((300, 16), seed=0)
    widths, nets = [12, 20, 7], 4
    rng = bs._Rng(2)
    layers = bs.make_nets("lsuv", "he_normal", widths, 16, 10, nets, rng, "t", calib=x)
    assert rng.lsuv == {"t": {"nets": nets, "refused": 0}}
    # Net 0: lab.lsuv itself, drawing its orthogonal kernels from the same seed, gives the same kernels.
    key = bs._Rng(2).gen("lsuv", "t").seed
    model = _mlp(16, widths, 10)
    result = lab.lsuv(model, x.numpy(), seed=key)
    assert max(r["iterations"] for r in result) >= 1  # it did scale
    for i in range(len(widths)):
        torch.testing.assert_close(model.layers[i].kernel.detach(), layers[i][0][0], rtol=1e-6, atol=1e-7)
    # Every net: lab.lsuv scaling the batch's orthogonal draws (orthogonal=False) gives the same kernels.
    gen, init = irandom.SeedGenerator(key), initializers.LSUV()
    dims = [16, *widths]
    bases = [bs.lsuv_kernels(init, nets, dims[i], dims[i + 1], gen) for i in range(len(widths))]
    for k in range(nets):
        model = _mlp(16, widths, 10)
        model.set_weights([a for base in bases for a in (base[k].numpy(), np.zeros(base.shape[2], np.float32))]
                          + [layers[-1][0][k].numpy(), np.zeros(10, np.float32)])
        lab.lsuv(model, x.numpy(), orthogonal=False)
        for i in range(len(widths)):
            torch.testing.assert_close(model.layers[i].kernel.detach(), layers[i][0][k], rtol=1e-6, atol=1e-7)


def test_batched_lsuv_keeps_a_kernel_where_lab_lsuv_refuses_and_counts_the_net():
    x = irandom.normal((64, 2), seed=1)
    rng = bs._Rng(0)
    layers = bs.make_nets("lsuv", "he_normal", [2] * 12, 2, 0, 200, rng, "dead", calib=x)
    counts = rng.lsuv["dead"]
    assert counts["nets"] == 200 and 0 < counts["refused"] < 200  # 2-wide, 12 deep: many layers die
    h, constant = x, torch.zeros(200, dtype=torch.bool)
    for w, b in layers:
        z = h @ w + b.unsqueeze(1)
        constant |= z.double().var(dim=(1, 2), unbiased=False) == 0
        h = torch.relu(z)
    assert int(constant.sum()) == counts["refused"]


@pytest.mark.parametrize("kind", ["mse full batch", "ce mini-batch"])
def test_batched_training_equals_fit_with_initiums_adam(kind):
    """Given the same batches, each net's 20 Adam steps equal Model.fit on an initium Sequential."""
    steps, rng = 20, bs._Rng(3)
    if kind == "mse full batch":  # M8's path: all 256 points per step, in order
        x, y = bs._abs_data()
        d_in, widths, d_out, order, loss = 1, [8, 8, 8], 1, None, "mse"
        fit_kw = {"batch_size": 256, "epochs": steps}
    else:  # M5-M7's path: batches of 64 in the order the study drew
        x, y, _, _ = bs._digits("std")
        d_in, widths, d_out, loss = 64, [16, 16], 10, "ce"
        order = bs._orders(3, len(x), steps, 64, rng, "fit")
        fit_kw = {"batch_size": 64, "epochs": 1}
    layers = bs.make_nets("torch", "he_normal", widths, d_in, d_out, 3, rng, "fit")
    start = [[t.clone() for t in pair] for pair in layers]
    bs._train(layers, len(widths), x, y, order, (0, steps), loss)
    for k in range(3):
        model = _mlp(d_in, widths, d_out)
        model.set_weights([t[k].numpy() for pair in start for t in pair])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                      loss="mse" if loss == "mse" else keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        idx = np.arange(len(x)) if order is None else order[k].numpy()
        model.fit(x.numpy()[idx], y.numpy()[idx], shuffle=False, verbose=0, **fit_kw)
        for got, want in zip(model.get_weights(), [t[k] for pair in layers for t in pair]):
            np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-6)
        moved = max(float((a - b[k]).abs().max()) for pa, pb in zip(layers, start) for a, b in zip(pa, pb))
        assert moved > 1e-3  # the nets did train


def test_data_orders_are_philox_permutations_paired_by_seed_and_distinct_per_cell():
    rng = bs._Rng(0)
    a = bs._orders(2, 100, 5, 64, rng, "train-he_normal-64-1")
    assert a.shape == (2, 320)
    for row in a:
        for lo in range(0, 300, 100):
            assert sorted(row[lo:lo + 100].tolist()) == list(range(100))
    torch.testing.assert_close(a, bs._orders(2, 100, 5, 64, bs._Rng(0), "train-he_normal-64-1"))
    first = irandom.shuffle(torch.arange(100), seed=rng.gen("order", "train-he_normal-64-1", 0))
    torch.testing.assert_close(a[0, :100], first)
    # Cells whose names have the same length get their own orders (they shared one before).
    b = bs._orders(2, 100, 5, 64, rng, "train-he_normal-64-3")
    assert not torch.equal(a, b)
    assert not torch.equal(a[0], a[1])


def test_the_batched_nets_compute_what_an_initium_sequential_computes():
    x = np.random.default_rng(0).standard_normal((40, 64)).astype(np.float32)
    layers = bs.make_nets("normal0.05", "he_normal", [16, 16], 64, 10, 3, bs._Rng(3), "eq")
    for net in range(3):
        assert bs.forward_equals_model(layers, x, net) < 1e-5


def test_tiny_study_m1_symmetric_arms_follow_the_law_within_3_se(tiny):
    checks = tiny.results["M1"]["law_checks"]
    symmetric = {a.name for a in bs.ARMS if a.symmetric}
    assert {c["arm"] for c in checks} == symmetric
    for c in checks:
        assert c["agrees"], c
        assert abs(c["z"]) <= 3
    # The asymmetric arms are lower than zeros beyond 2 SE of the paired differences in every cell.
    for arm in ("const0.1", "rai"):
        for cell, st in tiny.results["M1"]["cells"][arm].items():
            assert st["diff"] < 0 and st["flag"], (arm, cell, st)


def test_tiny_study_at_init_metrics_match_their_references(tiny):
    m23 = tiny.results["M2/M3"]
    for arm in bs.ARM_NAMES:
        # width 64, standardized inputs: at most 0.002 dead units and no born-dead net, for every arm
        assert m23[arm]["64x3-std"]["dead"]["mean"] <= 0.002
        assert m23[arm]["64x3-std"]["born_dead"]["mean"] == 0.0
    zeros_raw = m23["zeros"]["64x3-raw"]["dead"]
    # the calibration in docs/bias_study_protocol.md §8: 0.040
    assert abs(zeros_raw["mean"] - 0.040) < 4 * zeros_raw["se"] + 0.005
    m4 = tiny.results["M4"]["zeros"]
    for kern, ref in (("he_normal", 1.0), ("glorot_uniform", 0.5)):
        st = m4[kern]["ratio"]
        assert abs(st["mean"] - ref) < 4 * st["se"], (kern, st)
    # LSUV holds every layer's variance within its tol (0.1) of 1, so the ratio is about 1 whatever the kernel
    for kern in ("he_normal", "glorot_uniform"):
        assert abs(tiny.results["M4"]["lsuv"][kern]["ratio"]["mean"] - 1) < 0.1


def test_tiny_study_prior_bias_gives_h_of_p_exactly_with_a_zero_output_kernel(tiny):
    pr = tiny.results["M5 prior"]
    assert pr["exact_loss0"]["zeros"] == pytest.approx(math.log(2), abs=1e-6)
    assert pr["exact_loss0"]["prior"] == pytest.approx(pr["H_p0"], abs=1e-6)
    assert pr["H_p0"] == pytest.approx(bs.binary_entropy(pr["p0"]))
    assert pr["l0"]["prior"]["mean"] < pr["l0"]["zeros"]["mean"]
    # the prior arm's bias is PriorBias(y), i.e. lab.bias_from_priors(y): log(p0 / (1 - p0))
    (_, ytr), _ = keras.datasets.digits.load_data()
    assert pr["b0"] == pytest.approx(float(lab.bias_from_priors((ytr == 0).astype(int))[0]), abs=1e-12)
    assert pr["b0"] == pytest.approx(math.log(pr["p0"] / (1 - pr["p0"])), abs=1e-9)


def test_tiny_study_prints_every_metric_with_its_reference_and_a_verdict_from_the_numbers(tiny):
    text = "\n".join(tiny.lines())
    for key in ("M1", "M2", "M3", "M4", "M5-M7", "M5 prior", "M8"):
        assert f"\n{key}  " in "\n" + text
    assert text.count("    reference: ") == len(tiny.tables) == 7
    assert "law 1-(1-2^-N)^H" in text and f"ln 10 = {math.log(10):.4f}" in text and "H(p0)" in text
    for t in tiny.tables:
        if t.key in ("M1", "M2", "M3", "M4", "M8"):
            assert {r[0] for r in t.rows} >= set(bs.ARM_NAMES)
    assert len(tiny.verdict) >= 6
    n = len(tiny.results["M1"]["law_checks"])
    assert f"{n} of {n} cells" in tiny.verdict[0]
    assert "prior bias" in tiny.conclusion
    # the arms as drawn, and where the batched study differs from fit, with the LSUV count of this run
    assert "Arms  each arm's hidden-layer initializers, as drawn" in text
    assert "RandomNormal(mean=0, stddev=0.05)" in text and "TorchDefault(fan_in=layer's)" in text
    lsuv = tiny.results["LSUV"]
    assert set(lsuv) == {"M1", "M2/M3", "M4", "M5-M7", "M8"}
    assert all(c["nets"] > 0 and 0 <= c["refused"] <= c["nets"] for c in lsuv.values())
    assert "where it differs from fit" in text
    assert "per measure: " + "; ".join(f"{m} {c['refused']} of {c['nets']}" for m, c in lsuv.items()) in text
    assert len(tiny.how) >= 6


def test_outputs_markdown_json_and_figures(tiny, tmp_path):
    paths = bs.write_outputs(tiny, str(tmp_path))
    md = (tmp_path / "bias_study.md").read_text()
    assert "### M1" in md and "**Verdict.**" in md and "m1_born_dead.png" in md
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["profile"] == "tiny" and data["conclusion"] == tiny.conclusion
    assert data["arms"] == tiny.arms.rows and data["how"] == tiny.how
    assert "### Arms — each arm's hidden-layer initializers" in md and "| normal0.05 | RandomNormal(mean=0" in md
    assert "## How this study runs, and where it differs from `fit`" in md
    assert "(../bias_study_protocol.md)" in md
    # every table row has as many cells as its header: "|" inside a cell (|Δ|, |x|) is escaped
    for block in md.split("\n\n"):
        lines = [ln.replace("\\|", "") for ln in block.splitlines() if ln.startswith("|")]
        assert len({ln.count("|") for ln in lines}) <= 1, block
    assert "\\|Δ\\|" in md
    pngs = [p for p in paths if p.endswith(".png")]
    assert len(pngs) == 3
    for p in pngs:
        with open(p, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_numbers_and_a_subset_of_arms():
    a = bs.m1_born_dead_point(bs.PROFILES["tiny"], bs._Rng(5), ("zeros", "rai"))[1]
    b = bs.m1_born_dead_point(bs.PROFILES["tiny"], bs._Rng(5), ("zeros", "rai"))[1]
    assert a["cells"]["rai"] == b["cells"]["rai"]
    c = bs.m1_born_dead_point(bs.PROFILES["tiny"], bs._Rng(6), ("zeros", "rai"))[1]
    assert a["cells"]["rai"] != c["cells"]["rai"]


def test_argument_errors():
    with pytest.raises(ValueError, match="unknown profile 'quik'. Did you mean 'quick'"):
        bs.bias_study("quik")
    with pytest.raises(ValueError, match="`seeds` must be an integer >= 2"):
        bs.bias_study("tiny", seeds=1)
    with pytest.raises(ValueError, match="`seed` must be a non-negative integer. Received: seed='0'"):
        bs.bias_study("tiny", seed="0")
    with pytest.raises(ValueError, match=r"unknown arm\(s\) \['nope'\]"):
        bs.bias_study("tiny", arms=("nope",))


def test_cli_runs_the_study_and_prints_what_it_returns(tiny, capsys, monkeypatch):
    calls = []

    def run(profile, **kwargs):  # the tiny run the other tests use, instead of a second one
        calls.append((profile, kwargs))
        return tiny

    monkeypatch.setattr(bs, "bias_study", run)
    assert main(["bias-study", "--tiny", "--seeds", "3"]) == 0
    assert calls == [("tiny", {"seeds": 3, "out_dir": None, "print_fn": print})]
    out = capsys.readouterr().out
    assert "profile 'tiny' (protocol: docs/bias_study_protocol.md)" in out
    assert out.rstrip().endswith("Verdict: " + tiny.conclusion) and "\n".join(tiny.lines()) in out


def test_cli_reports_a_study_error_in_one_line(capsys, monkeypatch):
    def fail(profile, **kwargs):
        raise ValueError("bias_study: `seeds` must be an integer >= 2")

    monkeypatch.setattr(bs, "bias_study", fail)
    assert main(["bias-study", "--tiny", "--seeds", "1"]) == 2
    assert "initium bias-study: error: bias_study: `seeds` must be" in capsys.readouterr().out


def test_law_consistency_allows_the_misses_chance_gives_and_no_more():
    ok, expected = bs.law_consistent(0, 35)
    assert ok and expected == pytest.approx(35 * math.erfc(3 / math.sqrt(2)))
    assert bs.law_consistent(1, 168)[0]  # 0.45 misses expected: one is chance
    assert not bs.law_consistent(4, 35)[0]  # P(>= 4 of 35 at q = 0.0027) ~ 3e-6


def test_a_vanishing_signal_is_not_counted_as_a_constant_layer():
    # rai_control's kernel scale (0.6007² / fan_in) shrinks the signal ~5x per layer; tiny is not constant.
    x = torch.randn(200, 8, generator=torch.Generator().manual_seed(1))
    layers = bs.make_nets("rai_control", "he_normal", [16] * 20, 8, 0, 20, bs._Rng(4), "v")
    _, pre = bs.forward(layers, x, 20)
    h = torch.relu(pre[-1])
    assert float(h.abs().max()) < 1e-6  # it did shrink
    spread = (h.amax(1) - h.amin(1)).amax(-1)
    assert bool((spread > bs.CONST_REL * h.abs().amax(dim=(1, 2))).all())
