"""A transformer encoder block whose self-attention is written with ops (matmul, softmax, reshape,
transpose), with layer normalization, a residual MLP and dropout; a sequence classifier on top."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


class SelfAttention(layers.Layer):
    def __init__(self, dim, heads, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.heads = dim, heads
        self.qkv = layers.Dense(3 * dim)
        self.proj = layers.Dense(dim)

    def call(self, x):
        b, t = ops.shape(x)[0], ops.shape(x)[1]
        qkv = ops.reshape(self.qkv(x), (b, t, 3, self.heads, self.dim // self.heads))
        qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / ops.sqrt(float(self.dim // self.heads))
        weights = ops.softmax(scores, axis=-1)
        out = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))
        return self.proj(ops.reshape(out, (b, t, self.dim)))


class Block(layers.Layer):
    def __init__(self, dim, heads, **kwargs):
        super().__init__(**kwargs)
        self.attn = SelfAttention(dim, heads)
        self.norm1 = layers.LayerNormalization()
        self.norm2 = layers.LayerNormalization()
        self.mlp = keras.Sequential([layers.Dense(2 * dim, activation="gelu"), layers.Dense(dim)])
        self.drop = layers.Dropout(0.1)

    def call(self, x, training=None):
        x = self.norm1(x + self.drop(self.attn(x), training=training))
        return self.norm2(x + self.mlp(x))


def run():
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(192, 10, 16)).astype("float32")
    y = (x[:, :, 0].mean(axis=1) > 0).astype("int32")
    inputs = keras.Input((10, 16))
    h = Block(16, 4)(inputs)
    h = layers.GlobalAveragePooling1D()(h)
    outputs = layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    return {"shapes": {"out": model.predict(x[:3], verbose=0).shape}, "losses": {"train": hist.history["loss"]},
            "params": model.count_params()}
CHECKS = {"same": ["params"]}
