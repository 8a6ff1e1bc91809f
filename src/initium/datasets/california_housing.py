"""California housing: 20,640 districts of the 1990 census, 8 features, the target the median
house value in dollars (Keras's ``keras.datasets.california_housing``). Downloaded once with
``initium.utils.get_file`` (hash-checked)."""

from __future__ import annotations

import numpy as np

from initium.datasets import _common

__all__ = ["load_data"]

ORIGIN = _common.KERAS_DATASETS_URL + "california_housing.npz"
FILE_HASH = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"
SMALL_SIZE = 600  # version="small": the first 600 samples


def load_data(version: str = "large", path: str = "california_housing.npz", test_split: float = 0.2,
              seed: int = 113) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: all samples (``version="large"``) or the first 600
    (``"small"``), shuffled with ``seed`` and split at ``int(n * (1 - test_split))``."""
    _common.check_test_split(test_split)
    if version not in ("small", "large"):
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. Received: version={version}")
    from initium.utils.file_utils import get_file

    with np.load(get_file(path, origin=ORIGIN, file_hash=FILE_HASH), allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:SMALL_SIZE], y[:SMALL_SIZE]
    return _common.shuffled_split(x, y, test_split, seed)
