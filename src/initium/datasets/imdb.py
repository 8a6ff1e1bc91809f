"""IMDB movie reviews: 25,000 training and 25,000 test reviews as sequences of word indices, labelled
positive (1) or negative (0) (Keras's ``keras.datasets.imdb``).

``imdb.npz`` and the word index are downloaded once with ``initium.utils.get_file`` from Keras's
location (hash-checked). The reviews are stored as object arrays, read with a restricted unpickler
(see ``initium.datasets._common``).

Index conventions (Keras's): word ``i`` of the vocabulary (1 = most frequent) appears as
``i + index_from``; each review starts with ``start_char``; words outside
``[skip_top, num_words)`` become ``oov_char`` (or are dropped when it is ``None``). Decode with
``{i + index_from: w for w, i in get_word_index().items()}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from initium.datasets import _common

__all__ = ["load_data", "get_word_index"]

ORIGIN = _common.KERAS_DATASETS_URL + "imdb.npz"
FILE_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_ORIGIN = _common.KERAS_DATASETS_URL + "imdb_word_index.json"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"


def load_data(path: str = "imdb.npz", num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None,
              seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3,
              **kwargs: Any) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: 1-D object arrays of ``list[int]`` reviews, and 0/1 labels.

    Args:
        path: the file's name in the cache.
        num_words: keep the ``num_words - 1`` most frequent words (indices below ``num_words``).
        skip_top: also treat the ``skip_top`` most frequent words as out of vocabulary.
        maxlen: drop the reviews of ``maxlen`` words or more (after ``start_char`` is added).
        seed: the shuffle of each split (``np.random.RandomState(seed)``, train first).
        start_char, oov_char, index_from: the index conventions above.
    """
    if kwargs:
        raise TypeError(f"imdb.load_data: unrecognized keyword arguments: {sorted(kwargs)}.")
    from initium.utils.file_utils import get_file

    f = _common.load_npz(get_file(fname=path, origin=ORIGIN, file_hash=FILE_HASH))
    rng = np.random.RandomState(seed)
    splits = []
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = f[x_key], f[y_key]
        order = np.arange(len(x))
        rng.shuffle(order)
        xs, labels = _common.drop_long(maxlen, _common.offset_words(x[order], start_char, index_from), y[order])
        if maxlen and not xs:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                             "Increase maxlen.")
        splits.append((xs, labels))
    (x_train, y_train), (x_test, y_test) = splits
    xs = _common.cap_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(y_train), np.asarray(y_test)])
    n = len(x_train)
    return (_common.object_array(xs[:n]), labels[:n]), (_common.object_array(xs[n:]), labels[n:])


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """The vocabulary: ``{word: index}``, 1 for the most frequent word (before ``index_from``)."""
    from initium.utils.file_utils import get_file

    return _common.read_word_index(get_file(fname=path, origin=WORD_INDEX_ORIGIN, file_hash=WORD_INDEX_HASH))
