"""Adaptive pooling: AdaptiveAveragePooling2D/AdaptiveMaxPooling2D and their 1D forms map any input
size to a fixed output grid (uneven windows when the size does not divide), so one classifier
trained on 12x12 images also predicts on 9x15 ones. Exact values on fixed arrays are checked."""
ISSUE = 14
import numpy as np

import keras
from keras import layers

GRID = np.arange(35, dtype="float32").reshape(1, 5, 7, 1)
SEQ = np.array([[[1.0], [4.0], [2.0], [8.0], [5.0]]], dtype="float32")


def values(layer, x):
    return keras.ops.convert_to_numpy(layer(x)).squeeze().tolist()


def images(rng, n, h, w):
    x = rng.uniform(0.0, 0.3, size=(n, h, w, 1)).astype("float32")
    y = rng.integers(0, 2, size=n)
    x[y == 1, : h // 2] += 0.5  # class 1 is brighter in its top half
    return x, y


def run():
    keras.utils.set_random_seed(71)
    rng = np.random.default_rng(53)
    x, y = images(rng, 128, 12, 12)
    inputs = keras.Input((None, None, 1))
    h = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = layers.Flatten()(layers.AdaptiveAveragePooling2D((2, 2))(h))
    model = keras.Model(inputs, layers.Dense(2, activation="softmax")(h))
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    other, _ = images(rng, 3, 9, 15)
    return {"shapes": {"pred_12x12": model.predict(x[:3], verbose=0).shape,
                       "pred_9x15": model.predict(other, verbose=0).shape},
            "losses": {"train": hist.history["loss"]},
            "avg_2d": values(layers.AdaptiveAveragePooling2D((2, 3)), GRID),
            "max_2d": values(layers.AdaptiveMaxPooling2D((2, 3)), GRID),
            "avg_1d": values(layers.AdaptiveAveragePooling1D(3), SEQ),
            "max_1d": values(layers.AdaptiveMaxPooling1D(2), SEQ), "n_weights": len(model.weights)}
CHECKS = {"equal": ["avg_2d", "max_2d", "avg_1d", "max_1d"], "same": ["n_weights"]}
