"""Custom layers and subclassed models without ``get_config`` keep their constructor arguments.

Keras 3 records the arguments of every constructor call (``Operation.__new__``) and, when the
class keeps the base ``get_config``, returns them as its config; when they are not plain values it
raises ``NotImplementedError`` at ``get_config``/save time. initium does the same; each test builds
twin classes in initium and in real Keras (the oracle, torch backend) and compares.

One deliberate difference: Keras's ``Model.__new__`` drops the arguments before recording them, so
a subclassed Keras model's config holds the *defaults* (``MyModel(units=4)`` saves ``units: 3``
and fails to load its own weights). initium records the real arguments; Keras loads those files
correctly.
"""

import copy
import os
import pickle

import numpy as np
import pytest

import initium as keras
from initium import layers


def _real():
    import keras as real

    return real


def _twins(define):
    """``define(keras_module)`` run for initium and for real Keras: (initium class, Keras class)."""
    return define(keras), define(_real())


def _scale(k):
    class Scale(k.layers.Layer):
        def __init__(self, scale=1.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, x):
            return x * self.scale

    return Scale


def _no_kwargs(k):
    class Fixed(k.layers.Layer):
        def __init__(self, scale=1.0, offsets=(0, 1)):
            super().__init__()
            self.scale = scale

    return Fixed


def _bare(k):
    class Bare(k.layers.Layer):
        def call(self, x):
            return x

    return Bare


def _holder(k):
    class Holder(k.layers.Layer):
        def __init__(self, inner=None, *extra, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

    return Holder


def _positional_only(k):
    class PosOnly(k.layers.Layer):
        def __init__(self, a, /, **kwargs):
            super().__init__(**kwargs)

    return PosOnly


def _dense_child(k):
    class MyDense(k.layers.Dense):
        def __init__(self, units, extra=3, **kwargs):
            super().__init__(units, **kwargs)
            self.extra = extra

    return MyDense


CASES = {
    "positional": (_scale, (3.0,), {"name": "s"}),
    "base kwargs": (_scale, (), {"scale": 2, "name": "s", "trainable": False, "dtype": "float64"}),
    "input_shape kwarg": (_scale, (0.5,), {"name": "s", "input_shape": (3,)}),
    "no name, no kwargs": (_no_kwargs, (2.0,), {"offsets": [1, {"a": (2, None)}]}),
    "no __init__": (_bare, (), {"name": "b"}),
    "plain containers": (_holder, ([1, 2.5, "x", None, True, {"k": [3]}],), {"name": "h"}),
    "subclass of a built-in": (_dense_child, (4,), {"extra": 7, "name": "d"}),
}


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")  # Keras's advice for the input_shape case
@pytest.mark.parametrize("case", list(CASES))
def test_get_config_matches_keras(case):
    define, args, kwargs = CASES[case]
    ours, theirs = _twins(define)
    assert ours(*args, **kwargs).get_config() == theirs(*args, **kwargs).get_config()


def test_built_in_layers_do_not_grow_automatic_configs():
    assert layers.Add(name="a").get_config() == _real().layers.Add(name="a").get_config()


@pytest.mark.parametrize("make, argument", [
    (lambda k, cls: cls(inner=k.layers.Dense(2), name="h"), "`inner` holds a Dense"),
    (lambda k, cls: cls(inner=[1, object()], name="h"), "`inner` holds a object"),
    (lambda k, cls: cls(np.float32(2.0), name="h"), "`inner` holds a float32"),
    (lambda k, cls: cls(1, 2, name="h"), r"extra positional arguments \(\*extra=\(2,\)\)"),
])
def test_unserializable_arguments_raise_naming_layer_argument_and_fix(make, argument):
    ours, theirs = _twins(_holder)
    with pytest.raises(NotImplementedError):
        make(_real(), theirs).get_config()
    layer = make(keras, ours)
    with pytest.raises(NotImplementedError, match=rf"Holder 'h' .*{argument}.*Implement get_config\(\) in Holder"):
        layer.get_config()


def test_positional_only_parameters_raise_like_keras():
    ours, theirs = _twins(_positional_only)
    with pytest.raises(NotImplementedError):
        theirs(1, name="p").get_config()
    with pytest.raises(NotImplementedError, match=r"PosOnly 'p'.*positional-only"):
        ours(1, name="p").get_config()


Scale = _scale(keras)
Scale.__qualname__ = "Scale"  # a module-level name, so that pickle finds the class


def test_the_config_records_the_call_not_later_mutations_and_survives_copies():
    theirs = _scale(_real())
    a, b = Scale(3.0, name="s"), theirs(3.0, name="s")
    a.scale = b.scale = 5.0
    assert a.get_config() == b.get_config() and a.get_config()["scale"] == 3.0
    for clone in (copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert clone.get_config() == a.get_config()


def test_custom_layer_without_get_config_round_trips_through_files(tmp_path):
    """`Scale(3.0)` used to come back as `Scale(1.0)`."""
    Scale, KScale = _twins(_scale)
    real = _real()
    keras.random.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2), Scale(3.0)])
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "ours.keras")
    model.save(path)
    back = keras.models.load_model(path, custom_objects={"Scale": Scale})
    assert back.layers[-1].scale == 3.0
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=0, atol=1e-6)
    theirs = real.models.load_model(path, custom_objects={"Scale": KScale})
    assert theirs.layers[-1].scale == 3.0
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, rtol=0, atol=1e-6)
    kpath = str(tmp_path / "theirs.keras")
    theirs.save(kpath)
    assert keras.models.load_model(kpath, custom_objects={"Scale": Scale}).layers[-1].scale == 3.0


def test_saving_a_layer_with_unserializable_arguments_raises_and_writes_nothing(tmp_path):
    Holder = _holder(keras)
    model = keras.Sequential([keras.Input((3,)), Holder(inner=layers.Dense(2), name="holder")])
    with pytest.raises(NotImplementedError, match=r"Holder 'holder'.*`inner`"):
        model.save(str(tmp_path / "m.keras"))
    assert os.listdir(tmp_path) == []  # Keras leaves a truncated archive here


def _subclassed(k):
    class TwoDense(k.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.hidden = k.layers.Dense(units, activation="relu")
            self.out = k.layers.Dense(2)

        def call(self, x):
            return self.out(self.hidden(x))

    return TwoDense


def test_subclassed_model_without_get_config_keeps_its_arguments(tmp_path):
    Ours, Theirs = _twins(_subclassed)
    config = Ours(units=4, name="two").get_config()
    assert config["units"] == 4 and config["name"] == "two"
    assert set(config) == set(Theirs(units=4, name="two").get_config())  # same keys as Keras
    keras.random.set_random_seed(1)
    model = Ours(units=4)
    x = np.random.default_rng(1).standard_normal((5, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "sub.keras")
    model.save(path)
    back = keras.models.load_model(path, custom_objects={"TwoDense": Ours})
    assert back.units == 4
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=0, atol=1e-6)
    theirs = _real().models.load_model(path, custom_objects={"TwoDense": Theirs})
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, rtol=0, atol=1e-6)


def test_subclassed_model_with_unserializable_arguments_names_itself():
    class Wrapper(keras.Model):
        def __init__(self, body, **kwargs):
            super().__init__(**kwargs)
            self.body = body

        def call(self, x):
            return self.body(x)

    with pytest.raises(NotImplementedError, match=r"Wrapper 'w'.*`body` holds a Dense"):
        Wrapper(layers.Dense(2), name="w").get_config()


def test_a_model_subclass_with_its_own_get_config_is_left_alone():
    class Explicit(keras.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def call(self, x):
            return x

        def get_config(self):
            return {**super().get_config(), "width": self.units}

    config = Explicit(units=5, name="e").get_config()
    assert config["width"] == 5 and "units" not in config
