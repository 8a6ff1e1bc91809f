"""Set pooling with ops.segment_sum and a top-k gate (ops.top_k, ops.one_hot) in custom layers."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


class TopKGate(layers.Layer):
    def __init__(self, k, **kwargs):
        super().__init__(**kwargs)
        self.k = k

    def call(self, scores):
        values, indices = ops.top_k(scores, k=self.k)
        mask = ops.sum(ops.one_hot(indices, ops.shape(scores)[-1]), axis=-2)
        return scores * mask


def run():
    keras.utils.set_random_seed(12)
    data = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], dtype="float32")
    seg = ops.convert_to_numpy(ops.segment_sum(data, np.array([0, 0, 1, 2]), num_segments=3))
    rng = np.random.default_rng(11)
    x = rng.normal(size=(200, 8)).astype("float32")
    y = x[:, :2].sum(axis=1, keepdims=True).astype("float32")
    model = keras.Sequential([keras.Input((8,)), layers.Dense(8), TopKGate(3), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    hist = model.fit(x, y, epochs=6, batch_size=20, verbose=0)
    gated = ops.convert_to_numpy(TopKGate(2)(np.array([[0.1, 0.9, 0.5, 0.3]], dtype="float32")))
    return {"shapes": {"seg": seg.shape}, "losses": {"train": hist.history["loss"]},
            "segments": seg.tolist(), "gated": gated.tolist()}
CHECKS = {"equal": ["segments", "gated"]}
