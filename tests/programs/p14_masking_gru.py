"""Masking(mask_value=0.0) before a GRU on float sequences padded at the end: the regressor's
output ignores trailing padding, the mask follows the all-zero steps, and a return_sequences GRU
shows what Keras emits at masked steps."""
ISSUE = 14
import numpy as np

import keras
from keras import layers

STEPS, FEATURES = 7, 3


def padded(rng, n, steps):
    lengths = rng.integers(2, STEPS + 1, size=n)
    x = np.zeros((n, steps, FEATURES), dtype="float32")
    for i, length in enumerate(lengths):
        x[i, :length] = rng.normal(size=(length, FEATURES)) + 0.1
    y = np.array([x[i, :lengths[i], 0].mean() for i in range(n)], dtype="float32")[:, None]
    return x, y


def run():
    keras.utils.set_random_seed(12)
    x, y = padded(np.random.default_rng(7), 128, STEPS)
    masking = layers.Masking(mask_value=0.0)
    model = keras.Sequential([keras.Input((None, FEATURES)), masking, layers.GRU(12), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    hist = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    extended = np.concatenate([x[:5], np.zeros((5, 3, FEATURES), dtype="float32")], axis=1)
    mask = keras.ops.convert_to_numpy(masking.compute_mask(x[:5]))
    seq_gru = layers.GRU(4, return_sequences=True)
    sequence = keras.ops.convert_to_numpy(seq_gru(x[:5], mask=mask))
    last_real = mask.sum(axis=1) - 1
    carried = all(np.allclose(sequence[i, last_real[i]:], sequence[i, last_real[i]]) for i in range(5))
    zeroed = all(np.allclose(sequence[i, last_real[i] + 1:], 0.0) for i in range(5))
    return {"shapes": {"pred": model.predict(x[:5], verbose=0).shape, "sequence": sequence.shape},
            "losses": {"train": hist.history["loss"]},
            "padding_ignored": bool(np.allclose(model.predict(x[:5], verbose=0),
                                                model.predict(extended, verbose=0), atol=1e-5)),
            "mask_marks_real_steps": bool(np.array_equal(mask, np.any(x[:5] != 0, axis=-1))),
            "masked_steps": "carried" if carried else "zero" if zeroed else "other"}
CHECKS = {"same": ["padding_ignored", "mask_marks_real_steps", "masked_steps"]}
