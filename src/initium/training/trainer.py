"""compile / fit / evaluate / predict: Keras's training API on an eager torch loop with no host
synchronization per step.

The hot path (DESIGN principle 6): array data is moved to the model's device once; every epoch a
``randperm`` on that device picks the batches, which are sliced there (no copies back to the
host); one step is forward, loss, backward and the optimizer's multi-tensor update; the loss and
metric states accumulate in device tensors. The host reads them only when the progress bar draws
(every few hundred milliseconds), when a callback asks for batch logs, and at the end of an epoch.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch.utils import _pytree as pytree

from initium import backend

__all__ = ["Trainer"]

_FIT_KWARGS = ("x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split", "validation_data",
               "shuffle", "class_weight", "sample_weight", "initial_epoch", "steps_per_epoch", "validation_steps",
               "validation_batch_size", "validation_freq")


def _model_device(model: Any) -> torch.device:
    for v in model.weights:
        return v.device
    return backend.default_device()


def _to_device_tensor(a: Any, device: torch.device, what: str) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        t = a.detach()
    else:
        arr = np.asarray(a)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"fit: `{what}` must be numeric (an array or tensor). Received dtype {arr.dtype}.")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_floating_point() and t.dtype != torch.float32 and t.dtype == torch.float64:
        t = t.to(backend.torch_dtype(backend.floatx()))
    if t.dtype == torch.uint8 or t.dtype == torch.int8 or t.dtype == torch.int16 or t.dtype == torch.int32:
        t = t.to(torch.int64) if what.startswith("y") else t.to(torch.float32)
    return t.to(device)


def _length(struct: Any) -> int:
    if type(struct) is torch.Tensor:
        return int(struct.shape[0])
    leaves = [t for t in pytree.tree_leaves(struct) if isinstance(t, torch.Tensor)]
    return int(leaves[0].shape[0]) if leaves else 0


def _take(struct: Any, index: torch.Tensor | slice) -> Any:
    if type(struct) is torch.Tensor:  # the common case, without pytree's overhead
        return struct[index] if isinstance(index, slice) else struct.index_select(0, index)
    if isinstance(index, slice):
        return pytree.tree_map(lambda t: t[index] if isinstance(t, torch.Tensor) else t, struct)
    return pytree.tree_map(lambda t: t.index_select(0, index) if isinstance(t, torch.Tensor) else t, struct)


class _ArrayData:
    """In-memory data already on the device: batches are slices (or index_select with a permutation)."""

    def __init__(self, x: Any, y: Any, sample_weight: Any, device: torch.device) -> None:
        self.x = pytree.tree_map(lambda a: _to_device_tensor(a, device, "x"), x, is_leaf=_is_array)
        self.y = None if y is None else pytree.tree_map(lambda a: _to_device_tensor(a, device, "y"), y, is_leaf=_is_array)
        self.sw = None if sample_weight is None else _to_device_tensor(sample_weight, device, "sample_weight").float()
        self.n = _length(self.x)
        lengths = {"x": self.n}
        if self.y is not None:
            lengths["y"] = _length(self.y)
        if self.sw is not None:
            lengths["sample_weight"] = int(self.sw.shape[0])
        if len(set(lengths.values())) > 1:
            raise ValueError(
                "Data cardinality is ambiguous: x and y (and sample_weight) must have the same number of samples. "
                f"Received: {', '.join(f'{k} has {v}' for k, v in lengths.items())}. Make sure all arrays contain the same "
                "number of samples."
            )
        self.device = device

    def split(self, fraction: float) -> tuple["_ArrayData", "_ArrayData"]:
        """Keras's validation_split: the LAST ``fraction`` of the samples, before any shuffling."""
        cut = int(self.n * (1.0 - fraction))
        if cut <= 0 or cut >= self.n:
            raise ValueError(
                f"validation_split={fraction} leaves {cut} training and {self.n - cut} validation samples out of "
                f"{self.n}; choose a fraction that keeps at least one sample on each side."
            )
        a, b = object.__new__(_ArrayData), object.__new__(_ArrayData)
        for part, sl in ((a, slice(0, cut)), (b, slice(cut, self.n))):
            part.x, part.y = _take(self.x, sl), _take(self.y, sl) if self.y is not None else None
            part.sw = self.sw[sl] if self.sw is not None else None
            part.n, part.device = sl.stop - sl.start, self.device
        return a, b

    def steps(self, batch_size: int) -> int:
        return max(1, math.ceil(self.n / batch_size)) if self.n else 0

    def batches(self, batch_size: int, shuffle: bool, steps: int | None = None) -> Iterator[tuple]:
        n = self.n
        if shuffle:
            perm = torch.randperm(n, device=self.device)
            for i, start in enumerate(range(0, n, batch_size)):
                if steps is not None and i >= steps:
                    return
                idx = perm[start:start + batch_size]
                yield _take(self.x, idx), _take(self.y, idx) if self.y is not None else None, (
                    self.sw.index_select(0, idx) if self.sw is not None else None)
        else:
            for i, start in enumerate(range(0, n, batch_size)):
                if steps is not None and i >= steps:
                    return
                sl = slice(start, start + batch_size)
                yield _take(self.x, sl), _take(self.y, sl) if self.y is not None else None, (
                    self.sw[sl] if self.sw is not None else None)


class _IterData:
    """A DataLoader, a generator or any iterable of ``x``, ``(x, y)`` or ``(x, y, sample_weight)``."""

    def __init__(self, source: Any, device: torch.device) -> None:
        self.source, self.device, self.n = source, device, None
        self._exhausted = False

    def steps(self, batch_size: int) -> int | None:
        try:
            return len(self.source)
        except TypeError:
            return None

    def batches(self, batch_size: int, shuffle: bool, steps: int | None = None) -> Iterator[tuple]:
        one_shot = iter(self.source) is self.source  # a generator: epochs continue where the last one stopped
        if self._exhausted and one_shot:
            raise ValueError(
                "This generator was already exhausted by a previous epoch. Pass steps_per_epoch and a generator that "
                "loops forever, or a re-iterable such as a torch DataLoader or a list of batches."
            )
        it = iter(self.source)
        i = 0
        while steps is None or i < steps:
            try:
                item = next(it)
            except StopIteration:
                self._exhausted = True
                return
            i += 1
            if isinstance(item, dict):
                raise ValueError("Batches must be x, (x, y) or (x, y, sample_weight) tuples, not dicts.")
            parts = list(item) if isinstance(item, (tuple, list)) and len(item) in (2, 3) else [item]
            x = pytree.tree_map(lambda a: _to_device_tensor(a, self.device, "x"), parts[0], is_leaf=_is_array)
            y = pytree.tree_map(lambda a: _to_device_tensor(a, self.device, "y"), parts[1], is_leaf=_is_array) if len(parts) > 1 and parts[1] is not None else None
            sw = _to_device_tensor(parts[2], self.device, "sample_weight").float() if len(parts) > 2 and parts[2] is not None else None
            yield x, y, sw


def _is_array(a: Any) -> bool:
    return isinstance(a, (np.ndarray, torch.Tensor)) or (isinstance(a, list) and bool(a) and isinstance(a[0], numbers.Number))


def _is_iterable_source(x: Any) -> bool:
    if isinstance(x, (np.ndarray, torch.Tensor, list, tuple, dict)):
        return False
    return isinstance(x, torch.utils.data.DataLoader) or hasattr(x, "__iter__") or hasattr(x, "__next__")


class Trainer:
    """The state behind ``Model.compile`` and the loops behind ``fit``/``evaluate``/``predict``."""

    def __init__(self, model: Any, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None,
                 metrics: Any = None, weighted_metrics: Any = None, run_eagerly: bool = False,
                 steps_per_execution: int = 1, jit_compile: Any = "auto", auto_scale_loss: bool = True) -> None:
        from initium import losses, metrics as metrics_mod, optimizers

        self.model = model
        self.optimizer = optimizers.get(optimizer)
        if self.optimizer is None:
            raise ValueError("compile: `optimizer` is required (Keras's default is 'rmsprop').")
        self.loss_spec = loss
        self.loss_weights = loss_weights
        self._losses = None if loss is None else _map_outputs(loss, _as_loss)
        if weighted_metrics:
            raise ValueError("compile: weighted_metrics is not supported yet; pass sample_weight with `metrics`.")
        self.metrics_spec = metrics
        self._metrics_mod = metrics_mod
        self._metrics: list[tuple[int | None, Any]] | None = None  # (output index, metric), resolved at first batch
        self.loss_tracker = metrics_mod.Mean(name="loss")
        if jit_compile not in ("auto", True, False):
            raise ValueError(f"compile: `jit_compile` must be True, False or 'auto'. Received: {jit_compile!r}")
        # 'auto' is eager: on this project's CPU torch.compile's start-up (tens of seconds) outweighs its gain
        # for the model sizes Keras users train here (bench/fit_speed.py measures both).
        self.jit_compile = jit_compile is True
        self._compiled_forward: Callable | None = None
        self._prepared = False

    # ------------------------------------------------------------------ losses and metrics
    def _outputs(self, y_pred: Any) -> list:
        return list(y_pred) if isinstance(y_pred, (list, tuple)) else [y_pred]

    def _loss_fns(self, n_out: int) -> list:
        fns = self._losses
        if isinstance(fns, dict):
            names = [t._keras_history[0].name for t in self.model.outputs]
            missing = [n for n in names if n not in fns]
            if missing:
                raise ValueError(f"compile: `loss` dict has no entry for output(s) {missing}; keys: {list(fns)}.")
            return [fns[n] for n in names]
        if isinstance(fns, list):
            if len(fns) != n_out:
                raise ValueError(f"compile: `loss` is a list of {len(fns)} but the model has {n_out} outputs.")
            return fns
        return [fns] * n_out

    def compute_loss(self, y: Any, y_pred: Any, sample_weight: Any) -> torch.Tensor:
        if self._losses is None:
            raise ValueError(
                "The model was compiled without a loss. Pass loss= to compile(), e.g. "
                "compile(optimizer='adam', loss='sparse_categorical_crossentropy')."
            )
        preds = self._outputs(y_pred)
        ys = list(y) if isinstance(y, (list, tuple)) and len(preds) > 1 else [y]
        if isinstance(y, dict):
            ys = [y[t._keras_history[0].name] for t in self.model.outputs]
        if len(ys) != len(preds):
            raise ValueError(f"fit: the model has {len(preds)} outputs but y provides {len(ys)} targets.")
        fns = self._loss_fns(len(preds))
        weights = self.loss_weights
        if isinstance(weights, dict):
            weights = [weights.get(t._keras_history[0].name, 1.0) for t in self.model.outputs]
        total = None
        for i, (fn, yt, yp) in enumerate(zip(fns, ys, preds)):
            value = _call_loss(fn, yt, yp, sample_weight)
            if weights is not None:
                value = value * weights[i]
            total = value if total is None else total + value
        return total

    def _resolve_metrics(self, y: Any, y_pred: Any) -> None:
        m = self._metrics_mod
        preds = self._outputs(y_pred)
        ys = list(y) if isinstance(y, (list, tuple)) and len(preds) > 1 else [y]
        spec = self.metrics_spec or []
        out: list[tuple[int | None, Any]] = []

        def make(ident: Any, k: int) -> Any:
            if isinstance(ident, str) and ident in ("accuracy", "acc"):
                return m.resolve_accuracy(ys[k], preds[k])
            metric = m.get(ident)
            if not isinstance(metric, m.Metric):  # a plain function: wrap it, Keras-style
                metric = m.MeanMetricWrapper(metric, name=getattr(ident, "__name__", str(ident)))
            if isinstance(ident, str):
                metric.name = ident  # Keras names a compiled metric by the string given ('mse' stays 'mse')
            return metric

        if isinstance(spec, dict):
            names = [t._keras_history[0].name for t in self.model.outputs]
            for name, idents in spec.items():
                k = names.index(name)
                for ident in (idents if isinstance(idents, (list, tuple)) else [idents]):
                    metric = make(ident, k)
                    metric.name = f"{name}_{metric.name}"
                    out.append((k, metric))
        else:
            if not isinstance(spec, (list, tuple)):
                raise TypeError(f"compile: `metrics` must be a list (or a dict per output). Received: {spec!r}")
            for ident in spec:
                for k in range(len(preds)):
                    metric = make(ident, k)
                    if len(preds) > 1:
                        metric.name = f"{self.model.outputs[k]._keras_history[0].name}_{metric.name}"
                    out.append((k, metric))
        self._metrics = out

    def _update_metrics(self, y: Any, y_pred: Any, sample_weight: Any) -> None:
        if self._metrics is None:
            self._resolve_metrics(y, y_pred)
        if not self._metrics:
            return
        preds = self._outputs(y_pred)
        ys = list(y) if isinstance(y, (list, tuple)) and len(preds) > 1 else [y]
        for k, metric in self._metrics:
            metric.update_state(ys[k], preds[k], sample_weight=sample_weight)  # metrics detach (and keep masks)

    def metrics(self) -> list:
        return [self.loss_tracker] + [m for _, m in (self._metrics or [])]

    def reset_metrics(self) -> None:
        for metric in self.metrics():
            metric.reset_state()

    def logs(self, prefix: str = "") -> dict[str, float]:
        """Current metric values as Python floats (one host sync), keys sorted as Keras sorts them."""
        out = {}
        for metric in self.metrics():
            value = metric.result()
            if isinstance(value, torch.Tensor) and value.ndim == 0:
                out[prefix + metric.name] = float(value)
            elif isinstance(value, torch.Tensor):
                out[prefix + metric.name] = value.detach().cpu().numpy()
            else:
                out[prefix + metric.name] = value
        return dict(sorted(out.items()))

    # ------------------------------------------------------------------ the step
    def _prepare(self) -> None:
        model = self.model
        layers = list(model._flatten_layers(include_self=True))
        self._reg = [(v, v.regularizer) for v in model.weights if getattr(v, "regularizer", None) is not None]
        self._loss_layers = layers
        self._trainable = [v for v in model.trainable_weights]
        self._prepared = True

    def _extra_losses(self) -> torch.Tensor | None:
        extra = None
        for v, reg in self._reg:
            term = reg(v)
            extra = term if extra is None else extra + term
        for layer in self._loss_layers:
            for term in layer._added_losses:
                extra = term if extra is None else extra + term
        return extra

    def _forward_loss(self, x: Any, y: Any, sw: Any) -> tuple[torch.Tensor, Any]:
        y_pred = self.model(x, training=True)
        loss = self.compute_loss(y, y_pred, sw)
        extra = self._extra_losses()
        return (loss if extra is None else loss + extra), y_pred

    def train_step(self, x: Any, y: Any, sw: Any) -> None:
        if not self._prepared:
            if not self.model.built:
                with torch.no_grad():
                    self.model(x, training=False)
            self._prepare()
        forward = self._forward_loss
        if self.jit_compile:
            if self._compiled_forward is None:
                self._compiled_forward = torch.compile(self._forward_loss)
            forward = self._compiled_forward
        loss, y_pred = forward(x, y, sw)
        params = self._trainable
        for p in params:
            p.grad = None
        loss.backward()
        self.optimizer.apply([p.grad for p in params], params)
        batch = _length(x)
        self.loss_tracker.update_state(loss.detach(), sample_weight=batch)
        self._update_metrics(y, y_pred, sw)

    @torch.no_grad()
    def test_step(self, x: Any, y: Any, sw: Any) -> None:
        y_pred = self.model(x, training=False)
        loss = self.compute_loss(y, y_pred, sw)
        if not self._prepared:
            self._prepare()
        extra = self._extra_losses()
        if extra is not None:
            loss = loss + extra
        self.loss_tracker.update_state(loss, sample_weight=_length(x))
        self._update_metrics(y, y_pred, sw)


def _as_loss(spec: Any) -> Any:
    """``losses.get`` then, as Keras's compile does, a plain function becomes a ``LossFunctionWrapper``
    (sum over batch size, Keras's rank fix-up of y_true/y_pred, sample weights)."""
    from initium import losses

    fn = losses.get(spec)
    if fn is None or isinstance(fn, losses.Loss):
        return fn
    if not callable(fn):
        raise ValueError(f"compile: `loss` must be a name, a Loss or a function. Received: {spec!r}")
    return losses.LossFunctionWrapper(fn, name=getattr(fn, "__name__", "loss"))


def _call_loss(fn: Any, y_true: Any, y_pred: torch.Tensor, sample_weight: Any) -> torch.Tensor:
    return fn(y_true, y_pred, sample_weight=sample_weight)


def _map_outputs(spec: Any, getter: Callable) -> Any:
    if isinstance(spec, dict):
        return {k: getter(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [getter(v) for v in spec]
    return getter(spec)


# ---------------------------------------------------------------------- the loops

def _check_compiled(model: Any, what: str) -> "Trainer":
    trainer = getattr(model, "_trainer", None)
    if trainer is None:
        raise ValueError(
            f"You must call `compile()` before using the model ({what}). For example: "
            "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])."
        )
    return trainer


def _make_data(model: Any, x: Any, y: Any, sample_weight: Any, what: str) -> Any:
    device = _model_device(model)
    if x is None:
        raise ValueError(f"{what}: `x` is required.")
    if _is_iterable_source(x):
        if y is not None:
            raise ValueError(f"{what}: when x is a DataLoader or generator it must yield (x, y) itself; do not pass y.")
        return _IterData(x, device)
    return _ArrayData(x, y, sample_weight, device)


def _check_finite(data: Any, what: str) -> None:
    """One host sync per fit: NaN or inf in x would silently train garbage."""
    if not isinstance(data, _ArrayData):
        return
    for arg, tree in (("x", data.x), ("y", data.y)):
        for t in pytree.tree_leaves(tree):
            if not (isinstance(t, torch.Tensor) and t.is_floating_point() and t.numel()):
                continue
            if bool(torch.isfinite(t.sum())):  # one cheap pass; NaN or inf anywhere makes the sum non-finite
                continue
            bad = ~torch.isfinite(t).reshape(t.shape[0], -1).all(dim=1)
            if bool(bad.any()):
                rows = torch.nonzero(bad).flatten()[:5].tolist()
                raise ValueError(
                    f"{what}: `{arg}` contains NaN or infinite values (first bad rows: {rows}, {int(bad.sum())} in "
                    "all). Clean or impute them before training (e.g. np.nan_to_num), or drop those rows."
                )


def _class_weight_to_sample_weight(y: Any, class_weight: dict) -> torch.Tensor:
    if not isinstance(y, torch.Tensor):
        raise ValueError("fit: class_weight needs a single y array (one output).")
    labels = y.argmax(dim=-1) if (y.ndim > 1 and y.shape[-1] > 1) else y.reshape(y.shape[0]).long()
    top = int(labels.max()) + 1 if labels.numel() else 0
    table = torch.ones(max(top, max(class_weight) + 1), device=y.device)
    for k, w in class_weight.items():
        table[int(k)] = float(w)
    return table[labels]


def fit(model: Any, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
        verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0, validation_data: Any = None,
        shuffle: bool = True, class_weight: dict | None = None, sample_weight: Any = None, initial_epoch: int = 0,
        steps_per_epoch: int | None = None, validation_steps: int | None = None,
        validation_batch_size: int | None = None, validation_freq: int = 1) -> Any:
    from initium import callbacks as callbacks_mod

    trainer = _check_compiled(model, "fit")
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: `epochs` must be a non-negative integer. Received: epochs={epochs!r}")
    batch_size = 32 if batch_size is None else batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"fit: `batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    if not isinstance(validation_split, (int, float)) or not 0.0 <= validation_split < 1.0:
        raise ValueError(f"fit: `validation_split` must be a float in [0, 1). Received: validation_split={validation_split!r}")
    verbose = 1 if verbose == "auto" else verbose
    data = _make_data(model, x, y, sample_weight, "fit")
    if isinstance(data, _ArrayData) and data.y is None:
        raise ValueError("fit: `y` is required when x is an array (pass x=..., y=...).")
    _check_finite(data, "fit")
    if class_weight is not None and isinstance(data, _ArrayData):
        cw = _class_weight_to_sample_weight(data.y, class_weight)
        data.sw = cw if data.sw is None else data.sw * cw
    val = None
    if validation_split:
        if not isinstance(data, _ArrayData):
            raise ValueError("fit: validation_split needs array data; pass validation_data with a DataLoader or generator.")
        data, val = data.split(validation_split)
    elif validation_data is not None:
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3) and not _is_iterable_source(validation_data[0]):
            vx, vy = validation_data[0], validation_data[1]
            vsw = validation_data[2] if len(validation_data) == 3 else None
            val = _ArrayData(vx, vy, vsw, data.device)
        else:
            val = _IterData(validation_data, data.device)
    _calibrate_lsuv(model, data)
    steps = steps_per_epoch or data.steps(batch_size)
    cbs = callbacks_mod.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                                     verbose=verbose, epochs=epochs, steps=steps)
    model.stop_training = False
    trainer.reset_metrics()
    cbs.on_train_begin()
    resume = next((cb._resume_epoch for cb in cbs.callbacks if getattr(cb, "_resume_epoch", None) is not None), None)
    if resume is not None:  # BackupAndRestore found a backup: continue after its last finished epoch
        initial_epoch = max(initial_epoch, int(resume))
    epoch_logs: dict[str, Any] = {}
    for epoch in range(initial_epoch, epochs):
        trainer.reset_metrics()
        cbs.on_epoch_begin(epoch)
        step = 0
        for step, (bx, by, bsw) in enumerate(data.batches(batch_size, shuffle, steps_per_epoch)):
            cbs.on_train_batch_begin(step)
            trainer.train_step(bx, by, bsw)
            cbs.on_train_batch_end(step, callbacks_mod.LazyLogs(trainer.logs))
            if model.stop_training:
                break
        epoch_logs = trainer.logs()
        if val is not None and (epoch + 1) % validation_freq == 0:
            val_logs = _evaluate_data(model, trainer, val, validation_batch_size or batch_size, validation_steps, None)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            epoch_logs = dict(sorted(epoch_logs.items()))
        cbs.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cbs.on_train_end(epoch_logs)
    return model.history


LSUV_BATCH = 1024  # rows of x that calibrate uncalibrated LSUV kernels at the start of fit


def _calibrate_lsuv(model: Any, data: Any) -> None:
    """Calibrate kernels built with an uncalibrated ``LSUV`` initializer, on a fixed sample of x."""
    from initium.initializers.data import LSUV

    pending = [la for la in model._flatten_layers(include_self=False)
               if any(isinstance(v.initializer, LSUV) and not v.initializer.calibrated for v in la._own_weights)]
    if not pending:
        return
    if not isinstance(data, _ArrayData):
        raise ValueError(
            f"fit: layer(s) {[la.name for la in pending]} have an LSUV kernel initializer that needs a batch of data "
            "to calibrate, and fit can take it only from array data. Call initium.lab.lsuv(model, x_batch) before fit."
        )
    from initium.lab.lsuv import calibrate_pending

    gen = torch.Generator().manual_seed(0)  # a fixed, class-mixed sample whatever the data's order
    rows = torch.randperm(data.n, generator=gen)[:LSUV_BATCH].sort().values.to(data.device)
    calibrate_pending(model, _take(data.x, rows), pending)


def _evaluate_data(model: Any, trainer: Trainer, data: Any, batch_size: int, steps: int | None, cbs: Any) -> dict:
    trainer.reset_metrics()
    if cbs is not None:
        cbs.on_test_begin()
    for step, (bx, by, bsw) in enumerate(data.batches(batch_size, False, steps)):
        if cbs is not None:
            cbs.on_test_batch_begin(step)
        trainer.test_step(bx, by, bsw)
        if cbs is not None:
            from initium import callbacks as callbacks_mod

            cbs.on_test_batch_end(step, callbacks_mod.LazyLogs(trainer.logs))
    logs = trainer.logs()
    if cbs is not None:
        cbs.on_test_end(logs)
    return logs


def evaluate(model: Any, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
             sample_weight: Any = None, steps: int | None = None, callbacks: Any = None, return_dict: bool = False) -> Any:
    from initium import callbacks as callbacks_mod

    trainer = _check_compiled(model, "evaluate")
    verbose = 1 if verbose == "auto" else verbose
    data = _make_data(model, x, y, sample_weight, "evaluate")
    _check_finite(data, "evaluate")
    bs = batch_size or 32
    cbs = callbacks_mod.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                                     steps=steps or data.steps(bs))
    logs = _evaluate_data(model, trainer, data, bs, steps, cbs)
    if return_dict:
        return logs
    ordered = [logs["loss"]] + [logs[m.name] for m in trainer.metrics()[1:]]
    return ordered[0] if len(ordered) == 1 else ordered


@torch.no_grad()
def predict(model: Any, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
            callbacks: Any = None) -> Any:
    from initium import callbacks as callbacks_mod

    verbose = 1 if verbose == "auto" else verbose
    device = _model_device(model)
    data = _IterData(x, device) if _is_iterable_source(x) else _ArrayData(x, None, None, device)
    bs = batch_size or 32
    cbs = callbacks_mod.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                                     steps=steps or data.steps(bs))
    cbs.on_predict_begin()
    outs = []
    for step, (bx, _, _) in enumerate(data.batches(bs, False, steps)):
        cbs.on_predict_batch_begin(step)
        outs.append(model(bx, training=False))
        cbs.on_predict_batch_end(step, {})
    cbs.on_predict_end()
    if not outs:
        raise ValueError("predict: the input has no samples.")
    merged = pytree.tree_map(lambda *ts: torch.cat(ts, 0), *outs) if len(outs) > 1 else outs[0]
    return pytree.tree_map(lambda t: backend.to_numpy(t) if isinstance(t, torch.Tensor) else t, merged)


def train_on_batch(model: Any, x: Any, y: Any = None, sample_weight: Any = None, class_weight: dict | None = None,
                   return_dict: bool = False) -> Any:
    trainer = _check_compiled(model, "train_on_batch")
    data = _ArrayData(x, y, sample_weight, _model_device(model))
    if class_weight is not None:
        cw = _class_weight_to_sample_weight(data.y, class_weight)
        data.sw = cw if data.sw is None else data.sw * cw
    trainer.reset_metrics()
    trainer.train_step(data.x, data.y, data.sw)
    return _batch_result(trainer, return_dict)


def test_on_batch(model: Any, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
    trainer = _check_compiled(model, "test_on_batch")
    data = _ArrayData(x, y, sample_weight, _model_device(model))
    trainer.reset_metrics()
    trainer.test_step(data.x, data.y, data.sw)
    return _batch_result(trainer, return_dict)


def _batch_result(trainer: Trainer, return_dict: bool) -> Any:
    logs = trainer.logs()
    if return_dict:
        return logs
    ordered = [logs["loss"]] + [logs[m.name] for m in trainer.metrics()[1:]]
    return ordered[0] if len(ordered) == 1 else ordered
