"""fit, evaluate and predict fed by keras.utils.PyDataset subclasses (__len__, __getitem__,
on_epoch_end reshuffling), with a PyDataset as validation_data; a callback counts the batches."""
ISSUE = 14
import math

import numpy as np

import keras
from keras import layers


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, shuffle_seed=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.order = np.arange(len(x))
        self.rng = None if shuffle_seed is None else np.random.default_rng(shuffle_seed)
        self.epochs_ended = 0

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        self.epochs_ended += 1
        if self.rng is not None:
            self.rng.shuffle(self.order)


class CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.train_batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.train_batches += 1


def run():
    keras.utils.set_random_seed(9)
    rng = np.random.default_rng(12)
    x = rng.normal(size=(150, 5)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0, 1.5], dtype="float32") > 0).astype("float32")[:, None]
    train, val = Batches(x[:120], y[:120], 24, shuffle_seed=1), Batches(x[120:], y[120:], 16)
    model = keras.Sequential([keras.Input((5,)), layers.Dense(8, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="binary_crossentropy", metrics=["accuracy"])
    counter = CountBatches()
    hist = model.fit(train, validation_data=val, epochs=5, callbacks=[counter], verbose=0)
    scores = model.evaluate(val, verbose=0, return_dict=True)
    return {"shapes": {"pred": model.predict(val, verbose=0).shape, "batch": train[4][0].shape},
            "losses": {"train": hist.history["loss"], "val": hist.history["val_loss"]},
            "lengths": [len(train), len(val)], "train_batches": counter.train_batches,
            "history_keys": sorted(hist.history), "evaluate_keys": sorted(scores),
            "ended_every_epoch": train.epochs_ended >= 5}
CHECKS = {"same": ["lengths", "train_batches", "history_keys", "evaluate_keys", "ended_every_epoch"]}
