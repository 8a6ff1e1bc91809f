"""Gating with ops.where / ops.sigmoid / ops.stop_gradient, and eager control flow with ops.cond and
ops.fori_loop inside a layer's call."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


class GatedResidual(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.value = layers.Dense(units)
        self.gate = layers.Dense(units)

    def call(self, x):
        g = ops.sigmoid(self.gate(x))
        return g * self.value(x) + (1.0 - g) * x


def run():
    keras.utils.set_random_seed(16)
    total = ops.fori_loop(0, 5, lambda i, acc: acc + i, 0)
    picked = ops.cond(ops.convert_to_tensor(True), lambda: ops.ones((2,)), lambda: ops.zeros((2,)))
    frozen = ops.stop_gradient(ops.ones((2,)) * 3.0)
    rng = np.random.default_rng(15)
    x = rng.normal(size=(200, 6)).astype("float32")
    y = np.tanh(x).astype("float32")
    model = keras.Sequential([keras.Input((6,)), GatedResidual(6), GatedResidual(6)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    hist = model.fit(x, y, epochs=6, batch_size=20, verbose=0)
    return {"shapes": {"out": model.predict(x[:2], verbose=0).shape}, "losses": {"train": hist.history["loss"]},
            "loop": int(ops.convert_to_numpy(total)), "picked": ops.convert_to_numpy(picked).tolist(),
            "frozen": ops.convert_to_numpy(frozen).tolist()}
CHECKS = {"equal": ["loop", "picked", "frozen"]}
