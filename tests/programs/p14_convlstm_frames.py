"""Next-frame prediction with ConvLSTM2D: short movies of a square sliding one pixel per frame,
frames 0..3 in, frames 1..4 out, a ConvLSTM2D(return_sequences=True) then a Conv3D head."""
ISSUE = 14
import numpy as np

import keras
from keras import layers

FRAMES, SIZE = 5, 8


def movies(rng, n):
    video = np.zeros((n, FRAMES, SIZE, SIZE, 1), dtype="float32")
    rows = rng.integers(0, SIZE - 2, size=n)
    cols = rng.integers(0, SIZE - FRAMES - 1, size=n)
    for i in range(n):
        for t in range(FRAMES):
            video[i, t, rows[i]:rows[i] + 2, cols[i] + t:cols[i] + t + 2, 0] = 1.0
    return video[:, :-1], video[:, 1:]


def run():
    keras.utils.set_random_seed(17)
    x, y = movies(np.random.default_rng(8), 64)
    inputs = keras.Input((None, SIZE, SIZE, 1))
    h = layers.ConvLSTM2D(6, 3, padding="same", return_sequences=True)(inputs)
    outputs = layers.Conv3D(1, 3, padding="same", activation="sigmoid")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    hist = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    last_only = layers.ConvLSTM2D(4, 3, padding="same")(x[:2])
    return {"shapes": {"next_frames": model.predict(x[:2], verbose=0).shape, "last_state": tuple(last_only.shape)},
            "losses": {"train": hist.history["loss"]}, "params": model.count_params()}
CHECKS = {"same": ["params"]}
