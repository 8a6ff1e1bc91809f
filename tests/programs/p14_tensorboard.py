"""fit with a TensorBoard callback writing to a temporary log directory: afterwards the directory
holds a train/ and a validation/ run, each with an events.out.tfevents.* file that records the
per-epoch loss under the tag epoch_loss."""
ISSUE = 14
KERAS_CANNOT = "the TensorBoard callback writes through tensorflow.summary (ModuleNotFoundError: No module named 'tensorflow' on the torch backend)"
import pathlib
import tempfile

import numpy as np

import keras
from keras import layers


def run():
    keras.utils.set_random_seed(10)
    rng = np.random.default_rng(10)
    x = rng.normal(size=(128, 3)).astype("float32")
    y = (x @ np.array([[0.5], [-1.0], [2.0]], dtype="float32")).astype("float32")
    model = keras.Sequential([keras.Input((3,)), layers.Dense(8, activation="relu"), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = pathlib.Path(tmp) / "logs"
        board = keras.callbacks.TensorBoard(log_dir=str(log_dir), histogram_freq=0, write_graph=False)
        hist = model.fit(x[:96], y[:96], validation_data=(x[96:], y[96:]), epochs=4, batch_size=32,
                         callbacks=[board], verbose=0)
        runs = sorted(p.name for p in log_dir.iterdir() if p.is_dir())
        events = {run: sorted(log_dir.glob(f"{run}/events.out.tfevents.*")) for run in runs}
        tagged = {run: any(b"epoch_loss" in f.read_bytes() for f in files) for run, files in events.items()}
    return {"shapes": {}, "losses": {"train": hist.history["loss"], "val": hist.history["val_loss"]},
            "runs": runs, "event_files": [len(events[run]) >= 1 for run in runs],
            "loss_tagged": [tagged[run] for run in runs]}
CHECKS = {"expected": {"runs": ["train", "validation"], "event_files": [True, True], "loss_tagged": [True, True]}}
