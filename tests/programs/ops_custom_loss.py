"""A custom loss as a function and as a Loss subclass, both written with ops."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


def smooth_l1(y_true, y_pred):
    diff = ops.abs(y_true - y_pred)
    return ops.mean(ops.where(diff < 1.0, 0.5 * ops.square(diff), diff - 0.5), axis=-1)


class WeightedMSE(keras.losses.Loss):
    def __init__(self, weight=2.0, name="weighted_mse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weight = weight

    def call(self, y_true, y_pred):
        return self.weight * ops.mean(ops.square(y_true - y_pred), axis=-1)


def run():
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32") + 0.3).astype("float32")
    losses = {}
    for name, loss in [("smooth_l1", smooth_l1), ("weighted", WeightedMSE(weight=0.5))]:
        model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="tanh"), layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
        losses[name] = model.fit(x, y, epochs=6, batch_size=20, verbose=0).history["loss"]
    value = float(ops.convert_to_numpy(smooth_l1(np.zeros((2, 3), "float32"), np.array([[0.5, 2.0, -1.0]] * 2, "float32")))[0])
    return {"shapes": {}, "losses": losses, "smooth_l1_value": value}
CHECKS = {"equal": ["smooth_l1_value"]}
