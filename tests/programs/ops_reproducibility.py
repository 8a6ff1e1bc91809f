"""Reproducibility: set_random_seed gives the same initial weights, dropout masks and keras.random
draws twice; a SeedGenerator advances; an integer seed repeats."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


def build():
    return keras.Sequential([keras.Input((6,)), layers.Dense(5, activation="relu"), layers.Dropout(0.5),
                             layers.Dense(2)])


def run():
    keras.utils.set_random_seed(15)
    w1 = [w.copy() for w in build().get_weights()]
    r1 = ops.convert_to_numpy(keras.random.uniform((3,)))
    keras.utils.set_random_seed(15)
    w2 = build().get_weights()
    r2 = ops.convert_to_numpy(keras.random.uniform((3,)))
    g = keras.random.SeedGenerator(1)
    a, b = keras.random.normal((4,), seed=g), keras.random.normal((4,), seed=g)
    c, d = keras.random.normal((4,), seed=5), keras.random.normal((4,), seed=5)
    x = np.ones((2, 6), dtype="float32")
    drop = layers.Dropout(0.5, seed=3)
    m1 = ops.convert_to_numpy(drop(x, training=True))
    rng = np.random.default_rng(14)
    xs = rng.normal(size=(64, 6)).astype("float32")
    model = keras.Sequential([keras.Input((6,)), layers.Dense(5, activation="relu"), layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    hist = model.fit(xs, xs[:, :2], epochs=4, batch_size=16, verbose=0)
    return {"shapes": {"mask": m1.shape}, "losses": {"train": hist.history["loss"]},
            "same_weights": all(np.array_equal(u, v) for u, v in zip(w1, w2)),
            "same_draws": bool(np.array_equal(r1, r2)),
            "generator_advances": not bool(np.array_equal(ops.convert_to_numpy(a), ops.convert_to_numpy(b))),
            "int_seed_repeats": bool(np.array_equal(ops.convert_to_numpy(c), ops.convert_to_numpy(d))),
            "dropout_scaled": sorted(set(np.round(m1.ravel(), 4).tolist()) - {0.0})}
CHECKS = {"same": ["same_weights", "same_draws", "generator_advances", "int_seed_repeats", "dropout_scaled"]}
