"""Reuters newswires: 11,228 newswires as sequences of word indices, labelled with one of 46 topics
(Keras's ``keras.datasets.reuters``).

``reuters.npz`` and the word index are downloaded once with ``initium.utils.get_file`` from Keras's
location (hash-checked); the object arrays are read with a restricted unpickler. The index
conventions are IMDB's (``initium.datasets.imdb``).
"""

from __future__ import annotations

import numpy as np

from initium.datasets import _common

__all__ = ["load_data", "get_word_index", "get_label_names"]

ORIGIN = _common.KERAS_DATASETS_URL + "reuters.npz"
FILE_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_ORIGIN = _common.KERAS_DATASETS_URL + "reuters_word_index.json"
WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"
LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path: str = "reuters.npz", num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None,
              test_split: float = 0.2, seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2,
              index_from: int = 3) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: 1-D object arrays of ``list[int]`` newswires and topic
    labels 0-45 (``get_label_names()[label]``), shuffled with ``seed`` and split at
    ``int(n * (1 - test_split))``. The other arguments are ``imdb.load_data``'s."""
    from initium.utils.file_utils import get_file

    f = _common.load_npz(get_file(fname=path, origin=ORIGIN, file_hash=FILE_HASH))
    xs, labels = f["x"], f["y"]
    order = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(order)
    seqs, kept = _common.drop_long(maxlen, _common.offset_words(xs[order], start_char, index_from), labels[order])
    seqs = _common.cap_vocabulary(seqs, num_words, skip_top, oov_char)
    cut = int(len(seqs) * (1 - test_split))
    kept = np.asarray(kept)
    return (_common.object_array(seqs[:cut]), np.array(kept[:cut])), (_common.object_array(seqs[cut:]),
                                                                      np.array(kept[cut:]))


def get_word_index(path: str = "reuters_word_index.json") -> dict[str, int]:
    """The vocabulary: ``{word: index}``, 1 for the most frequent word (before ``index_from``)."""
    from initium.utils.file_utils import get_file

    return _common.read_word_index(get_file(path, origin=WORD_INDEX_ORIGIN, file_hash=WORD_INDEX_HASH))


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, by label index."""
    return LABEL_NAMES
