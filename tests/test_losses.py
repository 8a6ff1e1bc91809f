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
SEQ_TRUE = rng.standard_normal((N, 6, 3)).astype("float32")
SEQ_PRED = rng.standard_normal((N, 6, 3)).astype("float32")
SEQ_LOGITS = rng.standard_normal((N, 6, K)).astype("float32")
SEQ_LABELS = rng.integers(0, K, (N, 6))


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
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, BIN_TRUE, BIN_LOGIT),
    ("BinaryCrossentropy", {}, BIN_TRUE[:, :1], BIN_PROB[:, 0]),  # (N,1) labels, (N,) predictions
    ("SparseCategoricalCrossentropy", {"ignore_class": 0}, LABELS, PROBS),
    ("CategoricalCrossentropy", {"axis": 0}, ONE_HOT, PROBS),
    ("BinaryFocalCrossentropy", {}, BIN_TRUE, BIN_PROB),
    ("BinaryFocalCrossentropy", {"from_logits": True, "apply_class_balancing": True, "gamma": 3.0}, BIN_TRUE,
     BIN_LOGIT),
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
    ("CosineSimilarity", {"axis": 0}, SIGNED, REG_PRED),
    ("MeanSquaredError", {}, REG_TRUE[:, :1], REG_PRED[:, 0]),
    ("MeanSquaredError", {}, SEQ_TRUE, SEQ_PRED),  # (N, T, F): per-step values (N, T)
    ("Hinge", {}, BIN_TRUE, BIN_LOGIT),
    ("Hinge", {}, 2 * BIN_TRUE - 1, BIN_LOGIT),
    ("SquaredHinge", {}, BIN_TRUE, BIN_LOGIT),
    ("CategoricalHinge", {}, ONE_HOT, LOGITS),
]
IDS = [f"{c}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}-{i}" for i, (c, kw, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
def test_loss_classes_match_keras(case, reduction, weighted):
    name, kwargs, y_true, y_pred = CASES[case]
    ours = getattr(losses, name)(reduction=reduction, **kwargs)
    theirs = getattr(_real().losses, name)(reduction=reduction, **kwargs)
    sw = None
    if weighted:  # one weight per sample (per output row when a case reduces over axis 0)
        shape = tuple(getattr(_real().losses, name)(reduction="none", **kwargs)(y_true, y_pred).shape)
        sw = np.resize(SW, shape)  # (N,), or (N, T) for the per-step values of sequences
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


@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_functions_with_every_case_argument_match_keras(case):
    name, kwargs, y_true, y_pred = CASES[case]
    fn = losses.get(name).fn.__name__
    a = getattr(losses, fn)(y_true, y_pred, **kwargs)
    t, p = _real().ops.convert_to_tensor(y_true), _real().ops.convert_to_tensor(y_pred)
    if fn == "binary_crossentropy":  # Keras's function refuses (N,1) vs (N,); initium's (like its class) aligns them
        from keras.src.losses.loss import squeeze_or_expand_to_same_rank

        t, p = squeeze_or_expand_to_same_rank(t, p)
    b = getattr(_real().losses, fn)(t, p, **kwargs)
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6, atol=1e-6)


CLASSES = sorted({c for c, *_ in CASES} | {"LogCosh"})


@pytest.mark.parametrize("name", CLASSES)
def test_configs_match_keras(name):
    ours, theirs = getattr(losses, name)(), getattr(_real().losses, name)()
    assert ours.get_config() == theirs.get_config()
    assert list(ours.get_config()) == list(theirs.get_config())  # same key order too
    assert ours.name == theirs.name and ours.dtype == theirs.dtype == "float32"
    again = getattr(losses, name).from_config(ours.get_config())
    assert again.get_config() == ours.get_config()
    s = losses.serialize(ours)
    assert s == _real().losses.serialize(theirs)
    assert type(losses.deserialize(s)) is getattr(losses, name)
    assert type(_real().losses.deserialize(s)).__name__ == name  # Keras reads ours


NON_DEFAULT = [
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1, "axis": 1, "reduction": "sum",
                                 "name": "cce"}),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 3, "reduction": None}),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "from_logits": True,
                                 "label_smoothing": 0.05, "axis": -1, "reduction": "mean_with_sample_weight"}),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 3.0, "reduction": "mean"}),
    ("Huber", {"delta": 1.0, "reduction": "none"}),
]


@pytest.mark.parametrize("name,kwargs", NON_DEFAULT, ids=[n for n, _ in NON_DEFAULT])
def test_non_default_configs_match_keras(name, kwargs):
    ours, theirs = getattr(losses, name)(**kwargs), getattr(_real().losses, name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert getattr(losses, name).from_config(ours.get_config()).get_config() == ours.get_config()


def test_arguments_keras_leaves_out_of_configs_still_round_trip():
    """Keras's Huber/CosineSimilarity/SparseCategoricalCrossentropy configs drop delta/axis (so a
    reloaded loss silently changes); initium writes them, only when they are not the default."""
    for cls, kw in [(losses.Huber, {"delta": 0.5}), (losses.CosineSimilarity, {"axis": 0}),
                    (losses.SparseCategoricalCrossentropy, {"axis": 1})]:
        cfg = cls(**kw).get_config()
        assert all(cfg[k] == v for k, v in kw.items())
        again = cls.from_config(cfg)
        assert all(getattr(again, k) == v for k, v in kw.items())
        assert type(_real().losses.deserialize(losses.serialize(cls(**kw)))).__name__ == cls.__name__


def test_positional_arguments_follow_keras_order():
    assert losses.BinaryFocalCrossentropy(True, 0.4, 3.0).get_config() == \
        _real().losses.BinaryFocalCrossentropy(True, 0.4, 3.0).get_config()
    assert losses.CategoricalFocalCrossentropy(0.5, 1.0, True).get_config() == \
        _real().losses.CategoricalFocalCrossentropy(0.5, 1.0, True).get_config()
    assert losses.Huber(2.0).delta == 2.0 and losses.CosineSimilarity(0).axis == 0


def test_every_keras_string_id_resolves():
    from keras.src.losses import ALL_OBJECTS_DICT

    not_built = {"CTC", "ctc", "Circle", "circle", "Dice", "dice", "Tversky", "tversky"}
    seen = 0
    for key, obj in ALL_OBJECTS_DICT.items():
        if key in not_built or key in ("Loss", "LossFunctionWrapper"):  # base classes, not losses
            continue
        ours, theirs = losses.get(key), _real().losses.get(key)
        if isinstance(obj, type):
            assert type(ours).__name__ == type(theirs).__name__ == obj.__name__, key
            assert ours.get_config() == theirs.get_config(), key
        else:
            assert ours.__name__ == theirs.__name__ == obj.__name__, key
            assert getattr(losses, ours.__name__) is ours, key
        seen += 1
    assert seen == 46


def test_public_names_match_keras():
    import keras as real

    theirs = {n for n in dir(real.losses) if not n.startswith("_")}
    not_built = {"CTC", "ctc", "Circle", "circle", "Dice", "dice", "Tversky", "tversky",
                 "CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy"}
    assert theirs - not_built <= set(dir(losses))


def test_get_accepts_none_callables_classes_instances_and_dicts():
    assert losses.get(None) is None
    fn = lambda t, p: (t - p).abs()  # noqa: E731
    assert losses.get(fn) is fn
    inst = losses.Huber(delta=2.0)
    assert losses.get(inst) is inst
    assert type(losses.get(losses.Poisson)) is losses.Poisson
    got = losses.get({"class_name": "Huber", "config": {"delta": 3.0, "name": "h", "reduction": "sum"}})
    assert type(got) is losses.Huber and got.delta == 3.0 and got.reduction == "sum" and got.name == "h"
    keras_fn_dict = _real().losses.serialize(_real().losses.mean_squared_error)
    assert losses.deserialize(keras_fn_dict) is losses.mean_squared_error
    assert losses.serialize(losses.mse) == "mean_squared_error"
    assert losses.deserialize("mean_squared_error") is losses.mean_squared_error


def test_loss_function_wrapper_matches_keras():
    ours = losses.LossFunctionWrapper(losses.huber, delta=0.3, reduction="sum")
    from keras.src.losses.losses import LossFunctionWrapper

    theirs = LossFunctionWrapper(_real().losses.huber, delta=0.3, reduction="sum")
    np.testing.assert_allclose(ours(SIGNED, REG_PRED).numpy(), np.asarray(theirs(SIGNED, REG_PRED)), rtol=1e-6)
    cfg = ours.get_config()
    assert cfg["fn"] == "huber" and cfg["delta"] == 0.3
    again = losses.LossFunctionWrapper.from_config(cfg)
    assert again.fn is losses.huber and again.get_config() == cfg
    with pytest.raises(ValueError, match=r"LossFunctionWrapper.from_config needs an 'fn' entry"):
        losses.LossFunctionWrapper.from_config({"name": "x"})
    with pytest.raises(TypeError, match=r"LossFunctionWrapper: `fn` must be callable\. Received: 3"):
        losses.LossFunctionWrapper(3)


def test_unknown_ids_and_arguments_say_what_would_work():
    with pytest.raises(ValueError, match=r"Could not interpret loss identifier: categoricl_crossentropy\. "
                                         r"Did you mean 'categorical_crossentropy'\? Valid names: bce, "):
        losses.get("categoricl_crossentropy")
    for name, hint in [("logcosh", "log_cosh"), ("huber_loss", "huber"), ("kullback_leibler_divergence",
                                                                          "kl_divergence"),
                       ("MSELoss", "mean_squared_error"), ("meanSquaredError", "MeanSquaredError"),
                       ("nll", "sparse_categorical_crossentropy")]:
        with pytest.raises(ValueError, match=rf"identifier: {name}\. Did you mean '{hint}'\?"):
            losses.get(name)
        with pytest.raises(ValueError, match=rf"Could not interpret loss identifier: {name}"):
            _real().losses.get(name)  # Keras refuses these too
    with pytest.raises(ValueError, match=r"Could not interpret loss identifier: 3\. Valid names"):
        losses.get(3)
    with pytest.raises(ValueError, match=r"identifier: Nope\..*classes: BinaryCrossentropy"):
        losses.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match=r"Refusing to deserialize a Python lambda"):
        losses.deserialize({"class_name": "__lambda__", "config": {}})
    with pytest.raises(ValueError, match=r"MeanSquaredError: invalid value for argument `reduction`\. Expected "
                                         r"one of 'sum_over_batch_size', 'sum', 'mean', 'mean_with_sample_weight', "
                                         r"'none', None\. Received: reduction='avg'"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match=r"Invalid value for argument `reduction`"):
        _real().losses.MeanSquaredError(reduction="avg")
    with pytest.raises(TypeError, match=r"unexpected arguments \['from_logit'\]\. Did you mean 'from_logits'"):
        losses.CategoricalCrossentropy(from_logit=True)
    with pytest.raises(TypeError, match=r"Huber takes at most 1 positional arguments \(delta\); received 2"):
        losses.Huber(1.0, "sum")
    with pytest.raises(ValueError, match=r"Poisson: `dtype` must be a floating dtype.*Received: dtype='int32'"):
        losses.Poisson(dtype="int32")
    with pytest.raises(NotImplementedError, match=r"Loss must implement call\(y_true, y_pred\)"):
        losses.Loss()(ONE_HOT, PROBS)
    with pytest.raises(ValueError, match=r"Could not interpret loss identifier: nope\."):
        losses.deserialize({"class_name": "function", "config": "nope", "registered_name": "function"})


def test_custom_loss_subclass_and_dtype():
    class Scaled(losses.Loss):
        def call(self, y_true, y_pred):
            return 2.0 * (y_true - y_pred).square().mean(-1)

    class TheirScaled(_real().losses.Loss):
        def call(self, y_true, y_pred):
            return 2.0 * _real().ops.mean(_real().ops.square(y_true - y_pred), axis=-1)

    for red in ["sum_over_batch_size", "sum", None]:
        a = Scaled(reduction=red)(REG_TRUE, REG_PRED, sample_weight=SW)
        b = TheirScaled(reduction=red)(REG_TRUE, REG_PRED, sample_weight=SW)
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6)
    assert Scaled().name == "scaled" and Scaled().get_config() == TheirScaled().get_config() | {"name": "scaled"}
    a = losses.MeanSquaredError(dtype="float64")(REG_TRUE, REG_PRED)
    b = _real().losses.MeanSquaredError(dtype="float64")(REG_TRUE, REG_PRED)
    # initium computes and returns float64; Keras computes in float64 but hands back float32
    assert a.dtype == torch.float64 and losses.MeanSquaredError(dtype=torch.float64).dtype == "float64"
    np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-7)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
def test_masks_on_predictions_reduce_like_keras(reduction, weighted):
    mask = torch.as_tensor(rng.random(N) > 0.3)
    sw = SW if weighted else None
    for ours_cls, theirs_cls, y_true, y_pred, kw in [
        (losses.MeanSquaredError, _real().losses.MeanSquaredError, REG_TRUE, REG_PRED, {}),
        (losses.SparseCategoricalCrossentropy, _real().losses.SparseCategoricalCrossentropy, LABELS, LOGITS,
         {"from_logits": True, "ignore_class": 1}),
    ]:
        p1, p2 = torch.tensor(y_pred), torch.tensor(y_pred)
        p1._keras_mask = p2._keras_mask = mask
        a = ours_cls(reduction=reduction, **kw)(y_true, p1, sample_weight=sw)
        b = theirs_cls(reduction=reduction, **kw)(y_true, p2, sample_weight=sw)
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6, atol=1e-6)
    none_kept = torch.zeros(N, dtype=torch.bool)  # everything masked: 0, not nan
    p = torch.tensor(REG_PRED)
    p._keras_mask = none_kept
    assert torch.equal(losses.MeanSquaredError(reduction="sum")(REG_TRUE, p), torch.tensor(0.0))


def test_sequences_and_class_axis_match_keras():
    for fn, kw, y_true, y_pred in [
        ("sparse_categorical_crossentropy", {"from_logits": True}, SEQ_LABELS, SEQ_LOGITS),
        ("sparse_categorical_crossentropy", {"from_logits": True, "axis": 1}, SEQ_LABELS,
         np.moveaxis(SEQ_LOGITS, 2, 1)),
        ("sparse_categorical_crossentropy", {"axis": 1}, SEQ_LABELS, np.moveaxis(SEQ_LOGITS, 2, 1) ** 2),
        ("sparse_categorical_crossentropy", {"ignore_class": 2}, SEQ_LABELS, SEQ_LOGITS ** 2),
        ("categorical_crossentropy", {"from_logits": True, "axis": 1},
         np.moveaxis(np.eye(K, dtype="float32")[SEQ_LABELS], 2, 1), np.moveaxis(SEQ_LOGITS, 2, 1)),
        ("binary_crossentropy", {"axis": 1}, BIN_TRUE, BIN_PROB),
        ("mean_squared_error", {}, SEQ_TRUE, SEQ_PRED),
        ("cosine_similarity", {"axis": 1}, SEQ_TRUE, SEQ_PRED),
    ]:
        a = getattr(losses, fn)(y_true, y_pred, **kw)
        b = getattr(_real().losses, fn)(_real().ops.convert_to_tensor(y_true), y_pred, **kw)
        assert tuple(a.shape) == tuple(b.shape), fn
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6, atol=1e-6, err_msg=fn)
    a = losses.SparseCategoricalCrossentropy(axis=1, from_logits=True)(SEQ_LABELS, np.moveaxis(SEQ_LOGITS, 2, 1))
    b = _real().losses.SparseCategoricalCrossentropy(axis=1, from_logits=True)(SEQ_LABELS,
                                                                                np.moveaxis(SEQ_LOGITS, 2, 1))
    np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6)


def test_inputs_may_be_lists_numpy_or_other_dtypes():
    a = losses.mean_squared_error(REG_TRUE.tolist(), REG_PRED.tolist())
    assert a.dtype == torch.float32
    np.testing.assert_allclose(a.numpy(), np.asarray(_real().losses.mean_squared_error(REG_TRUE, REG_PRED)),
                               rtol=1e-6)
    b = losses.categorical_crossentropy(ONE_HOT.astype("int64"), torch.tensor(PROBS, dtype=torch.float64))
    assert b.dtype == torch.float64  # y_true follows y_pred's dtype
    c = losses.binary_crossentropy(BIN_TRUE.astype(bool), BIN_PROB)
    np.testing.assert_allclose(c.numpy(), losses.binary_crossentropy(BIN_TRUE, BIN_PROB).numpy())
    assert losses.SparseCategoricalCrossentropy()(LABELS.astype("float32"), PROBS).shape == ()


def test_categorical_crossentropy_on_one_unit_warns_like_keras():
    with pytest.warns(SyntaxWarning, match=r"In loss categorical_crossentropy, expected y_pred.shape to be "
                                           r"\(batch_size, num_classes\) with num_classes > 1\. Received: "
                                           r"y_pred.shape=\(16, 1\).*'binary_crossentropy'"):
        out = losses.categorical_crossentropy(BIN_TRUE[:, :1], BIN_PROB[:, :1])
    with pytest.warns(SyntaxWarning, match=r"In loss categorical_crossentropy, expected y_pred.shape"):
        theirs = _real().losses.categorical_crossentropy(BIN_TRUE[:, :1], BIN_PROB[:, :1])
    np.testing.assert_allclose(out.numpy(), np.asarray(theirs), atol=1e-6)  # ~0: -log(1 - 1e-7) where y_true is 1


def test_integer_labels_to_categorical_crossentropy_suggest_sparse():
    msg = (r"categorical_crossentropy expects one-hot targets of shape \(16, 5\).*received targets of shape "
           r"\(16,( 1)?\): these look like integer class labels\. Use loss='sparse_categorical_crossentropy' "
           r"for integer labels, or one-hot encode them with initium\.utils\.to_categorical\(y, 5\)")
    for y in (LABELS, LABELS[:, None], torch.as_tensor(LABELS), LABELS.astype("float32")):
        with pytest.raises(ValueError, match=msg):
            losses.CategoricalCrossentropy()(y, PROBS)
        with pytest.raises(ValueError, match=msg):
            losses.categorical_crossentropy(y, PROBS)
        with pytest.raises(ValueError, match=msg.replace("categorical_crossentropy expects", "categorical_focal_"
                                                         "crossentropy expects")):
            losses.categorical_focal_crossentropy(y, PROBS)
    fixed = losses.categorical_crossentropy(keras.utils.to_categorical(LABELS, 5), PROBS)  # the suggested fix works
    np.testing.assert_allclose(fixed.numpy(), losses.sparse_categorical_crossentropy(LABELS, PROBS).numpy(),
                               rtol=1e-6)


def test_shape_mismatches_name_both_shapes():
    with pytest.raises(ValueError, match=r"categorical_crossentropy: `y_true` and `y_pred` must have the same shape\. "
                                         r"Received: y_true.shape=\(16, 4\), y_pred.shape=\(16, 5\)"):
        losses.categorical_crossentropy(ONE_HOT[:, :4], PROBS)
    with pytest.raises(ValueError, match=r"binary_crossentropy: .*y_true.shape=\(16, 2\), y_pred.shape=\(16, 3\)"):
        losses.BinaryCrossentropy()(BIN_TRUE[:, :2], BIN_PROB)
    with pytest.raises(ValueError, match=r"binary_focal_crossentropy: .*y_true.shape=\(8, 3\), "
                                         r"y_pred.shape=\(16, 3\)"):
        losses.binary_focal_crossentropy(BIN_TRUE[:8], BIN_PROB)
    with pytest.raises(ValueError, match=r"mean_squared_error: `y_true` and `y_pred` shapes do not broadcast\. "
                                         r"Received: y_true.shape=\(16, 3\), y_pred.shape=\(16, 4\)"):
        losses.MeanSquaredError()(REG_TRUE[:, :3], REG_PRED)
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy expects integer labels of shape \(16,\) "
                                         r"\(or with a size-1 class axis\) for predictions of shape \(16, 5\)\. "
                                         r"Received: y_true.shape=\(16, 5\)\. For one-hot targets use "
                                         r"'categorical_crossentropy'"):
        losses.sparse_categorical_crossentropy(ONE_HOT, PROBS)


def test_softmax_outputs_use_their_logits():
    """Keras clips log(p) at log(1e-7): a confident wrong answer loses its gradient. initium's does not."""
    logits = torch.tensor([[100.0, -100.0, 0.0], [1.0, 2.0, 3.0]], requires_grad=True)
    p = keras.activations.softmax(logits)
    assert p._keras_logits is logits
    target = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    loss = losses.categorical_crossentropy(target, p)
    expected = -(torch.log_softmax(logits.detach(), -1) * target).sum(-1)
    torch.testing.assert_close(loss.detach(), expected, rtol=1e-6, atol=1e-6)
    assert torch.isfinite(loss).all() and float(loss[0].detach()) == pytest.approx(200.0, rel=1e-6)
    keras_value = _real().losses.categorical_crossentropy(target, _real().activations.softmax(logits.detach()))
    assert float(keras_value[0]) == pytest.approx(-np.log(1e-7), rel=1e-5)  # Keras's clipped value: 16.118
    assert float(loss[1].detach()) == pytest.approx(float(keras_value[1]), rel=1e-6)  # equal where nothing clips
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all() and float(logits.grad[0].abs().sum()) > 1.0
    # label smoothing keeps its meaning on the logits path: equals Keras's from_logits=True value
    for ls in (0.1, 0.3):
        ours = losses.CategoricalCrossentropy(label_smoothing=ls)(ONE_HOT, keras.activations.softmax(
            torch.tensor(LOGITS)))
        theirs = _real().losses.CategoricalCrossentropy(from_logits=True, label_smoothing=ls)(ONE_HOT, LOGITS)
        assert float(ours) == pytest.approx(float(theirs), rel=1e-6)
    sparse = losses.sparse_categorical_crossentropy(torch.tensor([1, 2]), keras.activations.softmax(logits.detach()))
    torch.testing.assert_close(sparse, expected, rtol=1e-6, atol=1e-6)
    plain = torch.tensor([[1.0, 0.0, 0.0]])  # plain probabilities: Keras's clipped formula
    assert float(losses.categorical_crossentropy(torch.tensor([[0.0, 1.0, 0.0]]), plain)) == pytest.approx(
        -np.log(1e-7), rel=1e-5)
    z = torch.tensor([[40.0, -100.0]], requires_grad=True)
    bce = losses.binary_crossentropy(torch.tensor([[0.0, 1.0]]), keras.activations.sigmoid(z))
    assert float(bce.detach()) == pytest.approx(70.0, rel=1e-6)  # mean(40, 100); Keras's: 16.118
    bce.sum().backward()
    assert torch.isfinite(z.grad).all() and float(z.grad.abs().sum()) > 0.9
    for ls in (0.0, 0.2):
        ours = losses.BinaryCrossentropy(label_smoothing=ls)(BIN_TRUE, keras.activations.sigmoid(
            torch.tensor(BIN_LOGIT)))
        theirs = _real().losses.BinaryCrossentropy(from_logits=True, label_smoothing=ls)(BIN_TRUE, BIN_LOGIT)
        assert float(ours) == pytest.approx(float(theirs), rel=1e-6)
    focal = losses.BinaryFocalCrossentropy()(BIN_TRUE, keras.activations.sigmoid(torch.tensor(BIN_LOGIT)))
    assert float(focal) == pytest.approx(float(_real().losses.BinaryFocalCrossentropy(from_logits=True)(
        BIN_TRUE, BIN_LOGIT)), rel=1e-6)
    not_last = keras.activations.softmax(torch.tensor(LOGITS), axis=0)  # no logits kept: probability formula
    assert getattr(not_last, "_keras_logits", None) is None


def test_losses_take_no_host_sync_on_device_tensors(monkeypatch):
    calls = []

    def forbid(name):
        def fn(self, *a, **k):
            calls.append(name)
            raise AssertionError(f"host sync: Tensor.{name}")
        return fn

    y_soft = keras.activations.softmax(torch.tensor(LOGITS))
    y_sig = keras.activations.sigmoid(torch.tensor(BIN_LOGIT))
    masked = torch.tensor(REG_PRED)
    masked._keras_mask = torch.as_tensor(LABELS > 1)
    sw = torch.tensor(SW)
    for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__"):
        monkeypatch.setattr(torch.Tensor, name, forbid(name))
    for reduction in ("sum_over_batch_size", "sum", "mean_with_sample_weight", None):
        for loss, y_true, y_pred in [
            (losses.CategoricalCrossentropy(reduction=reduction, label_smoothing=0.1), torch.tensor(ONE_HOT), y_soft),
            (losses.CategoricalCrossentropy(reduction=reduction), torch.tensor(ONE_HOT), torch.tensor(PROBS)),
            (losses.SparseCategoricalCrossentropy(reduction=reduction, ignore_class=0), torch.tensor(LABELS), y_soft),
            (losses.SparseCategoricalCrossentropy(reduction=reduction, from_logits=True), torch.tensor(LABELS),
             torch.tensor(LOGITS)),
            (losses.BinaryCrossentropy(reduction=reduction), torch.tensor(BIN_TRUE), y_sig),
            (losses.BinaryFocalCrossentropy(reduction=reduction, from_logits=True), torch.tensor(BIN_TRUE),
             torch.tensor(BIN_LOGIT)),
            (losses.Hinge(reduction=reduction), torch.tensor(BIN_TRUE), torch.tensor(BIN_LOGIT)),
            (losses.MeanSquaredError(reduction=reduction), torch.tensor(REG_TRUE), masked),
            (losses.CosineSimilarity(reduction=reduction), torch.tensor(REG_TRUE), torch.tensor(REG_PRED)),
        ]:
            loss(y_true, y_pred)
            loss(y_true, y_pred, sample_weight=sw)
    assert calls == []
