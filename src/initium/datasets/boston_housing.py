"""The Boston housing prices: 506 samples of 13 features, the target the median home value in
k$ (Keras's ``keras.datasets.boston_housing``; the data set has well-known ethical problems, see
Keras's documentation). Downloaded once with ``initium.utils.get_file`` (hash-checked)."""

from __future__ import annotations

import numpy as np

from initium.datasets import _common

__all__ = ["load_data"]

ORIGIN = _common.KERAS_DATASETS_URL + "boston_housing.npz"
FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2,
              seed: int = 113) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``, shuffled with ``seed`` and split at
    ``int(n * (1 - test_split))``; ``path`` is the file's name in the cache."""
    _common.check_test_split(test_split)
    from initium.utils.file_utils import get_file

    with np.load(get_file(path, origin=ORIGIN, file_hash=FILE_HASH), allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    return _common.shuffled_split(x, y, test_split, seed)
