"""fit, evaluate and predict on boolean arrays (x > 0): a Dense model on a bool feature matrix
learns a logical rule (at least two of the first three bits), with bool arrays given straight to
fit as inputs and as targets, and the model's Input declared as float32."""
ISSUE = 14
import numpy as np

import keras
from keras import layers


def run():
    keras.utils.set_random_seed(67)
    rng = np.random.default_rng(47)
    signal = rng.normal(size=(256, 6))
    bits = signal > 0
    target = bits[:, :3].sum(axis=1, keepdims=True) >= 2
    model = keras.Sequential([keras.Input((6,)), layers.Dense(12, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(bits, target, epochs=5, batch_size=32, verbose=0)
    scores = model.evaluate(bits, target, verbose=0, return_dict=True)
    probs = model.predict(bits[:4], verbose=0)
    same_as_float = np.allclose(probs, model.predict(bits[:4].astype("float32"), verbose=0))
    return {"shapes": {"probs": probs.shape}, "losses": {"train": hist.history["loss"]},
            "input_dtype": str(bits.dtype), "pred_dtype": str(probs.dtype),
            "bool_equals_float": bool(same_as_float), "learned": bool(scores["accuracy"] > 0.9)}
CHECKS = {"same": ["input_dtype", "pred_dtype", "bool_equals_float", "learned"]}
