"""A small U-Net-like segmenter: a valid convolution restored by ZeroPadding2D, pooling, an
UpSampling2D decoder whose map is trimmed by Cropping2D to meet the skip connection, and a
per-pixel sigmoid head that learns to mark bright squares. The three reshaping layers are also
checked on a fixed array (asymmetric padding and cropping, nearest and bilinear upsampling)."""
ISSUE = 14
import numpy as np

import keras
from keras import layers


def squares(rng, n):
    x = rng.normal(0.0, 0.3, size=(n, 16, 16, 1)).astype("float32")
    masks = np.zeros_like(x)
    for i in range(n):
        r, c = rng.integers(1, 11, size=2)
        masks[i, r:r + 5, c:c + 5] = 1.0
    return x + 1.5 * masks, masks


def build():
    inputs = keras.Input((16, 16, 1))
    c1 = layers.Conv2D(8, 3, activation="relu", name="valid_conv")(inputs)             # 14x14
    p1 = layers.MaxPooling2D()(layers.ZeroPadding2D(1, name="pad")(c1))                  # 8x8
    c2 = layers.Conv2D(16, 3, padding="same", activation="relu")(p1)                     # 8x8
    u1 = layers.Cropping2D(1, name="crop")(layers.UpSampling2D(2, name="up")(c2))        # 14x14
    h = layers.Conv2D(8, 3, padding="same", activation="relu")(layers.Concatenate()([u1, c1]))
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(layers.ZeroPadding2D(1)(h))     # 16x16
    return keras.Model(inputs, outputs)


def plane(images):
    """The first image's only channel, as nested lists."""
    return keras.ops.convert_to_numpy(images)[0, ..., 0].tolist()


def run():
    keras.utils.set_random_seed(11)
    x, masks = squares(np.random.default_rng(2), 96)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    hist = model.fit(x, masks, epochs=4, batch_size=16, verbose=0)
    grid = np.arange(1, 13, dtype="float32").reshape(1, 3, 4, 1)
    inner = keras.Model(model.input, [model.get_layer(n).output for n in ("valid_conv", "pad", "up", "crop")])
    return {"shapes": {"pred": model.predict(x[:2], verbose=0).shape,
                       "inner": [tuple(t.shape) for t in inner.predict(x[:2], verbose=0)]},
            "losses": {"train": hist.history["loss"]},
            "padded": plane(layers.ZeroPadding2D(((1, 0), (0, 2)))(grid)),
            "cropped": plane(layers.Cropping2D(((1, 0), (1, 2)))(grid)),
            "nearest": plane(layers.UpSampling2D((2, 1))(grid)),
            "bilinear": plane(layers.UpSampling2D(2, interpolation="bilinear")(grid)),
            "params": model.count_params()}
CHECKS = {"equal": ["padded", "cropped", "nearest", "bilinear"], "same": ["params"]}
