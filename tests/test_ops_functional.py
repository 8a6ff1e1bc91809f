"""Ops applied to KerasTensors are graph nodes (``initium.ops.Operation``), as in Keras 3: functional
models built with them train, summarize, save as ``.keras`` files Keras loads, load Keras's, and
predict the same (≤1e-5) both ways."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import initium  # noqa: E402


def _build(lib):
    a = lib.Input((4, 3), name="a")
    b = lib.Input((3,), name="b")
    x = a[:, 1:3, ...]
    y = lib.ops.expand_dims(b, 1) * 2.0 + 1
    z = lib.ops.concatenate([x, y], axis=1)
    h = lib.layers.Dense(5, activation="relu")(z)
    h = lib.ops.clip(h, -1.0, 1.0) - lib.ops.mean(h, axis=1, keepdims=True)
    h = lib.ops.reshape(h, (-1, 15))
    out = lib.layers.Dense(1)(lib.ops.concatenate([h, lib.ops.take(b, [0, 2], axis=1)], axis=-1))
    return lib.Model([a, b], out)


def _data(n=64):
    rng = np.random.default_rng(0)
    xa = rng.normal(size=(n, 4, 3)).astype("float32")
    xb = rng.normal(size=(n, 3)).astype("float32")
    return xa, xb, (xa[:, 1, :1] + xb[:, :1]).astype("float32")


def test_graph_structure_matches_keras():
    initium.backend.clear_session()
    keras.backend.clear_session()  # auto-names ("dense_3") depend on what earlier tests built
    ours, theirs = _build(initium), _build(keras)
    assert [type(o).__name__ for o in ours.operations] == [type(o).__name__ for o in theirs.operations]
    assert [l.name for l in ours.layers] == [l.name for l in theirs.layers]
    assert ours.output_shape == theirs.output_shape
    ours_cfg, theirs_cfg = ours.get_config(), theirs.get_config()
    for e_ours, e_theirs in zip(ours_cfg["layers"], theirs_cfg["layers"]):
        if e_theirs["module"].startswith("keras.src.ops"):
            assert (e_ours["module"], e_ours["class_name"], e_ours["registered_name"]) == \
                (e_theirs["module"], e_theirs["class_name"], e_theirs["registered_name"])
            assert json.loads(json.dumps({k: v for k, v in e_ours["config"].items() if k != "name"})) == \
                json.loads(json.dumps({k: v for k, v in e_theirs["config"].items() if k != "name"}))


def test_a_graph_with_ops_trains_and_round_trips_through_keras(tmp_path):
    xa, xb, y = _data()
    model = _build(initium)
    model.compile(optimizer="adam", loss="mse")
    losses = model.fit([xa, xb], y, epochs=4, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    path = tmp_path / "ops.keras"
    model.save(path)
    in_keras = keras.models.load_model(path)
    back = initium.models.load_model(path)
    expected = model.predict([xa, xb], verbose=0)
    np.testing.assert_allclose(in_keras.predict([xa, xb], verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(back.predict([xa, xb], verbose=0), expected, atol=1e-5)


def test_keras_graphs_with_ops_load_in_initium(tmp_path):
    xa, xb, y = _data()
    model = _build(keras)
    model.compile(optimizer="adam", loss="mse")
    model.fit([xa, xb], y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "keras_ops.keras"
    model.save(path)
    ours = initium.models.load_model(path)
    np.testing.assert_allclose(ours.predict([xa, xb], verbose=0), model.predict([xa, xb], verbose=0), atol=1e-5)
    assert [type(o).__name__ for o in ours.operations] == [type(o).__name__ for o in model.operations]


def test_symbolic_shape_queries_and_python_operators():
    x = initium.Input((None, 8))
    assert initium.ops.shape(x) == (None, None, 8)
    batch = initium.ops.shape(x)[0]
    y = initium.ops.reshape(x, (batch, -1, 2, 4)) if batch is not None else initium.ops.reshape(x, (-1, 2, 4))
    assert y.shape[-2:] == (2, 4)
    for expr in (x + 1, 1 - x, x * x, x / 2, x // 2, x % 3, x ** 2, -x, abs(x), x @ initium.ops.ones((8, 2)),
                 x > 0, x <= 0, x != 0, x[..., :2], round(x)):
        assert isinstance(expr, initium.KerasTensor) and expr._keras_history is not None
    with pytest.raises(TypeError, match="Python boolean"):
        bool(x)


def test_op_node_errors_name_the_op():
    x = initium.Input((4,))
    with pytest.raises(ValueError, match="ops.reshape"):
        initium.ops.reshape(x, (3, 5))
    with pytest.raises(TypeError):
        initium.ops.eye(x)  # creation ops refuse symbolic inputs, as in Keras


def test_unknown_op_in_a_file_is_a_clear_error(tmp_path):
    import json
    import zipfile

    model = _build(initium)
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    cfg = json.loads(entries["config.json"])
    op = next(e for e in cfg["config"]["layers"] if e["module"] == "keras.src.ops.numpy")
    op["class_name"] = "NotAnOp"
    entries["config.json"] = json.dumps(cfg).encode()
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(bad, "w") as z:
        for n, d in entries.items():
            z.writestr(n, d)
    with pytest.raises(ValueError, match=r"bad\.keras.*Unknown op 'NotAnOp'"):
        initium.models.load_model(bad)


def test_summary_lists_op_nodes_in_keras_order():
    lines = []
    model = _build(initium)
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    names = [f"{op.name} ({type(op).__name__})" for op in model.operations]
    positions = [text.find(n) for n in names]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), names
    theirs = _build(keras)
    assert [type(o).__name__ for o in theirs.operations] == [n.split("(")[1][:-1] for n in names]
