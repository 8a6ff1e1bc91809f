"""keras.utils helpers: to_categorical for one-hot labels, normalize for L2 (and L1) row scaling,
and a Progbar reporting a hand-written evaluation loop, whose printed figures (a running mean
for ordinary values, the last value for stateful ones) are read back from its output."""
ISSUE = 14
import contextlib
import io
import re

import numpy as np

import keras
from keras import layers


def shown(text):
    """The figures on the bar's last redraw: step counter and name -> value."""
    last = text.replace("\x08", "").split("\r")[-1]
    return {"step": re.search(r"(\d+/\d+)", last).group(1), **dict(re.findall(r"(\w+): (-?[\d.]+)", last))}


def progbar_readings():
    readings = []
    for stop_at in (2, 4):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            bar = keras.utils.Progbar(4, interval=0.0, stateful_metrics=["acc"])
            for step in range(1, stop_at + 1):
                bar.update(step, values=[("loss", 1.0 / step), ("acc", 0.5 + 0.1 * step)])
        readings.append(shown(out.getvalue()))
    return readings


def run():
    keras.utils.set_random_seed(59)
    rng = np.random.default_rng(41)
    raw = rng.normal(size=(192, 5)).astype("float32") * np.array([1.0, 10.0, 0.1, 5.0, 1.0], dtype="float32")
    x = keras.utils.normalize(raw, axis=-1, order=2).astype("float32")
    classes = np.argmax(x[:, :3], axis=1)
    y = keras.utils.to_categorical(classes, num_classes=3)
    model = keras.Sequential([keras.Input((5,)), layers.Dense(16, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="categorical_crossentropy")
    hist = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    probe = np.array([[3.0, 4.0], [1.0, 0.0]], dtype="float32")
    return {"shapes": {"y": y.shape, "pred": model.predict(x[:2], verbose=0).shape},
            "losses": {"train": hist.history["loss"]},
            "unit_rows": bool(np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)),
            "normalize_l2": keras.utils.normalize(probe),
            "normalize_l1_cols": keras.utils.normalize(probe, axis=0, order=1),
            "one_hot": keras.utils.to_categorical([0, 2, 1], num_classes=4),
            "one_hot_inferred": keras.utils.to_categorical(np.array([[1], [0], [2]])),
            "progbar": progbar_readings()}
CHECKS = {"same": ["unit_rows"], "expected": {"normalize_l2": [[0.6, 0.8], [1.0, 0.0]], "normalize_l1_cols": [[0.75, 1.0], [0.25, 0.0]], "one_hot": [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]], "one_hot_inferred": [[0, 1, 0], [1, 0, 0], [0, 0, 1]], "progbar": [{"step": "2/4", "loss": "0.7500", "acc": "0.7000"}, {"step": "4/4", "loss": "0.2500", "acc": "0.9000"}]}}
