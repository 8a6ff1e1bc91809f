"""keras.utils.timeseries_dataset_from_array: the windows of its documented examples (strided and
sampled windows over 0..98; past-10-steps regression targets), then a dataset of windows over a
noisy sine wave fed to fit and evaluate to forecast the next value with a small LSTM."""
ISSUE = 14
KERAS_CANNOT = "timeseries_dataset_from_array returns a tf.data.Dataset (format='tf', ImportError without TensorFlow) or a Grain dataset (format='grain', needs the grain package)"
import numpy as np

import keras
from keras import layers


def batches(dataset):
    return [tuple(np.asarray(part) for part in batch) if isinstance(batch, tuple) else np.asarray(batch)
            for batch in dataset]


def documented():
    strided = batches(keras.utils.timeseries_dataset_from_array(
        np.arange(99), None, sequence_length=10, sampling_rate=2, sequence_stride=3, batch_size=128))
    windows = np.concatenate(strided)
    data = np.arange(30, dtype="float32") * 1.5
    first_inputs, first_targets = batches(keras.utils.timeseries_dataset_from_array(
        data[:-10], data[10:], sequence_length=10, batch_size=4))[0]
    return {"doc_first": windows[0].tolist(), "doc_second": windows[1].tolist(), "doc_third": windows[2].tolist(),
            "doc_last": windows[-1].tolist(), "doc_count": len(windows),
            "doc_regression": bool(np.array_equal(first_inputs[0], data[:10]) and first_targets[0] == data[10]),
            "doc_batch": [len(first_inputs), len(strided)]}


def run():
    keras.utils.set_random_seed(73)
    rng = np.random.default_rng(59)
    t = np.arange(400, dtype="float32")
    series = (np.sin(t / 6.0) + 0.05 * rng.normal(size=400)).astype("float32")[:, None]
    window = 12
    train = keras.utils.timeseries_dataset_from_array(series[:-window], series[window:, 0], sequence_length=window,
                                                      batch_size=32, end_index=300, shuffle=True, seed=3)
    val = keras.utils.timeseries_dataset_from_array(series[:-window], series[window:, 0], sequence_length=window,
                                                    batch_size=32, start_index=300)
    model = keras.Sequential([keras.Input((window, 1)), layers.LSTM(8), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    hist = model.fit(train, validation_data=val, epochs=3, verbose=0)
    x_batch, y_batch = batches(val)[0]
    return {"shapes": {"x_batch": x_batch.shape, "y_batch": y_batch.shape},
            "losses": {"train": hist.history["loss"]}, "n_train_batches": len(batches(train)), **documented()}
CHECKS = {"expected": {"doc_first": [0, 2, 4, 6, 8, 10, 12, 14, 16, 18], "doc_second": [3, 5, 7, 9, 11, 13, 15, 17, 19, 21], "doc_third": [6, 8, 10, 12, 14, 16, 18, 20, 22, 24], "doc_last": [78, 80, 82, 84, 86, 88, 90, 92, 94, 96], "doc_count": 27, "doc_regression": True, "doc_batch": [4, 1], "n_train_batches": 10}}
