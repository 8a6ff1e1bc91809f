"""initium.backend: dtype names, floatx, devices, conversions."""

import numpy as np
import pytest
import torch

from initium import backend, config


@pytest.mark.parametrize("spelling,name", [
    ("float32", "float32"), (torch.float64, "float64"), (np.float16, "float16"), (np.dtype("int32"), "int32"),
    ("bfloat16", "bfloat16"), ("double", "float64"), (None, "float32"), ("bool", "bool"),
])
def test_standardize_dtype(spelling, name):
    assert backend.standardize_dtype(spelling) == name


def test_unknown_dtype_message():
    with pytest.raises(ValueError, match=r"Unsupported dtype: 'float8'. Expected one of \["):
        backend.standardize_dtype("float8")
    with pytest.raises(ValueError, match=r"Unsupported dtype: torch.complex64"):
        backend.standardize_dtype(torch.complex64)


def test_floatx_round_trip():
    assert config.floatx() == "float32"
    try:
        config.set_floatx("float64")
        assert backend.standardize_dtype(None) == "float64"
        assert backend.to_tensor(np.zeros(2)).dtype == torch.float64
    finally:
        config.set_floatx("float32")
    with pytest.raises(ValueError, match=r"Unknown `floatx` value: 'int32'"):
        config.set_floatx("int32")


def test_to_tensor_and_back():
    t = backend.to_tensor(np.arange(3, dtype=np.float64))
    assert t.dtype == torch.float32  # float64 numpy input becomes floatx, as Keras casts it
    assert backend.to_tensor([1, 2]).dtype == torch.int64
    assert backend.to_tensor(np.ones(2), dtype="float16").dtype == torch.float16
    np.testing.assert_array_equal(backend.to_numpy(torch.tensor([1.5], dtype=torch.bfloat16)), [1.5])
    assert backend.to_numpy([1, 2]).tolist() == [1, 2]


def test_default_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert backend.default_device().type == expected
    try:
        backend.set_default_device("cpu")
        assert backend.default_device() == torch.device("cpu")
    finally:
        backend.set_default_device(None)
