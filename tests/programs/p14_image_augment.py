"""An image classifier with augmentation layers in the model (RandomFlip, RandomRotation,
RandomZoom) after a Normalization layer adapted to the training images. The classes are a bright
horizontal bar or a vertical one, which flips and small turns keep; the augmentations act only
in training."""
ISSUE = 14
import numpy as np

import keras
from keras import layers


def bars(rng, n):
    """Noisy 16x16 RGB images: label 0 a horizontal bar, label 1 a vertical one, each channel offset."""
    x = rng.normal(0.0, 0.3, size=(n, 16, 16, 3)) + np.array([0.5, 1.0, 2.0])
    labels = rng.integers(0, 2, size=n)
    where = rng.integers(3, 13, size=n)
    for i in range(n):
        if labels[i] == 0:
            x[i, where[i] - 1:where[i] + 1, 2:14, :] += 2.0
        else:
            x[i, 2:14, where[i] - 1:where[i] + 1, :] += 2.0
    return x.astype("float32"), labels


def run():
    keras.utils.set_random_seed(5)
    x, y = bars(np.random.default_rng(1), 128)
    norm = layers.Normalization(axis=-1)
    norm.adapt(x)
    augment = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.05),
                                layers.RandomZoom(0.1)], name="augment")
    inputs = keras.Input((16, 16, 3))
    h = augment(norm(inputs))
    h = layers.Conv2D(8, 3, activation="relu")(h)
    h = layers.MaxPooling2D()(h)
    h = layers.Conv2D(8, 3, activation="relu")(h)
    h = layers.GlobalAveragePooling2D()(h)
    outputs = layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    normed = keras.ops.convert_to_numpy(norm(x))
    sample = keras.ops.convert_to_numpy(norm(x[:8]))
    return {"shapes": {"probs": model.predict(x[:3], verbose=0).shape, "mean": tuple(norm.mean.shape)},
            "losses": {"train": hist.history["loss"]},
            "adapted_mean": np.ravel(keras.ops.convert_to_numpy(norm.mean)),
            "adapted_variance": np.ravel(keras.ops.convert_to_numpy(norm.variance)),
            "mean_zero": bool(np.allclose(normed.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)),
            "std_one": bool(np.allclose(normed.std(axis=(0, 1, 2)), 1.0, atol=1e-3)),
            "still_at_inference": bool(np.allclose(
                keras.ops.convert_to_numpy(augment(sample, training=False)), sample)),
            "moves_in_training": not bool(np.allclose(
                keras.ops.convert_to_numpy(augment(sample, training=True)), sample))}
CHECKS = {"equal": ["adapted_mean", "adapted_variance"], "same": ["mean_zero", "std_one", "still_at_inference", "moves_in_training"]}
