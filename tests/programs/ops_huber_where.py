"""A hand-written Huber loss with ops.where and ops.clip, and gradient clipping in the optimizer."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


def huber(y_true, y_pred, delta=1.0):
    err = ops.clip(y_true - y_pred, -10.0, 10.0)
    small = ops.abs(err) <= delta
    return ops.mean(ops.where(small, 0.5 * err ** 2, delta * (ops.abs(err) - 0.5 * delta)), axis=-1)


def run():
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(10)
    x = rng.normal(size=(240, 5)).astype("float32")
    y = (x[:, :1] * 3 + rng.standard_cauchy(size=(240, 1)) * 0.1).astype("float32")
    model = keras.Sequential([keras.Input((5,)), layers.Dense(10, activation="relu"), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01, clipnorm=1.0), loss=huber)
    hist = model.fit(x, y, epochs=6, batch_size=24, verbose=0)
    value = float(ops.convert_to_numpy(huber(np.array([[0.0, 0.0]], "float32"), np.array([[0.5, 3.0]], "float32")))[0])
    return {"shapes": {}, "losses": {"train": hist.history["loss"]}, "huber_value": value}
CHECKS = {"equal": ["huber_value"]}
