"""Masking, Identity, Lambda and TorchModuleWrapper, against Keras 3 (torch backend).

Masking and Identity run through ``run_layer_test``; Masking's mask and zeroing are compared with
Keras's, also inside a model. Lambda: Keras's config (bytecode for a lambda, a name for a named
function), its output shapes and masks, a functional model with a Lambda that trains, and the
refusals (a file, a stored lambda). TorchModuleWrapper: weight names, order and trainability as
Keras's wrapper gives them, outputs and training mode, training in ``fit``, the weights file in
Keras's layout both ways, and the refusal to write the module into a config.
"""

import copy
import json
import os
import warnings

import h5py
import numpy as np
import pytest
import torch

import initium
from initium import layers
from layer_testing import run_layer_test


def _keras():
    import keras

    return keras


def _np(t):
    return _keras().ops.convert_to_numpy(t) if not isinstance(t, torch.Tensor) else t.detach().cpu().numpy()


# ------------------------------------------------------------------------------------------ Masking
@pytest.mark.parametrize("kwargs", [{}, {"mask_value": 1.5}])
def test_masking_matches_keras(kwargs):
    run_layer_test(layers.Masking, kwargs, input_shape=(2, 4, 3), expected_output_shape=(2, 4, 3),
                   expected_weight_shapes=[], expected_trainable=0)


def _padded(mask_value=0.0):
    x = np.random.default_rng(0).standard_normal((3, 5, 2)).astype("float32")
    x[0, 1] = x[1, 3] = mask_value
    x[0, 2, 0] = mask_value  # one feature only: not masked
    return x


@pytest.mark.parametrize("mask_value", [0.0, -1.0])
def test_masking_mask_and_zeroed_steps_match_keras(mask_value):
    x = _padded(mask_value)
    ours = layers.Masking(mask_value=mask_value)(torch.from_numpy(x))
    theirs = _keras().layers.Masking(mask_value=mask_value)(x)
    np.testing.assert_array_equal(ours.numpy(), _np(theirs))
    np.testing.assert_array_equal(ours._keras_mask.numpy(), _np(theirs._keras_mask))
    expected = np.ones((3, 5), bool)
    expected[0, 1] = expected[1, 3] = False
    np.testing.assert_array_equal(ours._keras_mask.numpy(), expected)
    assert np.all(ours.numpy()[~expected] == 0)  # masked steps are zeroed, whatever the mask value
    # compute_mask alone, on a numpy array, as Keras allows
    direct = layers.Masking(mask_value=mask_value).compute_mask(x)
    np.testing.assert_array_equal(direct.numpy(), _np(_keras().layers.Masking(mask_value=mask_value).compute_mask(x)))


def test_masking_drives_masked_pooling_like_keras():
    keras = _keras()
    x = _padded()
    inp = initium.Input(shape=(5, 2))
    model = initium.Model(inp, layers.GlobalAveragePooling1D()(layers.Masking()(inp)))
    kin = keras.Input(shape=(5, 2))
    kmodel = keras.Model(kin, keras.layers.GlobalAveragePooling1D()(keras.layers.Masking()(kin)))
    np.testing.assert_allclose(model.predict(x, verbose=0), kmodel.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0)[1], np.delete(x[1], 3, axis=0).mean(axis=0), atol=1e-6)


def test_masking_accepts_a_serialized_tensor_mask_value():
    layer = layers.Masking(mask_value={"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float32"}})
    y = layer(torch.tensor([[[1.0, 2.0], [1.0, 3.0]]]))
    np.testing.assert_array_equal(y._keras_mask.numpy(), [[False, True]])


# ------------------------------------------------------------------------------------------ Identity
def test_identity_matches_keras_and_passes_masks_and_dtypes():
    run_layer_test(layers.Identity, {}, input_shape=(2, 3, 4), expected_output_shape=(2, 3, 4),
                   expected_weight_shapes=[], expected_trainable=0)
    x = torch.arange(6).reshape(2, 3)
    x._keras_mask = torch.tensor([[True, False, True], [True, True, False]])
    y = layers.Identity()(x)
    assert y is x and y._keras_mask is x._keras_mask
    assert layers.Identity()(initium.Input(shape=(3,), dtype="int32")).dtype == "int32"
    a, b = initium.Input(shape=(2,)), initium.Input(shape=(3,))
    assert [t.shape for t in layers.Identity()([a, b])] == [(None, 2), (None, 3)]


# ------------------------------------------------------------------------------------------ Lambda
def square(x, power=2):
    return x ** power


def test_lambda_config_is_keras_config():
    keras = _keras()
    scale = 3.0
    cases = [
        (lambda x: x * 2, {}),
        (lambda x, a=2: x * a * scale, {}),  # defaults and a closure
        (square, {"output_shape": (4,), "arguments": {"power": 3}}),
        (square, {"mask": lambda inputs, mask: mask, "arguments": {"power": np.array([1.0, 2.0], "float32")}}),
        (square, {"arguments": {"power": torch.tensor([2.0])}, "output_shape": lambda s: s}),
    ]
    for fn, kwargs in cases:
        ours = layers.Lambda(fn, name="lam", **kwargs).get_config()
        theirs = keras.layers.Lambda(fn, name="lam", **kwargs).get_config()
        assert list(ours) == list(theirs)
        assert json.dumps(ours, sort_keys=True, default=list) == json.dumps(theirs, sort_keys=True, default=list)


def test_lambda_named_function_config_and_from_config_in_code():
    layer = layers.Lambda(square, output_shape=(3,), arguments={"power": 3})
    config = json.loads(json.dumps(layer.get_config()))
    assert config["function"] == {"module": "builtins", "class_name": "function", "config": "square",
                                  "registered_name": "function"}
    again = layers.Lambda.from_config(config, custom_objects={"square": square})
    assert again.function is square and again.get_config() == layer.get_config()
    np.testing.assert_allclose(again(torch.tensor([[2.0]])).numpy(), [[8.0]])
    with pytest.raises(ValueError, match=r"the `function` function 'square' is not registered\. Decorate it with "
                                         r"@initium\.saving\.register_keras_serializable\(\)"):
        layers.Lambda.from_config(config)


def test_lambda_from_config_refuses_a_stored_python_lambda():
    config = layers.Lambda(lambda x: x + 1, name="l1").get_config()
    with pytest.raises(ValueError, match=r"`Lambda` layer whose `function` is a Python lambda \(Lambda 'l1'\)\. "
                                         r"Its bytecode would have to run"):
        layers.Lambda.from_config(config)
    config = layers.Lambda(square, output_shape=lambda s: s).get_config()
    with pytest.raises(ValueError, match=r"whose `output_shape` is a Python lambda"):
        layers.Lambda.from_config(config, custom_objects={"square": square})


LAMBDA_REFUSAL = (r"Refusing to build a Lambda layer from a config.*Instead of Lambda\(f\), use a Layer subclass "
                  r"whose call\(\) applies a named function.*register_keras_serializable\(\).*custom_objects")


def test_lambda_from_a_file_is_refused_with_the_fix(tmp_path):
    inp = initium.Input(shape=(3,))
    model = initium.Model(inp, layers.Dense(2)(layers.Lambda(square)(inp)))
    path = str(tmp_path / "lam.keras")
    model.save(path)  # the config is Keras's, so saving works...
    with pytest.raises(ValueError, match=LAMBDA_REFUSAL):  # ...but nothing builds a Lambda from a file
        initium.saving.load_model(path, custom_objects={"square": square})
    keras = _keras()
    kin = keras.Input(shape=(3,))
    kpath = str(tmp_path / "keras_lam.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.Model(kin, keras.layers.Lambda(lambda x: x * 2)(kin)).save(kpath)
    with pytest.raises(ValueError, match=LAMBDA_REFUSAL):
        initium.saving.load_model(kpath)
    with pytest.raises(ValueError, match=LAMBDA_REFUSAL):
        layers.deserialize(layers.serialize(layers.Lambda(square)))


def test_lambda_output_shapes_match_keras():
    keras = _keras()
    cases = [(lambda x: x[:, :2], {}), (square, {"output_shape": (3,)}),
             (lambda x: torch.cat([x, x], dim=-1), {"output_shape": lambda s: (s[0], 2 * s[1])}),
             (lambda x: x.sum(dim=1, keepdim=True), {})]
    for fn, kwargs in cases:
        ours = layers.Lambda(fn, **kwargs)(initium.Input(shape=(3,))).shape
        theirs = keras.layers.Lambda(fn, **kwargs)(keras.Input(shape=(3,))).shape
        assert ours == tuple(theirs)
    assert layers.Lambda(square).compute_output_shape((None, 7)) == (None, 7)
    with pytest.raises(NotImplementedError, match=r"could not automatically infer the shape of the Lambda's output "
                                                  r"\(Lambda 'bad'.*specify the `output_shape`"):
        layers.Lambda(lambda x: x.reshape(5, 5), name="bad")(initium.Input(shape=(3,)))


def test_lambda_arguments_mask_and_training():
    seen = {}

    def fn(x, mask=None, training=None, scale=1.0):
        seen.update(mask=mask, training=training)
        return x * scale

    x = torch.ones(2, 3)
    mask = torch.tensor([[True, False, True], [True, True, False]])
    x._keras_mask = mask
    y = layers.Lambda(fn, arguments={"scale": 2.0})(x, training=True)
    np.testing.assert_array_equal(y.numpy(), np.full((2, 3), 2.0))
    assert seen["mask"] is mask and seen["training"] is True
    assert not hasattr(y, "_keras_mask")  # mask=None: the output carries no mask, as in Keras
    y = layers.Lambda(fn, mask=lambda inputs, m: ~m)(x)
    np.testing.assert_array_equal(y._keras_mask.numpy(), (~mask).numpy())
    fixed = torch.tensor([True, False, True])
    assert layers.Lambda(square, mask=fixed)(torch.ones(2, 3))._keras_mask is fixed


def test_lambda_in_a_functional_model_trains():
    initium.random.set_random_seed(0)
    inp = initium.Input(shape=(4,))
    h = layers.Dense(8, activation="tanh")(inp)
    h = layers.Lambda(lambda t: torch.cat([t, t ** 2], dim=-1))(h)
    out = layers.Dense(1)(h)
    model = initium.Model(inp, out)
    assert model.layers[2].output.shape == (None, 16)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = (x[:, :1] ** 2).astype("float32")
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]


def test_lambda_argument_errors():
    with pytest.raises(TypeError, match=r"Lambda 'l': `function` must be callable\. Received: function=3"):
        layers.Lambda(3, name="l")
    with pytest.raises(TypeError, match=r"`arguments` must be a dict"):
        layers.Lambda(square, arguments=[2])
    import functools

    with pytest.raises(TypeError, match=r"cannot write functools\.partial.*into a config.*named function"):
        layers.Lambda(functools.partial(square, power=3)).get_config()


# ------------------------------------------------------------------------------------------ TorchModuleWrapper
def _module(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))


def test_torch_module_wrapper_weights_are_keras_wrappers_weights():
    keras = _keras()
    module = _module()
    module[0].bias.requires_grad_(False)  # a frozen parameter: a non-trainable weight
    theirs = keras.layers.TorchModuleWrapper(copy.deepcopy(module))
    ours = layers.TorchModuleWrapper(module)
    # named in module.parameters() order; the frozen one (variable_1) comes last, trainable first as in Keras
    assert [v.name for v in ours.weights] == [v.name for v in theirs.weights] == [
        "variable", "variable_2", "variable_3", "variable_4", "variable_5", "variable_1"]
    assert [v.trainable for v in ours.weights] == [v.trainable for v in theirs.weights]
    assert len(ours.trainable_weights) == len(theirs.trainable_weights) == 5
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert all(isinstance(v, initium.Variable) for v in ours.weights)
    assert module[0].weight is ours.weights[0]  # the module computes with the Variables themselves
    assert ours.built and ours.count_params() == 34


def test_torch_module_wrapper_outputs_and_training_mode_match_keras():
    keras = _keras()
    module = _module()
    kmodule = copy.deepcopy(module)
    ours, theirs = layers.TorchModuleWrapper(module), keras.layers.TorchModuleWrapper(kmodule)
    x = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    for training in (False, True, False):  # training=True updates the running stats of both
        np.testing.assert_allclose(_np(ours(x, training=training)), _np(theirs(x, training=training)), atol=1e-6)
        assert module.training == training
    np.testing.assert_allclose(module[1].running_mean.numpy(), kmodule[1].running_mean.numpy(), atol=1e-6)
    ours.set_weights([np.zeros_like(w) for w in ours.get_weights()])
    np.testing.assert_array_equal(module(torch.from_numpy(x)).detach().numpy(), np.zeros((8, 2)))


def test_torch_module_wrapper_trains_in_fit_and_round_trips_its_weights(tmp_path):
    wrapper = layers.TorchModuleWrapper(_module(0), name="tmw")
    inp = initium.Input(shape=(3,))
    out = wrapper(inp)
    assert out.shape == (None, 2)  # found by running the module on zeros (Keras needs output_shape)
    model = initium.Model(inp, out)
    model.compile(optimizer=initium.optimizers.Adam(0.02), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype("float32")
    y = np.stack([x[:, 0] - x[:, 1], x[:, 2]], axis=1).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    changed = [bool(np.any(a != b)) for a, b in zip(before, model.get_weights())]
    # every weight but the first Linear's bias, which the BatchNorm after it cancels (zero gradient)
    assert changed[0] and all(changed[2:])
    assert wrapper.module[1].num_batches_tracked.item() == 40  # the module ran in training mode in fit

    path = str(tmp_path / "tmw.weights.h5")
    model.save_weights(path)
    with h5py.File(path) as f:
        stored = sorted(f["layers/torch_module_wrapper/vars"])
    assert stored == sorted(wrapper.module.state_dict())  # Keras's layout: state_dict keys, buffers included
    inp2 = initium.Input(shape=(3,))
    fresh = initium.Model(inp2, layers.TorchModuleWrapper(_module(7))(inp2))
    fresh.load_weights(path)
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert fresh.layers[1].module[1].num_batches_tracked.item() == 40
    np.testing.assert_array_equal(fresh.layers[1].module[1].running_var.numpy(),
                                  wrapper.module[1].running_var.numpy())


def _keras_wrapped(module):
    keras = _keras()
    kin = keras.Input(shape=(3,))
    return keras.Model(kin, keras.layers.TorchModuleWrapper(module, output_shape=(None, 2))(kin))


def _ours_wrapped(module):
    inp = initium.Input(shape=(3,))
    return initium.Model(inp, layers.TorchModuleWrapper(module)(inp))


def test_torch_module_wrapper_weights_files_load_both_ways_with_keras(tmp_path):
    x = np.random.default_rng(1).standard_normal((16, 3)).astype("float32")
    kmodel = _keras_wrapped(_module(0))
    kmodel.compile(optimizer="sgd", loss="mse")
    kmodel.fit(x, x[:, :2], epochs=1, verbose=0)  # moves the BatchNorm's running stats off their start
    kpath = str(tmp_path / "keras.weights.h5")
    kmodel.save_weights(kpath)
    ours = _ours_wrapped(_module(1))
    ours.load_weights(kpath)
    np.testing.assert_allclose(ours.predict(x, verbose=0), kmodel.predict(x, verbose=0), atol=1e-6)
    path = str(tmp_path / "ours.weights.h5")
    ours.save_weights(path)
    back = _keras_wrapped(_module(2))
    back.load_weights(path)
    np.testing.assert_allclose(back.predict(x, verbose=0), kmodel.predict(x, verbose=0), atol=1e-6)


def test_torch_module_wrapper_refuses_configs_but_not_weights(tmp_path):
    wrapper = layers.TorchModuleWrapper(torch.nn.Linear(3, 2), name="w")
    model = _ours_wrapped(torch.nn.Linear(3, 2))
    fix = r"Save the weights instead: model\.save_weights\("
    with pytest.raises(ValueError, match=r"TorchModuleWrapper 'w' cannot be written into a config.*torch\.save\(\).*"
                                         + fix):
        wrapper.get_config()
    with pytest.raises(ValueError, match=fix):
        model.save(str(tmp_path / "m.keras"))
    assert not os.path.exists(tmp_path / "m.keras")
    with pytest.raises(ValueError, match=fix):
        model.to_json()
    model.save_weights(str(tmp_path / "m.weights.h5"))  # weights-only saving works


def test_torch_module_wrapper_from_a_keras_file_is_refused(tmp_path):
    path = str(tmp_path / "k.keras")
    _keras_wrapped(_module()).save(path)  # Keras pickles the module into config.json
    with pytest.raises(ValueError, match=r"Requested the deserialization of a `torch\.nn\.Module` object via "
                                         r"`torch\.load\(\)`.*initium never unpickles"):
        initium.saving.load_model(path)


def test_torch_module_wrapper_tied_weights_and_errors():
    linear = torch.nn.Linear(3, 3)
    tied = torch.nn.Sequential(linear, torch.nn.Tanh(), linear)  # one parameter in two slots
    wrapper = layers.TorchModuleWrapper(tied)
    assert len(wrapper.weights) == 2
    assert tied[0].weight is tied[2].weight is wrapper.weights[0]
    assert layers.TorchModuleWrapper(torch.nn.ReLU()).weights == []
    with pytest.raises(TypeError, match=r"`module` must be a torch\.nn\.Module\. Received: module=3"):
        layers.TorchModuleWrapper(3)
    with pytest.raises(ValueError, match=r"LazyModules are not supported unless they are already initialized.*"
                                         r"Call the module once"):
        layers.TorchModuleWrapper(torch.nn.LazyLinear(2))
    lazy = torch.nn.LazyLinear(2)
    lazy(torch.zeros(1, 5))
    assert [tuple(v.shape) for v in layers.TorchModuleWrapper(lazy).weights] == [(2, 5), (2,)]


def test_torch_module_wrapper_output_shape_and_reinitialize():
    wrapper = layers.TorchModuleWrapper(torch.nn.Linear(3, 2), output_shape=[None, 2])
    assert wrapper(initium.Input(shape=(3,))).shape == (None, 2)
    start = wrapper.get_weights()
    wrapper.set_weights([np.zeros_like(w) for w in start])
    wrapper.reinitialize()  # back to the values the module was wrapped with: nothing is re-drawn
    for a, b in zip(wrapper.get_weights(), start):
        np.testing.assert_array_equal(a, b)
