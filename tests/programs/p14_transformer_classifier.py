"""A transformer sequence classifier: token and position embeddings, one encoder block around
MultiHeadAttention (residuals, LayerNormalization, a feed-forward pair), global pooling, fit on
synthetic token sequences. The label says whether token 7 occurs, so attention has to look at
every position; the block's attention scores come back with return_attention_scores."""
ISSUE = 14
import numpy as np

import keras
from keras import layers, ops

VOCAB, LENGTH, DIM, HEADS = 12, 10, 16, 2


class TokenAndPosition(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tokens = layers.Embedding(VOCAB, DIM)
        self.positions = layers.Embedding(LENGTH, DIM)

    def call(self, ids):
        return self.tokens(ids) + self.positions(ops.arange(0, ops.shape(ids)[-1]))


class EncoderBlock(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attention = layers.MultiHeadAttention(num_heads=HEADS, key_dim=DIM // HEADS)
        self.feed_forward = keras.Sequential([layers.Dense(32, activation="relu"), layers.Dense(DIM)])
        self.norm_1 = layers.LayerNormalization(epsilon=1e-6)
        self.norm_2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout = layers.Dropout(0.1)

    def call(self, x, training=False):
        attended = self.attention(x, x)
        h = self.norm_1(x + self.dropout(attended, training=training))
        return self.norm_2(h + self.feed_forward(h))


def run():
    keras.utils.set_random_seed(14)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, VOCAB, size=(192, LENGTH))
    ids[rng.random(192) < 0.5] %= 7  # about half the rows cannot contain a 7
    labels = (ids == 7).any(axis=1).astype("float32")
    inputs = keras.Input((LENGTH,), dtype="int32")
    embed = TokenAndPosition()
    block = EncoderBlock()
    h = block(embed(inputs))
    h = layers.GlobalAveragePooling1D()(h)
    outputs = layers.Dense(1, activation="sigmoid")(layers.Dropout(0.1)(h))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(ids, labels, epochs=4, batch_size=48, verbose=0)
    _, scores = block.attention(embed(ids[:4]), embed(ids[:4]), return_attention_scores=True)
    scores = ops.convert_to_numpy(scores)
    return {"shapes": {"probs": model.predict(ids[:4], verbose=0).shape, "scores": scores.shape},
            "losses": {"train": hist.history["loss"]},
            "scores_are_distributions": bool(np.allclose(scores.sum(axis=-1), 1.0, atol=1e-5)),
            "params": model.count_params(), "history_keys": sorted(hist.history)}
CHECKS = {"same": ["scores_are_distributions", "params", "history_keys"]}
