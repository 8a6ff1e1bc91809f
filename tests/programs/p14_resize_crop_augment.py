"""An image pipeline inside the model: Resizing and CenterCrop fix the geometry, RandomCrop,
RandomTranslation, RandomContrast and RandomBrightness augment in training only, a small CNN
classifies whether the bright blob is in the top or bottom half. Resizing (bilinear, nearest,
crop_to_aspect_ratio) and CenterCrop are checked on a fixed array, and the random layers on what
they do in and out of training."""
ISSUE = 14
import numpy as np

import keras
from keras import layers

GRID = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)


def plane(images):
    return keras.ops.convert_to_numpy(images)[0, ..., 0].tolist()


def blobs(rng, n):
    x = rng.uniform(0.0, 0.2, size=(n, 20, 20, 3)).astype("float32")
    labels = rng.integers(0, 2, size=n)
    for i in range(n):
        row = rng.integers(2, 7) if labels[i] == 0 else rng.integers(13, 18)
        col = rng.integers(4, 16)
        x[i, row - 2:row + 2, col - 2:col + 2] = 0.9
    return x, labels


def run():
    keras.utils.set_random_seed(31)
    x, y = blobs(np.random.default_rng(17), 128)
    augment = [layers.RandomCrop(10, 10), layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
               layers.RandomContrast(0.2), layers.RandomBrightness(0.1, value_range=(0.0, 1.0))]
    inputs = keras.Input((20, 20, 3))
    h = layers.CenterCrop(12, 12)(layers.Resizing(14, 14)(inputs))
    for layer in augment:
        h = layer(h)
    h = layers.Conv2D(8, 3, activation="relu")(h)
    outputs = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling2D()(h))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    sample = np.random.default_rng(0).uniform(size=(2, 12, 12, 3)).astype("float32")
    trained = [keras.ops.convert_to_numpy(layer(sample, training=True)) for layer in augment]
    inferred = [keras.ops.convert_to_numpy(layer(sample, training=False)) for layer in augment]
    return {"shapes": {"pred": model.predict(x[:2], verbose=0).shape,
                       "trained": [t.shape for t in trained], "inferred": [t.shape for t in inferred]},
            "losses": {"train": hist.history["loss"]},
            "bilinear": plane(layers.Resizing(2, 2)(GRID)),
            "nearest": plane(layers.Resizing(3, 3, interpolation="nearest")(GRID)),
            "aspect": plane(layers.Resizing(2, 3, crop_to_aspect_ratio=True)(GRID)),
            "center": plane(layers.CenterCrop(2, 2)(GRID)),
            "inference_identity": [bool(np.allclose(t, sample)) for t in inferred],
            "training_changes": [t.shape != sample.shape or not np.allclose(t, sample) for t in trained]}
CHECKS = {"equal": ["bilinear", "nearest", "aspect", "center"], "same": ["inference_identity", "training_changes"]}
