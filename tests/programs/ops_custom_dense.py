"""A Dense layer written from scratch with add_weight and ops, trained in a Sequential model."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


class ScaledDense(layers.Layer):
    def __init__(self, units, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.scale = scale

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, inputs):
        return ops.relu(ops.matmul(inputs, self.w) * self.scale + self.b)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "scale": self.scale}


def run():
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, :1] * 2 - x[:, 1:2] > 0).astype("float32")
    model = keras.Sequential([keras.Input((8,)), ScaledDense(16, scale=0.5), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    out = model.predict(x[:4], verbose=0)
    return {"shapes": {"out": out.shape, "w": tuple(model.layers[0].w.shape)},
            "losses": {"train": history.history["loss"]},
            "n_weights": len(model.get_weights())}
CHECKS = {"same": ["n_weights"]}
