"""ConvLSTM1D/2D/3D against Keras 3: shapes, weights, configs, outputs, masks, dropout, files, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import initium
from initium import initializers, layers
from test_layers_recurrent import _check, _keras, _preset_masks

B, T, C, FILTERS = 2, 3, 2, 3
# (class name, rank, timestep shape channels_last, timestep shape channels_first)
RANKS = {"ConvLSTM1D": (1, (7, C), (C, 7)), "ConvLSTM2D": (2, (6, 5, C), (C, 6, 5)),
         "ConvLSTM3D": (3, (4, 5, 4, C), (C, 4, 5, 4))}
MASK = torch.tensor([[True, True, True], [False, True, False]])


def _expected(cls_name: str, kw: dict) -> tuple[tuple, object]:
    """(input shape, expected output shape(s)) for ``kw``, from the convolution arithmetic."""
    rank, last, first = RANKS[cls_name]
    channels_first = kw.get("data_format") == "channels_first"
    step = first if channels_first else last
    spatial = step[1:] if channels_first else step[:-1]
    k, s, d = (np.broadcast_to(kw.get(a, 1), rank) for a in ("kernel_size", "strides", "dilation_rate"))
    if kw.get("padding", "valid") == "same":
        out = [-(-n // si) for n, si in zip(spatial, s)]
    else:
        out = [(n - (ki - 1) * di - 1) // si + 1 for n, ki, si, di in zip(spatial, k, s, d)]
    state = (B, FILTERS, *out) if channels_first else (B, *out, FILTERS)
    output = (B, T, *state[1:]) if kw.get("return_sequences") else state
    return (B, T, *step), ([output, state, state] if kw.get("return_state") else output)


def _weight_shapes(cls_name: str, kw: dict) -> list[tuple]:
    rank = RANKS[cls_name][0]
    window = tuple(np.broadcast_to(kw["kernel_size"], rank).tolist())
    shapes = [(*window, C, 4 * FILTERS), (*window, FILTERS, 4 * FILTERS)]
    return shapes + [(4 * FILTERS,)] if kw.get("use_bias", True) else shapes


# ----------------------------------------------------------------------------------- Keras parity
CASES = [
    {"kernel_size": 3},
    {"kernel_size": 2, "padding": "same", "return_sequences": True},
    {"kernel_size": 3, "padding": "same", "return_state": True},
    {"kernel_size": 2, "return_sequences": True, "return_state": True},
    {"kernel_size": 3, "padding": "same", "go_backwards": True, "return_sequences": True},
    {"kernel_size": 2, "data_format": "channels_first", "return_sequences": True, "return_state": True},
    {"kernel_size": 3, "padding": "same", "data_format": "channels_first", "go_backwards": True},
    {"kernel_size": 3, "strides": 2, "padding": "same", "return_sequences": True},
    {"kernel_size": 2, "dilation_rate": 2, "return_state": True},
    {"kernel_size": 2, "use_bias": False, "unit_forget_bias": False, "activation": "relu",
     "recurrent_activation": "hard_sigmoid"},
    {"kernel_size": 2, "kernel_initializer": "he_normal", "recurrent_initializer": "glorot_uniform",
     "bias_initializer": "ones", "kernel_regularizer": "l2", "unroll": True, "dropout": 0.2, "seed": 4},
]


# Every case on ConvLSTM2D; on 1D and 3D the default, 'same', both outputs and channels_first.
PARITY = [("ConvLSTM2D", kw) for kw in CASES] + [(c, CASES[i]) for c in ("ConvLSTM1D", "ConvLSTM3D")
                                                 for i in (0, 1, 3, 5)]


@pytest.mark.parametrize("cls_name,kw", PARITY,
                         ids=[f"{c}-" + ",".join(f"{a}={v}" for a, v in kw.items()) for c, kw in PARITY])
def test_parity(cls_name, kw):
    shape, expected = _expected(cls_name, kw)
    shapes = _weight_shapes(cls_name, kw)
    _check(getattr(layers, cls_name), {"filters": FILTERS, **kw}, shape, expected, shapes,
           expected_trainable=len(shapes))


@pytest.mark.parametrize("kw", [{"return_sequences": True}, {"return_state": True},
                                {"go_backwards": True, "return_sequences": True, "return_state": True},
                                {"zero_output_for_mask": True, "return_sequences": True},
                                {"data_format": "channels_first", "return_sequences": True}])
def test_mask_parity(kw):
    kw = {"kernel_size": 3, "padding": "same", **kw}
    shape, expected = _expected("ConvLSTM2D", kw)
    _check(layers.ConvLSTM2D, {"filters": FILTERS, **kw}, shape, expected, call_kwargs={"mask": MASK})


def test_mask_semantics():
    """A masked step keeps both states; its output repeats the previous one (zeros before any kept step)."""
    layer = layers.ConvLSTM1D(FILTERS, 3, padding="same", return_sequences=True, return_state=True)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((B, T, 7, C)).astype("float32"))
    seq, h, c = (t.detach() for t in layer(x, mask=MASK))
    np.testing.assert_array_equal(seq[1, 0].numpy(), np.zeros((7, FILTERS)))
    np.testing.assert_array_equal(seq[1, 2].numpy(), seq[1, 1].numpy())
    _, h1, c1 = (t.detach() for t in layer(x[1:2, 1:2]))  # the only kept step of row 1, alone
    np.testing.assert_allclose(h[1:2].numpy(), h1.numpy(), atol=1e-6)
    np.testing.assert_allclose(c[1:2].numpy(), c1.numpy(), atol=1e-6)
    seq_only = layers.ConvLSTM1D(FILTERS, 3, return_sequences=True)
    assert torch.equal(seq_only(x, mask=MASK)._keras_mask, MASK)  # the mask goes on with the sequence
    assert getattr(layers.ConvLSTM1D(FILTERS, 3)(x, mask=MASK), "_keras_mask", None) is None


@pytest.mark.parametrize("merge_mode", ["concat", None])
def test_bidirectional_parity(merge_mode):
    out = (B, T, 6, 5, FILTERS)
    expected = [out, out] if merge_mode is None else (*out[:-1], 2 * FILTERS)
    _check(layers.Bidirectional, {"layer": layers.ConvLSTM2D(FILTERS, 3, padding="same", return_sequences=True),
                                  "merge_mode": merge_mode}, (B, T, 6, 5, C), expected)


def test_cell_step_is_one_timestep_of_the_layer():
    rng = np.random.default_rng(7)
    x = torch.from_numpy(rng.standard_normal((B, 1, C, 6, 5)).astype("float32"))
    h, c = (torch.from_numpy(rng.standard_normal((B, FILTERS, 6, 5)).astype("float32")) for _ in range(2))
    layer = layers.ConvLSTM2D(FILTERS, 3, padding="same", data_format="channels_first", return_state=True)
    _, h1, c1 = layer(x, initial_state=[h, c])
    out, (h2, c2) = layer.cell(x[:, 0], [h, c])
    for a, b in ((out, h1), (h2, h1), (c2, c1)):
        torch.testing.assert_close(a, b)


def test_initial_state_parity():
    keras = _keras()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((B, T, 6, 5, C)).astype("float32")
    states = [rng.standard_normal((B, 3, 3, FILTERS)).astype("float32") for _ in range(2)]
    ours = layers.ConvLSTM2D(FILTERS, 3, strides=2, padding="same", return_sequences=True, return_state=True)
    ours(x)
    theirs = keras.layers.ConvLSTM2D.from_config(json.loads(json.dumps(ours.get_config(), default=list)))
    theirs(x)
    ours.set_weights(theirs.get_weights())
    got = ours(x, initial_state=states, mask=MASK)
    want = theirs(x, initial_state=[keras.ops.convert_to_tensor(s) for s in states], mask=MASK)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.detach().numpy(), keras.ops.convert_to_numpy(w), atol=1e-5)


@pytest.mark.parametrize("kw", [{"dropout": 0.3}, {"recurrent_dropout": 0.4},
                                {"dropout": 0.3, "recurrent_dropout": 0.4, "data_format": "channels_first"}])
def test_dropout_math_parity(kw):
    """With the same four masks per gate, training outputs equal Keras's; inference ignores them."""
    keras = _keras()
    rng = np.random.default_rng(3)
    channels_first = kw.get("data_format") == "channels_first"
    step = (C, 6, 5) if channels_first else (6, 5, C)
    x = rng.standard_normal((B, T, *step)).astype("float32")
    ours = layers.ConvLSTM2D(FILTERS, 3, padding="same", return_sequences=True, **kw)
    ours(x)
    theirs = keras.layers.ConvLSTM2D.from_config(json.loads(json.dumps(ours.get_config(), default=list)))
    theirs(x)
    ours.set_weights(theirs.get_weights())
    state = (B, FILTERS, 6, 5) if channels_first else (B, 6, 5, FILTERS)
    _preset_masks(theirs.cell, ours.cell, rng, (B, *step), state)
    want = keras.ops.convert_to_numpy(theirs(x, training=True))
    np.testing.assert_allclose(ours(x, training=True).detach().numpy(), want, atol=1e-5)
    assert ours.cell._dropout_mask is None and ours.cell._recurrent_dropout_mask is None  # reset after the call
    np.testing.assert_allclose(ours(x).detach().numpy(), keras.ops.convert_to_numpy(theirs(x)), atol=1e-5)


def test_dropout_behaviour():
    x = torch.ones(8, T, 6, 5, C)
    layer = layers.ConvLSTM2D(FILTERS, 3, padding="same", dropout=0.5, recurrent_dropout=0.5, seed=7)
    layer(x)
    assert not torch.allclose(layer(x, training=True), layer(x))
    torch.testing.assert_close(layer(x), layer(x, training=False))
    twin = layers.ConvLSTM2D(FILTERS, 3, padding="same", dropout=0.5, recurrent_dropout=0.5, seed=7)
    twin(x)
    twin.set_weights(layer.get_weights())
    layer.cell._generators.clear()
    torch.testing.assert_close(twin(x, training=True), layer(x, training=True))  # seeded: reproducible


# ----------------------------------------------------------------------------------- weights and config
def test_paths_and_config_match_keras():
    keras = _keras()
    x = np.zeros((B, T, 6, 5, C), "float32")
    ours, theirs = layers.ConvLSTM2D(FILTERS, 3, name="clstm"), keras.layers.ConvLSTM2D(FILTERS, 3, name="clstm")
    ours(x)
    theirs(x)
    assert [v.path for v in ours.weights] == [v.path for v in theirs.weights] == [
        "clstm/conv_lstm_cell/kernel", "clstm/conv_lstm_cell/recurrent_kernel", "clstm/conv_lstm_cell/bias"]
    dump = lambda c: json.dumps(c, sort_keys=True, default=list)  # noqa: E731
    assert dump(ours.get_config()) == dump(theirs.get_config())
    # A Keras-written config deserializes into ours and round-trips unchanged.
    kcfg = json.loads(dump(keras.layers.serialize(keras.layers.ConvLSTM3D(2, (1, 2, 3), data_format="channels_first",
                                                                         return_state=True, name="c3"))))
    back = layers.deserialize(kcfg)
    assert type(back) is layers.ConvLSTM3D and back.kernel_size == (1, 2, 3) and back.return_state
    assert dump(back.get_config()) == dump(kcfg["config"])
    assert ours.filters == FILTERS and ours.kernel_size == (3, 3) and ours.unit_forget_bias


def test_initializer_defaults_and_unit_forget_bias():
    layer = layers.ConvLSTM2D(FILTERS, 3)
    layer(np.zeros((B, T, 6, 5, C), "float32"))
    cell = layer.cell
    assert isinstance(cell.kernel_initializer, initializers.GlorotUniform)
    assert isinstance(cell.recurrent_initializer, initializers.Orthogonal)
    assert np.abs(cell.kernel.numpy()).max() <= np.sqrt(6 / (9 * C + 9 * 4 * FILTERS))
    r = cell.recurrent_kernel.numpy().reshape(-1, 4 * FILTERS)  # (9 * filters, 4 * filters): orthonormal columns
    np.testing.assert_allclose(r.T @ r, np.eye(4 * FILTERS), atol=1e-5)
    np.testing.assert_array_equal(cell.bias.numpy(), np.r_[np.zeros(FILTERS), np.ones(FILTERS), np.zeros(2 * FILTERS)])
    assert layer.get_config()["bias_initializer"]["class_name"] == "Zeros"
    layer.reinitialize(replay=True)  # the forget block survives a re-initialization
    np.testing.assert_array_equal(cell.bias.numpy(), np.r_[np.zeros(FILTERS), np.ones(FILTERS), np.zeros(2 * FILTERS)])
    const = layers.ConvLSTM1D(FILTERS, 3, bias_initializer=initializers.Constant(0.5), unit_forget_bias=False)
    const(np.zeros((B, T, 7, C), "float32"))
    np.testing.assert_array_equal(const.cell.bias.numpy(), np.full(4 * FILTERS, 0.5))


def test_symbolic_shapes_and_get_initial_state():
    inp = initium.Input((None, 8, 8, 1))
    seq, h, c = layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True, return_state=True)(inp)
    assert seq.shape == (None, None, 8, 8, 4) and h.shape == c.shape == (None, 8, 8, 4)
    layer = layers.ConvLSTM2D(4, 3, strides=2, data_format="channels_first")
    layer(np.zeros((B, T, 1, 9, 9), "float32"))
    assert [tuple(s.shape) for s in layer.get_initial_state(5)] == [(5, 4, 4, 4)] * 2
    assert layer.compute_output_shape((None, 7, 1, 9, 9)) == (None, 4, 4, 4)


def test_saved_model_loads_in_keras_and_back(tmp_path):
    keras = _keras()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, T, 6, 6, 1)).astype("float32")
    model = initium.Sequential([initium.Input((T, 6, 6, 1)),
                                layers.ConvLSTM2D(FILTERS, 3, padding="same", return_sequences=True, name="cl"),
                                layers.Conv3D(1, 3, padding="same", activation="sigmoid")])
    expected = model.predict(x, verbose=0)
    model.save(str(tmp_path / "ours.keras"))
    theirs = keras.models.load_model(str(tmp_path / "ours.keras"))
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, atol=2e-5, rtol=0)
    assert [v.name for v in theirs.weights] == [v.name for v in model.weights]

    kmodel = keras.Sequential([keras.Input((T, 6, 1)),
                               keras.layers.ConvLSTM1D(FILTERS, 2, data_format="channels_last", return_state=False),
                               keras.layers.Flatten(), keras.layers.Dense(2)])
    x1 = rng.standard_normal((4, T, 6, 1)).astype("float32")
    kmodel.save(str(tmp_path / "theirs.keras"))
    ours = initium.models.load_model(str(tmp_path / "theirs.keras"))
    assert type(ours.layers[0]) is layers.ConvLSTM1D
    np.testing.assert_allclose(ours.predict(x1, verbose=0), kmodel.predict(x1, verbose=0), atol=2e-5, rtol=0)


def test_trains():
    """Gradients reach every weight and a few steps lower the loss."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, T, 5, 5, 1)).astype("float32")
    y = (x.sum(axis=(1, 2, 3)) > 0).astype("float32")
    model = initium.Sequential([initium.Input((T, 5, 5, 1)), layers.ConvLSTM2D(2, 3, padding="same"),
                                layers.GlobalAveragePooling2D(), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    losses = model.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    assert all(torch.isfinite(w).all() for w in model.weights)


# ----------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("cls_name,shape", [("ConvLSTM2D", (B, 6, 5, C)), ("ConvLSTM2D", (B, T, 1, 6, 5, C)),
                                            ("ConvLSTM1D", (B, 7, C)), ("ConvLSTM3D", (B, T, 4, 4, C))])
def test_error_input_rank(cls_name, shape):
    rank = RANKS[cls_name][0]
    match = rf"layer 'enc' \({cls_name}\).*expected ndim={rank + 3}, found ndim={len(shape)}.*\(batch, time, "
    with pytest.raises(ValueError, match=match):
        getattr(layers, cls_name)(FILTERS, 2, name="enc")(np.zeros(shape, "float32"))
    with pytest.raises(ValueError, match=match):
        getattr(layers, cls_name)(FILTERS, 2, name="enc")(initium.Input(shape[1:]))


def test_error_arguments_and_shapes():
    with pytest.raises(ValueError, match=r"ConvLSTM2D 'x': `padding` must be one of 'valid', 'same'"):
        layers.ConvLSTM2D(FILTERS, 3, padding="causal", name="x")
    with pytest.raises(ValueError, match=r"ConvLSTM2D: `strides > 1` is not compatible with `dilation_rate > 1`"):
        layers.ConvLSTM2D(FILTERS, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"ConvLSTM1D: the `kernel_size` argument must be an int or a tuple of 1"):
        layers.ConvLSTM1D(FILTERS, (3, 3))
    with pytest.raises(ValueError, match=r"invalid value for argument `filters`.*filters=0"):
        layers.ConvLSTM3D(0, 3)
    with pytest.raises(ValueError, match=r"ConvLSTM2D 'enc': stateful=True is not supported"):
        layers.ConvLSTM2D(FILTERS, 3, stateful=True, name="enc")
    with pytest.raises(ValueError, match=r"ConvLSTM2D 'enc': ConvLSTM layers need static spatial dimensions"):
        layers.ConvLSTM2D(FILTERS, 3, name="enc")(initium.Input((T, None, 5, C)))
    with pytest.raises(ValueError, match=r"kernel_size=\(5, 5\) is larger than the input's spatial shape \(4, 4\)"):
        layers.ConvLSTM2D(FILTERS, 5)(np.zeros((B, T, 4, 4, C), "float32"))
    layer = layers.ConvLSTM2D(FILTERS, 3, name="enc")
    x = np.zeros((B, T, 6, 5, C), "float32")
    with pytest.raises(ValueError, match=r"initial state 1 has shape \(2, 3, 3, 3\), expected \(2, 4, 3, 3\)"):
        layer(x, initial_state=[np.zeros((B, 4, 3, FILTERS), "float32"), np.zeros((B, 3, 3, FILTERS), "float32")])
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 2"):
        layer(np.zeros((B, T, 6, 5, 4), "float32"))
