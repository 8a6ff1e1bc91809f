"""compile / fit / evaluate / predict: Keras's training API on an eager torch loop with no host
synchronization per step.

The hot path (docs/DESIGN.md, principle 6): array data is moved to the model's device once; every epoch a
``randperm`` on that device picks the batches, which are sliced there (no copies back to the
host); one step is forward, loss, backward and the optimizer's multi-tensor update; the loss and
metric states accumulate in device tensors. The host reads them only when the progress bar draws
(every few hundred milliseconds), when a callback asks for batch logs, and at the end of an epoch.

``compile`` arguments, as Keras 3 defines them:

- ``metrics`` are computed without sample weights; ``weighted_metrics`` with them (``sample_weight``
  or ``class_weight``). A weighted metric whose name is already taken by an unweighted one is
  reported as ``weighted_<name>`` (``weighted_accuracy``), as Keras names it.
- ``steps_per_execution=N`` runs N batches per execution: the batch-level callbacks (and so the
  progress bar) are called once per execution, ``on_*_batch_begin`` with its first batch index and
  ``on_*_batch_end`` with its last, and ``stop_training`` is looked at between executions. (Keras's
  torch backend refuses N > 1; its other backends behave so.)
- ``jit_compile=True``: on CUDA, ``fit`` captures the whole step in a CUDA graph after warm-up and
  replays it per batch (training/capture.py); when it cannot (not on CUDA, a plain-callable learning
  rate, seeded random layers) it says why in one warning and runs forward and loss under
  ``torch.compile``; a capture that fails warns and runs the step eagerly. ``'auto'`` and
  ``False`` run eagerly. ``run_eagerly=True`` always runs eagerly (with ``jit_compile=True``, Keras's
  warning, and compilation is turned off); ``model.run_eagerly`` reads and sets it.
- ``auto_scale_loss`` only acts, in Keras, under the ``"mixed_float16"`` dtype policy, which initium
  does not have (layers refuse ``mixed_*`` dtypes): it is validated, recorded and otherwise a no-op,
  which is Keras's behaviour for every other policy.

Data checks ``fit`` makes that Keras does not: NaN or infinite values in ``x``, ``y``,
``sample_weight`` or ``class_weight`` raise (Keras trains to NaN), as do empty arrays and a
``steps_per_epoch`` that is not a positive integer (Keras silently runs a full epoch for 0).
``validation_data`` wins over ``validation_split``, as in Keras, with a warning (Keras is silent).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch
from torch.utils import _pytree as pytree

from initium import backend
from initium import distribution as _distribution
from initium.training import capture
from initium.training.custom_steps import custom_steps_for, predict_batch

__all__ = ["Trainer"]

def _model_device(model: Any) -> torch.device:
    for v in model.weights:
        return v.device
    return backend.default_device()


_SMALL_INTS = (torch.uint8, torch.int8, torch.int16, torch.int32)


def _to_device_tensor(a: Any, device: torch.device, what: str) -> torch.Tensor:
    """``a`` as a tensor on ``device``: float64 and bool become floatx (bool ``x`` then feeds a Dense
    as Keras's ``fit(x > 0, y)`` does); small integers become int64 labels in ``y``, floatx elsewhere."""
    if isinstance(a, torch.Tensor):
        t = a.detach()
    else:
        arr = np.asarray(a)
        if what == "x" and _is_text(arr):  # stays on the host for the model's string layers
            return arr
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"fit: `{what}` must be numeric (an array or tensor). Received dtype {arr.dtype}.")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.dtype == torch.float64 or t.dtype == torch.bool:
        t = t.to(backend.torch_dtype(backend.floatx()))
    elif t.dtype in _SMALL_INTS:
        t = t.to(torch.int64) if what.startswith("y") else t.to(backend.torch_dtype(backend.floatx()))
    return t.to(device)


def _is_text(arr: np.ndarray) -> bool:
    """An array of str/bytes (Keras's ``dtype="string"`` data)."""
    return arr.dtype.kind in "SU" or (arr.dtype == object and arr.size > 0 and isinstance(arr.flat[0], (str, bytes)))


def _length(struct: Any) -> int:
    if type(struct) is torch.Tensor:
        return int(struct.shape[0])
    leaves = [t for t in pytree.tree_leaves(struct) if isinstance(t, (torch.Tensor, np.ndarray))]
    return int(leaves[0].shape[0]) if leaves else 0


def _take(struct: Any, index: torch.Tensor | slice) -> Any:
    if type(struct) is torch.Tensor:  # the common case, without pytree's overhead
        return struct[index] if isinstance(index, slice) else struct.index_select(0, index)
    if isinstance(index, slice):
        return pytree.tree_map(lambda t: t[index] if isinstance(t, (torch.Tensor, np.ndarray)) else t, struct)
    rows = index.cpu().numpy() if any(isinstance(t, np.ndarray) for t in pytree.tree_leaves(struct)) else None
    return pytree.tree_map(lambda t: t.index_select(0, index) if isinstance(t, torch.Tensor) else
                           t[rows] if isinstance(t, np.ndarray) else t, struct)


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

    training = False  # fit's training data: under a distribution, a batch too small to split is dropped
    rows_log: list | None = None  # under a distribution, the rows of every batch (predict's order)

    def batches(self, batch_size: int, shuffle: bool, steps: int | None = None) -> Iterator[tuple]:
        dp = _distribution.active()
        if dp is not None:  # this rank's rows of every global batch (distribution.py)
            for idx in dp.array_batches(self.n, batch_size, shuffle, self.device, steps, self.training, self.rows_log):
                yield _take(self.x, idx), _take(self.y, idx) if self.y is not None else None, (
                    None if self.sw is None else self.sw[idx] if isinstance(idx, slice) else self.sw.index_select(0, idx))
            return
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
        self.class_weight: dict | None = None  # a PyDataset's batches get their classes' weights (as in Keras)
        self.dp = _distribution.active()
        self.split = self.dp is not None  # every rank reads each batch and keeps its rows (distribution.py)
        self.training, self.rows_log = False, None

    @property
    def kind(self) -> str:
        """The source as Keras's messages name it: ``torch DataLoader``, ``generator``, or (initium
        also takes them) ``Python iterable``."""
        if isinstance(self.source, torch.utils.data.DataLoader):
            return "torch DataLoader"
        return "generator" if iter(self.source) is self.source else "Python iterable"

    @property
    def is_py_dataset(self) -> bool:
        """Whether the source is a ``keras.utils.PyDataset`` (which, unlike generators, takes class_weight)."""
        return any(cls.__name__ == "PyDataset" for cls in type(self.source).__mro__)

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
            # x, (x,), (x, y) or (x, y, sample_weight), as Keras unpacks a batch (a dict is x: named inputs)
            parts = list(item) if isinstance(item, (tuple, list)) and len(item) in (1, 2, 3) else [item]
            x = pytree.tree_map(lambda a: _to_device_tensor(a, self.device, "x"), parts[0], is_leaf=_is_array)
            y = pytree.tree_map(lambda a: _to_device_tensor(a, self.device, "y"), parts[1], is_leaf=_is_array) if len(parts) > 1 and parts[1] is not None else None
            sw = _to_device_tensor(parts[2], self.device, "sample_weight").float() if len(parts) > 2 and parts[2] is not None else None
            if self.class_weight is not None:
                sw = _batch_class_weights(y, sw, self.class_weight)
            if self.split:
                mine = self.dp.split_batch(x, y, sw, self.training, self.rows_log)
                if mine is None:
                    continue
                x, y, sw = mine
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
        from initium import metrics as metrics_mod, optimizers

        self.model = model
        self.optimizer = optimizers.get(optimizer)
        if self.optimizer is None:
            raise ValueError("compile: `optimizer` is required (Keras's default is 'rmsprop').")
        self.loss_spec = loss
        self.loss_weights = loss_weights
        self._losses = None if loss is None else _map_outputs(loss, _as_loss)
        for arg, spec in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if spec and not isinstance(spec, (list, tuple, dict)):
                raise ValueError(f"compile: `{arg}` must be a list, tuple, or dict (one entry per output). "
                                 f"Received: {arg}={spec!r} of type {type(spec).__name__}; e.g. {arg}=['accuracy'].")
        self.metrics_spec = metrics
        self.weighted_metrics_spec = weighted_metrics
        self._metrics_mod = metrics_mod
        # (output index, metric, weighted?), resolved from the shapes of the first batch
        self._metrics: list[tuple[int, Any, bool]] | None = None
        self.loss_tracker = metrics_mod.Mean(name="loss")
        if jit_compile not in ("auto", True, False):
            raise ValueError(f"compile: `jit_compile` must be True, False or 'auto'. Received: {jit_compile!r}")
        for arg, flag in (("run_eagerly", run_eagerly), ("auto_scale_loss", auto_scale_loss)):
            if not isinstance(flag, bool):
                raise ValueError(f"compile: `{arg}` must be True or False. Received: {arg}={flag!r}")
        if jit_compile is True and run_eagerly:
            warnings.warn("If `run_eagerly` is True, then `jit_compile` cannot also be True. Disabling `jit_compile`.",
                          stacklevel=3)
            jit_compile = False
        # 'auto' is eager: on this project's CPU torch.compile's start-up (tens of seconds) outweighs its gain
        # for the model sizes Keras users train here (bench/fit_speed.py measures both).
        self.jit_compile = jit_compile is True
        self.run_eagerly = run_eagerly
        self.auto_scale_loss = auto_scale_loss  # a no-op without a mixed_float16 policy (the module docstring)
        self.steps_per_execution = _check_steps_per_execution(steps_per_execution)
        self._compiled_forward: Callable | None = None
        self._prepared = False
        self._dp: Any = None  # the DataParallel of the running fit/evaluate, or None (distribution.py)
        self._custom = custom_steps_for(model, self)  # the model's own train_step/test_step, if it has them

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
        if y is None:  # Keras fails here too (a ValueError on the dtype of None)
            raise ValueError("The model was compiled with a loss, but the data has no targets: the batches are x or "
                             "(x,). Yield (x, y) batches, or pass y=..., or compile without a loss and use add_loss.")
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
        """Build ``metrics`` then ``weighted_metrics`` for the outputs, and name them as Keras reports them."""
        plain = self._metric_entries(self.metrics_spec, "metrics", y, y_pred)
        weighted = self._metric_entries(self.weighted_metrics_spec, "weighted_metrics", y, y_pred)
        _name_as_keras(plain, weighted)
        self._metrics = ([(k, metric, False) for k, metric, _ in plain]
                         + [(k, metric, True) for k, metric, _ in weighted])

    def _metric_entries(self, spec: Any, arg: str, y: Any, y_pred: Any) -> list[tuple[int, Any, str | None]]:
        """``(output index, metric, output name or None)`` for one of compile's metric arguments."""
        m = self._metrics_mod
        preds = self._outputs(y_pred)
        ys = list(y) if isinstance(y, (list, tuple)) and len(preds) > 1 else [y]
        spec = spec or []
        out: list[tuple[int, Any, str | None]] = []

        def make(ident: Any, k: int) -> Any:
            if isinstance(ident, str) and ident in ("accuracy", "acc"):
                return m.resolve_accuracy(ys[k], preds[k], name=ident)
            metric = m.get(ident)
            if not isinstance(metric, m.Metric):  # a plain function: wrap it, Keras-style
                metric = m.MeanMetricWrapper(metric, name=getattr(ident, "__name__", str(ident)))
            if isinstance(ident, str):
                metric.name = ident  # Keras names a compiled metric by the string given ('mse' stays 'mse')
            return metric

        if isinstance(spec, dict):
            names = [t._keras_history[0].name for t in self.model.outputs]
            for name, idents in spec.items():
                if name not in names:
                    raise ValueError(f"compile: `{arg}` has the key {name!r}, which is not an output of the model; "
                                     f"outputs: {names}.")
                k = names.index(name)
                for ident in (idents if isinstance(idents, (list, tuple)) else [idents]):
                    out.append((k, make(ident, k), name))
        else:
            for ident in spec:
                for k in range(len(preds)):
                    prefix = self.model.outputs[k]._keras_history[0].name if len(preds) > 1 else None
                    out.append((k, make(ident, k), prefix))
        return out

    def _update_metrics(self, y: Any, y_pred: Any, sample_weight: Any) -> None:
        if self._metrics is None:
            self._resolve_metrics(y, y_pred)
        if not self._metrics:
            return
        preds = self._outputs(y_pred)
        ys = list(y) if isinstance(y, (list, tuple)) and len(preds) > 1 else [y]
        for k, metric, weighted in self._metrics:  # metrics detach (and keep masks)
            metric.update_state(ys[k], preds[k], sample_weight=sample_weight if weighted else None)

    def metrics(self) -> list:
        return [self.loss_tracker] + [m for _, m, _ in (self._metrics or [])]

    def reset_metrics(self) -> None:
        if self._custom is not None:
            self._custom.reset()
        for metric in self.metrics():
            metric.reset_state()

    def logs(self, prefix: str = "") -> dict[str, float]:
        """Current metric values as Python floats (one host sync), keys sorted as Keras sorts them."""
        custom = self._custom.logs() if self._custom is not None else None
        if custom is not None:  # what the model's own step returned
            return {prefix + k: v for k, v in custom.items()}
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

    def prepare_step(self, x: Any) -> None:
        """Build the model (from ``x``) and the step's lists, once."""
        if not self._prepared:
            if not self.model.built:
                with torch.no_grad():
                    self.model(x, training=False)
            self._prepare()

    def train_step(self, x: Any, y: Any, sw: Any) -> None:
        if self._custom is not None and self._custom.train:
            return self._custom.train_step(x, y, sw)
        self.prepare_step(x)
        forward = self._forward_loss
        if self.jit_compile and not self.run_eagerly:
            if self._compiled_forward is None:
                self._compiled_forward = torch.compile(self._forward_loss)
            forward = self._compiled_forward
        self.train_body(forward, x, y, sw)

    def train_body(self, forward: Callable, x: Any, y: Any, sw: Any) -> None:
        """Forward, loss, backward, optimizer update, metric updates: no host sync (training/capture.py
        captures exactly this in a CUDA graph)."""
        loss, y_pred = forward(x, y, sw)
        params = self._trainable
        for p in params:
            p.grad = None
        batch = _length(x)
        if self._dp is None:
            loss.backward()
        else:  # gradients, loss and rows summed over the processes
            loss, batch = self._dp.backward(loss, batch, params, self.model)
        self.optimizer.apply([p.grad for p in params], params)
        self.loss_tracker.update_state(loss.detach(), sample_weight=batch)
        self._update_metrics(y, y_pred, sw)

    @torch.no_grad()
    def test_step(self, x: Any, y: Any, sw: Any) -> None:
        if self._custom is not None and self._custom.test:
            return self._custom.test_step(x, y, sw)
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


def _name_as_keras(plain: list, weighted: list) -> None:
    """Give each compiled metric the name Keras reports it under (``CompileMetrics.result``).

    ``plain`` and ``weighted`` hold ``(output index, metric, output name or None)``. A name is the
    metric's, prefixed with its output's name on multi-output models. A repeated unweighted name
    gets ``_1``, ``_2``...; a weighted metric whose name is taken becomes ``weighted_<name>`` (then
    ``_1``... if that is taken too).
    """
    counts: dict[str, int] = {}

    def prefixed(out: str | None, name: str) -> str:
        return f"{out}_{name}" if out else name

    def claim(name: str) -> str:
        if name not in counts:
            counts[name] = 1
            return name
        index = counts[name]
        counts[name] += 1
        return f"{name}_{index}"

    for _, metric, out in plain:
        metric.name = claim(prefixed(out, metric.name))
    for _, metric, out in weighted:
        name = prefixed(out, metric.name)
        metric.name = claim(name if name not in counts else prefixed(out, f"weighted_{metric.name}"))


def _check_steps_per_execution(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        hint = " ('auto' is Keras 2's option; Keras 3 takes an integer)" if value == "auto" else ""
        raise ValueError(
            "compile: `steps_per_execution` must be a positive integer, the number of batches run per execution "
            f"(batch callbacks and the progress bar are called once per execution). Received: "
            f"steps_per_execution={value!r}{hint}."
        )
    return int(value)


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


def _check_steps(value: Any, arg: str, what: str) -> None:
    """``steps_per_epoch``, ``validation_steps``, ``steps``: None or a positive integer."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1):
        raise ValueError(f"{what}: `{arg}` must be a positive integer or None (None: until the data runs out). "
                         f"Received: {arg}={value!r}")


def _unsupported_with_iterable(data: "_IterData", arg: str, described: str) -> ValueError:
    """Keras's error for an argument that a DataLoader or generator must carry in its batches."""
    return ValueError(
        f"When providing `x` as a {data.kind}, `{arg}` should not be passed. Instead, {described} should be "
        f"included as part of the {data.kind}: yield (x, y, sample_weight) batches."
    )


def _make_data(model: Any, x: Any, y: Any, sample_weight: Any, what: str) -> Any:
    device = _model_device(model)
    if x is None:
        raise ValueError(f"{what}: `x` is required.")
    if _is_iterable_source(x):
        data = _IterData(x, device)
        if y is not None:
            raise _unsupported_with_iterable(data, "y", "the targets")
        if sample_weight is not None:
            raise _unsupported_with_iterable(data, "sample_weight", "the sample weights")
        return data
    data = _ArrayData(x, y, sample_weight, device)
    if data.n == 0:  # Keras: "num_samples should be a positive integer value, but got num_samples=0"
        raise ValueError(f"{what}: `x` has no samples (0 rows), so there is nothing to {what} on. Check the data "
                         "loading or filtering that produced it.")
    return data


def _check_finite(data: Any, what: str) -> None:
    """One host sync per fit: NaN or inf in x, y or sample_weight would silently train garbage."""
    if not isinstance(data, _ArrayData):
        return
    for arg, tree in (("x", data.x), ("y", data.y), ("sample_weight", data.sw)):
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


def _check_class_weight(class_weight: Any, data: Any, sample_weight: Any) -> None:
    """Keras's rules for ``class_weight``, plus finite values and integer keys (Keras skips other keys)."""
    if not isinstance(class_weight, dict):
        raise ValueError(f"fit: `class_weight` must be a dict {{class index: weight}}. Received: {class_weight!r}")
    if isinstance(data, _IterData) and not data.is_py_dataset:  # Keras raises for DataLoaders and generators
        raise ValueError(
            f"Argument `class_weight` is not supported for {data.kind} inputs. Yield (x, y, sample_weight) batches "
            f"with the weights of each sample's class instead. Received: class_weight={class_weight}"
        )
    if sample_weight is not None:
        raise ValueError("You cannot `class_weight` and `sample_weight` at the same time. Multiply the class weights "
                         "into sample_weight yourself to use both.")
    for k, w in class_weight.items():
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
            raise ValueError(f"fit: `class_weight` keys must be class indices (non-negative integers). Received the "
                             f"key {k!r} in class_weight={class_weight}")
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w):
            raise ValueError(f"fit: `class_weight` values must be finite numbers. Received class_weight[{k}]={w!r}; "
                             "a NaN or infinite weight would make every loss NaN.")


def _class_weight_to_sample_weight(y: Any, class_weight: dict) -> torch.Tensor:
    """Each sample's class weight (1 for classes not in the dict), classes read as Keras reads them:
    the argmax of one-hot rows, else the rounded label."""
    if not isinstance(y, torch.Tensor):
        raise ValueError("`class_weight` is only supported for Models with a single output.")
    if y.ndim > 1 and y.shape[-1] > 1:
        labels = y.argmax(dim=-1)
    else:
        labels = y.reshape(y.shape[0])
        labels = (labels.round() if labels.is_floating_point() else labels).long()
    top = int(labels.max()) + 1 if labels.numel() else 0
    table = torch.ones(max(top, max(class_weight, default=-1) + 1), device=y.device)
    for k, w in class_weight.items():
        table[int(k)] = float(w)
    return table[labels]


def _batch_class_weights(y: Any, sample_weight: Any, class_weight: dict) -> torch.Tensor:
    """A PyDataset batch's sample weights from ``class_weight`` (Keras's rule: not with its own weights)."""
    if sample_weight is not None:
        raise ValueError("You cannot `class_weight` and `sample_weight` at the same time: the PyDataset yields "
                         "(x, y, sample_weight) batches. Multiply the class weights into its sample weights instead.")
    if y is None:
        raise ValueError("fit: `class_weight` needs targets, but the PyDataset yields batches without y.")
    return _class_weight_to_sample_weight(y, class_weight)


def _run_executions(batches: Iterable[tuple], per_execution: int, step: Callable, begin: Callable,
                    end: Callable, stop: Callable[[], bool] | None = None) -> None:
    """``step(*batch)`` for every batch, grouped in executions of ``per_execution`` batches (Keras's
    ``steps_per_execution``): ``begin(first index)`` before each execution, ``end(last index)`` after
    it (the last execution of an epoch may be shorter), then ``stop()`` may end the loop."""
    last = -1
    for i, batch in enumerate(batches):
        if i % per_execution == 0:
            begin(i)
        step(*batch)
        last = i
        if (i + 1) % per_execution == 0:
            end(i)
            if stop is not None and stop():
                return
    if last >= 0 and (last + 1) % per_execution:
        end(last)


def _fit_data(model: Any, x: Any, y: Any, sample_weight: Any, class_weight: Any, validation_split: float,
              validation_data: Any) -> tuple[Any, Any]:
    """The training data (with class weights as sample weights) and the validation data, or None."""
    data = _make_data(model, x, y, sample_weight, "fit")
    if isinstance(data, _ArrayData) and data.y is None:
        raise ValueError("fit: `y` is required when x is an array (pass x=..., y=...).")
    if class_weight is not None:
        _check_class_weight(class_weight, data, sample_weight)
    _check_finite(data, "fit")
    val = None
    if validation_data is not None:
        if validation_split:
            warnings.warn(f"fit: both `validation_data` and `validation_split={validation_split}` were given; "
                          "validation_data is used and validation_split is ignored (as in Keras).", stacklevel=3)
        if (isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3)
                and not _is_iterable_source(validation_data[0])):
            vsw = validation_data[2] if len(validation_data) == 3 else None
            val = _ArrayData(validation_data[0], validation_data[1], vsw, data.device)
            _check_finite(val, "fit (validation_data)")
        else:
            val = _IterData(validation_data, data.device)
    elif validation_split:
        if not isinstance(data, _ArrayData):
            raise ValueError("fit: validation_split needs array data; pass validation_data with a DataLoader or "
                             "generator.")
        data, val = data.split(validation_split)
    if class_weight is not None and isinstance(data, _IterData):  # a PyDataset: weighted batch by batch
        data.class_weight = class_weight
    elif class_weight is not None:  # training batches only: validation losses stay unweighted by class
        data.sw = _class_weight_to_sample_weight(data.y, class_weight)
    return data, val


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
    _check_steps(steps_per_epoch, "steps_per_epoch", "fit")
    _check_steps(validation_steps, "validation_steps", "fit")
    verbose = 1 if verbose == "auto" else verbose
    data, val = _fit_data(model, x, y, sample_weight, class_weight, validation_split, validation_data)
    _calibrate_lsuv(model, data)
    dp = trainer._dp = _distribution.active()
    if dp is not None:
        _begin_distributed(dp, trainer, data, batch_size)
    steps = steps_per_epoch or data.steps(batch_size)
    cbs = callbacks_mod.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                                     verbose=verbose, epochs=epochs, steps=steps)
    model.stop_training = False
    trainer.reset_metrics()
    cbs.on_train_begin()
    resume = next((cb._resume_epoch for cb in cbs.callbacks if getattr(cb, "_resume_epoch", None) is not None), None)
    if resume is not None:  # BackupAndRestore found a backup: continue after its last finished epoch
        initial_epoch = max(initial_epoch, int(resume))

    def batch_end(i: int) -> None:
        cbs.on_train_batch_end(i, callbacks_mod.LazyLogs(trainer.logs))

    epoch_logs: dict[str, Any] = {}
    # jit_compile=True on CUDA: a CUDA-graph step; under a distribution the eager step (it holds collectives)
    step = capture.train_step_for(trainer, data.device) if dp is None else trainer.train_step
    batch_dp = dp if dp is not None and dp.needs_stop_sync(cbs.callbacks) else None  # who stops between batches
    for epoch in range(initial_epoch, epochs):
        trainer.reset_metrics()
        cbs.on_epoch_begin(epoch)
        _run_executions(data.batches(batch_size, shuffle, steps_per_epoch), trainer.steps_per_execution,
                        step, cbs.on_train_batch_begin, batch_end, lambda: _stop(model, batch_dp))
        _check_same_batches(data, dp, "fit")
        epoch_logs = _global_logs(trainer, dp, skip_loss=True)
        if val is not None and (epoch + 1) % validation_freq == 0:
            # as in Keras, validation is an evaluate that the callbacks see (on_test_begin ... on_test_end)
            val_logs = _evaluate_data(model, trainer, val, validation_batch_size or batch_size, validation_steps, cbs)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            epoch_logs = dict(sorted(epoch_logs.items()))
        cbs.on_epoch_end(epoch, epoch_logs)
        if _stop(model, dp):
            break
    if dp is not None:
        dp.release()  # the gradient hooks and buckets of this fit
        dp.check_weights(model.weights, "fit (end)")
    cbs.on_train_end(epoch_logs)
    return model.history


def _begin_distributed(dp: Any, trainer: Trainer, data: Any, batch_size: int) -> None:
    """fit under a DataParallel: the data sharded, and the ranks' weights checked bit-identical."""
    custom = getattr(trainer, "_custom", None)
    if custom is not None and custom.train:
        raise NotImplementedError("fit: a model with its own train_step cannot be trained under a DataParallel "
                                  "distribution yet (its gradients would not be summed over the processes).")
    _check_reductions_sum_over_ranks(trainer)
    if isinstance(data, _ArrayData):
        dp.check_batch(batch_size, "fit")
    else:
        data.source, data.split = dp.shard_source(data.source)
    data.training = True
    dp.check_weights(trainer.model.weights, "fit (start)")


def _check_reductions_sum_over_ranks(trainer: Trainer) -> None:
    """Refuse, under a distribution, a loss whose reduction is not a mean over the batch's rows: each
    rank's loss is weighted by its rows before the gradients are summed, which reproduces one process
    exactly only for ``"sum_over_batch_size"``/``"mean"`` (a silent mis-scaling otherwise)."""
    fns = trainer._losses
    fns = list(fns.values()) if isinstance(fns, dict) else list(fns) if isinstance(fns, list) else [fns]
    for fn in fns:
        reduction = getattr(fn, "reduction", "sum_over_batch_size")
        if reduction not in ("sum_over_batch_size", "mean"):
            raise NotImplementedError(
                f"fit under a DataParallel distribution: the loss {getattr(fn, 'name', fn)!r} has "
                f"reduction={reduction!r}; only 'sum_over_batch_size' (the default) and 'mean' are summed over the "
                "processes exactly so far. Compile with the default reduction (scale the loss with loss_weights if "
                "you need a sum)."
            )


def _stop(model: Any, dp: Any) -> bool:
    """``model.stop_training``, OR-ed over the processes under a distribution (all stop together)."""
    if dp is not None:
        model.stop_training = dp.any(bool(model.stop_training))
    return model.stop_training


def _global_logs(trainer: Trainer, dp: Any, skip_loss: bool = False) -> dict:
    """The logs over every process's rows (metric states summed over ranks); fit's loss tracker is
    already global (``skip_loss``)."""
    if dp is not None:
        dp.sum_metric_states(trainer.metrics()[1 if skip_loss else 0:])
    return trainer.logs()


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


def _no_hook(*_: Any) -> None:
    """The batch hook of validation inside fit: it runs without callbacks."""


def _check_same_batches(data: Any, dp: Any, what: str) -> None:
    """Under a distribution, after a pass over a source every rank reads whole (a generator or a
    PyDataset): fail on every rank if the ranks' batches differed (distribution.py)."""
    if dp is not None and isinstance(data, _IterData) and data.split:
        dp.check_same_batches(what)


def _evaluate_data(model: Any, trainer: Trainer, data: Any, batch_size: int, steps: int | None, cbs: Any) -> dict:
    trainer.reset_metrics()
    if cbs is None:
        _run_executions(data.batches(batch_size, False, steps), trainer.steps_per_execution, trainer.test_step,
                        _no_hook, _no_hook)
        _check_same_batches(data, trainer._dp, "fit (validation)")
        return _global_logs(trainer, trainer._dp)
    from initium import callbacks as callbacks_mod

    cbs.on_test_begin()
    _run_executions(data.batches(batch_size, False, steps), trainer.steps_per_execution, trainer.test_step,
                    cbs.on_test_batch_begin,
                    lambda i: cbs.on_test_batch_end(i, callbacks_mod.LazyLogs(trainer.logs)))
    _check_same_batches(data, trainer._dp, "evaluate")
    logs = _global_logs(trainer, trainer._dp)
    cbs.on_test_end(logs)
    return logs


def evaluate(model: Any, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
             sample_weight: Any = None, steps: int | None = None, callbacks: Any = None, return_dict: bool = False) -> Any:
    from initium import callbacks as callbacks_mod

    trainer = _check_compiled(model, "evaluate")
    _check_steps(steps, "steps", "evaluate")
    verbose = 1 if verbose == "auto" else verbose
    data = _make_data(model, x, y, sample_weight, "evaluate")
    _check_finite(data, "evaluate")
    trainer._dp = _distribution.active()
    bs = batch_size or 32
    cbs = callbacks_mod.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                                     steps=steps or data.steps(bs))
    logs = _evaluate_data(model, trainer, data, bs, steps, cbs)
    return _results(trainer, logs, return_dict)


@torch.no_grad()
def predict(model: Any, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
            callbacks: Any = None) -> Any:
    from initium import callbacks as callbacks_mod

    _check_steps(steps, "steps", "predict")
    verbose = 1 if verbose == "auto" else verbose
    device = _model_device(model)
    data = _IterData(x, device) if _is_iterable_source(x) else _ArrayData(x, None, None, device)
    dp = _distribution.active()
    if dp is not None:  # each rank predicts its rows of every batch; gathered back in order below
        data.rows_log = []
    bs = batch_size or 32
    cbs = callbacks_mod.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                                     steps=steps or data.steps(bs))
    trainer = getattr(model, "_trainer", None)
    cbs.on_predict_begin()
    outs = []
    _run_executions(data.batches(bs, False, steps), trainer.steps_per_execution if trainer is not None else 1,
                    lambda bx, _y, _sw: outs.append(predict_batch(model, bx)), cbs.on_predict_batch_begin,
                    lambda i: cbs.on_predict_batch_end(i, {}))
    _check_same_batches(data, dp, "predict")
    cbs.on_predict_end()
    if not outs:
        raise ValueError("predict: the input has no samples.")
    merged = pytree.tree_map(lambda *ts: torch.cat(ts, 0), *outs) if len(outs) > 1 else outs[0]
    if dp is not None:
        merged = pytree.tree_map(lambda t: dp.gather_rows(t, data.rows_log) if isinstance(t, torch.Tensor) else t,
                                 merged)
    return pytree.tree_map(lambda t: backend.to_numpy(t) if isinstance(t, torch.Tensor) else t, merged)


def train_on_batch(model: Any, x: Any, y: Any = None, sample_weight: Any = None, class_weight: dict | None = None,
                   return_dict: bool = False) -> Any:
    trainer = _check_compiled(model, "train_on_batch")
    data = _ArrayData(x, y, sample_weight, _model_device(model))
    if class_weight is not None:
        if sample_weight is not None:  # Keras's message
            raise ValueError("Arguments `sample_weight` and `class_weight` cannot be specified at the same time. "
                             f"Received: sample_weight={sample_weight}, class_weight={class_weight}")
        _check_class_weight(class_weight, data, None)
        data.sw = _class_weight_to_sample_weight(data.y, class_weight)
    trainer.reset_metrics()
    trainer._dp = _distribution.active()  # each process passes its own rows; the gradients are summed
    trainer.train_step(data.x, data.y, data.sw)
    return _results(trainer, trainer.logs(), return_dict)


def test_on_batch(model: Any, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
    trainer = _check_compiled(model, "test_on_batch")
    data = _ArrayData(x, y, sample_weight, _model_device(model))
    trainer.reset_metrics()
    trainer.test_step(data.x, data.y, data.sw)
    return _results(trainer, trainer.logs(), return_dict)


def _results(trainer: Trainer, logs: dict, return_dict: bool) -> Any:
    """``logs``, or ``[loss, *metrics]`` in compile order (``metrics`` then ``weighted_metrics``), or the
    loss alone when there are no metrics. Keras's order: the logs named by ``model.metrics`` first, then
    any other key a custom test_step returned, sorted."""
    if return_dict:
        return logs
    names = [m.name for m in trainer.model.metrics]
    ordered = [logs[n] for n in names if n in logs] + [logs[k] for k in sorted(logs) if k not in names]
    return ordered[0] if len(ordered) == 1 else ordered
