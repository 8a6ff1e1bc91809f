"""An RMS normalization layer (ops.rsqrt, ops.mean) inside a residual MLP with a custom gain."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


class RMSNorm(layers.Layer):
    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gain")

    def call(self, x):
        return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.epsilon) * self.gain


def run():
    keras.utils.set_random_seed(8)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(256, 12)).astype("float32") * 3
    y = np.sin(x[:, :1]).astype("float32")
    inputs = keras.Input((12,))
    h = layers.Dense(24)(inputs)
    for _ in range(2):
        h = layers.Add()([h, layers.Dense(24, activation="relu")(RMSNorm()(h))])
    out = layers.Dense(1)(RMSNorm()(h))
    model = keras.Model(inputs, out)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
    hist = model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    norm = RMSNorm()
    z = ops.convert_to_numpy(norm(np.array([[3.0, 4.0]], dtype="float32")))
    return {"shapes": {"out": model.predict(x[:2], verbose=0).shape}, "losses": {"train": hist.history["loss"]},
            "rms_of_normed": float(np.sqrt((z ** 2).mean()))}
CHECKS = {"equal": ["rms_of_normed"]}
