"""EarlyStopping(monitor="val_acc", restore_best_weights=True) with metrics=["acc"]: the history
names its keys acc/val_acc and training stops after `patience` epochs without a better val_acc.
The validation labels are the training rule inverted and the rule has a margin, so val_acc is 0
from the first epoch on: the stop epoch is fixed, and the weights restored at the end are those
of the best (first) epoch, not the last. Driving the callback by hand shows the mode inferred
for an accuracy is "max"."""
ISSUE = 14
import numpy as np

import keras
from keras import layers


def same(weights_a, weights_b):
    return all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b))


def manual_stops(model):
    """Feed a falling val_acc to a fresh callback: with mode "max" it asks to stop from epoch 1."""
    stop = keras.callbacks.EarlyStopping(monitor="val_acc", patience=1)
    stop.set_model(model)
    stop.on_train_begin()
    stopped = []
    for epoch, value in enumerate([0.5, 0.4, 0.3]):
        stop.on_epoch_end(epoch, {"val_acc": value})
        stopped.append(stop.stopped_epoch)
    return stopped


def run():
    keras.utils.set_random_seed(47)
    rng = np.random.default_rng(31)
    x = rng.normal(size=(224, 4)).astype("float32")
    x[:, 0] += np.sign(x[:, 0])  # a margin around the boundary: one epoch learns the rule
    y = (x[:, 0] > 0).astype("float32")
    x_val, y_val = x[160:], 1.0 - y[160:]
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["acc"])
    stop = keras.callbacks.EarlyStopping(monitor="val_acc", patience=2, restore_best_weights=True)
    snapshots = []
    keep = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    hist = model.fit(x[:160], y[:160], validation_data=(x_val, y_val), epochs=12, batch_size=32,
                     callbacks=[keep, stop], verbose=0)
    final = model.get_weights()
    return {"shapes": {}, "losses": {"train": hist.history["loss"]},
            "history_keys": sorted(hist.history), "epochs_run": len(hist.history["loss"]),
            "stopped_epoch": stop.stopped_epoch, "best_epoch": stop.best_epoch,
            "restored_first_epoch": same(final, snapshots[0]), "not_last_epoch": not same(final, snapshots[-1]),
            "manual_stops": manual_stops(model)}
CHECKS = {"same": ["history_keys", "epochs_run", "stopped_epoch", "best_epoch", "restored_first_epoch", "not_last_epoch", "manual_stops"]}
