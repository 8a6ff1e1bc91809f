"""Pooling layers: shapes, configs and outputs against Keras 3 (torch backend), 'same' padding on
odd sizes (max never picks a pad; average excludes pads, as Keras's TF/JAX backends do), global
pooling with keepdims and masks, and argument errors."""

import itertools

import numpy as np
import pytest
import torch

import initium
from initium import layers
from layer_testing import run_layer_test


def _keras():
    import keras

    return keras


# ------------------------------------------------------------------------------------------ parity
WINDOW_CASES = [
    (layers.MaxPooling1D, {}, (2, 7, 3), (2, 3, 3)),
    (layers.MaxPooling1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 3), (2, 4, 3)),
    (layers.MaxPooling1D, {"pool_size": 2, "data_format": "channels_first", "padding": "same"}, (2, 3, 7),
     (2, 3, 4)),
    (layers.MaxPooling2D, {}, (2, 5, 5, 3), (2, 2, 2, 3)),
    (layers.MaxPooling2D, {"pool_size": (2, 3), "strides": (1, 2), "padding": "same"}, (2, 5, 7, 3), (2, 5, 4, 3)),
    (layers.MaxPooling2D, {"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
     (2, 3, 6, 5), (2, 3, 3, 3)),
    (layers.MaxPooling2D, {"pool_size": 2, "padding": "SAME"}, (1, 5, 5, 2), (1, 3, 3, 2)),
    (layers.MaxPooling3D, {}, (1, 4, 5, 4, 2), (1, 2, 2, 2, 2)),
    (layers.MaxPooling3D, {"pool_size": 2, "padding": "same", "data_format": "channels_first"}, (1, 2, 3, 5, 4),
     (1, 2, 2, 3, 2)),
    (layers.AveragePooling1D, {"pool_size": 2}, (2, 7, 3), (2, 3, 3)),
    (layers.AveragePooling1D, {"pool_size": 3, "strides": 1, "padding": "same", "data_format": "channels_first"},
     (2, 3, 7), (2, 3, 7)),
    (layers.AveragePooling2D, {"pool_size": 2}, (2, 5, 6, 3), (2, 2, 3, 3)),
    (layers.AveragePooling2D, {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 5, 6, 3), (2, 5, 6, 3)),
    (layers.AveragePooling2D, {"pool_size": (3, 1), "strides": 2, "padding": "same",
                               "data_format": "channels_first"}, (2, 3, 7, 5), (2, 3, 4, 3)),
    (layers.AveragePooling2D, {"pool_size": 2, "strides": 2, "padding": "same"}, (2, 5, 5, 1), (2, 3, 3, 1)),
    (layers.AveragePooling3D, {"pool_size": (2, 1, 2)}, (1, 4, 3, 5, 2), (1, 2, 3, 2, 2)),
    (layers.AveragePooling3D, {"pool_size": 3, "strides": 1, "padding": "same", "data_format": "channels_first"},
     (1, 2, 3, 4, 5), (1, 2, 3, 4, 5)),
]

GLOBAL_CASES = [
    (layers.GlobalAveragePooling1D, {}, (2, 5, 3), (2, 3)),
    (layers.GlobalAveragePooling1D, {"keepdims": True, "data_format": "channels_first"}, (2, 3, 5), (2, 3, 1)),
    (layers.GlobalAveragePooling2D, {}, (2, 4, 5, 3), (2, 3)),
    (layers.GlobalAveragePooling2D, {"keepdims": True}, (2, 4, 5, 3), (2, 1, 1, 3)),
    (layers.GlobalAveragePooling2D, {"data_format": "channels_first"}, (2, 3, 4, 5), (2, 3)),
    (layers.GlobalAveragePooling3D, {"keepdims": True, "data_format": "channels_first"}, (1, 2, 3, 4, 2),
     (1, 2, 1, 1, 1)),
    (layers.GlobalMaxPooling1D, {}, (2, 5, 3), (2, 3)),
    (layers.GlobalMaxPooling1D, {"data_format": "channels_first", "keepdims": True}, (2, 3, 5), (2, 3, 1)),
    (layers.GlobalMaxPooling2D, {}, (2, 4, 5, 3), (2, 3)),
    (layers.GlobalMaxPooling2D, {"data_format": "channels_first", "keepdims": True}, (2, 3, 4, 5), (2, 3, 1, 1)),
    (layers.GlobalMaxPooling3D, {}, (1, 2, 3, 4, 2), (1, 2)),
]


@pytest.mark.parametrize("cls,kwargs,shape,out", WINDOW_CASES)
def test_window_pooling_parity(cls, kwargs, shape, out):
    layer = run_layer_test(cls, kwargs, shape, out, expected_weight_shapes=[], expected_trainable=0)
    assert layer.get_build_config() is None  # built at construction, as in Keras


@pytest.mark.parametrize("cls,kwargs,shape,out", GLOBAL_CASES)
def test_global_pooling_parity(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, shape, out, expected_weight_shapes=[], expected_trainable=0)


# ------------------------------------------------------------------------------------------ 'same'
def _reference_same(x, pool, strides, mode):
    """Numpy 'same' pooling over the spatial axes of a channels_last array: windows clipped to the
    input (so pads are never picked by max and never counted by the mean)."""
    spatial = x.shape[1:-1]
    outs, starts = [], []
    for n, k, s in zip(spatial, pool, strides):
        out = -(-n // s)
        total = max(0, (out - 1) * s + k - n)
        outs.append(out)
        starts.append([i * s - total // 2 for i in range(out)])
    y = np.zeros((x.shape[0], *outs, x.shape[-1]), x.dtype)
    for idx in itertools.product(*[range(o) for o in outs]):
        window = tuple(slice(max(0, st[i]), min(n, st[i] + k)) for i, st, n, k in zip(idx, starts, spatial, pool))
        block = x[(slice(None), *window, slice(None))]
        axes = tuple(range(1, 1 + len(spatial)))
        y[(slice(None), *idx, slice(None))] = block.max(axis=axes) if mode == "max" else block.mean(axis=axes)
    return y


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_same_padding_on_odd_sizes_matches_reference(mode, data_format):
    cls = layers.MaxPooling2D if mode == "max" else layers.AveragePooling2D
    rng = np.random.default_rng(0)
    checked = 0
    for k, s, h, w in itertools.product([1, 2, 3, 4], [1, 2, 3], [1, 2, 5, 7], [3, 6]):
        x = (rng.standard_normal((2, h, w, 3)) - 3.0).astype("float32")  # all-negative: zero pads would show
        ref = _reference_same(x, (k, max(1, k - 1)), (s, s), mode)
        layer = cls((k, max(1, k - 1)), s, padding="same", data_format=data_format)
        if data_format == "channels_first":
            y = layer(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
        else:
            y = layer(torch.from_numpy(x)).numpy()
        assert y.shape == ref.shape, (k, s, h, w)
        np.testing.assert_allclose(y, ref, atol=1e-5, err_msg=f"pool={k} strides={s} size={(h, w)}")
        checked += 1
    assert checked == 96


def test_same_max_pooling_matches_keras_everywhere():
    keras = _keras()
    rng = np.random.default_rng(1)
    for k, s, n in itertools.product([1, 2, 3, 4, 5], [1, 2, 3], [1, 2, 5, 6, 7]):
        x = rng.standard_normal((2, n, 3)).astype("float32")
        ours = layers.MaxPooling1D(k, s, padding="same")(torch.from_numpy(x)).numpy()
        theirs = keras.layers.MaxPooling1D(k, s, padding="same")(x).detach().cpu().numpy()
        np.testing.assert_allclose(ours, theirs, atol=1e-6, err_msg=f"pool={k} strides={s} n={n}")


def test_same_average_pooling_excludes_pads():
    """Keras's docstring example, plus the asymmetric case where the corner window holds one cell."""
    x = np.arange(1.0, 6.0, dtype="float32").reshape(1, 5, 1)
    y = layers.AveragePooling1D(pool_size=2, strides=1, padding="same")(torch.from_numpy(x))
    np.testing.assert_allclose(y.numpy().ravel(), [1.5, 2.5, 3.5, 4.5, 5.0])
    x = np.arange(6.0, dtype="float32").reshape(1, 6, 1) ** 2
    y = layers.AveragePooling1D(pool_size=4, strides=1, padding="same")(torch.from_numpy(x)).numpy().ravel()
    # pads (1 before, 2 after): first window [pad, 0, 1, 4] -> 5/3; last [16, 25, pad, pad] -> 20.5
    np.testing.assert_allclose(y, [5 / 3, 3.5, 7.5, 13.5, 50 / 3, 20.5], rtol=1e-6)


def test_keras_torch_backend_counts_replicated_edges_in_asymmetric_average_pooling():
    """Documents a Keras 3.15.1 torch-backend divergence we do NOT copy: with asymmetric 'same'
    padding it pads by repeating edge values and averages them in (its TF/JAX backends, and we,
    exclude pads). If this starts failing, Keras changed: re-check the average-pooling parity."""
    keras = _keras()
    x = np.arange(6.0, dtype="float32").reshape(1, 6, 1) ** 2
    theirs = keras.layers.AveragePooling1D(4, 1, padding="same")(x).detach().cpu().numpy().ravel()
    np.testing.assert_allclose(theirs, [1.25, 3.5, 7.5, 13.5, 18.75, 22.75], rtol=1e-6)
    ours = layers.AveragePooling1D(4, 1, padding="same")(torch.from_numpy(x)).numpy().ravel()
    assert ours[0] == pytest.approx(5 / 3) and ours[-1] == pytest.approx(20.5)


def test_asymmetric_average_pooling_gradient_and_count_cache():
    layer = layers.AveragePooling2D(2, strides=2, padding="same")
    x = torch.ones(1, 5, 5, 1, requires_grad=True)
    y = layer(x)
    assert torch.allclose(y, torch.ones_like(y))  # excluded pads keep the mean of ones at 1
    y.sum().backward()
    # each input cell lies in exactly one window; the corner window has one real cell
    assert x.grad[0, 4, 4, 0] == pytest.approx(1.0) and x.grad[0, 0, 0, 0] == pytest.approx(0.25)
    layer(torch.ones(1, 5, 5, 1))
    layer(torch.ones(1, 7, 5, 1))
    assert len(layer._counts) == 2  # one cached count map per input size


def test_max_pooling_gradient_flows_to_the_maximum_only():
    x = torch.tensor([[[1.0], [5.0], [2.0]]], requires_grad=True)
    layers.MaxPooling1D(2, padding="same")(x).sum().backward()
    assert x.grad.ravel().tolist() == [0.0, 1.0, 1.0]


# ------------------------------------------------------------------------------------------ global
def test_global_average_pooling1d_mask_matches_keras():
    keras = _keras()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0], [1, 0, 1, 1]], bool)
    ours = layers.GlobalAveragePooling1D()(torch.from_numpy(x), mask=torch.from_numpy(mask)).numpy()
    theirs = keras.layers.GlobalAveragePooling1D()(x, mask=mask).detach().cpu().numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    np.testing.assert_allclose(ours[0], x[0, :2].mean(0), atol=1e-6)
    first = layers.GlobalAveragePooling1D(data_format="channels_first", keepdims=True)
    y = first(torch.from_numpy(x.transpose(0, 2, 1)), mask=torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(y[..., 0], ours, atol=1e-6)


def test_global_average_pooling1d_uses_an_upstream_mask():
    x = torch.tensor([[[1.0], [3.0], [100.0]]])
    x._keras_mask = torch.tensor([[True, True, False]])
    assert layers.GlobalAveragePooling1D()(x).ravel().tolist() == [2.0]


def test_global_pooling_symbolic_shapes():
    inp = initium.Input(shape=(None, None, 8))
    assert layers.GlobalAveragePooling2D()(inp).shape == (None, 8)
    assert layers.GlobalMaxPooling2D(keepdims=True)(inp).shape == (None, 1, 1, 8)
    assert layers.MaxPooling2D(padding="same")(inp).shape == (None, None, None, 8)


# ------------------------------------------------------------------------------------------ config
def test_config_matches_keras_conventions():
    cfg = layers.MaxPooling2D().get_config()
    assert cfg["pool_size"] == (2, 2) and cfg["strides"] == (2, 2) and cfg["padding"] == "valid"
    assert cfg["data_format"] == "channels_last" and cfg["name"].startswith("max_pooling2d")
    assert layers.AveragePooling1D(3, strides=1).get_config()["strides"] == (1,)
    assert layers.MaxPooling3D().pool_size == (2, 2, 2)
    assert layers.GlobalAveragePooling1D().get_config()["keepdims"] is False
    with pytest.raises(TypeError):
        layers.AveragePooling2D()  # pool_size is required for average pooling, as in Keras


def test_aliases_resolve_to_the_same_classes():
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D
    cfg = {"class_name": "MaxPool2D", "config": {"pool_size": [3, 3]}, "module": "keras.layers"}
    assert layers.deserialize(cfg).pool_size == (3, 3)


# ------------------------------------------------------------------------------------------ errors
def test_bad_pool_size_and_strides():
    with pytest.raises(ValueError, match=r"MaxPooling2D 'max_pooling2d\w*': the `pool_size` argument must be an int "
                                         r"or a tuple of 2 integers > 0\. Received pool_size=\(2, 2, 2\)"):
        layers.MaxPooling2D((2, 2, 2))
    with pytest.raises(ValueError, match=r"AveragePooling1D .*`pool_size`.*value > 0"):
        layers.AveragePooling1D(0)
    with pytest.raises(ValueError, match=r"MaxPooling1D .*`strides`.*Received strides=0, including values \[0\]"):
        layers.MaxPooling1D(2, strides=0)


def test_bad_padding_and_data_format():
    with pytest.raises(ValueError, match=r"MaxPooling2D 'max_pooling2d\w*': `padding` must be one of 'valid', "
                                         r"'same'\. Received: padding='vaild'\. Did you mean 'valid'\?"):
        layers.MaxPooling2D(padding="vaild")
    with pytest.raises(ValueError, match=r"AveragePooling1D .*'causal' padding is only supported by Conv1D"):
        layers.AveragePooling1D(2, padding="causal")
    with pytest.raises(ValueError, match=r"GlobalMaxPooling2D 'global_max_pooling2d\w*': the `data_format` argument "
                                         r"must be one of"):
        layers.GlobalMaxPooling2D(data_format="NHWC")


def test_wrong_rank_names_the_expected_layout():
    with pytest.raises(ValueError, match=r"Input 0 of layer 'max_pooling2d\w*' \(MaxPooling2D\) is incompatible with "
                                         r"the layer: expected ndim=4, found ndim=3\. Full shape received: "
                                         r"\(5, 5, 1\)\. MaxPooling2D expects \(batch, height, width, channels\) "
                                         r"with data_format='channels_last'\."):
        layers.MaxPooling2D()(torch.zeros(5, 5, 1))
    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=4.*GlobalAveragePooling1D expects "
                                         r"\(batch, channels, steps\) with data_format='channels_first'"):
        layers.GlobalAveragePooling1D(data_format="channels_first")(initium.Input(shape=(3, 4, 5)))


def test_pool_larger_than_input_with_valid_padding():
    msg = (r"MaxPooling2D 'max_pooling2d\w*': pool_size=\(3, 3\) is larger than the input's spatial shape "
           r"\(2, 5\) with padding='valid', so the output would be empty \(strides=\(3, 3\)\)\. Use "
           r"padding='same', a smaller pool_size, or a larger input\.")
    with pytest.raises(ValueError, match=msg):
        layers.MaxPooling2D(3)(torch.zeros(1, 2, 5, 1))
    with pytest.raises(ValueError, match=msg):
        layers.MaxPooling2D(3)(initium.Input(shape=(2, 5, 1)))
    with pytest.raises(ValueError, match=r"AveragePooling1D .*pool_size=\(4,\) is larger"):
        layers.AveragePooling1D(4, data_format="channels_first")(torch.zeros(1, 8, 3))
    assert layers.MaxPooling2D(3, padding="same")(torch.zeros(1, 2, 5, 1)).shape == (1, 1, 2, 1)


# ------------------------------------------------------------------------------------------ adaptive
ADAPTIVE_CASES = [
    (1, "Average", 3, "channels_last", (2, 7, 4), (2, 3, 4)),
    (1, "Max", (4,), "channels_first", (2, 3, 10), (2, 3, 4)),
    (1, "Max", 5, "channels_last", (2, 3, 2), (2, 5, 2)),  # more cells than the input: windows overlap
    (2, "Average", 3, "channels_last", (2, 7, 5, 3), (2, 3, 3, 3)),
    (2, "Average", (2, 4), "channels_first", (2, 3, 6, 9), (2, 3, 2, 4)),
    (2, "Max", (1, 3), "channels_last", (2, 5, 7, 2), (2, 1, 3, 2)),
    (2, "Max", 2, "channels_first", (1, 2, 5, 5), (1, 2, 2, 2)),
    (3, "Average", (1, 2, 3), "channels_last", (1, 4, 5, 6, 2), (1, 1, 2, 3, 2)),
    (3, "Max", 2, "channels_first", (1, 2, 5, 4, 3), (1, 2, 2, 2, 2)),
    (3, "Max", (3, 1, 2), "channels_last", (2, 7, 3, 5, 1), (2, 3, 1, 2, 1)),
]


@pytest.mark.parametrize("rank, mode, size, fmt, in_shape, out_shape", ADAPTIVE_CASES)
def test_adaptive_pooling_matches_keras(rank, mode, size, fmt, in_shape, out_shape):
    cls = getattr(layers, f"Adaptive{mode}Pooling{rank}D")
    run_layer_test(cls, {"output_size": size, "data_format": fmt}, input_shape=in_shape,
                   expected_output_shape=out_shape, expected_weight_shapes=[], expected_trainable=0)


def test_adaptive_pooling_windows_and_config():
    x = torch.arange(1.0, 8.0).reshape(1, 7, 1)  # 7 steps into 3 cells: windows [0, 3), [2, 5), [4, 7)
    np.testing.assert_allclose(layers.AdaptiveAveragePooling1D(3)(x).numpy().ravel(), [2, 4, 6])
    np.testing.assert_allclose(layers.AdaptiveMaxPooling1D(3)(x).numpy().ravel(), [3, 5, 7])
    keras = _keras()
    for name, size in [("AdaptiveAveragePooling1D", 3), ("AdaptiveMaxPooling2D", [2, 3]),
                       ("AdaptiveAveragePooling3D", 2)]:
        ours = getattr(layers, name)(size, name="p").get_config()
        assert ours == getattr(keras.layers, name)(size, name="p").get_config()
        assert isinstance(ours["output_size"], tuple)
    # unknown spatial sizes: the output's are known
    assert layers.AdaptiveMaxPooling2D((2, 3))(initium.Input(shape=(None, None, 4))).shape == (None, 2, 3, 4)
    assert layers.AdaptiveAveragePooling1D(2, data_format="channels_first")(
        initium.Input(shape=(5, None))).shape == (None, 5, 2)


def test_adaptive_pooling_errors():
    with pytest.raises(ValueError, match=r"For 1D input, `output_size` tuple must have length 1\. Received: \(2, 3\) "
                                         r"\(in AdaptiveAveragePooling1D 'a1'\)"):
        layers.AdaptiveAveragePooling1D((2, 3), name="a1")
    with pytest.raises(TypeError, match=r"`output_size` must be an integer or tuple of 1 integer\. Received: 2\.5"):
        layers.AdaptiveMaxPooling1D(2.5)
    with pytest.raises(TypeError, match=r"`output_size` must be an integer or \(height, width\) tuple\. Received: "
                                        r"\(1, 2, 3\)"):
        layers.AdaptiveMaxPooling2D((1, 2, 3))
    with pytest.raises(TypeError, match=r"`output_size` must be an integer or \(depth, height, width\) tuple\. "
                                        r"Received: '2'"):
        layers.AdaptiveAveragePooling3D("2")
    for keras_name, bad in [("AdaptiveMaxPooling2D", (1, 2, 3)), ("AdaptiveMaxPooling1D", 2.5)]:
        with pytest.raises(TypeError):  # Keras raises the same type for the same mistake
            getattr(_keras().layers, keras_name)(bad)
    with pytest.raises(ValueError, match=r"AdaptiveMaxPooling2D 'm0': every entry of `output_size` must be a positive "
                                         r"integer.*Received: output_size=\(0, 2\)"):
        layers.AdaptiveMaxPooling2D((0, 2), name="m0")
    with pytest.raises(ValueError, match=r"output_size=-1"):
        layers.AdaptiveAveragePooling3D(-1)
    with pytest.raises(ValueError, match=r"data_format"):
        layers.AdaptiveAveragePooling2D(2, data_format="nchw")
    with pytest.raises(ValueError, match=r"layer 'am'.*expected ndim=4, found ndim=3"):
        layers.AdaptiveMaxPooling2D(2, name="am")(torch.ones(1, 4, 4))
