"""CIFAR-10: 50,000 training and 10,000 test colour images of 32x32 pixels in 10 classes (Keras's
``keras.datasets.cifar10``).

Downloaded once with ``initium.utils.get_file`` from Keras's URL (hash-checked) into
``~/.keras/datasets`` (or ``$KERAS_HOME``), then read from the cache. The archive's batches are
pickles, read with a restricted unpickler (numpy arrays and plain values only: see
``initium.datasets._common``).
"""

from __future__ import annotations

import os

import numpy as np

from initium.datasets import _common

__all__ = ["load_data"]

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images of shape ``(n, 32, 32, 3)`` (``(n, 3, 32, 32)``
    under ``channels_first``) and uint8 labels 0-9 of shape ``(n, 1)``; the classes are ``CLASS_NAMES``."""
    from initium.utils.file_utils import get_file

    folder = get_file(fname="cifar-10-batches-py-target", origin=ORIGIN, extract=True, file_hash=FILE_HASH)
    folder = os.path.join(folder, "cifar-10-batches-py")
    parts = [_common.load_cifar_batch(os.path.join(folder, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in parts]).astype("uint8")
    y_train = np.concatenate([np.asarray(y) for _, y in parts]).astype("uint8").reshape(-1, 1)
    x_test, y_test = _common.load_cifar_batch(os.path.join(folder, "test_batch"))
    x_test = x_test.astype("uint8")
    y_test = np.asarray(y_test).astype("uint8").reshape(-1, 1)
    return (_common.channels_last_if_configured(x_train), y_train), (_common.channels_last_if_configured(x_test), y_test)
