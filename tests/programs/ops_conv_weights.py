"""A convolution layer that owns its kernel and calls ops.conv and ops.depthwise_conv directly."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


class TwoStageConv(layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters

    def build(self, input_shape):
        c = input_shape[-1]
        self.depth = self.add_weight(shape=(3, 3, c, 1), initializer="he_normal", name="depthwise")
        self.point = self.add_weight(shape=(1, 1, c, self.filters), initializer="he_normal", name="pointwise")

    def call(self, x):
        h = ops.depthwise_conv(x, self.depth, strides=1, padding="same")
        return ops.relu(ops.conv(h, self.point, strides=1, padding="valid"))


def run():
    keras.utils.set_random_seed(13)
    rng = np.random.default_rng(12)
    x = rng.normal(size=(96, 10, 10, 3)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
    model = keras.Sequential([keras.Input((10, 10, 3)), TwoStageConv(8), layers.GlobalMaxPooling2D(),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, epochs=6, batch_size=16, verbose=0)
    return {"shapes": {"feature": model.layers[0](x[:2]).shape}, "losses": {"train": hist.history["loss"]}}
