"""Fashion-MNIST: 60,000 training and 10,000 test grayscale 28x28 images of clothing in 10 classes
(Keras's ``keras.datasets.fashion_mnist``).

The four gzipped IDX files are downloaded once with ``initium.utils.get_file`` from Keras's
location into ``~/.keras/datasets/fashion-mnist`` (Keras publishes no hashes for them).
"""

from __future__ import annotations

import os

import numpy as np

from initium.datasets import _common

__all__ = ["load_data"]

ORIGIN_FOLDER = _common.KERAS_DATASETS_URL
FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz")
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)`` in 0-255 and uint8 labels
    0-9 of shape ``(n,)``; the classes are ``CLASS_NAMES``."""
    from initium.utils.file_utils import get_file

    subdir = os.path.join("datasets", "fashion-mnist")
    y_train, x_train, y_test, x_test = (_common.read_idx(get_file(f, origin=ORIGIN_FOLDER + f, cache_subdir=subdir))
                                        for f in FILES)
    for x, y in ((x_train, y_train), (x_test, y_test)):
        if len(x) != len(y):
            raise ValueError(f"Fashion-MNIST files disagree: {len(x)} images but {len(y)} labels.")
    return (x_train, y_train), (x_test, y_test)
