"""A functional model built with ops applied to KerasTensors (concatenate, expand_dims, squeeze,
arithmetic, slicing), trained, saved as .keras, loaded back and predicting the same."""
ISSUE = 13
import os
import tempfile

import numpy as np

import keras
from keras import layers, ops


def run():
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(6)
    a = rng.normal(size=(160, 6)).astype("float32")
    b = rng.normal(size=(160, 4)).astype("float32")
    y = (a[:, :1] + b[:, 1:2]).astype("float32")
    in_a, in_b = keras.Input((6,), name="a"), keras.Input((4,), name="b")
    x = ops.concatenate([in_a, in_b * 2.0], axis=-1)
    x = ops.expand_dims(x, 1)
    x = layers.Dense(8, activation="relu")(x)
    x = ops.squeeze(x, axis=1)
    x = x[:, :6] + 0.5
    out = layers.Dense(1)(x)
    model = keras.Model([in_a, in_b], out)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    hist = model.fit([a, b], y, epochs=6, batch_size=32, verbose=0)
    path = os.path.join(tempfile.mkdtemp(), "graph.keras")
    model.save(path)
    again = keras.models.load_model(path)
    p1, p2 = model.predict([a[:8], b[:8]], verbose=0), again.predict([a[:8], b[:8]], verbose=0)
    return {"shapes": {"out": p1.shape}, "losses": {"train": hist.history["loss"]},
            "reload_diff_small": bool(np.abs(p1 - p2).max() < 1e-5), "n_layers": len(model.layers)}
CHECKS = {"same": ["reload_diff_small", "n_layers"]}
