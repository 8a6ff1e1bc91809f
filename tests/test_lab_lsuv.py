"""LSUV (Mishkin & Matas 2016): unit pre-activation variance per layer on the calibration batch.

The variances are checked three ways: by LSUV's own result, by ``report`` (which shares LSUV's taps),
and independently of both: a manual forward with torch ops for the Dense stacks, and forward hooks
written here plus torch's convolution functions for the convolutional model.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import initium as keras
from initium import initializers, layers
from initium import random as irandom
from initium.datasets import digits
from initium.lab import lsuv, report


@pytest.fixture(scope="module")
def x():
    (xtr, _), _ = digits.load_data()
    xtr = xtr.reshape(len(xtr), -1).astype(np.float32)
    return ((xtr - xtr.mean(0)) / (xtr.std(0) + 1e-6))[:512]


def _mlp(depth=6, width=64, **kw):
    return keras.Sequential([keras.Input((64,))] + [layers.Dense(width, activation="relu", **kw) for _ in range(depth)]
                            + [layers.Dense(10)])


def _pre_vars(model, x):
    """Pre-activation variance of each layer, measured by the report (a second code path)."""
    rep = report(model, x)
    return {row["layer"]: row["pre_var"] for row in rep.layers}


def _manual_dense_pre_vars(model, x):
    """A Dense-ReLU stack run by hand with torch ops, layer by layer: each layer's pre-activation
    variance (float64, over batch and units). The manual output must be the model's output."""
    h = torch.as_tensor(x)
    out = {}
    for i, la in enumerate(model.layers):
        z = h @ la.kernel.detach() + la.bias.detach()
        out[la.name] = float(z.double().var(unbiased=False))
        h = torch.relu(z) if i < len(model.layers) - 1 else z
    torch.testing.assert_close(h, torch.as_tensor(model.predict(x, verbose=0)), rtol=1e-5, atol=1e-5)
    return out


def _conv_pre_activation(layer, x):
    """The pre-activation of a Conv2D / DepthwiseConv2D / SeparableConv2D (valid padding, stride 1,
    channels last) on its input ``x``, with torch's convolution functions."""
    xc = x.permute(0, 3, 1, 2)
    kind = type(layer).__name__
    if kind == "Conv2D":
        z = F.conv2d(xc, layer.kernel.detach().permute(3, 2, 0, 1))
    elif kind == "DepthwiseConv2D":
        kh, kw, c, m = layer.kernel.shape
        z = F.conv2d(xc, layer.kernel.detach().permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw), groups=c)
    else:  # SeparableConv2D: depthwise, then pointwise
        kh, kw, c, m = layer.depthwise_kernel.shape
        d = F.conv2d(xc, layer.depthwise_kernel.detach().permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw), groups=c)
        z = F.conv2d(d, layer.pointwise_kernel.detach().permute(3, 2, 0, 1))
    return z + layer.bias.detach().view(1, -1, 1, 1)


def _hooked_conv_pre_vars(model, x, names):
    """Forward hooks (written here) keep each named layer's input on a plain forward pass; the
    pre-activation is recomputed from it with torch ops."""
    seen = {}

    def keep_input(name):
        def hook(module, args, output):  # returns None: the output is left as it is
            seen.setdefault(name, args[0].detach())
        return hook

    handles = [la.register_forward_hook(keep_input(la.name)) for la in model.layers if la.name in names]
    try:
        with torch.no_grad():
            model(torch.as_tensor(x), training=False)
    finally:
        for h in handles:
            h.remove()
    return {name: float(_conv_pre_activation(model.get_layer(name), seen[name]).double().var(unbiased=False))
            for name in names}


@pytest.mark.parametrize("tol", [0.1, 0.01])
def test_every_hidden_layer_has_unit_variance_within_tol_and_the_output_layer_is_left_alone(x, tol):
    irandom.set_random_seed(1)
    model = _mlp(bias_initializer=initializers.RandomNormal(stddev=0.5))
    out_before = [w.copy() for w in model.layers[-1].get_weights()]
    result = lsuv(model, x, tol=tol)
    hidden = [la.name for la in model.layers[:-1]]
    assert [r["layer"] for r in result] == hidden
    measured, manual = _pre_vars(model, x), _manual_dense_pre_vars(model, x)
    for name in hidden:
        assert abs(measured[name] - 1.0) < tol, (name, measured[name])
        assert abs(manual[name] - 1.0) < tol, (name, manual[name])
    for r in result:
        assert abs(r["var_after"] - 1.0) < tol and r["iterations"] <= 10
    # the PyTorch reference's zero bias, and orthogonal kernels up to the scale found
    for la, r in zip(model.layers[:-1], result):
        np.testing.assert_array_equal(la.bias.numpy(), 0.0)
        k = la.kernel.numpy().astype(np.float64)
        np.testing.assert_allclose(k.T @ k, np.eye(k.shape[1]) * r["scale"] ** 2, atol=1e-5 * r["scale"] ** 2 * 10)
    for a, b in zip(model.layers[-1].get_weights(), out_before):
        np.testing.assert_array_equal(a, b)
    # Negative control: without LSUV the same Glorot stack halves the variance at every ReLU layer.
    plain = _mlp()
    assert _pre_vars(plain, x)[plain.layers[-2].name] < 0.2
    assert _manual_dense_pre_vars(plain, x)[plain.layers[-2].name] < 0.2


def test_convolutions_batchnorm_depthwise_and_separable(x):
    irandom.set_random_seed(2)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.BatchNormalization(),
        layers.DepthwiseConv2D(3, activation="relu"),
        layers.SeparableConv2D(4, 2, activation="tanh"),
        layers.Flatten(),
        layers.Dense(10),
    ])
    xi = x.reshape(-1, 8, 8, 1)
    names = [model.layers[i].name for i in (0, 2, 3)]
    # Negative control for the independent measure: before LSUV the layers are not at unit variance.
    before = _hooked_conv_pre_vars(model, xi, names)
    assert max(abs(v - 1.0) for v in before.values()) > 0.2, before
    result = lsuv(model, xi, tol=0.05)
    assert [r["layer"] for r in result] == names
    measured = _pre_vars(model, xi)
    hooked = _hooked_conv_pre_vars(model, xi, names)
    for r in result:
        assert abs(measured[r["layer"]] - 1.0) < 0.05, (r, measured)
        assert abs(hooked[r["layer"]] - 1.0) < 0.05, (r, hooked)


def test_output_layer_included_on_request_and_layer_choice(x):
    irandom.set_random_seed(3)
    model = _mlp(depth=2)
    result = lsuv(model, x, include_output=True)
    assert len(result) == 3
    assert abs(_pre_vars(model, x)[model.layers[-1].name] - 1.0) < 0.1
    model = _mlp(depth=3)
    second = model.layers[1]
    before = model.layers[0].kernel.numpy()
    result = lsuv(model, x, layers=[second.name])
    assert [r["layer"] for r in result] == [second.name]
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), before)


def test_calibrated_kernels_replay_bit_for_bit_and_save_their_scale(x, tmp_path):
    irandom.set_random_seed(4)
    model = _mlp(depth=3)
    lsuv(model, x)
    calibrated = [la.kernel.numpy() for la in model.layers[:-1]]
    init = model.layers[0].kernel_initializer
    assert isinstance(init, initializers.LSUV) and init.calibrated
    assert model.layers[0].get_config()["kernel_initializer"]["config"]["scale"] == pytest.approx(init.scale)
    model.set_weights([w * 0 for w in model.get_weights()])
    model.reinitialize(layers=[la.name for la in model.layers[:-1]], replay=True)
    for la, k in zip(model.layers[:-1], calibrated):
        np.testing.assert_array_equal(la.kernel.numpy(), k)
    path = tmp_path / "lsuv.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    got = loaded.layers[0].kernel_initializer
    assert isinstance(got, initializers.LSUV) and got.scale == pytest.approx(init.scale)


def test_fit_calibrates_lsuv_kernels_on_its_first_batch(x):
    irandom.set_random_seed(5)
    y = np.eye(10, dtype=np.float32)[np.arange(len(x)) % 10]
    model = _mlp(depth=3, kernel_initializer="lsuv")
    assert not model.layers[0].kernel_initializer.calibrated
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.fit(x, y, epochs=0, verbose=0)
    measured = _pre_vars(model, x)
    for la in model.layers[:-1]:
        assert la.kernel_initializer.calibrated
        assert abs(measured[la.name] - 1.0) < 0.1
    # Calibrated once: a second fit leaves the scale alone.
    scale = model.layers[0].kernel_initializer.scale
    model.fit(x, y, epochs=1, verbose=0)
    assert model.layers[0].kernel_initializer.scale == scale


def test_fit_with_lsuv_and_a_generator_asks_for_an_explicit_calibration(x):
    model = _mlp(depth=1, kernel_initializer="lsuv")
    model.compile(optimizer="sgd", loss="mse")

    def gen():
        while True:
            yield x[:32], np.zeros((32, 10), np.float32)

    with pytest.raises(ValueError, match=r"initium.lab.lsuv\(model, x_batch\) before fit"):
        model.fit(gen(), steps_per_epoch=1, verbose=0)


def test_unreachable_tolerance_raises_and_restores_every_weight(x):
    irandom.set_random_seed(6)
    # Biases that differ by unit put a floor under the variance: scaling the kernel cannot reach 1.
    model = _mlp(depth=2, bias_initializer=initializers.RandomNormal(stddev=3.0))
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"layer 'dense.*' reached pre-activation variance .* after 3 scalings"):
        lsuv(model, x, zero_bias=False, max_iter=3)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_constant_input_raises_naming_the_layer(x):
    model = _mlp(depth=2)
    with pytest.raises(ValueError, match=r"layer 'dense\w*' has pre-activation variance 0 .* input is constant"):
        lsuv(model, np.zeros_like(x))


def test_argument_errors(x):
    model = _mlp(depth=1)
    with pytest.raises(ValueError, match="`tol` must be a positive number. Received: tol=0"):
        lsuv(model, x, tol=0)
    with pytest.raises(ValueError, match="`max_iter` must be an integer >= 1. Received: max_iter=0"):
        lsuv(model, x, max_iter=0)
    with pytest.raises(ValueError, match="`x` is required"):
        lsuv(model, None)
    with pytest.raises(ValueError, match="'nope' is not a kernel layer .* Kernel layers, in call order"):
        lsuv(model, x, layers=["nope"])
    with pytest.raises(TypeError, match="`zero_bias` must be True or False. Received: zero_bias='no'"):
        lsuv(model, x, zero_bias="no")
    single = keras.Sequential([keras.Input((64,)), layers.Dense(10)])
    with pytest.raises(ValueError, match="include_output=True"):
        lsuv(single, x)
    with pytest.raises(ValueError, match="LSUV: `tol` must be a positive number"):
        initializers.LSUV(tol=-1)
    with pytest.raises(ValueError, match="LSUV: `scale` must be a positive number or None"):
        initializers.LSUV(scale=0)


def test_lsuv_initializer_by_string_config_round_trip_and_stats():
    init = initializers.get("lsuv")
    assert isinstance(init, initializers.LSUV) and init.scale is None
    cfg = initializers.serialize(initializers.LSUV(tol=0.05, scale=0.5, seed=3))
    back = initializers.deserialize(cfg)
    assert back.get_config() == initializers.LSUV(tol=0.05, scale=0.5, seed=3).get_config()
    a = initializers.Orthogonal(seed=3)((64, 32))
    b = back((64, 32))
    torch.testing.assert_close(b, a * 0.5, rtol=0, atol=0)


def test_lab_names_are_the_functions_whatever_the_import_order():
    import subprocess
    import sys

    code = ("import initium.lab.lsuv, initium.lab.bias_study, initium.training.trainer\n"
            "from initium.lab import lsuv, bias_study\n"
            "assert callable(lsuv) and lsuv.__name__ == 'lsuv', lsuv\n"
            "assert callable(bias_study) and bias_study.__name__ == 'bias_study', bias_study\n"
            "import initium.lab as lab\n"
            "assert lab.lsuv is lsuv and lab.bias_study is bias_study\n")
    subprocess.run([sys.executable, "-c", code], check=True)
