"""A stateful Metric subclass (variables, update_state, result, reset_state) written with ops."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


class MeanAbsoluteMiss(keras.metrics.Metric):
    def __init__(self, name="mean_abs_miss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        err = ops.abs(ops.cast(y_true, "float32") - ops.cast(y_pred, "float32"))
        self.total.assign_add(ops.sum(err))
        self.count.assign_add(ops.cast(ops.size(err), "float32"))

    def result(self):
        return self.total / ops.maximum(self.count, 1.0)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


def run():
    keras.utils.set_random_seed(3)
    m = MeanAbsoluteMiss()
    m.update_state(np.array([1.0, 2.0]), np.array([1.5, 1.0]))
    m.update_state(np.array([0.0]), np.array([2.0]))
    direct = float(ops.convert_to_numpy(m.result()))
    m.reset_state()
    after_reset = float(ops.convert_to_numpy(m.result()))
    rng = np.random.default_rng(2)
    x = rng.normal(size=(128, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True).astype("float32")
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=[MeanAbsoluteMiss()])
    h = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    return {"shapes": {}, "losses": {"train": h.history["loss"], "metric": h.history["mean_abs_miss"]},
            "direct": direct, "after_reset": after_reset, "keys": sorted(h.history)}
CHECKS = {"equal": ["direct", "after_reset"], "same": ["keys"]}
