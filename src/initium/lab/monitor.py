"""``ActivationMonitor``: per-layer activation statistics recorded during ``fit``, on the device.

Every ``every`` training steps (step 0 included) the monitor measures, for each tapped layer call,
the statistics ``initium.lab.report`` shows: pre-activation mean, variance and second moment, the
same for the post-activation, the share of dead ReLU units in the batch and the share of
saturated sigmoid/tanh pre-activations. The numbers are written into a preallocated buffer **on the
activations' device**: a recorded step costs a few reductions and one small copy, and no host
synchronization (no ``.item()``, ``.cpu()`` or ``bool(tensor)``). The buffer is copied to the host
once, at the end of ``fit`` (or when ``history`` is read).

The taps used here are shared with ``report``:

- every leaf layer (a layer without sub-layers) gets a torch forward hook; it records the call
  site (``dense``, ``dense#2`` for the second call of a shared layer in one forward pass);
- for a layer with an ``activation`` attribute (Dense, Conv*), the pre-activation is computed by
  re-running the layer's ``call`` once more with ``activation`` temporarily set to ``linear``
  (under ``no_grad``), only on recorded steps; the layer object is never left modified, so saving
  the model during ``fit`` (``ModelCheckpoint``) is unaffected;
- for an ``Activation`` layer the pre-activation is its input; for other layers pre = post = output.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any, Callable, Sequence

import numpy as np
import torch

from initium.callbacks import Callback

__all__ = ["ActivationMonitor", "STATS", "SATURATION_THRESHOLDS"]

# Columns of a monitor row, in buffer order.
STATS = ("pre_mean", "pre_var", "pre_second_moment", "post_mean", "post_var", "post_second_moment",
         "dead_share", "saturated_share")

# |pre-activation| above which a unit counts as saturated (derivative of tanh at 3: 0.0099;
# of sigmoid at 3: 0.045, i.e. under a fifth of its peak 0.25).
SATURATION_THRESHOLDS = {"sigmoid": 3.0, "tanh": 3.0, "hard_sigmoid": 3.0, "hard_tanh": 1.0}
RELU_NAMES = ("relu", "relu6")
# Layers that leave the second moment of their input unchanged at inference (used to chain the
# expected variance ratio across them).
PASSTHROUGH = ("Flatten", "Reshape", "Permute", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
               "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
               "ActivityRegularization", "InputLayer", "Identity")


def activation_name(fn: Any) -> str | None:
    """The name of an activation function (``relu``), or None when there is none."""
    if fn is None:
        return None
    return getattr(fn, "__name__", None) or type(fn).__name__


def tapped_layers(model: Any, layers: Sequence[Any] | None = None) -> list[Any]:
    """Leaf layers of ``model`` (optionally only those named in / given by ``layers``)."""
    from initium.layers.layer import Layer

    leaves = []
    for layer in model._flatten_layers(include_self=False):
        if any(isinstance(c, Layer) for c in layer._flatten_layers(include_self=False, recursive=False)):
            continue  # a container (nested model, wrapper): its leaves are tapped instead
        if type(layer).__name__ == "InputLayer":
            continue
        leaves.append(layer)
    if layers is None:
        return leaves
    wanted = {x if isinstance(x, str) else id(x) for x in layers}
    chosen = [lay for lay in leaves if lay.name in wanted or id(lay) in wanted]
    missing = [x for x in layers if isinstance(x, str) and x not in {lay.name for lay in leaves}]
    if missing:
        names = ", ".join(lay.name for lay in leaves)
        raise ValueError(f"ActivationMonitor/report: no leaf layer named {missing} in the model. Leaf layers: {names}.")
    return chosen


def unit_axis(layer: Any, t: torch.Tensor) -> int:
    """The axis of units/channels: 1 for a channels_first layer, else the last."""
    if t.ndim >= 3 and getattr(layer, "data_format", None) == "channels_first":
        return 1
    return t.ndim - 1


def as_units(t: torch.Tensor, axis: int) -> torch.Tensor:
    """``t`` as ``(rows, units)``: one column per unit (channel), one row per sample and position."""
    if t.ndim < 2:
        return t.reshape(-1, 1)
    if axis != t.ndim - 1:
        t = t.movedim(axis, -1)
    return t.reshape(-1, t.shape[-1])


class Site:
    """One call of one layer inside a forward pass (what a table row describes)."""

    def __init__(self, key: str, layer: Any, call: int) -> None:
        self.key, self.layer, self.call = key, layer, call
        act = layer.__dict__.get("activation")
        self.has_activation_attr = callable(act)
        self.activation = activation_name(act) if callable(act) else None
        self.is_activation_layer = type(layer).__name__ == "Activation"
        self.relu = self.activation in RELU_NAMES
        self.saturation = SATURATION_THRESHOLDS.get(self.activation or "")


class Taps:
    """Forward hooks on leaf layers that hand ``(site, pre, post)`` to ``on_site``.

    ``active`` (a plain bool) switches the hooks on and off; off, a hook returns at once.
    """

    def __init__(self, model: Any, on_site: Callable[[Site, torch.Tensor, torch.Tensor], None],
                 layers: Sequence[Any] | None = None) -> None:
        self.model = model
        self.on_site = on_site
        self.layers = tapped_layers(model, layers)
        self.active = False
        self.sites: dict[str, Site] = {}
        self.order: list[str] = []  # call order of the latest pass (sites seen)
        self._calls: dict[int, int] = {}
        self._handles: list[Any] = []

    def install(self) -> "Taps":
        for layer in self.layers:
            self._handles.append(layer.register_forward_hook(self._hook(layer), with_kwargs=True))
        return self

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def new_pass(self) -> None:
        """Call before each forward pass: call counters (for shared layers) restart."""
        self._calls = {}
        self.order = []

    def _site(self, layer: Any) -> Site:
        n = self._calls.get(id(layer), 0) + 1
        self._calls[id(layer)] = n
        key = layer.name if n == 1 else f"{layer.name}#{n}"
        site = self.sites.get(key)
        if site is None or site.layer is not layer:
            site = self.sites[key] = Site(key, layer, n)
        self.order.append(key)
        return site

    def _hook(self, layer: Any) -> Callable:
        def hook(module: Any, args: tuple, kwargs: dict, output: Any) -> None:
            if not self.active or not isinstance(output, torch.Tensor) or not output.is_floating_point():
                return
            site = self._site(layer)
            with torch.no_grad():
                post = output.detach()
                if site.is_activation_layer and args and isinstance(args[0], torch.Tensor):
                    pre = args[0].detach()
                elif site.has_activation_attr and site.activation != "linear":
                    pre = _pre_activation(layer, args, kwargs)
                else:
                    pre = post
                self.on_site(site, pre, post)
        return hook


def _pre_activation(layer: Any, args: tuple, kwargs: dict) -> torch.Tensor:
    """Re-run ``layer.call`` with a linear activation: the output before the activation."""
    from initium import activations

    act = layer.__dict__["activation"]
    layer.activation = activations.linear
    try:
        out = layer.call(*args, **kwargs)
    finally:
        layer.activation = act
    return out.detach()


def batch_stats(site: Site, pre: torch.Tensor, post: torch.Tensor) -> torch.Tensor:
    """The ``STATS`` of one batch as one float32 vector on the tensors' device (no host sync)."""
    z = pre.detach().to(torch.float64)
    a = post.detach().to(torch.float64)
    pm, pq = z.mean(), z.square().mean()
    am, aq = a.mean(), a.square().mean()
    nan = torch.full((), math.nan, dtype=torch.float64, device=z.device)
    if site.relu:
        alive = (as_units(a, unit_axis(site.layer, a)) > 0).any(dim=0)
        dead = 1.0 - alive.to(torch.float64).mean()
    else:
        dead = nan
    sat = (z.abs() > site.saturation).to(torch.float64).mean() if site.saturation is not None else nan
    return torch.stack([pm, pq - pm * pm, pq, am, aq - am * am, aq, dead, sat]).to(torch.float32)


class ActivationMonitor(Callback):
    """A ``fit`` callback that records per-layer activation statistics every ``every`` steps.

    Args:
        every: record on training steps 0, every, 2·every, ... (counted across epochs and ``fit``
            calls). Default 100.
        layers: the leaf layers to watch (names or layer objects); default: all leaf layers.
        max_records: the most steps kept; later steps are dropped with a warning at the end of ``fit``.

    After ``fit``:

    - ``steps``: the recorded step numbers, shape ``(rows,)``;
    - ``sites``: the layer call sites in call order (``dense``, ``dense#2`` for a shared layer's second call);
    - ``history``: ``{stat: array (rows, sites)}`` for every name in ``STATS`` (NaN where a
      statistic does not apply: ``dead_share`` only for ReLU layers, ``saturated_share`` only for
      sigmoid/tanh), plus ``second_moment_ratio`` (pre-activation second moment over that of the
      previous layer with a kernel, as in ``report``);
    - ``to_records()``: one plain dict per (step, site); ``plot(path)``: a PNG of the statistics over steps.

    Recording costs, per recorded step, one extra no-grad call of each watched layer with an
    activation (to get its pre-activation) and a few reductions; no step synchronizes with the host.

    >>> mon = ActivationMonitor(every=50)
    >>> model.fit(x, y, epochs=3, callbacks=[mon])  # doctest: +SKIP
    >>> mon.history["dead_share"][:, 0]               # doctest: +SKIP
    """

    def __init__(self, every: int = 100, layers: Sequence[Any] | None = None, max_records: int = 10_000) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every <= 0:
            raise ValueError(f"ActivationMonitor: `every` must be a positive integer. Received: every={every!r}")
        if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records <= 0:
            raise ValueError(f"ActivationMonitor: `max_records` must be a positive integer. Received: {max_records!r}")
        self.every = every
        self.layer_filter = list(layers) if layers is not None else None
        self.max_records = max_records
        self._taps: Taps | None = None
        self._buffers: dict[str, torch.Tensor] = {}  # site key -> (capacity, len(STATS)) on device
        self._site_order: list[str] = []
        self._kernel_sites: set[str] = set()
        self._steps: list[int] = []
        self._row = -1
        self._global_step = 0
        self._dropped = 0
        self._host: dict[str, np.ndarray] | None = None

    # ---------------------------------------------------------------- fit hooks
    def on_train_begin(self, logs: Mapping | None = None) -> None:
        if self._taps is None:
            self._taps = Taps(self.model, self._record, self.layer_filter)
        self._taps.install()

    def on_train_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        if self._taps is None or self._global_step % self.every:
            return
        if len(self._steps) >= self.max_records:
            self._dropped += 1
            return
        self._steps.append(self._global_step)
        self._row = len(self._steps) - 1
        self._host = None
        self._taps.new_pass()
        self._taps.active = True

    def on_train_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        if self._taps is not None:
            self._taps.active = False
        self._global_step += 1

    def on_train_end(self, logs: Mapping | None = None) -> None:
        if self._taps is not None:
            self._taps.active = False
            self._taps.remove()
        if self._dropped:
            warnings.warn(f"ActivationMonitor: max_records={self.max_records} reached; {self._dropped} later "
                          "recording step(s) were dropped. Raise max_records or every.", stacklevel=2)
            self._dropped = 0
        self._materialize()

    # ---------------------------------------------------------------- recording (device only)
    def _record(self, site: Site, pre: torch.Tensor, post: torch.Tensor) -> None:
        row = self._row
        buf = self._buffers.get(site.key)
        if buf is None:
            cap = min(self.max_records, 64)
            buf = torch.full((cap, len(STATS)), math.nan, dtype=torch.float32, device=post.device)
            self._site_order.append(site.key)
            if site.has_activation_attr and any(v.ndim >= 2 for v in site.layer._own_weights):
                self._kernel_sites.add(site.key)
        while row >= buf.shape[0]:
            grow = min(buf.shape[0], self.max_records - buf.shape[0])
            buf = torch.cat([buf, torch.full((grow, len(STATS)), math.nan, dtype=buf.dtype, device=buf.device)])
        buf[row].copy_(batch_stats(site, pre, post))
        self._buffers[site.key] = buf

    def _materialize(self) -> None:
        rows = len(self._steps)
        out: dict[str, np.ndarray] = {}
        cols = []
        for key in self._site_order:
            buf = self._buffers[key]
            if buf.shape[0] < rows:
                buf = torch.cat([buf, torch.full((rows - buf.shape[0], len(STATS)), math.nan, dtype=buf.dtype,
                                                 device=buf.device)])
            cols.append(buf[:rows].to(cols[0].device) if cols else buf[:rows])
        # one device-to-host copy for the whole history
        data = (torch.stack(cols, dim=1).cpu().numpy().astype(np.float64) if cols
                else np.zeros((rows, 0, len(STATS))))
        for i, name in enumerate(STATS):
            out[name] = data[:, :, i]
        ratio = np.full((rows, len(self._site_order)), np.nan)
        prev = None
        for j, key in enumerate(self._site_order):
            if key in self._kernel_sites:
                if prev is not None:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        ratio[:, j] = out["pre_second_moment"][:, j] / out["pre_second_moment"][:, prev]
                prev = j
        out["second_moment_ratio"] = ratio
        self._host = out

    # ---------------------------------------------------------------- results
    @property
    def steps(self) -> np.ndarray:
        return np.asarray(self._steps, dtype=np.int64)

    @property
    def sites(self) -> list[str]:
        return list(self._site_order)

    @property
    def history(self) -> dict[str, np.ndarray]:
        if self._host is None:
            self._materialize()
        return self._host  # type: ignore[return-value]

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict per (step, site): ``{'step', 'layer', <stat>: float | None, ...}``."""
        hist = self.history
        out = []
        for i, step in enumerate(self._steps):
            for j, key in enumerate(self._site_order):
                row: dict[str, Any] = {"step": int(step), "layer": key}
                for name, arr in hist.items():
                    v = float(arr[i, j])
                    row[name] = None if math.isnan(v) else v
                out.append(row)
        return out

    def plot(self, path: str) -> str:
        """Draw pre-activation second moment (log scale), dead share and saturation over steps."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        hist, steps = self.history, self.steps
        if not len(steps):
            raise ValueError("ActivationMonitor.plot: nothing recorded yet (run fit with this callback first).")
        panels = [("pre_second_moment", "pre-activation E[z²]", True), ("second_moment_ratio", "E[z²] ratio to previous layer", False),
                  ("dead_share", "dead ReLU units (share, in the batch)", False),
                  ("saturated_share", "saturated (|z| > threshold)", False)]
        panels = [p for p in panels if np.isfinite(hist[p[0]]).any()]
        fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.6 * len(panels)), sharex=True, squeeze=False)
        for ax, (name, title, log) in zip(axes[:, 0], panels):
            for j, key in enumerate(self._site_order):
                col = hist[name][:, j]
                if np.isfinite(col).any():
                    ax.plot(steps, col, marker="." if len(steps) < 30 else None, label=key, color=f"C{j % 10}")
            if log:
                ax.set_yscale("log")
            ax.set_title(title, fontsize=9)
            ax.grid(alpha=0.3)
        axes[0, 0].legend(fontsize=7, ncol=4)
        axes[-1, 0].set_xlabel("training step")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return str(path)
