"""Losses: Keras 3's functions (per-sample values) and classes (reduced values), on torch.

Every function returns one value per sample (the last axis reduced, as Keras does); a ``Loss``
object applies ``sample_weight`` and a reduction (``"sum_over_batch_size"`` by default). The
formulas, clipping constant (``EPSILON = 1e-7``) and label conventions are Keras's, so values agree
with Keras 3 to float rounding.

One deliberate difference: when ``y_pred`` is the output of initium's ``softmax`` or ``sigmoid``
activation, the crossentropies are computed from the logits kept on that tensor
(``log_softmax`` / log-sigmoid), not as the log of clipped probabilities. The value is the same
where the probabilities are not tiny; where they are, Keras's loss saturates at
``-log(1e-7) = 16.1`` with a zero gradient, and initium's keeps its true value and gradient.

Nothing here reads a tensor back to the host, so a loss can sit on the per-step path.
"""

from __future__ import annotations

import difflib
import math
import warnings
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from initium import registry

__all__ = [
    "Loss", "LossFunctionWrapper", "get", "serialize", "deserialize", "EPSILON",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
    "binary_focal_crossentropy", "categorical_focal_crossentropy", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "huber", "log_cosh", "kl_divergence",
    "poisson", "cosine_similarity", "hinge", "squared_hinge", "categorical_hinge",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy", "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Huber", "LogCosh", "KLDivergence", "Poisson", "CosineSimilarity", "Hinge",
    "SquaredHinge", "CategoricalHinge",
]

EPSILON = 1e-7  # Keras's backend.epsilon()
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


# ------------------------------------------------------------------------------------------ helpers
def _pred(y_pred: Any) -> torch.Tensor:
    if isinstance(y_pred, torch.Tensor):
        return y_pred if y_pred.is_floating_point() else y_pred.float()
    arr = np.asarray(y_pred)
    return torch.as_tensor(arr, dtype=torch.float32 if arr.dtype.kind != "f" or arr.dtype == np.float64 else None)


def _true(y_true: Any, like: torch.Tensor) -> torch.Tensor:
    t = y_true if isinstance(y_true, torch.Tensor) else torch.as_tensor(np.asarray(y_true))
    return t.to(device=like.device, dtype=like.dtype)


def _logits(y_pred: torch.Tensor, kind: str) -> torch.Tensor | None:
    """The pre-activation kept by initium's softmax/sigmoid, if ``y_pred`` is such an output."""
    logits = getattr(y_pred, "_keras_logits", None)
    if logits is None or getattr(y_pred, "_keras_logits_kind", None) != kind or logits.shape != y_pred.shape:
        return None
    return logits


def _same_shape(y_true: torch.Tensor, y_pred: torch.Tensor, fn: str) -> None:
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{fn}: `y_true` and `y_pred` must have the same shape. Received: "
                         f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}.")


def _check_one_hot(y_true: torch.Tensor, y_pred: torch.Tensor, fn: str) -> None:
    k = y_pred.shape[-1] if y_pred.ndim else 1
    if k == 1:
        warnings.warn(
            f"In loss {fn}, expected y_pred.shape to be (batch_size, num_classes) with num_classes > 1. "
            f"Received: y_pred.shape={tuple(y_pred.shape)}: the loss is then always 0. For two classes "
            "with one output unit use 'binary_crossentropy' (and a sigmoid activation).",
            SyntaxWarning,  # Keras's category
            stacklevel=3,
        )
    labels = y_true.ndim == y_pred.ndim - 1 or (y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1 and k > 1)
    if labels and k > 1:
        raise ValueError(
            f"{fn} expects one-hot targets of shape {tuple(y_pred.shape)} (one column per class), but received "
            f"targets of shape {tuple(y_true.shape)}: these look like integer class labels. Use "
            "loss='sparse_categorical_crossentropy' for integer labels, or one-hot encode them with "
            f"initium.utils.to_categorical(y, {k})."
        )
    _same_shape(y_true, y_pred, fn)


def _squeeze_or_expand(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keras's ``squeeze_or_expand_to_same_rank``: fix a trailing size-1 axis difference."""
    if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
        return (a, b.unsqueeze(-1)) if b.ndim == 1 else (a.squeeze(-1), b)
    if b.ndim == a.ndim + 1 and b.shape[-1] == 1:
        return (a.unsqueeze(-1), b) if a.ndim == 1 else (a, b.squeeze(-1))
    return a, b


# ------------------------------------------------------------------------------------------ functions
def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> torch.Tensor:
    """``-sum(y_true * log(p), axis)``; ``p = softmax(y_pred)`` with ``from_logits`` else ``y_pred``
    normalized to sum 1 and clipped to ``[1e-7, 1 - 1e-7]``. Label smoothing:
    ``y_true * (1 - s) + s / k``."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    _check_one_hot(y_true, y_pred, "categorical_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    logits = y_pred if from_logits else (_logits(y_pred, "softmax") if axis in (-1, y_pred.ndim - 1) else None)
    if logits is not None:
        log_p = F.log_softmax(logits, dim=axis)
    else:
        p = y_pred / y_pred.sum(dim=axis, keepdim=True)
        log_p = torch.log(p.clamp(EPSILON, 1.0 - EPSILON))
    return -(y_true * log_p).sum(dim=axis)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> torch.Tensor:
    """``-log(p[y_true])`` per sample, with integer labels ``y_true`` of ``y_pred``'s shape less the
    class ``axis`` (a size-1 class axis is allowed). ``p`` as in ``categorical_crossentropy``.
    Labels equal to ``ignore_class`` give 0 and are masked out of the reduction. Labels are not
    range-checked (that would need a host read per step)."""
    y_pred = _pred(y_pred)
    if y_pred.ndim < 1:
        raise ValueError(f"sparse_categorical_crossentropy needs y_pred of rank >= 1 (a class axis). "
                         f"Received: y_pred.shape={tuple(y_pred.shape)}")
    ca = axis % y_pred.ndim
    t = y_true if isinstance(y_true, torch.Tensor) else torch.as_tensor(np.asarray(y_true))
    t = t.to(y_pred.device)
    if t.ndim == y_pred.ndim and t.shape[ca] == 1:
        t = t.squeeze(ca)
    expected = y_pred.shape[:ca] + y_pred.shape[ca + 1:]
    if t.shape != expected:
        raise ValueError(
            f"sparse_categorical_crossentropy expects integer labels of shape {tuple(expected)} (or with a "
            f"size-1 class axis) for predictions of shape {tuple(y_pred.shape)}. Received: "
            f"y_true.shape={tuple(t.shape)}. For one-hot targets use 'categorical_crossentropy'."
        )
    t = t.long()
    valid = None
    if ignore_class is not None:
        valid = t != ignore_class
        t = torch.where(valid, t, torch.zeros_like(t))
    logits = y_pred if from_logits else (_logits(y_pred, "softmax") if ca == y_pred.ndim - 1 else None)
    if logits is not None:
        log_p = F.log_softmax(logits, dim=ca)
    else:
        p = y_pred / y_pred.sum(dim=ca, keepdim=True)
        log_p = torch.log(p.clamp(EPSILON, 1.0 - EPSILON))
    out = -log_p.gather(ca, t.unsqueeze(ca)).squeeze(ca)
    if valid is not None:
        out = torch.where(valid, out, torch.zeros_like(out))
        out._keras_mask = valid
    return out


def _bce_elementwise(y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool) -> torch.Tensor:
    logits = y_pred if from_logits else _logits(y_pred, "sigmoid")
    if logits is not None:
        return F.binary_cross_entropy_with_logits(logits, y_true, reduction="none")
    p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
    return -(y_true * torch.log(p) + (1.0 - y_true) * torch.log(1.0 - p))


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> torch.Tensor:
    """``mean(-(y log p + (1 - y) log(1 - p)), axis)``, ``p`` clipped to ``[1e-7, 1 - 1e-7]``.
    Label smoothing: ``y * (1 - s) + s / 2``."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    _same_shape(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return _bce_elementwise(y_true, y_pred, from_logits).mean(dim=axis)


def binary_focal_crossentropy(y_true: Any, y_pred: Any, apply_class_balancing: bool = False, alpha: float = 0.25,
                              gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1) -> torch.Tensor:
    """Binary crossentropy scaled by ``(1 - p_t) ** gamma`` (Lin et al., 2017), ``p_t = y p + (1 - y)(1 - p)``;
    with ``apply_class_balancing`` also by ``alpha`` for positives and ``1 - alpha`` for negatives."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    _same_shape(y_true, y_pred, "binary_focal_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    p = torch.sigmoid(y_pred) if from_logits else y_pred
    bce = _bce_elementwise(y_true, y_pred, from_logits)
    p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
    out = (1.0 - p_t).pow(gamma) * bce
    if apply_class_balancing:
        out = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * out
    return out.mean(dim=axis)


def categorical_focal_crossentropy(y_true: Any, y_pred: Any, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1) -> torch.Tensor:
    """``sum(-alpha * (1 - p) ** gamma * y_true * log(p), axis)`` with ``p`` as in categorical crossentropy."""
    y_pred = _pred(y_pred)
    y_true = _true(y_true, y_pred)
    _check_one_hot(y_true, y_pred, "categorical_focal_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    p = torch.softmax(y_pred, dim=axis) if from_logits else y_pred
    p = (p / p.sum(dim=axis, keepdim=True)).clamp(EPSILON, 1.0 - EPSILON)
    return (alpha * (1.0 - p).pow(gamma) * -y_true * torch.log(p)).sum(dim=axis)


def _regression(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], name: str) -> Callable:
    def loss(y_true: Any, y_pred: Any) -> torch.Tensor:
        y_pred_t = _pred(y_pred)
        y_true_t = _true(y_true, y_pred_t)
        y_true_t, y_pred_t = _squeeze_or_expand(y_true_t, y_pred_t)
        try:
            return fn(y_true_t, y_pred_t)
        except RuntimeError as e:
            if "size of tensor" not in str(e) and "shape" not in str(e):
                raise
            raise ValueError(f"{name}: `y_true` and `y_pred` shapes do not broadcast. Received: "
                             f"y_true.shape={tuple(y_true_t.shape)}, y_pred.shape={tuple(y_pred_t.shape)}.") from None

    loss.__name__ = loss.__qualname__ = name
    return loss


mean_squared_error = _regression(lambda t, p: (t - p).square().mean(dim=-1), "mean_squared_error")
mean_squared_error.__doc__ = "``mean((y_true - y_pred) ** 2, axis=-1)``."
mean_absolute_error = _regression(lambda t, p: (t - p).abs().mean(dim=-1), "mean_absolute_error")
mean_absolute_error.__doc__ = "``mean(|y_true - y_pred|, axis=-1)``."
mean_absolute_percentage_error = _regression(
    lambda t, p: 100.0 * ((t - p) / t.abs().clamp_min(EPSILON)).abs().mean(dim=-1), "mean_absolute_percentage_error")
mean_absolute_percentage_error.__doc__ = "``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)``."
mean_squared_logarithmic_error = _regression(
    lambda t, p: (torch.log(p.clamp_min(EPSILON) + 1.0) - torch.log(t.clamp_min(EPSILON) + 1.0)).square().mean(dim=-1),
    "mean_squared_logarithmic_error")
mean_squared_logarithmic_error.__doc__ = "``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)) ** 2, -1)``."


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> torch.Tensor:
    """``mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2, axis=-1)`` with ``e = y_pred - y_true``."""
    def fn(t: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        e = p - t
        a = e.abs()
        return torch.where(a <= delta, 0.5 * e.square(), delta * a - 0.5 * delta * delta).mean(dim=-1)

    return _regression(fn, "huber")(y_true, y_pred)


_LOG2 = math.log(2.0)
log_cosh = _regression(lambda t, p: ((p - t) + F.softplus(-2.0 * (p - t)) - _LOG2).mean(dim=-1), "log_cosh")
log_cosh.__doc__ = "``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed as ``e + softplus(-2e) - log 2``."
kl_divergence = _regression(
    lambda t, p: (t.clamp(EPSILON, 1.0) * torch.log(t.clamp(EPSILON, 1.0) / p.clamp(EPSILON, 1.0))).sum(dim=-1),
    "kl_divergence")
kl_divergence.__doc__ = "``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to ``[1e-7, 1]``."
poisson = _regression(lambda t, p: (p - t * torch.log(p + EPSILON)).mean(dim=-1), "poisson")
poisson.__doc__ = "``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``."


def _l2_normalize(x: torch.Tensor, axis: int) -> torch.Tensor:
    """Keras's ``ops.normalize``: ``x * min(rsqrt(sum(x ** 2, axis)), 1 / 1e-7)``."""
    return x * torch.rsqrt(x.square().sum(dim=axis, keepdim=True)).clamp_max(1.0 / EPSILON)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 for parallel vectors, 0 for
    orthogonal ones (or a zero vector), +1 for opposite ones."""
    def fn(t: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return -(_l2_normalize(t, axis) * _l2_normalize(p, axis)).sum(dim=axis)

    return _regression(fn, "cosine_similarity")(y_true, y_pred)


def _hinge_labels(t: torch.Tensor) -> torch.Tensor:
    """Keras maps labels that are all 0/1 to -1/+1 (without reading the tensor on the host)."""
    binary = ((t == 0) | (t == 1)).all()
    return torch.where(binary, 2.0 * t - 1.0, t)


hinge = _regression(lambda t, p: (1.0 - _hinge_labels(t) * p).clamp_min(0.0).mean(dim=-1), "hinge")
hinge.__doc__ = "``mean(max(1 - y_true * y_pred, 0), axis=-1)``; 0/1 labels are mapped to -1/+1."
squared_hinge = _regression(lambda t, p: (1.0 - _hinge_labels(t) * p).clamp_min(0.0).square().mean(dim=-1),
                            "squared_hinge")
squared_hinge.__doc__ = "``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)``; 0/1 labels are mapped to -1/+1."
categorical_hinge = _regression(
    lambda t, p: ((1.0 - t) * p).amax(dim=-1).sub((t * p).sum(dim=-1)).add(1.0).clamp_min(0.0), "categorical_hinge")
categorical_hinge.__doc__ = "``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` per sample."


# ------------------------------------------------------------------------------------------ classes
_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}


def _reduction(value: Any, owner: str) -> Any:
    if value not in REDUCTIONS:
        raise ValueError(
            f"{owner}: invalid value for argument `reduction`. Expected one of "
            f"{', '.join(repr(r) for r in REDUCTIONS)}. Received: reduction={value!r}"
        )
    return value


def _dtype_name(dtype: Any, owner: str) -> str:
    if dtype is None:
        return "float32"  # Keras's floatx()
    if isinstance(dtype, torch.dtype):
        dtype = str(dtype).replace("torch.", "")
    if isinstance(dtype, str) and dtype in _DTYPES:
        return dtype
    raise ValueError(f"{owner}: `dtype` must be a floating dtype, one of {sorted(_DTYPES)}. Received: dtype={dtype!r}")


def _cast(x: Any, dtype: torch.dtype) -> torch.Tensor:
    """``x`` as a tensor of ``dtype``, keeping the ``_keras_logits``/``_keras_mask`` it carries."""
    if not isinstance(x, torch.Tensor):
        return torch.as_tensor(np.asarray(x), dtype=dtype)
    if x.dtype == dtype:
        return x
    out = x.to(dtype)
    for attr in ("_keras_mask", "_keras_logits_kind"):
        if getattr(x, attr, None) is not None:
            setattr(out, attr, getattr(x, attr))
    logits = getattr(x, "_keras_logits", None)
    if logits is not None:
        out._keras_logits = logits.to(dtype)
    return out


class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` -> the reduced loss.

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample values ``v``. With weights
    ``w`` (``sample_weight`` times any mask; see below) the reductions are Keras's:

    - ``"sum_over_batch_size"`` and ``"mean"``: ``sum(v * w) / v.numel()``;
    - ``"sum"``: ``sum(v * w)``;
    - ``"mean_with_sample_weight"``: ``sum(v * w) / sum(w)`` (``sum(v) / v.numel()`` without weights);
    - ``"none"`` or ``None``: ``v * w``, unreduced.

    A divisor of 0 gives 0. Masks (``_keras_mask`` on ``y_pred``, as initium layers attach, and on
    the values, as ``ignore_class`` sets) zero the masked entries; for ``"sum_over_batch_size"`` and
    ``"mean"`` the kept ones are scaled by ``count / kept`` so the result is the mean over kept values.
    """

    def __init__(self, name: str | None = None, reduction: Any = "sum_over_batch_size", dtype: Any = None) -> None:
        self.name = name or _snake(type(self).__name__)
        self.reduction = _reduction(reduction, type(self).__name__)
        self._dtype = _dtype_name(dtype, type(self).__name__)

    @property
    def dtype(self) -> str:
        """The computation dtype's name (``'float32'`` unless given)."""
        return self._dtype

    def call(self, y_true: Any, y_pred: Any) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        in_mask = getattr(y_pred, "_keras_mask", None)
        dtype = _DTYPES[self._dtype]
        y_pred = _cast(y_pred, dtype)
        y_true = _cast(y_true, dtype).to(y_pred.device)
        values = self.call(y_true, y_pred)
        out_mask = getattr(values, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = in_mask.bool() & out_mask.bool()
        else:
            mask = in_mask if in_mask is not None else out_mask
        values = values.to(dtype)
        sw = None
        if sample_weight is not None:
            sw = _cast(sample_weight, dtype).to(values.device)
        if mask is not None:
            sw = _apply_mask(sw, mask.to(values.device), values.dtype, self.reduction)
        if sw is not None:
            values, sw = _squeeze_or_expand(values, sw)
            values = values * _broadcastable(sw, values)
        return _reduce(values, sw, self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(b != 0, a / torch.where(b != 0, b, torch.ones_like(b)), torch.zeros_like(a))


def _apply_mask(sw: torch.Tensor | None, mask: torch.Tensor, dtype: torch.dtype, reduction: Any) -> torch.Tensor:
    """Fold a boolean mask into the sample weights, as Keras's ``apply_mask`` does."""
    m = mask.to(dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        kept = m.sum()
        scale = m.numel() / torch.where(kept != 0, kept, torch.ones_like(kept))  # 0 kept: every weight is 0
        m = torch.where(mask.bool(), scale, torch.zeros_like(m))
    if sw is None:
        return m
    m, sw = _squeeze_or_expand(m, sw)
    return sw * _broadcastable(m, sw) if m.ndim < sw.ndim else _broadcastable(sw, m) * m


def _broadcastable(sw: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Pad ``sw`` with trailing size-1 axes so a per-sample weight (N,) scales values (N, T, ...)."""
    if 0 < sw.ndim < values.ndim:
        sw = sw.reshape(sw.shape + (1,) * (values.ndim - sw.ndim))
    return sw


def _reduce(values: torch.Tensor, sw: torch.Tensor | None, reduction: Any) -> torch.Tensor:
    if reduction in (None, "none") or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sw is not None:
        divisor = _broadcastable(sw, values).expand(values.shape).sum() if sw.ndim < values.ndim else sw.sum()
        return _divide_no_nan(total, divisor.to(total.dtype))
    n = values.numel()
    return total / n if n else torch.zeros_like(total)


class LossFunctionWrapper(Loss):
    """A ``Loss`` around a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn: Callable, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: `fn` must be callable. Received: {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Any, y_pred: Any) -> torch.Tensor:
        if isinstance(y_true, torch.Tensor) and isinstance(y_pred, torch.Tensor):
            y_true, y_pred = _squeeze_or_expand(y_true, y_pred)  # as Keras: a trailing size-1 axis
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Loss":
        config = dict(config)
        if cls is LossFunctionWrapper:
            if "fn" not in config:
                raise ValueError("LossFunctionWrapper.from_config needs an 'fn' entry (the serialized loss "
                                 f"function). Received: {config!r}")
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def __repr__(self) -> str:
        if type(self) is LossFunctionWrapper:
            return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"
        return super().__repr__()


def _make(cls_name: str, fn: Callable, default_name: str, hidden: tuple[str, ...] = (),
          config_order: tuple[str, ...] = ("from_logits", "label_smoothing", "axis"), **defaults: Any) -> type:
    """A ``LossFunctionWrapper`` subclass for ``fn`` with Keras's constructor arguments and defaults.

    ``config_order`` puts those keys first in ``get_config``, as Keras does. ``hidden`` names
    arguments Keras leaves out of ``get_config`` (Huber's ``delta``,
    CosineSimilarity's ``axis``, SparseCategoricalCrossentropy's ``axis``): initium writes them
    only when they differ from the default, so default configs equal Keras's and others round-trip.
    """
    params = list(defaults)
    valid = params + ["reduction", "name", "dtype"]
    order = [k for k in config_order if k in defaults] + [k for k in params if k not in config_order]

    def __init__(self: Any, *args: Any, reduction: Any = "sum_over_batch_size", name: str = default_name,
                 dtype: Any = None, **kwargs: Any) -> None:
        if len(args) > len(params):
            raise TypeError(f"{type(self).__name__} takes at most {len(params)} positional arguments "
                            f"({', '.join(params)}); received {len(args)}.")
        values = dict(defaults)
        values.update(zip(params, args))
        unknown = set(kwargs) - set(params)
        if unknown:
            close = difflib.get_close_matches(sorted(unknown)[0], valid, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(unknown)}.{hint} "
                            f"Valid: {valid}.")
        values.update(kwargs)
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype, **values)
        for k, v in values.items():
            setattr(self, k, v)

    def get_config(self: Any) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update({k: self._fn_kwargs[k] for k in order if k not in hidden or self._fn_kwargs[k] != defaults[k]})
        return config

    doc = (f"``{fn.__name__}`` as a ``Loss`` object. Arguments: "
           f"{', '.join(f'{k}={v!r}' for k, v in defaults.items()) or 'none'}, reduction, name, dtype.\n\n"
           f"{fn.__doc__ or ''}")
    return type(cls_name, (LossFunctionWrapper,), {"__init__": __init__, "get_config": get_config, "__doc__": doc,
                                                  "__module__": __name__})


CategoricalCrossentropy = _make("CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
                                from_logits=False, label_smoothing=0.0, axis=-1)
SparseCategoricalCrossentropy = _make("SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                      "sparse_categorical_crossentropy", hidden=("axis",), from_logits=False,
                                      ignore_class=None, axis=-1)
BinaryCrossentropy = _make("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                           from_logits=False, label_smoothing=0.0, axis=-1)
BinaryFocalCrossentropy = _make("BinaryFocalCrossentropy", binary_focal_crossentropy, "binary_focal_crossentropy",
                                apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                                label_smoothing=0.0, axis=-1)
CategoricalFocalCrossentropy = _make("CategoricalFocalCrossentropy", categorical_focal_crossentropy,
                                     "categorical_focal_crossentropy", alpha=0.25, gamma=2.0, from_logits=False,
                                     label_smoothing=0.0, axis=-1)
MeanSquaredError = _make("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _make("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _make("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                    "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _make("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                    "mean_squared_logarithmic_error")
Huber = _make("Huber", huber, "huber_loss", hidden=("delta",), delta=1.0)
LogCosh = _make("LogCosh", log_cosh, "log_cosh")
KLDivergence = _make("KLDivergence", kl_divergence, "kl_divergence")
Poisson = _make("Poisson", poisson, "poisson")
CosineSimilarity = _make("CosineSimilarity", cosine_similarity, "cosine_similarity", hidden=("axis",), axis=-1)
Hinge = _make("Hinge", hinge, "hinge")
SquaredHinge = _make("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _make("CategoricalHinge", categorical_hinge, "categorical_hinge")


def _snake(name: str) -> str:
    import re

    return re.sub("([a-z0-9])([A-Z])", r"\1_\2", re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)).lower()


# ------------------------------------------------------------------------------------------ registry
_CLASSES = [CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy, BinaryFocalCrossentropy,
            CategoricalFocalCrossentropy, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
            MeanSquaredLogarithmicError, Huber, LogCosh, KLDivergence, Poisson, CosineSimilarity, Hinge, SquaredHinge,
            CategoricalHinge]
_FUNCTIONS = [categorical_crossentropy, sparse_categorical_crossentropy, binary_crossentropy, binary_focal_crossentropy,
              categorical_focal_crossentropy, mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, huber, log_cosh, kl_divergence, poisson, cosine_similarity, hinge,
              squared_hinge, categorical_hinge]
ALL_OBJECTS: dict[str, Any] = {c.__name__: c for c in _CLASSES}
ALL_OBJECTS.update({"Loss": Loss, "LossFunctionWrapper": LossFunctionWrapper})
ALL_OBJECTS.update({f.__name__: f for f in _FUNCTIONS})
for _alias, _fn in {"mse": mean_squared_error, "mae": mean_absolute_error, "mape": mean_absolute_percentage_error,
                    "msle": mean_squared_logarithmic_error, "kld": kl_divergence, "bce": binary_crossentropy}.items():
    ALL_OBJECTS[_alias] = ALL_OBJECTS[_alias.upper()] = _fn  # Keras maps both spellings to the function
mse, mae, mape, msle, kld, bce = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
                                  mean_squared_logarithmic_error, kl_divergence, binary_crossentropy)
MSE, MAE, MAPE, MSLE, KLD, BCE = mse, mae, mape, msle, kld, bce


# Names from Keras 2, PyTorch and elsewhere that Keras 3's ``losses.get`` refuses: for "did you mean" only.
_FOREIGN_NAMES = {
    "logcosh": "log_cosh", "huber_loss": "huber", "kullback_leibler_divergence": "kl_divergence",
    "kl_div": "kl_divergence", "kldivloss": "kl_divergence", "cross_entropy": "categorical_crossentropy",
    "crossentropyloss": "sparse_categorical_crossentropy", "nll": "sparse_categorical_crossentropy",
    "nllloss": "sparse_categorical_crossentropy", "l2": "mean_squared_error", "mseloss": "mean_squared_error",
    "l1": "mean_absolute_error", "l1loss": "mean_absolute_error", "bceloss": "binary_crossentropy",
    "bcewithlogitsloss": "binary_crossentropy", "smoothl1loss": "huber", "huberloss": "huber",
    "cosine_proximity": "cosine_similarity", "poissonnllloss": "poisson",
}


def _suggest(identifier: Any) -> str | None:
    if not isinstance(identifier, str):
        return None
    low = identifier.strip().lower()
    squashed = low.replace("_", "").replace("-", "").replace(" ", "")
    snake_first = sorted(ALL_OBJECTS, key=lambda k: (k[0].isupper() == (identifier == low), k))
    for key in snake_first:  # a lowercase id suggests a function, a CamelCase one a class
        if key.lower() == low or key.lower().replace("_", "") == squashed:
            return key
    if low in _FOREIGN_NAMES or squashed in _FOREIGN_NAMES:
        return _FOREIGN_NAMES.get(low) or _FOREIGN_NAMES[squashed]
    close = difflib.get_close_matches(low, [k for k in ALL_OBJECTS if k[0].islower()], n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(identifier, [k for k in ALL_OBJECTS if k[0].isupper()], n=1, cutoff=0.6)
    return close[0] if close else None


def _unknown(identifier: Any) -> ValueError:
    hint = _suggest(identifier)
    did = f" Did you mean '{hint}'?" if hint else ""
    names = sorted(k for k in ALL_OBJECTS if k[0].islower())
    classes = sorted(k for k in ALL_OBJECTS if k[0].isupper() and k not in ("Loss", "LossFunctionWrapper")
                     and k.upper() != k)
    return ValueError(
        f"Could not interpret loss identifier: {identifier}.{did} Valid names: {', '.join(names)}; "
        f"classes: {', '.join(classes)}. Or pass a Loss instance, a function fn(y_true, y_pred) returning "
        "per-sample losses, or a function registered with @initium.saving.register_keras_serializable()."
    )


def get(identifier: Any) -> Any:
    """A loss from a string id (``'mse'``, ``'CategoricalCrossentropy'``, ...), a config dict, a
    ``Loss``, or a callable ``fn(y_true, y_pred)``; ``None`` gives ``None``."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        obj = ALL_OBJECTS.get(identifier)
        if obj is None:
            obj = registry.get_registered_object(identifier)
        if obj is None:
            raise _unknown(identifier)
        return obj() if isinstance(obj, type) else obj
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise _unknown(identifier)


def serialize(loss: Any) -> Any:
    """Keras's dict form for a ``Loss``; a built-in function serializes to its name."""
    if isinstance(loss, Loss):
        cls = type(loss)
        builtin = ALL_OBJECTS.get(cls.__name__) is cls
        return {"module": "keras.losses" if builtin else cls.__module__, "class_name": cls.__name__,
                "config": loss.get_config(),
                "registered_name": None if builtin else registry.get_registered_name(cls)}
    if callable(loss) and ALL_OBJECTS.get(getattr(loss, "__name__", None)) is loss:
        return loss.__name__
    if callable(loss):
        name = registry.get_registered_name(loss)
        if name:
            return name
        raise ValueError(f"Cannot serialize the loss {loss!r}: register it with "
                         "@initium.saving.register_keras_serializable() (files never carry code).")
    raise TypeError(f"serialize expects a Loss or a loss function. Received: {loss!r}")


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Inverse of ``serialize``: only built-in or registered losses (nothing is imported)."""
    if isinstance(config, str):
        if custom_objects and config in custom_objects:
            return custom_objects[config]
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"A loss config must be a string or a dict with 'class_name'. Received: {config!r}")
    name = config["class_name"]
    if name == "__lambda__":
        raise ValueError("Refusing to deserialize a Python lambda as a loss: files never carry code.")
    if name in ("function", "builtin_function_or_method"):  # Keras's form for a named function
        inner = config.get("config")
        fn = None
        if isinstance(inner, str):
            fn = (custom_objects or {}).get(inner) or registry.get_registered_object(inner, custom_objects) \
                or ALL_OBJECTS.get(inner)
            if fn is None and ">" in inner:
                fn = registry.get_registered_object(inner.split(">", 1)[1], custom_objects)
        if fn is None or isinstance(fn, type):
            raise _unknown(inner)
        return fn
    registered = config.get("registered_name")
    cls = None
    if registered:
        cls = registry.get_registered_object(registered, custom_objects)
    if cls is None:
        cls = registry.get_registered_object(name, custom_objects) or (custom_objects or {}).get(name) \
            or ALL_OBJECTS.get(name)
    if cls is None:
        raise _unknown(name)
    if isinstance(cls, type):
        return cls.from_config(dict(config.get("config") or {}))
    return cls
