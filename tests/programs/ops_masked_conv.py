"""A masked (causal) convolution: a Conv2D subclass that zeroes part of its kernel with
kernel.assign before every call, as in PixelCNN."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


class MaskedConv2D(layers.Conv2D):
    def build(self, input_shape):
        super().build(input_shape)
        kh, kw = self.kernel_size
        mask = np.ones(self.kernel.shape, dtype="float32")
        mask[kh // 2, kw // 2:] = 0.0
        mask[kh // 2 + 1:] = 0.0
        self.mask = ops.convert_to_tensor(mask)

    def call(self, inputs):
        self.kernel.assign(self.kernel * self.mask)
        return super().call(inputs)


def run():
    keras.utils.set_random_seed(6)
    rng = np.random.default_rng(5)
    x = (rng.random(size=(64, 8, 8, 1)) > 0.5).astype("float32")
    model = keras.Sequential([keras.Input((8, 8, 1)), MaskedConv2D(8, 3, padding="same", activation="relu"),
                              layers.Conv2D(1, 1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    hist = model.fit(x, x, epochs=5, batch_size=16, verbose=0)
    model.predict(x[:1], verbose=0)  # a call applies the mask to the trained kernel
    kernel = ops.convert_to_numpy(model.layers[0].kernel)
    masked_zero = bool(np.all(kernel[1, 1:] == 0) and np.all(kernel[2:] == 0))
    return {"shapes": {"out": model.predict(x[:2], verbose=0).shape, "kernel": kernel.shape},
            "losses": {"train": hist.history["loss"]}, "masked_zero": masked_zero}
CHECKS = {"same": ["masked_zero"]}
