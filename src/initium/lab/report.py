"""``initium.lab.report(model, x=None)``: what initialization did to a model, weight by weight and layer by layer.

**Weights** (always). For every weight: its layer, shape, initializer (short form and full config),
seed, ``fan_in``/``fan_out`` as ``compute_fans`` computes them and the axes they come from, the
layer's *true* receptive fans where they differ, the std the initializer's formula promises and the
std observed. Flags:

- *std off*: ``|observed / expected - 1|`` above 5 standard errors of a sample std. The standard
  error of the std of ``n`` i.i.d. values is ``std * sqrt((2 + κ) / (4 n))`` (κ the excess kurtosis:
  0 for a normal, -1.2 for a uniform, -0.634 for a normal truncated at ±2σ), with a floor of 0.1 %.
  Deterministic initializers (zeros, ones, constant, identity) must match to float precision. The
  same test (5 standard errors of a mean, ``std / sqrt(n)``) applies to the mean. A weight that
  was trained is compared too: a flag there means "moved from its initializer's distribution".
- *fan*: a fan-based initializer (``VarianceScaling`` and its He/Glorot/LeCun presets) whose fan is
  not the layer's receptive fan: a depthwise kernel ``(kh, kw, in, m)`` (Keras counts ``kh·kw·in``
  inputs, each output sees ``kh·kw``), a grouped convolution (``fan_out`` counts all filters, each
  input feeds ``filters / groups``), an embedding table (each output is one row: fan_in 1), and any
  1-D weight such as a bias (Keras uses ``fan_in = fan_out = shape[0]``, the layer's width).

**Layers** (with data ``x``). The model runs once on ``x`` (``training=False``, no gradients, the model
is left unchanged) and, for every call of every leaf layer, records:

- the pre-activation ``z`` (for Dense/Conv with an activation, the output before the activation;
  for an ``Activation`` layer its input; otherwise the output) and post-activation ``a``: mean,
  variance, second moment ``q = mean(z²)`` (over samples, positions and units);
- **second-moment ratio** ``q_l / q_{l-1}`` between consecutive layers *with a kernel* (Dense,
  Conv...), with its standard error across units, ``std_j(q_{l,j}) / sqrt(units) / q_{l-1}``. The
  **expected ratio** is He's recursion with the observed weights:
  ``fan_in · mean(W²) · g + mean(b²) / q_{l-1}``, where ``fan_in`` is the true receptive fan and
  ``g = E[φ(z)²] / E[z²]`` of what lies between the two layers: 1 for linear (and Flatten,
  Dropout, Reshape...), ½ for a ReLU of a zero-mean symmetric ``z``. For a He-normal ReLU stack with
  zero bias this is 1; for Glorot with equal widths ``n``, ``n · 2/(2n) · ½ = 0.5``;
- **dead units** (ReLU layers): units (last axis, or channels) whose output is 0 on every sample
  and position;
- **saturation** (sigmoid/tanh): share of pre-activations with ``|z| > 3`` (hard_tanh: 1);
- the **initial loss** against its reference: ``ln k`` for ``k`` classes without labels (the loss
  is then the crossentropy against uniform labels), ``H(p)`` of the label priors ``p`` with labels
  (``ln k`` exactly when the classes are balanced). A model whose predictions do not depend on the
  input cannot do better than the reference; a well-initialized one starts there.

Layer flags: ≥ 50 % dead units; ≥ 20 % saturated; a ratio off its expected value by more than 5
standard errors *and* a factor 2 (or, with no expected value, outside [¼, 4]); a second moment that
changes more than 100× between the first and last layer with a kernel; an initial loss more than
``LOSS_EXCESS`` above its reference.

``Report.print()`` draws rich tables on a terminal and plain aligned text otherwise (no escape
codes in pipes or logs); ``to_records()`` / ``to_dict()`` give plain Python types; ``plot(path)``
draws per-layer activation histograms.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Callable

import numpy as np
import torch

from initium.lab.monitor import PASSTHROUGH, Site, Taps, as_units, unit_axis

__all__ = ["report", "Report", "cli_report", "LOSS_EXCESS", "DEAD_FLAG", "SATURATION_FLAG"]

LOSS_EXCESS = 0.25  # nats above the reference that flag the initial loss
DEAD_FLAG = 0.5  # share of dead ReLU units that flags a layer
SATURATION_FLAG = 0.2  # share of saturated pre-activations that flags a layer
DRIFT_FLAG = 100.0  # q_last / q_first beyond this factor (either way) flags the network
N_SE = 5.0  # standard errors before a difference is flagged

_KURTOSIS = {"normal": 0.0, "truncated_normal": -0.6344632828703505, "uniform": -1.2}


# ================================================================================== weights
def _fan_axes(shape: tuple[int, ...], init: Any) -> tuple[list[int], list[int]]:
    axes_in, axes_out = getattr(init, "input_axes", None), getattr(init, "output_axes", None)
    if axes_in is not None and axes_out is not None:
        return [int(a) % len(shape) for a in axes_in], [int(a) % len(shape) for a in axes_out]
    r = len(shape)
    if r == 0:
        return [], []
    if r == 1:
        return [0], [0]
    if r == 2:
        return [0], [1]
    return [*range(r - 2), r - 2], [*range(r - 2), r - 1]


def _true_fans(layer: Any, v: Any, shape: tuple[int, ...]) -> tuple[int | None, int | None, str]:
    """The layer's receptive fans for weight ``v``: (fan_in, fan_out, why they differ or '')."""
    from initium.initializers import compute_fans
    from initium.layers.conv import _Conv, _DepthwiseConv, _SeparableConv
    from initium.layers.embedding import Embedding

    if len(shape) <= 1:
        return None, None, "a 1-D weight (bias, scale) has no receptive field"
    k = math.prod(shape[:-2]) if len(shape) > 2 else 1
    if (isinstance(layer, _DepthwiseConv) and v.name == "kernel") or (
            isinstance(layer, _SeparableConv) and v.name == "depthwise_kernel"):
        return k, k * shape[-1], f"depthwise: each output sees one input channel ({k} taps, not {k * shape[-2]})"
    if isinstance(layer, _Conv) and getattr(layer, "groups", 1) > 1 and v.name == "kernel":
        g = layer.groups
        return k * shape[-2], k * shape[-1] // g, f"grouped (groups={g}): each input feeds filters/groups = {shape[-1] // g} channels"
    if isinstance(layer, Embedding) and v.name == "embeddings" and len(shape) == 2:
        return 1, shape[1], "embedding lookup: each output is one row (fan_in 1, not the vocabulary size)"
    fi, fo = compute_fans(shape)
    return fi, fo, ""


def _mode_n(mode: str, fan_in: float, fan_out: float) -> float:
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def _distribution(init: Any) -> str:
    from initium.initializers import PriorBias, RandomUniform, TorchDefault, TruncatedNormal, VarianceScaling

    if isinstance(init, VarianceScaling):
        return {"untruncated_normal": "normal"}.get(init.distribution, init.distribution)
    if isinstance(init, (RandomUniform, TorchDefault)):
        return "uniform"
    if isinstance(init, PriorBias):
        return "constant"
    if isinstance(init, TruncatedNormal):
        return "truncated_normal"
    return "normal"


def _is_deterministic(init: Any) -> bool:
    from initium.initializers import Constant, Identity, Ones, PriorBias, Zeros

    return isinstance(init, (Zeros, Ones, Constant, Identity, PriorBias))


def _seed_of(init: Any) -> Any:
    s = getattr(init, "seed", None)
    if s is None or (isinstance(s, int) and not isinstance(s, bool)):
        return s
    if hasattr(s, "get_config"):
        return f"SeedGenerator({s.get_config().get('seed')})"
    return repr(s)


def _plain(v: Any) -> Any:
    """A JSON-like copy with plain Python types only."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (np.generic,)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


def _weight_row(layer: Any, v: Any) -> dict[str, Any]:
    from initium import initializers
    from initium.initializers import VarianceScaling
    from initium.models.summary import describe_initializer

    shape = tuple(int(d) for d in v.shape)
    n = int(v.numel())
    init = v.initializer
    t = v.detach().to(torch.float64)
    if n:
        obs_mean, obs_std, obs_q = (float(s) for s in torch.stack([t.mean(), t.std(unbiased=False), t.square().mean()]).cpu())
    else:
        obs_mean = obs_std = obs_q = float("nan")
    try:
        config = _plain(initializers.serialize(init)) if init is not None else None
    except Exception:  # a callable that cannot be serialized is still reported
        config = None
    in_axes, out_axes = _fan_axes(shape, init)
    fan_in = math.prod(shape[a] for a in in_axes) if shape else 1
    fan_out = math.prod(shape[a] for a in out_axes) if shape else 1
    true_in, true_out, why = _true_fans(layer, v, shape)
    expected = None
    if init is not None and hasattr(init, "expected_stats"):
        try:
            expected = init.expected_stats(shape)
        except Exception:
            expected = None
    exp_mean = float(expected["mean"]) if expected else None
    exp_std = float(expected["std"]) if expected else None
    flags: list[str] = []
    path = v.path
    se_rel = None
    if expected is not None and n >= 1 and math.isfinite(obs_std):
        if _is_deterministic(init) or exp_std == 0.0:
            tol = 1e-5 * max(1.0, abs(exp_mean), exp_std)
            if abs(obs_std - exp_std) > tol or abs(obs_mean - exp_mean) > tol:
                flags.append(f"{path}: observed mean {obs_mean:.4g} / std {obs_std:.4g}, but {describe_initializer(init)} "
                             f"gives exactly mean {exp_mean:.4g} / std {exp_std:.4g}")
        elif n >= 2:
            kurt = _KURTOSIS.get(_distribution(init), 0.0)
            se_rel = math.sqrt((2.0 + kurt) / (4.0 * n))
            dev = obs_std / exp_std - 1.0
            if abs(dev) > max(N_SE * se_rel, 1e-3):
                flags.append(f"{path}: observed std {obs_std:.4g} is {obs_std / exp_std:.3g}× the {exp_std:.4g} that "
                             f"{describe_initializer(init)} gives ({abs(dev) / se_rel:.0f} standard errors)")
            se_mean = exp_std / math.sqrt(n)
            if abs(obs_mean - exp_mean) > max(N_SE * se_mean, 1e-6):
                flags.append(f"{path}: observed mean {obs_mean:.4g}, expected {exp_mean:.4g} "
                             f"({abs(obs_mean - exp_mean) / se_mean:.0f} standard errors)")
    fan_note = ""
    if isinstance(init, VarianceScaling):
        used_in, used_out = init.fans(shape)
        n_used = max(1.0, _mode_n(init.mode, used_in, used_out))
        if len(shape) <= 1:
            fan_note = (f"fan-based {type(init).__name__} on a {len(shape)}-D weight: compute_fans takes fan_in = "
                        f"fan_out = {shape[0] if shape else 1} (the layer's width, not a receptive field), so its "
                        f"std sqrt({init.scale:g}/{n_used:g}) = {math.sqrt(init.scale / n_used):.4g} depends on the width")
        elif true_in is not None and why:
            n_true = max(1.0, _mode_n(init.mode, true_in, true_out))
            if abs(n_used / n_true - 1.0) > 0.01:
                fan_note = (f"{why}; {init.mode} n = {n_used:g} from compute_fans, {n_true:g} from the true fans, so "
                            f"the std is {math.sqrt(n_true / n_used):.3g}× what the {type(init).__name__} rule intends")
        if fan_note:
            flags.append(f"{path}: {fan_note}")
    return {
        "path": path, "layer": layer.name, "layer_class": type(layer).__name__, "name": v.name,
        "shape": list(shape), "size": n, "dtype": str(v.dtype).replace("torch.", ""), "trainable": bool(v.trainable),
        "initializer": describe_initializer(init) if init is not None else None,
        "initializer_class": type(init).__name__ if init is not None else None,
        "initializer_config": config, "seed": _seed_of(init), "init_keys": len(getattr(v, "init_keys", ()) or ()),
        "fan_in": int(fan_in), "fan_out": int(fan_out), "fan_in_axes": in_axes, "fan_out_axes": out_axes,
        "true_fan_in": true_in, "true_fan_out": true_out, "fan_note": fan_note or (why if why and len(shape) > 1 else ""),
        "expected_mean": exp_mean, "expected_std": exp_std, "observed_mean": obs_mean, "observed_std": obs_std,
        "observed_second_moment": obs_q,
        "std_ratio": (obs_std / exp_std) if exp_std else None, "std_ratio_se": se_rel,
        "flags": flags,
    }


# ================================================================================== data pass
class _Acc:
    """Streaming per-site sums across batches (on the device; read once at the end)."""

    def __init__(self, site: Site, sample_size: int) -> None:
        self.site = site
        self.n = 0
        self.rows = 0
        self.sums: torch.Tensor | None = None  # [sum z, sum z², sum a, sum a², saturated]
        self.unit_q: torch.Tensor | None = None
        self.alive: torch.Tensor | None = None
        self.sample_size = sample_size
        self.samples_pre: list[torch.Tensor] = []
        self.samples_post: list[torch.Tensor] = []
        self._sampled = 0
        self._gen = torch.Generator().manual_seed(0)

    def add(self, pre: torch.Tensor, post: torch.Tensor) -> None:
        z, a = pre.detach().to(torch.float64), post.detach().to(torch.float64)
        zu = as_units(z, unit_axis(self.site.layer, z))
        self.n += z.numel()
        self.rows += zu.shape[0]
        thr = self.site.saturation
        sat = (z.abs() > thr).sum().to(torch.float64) if thr is not None else torch.zeros((), dtype=torch.float64, device=z.device)
        s = torch.stack([z.sum(), z.square().sum(), a.sum(), a.square().sum(), sat])
        self.sums = s if self.sums is None else self.sums + s
        uq = zu.square().sum(0)
        self.unit_q = uq if self.unit_q is None or self.unit_q.shape != uq.shape else self.unit_q + uq
        if self.site.relu:
            alive = (as_units(a, unit_axis(self.site.layer, a)) > 0).any(0)
            self.alive = alive if self.alive is None or self.alive.shape != alive.shape else self.alive | alive
        want = self.sample_size - self._sampled
        if want > 0 and z.numel():
            k = min(want, z.numel())
            idx = torch.randint(z.numel(), (k,), generator=self._gen).to(z.device)
            self.samples_pre.append(z.reshape(-1)[idx].float())
            self.samples_post.append(a.reshape(-1)[idx].float() if a.numel() == z.numel() else a.reshape(-1)[:k].float())
            self._sampled += k

    def finish(self) -> dict[str, Any]:
        s = self.sums.cpu().numpy() if self.sums is not None else np.zeros(5)
        n = max(1, self.n)
        pm, pq, am, aq = s[0] / n, s[1] / n, s[2] / n, s[3] / n
        unit_q = self.unit_q.cpu().numpy() / max(1, self.rows) if self.unit_q is not None else np.zeros(0)
        units = int(unit_q.shape[0])
        dead_units = int((~self.alive).sum().cpu()) if self.alive is not None else None
        return {
            "pre_mean": float(pm), "pre_var": float(max(0.0, pq - pm * pm)), "pre_second_moment": float(pq),
            "post_mean": float(am), "post_var": float(max(0.0, aq - am * am)), "post_second_moment": float(aq),
            "units": units, "unit_q_std": float(unit_q.std()) if units > 1 else None,
            "dead_units": dead_units, "dead_share": (dead_units / units) if dead_units is not None and units else None,
            "saturated_share": float(s[4] / n) if self.site.saturation is not None else None,
            "_samples_pre": torch.cat(self.samples_pre).cpu().numpy() if self.samples_pre else np.zeros(0),
            "_samples_post": torch.cat(self.samples_post).cpu().numpy() if self.samples_post else np.zeros(0),
        }


def _leaves(x: Any) -> list:
    from torch.utils import _pytree as pytree

    return [t for t in pytree.tree_leaves(x) if isinstance(t, (np.ndarray, torch.Tensor))]


def _slice(x: Any, i: int, j: int) -> Any:
    from torch.utils import _pytree as pytree

    return pytree.tree_map(lambda t: t[i:j] if isinstance(t, (np.ndarray, torch.Tensor)) else t, x)


def _prepare_x(x: Any) -> Any:
    from torch.utils import _pytree as pytree

    def conv(t: Any) -> Any:
        if isinstance(t, torch.Tensor):
            return t
        arr = np.asarray(t)
        if arr.dtype.kind == "f" and arr.dtype != np.float32:
            arr = arr.astype(np.float32)
        return arr

    if isinstance(x, (list, tuple)) and x and not isinstance(x[0], (list, tuple, np.ndarray, torch.Tensor)):
        return conv(x)
    return pytree.tree_map(conv, x)


def _data_pass(model: Any, x: Any, batch_size: int, sample_size: int) -> tuple[list[str], dict[str, Site], dict, list, float]:
    accs: dict[str, _Acc] = {}

    def on_site(site: Site, pre: torch.Tensor, post: torch.Tensor) -> None:
        acc = accs.get(site.key)
        if acc is None:
            acc = accs[site.key] = _Acc(site, sample_size)
        acc.add(pre, post)

    x = _prepare_x(x)
    leaves = _leaves(x)
    if not leaves:
        raise ValueError("report: `x` must be an array or tensor (or a list/dict of them).")
    n = int(leaves[0].shape[0])
    taps = Taps(model, on_site).install()
    order: list[str] = []
    outputs = []
    q_in = 0.0
    float_input = False
    try:
        taps.active = True
        with torch.no_grad():
            for i in range(0, n, batch_size):
                xb = _slice(x, i, i + batch_size)
                for leaf in _leaves(xb):
                    if (leaf.is_floating_point() if isinstance(leaf, torch.Tensor) else leaf.dtype.kind == "f"):
                        arr = leaf.detach().double() if isinstance(leaf, torch.Tensor) else torch.from_numpy(leaf.astype(np.float64))
                        q_in += float(arr.square().sum()) / max(1, arr[0].numel() if arr.ndim > 1 else 1)
                        float_input = True
                taps.new_pass()
                outputs.append(model(xb, training=False))
                for key in taps.order:
                    if key not in order:
                        order.append(key)
    finally:
        taps.active = False
        taps.remove()
    sites = {k: accs[k].site for k in order}
    stats = {k: accs[k].finish() for k in order}
    return order, sites, stats, outputs, (q_in / max(1, n) if float_input else None)


def _kernel_info(layer: Any) -> tuple[Any, Any]:
    own = list(layer._own_weights)
    kernels = [v for v in own if v.ndim >= 2]
    bias = next((v for v in own if v.name == "bias" and v.ndim == 1), None)
    return (kernels[0] if len(kernels) == 1 else (kernels if kernels else None)), bias


def _layer_rows(order: list[str], sites: dict[str, Site], stats: dict, flags: list[str], n_samples: int) -> list[dict]:
    rows = []
    prev_key = None
    g: float | None = None
    rectified = False
    chain: list[str] = []
    for key in order:
        site, st = sites[key], stats[key]
        layer = site.layer
        if not (layer._own_weights or site.has_activation_attr or site.is_activation_layer):
            # a weightless, activation-less layer (Flatten, Pooling...): only its effect on the chain
            if prev_key is not None and type(layer).__name__ not in PASSTHROUGH:
                g = None
            continue
        kernel, bias = _kernel_info(layer)
        has_kernel = site.has_activation_attr and kernel is not None
        row: dict[str, Any] = {"layer": key, "layer_class": type(layer).__name__, "activation": site.activation,
                               **{k: v for k, v in st.items() if not k.startswith("_")},
                               "second_moment_ratio": None, "ratio_se": None, "expected_ratio": None}
        if has_kernel:
            q = st["pre_second_moment"]
            if prev_key is not None:
                q_prev = stats[prev_key]["pre_second_moment"]
                if q_prev > 0:
                    row["second_moment_ratio"] = q / q_prev
                    if st["unit_q_std"] is not None and st["units"] > 1:
                        row["ratio_se"] = st["unit_q_std"] / math.sqrt(st["units"]) / q_prev
                    if g is not None and not isinstance(kernel, list):
                        true_in, _, _ = _true_fans(layer, kernel, tuple(kernel.shape))
                        w2 = float(kernel.detach().double().square().mean())
                        b2 = float(bias.detach().double().square().mean()) if bias is not None else 0.0
                        row["expected_ratio"] = true_in * w2 * g + b2 / q_prev
            chain.append(key)
            prev_key = key
            g, rectified = 1.0, False
            if site.activation in ("relu",):
                g, rectified = 0.5, True
            elif site.activation not in (None, "linear"):
                g = None
        elif prev_key is not None:
            if site.is_activation_layer:
                if site.activation == "relu" and g is not None:
                    g, rectified = (g if rectified else g * 0.5), True
                elif site.activation != "linear":
                    g = None
            elif type(layer).__name__ not in PASSTHROUGH:
                g = None
        rows.append(row)
        _flag_layer(row, flags, n_samples)
    if len(chain) >= 2:
        q0, q1 = stats[chain[0]]["pre_second_moment"], stats[chain[-1]]["pre_second_moment"]
        if q0 > 0 and (q1 / q0 > DRIFT_FLAG or q1 / q0 < 1 / DRIFT_FLAG):
            word = "vanishes" if q1 < q0 else "explodes"
            flags.append(f"signal {word}: the pre-activation second moment goes from {q0:.3g} ({chain[0]}) to "
                         f"{q1:.3g} ({chain[-1]}), ×{q1 / q0:.3g} over {len(chain) - 1} layers")
    return rows


def _flag_layer(row: dict, flags: list[str], n_samples: int) -> None:
    name = row["layer"]
    if row["dead_share"] is not None and row["dead_share"] >= DEAD_FLAG:
        flags.append(f"{name}: {row['dead_share']:.0%} of {row['units']} ReLU units are dead (zero on all "
                     f"{n_samples} samples)")
    if row["saturated_share"] is not None and row["saturated_share"] >= SATURATION_FLAG:
        flags.append(f"{name}: {row['saturated_share']:.0%} of {row['activation']} pre-activations are saturated (|z| > threshold)")
    r, e, se = row["second_moment_ratio"], row["expected_ratio"], row["ratio_se"] or 0.0
    if r is None:
        return
    if e is not None and e > 0:
        if abs(r - e) > N_SE * se and (r / e > 2 or r / e < 0.5):
            flags.append(f"{name}: second-moment ratio {r:.3g} is far from the {e:.3g} expected from its weights")
    elif abs(r - 1) > N_SE * se and (r > 4 or r < 0.25):
        flags.append(f"{name}: second-moment ratio {r:.3g} (the signal changes more than 4× in one layer)")


# ================================================================================== loss
def _initial_loss(outputs: list, y: Any, loss: Any) -> dict[str, Any]:
    none = {"initial_loss": None, "reference_loss": None, "reference_kind": None, "loss_name": None}
    if not outputs or not all(isinstance(o, torch.Tensor) for o in outputs):
        return {**none, "loss_name": "skipped: the model has several outputs"}
    yt = None
    if y is not None:
        yt = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if loss is not None:
        from initium import losses

        if yt is None:
            return {**none, "loss_name": "skipped: `loss` given without `y`"}
        fn = losses.get(loss)
        total, count, start = 0.0, 0, 0
        for out in outputs:
            b = out.shape[0]
            val = fn(yt[start:start + b].to(out.device), out)
            total += float(torch.as_tensor(val).double().mean()) * b
            count += b
            start += b
        name = getattr(fn, "name", None) or getattr(fn, "__name__", type(fn).__name__)
        return {**none, "initial_loss": total / max(1, count), "loss_name": str(name)}
    kind = getattr(outputs[0], "_keras_logits_kind", None)
    k = int(outputs[0].shape[-1]) if outputs[0].ndim >= 2 else 1
    if kind in ("softmax", "sigmoid"):
        logits = torch.cat([o._keras_logits for o in outputs]).double()
        how = f"{kind} outputs (computed from their logits)"
    else:
        out = torch.cat(outputs).double()
        if k >= 2 and bool((out >= 0).all()) and bool(torch.allclose(out.sum(-1), torch.ones((), dtype=out.dtype), atol=1e-4)):
            logits, kind, how = out.clamp_min(1e-7).log(), "softmax", "probability outputs"
        elif yt is None:
            return {**none, "loss_name": "skipped: no labels, and the output is not softmax/sigmoid (pass y to treat it as logits)"}
        elif k >= 2:
            logits, kind, how = out, "softmax", "outputs treated as logits"
        elif not yt.is_floating_point() or bool(((yt == 0) | (yt == 1)).all()):
            logits, kind, how = out, "sigmoid", "output treated as a logit"
        else:
            return {**none, "loss_name": "skipped: not a classifier output (pass loss=...)"}
    logits = logits.reshape(logits.shape[0], -1).cpu()
    if kind == "softmax":
        log_p = torch.log_softmax(logits, dim=-1)
        k = log_p.shape[-1]
        if yt is None:
            return {"initial_loss": float(-log_p.mean()), "reference_loss": math.log(k),
                    "reference_kind": f"ln k (k = {k}; no labels: crossentropy against uniform labels)",
                    "loss_name": f"categorical crossentropy, {how}"}
        yt = yt.cpu()
        if yt.ndim >= 2 and yt.shape[-1] == k and yt.shape[-1] > 1:
            yt = yt.reshape(-1, k).double()
            ce = float(-(yt * log_p).sum(-1).mean())
            priors = yt.mean(0).numpy()
            name = "categorical crossentropy"
        else:
            labels = yt.reshape(-1).long()
            ce = float(-log_p.gather(1, labels[:, None]).mean())
            priors = np.bincount(labels.numpy(), minlength=k)[:k] / max(1, len(labels))
            name = "sparse categorical crossentropy"
        priors = np.clip(priors / max(priors.sum(), 1e-12), 0, 1)
        h = float(-(priors[priors > 0] * np.log(priors[priors > 0])).sum())
        balanced = bool(np.allclose(priors, 1.0 / k, rtol=0, atol=1e-12))
        ref_kind = f"ln k (k = {k} balanced classes)" if balanced else f"H(label priors) (k = {k}; ln k = {math.log(k):.4f})"
        return {"initial_loss": ce, "reference_loss": math.log(k) if balanced else h, "reference_kind": ref_kind,
                "loss_name": f"{name}, {how}"}
    # sigmoid / binary
    ls_pos, ls_neg = torch.nn.functional.logsigmoid(logits), torch.nn.functional.logsigmoid(-logits)
    if yt is None:
        return {"initial_loss": float(-(ls_pos + ls_neg).mean() / 2), "reference_loss": math.log(2),
                "reference_kind": "ln 2 (no labels: binary crossentropy against balanced labels)",
                "loss_name": f"binary crossentropy, {how}"}
    t = yt.cpu().double().reshape(logits.shape)
    bce = float(-(t * ls_pos + (1 - t) * ls_neg).mean())
    p = float(t.mean())
    h = 0.0 if p in (0.0, 1.0) else -(p * math.log(p) + (1 - p) * math.log(1 - p))
    ref_kind = "ln 2 (balanced labels)" if p == 0.5 else f"H(label priors) (positive rate {p:.3g})"
    return {"initial_loss": bce, "reference_loss": h, "reference_kind": ref_kind, "loss_name": f"binary crossentropy, {how}"}


# ================================================================================== the report
def _g(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.{digits}g}"
    return str(v)


def _pct(v: Any) -> str:
    return "-" if v is None else f"{v:.0%}" if v >= 0.01 or v == 0 else f"{v:.1%}"


class Report:
    """The result of :func:`report`. Read its attributes, print it, export it or plot it.

    Attributes:
        weights: one plain dict per weight (see the module docstring for the fields).
        layers: one plain dict per layer call (empty without data).
        initial_loss, reference_loss, reference_kind, loss_name: the loss at initialization, its
            reference and which reference it is (``ln k`` or ``H(label priors)``); None without data.
        input_second_moment: ``mean(x²)`` per input value (None without data).
        n_samples: rows of ``x`` used.
        flags: human-readable findings, one string each.
    """

    def __init__(self, model_name: str, weights: list[dict], layers: list[dict], loss: dict[str, Any],
                 flags: list[str], n_samples: int, input_second_moment: float | None,
                 samples: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        self.model_name = model_name
        self.weights = weights
        self.layers = layers
        self.initial_loss = loss.get("initial_loss")
        self.reference_loss = loss.get("reference_loss")
        self.reference_kind = loss.get("reference_kind")
        self.loss_name = loss.get("loss_name")
        self.flags = flags
        self.n_samples = n_samples
        self.input_second_moment = input_second_moment
        self._samples = samples

    @property
    def ok(self) -> bool:
        """True when nothing was flagged."""
        return not self.flags

    # ---------------------------------------------------------------- export
    def to_dict(self) -> dict[str, Any]:
        """Everything as plain Python types (JSON-serializable)."""
        return _plain({"model": self.model_name, "n_samples": self.n_samples,
                       "input_second_moment": self.input_second_moment, "weights": self.weights,
                       "layers": self.layers, "initial_loss": self.initial_loss, "reference_loss": self.reference_loss,
                       "reference_kind": self.reference_kind, "loss_name": self.loss_name, "flags": self.flags})

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per weight (``table='weights'``) and per layer (``table='layers'``)."""
        out = [{"table": "weights", **_plain(w)} for w in self.weights]
        out += [{"table": "layers", **_plain(r)} for r in self.layers]
        return out

    # ---------------------------------------------------------------- text
    def _tables(self) -> list[tuple[str, list[str], list[list[str]], str]]:
        wh = ["weight", "shape", "initializer", "seed", "fan_in (axes)", "fan_out (axes)", "true fans",
              "expected std", "observed std", "obs/exp", "flag"]
        wrows = []
        for w in self.weights:
            true = "-" if w["true_fan_in"] is None else (
                "=" if (w["true_fan_in"], w["true_fan_out"]) == (w["fan_in"], w["fan_out"])
                else f"{w['true_fan_in']}/{w['true_fan_out']}")
            ratio = w["std_ratio"]
            ratio_s = "-" if ratio is None else f"{ratio:.3f}" + (f" ±{w['std_ratio_se']:.3f}" if w["std_ratio_se"] else "")
            wrows.append([w["path"], "(" + ", ".join(map(str, w["shape"])) + ("," if len(w["shape"]) == 1 else "") + ")",
                          w["initializer"] or "-", _g(w["seed"]),
                          f"{w['fan_in']} ({','.join(map(str, w['fan_in_axes']))})",
                          f"{w['fan_out']} ({','.join(map(str, w['fan_out_axes']))})", true,
                          _g(w["expected_std"]) if w["expected_std"] is not None else "unknown",
                          _g(w["observed_std"]), ratio_s, "!" if w["flags"] else ""])
        tables = [(f'Weights of "{self.model_name}"', wh, wrows, "lllrrrrrrrl")]
        if self.layers:
            lh = ["layer", "activation", "units", "pre mean", "pre var", "E[z²] ratio ± SE", "expected",
                  "dead", "saturated", "post mean", "post var"]
            lrows = []
            for r in self.layers:
                ratio = "-" if r["second_moment_ratio"] is None else f"{r['second_moment_ratio']:.3f}" + (
                    f" ±{r['ratio_se']:.3f}" if r["ratio_se"] is not None else "")
                dead = "-" if r["dead_units"] is None else f"{_pct(r['dead_share'])} ({r['dead_units']}/{r['units']})"
                lrows.append([f"{r['layer']} ({r['layer_class']})", r["activation"] or "-", str(r["units"]),
                              _g(r["pre_mean"]), _g(r["pre_var"]), ratio,
                              "-" if r["expected_ratio"] is None else f"{r['expected_ratio']:.3f}",
                              dead, _pct(r["saturated_share"]), _g(r["post_mean"]), _g(r["post_var"])])
            tables.append((f"Activations on {self.n_samples} samples (pre = before the activation; "
                           f"E[z²] ratio = pre-activation second moment / previous kernel layer's)", lh, lrows, "llrrrrrrrrr"))
        return tables

    def _footer(self) -> list[str]:
        lines = []
        if self.layers and self.input_second_moment is not None:
            lines.append(f"Input second moment E[x²] = {self.input_second_moment:.4g}.")
        if self.initial_loss is not None and self.reference_loss is not None:
            ex = self.initial_loss - self.reference_loss
            lines.append(f"Initial loss {self.initial_loss:.4f} ({self.loss_name}); reference {self.reference_loss:.4f} = "
                         f"{self.reference_kind}; excess {ex:+.4f} nats.")
        elif self.initial_loss is not None:
            lines.append(f"Initial loss {self.initial_loss:.4f} ({self.loss_name}).")
        elif self.loss_name:
            lines.append(f"Initial loss: {self.loss_name}.")
        if self.flags:
            lines.append(f"Flags ({len(self.flags)}):")
            lines += [f"  ! {f}" for f in self.flags]
        else:
            lines.append("Flags: none.")
        return lines

    def lines(self) -> list[str]:
        """The report as plain aligned text lines (no escape codes)."""
        out: list[str] = []
        for title, headers, rows, align in self._tables():
            out.append(title)
            widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

            def fmt(cells: list[str]) -> str:
                return "  ".join(c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(cells, widths, align)).rstrip()

            out.append(fmt(headers))
            out.append("  ".join("-" * w for w in widths))
            out += [fmt(r) for r in rows]
            out.append("")
        out += self._footer()
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        return (f"<Report model={self.model_name!r} weights={len(self.weights)} layers={len(self.layers)} "
                f"flags={len(self.flags)}>")

    def print(self, print_fn: Callable[[str], Any] | None = None) -> None:
        """Rich tables on a terminal (``print_fn=None`` and stdout a TTY); plain text otherwise."""
        if print_fn is None and sys.stdout.isatty():
            from rich.console import Console
            from rich.markup import escape
            from rich.table import Table

            console = Console()
            # never squeeze numbers into ellipses: widen to the plain table's width when the terminal is narrower
            needed = max(len(line) for line in self.lines()) + 8
            if console.width < needed:
                console = Console(width=needed)
            for title, headers, rows, align in self._tables():
                table = Table(title=escape(title), title_justify="left")
                for h, a in zip(headers, align):
                    table.add_column(escape(h), justify="right" if a == "r" else "left")
                for r in rows:
                    table.add_row(*(escape(c) for c in r), style="bold red" if r[-1] == "!" else None)
                console.print(table)
            for line in self._footer():
                console.print(line, style="bold red" if line.startswith("  !") else None, markup=False, highlight=False)
            return
        emit = print_fn or print
        for line in self.lines():
            emit(line)

    # ---------------------------------------------------------------- plot
    def plot(self, path: str, bins: int = 60) -> str:
        """Per-layer histograms of pre- and post-activations (a sample of up to ``sample_size`` values each)."""
        if not self._samples:
            raise ValueError("Report.plot needs activation data: call report(model, x) with data `x`.")
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        names = [r["layer"] for r in self.layers if r["layer"] in self._samples]
        cols = min(4, len(names))
        rows = math.ceil(len(names) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), squeeze=False)
        by_name = {r["layer"]: r for r in self.layers}
        for ax, name in zip(axes.flat, names):
            pre, post = self._samples[name]
            r = by_name[name]
            finite = np.concatenate([pre[np.isfinite(pre)], post[np.isfinite(post)]])
            lim = float(np.percentile(np.abs(finite), 99.5)) if finite.size else 1.0
            lim = lim if lim > 0 else 1.0
            edges = np.linspace(-lim, lim, bins + 1)  # symmetric, data-derived: negatives are kept
            ax.hist(np.clip(pre, -lim, lim), bins=edges, alpha=0.6, label="pre", color="tab:blue")
            if r["activation"] not in (None, "linear"):
                ax.hist(np.clip(post, -lim, lim), bins=edges, alpha=0.6, label="post", color="tab:orange")
            extra = []
            if r["dead_share"] is not None:
                extra.append(f"dead {_pct(r['dead_share'])}")
            if r["saturated_share"] is not None:
                extra.append(f"sat {_pct(r['saturated_share'])}")
            if r["second_moment_ratio"] is not None:
                extra.append(f"ratio {r['second_moment_ratio']:.2f}")
            ax.set_title(f"{name} ({r['activation'] or '-'})" + ("\n" + ", ".join(extra) if extra else ""), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_yscale("log")
        for ax in list(axes.flat)[len(names):]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7)
        fig.suptitle(f'Activations of "{self.model_name}" on {self.n_samples} samples', fontsize=10)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return str(path)


def report(model: Any, x: Any = None, y: Any = None, loss: Any = None, batch_size: int = 512,
           sample_size: int = 4096) -> Report:
    """The init report of ``model``: every weight against its initializer, and with data ``x``
    the per-layer activation statistics, dead units, saturation and the initial loss.

    Args:
        model: a built model (or one that ``x`` will build).
        x: optional inputs (array, tensor, or a list/dict of them for multi-input models).
        y: optional labels: integer classes or one-hot rows (or 0/1 for a single sigmoid output).
            With labels the reference loss is the entropy of the label priors (``ln k`` when balanced).
        loss: optional loss (name or callable) for the initial loss instead of the automatic
            crossentropy; needs ``y``.
        batch_size: rows per forward pass (statistics are accumulated over all of ``x``).
        sample_size: values kept per layer for ``Report.plot``'s histograms.

    >>> rep = report(model, x_test, y_test)     # doctest: +SKIP
    >>> rep.print(); rep.flags                  # doctest: +SKIP
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"report: `batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    flags: list[str] = []
    layers: list[dict] = []
    loss_info: dict[str, Any] = {}
    samples: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    n_samples, q_in = 0, None
    if x is not None:
        order, sites, stats, outputs, q_in = _data_pass(model, x, batch_size, sample_size)
        n_samples = int(_leaves(_prepare_x(x))[0].shape[0])
        layers = _layer_rows(order, sites, stats, flags, n_samples)
        samples = {k: (stats[k]["_samples_pre"], stats[k]["_samples_post"]) for k in order}
        if y is not None and len(y) != n_samples:
            raise ValueError(f"report: `y` has {len(y)} rows but `x` has {n_samples}.")
        loss_info = _initial_loss(outputs, y, loss)
        il, ref = loss_info.get("initial_loss"), loss_info.get("reference_loss")
        if il is not None and ref is not None and il - ref > LOSS_EXCESS:
            flags.append(f"initial loss {il:.4f} is {il - ref:.3f} nats above its reference {ref:.4f} "
                         f"({loss_info['reference_kind']}): the output layer is too confident at init")
        elif il is not None and not math.isfinite(il):
            flags.append(f"initial loss is {il}")
    elif not getattr(model, "built", True):
        raise ValueError(f"report: model '{model.name}' is not built, so it has no weights. Pass data `x` "
                         "(or build it) first.")
    weights = []
    seen: set[int] = set()
    weight_flags: list[str] = []
    for layer in model._flatten_layers(include_self=True):
        for v in layer._ordered_own():
            if id(v) in seen:
                continue
            seen.add(id(v))
            row = _weight_row(layer, v)
            weights.append(row)
            weight_flags += row["flags"]
    return Report(getattr(model, "name", type(model).__name__), weights, layers, loss_info,
                  weight_flags + flags, n_samples, q_in, samples)


# ================================================================================== CLI
def _model_input_shape(model: Any) -> tuple | None:
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, list):
        if len(shape) != 1:
            return None
        shape = shape[0]
    return tuple(shape) if shape is not None else None


def load_report_data(model: Any, data: str) -> tuple[Any, Any]:
    """``(x, y)`` for ``initium report --data``: ``digits`` (the test split, pixels / 16, reshaped
    to the model's input shape), ``none``, or a ``.npz`` file with arrays ``x`` (and ``y``)."""
    if data in (None, "", "none"):
        return None, None
    if str(data).endswith(".npz"):
        with np.load(data) as f:
            if "x" not in f:
                raise ValueError(f"{data}: a .npz for `initium report --data` needs an array named 'x' (and optionally 'y').")
            return f["x"], (f["y"] if "y" in f else None)
    if data != "digits":
        raise ValueError(f"Unknown --data {data!r}: use 'digits', 'none' or a .npz file with arrays x (and y).")
    from initium.datasets import digits

    _, (x, y) = digits.load_data()
    x = x.astype(np.float32) / 16.0
    shape = _model_input_shape(model)
    if shape is None:
        return x.reshape(len(x), -1), y
    target = shape[1:]
    if any(d is None for d in target):
        known = [d for d in target if d is not None]
        if len(target) == 1 or math.prod(known) == 0:
            raise ValueError(f"The model's input shape {shape} has unknown sizes; digits images are 8x8 = 64 values.")
        rest = 64 // math.prod(known) if 64 % math.prod(known) == 0 else None
        if rest is None or list(target).count(None) != 1:
            raise ValueError(f"The model's input shape {shape} cannot hold digits' 8x8 = 64 values per sample.")
        target = tuple(rest if d is None else d for d in target)
    if math.prod(target) != 64:
        raise ValueError(f"The model's input shape {shape} holds {math.prod(target)} values per sample; digits images "
                         "have 8x8 = 64. Pass --data FILE.npz with inputs of the right shape, or --data none.")
    return x.reshape(len(x), *target), y


def cli_report(model_path: str, data: str = "digits", plot: str | None = None,
               print_fn: Callable[[str], Any] = print) -> int:
    """``initium report MODEL.keras [--data digits|none|FILE.npz] [--plot OUT.png]``: print the report; 0 on success."""
    from initium.models import load_model

    model = load_model(model_path, compile=False)
    x, y = load_report_data(model, data)
    if y is not None and x is not None:
        out_k = None
        try:
            out_k = model.output_shape[-1]
        except Exception:
            pass
        if out_k is not None and out_k not in (None, 1) and int(np.max(y)) >= out_k:
            y = None  # labels that do not fit the output: report against ln k instead
    rep = report(model, x, y)
    rep.print(None if print_fn is print else print_fn)
    if plot:
        if x is None:
            raise ValueError("--plot needs data: use --data digits or a .npz file.")
        rep.plot(plot)
        print_fn(f"Wrote {plot}")
    return 0
