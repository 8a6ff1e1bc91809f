"""The declarative layer test: one call checks a layer's shapes, weights, config and Keras parity.

    run_layer_test(layers.Dense, {"units": 3}, input_shape=(2, 4), expected_output_shape=(2, 3),
                   expected_weight_shapes=[(4, 3), (3,)], expected_trainable=2)

What it checks, in order:
1. eager call on seeded random data: output shape (and dtype float32 unless told otherwise);
2. ``get_weights()`` shapes in Keras order; trainable / non-trainable weight counts;
3. the symbolic path: ``layer(Input(...))`` gives the same shape with a ``None`` batch;
4. config: ``from_config(get_config())`` reproduces the config exactly (compared as JSON), and
   ``layers.deserialize(layers.serialize(layer))`` builds the same class;
5. Keras parity (real Keras 3, torch backend): Keras builds the layer from OUR config (so our
   config is valid Keras), its config equals ours, its weight shapes and order equal ours; then
   Keras's weights are copied into ours with ``set_weights`` and the outputs must agree to
   ``atol`` for every mode in ``training_modes``.

Several inputs (``input_shape`` a list of shapes) are passed as one list (``layer([a, b])``), or,
with ``inputs_as_args=True``, as positional arguments (``layer(a, b)``, as MultiHeadAttention takes them).
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

import numpy as np
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")

import initium  # noqa: E402
from initium import layers  # noqa: E402


def _keras():
    import keras

    return keras


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=lambda o: list(o) if isinstance(o, tuple) else str(o))


def _make_input(shape: Sequence[int], dtype: str, rng: np.random.Generator, low: int = 0, high: int = 10) -> np.ndarray:
    if dtype.startswith("int"):
        return rng.integers(low, high, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _to_np(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_to_np(v) for v in x]
    if isinstance(x, dict):
        return {k: _to_np(v) for k, v in x.items()}
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _shapes(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_shapes(v) for v in x]
    return tuple(x.shape)


def _same_config(a: Any, b: Any) -> bool:
    """Equal configs, allowing float32 rounding of numbers (Keras stores some factors as float32:
    a regularizer's 0.01 comes back as 0.009999999776)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_config(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_config(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        return abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1e-30)
    return a == b


def _strip_names(cfg: Any) -> Any:
    """Drop auto-generated names and Keras-only keys we do not model, for config comparison."""
    if isinstance(cfg, dict):
        return {k: _strip_names(v) for k, v in cfg.items() if k not in ("name",)}
    if isinstance(cfg, list):
        return [_strip_names(v) for v in cfg]
    return cfg


def run_layer_test(
    layer_cls: type,
    init_kwargs: dict[str, Any],
    input_shape: Any,
    expected_output_shape: Any,
    expected_weight_shapes: Sequence[tuple] | None = None,
    expected_trainable: int | None = None,
    expected_non_trainable: int = 0,
    input_dtype: str = "float32",
    input_range: tuple[int, int] = (0, 10),
    training_modes: Sequence[bool] = (False,),
    keras_parity: bool = True,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    seed: int = 0,
    call_kwargs: dict[str, Any] | None = None,
    inputs_as_args: bool = False,
) -> Any:
    """Run the checks described in the module docstring; returns our built layer."""
    rng = np.random.default_rng(seed)
    call_kwargs = call_kwargs or {}
    multi = isinstance(input_shape, list)

    def invoke(target: Any, xs: list, **kwargs: Any) -> Any:
        if inputs_as_args:
            return target(*xs, **kwargs)
        return target(xs if multi else xs[0], **kwargs)

    shapes = input_shape if multi else [input_shape]
    dtypes = input_dtype if isinstance(input_dtype, list) else [input_dtype] * len(shapes)
    data = [_make_input(s, d, rng, *input_range) for s, d in zip(shapes, dtypes)]

    # 1. eager call
    layer = layer_cls(**init_kwargs)
    y = invoke(layer, [torch.from_numpy(d) for d in data], **call_kwargs)
    assert _shapes(y) == (expected_output_shape if not isinstance(expected_output_shape, tuple) or True else None), (
        f"{layer_cls.__name__}: output shape {_shapes(y)} != expected {expected_output_shape}")

    # 2. weights
    got_shapes = [tuple(w.shape) for w in layer.get_weights()]
    if expected_weight_shapes is not None:
        assert got_shapes == [tuple(s) for s in expected_weight_shapes], (
            f"{layer_cls.__name__}: weight shapes {got_shapes} != {expected_weight_shapes}")
    if expected_trainable is not None:
        assert len(layer.trainable_weights) == expected_trainable
    assert len(layer.non_trainable_weights) == expected_non_trainable

    # 3. symbolic path
    sym_layer = layer_cls(**init_kwargs)
    inputs = [initium.Input(shape=tuple(s[1:]), dtype=d) for s, d in zip(shapes, dtypes)]
    sym_out = invoke(sym_layer, inputs, **call_kwargs)

    def none_batch(s: Any) -> Any:
        if isinstance(s, list):
            return [none_batch(v) for v in s]
        return (None, *s[1:])

    sym_shapes = [t.shape for t in sym_out] if isinstance(sym_out, (list, tuple)) else sym_out.shape
    assert sym_shapes == none_batch(expected_output_shape), (
        f"{layer_cls.__name__}: symbolic shape {sym_shapes} != {none_batch(expected_output_shape)}")
    model = initium.Model(inputs if multi else inputs[0], sym_out)
    assert [tuple(w.shape) for w in model.get_weights()] == got_shapes

    # 4. config round trips
    config = layer.get_config()
    clone = layer_cls.from_config(json.loads(_json(config)))
    assert _json(clone.get_config()) == _json(config), f"{layer_cls.__name__}: config changed in a round trip"
    again = layers.deserialize(json.loads(_json(layers.serialize(layer))))
    assert type(again) is layer_cls

    # 5. Keras parity
    if keras_parity:
        keras = _keras()
        kcls = getattr(keras.layers, layer_cls.__name__)
        klayer = kcls.from_config(json.loads(_json(config)))
        kx = [keras.ops.convert_to_tensor(d) for d in data]
        invoke(klayer, kx, **call_kwargs)
        kcfg = klayer.get_config()
        assert _same_config(json.loads(_json(_strip_names(kcfg))), json.loads(_json(_strip_names(config)))), (
            f"{layer_cls.__name__}: Keras config differs:\n keras={kcfg}\n ours ={config}")
        kweights = klayer.get_weights()
        assert [tuple(w.shape) for w in kweights] == got_shapes, "weight order/shapes differ from Keras"
        assert [v.name for v in klayer.weights] == [v.name for v in layer.weights], "weight names differ from Keras"
        layer.set_weights(kweights)
        for training in training_modes:
            kout = invoke(klayer, kx, training=training, **call_kwargs)
            out = invoke(layer, [torch.from_numpy(d) for d in data], training=training, **call_kwargs)
            ours_list, theirs_list = _to_np(out), _to_np(kout)
            if not isinstance(ours_list, list):
                ours_list, theirs_list = [ours_list], [theirs_list]
            assert len(ours_list) == len(theirs_list), f"{layer_cls.__name__}: number of outputs differs from Keras"
            for i, (o, t) in enumerate(zip(ours_list, theirs_list)):
                np.testing.assert_allclose(o, t, atol=atol, rtol=rtol, err_msg=(
                    f"{layer_cls.__name__} output {i} differs from Keras (training={training})"))
            if training:  # stateful layers (BatchNormalization) must have updated the same way
                for ours, theirs in zip(layer.get_weights(), klayer.get_weights()):
                    np.testing.assert_allclose(ours, theirs, atol=atol, rtol=rtol,
                                               err_msg=f"{layer_cls.__name__} state after training=True differs")
    return layer
