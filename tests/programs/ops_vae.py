"""A small variational autoencoder: a sampling layer with keras.random and a SeedGenerator, the KL
term added with add_loss, trained with fit."""
ISSUE = 13
import numpy as np

import keras
from keras import layers, ops


class Sampling(layers.Layer):
    def __init__(self, seed=7, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        kl = -0.5 * ops.mean(ops.sum(1 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1))
        self.add_loss(0.01 * kl)
        return mean + ops.exp(0.5 * log_var) * eps


def run():
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(3)
    x = rng.random(size=(256, 12)).astype("float32")
    inputs = keras.Input((12,))
    h = layers.Dense(16, activation="relu")(inputs)
    z_mean = layers.Dense(2)(h)
    z_log_var = layers.Dense(2)(h)
    z = Sampling()([z_mean, z_log_var])
    d = layers.Dense(16, activation="relu")(z)
    out = layers.Dense(12, activation="sigmoid")(d)
    vae = keras.Model(inputs, out)
    vae.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    hist = vae.fit(x, x, epochs=6, batch_size=32, verbose=0)
    encoder = keras.Model(inputs, z_mean)
    return {"shapes": {"recon": vae.predict(x[:5], verbose=0).shape, "code": encoder.predict(x[:5], verbose=0).shape},
            "losses": {"train": hist.history["loss"]}, "n_losses": len(vae.losses) > 0}
CHECKS = {"same": ["n_losses"]}
