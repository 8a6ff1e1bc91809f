"""initium.metrics against real Keras 3.15.1 (the oracle): values, configs, string ids, errors.

Parity: every metric is fed the same batches (several update_state calls, with and without
sample_weight) and must equal Keras's result to 1e-6. Predictions deliberately include values
that sit exactly on thresholds (0, 1, 0.5, i/(T-1)), where the bucketing is easiest to get wrong.
"""

from __future__ import annotations

import math
import warnings
import zlib

import keras
import numpy as np
import pytest
import torch
from keras.src import metrics as keras_metrics_src
from keras.src.trainers import compile_utils
from torch.overrides import TorchFunctionMode

from initium import backend, saving
from initium import metrics as im

N = 32  # samples per batch
BATCHES = 3
C = 5  # classes


# ---------------------------------------------------------------------------------------------
# Data.


def _grid_values(rng: np.random.Generator, shape: tuple, p: np.ndarray) -> np.ndarray:
    """Put exact threshold values (0, 1, 0.5, i/199, i/49, i/2) into ~20% of the entries."""
    special = np.concatenate([[0.0, 1.0, 0.5, 0.1, 0.3, 0.77], np.arange(200) / 199, np.arange(50) / 49])
    pick = rng.random(shape) < 0.2
    p = p.copy()
    p[pick] = rng.choice(special, size=int(pick.sum())).astype(np.float32)
    return p.astype(np.float32)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def make_batch(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y_true, y_pred, per-sample weight) for one batch of the given kind."""
    sw = rng.uniform(0.0, 2.0, N).astype(np.float32)
    sw[rng.random(N) < 0.1] = 0.0
    if kind == "bin":
        y = rng.integers(0, 2, N).astype(np.float32)
        p = _grid_values(rng, (N,), rng.random(N).astype(np.float32))
    elif kind == "bin_col":
        y = rng.integers(0, 2, (N, 1)).astype(np.float32)
        p = _grid_values(rng, (N, 1), rng.random((N, 1)).astype(np.float32))
    elif kind == "bin_flat_y":  # labels (N,), predictions (N, 1): the common binary-model case
        y = rng.integers(0, 2, N).astype(np.float32)
        p = _grid_values(rng, (N, 1), rng.random((N, 1)).astype(np.float32))
    elif kind == "logits":
        y = rng.integers(0, 2, (N, 1)).astype(np.float32)
        p = rng.normal(0, 2, (N, 1)).astype(np.float32)
    elif kind in ("cat", "cat_ties"):
        y = np.eye(C, dtype=np.float32)[rng.integers(0, C, N)]
        p = _softmax(rng.normal(0, 1.5, (N, C)))
        if kind == "cat_ties":  # rows with tied maxima, and all-zero rows
            p[:4] = np.float32(0.25)
            p[4:6] = 0.0
            p[6:10, :2] = p[6:10].max(-1, keepdims=True)
    elif kind == "sparse":
        y = rng.integers(0, C, N).astype(np.int64)
        p = _softmax(rng.normal(0, 1.5, (N, C)))
    elif kind == "sparse_col":
        y = rng.integers(0, C, (N, 1)).astype(np.int64)
        p = _softmax(rng.normal(0, 1.5, (N, C)))
    elif kind == "labels":  # predicted class ids against true ids (for Accuracy)
        y = rng.integers(0, C, (N, 1)).astype(np.float32)
        p = np.where(rng.random((N, 1)) < 0.6, y, rng.integers(0, C, (N, 1))).astype(np.float32)[:, 0]
    elif kind == "sorted_ids":
        y = rng.integers(0, C, N).astype(np.int64)
        p = np.argsort(-rng.random((N, C)), axis=-1).astype(np.float32)
    elif kind == "multilabel":
        y = rng.integers(0, 2, (N, 4)).astype(np.float32)
        p = _grid_values(rng, (N, 4), rng.random((N, 4)).astype(np.float32))
    elif kind == "reg":
        y = rng.normal(0, 1, (N, 3)).astype(np.float32)
        p = (y + rng.normal(0, 0.5, (N, 3))).astype(np.float32)
    elif kind == "reg_pos":
        y = rng.uniform(0.01, 1, (N, 3)).astype(np.float32)
        p = rng.uniform(0.01, 1, (N, 3)).astype(np.float32)
    elif kind == "dist":  # probability distributions
        y = _softmax(rng.normal(0, 1, (N, C)))
        p = _softmax(rng.normal(0, 1, (N, C)))
    elif kind == "hinge_pm":
        y = rng.choice([-1.0, 1.0], (N, 3)).astype(np.float32)
        p = rng.normal(0, 1, (N, 3)).astype(np.float32)
    elif kind == "hinge_01":
        y = rng.integers(0, 2, (N, 3)).astype(np.float32)
        p = rng.normal(0, 1, (N, 3)).astype(np.float32)
    elif kind == "seg":  # class ids, some out of range
        y = rng.integers(-1, 4, (N, 6)).astype(np.int32)
        p = rng.integers(0, 4, (N, 6)).astype(np.int32)
        sw = rng.integers(0, 3, (N, 6)).astype(np.int32)
    elif kind == "seg_onehot":
        y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, N)]
        p = rng.random((N, 3)).astype(np.float32)
        sw = rng.integers(0, 3, N).astype(np.int32)
    elif kind == "binseg":
        y = rng.integers(0, 2, (N, 6)).astype(np.int32)
        p = _grid_values(rng, (N, 6), rng.random((N, 6)).astype(np.float32))
        sw = rng.integers(0, 3, (N, 6)).astype(np.int32)
    elif kind == "values":
        y = rng.normal(0, 1, (N, 3)).astype(np.float32)  # the values; y_pred unused
        p = y
    else:
        raise AssertionError(kind)
    return y, p, sw


def batches(kind: str, seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [make_batch(kind, rng) for _ in range(BATCHES)]


def keras_value(x: object) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def run_both(cls_name: str, kwargs: dict, kind: str, weighted: bool, seed: int = 0,
             sw_shape: str = "row") -> tuple[np.ndarray, np.ndarray, im.Metric]:
    k = getattr(keras.metrics, cls_name)(**kwargs)
    m = getattr(im, cls_name)(**kwargs)
    for y, p, sw in batches(kind, seed):
        if sw_shape == "col":
            sw = sw[:, None]
        elif sw_shape == "scalar":
            sw = np.float32(1.5)
        elif sw_shape == "python":
            sw = 3  # a Python number: initium uses it without a host-to-device copy
        w = sw if weighted else None
        if kind == "values":
            k.update_state(y, sample_weight=w)
            m.update_state(torch.from_numpy(y),
                           sample_weight=None if w is None else w if isinstance(w, int) else torch.as_tensor(w))
        else:
            k.update_state(y, p, sample_weight=w)
            m.update_state(torch.from_numpy(y), torch.from_numpy(p),
                           sample_weight=None if w is None else w if isinstance(w, int) else torch.as_tensor(w))
    with warnings.catch_warnings():  # Keras's R2Score warns when it falls back from the adjusted score
        warnings.simplefilter("ignore", UserWarning)
        want = keras_value(k.result())
    return want, m.result().detach().numpy().astype(np.float64), m


# (class, kwargs, data kind). Every case runs with and without sample_weight.
CASES = [
    ("Mean", {}, "values"),
    ("Sum", {}, "values"),
    ("Accuracy", {}, "labels"),
    ("Accuracy", {}, "bin"),
    ("BinaryAccuracy", {}, "bin"),
    ("BinaryAccuracy", {}, "bin_col"),
    ("BinaryAccuracy", {}, "bin_flat_y"),
    ("BinaryAccuracy", {"threshold": 0.7}, "bin"),
    ("CategoricalAccuracy", {}, "cat"),
    ("CategoricalAccuracy", {}, "cat_ties"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse_col"),
    ("TopKCategoricalAccuracy", {}, "cat"),
    ("TopKCategoricalAccuracy", {"k": 2}, "cat"),
    ("TopKCategoricalAccuracy", {"k": 2}, "cat_ties"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse_col"),
    ("SparseTopKCategoricalAccuracy", {"k": 2, "from_sorted_ids": True}, "sorted_ids"),
    # AUC: ROC and PR, several num_thresholds, every summation method, explicit thresholds.
    ("AUC", {}, "bin"),
    ("AUC", {"curve": "PR"}, "bin"),
    ("AUC", {"num_thresholds": 50}, "bin"),
    ("AUC", {"num_thresholds": 50, "curve": "PR"}, "bin"),
    ("AUC", {"num_thresholds": 3}, "bin"),
    ("AUC", {"num_thresholds": 3, "curve": "PR"}, "bin"),
    ("AUC", {"num_thresholds": 1000}, "bin_col"),
    ("AUC", {"summation_method": "minoring"}, "bin"),
    ("AUC", {"summation_method": "majoring", "curve": "PR"}, "bin"),
    ("AUC", {"curve": "PRGAIN", "num_thresholds": 20}, "bin"),
    ("AUC", {"thresholds": [0.3, 0.1, 0.77, 0.5]}, "bin"),
    ("AUC", {"thresholds": [0.3, 0.1, 0.77, 0.5], "curve": "PR"}, "bin"),
    ("AUC", {"thresholds": [0.25, 0.5, 0.75]}, "bin"),  # evenly spaced: Keras's optimized path
    ("AUC", {"from_logits": True}, "logits"),
    ("AUC", {}, "multilabel"),  # flattened
    ("AUC", {"label_weights": [0.5, 1.0, 2.0, 0.0]}, "multilabel"),
    ("AUC", {"multi_label": True}, "multilabel"),
    ("AUC", {"multi_label": True, "num_labels": 4, "curve": "PR", "num_thresholds": 30}, "multilabel"),
    ("AUC", {"multi_label": True, "label_weights": [0.5, 1.0, 2.0, 0.0]}, "multilabel"),
    ("AUC", {"multi_label": True, "thresholds": [0.2, 0.6, 0.9]}, "multilabel"),
    ("AUC", {}, "bin_flat_y"),
    # Precision / Recall: thresholds, top_k, class_id.
    ("Precision", {}, "bin"),
    ("Precision", {"thresholds": [0.3, 0.1, 0.77, 0.5]}, "bin"),
    ("Precision", {"thresholds": [0.0, 0.5, 1.0]}, "bin"),  # evenly spaced, no epsilon
    ("Precision", {"thresholds": 0.0}, "bin"),
    ("Precision", {"top_k": 2}, "multilabel"),
    ("Precision", {"class_id": 2}, "multilabel"),
    ("Precision", {"top_k": 2, "class_id": 1}, "multilabel"),
    ("Precision", {"top_k": 1, "thresholds": [0.3, 0.6]}, "multilabel"),
    ("Recall", {}, "bin"),
    ("Recall", {}, "bin_flat_y"),
    ("Recall", {"thresholds": [0.9, 0.2, 0.5]}, "bin"),
    ("Recall", {"top_k": 2}, "multilabel"),
    ("Recall", {"class_id": 3}, "multilabel"),
    ("Recall", {"top_k": 3, "class_id": 0}, "multilabel"),
    ("TruePositives", {}, "bin"),
    ("FalsePositives", {"thresholds": [0.2, 0.5]}, "bin"),
    ("TrueNegatives", {}, "multilabel"),
    ("FalseNegatives", {"thresholds": [0.0, 0.5, 1.0]}, "bin"),
    ("SensitivityAtSpecificity", {"specificity": 0.5}, "bin"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.4, "num_thresholds": 20}, "bin"),
    ("PrecisionAtRecall", {"recall": 0.6}, "bin"),
    ("RecallAtPrecision", {"precision": 0.5, "num_thresholds": 1}, "bin"),
    ("RecallAtPrecision", {"precision": 0.5, "class_id": 1}, "multilabel"),
    # F-scores.
    ("F1Score", {}, "cat"),
    ("F1Score", {"average": "micro"}, "cat"),
    ("F1Score", {"average": "macro"}, "cat"),
    ("F1Score", {"average": "weighted"}, "cat"),
    ("F1Score", {}, "cat_ties"),
    ("F1Score", {"average": "macro", "threshold": 0.4}, "multilabel"),
    ("F1Score", {"average": "weighted", "threshold": 0.5}, "multilabel"),
    ("F1Score", {"average": "micro", "threshold": 0.5}, "multilabel"),
    ("FBetaScore", {"beta": 2.0, "average": "macro"}, "cat"),
    ("FBetaScore", {"beta": 0.5, "threshold": 0.3}, "multilabel"),
    # Regression.
    ("MeanSquaredError", {}, "reg"),
    ("MeanAbsoluteError", {}, "reg"),
    ("RootMeanSquaredError", {}, "reg"),
    ("MeanAbsolutePercentageError", {}, "reg"),
    ("MeanSquaredLogarithmicError", {}, "reg_pos"),
    ("CosineSimilarity", {}, "reg"),
    ("LogCoshError", {}, "reg"),
    ("R2Score", {}, "reg"),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "reg"),
    ("R2Score", {"class_aggregation": None}, "reg"),
    ("R2Score", {"num_regressors": 2}, "reg"),
    ("R2Score", {"num_regressors": 500}, "reg"),  # more regressors than samples: plain R2
    # Probabilistic and hinge.
    ("BinaryCrossentropy", {}, "bin_col"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "logits"),
    ("CategoricalCrossentropy", {}, "cat"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "reg"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse_col"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1}, "sparse"),
    ("KLDivergence", {}, "dist"),
    ("Poisson", {}, "reg_pos"),
    ("Hinge", {}, "hinge_pm"),
    ("Hinge", {}, "hinge_01"),
    ("SquaredHinge", {}, "hinge_01"),
    ("CategoricalHinge", {}, "cat"),
    ("PearsonCorrelation", {}, "reg"),
    ("ConcordanceCorrelation", {}, "reg"),
    # IoU.
    ("MeanIoU", {"num_classes": 4}, "seg"),
    ("IoU", {"num_classes": 4, "target_class_ids": [0, 2]}, "seg"),
    ("IoU", {"num_classes": 4, "target_class_ids": [1, 3], "ignore_class": 0}, "seg"),
    ("BinaryIoU", {}, "binseg"),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, "binseg"),
    ("OneHotIoU", {"num_classes": 3, "target_class_ids": [0, 1]}, "seg_onehot"),
    ("OneHotMeanIoU", {"num_classes": 3}, "seg_onehot"),
]


def _case_id(case: tuple) -> str:
    cls, kwargs, kind = case
    args = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{cls}({args})-{kind}"


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_parity_with_keras(case: tuple, weighted: bool) -> None:
    cls, kwargs, kind = case
    want, got, m = run_both(cls, kwargs, kind, weighted, seed=zlib.crc32(f"{cls}{kind}".encode()) % 1000)
    assert got.shape == want.shape
    assert np.all(np.isfinite(got) == np.isfinite(want))
    # 1e-6, relative to the vector's scale: raw weighted counts (TruePositives, ...) of ~50 have a
    # float32 resolution of ~4e-6, so a near-zero entry next to them carries that much rounding noise
    # in Keras itself (it computes fn as total - tp).
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * max(1.0, float(np.abs(want).max(initial=0))))
    assert m.result().dtype == torch.float32


@pytest.mark.parametrize("cls,kwargs,kind", [
    ("Mean", {}, "values"),
    ("MeanSquaredError", {}, "reg"),
    ("Precision", {"thresholds": [0.2, 0.6]}, "multilabel"),
    ("AUC", {}, "multilabel"),
    ("BinaryAccuracy", {}, "bin_col"),
])
@pytest.mark.parametrize("sw_shape", ["col", "scalar", "python"])
def test_parity_sample_weight_shapes(cls: str, kwargs: dict, kind: str, sw_shape: str) -> None:
    """(N, 1) and scalar weights follow Keras's broadcasting (a scalar adds itself, not N times it, to count)."""
    want, got, _ = run_both(cls, kwargs, kind, True, seed=7, sw_shape=sw_shape)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_loss_tracker_weighted_by_batch_size() -> None:
    """The trainer's loss tracker pattern: Mean().update_state(loss, sample_weight=batch_size)."""
    k, m = keras.metrics.Mean(name="loss"), im.Mean(name="loss")
    with _NoHostSync():
        for loss, bs in ((0.5, 32), (0.25, 32), (1.0, 4)):
            k.update_state(np.float32(loss), sample_weight=bs)
            m.update_state(torch.tensor(loss), sample_weight=bs)
    np.testing.assert_allclose(m.result().numpy(), keras_value(k.result()), atol=1e-7)
    assert float(m.count) == 68.0


def test_mean_metric_wrapper_parity_and_kwargs() -> None:
    k = keras.metrics.MeanMetricWrapper(fn=keras.metrics.binary_accuracy, threshold=0.3)
    m = im.MeanMetricWrapper(fn=im.binary_accuracy, threshold=0.3)
    for y, p, sw in batches("bin", 3):
        k.update_state(y, p, sample_weight=sw)
        m.update_state(torch.from_numpy(y), torch.from_numpy(p), sample_weight=torch.from_numpy(sw))
    np.testing.assert_allclose(m.result().numpy(), keras_value(k.result()), atol=1e-6)
    assert m.name.startswith("mean_metric_wrapper")


def test_numpy_and_list_inputs() -> None:
    m = im.Mean()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert float(m.result()) == 2.0
    m = im.Sum()
    m.update_state(np.array([1.0, 3.0, 5.0, 7.0]))
    assert float(m.result()) == 16.0
    m = im.AUC()
    m.update_state([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9])
    assert float(m.result()) == pytest.approx(0.75)


def test_mask_gives_zero_weight() -> None:
    """A ``_keras_mask`` on y_pred (as initium layers attach) drops masked entries from the mean."""
    y = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    p = torch.tensor([[1.0], [0.0], [3.0], [0.0]])
    p._keras_mask = torch.tensor([True, False, True, False])
    m = im.MeanAbsoluteError()
    m.update_state(y, p)
    assert float(m.result()) == 0.0
    assert float(m.count) == 2.0


# ---------------------------------------------------------------------------------------------
# State: laziness, device, dtype, autograd, reset, no host synchronization.


def test_state_is_lazy_and_on_first_prediction_device() -> None:
    m = im.AUC(num_thresholds=10)
    assert "true_positives" not in m.__dict__  # nothing allocated yet
    y_pred = torch.rand(8)
    m.update_state(torch.ones(8), y_pred)
    assert m.true_positives.device == y_pred.device
    assert [tuple(v.shape) for v in m.variables] == [(10,)] * 4
    fresh = im.Mean()
    assert [v.device for v in fresh.variables] == [backend.default_device()] * 2
    assert float(fresh.result()) == 0.0


def test_multilabel_auc_and_f1_build_from_first_batch() -> None:
    m = im.AUC(multi_label=True)
    assert m.variables == []
    m.update_state(torch.ones(4, 3), torch.rand(4, 3))
    assert tuple(m.true_positives.shape) == (200, 3)
    f = im.F1Score()
    f.update_state(torch.eye(3), torch.rand(3, 3))
    assert tuple(f.true_positives.shape) == (3,)
    assert tuple(im.F1Score(average="micro")(torch.eye(3), torch.rand(3, 3)).shape) == ()


def test_inputs_that_require_grad_do_not_enter_the_graph() -> None:
    w = torch.randn(4, 3, requires_grad=True)
    y_pred = torch.softmax(w, -1)
    for m in (im.Mean(), im.CategoricalAccuracy(), im.AUC(), im.F1Score(), im.MeanSquaredError()):
        if isinstance(m, im.Mean) and not isinstance(m, im.MeanMetricWrapper):
            m.update_state(y_pred.sum(-1))
        else:
            m.update_state(torch.eye(4, 3), y_pred)
        assert not any(v.requires_grad for v in m.variables)
        assert not m.result().requires_grad


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_reset_state_zeroes_in_place(case: tuple) -> None:
    cls, kwargs, kind = case
    m = getattr(im, cls)(**kwargs)
    data = batches(kind, 1)

    def feed(y: np.ndarray, p: np.ndarray, sw: np.ndarray) -> None:
        if kind == "values":
            m.update_state(torch.from_numpy(y), sample_weight=torch.from_numpy(sw))
        else:
            m.update_state(torch.from_numpy(y), torch.from_numpy(p), sample_weight=torch.from_numpy(sw))

    for b in data[:2]:
        feed(*b)
    ptrs = [v.data_ptr() for v in m.variables]
    m.reset_state()
    assert all(float(v.abs().sum()) == 0 for v in m.variables)
    assert [v.data_ptr() for v in m.variables] == ptrs  # zeroed in place, not reallocated
    feed(*data[2])
    fresh = getattr(im, cls)(**kwargs)
    if kind == "values":
        fresh.update_state(torch.from_numpy(data[2][0]), sample_weight=torch.from_numpy(data[2][2]))
    else:
        fresh.update_state(*(torch.from_numpy(x) for x in data[2][:2]), sample_weight=torch.from_numpy(data[2][2]))
    torch.testing.assert_close(m.result(), fresh.result(), equal_nan=True)


class _NoHostSync(TorchFunctionMode):
    """Fails on anything that would synchronize with a device or needs data-dependent shapes."""

    FORBIDDEN = {
        torch.Tensor.item, torch.Tensor.__bool__, torch.Tensor.__float__, torch.Tensor.__int__,
        torch.Tensor.tolist, torch.Tensor.cpu, torch.Tensor.numpy, torch.nonzero, torch.Tensor.nonzero,
        torch.masked_select, torch.Tensor.masked_select, torch.unique, torch.Tensor.unique,
        torch.bincount, torch.Tensor.bincount,
    }

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if func in self.FORBIDDEN:
            raise AssertionError(f"host synchronization on the per-step path: {func.__name__}")
        if func is torch.Tensor.__getitem__ and isinstance(args[1], torch.Tensor) and args[1].dtype == torch.bool:
            raise AssertionError("boolean-mask indexing (data-dependent shape) on the per-step path")
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_update_state_never_syncs(case: tuple) -> None:
    cls, kwargs, kind = case
    m = getattr(im, cls)(**kwargs)
    data = [tuple(torch.from_numpy(np.asarray(x)) for x in b) for b in batches(kind, 2)]
    with _NoHostSync():
        for y, p, sw in data:
            if kind == "values":
                m.update_state(y, sample_weight=sw)
            else:
                m.update_state(y, p, sample_weight=sw)
                m.update_state(y, p)
        m.result()


# ---------------------------------------------------------------------------------------------
# Configs, serialization and string ids.


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_config_equals_keras_and_round_trips(case: tuple) -> None:
    cls, kwargs, _ = case
    kwargs = {**kwargs, "name": "m"}
    k = getattr(keras.metrics, cls)(**kwargs)
    m = getattr(im, cls)(**kwargs)
    want = keras.metrics.serialize(k)
    got = im.serialize(m)
    if isinstance(want["config"].get("label_weights"), dict):  # Keras writes a tensor there
        want["config"]["label_weights"] = want["config"]["label_weights"]["config"]["value"]
    assert got == want
    again = im.deserialize(got)
    assert type(again) is type(m) and again.get_config() == m.get_config()
    assert type(m).from_config(m.get_config()).get_config() == m.get_config()
    # Keras reads initium's config back to the same metric, and initium reads Keras's.
    assert _plain(keras.metrics.deserialize(got).get_config()) == _plain(k.get_config())
    assert im.deserialize(keras.metrics.serialize(k)).get_config() == m.get_config()


def _plain(config: dict) -> dict:
    """Keras keeps AUC's label_weights as a tensor in get_config(); compare it as a list."""
    return {k: (keras.ops.convert_to_numpy(v).tolist() if hasattr(v, "shape") else v) for k, v in config.items()}


def test_keras_label_weights_tensor_config_is_read() -> None:
    cfg = keras.metrics.serialize(keras.metrics.AUC(multi_label=True, label_weights=[0.3, 0.1], name="a"))
    m = im.deserialize(cfg)
    assert m.get_config()["label_weights"] == pytest.approx([0.3, 0.1])


def test_default_names_match_keras() -> None:
    for cls in ("Mean", "Sum", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
                "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "F1Score", "FBetaScore",
                "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "LogCoshError", "R2Score",
                "BinaryCrossentropy", "KLDivergence", "Hinge", "PearsonCorrelation"):
        assert getattr(im, cls)().name == getattr(keras.metrics, cls)().name, cls
    backend.clear_session()
    for cls, base in (("AUC", "auc"), ("Precision", "precision"), ("Recall", "recall"),
                      ("TruePositives", "true_positives"), ("MeanIoU", "mean_io_u")):
        args = {"num_classes": 2} if cls == "MeanIoU" else {}
        assert getattr(im, cls)(**args).name == base
        assert getattr(im, cls)(**args).name == f"{base}_1"


def test_mean_metric_wrapper_config_names_its_function() -> None:
    m = im.MeanMetricWrapper(fn=im.mean_squared_error, name="w")
    k = keras.metrics.MeanMetricWrapper(fn=keras.metrics.mean_squared_error, name="w")
    assert im.serialize(m) == keras.metrics.serialize(k)
    again = im.deserialize(im.serialize(m))
    assert again._fn is im.mean_squared_error
    m2 = im.MeanMetricWrapper(fn=im.binary_accuracy, name="w", threshold=0.3)
    assert m2.get_config()["threshold"] == 0.3
    assert im.MeanMetricWrapper.from_config(m2.get_config())._fn_kwargs == {"threshold": 0.3}


def test_custom_function_needs_registration() -> None:
    def my_metric(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return (y_true - y_pred).abs()

    cfg = im.serialize(im.MeanMetricWrapper(fn=my_metric, name="mine"))
    with pytest.raises(ValueError, match="The metric function 'my_metric' is not a built-in metric function"):
        im.deserialize(cfg)
    assert im.deserialize(cfg, custom_objects={"my_metric": my_metric})._fn is my_metric
    with pytest.raises(ValueError, match="Cannot serialize a lambda metric function"):
        im.serialize(lambda a, b: a)


def test_registered_custom_metric_round_trips() -> None:
    @saving.register_keras_serializable(package="test_metrics")
    class Count(im.Metric):
        def __init__(self, name: str = "count", dtype: object = None) -> None:
            super().__init__(name=name, dtype=dtype)
            self.n = self.add_variable(shape=(), initializer="zeros", name="n")

        def update_state(self, y_true: object, y_pred: torch.Tensor, sample_weight: object = None) -> None:
            self.n.add_(y_pred.shape[0])

        def result(self) -> torch.Tensor:
            return self.n.clone()

    c = Count()
    c.update_state(None, torch.zeros(3, device=c.n.device))
    assert float(c.result()) == 3.0
    c.reset_state()
    assert float(c.result()) == 0.0
    cfg = im.serialize(c)
    assert cfg["registered_name"] == "test_metrics>Count"
    assert isinstance(im.deserialize(cfg), Count)


def test_deserialize_refuses_foreign_modules() -> None:
    with pytest.raises(ValueError, match="only built-in metrics"):
        im.deserialize({"module": "os", "class_name": "AUC", "config": {}})
    with pytest.raises(ValueError, match="Refusing to load a lambda metric function"):
        im.deserialize({"module": "keras.metrics", "class_name": "MeanMetricWrapper",
                        "config": {"fn": {"class_name": "__lambda__", "config": {"code": "x"}}}})
    with pytest.raises(ValueError, match="needs a 'class_name' key"):
        im.deserialize({"config": {}})
    with pytest.raises(TypeError, match=r"AUC could not be built from config=.*did you mean 'num_thresholds'"):
        im.deserialize({"class_name": "AUC", "config": {"num_threshold": 3}})


KERAS_IDS = sorted(keras_metrics_src.ALL_OBJECTS_DICT)


@pytest.mark.parametrize("ident", KERAS_IDS)
def test_get_every_keras_string_id(ident: str) -> None:
    try:
        want = keras.metrics.get(ident)
    except TypeError:  # classes with required arguments (IoU, MeanMetricWrapper, ...)
        with pytest.raises(TypeError, match="missing|could not be built"):
            im.get(ident)
        return
    got = im.get(ident)
    assert type(got).__name__ == type(want).__name__
    assert isinstance(got, im.Metric)
    cfg_got, cfg_want = got.get_config(), want.get_config()
    cfg_got.pop("name"), cfg_want.pop("name")
    assert cfg_got == cfg_want


def test_get_other_identifiers() -> None:
    assert im.get(None) is None
    assert isinstance(im.get(im.AUC), im.AUC)
    m = im.Precision()
    assert im.get(m) is m
    assert im.get(im.mean_squared_error) is im.mean_squared_error  # functions pass through (Keras)
    assert isinstance(im.get({"class_name": "AUC", "config": {"num_thresholds": 7}}), im.AUC)
    assert isinstance(im.get("acc"), im.Accuracy)  # initium extension: Keras's get('acc') raises
    with pytest.raises(ValueError, match="Could not interpret metric identifier: 42"):
        im.get(42)


@pytest.mark.parametrize("ident,hint", [
    ("accuracyy", "accuracy"), ("Mse", "mse"), ("f1", "f1_score"), ("rmse", "root_mean_squared_error"),
    ("roc_auc", "auc"), ("SparseCategoricalAcuracy", "sparse_categorical_accuracy"),
    ("top5", "top_k_categorical_accuracy"),
    ("precison", "precision"), ("logcosh", "log_cosh_error"), ("iou", "mean_io_u"),
])
def test_unknown_names_suggest(ident: str, hint: str) -> None:
    with pytest.raises(ValueError,
                       match=rf"Could not interpret metric identifier: '{ident}'\. Did you mean '{hint}'\?"):
        im.get(ident)


def test_unknown_name_without_suggestion_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"Could not interpret metric identifier: 'zzzz'\. Valid names: .*auc"):
        im.get("zzzz")


# ---------------------------------------------------------------------------------------------
# resolve_accuracy: Keras's compile-time rule for metrics=['accuracy'].


@pytest.mark.parametrize("t_shape,p_shape,expected", [
    ((8, 1), (8, 1), "BinaryAccuracy"),
    ((8,), (8, 1), "BinaryAccuracy"),
    ((8,), (8, 5), "SparseCategoricalAccuracy"),
    ((8, 1), (8, 5), "SparseCategoricalAccuracy"),
    ((8, 7), (8, 7, 5), "SparseCategoricalAccuracy"),
    ((8, 5), (8, 5), "CategoricalAccuracy"),
    ((8,), (8,), "CategoricalAccuracy"),  # Keras's rule: rank-1 predictions are not "binary"
    ((1,), (1,), "BinaryAccuracy"),
    ((8, 3, 1), (8, 3, 1), "BinaryAccuracy"),
])
@pytest.mark.parametrize("name", ["accuracy", "acc"])
def test_resolve_accuracy(t_shape: tuple, p_shape: tuple, expected: str, name: str) -> None:
    y_true, y_pred = torch.zeros(t_shape), torch.zeros(p_shape)
    want = compile_utils.get_metric(name, keras.ops.zeros(t_shape), keras.ops.zeros(p_shape))
    assert type(want).__name__ == expected
    got = im.resolve_accuracy(y_true, y_pred, name=name)
    assert type(got).__name__ == expected and got.name == name == want.name
    assert im.resolve_accuracy(t_shape, p_shape).name == "accuracy"  # shapes work too


def test_resolve_accuracy_rejects_scalars() -> None:
    with pytest.raises(ValueError, match=r"resolve_accuracy needs y_true and y_pred of rank >= 1.*y_pred=\(\)"):
        im.resolve_accuracy(torch.zeros(3), torch.tensor(1.0))


def test_resolved_accuracy_values() -> None:
    y = torch.tensor([0, 2, 1, 2])
    p = torch.tensor([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]])
    m = im.resolve_accuracy(y, p)
    m.update_state(y, p)
    assert float(m.result()) == 0.5


# ---------------------------------------------------------------------------------------------
# Errors (the type Keras raises; the message names the argument and the value).


@pytest.mark.parametrize("make,exc,match", [
    (lambda: im.AUC(num_thresholds=1), ValueError,
     r"`num_thresholds` must be an integer > 1\. Received: num_thresholds=1"),
    (lambda: im.AUC(curve="roc_curve"), ValueError, r'Invalid AUC curve value: "roc_curve"'),
    (lambda: im.AUC(summation_method="trapezoid"), ValueError, r'Invalid AUC summation method value: "trapezoid"'),
    (lambda: im.AUC(num_labels=3), ValueError, r"`num_labels` is needed only when `multi_label` is True"),
    (lambda: im.Precision(thresholds=[0.5, 1.5]), ValueError,
     r"Threshold values must be in \[0, 1\]\. Received: \[1\.5\]"),
    (lambda: im.Recall(thresholds=-0.1), ValueError, r"Threshold values must be in \[0, 1\]\. Received: \[-0\.1\]"),
    (lambda: im.F1Score(average="samples"), ValueError, r"Invalid `average` argument value.*Received: average=samples"),
    (lambda: im.FBetaScore(beta=2), ValueError, r"It should be a Python float\. Received: beta=2"),
    (lambda: im.FBetaScore(beta=-1.0), ValueError, r"It should be > 0\. Received: beta=-1\.0"),
    (lambda: im.F1Score(threshold=1.5), ValueError, r"0 < threshold <= 1\. Received: threshold=1\.5"),
    (lambda: im.SensitivityAtSpecificity(1.5), ValueError,
     r"`specificity` must be in the range \[0, 1\]\. Received: specificity=1\.5"),
    (lambda: im.PrecisionAtRecall(0.5, num_thresholds=0), ValueError, r"`num_thresholds` must be an integer > 0"),
    (lambda: im.R2Score(class_aggregation="median"), ValueError, r"Received: class_aggregation=median"),
    (lambda: im.R2Score(num_regressors=-1), ValueError, r"Received: num_regressors=-1"),
    (lambda: im.IoU(num_classes=3, target_class_ids=[3]), ValueError,
     r"Target class id 3 is out of range, which is \[0, 3\)"),
    (lambda: im.MeanMetricWrapper(fn="mse"), TypeError, r"needs a callable fn\(y_true, y_pred\).*Received: fn='mse'"),
    (lambda: im.Mean(name=3), TypeError, r"`name` must be a string\. Received: name=3"),
])
def test_constructor_errors(make, exc, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=match):
        make()


def test_update_errors() -> None:
    with pytest.raises(ValueError, match=r"`y_pred` must have rank 2 when `multi_label=True`\. Found rank 3"):
        im.AUC(multi_label=True).update_state(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"FBetaScore expects 2D inputs.*y_pred\.shape=\(4,\)"):
        im.F1Score().update_state(torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match=r"When class_id is provided, y_pred must be a 2D array.*found shape: \(4,\)"):
        im.Precision(class_id=1).update_state(torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match=r"precision: y_true and y_pred must have the same shape.*"
                                         r"y_true\.shape=\(4,\), "
                                         r"y_pred\.shape=\(4, 3\)"):
        im.Precision(name="precision").update_state(torch.zeros(4), torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"binary_crossentropy: arguments `target` and `output` must have the same "
                                         r"shape\. Received: target\.shape=\(3,\), output\.shape=\(3, 1\)"):
        im.BinaryCrossentropy().update_state(torch.zeros(3), torch.zeros(3, 1))
    with pytest.raises(ValueError, match=r"R2Score expects 2D inputs"):
        im.R2Score().update_state(torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\) cannot be broadcast to the values of shape"):
        im.Mean(name="mean").update_state(torch.zeros(4), sample_weight=torch.ones(3))


# ---------------------------------------------------------------------------------------------
# Documented differences from Keras.


def test_top_k_larger_than_classes_counts_every_sample() -> None:
    m = im.TopKCategoricalAccuracy(k=10)
    m.update_state(torch.eye(3), torch.rand(3, 3))
    assert float(m.result()) == 1.0


def test_f1_accepts_column_sample_weight() -> None:
    y = torch.eye(4)
    p = torch.rand(4, 4)
    a, b = im.F1Score(average="macro"), im.F1Score(average="macro")
    a.update_state(y, p, sample_weight=torch.tensor([1.0, 2.0, 0.0, 1.0]))
    b.update_state(y, p, sample_weight=torch.tensor([[1.0], [2.0], [0.0], [1.0]]))
    torch.testing.assert_close(a.result(), b.result())


def test_nan_predictions_are_never_positive() -> None:
    for m in (im.Precision(thresholds=[0.2, 0.7]), im.AUC(num_thresholds=5), im.Precision(thresholds=[0.0, 0.5, 1.0])):
        m.update_state(torch.ones(3), torch.tensor([math.nan, math.nan, 0.9]))
        tp = m.true_positives
        assert float(tp.max()) <= 1.0


def test_auc_thresholds_property_has_epsilon_endpoints() -> None:
    k = keras.metrics.AUC(num_thresholds=5)
    m = im.AUC(num_thresholds=5)
    assert m.thresholds == pytest.approx([float(t) for t in k.thresholds], abs=0)
    assert m.thresholds[0] == -1e-7 and m.thresholds[-1] == 1 + 1e-7
    assert im.AUC(thresholds=[0.7, 0.2]).thresholds == [-1e-7, 0.2, 0.7, 1 + 1e-7]
