"""Metrics: Keras's ``keras.metrics`` on device tensors, with no host synchronization per step.

A metric accumulates state in ``update_state(y_true, y_pred, sample_weight=None)`` and reports it
with ``result()`` (a 0-d tensor; a vector for ``F1Score(average=None)`` and for ``Precision`` /
``Recall`` / the confusion counts given several thresholds). ``reset_state()`` zeroes it.

- **Device.** The state tensors are created lazily, on the device of the first ``y_pred`` seen
  (``result()`` or ``variables`` before any update create them on ``backend.default_device()``).
  Inputs on another device are moved to it.
- **No host sync.** ``update_state`` is pure torch: no ``.item()``, ``float(t)``, ``bool(t)`` or
  data-dependent Python branching. Only shapes (host metadata) steer the code. Inputs are
  detached, so metrics never extend the autograd graph.
- **Keras parity.** The formulas, defaults, names, config keys, string ids, sample-weight
  broadcasting rules and threshold semantics are those of Keras 3.15.1 (``keras/src/metrics``),
  including its quirks; the few deliberate differences are listed under "Differences" below.

Sample weights (Keras's ``reduce_to_samplewise_values``) for the mean metrics: ``values`` and
``sample_weight`` are squeezed/expanded to the same rank when they differ by a trailing axis of
size 1; ``values`` is averaged down to the weight's rank; ``total += sum(values * w)`` and
``count += sum(w)``. So a scalar ``sample_weight=2.0`` on a batch of 3 adds 2 (not 6) to ``count``,
exactly as in Keras.

Threshold metrics (``Precision``, ``Recall``, ``AUC``, the confusion counts, the
``...AtSensitivity`` family): a prediction is positive at threshold ``t`` when ``y_pred > t``
(strictly); any non-zero label is positive. ``AUC`` adds the endpoint thresholds ``-1e-7`` and
``1 + 1e-7`` to catch predictions of exactly 0 and 1. When the thresholds are evenly spaced over
[0, 1] (always so for ``AUC(num_thresholds=...)``) predictions are clipped to [0, 1] and bucketed
as ``ceil(p * (T - 1)) - 1`` (Keras's "optimized" path, reproduced bit for bit); otherwise the
bucket is the number of thresholds strictly below ``p`` (``torch.searchsorted``). Either way the
update is one ``scatter_add`` into ``T + 1`` buckets followed by a reversed cumulative sum: it is
vectorized over thresholds and costs O(N + T), never O(N * T).

Differences from Keras, all deliberate:

- ``get('acc')`` returns ``Accuracy()`` (Keras raises; ``'acc'`` only works inside ``compile``).
  Inside ``compile`` use :func:`resolve_accuracy`, which implements Keras's shape rule.
- ``F1Score``/``FBetaScore`` accept a ``(batch, 1)`` sample weight (Keras broadcasts it to
  ``(batch, batch, classes)`` and returns garbage).
- ``TopKCategoricalAccuracy``/``SparseTopKCategoricalAccuracy`` with ``k`` larger than the number
  of classes count every sample as a hit (Keras on torch raises inside ``torch.topk``).
- ``R2Score(num_regressors=...)`` falls back to the plain R2 score without the warnings Keras
  prints (they would need a host sync).
- A ``NaN`` prediction is never above a threshold (as Keras's generic path; its optimized path
  leaves it to an undefined float-to-int cast).
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import re
import warnings
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from initium import backend, registry

__all__ = [
    # base and reduction
    "Metric", "Mean", "Sum", "MeanMetricWrapper",
    # accuracy
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    # confusion-matrix based
    "AUC", "Precision", "Recall", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
    "SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision",
    "F1Score", "FBetaScore",
    # regression
    "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "CosineSimilarity", "LogCoshError", "R2Score",
    # probabilistic, hinge, correlation, IoU
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence",
    "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge", "PearsonCorrelation", "ConcordanceCorrelation",
    "IoU", "BinaryIoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU",
    # functions
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mean_squared_error",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "log_cosh",
    "cosine_similarity", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge", "pearson_correlation",
    "concordance_correlation",
    # registry
    "get", "serialize", "deserialize", "resolve_accuracy", "ALL_OBJECTS",
]

EPSILON = 1e-7  # keras.config.epsilon()
NEG_INF = -1e10  # Keras's stand-in for "not in the top k" (metrics_utils.NEG_INF)
_KERAS_MODULE = "keras.metrics"
_BUILTIN_MODULES = {None, "keras.metrics", "initium.metrics", "tensorflow.keras.metrics"}


# ---------------------------------------------------------------------------------------------
# Small tensor helpers (all shape logic is host metadata; no data-dependent branching).


def _keras_snake(name: str) -> str:
    """Keras's ``to_snake_case``: ``'AUC'`` -> ``'auc'``, ``'MeanIoU'`` -> ``'mean_io_u'``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _standardize_dtype(dtype: Any) -> str:
    if isinstance(dtype, dict):  # a serialized DTypePolicy
        dtype = dtype.get("config", {}).get("name", dtype)
    if dtype is not None and not isinstance(dtype, (str, torch.dtype)) and hasattr(dtype, "name"):
        dtype = dtype.name  # a DTypePolicy-like object or a numpy dtype
    if dtype in ("mixed_float16", "mixed_bfloat16"):
        dtype = dtype[len("mixed_"):]
    return backend.standardize_dtype(dtype)


def _as_tensor(x: Any, device: torch.device | None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``x`` as a detached tensor on ``device`` (cast to ``dtype`` when given)."""
    if isinstance(x, torch.Tensor):
        if x.requires_grad:
            x = x.detach()
        if device is not None and x.device != device:
            x = x.to(device, non_blocking=True)
        if dtype is not None and x.dtype != dtype:
            x = x.to(dtype)
        return x
    return backend.to_tensor(x, dtype=dtype, device=device)


def _device_of(x: Any) -> torch.device:
    return x.device if isinstance(x, torch.Tensor) else backend.default_device()


def _floatx() -> torch.dtype:
    return backend.torch_dtype(backend.floatx())


def _squeeze_or_expand(x1: torch.Tensor, x2: torch.Tensor,
                       expand_rank_1: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Keras's ``squeeze_or_expand_to_same_rank``: fix a rank difference of one trailing 1-axis."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def _divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a / b``, and 0 where ``b == 0`` (Keras's ``ops.divide_no_nan``)."""
    zero = b == 0
    return torch.where(zero, torch.zeros_like(a), a / torch.where(zero, torch.ones_like(b), b))


def _prep(y_true: Any, y_pred: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = _as_tensor(y_pred, device)
    y_true = _as_tensor(y_true, device)
    return y_true, y_pred


# ---------------------------------------------------------------------------------------------
# The base class.


class Metric:
    """Base class of all metrics: state, ``update_state``, ``result``, ``reset_state``, config.

    Built-in metrics declare their state with ``_add_state(name, shape)``; the tensors appear as
    attributes (``self.total``, ``self.true_positives``, ...) on the device of the first ``y_pred``
    passed to ``update_state``. A custom metric may instead call ``add_variable(shape, initializer,
    dtype=None, name=None)``, which (as in Keras) returns a tensor at once, on the default device;
    update it in place (``self.tp.add_(...)``).

    ``get_config()`` returns ``{"name", "dtype"}`` plus the constructor arguments, and
    ``from_config(config)`` is ``cls(**config)``.
    """

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"A metric's `name` must be a string. Received: name={name!r}")
        self.name = name or backend.unique_name(_keras_snake(type(self).__name__))
        self._dtype = _standardize_dtype(dtype)
        self._tdtype = backend.torch_dtype(self._dtype)
        self._specs: list[tuple[str, tuple[int, ...], torch.dtype]] = []
        self._user_variables: list[torch.Tensor] = []
        self._device: torch.device | None = None

    # -- state ---------------------------------------------------------------------------
    def _add_state(self, name: str, shape: Sequence[int] = (), dtype: torch.dtype | None = None) -> None:
        """Declare a zero-initialized state tensor, created lazily as attribute ``name``."""
        self._specs.append((name, tuple(int(d) for d in shape), dtype or self._tdtype))
        if self._device is not None:
            self.__dict__[name] = torch.zeros(self._specs[-1][1], dtype=self._specs[-1][2], device=self._device)

    def _materialize(self, device: torch.device | None) -> None:
        """Create (or move) the declared state on ``device``."""
        device = device if device is not None else backend.default_device()
        for name, shape, dt in self._specs:
            t = self.__dict__.get(name)
            if t is None:
                self.__dict__[name] = torch.zeros(shape, dtype=dt, device=device)
            elif t.device != device:
                self.__dict__[name] = t.to(device)
        self._device = device
        self._on_materialize(device)

    def _on_materialize(self, device: torch.device) -> None:
        """Hook: cache constant tensors (thresholds, label weights) on the state's device."""

    def _ensure(self, device: torch.device) -> None:
        if device != self._device:
            self._materialize(device)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: a declared state read before any update.
        specs = self.__dict__.get("_specs")
        if specs is not None and any(s[0] == name for s in specs):
            self._materialize(self.__dict__.get("_device"))
            return self.__dict__[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def add_variable(self, shape: Sequence[int] = (), initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> torch.Tensor:
        """Keras's ``add_variable``: a non-trainable ``Variable`` (``assign``, ``assign_add``, ...) on the
        default device, tracked in ``variables``."""
        from initium.layers.variable import Variable

        var = Variable(initializer if initializer is not None else "zeros", shape=tuple(shape),
                       dtype=dtype or self._dtype, trainable=False, aggregation=aggregation,
                       name=name or "variable", path=f"{self.name}/{name or 'variable'}")
        self._user_variables.append(var)
        return var

    def add_weight(self, shape: Sequence[int] = (), initializer: Any = None, dtype: Any = None,
                   name: str | None = None) -> torch.Tensor:
        """Backwards-compatible alias of ``add_variable``."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list[torch.Tensor]:
        """Every state tensor (created on the default device if no update has run yet)."""
        if self._specs and self._device is None:
            self._materialize(None)
        return [self.__dict__[s[0]] for s in self._specs] + list(self._user_variables)

    @property
    def dtype(self) -> str:
        return self._dtype

    # -- the API -------------------------------------------------------------------------
    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Accumulate statistics for the metric."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update_state()`.")

    def result(self) -> torch.Tensor:
        """The current value: a 0-d tensor (or a vector for per-class / per-threshold metrics)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `result()`.")

    def reset_state(self) -> None:
        """Zero every state tensor in place (no reallocation)."""
        tensors = [self.__dict__[s[0]] for s in self._specs if s[0] in self.__dict__]
        tensors += [v for v in self._user_variables if isinstance(v, torch.Tensor)]
        if tensors:
            torch._foreach_zero_(tensors)

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"

    __str__ = __repr__


# ---------------------------------------------------------------------------------------------
# Reduction metrics.


def _float_mask(mask: Any, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return _as_tensor(mask, device).to(dtype)


def _apply_mask(sample_weight: torch.Tensor | None, mask: Any, dtype: torch.dtype,
                device: torch.device) -> torch.Tensor | None:
    """Keras's ``apply_mask(..., reduction="sum")``: masked entries get weight 0."""
    if mask is None:
        return sample_weight
    fmask = _float_mask(mask, dtype, device)
    if sample_weight is None:
        return fmask
    fmask, sample_weight = _squeeze_or_expand(fmask, sample_weight.to(dtype))
    return sample_weight * fmask


class _Reduce(Metric):
    """Shared by Sum and Mean: Keras's ``reduce_to_samplewise_values``."""

    _reduce = staticmethod(torch.sum)

    def _samplewise(self, values: Any, sample_weight: Any) -> tuple[torch.Tensor, torch.Tensor | float | None]:
        self._ensure(_device_of(values))
        dt = self._tdtype
        if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
            # A Python scalar weight (e.g. the batch size, for a loss tracker): no host-to-device copy.
            # As Keras: the values are averaged to one number, and count grows by the weight itself.
            values = _as_tensor(values, self._device, dt)
            if values.ndim:
                values = self._reduce(values)
            return values * float(sample_weight), float(sample_weight)
        sw = None
        if sample_weight is not None:
            # As Keras: a mask carried by the values only counts when a sample_weight is given.
            mask = getattr(values, "_keras_mask", None)
            sw = _as_tensor(sample_weight, self._device, dt)
            if mask is not None:
                sw = _apply_mask(sw, mask, dt, self._device)
        values = _as_tensor(values, self._device, dt)
        reduce = self._reduce
        if sw is not None:
            values, sw = _squeeze_or_expand(values, sw)
            wdim, vdim = sw.ndim, values.ndim
            if vdim > wdim:
                values = reduce(values, dim=tuple(range(wdim, vdim)))
            if sw.shape != values.shape:
                try:
                    sw = sw.expand(values.shape)
                except RuntimeError:
                    raise ValueError(
                        f"{self.name}: sample_weight of shape {tuple(sw.shape)} cannot be broadcast to the values "
                        f"of shape {tuple(values.shape)}. Pass one weight per sample, shape (batch,)."
                    ) from None
            values = values * sw
            if wdim > 1:
                sw = reduce(sw, dim=tuple(range(1, wdim)))
        if values.ndim > 1:
            values = reduce(values, dim=tuple(range(1, values.ndim)))
        return values, sw


class Sum(_Reduce):
    """The (weighted) sum of the values: ``total += sum(values * sample_weight)``.

    >>> m = Sum(); m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0]); m.result()
    tensor(4.)
    """

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._add_state("total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, _ = self._samplewise(values, sample_weight)
        self.total.add_(values.sum())

    def result(self) -> torch.Tensor:
        return self.total.clone()


class Mean(_Reduce):
    """The (weighted) mean of the values: ``total / count`` (0 while ``count`` is 0).

    ``total += sum(values * w)``; ``count += sum(w)``, or the batch size without weights.

    >>> m = Mean(); m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0]); m.result()
    tensor(2.)
    """

    _reduce = staticmethod(torch.mean)

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._add_state("total")
        self._add_state("count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, sw = self._samplewise(values, sample_weight)
        if isinstance(sw, float):
            self.total.add_(values)
            self.count.add_(sw)
        elif sw is not None:
            torch._foreach_add_([self.total, self.count], [values.sum(), sw.sum()])
        else:
            self.total.add_(values.sum())
            self.count.add_(values.shape[0] if values.ndim >= 1 else 1)

    def result(self) -> torch.Tensor:
        return _divide_no_nan(self.total, self.count)


class MeanMetricWrapper(Mean):
    """The mean of a per-sample function ``fn(y_true, y_pred, **kwargs)`` (Keras's wrapper).

    A mask on ``y_pred`` (``_keras_mask``, as initium layers attach it: pass ``y_pred`` without
    ``.detach()``, which drops it; the metric detaches by itself) gives masked entries weight 0.
    A mask on the values ``fn`` returns counts only when a ``sample_weight`` is given (Keras).
    """

    def __init__(self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(
                f"MeanMetricWrapper needs a callable fn(y_true, y_pred) returning per-sample values. Received: "
                f"fn={fn!r}"
            )
        super().__init__(name=name if name is not None else backend.unique_name("mean_metric_wrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        mask = getattr(y_pred, "_keras_mask", None)
        device = _device_of(y_pred)
        self._ensure(device)
        y_true, y_pred = _prep(y_true, y_pred, device)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if mask is not None:
            dt = self._tdtype
            sw = None if sample_weight is None else _as_tensor(sample_weight, device, dt)
            sample_weight = _apply_mask(sw, mask, dt, device)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        config = {**Metric.get_config(self), "fn": serialize(self._fn)}
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        config = dict(config)
        if "fn" in config and not callable(config["fn"]):
            config["fn"] = _deserialize_function(config["fn"])
        return cls(**config)


class _FixedWrapper(MeanMetricWrapper):
    """A built-in MeanMetricWrapper: its config is ``{"name", "dtype"}`` plus ``_config_keys``."""

    _config_keys: tuple[str, ...] = ()

    def get_config(self) -> dict[str, Any]:
        config = Metric.get_config(self)
        for k in self._config_keys:
            config[k] = getattr(self, k)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        return cls(**config)


# ---------------------------------------------------------------------------------------------
# Accuracy.


def accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where ``y_pred == y_true`` (after aligning a trailing 1-axis), else 0.0."""
    y_pred = _as_tensor(y_pred, None)
    y_true = _as_tensor(y_true, y_pred.device, y_pred.dtype)
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    return (y_true == y_pred).to(_floatx())


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> torch.Tensor:
    """1.0 where ``(y_pred > threshold) == y_true``; ``y_pred`` is cast to ``y_true``'s dtype first."""
    y_pred = _as_tensor(y_pred, None)
    y_true = _as_tensor(y_true, y_pred.device)
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    y_pred = (y_pred > threshold).to(y_true.dtype)
    return (y_true == y_pred).to(_floatx())


def categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where ``argmax(y_true) == argmax(y_pred)`` (first index on ties, as ``torch.argmax``)."""
    y_pred = _as_tensor(y_pred, None)
    y_true = _as_tensor(y_true, y_pred.device)
    if y_true.dtype == torch.bool:
        y_true = y_true.to(torch.uint8)
    y_true = y_true.argmax(-1)
    reshape = False
    shape = y_true.shape
    if y_true.ndim == y_pred.ndim:
        y_true = y_true.squeeze(-1)
        reshape = True
    matches = (y_true == y_pred.argmax(-1)).to(_floatx())
    return matches.reshape(shape) if reshape else matches


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where the integer label equals ``argmax(y_pred)``; labels ``(N,)`` or ``(N, 1)``."""
    y_pred = _as_tensor(y_pred, None)
    y_true = _as_tensor(y_true, y_pred.device, y_pred.dtype)
    shape = y_true.shape
    reshape = False
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
        reshape = True
    matches = (y_true == y_pred.argmax(-1).to(y_true.dtype)).to(_floatx())
    if reshape:
        matches = matches.reshape(shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches.squeeze(-1)
    return matches


def _in_top_k(targets: torch.Tensor, predictions: torch.Tensor, k: int) -> torch.Tensor:
    """Keras's ``in_top_k`` on torch: the target's score is >= the k-th largest score (ties count)."""
    k = min(int(k), predictions.shape[-1])
    kth = predictions.topk(k, dim=-1).values[..., -1:]
    target_scores = predictions.gather(-1, targets.to(torch.int64).unsqueeze(-1))
    return (target_scores >= kth).squeeze(-1)


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> torch.Tensor:
    """1.0 where ``argmax(y_true)`` is among the ``k`` highest scores of ``y_pred``."""
    y_pred = _as_tensor(y_pred, None)
    y_true = _as_tensor(y_true, y_pred.device)
    if y_true.dtype == torch.bool:
        y_true = y_true.to(torch.uint8)
    y_true = y_true.argmax(-1)
    shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    reshape = y_true.ndim > 1
    if reshape:
        y_true = y_true.reshape(-1)
    matches = _in_top_k(y_true, y_pred, k).to(_floatx())
    return matches.reshape(shape) if reshape else matches


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5,
                                      from_sorted_ids: bool = False) -> torch.Tensor:
    """1.0 where the integer label is among the ``k`` highest scores (or the first ``k`` sorted ids)."""
    y_pred = _as_tensor(y_pred, None)
    y_true = _as_tensor(y_true, y_pred.device, y_pred.dtype if from_sorted_ids else torch.int32)
    shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    reshape = y_true.ndim > 1
    if reshape:
        y_true = y_true.reshape(-1)
    if from_sorted_ids:
        matches = (y_true.unsqueeze(1) == y_pred[:, :k]).any(dim=1)
    else:
        matches = _in_top_k(y_true, y_pred, k)
    matches = matches.to(_floatx())
    return matches.reshape(shape) if reshape else matches


class Accuracy(_FixedWrapper):
    """How often ``y_pred`` equals ``y_true`` exactly. Keras's ``get('accuracy')`` is this class;
    inside ``compile``, ``'accuracy'`` is resolved from shapes instead (see :func:`resolve_accuracy`)."""

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(fn=accuracy, name=name, dtype=dtype)


class BinaryAccuracy(_FixedWrapper):
    """How often ``(y_pred > threshold)`` matches the binary label."""

    _config_keys = ("threshold",)

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5) -> None:
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(_FixedWrapper):
    """How often ``argmax(y_pred)`` matches ``argmax(y_true)`` (one-hot labels; logits work too)."""

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(_FixedWrapper):
    """How often ``argmax(y_pred)`` equals the integer label."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(_FixedWrapper):
    """How often ``argmax(y_true)`` is among the top ``k`` predictions (ties count as hits)."""

    _config_keys = ("k",)

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(_FixedWrapper):
    """How often the integer label is among the top ``k`` predictions.

    With ``from_sorted_ids=True``, ``y_pred`` holds class ids sorted by score (the config carries
    ``from_sorted_ids`` only when it is True, as in Keras).
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None,
                 from_sorted_ids: bool = False) -> None:
        super().__init__(fn=sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self) -> dict[str, Any]:
        config = {**Metric.get_config(self), "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config


def resolve_accuracy(y_true: Any, y_pred: Any, name: str = "accuracy") -> Metric:
    """The metric ``compile(metrics=['accuracy'])`` means, chosen from the shapes (Keras's rule).

    - ``BinaryAccuracy`` when the last dim of ``y_pred`` is 1;
    - ``SparseCategoricalAccuracy`` when ``y_true`` has a lower rank than ``y_pred``, or its last
      dim is 1 while ``y_pred``'s is greater than 1;
    - ``CategoricalAccuracy`` otherwise (including rank-1 ``y_pred`` of a batch larger than 1).

    ``y_true``/``y_pred`` may be tensors, arrays or shapes (tuples). The metric is named ``name``
    (Keras keeps the string given to compile: ``'accuracy'`` or ``'acc'``).
    """
    t_shape, p_shape = _shape_of(y_true, "y_true"), _shape_of(y_pred, "y_pred")
    if len(t_shape) == 0 or len(p_shape) == 0:
        raise ValueError(
            "resolve_accuracy needs y_true and y_pred of rank >= 1 (a batch). Received shapes "
            f"y_true={t_shape} and y_pred={p_shape}."
        )
    is_binary = p_shape[-1] == 1
    is_sparse = len(t_shape) < len(p_shape) or (t_shape[-1] == 1 and p_shape[-1] > 1)
    if is_binary:
        return BinaryAccuracy(name=name)
    if is_sparse:
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


def _shape_of(x: Any, what: str) -> tuple:
    if isinstance(x, (tuple, torch.Size)) and all(d is None or isinstance(d, int) for d in x):
        return tuple(x)
    shape = getattr(x, "shape", None)
    if shape is None:
        try:
            shape = np.shape(x)
        except Exception as e:  # ragged lists
            raise ValueError(f"resolve_accuracy: cannot read the shape of {what}: {e}") from e
    return tuple(shape)


# ---------------------------------------------------------------------------------------------
# Regression, probabilistic, hinge and correlation functions (Keras's per-sample formulas).


def _pair(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = _as_tensor(y_pred, None)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(_floatx())
    y_true = _as_tensor(y_true, y_pred.device, y_pred.dtype)
    return y_true, y_pred


def mean_squared_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean((y_true - y_pred)**2, axis=-1)``."""
    y_true, y_pred = _squeeze_or_expand(*_pair(y_true, y_pred))
    return torch.square(y_true - y_pred).mean(-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(|y_true - y_pred|, axis=-1)``."""
    y_true, y_pred = _squeeze_or_expand(*_pair(y_true, y_pred))
    return torch.abs(y_true - y_pred).mean(-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``100 * mean(|(y_true - y_pred) / max(|y_true|, 1e-7)|, axis=-1)``."""
    y_true, y_pred = _squeeze_or_expand(*_pair(y_true, y_pred))
    diff = torch.abs((y_true - y_pred) / torch.clamp(torch.abs(y_true), min=EPSILON))
    return 100.0 * diff.mean(-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))**2, axis=-1)``."""
    y_true, y_pred = _squeeze_or_expand(*_pair(y_true, y_pred))
    first = torch.log(torch.clamp(y_pred, min=EPSILON) + 1.0)
    second = torch.log(torch.clamp(y_true, min=EPSILON) + 1.0)
    return torch.square(first - second).mean(-1)


def log_cosh(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(x + softplus(-2x) - log 2, axis=-1)`` with ``x = y_pred - y_true``."""
    y_true, y_pred = _squeeze_or_expand(*_pair(y_true, y_pred))
    x = y_pred - y_true
    return (x + F.softplus(x * -2.0) - math.log(2.0)).mean(-1)


def _l2_normalize(x: torch.Tensor, axis: int) -> torch.Tensor:
    inv = torch.rsqrt(torch.square(x).sum(axis, keepdim=True))
    return x * torch.clamp(inv, max=1.0 / EPSILON)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``."""
    y_true, y_pred = _squeeze_or_expand(*_pair(y_true, y_pred))
    return (_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis)).sum(axis)


def _same_shape(fn: str, target: torch.Tensor, output: torch.Tensor) -> None:
    if target.shape != output.shape:
        raise ValueError(
            f"{fn}: arguments `target` and `output` must have the same shape. Received: "
            f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}. Reshape the labels "
            "(e.g. y[:, None]) so they match the predictions."
        )


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> torch.Tensor:
    """Mean over ``axis`` of the element-wise binary crossentropy (probabilities clipped to [1e-7, 1-1e-7])."""
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    _same_shape("binary_crossentropy", y_true, y_pred)
    if from_logits:
        bce = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        bce = F.binary_cross_entropy(torch.clamp(y_pred, EPSILON, 1.0 - EPSILON), y_true, reduction="none")
    return bce.mean(axis)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> torch.Tensor:
    """``-sum(y_true * log(p), axis)``; ``p`` is ``y_pred`` renormalized and clipped, or softmax of logits."""
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    _same_shape("categorical_crossentropy", y_true, y_pred)
    if from_logits:
        log_prob = F.log_softmax(y_pred, dim=axis)
    else:
        out = y_pred / y_pred.sum(axis, keepdim=True)
        log_prob = torch.log(torch.clamp(out, EPSILON, 1.0 - EPSILON))
    return -(y_true * log_prob).sum(axis)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> torch.Tensor:
    """Crossentropy with integer labels; entries equal to ``ignore_class`` get 0 and a mask."""
    y_pred = _as_tensor(y_pred, None)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(_floatx())
    y_true = _as_tensor(y_true, y_pred.device)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    valid = None
    if ignore_class is not None:
        valid = y_true != ignore_class
        y_true = torch.where(valid, y_true, torch.zeros_like(y_true))
        y_pred = torch.where(valid.unsqueeze(axis), y_pred, torch.zeros_like(y_pred))
    target = y_true.to(torch.int64)
    expected = list(y_pred.shape)
    del expected[axis]
    if list(target.shape) != expected:
        raise ValueError(
            "sparse_categorical_crossentropy: arguments `target` and `output` must have the same shape up "
            f"until the last dimension: target.shape={tuple(target.shape)}, output.shape={tuple(y_pred.shape)}."
        )
    out = y_pred
    squeeze = out.ndim == 1
    if squeeze:
        out, target = out.unsqueeze(0), target.unsqueeze(0)
    else:
        class_axis = axis % out.ndim
        if class_axis != 1:
            out = out.movedim(class_axis, 1)
    if from_logits:
        res = F.cross_entropy(out, target, reduction="none")
    else:
        out = out / out.sum(1, keepdim=True)
        res = F.nll_loss(torch.log(torch.clamp(out, EPSILON, 1.0 - EPSILON)), target, reduction="none")
    if squeeze:
        res = res.squeeze(0)
    if valid is not None:
        res = torch.where(valid, res, torch.zeros_like(res))
        res._keras_mask = valid
    return res


def kl_divergence(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``sum(t * log(t / p), axis=-1)`` with both clipped to [1e-7, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = torch.clamp(y_true, EPSILON, 1.0)
    y_pred = torch.clamp(y_pred, EPSILON, 1.0)
    return (y_true * torch.log(y_true / y_pred)).sum(-1)


def poisson(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true * torch.log(y_pred + EPSILON)).mean(-1)


def _hinge_labels(y_true: torch.Tensor) -> torch.Tensor:
    """Labels all in {0, 1} become {-1, 1}; otherwise unchanged (a device-side choice, no sync)."""
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)`` (0/1 labels mapped to -1/1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return torch.clamp(1.0 - y_true * y_pred, min=0.0).mean(-1)


def squared_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)`` (0/1 labels mapped to -1/1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return torch.square(torch.clamp(1.0 - y_true * y_pred, min=0.0)).mean(-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    pos = (y_true * y_pred).sum(-1)
    neg = ((1.0 - y_true) * y_pred).amax(-1)
    return torch.clamp(neg - pos + 1.0, min=0.0)


def pearson_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Pearson's r along ``axis`` (population standard deviations)."""
    y_true, y_pred = _squeeze_or_expand(*_pair(y_true, y_pred))
    t = y_true - y_true.mean(axis, keepdim=True)
    p = y_pred - y_pred.mean(axis, keepdim=True)
    t = t / t.std(axis, keepdim=True, unbiased=False)
    p = p / p.std(axis, keepdim=True, unbiased=False)
    return (t * p).mean(axis)


def concordance_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Lin's concordance correlation along ``axis``, as Keras computes it."""
    y_true, y_pred = _squeeze_or_expand(*_pair(y_true, y_pred))
    t_mean = y_true.mean(axis, keepdim=True)
    p_mean = y_pred.mean(axis, keepdim=True)
    t_var = torch.var(y_true - t_mean, dim=axis, keepdim=True, correction=0)
    p_var = torch.var(y_pred - p_mean, dim=axis, keepdim=True, correction=0)
    covar = (y_true - p_mean) * (y_pred - p_mean)
    norm = t_var + p_var + torch.square(t_mean - p_mean)
    return (2 * covar / (norm + EPSILON)).mean(axis)


class MeanSquaredError(_FixedWrapper):
    """Mean of ``mean((y_true - y_pred)**2, axis=-1)``."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_FixedWrapper):
    """Mean of ``mean(|y_true - y_pred|, axis=-1)``."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_FixedWrapper):
    """Mean of ``mean_absolute_percentage_error``."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_FixedWrapper):
    """Mean of ``mean_squared_logarithmic_error``."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_squared_logarithmic_error, name=name, dtype=dtype)


class CosineSimilarity(_FixedWrapper):
    """Mean cosine similarity along ``axis`` (Keras's config omits ``axis``; so does this one)."""

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(fn=cosine_similarity, name=name, dtype=dtype, axis=axis)


class LogCoshError(_FixedWrapper):
    """Mean of ``log_cosh`` (default name ``'logcosh'``, as in Keras)."""

    def __init__(self, name: str = "logcosh", dtype: Any = None) -> None:
        super().__init__(fn=log_cosh, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """``sqrt(total / count)`` of the squared errors (weights apply before the root)."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        device = _device_of(y_pred)
        self._ensure(device)
        dt = self._tdtype
        y_pred = _as_tensor(y_pred, device, dt)
        y_true = _as_tensor(y_true, device, dt)
        y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
        super().update_state(torch.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self) -> torch.Tensor:
        return torch.sqrt(super().result())


class BinaryCrossentropy(_FixedWrapper):
    """Mean binary crossentropy."""

    _config_keys = ("from_logits", "label_smoothing")

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0) -> None:
        super().__init__(fn=binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing


class CategoricalCrossentropy(_FixedWrapper):
    """Mean categorical crossentropy (one-hot labels)."""

    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0, axis: int = -1) -> None:
        super().__init__(fn=categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(_FixedWrapper):
    """Mean sparse categorical crossentropy.

    Entries labelled ``ignore_class`` contribute 0; as in Keras they are left out of the count only
    when a ``sample_weight`` is passed (without one they still count as samples of loss 0).
    """

    _config_keys = ("from_logits", "ignore_class", "axis")

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 ignore_class: int | None = None, axis: int = -1) -> None:
        super().__init__(fn=sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis


class KLDivergence(_FixedWrapper):
    """Mean Kullback-Leibler divergence."""

    def __init__(self, name: str = "kl_divergence", dtype: Any = None) -> None:
        super().__init__(fn=kl_divergence, name=name, dtype=dtype)


class Poisson(_FixedWrapper):
    """Mean Poisson deviance term."""

    def __init__(self, name: str = "poisson", dtype: Any = None) -> None:
        super().__init__(fn=poisson, name=name, dtype=dtype)


class Hinge(_FixedWrapper):
    """Mean hinge loss."""

    def __init__(self, name: str = "hinge", dtype: Any = None) -> None:
        super().__init__(fn=hinge, name=name, dtype=dtype)


class SquaredHinge(_FixedWrapper):
    """Mean squared hinge loss."""

    def __init__(self, name: str = "squared_hinge", dtype: Any = None) -> None:
        super().__init__(fn=squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(_FixedWrapper):
    """Mean categorical hinge loss."""

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None) -> None:
        super().__init__(fn=categorical_hinge, name=name, dtype=dtype)


class PearsonCorrelation(_FixedWrapper):
    """Mean Pearson correlation along ``axis``."""

    _config_keys = ("axis",)

    def __init__(self, name: str = "pearson_correlation", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(fn=pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class ConcordanceCorrelation(_FixedWrapper):
    """Mean concordance correlation along ``axis``."""

    _config_keys = ("axis",)

    def __init__(self, name: str = "concordance_correlation", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(fn=concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class R2Score(Metric):
    """The coefficient of determination, per output column, then aggregated.

    ``raw = 1 - sum(w (y - p)^2) / (sum(w y^2) - sum(w y)^2 / sum(w))`` per column (inf -> 0);
    ``class_aggregation``: ``'uniform_average'`` (mean), ``'variance_weighted_average'`` or None
    (the vector). With ``num_regressors=p`` and ``n`` values seen, the adjusted score
    ``1 - (1 - r2)(n - 1)/(n - p - 1)`` when ``p < n - 1``, else the plain score.
    """

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError(
                f"Invalid value for argument `class_aggregation`. Expected one of {valid}. "
                f"Received: class_aggregation={class_aggregation}"
            )
        if num_regressors < 0:
            raise ValueError(
                "Invalid value for argument `num_regressors`. Expected a value >= 0. "
                f"Received: num_regressors={num_regressors}"
            )
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self._add_state("num_samples")
        self._built = False

    def _build(self, t_shape: tuple, p_shape: tuple) -> None:
        if len(p_shape) != 2 or len(t_shape) != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received input shapes: "
                f"y_pred.shape={p_shape} and y_true.shape={t_shape}."
            )
        n = p_shape[-1]
        for state in ("squared_sum", "sum", "total_mse", "count"):
            self._add_state(state, (n,))
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        device = _device_of(y_pred)
        self._ensure(device)
        dt = self._tdtype
        y_true = _as_tensor(y_true, device, dt)
        y_pred = _as_tensor(y_pred, device, dt)
        y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
        if not self._built:
            self._build(tuple(y_true.shape), tuple(y_pred.shape))
        if sample_weight is None:
            sw = torch.ones((), dtype=dt, device=device)
        else:
            sw = _as_tensor(sample_weight, device, dt)
        if sw.ndim == 1:
            sw = sw.unsqueeze(1)
        sw = sw.expand(y_true.shape)
        wy = y_true * sw
        torch._foreach_add_(
            [self.sum, self.squared_sum, self.total_mse, self.count],
            [wy.sum(0), (y_true * wy).sum(0), (torch.square(y_true - y_pred) * sw).sum(0), sw.sum(0)],
        )
        self.num_samples.add_(y_true.numel())

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self._tdtype, device=self._device or backend.default_device())
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        raw = 1 - self.total_mse / total
        raw = torch.where(torch.isinf(raw), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            r2 = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            r2 = (total * raw).sum() / total.sum()
        else:
            r2 = raw
        if self.num_regressors != 0:
            n = self.num_samples.to(torch.float32)
            p = float(self.num_regressors)
            adjusted = 1.0 - (1.0 - r2) * (n - 1.0) / (n - p - 1.0)
            r2 = torch.where(p < n - 1.0, adjusted, r2)
        return r2

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


# ---------------------------------------------------------------------------------------------
# Confusion-matrix machinery: thresholds, bucketing, one scatter, a reversed cumulative sum.


def _to_list(x: Any) -> list:
    if isinstance(x, list):
        return x
    if isinstance(x, tuple):
        return list(x)
    if isinstance(x, np.ndarray):
        return x.tolist() if x.ndim else [x.item()]
    return [x]


def _check_thresholds(thresholds: Any) -> None:
    if thresholds is not None:
        bad = [t for t in _to_list(thresholds) if t is None or t < 0 or t > 1]
        if bad:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")


def _parse_thresholds(thresholds: Any, default: float) -> list[float]:
    if thresholds is not None:
        _check_thresholds(thresholds)
    return [float(t) for t in _to_list(default if thresholds is None else thresholds)]


def _evenly_distributed(thresholds: Sequence[float]) -> bool:
    """Keras's ``is_evenly_distributed_thresholds``: >= 3 values allclose to ``arange(n)/(n-1)``."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(np.asarray(thresholds, dtype=np.float64), even, atol=EPSILON))


class _Thresholds:
    """The thresholds of a confusion metric and their device copies.

    ``evenly``: Keras's optimized bucketing ``ceil(clip(p, 0, 1) * (T - 1)) - 1`` (with the
    bottom bucket folded into bucket 0 when the endpoints carry an epsilon); otherwise a
    ``searchsorted`` over the sorted thresholds. Both give, for each prediction, ``k`` such that
    the prediction is above exactly the ``k`` lowest thresholds.
    """

    def __init__(self, values: Sequence[float], evenly: bool) -> None:
        self.values = [float(v) for v in values]
        self.n = len(self.values)
        self.evenly = evenly
        self.with_eps = evenly and (self.values[0] < 0.0 or self.values[-1] > 1.0)
        order = sorted(range(self.n), key=lambda i: self.values[i])
        self.is_sorted = order == list(range(self.n))
        self._order = order
        self._cache: dict[tuple[torch.device, torch.dtype], tuple[torch.Tensor, torch.Tensor | None]] = {}

    def on(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
        key = (device, dtype)
        hit = self._cache.get(key)
        if hit is None:
            # Keras casts the float64 thresholds to the variable dtype before comparing.
            srt = torch.tensor([self.values[i] for i in self._order], dtype=torch.float64).to(dtype).to(device)
            inv = None
            if not self.is_sorted:
                inv = torch.empty(self.n, dtype=torch.int64)
                inv[torch.tensor(self._order)] = torch.arange(self.n)
                inv = inv.to(device)
            hit = self._cache[key] = (srt, inv)
        return hit

    def buckets(self, y_pred: torch.Tensor) -> torch.Tensor:
        """For each prediction, how many thresholds it is strictly above (0..T), as int64."""
        T = self.n
        if self.evenly:
            b = torch.ceil(torch.clamp(y_pred, 0.0, 1.0) * (T - 1)) - 1
            if self.with_eps:
                b = torch.clamp_min(b, 0.0)
            b = torch.nan_to_num(b, nan=-1.0)
            return b.to(torch.int64).clamp_(-1, T - 1) + 1
        srt, _ = self.on(y_pred.device, y_pred.dtype)
        p = torch.nan_to_num(y_pred, nan=-math.inf, posinf=math.inf, neginf=-math.inf)
        return torch.searchsorted(srt, p.contiguous(), side="left")


def _filter_top_k(x: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the top ``k`` values of the last axis; set the rest to ``NEG_INF`` (-1e10)."""
    idx = x.topk(min(int(k), x.shape[-1]), dim=-1).indices
    keep = torch.zeros_like(x, dtype=torch.bool).scatter_(-1, idx, True)
    return torch.where(keep, x, torch.full_like(x, NEG_INF))


def _confusion_counts(y_true: Any, y_pred: Any, sample_weight: Any, th: _Thresholds, dtype: torch.dtype,
                      device: torch.device, *, top_k: int | None = None, class_id: int | None = None,
                      multi_label: bool = False, label_weights: torch.Tensor | None = None,
                      owner: str = "metric") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weighted (tp, fp, tn, fn) of one batch, each ``(T,)`` (``(T, labels)`` when multi_label).

    Keras's ``update_confusion_matrix_variables``: labels are cast to bool (non-zero = positive),
    ``sample_weight`` is broadcast to ``y_pred`` (a ``(N,)`` weight applies to every label of a
    row), ``top_k`` keeps only the k largest predictions per row, ``class_id`` selects one column.
    """
    y_pred = _as_tensor(y_pred, device, dtype)
    y_true = _as_tensor(y_true, device, dtype)
    y_pred, y_true = _squeeze_or_expand(y_pred, y_true)
    sw = None
    if sample_weight is not None:
        sw = _as_tensor(sample_weight, device, dtype).unsqueeze(-1)
        _, sw = _squeeze_or_expand(y_true, sw, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape (num_samples, num_classes), "
                f"found shape: {tuple(y_pred.shape)}"
            )
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{owner}: y_true and y_pred must have the same shape (after aligning a trailing axis of size 1). "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}."
        )
    w = None
    if sw is not None:
        try:
            w = sw.expand(y_pred.shape) if sw.shape != y_pred.shape else sw
        except RuntimeError:
            raise ValueError(
                f"{owner}: sample_weight of shape {tuple(np.shape(sample_weight))} cannot be broadcast to y_pred "
                f"of shape {tuple(y_pred.shape)}. Pass one weight per sample, shape (batch,)."
            ) from None
    if label_weights is not None and not multi_label:
        lw = label_weights.expand(y_pred.shape)
        w = lw if w is None else w * lw
    bins = th.buckets(y_pred)
    T = th.n
    L = y_pred.shape[-1] if multi_label else 1
    pos = (y_true != 0).to(dtype)
    if w is None:
        vals = torch.stack((pos, 1.0 - pos), dim=-1)
    else:
        tw = pos * w
        vals = torch.stack((tw, w - tw), dim=-1)
    vals = vals.reshape(-1, L, 2)
    index = bins.reshape(-1, L, 1).expand(vals.shape)
    hist = torch.zeros((T + 1, L, 2), dtype=dtype, device=device)
    hist.scatter_add_(0, index, vals)
    # counts[i] = total weight in buckets >= i; predictions above threshold j sit in buckets > j.
    above = hist.flip(0).cumsum(0).flip(0)[1:]
    if th.evenly:
        # Keras's optimized path: fn = total - tp, tn = total - fp (totals summed directly).
        totals = vals.sum(0)
        below = totals - above
    else:
        # Keras's generic path sums the negatives directly: buckets <= j are not above threshold j.
        below = hist.cumsum(0)[:-1]
    _, inv = th.on(device, dtype) if not th.is_sorted else (None, None)
    if inv is not None:
        above = above.index_select(0, inv)
        below = below.index_select(0, inv)
    tp, fp = above[..., 0], above[..., 1]
    fn, tn = below[..., 0], below[..., 1]
    if not multi_label:
        tp, fp, tn, fn = tp[:, 0], fp[:, 0], tn[:, 0], fn[:, 0]
    return tp, fp, tn, fn


class _ConfusionMatrixConditionCount(Metric):
    """Base of TruePositives / FalsePositives / TrueNegatives / FalseNegatives."""

    _cond = 0  # index into (tp, fp, tn, fn)

    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        self._th = _Thresholds(self.thresholds, _evenly_distributed(self.thresholds))
        self._add_state("accumulator", (len(self.thresholds),))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        device = _device_of(y_pred)
        self._ensure(device)
        counts = _confusion_counts(y_true, y_pred, sample_weight, self._th, self._tdtype, device, owner=self.name)
        self.accumulator.add_(counts[self._cond])

    def result(self) -> torch.Tensor:
        return self.accumulator[0].clone() if len(self.thresholds) == 1 else self.accumulator.clone()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true positives, per threshold (default 0.5)."""

    _cond = 0


class FalsePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false positives, per threshold (default 0.5)."""

    _cond = 1


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true negatives, per threshold (default 0.5)."""

    _cond = 2


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false negatives, per threshold (default 0.5)."""

    _cond = 3


class _PrecisionRecallBase(Metric):
    _second = "false_positives"

    def __init__(self, thresholds: Any = None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = _parse_thresholds(thresholds, default)
        self._th = _Thresholds(self.thresholds, _evenly_distributed(self.thresholds))
        self._add_state("true_positives", (len(self.thresholds),))
        self._add_state(self._second, (len(self.thresholds),))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        device = _device_of(y_pred)
        self._ensure(device)
        tp, fp, _, fn = _confusion_counts(y_true, y_pred, sample_weight, self._th, self._tdtype, device,
                                          top_k=self.top_k, class_id=self.class_id, owner=self.name)
        second = self.false_positives if self._second == "false_positives" else self.false_negatives
        torch._foreach_add_([self.true_positives, second], [tp, fp if self._second == "false_positives" else fn])

    def result(self) -> torch.Tensor:
        tp = self.true_positives
        r = _divide_no_nan(tp, tp + getattr(self, self._second))
        return r[0] if len(self.thresholds) == 1 else r

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecallBase):
    """``tp / (tp + fp)`` per threshold (a prediction is positive when ``y_pred > threshold``).

    ``thresholds``: a float or list in [0, 1] (default 0.5; with ``top_k`` and no thresholds, any
    top-k prediction is positive). ``top_k``: only the k largest predictions per row can be
    positive. ``class_id``: score one column only. Labels are cast to bool.
    """

    _second = "false_positives"


class Recall(_PrecisionRecallBase):
    """``tp / (tp + fn)`` per threshold; arguments as :class:`Precision`."""

    _second = "false_negatives"


class _SensitivitySpecificityBase(Metric):
    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if num_thresholds <= 0:
            raise ValueError(
                f"Argument `num_thresholds` must be an integer > 0. Received: num_thresholds={num_thresholds}"
            )
        self.value = value
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
            evenly = False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = [0.0] + inner + [1.0]
            evenly = True
        self._th = _Thresholds(self.thresholds, evenly)
        for state in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            self._add_state(state, (len(self.thresholds),))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        device = _device_of(y_pred)
        self._ensure(device)
        tp, fp, tn, fn = _confusion_counts(y_true, y_pred, sample_weight, self._th, self._tdtype, device,
                                           class_id=self.class_id, owner=self.name)
        torch._foreach_add_([self.true_positives, self.false_positives, self.true_negatives, self.false_negatives],
                            [tp, fp, tn, fn])

    def _max_under_constraint(self, constrained: torch.Tensor, dependent: torch.Tensor) -> torch.Tensor:
        feasible = constrained >= self.value
        return torch.clamp_min(torch.where(feasible, dependent, torch.zeros_like(dependent)).amax(), 0.0)

    def _rates(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        return _divide_no_nan(tp, tp + fn), _divide_no_nan(tn, tn + fp), _divide_no_nan(tp, tp + fp)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_id": self.class_id}


def _check_unit(arg: str, value: float) -> None:
    if value < 0 or value > 1:
        raise ValueError(f"Argument `{arg}` must be in the range [0, 1]. Received: {arg}={value}")


class SensitivityAtSpecificity(_SensitivitySpecificityBase):
    """The best sensitivity (recall) over thresholds whose specificity is >= ``specificity``."""

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        _check_unit("specificity", specificity)
        self.specificity = specificity
        self.num_thresholds = num_thresholds
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> torch.Tensor:
        sens, spec, _ = self._rates()
        return self._max_under_constraint(spec, sens)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "specificity": self.specificity}


class SpecificityAtSensitivity(_SensitivitySpecificityBase):
    """The best specificity over thresholds whose sensitivity is >= ``sensitivity``."""

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        _check_unit("sensitivity", sensitivity)
        self.sensitivity = sensitivity
        self.num_thresholds = num_thresholds
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> torch.Tensor:
        sens, spec, _ = self._rates()
        return self._max_under_constraint(sens, spec)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "sensitivity": self.sensitivity}


class PrecisionAtRecall(_SensitivitySpecificityBase):
    """The best precision over thresholds whose recall is >= ``recall``."""

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        _check_unit("recall", recall)
        self.recall = recall
        self.num_thresholds = num_thresholds
        super().__init__(value=recall, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> torch.Tensor:
        rec, _, prec = self._rates()
        return self._max_under_constraint(rec, prec)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "recall": self.recall}


class RecallAtPrecision(_SensitivitySpecificityBase):
    """The best recall over thresholds whose precision is >= ``precision`` (0 if none reaches it)."""

    def __init__(self, precision: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        _check_unit("precision", precision)
        self.precision = precision
        self.num_thresholds = num_thresholds
        super().__init__(value=precision, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> torch.Tensor:
        rec, _, prec = self._rates()
        return self._max_under_constraint(prec, rec)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "precision": self.precision}


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = {"interpolation": "interpolation", "majoring": "majoring", "minoring": "minoring"}


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)  # accept Keras's AUCCurve / AUCSummationMethod enums


class AUC(Metric):
    """Area under the ROC (default) or PR curve, from a confusion matrix at ``num_thresholds``.

    Thresholds: ``[-1e-7, 1/(T-1), ..., (T-2)/(T-1), 1 + 1e-7]`` (``T = num_thresholds``, default
    200), or ``[-1e-7] + sorted(thresholds) + [1 + 1e-7]`` when ``thresholds`` is given (then
    ``num_thresholds = len(thresholds) + 2``). With ``x``/``y`` the curve's coordinates at each
    threshold (ROC: false-positive rate / recall; PR: recall / precision):

    - ``summation_method='interpolation'``: ``sum((x[i] - x[i+1]) * (y[i] + y[i+1]) / 2)``; for PR,
      Davis & Goadrich's interpolation: TP and P = TP + FP vary linearly between thresholds, and
      each interval adds ``slope * (dTP + intercept * log(P[i] / P[i+1])) / (TP + FN)[i+1]``.
    - ``'minoring'`` / ``'majoring'``: the lower / upper of ``y[i]``, ``y[i+1]`` as the height.

    ``curve='PRGAIN'`` (precision-recall-gain) is supported too. ``multi_label=True`` keeps one
    curve per column (``num_labels`` columns, or learnt from the first batch) and averages the
    areas, weighted by ``label_weights`` if given; with ``multi_label=False``, ``label_weights``
    weights the columns inside the flattened confusion matrix. ``from_logits=True`` applies a
    sigmoid to ``y_pred`` first.
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: Any = None, thresholds: Sequence[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False) -> None:
        curve_key = str(_enum_value(curve))
        if curve_key not in ("pr", "PR", "roc", "ROC", "prgain", "PRGAIN"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
        method_key = str(_enum_value(summation_method))
        if method_key not in ("interpolation", "Interpolation", "majoring", "Majoring", "minoring", "Minoring"):
            raise ValueError(
                f'Invalid AUC summation method value: "{summation_method}". '
                'Expected values are ["interpolation", "majoring", "minoring"]'
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            thresholds = sorted(float(t) for t in _to_list(thresholds))
            self.num_thresholds = len(thresholds) + 2
            evenly = _evenly_distributed([0.0] + thresholds + [1.0])
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) \
                    or num_thresholds <= 1:
                raise ValueError(
                    f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={num_thresholds}"
                )
            self.num_thresholds = int(num_thresholds)
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            evenly = True
        self._thresholds = [0.0 - EPSILON] + list(thresholds) + [1.0 + EPSILON]
        self._th = _Thresholds(self._thresholds, evenly)
        self.curve = _CURVES[curve_key.lower()]
        self.summation_method = _SUMMATIONS[method_key.lower()]
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        if label_weights is not None:
            if isinstance(label_weights, dict) and label_weights.get("class_name") == "__tensor__":
                label_weights = label_weights["config"]["value"]
            if isinstance(label_weights, torch.Tensor):
                label_weights = label_weights.detach().cpu().to(torch.float64)
            self._label_weights_cpu: torch.Tensor | None = torch.as_tensor(
                np.asarray(label_weights, dtype=np.float64)).to(self._tdtype)
        else:
            self._label_weights_cpu = None
        self._label_weights: torch.Tensor | None = None
        self._from_logits = bool(from_logits)
        self._built = False
        self._num_labels: int | None = None
        if self.multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self) -> list[float]:
        """The thresholds used, including the two endpoints ``-1e-7`` and ``1 + 1e-7``."""
        return list(self._thresholds)

    @property
    def label_weights(self) -> torch.Tensor | None:
        if self._label_weights_cpu is None:
            return None
        if self._label_weights is None:
            self._label_weights = self._label_weights_cpu.to(self._device or backend.default_device())
        return self._label_weights

    def _on_materialize(self, device: torch.device) -> None:
        if self._label_weights_cpu is not None:
            self._label_weights = self._label_weights_cpu.to(device)

    def _build(self, shape: Any) -> None:
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(
                    f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(shape)}. "
                    f"Full shape received for `y_pred`: {tuple(shape)}"
                )
            self._num_labels = int(shape[1])
            vshape: tuple[int, ...] = (self.num_thresholds, self._num_labels)
        else:
            vshape = (self.num_thresholds,)
        for state in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            self._add_state(state, vshape)
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        device = _device_of(y_pred)
        self._ensure(device)
        if not self._built:
            self._build(tuple(y_pred.shape) if hasattr(y_pred, "shape") else np.shape(y_pred))
        if self._from_logits:
            y_pred = torch.sigmoid(_as_tensor(y_pred, device, self._tdtype))
        tp, fp, tn, fn = _confusion_counts(
            y_true, y_pred, sample_weight, self._th, self._tdtype, device, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights, owner=self.name,
        )
        torch._foreach_add_([self.true_positives, self.false_positives, self.true_negatives, self.false_negatives],
                            [tp, fp, tn, fn])

    def _average(self, by_label: torch.Tensor) -> torch.Tensor:
        if self.label_weights is None:
            return by_label.mean()
        lw = self.label_weights
        return _divide_no_nan((by_label * lw).sum(), lw.sum())

    def interpolate_pr_auc(self) -> torch.Tensor:
        """PR-AUC by Davis & Goadrich's interpolation (see the class docstring)."""
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, torch.clamp_min(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        safe_ratio = torch.where((p[:-1] > 0) & (p[1:] > 0), _divide_no_nan(p[:-1], torch.clamp_min(p[1:], 0)),
                                 torch.ones_like(p[1:]))
        increment = _divide_no_nan(slope * (dtp + intercept * torch.log(safe_ratio)),
                                   torch.clamp_min(tp[1:] + fn[1:], 0))
        if self.multi_label:
            return self._average(increment.sum(0))
        return increment.sum()

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self._tdtype, device=self._device or backend.default_device())
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scale = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * _divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * _divide_no_nan(fp, tp)
            no_tp = tp == 0
            recall_gain = torch.where(no_tp, torch.zeros_like(recall_gain), recall_gain)
            precision_gain = torch.where(no_tp, torch.ones_like(precision_gain), precision_gain)
            x, y = torch.clamp_min(recall_gain, 0.0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        terms = (x[:-1] - x[1:]) * heights
        if self.multi_label:
            return self._average(terms.sum(0))
        return terms.sum()

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict[str, Any]:
        lw = None if self._label_weights_cpu is None else [float(v) for v in self._label_weights_cpu.tolist()]
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": lw,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


class FBetaScore(Metric):
    """F-beta score: ``(1 + b^2) * P * R / (b^2 * P + R)`` per class, then averaged.

    ``threshold=None``: the row's maximum (all tied maxima, when non-zero) is the positive
    prediction; else ``y_pred > threshold``. ``average``: None (one score per class), ``'micro'``
    (global counts), ``'macro'`` (mean of class scores) or ``'weighted'`` (by class support).
    Inputs must be 2-D ``(batch, classes)``; state is created from the first batch.
    """

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                "Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', 'weighted'}. "
                f"Received: average={average}"
            )
        if not isinstance(beta, float):
            raise ValueError(
                f"Invalid `beta` argument value. It should be a Python float. Received: beta={beta} of type "
                f"'{type(beta)}'"
            )
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    "Invalid `threshold` argument value. It should be a Python float. "
                    f"Received: threshold={threshold} of type '{type(threshold)}'"
                )
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(
                    "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                    f"Received: threshold={threshold}"
                )
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, t_shape: tuple, p_shape: tuple) -> None:
        if len(p_shape) != 2 or len(t_shape) != 2:
            raise ValueError(
                "FBetaScore expects 2D inputs with shape (batch_size, output_dim). Received input shapes: "
                f"y_pred.shape={p_shape} and y_true.shape={t_shape}."
            )
        shape = (p_shape[-1],) if self.average != "micro" else ()
        for state in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            self._add_state(state, shape)
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        device = _device_of(y_pred)
        self._ensure(device)
        dt = self._tdtype
        y_true = _as_tensor(y_true, device, dt)
        y_pred = _as_tensor(y_pred, device, dt)
        if not self._built:
            self._build(tuple(y_true.shape), tuple(y_pred.shape))
        if self.threshold is None:
            top = y_pred.amax(-1, keepdim=True)
            pred = (y_pred >= top) & (y_pred.abs() > 1e-9)
        else:
            pred = y_pred > self.threshold
        pred = pred.to(dt)
        stacked = torch.stack((pred * y_true, pred * (1 - y_true), (1 - pred) * y_true, y_true))
        if sample_weight is not None:
            sw = _as_tensor(sample_weight, device, dt)
            if sw.ndim == 1:
                sw = sw.unsqueeze(1)
            stacked = stacked * sw
        sums = stacked.sum(dim=1) if self.axis == 0 else stacked.sum(dim=(1, 2))
        torch._foreach_add_([self.true_positives, self.false_positives, self.false_negatives,
                             self.intermediate_weights], list(sums.unbind(0)))

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self._tdtype, device=self._device or backend.default_device())
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        b2 = self.beta ** 2
        f = precision * recall / (b2 * precision + recall + EPSILON) * (1 + b2)
        if self.average == "weighted":
            iw = self.intermediate_weights
            f = (f * (iw / (iw.sum() + EPSILON))).sum()
        elif self.average is not None:
            f = f.mean()
        return f

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F-1 score, ``2 * P * R / (P + R)``: :class:`FBetaScore` with ``beta=1.0`` (no ``beta`` in its config)."""

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score",
                 dtype: Any = None) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config


# ---------------------------------------------------------------------------------------------
# IoU.


class _IoUBase(Metric):
    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1) -> None:
        super().__init__(name=name, dtype=dtype if dtype is not None else "int32")
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self._add_state("total_cm", (num_classes, num_classes))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        device = _device_of(y_pred)
        self._ensure(device)
        dt = self._tdtype
        y_true, y_pred = _prep(y_true, y_pred, device)
        if not self.sparse_y_true:
            y_true = y_true.argmax(self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(self.axis)
        y_true = y_true.to(dt).reshape(-1)
        y_pred = y_pred.to(dt).reshape(-1)
        if sample_weight is None:
            sw = torch.ones((), dtype=dt, device=device)
        else:
            sw = _as_tensor(sample_weight, device)
            if sw.is_floating_point() and not dt.is_floating_point:
                warnings.warn(
                    "You are passing weight as `float`, but dtype is `int`. This may result in an incorrect "
                    "weight due to type casting Consider using integer weights.", stacklevel=2,
                )
            sw = sw.to(dt)
            if sw.ndim > 1:
                sw = sw.reshape(-1)
        sw = sw.expand(y_true.shape)
        n = self.num_classes
        ok = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            ok = ok & (y_true != self.ignore_class)
        zero = torch.zeros((), dtype=dt, device=device)
        y_true = torch.where(ok, y_true, zero).to(torch.int64)
        y_pred = torch.where(ok, y_pred, zero).to(torch.int64)
        sw = torch.where(ok, sw, zero)
        self.total_cm.view(-1).index_add_(0, y_true * n + y_pred, sw)


class IoU(_IoUBase):
    """Intersection-over-union ``tp / (tp + fp + fn)`` per class, averaged over ``target_class_ids``.

    Classes whose denominator is 0 are left out of the average. The confusion matrix is kept in
    ``dtype`` (``'int32'`` by default, as Keras; float sample weights are truncated then).
    """

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1) -> None:
        super().__init__(name=name, num_classes=num_classes, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis, dtype=dtype)
        if max(target_class_ids) >= num_classes:
            raise ValueError(
                f"Target class id {max(target_class_ids)} is out of range, which is [0, {num_classes})."
            )
        self.target_class_ids = list(target_class_ids)
        self._targets: dict[torch.device, torch.Tensor] = {}

    def result(self) -> torch.Tensor:
        cm = self.total_cm
        dt = self._tdtype
        rows = cm.sum(0).to(dt)
        cols = cm.sum(1).to(dt)
        tp = torch.diagonal(cm).to(dt)
        denom = rows + cols - tp
        ids = self._targets.get(cm.device)
        if ids is None:
            ids = self._targets[cm.device] = torch.tensor(self.target_class_ids, dtype=torch.int64, device=cm.device)
        tp = tp.index_select(0, ids).to(torch.float32)
        denom = denom.index_select(0, ids).to(torch.float32)
        valid = denom > 1e-9
        iou = tp / (denom + EPSILON)
        iou = torch.where(valid, iou, torch.zeros_like(iou))
        return iou.sum(self.axis) / (valid.to(torch.float32).sum() + EPSILON)

    def get_config(self) -> dict[str, Any]:
        return {**Metric.get_config(self), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of binary predictions ``y_pred >= threshold`` for ``target_class_ids`` (default both)."""

    def __init__(self, target_class_ids: Sequence[int] = (0, 1), threshold: float = 0.5, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        device = _device_of(y_pred)
        y_pred = (_as_tensor(y_pred, device, torch.float32) >= self.threshold).to(self._tdtype)
        super().update_state(_as_tensor(y_true, device, self._tdtype), y_pred, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over all ``num_classes`` classes."""

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1) -> None:
        super().__init__(name=name, num_classes=num_classes, target_class_ids=list(range(num_classes)), axis=axis,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """IoU with one-hot labels (and, unless ``sparse_y_pred=True``, per-class scores)."""

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1) -> None:
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """Mean IoU with one-hot labels."""

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_pred: bool = False, axis: int = -1) -> None:
        super().__init__(num_classes=num_classes, axis=axis, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


# ---------------------------------------------------------------------------------------------
# The registry: Keras's ALL_OBJECTS_DICT (class names, to_snake_case names and its aliases).

_CLASSES = (
    Metric, Mean, Sum, MeanMetricWrapper,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, R2Score,
    AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall, RecallAtPrecision,
    SensitivityAtSpecificity, SpecificityAtSensitivity, TrueNegatives, TruePositives,
    ConcordanceCorrelation, PearsonCorrelation,
    Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    F1Score, FBetaScore,
    IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU,
)
ALL_OBJECTS: dict[str, type] = {}
for _cls in _CLASSES:
    ALL_OBJECTS[_cls.__name__] = _cls
    ALL_OBJECTS[_keras_snake(_cls.__name__)] = _cls
del _cls
ALL_OBJECTS.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "acc": Accuracy,  # initium only: Keras's get('acc') raises (compile resolves it by shape)
})

# Functions a MeanMetricWrapper config may name (Keras writes {"class_name": "function", "config": name}).
_FUNCTIONS: dict[str, Callable[..., Any]] = {f.__name__: f for f in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
    sparse_top_k_categorical_accuracy, mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, log_cosh, cosine_similarity, binary_crossentropy, categorical_crossentropy,
    sparse_categorical_crossentropy, kl_divergence, poisson, hinge, squared_hinge, categorical_hinge,
    pearson_correlation, concordance_correlation,
)}

_FOREIGN_NAMES = {  # other libraries' names, for "did you mean" only
    "f1": "f1_score", "fbeta": "f_beta_score", "roc_auc": "auc", "auroc": "auc", "auc_roc": "auc",
    "pr_auc": "auc", "average_precision": "auc", "rmse": "root_mean_squared_error", "r2": "r2_score",
    "top_k_accuracy": "top_k_categorical_accuracy", "top5": "top_k_categorical_accuracy",
    "binary_acc": "binary_accuracy", "categorical_acc": "categorical_accuracy",
    "sparse_categorical_acc": "sparse_categorical_accuracy", "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh_error", "log_cosh": "log_cosh_error",
    "iou": "mean_io_u", "mean_iou": "mean_io_u", "miou": "mean_io_u", "binary_iou": "binary_io_u",
    "crossentropy": "categorical_crossentropy", "ce": "categorical_crossentropy",
    "nll": "sparse_categorical_crossentropy",
    "pearson": "pearson_correlation", "sensitivity": "recall", "tpr": "recall", "ppv": "precision",
}


def _suggest(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    low = name.lower().strip()
    if low in _FOREIGN_NAMES:
        return _FOREIGN_NAMES[low]
    keys = sorted(ALL_OBJECTS, key=lambda k: (k[0].isupper(), k))
    for key in keys:
        if key.lower() == low or key.lower().replace("_", "") == low.replace("_", ""):
            return key
    close = difflib.get_close_matches(low, [k for k in keys if not k[0].isupper()], n=1, cutoff=0.75)
    return close[0] if close else None


def _unknown(identifier: Any, name: Any = None) -> ValueError:
    hint = _suggest(identifier if name is None else name)
    did = f" Did you mean '{hint}'?" if hint else ""
    names = sorted(k for k in ALL_OBJECTS if not k[0].isupper())
    return ValueError(
        f"Could not interpret metric identifier: {identifier!r}.{did} Valid names: {', '.join(names)} (or their "
        "class names). A custom metric must be registered with @initium.saving.register_keras_serializable() "
        "or passed in custom_objects."
    )


def _lookup(name: str, custom_objects: dict[str, Any] | None) -> Any | None:
    found = registry.get_registered_object(name, custom_objects)
    return found if found is not None else ALL_OBJECTS.get(name)


def _instantiate(cls: Any, config: Any) -> Any:
    if not inspect.isclass(cls):
        return cls  # a registered function
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise TypeError(f"The config of {cls.__name__} must be a dict. Received: {config!r}")
    try:
        return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
    except TypeError as e:
        accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "args", "kwargs")]
        bad = [k for k in config if k not in accepted]
        hints = []
        for k in bad:
            close = difflib.get_close_matches(k, accepted, n=1)
            hints.append(f"'{k}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        detail = f" Unexpected key(s): {', '.join(hints)}." if bad else ""
        raise TypeError(
            f"{cls.__name__} could not be built from config={config!r}.{detail} "
            f"{cls.__name__} accepts: {', '.join(accepted) or 'no arguments'}. ({e})"
        ) from e


def _deserialize_function(config: Any, custom_objects: dict[str, Any] | None = None) -> Callable[..., Any]:
    name = config
    if isinstance(config, dict):
        if config.get("class_name") == "__lambda__":
            raise ValueError(
                "Refusing to load a lambda metric function: that would execute code stored in the config. "
                "Define a named function, register it, and save again."
            )
        name = config.get("config")
    if isinstance(name, str):
        fn = registry.get_registered_object(name, custom_objects)
        if fn is None and ">" in name:
            fn = registry.get_registered_object(name.split(">", 1)[1], custom_objects)
        if fn is None:
            fn = _FUNCTIONS.get(name)
        if fn is not None and not inspect.isclass(fn):
            return fn
    raise ValueError(
        f"The metric function {name!r} is not a built-in metric function and is not registered. Decorate it with "
        f"@initium.saving.register_keras_serializable() or pass custom_objects={{{name!r}: fn}}. Built-in "
        f"functions: {', '.join(sorted(_FUNCTIONS))}."
    )


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Build a metric from a name or a Keras config dict (``{"class_name", "config", ...}``).

    Only built-in, registered or ``custom_objects`` classes are instantiated; no module named in
    a config is ever imported.
    """
    if config is None:
        return None
    if isinstance(config, Metric):
        return config
    if isinstance(config, str):
        found = _lookup(config, custom_objects)
        if found is None:
            raise _unknown(config)
        return _instantiate(found, {})
    if not isinstance(config, dict):
        raise _unknown(config)
    if "class_name" not in config:
        raise ValueError(f"A metric config dict needs a 'class_name' key (and usually 'config'). Received: {config!r}")
    class_name, inner = config["class_name"], config.get("config", {})
    module, registered = config.get("module"), config.get("registered_name")
    if class_name in ("function", "__lambda__"):
        return _deserialize_function(config, custom_objects)
    cls = None
    if registered and registered != class_name:
        cls = _lookup(registered, custom_objects)
    if cls is None:
        cls = registry.get_registered_object(class_name, custom_objects)
    builtin_module = module in _BUILTIN_MODULES or str(module).startswith("keras.src.metrics")
    if cls is None and builtin_module:
        cls = ALL_OBJECTS.get(class_name)
    if cls is None and class_name in ALL_OBJECTS:
        raise ValueError(
            f"The metric config names class {class_name!r} in module {module!r}; only built-in metrics (module "
            "'keras.metrics') and registered classes are loaded, and no module named in a config is ever "
            f"imported. Received: {config!r}"
        )
    if cls is None:
        raise _unknown(config, class_name)
    if isinstance(inner, dict) and "fn" in inner and not callable(inner["fn"]):
        inner = {**inner, "fn": _deserialize_function(inner["fn"], custom_objects)}
    return _instantiate(cls, inner)


def serialize(metric: Any) -> Any:
    """The Keras config dict of a metric or metric function (None and strings pass through).

    >>> serialize(MeanSquaredError())["config"]
    {'name': 'mean_squared_error', 'dtype': 'float32'}
    """
    if metric is None or isinstance(metric, str):
        return metric
    if isinstance(metric, Metric):
        cls = type(metric)
        config = metric.get_config()
        if ALL_OBJECTS.get(cls.__name__) is cls:
            return {"module": _KERAS_MODULE, "class_name": cls.__name__, "config": config, "registered_name": None}
        return {"module": None if cls.__module__ == "__main__" else cls.__module__, "class_name": cls.__name__,
                "config": config, "registered_name": registry.get_registered_name(cls)}
    if inspect.isfunction(metric) or inspect.ismethod(metric) or inspect.isbuiltin(metric):
        if metric.__name__ == "<lambda>":
            raise ValueError(
                "Cannot serialize a lambda metric function: a file would have to store its code. Define a named "
                "function (def my_metric(y_true, y_pred): ...) and register it with "
                "@initium.saving.register_keras_serializable()."
            )
        return {"module": "builtins", "class_name": "function", "config": registry.get_registered_name(metric),
                "registered_name": "function"}
    if callable(metric) and hasattr(metric, "get_config"):
        cls = type(metric)
        return {"module": None, "class_name": cls.__name__, "config": metric.get_config(),
                "registered_name": registry.get_registered_name(cls)}
    raise TypeError(f"Cannot serialize {metric!r} (of type {type(metric).__name__}) as a metric.")


def get(identifier: Any) -> Any:
    """Resolve a metric from None, a name, a config dict, a class, an instance or a function.

    Names are Keras's (``'accuracy'``, ``'mse'``, ``'auc'``, ``'AUC'``, ``'f1_score'``, ...) and give
    a fresh instance; a plain function is returned as is (wrap it in ``MeanMetricWrapper``).

    >>> get("mae")
    <MeanAbsoluteError name=mean_absolute_error>
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret metric identifier: {identifier!r} (of type {type(identifier).__name__}). Expected a "
        "name such as 'accuracy' or 'mse', a Metric, a config dict or a function f(y_true, y_pred)."
    )
