"""GroupNormalization and UnitNormalization: exact outputs on fixed inputs (groups of channels
normalized together; rows scaled to unit L2 norm), their weights, then a small convolutional
classifier that trains with GroupNormalization after each convolution and UnitNormalization
before its head."""
ISSUE = 14
import numpy as np

import keras
from keras import layers


def run():
    keras.utils.set_random_seed(13)
    fixed = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4) ** 1.5 / 10.0
    group = layers.GroupNormalization(groups=2, axis=-1)
    grouped = keras.ops.convert_to_numpy(group(fixed))
    unit = keras.ops.convert_to_numpy(layers.UnitNormalization(axis=-1)(fixed))
    unit_cols = keras.ops.convert_to_numpy(layers.UnitNormalization(axis=1)(fixed))
    first_group = grouped[..., :2].reshape(2, -1)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(128, 8, 8, 2)).astype("float32")
    y = (x[:, 2:6, 2:6, 0].mean(axis=(1, 2)) > x[:, 2:6, 2:6, 1].mean(axis=(1, 2))).astype("float32")
    model = keras.Sequential([keras.Input((8, 8, 2)), layers.Conv2D(8, 3), layers.GroupNormalization(groups=4),
                              layers.Activation("relu"), layers.Conv2D(8, 3), layers.GroupNormalization(groups=2),
                              layers.Activation("relu"), layers.GlobalAveragePooling2D(),
                              layers.UnitNormalization(), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
    hist = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    return {"shapes": {"grouped": grouped.shape, "pred": model.predict(x[:2], verbose=0).shape},
            "losses": {"train": hist.history["loss"]},
            "grouped": grouped, "unit": unit, "unit_cols": unit_cols,
            "group_zero_mean": bool(np.allclose(first_group.mean(axis=1), 0.0, atol=1e-5)),
            "unit_norms": np.linalg.norm(unit, axis=-1),
            "group_weights": [tuple(w.shape) for w in group.weights], "params": model.count_params()}
CHECKS = {"equal": ["grouped", "unit", "unit_cols", "unit_norms"], "same": ["group_zero_mean", "group_weights", "params"]}
