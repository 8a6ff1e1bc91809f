"""Output-layer bias from the label distribution: ``bias_from_priors(y)``.

An untrained network whose last kernel is small outputs about its bias. Setting that bias so the
output *is* the base rate removes the first phase of training in which the network only learns
the base rate (Karpathy's "init well"; the TensorFlow imbalanced-data tutorial; Lin et al. 2017):

- sigmoid outputs: ``b = log(p / (1 - p))``; the initial binary cross-entropy is then the label
  entropy ``H(p) = -p ln p - (1 - p) ln(1 - p)`` (0.01317 at p = 0.0018) instead of ln 2 = 0.6931;
- softmax outputs: ``b_k = log p_k``; the initial categorical cross-entropy is the entropy of the
  class distribution (ln k for balanced classes);
- linear outputs (regression): ``b = mean(y)``; the initial squared error is the variance of y.

``initium.initializers.PriorBias(y)`` is the same vector as an initializer for
``Dense(..., bias_initializer=...)``. See docs/bias_study_protocol.md §4.5.
"""

from __future__ import annotations

import difflib
import math
import numbers
from typing import Any

import numpy as np

__all__ = ["bias_from_priors"]

_KINDS = ("sigmoid", "softmax", "linear")
_ALIASES = {  # other names for the same thing, for "did you mean" only
    "logistic": "sigmoid", "binary": "sigmoid", "multilabel": "sigmoid", "multi_label": "sigmoid",
    "categorical": "softmax", "multiclass": "softmax", "multi_class": "softmax", "sparse": "softmax",
    "regression": "linear", "mean": "linear", "identity": "linear", "none": "linear",
}
_SUM_TOL = 1e-6


def bias_from_priors(y: Any = None, priors: Any = None, kind: str = "auto", smoothing: float = 0.0) -> np.ndarray:
    """The output-layer bias that makes an untrained model predict the label distribution.

    Args:
        y: labels or targets: binary 0/1 labels ``(n,)``/``(n, 1)``, multi-label 0/1 ``(n, k)``,
            integer class labels ``(n,)``, one-hot or probability rows ``(n, k)``, or regression
            targets. A numpy array, a torch tensor or a list.
        priors: the probabilities instead of ``y``: a scalar p (sigmoid), a vector of
            independent positive rates (``kind="sigmoid"``), or a vector summing to 1 (softmax).
        kind: ``"sigmoid"`` (``log(p / (1 - p))`` per output), ``"softmax"`` (``log p_k`` per
            class), ``"linear"`` (mean per output) or ``"auto"``:
            float ``y`` with values other than 0/1 -> linear; 0/1 ``(n,)`` or ``(n, 1)`` ->
            sigmoid; integer labels with more than 2 classes -> softmax; 0/1 ``(n, k)`` rows that
            are all one-hot -> softmax, otherwise sigmoid (multi-label). Soft-label rows (floats
            summing to 1) need ``kind="softmax"``. With ``priors``: a scalar -> sigmoid, a vector
            summing to 1 -> softmax.
        smoothing: additive (Laplace) smoothing: ``p = (count + s) / (n + K s)`` with K = 2 for a
            sigmoid output and the number of classes for softmax. Use it when a class is absent.

    Returns:
        A float64 numpy vector, one entry per output unit (length 1 for a single sigmoid or
        regression output).

    >>> bias_from_priors(priors=0.01)     # RetinaNet's pi = 0.01
    array([-4.59511985])
    >>> bias_from_priors([0, 1, 2, 2])     # log([0.25, 0.25, 0.5])
    array([-1.38629436, -1.38629436, -0.69314718])
    """
    bias, _ = _bias_and_kind(y, priors, kind, smoothing, owner="bias_from_priors")
    return bias


# --------------------------------------------------------------------------------------------- checks
def _check_kind(kind: Any, allowed: tuple[str, ...], owner: str = "bias_from_priors") -> str:
    if not isinstance(kind, str):
        raise TypeError(
            f"{owner}: `kind` must be a string, one of {list(allowed)}. Received: kind={kind!r} "
            f"(of type {type(kind).__name__})"
        )
    low = kind.lower()
    if low in allowed:
        return low
    hint = _ALIASES.get(low.replace("-", "_"))
    if hint is None:
        close = difflib.get_close_matches(low, list(allowed), n=1, cutoff=0.6)
        hint = close[0] if close else None
    did = f" Did you mean '{hint}'?" if hint else ""
    raise ValueError(f"{owner}: unknown `kind`: {kind!r}.{did} Expected one of {list(allowed)}.")


def _check_smoothing(smoothing: Any, owner: str) -> float:
    if isinstance(smoothing, bool) or not isinstance(smoothing, numbers.Real):
        raise TypeError(
            f"{owner}: `smoothing` must be a non-negative number (additive/Laplace smoothing of the class "
            f"counts). Received: smoothing={smoothing!r} (of type {type(smoothing).__name__})"
        )
    if not math.isfinite(smoothing) or smoothing < 0:
        raise ValueError(f"{owner}: `smoothing` must be a finite number >= 0. Received: smoothing={smoothing!r}")
    return float(smoothing)


def _as_array(x: Any, arg: str, owner: str) -> np.ndarray:
    try:
        import torch

        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    try:
        arr = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"{owner}: `{arg}` must be an array of numbers. Received: {arg}={_brief(x)} ({e})") from e
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{owner}: `{arg}` must be an array of numbers (labels or targets). Received: {arg}={_brief(x)} "
            f"of dtype {arr.dtype}"
        )
    if arr.size == 0:
        raise ValueError(f"{owner}: `{arg}` is empty (shape {arr.shape}); there is nothing to take priors from.")
    if arr.dtype.kind == "f":
        bad = int((~np.isfinite(arr)).sum())
        if bad:
            raise ValueError(
                f"{owner}: `{arg}` has {bad} non-finite value(s) (nan or inf) out of {arr.size}. Remove or "
                "impute them first."
            )
    return arr


def _brief(x: Any) -> str:
    shape = getattr(x, "shape", None)
    if shape is not None:
        return f"<{type(x).__name__} of shape {tuple(shape)}>"
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_binary(a: np.ndarray) -> bool:
    return bool(np.isin(a, (0, 1)).all())


def _integral(a: np.ndarray) -> bool:
    return a.dtype.kind in "biu" or bool((a == np.round(a)).all())


# --------------------------------------------------------------------------------------------- math
def _logit(p: np.ndarray, owner: str, source: str) -> np.ndarray:
    for j, pj in enumerate(p):
        if pj <= 0.0 or pj >= 1.0:
            which = "no positive" if pj <= 0.0 else "only positive"
            raise ValueError(
                f"{owner}: output {j} has {which} labels in {source} (p={pj:g}), so its sigmoid bias "
                f"log(p / (1 - p)) would be {'-inf' if pj <= 0 else 'inf'}. Pass smoothing= (additive, "
                "Laplace; e.g. smoothing=1) or priors= with 0 < p < 1."
            )
    return np.log(p) - np.log1p(-p)


def _log_classes(p: np.ndarray, owner: str, source: str, hint: str) -> np.ndarray:
    zero = [int(i) for i in np.flatnonzero(p <= 0.0)]
    if zero:
        shown = ", ".join(str(i) for i in zero[:10]) + (", ..." if len(zero) > 10 else "")
        raise ValueError(
            f"{owner}: class {shown} has zero frequency in {source}, so its softmax bias log(p) would be "
            f"-inf. {hint}"
        )
    return np.log(p)


def _bias_and_kind(y: Any, priors: Any, kind: str, smoothing: Any, owner: str) -> tuple[np.ndarray, str]:
    kind = _check_kind(kind, _KINDS + ("auto",), owner)
    s = _check_smoothing(smoothing, owner)
    if y is None and priors is None:
        raise ValueError(f"{owner}: pass the labels as `y=` or the probabilities as `priors=`. Received neither.")
    if y is not None and priors is not None:
        raise ValueError(
            f"{owner}: pass `y=` or `priors=`, not both. Received: y={_brief(y)}, priors={_brief(priors)}"
        )
    if priors is not None:
        return _from_priors(priors, kind, s, owner)
    return _from_labels(y, kind, s, owner)


def _from_priors(priors: Any, kind: str, s: float, owner: str) -> tuple[np.ndarray, str]:
    p = _as_array(priors, "priors", owner).astype(np.float64)
    if s:
        raise ValueError(
            f"{owner}: `smoothing` applies to counts taken from `y`; with `priors=` give the smoothed "
            f"probabilities themselves. Received: smoothing={s}"
        )
    if p.ndim > 1:
        raise ValueError(f"{owner}: `priors` must be a scalar or a 1-D vector. Received shape {p.shape}.")
    if (p < 0).any():
        raise ValueError(
            f"{owner}: `priors` must be probabilities (>= 0). Received: priors={p.tolist()} with negative "
            f"entries at {np.flatnonzero(p < 0).tolist()}"
        )
    if (p > 1).any():
        raise ValueError(f"{owner}: `priors` must be probabilities (<= 1). Received: priors={p.tolist()}")
    total = float(p.sum())
    if kind == "linear":
        raise ValueError(
            f"{owner}: `priors=` are probabilities and do not define a regression bias (kind='linear'). Pass "
            "y= (the bias is the mean of y) or use kind='sigmoid' / 'softmax'."
        )
    if kind == "auto":
        if p.ndim == 0 or p.size == 1:
            kind = "sigmoid"
        elif abs(total - 1.0) <= _SUM_TOL:
            kind = "softmax"
        else:
            raise ValueError(
                f"{owner}: `priors` must sum to 1 for a softmax output (within {_SUM_TOL:g}). Received: "
                f"priors={p.tolist()} summing to {total:.9g}. For independent sigmoid outputs (multi-label) "
                "pass kind='sigmoid'."
            )
    if kind == "sigmoid":
        return _logit(p.reshape(-1), owner, "priors"), "sigmoid"
    if p.ndim == 0 or p.size < 2:
        raise ValueError(
            f"{owner}: softmax priors need one probability per class (at least 2). Received: priors={p.tolist()}"
        )
    if abs(total - 1.0) > _SUM_TOL:
        raise ValueError(
            f"{owner}: `priors` must sum to 1 for a softmax output (within {_SUM_TOL:g}). Received: "
            f"priors={p.tolist()} summing to {total:.9g}."
        )
    return _log_classes(p / total, owner, "priors",
                        "Give every class a positive prior, or drop the class from the output layer."), "softmax"


def _auto_kind(a: np.ndarray, owner: str) -> str:
    column = a.ndim == 1 or a.shape[1] == 1
    if a.dtype.kind == "b" or _is_binary(a):
        if column:
            return "sigmoid"
        return "softmax" if bool((a.sum(axis=1) == 1).all()) else "sigmoid"
    if a.dtype.kind == "f":
        return "linear"
    # integers with values other than 0/1
    if column and (a >= 0).all():
        return "softmax"
    raise ValueError(
        f"{owner}: cannot tell from integer y of shape {a.shape} (values {a.min()}..{a.max()}) whether these "
        "are class labels or regression targets. Pass kind='softmax' (labels 0..K-1) or kind='linear'."
    )


def _from_labels(y: Any, kind: str, s: float, owner: str) -> tuple[np.ndarray, str]:
    a = _as_array(y, "y", owner)
    if a.ndim == 0 or a.ndim > 2:
        raise ValueError(
            f"{owner}: `y` must have shape (n,) or (n, k) (one row per example). Received shape {a.shape}."
        )
    if kind == "auto":
        kind = _auto_kind(a, owner)
    n = a.shape[0]
    if kind == "linear":
        if s:
            raise ValueError(
                f"{owner}: `smoothing` applies to class counts; it has no meaning for kind='linear' "
                f"(the bias is the mean of y). Received: smoothing={s}"
            )
        a = a.astype(np.float64)
        return (a.reshape(n, -1).mean(axis=0)), "linear"
    if kind == "sigmoid":
        if not (a.dtype.kind == "b" or _is_binary(a)):
            bad = np.unique(a[~np.isin(a, (0, 1))])[:5].tolist()
            raise ValueError(
                f"{owner}: kind='sigmoid' needs 0/1 labels (one column per sigmoid output). Received y with "
                f"other values, e.g. {bad}. For class labels use kind='softmax', for targets kind='linear'."
            )
        a = a.astype(np.float64).reshape(n, -1)
        p = (a.sum(axis=0) + s) / (n + 2 * s)
        return _logit(p, owner, "y"), "sigmoid"
    # softmax
    hint = ("Pass smoothing= (additive, Laplace; e.g. smoothing=1) or priors=, or drop the class from the "
            "output layer.")
    if a.ndim == 1 or a.shape[1] == 1:
        labels = a.reshape(-1)
        if not _integral(labels) or (labels < 0).any():
            bad = np.unique(labels[(labels < 0) | (labels != np.round(labels))])[:5].tolist()
            raise ValueError(
                f"{owner}: kind='softmax' with 1-D y needs integer class labels 0..K-1. Received values such "
                f"as {bad}. One-hot or probability rows must have shape (n, K)."
            )
        labels = labels.astype(np.int64)
        counts = np.bincount(labels, minlength=int(labels.max()) + 1).astype(np.float64)
    else:
        rows = a.astype(np.float64)
        if (rows < 0).any():
            raise ValueError(
                f"{owner}: kind='softmax' with y of shape {a.shape} needs one-hot or probability rows "
                "(>= 0, each summing to 1). Received negative entries."
            )
        sums = rows.sum(axis=1)
        off = np.flatnonzero(np.abs(sums - 1.0) > _SUM_TOL)
        if off.size:
            raise ValueError(
                f"{owner}: kind='softmax' with y of shape {a.shape} needs one-hot or probability rows each "
                f"summing to 1 (within {_SUM_TOL:g}). Row {int(off[0])} sums to {sums[off[0]]:.9g} "
                f"({off.size} rows do not). For multi-label 0/1 targets use kind='sigmoid'."
            )
        counts = rows.sum(axis=0)
    k = counts.size
    p = (counts + s) / (counts.sum() + k * s)
    return _log_classes(p, owner, "y", hint), "softmax"
