"""Preprocessing layers: Rescaling (scalar and per-channel scale/offset, Keras config and outputs)."""

import json

import numpy as np
import pytest
import torch

import initium
from initium import layers
from layer_testing import run_layer_test


@pytest.mark.parametrize("kwargs, in_shape", [
    ({"scale": 1 / 255.0}, (2, 4, 4, 3)),
    ({"scale": 1 / 127.5, "offset": -1.0}, (2, 5)),
    ({"scale": 2, "offset": 1}, (3, 2, 2)),
    ({"scale": [1.0, 2.0, 3.0]}, (2, 4, 3)),
    ({"scale": [0.5, 2.0, -1.0], "offset": [0.0, 1.0, 2.0]}, (2, 2, 2, 3)),
    ({"scale": (1, 2), "offset": 0.5}, (4, 2)),
    ({"scale": np.array([1.0, 2.0, 3.0], dtype="float32"), "offset": 0.25}, (2, 3)),
    ({"scale": 0.5, "offset": np.array([1.0, 2.0], dtype="float32")}, (2, 3, 2)),
])
def test_rescaling(kwargs, in_shape):
    run_layer_test(layers.Rescaling, kwargs, input_shape=in_shape, expected_output_shape=in_shape,
                   expected_weight_shapes=[], expected_trainable=0)


@pytest.mark.parametrize("dtype", ["uint8", "int32"])
def test_rescaling_integer_images_become_float32(dtype):
    layer = run_layer_test(layers.Rescaling, {"scale": 1 / 255.0}, input_shape=(2, 3, 3, 1), input_dtype=dtype,
                           input_range=(0, 256 if dtype == "uint8" else 1000), expected_output_shape=(2, 3, 3, 1),
                           expected_weight_shapes=[])
    y = layer(np.full((1, 2), 255, dtype))
    assert y.dtype == torch.float32
    np.testing.assert_allclose(y.numpy(), [[1.0, 1.0]], rtol=1e-7)
    assert layers.Rescaling(0.5)(initium.Input((2,), dtype=dtype)).dtype == "float32"


def test_rescaling_values():
    x = np.array([[[0.0, 10.0, 20.0]]], "float32")
    np.testing.assert_allclose(layers.Rescaling(0.1, offset=-1.0)(x).numpy(), [[[-1.0, 0.0, 1.0]]], atol=1e-6)
    np.testing.assert_allclose(layers.Rescaling([1.0, 2.0, 3.0], offset=[1.0, 0.0, -1.0])(x).numpy(),
                               [[[1.0, 20.0, 59.0]]])
    y = layers.Rescaling(2.0, dtype="float64")(x)
    assert y.dtype == torch.float64


def test_rescaling_config():
    layer = layers.Rescaling(1 / 255.0)
    cfg = layer.get_config()
    assert cfg["scale"] == 1 / 255.0 and cfg["offset"] == 0.0
    assert layers.Rescaling([1.0, 2.0], offset=[0.0, 1.0]).get_config()["scale"] == [1.0, 2.0]
    arr = layers.Rescaling(np.array([1.0, 2.0], dtype="float32")).get_config()["scale"]
    assert arr == {"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float32"}}
    again = layers.Rescaling.from_config(json.loads(json.dumps(layers.Rescaling(np.array([3.0, 4.0])).get_config())))
    assert isinstance(again.scale, np.ndarray) and again.scale.tolist() == [3.0, 4.0] and again.scale.dtype == "float64"
    assert layers.Rescaling(torch.tensor([2.0])).get_config()["scale"]["config"]["value"] == [2.0]


def test_rescaling_in_a_model_on_the_symbolic_path():
    x = initium.Input((4, 4, 3))
    y = layers.Rescaling([1.0, 0.5, 0.25])(x)
    assert y.shape == (None, 4, 4, 3)
    model = initium.Model(x, y)
    out = model(np.ones((2, 4, 4, 3), "float32"))
    np.testing.assert_allclose(out.numpy()[0, 0, 0], [1.0, 0.5, 0.25])


def test_rescaling_errors():
    with pytest.raises(ValueError, match=r"Rescaling 'rs': `scale` must be a number or a list/array of numbers "
                                         r"\(one per channel\)\. Received: scale='a'"):
        layers.Rescaling("a", name="rs")
    with pytest.raises(ValueError, match=r"Rescaling 'ro': `offset` must be a number.*offset=\[1\.0, 'x'\]"):
        layers.Rescaling(1.0, offset=[1.0, "x"], name="ro")
    with pytest.raises(ValueError, match=r"Rescaling 'rn': `scale` must be a number.*Received: scale=None"):
        layers.Rescaling(None, name="rn")
    with pytest.raises(TypeError, match=r"missing 1 required positional argument: 'scale'"):
        layers.Rescaling()
    for bad in ("2", True, [], [[1.0], [2.0, 3.0]]):
        with pytest.raises(ValueError, match=r"`scale` must be a number or a list/array of numbers"):
            layers.Rescaling(bad)
