"""initium.saving: registration of custom objects (no file formats yet)."""

import pytest

from initium import initializers, saving


def test_register_class_and_lookup():
    @saving.register_keras_serializable(package="t1")
    class Half(initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return initializers.Constant(0.5)(shape, dtype)

    assert saving.get_registered_name(Half) == "t1>Half"
    assert saving.get_registered_object("t1>Half") is Half
    assert saving.get_registered_object("Half") is None
    assert saving.get_custom_objects()["t1>Half"] is Half


def test_register_with_name_and_function():
    @saving.register_keras_serializable(package="t2", name="fancy")
    def fn(shape, dtype=None):
        return initializers.Zeros()(shape, dtype)

    assert saving.get_registered_name(fn) == "t2>fancy"
    assert initializers.serialize(fn)["config"] == "t2>fancy"
    assert initializers.deserialize(initializers.serialize(fn)) is fn


def test_register_errors():
    with pytest.raises(ValueError, match=r"Cannot register a class that does not have a get_config\(\) method."):
        saving.register_keras_serializable()(type("NoConfig", (), {}))
    with pytest.raises(ValueError, match=r"`package` must be a string without '>'. Received: package='a>b'"):
        saving.register_keras_serializable(package="a>b")


def test_custom_object_scope_nests_and_unwinds():
    a, b = object(), object()
    with saving.custom_object_scope({"A": a}):
        assert saving.get_registered_object("A") is a
        with saving.custom_object_scope({"A": b}):
            assert saving.get_registered_object("A") is b
        assert saving.get_registered_object("A") is a
    assert saving.get_registered_object("A") is None
    assert saving.get_registered_object("A", custom_objects={"A": b}) is b
    with pytest.raises(TypeError, match="custom_object_scope expects a dict"):
        with saving.custom_object_scope(["A"]):
            pass
