"""The 8x8 handwritten digits bundled with scikit-learn (1,797 images, 10 classes), in Keras's shape.

Pixels are integers 0..16 (stored as uint8, like Keras's MNIST uint8 0..255); labels are uint8.
The train/test split is stratified and fixed (``seed=0`` by default), so every run sees the same
split. Nothing is downloaded: the data ship inside scikit-learn.
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_data"]


def load_data(test_size: float = 0.25, seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: x of shape (n, 8, 8) uint8 in 0..16, y uint8.

    >>> (x_train, y_train), (x_test, y_test) = load_data()
    >>> x_train.shape, x_test.shape
    ((1347, 8, 8), (450, 8, 8))
    """
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"digits.load_data: `test_size` must be in (0, 1). Received: test_size={test_size}")
    from sklearn.datasets import load_digits  # lazy: scikit-learn is heavy to import

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)
    labels = bunch.target.astype(np.uint8)
    rng = np.random.default_rng(seed)
    test_idx = []
    for c in range(10):  # stratified: the same share of every class goes to the test set
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        test_idx.extend(idx[: int(round(len(idx) * test_size))])
    test_mask = np.zeros(len(labels), dtype=bool)
    test_mask[test_idx] = True
    train = np.flatnonzero(~test_mask)
    test = np.flatnonzero(test_mask)
    rng.shuffle(train)
    rng.shuffle(test)
    return (images[train], labels[train]), (images[test], labels[test])
