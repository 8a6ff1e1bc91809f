"""The bias study (BIAS_STUDY.md §7): its laws, its statistics, its arms, and a tiny end-to-end run."""

import importlib
import json
import math

import numpy as np
import pytest
import torch

from initium import initializers
from initium.cli import main
bs = importlib.import_module("initium.lab.bias_study")  # the module (initium.lab.bias_study is the function)


@pytest.fixture(scope="module")
def tiny():
    return bs.bias_study("tiny")


def test_the_born_dead_law_and_the_entropy_reproduce_the_published_numbers():
    # BIAS_STUDY.md §8: H = 10 hidden layers; TF imbalanced-data tutorial: 0.69314 -> 0.01317 at p = 0.0018.
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


@pytest.mark.parametrize("arm, init, fan_in, units", [
    ("normal0.05", initializers.RandomNormal(0.0, 0.05), 64, 64),
    ("uniform0.1", initializers.RandomUniform(-0.1, 0.1), 64, 64),
    ("torch", initializers.TorchDefault(fan_in=48), 48, 64),
    ("he_bias", initializers.HeNormal(), 64, 32),
])
def test_vectorized_bias_arms_draw_what_the_registered_initializer_promises(arm, init, fan_in, units):
    nets = 4000
    b = bs._bias(arm, nets, fan_in, units, bs._Rng(0).gen("test", arm)).double()
    want = init.expected_stats((units,))
    n = b.numel()
    sd = float(b.std())
    assert abs(float(b.mean()) - want["mean"]) < 5 * sd / math.sqrt(n)
    # SE of a sample std ~ std * sqrt((2 + kurtosis) / (4 n)); 2 bounds every kurtosis used here.
    assert abs(sd / want["std"] - 1) < 5 * math.sqrt(2 / (4 * n))


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


def test_batched_lsuv_gives_unit_pre_activation_variance_per_net():
    x = torch.randn(300, 16, generator=torch.Generator().manual_seed(0))
    layers = bs.make_nets("lsuv", "he_normal", [12, 12, 12], 16, 0, 50, bs._Rng(2), "t", calib=x)
    _, pre = bs.forward(layers, x, 3)
    for z in pre:
        var = z.double().var(dim=(1, 2), unbiased=False)
        assert float((var - 1).abs().max()) < 0.01
    for w, b in layers:
        assert float(b.abs().max()) == 0.0


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
    assert abs(zeros_raw["mean"] - 0.040) < 4 * zeros_raw["se"] + 0.005  # BIAS_STUDY.md §1(b): 0.040
    m4 = tiny.results["M4"]["zeros"]
    for kern, ref in (("he_normal", 1.0), ("glorot_uniform", 0.5)):
        st = m4[kern]["ratio"]
        assert abs(st["mean"] - ref) < 4 * st["se"], (kern, st)
    # LSUV holds every layer at unit variance: the ratio is 1 whatever the kernel
    assert abs(tiny.results["M4"]["lsuv"]["glorot_uniform"]["ratio"]["mean"] - 1) < 0.01


def test_tiny_study_prior_bias_gives_h_of_p_exactly_with_a_zero_output_kernel(tiny):
    pr = tiny.results["M5 prior"]
    assert pr["exact_loss0"]["zeros"] == pytest.approx(math.log(2), abs=1e-6)
    assert pr["exact_loss0"]["prior"] == pytest.approx(pr["H_p0"], abs=1e-6)
    assert pr["H_p0"] == pytest.approx(bs.binary_entropy(pr["p0"]))
    assert pr["l0"]["prior"]["mean"] < pr["l0"]["zeros"]["mean"]


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


def test_outputs_markdown_json_and_figures(tiny, tmp_path):
    paths = bs.write_outputs(tiny, str(tmp_path))
    md = (tmp_path / "bias_study.md").read_text()
    assert "### M1" in md and "**Verdict.**" in md and "m1_born_dead.png" in md
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["profile"] == "tiny" and data["conclusion"] == tiny.conclusion
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


def test_cli_runs_the_study(capsys):
    assert main(["bias-study", "--tiny"]) == 0
    out = capsys.readouterr().out
    assert "profile 'tiny'" in out and "Verdict:" in out and "M8  collapse" in out


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
