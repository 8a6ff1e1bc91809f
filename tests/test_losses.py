"""Losses: values equal Keras 3's on fixed inputs (1e-6), configs, string ids, stability, errors."""

import numpy as np
import pytest
import torch

import initium as keras
from initium import losses

rng = np.random.default_rng(0)
N, K = 16, 5
LOGITS = rng.standard_normal((N, K)).astype("float32") * 2
PROBS = (np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)).astype("float32")
ONE_HOT = np.eye(K, dtype="float32")[rng.integers(0, K, N)]
LABELS = rng.integers(0, K, N)
BIN_TRUE = rng.integers(0, 2, (N, 3)).astype("float32")
BIN_PROB = rng.uniform(0.02, 0.98, (N, 3)).astype("float32")
BIN_LOGIT = rng.standard_normal((N, 3)).astype("float32")
REG_TRUE = rng.uniform(0.1, 3.0, (N, 4)).astype("float32")
REG_PRED = rng.uniform(0.1, 3.0, (N, 4)).astype("float32")
SIGNED = rng.standard_normal((N, 4)).astype("float32")
SW = rng.uniform(0.0, 2.0, N).astype("float32")


def _real():
    import keras as real

    return real


# (class name, constructor kwargs, y_true, y_pred)
CASES = [
    ("CategoricalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True}, ONE_HOT, LOGITS),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, ONE_HOT, LOGITS),
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS, LOGITS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS[:, None], LOGITS),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 2}, LABELS, LOGITS),
    ("BinaryCrossentropy", {}, BIN_TRUE, BIN_PROB),
    ("BinaryCrossentropy", {"from_logits": True}, BIN_TRUE, BIN_LOGIT),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, BIN_TRUE, BIN_PROB),
    ("BinaryFocalCrossentropy", {}, BIN_TRUE, BIN_PROB),
    ("BinaryFocalCrossentropy", {"from_logits": True, "apply_class_balancing": True, "gamma": 3.0}, BIN_TRUE, BIN_LOGIT),
    ("CategoricalFocalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "alpha": 0.5, "label_smoothing": 0.1}, ONE_HOT, LOGITS),
    ("MeanSquaredError", {}, REG_TRUE, REG_PRED),
    ("MeanAbsoluteError", {}, REG_TRUE, REG_PRED),
    ("MeanAbsolutePercentageError", {}, REG_TRUE, REG_PRED),
    ("MeanSquaredLogarithmicError", {}, REG_TRUE, REG_PRED),
    ("Huber", {}, SIGNED, REG_PRED),
    ("Huber", {"delta": 0.5}, SIGNED, REG_PRED),
    ("LogCosh", {}, SIGNED, REG_PRED),
    ("KLDivergence", {}, PROBS, np.roll(PROBS, 1, axis=0)),
    ("Poisson", {}, REG_TRUE, REG_PRED),
    ("CosineSimilarity", {}, SIGNED, REG_PRED),
    ("Hinge", {}, BIN_TRUE, BIN_LOGIT),
    ("Hinge", {}, 2 * BIN_TRUE - 1, BIN_LOGIT),
    ("SquaredHinge", {}, BIN_TRUE, BIN_LOGIT),
    ("CategoricalHinge", {}, ONE_HOT, LOGITS),
]
IDS = [f"{c}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}-{i}" for i, (c, kw, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
def test_loss_classes_match_keras(case, reduction, weighted):
    name, kwargs, y_true, y_pred = CASES[case]
    ours = getattr(losses, name)(reduction=reduction, **kwargs)
    theirs = getattr(_real().losses, name)(reduction=reduction, **kwargs)
    sw = SW if weighted else None
    a = ours(y_true, y_pred, sample_weight=sw)
    b = theirs(y_true, y_pred, sample_weight=sw)
    np.testing.assert_allclose(a.detach().numpy(), np.asarray(b.detach().cpu()), rtol=1e-6, atol=1e-6)


FUNCTIONS = ["categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
             "binary_focal_crossentropy", "categorical_focal_crossentropy", "mean_squared_error", "mean_absolute_error",
             "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "huber", "log_cosh", "kl_divergence",
             "poisson", "cosine_similarity", "hinge", "squared_hinge", "categorical_hinge"]
FN_INPUTS = {"categorical_crossentropy": (ONE_HOT, PROBS), "sparse_categorical_crossentropy": (LABELS, PROBS),
             "binary_crossentropy": (BIN_TRUE, BIN_PROB), "binary_focal_crossentropy": (BIN_TRUE, BIN_PROB),
             "categorical_focal_crossentropy": (ONE_HOT, PROBS), "kl_divergence": (PROBS, np.roll(PROBS, 2, axis=0)),
             "hinge": (BIN_TRUE, BIN_LOGIT), "squared_hinge": (BIN_TRUE, BIN_LOGIT),
             "categorical_hinge": (ONE_HOT, LOGITS), "huber": (SIGNED, REG_PRED), "log_cosh": (SIGNED, REG_PRED),
             "cosine_similarity": (SIGNED, REG_PRED)}


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_functions_return_per_sample_values_like_keras(fn):
    y_true, y_pred = FN_INPUTS.get(fn, (REG_TRUE, REG_PRED))
    a = getattr(losses, fn)(y_true, y_pred)
    b = getattr(_real().losses, fn)(y_true, y_pred)
    assert tuple(a.shape) == tuple(b.shape) == (N,)
    np.testing.assert_allclose(a.numpy(), np.asarray(b.detach().cpu()), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted({c for c, *_ in CASES}))
def test_configs_match_keras(name):
    ours, theirs = getattr(losses, name)().get_config(), getattr(_real().losses, name)().get_config()
    extra = {"Huber": {"delta": 1.0}, "CosineSimilarity": {"axis": -1}}.get(name, {})  # Keras drops these
    assert ours == {**theirs, **extra}
    again = getattr(losses, name).from_config(ours)
    assert again.get_config() == ours
    s = losses.serialize(getattr(losses, name)())
    assert s["module"] == "keras.losses" and s["class_name"] == name
    assert type(losses.deserialize(s)) is getattr(losses, name)
    assert type(_real().losses.deserialize(s)).__name__ == name  # Keras reads ours


def test_every_keras_string_id_resolves():
    from keras.src.losses import ALL_OBJECTS_DICT

    skipped = {"CTC", "ctc", "Circle", "circle", "Dice", "dice", "Tversky", "tversky"}  # not built (see README)
    for key, obj in ALL_OBJECTS_DICT.items():
        if key in skipped or key in ("Loss", "LossFunctionWrapper"):  # base classes, not losses
            continue
        ours = losses.get(key)
        if isinstance(obj, type):
            assert type(ours).__name__ == obj.__name__, key
        else:
            assert ours.__name__ == obj.__name__, key


def test_unknown_id_suggests():
    with pytest.raises(ValueError, match=r"Could not interpret loss identifier: 'categoricl_crossentropy'\. "
                                         r"Did you mean 'categorical_crossentropy'\?"):
        losses.get("categoricl_crossentropy")
    with pytest.raises(ValueError, match=r"invalid `reduction` 'avg'"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(TypeError, match=r"unexpected arguments \['from_logit'\]\. Did you mean 'from_logits'"):
        losses.CategoricalCrossentropy(from_logit=True)


def test_integer_labels_to_categorical_crossentropy_suggest_sparse():
    for y in (LABELS, LABELS[:, None]):
        with pytest.raises(ValueError, match=r"look like integer class labels\. Use "
                                             r"loss='sparse_categorical_crossentropy'.*to_categorical\(y, 5\)"):
            losses.CategoricalCrossentropy()(y, PROBS)
    with pytest.raises(ValueError, match=r"y_true.shape=\(16, 4\), y_pred.shape=\(16, 5\)"):
        losses.categorical_crossentropy(ONE_HOT[:, :4], PROBS)
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy expects integer labels of shape \(16,\)"):
        losses.sparse_categorical_crossentropy(ONE_HOT, PROBS)


def test_softmax_outputs_use_their_logits():
    """Keras clips log(p) at log(1e-7): a confident wrong answer loses its gradient. initium's does not."""
    logits = torch.tensor([[30.0, -30.0, 0.0]], requires_grad=True)
    p = keras.activations.softmax(logits)
    loss = losses.categorical_crossentropy(torch.tensor([[0.0, 1.0, 0.0]]), p)
    expected = -torch.log_softmax(logits.detach(), -1)[0, 1]
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-6) and float(loss.detach()) > 50  # Keras: 16.118
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all() and float(logits.grad.abs().sum()) > 1.0
    probs_only = torch.tensor([[1.0, 0.0, 0.0]])  # plain probabilities: Keras's clipped formula
    assert float(losses.categorical_crossentropy(torch.tensor([[0.0, 1.0, 0.0]]), probs_only)) == pytest.approx(
        -np.log(1e-7), rel=1e-5)
    z = torch.tensor([[40.0]], requires_grad=True)
    bce = losses.binary_crossentropy(torch.tensor([[0.0]]), keras.activations.sigmoid(z))
    assert float(bce) == pytest.approx(40.0, rel=1e-6)  # Keras's clipped value: 16.118


def test_losses_take_no_host_sync_on_device_tensors(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.Tensor, "item", lambda self: calls.append(1) or 0.0)
    y_pred = keras.activations.softmax(torch.tensor(LOGITS))
    for name, kwargs, y_true, _ in CASES[:8]:
        getattr(losses, name)(**kwargs)(torch.as_tensor(y_true), y_pred if "from_logits" not in kwargs else torch.tensor(LOGITS))
    losses.Hinge()(torch.tensor(BIN_TRUE), torch.tensor(BIN_LOGIT))
    assert calls == []
