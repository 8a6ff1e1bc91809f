"""MNIST: 60,000 training and 10,000 test grayscale 28x28 images of handwritten digits (Keras's
``keras.datasets.mnist``).

``load_data(path)`` reads, in this order:

1. ``path`` itself, when it is an existing file (an ``.npz`` with Keras's four arrays) or a folder
   holding the four IDX files (``train-images-idx3-ubyte[.gz]``, ...): local copies never touch the
   network;
2. Keras's cache, ``~/.keras/datasets/<path>`` (or under ``$KERAS_HOME``), hash-checked;
3. otherwise, for a bare file name, Keras's download: ``mnist.npz`` from Keras's location, through
   ``initium.utils.get_file`` (SHA-256 checked, written atomically into the cache).

A ``path`` with folders in it that does not exist raises ``FileNotFoundError``: only a bare name is
downloaded (``get_file`` takes names, not paths).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from initium.datasets import _common

__all__ = ["load_data"]

ORIGIN = _common.KERAS_DATASETS_URL + "mnist.npz"
FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_IDX = {
    "x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
}


def _read_npz(p: Path) -> tuple:
    with np.load(p, allow_pickle=False) as f:
        missing = [k for k in _IDX if k not in f.files]
        if missing:
            raise ValueError(f"{p} is not a Keras mnist.npz: missing arrays {missing}.")
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def _read_idx_folder(p: Path) -> tuple | None:
    found = {}
    for key, stem in _IDX.items():
        hit = next((h for h in (p / stem, p / (stem + ".gz")) if h.is_file()), None)
        if hit is None:
            return None
        found[key] = _common.read_idx(hit)
    return (found["x_train"], found["y_train"]), (found["x_test"], found["y_test"])


def load_data(path: str | os.PathLike = "mnist.npz") -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)`` in 0-255 and uint8 labels 0-9.

    ``path`` is a local ``.npz``/IDX folder, or the file's name in Keras's cache (downloaded if absent).
    """
    local = Path(path)
    if local.is_file():
        return _read_npz(local)
    if local.is_dir():
        data = _read_idx_folder(local)
        if data is not None:
            return data
    name = os.fspath(path)
    if os.sep in name or "/" in name or local.is_dir():
        raise FileNotFoundError(
            f"No MNIST data at {name!r}: expected Keras's mnist.npz or a folder with the four IDX files "
            "(train-images-idx3-ubyte[.gz] ...). Pass a bare file name (the default 'mnist.npz') to use Keras's "
            "cache and download, or initium.datasets.digits.load_data() for data that ships with scikit-learn.")
    from initium.utils.file_utils import get_file

    return _read_npz(Path(get_file(fname=name, origin=ORIGIN, file_hash=FILE_HASH)))
