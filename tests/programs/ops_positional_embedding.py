"""Token plus position embeddings (ops.arange, ops.shape, broadcasting) feeding a pooled classifier."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


class TokenAndPosition(layers.Layer):
    def __init__(self, maxlen, vocab, dim, **kwargs):
        super().__init__(**kwargs)
        self.tokens = layers.Embedding(vocab, dim)
        self.positions = layers.Embedding(maxlen, dim)

    def call(self, x):
        length = ops.shape(x)[-1]
        return self.tokens(x) + self.positions(ops.arange(0, length, 1))


def run():
    keras.utils.set_random_seed(9)
    rng = np.random.default_rng(8)
    x = rng.integers(1, 50, size=(200, 12)).astype("int32")
    y = (x[:, 0] > 25).astype("int32")
    inputs = keras.Input((12,), dtype="int32")
    h = TokenAndPosition(12, 50, 16)(inputs)
    h = layers.GlobalAveragePooling1D()(h)
    out = layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inputs, out)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, epochs=6, batch_size=25, verbose=0)
    return {"shapes": {"emb": model.layers[1](x[:3]).shape}, "losses": {"train": hist.history["loss"]}}
