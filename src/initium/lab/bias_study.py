"""``initium bias-study``: does a zero bias kill ReLUs? Measured by the protocol in
docs/bias_study_protocol.md (cited below by section, §).

Seed 003 says a zero bias in a ReLU ``Dense`` layer causes "dying ReLU" and slower training, and
that a random-normal or small uniform bias is better. This module measures it. Every figure is
printed next to the reference value it can be checked against (§4), as mean ± standard error (SE),
and every arm is compared with ``zeros`` on *paired* runs: the same seed gives the same kernels,
data order and split, and only the bias differs. A difference beyond 2 SE of the paired
differences is flagged ``*`` (§5).

**Arms** (§2). ``ARMS`` names each arm's hidden-layer bias initializer, and for the three arms
that replace the kernel too (``rai``, ``rai_control``, ``lsuv``) its kernel initializer, as
initializer identifiers: a name or a Keras config dict, resolved by ``initializers.get`` and drawn
through ``initializers.initialize`` (``draw``). The output layer has a zero bias, except in the
output-prior arm, whose bias is ``initializers.PriorBias(y)``. RAI is the one arm initium has no
initializer for (it draws kernel and bias as one matrix): ``rai_layer`` assembles it from
``RandomNormal`` and ``RandomUniform`` draws. LSUV uses the ``LSUV`` initializer's orthogonal draw,
gain, ``tol`` and ``max_iter`` with ``initium.lab.lsuv``'s scaling loop, batched (``lsuv_kernels``,
``lsuv_scale``); tests/test_bias_study.py checks that the result equals ``lab.lsuv`` run on an
initium ``Sequential``. The generated report lists every arm as drawn (``arm_rows``).

**Metrics** (§4). M1 born dead at one point (some hidden layer all zero at a fixed x; reference
``1 - (1 - 2^-N)^H`` for the symmetric arms); M2 dead-unit share on the data set at init; M3
born-dead net share on the data set (some hidden layer constant over all inputs); M4 second-moment
ratio ``q_l / q_{l-1}`` (1 for He, ½ for Glorot with zero bias; with a symmetric random bias the
mean-field recursion ``q_l = a·q_{l-1} + σ_b²``); M5 loss at step 0 (ln 10 on digits; H(p₀) for
the prior arm on "is it a 0?"); M6 training loss after 50 and 300 Adam steps; M7 test accuracy;
M8 collapse rate on f(x) = |x| (final MSE ≥ 0.95·Var f).

**Data** (§3). D1: the bundled digits (``initium.datasets.digits``, stratified 75/25 split),
standardized with the training set's mean and std; D1r: the same pixels scaled to [0, 1]; D2:
f(x) = |x| on 256 points in [-1, 1]; D3: digits "is it a 0?".

**How** (§7). Every cell is a *batch of nets*: kernels of shape ``(nets, fan_in, units)``, one
batched matmul per layer, trained together by one ``initium.optimizers.Adam`` over the stacked
parameters (Adam is elementwise, so this is one Adam per net). ``forward_equals_model`` checks the
batched forward against initium's ``Sequential`` on the same weights. Every random number comes
from ``initium.random`` (Philox), so a profile gives the same numbers on every machine.
``how_it_differs`` (printed in every report) says where this is not what ``Model.fit`` does;
given the same batches, each net's training equals ``fit`` on an initium ``Sequential`` (tested).

**Profiles** (§6). ``tiny`` (tests, seconds), ``quick`` (the CLI default, under 2 minutes on a
2-core CPU), ``full`` (the README figure: 10⁴ nets for M1, 20 seeds for training, 100 for M8).
With ``out_dir`` a run writes a markdown report, ``results.json`` and PNG figures.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from initium import initializers, optimizers
from initium import random as irandom
from initium.initializers.base import SeededInitializer

__all__ = ["bias_study", "cli_bias_study", "ARMS", "PROFILES", "Arm", "StudyResult", "born_dead_law",
           "binary_entropy", "paired", "forward_equals_model", "draw", "make_nets", "lsuv_kernels", "lsuv_scale",
           "arm_rows", "how_it_differs"]

PROTOCOL = "docs/bias_study_protocol.md"
RAI_SIGMA = 0.6007  # Lu et al.'s RAI scale: V ~ N(0, 0.6007² / fan_in)
FLAG_SE = 2.0  # paired differences beyond this many SE are flagged
LAW_SE = 3.0  # M1 of a symmetric arm must lie within this many SE of the law
# A layer is constant over the inputs when its outputs' spread is at most this share of their size
# (an all-zero layer has spread 0). Relative, so a net whose signal only shrinks is not "dead".
CONST_REL = 1e-5
BIAS_ONLY = ("normal0.05", "uniform0.1", "const0.01", "const0.1", "torch", "he_bias")  # change nothing else


def born_dead_law(width: int, depth: int) -> float:
    """P(some hidden layer of a width-N, depth-H ReLU net is all zero at a point) = 1 - (1 - 2^-N)^H."""
    return 1.0 - (1.0 - 2.0 ** -width) ** depth


def law_consistent(misses: int, checks: int, n_se: float = LAW_SE, alpha: float = 0.01) -> tuple[bool, float]:
    """Whether ``misses`` cells outside ``n_se`` SE of the law, out of ``checks``, is within chance:
    ``P(Binomial(checks, q) >= misses) > alpha`` with ``q = P(|Z| > n_se)``. Returns (ok, expected misses)."""
    q = math.erfc(n_se / math.sqrt(2.0))
    tail = 1.0 - sum(math.comb(checks, k) * q ** k * (1 - q) ** (checks - k) for k in range(misses))
    return tail > alpha, checks * q


def binary_entropy(p: float) -> float:
    """H(p) = -p ln p - (1 - p) ln(1 - p): the initial BCE of an output with the prior bias."""
    return float(-p * math.log(p) - (1 - p) * math.log(1 - p))


# =============================================================================================== arms
RAI = "rai"  # the kernel "identifier" of the RAI arm: drawn by rai_layer, with its bias


def _config(class_name: str, **config: Any) -> dict[str, Any]:
    return {"class_name": class_name, "config": config}


@dataclass(frozen=True)
class Arm:
    """One arm of the study (§2).

    ``bias`` is the hidden layers' bias initializer and ``kernel`` the hidden layers' kernel
    initializer, as identifiers for ``initializers.get``; ``kernel=None`` keeps the cell's kernel,
    drawn once and shared by every arm (paired runs). ``symmetric``: kernel and bias are symmetric
    about 0, so the born-dead law applies. ``sigma_b2(fan_in, units)``: the bias variance for the
    mean-field prediction of M4 (None: no prediction)."""

    name: str
    bias: Any
    role: str
    symmetric: bool
    sigma_b2: Callable[[int, int], float] | None = None
    kernel: Any = None


ARMS: tuple[Arm, ...] = (
    Arm("zeros", "zeros", "Keras's default", True, lambda fan_in, units: 0.0),
    Arm("normal0.05", _config("RandomNormal", mean=0.0, stddev=0.05), "the seed's recommendation "
        "(Keras's 'random_normal')", True, lambda fan_in, units: 0.05 ** 2),
    Arm("uniform0.1", _config("RandomUniform", minval=-0.1, maxval=0.1), "the seed's custom example", True,
        lambda fan_in, units: 0.1 ** 2 / 3),
    Arm("const0.01", _config("Constant", value=0.01), "CS231n's small constant", False),
    Arm("const0.1", _config("Constant", value=0.1), "TF's old Deep MNIST tutorial", False),
    Arm("torch", "torch_default", "PyTorch's nn.Linear default U(±1/√fan_in)", True,
        lambda fan_in, units: 1.0 / (3.0 * fan_in)),
    Arm("he_bias", "he_normal", "seed 000's HeNormal() on a bias: std √(2/units)", True,
        lambda fan_in, units: 2.0 / units),
    Arm("rai", None, "randomized asymmetric init (Lu et al. 2020)", False, kernel=RAI),
    # symmetric, but their kernels are not He/Glorot: the He/Glorot mean-field recursion does not apply
    Arm("rai_control", "zeros", "RAI's kernel scale without its asymmetry", True,
        kernel=_config("VarianceScaling", scale=RAI_SIGMA ** 2, mode="fan_in", distribution="untruncated_normal")),
    Arm("lsuv", "zeros", "Mishkin & Matas 2016: orthogonal, unit pre-activation variance on data", True,
        kernel="lsuv"),
)
ARM_NAMES = tuple(a.name for a in ARMS)
_ARM = {a.name: a for a in ARMS}


def describe(identifier: Any) -> str:
    """An initializer identifier as the call that draws it, e.g. ``RandomNormal(mean=0, stddev=0.05)``."""
    if identifier == RAI:
        return ("RAI from RandomNormal(0, 0.6007/√fan_in) on [kernel, bias] and RandomUniform(0, 1) "
                "(initium has no RAI initializer)")
    init = initializers.get(identifier)
    config = {k: v for k, v in init.get_config().items()
              if k not in ("seed", "input_axes", "output_axes") and v is not None}
    if isinstance(init, initializers.TorchDefault):
        config["fan_in"] = "layer's"
    args = ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in config.items())
    return f"{type(init).__name__}({args})"


def arm_rows(arms: tuple[str, ...] = ARM_NAMES) -> list[list[str]]:
    """``[arm, hidden bias, hidden kernel, role]`` per arm, from the identifiers the study draws."""
    rows = []
    for name in arms:
        arm = _ARM[name]
        bias = "with the kernel (RAI)" if arm.kernel == RAI else describe(arm.bias)
        kernel = "the cell's (shared by all arms)" if arm.kernel is None else describe(arm.kernel)
        if arm.kernel == "lsuv":
            kernel += ", scaled on data"
        rows.append([name, bias, kernel, arm.role])
    return rows


PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        "m1_nets": 3000, "m1_cells": [(2, 5), (4, 10)],
        "m23_nets": 40, "m23_cells": [(64, 3, "std"), (64, 3, "raw"), (3, 10, "std")],
        "m4_nets": 20, "m4_cell": (64, 6), "m4_kernels": ("he_normal", "glorot_uniform"),
        "train_seeds": 2, "train_models": [(64, 1)], "train_kernels": ("he_normal",), "steps": (50, 100),
        "prior_seeds": 2, "m8_seeds": 6, "m8_widths": [(4, 10)], "m8_steps": 150,
    },
    "quick": {
        "m1_nets": 2000, "m1_cells": [(2, 10), (3, 10), (4, 10), (4, 50), (8, 20)],
        "m23_nets": 100, "m23_cells": [(64, 3, "std"), (64, 3, "raw"), (2, 10, "std"), (4, 10, "std")],
        "m4_nets": 100, "m4_cell": (64, 10), "m4_kernels": ("he_normal", "glorot_uniform"),
        "train_seeds": 5, "train_models": [(64, 1), (64, 3)], "train_kernels": ("he_normal",), "steps": (50, 300),
        "prior_seeds": 5, "m8_seeds": 20, "m8_widths": [(3, 10), (4, 10)], "m8_steps": 1000,
    },
    "full": {
        "m1_nets": 10000, "m1_cells": [(n, h) for n in (2, 3, 4, 5, 8, 16) for h in (5, 10, 20, 50)],
        "m23_nets": 300, "m23_cells": [(64, 3, "std"), (64, 3, "raw"), (64, 10, "std"), (2, 10, "std"),
                                       (3, 10, "std"), (4, 10, "std"), (8, 20, "std"), (16, 20, "std")],
        "m4_nets": 300, "m4_cell": (64, 10), "m4_kernels": ("he_normal", "glorot_uniform"),
        "train_seeds": 20, "train_models": [(64, 1), (64, 3), (64, 10), (16, 10)],
        "train_kernels": ("he_normal", "glorot_uniform"), "steps": (50, 300),
        "prior_seeds": 20, "m8_seeds": 100, "m8_widths": [(2, 10), (3, 10), (4, 10), (5, 10), (8, 20)],
        "m8_steps": 2000,
    },
}


# =========================================================================================== numbers
_MEASURES = {"m1": "M1", "m23": "M2/M3", "m4": "M4", "train": "M5-M7", "m8": "M8"}  # cell name prefix -> measure


class _Rng:
    """Named, independent Philox streams: ``rng.gen("k", cell, layer)`` is the same on every run.

    It also counts, per measure, the nets the batched LSUV calibrated and those of them with a
    layer that ``lab.lsuv`` would have refused (``lsuv_scale``): ``lsuv[measure]["nets"/"refused"]``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.lsuv: dict[str, dict[str, int]] = {}

    def count_lsuv(self, cell: str, nets: int, refused: int) -> None:
        counts = self.lsuv.setdefault(_MEASURES.get(cell.split("-")[0], cell), {"nets": 0, "refused": 0})
        counts["nets"] += nets
        counts["refused"] += refused

    def gen(self, *names: Any) -> irandom.SeedGenerator:
        import zlib

        text = "/".join(str(n) for n in (self.seed, *names))
        return irandom.SeedGenerator(zlib.crc32(text.encode()) * 7919 + self.seed)


def draw(identifier: Any, shape: tuple[int, ...], nets: int, seed: irandom.SeedGenerator | None = None,
         fan_in: int | None = None) -> torch.Tensor:
    """``nets`` draws of the initializer ``identifier`` for one weight of ``shape``: ``(nets, *shape)``.

    The initializer is ``initializers.get(identifier)``, called through ``initializers.initialize``.
    A deterministic one (Zeros, Constant, PriorBias) is called once with ``shape`` and repeated. A
    random one is rebuilt from its config with ``seed`` and called once with the batched shape; a
    VarianceScaling (He, Glorot, ...) gets ``input_axes``/``output_axes`` naming the per-net axes,
    so its fans, hence its distribution, are those of ``shape`` (a bias ``(n,)`` has fans
    ``(n, n)``, as ``compute_fans`` says), and a ``TorchDefault`` without ``fan_in`` gets the
    layer's ``fan_in`` (as ``initium.lab.use_preset`` sets it). Every value comes from the Philox
    key the call takes from ``seed``: net 0 is exactly what the per-net call with that key draws,
    and nets 1, 2, ... continue the same stream.
    """
    init = initializers.get(identifier)
    if not isinstance(init, SeededInitializer):
        one = initializers.initialize(init, shape, "float32")
        return one.expand(nets, *shape).clone()
    if isinstance(init, initializers.Orthogonal):
        raise ValueError(f"bias_study.draw: {init!r} draws one orthogonal matrix per call and cannot be batched "
                         "by shape; use lsuv_kernels.")
    config = init.get_config()
    config["seed"] = seed
    if "input_axes" in config and config["input_axes"] is None:
        if len(shape) not in (1, 2):
            raise ValueError(f"bias_study.draw: weights of rank 1 or 2 only. Received: shape={shape}")
        # batched (nets, n): fans (n, n), as for (n,); batched (nets, in, out): fans (in, out)
        config["input_axes"], config["output_axes"] = [1], [len(shape)]
    if isinstance(init, initializers.TorchDefault) and config["fan_in"] is None:
        config["fan_in"] = fan_in
    return initializers.initialize(type(init).from_config(config), (nets, *shape), "float32")


def rai_layer(nets: int, fan_in: int, units: int, gen: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """RAI (Lu et al. 2020) for a batch of nets, from registered initializers: V of shape
    ``(units, fan_in + 1)`` from ``RandomNormal(0, 0.6007/√fan_in)``; per unit one coordinate, at a
    position from ``RandomUniform(0, 1)``, replaced by a Beta(2, 1) draw (``√u``, the inverse CDF, u
    from ``RandomUniform(0, 1)``); kernel = V[:, :-1]ᵀ, bias = V[:, -1]."""
    v = draw(_config("RandomNormal", mean=0.0, stddev=RAI_SIGMA / math.sqrt(fan_in)), (units, fan_in + 1), nets, gen)
    unit = _config("RandomUniform", minval=0.0, maxval=1.0)
    pick = (draw(unit, (units,), nets, gen) * (fan_in + 1)).long().clamp_(max=fan_in)
    beta = draw(unit, (units,), nets, gen).sqrt()
    v.scatter_(2, pick.unsqueeze(-1), beta.unsqueeze(-1))
    return v[..., :fan_in].transpose(1, 2).contiguous(), v[..., fan_in].contiguous()


def lsuv_kernels(init: initializers.LSUV, nets: int, fan_in: int, units: int, gen: Any) -> torch.Tensor:
    """Orthogonal kernels ``(nets, fan_in, units)``, each drawn as ``init`` (an ``LSUV``, i.e. an
    ``Orthogonal``) draws one: a ``(max, min)`` matrix of N(0, 1) from ``initium.random``, its QR with
    the signs of R's diagonal folded into Q, transposed when wider than tall, times ``gain``. The
    nets' matrices come from one Philox key (net 0's is exactly ``init``'s draw with that key) and
    one batched QR."""
    rows, cols = fan_in, units
    a = irandom.normal((nets, max(rows, cols), min(rows, cols)), dtype="float32", seed=gen, device="cpu")
    q, r = torch.linalg.qr(a)
    q = q * torch.where(torch.diagonal(r, dim1=-2, dim2=-1) < 0, -1.0, 1.0).unsqueeze(-2)
    if rows < cols:
        q = q.transpose(1, 2)
    return (q * init.gain if init.gain != 1 else q).contiguous()


def lsuv_scale(layers: list[list[torch.Tensor]], hidden: int, x: torch.Tensor, init: initializers.LSUV) -> int:
    """``initium.lab.lsuv``'s loop on the hidden layers of a batch of nets, in place.

    Layer by layer from the input, each net's kernel is divided by the standard deviation of its
    pre-activation on ``x`` (over batch and units, in float64) until ``|Var - 1| < init.tol`` or
    ``init.max_iter`` scalings. Where ``lab.lsuv`` raises instead (a layer constant on ``x``, e.g.
    dead units upstream, or ``tol`` missed), that net keeps the kernel as it is. Returns the number
    of such nets."""
    h = x
    refused = torch.zeros(layers[0][0].shape[0], dtype=torch.bool)
    for i in range(hidden):
        base, b = layers[i]
        scale = torch.ones(base.shape[0], dtype=torch.float64)
        w = base
        z = torch.matmul(h, w) + b.unsqueeze(1)
        var = z.double().var(dim=(1, 2), unbiased=False)
        for _ in range(init.max_iter):
            todo = ((var - 1).abs() >= init.tol) & (var > 0) & torch.isfinite(var)
            if not bool(todo.any()):
                break
            scale = torch.where(todo, scale / var.sqrt(), scale)
            w = base * scale.float().view(-1, 1, 1)
            z = torch.matmul(h, w) + b.unsqueeze(1)
            var = z.double().var(dim=(1, 2), unbiased=False)
        refused |= ~((var - 1).abs() < init.tol)
        layers[i][0] = w
        h = torch.relu(z)
    return int(refused.sum())


def make_nets(arm: str, kernel: Any, widths: list[int], d_in: int, d_out: int, nets: int, rng: _Rng, cell: str,
              calib: torch.Tensor | None = None,
              shared_kernels: list[torch.Tensor] | None = None) -> list[list[torch.Tensor]]:
    """``[[W, b], ...]`` for a batch of ``nets`` ReLU MLPs ``d_in -> widths... -> d_out`` (``d_out=0``: none).

    Kernels are the cell's (``kernel``, an initializer identifier, from the cell's stream; or
    ``shared_kernels``): the same for every arm, so runs are paired, except for the hidden layers of
    RAI, its control and LSUV, which replace them. Hidden biases are the arm's, from the arm's
    stream; the output layer's bias is zero. LSUV's kernels are drawn layer after layer from one
    generator, as ``lab.lsuv(model, x, seed=...)`` draws them, then scaled on ``calib``."""
    if arm not in _ARM:
        raise ValueError(f"bias_study: unknown arm {arm!r}. Arms: {', '.join(ARM_NAMES)}.")
    spec = _ARM[arm]
    lsuv = initializers.get(spec.kernel) if spec.kernel == "lsuv" else None
    lsuv_gen = rng.gen("lsuv", cell) if lsuv is not None else None
    dims = [d_in, *widths] + ([d_out] if d_out else [])
    layers: list[list[torch.Tensor]] = []
    for i in range(len(dims) - 1):
        fi, fo = dims[i], dims[i + 1]
        hidden = i < len(widths)
        if hidden and spec.kernel == RAI:
            layers.append(list(rai_layer(nets, fi, fo, rng.gen("rai", cell, i))))
            continue
        if hidden and lsuv is not None:
            w = lsuv_kernels(lsuv, nets, fi, fo, lsuv_gen)
        elif hidden and spec.kernel is not None:
            w = draw(spec.kernel, (fi, fo), nets, rng.gen("ctl", cell, i))
        elif shared_kernels is not None:
            w = shared_kernels[i]
        else:
            w = draw(kernel, (fi, fo), nets, rng.gen("k", cell, i))
        b = draw(spec.bias if hidden else "zeros", (fo,), nets, rng.gen("b", arm, cell, i), fan_in=fi)
        layers.append([w, b])
    if lsuv is not None:
        if calib is None:
            raise ValueError("bias_study: the lsuv arm needs calibration data.")
        rng.count_lsuv(cell, nets, lsuv_scale(layers, len(widths), calib, lsuv))
    return layers


def shared_kernels(kernel: Any, widths: list[int], d_in: int, d_out: int, nets: int, rng: _Rng,
                   cell: str) -> list[torch.Tensor]:
    """The cell's kernels for every layer, drawn once and given to every arm (paired runs)."""
    dims = [d_in, *widths] + ([d_out] if d_out else [])
    return [draw(kernel, (dims[i], dims[i + 1]), nets, rng.gen("k", cell, i)) for i in range(len(dims) - 1)]


def forward(layers: list[list[torch.Tensor]], x: torch.Tensor, hidden: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Batched forward: ``x`` (batch, d) or (nets, batch, d) -> (output or last hidden, [pre-activations])."""
    h = x
    pre = []
    for i, (w, b) in enumerate(layers):
        z = torch.matmul(h, w) + b.unsqueeze(1)
        pre.append(z)
        h = torch.relu(z) if i < hidden else z
    return h, pre


def forward_equals_model(layers: list[list[torch.Tensor]], x: np.ndarray, net: int = 0) -> float:
    """Max |difference| between the batched forward of net ``net`` and an initium ``Sequential``
    (``Dense(relu)`` hidden layers, linear output) holding the same weights."""
    from initium.layers import Dense, Input
    from initium.models import Sequential

    hidden = len(layers) - 1
    model = Sequential([Input((layers[0][0].shape[1],))]
                       + [Dense(int(w.shape[2]), activation="relu") for w, _ in layers[:-1]]
                       + [Dense(int(layers[-1][0].shape[2]))])
    model.set_weights([t[net].numpy() for pair in layers for t in pair])
    ours, _ = forward(layers, torch.as_tensor(x, dtype=torch.float32), hidden)
    theirs = model.predict(x, verbose=0)
    return float(np.abs(ours[net].numpy() - theirs).max())


# ============================================================================================= stats
def paired(values: dict[str, np.ndarray], baseline: str = "zeros") -> dict[str, dict[str, float]]:
    """Per arm: mean and SE over seeds/nets, and the paired difference from ``baseline`` with its SE
    and a flag when ``|diff| > 2 SE`` (a non-zero difference with SE 0 is flagged too)."""
    out = {}
    base = values.get(baseline)
    for arm, v in values.items():
        v = np.asarray(v, dtype=np.float64)
        n = len(v)
        se = float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        row = {"mean": float(v.mean()), "se": se, "n": n}
        if base is not None and arm != baseline and len(base) == n:
            d = v - np.asarray(base, dtype=np.float64)
            dse = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
            dm = float(d.mean())
            row.update(diff=dm, diff_se=dse,
                       flag=bool((dse > 0 and abs(dm) > FLAG_SE * dse) or (dse == 0 and dm != 0)))
        out[arm] = row
    return out


@dataclass
class Table:
    """A titled table; ``reference`` (None for the arms table) is what its numbers are checked against."""

    key: str
    title: str
    reference: str | None
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        cells = [self.columns] + self.rows
        widths = [max(len(str(r[i])) for r in cells) for i in range(len(self.columns))]
        out = [f"{self.key}  {self.title}"] + ([f"    reference: {self.reference}"] if self.reference else [])
        for j, r in enumerate(cells):
            out.append("    " + "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
            if j == 0:
                out.append("    " + "  ".join("-" * w for w in widths))
        return out

    def markdown(self) -> str:
        head = f"### {self.key} — {self.title}\n\n" + (f"Reference: {self.reference}\n\n" if self.reference else "")
        def row(cells: list) -> str:  # a "|" inside a cell would end it: escape it
            return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

        rows = [row(self.columns), "|" + "|".join("---" for _ in self.columns) + "|"] + [row(r) for r in self.rows]
        return head + "\n".join(rows) + "\n"


def _pm(mean: float, se: float, digits: int = 3) -> str:
    if se is None or math.isnan(se):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f}±{se:.{digits}f}"


def _diff(row: dict, digits: int = 3) -> str:
    if "diff" not in row:
        return "—"
    return f"{row['diff']:+.{digits}f}±{row['diff_se']:.{digits}f}" + ("*" if row["flag"] else "")


# =========================================================================================== data
def _digits(scaling: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    from initium.datasets import digits

    (xtr, ytr), (xte, yte) = digits.load_data()
    xtr = xtr.reshape(len(xtr), -1).astype(np.float64)
    xte = xte.reshape(len(xte), -1).astype(np.float64)
    if scaling == "raw":
        xtr, xte = xtr / 16.0, xte / 16.0
    else:
        mu, sd = xtr.mean(0), xtr.std(0)
        sd[sd == 0] = 1.0
        xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    f = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return f(xtr), torch.as_tensor(ytr, dtype=torch.long), f(xte), torch.as_tensor(yte, dtype=torch.long)


def _abs_data() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.linspace(-1.0, 1.0, 256).unsqueeze(1)
    return x, x.abs()


# ========================================================================================== metrics
def m1_born_dead_point(p: dict, rng: _Rng, arms: tuple[str, ...]) -> tuple[Table, dict]:
    """M1 (§4.1): the share of nets born dead at one point, per arm and cell, and its check against the law."""
    nets = p["m1_nets"]
    x0 = torch.tensor([[0.6, -0.8]])
    calib = irandom.normal((128, 2), seed=rng.gen("m1calib"))
    table = Table("M1", f"born dead at one point (some hidden layer all zero at x = (0.6, -0.8)); {nets} nets per cell, "
                  "He-normal kernels, d_in = 2",
                  f"1 - (1 - 2^-N)^H for the symmetric arms (law, {PROTOCOL} §4.1); asymmetric arms lower. Cell: "
                  "share ± SE, then the paired difference from zeros (* beyond 2 SE)",
                  ["arm"] + [f"N={n} H={h}" for n, h in p["m1_cells"]])
    law_row = ["law 1-(1-2^-N)^H"] + [f"{born_dead_law(n, h):.4f}" for n, h in p["m1_cells"]]
    table.rows.append(law_row)
    raw: dict[str, dict[str, Any]] = {}
    per_cell: dict[str, dict[str, np.ndarray]] = {}
    for n, h in p["m1_cells"]:
        cell = f"m1-{n}-{h}"
        kernels = shared_kernels("he_normal", [n] * h, 2, 0, nets, rng, cell)
        vals = {}
        for arm in arms:
            layers = make_nets(arm, "he_normal", [n] * h, 2, 0, nets, rng, cell, calib=calib, shared_kernels=kernels)
            _, pre = forward(layers, x0, h)
            dead = torch.zeros(nets, dtype=torch.bool)
            for z in pre:
                dead |= (torch.relu(z[:, 0]) == 0).all(-1)
            vals[arm] = dead.double().numpy()
        per_cell[cell] = vals
    checks = []
    for arm in arms:
        row = [arm]
        for n, h in p["m1_cells"]:
            cell = f"m1-{n}-{h}"
            st = paired(per_cell[cell])[arm]
            law = born_dead_law(n, h)
            se_law = math.sqrt(max(law * (1 - law), 1e-12) / nets)
            z = (st["mean"] - law) / se_law
            sym = _ARM[arm].symmetric
            if sym:
                checks.append({"arm": arm, "cell": (n, h), "share": st["mean"], "law": law, "z": z,
                               "agrees": abs(z) <= LAW_SE})
            raw.setdefault(arm, {})[f"{n}x{h}"] = st
            row.append(f"{st['mean']:.4f}±{st['se']:.4f} {_diff(st, 4)}")
        table.rows.append(row)
    return table, {"cells": raw, "law_checks": checks}


def m23_dataset_dead(p: dict, rng: _Rng, arms: tuple[str, ...]) -> tuple[Table, Table, dict]:
    """M2 and M3 (§4.2, §4.3): dead units and born-dead nets at initialization, over the training inputs."""
    nets = p["m23_nets"]
    data = {s: _digits(s)[0] for s in {c[2] for c in p["m23_cells"]}}
    cols = ["arm"] + [f"{w}x{d} {s}" for w, d, s in p["m23_cells"]]
    t2 = Table("M2", f"dead-unit share at init on digits (output 0 on all {len(next(iter(data.values())))} "
               f"training inputs), He-normal kernels, {nets} nets",
               "width 64: <= 0.002 standardized, about 0.04 raw [0, 1] at depth 3, for every arm "
               f"({PROTOCOL} §4.2, §8). Cell: mean ± SE, paired difference from zeros", cols)
    t3 = Table("M3", "born-dead net share on the data (some hidden layer constant over all inputs)",
               f"0 for width >= 16; narrow nets: the calibration in {PROTOCOL} §8 (zeros 2x10: 0.873, 4x10: 0.221)",
               cols)
    raw: dict[str, Any] = {}
    res2: dict[str, dict] = {}
    res3: dict[str, dict] = {}
    for w, d, s in p["m23_cells"]:
        cell = f"m23-{w}-{d}-{s}"
        x = data[s]
        kernels = shared_kernels("he_normal", [w] * d, x.shape[1], 0, nets, rng, cell)
        dead_share, born = {}, {}
        for arm in arms:
            layers = make_nets(arm, "he_normal", [w] * d, x.shape[1], 0, nets, rng, cell, calib=x[:512],
                               shared_kernels=kernels)
            h = x
            dead = torch.zeros(nets)
            const = torch.zeros(nets, dtype=torch.bool)
            for wk, b in layers:
                h = torch.relu(torch.matmul(h, wk) + b.unsqueeze(1))
                alive = (h > 0).any(dim=1)  # (nets, units)
                dead += (~alive).sum(1).float()
                spread = (h.amax(1) - h.amin(1)).amax(-1)
                const |= spread <= CONST_REL * h.abs().amax(dim=(1, 2))
            dead_share[arm] = (dead / (w * d)).double().numpy()
            born[arm] = const.double().numpy()
        res2[cell], res3[cell] = paired(dead_share), paired(born)
    for arm in arms:
        r2, r3 = [arm], [arm]
        for w, d, s in p["m23_cells"]:
            cell = f"m23-{w}-{d}-{s}"
            r2.append(f"{_pm(res2[cell][arm]['mean'], res2[cell][arm]['se'])} {_diff(res2[cell][arm])}")
            r3.append(f"{_pm(res3[cell][arm]['mean'], res3[cell][arm]['se'])} {_diff(res3[cell][arm])}")
            raw.setdefault(arm, {})[f"{w}x{d}-{s}"] = {"dead": res2[cell][arm], "born_dead": res3[cell][arm]}
        t2.rows.append(r2)
        t3.rows.append(r3)
    return t2, t3, raw


def m4_moments(p: dict, rng: _Rng, arms: tuple[str, ...]) -> tuple[Table, dict]:
    """M4 (§4.4): the pre-activations' second moment per layer, against He/Glorot and the mean-field recursion."""
    nets = p["m4_nets"]
    w, d = p["m4_cell"]
    x = _digits("std")[0][:512]  # 512 inputs estimate q_l well enough (SE is over nets)
    cols = ["arm"]
    for k in p["m4_kernels"]:
        cols += [f"{k}: ratio", f"{k}: q_H", f"{k}: MF q_H"]
    ref_k = ", ".join(f"{k}: {1.0 if k == 'he_normal' else 0.5}" for k in p["m4_kernels"])
    table = Table("M4", f"second moment of the pre-activations, {w}x{d} on 512 standardized digits, {nets} nets",
                  f"ratio q_l/q_(l-1) over layers 2..H with zero bias: {ref_k} (He/Glorot); symmetric random bias "
                  "adds σ_b² per layer: mean-field q_l = a·q_(l-1) + σ_b² (a = 1 He, ½ Glorot), from the measured q_1 "
                  f"({PROTOCOL} §4.4)", cols)
    raw: dict[str, Any] = {}
    rows = {arm: [arm] for arm in arms}
    for kern in p["m4_kernels"]:
        # a = fan_in·Var(w)·½ (ReLU halves the second moment): He 2·½; Glorot with equal widths 1·½
        a = 1.0 if kern == "he_normal" else 0.5
        cell = f"m4-{kern}"
        kernels = shared_kernels(kern, [w] * d, x.shape[1], 0, nets, rng, cell)
        for arm in arms:
            layers = make_nets(arm, kern, [w] * d, x.shape[1], 0, nets, rng, cell, calib=x[:512], shared_kernels=kernels)
            _, pre = forward(layers, x, d)
            q = torch.stack([z.double().square().mean(dim=(1, 2)) for z in pre], 1)  # (nets, d)
            ratio = (q[:, 1:] / q[:, :-1]).mean(1).numpy()
            q_h = q[:, -1].numpy()
            sigma_b2 = _ARM[arm].sigma_b2
            mf = None
            if sigma_b2 is not None:
                qq = q[:, 0].numpy().copy()
                for _ in range(d - 1):
                    qq = a * qq + sigma_b2(w, w)
                mf = float(qq.mean())
            st_r, st_q = paired({"x": ratio})["x"], paired({"x": q_h})["x"]
            rows[arm] += [_pm(st_r["mean"], st_r["se"]), _pm(st_q["mean"], st_q["se"]), "—" if mf is None else f"{mf:.3f}"]
            raw.setdefault(arm, {})[kern] = {"ratio": st_r, "q_H": st_q, "mf_q_H": mf}
    table.rows = [rows[arm] for arm in arms]
    return table, raw


def _stack(nets: list[list[list[torch.Tensor]]]) -> list[list[torch.Tensor]]:
    """Concatenate batches of nets (same architecture) along the net axis: one training for all arms."""
    return [[torch.cat([n[i][j] for n in nets]) for j in range(2)] for i in range(len(nets[0]))]


def _train(layers: list[list[torch.Tensor]], hidden: int, x: torch.Tensor, y: torch.Tensor, order: torch.Tensor | None,
           checkpoints: tuple[int, ...], loss: str, batch: int = 64, lr: float = 1e-3) -> dict[int, torch.Tensor]:
    """``initium.optimizers.Adam`` on a batch of nets; ``order``: (nets, steps*batch) sample indices, or
    None for full-batch steps. Returns per-net full-data losses at each checkpoint step (0 = before
    training).

    The loss minimized is the sum over nets of each net's mean loss, so each net's gradient is its
    own, and Adam, being elementwise, updates each net as its own Adam would."""
    params = [t.clone().requires_grad_(True) for pair in layers for t in pair]
    pairs = [params[i:i + 2] for i in range(0, len(params), 2)]
    opt = optimizers.Adam(learning_rate=lr)
    out: dict[int, torch.Tensor] = {}

    def full_loss() -> torch.Tensor:
        with torch.no_grad():
            o, _ = forward(pairs, x, hidden)
            return _loss(o, y, loss).detach()

    last = max(checkpoints)
    for step in range(last + 1):
        if step in checkpoints:
            out[step] = full_loss()
        if step == last:
            break
        if order is None:
            xb, yb = x, y
        else:
            idx = order[:, step * batch:(step + 1) * batch]
            xb, yb = x[idx], y[idx]
        o, _ = forward(pairs, xb, hidden)
        grads = torch.autograd.grad(_loss(o, yb, loss).sum(), params)
        opt.apply(list(grads), params)
    for i, pair in enumerate(layers):
        pair[0], pair[1] = pairs[i][0].detach(), pairs[i][1].detach()
    return out


def _loss(out: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-net mean loss. ``out``: (nets, batch, k); ``y``: (batch,) or (nets, batch)."""
    nets = out.shape[0]
    if kind == "ce":
        yy = y.expand(nets, -1) if y.dim() == 1 else y
        return torch.nn.functional.cross_entropy(out.transpose(1, 2), yy, reduction="none").mean(1)
    if kind == "bce":
        yy = (y.expand(nets, -1) if y.dim() == 1 else y).float()
        return torch.nn.functional.binary_cross_entropy_with_logits(out[..., 0], yy, reduction="none").mean(1)
    yy = y.expand(nets, -1, -1) if y.dim() == 2 else y
    return (out - yy).square().mean(dim=(1, 2))


def _orders(seeds: int, n: int, steps: int, batch: int, rng: _Rng, cell: str) -> torch.Tensor:
    """Per seed, the sample indices of ``steps`` batches: Philox permutations of the ``n`` training
    samples (``initium.random.shuffle``), one after another; a batch may straddle two of them."""
    need = steps * batch
    out = []
    for s in range(seeds):
        gen = rng.gen("order", cell, s)
        perms = [irandom.shuffle(torch.arange(n), seed=gen) for _ in range(-(-need // n))]
        out.append(torch.cat(perms)[:need])
    return torch.stack(out)


def m567_training(p: dict, rng: _Rng, arms: tuple[str, ...]) -> tuple[Table, dict]:
    """M5-M7 (§4.5-§4.7): every arm trained on digits, paired by seed; loss at 0, 50 and 300 steps, test accuracy."""
    s1, s2 = p["steps"]
    seeds = p["train_seeds"]
    xtr, ytr, xte, yte = _digits("std")
    table = Table("M5-M7", f"digits, initium's Adam 1e-3, batch 64, {seeds} seeds per cell (paired: same kernels and "
                  "data order)",
                  f"M5 loss at step 0: ln 10 = {math.log(10):.4f} for a well-initialized softmax (Karpathy); "
                  f"M6 training loss after {s1} and {s2} steps; M7 test accuracy ({PROTOCOL} §4.5-§4.7). Cell: mean ± SE, "
                  "paired diff from zeros",
                  ["model", "arm", "M5 loss0", f"M6 loss{s1}", f"M6 loss{s2}", "M7 test acc", "Δacc vs zeros"])
    raw: dict[str, Any] = {}
    for kern in p["train_kernels"]:
        for w, d in p["train_models"]:
            cell = f"train-{kern}-{w}-{d}"
            order = _orders(seeds, len(xtr), s2, 64, rng, cell)
            kernels = shared_kernels(kern, [w] * d, 64, 10, seeds, rng, cell)
            res: dict[str, dict[str, np.ndarray]] = {k: {} for k in ("l0", "l1", "l2", "acc")}
            stacked = _stack([make_nets(arm, kern, [w] * d, 64, 10, seeds, rng, cell, calib=xtr[:512],
                                        shared_kernels=kernels) for arm in arms])
            losses = _train(stacked, d, xtr, ytr, order.repeat(len(arms), 1), (0, s1, s2), "ce")
            with torch.no_grad():
                o, _ = forward(stacked, xte, d)
                acc = (o.argmax(-1) == yte).double().mean(1)
            for i, arm in enumerate(arms):
                sl = slice(i * seeds, (i + 1) * seeds)
                res["l0"][arm], res["l1"][arm] = losses[0][sl].double().numpy(), losses[s1][sl].double().numpy()
                res["l2"][arm], res["acc"][arm] = losses[s2][sl].double().numpy(), acc[sl].numpy()
            st = {k: paired(v) for k, v in res.items()}
            for arm in arms:
                table.rows.append([f"{kern} {w}x{d}", arm, _pm(st["l0"][arm]["mean"], st["l0"][arm]["se"]),
                                   _pm(st["l1"][arm]["mean"], st["l1"][arm]["se"]),
                                   _pm(st["l2"][arm]["mean"], st["l2"][arm]["se"], 4),
                                   _pm(st["acc"][arm]["mean"], st["acc"][arm]["se"]), _diff(st["acc"][arm])])
                raw.setdefault(cell, {})[arm] = {k: st[k][arm] for k in st}
    return table, raw


def m5_prior(p: dict, rng: _Rng) -> tuple[Table, dict]:
    """M5 with the output prior (§4.5): zero vs ``PriorBias(y)`` output bias on "is it a 0?", exact and trained."""
    s1, s2 = p["steps"]
    seeds = p["prior_seeds"]
    xtr, ytr, xte, yte = _digits("std")
    ytr0, yte0 = (ytr == 0).long(), (yte == 0).long()
    p0 = float(ytr0.double().mean())
    h = binary_entropy(p0)
    prior = initializers.PriorBias(y=ytr0.numpy(), kind="sigmoid")  # log(p0 / (1 - p0)), by bias_from_priors
    table = Table("M5 prior", f"output-layer bias on digits 'is it a 0?' (p0 = {p0:.4f}), 64x3 ReLU, Keras-default "
                  f"glorot_uniform kernels, sigmoid output, {seeds} seeds; the prior arm's output bias is "
                  f"PriorBias(y_train) = {prior.bias[0]:.4f}",
                  f"initial BCE: ln 2 = {math.log(2):.4f} with a zero output bias and a zero output kernel; "
                  f"H(p0) = {h:.4f} with b = log(p0/(1-p0)) (TF imbalanced-data tutorial; {PROTOCOL} §4.5); random "
                  "output kernels add the logits' spread on top",
                  ["output", "M5 loss0", f"M6 loss{s1}", f"M6 loss{s2}", "M7 test acc", "Δloss0 vs zeros"])
    cell = "prior"
    order = _orders(seeds, len(xtr), s2, 64, rng, cell)
    kernels = shared_kernels("glorot_uniform", [64] * 3, 64, 1, seeds, rng, cell)
    vals: dict[str, dict[str, np.ndarray]] = {k: {} for k in ("l0", "l1", "l2", "acc")}
    exact = {}
    for arm in ("zeros", "prior"):
        layers = make_nets("zeros", "glorot_uniform", [64] * 3, 64, 1, seeds, rng, cell, shared_kernels=kernels)
        if arm == "prior":
            layers[-1][1] = draw(prior, (1,), seeds)
        zero_out = [[t.clone() for t in pair] for pair in layers]
        zero_out[-1][0] = torch.zeros_like(zero_out[-1][0])
        with torch.no_grad():
            o, _ = forward(zero_out, xtr, 3)
            exact[arm] = float(_loss(o, ytr0, "bce").mean())
        losses = _train(layers, 3, xtr, ytr0, order, (0, s1, s2), "bce")
        with torch.no_grad():
            o, _ = forward(layers, xte, 3)
            acc = ((o[..., 0] > 0).long() == yte0).double().mean(1)
        vals["l0"][arm], vals["l1"][arm] = losses[0].double().numpy(), losses[s1].double().numpy()
        vals["l2"][arm], vals["acc"][arm] = losses[s2].double().numpy(), acc.numpy()
    st = {k: paired(v) for k, v in vals.items()}
    for arm in ("zeros", "prior"):
        table.rows.append([f"{arm} bias", _pm(st["l0"][arm]["mean"], st["l0"][arm]["se"], 4),
                           _pm(st["l1"][arm]["mean"], st["l1"][arm]["se"], 4),
                           _pm(st["l2"][arm]["mean"], st["l2"][arm]["se"], 4),
                           _pm(st["acc"][arm]["mean"], st["acc"][arm]["se"]), _diff(st["l0"][arm], 4)])
    for arm, ref in (("zeros", math.log(2)), ("prior", h)):
        table.rows.append([f"{arm} bias, zero output kernel", f"{exact[arm]:.5f}", "", "", "",
                           f"ref {ref:.5f}, |Δ| {abs(exact[arm] - ref):.1e}"])
    return table, {"p0": p0, "H_p0": h, "ln2": math.log(2), "b0": prior.bias[0], "exact_loss0": exact,
                   **{k: st[k] for k in st}}


def m8_collapse(p: dict, rng: _Rng, arms: tuple[str, ...]) -> tuple[Table, dict, dict]:
    """M8 (§4.8): collapse of deep narrow nets fitting |x|, per arm, and RAI against its control by seed."""
    seeds, steps = p["m8_seeds"], p["m8_steps"]
    x, f = _abs_data()
    var_f = float(f.var(unbiased=False))
    table = Table("M8", f"collapse on f(x) = |x| (256 points in [-1, 1]), full-batch initium Adam 1e-3, {steps} steps, "
                  f"{seeds} seeds, He-normal kernels",
                  f"collapsed: final MSE >= 0.95·Var(f) = {0.95 * var_f:.4f} (no better than a constant; {PROTOCOL} "
                  "§4.8). Calibration (§8), 30 seeds, 2000 steps: zeros 0.98 (2x10), 0.83 (3x10), 0.53 (4x10); RAI "
                  "0.62, 0.43, 0.07. "
                  "Cell: born dead at init / collapsed, mean ± SE, paired diff of collapse from zeros",
                  ["arm"] + [f"{w}x{d}" for w, d in p["m8_widths"]])
    raw: dict[str, Any] = {}
    res: dict[str, dict] = {}
    born: dict[str, dict] = {}
    rvc: dict[str, dict] = {}  # RAI against its scale control, paired by seed
    for w, d in p["m8_widths"]:
        cell = f"m8-{w}-{d}"
        kernels = shared_kernels("he_normal", [w] * d, 1, 1, seeds, rng, cell)
        col, bd = {}, {}
        nets_by_arm = {arm: make_nets(arm, "he_normal", [w] * d, 1, 1, seeds, rng, cell, calib=x, shared_kernels=kernels)
                       for arm in arms}
        for arm, layers in nets_by_arm.items():
            with torch.no_grad():
                _, pre = forward(layers, x, d)
                const = torch.zeros(seeds, dtype=torch.bool)
                for z in pre[:-1]:
                    h = torch.relu(z)
                    const |= (h.amax(1) - h.amin(1)).amax(-1) <= CONST_REL * h.abs().amax(dim=(1, 2))
            bd[arm] = const.double().numpy()
        stacked = _stack(list(nets_by_arm.values()))
        losses = _train(stacked, d, x, f, None, (0, steps), "mse")[steps]
        for i, arm in enumerate(arms):
            col[arm] = (losses[i * seeds:(i + 1) * seeds] >= 0.95 * var_f).double().numpy()
        res[cell], born[cell] = paired(col), paired(bd)
        if "rai" in col and "rai_control" in col:
            rvc[f"{w}x{d}"] = paired({"rai_control": col["rai_control"], "rai": col["rai"]}, baseline="rai_control")["rai"]
    for arm in arms:
        row = [arm]
        for w, d in p["m8_widths"]:
            cell = f"m8-{w}-{d}"
            c, b = res[cell][arm], born[cell][arm]
            row.append(f"{b['mean']:.2f} / {_pm(c['mean'], c['se'], 2)} {_diff(c, 2)}")
            raw.setdefault(arm, {})[f"{w}x{d}"] = {"collapsed": c, "born_dead": b}
        table.rows.append(row)
    if rvc:
        table.rows.append(["rai - rai_control"] + [f"collapse {_diff(rvc[f'{w}x{d}'], 2)}" for w, d in p["m8_widths"]])
    return table, raw, rvc


# ====================================================================================== how it runs
def how_it_differs(results: dict[str, Any]) -> list[str]:
    """Where this batched study is not ``Model.fit`` on initium models (§7), stated in every report."""
    lsuv = "; ".join(f"{m} {c['refused']} of {c['nets']}" for m, c in results.get("LSUV", {}).items()) or "none"
    return [
        "Nets: each cell is a batch of nets held as stacked tensors (kernels of shape (nets, fan_in, units), one "
        "batched matmul per layer, ReLU hidden layers, linear output); no initium Layer or Model is built. "
        "tests/test_bias_study.py checks this forward against an initium Sequential holding the same weights.",
        "Weights: drawn through initializers.initialize, the call Layer.add_weight makes, but once per weight for all "
        "nets, with the batched shape (nets, *shape); VarianceScaling initializers get the per-net axes as "
        "input_axes/output_axes, so their fans are the per-net ones, and net 0 equals the per-net call with the same "
        "Philox key. No Variable records an initializer or its keys, so nothing here can be reinitialized or saved.",
        "LSUV: the LSUV initializer's orthogonal draw and lab.lsuv's scaling loop (tol, max_iter), batched; the tests "
        "check it equals lab.lsuv on an initium Sequential. Where lab.lsuv raises ValueError (a layer constant on the "
        "calibration batch, or tol missed), the net keeps that kernel unscaled. LSUV nets with such a layer in this "
        f"run, per measure: {lsuv}. A layer constant on the calibration batch means the net is born dead on that "
        "batch, so these counts follow the lsuv arm's born-dead shares in the narrow cells.",
        "Optimizer: initium.optimizers.Adam(learning_rate=1e-3), Keras's rule and defaults (epsilon 1e-7), one "
        "instance over the stacked parameters; the loss is the sum of the nets' mean losses, so each net's gradient "
        "is its own and so is its Adam update. Given the same batches, each net's weights after 20 steps equal "
        "Model.fit's on an initium Sequential to 1e-6 (tests/test_bias_study.py, full-batch MSE and mini-batch "
        "cross-entropy).",
        "Losses: softmax cross-entropy and sigmoid binary cross-entropy from logits, and mean squared error, each a "
        "mean over the batch as Keras's losses take it, computed with torch.nn.functional rather than initium.losses; "
        "no metric objects.",
        "Batches: M5-M7 take mini-batches of 64 from Philox permutations of the training set laid end to end (a batch "
        "may straddle two epochs, and there is no short last batch); fit shuffles with torch.randperm each epoch and "
        "defaults to batch_size=32. M8 takes full-batch steps on all 256 points, as fit(batch_size=256, "
        "shuffle=False) would.",
        "No fit machinery: no callbacks, progress bar, validation split, History, class or sample weights. The LSUV "
        "arm calibrates on the cell's own batch (the first 512 inputs, all of D2, or 128 normal points for M1) where "
        "fit would take a fixed sample of up to 1024 rows of x. The losses reported at step 0 and after training are "
        "computed on the whole training set without gradients (fit's History reports the mean over an epoch's "
        "batches).",
    ]


# ========================================================================================== verdict
def verdict(results: dict[str, Any]) -> list[str]:
    """Sentences the numbers support (each one computed from ``results``, none written in advance)."""
    out = []
    checks = results["M1"]["law_checks"]
    ok = [c for c in checks if c["agrees"]]
    sym_arms = sorted({c["arm"] for c in checks})
    consistent, expected = law_consistent(len(checks) - len(ok), len(checks))
    out.append(
        f"Born dead at a point (M1): {len(ok)} of {len(checks)} cells of the symmetric arms ({', '.join(sym_arms)}) "
        f"lie within {LAW_SE:g} SE of the law 1 - (1 - 2^-N)^H ({expected:.2f} outside expected by chance)"
        + ("" if len(ok) == len(checks) else
           "; outside: " + ", ".join(f"{c['arm']} N={c['cell'][0]} H={c['cell'][1]} ({c['share']:.3f} vs {c['law']:.3f})"
                                     for c in checks if not c["agrees"]))
        + (". A random-normal or uniform bias dies as often as a zero bias at a point: the seed's cure is in the "
           "same class." if consistent else ": more than chance allows, so the law does not describe every arm here."))
    m1 = results["M1"]["cells"]
    cell0 = next(iter(m1.get("zeros", {})), None)
    if cell0:
        parts = []
        for arm in ("const0.01", "const0.1", "rai"):
            st = m1.get(arm, {}).get(cell0)
            if st and "diff" in st:
                parts.append(f"{arm} {st['mean']:.3f} ({st['diff']:+.3f}±{st['diff_se']:.3f}"
                             f"{', significant' if st['flag'] else ', not significant'})")
        if parts:
            out.append(f"Asymmetric inits at N×H = {cell0} (zeros {m1['zeros'][cell0]['mean']:.3f}): " + "; ".join(parts) + ".")
    m23 = results["M2/M3"]
    wide = [k for k in next(iter(m23.values())) if int(k.split("x")[0]) >= 16]
    narrow = [k for k in next(iter(m23.values())) if int(k.split("x")[0]) <= 8]
    if wide:
        worst = max(m23[a][k]["born_dead"]["mean"] for a in m23 for k in wide)
        dead = {k: (min(m23[a][k]["dead"]["mean"] for a in m23), max(m23[a][k]["dead"]["mean"] for a in m23)) for k in wide}
        sentence = ((f"At width >= 16 no net is born dead on the data" if worst == 0 else
                     f"At width >= 16 at most {worst:.3f} of nets are born dead on the data") + "; dead units at init: "
                    + "; ".join(f"{k}: {lo:.3f}-{hi:.3f} across arms" for k, (lo, hi) in dead.items()) + ".")
        std = [k for k in wide if k.endswith("-std")]
        raw = [k for k in wide if k.endswith("-raw") and k.replace("-raw", "-std") in std]
        if raw:
            k = raw[0]
            scaling = m23["zeros"][k]["dead"]["mean"] - m23["zeros"][k.replace("-raw", "-std")]["dead"]["mean"]
            bias = max(abs(m23[a][k]["dead"].get("diff", 0.0)) for a in m23)
            sentence += (f" Raw [0, 1] pixels instead of standardized ones add {scaling:+.3f} dead units with zero bias; "
                         f"the largest change any bias makes on raw pixels is {bias:.3f}.")
        out.append(sentence)
    if narrow:
        k = narrow[0]
        z = m23["zeros"][k]["born_dead"]
        out.append(f"Narrow nets are where it happens: {k} born dead with zero bias {z['mean']:.2f}, "
                   + ", ".join(f"{a} {m23[a][k]['born_dead']['mean']:.2f}" for a in m23 if a != "zeros") + ".")
    train = results["M5-M7"]
    for group, names in (("arms that change only the bias", BIAS_ONLY),
                         ("arms that also change the kernel", ("rai", "rai_control", "lsuv"))):
        diffs = [(cell, arm, st["acc"]) for cell, arms in train.items() for arm, st in arms.items()
                 if arm in names and "diff" in st["acc"]]
        if not diffs:
            continue
        flagged = [(c, a, d) for c, a, d in diffs if d["flag"]]
        big = max(diffs, key=lambda t: abs(t[2]["diff"]))
        out.append(f"Training on digits (M7), {group}: the largest test-accuracy difference from zeros over {len(diffs)} "
                   f"paired comparisons is {big[2]['diff']:+.3f} ({big[1]} on {big[0].replace('train-', '')}); "
                   + (f"{len(flagged)} beyond 2 SE (about {0.05 * len(diffs):.1f} expected by chance): "
                      + ", ".join(f"{a} on {c.replace('train-', '')} ({d['diff']:+.3f}±{d['diff_se']:.3f})" for c, a, d in flagged)
                      if flagged else "none beyond 2 SE") + ".")
    pr = results["M5 prior"]
    out.append(f"The output-layer prior bias (M5, 'is it a 0?', p0 = {pr['p0']:.3f}) moves the initial loss from "
               f"{pr['l0']['zeros']['mean']:.3f} to {pr['l0']['prior']['mean']:.3f} (with a zero output kernel: "
               f"{pr['exact_loss0']['zeros']:.4f} -> {pr['exact_loss0']['prior']:.4f} = H(p0) {pr['H_p0']:.4f}).")
    m8 = results["M8"]
    rvc = results.get("M8 rai vs control", {})
    for k in next(iter(m8.values())):
        parts = [f"{a} {m8[a][k]['collapsed']['mean']:.2f}" for a in ("zeros", "normal0.05", "const0.1", "rai", "rai_control")
                 if a in m8]
        line = f"Collapse on |x| at {k} (M8): " + ", ".join(parts)
        if k in rvc:
            d = rvc[k]
            line += (f"; RAI minus its scale control {d['diff']:+.2f}±{d['diff_se']:.2f}"
                     + (" (beyond 2 SE)" if d["flag"] else " (within 2 SE)"))
        out.append(line + ".")
    return out


def conclusion(results: dict[str, Any]) -> str:
    """The one-paragraph answer, each clause computed from ``results`` and hedged to it."""
    checks = results["M1"]["law_checks"]
    ok = sum(c["agrees"] for c in checks)
    consistent, expected = law_consistent(len(checks) - ok, len(checks))
    parts = []
    if consistent:
        parts.append(f"At one input, zero bias and the symmetric random biases (the seed's RandomNormal(0, 0.05) and "
                     f"RandomUniform(±0.1) among them) are born dead equally often, as the law 1 - (1 - 2^-N)^H "
                     f"predicts ({ok} of {len(checks)} cells within {LAW_SE:g} SE; {expected:.2f} outside expected "
                     "by chance).")
    else:
        parts.append(f"The born-dead law held in only {ok} of {len(checks)} cells, more misses than chance allows "
                     "(see M1).")
    m23 = results["M2/M3"]
    cells = list(m23["zeros"])
    narrow = [k for k in cells if int(k.split("x")[0]) <= 8]
    wide = [k for k in cells if int(k.split("x")[0]) >= 16]
    if narrow:
        k = min(narrow, key=lambda c: int(c.split("x")[0]))
        lower = sorted((a for a in m23 if a != "zeros" and m23[a][k]["born_dead"].get("flag")
                        and m23[a][k]["born_dead"]["diff"] < 0), key=lambda a: m23[a][k]["born_dead"]["mean"])
        if lower:
            parts.append(f"Over the whole data set, in the narrow {k.split('-')[0]} nets, some inits lower the born-dead "
                         f"share from {m23['zeros'][k]['born_dead']['mean']:.2f}: "
                         + ", ".join(f"{a} {m23[a][k]['born_dead']['mean']:.2f}" for a in lower) + ".")
        else:
            parts.append(f"In the narrow {k.split('-')[0]} nets no init lowered the born-dead share beyond 2 SE.")
    if wide:
        worst = max(m23[a][k]["born_dead"]["mean"] for a in m23 for k in wide)
        parts.append("At width >= 16 " + ("no net was born dead on the data with any init" if worst == 0 else
                                          f"at most {worst:.3f} of nets were born dead on the data") + ".")
    train = results["M5-M7"]
    diffs = [st["acc"] for arms in train.values() for arm, st in arms.items() if arm in BIAS_ONLY and "diff" in st["acc"]]
    if diffs:
        flagged = [d for d in diffs if d["flag"]]
        largest = max(abs(d["diff"]) for d in diffs)
        parts.append(f"Trained on digits, the arms that change only the bias moved test accuracy by at most {largest:.3f} "
                     f"from zeros; {len(flagged)} of {len(diffs)} paired comparisons are beyond 2 SE (about "
                     f"{0.05 * len(diffs):.1f} expected by chance).")
    pr = results["M5 prior"]
    parts.append(f"The bias with a large, predictable effect is the output layer's prior bias: initial loss "
                 f"{pr['l0']['zeros']['mean']:.3f} -> {pr['l0']['prior']['mean']:.3f} (H(p0) = {pr['H_p0']:.3f}).")
    return " ".join(parts)


# ============================================================================================== run
@dataclass
class StudyResult:
    """One run: the arms as drawn, the metric tables, the raw numbers, how the run differs from
    ``fit``, and the verdict computed from the numbers."""

    profile: str
    seconds: float
    arms: Table
    tables: list[Table]
    results: dict[str, Any]
    how: list[str]
    verdict: list[str]
    conclusion: str

    def lines(self) -> list[str]:
        out = [f"initium bias study — profile '{self.profile}' ({self.seconds:.0f} s)", ""]
        for t in (self.arms, *self.tables):
            out += t.lines() + [""]
        out.append(f"How this study runs, and where it differs from fit ({PROTOCOL} §7):")
        out += [f"  - {v}" for v in self.how] + [""]
        out.append("What the numbers say:")
        out += [f"  - {v}" for v in self.verdict]
        out += ["", "Verdict: " + self.conclusion]
        return out

    def markdown(self) -> str:
        parts = [f"# initium bias study (profile `{self.profile}`, {self.seconds:.0f} s)\n",
                 f"Generated by `initium bias-study`; every number below is measured in this run. The protocol, its "
                 f"reference values and its statistics are in [{PROTOCOL}](../bias_study_protocol.md).\n",
                 self.arms.markdown()]
        parts += [t.markdown() for t in self.tables]
        parts.append(f"## How this study runs, and where it differs from `fit` ({PROTOCOL} §7)\n\n"
                     + "\n".join(f"- {v}" for v in self.how) + "\n")
        parts.append("## What the numbers say\n\n" + "\n".join(f"- {v}" for v in self.verdict) + "\n")
        parts.append(f"**Verdict.** {self.conclusion}\n")
        return "\n".join(parts)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def bias_study(profile: str = "quick", seeds: int | None = None, out_dir: str | None = None,
               print_fn: Callable[[str], Any] | None = None, seed: int = 0,
               arms: tuple[str, ...] | None = None) -> StudyResult:
    """Run the bias study; returns a ``StudyResult`` (tables, raw numbers, verdict).

    Args:
        profile: ``"tiny"``, ``"quick"`` (< 2 min on 2 CPU cores) or ``"full"``.
        seeds: override the number of training seeds per cell (M5-M7 and the prior arm).
        out_dir: write ``bias_study.md``, ``results.json`` and PNG figures there.
        print_fn: called with progress lines (e.g. ``print``).
        seed: the study's master seed (every stream derives from it).
        arms: a subset of ``ARM_NAMES`` (``zeros`` is always included: it is the baseline).
    """
    if profile not in PROFILES:
        import difflib

        close = difflib.get_close_matches(str(profile), list(PROFILES), n=1)
        did = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"bias_study: unknown profile {profile!r}.{did} Profiles: {', '.join(PROFILES)}.")
    p = dict(PROFILES[profile])
    if seeds is not None:
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2:
            raise ValueError(f"bias_study: `seeds` must be an integer >= 2 (an SE needs two). Received: seeds={seeds!r}")
        p["train_seeds"] = p["prior_seeds"] = seeds
    if arms is None:
        arms = ARM_NAMES
    else:
        bad = [a for a in arms if a not in ARM_NAMES]
        if bad:
            raise ValueError(f"bias_study: unknown arm(s) {bad}. Arms: {', '.join(ARM_NAMES)}.")
        arms = ("zeros",) + tuple(a for a in arms if a != "zeros")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"bias_study: `seed` must be a non-negative integer. Received: seed={seed!r}")
    say = print_fn or (lambda s: None)
    rng = _Rng(seed)
    t0 = time.perf_counter()
    tables, results = [], {}
    steps = [("M1", lambda: m1_born_dead_point(p, rng, arms)),
             ("M2/M3", lambda: m23_dataset_dead(p, rng, arms)),
             ("M4", lambda: m4_moments(p, rng, arms)),
             ("M5-M7", lambda: m567_training(p, rng, arms)),
             ("M5 prior", lambda: m5_prior(p, rng)),
             ("M8", lambda: m8_collapse(p, rng, arms))]
    for name, run in steps:
        t = time.perf_counter()
        out = run()
        if name == "M2/M3":
            tables += [out[0], out[1]]
            results[name] = out[2]
        elif name == "M8":
            tables.append(out[0])
            results[name], results["M8 rai vs control"] = out[1], out[2]
        else:
            tables.append(out[0])
            results[name] = out[1]
        say(f"  {name} done in {time.perf_counter() - t:.1f} s")
    results["LSUV"] = rng.lsuv
    arms_table = Table("Arms", f"each arm's hidden-layer initializers, as drawn ({PROTOCOL} §2)", None,
                       ["arm", "hidden bias", "hidden kernel", "role"], arm_rows(arms))
    res = StudyResult(profile, time.perf_counter() - t0, arms_table, tables, results, how_it_differs(results),
                      verdict(results), conclusion(results))
    if out_dir is not None:
        write_outputs(res, out_dir)
        say(f"  wrote {os.path.join(out_dir, 'bias_study.md')}, results.json and figures")
    return res


def write_outputs(res: StudyResult, out_dir: str) -> list[str]:
    """Write ``bias_study.md``, ``results.json`` and the figures into ``out_dir``; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    md = os.path.join(out_dir, "bias_study.md")
    figs = figures(res, out_dir)
    text = res.markdown() + "\n" + "\n".join(f"![{os.path.basename(f)}]({os.path.basename(f)})" for f in figs) + "\n"
    with open(md, "w", encoding="utf-8") as fh:
        fh.write(text)
    js = os.path.join(out_dir, "results.json")
    with open(js, "w", encoding="utf-8") as fh:
        json.dump(_jsonable({"profile": res.profile, "seconds": res.seconds, "arms": res.arms.rows,
                             "results": res.results, "how": res.how, "verdict": res.verdict,
                             "conclusion": res.conclusion}), fh, indent=1)
    return [md, js, *figs]


def _save(fig: Any, out_dir: str, name: str) -> str:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def figures(res: StudyResult, out_dir: str) -> list[str]:
    """PNG figures: M1 against the law, M7 accuracy differences, M8 collapse rates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    m1 = res.results["M1"]["cells"]
    cells = list(m1["zeros"])
    fig, ax = plt.subplots(figsize=(8, 4.2))
    xs = np.arange(len(cells))
    laws = [born_dead_law(int(c.split("x")[0]), int(c.split("x")[1])) for c in cells]
    ax.scatter(xs, laws, marker="_", s=900, color="black", label="law 1-(1-2^-N)^H", zorder=3)
    arms = list(m1)
    for j, arm in enumerate(arms):
        off = (j - (len(arms) - 1) / 2) * 0.06
        ys = [m1[arm][c]["mean"] for c in cells]
        es = [2 * m1[arm][c]["se"] for c in cells]
        sym = _ARM[arm].symmetric
        ax.errorbar(xs + off, ys, yerr=es, fmt="o" if sym else "s", ms=3.5, label=arm + ("" if sym else " (asym.)"))
    ax.set_xticks(xs, [f"N={c.split('x')[0]}\nH={c.split('x')[1]}" for c in cells])
    ax.set_ylabel("P(born dead at x)")
    ax.set_title("M1: symmetric biases follow the born-dead law; asymmetric ones fall below it")
    ax.legend(fontsize=7, ncol=2)
    paths.append(_save(fig, out_dir, "m1_born_dead.png"))

    train = res.results["M5-M7"]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    cells = list(train)
    arms = [a for a in train[cells[0]] if a != "zeros"]
    for i, cell in enumerate(cells):
        ds = [train[cell][a]["acc"].get("diff", 0.0) for a in arms]
        es = [2 * train[cell][a]["acc"].get("diff_se", 0.0) for a in arms]
        ax.errorbar(np.arange(len(arms)) + (i - (len(cells) - 1) / 2) * 0.15, ds, yerr=es, fmt="o", ms=4,
                    label=cell.replace("train-", ""))
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(np.arange(len(arms)), arms, rotation=30, fontsize=8)
    ax.set_ylabel("test accuracy − zeros (paired, ±2 SE)")
    ax.set_title("M7: accuracy difference from a zero bias on digits")
    ax.legend(fontsize=8)
    paths.append(_save(fig, out_dir, "m7_accuracy.png"))

    m8 = res.results["M8"]
    cells = list(m8["zeros"])
    arms = list(m8)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    width = 0.8 / len(cells)
    for i, cell in enumerate(cells):
        ys = [m8[a][cell]["collapsed"]["mean"] for a in arms]
        es = [2 * m8[a][cell]["collapsed"]["se"] for a in arms]
        ax.bar(np.arange(len(arms)) + (i - (len(cells) - 1) / 2) * width, ys, width, yerr=es, label=cell, capsize=2)
    ax.set_xticks(np.arange(len(arms)), arms, rotation=30, fontsize=8)
    ax.set_ylabel("collapsed share (±2 SE)")
    ax.set_title("M8: deep narrow nets fitting |x|: collapse by bias initialization")
    ax.legend(fontsize=8)
    paths.append(_save(fig, out_dir, "m8_collapse.png"))
    return paths


def cli_bias_study(quick: bool = True, out_dir: str | None = None, seeds: int | None = None, profile: str | None = None,
                   print_fn: Callable[[str], Any] = print) -> int:
    """The ``initium bias-study`` command: run, print every table with its references, optionally write files."""
    prof = profile or ("quick" if quick else "full")
    if prof == "full" and out_dir is None:
        out_dir = "bias_study_full"
    torch.set_grad_enabled(True)
    print_fn(f"initium bias-study: profile '{prof}' (protocol: {PROTOCOL}) ...")
    try:
        res = bias_study(prof, seeds=seeds, out_dir=out_dir, print_fn=print_fn)
    except ValueError as e:
        print_fn(f"initium bias-study: error: {e}")
        return 2
    print_fn("")
    for line in res.lines():
        print_fn(line)
    return 0
