"""A bilinear interaction layer with ops.einsum, for pairs of inputs in a two-input functional model."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


class Bilinear(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        (_, n), (_, m) = input_shape
        self.w = self.add_weight(shape=(self.units, n, m), initializer="glorot_uniform", name="w")

    def call(self, inputs):
        a, b = inputs
        return ops.einsum("bi,kij,bj->bk", a, self.w, b)


def run():
    keras.utils.set_random_seed(14)
    rng = np.random.default_rng(13)
    a = rng.normal(size=(160, 5)).astype("float32")
    b = rng.normal(size=(160, 3)).astype("float32")
    y = (a[:, :1] * b[:, :1]).astype("float32")
    ia, ib = keras.Input((5,)), keras.Input((3,))
    out = layers.Dense(1)(Bilinear(4)([ia, ib]))
    model = keras.Model([ia, ib], out)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    hist = model.fit([a, b], y, epochs=6, batch_size=16, verbose=0)
    return {"shapes": {"out": model.predict([a[:3], b[:3]], verbose=0).shape}, "losses": {"train": hist.history["loss"]}}
