"""MNIST from a local file: ``mnist.npz`` (Keras's format) or the four IDX files. Never downloads."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["load_data"]

_IDX = {
    "x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
}


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(dims))} values, found {body.size}.")
    return body.reshape(dims)


def load_data(path: str | os.PathLike = "mnist.npz") -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` from ``path``: an ``.npz`` with Keras's keys, or a
    directory holding the IDX files (optionally ``.gz``). Relative paths are also looked up in
    ``~/.keras/datasets``, where Keras caches its download."""
    candidates = [Path(path)]
    if not Path(path).is_absolute():
        candidates.append(Path.home() / ".keras" / "datasets" / path)
    for p in candidates:
        if p.is_file():
            with np.load(p, allow_pickle=False) as f:
                missing = [k for k in _IDX if k not in f.files]
                if missing:
                    raise ValueError(f"{p} is not a Keras mnist.npz: missing arrays {missing}.")
                return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
        if p.is_dir():
            found = {}
            for key, stem in _IDX.items():
                hits = [p / stem, p / (stem + ".gz")]
                hit = next((h for h in hits if h.is_file()), None)
                if hit is None:
                    break
                found[key] = _read_idx(hit)
            else:
                return (found["x_train"], found["y_train"]), (found["x_test"], found["y_test"])
    raise FileNotFoundError(
        f"No MNIST data at {str(path)!r} (looked in: {', '.join(str(c) for c in candidates)}). initium never "
        "downloads. Put Keras's mnist.npz there (from another machine: python -c \"import keras; "
        "keras.datasets.mnist.load_data()\" leaves it in ~/.keras/datasets/), or a directory with the four IDX "
        "files (train-images-idx3-ubyte[.gz] ...), and pass its path. For a bundled alternative use "
        "initium.datasets.digits.load_data()."
    )
