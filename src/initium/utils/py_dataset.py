"""``PyDataset`` (alias ``Sequence``): a dataset written in Python as indexed batches.

A subclass implements ``__len__`` (the number of batches) and ``__getitem__(i)`` (batch ``i``:
``x``, ``(x,)``, ``(x, y)``, ``(x, y, sample_weight)`` or a dict), may override ``on_epoch_begin`` /
``on_epoch_end``, and passes ``workers``, ``use_multiprocessing`` and ``max_queue_size`` to
``super().__init__(**kwargs)``, as in Keras 3.

**One pass over a PyDataset is one epoch**, as ``fit`` runs it in Keras (its
``PyDatasetAdapter``):

- ``on_epoch_begin()`` first, then the batches, then ``on_epoch_end()`` (also when the consumer
  stops early and closes the iterator, e.g. ``fit(steps_per_epoch=...)``);
- ``workers > 1`` prefetches up to ``max_queue_size`` batches on a thread pool, still yielded in
  order; with ``use_multiprocessing=True`` the pool is one of processes (forked on Linux, so the
  dataset need not be picklable; elsewhere it is sent to each worker by pickle, and a dataset that
  cannot be pickled raises a ``ValueError`` saying so before any worker starts);
- a dataset whose ``num_batches`` is ``None`` is infinite: the epoch ends where the caller stops.

``for batch in ds`` (what ``model.fit`` does with any iterable) yields ``__getitem__``'s batches
as they are. ``ds.iter_epoch(shuffle=True)`` also visits the batches in a random order (drawn from
Python's ``random``, as Keras does, so ``set_random_seed`` makes it repeatable) and checks each to
be a tuple of 1 to 3 items or a dict (a bare array becomes ``(x,)``): Keras's ``fit(shuffle=True)``.

Unlike Keras, plain iteration runs the epoch hooks and the workers: in Keras only ``fit``,
``evaluate`` and ``predict`` do, and ``for batch in ds`` reads the batches in this thread without
them. Here every consumer of the dataset, ``fit`` included, gets them from iterating it.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any, Iterator

import numpy as np

__all__ = ["PyDataset", "Sequence"]

_SHARED: dict[int, "PyDataset"] = {}  # in a worker process: the dataset(s) it serves, by id


def _option(attr: str, doc: str) -> property:
    """A constructor option, read through Keras's check that ``super().__init__`` was called."""

    def read(self: "PyDataset") -> Any:
        self._warn_if_super_not_called()
        return getattr(self, attr)

    def write(self: "PyDataset", value: Any) -> None:
        setattr(self, attr, value)

    return property(read, write, doc=doc)


class PyDataset:
    """Base class for a parallel dataset written in Python (``keras.utils.PyDataset``).

    Args:
        workers: threads (or processes) that build batches ahead of the training loop; 1 builds
            them in the loop's thread.
        use_multiprocessing: use processes instead of threads (batches must then be picklable).
        max_queue_size: how many batches may be built ahead.

    >>> class Squares(PyDataset):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...     def __len__(self):
    ...         return 3
    ...     def __getitem__(self, i):
    ...         x = np.full((2, 1), float(i))
    ...         return x, x ** 2
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 0:
            raise ValueError(f"PyDataset: `workers` must be a non-negative integer. Received: workers={workers!r}")
        if not isinstance(use_multiprocessing, bool):
            raise ValueError("PyDataset: `use_multiprocessing` must be True or False. Received: "
                             f"use_multiprocessing={use_multiprocessing!r}")
        if isinstance(max_queue_size, bool) or not isinstance(max_queue_size, (int, np.integer)) or max_queue_size < 1:
            raise ValueError("PyDataset: `max_queue_size` must be a positive integer. Received: "
                             f"max_queue_size={max_queue_size!r}")
        self._workers = int(workers)
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = int(max_queue_size)

    def _warn_if_super_not_called(self) -> None:
        missing = False
        for attr, default in (("_workers", 1), ("_use_multiprocessing", False), ("_max_queue_size", 10)):
            if not hasattr(self, attr):
                setattr(self, attr, default)
                missing = True
        if missing:
            warnings.warn("Your `PyDataset` class should call `super().__init__(**kwargs)` in its constructor. "
                          "`**kwargs` can include `workers`, `use_multiprocessing`, `max_queue_size`. Do not pass "
                          "these arguments to `fit()`, as they will be ignored.", stacklevel=3)

    workers = _option("_workers", "Threads (or processes) that build batches ahead of the loop.")
    use_multiprocessing = _option("_use_multiprocessing", "Whether the workers are processes rather than threads.")
    max_queue_size = _option("_max_queue_size", "How many batches may be built ahead.")

    def __getitem__(self, index: int) -> Any:
        """Batch number ``index``."""
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index), returning one batch.")

    @property
    def num_batches(self) -> int | None:
        """The number of batches (``len(self)``), or ``None`` for an infinite dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError("You need to implement the `num_batches` property:\n\n"
                                  "@property\ndef num_batches(self):\n  return ...")

    def __iter__(self) -> Iterator[Any]:
        """One epoch: the hooks around the batches in order (prefetched by the workers), each as
        ``__getitem__`` returns it."""
        return self._epoch(shuffle=False, standardize=False)

    def on_epoch_begin(self) -> None:
        """Called at the beginning of every epoch (every pass over the dataset)."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch (every pass, also one cut short)."""

    def iter_epoch(self, shuffle: bool = False) -> Iterator[Any]:
        """One epoch as Keras's ``fit`` runs it: hooks, worker prefetch, batches checked and put in
        Keras's tuple form, and with ``shuffle`` a random batch order.

        Close the iterator (``it.close()``, or drop it) to end an epoch early: the pool stops and
        ``on_epoch_end`` runs.
        """
        return self._epoch(shuffle=shuffle, standardize=True)

    def _epoch(self, shuffle: bool, standardize: bool) -> Iterator[Any]:
        try:
            count = self.num_batches
        except NotImplementedError:  # neither __len__ nor num_batches: read until the caller stops
            count = None
        if count is None:
            order: Any = itertools.count()
        else:
            order = list(range(count))
            if shuffle:
                import random

                random.shuffle(order)
        parallel = self.workers > 1 or (self.workers > 0 and self.use_multiprocessing)
        pool = _open_pool(self) if parallel else None
        self.on_epoch_begin()
        try:
            batches = _prefetched(pool, self, order) if pool is not None else (self[i] for i in order)
            for batch in batches:
                yield _standardize(batch) if standardize else batch
        except GeneratorExit:
            self.on_epoch_end()
            raise
        else:
            self.on_epoch_end()
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                _SHARED.pop(id(self), None)


Sequence = PyDataset


def _standardize(batch: Any) -> Any:
    """Keras's batch forms: a dict as is, an array as ``(x,)``, a list as a tuple of 1-3 items."""
    if isinstance(batch, dict):
        return batch
    if isinstance(batch, np.ndarray):
        batch = (batch,)
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple) or len(batch) not in (1, 2, 3):
        raise ValueError("PyDataset.__getitem__() must return a tuple or a dict. If a tuple, it must be ordered "
                         "either (input,) or (inputs, targets) or (inputs, targets, sample_weights). Received: "
                         f"{str(batch)[:100]}... of type {type(batch)}")
    return batch


def _install(key: int, dataset: "PyDataset") -> None:
    """Worker-process initializer: remember the dataset this worker serves."""
    _SHARED[key] = dataset


def _get_item(key: int, index: int) -> Any:
    return _SHARED[key][index]


def _open_pool(dataset: PyDataset) -> Any:
    """A thread pool, or a process pool (fork where it is safe, else spawn with a pickled dataset)."""
    import concurrent.futures

    if not dataset.use_multiprocessing:
        return concurrent.futures.ThreadPoolExecutor(max_workers=max(1, dataset.workers))
    import multiprocessing
    import pickle
    import sys

    method = "fork" if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods() \
        else "spawn"
    if method == "spawn":
        try:
            pickle.dumps(dataset)
        except Exception as e:  # any pickling failure (PicklingError, TypeError, AttributeError) says the same
            raise ValueError(f"use_multiprocessing=True cannot be honoured for {type(dataset).__name__}: on this "
                             f"platform worker processes are spawned, so the dataset must be picklable, and pickling "
                             f"it failed ({type(e).__name__}: {e}). Define the class at module level of an importable "
                             "module and keep only picklable attributes, or use threads "
                             "(use_multiprocessing=False).") from e
    _SHARED[id(dataset)] = dataset  # a forked worker inherits it; a spawned one gets it from the initializer
    spawned = {"initializer": _install, "initargs": (id(dataset), dataset)} if method == "spawn" else {}
    return concurrent.futures.ProcessPoolExecutor(max_workers=max(1, dataset.workers),
                                                  mp_context=multiprocessing.get_context(method), **spawned)


def _prefetched(pool: Any, dataset: PyDataset, order: Any) -> Iterator[Any]:
    """``dataset[i]`` for ``i`` in ``order``, up to ``max_queue_size`` of them computed ahead, in order."""
    from collections import deque

    is_process, key = dataset.use_multiprocessing, id(dataset)
    pending: deque = deque()
    indices = iter(order)

    def submit() -> bool:
        index = next(indices, None)
        if index is None:
            return False
        pending.append(pool.submit(_get_item, key, index) if is_process else pool.submit(dataset.__getitem__, index))
        return True

    while len(pending) < dataset.max_queue_size and submit():
        pass
    while pending:
        batch = pending.popleft().result()
        submit()
        yield batch
