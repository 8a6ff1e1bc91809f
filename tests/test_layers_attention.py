"""Attention layers and EinsumDense: Keras parity, masks, dropout, configs, files, errors.

Parity runs through ``run_layer_test`` (Keras builds the layer from our config, its weights are
copied into ours, outputs agree to 1e-5). Masks from ``Embedding(mask_zero=True)`` are checked
against the same Keras model with copied weights; files go both ways through real Keras.
"""

import json
import math
import re

import numpy as np
import pytest
import torch

import initium
from initium import layers
from layer_testing import run_layer_test


def _keras():
    import keras

    return keras


@pytest.fixture(autouse=True, scope="module")
def _names_restart_after_this_module():
    """The harness names layers on our side only; later modules compare automatic names with
    Keras's (``dense_3`` on both sides), so both libraries restart their names after this one."""
    yield
    _keras().backend.clear_session()
    initium.backend.clear_session()


def _mask(rows):
    return torch.tensor(rows, dtype=torch.bool)


QV = [(2, 4, 6), (2, 5, 6)]
MHA_WEIGHTS = [(6, 2, 3), (2, 3)] * 3 + [(2, 3, 6), (6,)]
ATTENTION_MASK = _mask([[[1, 1, 0, 0, 1]] * 4, [[1, 0, 0, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 1, 0, 1, 0]]])


# ------------------------------------------------------------------------------------------- MultiHeadAttention
@pytest.mark.parametrize("kwargs, call, out, weights", [
    ({"num_heads": 2, "key_dim": 3}, {}, (2, 4, 6), MHA_WEIGHTS),
    ({"num_heads": 2, "key_dim": 3}, {"use_causal_mask": True}, (2, 4, 6), MHA_WEIGHTS),
    ({"num_heads": 2, "key_dim": 3}, {"attention_mask": ATTENTION_MASK}, (2, 4, 6), MHA_WEIGHTS),  # fused path
    ({"num_heads": 2, "key_dim": 3}, {"attention_mask": ATTENTION_MASK, "use_causal_mask": True}, (2, 4, 6),
     MHA_WEIGHTS),
    ({"num_heads": 2, "key_dim": 3, "value_dim": 4, "output_shape": (2, 5), "use_bias": False}, {}, (2, 4, 2, 5),
     [(6, 2, 3), (6, 2, 3), (6, 2, 4), (2, 4, 2, 5)]),
    ({"num_heads": 3, "key_dim": 2, "dropout": 0.4, "seed": 5, "sliding_window": 2}, {}, (2, 4, 6),
     [(6, 3, 2), (3, 2)] * 3 + [(3, 2, 6), (6,)]),
    ({"num_heads": 2, "key_dim": 3, "use_gate": True, "attention_axes": -2}, {}, (2, 4, 6),
     [(6, 2, 3), (2, 3)] * 4 + [(2, 3, 6), (6,)]),
    ({"num_heads": 2, "key_dim": 3, "kernel_initializer": {"class_name": "HeNormal", "config": {"seed": 3}},
      "bias_initializer": "ones", "kernel_regularizer": "l2", "bias_regularizer": {"class_name": "L1", "config": {
          "l1": 0.1}}, "activity_regularizer": "l2", "kernel_constraint": "max_norm", "bias_constraint": "non_neg"},
     {}, (2, 4, 6), MHA_WEIGHTS),
])
def test_multi_head_attention_parity(kwargs, call, out, weights):
    layer = run_layer_test(layers.MultiHeadAttention, kwargs, input_shape=QV, expected_output_shape=out,
                           expected_weight_shapes=weights, expected_trainable=len(weights), call_kwargs=call,
                           inputs_as_args=True, training_modes=(False, True) if not kwargs.get("dropout") else (False,))
    assert [v.name for v in layer.weights] == ["kernel", "bias"][:2 if kwargs.get("use_bias", True) else 1] * (
        len(weights) // (2 if kwargs.get("use_bias", True) else 1))


def test_multi_head_attention_with_key_and_scores():
    """key != value (other lengths of features), scores returned: the explicit path, masked rows give 0."""
    run_layer_test(layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 3, "value_dim": 2, "output_shape": 7},
                   input_shape=[(2, 4, 6), (2, 5, 4), (2, 5, 3)], expected_output_shape=[(2, 4, 7), (2, 2, 4, 5)],
                   expected_weight_shapes=[(6, 2, 3), (2, 3), (3, 2, 3), (2, 3), (4, 2, 2), (2, 2), (2, 2, 7), (7,)],
                   call_kwargs={"return_attention_scores": True, "attention_mask": ATTENTION_MASK},
                   inputs_as_args=True, training_modes=(False, True))


def test_multi_head_attention_over_two_axes():
    run_layer_test(layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 2, "attention_axes": (1, 2)},
                   input_shape=[(2, 3, 2, 5), (2, 2, 3, 4)], expected_output_shape=[(2, 3, 2, 5), (2, 2, 3, 2, 2, 3)],
                   expected_weight_shapes=[(5, 2, 2), (2, 2), (4, 2, 2), (2, 2), (4, 2, 2), (2, 2), (2, 2, 5), (5,)],
                   call_kwargs={"return_attention_scores": True}, inputs_as_args=True)


def test_multi_head_attention_non_attention_axis_and_a_causal_mask():
    """Attention over axis 2 only: axis 1 is a batch-like axis (Keras's scores layout (B, X, N, T, S))."""
    run_layer_test(layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 2, "attention_axes": [2]},
                   input_shape=[(2, 3, 4, 5), (2, 3, 4, 5)], expected_output_shape=[(2, 3, 4, 5), (2, 3, 2, 4, 4)],
                   call_kwargs={"return_attention_scores": True}, inputs_as_args=True)


def test_self_attention_with_keras_masks_matches_keras():
    """``mha(x, x)`` with x's Keras mask: query and value masks combine; a fully masked query row
    goes through the fused path (uniform over keys) and, with scores, the explicit one (zeros)."""
    keras = _keras()
    torch.manual_seed(0)
    x = torch.randn(3, 5, 6)
    mask = _mask([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]])
    theirs, ours = keras.layers.MultiHeadAttention(2, 3), layers.MultiHeadAttention(2, 3)
    theirs(x, x)
    ours(x, x)
    ours.set_weights(theirs.get_weights())
    for scores in (False, True):
        kx, ix = x.clone(), x.clone()
        kx._keras_mask, ix._keras_mask = mask, mask
        expected = theirs(kx, kx, return_attention_scores=scores)
        got = ours(ix, ix, return_attention_scores=scores)
        for a, b in zip(got if scores else [got], expected if scores else [expected]):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-5)
        output = got[0] if scores else got
        torch.testing.assert_close(output._keras_mask, mask)
    unmasked = ours(x, x)
    assert not torch.allclose(unmasked, got[0])


def test_explicit_masks_equal_keras_masks():
    """``value_mask=`` / ``key_mask=`` passed explicitly act as the tensors' own Keras masks, and
    (unlike Keras, which ignores it) so does ``query_mask=``."""
    torch.manual_seed(1)
    q, v, k = torch.randn(2, 4, 6), torch.randn(2, 5, 3), torch.randn(2, 5, 4)
    qm, vm, km = _mask([[1, 1, 0, 1], [1, 1, 1, 1]]), _mask([[1, 0, 1, 1, 1], [1, 1, 1, 0, 0]]), _mask(
        [[1, 1, 1, 1, 0], [1, 0, 1, 1, 1]])
    layer = layers.MultiHeadAttention(2, 3)
    explicit = layer(q, v, key=k, query_mask=qm, value_mask=vm, key_mask=km)
    q2, v2, k2 = q.clone(), v.clone(), k.clone()
    q2._keras_mask, v2._keras_mask, k2._keras_mask = qm, vm, km
    torch.testing.assert_close(layer(q2, v2, key=k2), explicit)
    combined = qm[:, :, None] & vm[:, None, :] & km[:, None, :]
    torch.testing.assert_close(layer(q, v, key=k, attention_mask=combined), explicit)
    torch.testing.assert_close(explicit._keras_mask, qm)


def test_symbolic_shapes_with_scores():
    q, v = initium.Input((4, 6)), initium.Input((7, 3))
    out, scores = layers.MultiHeadAttention(2, 3, output_shape=(2, 2))(q, v, return_attention_scores=True)
    assert out.shape == (None, 4, 2, 2) and scores.shape == (None, 2, 4, 7)
    out, scores = layers.GroupQueryAttention(3, 4, 2)(q, v, return_attention_scores=True)
    assert out.shape == (None, 4, 6) and scores.shape == (None, 4, 4, 7)
    out, scores = layers.Attention()([q, initium.Input((7, 6))], return_attention_scores=True)
    assert out.shape == (None, 4, 6) and scores.shape == (None, 4, 7)


def test_config_before_build_and_flash_attention_is_not_in_it():
    layer = layers.MultiHeadAttention(2, 3, attention_axes=2, flash_attention=False, output_shape=5)
    config = layer.get_config()
    assert config["attention_axes"] == (2,) and config["output_shape"] == (5,) and "flash_attention" not in config
    assert layers.MultiHeadAttention.from_config(config).get_config() == config
    keras = _keras()
    assert keras.layers.MultiHeadAttention.from_config(json.loads(json.dumps(config))).get_config()[
        "attention_axes"] == [2]


def test_serialized_layer_rebuilds_from_its_build_config():
    keras = _keras()
    layer = layers.MultiHeadAttention(2, 3)
    layer(torch.zeros(1, 4, 6), torch.zeros(1, 5, 3), key=torch.zeros(1, 5, 2))
    entry = json.loads(json.dumps(layers.serialize(layer)))
    assert entry["build_config"] == {"shapes_dict": {"query_shape": [1, 4, 6], "value_shape": [1, 5, 3],
                                                     "key_shape": [1, 5, 2]}}
    again = layers.deserialize(entry)
    assert again.built and [tuple(w.shape) for w in again.weights] == [tuple(w.shape) for w in layer.weights]
    theirs = keras.layers.deserialize(entry)
    assert [tuple(w.shape) for w in theirs.weights] == [tuple(w.shape) for w in layer.weights]
    with pytest.raises(ValueError, match=r"build_config must be \{'shapes_dict'"):
        layers.MultiHeadAttention(2, 3).build_from_config({"shapes_dict": {"query_shape": [1, 4, 6]}})
    with pytest.raises(ValueError, match=r"build_config\['shapes_dict'\]\['value_shape'\]"):
        layers.MultiHeadAttention(2, 3).build_from_config({"shapes_dict": {"query_shape": [1, 4, 6],
                                                                           "value_shape": "big"}})


def test_projection_kernels_have_the_projection_fans():
    """Each EinsumDense kernel is drawn with the fans of its projection (Keras's axes rule): the
    query kernel (16, 4, 8) is a 16 -> 32 map, so glorot_uniform's limit is sqrt(6 / 48)."""
    initium.random.set_random_seed(0)
    layer = layers.MultiHeadAttention(4, 8)
    layer(torch.zeros(1, 3, 16), torch.zeros(1, 3, 16))
    query, output = layer.query_dense.kernel, layer.output_dense.kernel
    assert (query.initializer.input_axes, query.initializer.output_axes) == ([0], [1, 2])
    assert (output.initializer.input_axes, output.initializer.output_axes) == ([0, 1], [2])
    assert layer.get_config()["kernel_initializer"]["config"]["input_axes"] is None
    for kernel, fans in ((query, 16 + 32), (output, 32 + 16)):
        values = kernel.detach().numpy().ravel()
        limit = math.sqrt(6 / fans)
        assert np.abs(values).max() <= limit and np.abs(values).max() > 0.95 * limit
        se = (limit ** 2 / 3) * math.sqrt(2 / (values.size - 1)) * 1.5  # var of U(-l, l) is l^2/3; SE of s^2 (approx.)
        assert abs(values.var() - limit ** 2 / 3) < 4 * se


@pytest.mark.parametrize("name, kwargs", [("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}),
                                          ("GroupQueryAttention", {"head_dim": 3, "num_query_heads": 4,
                                                                   "num_key_value_heads": 2})])
def test_regularization_losses_match_keras(name, kwargs):
    """Weight penalties of every projection, and the activity penalty where Keras puts it: on each
    projection's output (both layers), and on GroupQueryAttention's own output too."""
    keras = _keras()
    kwargs = {**kwargs, "kernel_regularizer": "l2", "bias_regularizer": "l1", "activity_regularizer": "l2",
              "bias_initializer": "ones"}
    theirs, ours = getattr(keras.layers, name)(**kwargs), getattr(layers, name)(**kwargs)
    torch.manual_seed(7)
    q, v = torch.randn(2, 4, 6), torch.randn(2, 5, 6)
    theirs(q, v)
    ours(q, v)
    ours.set_weights(theirs.get_weights())
    theirs(q, v)
    ours(q, v)
    assert len(ours.losses) == len(theirs.losses) == (12 if name == "MultiHeadAttention" else 13)
    np.testing.assert_allclose(float(sum(ours.losses)), float(sum(theirs.losses)), rtol=1e-6)


# ------------------------------------------------------------------------------------------- dropout
def _mha_pair(**kwargs):
    a, b = layers.MultiHeadAttention(2, 3, **kwargs), layers.MultiHeadAttention(2, 3, **kwargs)
    torch.manual_seed(2)
    q, v = torch.randn(2, 4, 6), torch.randn(2, 5, 6)
    a(q, v)
    b(q, v)
    b.set_weights(a.get_weights())
    return a, b, q, v


def test_attention_dropout_is_seeded_and_only_in_training():
    a, b, q, v = _mha_pair(dropout=0.5, seed=11)
    first, second = a(q, v, training=True), a(q, v, training=True)
    torch.testing.assert_close(b(q, v, training=True), first)  # same seed, same sequence of masks
    torch.testing.assert_close(b(q, v, training=True), second)
    assert not torch.allclose(first, second)
    torch.testing.assert_close(a(q, v), a(q, v, training=False))
    out, scores = a(q, v, training=True, return_attention_scores=True)
    torch.testing.assert_close(scores.sum(-1), torch.ones(2, 2, 4))  # scores are the probabilities before dropout


def test_attention_dropout_is_unbiased():
    """E[dropout(p) / (1 - rate)] = p, and the rest is linear: the mean of many training outputs is the
    inference output (each element within 5 standard errors of the mean). The 400 draws are one
    call on 400 copies of the batch (each copy gets its own dropout mask)."""
    layer, _, q, v = _mha_pair(dropout=0.3, seed=4)
    draws = layer(q.repeat(400, 1, 1), v.repeat(400, 1, 1), training=True).detach().reshape(400, *q.shape[:-1], -1)
    mean, se = draws.mean(0), draws.std(0) / math.sqrt(len(draws))
    assert torch.all((mean - layer(q, v)).abs() <= 5 * se + 1e-6)


def test_attention_layer_dropout_rate_and_seed():
    """Attention draws from initium.random with its SeedGenerator: the returned (dropped) weights
    are 0 with probability `dropout` (binomial, 5 standard deviations), else p / (1 - rate)."""
    torch.manual_seed(0)
    q, v = torch.randn(4, 30, 5), torch.randn(4, 30, 5)
    layer, twin = layers.Attention(dropout=0.25, seed=9), layers.Attention(dropout=0.25, seed=9)
    _, dropped = layer([q, v], training=True, return_attention_scores=True)
    _, again = twin([q, v], training=True, return_attention_scores=True)
    torch.testing.assert_close(dropped, again)
    _, plain = layer([q, v], return_attention_scores=True)
    n = dropped.numel()
    zeros = int((dropped == 0).sum())
    assert abs(zeros - 0.25 * n) < 5 * math.sqrt(n * 0.25 * 0.75)
    kept = dropped != 0
    torch.testing.assert_close(dropped[kept], plain[kept] / 0.75)


# ------------------------------------------------------------------------------------------- GroupQueryAttention
GQA_WEIGHTS = [(6, 4, 3), (4, 3), (6, 2, 3), (2, 3), (6, 2, 3), (2, 3), (4, 3, 6), (6,)]


@pytest.mark.parametrize("kwargs, call, shapes, out, weights", [
    ({"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}, {}, QV, (2, 4, 6), GQA_WEIGHTS),
    ({"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}, {"use_causal_mask": True}, QV, (2, 4, 6),
     GQA_WEIGHTS),
    ({"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2},
     {"attention_mask": ATTENTION_MASK, "return_attention_scores": True}, QV, [(2, 4, 6), (2, 4, 4, 5)],
     GQA_WEIGHTS),
    ({"head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 1, "use_bias": False, "use_gate": True,
      "sliding_window": 2, "dropout": 0.2, "seed": 1}, {}, [(2, 4, 6), (2, 5, 4), (2, 5, 3)], (2, 4, 6),
     [(6, 3, 2), (3, 1, 2), (6, 3, 2), (4, 1, 2), (3, 2, 6)]),
    ({"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 2, "kernel_regularizer": "l1",
      "activity_regularizer": "l2", "bias_initializer": "he_uniform"}, {"use_causal_mask": True,
                                                                        "attention_mask": ATTENTION_MASK}, QV,
     (2, 4, 6), [(6, 2, 3), (2, 3)] * 3 + [(2, 3, 6), (6,)]),
])
def test_group_query_attention_parity(kwargs, call, shapes, out, weights):
    layer = run_layer_test(layers.GroupQueryAttention, kwargs, input_shape=shapes, expected_output_shape=out,
                           expected_weight_shapes=weights, call_kwargs=call, inputs_as_args=True,
                           training_modes=(False,) if kwargs.get("dropout") else (False, True))
    assert layer.name.startswith("grouped_query_attention")


def test_group_query_attention_keras_masks_match_keras():
    keras = _keras()
    torch.manual_seed(4)
    q, v = torch.randn(2, 4, 6), torch.randn(2, 5, 6)
    qm, vm = _mask([[1, 1, 0, 0], [1, 1, 1, 1]]), _mask([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1]])
    theirs, ours = keras.layers.GroupQueryAttention(3, 4, 2), layers.GroupQueryAttention(3, 4, 2)
    theirs(q, v)
    ours(q, v)
    ours.set_weights(theirs.get_weights())
    kq, kv, iq, iv = q.clone(), v.clone(), q.clone(), v.clone()
    kq._keras_mask, kv._keras_mask, iq._keras_mask, iv._keras_mask = qm, vm, qm, vm
    got = ours(iq, iv)
    np.testing.assert_allclose(got.detach().numpy(), theirs(kq, kv).detach().numpy(), atol=1e-5)
    torch.testing.assert_close(got._keras_mask, qm)


# ------------------------------------------------------------------------------------------- Attention
@pytest.mark.parametrize("cls, kwargs, shapes, call, out, weights", [
    ("Attention", {}, QV, {}, (2, 4, 6), []),
    ("Attention", {"use_scale": True, "score_mode": "concat"}, QV, {"use_causal_mask": True}, (2, 4, 6), [(), ()]),
    ("Attention", {"use_scale": True}, [(2, 4, 6), (2, 5, 3), (2, 5, 6)], {"return_attention_scores": True},
     [(2, 4, 3), (2, 4, 5)], [()]),
    ("Attention", {"dropout": 0.3, "seed": 2}, QV,
     {"mask": [_mask([[1, 1, 0, 1], [0, 0, 0, 0]]), _mask([[1, 1, 1, 0, 0], [1, 0, 1, 0, 1]])],
      "return_attention_scores": True}, [(2, 4, 6), (2, 4, 5)], []),
    ("AdditiveAttention", {}, QV, {}, (2, 4, 6), [(6,)]),
    ("AdditiveAttention", {"use_scale": False}, [(2, 4, 6), (2, 5, 3), (2, 5, 6)],
     {"use_causal_mask": True, "return_attention_scores": True}, [(2, 4, 3), (2, 4, 5)], []),
    ("AdditiveAttention", {"dropout": 0.2, "seed": 3}, QV, {"mask": [None, _mask([[1, 1, 1, 0, 0], [1] * 5])]},
     (2, 4, 6), [(6,)]),
])
def test_attention_parity(cls, kwargs, shapes, call, out, weights):
    run_layer_test(getattr(layers, cls), kwargs, input_shape=shapes, expected_output_shape=out,
                   expected_weight_shapes=weights, call_kwargs=call,
                   training_modes=(False,) if kwargs.get("dropout") else (False, True))


def test_attention_takes_and_gives_keras_masks():
    """Inputs' Keras masks are the default `mask`; the output carries the query's; masked queries give 0."""
    keras = _keras()
    torch.manual_seed(5)
    q, v = torch.randn(2, 4, 6), torch.randn(2, 5, 6)
    qm, vm = _mask([[1, 1, 0, 1], [1, 1, 1, 1]]), _mask([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1]])
    for cls in ("Attention", "AdditiveAttention"):
        theirs, ours = getattr(keras.layers, cls)(), getattr(layers, cls)()
        theirs([q, v])
        ours([q, v])
        ours.set_weights(theirs.get_weights())
        kq, kv, iq, iv = q.clone(), v.clone(), q.clone(), v.clone()
        kq._keras_mask, kv._keras_mask, iq._keras_mask, iv._keras_mask = qm, vm, qm, vm
        got = ours([iq, iv])
        np.testing.assert_allclose(got.detach().numpy(), theirs([kq, kv]).detach().numpy(), atol=1e-5)
        torch.testing.assert_close(got._keras_mask, qm)
        assert torch.all(got[0, 2] == 0)
        torch.testing.assert_close(ours([q, v], mask=[qm, vm]), got)


# ------------------------------------------------------------------------------------------- EinsumDense
@pytest.mark.parametrize("kwargs, shape, out, weights", [
    ({"equation": "abc,cd->abd", "output_shape": (None, 4), "bias_axes": "d"}, (2, 3, 5), (2, 3, 4), [(5, 4), (4,)]),
    ({"equation": "ab,bc->ac", "output_shape": 4, "activation": "relu"}, (2, 5), (2, 4), [(5, 4)]),
    ({"equation": "abc,cde->abde", "output_shape": (None, 2, 3), "bias_axes": "de", "kernel_regularizer": "l2",
      "activity_regularizer": "l1", "kernel_constraint": "unit_norm", "bias_initializer": "random_normal"},
     (2, 4, 5), (2, 4, 2, 3), [(5, 2, 3), (2, 3)]),
    ({"equation": "abcd,cde->abe", "output_shape": (None, 6), "bias_axes": "e"}, (2, 4, 2, 3), (2, 4, 6),
     [(2, 3, 6), (6,)]),
    ({"equation": "...b,bc->...c", "output_shape": 4, "bias_axes": "c"}, (2, 3, 5, 6), (2, 3, 5, 4), [(6, 4), (4,)]),
    ({"equation": "ab...,bc->ac...", "output_shape": 4, "bias_axes": "c"}, (2, 5, 3, 2), (2, 4, 3, 2),
     [(5, 4), (4, 1, 1)]),
    ({"equation": "abc,cd->abd", "output_shape": (3, 4), "bias_axes": "bd"}, (2, 3, 5), (2, 3, 4), [(5, 4), (3, 4)]),
])
def test_einsum_dense_parity(kwargs, shape, out, weights):
    layer = run_layer_test(layers.EinsumDense, kwargs, input_shape=shape, expected_output_shape=out,
                           expected_weight_shapes=weights, training_modes=(False, True))
    assert [v.name for v in layer.weights] == ["kernel", "bias"][:len(weights)]


def test_einsum_dense_fills_known_sizes_in_its_output_shape():
    """Keras leaves a None it was given (``(None, None, 4)``); the input's size is known, so initium fills it."""
    assert layers.EinsumDense("abc,cd->abd", (None, 4))(initium.Input((5, 8))).shape == (None, 5, 4)
    assert layers.EinsumDense("...b,bc->...c", 4)(initium.Input((5, 7, 8))).shape == (None, 5, 7, 4)


# ------------------------------------------------------------------------------------------- models and files
def _transformer_block(lib, kind):
    """Embedding(mask_zero) -> self-attention + residual + LayerNorm -> feed-forward + residual ->
    masked mean pooling -> Dense; or, for ``kind="dot"``, Attention and AdditiveAttention on the
    embedding, and an EinsumDense head."""
    L = lib.layers
    ids = lib.Input((6,), dtype="int32")
    x = L.Embedding(20, 8, mask_zero=True)(ids)
    if kind == "dot":
        h = L.Add()([L.Attention(use_scale=True, score_mode="concat")([x, x]), L.AdditiveAttention()([x, x])])
    else:
        if kind == "gqa":
            attention = L.GroupQueryAttention(4, 4, 2)
        else:
            attention = L.MultiHeadAttention(2, 4, dropout=0.1, use_gate=True)
        h = L.LayerNormalization()(L.Add()([x, attention(x, x)]))
        h = L.Add()([h, L.Dense(8)(L.Dense(16, activation="relu")(h))])
    head = L.EinsumDense("ab,bc->ac", 3, bias_axes="c") if kind == "dot" else L.Dense(3)
    return lib.Model(ids, head(L.GlobalAveragePooling1D()(h)))


IDS = np.array([[3, 5, 7, 0, 0, 0], [1, 2, 3, 4, 5, 6], [9, 0, 0, 0, 0, 0]], "int32")


@pytest.mark.parametrize("kind", ["mha", "gqa", "dot"])
def test_transformer_block_matches_keras_and_files_go_both_ways(kind, tmp_path):
    """Same predictions as Keras with Keras's weights (masks from the Embedding included; this
    needs Dense to pass masks on, as Keras's does), and .keras / .weights.h5 files both ways."""
    keras = _keras()
    theirs = _transformer_block(keras, kind)
    ours = _transformer_block(initium, kind)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    expected = theirs.predict(IDS, verbose=0)
    np.testing.assert_allclose(ours.predict(IDS, verbose=0), expected, atol=1e-5)

    # Keras's files -> initium
    theirs.save(str(tmp_path / "k.keras"))
    theirs.save_weights(str(tmp_path / "k.weights.h5"))
    loaded = initium.models.load_model(str(tmp_path / "k.keras"))
    np.testing.assert_allclose(loaded.predict(IDS, verbose=0), expected, atol=1e-5)
    fresh = _transformer_block(initium, kind)
    fresh.load_weights(str(tmp_path / "k.weights.h5"))
    np.testing.assert_allclose(fresh.predict(IDS, verbose=0), expected, atol=1e-5)

    # initium's files -> Keras
    fresh.save(str(tmp_path / "i.keras"))
    fresh.save_weights(str(tmp_path / "i.weights.h5"))
    np.testing.assert_allclose(keras.models.load_model(str(tmp_path / "i.keras")).predict(IDS, verbose=0), expected,
                               atol=1e-5)
    other = _transformer_block(keras, kind)
    other.load_weights(str(tmp_path / "i.weights.h5"))
    np.testing.assert_allclose(other.predict(IDS, verbose=0), expected, atol=1e-5)


def test_padding_stays_masked_in_stacked_blocks():
    """Two attention blocks on a padded sequence: the outputs at real tokens do not depend on the
    padding's embedding (every block masks it; Keras's second block would not, see the module docs)."""
    L = layers
    ids = initium.Input((6,), dtype="int32")
    embedding = L.Embedding(20, 8, mask_zero=True)
    h = embedding(ids)
    for _ in range(2):
        h = L.LayerNormalization()(L.Add()([h, L.MultiHeadAttention(2, 4)(h, h)]))
    model = initium.Model(ids, h)
    before = model.predict(IDS, verbose=0)
    with torch.no_grad():
        embedding.embeddings[0] += 3.0
    after = model.predict(IDS, verbose=0)
    real = IDS != 0
    np.testing.assert_allclose(after[real], before[real], atol=1e-5)
    assert not np.allclose(after[~real], before[~real])


def test_model_with_attention_mask_input_round_trips(tmp_path):
    """MHA called with a mask input and scores as an output: the node's keyword arguments go
    through the config both ways."""
    keras = _keras()

    def build(lib):
        q, v, m = lib.Input((4, 6)), lib.Input((5, 6)), lib.Input((4, 5), dtype="bool")
        out, scores = lib.layers.MultiHeadAttention(2, 3)(q, v, attention_mask=m, return_attention_scores=True,
                                                          use_causal_mask=True)
        return lib.Model([q, v, m], [out, scores])

    theirs, ours = build(keras), build(initium)
    ours.set_weights(theirs.get_weights())
    torch.manual_seed(6)
    data = [np.random.default_rng(0).standard_normal(s).astype("float32") for s in ((2, 4, 6), (2, 5, 6))]
    data.append(ATTENTION_MASK.numpy())
    expected = theirs.predict(data, verbose=0)
    ours.save(str(tmp_path / "i.keras"))
    for model in (ours, keras.models.load_model(str(tmp_path / "i.keras"))):
        for a, b in zip(model.predict(data, verbose=0), expected):
            np.testing.assert_allclose(a, b, atol=1e-5)
    theirs.save(str(tmp_path / "k.keras"))
    for a, b in zip(initium.models.load_model(str(tmp_path / "k.keras")).predict(data, verbose=0), expected):
        np.testing.assert_allclose(a, b, atol=1e-5)


# ------------------------------------------------------------------------------------------- errors
def _both_raise(make, error, match):
    """The same mistake: Keras raises ``error``, initium raises it too, with a message matching ``match``."""
    with pytest.raises(error):
        make(_keras().layers)
    with pytest.raises(error, match=match):
        make(layers)


Q, V = torch.zeros(2, 4, 6), torch.zeros(2, 5, 6)


@pytest.mark.parametrize("make, error, match", [
    (lambda L: L.MultiHeadAttention(0, 2), ValueError, r"`num_heads`.*positive integer.*num_heads=0"),
    (lambda L: L.MultiHeadAttention(2, "2"), ValueError, r"`key_dim`.*key_dim='2'"),
    (lambda L: L.MultiHeadAttention(2, 2, value_dim=-1), ValueError, r"`value_dim`.*value_dim=-1"),
    (lambda L: L.MultiHeadAttention(2, 2, attention_axes="x"), ValueError, r"`attention_axes` must be an int"),
    (lambda L: L.MultiHeadAttention(2, 2, sliding_window=0), ValueError, r"`sliding_window`.*sliding_window=0"),
    (lambda L: L.MultiHeadAttention(2, 2, dropout=0.1, flash_attention=True), ValueError,
     r"Dropout is not supported when flash attention is enabled"),
    (lambda L: L.MultiHeadAttention(2, 2)(Q, V, key=torch.zeros(2, 3, 6)), ValueError,
     r"All dimensions of `value` and `key`, except the last one.*value_shape=\(2, 5, 6\) and key_shape=\(2, 3, 6\)"),
    (lambda L: L.MultiHeadAttention(2, 2)(Q, torch.zeros(2, 5, 3, 6)), ValueError,
     r"MultiHeadAttention '.*': `query`, `value` and `key` must have the same rank.*value_shape=\(2, 5, 3, 6\)"),
    (lambda L: L.MultiHeadAttention(2, 2)(Q, V, attention_mask=torch.ones(2, 4, 4, dtype=torch.bool),
                                         return_attention_scores=True), ValueError,
     r"attention mask of shape \(2, 4, 4\) does not broadcast to the attention scores.*\(2, 2, 4, 5\)"),
    (lambda L: L.MultiHeadAttention(2, 2, flash_attention=True)(Q, V, return_attention_scores=True), ValueError,
     r"Returning attention scores is not supported when flash attention is enabled"),
    (lambda L: L.GroupQueryAttention(3, 4, 3), ValueError,
     r"`num_query_heads` must be divisible by `num_key_value_heads`.*num_query_heads=4, num_key_value_heads=3"),
    (lambda L: L.GroupQueryAttention(3, 4, 2, dropout=0.1, flash_attention=True), ValueError,
     r"Dropout is not supported when flash attention is enabled"),
    (lambda L: L.Attention(score_mode="sum"), ValueError, r"score_mode.*\{'dot', 'concat'\}.*'sum'"),
    (lambda L: L.Attention()(Q), ValueError, r"must be called on a list of inputs.*\[query, value\]"),
    (lambda L: L.Attention()([Q]), ValueError, r"accepts inputs list of length 2 or 3.*Received length: 1"),
    (lambda L: L.Attention()([Q, V], mask=torch.ones(2, 4, dtype=torch.bool)), ValueError,
     r"mask must be a list, namely \[query_mask, value_mask\]"),
    (lambda L: L.EinsumDense("abc", 4)(torch.zeros(2, 3)), ValueError, r"Invalid einsum equation 'abc'"),
    (lambda L: L.EinsumDense("abc,cd->abd", (None, 4), bias_axes="x")(Q), ValueError,
     r"bias dimension 'x' was requested, but is not part of the output spec 'abd'"),
    (lambda L: L.EinsumDense("abc,cd->abd", (5, 4))(Q), ValueError,
     r"do not match at shared dimension 'b': the input has 4, output_shape says 5"),
])
def test_errors_have_keras_types_and_say_what_to_do(make, error, match):
    _both_raise(make, error, match)


@pytest.mark.parametrize("make, match", [
    # Keras fails inside torch (RuntimeError, or later garbage): initium names the layer and the shapes.
    (lambda: layers.MultiHeadAttention(2, 2)(Q, V, attention_mask=torch.ones(2, 4, 4, dtype=torch.bool)),
     r"MultiHeadAttention '.*': the attention mask of shape \(2, 4, 4\) does not broadcast.*Pass `attention_mask` of "
     r"shape \(batch, query length, key length\)"),
    (lambda: layers.MultiHeadAttention(2, 2, attention_axes=(3,))(Q, V), r"attention_axes=\(3,\) must name distinct "
     r"axes of the query between its batch axis and its features axis, i.e. within 1..1"),
    (lambda: layers.MultiHeadAttention(2, 2)(Q, V, value_mask=_mask([[1, 0, 1, 1]] * 2)),
     r"`value_mask` must have the shape of its input without the features axis, value.shape\[:-1\] = \(2, 5\)"),
    (lambda: layers.Attention()([Q, torch.zeros(2, 5, 7), torch.zeros(2, 5, 5)]),
     r"query and key must have the same number of features.*query=\(2, 4, 6\), key=\(2, 5, 5\)"),
    (lambda: layers.Attention()([Q, V], mask=[None, _mask([[1, 1, 1, 1]] * 2)]),
     r"Attention '.*': `value_mask` must have the shape of its input.*\(2, 5\)"),
    (lambda: layers.EinsumDense("abc,cd->abd", (None, 4))(torch.zeros(2, 3)),
     r"the input must have rank 3 \(one axis per input letter 'abc'\). Received an input of shape \(2, 3\)"),
    (lambda: layers.EinsumDense("abc,cd->abd", 4)(Q), r"`output_shape` needs 2 entries"),
    (lambda: layers.EinsumDense("abc,ce->abd", (None, 4))(Q), r"dimension 'd' is in the output 'abd' but in neither"),
])
def test_errors_where_keras_fails_late_are_clear_value_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_layer_built_for_one_shape_names_the_shape_on_another():
    layer = layers.MultiHeadAttention(2, 2)
    layer(Q, V)
    with pytest.raises(ValueError, match=re.escape("was built for `value` of shape (2, 5, 6) (rank and features "
                                                   "fixed); it received value.shape=(2, 5, 7)")):
        layer(Q, torch.zeros(2, 5, 7))
    with pytest.raises(ValueError, match=r"`query` and `value` must have the same batch size"):
        layer(Q, torch.zeros(3, 5, 6))
    with pytest.raises(TypeError, match=r"MultiHeadAttention '.*': missing a required argument: 'value'"):
        layer(Q)
