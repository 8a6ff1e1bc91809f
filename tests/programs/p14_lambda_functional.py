"""Lambda layers in a functional model: polynomial features built with ops inside a Lambda (its
output shape inferred), a Lambda with extra keyword arguments, and one with an explicit
output_shape; the model fits a quadratic target from the expanded features."""
ISSUE = 14
import numpy as np

import keras
from keras import layers, ops


def scaled_sum(t, factor):
    return factor * ops.sum(t, axis=-1, keepdims=True)


def run():
    keras.utils.set_random_seed(37)
    rng = np.random.default_rng(19)
    x = rng.uniform(-1.0, 1.0, size=(192, 3)).astype("float32")
    y = (x[:, :1] ** 2 - 0.5 * x[:, 1:2] + x[:, 2:3] ** 2).astype("float32")
    inputs = keras.Input((3,))
    squares = layers.Lambda(lambda t: ops.concatenate([t, ops.square(t)], axis=-1), name="poly")(inputs)
    total = layers.Lambda(scaled_sum, arguments={"factor": 0.5}, name="half_sum")(squares)
    clipped = layers.Lambda(lambda t: ops.clip(t, -0.9, 0.9), output_shape=(6,), name="clip")(squares)
    outputs = layers.Dense(1)(layers.Concatenate()([clipped, total]))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    hist = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    probe = np.array([[0.5, -1.0, 2.0]], dtype="float32")
    features = keras.Model(inputs, [squares, total, clipped]).predict(probe, verbose=0)
    return {"shapes": {"squares": tuple(squares.shape), "total": tuple(total.shape),
                       "clipped": tuple(clipped.shape), "pred": model.predict(x[:2], verbose=0).shape},
            "losses": {"train": hist.history["loss"]},
            "features": [f.ravel().tolist() for f in features], "n_weights": len(model.weights),
            "layer_names": [layer.name for layer in model.layers[1:4]]}
CHECKS = {"same": ["n_weights", "layer_names"], "expected": {"features": [[0.5, -1.0, 2.0, 0.25, 1.0, 4.0], [3.375], [0.5, -0.9, 0.9, 0.25, 0.9, 0.9]]}}
