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
    with pytest.raises(ValueError, match=r"Unsupported dtype: torch.quint8"):
        backend.standardize_dtype(torch.quint8)


def test_keras_dtype_names():
    # Keras's names for complex and float8 tensors, and its unsigned types stored wider on torch.
    assert backend.standardize_dtype(torch.complex64) == "complex64"
    assert backend.standardize_dtype(torch.float8_e4m3fn) == "float8_e4m3fn"
    assert backend.standardize_dtype("uint16") == "uint16" and backend.torch_dtype("uint16") == torch.int32
    assert backend.standardize_dtype(int) == "int32" and backend.standardize_dtype(float) == "float32"


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


def test_keras_backend_names_all_exist():
    keras = pytest.importorskip("keras")
    missing = sorted(n for n in dir(keras.backend) if not n.startswith("_") and not hasattr(backend, n))
    assert not missing, missing
    assert backend.backend() == "torch" == keras.backend.backend()
    missing = sorted(n for n in ("epsilon", "set_epsilon", "floatx", "set_floatx", "image_data_format",
                                 "set_image_data_format", "backend") if not hasattr(config, n))
    assert not missing, missing


def test_epsilon_and_image_data_format_are_settable_and_validated():
    import initium

    assert backend.epsilon() == 1e-7
    backend.set_epsilon(1e-5)
    try:
        assert config.epsilon() == 1e-5
    finally:
        backend.set_epsilon(1e-7)
    with pytest.raises(ValueError, match="non-negative"):
        backend.set_epsilon("x")
    backend.set_image_data_format("channels_first")
    try:
        layer = initium.layers.Conv2D(4, 3)
        assert layer.data_format == "channels_first"
        assert initium.layers.MaxPooling2D().data_format == "channels_first"
    finally:
        backend.set_image_data_format("channels_last")
    assert initium.layers.Conv2D(4, 3).data_format == "channels_last"
    with pytest.raises(ValueError, match="channels_first"):
        backend.set_image_data_format("nhwc")


def test_get_uid_counts_per_prefix_and_clear_session_resets():
    backend.clear_session()
    assert [backend.get_uid("a"), backend.get_uid("a"), backend.get_uid("b")] == [1, 2, 1]
    backend.clear_session()
    assert backend.get_uid("a") == 1


def test_device_scope_and_its_errors():
    before = backend.default_device()
    with backend.device("cpu:0"):
        assert backend.default_device() == torch.device("cpu:0")
    assert backend.default_device() == before
    with pytest.raises(ValueError, match="tpu"):
        with backend.device("tpu:0"):
            pass


def test_name_scopes_nest_and_deduplicate():
    with backend.name_scope("a"):
        with backend.name_scope("b"):
            assert backend.current_name_scope() == "a/b"
        with backend.name_scope("a"):
            assert backend.current_name_scope() == "a"
        with backend.name_scope("a", deduplicate=False):
            assert backend.current_name_scope() == "a/a"
    assert backend.current_name_scope() == ""
    with pytest.raises(ValueError, match="without '/'"):
        backend.name_scope("a/b")
