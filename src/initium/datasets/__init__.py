"""Keras's ``keras.datasets``, and the bundled digits.

``digits`` ships with scikit-learn and never downloads. The others are Keras's data sets, each
``load_data(...)`` with Keras's signature and return values: the first call downloads the file
from Keras's location into ``~/.keras/datasets`` (or ``$KERAS_HOME``) with
``initium.utils.get_file`` (hash-checked where Keras has a hash, written atomically), later calls
read the cache. ``mnist`` also reads a local ``.npz`` or IDX folder given as ``path``.
Downloaded pickles (CIFAR) and object arrays (IMDB, Reuters) are read with a restricted unpickler.
"""

from initium.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    digits,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)

__all__ = ["boston_housing", "california_housing", "cifar10", "cifar100", "digits", "fashion_mnist", "imdb", "mnist",
           "reuters"]
