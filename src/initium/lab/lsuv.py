"""``initium.lab.lsuv(model, x)``: layer-sequential unit-variance initialization (Mishkin & Matas 2016).

Algorithm 1 of the paper, step by step:

1. every kernel layer (Dense, Conv*, ConvTranspose*, DepthwiseConv*, SeparableConv*: its last
   kernel) gets an orthogonal kernel (``Orthogonal``; the PyTorch reference also zeroes the bias,
   and so does ``zero_bias=True``, the default);
2. layer by layer, in the order the model calls them, the layer's **pre-activation** (its output
   before its own activation) is measured on the calibration batch ``x`` and the kernel divided by
   ``sqrt(Var)`` until ``|Var - 1| < tol`` or ``max_iter`` scalings have been made. With a zero
   bias the variance is quadratic in the kernel's scale, so one scaling lands on 1 up to float
   rounding; with a bias it takes a few.

The output (logit) layer is left alone by default (``include_output=True`` scales it too): unit
variance logits are not what a classifier wants at step 0 (``initium.lab.report`` compares the
initial loss with ln k). Activations, BatchNormalization (inference mode: its moving statistics),
pooling and dropout (off) are run, never scaled. Recurrent layers are not calibrated.

Each calibrated kernel gets an ``initializers.LSUV`` initializer carrying the factor found, so
``reinitialize(replay=True)`` and saved configs reproduce the calibrated weights.

Strictness: a layer whose pre-activation is constant on the batch (zero variance: its input is all
zeros, e.g. a dead layer upstream) or that misses ``tol`` after ``max_iter`` scalings raises
``ValueError`` naming the layer and the variance reached, and every weight is restored first.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch

from initium import initializers
from initium import random as irandom
from initium.initializers.data import LSUV

__all__ = ["lsuv", "LSUVResult", "kernel_of", "calibrate_pending"]


def kernel_of(layer: Any) -> Any:
    """The kernel LSUV scales: ``kernel``, else ``pointwise_kernel``, else ``depthwise_kernel``."""
    from initium.layers.variable import Variable

    for name in ("kernel", "pointwise_kernel", "depthwise_kernel"):
        v = layer.__dict__.get("_parameters", {}).get(name)
        if isinstance(v, Variable) and v.ndim >= 2:
            return v
    return None


def _bias_of(layer: Any) -> Any:
    return layer.__dict__.get("_parameters", {}).get("bias")


class LSUVResult(list):
    """One dict per calibrated layer: ``layer``, ``var_before``, ``var_after``, ``iterations``, ``scale``."""

    def lines(self) -> list[str]:
        out = [f"{'layer':<24} {'var before':>11} {'var after':>10} {'iterations':>10} {'scale':>9}"]
        for r in self:
            out.append(f"{r['layer']:<24} {r['var_before']:>11.4g} {r['var_after']:>10.4f} {r['iterations']:>10d} "
                       f"{r['scale']:>9.4g}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _tapped_pass(model: Any, x: Any, on_site: Callable[..., None], layers: Sequence[Any] | None = None) -> None:
    """Run ``model`` once on ``x`` (inference, no gradients) with ``on_site`` hooked on its leaf layers."""
    from initium.lab.monitor import Taps

    taps = Taps(model, on_site, layers=layers).install()
    try:
        taps.active = True
        taps.new_pass()
        with torch.no_grad():
            model(x, training=False)
    finally:
        taps.active = False
        taps.remove()


def _kernel_layers(model: Any, x: Any) -> list[Any]:
    """Leaf layers with a kernel, in the order of their first call on ``x``."""
    seen: list[Any] = []
    _tapped_pass(model, x, lambda site, pre, post: seen.append(site.layer) if site.call == 1 else None)
    out, ids = [], set()
    for layer in seen:
        if id(layer) not in ids and kernel_of(layer) is not None:
            ids.add(id(layer))
            out.append(layer)
    return out


def _pre_activation_variance(model: Any, layer: Any, x: Any) -> float:
    got: list[torch.Tensor] = []
    _tapped_pass(model, x, lambda site, pre, post: got.append(pre.detach().to(torch.float64)) if site.call == 1 else None,
                 layers=[layer])
    if not got:
        raise ValueError(f"lsuv: layer '{layer.name}' was not called when the model ran on `x`.")
    z = got[0]
    return float(z.var(unbiased=False)) if z.numel() > 1 else 0.0


def lsuv(model: Any, x: Any, tol: float = 0.1, max_iter: int = 10, *, layers: Sequence[Any] | None = None,
         include_output: bool = False, orthogonal: bool = True, zero_bias: bool = True, seed: Any = None,
         print_fn: Callable[[str], Any] | None = None) -> LSUVResult:
    """Scale each kernel layer of ``model`` to unit pre-activation variance on the batch ``x``, in place.

    Args:
        model: a model (built, or buildable by calling it on ``x``).
        x: the calibration batch (the paper and its code use 256-1024 samples; standardize inputs
            first). Run whole, so keep it to what fits in memory.
        tol: stop when ``|Var - 1| < tol``. Default 0.1.
        max_iter: at most this many scalings per layer. Default 10.
        layers: calibrate only these layers (objects or names); default: every kernel layer but
            the last one called (the output layer), unless ``include_output``.
        orthogonal: draw orthogonal kernels first (the paper's step 1). Default True.
        zero_bias: set the calibrated layers' biases to zero first. Default True.
        seed: seed of the orthogonal draws (None: the global stream).
        print_fn: if given, called with one line per layer.

    Returns:
        ``LSUVResult``: per layer the variance before and after, iterations and the factor found.
    """
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
        raise ValueError(f"lsuv: `tol` must be a positive number. Received: tol={tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"lsuv: `max_iter` must be an integer >= 1. Received: max_iter={max_iter!r}")
    for arg, val in (("include_output", include_output), ("orthogonal", orthogonal), ("zero_bias", zero_bias)):
        if not isinstance(val, bool):
            raise TypeError(f"lsuv: `{arg}` must be True or False. Received: {arg}={val!r}")
    if x is None:
        raise ValueError("lsuv: `x` is required: LSUV measures each layer's output variance on a batch of data.")
    from initium.lab.report import _prepare_x

    x = _prepare_x(x)
    if not getattr(model, "built", False):
        with torch.no_grad():
            model(x, training=False)
    order = _kernel_layers(model, x)
    if not order:
        raise ValueError(f"lsuv: model '{model.name}' has no layer with a kernel (Dense, Conv...) to calibrate.")
    if layers is None:
        targets = order if include_output else order[:-1]
        if not targets:
            raise ValueError(
                f"lsuv: model '{model.name}' has one kernel layer ('{order[0].name}'), its output layer, which "
                "LSUV leaves alone by default. Pass include_output=True to scale it too."
            )
    else:
        targets = _choose(model, order, layers)

    snapshot = [(v, v.detach().clone(), v.initializer, v.init_keys) for v in model.weights]
    inits = {id(layer): getattr(layer, "kernel_initializer", None) for layer in targets}
    result = LSUVResult()
    seed_gen = irandom.SeedGenerator(seed) if isinstance(seed, int) and not isinstance(seed, bool) else seed
    try:
        for layer in targets:
            result.append(_calibrate(model, layer, x, tol, max_iter, orthogonal, zero_bias, seed_gen))
            if print_fn is not None:
                r = result[-1]
                print_fn(f"lsuv {r['layer']}: var {r['var_before']:.4g} -> {r['var_after']:.4f} "
                         f"in {r['iterations']} step(s), scale {r['scale']:.4g}")
    except BaseException:
        with torch.no_grad():
            for v, value, init, keys in snapshot:
                v.copy_(value)
                v.initializer, v.init_keys = init, keys
        for layer in targets:
            if id(layer) in inits and inits[id(layer)] is not None:
                layer.kernel_initializer = inits[id(layer)]
        raise
    return result


def _choose(model: Any, order: list[Any], layers: Sequence[Any]) -> list[Any]:
    if isinstance(layers, (str,)) or not isinstance(layers, (list, tuple)):
        layers = [layers]
    by_name = {la.name: la for la in order}
    out = []
    for item in layers:
        layer = by_name.get(item) if isinstance(item, str) else item
        if layer is None or not any(layer is la for la in order):
            names = ", ".join(by_name)
            label = item if isinstance(item, str) else getattr(item, "name", item)
            raise ValueError(
                f"lsuv(layers=...): {label!r} is not a kernel layer of model '{model.name}' that runs on `x`. "
                f"Kernel layers, in call order: {names}."
            )
        out.append(layer)
    return [la for la in order if any(la is o for o in out)]  # call order, whatever order was given


def _calibrate(model: Any, layer: Any, x: Any, tol: float, max_iter: int, orthogonal: bool, zero_bias: bool,
               seed: Any) -> dict[str, Any]:
    kernel = kernel_of(layer)
    current = kernel.initializer
    dtype = str(kernel.dtype).replace("torch.", "")
    if orthogonal:
        init = LSUV(tol=tol, max_iter=max_iter, gain=current.gain if isinstance(current, LSUV) else 1.0,
                    seed=seed if seed is not None else (current.seed if isinstance(current, LSUV) else None))
        with irandom.record_keys() as keys:
            base = initializers.initialize(init, tuple(kernel.shape), dtype, device=kernel.device, name=kernel.path)
        kernel.init_keys = tuple(keys)
    else:
        base = kernel.detach().clone()
        # An uncalibrated LSUV kernel drew Q at build: Q * scale is what the calibrated LSUV redraws.
        # Any other initializer is kept (its replay then gives the values before scaling).
        init = LSUV.from_config({**current.get_config(), "scale": None}) if (
            isinstance(current, LSUV) and not current.calibrated) else None
    bias = _bias_of(layer)
    with torch.no_grad():
        kernel.copy_(base)
        if zero_bias and bias is not None:
            bias.zero_()
    var0 = var = _pre_activation_variance(model, layer, x)
    scale, steps = 1.0, 0
    while abs(var - 1.0) >= tol:
        if steps >= max_iter:
            raise ValueError(
                f"lsuv: layer '{layer.name}' reached pre-activation variance {var:.4g} after {max_iter} scalings "
                f"(tol={tol}). Raise max_iter or tol, or keep zero_bias=True (a large bias makes the variance "
                "move slowly with the kernel's scale)."
            )
        if not var > 0 or not math.isfinite(var):
            raise ValueError(
                f"lsuv: layer '{layer.name}' has pre-activation variance {var:.4g} on the calibration batch, so "
                "no scaling of its kernel can bring it to 1. Its input is constant: check the inputs' "
                "preprocessing, or for dead units upstream with initium.lab.report(model, x)."
            )
        scale /= var ** 0.5
        with torch.no_grad():
            kernel.copy_(base * scale)
        var = _pre_activation_variance(model, layer, x)
        steps += 1
    if init is not None:
        init.scale = scale
        kernel.initializer = init
        if "kernel_initializer" in layer.__dict__ and kernel is layer.__dict__["_parameters"].get("kernel"):
            layer.kernel_initializer = init
    return {"layer": layer.name, "weight": kernel.path, "var_before": var0, "var_after": var, "iterations": steps,
            "scale": scale}


def calibrate_pending(model: Any, x: Any, layers: Sequence[Any],
                      print_fn: Callable[[str], Any] | None = None) -> LSUVResult:
    """Calibrate ``layers``, whose kernels have an uncalibrated ``LSUV`` initializer (``fit`` calls this)."""
    inits = [v.initializer for layer in layers for v in layer._own_weights if isinstance(v.initializer, LSUV)]
    return lsuv(model, x, tol=min(i.tol for i in inits), max_iter=max(i.max_iter for i in inits), layers=list(layers),
                orthogonal=False, zero_bias=False, print_fn=print_fn)
