"""CIFAR-100: 50,000 training and 10,000 test colour images of 32x32 pixels in 100 fine classes
grouped into 20 coarse ones (Keras's ``keras.datasets.cifar100``).

Downloaded once with ``initium.utils.get_file`` from Keras's URL (hash-checked); the pickled
batches are read with a restricted unpickler (see ``initium.datasets._common``).
"""

from __future__ import annotations

import os

import numpy as np

from initium.datasets import _common

__all__ = ["load_data"]

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
FILE_HASH = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"


def load_data(label_mode: str = "fine") -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)`` (channels last unless
    configured otherwise) and int64 labels of shape ``(n, 1)``: 0-99 for ``label_mode="fine"``,
    0-19 for ``"coarse"``."""
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode={label_mode}.')
    from initium.utils.file_utils import get_file

    folder = get_file(fname="cifar-100-python-target", origin=ORIGIN, extract=True, file_hash=FILE_HASH)
    folder = os.path.join(folder, "cifar-100-python")
    out = []
    for split in ("train", "test"):
        x, y = _common.load_cifar_batch(os.path.join(folder, split), label_key=f"{label_mode}_labels")
        out.append((_common.channels_last_if_configured(x), np.reshape(np.asarray(y), (len(y), 1))))
    return out[0], out[1]
