"""The activation layers ReLU (max_value, negative_slope, threshold), LeakyReLU, PReLU (shared
axes), ELU and Softmax (axis, mask) on fixed inputs, then a small convolutional regressor that
trains with PReLU, LeakyReLU and ELU between its layers."""
ISSUE = 14
import numpy as np

import keras
from keras import layers

X = np.array([[-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 8.0]], dtype="float32")


def values(layer, x=X, **kwargs):
    return keras.ops.convert_to_numpy(layer(x, **kwargs)).ravel().tolist()


def run():
    keras.utils.set_random_seed(6)
    mask = np.array([[True, True, True, True, False, False, True, True]])
    prelu_maps = layers.PReLU(shared_axes=[1, 2])
    prelu_maps.build((None, 5, 5, 3))
    fixed = {"relu": values(layers.ReLU()), "relu6": values(layers.ReLU(max_value=6.0)),
             "relu_slope": values(layers.ReLU(negative_slope=0.1)),
             "relu_threshold": values(layers.ReLU(threshold=1.0)),
             "leaky": values(layers.LeakyReLU(negative_slope=0.2)), "leaky_default": values(layers.LeakyReLU()),
             "prelu": values(layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25))),
             "elu": values(layers.ELU()), "elu_alpha": values(layers.ELU(alpha=0.5)),
             "softmax": values(layers.Softmax()), "softmax_masked": values(layers.Softmax(), mask=mask),
             "softmax_axis0": values(layers.Softmax(axis=0), x=X.reshape(2, 4))}
    rng = np.random.default_rng(9)
    x = rng.normal(size=(160, 6, 6, 2)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) - np.abs(x[..., 1]).mean(axis=(1, 2)))[:, None].astype("float32")
    model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(6, 3), layers.PReLU(shared_axes=[1, 2]),
                              layers.Flatten(), layers.Dense(16), layers.LeakyReLU(0.1), layers.Dense(8),
                              layers.ELU(), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    hist = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    return {"shapes": {"prelu_alpha": tuple(prelu_maps.alpha.shape), "pred": model.predict(x[:2], verbose=0).shape},
            "losses": {"train": hist.history["loss"]}, "params": model.count_params(), **fixed}
CHECKS = {"equal": ["relu", "relu6", "relu_slope", "relu_threshold", "leaky", "leaky_default", "prelu", "elu", "elu_alpha", "softmax", "softmax_masked", "softmax_axis0"], "same": ["params"]}
