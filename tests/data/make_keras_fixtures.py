"""Generate Keras 3 reference fixtures for initium's saving/loading tests.

Uses *real* Keras 3 (torch backend) to build, optionally compile and briefly
fit, and save a handful of small models.  For each model NAME it writes into
``tests/data/keras/``:

* ``NAME.keras``       -- ``model.save(...)`` (zip: metadata.json, config.json,
                          model.weights.h5)
* ``NAME.weights.h5``  -- ``model.save_weights(...)``
* ``NAME.npz``         -- ``x`` (or ``x0``, ``x1`` for multi-input models),
                          ``y`` (``model.predict`` output, float32) and
                          ``keras_version``

plus ``manifest.json`` describing all fixtures.

Regenerate with::

    KERAS_BACKEND=torch python tests/data/make_keras_fixtures.py

Print the on-disk layout of the existing fixtures (zip members, metadata,
config keys, full H5 trees) with::

    KERAS_BACKEND=torch python tests/data/make_keras_fixtures.py --dump [NAME ...]

Weights/outputs are deterministic (fixed seed, fixed inputs); the ``.keras``
archives are not byte-identical across runs because ``metadata.json`` carries
``date_saved`` and zip members carry timestamps.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "keras")
SEED = 1234

# Widths.  The brief's tutorial-sized models (mlp hidden 64, seed_cnn 32 conv
# filters) produce ~630 KB / ~890 KB files, over the fixture size budget
# (< 200 KB per file), so by default only these two widths are shrunk; input
# shapes, layer types/order, activations, initializers, optimizer and loss are
# exactly the tutorial ones.  Pass ``--tutorial-sizes`` to generate the
# full-width models instead (same file names).
MLP_HIDDEN = 16
CNN_FILTERS = 4
if "--tutorial-sizes" in sys.argv[1:]:
    MLP_HIDDEN = 64
    CNN_FILTERS = 32


def _rng(offset: int) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


def build_mlp():
    model = keras.Sequential(
        [
            keras.Input((784,)),
            layers.Dense(MLP_HIDDEN, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mlp",
    )
    model.compile(
        optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"]
    )
    rng = _rng(1)
    xt = rng.random((16, 784), dtype=np.float32)
    yt = np.eye(10, dtype=np.float32)[rng.integers(0, 10, size=16)]
    # 2 steps (batch_size 8, 16 samples, 1 epoch) -> Adam iterations == 2
    model.fit(xt, yt, batch_size=8, epochs=1, shuffle=False, verbose=0)
    x = _rng(101).random((4, 784), dtype=np.float32)
    return model, {"x": x}, True


def build_seed_cnn():
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(
                CNN_FILTERS,
                (3, 3),
                activation="relu",
                kernel_initializer=keras.initializers.HeNormal(seed=7),
                bias_initializer=keras.initializers.RandomNormal(
                    mean=0.0, stddev=0.05, seed=3
                ),
            ),
            layers.Flatten(),
            layers.Dense(10, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="seed_cnn",
    )
    x = _rng(102).random((2, 28, 28, 1), dtype=np.float32)
    return model, {"x": x}, False


def build_batchnorm():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.Dense(3),
        ],
        name="batchnorm",
    )
    model.compile(optimizer="sgd", loss="mse")
    rng = _rng(3)
    xt = (rng.standard_normal((64, 8)) * 3.0 + 2.0).astype(np.float32)
    yt = rng.standard_normal((64, 3)).astype(np.float32)
    # 5 epochs x 8 steps = 40 steps with momentum 0.99 -> the moving stats
    # have moved ~1/3 of the way from (0, 1) towards the batch statistics.
    model.fit(xt, yt, batch_size=8, epochs=5, shuffle=False, verbose=0)
    x = _rng(103).standard_normal((5, 8)).astype(np.float32)
    return model, {"x": x}, True


def build_two_input():
    a = keras.Input((4,), name="a")
    b = keras.Input((6,), name="b")
    ha = layers.Dense(5, activation="relu", name="dense_a")(a)
    hb = layers.Dense(5, activation="tanh", name="dense_b")(b)
    h = layers.Concatenate(name="concat")([ha, hb])
    out = layers.Dense(2, name="out")(h)
    model = keras.Model(inputs=[a, b], outputs=out, name="two_input")
    rng = _rng(104)
    x0 = rng.standard_normal((3, 4)).astype(np.float32)
    x1 = rng.standard_normal((3, 6)).astype(np.float32)
    return model, {"x0": x0, "x1": x1}, False


def build_lstm():
    model = keras.Sequential(
        [keras.Input((5, 3)), layers.LSTM(4), layers.Dense(1)], name="lstm"
    )
    x = _rng(105).standard_normal((2, 5, 3)).astype(np.float32)
    return model, {"x": x}, False


def build_nested():
    inner = keras.Sequential([layers.Dense(3), layers.Dense(3)], name="inner")
    inp = keras.Input((4,))
    h = inner(inp)
    out = layers.Dense(2)(h)
    model = keras.Model(inp, out, name="nested")
    x = _rng(106).standard_normal((3, 4)).astype(np.float32)
    return model, {"x": x}, False


BUILDERS = [
    ("mlp", build_mlp),
    ("seed_cnn", build_seed_cnn),
    ("batchnorm", build_batchnorm),
    ("two_input", build_two_input),
    ("lstm", build_lstm),
    ("nested", build_nested),
]


def _to_np(y):
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    return np.asarray(y, dtype=np.float32)


def _h5_tree(f, indent="  "):
    """Return lines describing every group/dataset (in h5py iteration order)."""
    import h5py

    lines = []

    def attrs(obj):
        if not obj.attrs:
            return ""
        return "  attrs=" + repr({k: _attr(v) for k, v in obj.attrs.items()})

    def walk(group, depth):
        for key in group.keys():
            obj = group[key]
            pad = indent * depth
            if isinstance(obj, h5py.Dataset):
                lines.append(f"{pad}{key}  {obj.shape} {obj.dtype}{attrs(obj)}")
            else:
                lines.append(f"{pad}{key}/{attrs(obj)}")
                walk(obj, depth + 1)

    lines.append("/" + attrs(f))
    walk(f, 1)
    return lines


def _attr(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def dump(names=None) -> int:
    """Print the on-disk layout of the fixtures (zip members, JSON, H5 trees)."""
    import io
    import zipfile

    import h5py

    for name, _ in BUILDERS:
        if names and name not in names:
            continue
        kpath = os.path.join(OUT_DIR, f"{name}.keras")
        wpath = os.path.join(OUT_DIR, f"{name}.weights.h5")
        print(f"===== {name} =====")
        with zipfile.ZipFile(kpath) as zf:
            for info in zf.infolist():
                print(
                    f"  member {info.filename!r} compress_type={info.compress_type}"
                    f" size={info.file_size} compressed={info.compress_size}"
                    f" date_time={info.date_time}"
                )
            meta = json.loads(zf.read("metadata.json"))
            config = json.loads(zf.read("config.json"))
            archived_h5 = zf.read("model.weights.h5")
        print("  metadata.json:", json.dumps(meta))
        print("  config.json top-level keys:", list(config))
        inner = config["config"]
        print("  config.json['config'] keys:", list(inner))
        for i, lc in enumerate(inner.get("layers", [])):
            print(f"    layers[{i}]: class_name={lc['class_name']!r} "
                  f"name={lc['config'].get('name')!r} keys={list(lc)}")
        print("  config.json:", json.dumps({k: v for k, v in config.items()
                                             if k != "config"}))
        with h5py.File(io.BytesIO(archived_h5), "r") as f:
            archived = _h5_tree(f)
        with h5py.File(wpath, "r") as f:
            standalone = _h5_tree(f)
        print("  model.weights.h5 (inside .keras):")
        for line in archived:
            print("   ", line)
        if standalone == archived:
            print(f"  {name}.weights.h5: identical tree to the archive's")
        else:
            print(f"  {name}.weights.h5 (DIFFERS):")
            for line in standalone:
                print("   ", line)
    return 0


def main() -> int:
    if "--dump" in sys.argv[1:]:
        return dump([a for a in sys.argv[1:] if not a.startswith("--")])
    os.makedirs(OUT_DIR, exist_ok=True)
    manifest = {}
    for name, builder in BUILDERS:
        # Re-seed before each model so fixtures are independent of order.
        keras.utils.set_random_seed(SEED)
        keras.backend.clear_session()
        model, xs, compiled = builder()
        inputs = [xs[k] for k in sorted(xs)]
        pred = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        arrays = dict(xs)
        if isinstance(pred, (list, tuple)):
            for i, p in enumerate(pred):
                arrays[f"y{i}"] = _to_np(p)
        else:
            arrays["y"] = _to_np(pred)
        arrays["keras_version"] = np.array(keras.__version__)

        keras_path = os.path.join(OUT_DIR, f"{name}.keras")
        weights_path = os.path.join(OUT_DIR, f"{name}.weights.h5")
        npz_path = os.path.join(OUT_DIR, f"{name}.npz")
        model.save(keras_path)
        model.save_weights(weights_path)
        np.savez(npz_path, **arrays)

        manifest[name] = {
            "files": {
                "keras": os.path.basename(keras_path),
                "weights": os.path.basename(weights_path),
                "npz": os.path.basename(npz_path),
            },
            "inputs": {k: list(v.shape) for k, v in sorted(xs.items())},
            "outputs": {
                k: list(v.shape) for k, v in arrays.items() if k.startswith("y")
            },
            "compiled": bool(compiled),
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
        }
        print(f"wrote {name}: " + ", ".join(
            f"{os.path.basename(p)} {os.path.getsize(p)}B"
            for p in (keras_path, weights_path, npz_path)
        ))

    with open(os.path.join(OUT_DIR, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
