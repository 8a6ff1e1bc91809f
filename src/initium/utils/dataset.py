"""``Dataset``: the re-iterable batches that initium's dataset builders return, and the data helpers
of ``keras.utils`` (``timeseries_dataset_from_array``, ``split_dataset``, ``pack_x_y_sample_weight``,
``unpack_x_y_sample_weight``).

Where Keras returns a ``tf.data.Dataset``, initium returns a ``Dataset``:

- iterating it yields batches of numpy arrays: ``(x, y)``, or ``x`` alone when there are no
  labels/targets; with ``batch_size=None`` it yields single elements;
- ``len(ds)`` is the number of batches (what ``fit`` takes as the steps of an epoch);
- it can be iterated any number of times; with ``shuffle=True`` every pass draws a fresh order
  from a generator seeded once with ``seed`` (so the sequence of epochs is reproducible). Keras
  shuffles through a buffer of ``8 * batch_size`` elements; this is a full shuffle;
- ``ds.take(n)`` is a ``Dataset`` of its first ``n`` batches (``for x, y in ds.take(1)``);
- builders set ``class_names`` (and ``file_paths``) as Keras sets them on its datasets.

``model.fit(ds)`` takes it as it takes any re-iterable of batches; ``fit``'s own ``shuffle``
argument does not apply to it (nor does it to a ``tf.data.Dataset`` in Keras).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator

import numpy as np

__all__ = ["Dataset", "timeseries_dataset_from_array", "split_dataset", "pack_x_y_sample_weight",
           "unpack_x_y_sample_weight"]


def _is_count(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


class Dataset:
    """Re-iterable batches of ``size`` elements, read by ``loader``.

    Args:
        loader: ``loader(indices)`` returns the batch of the elements ``indices`` (a 1-D int array):
            an array, or a tuple of arrays whose first axis is ``len(indices)``.
        size: the number of elements.
        batch_size: elements per batch (the last batch may be smaller); ``None`` yields single
            elements.
        shuffle: visit the elements in a fresh random order on every pass.
        seed: seeds the order of the passes (``None``: not reproducible).
        class_names: Keras's ``class_names`` attribute (``None`` when there are no labels).
        file_paths: Keras's ``file_paths`` attribute (the files behind the elements, in index order).

    >>> ds = Dataset(lambda i: (i * 10, i), size=5, batch_size=2)
    >>> len(ds), [x.tolist() for x, _ in ds]
    (3, [[0, 10], [20, 30], [40]])
    """

    def __init__(self, loader: Callable[[np.ndarray], Any], size: int, batch_size: int | None = 32,
                 shuffle: bool = False, seed: int | None = None, class_names: list[str] | None = None,
                 file_paths: list[str] | None = None) -> None:
        if batch_size is not None and (not _is_count(batch_size) or batch_size < 1):
            raise ValueError(f"`batch_size` must be a positive integer or None. Received: batch_size={batch_size!r}")
        self._loader = loader
        self._size = int(size)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._limit: int | None = None
        self.class_names = class_names
        self.file_paths = file_paths

    @property
    def num_elements(self) -> int:
        """How many elements one pass visits."""
        return self._size

    def __len__(self) -> int:
        steps = self._size if self.batch_size is None else math.ceil(self._size / self.batch_size)
        return steps if self._limit is None else min(steps, self._limit)

    def __iter__(self) -> Iterator[Any]:
        order = self._rng.permutation(self._size) if self.shuffle else np.arange(self._size)
        step = self.batch_size or 1
        for batch_index in range(len(self)):
            batch = self._loader(order[batch_index * step:(batch_index + 1) * step])
            yield batch if self.batch_size is not None else _first(batch)

    def take(self, count: int) -> "Dataset":
        """A ``Dataset`` of this one's first ``count`` batches (sharing its shuffling generator)."""
        if not _is_count(count) or count < 0:
            raise ValueError(f"take: `count` must be a non-negative integer. Received: count={count!r}")
        view = object.__new__(Dataset)
        view.__dict__.update(self.__dict__)
        view._limit = int(count) if self._limit is None else min(self._limit, int(count))
        return view

    def __repr__(self) -> str:
        batch = "unbatched" if self.batch_size is None else f"batch_size={self.batch_size}"
        return f"<initium.utils.Dataset: {self._size} elements, {batch}, {len(self)} batches, shuffle={self.shuffle}>"


def _first(batch: Any) -> Any:
    """Element 0 of a batch of one (an array, or a tuple of arrays)."""
    if isinstance(batch, tuple):
        return tuple(_first(b) for b in batch)
    return batch[0]


# --------------------------------------------------------------------------------- time series
def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None, format: str = "tf") -> Dataset:
    """Sliding windows over ``data`` as a ``Dataset`` of ``(windows, targets)`` batches (Keras's rules).

    Window ``i`` starts at ``start_index + i * sequence_stride`` and holds ``sequence_length`` steps
    taken every ``sampling_rate`` steps: ``data[s], data[s + rate], ..., data[s + (length - 1) * rate]``.
    Only steps in ``[start_index, end_index)`` are used. Its target is ``targets[s]`` (the target of
    the window's first step; pass ``targets=data[length:]`` to predict the step after a window of
    ``data``). The windows' count is ``end_index - start_index - (length - 1) * rate``, capped at
    ``len(targets)``, every ``sequence_stride``-th of them kept.

    Args:
        data: an array (or list) of shape ``(steps, ...)``.
        targets: one target per step, or ``None`` (the dataset then yields windows alone).
        sequence_length, sequence_stride, sampling_rate: window length, the step between window
            starts, and the step between the rows of a window.
        batch_size: windows per batch, or ``None`` for single windows.
        shuffle, seed: shuffle the windows (a fresh order each pass, seeded).
        start_index, end_index: the slice of ``data`` to use (``end_index`` excluded).
        format: ``"tf"`` or ``"grain"``, accepted for Keras's signature; both give a ``Dataset``.
    """
    data = data if isinstance(data, np.ndarray) else np.asarray(data)
    if targets is not None:
        targets = targets if isinstance(targets, np.ndarray) else np.asarray(targets)
    _check_timeseries_args(len(data), sequence_length, sequence_stride, sampling_rate, start_index, end_index, format)
    start = start_index or 0
    stop = len(data) if end_index is None else end_index
    num_seqs = stop - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    starts = start + np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)
    offsets = np.arange(sequence_length, dtype=np.int64) * sampling_rate

    def load(indices: np.ndarray) -> Any:
        first = starts[indices]
        windows = data[first[:, None] + offsets]
        return windows if targets is None else (windows, targets[first])

    return Dataset(load, len(starts), batch_size=batch_size, shuffle=shuffle, seed=seed)


def _check_timeseries_args(n: int, sequence_length: Any, sequence_stride: Any, sampling_rate: Any, start_index: Any,
                           end_index: Any, format: str) -> None:
    """Keras's argument checks (and a positive integer ``sequence_length``, which Keras leaves to TF)."""
    if not _is_count(sequence_length) or sequence_length < 1:
        raise ValueError(f"`sequence_length` must be a positive integer. Received: sequence_length={sequence_length!r}")
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= n:
            raise ValueError("`start_index` must be lower than the length of the data. Received: "
                             f"start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= n:
            raise ValueError("`end_index` must be lower than the length of the data. Received: "
                             f"end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= n:
            raise ValueError(f"`{name}` must be lower than the length of the data. Received: {name}={value}, for "
                             f"data of length {n}")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')


# ------------------------------------------------------------------------------------- splitting
def split_dataset(dataset: Any, left_size: int | float | None = None, right_size: int | float | None = None,
                  shuffle: bool = False, seed: int | None = None, preferred_backend: str | None = None) -> tuple:
    """Split a dataset in two ``torch.utils.data.Subset``s (Keras's torch path).

    ``dataset`` is a numpy array, a list/tuple of arrays with the same first axis (each element is
    then a tuple), or a ``torch.utils.data.Dataset``. A float size is a fraction of the elements
    (rounded), an int a count; a missing side takes the rest. The left part is the first
    ``left_size`` elements and the right part the last ``right_size`` (of a random permutation when
    ``shuffle``, drawn from ``torch.Generator().manual_seed(seed)``: the same split as Keras for the
    same seed).

    Unlike Keras 3.15.1's torch path, ``shuffle=False`` keeps the order (Keras permutes anyway), and
    sizes that do not add up to the whole are allowed (the middle is left out, as Keras's
    TensorFlow path does).
    """
    import torch
    from torch.utils.data import Subset, TensorDataset

    if preferred_backend not in (None, "torch"):
        raise ValueError(f"split_dataset: initium runs on torch only. Received: preferred_backend={preferred_backend!r}")
    if isinstance(dataset, np.ndarray):
        dataset = TensorDataset(torch.from_numpy(dataset))
    elif isinstance(dataset, (list, tuple)):
        dataset = TensorDataset(*_equal_length_tensors(dataset))
    elif not isinstance(dataset, torch.utils.data.Dataset):
        raise TypeError("The `dataset` argument must be a `torch.utils.data.Dataset` object, or a list/tuple of "
                        f"arrays. Received: dataset={dataset} of type {type(dataset)}")
    total = len(dataset)
    left, right = _split_sizes(left_size, right_size, total)
    if shuffle:
        generator = torch.Generator()
        if seed is not None:
            generator.manual_seed(seed)
        else:
            generator.seed()
        order = torch.randperm(total, generator=generator).tolist()
    else:
        order = list(range(total))
    return Subset(dataset, order[:left]), Subset(dataset, order[total - right:])


def _equal_length_tensors(arrays: Any) -> list:
    import torch

    if not arrays:
        raise ValueError("Received an empty list dataset. Please provide a non-empty list of arrays.")
    tensors = []
    for i, a in enumerate(arrays):
        if not isinstance(a, np.ndarray):
            raise ValueError(f"Expected a list of `numpy.ndarray` objects, Received: {type(a)} at index {i}.")
        if a.shape[0] != arrays[0].shape[0]:
            raise ValueError(f"Received a list of NumPy arrays with different lengths. Mismatch found at index {i}, "
                             f"Expected shape={arrays[0].shape} Received shape={a.shape}. Please provide a list of "
                             "NumPy arrays of the same length.")
        tensors.append(torch.from_numpy(a))
    return tensors


def _split_sizes(left: Any, right: Any, total: int) -> tuple[int, int]:
    """Keras's rules for ``left_size``/``right_size`` (ints are counts, floats fractions)."""
    if left is None and right is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. Received: "
                         "left_size=None and right_size=None")
    sizes = {}
    for side, value in (("left", left), ("right", right)):
        if value is None:
            continue
        if type(value) not in (int, float):
            raise TypeError(f"Invalid `{side}_size` Type. Expected: int or float or None, Received: "
                            f"type({side}_size)={type(value)}.")
        bound = total if type(value) is int else 1
        if value <= 0 or value >= bound:
            raise ValueError(f"`{side}_size` should be either a positive integer smaller than {total}, or a float "
                             f"within the range `[0, 1]`. Received: {side}_size={value}")
        sizes[side] = round(value * total) if type(value) is float else value
    if type(left) is float and type(right) is float and left + right > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must be less than or equal "
                         "to 1.")
    n_left = sizes.get("left", total - sizes.get("right", 0))
    n_right = sizes.get("right", total - n_left)
    if n_left + n_right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than the {total}. Received: "
                         f"left_size + right_size = {n_left + n_right} and total_length = {total}")
    for side, n in (("left", n_left), ("right", n_right)):
        if n == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={n_left} and `right_size`={n_right}. "
                             f"Resulting {side} side dataset split will be empty. Adjust any of the aforementioned "
                             "parameters")
    return int(n_left), int(n_right)


# ------------------------------------------------------------------------------ packing batches
def unpack_x_y_sample_weight(data: Any) -> tuple:
    """``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``,
    with ``None`` for what is missing."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) in (1, 2, 3):
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, found: {data}")


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The tuple ``fit`` takes: ``x`` alone (a list/tuple ``x`` as ``(x,)``), ``(x, y)`` or
    ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)
