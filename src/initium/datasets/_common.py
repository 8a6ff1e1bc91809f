"""What the dataset loaders share: Keras's download location, safe readers for the downloaded
files (IDX, ``.npz`` with object arrays, CIFAR's pickles), and Keras's shuffle-and-split.

**Pickles are data from the network.** CIFAR's batches are Python pickles, and the IMDB/Reuters
``.npz`` files hold ragged sequences as object arrays, which numpy can only store as pickles.
Neither is ever read with a plain ``pickle.load`` or ``np.load(allow_pickle=True)``: a restricted
unpickler allows exactly the globals that rebuild a numpy array (``numpy.ndarray``,
``numpy.dtype``, and ``_reconstruct`` from ``numpy.core.multiarray`` or ``numpy._core.multiarray``)
and refuses any other (``os.system``, ``builtins.eval``, ...) with ``pickle.UnpicklingError``.
Plain lists, dicts, ints, strings and bytes need no globals. Numeric ``.npy`` members are read
with pickling disabled.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
from typing import Any

import numpy as np

__all__ = ["KERAS_DATASETS_URL", "SafeUnpickler", "load_pickle", "load_npz", "read_idx", "load_cifar_batch",
           "check_test_split", "shuffled_split", "channels_last_if_configured", "offset_words", "drop_long",
           "cap_vocabulary", "object_array", "read_word_index"]

KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

_ARRAY_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
})


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and plain Python values, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ARRAY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"Refusing to load `{module}.{name}` from a dataset file: only numpy arrays and "
                                     "plain values are allowed. The file may be corrupted or malicious.")


def load_pickle(path: str | os.PathLike) -> Any:
    """A pickle file written by Python 2 or 3 (strings of Python 2 come back as ``bytes``)."""
    with open(path, "rb") as f:
        return SafeUnpickler(f, encoding="bytes").load()


def _read_npy(fp: Any, where: str) -> np.ndarray:
    version = np.lib.format.read_magic(fp)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = reader(fp)
    if not dtype.hasobject:
        fp.seek(0)
        return np.lib.format.read_array(fp, allow_pickle=False)
    array = SafeUnpickler(fp).load()
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise ValueError(f"{where}: the object array's pickle does not hold an array of shape {shape}.")
    return array


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every ``.npy`` member of an ``.npz`` archive (object arrays through ``SafeUnpickler``)."""
    import zipfile

    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                with archive.open(member) as raw:
                    arrays[member[:-4]] = _read_npy(io.BytesIO(raw.read()), f"{path}:{member}")
    return arrays


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file of unsigned bytes (MNIST's format), gzipped if its name ends in ``.gz``."""
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (bad magic number).")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(dims))} values, found {body.size}.")
    return body.reshape(dims)


def load_cifar_batch(path: str | os.PathLike, label_key: str = "labels") -> tuple[np.ndarray, list]:
    """One CIFAR batch file: ``(data of shape (n, 3, 32, 32) uint8, labels list)``."""
    batch = load_pickle(path)
    if not isinstance(batch, dict):
        raise ValueError(f"{path} is not a CIFAR batch (expected a pickled dict, found {type(batch).__name__}).")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    missing = [k for k in ("data", label_key) if k not in batch]
    if missing:
        raise ValueError(f"{path} is not a CIFAR batch: it has no {missing} entries (it has {sorted(batch)}).")
    data = np.asarray(batch["data"])
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def channels_last_if_configured(x: np.ndarray) -> np.ndarray:
    """``(n, 3, h, w)`` images moved to ``(n, h, w, 3)`` unless ``image_data_format()`` is channels_first."""
    from initium.backend import image_data_format

    return x.transpose(0, 2, 3, 1) if image_data_format() == "channels_last" else x


def check_test_split(test_split: float) -> None:
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1 (exclusive of 1).")


def shuffled_split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int) -> tuple:
    """Keras's split: shuffle with ``np.random.RandomState(seed)``, then the first
    ``int(n * (1 - test_split))`` samples train and the rest test."""
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))


# ----------------------------------------------------------------------- IMDB and Reuters word indices
def offset_words(xs: Any, start_char: int | None, index_from: int) -> list[list[int]]:
    """Each sequence's word indices plus ``index_from``, after ``start_char`` when it is not ``None``."""
    head = [] if start_char is None else [start_char]
    return [head + [w + index_from for w in x] for x in xs]


def drop_long(maxlen: int | None, xs: list, labels: Any) -> tuple[list, list]:
    """Keep the sequences shorter than ``maxlen`` (strictly, as Keras's ``remove_long_seq``)."""
    if not maxlen:
        return list(xs), list(labels)
    kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def cap_vocabulary(xs: list, num_words: int | None, skip_top: int, oov_char: int | None) -> list[list[int]]:
    """Words outside ``[skip_top, num_words)`` become ``oov_char``, or are dropped when it is ``None``;
    ``num_words=None`` means the largest index present."""
    if not num_words:
        num_words = max((max(x) for x in xs if len(x)), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def object_array(sequences: list) -> np.ndarray:
    """A 1-D object array of lists (``np.array`` would make a 2-D array of equal-length lists)."""
    out = np.empty(len(sequences), dtype=object)
    out[:] = sequences
    return out


def read_word_index(path: str | os.PathLike) -> dict[str, int]:
    import json

    with open(path, encoding="utf-8") as f:
        return json.load(f)
