"""BatchNormalization and LayerNormalization: shapes, weights, configs and Keras parity
(including the moving statistics over several training steps), masks, frozen layers, errors."""

import json
import re
import warnings

import numpy as np
import pytest
import torch

import initium
from initium import initializers, layers
from layer_testing import run_layer_test


def _keras():
    import keras

    return keras


def _np(t):
    return t.detach().cpu().numpy()


# ---------------------------------------------------------------------------------------- BatchNormalization
BN_CASES = [
    ({}, (4, 5), [(5,)] * 4, 2),
    ({"center": False}, (4, 5), [(5,)] * 3, 1),
    ({"scale": False}, (4, 5), [(5,)] * 3, 1),
    ({"center": False, "scale": False}, (4, 5), [(5,)] * 2, 0),
    ({"axis": 1}, (2, 3, 4, 5), [(3,)] * 4, 2),  # channels_first after a conv
    ({"axis": -1}, (2, 4, 5, 3), [(3,)] * 4, 2),  # channels_last images
    ({"axis": 1}, (3, 4, 6), [(4,)] * 4, 2),  # a middle axis of a sequence
    ({"axis": 2, "momentum": 0.9, "epsilon": 0.01}, (2, 3, 4, 5), [(4,)] * 4, 2),
    ({"momentum": 0.5, "gamma_initializer": "random_normal", "beta_initializer": "random_uniform",
      "moving_mean_initializer": "random_normal",
      "moving_variance_initializer": {"class_name": "Constant", "config": {"value": 2.0}}}, (6, 3), [(3,)] * 4, 2),
    ({"gamma_regularizer": "l2", "beta_regularizer": {"class_name": "L1", "config": {"l1": 0.5}}, "gamma_constraint": "non_neg",
      "beta_constraint": "max_norm"}, (4, 5), [(5,)] * 4, 2),
    ({}, (1, 5), [(5,)] * 4, 2),  # one value per channel: the hand-written training path
    ({"trainable": False}, (4, 5), [(5,)] * 4, 0),
]


@pytest.mark.parametrize("kwargs,shape,weights,n_trainable", BN_CASES)
def test_batch_normalization_parity(kwargs, shape, weights, n_trainable):
    layer = run_layer_test(layers.BatchNormalization, kwargs, input_shape=shape, expected_output_shape=shape,
                           expected_weight_shapes=weights, expected_trainable=n_trainable,
                           expected_non_trainable=len(weights) - n_trainable, training_modes=(True, False))
    names = [v.name for v in layer.weights]
    assert names == [n for n in ("gamma", "beta", "moving_mean", "moving_variance")
                     if (n != "gamma" or kwargs.get("scale", True)) and (n != "beta" or kwargs.get("center", True))]


def _pair(kwargs, shape, seed=0):
    """Our layer and Keras's, built, with Keras's (random) initial weights copied into ours."""
    keras = _keras()
    ours = layers.BatchNormalization(**kwargs)
    ours.build(shape)
    theirs = keras.layers.BatchNormalization.from_config(json.loads(json.dumps(ours.get_config())))
    theirs.build(shape)
    rng = np.random.default_rng(seed)
    init = [rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(init)
    ours.set_weights(init)
    return ours, theirs


@pytest.mark.parametrize("kwargs,shape", [({}, (8, 5)), ({"axis": 1, "momentum": 0.9}, (4, 3, 5, 6)),
                                          ({"axis": -1, "center": False}, (4, 5, 6, 3))])
def test_batch_normalization_five_training_steps_match_keras(kwargs, shape):
    keras = _keras()
    ours, theirs = _pair(kwargs, shape)
    rng = np.random.default_rng(1)
    for step in range(5):
        x = (rng.standard_normal(shape) * (1 + step) + step).astype("float32")
        out = ours(torch.from_numpy(x), training=True)
        kout = theirs(keras.ops.convert_to_tensor(x), training=True)
        np.testing.assert_allclose(_np(out), _np(kout), atol=1e-5, rtol=1e-5, err_msg=f"step {step}")
    for mine, ref, name in zip(ours.get_weights(), theirs.get_weights(), ["a", "b", "c", "d"]):
        np.testing.assert_allclose(mine, ref, atol=1e-5, rtol=1e-5, err_msg=name)
    # the statistics really moved (biased variance, Keras's momentum convention)
    x = np.ones(shape, "float32")
    np.testing.assert_allclose(_np(ours(torch.from_numpy(x))), _np(theirs(keras.ops.convert_to_tensor(x))),
                               atol=1e-5, rtol=1e-5)
    assert not np.allclose(ours.moving_variance.numpy(), 1.0)


def test_batch_normalization_update_is_the_biased_variance_with_keras_momentum():
    bn = layers.BatchNormalization(momentum=0.8)
    x = torch.tensor([[0.0, 1.0], [2.0, 5.0], [4.0, 3.0]])
    y = bn(x, training=True)
    mean, var = x.mean(0), x.var(0, unbiased=False)
    torch.testing.assert_close(bn.moving_mean.detach(), 0.2 * mean)
    torch.testing.assert_close(bn.moving_variance.detach(), 0.8 * 1.0 + 0.2 * var)
    torch.testing.assert_close(y, (x - mean) / torch.sqrt(var + 1e-3))
    # inference uses the moving statistics and leaves them alone
    before = bn.get_weights()
    z = bn(x)
    torch.testing.assert_close(z, (x - bn.moving_mean) / torch.sqrt(bn.moving_variance + 1e-3))
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_batch_normalization_training_has_gradients_and_moving_stats_have_none():
    bn = layers.BatchNormalization(axis=1)
    x = torch.randn(4, 3, 5, 5, requires_grad=True)
    (bn(x, training=True) * torch.arange(75.0).reshape(3, 5, 5)).sum().backward()
    assert bn.gamma.grad is not None and bn.beta.grad is not None and x.grad is not None
    assert bn.moving_mean.grad is None and not bn.moving_mean.requires_grad
    assert not bn.moving_variance.requires_grad
    # two training calls before one backward: the in-place statistics update must not break autograd
    y1, y2 = bn(x, training=True), bn(x, training=True)
    (y1.sum() + (y2 ** 2).sum()).backward()


def test_frozen_batch_normalization_runs_in_inference_mode():
    keras = _keras()
    ours, theirs = _pair({}, (6, 4))
    ours.trainable = False
    theirs.trainable = False
    x = np.random.default_rng(2).standard_normal((6, 4)).astype("float32")
    before = ours.get_weights()
    out = ours(torch.from_numpy(x), training=True)
    np.testing.assert_allclose(_np(out), _np(ours(torch.from_numpy(x), training=False)), atol=0, rtol=0)
    np.testing.assert_allclose(_np(out), _np(theirs(keras.ops.convert_to_tensor(x), training=True)), atol=1e-5)
    for a, b in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(a, b)
    # unfreezing brings batch statistics back
    ours.trainable = True
    ours(torch.from_numpy(x), training=True)
    assert not np.array_equal(before[2], ours.get_weights()[2])


def test_batch_normalization_in_a_model_freezes_with_the_model():
    inp = initium.Input(shape=(3,))
    bn = layers.BatchNormalization()
    model = initium.Model(inp, bn(inp))
    model.trainable = False
    model(torch.randn(5, 3), training=True)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(3, "float32"))
    assert len(bn.trainable_weights) == 0 and len(bn.non_trainable_weights) == 4


def test_batch_normalization_with_a_mask_matches_keras():
    keras = _keras()
    ours, theirs = _pair({}, (2, 6, 3))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]], dtype=bool)
    out = ours(torch.from_numpy(x), training=True, mask=torch.from_numpy(mask))
    kout = theirs(keras.ops.convert_to_tensor(x), training=True, mask=keras.ops.convert_to_tensor(mask))
    np.testing.assert_allclose(_np(out), _np(kout), atol=1e-5, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match=re.escape("The mask provided should be one dimension less than the inputs")):
        ours(torch.from_numpy(x), training=True, mask=torch.ones(2, 6, 3, dtype=torch.bool))


def test_batch_normalization_passes_a_mask_through():
    emb = layers.Embedding(5, 3, mask_zero=True)
    bn = layers.BatchNormalization()
    ids = torch.tensor([[1, 2, 0], [3, 0, 0]])
    y = bn(emb(ids), training=True)
    assert torch.equal(y._keras_mask, ids != 0)


def test_batch_normalization_defaults_and_docs():
    bn = layers.BatchNormalization()
    assert (bn.axis, bn.momentum, bn.epsilon, bn.center, bn.scale) == (-1, 0.99, 1e-3, True, True)
    assert isinstance(bn.gamma_initializer, initializers.Ones)
    assert isinstance(bn.beta_initializer, initializers.Zeros)
    assert isinstance(bn.moving_mean_initializer, initializers.Zeros)
    assert isinstance(bn.moving_variance_initializer, initializers.Ones)
    bn.build((None, 8))
    assert bn.count_params() == 32
    np.testing.assert_array_equal(bn.gamma.numpy(), np.ones(8))
    np.testing.assert_array_equal(bn.moving_variance.numpy(), np.ones(8))
    assert "biased" in layers.BatchNormalization.__doc__ and "ones" in layers.BatchNormalization.__doc__


def test_batch_normalization_regularizer_losses():
    bn = layers.BatchNormalization(gamma_regularizer=initium.regularizers.L2(0.5))
    bn.build((None, 4))
    assert len(bn.losses) == 1
    assert float(bn.losses[0].detach()) == pytest.approx(0.5 * 4)


def test_batch_normalization_synchronized_alone_is_plain():
    """synchronized=True only acts under a multi-process DataParallel (tests/test_distribution.py)."""
    x = torch.randn(16, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    plain, synced = layers.BatchNormalization(axis=1), layers.BatchNormalization(axis=1, synchronized=True)
    out_plain, out_synced = plain(x, training=True), synced(x, training=True)
    torch.testing.assert_close(out_synced, out_plain, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(synced.moving_variance, plain.moving_variance, rtol=1e-6, atol=1e-6)


def test_batch_normalization_errors():
    with pytest.raises(ValueError, match=r"renorm=True \(batch renormalization\) is not supported"):
        layers.BatchNormalization(renorm=True)
    with pytest.raises(TypeError, match=r"BatchNormalization 'bn_axis': `axis` must be an int.*Received: axis=\[1, 2\]"):
        layers.BatchNormalization(axis=[1, 2], name="bn_axis")
    bn = layers.BatchNormalization(axis=3, name="bn_far")
    with pytest.raises(ValueError, match=r"Axis 3 is out of bounds for input shape \(2, 5\).*'bn_far'"):
        bn(torch.ones(2, 5))
    bn = layers.BatchNormalization(name="bn_rank")
    bn(torch.ones(2, 5))
    with pytest.raises(ValueError, match=r"'bn_rank'.*expected ndim=2, found ndim=3"):
        bn(torch.ones(2, 5, 5))
    with pytest.raises(ValueError, match=r"'bn_rank'.*expected axis -1 of input shape to have value 5"):
        bn(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"size of axis -1 must be known"):
        layers.BatchNormalization().build((None, None))
    with pytest.raises(ValueError, match=r"Axis -3 is out of bounds"):
        layers.BatchNormalization(axis=-3).compute_output_shape((None, 4))


def test_batch_normalization_config_keeps_renorm_fields():
    cfg = layers.BatchNormalization(renorm_clipping=None, renorm_momentum=0.9).get_config()
    assert (cfg["renorm"], cfg["renorm_momentum"], cfg["synchronized"]) == (False, 0.9, False)


# ---------------------------------------------------------------------------------------- LayerNormalization
LN_CASES = [
    ({}, (3, 5), [(5,), (5,)]),
    ({"axis": [1, 2]}, (2, 3, 4), [(3, 4), (3, 4)]),
    ({"axis": (-2, -1)}, (2, 3, 4), [(3, 4), (3, 4)]),
    ({"axis": [1, 3]}, (2, 3, 4, 5), [(3, 5), (3, 5)]),  # not contiguous
    ({"axis": -1, "center": False}, (2, 3, 4), [(4,)]),
    ({"scale": False, "epsilon": 0.1}, (2, 6), [(6,)]),
    ({"center": False, "scale": False}, (2, 6), []),
    ({"gamma_initializer": "random_normal", "beta_initializer": "random_uniform", "gamma_regularizer": "l2",
      "beta_constraint": "non_neg"}, (2, 7), [(7,), (7,)]),
]


@pytest.mark.parametrize("kwargs,shape,weights", LN_CASES)
def test_layer_normalization_parity(kwargs, shape, weights):
    run_layer_test(layers.LayerNormalization, kwargs, input_shape=shape, expected_output_shape=shape,
                   expected_weight_shapes=weights, expected_trainable=len(weights), training_modes=(False, True))


def test_layer_normalization_rms_scaling_matches_keras_and_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_layer_test(layers.LayerNormalization, {"rms_scaling": True}, input_shape=(3, 5),
                       expected_output_shape=(3, 5), expected_weight_shapes=[(5,)], expected_trainable=1)
    with pytest.warns(UserWarning, match="`rms_scaling=True`, which is deprecated"):
        layers.LayerNormalization(rms_scaling=True)


def _reference_ln(x, axes, gamma, beta, eps=1e-3):
    mean = x.mean(axis=tuple(axes), keepdims=True)
    var = x.var(axis=tuple(axes), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def test_layer_normalization_middle_axis_against_numpy():
    # Keras's torch path normalizes the LAST axis for axis=[1] (a Keras bug); we normalize axis 1.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4)).astype("float32")
    ln = layers.LayerNormalization(axis=1)
    ln.build(x.shape)
    g, b = rng.standard_normal(3).astype("float32"), rng.standard_normal(3).astype("float32")
    ln.set_weights([g, b])
    ref = _reference_ln(x, [1], g.reshape(1, 3, 1), b.reshape(1, 3, 1))
    np.testing.assert_allclose(_np(ln(torch.from_numpy(x))), ref, atol=1e-5)


def test_layer_normalization_gamma_follows_the_sorted_axis_order():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4, 5)).astype("float32")
    ln = layers.LayerNormalization(axis=[-1, 1])  # sorted: [-1, 1] -> gamma shape (5, 3)
    ln(torch.from_numpy(x))
    assert ln.axis == [-1, 1] and tuple(ln.gamma.shape) == (5, 3)
    g = rng.standard_normal((5, 3)).astype("float32")
    b = rng.standard_normal((5, 3)).astype("float32")
    ln.set_weights([g, b])
    ref = _reference_ln(x, [1, 3], g.T.reshape(1, 3, 1, 5), b.T.reshape(1, 3, 1, 5))
    np.testing.assert_allclose(_np(ln(torch.from_numpy(x))), ref, atol=1e-5)


def test_layer_normalization_config_axis_like_keras():
    ln = layers.LayerNormalization()
    assert ln.get_config()["axis"] == -1
    ln.build((None, 4))
    assert ln.get_config()["axis"] == [-1]  # Keras stores the built axis as a list
    assert layers.LayerNormalization(axis=(2, 1)).get_config()["axis"] == [2, 1]
    assert isinstance(ln.gamma_initializer, initializers.Ones) and isinstance(ln.beta_initializer, initializers.Zeros)
    assert ln.epsilon == 1e-3 and ln.get_config()["rms_scaling"] is False


def test_layer_normalization_gradients_and_mask_passthrough():
    ln = layers.LayerNormalization(axis=[1, 2])
    x = torch.randn(2, 3, 4, requires_grad=True)
    (ln(x) * torch.arange(12.0).reshape(3, 4)).sum().backward()
    assert ln.gamma.grad is not None and ln.beta.grad is not None and x.grad is not None
    emb = layers.Embedding(5, 3, mask_zero=True)
    ids = torch.tensor([[1, 0]])
    assert torch.equal(layers.LayerNormalization()(emb(ids))._keras_mask, ids != 0)


def test_layer_normalization_errors():
    with pytest.raises(TypeError, match=r"Expected an int or a list/tuple of ints for the argument 'axis', but received: 'x'"):
        layers.LayerNormalization(axis="x")
    with pytest.raises(TypeError, match=r"but received: \[1, 'a'\]"):
        layers.LayerNormalization(axis=[1, "a"])
    with pytest.raises(ValueError, match=r"Axis 3 is out of bounds for input shape \(2, 4\).*'ln_far'"):
        layers.LayerNormalization(axis=3, name="ln_far")(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"names the same axis twice"):
        layers.LayerNormalization(axis=[1, -1])(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"sizes of axes \[-1\] must be known"):
        layers.LayerNormalization().build((None, None))


# ---------------------------------------------------------------------------------------- GroupNormalization
GN_CASES = [
    ({"groups": 2}, (2, 3, 4, 6), [(6,), (6,)]),
    ({"groups": 3, "axis": 1, "gamma_initializer": "random_normal", "beta_initializer": "random_uniform"},
     (2, 6, 4, 5), [(6,), (6,)]),  # channels_first
    ({"groups": -1, "center": False}, (2, 5, 4), [(4,)]),  # instance normalization
    ({"groups": 1, "axis": -2, "scale": False}, (2, 6, 4), [(6,)]),
    ({"groups": 2, "gamma_regularizer": "l2", "beta_constraint": "non_neg"}, (3, 4), [(4,), (4,)]),
    ({"groups": 4, "epsilon": 0.5}, (2, 3, 3, 2, 8), [(8,), (8,)]),
    ({"groups": 2, "center": False, "scale": False}, (2, 5, 4), []),
]


@pytest.mark.parametrize("kwargs,shape,weights", GN_CASES)
def test_group_normalization_parity(kwargs, shape, weights):
    run_layer_test(layers.GroupNormalization, kwargs, input_shape=shape, expected_output_shape=shape,
                   expected_weight_shapes=weights, expected_trainable=len(weights), training_modes=(False, True))


def test_group_normalization_normalizes_each_group_of_each_sample():
    x = torch.randn(3, 5, 8, generator=torch.Generator().manual_seed(0)) * 4 + 2
    y = _np(layers.GroupNormalization(groups=2, epsilon=0.0)(x)).reshape(3, 5, 2, 4)
    np.testing.assert_allclose(y.mean(axis=(1, 3)), np.zeros((3, 2)), atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(1, 3)), np.ones((3, 2)), rtol=1e-4)
    layer = layers.GroupNormalization(groups=-1)
    layer(x)
    assert layer.get_config()["groups"] == 8  # Keras writes the resolved count once built


def test_group_normalization_passes_a_mask_and_defaults_match_keras():
    x = torch.ones(2, 3, 4)
    x._keras_mask = torch.tensor([[True, False, True], [True, True, False]])
    assert layers.GroupNormalization(groups=2)(x)._keras_mask is x._keras_mask
    ours = layers.GroupNormalization(name="g").get_config()
    assert ours == _keras().layers.GroupNormalization(name="g").get_config()
    assert ours["groups"] == 32 and ours["epsilon"] == 1e-3


@pytest.mark.parametrize("groups, channels", [(3, 8), (16, 8)])
def test_group_normalization_groups_must_divide_channels(groups, channels):
    with pytest.raises(ValueError, match=rf"GroupNormalization 'gn': the number of channels \({channels}, axis -1 "
                                         rf"of input shape \(2, 5, {channels}\)\) must be a multiple of the number of "
                                         rf"groups\. Received: groups={groups}\. Use groups that divides {channels}: "
                                         r"one of \[1, 2, 4, 8\], or -1"):
        layers.GroupNormalization(groups=groups, name="gn")(torch.ones(2, 5, channels))
    with pytest.raises(ValueError):  # Keras raises the same type for the same mistake
        _keras().layers.GroupNormalization(groups=groups)(np.ones((2, 5, channels), "float32"))


def test_group_normalization_argument_errors():
    for bad in (0, -2, 2.5, True, "4"):
        expected = (r"Received an invalid value for argument `groups`, expected a positive integer \(or `-1` for "
                    rf"instance normalization\)\. Received: groups={re.escape(repr(bad))}")
        with pytest.raises(ValueError, match=expected):
            layers.GroupNormalization(groups=bad)
    with pytest.raises(TypeError, match=r"`axis` must be an int, the channel axis.*Received: axis=\[1\]"):
        layers.GroupNormalization(axis=[1])
    with pytest.raises(ValueError, match=r"Axis 3 is out of bounds for input shape \(2, 4\)"):
        layers.GroupNormalization(groups=2, axis=3)(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"Axis -1 of input tensor should have a defined dimension.*\(None, 3, None\)"):
        layers.GroupNormalization(groups=2).build((None, 3, None))


# ---------------------------------------------------------------------------------------- UnitNormalization
@pytest.mark.parametrize("kwargs,shape", [({}, (2, 3, 4)), ({"axis": [1, 2]}, (2, 3, 4)), ({"axis": (1,)}, (2, 3, 4)),
                                          ({"axis": 0}, (3, 5))])
def test_unit_normalization_parity(kwargs, shape):
    run_layer_test(layers.UnitNormalization, kwargs, input_shape=shape, expected_output_shape=shape,
                   expected_weight_shapes=[], expected_trainable=0)


def test_unit_normalization_gives_unit_norms_keeps_zeros_and_masks():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(layers.UnitNormalization()(x).numpy(), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    x._keras_mask = torch.tensor([True, False])
    assert layers.UnitNormalization()(x)._keras_mask is x._keras_mask
    assert layers.UnitNormalization(axis=(1, 2)).get_config()["axis"] == [1, 2]  # a list, as Keras stores it


def test_unit_normalization_errors():
    with pytest.raises(TypeError, match=r"Invalid value for `axis` argument: expected an int or a list/tuple of ints\. "
                                        r"Received: axis='x'"):
        layers.UnitNormalization(axis="x")
    with pytest.raises(ValueError, match=r"Axis 2 is out of bounds for input shape \(2, 4\).*UnitNormalization 'un'"):
        layers.UnitNormalization(axis=2, name="un")(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"Axis -3 is out of bounds"):
        layers.UnitNormalization(axis=[-3]).compute_output_shape((None, 4))
