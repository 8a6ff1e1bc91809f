"""Sequential, functional and subclassed models: construction, weights, config, JSON, summary."""

import json
import os

import numpy as np
import pytest
import torch

import initium as keras
from initium import layers, models

os.environ.setdefault("KERAS_BACKEND", "torch")


def mlp(name=None):
    return keras.Sequential([keras.Input((3,)), layers.Dense(4, name="h1"), layers.Dense(2, name="o")], name=name)


def test_sequential_built_from_input():
    m = mlp("m1")
    assert m.built and [l.name for l in m.layers] == ["h1", "o"]  # Input is not in layers
    assert [w.shape for w in m.get_weights()] == [(3, 4), (4,), (4, 2), (2,)]
    assert [v.path for v in m.weights] == ["m1/h1/kernel", "m1/h1/bias", "m1/o/kernel", "m1/o/bias"]
    assert m.input_shape == (None, 3) and m.output_shape == (None, 2)
    assert m.count_params() == 26


def test_sequential_input_shape_kwarg_and_lazy_build():
    m = keras.Sequential([layers.Dense(4, input_shape=(1,)), layers.Dense(2)])
    assert m.built and [w.shape for w in m.get_weights()] == [(1, 4), (4,), (4, 2), (2,)]
    lazy = keras.Sequential([layers.Dense(4), layers.Dense(2)])
    assert not lazy.built and lazy.get_weights() == []
    with pytest.raises(AttributeError):
        lazy.input_shape
    lazy(np.ones((5, 7)))
    assert lazy.built and lazy.get_weights()[0].shape == (7, 4)
    b = keras.Sequential([layers.Dense(3)])
    b.build((None, 9))
    assert b.get_weights()[0].shape == (9, 3)


def test_sequential_add_pop_and_errors():
    m = keras.Sequential(name="ap")
    m.add(keras.Input((3,)))
    m.add(layers.Dense(2, name="a"))
    m.add(layers.Dense(5, name="b"))
    assert m.output_shape == (None, 5)
    popped = m.pop()
    assert popped.name == "b" and m.output_shape == (None, 2) and len(m.get_weights()) == 2
    with pytest.raises(ValueError, match=r"Only instances of `keras.Layer` can be added to a Sequential model. Received: 1"):
        m.add(1)
    with pytest.raises(ValueError, match=r"It is the class Dense: instantiate it"):
        m.add(layers.Dense)
    with pytest.raises(ValueError, match="should have unique names"):
        m.add(layers.Dense(2, name="a"))
    with pytest.raises(TypeError, match=r"Sequential expects a list of layers, but received a single Dense"):
        keras.Sequential(layers.Dense(2))
    with pytest.raises(TypeError, match="Pass all layers as one list"):
        keras.Sequential([layers.Dense(2)], layers.Dense(3))


def test_sequential_get_layer():
    m = mlp()
    assert m.get_layer("o") is m.layers[1] and m.get_layer(index=0).name == "h1"
    with pytest.raises(ValueError, match=r"No such layer: nope. Existing layers are: \['h1', 'o'\]."):
        m.get_layer("nope")
    with pytest.raises(ValueError, match="only has 2 layers"):
        m.get_layer(index=5)


def test_model_set_weights_errors_name_the_model_layer():
    m = mlp("sw")
    with pytest.raises(ValueError, match=r"on layer 'sw' with a weight list of length 1, but the layer was expecting 4"):
        m.set_weights([np.zeros((3, 4))])


def test_functional_multi_input_output_and_shared_layer():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = layers.Dense(4, name="shared")
    ha, hb = shared(a), shared(b)
    out1 = layers.Dense(1, name="out1")(ha)
    out2 = layers.Dense(2, name="out2")(hb)
    m = keras.Model(inputs=[a, b], outputs=[out1, out2], name="fm")
    assert isinstance(m, models.Functional) and isinstance(m, keras.Model)
    assert [l.name for l in m.layers] == ["a", "b", "shared", "out1", "out2"]  # Input IS in layers here
    y1, y2 = m([torch.ones(2, 3), torch.zeros(2, 3)])
    assert y1.shape == (2, 1) and y2.shape == (2, 2)
    d1, d2 = m({"a": torch.ones(2, 3), "b": torch.zeros(2, 3)})
    assert torch.equal(d1, y1) and torch.equal(d2, y2)
    assert len(m.get_weights()) == 6
    with pytest.raises(ValueError, match=r"expects 2 input\(s\)"):
        m([torch.ones(2, 3)])


def test_functional_disconnected_and_bad_inputs():
    a, b = keras.Input((3,)), keras.Input((3,))
    out = layers.Dense(1)(b)
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, out)
    with pytest.raises(ValueError, match="must be a KerasTensor"):
        keras.Model(torch.ones(3), out)


def test_subclassed_model():
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.h = layers.Dense(8, activation="relu")
            self.o = layers.Dense(3)

        def call(self, x, training=None):
            return self.o(self.h(x))

    n = Net()
    assert n.get_weights() == []
    n.build((None, 5))
    assert [w.shape for w in n.get_weights()] == [(5, 8), (8,), (8, 3), (3,)]
    assert n(torch.ones(2, 5)).shape == (2, 3) and [l.name for l in n.layers] == [n.h.name, n.o.name]
    with pytest.raises(TypeError, match="keyword arguments only"):
        Net.__mro__[1].__init__(n, 1)


def test_models_are_torch_modules():
    m = mlp()
    assert len(list(m.parameters())) == 4
    sd = m.state_dict()
    # keys are positions, as in torch.nn.Sequential, so a second model built the same way (whose
    # auto-named layers get other names) loads this state_dict
    assert list(sd) == ["_stack.0.kernel", "_stack.0.bias", "_stack.1.kernel", "_stack.1.bias"]
    twin = keras.Sequential([keras.Input((3,)), layers.Dense(4), layers.Dense(2)])
    twin.load_state_dict(sd)
    torch.testing.assert_close(twin(torch.ones(4, 3)), m(torch.ones(4, 3)))
    m.to("cpu")
    assert isinstance(m.layers[0].kernel, keras.Variable)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    loss = m(torch.ones(4, 3)).pow(2).sum()
    loss.backward()
    opt.step()


def test_json_round_trip_sequential_and_functional():
    m = mlp("js")
    again = models.model_from_json(m.to_json())
    assert [w.shape for w in again.get_weights()] == [w.shape for w in m.get_weights()]
    assert json.loads(again.to_json())["config"]["layers"][1]["config"]["units"] == 4
    a = keras.Input((3,), name="in")
    f = keras.Model(a, layers.Dense(2, name="d")(layers.Dense(5, name="c")(a)))
    g = models.model_from_json(f.to_json())
    assert [l.name for l in g.layers] == ["in", "c", "d"]
    g.set_weights(f.get_weights())
    x = torch.randn(4, 3)
    assert torch.allclose(g(x), f(x))


def test_json_is_keras_compatible_both_ways():
    import keras as real_keras

    m = mlp("kj")
    km = real_keras.models.model_from_json(m.to_json())
    assert [tuple(w.shape) for w in km.get_weights()] == [w.shape for w in m.get_weights()]
    km.set_weights(m.get_weights())
    x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    np.testing.assert_allclose(km.predict(x, verbose=0), m(x).detach().numpy(), atol=1e-5)
    ka = real_keras.Input((3,), name="ki")
    kf = real_keras.Model(ka, real_keras.layers.Dense(2, name="kd")(real_keras.layers.Dense(5, name="kc")(ka)))
    ours = models.model_from_json(kf.to_json())
    ours.set_weights(kf.get_weights())
    np.testing.assert_allclose(ours(x).detach().numpy(), kf.predict(x, verbose=0), atol=1e-5)
    back = real_keras.models.model_from_json(ours.to_json())
    assert [l.name for l in back.layers] == [l.name for l in ours.layers]


def test_summary_shows_counts_and_initializers():
    m = keras.Sequential([keras.Input((3,)), layers.Dense(4, kernel_initializer="he_normal", name="s1"),
                          layers.Dense(2, use_bias=False, bias_initializer="ones", name="s2")], name="summ")
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "summ"' in text and "s1 (Dense)" in text and "(None, 4)" in text
    assert "HeNormal" in text and "GlorotUniform" in text and "Zeros" in text
    assert "Total params: 24 (96.00 B)" in text and "Non-trainable params: 0 (0.00 B)" in text


def test_summary_of_unbuilt_model():
    m = keras.Sequential([layers.Dense(2)])
    lines = []
    m.summary(print_fn=lines.append)
    assert "0 (unbuilt)" in "\n".join(lines) and "Total params: 0" in "\n".join(lines)


def test_clone_model_has_fresh_weights():
    m = mlp("cl")
    c = models.clone_model(m)
    assert [w.shape for w in c.get_weights()] == [w.shape for w in m.get_weights()]
    assert not np.array_equal(c.get_weights()[0], m.get_weights()[0])


def test_functional_layer_and_weight_order_equal_keras():
    """Keras orders functional layers by graph depth (deepest first), not by call order."""
    import keras as real_keras

    def build(lib):
        L = lib.layers
        a, b = lib.Input((3,), name="a"), lib.Input((3,), name="b")
        da = L.Dense(4, name="dA")(a)
        e2 = L.Dense(4, name="e2")(L.Dense(4, name="e1")(b))
        out = L.Dense(1, name="out")(L.Concatenate(name="cat")([da, e2]))
        return lib.Model([a, b], out)

    ours, theirs = build(keras), build(real_keras)
    assert [l.name for l in ours.layers] == [l.name for l in theirs.layers]
    assert [v.path for v in ours.weights] == [v.path for v in theirs.weights]
    ours.set_weights(theirs.get_weights())
    x = [np.ones((2, 3), "float32"), np.full((2, 3), 0.5, "float32")]
    np.testing.assert_allclose(ours(x).detach().numpy(), theirs.predict(x, verbose=0), atol=1e-5)


def test_model_from_config_dispatches_functional():
    a = keras.Input((2,), name="fa")
    f = keras.Model(a, layers.Dense(3, name="fd")(a))
    g = keras.Model.from_config(f.get_config())
    assert isinstance(g, models.Functional) and [l.name for l in g.layers] == ["fa", "fd"]


# ------------------------------------------------------------------ summary's positions, expand_nested, layer_range

def _nested(K):
    """A functional model holding a Sequential, built alike in initium and in Keras."""
    inner = K.Sequential([K.Input((4,)), K.layers.Dense(5, name="d1"), K.layers.Dense(6, name="d2")], name="inner")
    inp = K.Input((4,), name="x")
    return K.Model(inp, K.layers.Dense(2, name="head")(inner(inp)), name="fm")


def _summary_rows(model, **kwargs):
    """The first column of each table row, as printed."""
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    text = "\n".join(lines)
    return [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")], text


@pytest.mark.parametrize("kwargs", [dict(expand_nested=True), dict(expand_nested=True, show_trainable=True),
                                    dict(layer_range=("inner", "head")), dict(layer_range=("head", "inner")),
                                    dict(layer_range=("x", "inner"), expand_nested=True), dict()])
def test_summary_rows_match_keras(kwargs):
    import keras as real

    ours, _ = _summary_rows(_nested(keras), **kwargs)
    theirs, _ = _summary_rows(_nested(real), **kwargs)
    assert ours == theirs and ours


def test_summary_expand_nested_indents_nested_layers():
    rows, text = _summary_rows(_nested(keras), expand_nested=True)
    assert rows == ["x (InputLayer)", "inner (Sequential)", "└ d1 (Dense)", "└ d2 (Dense)", "head (Dense)"]
    assert "│    └ d1 (Dense)" in text and "Total params: 75" in text  # totals are the whole model's


@pytest.mark.parametrize("bad, message", [
    (("nope", "head"), r"Passed layer_names do not match the layer names in the model. Received: \('nope', 'head'\)"),
    (("head",), r"layer_range must be a list or tuple of length 2. Received: layer_range = \('head',\) of length 1"),
    ((1, 2), r"layer_range should contain string type only. Received: \(1, 2\)"),
])
def test_summary_layer_range_errors_are_keras(bad, message):
    import keras as real

    for model in (_nested(keras), _nested(real)):
        with pytest.raises(ValueError, match=message):
            model.summary(layer_range=bad, print_fn=lambda *a: None)


def test_summary_positions_fractions_and_absolute():
    m = mlp("pos")
    _, text = _summary_rows(m, positions=[0.3, 0.5, 0.6, 0.8, 1.0], line_length=80)
    table = [line for line in text.splitlines() if line.startswith(("┏", "│", "└"))]
    assert {len(line) for line in table} == {80}
    header = next(line for line in text.splitlines() if line.startswith("┏"))
    # columns of 24/16/8/16/16 characters, each less its right border (the first, its left one too)
    assert [len(part) for part in header[1:-1].split("┳")] == [22, 15, 7, 15, 15]
    _, text = _summary_rows(m, positions=[20, 35, 45, 62, 75])
    header = next(line for line in text.splitlines() if line.startswith("┏"))
    assert [i for i, ch in enumerate(header, start=1) if ch in "┳┓"] == [20, 35, 45, 62, 75]  # the right edges
    with pytest.raises(ValueError, match=r"`positions` must give the right edge of each of the 5 columns \(Layer "
                                         r"\(type\), Output Shape, Param #, Kernel init, Bias init\)"):
        m.summary(positions=[0.45, 0.8, 1.0], print_fn=lambda *a: None)
    with pytest.raises(ValueError, match=r"Insufficient console width to print summary"):
        m.summary(positions=[0.01, 0.5, 0.6, 0.8, 1.0], line_length=60, print_fn=lambda *a: None)
