"""Tiny stand-ins for Keras's dataset downloads, in the same file formats, for tests/test_datasets.py.

Each file has the layout of the real one (same archive members, keys, dtypes and encodings) but a
handful of seeded random samples:

| file | like Keras's | content |
|---|---|---|
| ``cifar-10-python.tar.gz`` | CIFAR-10's archive | ``cifar-10-batches-py/data_batch_1..5`` (2 images each), ``test_batch`` (3), ``batches.meta``: Python-2-style pickles (keys and array bytes as Python 2 ``str`` opcodes, so they load as ``bytes``), ``data`` uint8 ``(n, 3072)``, ``labels`` a list of ints |
| ``cifar-100-python.tar.gz`` | CIFAR-100's archive | ``cifar-100-python/train`` (6), ``test`` (4), ``meta``; ``fine_labels`` 0-99, ``coarse_labels`` 0-19 |
| ``train-images-idx3-ubyte.gz`` ... | Fashion-MNIST's four files | gzipped IDX, 5 training and 3 test images of 28x28 |
| ``mnist.npz`` | MNIST | ``x_train`` (5, 28, 28) uint8, ``y_train``, ``x_test`` (3, 28, 28), ``y_test`` |
| ``imdb.npz`` | IMDB | ``x_train``/``x_test``: object arrays of word-index lists (pickled inside the ``.npy``), ``y_train``/``y_test`` int64 0/1 |
| ``reuters.npz`` | Reuters | ``x``: object array of lists, ``y`` int64 topics 0-45 |
| ``imdb_word_index.json``, ``reuters_word_index.json`` | the word indices | ``{word: index}`` |
| ``boston_housing.npz`` | Boston housing | ``x`` float64 (20, 13), ``y`` float64 (20,) |
| ``california_housing.npz`` | California housing | ``x`` float32 (700, 8), ``y`` float32 (700,) (more than the 600 of ``version="small"``) |

Every byte is deterministic (seeded data, zero timestamps), but the files are not committed: the
tests build them into a temporary folder with ``build(folder)``, which returns the manifest
``{file name: {"sha256": ..., "md5": ...}}``. ``python tests/data/make_dataset_fixtures.py OUT``
writes them (and ``manifest.json``) to OUT for a look.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import pickle
import struct
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

SEED = 20260101
CIFAR10_TRAIN_PER_BATCH, CIFAR10_TEST = 2, 3
CIFAR100_TRAIN, CIFAR100_TEST = 6, 4
FASHION_TRAIN, FASHION_TEST = 5, 3
IMDB_TRAIN, IMDB_TEST, IMDB_VOCAB = 8, 6, 30
REUTERS_N, REUTERS_VOCAB = 10, 25
BOSTON_N, CALIFORNIA_N = 20, 700


class _Py2Pickler(pickle._Pickler):
    """Protocol 2, with ``bytes`` written as Python 2 ``str`` (``SHORT_BINSTRING``/``BINSTRING``), as
    the CIFAR files were written: loaded with ``encoding="bytes"`` they come back as ``bytes``, and no
    ``_codecs.encode`` global is needed (Python 3's protocol-2 form for bytes)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def _py2_pickle(obj: object) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        folders = sorted({name.rsplit("/", 1)[0] for name in members})
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return _gzip(buf.getvalue())


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` as ``np.savez`` writes it (stored members), with fixed timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, value in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, value, allow_pickle=True)
            zf.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)), member.getvalue())
    return buf.getvalue()


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _cifar_batch(rng: np.random.Generator, n: int, labels: dict[bytes, list[int]]) -> bytes:
    batch = {b"batch_label": b"fixture batch", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"filenames": [f"img_{i}.png".encode() for i in range(n)], **labels}
    return _py2_pickle(batch)


def _object_array(seqs: list[list[int]]) -> np.ndarray:
    out = np.empty(len(seqs), dtype=object)
    out[:] = seqs
    return out


def _sequences(rng: np.random.Generator, n: int, vocab: int) -> list[list[int]]:
    return [[int(w) for w in rng.integers(1, vocab + 1, int(rng.integers(1, 13)))] for _ in range(n)]


def _files(rng: np.random.Generator) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    c10 = {f"cifar-10-batches-py/data_batch_{i}": _cifar_batch(
        rng, CIFAR10_TRAIN_PER_BATCH, {b"labels": [int(v) for v in rng.integers(0, 10, CIFAR10_TRAIN_PER_BATCH)]})
        for i in range(1, 6)}
    c10["cifar-10-batches-py/test_batch"] = _cifar_batch(
        rng, CIFAR10_TEST, {b"labels": [int(v) for v in rng.integers(0, 10, CIFAR10_TEST)]})
    c10["cifar-10-batches-py/batches.meta"] = _py2_pickle({b"label_names": [b"airplane", b"automobile"]})
    files["cifar-10-python.tar.gz"] = _tar_gz(c10)
    c100 = {}
    for split, n in (("train", CIFAR100_TRAIN), ("test", CIFAR100_TEST)):
        c100[f"cifar-100-python/{split}"] = _cifar_batch(rng, n, {
            b"fine_labels": [int(v) for v in rng.integers(0, 100, n)],
            b"coarse_labels": [int(v) for v in rng.integers(0, 20, n)]})
    c100["cifar-100-python/meta"] = _py2_pickle({b"fine_label_names": [b"apple"], b"coarse_label_names": [b"fruit"]})
    files["cifar-100-python.tar.gz"] = _tar_gz(c100)
    fashion = {"train": rng.integers(0, 256, (FASHION_TRAIN, 28, 28), dtype=np.uint8),
               "t10k": rng.integers(0, 256, (FASHION_TEST, 28, 28), dtype=np.uint8)}
    for split, images in fashion.items():
        files[f"{split}-images-idx3-ubyte.gz"] = _gzip(_idx(images))
        files[f"{split}-labels-idx1-ubyte.gz"] = _gzip(_idx(rng.integers(0, 10, len(images), dtype=np.uint8)))
    files["mnist.npz"] = _npz({"x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
                               "y_train": rng.integers(0, 10, 5, dtype=np.uint8),
                               "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
                               "y_test": rng.integers(0, 10, 3, dtype=np.uint8)})
    files["imdb.npz"] = _npz({"x_train": _object_array(_sequences(rng, IMDB_TRAIN, IMDB_VOCAB)),
                              "y_train": rng.integers(0, 2, IMDB_TRAIN).astype(np.int64),
                              "x_test": _object_array(_sequences(rng, IMDB_TEST, IMDB_VOCAB)),
                              "y_test": rng.integers(0, 2, IMDB_TEST).astype(np.int64)})
    files["reuters.npz"] = _npz({"x": _object_array(_sequences(rng, REUTERS_N, REUTERS_VOCAB)),
                                 "y": rng.integers(0, 46, REUTERS_N).astype(np.int64)})
    for name, vocab in (("imdb_word_index.json", IMDB_VOCAB), ("reuters_word_index.json", REUTERS_VOCAB)):
        files[name] = json.dumps({f"word{i}": i for i in range(1, vocab + 1)}, sort_keys=True).encode()
    files["boston_housing.npz"] = _npz({"x": rng.normal(size=(BOSTON_N, 13)), "y": rng.uniform(5, 50, BOSTON_N)})
    files["california_housing.npz"] = _npz({"x": rng.normal(size=(CALIFORNIA_N, 8)).astype(np.float32),
                                            "y": rng.uniform(1e4, 5e5, CALIFORNIA_N).astype(np.float32)})
    return files


def build(folder: str | Path) -> dict[str, dict[str, str]]:
    """Write every fixture into ``folder``; return ``{name: {"sha256": hex, "md5": hex}}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, data in _files(np.random.default_rng(SEED)).items():
        (folder / name).write_bytes(data)
        manifest[name] = {"sha256": hashlib.sha256(data).hexdigest(), "md5": hashlib.md5(data).hexdigest()}
    return manifest


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "dataset_fixtures")
    (out / "manifest.json").parent.mkdir(parents=True, exist_ok=True)
    result = build(out)
    (out / "manifest.json").write_text(json.dumps(result, indent=1, sort_keys=True))
    print(f"wrote {len(result)} files to {out}")
