"""Custom initializers written with ops and keras.random: an Initializer subclass with get_config
(saved and reloaded with the model) and a plain function."""
ISSUE = 13
import os
import tempfile

import numpy as np

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="programs")
class ScaledIdentity(keras.initializers.Initializer):
    def __init__(self, gain=0.5):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        return self.gain * ops.eye(shape[0], shape[1], dtype=dtype)

    def get_config(self):
        return {"gain": self.gain}


def small_normal(shape, dtype=None):
    return 0.01 * keras.random.normal(shape, dtype=dtype, seed=3) + ops.ones(shape, dtype=dtype) * 0.001


def run():
    keras.utils.set_random_seed(10)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(4, kernel_initializer=ScaledIdentity(0.5)),
                              layers.Dense(3, kernel_initializer=small_normal, bias_initializer="ones")])
    k0 = model.layers[0].get_weights()[0]
    k1 = model.layers[1].get_weights()[0]
    path = os.path.join(tempfile.mkdtemp(), "init.keras")
    model.save(path)
    again = keras.models.load_model(path, custom_objects={"small_normal": small_normal})
    cfg = again.layers[0].get_config()["kernel_initializer"]
    rng = np.random.default_rng(9)
    x = rng.normal(size=(64, 4)).astype("float32")
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit(x, x[:, :3], epochs=5, batch_size=16, verbose=0)
    return {"shapes": {"k0": k0.shape, "k1": k1.shape}, "losses": {"train": hist.history["loss"]},
            "identity_ok": bool(np.allclose(k0, 0.5 * np.eye(4))), "k1_mean_small": bool(abs(k1.mean()) < 0.05),
            "gain_after_load": cfg["config"]["gain"], "class_after_load": cfg["class_name"]}
CHECKS = {"same": ["identity_ok", "k1_mean_small", "gain_after_load", "class_after_load"]}
