"""Keras's callbacks (``keras.callbacks``) for initium's ``fit`` / ``evaluate`` / ``predict``.

Hooks, argument names, defaults and semantics follow Keras 3. The differences:

- **Batch logs are lazy.** The trainer passes ``on_*_batch_end`` a :class:`LazyLogs`: the metric
  values are read from the device (one synchronization) only if a callback looks at them. A
  callback that never reads its batch logs costs the training loop nothing.
- **TerminateOnNaN** also restores the weights (and optimizer state) of the last step whose loss was
  finite, instead of leaving the model with NaN weights.
- **BackupAndRestore** writes one ``torch.save`` file atomically (temp file + ``os.replace``) and
  reads it with ``torch.load(weights_only=True)``; ``delete_checkpoint`` removes only the files it
  wrote (Keras removes the whole ``backup_dir`` tree).
- Unknown keyword arguments (``ReduceLROnPlateau``, ``LambdaCallback``) raise ``TypeError`` with a
  suggestion; Keras ignores them silently.
"""

from __future__ import annotations

import collections
import csv
import difflib
import os
import tempfile
import warnings
from collections.abc import Mapping
from typing import Any, Callable, Iterator

import numpy as np
import torch

from initium import distribution as _distribution
from initium.training.progress import Progbar

__all__ = [
    "LazyLogs", "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ReduceLROnPlateau",
    "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback", "BackupAndRestore", "ModelCheckpoint",
    "TensorBoard",
]


def _did_you_mean(name: str, options: Any) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def _print(message: str) -> None:
    import sys

    sys.stdout.write(message + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------- LazyLogs

_NOT_READ = object()


class LazyLogs(Mapping):
    """Read-only batch logs computed on first access.

    ``LazyLogs(fn)`` calls ``fn() -> dict[str, float]`` the first time any key, the length or the
    iteration is asked for, and caches the result (so reading costs one device synchronization at
    most, and only when somebody reads). ``repr`` does not force it.
    """

    __slots__ = ("_fn", "_data")

    def __init__(self, fn: Callable[[], Mapping[str, Any]]) -> None:
        if not callable(fn):
            raise TypeError(f"LazyLogs: `fn` must be a callable returning a dict of logs. Received: fn={fn!r}")
        self._fn = fn
        self._data: Any = _NOT_READ

    @property
    def is_read(self) -> bool:
        """Whether ``fn`` has been called."""
        return self._data is not _NOT_READ

    def _force(self) -> dict[str, Any]:
        if self._data is _NOT_READ:
            self._data = dict(self._fn())
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._force()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._force())

    def __len__(self) -> int:
        return len(self._force())

    def __contains__(self, key: object) -> bool:
        return key in self._force()

    def __repr__(self) -> str:
        return f"LazyLogs({self._data!r})" if self.is_read else "LazyLogs(<not read yet>)"


# ---------------------------------------------------------------------- base classes

class Callback:
    """Base class of callbacks: override the hooks you need.

    ``self.model`` is the model being trained (set by ``set_model``); ``self.params`` is
    ``{'verbose', 'epochs', 'steps'}`` (set by ``set_params``). ``on_batch_begin`` /
    ``on_batch_end`` are Keras's backward-compatible aliases: the default ``on_train_batch_begin``
    / ``on_train_batch_end`` call them.
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] | None = None
        self._model: Any = None

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self._model = model

    @property
    def model(self) -> Any:
        return self._model

    def on_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        """Alias of ``on_train_batch_begin`` (kept for Keras 2 code)."""

    def on_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        """Alias of ``on_train_batch_end`` (kept for Keras 2 code)."""

    def on_epoch_begin(self, epoch: int, logs: Mapping | None = None) -> None:
        """At the start of epoch ``epoch`` (0-based) of ``fit``."""

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        """At the end of an epoch; ``logs`` holds the epoch's metrics (``val_*`` too), keys sorted."""

    def on_train_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        """``logs`` is a :class:`LazyLogs` of the running metrics (reading it synchronizes)."""
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        """At the start of a batch of ``evaluate``."""

    def on_test_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        """At the end of a batch of ``evaluate`` (``logs``: a :class:`LazyLogs`)."""

    def on_predict_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        """At the start of a batch of ``predict``."""

    def on_predict_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        """At the end of a batch of ``predict``."""

    def on_train_begin(self, logs: Mapping | None = None) -> None:
        """At the start of ``fit``."""

    def on_train_end(self, logs: Mapping | None = None) -> None:
        """At the end of ``fit`` (``logs``: the last epoch's logs)."""

    def on_test_begin(self, logs: Mapping | None = None) -> None:
        """At the start of ``evaluate``."""

    def on_test_end(self, logs: Mapping | None = None) -> None:
        """At the end of ``evaluate`` (``logs``: its results)."""

    def on_predict_begin(self, logs: Mapping | None = None) -> None:
        """At the start of ``predict``."""

    def on_predict_end(self, logs: Mapping | None = None) -> None:
        """At the end of ``predict``."""


def _flatten(callbacks: Any) -> list:
    if callbacks is None:
        return []
    if isinstance(callbacks, (list, tuple)):
        out: list = []
        for item in callbacks:
            out.extend(_flatten(item) if isinstance(item, (list, tuple)) else [item])
        return out
    return [callbacks]


def _check_callback(item: Any, where: str) -> Any:
    if not isinstance(item, Callback):
        hint = " (pass an instance: add parentheses)" if isinstance(item, type) and issubclass(item, Callback) else ""
        raise TypeError(
            f"{where}: every callback must be an instance of initium.callbacks.Callback. Received: {item!r} "
            f"of type {type(item).__name__}{hint}. Wrap plain functions in "
            "initium.callbacks.LambdaCallback(on_epoch_end=...)."
        )
    return item


class CallbackList(Callback):
    """Calls a list of callbacks together (what ``fit``/``evaluate``/``predict`` use).

    Args:
        callbacks: ``None``, a :class:`Callback`, or a (nested) list of them.
        add_history: append a :class:`History` unless one is given.
        add_progbar: append a :class:`ProgbarLogger` unless one is given (after the History).
        model: the model; passed to every callback's ``set_model`` (and ``model.history`` is set).
        **params: passed to every callback's ``set_params`` (``verbose``, ``epochs``, ``steps``).

    Order, as Keras: the user's callbacks, then History, then ProgbarLogger, so that the bar and
    the history show what callbacks added to the epoch logs (e.g. ``learning_rate``).
    Every hook hands its callbacks a dict, ``{}`` when called without logs, as Keras does.
    """

    def __init__(self, callbacks: Any = None, add_history: bool = False, add_progbar: bool = False,
                 model: Any = None, **params: Any) -> None:
        super().__init__()
        # under a distribution, ranks other than 0 leave out the callbacks with side effects (distribution.py)
        self.callbacks: list[Callback] = _distribution.local_callbacks(
            [_check_callback(c, "CallbackList") for c in _flatten(callbacks)])
        self._in_begin_end_block_count = 0
        self._history: History | None = None
        self._progbar: ProgbarLogger | None = None
        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                self._progbar = cb
            elif isinstance(cb, History):
                self._history = cb
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar and _distribution.is_rank_zero():
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self.set_model(model)
        self.set_params(params)

    def append(self, callback: Callback) -> None:
        """Add a callback at the end (it gets the list's model and params)."""
        cb = _check_callback(callback, "CallbackList.append")
        self.callbacks.append(cb)
        if self._model is not None:
            cb.set_model(self._model)
        if self.params:
            cb.set_params(self.params)

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def set_model(self, model: Any) -> None:
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def _begin(self) -> None:
        self._in_begin_end_block_count += 1

    def _end(self) -> None:
        self._in_begin_end_block_count -= 1
        if self._in_begin_end_block_count < 0:
            self._in_begin_end_block_count = 0
            raise ValueError("`on_xxx_end` called without corresponding `on_xxx_begin`")

    def on_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_batch_begin(batch, logs)

    def on_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_batch_end(batch, logs)

    def on_epoch_begin(self, epoch: int, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs)

    def on_test_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_batch_end(batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_batch_end(batch, logs)

    def on_train_begin(self, logs: Mapping | None = None) -> None:
        self._begin()
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_end(logs)
        self._end()

    def on_test_begin(self, logs: Mapping | None = None) -> None:
        self._begin()
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_begin(logs)

    def on_test_end(self, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_end(logs)
        self._end()

    def on_predict_begin(self, logs: Mapping | None = None) -> None:
        self._begin()
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_begin(logs)

    def on_predict_end(self, logs: Mapping | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_end(logs)
        self._end()


# ---------------------------------------------------------------------- History and the bar

def _to_python(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


class History(Callback):
    """Records the epoch logs: ``history`` (``{name: [float per epoch]}``), ``epoch`` and ``params``.

    ``fit`` returns it and sets ``model.history`` to it. As in Keras, reusing one instance across
    ``fit`` calls keeps appending to ``history`` while ``epoch`` restarts.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Mapping | None = None) -> None:
        self.epoch = []
        if self.model is not None:
            self.model.history = self

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(_to_python(v))
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints the progress bar of ``fit`` / ``evaluate`` / ``predict`` (added when ``verbose != 0``).

    ``Epoch i/N`` is printed when ``epochs > 1``. With ``verbose=1`` a bar per epoch (redrawn in place
    on a terminal, one plain line otherwise); with ``verbose=2`` one line per epoch. Validation
    inside ``fit`` is silent. Batch logs are handed to the bar unread: it reads them only when it
    draws (see :class:`initium.training.progress.Progbar`).
    """

    _rank_zero_only = True  # under a distribution, rank 0 alone runs it (distribution.local_callbacks)

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0
        self.progbar: Progbar | None = None
        self.target: int | None = None
        self.verbose: int = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1) or 1
        self.target = params.get("steps")

    def on_train_begin(self, logs: Mapping | None = None) -> None:
        self._called_in_fit = True

    def on_test_begin(self, logs: Mapping | None = None) -> None:
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs: Mapping | None = None) -> None:
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch: int, logs: Mapping | None = None) -> None:
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            self._stream_write(f"Epoch {epoch + 1}/{self.epochs}\n")

    def on_train_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        self._update_progbar(batch, None)  # never show predictions

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        self._finalize_progbar(logs)

    def on_test_end(self, logs: Mapping | None = None) -> None:
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs: Mapping | None = None) -> None:
        self._finalize_progbar(logs)

    def _stream_write(self, text: str) -> None:
        import sys

        sys.stdout.write(text)
        sys.stdout.flush()

    def _reset_progbar(self) -> None:
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self) -> None:
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose if self.verbose in (0, 1, 2) else 1,
                                   unit_name="step")

    def _update_progbar(self, batch: int, logs: Mapping | None) -> None:
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, logs, finalize=False)  # `logs` stays unread unless the bar draws

    def _finalize_progbar(self, logs: Mapping | None) -> None:
        self._maybe_init_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, logs, finalize=True)


# ---------------------------------------------------------------------- monitoring callbacks

_UP_METRICS = {
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy", "Precision", "Recall", "AUC", "F1Score", "FBetaScore", "PrecisionAtRecall",
    "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity", "PearsonCorrelation",
    "ConcordanceCorrelation", "CosineSimilarity", "R2Score", "IoU", "MeanIoU", "BinaryIoU", "OneHotIoU",
    "OneHotMeanIoU",
}
_DOWN_METRICS = {
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
    "RootMeanSquaredError", "LogCoshError", "Hinge", "SquaredHinge", "CategoricalHinge", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence", "Poisson",
}


def _metric_direction(metric: Any) -> str | None:
    direction = getattr(metric, "_direction", None)
    if direction in ("up", "down"):
        return direction
    for cls in type(metric).__mro__:
        if cls.__name__ in _UP_METRICS:
            return "up"
        if cls.__name__ in _DOWN_METRICS:
            return "down"
    return None


def _less(a: Any, b: Any) -> bool:
    return bool(np.less(a, b))


def _greater(a: Any, b: Any) -> bool:
    return bool(np.greater(a, b))


class _MonitorCallback(Callback):
    """Shared logic of callbacks that watch one metric (Keras's ``MonitorCallback``)."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Callable[[Any, Any], bool] | None = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = _less
        elif self.mode == "max":
            self.monitor_op = _greater
        else:
            name = self.monitor.removeprefix("val_")
            if name == "loss":
                self.monitor_op = _less
            for metric in getattr(self.model, "metrics", None) or []:
                if getattr(metric, "name", None) == name:
                    direction = _metric_direction(metric)
                    if direction is not None:
                        self.monitor_op = _greater if direction == "up" else _less
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but Keras isn't able to "
                    "automatically determine whether that metric should be maximized or minimized. Pass "
                    "`mode='max'` in order to monitor based on the highest metric value, or pass `mode='min'` "
                    "in order to use the lowest value."
                )
        if self.monitor_op is _less:
            self.min_delta *= -1

    def _is_improvement(self, monitor_value: Any, reference_value: Any) -> bool:
        if reference_value is None:
            return True
        return self.monitor_op(monitor_value - self.min_delta, reference_value)


class EarlyStopping(_MonitorCallback):
    """Stop training when ``monitor`` has stopped improving (sets ``model.stop_training = True``).

    An epoch improves when ``current - min_delta < best`` (mode ``min``; ``>`` and ``+`` for
    ``max``). ``wait`` counts epochs since the last improvement; training stops when
    ``wait >= patience`` (never at epoch 0). Epochs before ``start_from_epoch`` are ignored. With
    ``baseline``, an improvement resets ``wait`` only if it also beats the baseline. With
    ``restore_best_weights=True`` the weights of the best epoch are put back at the end of
    training (whether or not it stopped early). ``mode='auto'`` minimizes ``*loss`` and looks up
    the metric's direction otherwise (accuracy, AUC, ... are maximized). A missing key warns
    and the epoch is skipped.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights: list | None = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs: Mapping | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Mapping | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: Mapping | None) -> Any:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(list(logs.keys()))}",
                stacklevel=2,
            )
        return value


def _read_lr(optimizer: Any) -> float:
    lr = optimizer.learning_rate
    if isinstance(lr, torch.Tensor):
        return float(lr.detach().cpu())
    return float(np.asarray(lr))


def _check_optimizer(model: Any, who: str) -> Any:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            f'{who}: the model has no optimizer with a "learning_rate" attribute (model.optimizer={optimizer!r}). '
            "Call model.compile(optimizer=...) before fit."
        )
    return optimizer


class ReduceLROnPlateau(_MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving.

    After ``patience`` epochs without an improvement larger than ``min_delta``, and when the
    current rate is above ``min_lr``: ``lr = max(lr * factor, min_lr)``, then ``cooldown`` epochs
    pass before ``wait`` counts again. Adds ``learning_rate`` to the epoch logs (as Keras).
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 **kwargs: Any) -> None:
        if kwargs:
            name = next(iter(kwargs))
            raise TypeError(
                f"ReduceLROnPlateau got an unexpected keyword argument {name!r}." + _did_you_mean(
                    name, ["monitor", "factor", "patience", "verbose", "mode", "min_delta", "cooldown", "min_lr"])
            )
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: Mapping | None = None) -> None:
        self._reset()

    def _reduce_lr(self, optimizer: Any, epoch: int) -> bool:
        old_lr = _read_lr(optimizer)
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            optimizer.learning_rate = new_lr
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
            return True
        return False

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = _check_optimizer(self.model, "ReduceLROnPlateau")
        if isinstance(logs, dict):
            logs["learning_rate"] = _read_lr(optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(list(logs.keys()))}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(optimizer, epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)``.

    ``schedule`` receives the 0-based epoch and the current rate (a float) and must return a
    float (``float``, ``np.float32`` or ``np.float64``); a one-argument ``schedule(epoch)`` is
    accepted too (Keras's old API). Adds ``learning_rate`` to the epoch logs.
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler: `schedule` must be a function (epoch, lr) -> float. Received: {schedule!r}"
            )
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: Mapping | None = None) -> None:
        optimizer = _check_optimizer(self.model, "LearningRateScheduler")
        try:
            lr = self.schedule(epoch, _read_lr(optimizer))
        except TypeError:  # the old one-argument API
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {lr} (of type {type(lr).__name__}); "
                "return e.g. float(lr * 0.9)."
            )
        optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        if isinstance(logs, dict):
            logs["learning_rate"] = _read_lr(_check_optimizer(self.model, "LearningRateScheduler"))


# ---------------------------------------------------------------------- logging and misc

class CSVLogger(Callback):
    """Stream epoch results to a CSV file: columns ``epoch`` (0-based) then the sorted log keys.

    As Keras: when the first epoch has no ``val_*`` keys, ``val_<key>`` columns are added anyway
    (and filled with ``NA``); rows end with ``\\r\\n`` (the csv module's excel dialect);
    ``append=True`` writes the header only into an empty or new file.
    """

    _rank_zero_only = True  # under a distribution, rank 0 alone runs it (distribution.local_callbacks)

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer: Any = None
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file: Any = None

    def on_train_begin(self, logs: Mapping | None = None) -> None:
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode)
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        logs = logs or {}

        def handle_value(v: Any) -> Any:
            v = _to_python(v)
            if isinstance(v, str):
                return v
            if isinstance(v, collections.abc.Iterable):
                return f'"[{", ".join(map(str, v))}]"'
            return v

        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if self.writer is None:
            sep = self.sep

            class _Dialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=_Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((k, handle_value(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: Mapping | None = None) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _optimizer_variables(model: Any) -> list[torch.Tensor]:
    optimizer = getattr(model, "optimizer", None)
    variables = getattr(optimizer, "variables", None) if optimizer is not None else None
    if variables is None:
        return []
    return [v for v in variables if isinstance(v, torch.Tensor)]


class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or infinite, and put back the last good weights.

    Keras only stops (leaving NaN weights behind). This callback, in addition, keeps two device
    copies of the model's weights and of the optimizer's state (``optimizer.variables``), taken
    at the start of every training batch (one ``torch._foreach_copy_``, no host transfer). When
    the loss read at the end of batch ``k`` is not finite, it restores the copy taken before
    batch ``k - 1``: **the weights and optimizer state with which the last finite loss was
    computed**. (The weights before batch ``k`` already produced the non-finite loss; when the
    very first batch of ``fit`` is non-finite, the initial weights are restored.) Then it sets
    ``model.stop_training = True`` (or raises ``RuntimeError`` with ``raise_error=True``, after
    restoring).

    Cost, because you asked for it: twice the memory of weights + optimizer state on the device,
    one device copy per step, and one host synchronization per step (reading ``logs['loss']``).
    The loss in the batch logs is the epoch's running mean, which turns non-finite exactly at
    the first non-finite batch loss. With ``compile(steps_per_execution=N)`` the hooks run once
    per execution, so "batch" above reads "execution" (the copies are N steps apart).
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error
        self._buffers: list[list[torch.Tensor] | None] = [None, None]
        self._sources: list[list[torch.Tensor] | None] = [None, None]
        self._step = 0
        self.restored = False

    def _state(self) -> list[torch.Tensor]:
        return [w for w in self.model.weights] + _optimizer_variables(self.model)

    def on_train_begin(self, logs: Mapping | None = None) -> None:
        self._buffers, self._sources, self._step, self.restored = [None, None], [None, None], 0, False

    def on_train_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        slot = self._step % 2
        state = self._state()
        buf = self._buffers[slot]
        if buf is None or len(buf) != len(state) or any(b.shape != s.shape or b.device != s.device
                                                          for b, s in zip(buf, state)):
            buf = [s.detach().clone() for s in state]
            self._buffers[slot] = buf
        elif state:
            with torch.no_grad():
                torch._foreach_copy_(buf, [s.detach() for s in state])
        self._sources[slot] = state
        self._step += 1

    def on_train_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        if logs is None:
            return
        loss = logs.get("loss")
        if loss is None:
            return
        value = np.asarray(_to_python(loss), dtype=np.float64)
        if np.all(np.isfinite(value)):
            return
        self._restore()
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. Terminating training immediately. "
                "The weights of the last step with a finite loss were restored."
            )
        _print(f"Batch {batch}: Invalid loss, terminating training (restored the weights of the last finite step)")
        self.model.stop_training = True

    def _restore(self) -> None:
        # _step was incremented at this batch's begin: this batch's copy is slot (_step-1)%2,
        # the previous batch's copy is slot _step%2 (when there was one).
        slot = self._step % 2 if self._step >= 2 else 0
        buf, src = self._buffers[slot], self._sources[slot]
        if buf is None or src is None:
            return
        current = {id(t) for t in self._state()}
        with torch.no_grad():
            for b, src_t in zip(buf, src):
                if id(src_t) in current:  # tensors created after the copy (a lazy build) cannot be restored
                    src_t.copy_(b)
        covered = {id(t) for t in src}
        self.restored = all(id(w) in covered for w in self.model.weights)
        if not self.restored:
            warnings.warn("TerminateOnNaN: the model was built during the failing step, so there were no earlier "
                          "weights to restore; build the model before fit (e.g. give it an Input shape).",
                          stacklevel=3)


class LambdaCallback(Callback):
    """A callback made of plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Keyword arguments name hooks (``on_epoch_begin``, ``on_epoch_end``, ``on_train_begin``,
    ``on_train_end``, ``on_train_batch_begin``, ``on_train_batch_end``, and through ``**kwargs``
    any other hook: ``on_batch_end``, ``on_test_begin``, ``on_predict_batch_end``, ...). Epoch and
    batch hooks receive ``(epoch_or_batch, logs)``; begin/end hooks receive ``(logs)``.
    """

    _HOOKS = (
        "on_batch_begin", "on_batch_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
        "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
        "on_predict_batch_end", "on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
        "on_predict_begin", "on_predict_end",
    )

    def __init__(self, on_epoch_begin: Callable | None = None, on_epoch_end: Callable | None = None,
                 on_train_begin: Callable | None = None, on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None, on_train_batch_end: Callable | None = None,
                 **kwargs: Callable) -> None:
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, fn in kwargs.items():
            if name not in self._HOOKS:
                raise TypeError(f"LambdaCallback got an unexpected keyword argument {name!r}; it accepts the hook names "
                                f"{', '.join(self._HOOKS)}." + _did_you_mean(name, self._HOOKS))
            hooks[name] = fn
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: `{name}` must be a function. Received: {name}={fn!r}")
            setattr(self, name, fn)


# ---------------------------------------------------------------------- checkpoints

def _atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` into a temp file next to ``path``, then ``os.replace``: ``path`` is always either the
    old complete file or the new complete file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class BackupAndRestore(Callback):
    """Back up training state so that an interrupted ``fit`` resumes where it stopped.

    At the end of every epoch (or every ``save_freq`` batches) it writes
    ``<backup_dir>/latest.pt``: ``{"model": model.state_dict(), "optimizer": [optimizer.variables
    values, by index], "epoch": epochs completed, "batch": last batch}``, atomically (temp file in
    the same directory, then ``os.replace``; a crash mid-write leaves the previous backup whole).
    With ``double_checkpoint=True`` the previous backup is also kept as ``latest.pt.bkp`` and used
    when ``latest.pt`` cannot be read.

    At ``on_train_begin`` an existing backup is loaded (``torch.load(weights_only=True)``) into the
    model and optimizer, and **``self._resume_epoch``** is set to the epoch to start from (an int;
    ``None`` when there was nothing to restore): ``fit`` reads it after ``on_train_begin`` and
    starts its epoch loop there. As Keras, a backup made mid-epoch restarts that epoch from its
    first batch with the saved weights. At ``on_train_end`` (a finished ``fit``) the backup files
    are deleted when ``delete_checkpoint`` (only ours; the directory is removed if left empty).
    """

    FILENAME = "latest.pt"

    def __init__(self, backup_dir: str | os.PathLike, save_freq: str | int = "epoch", double_checkpoint: bool = False,
                 delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError(f"Empty `backup_dir` argument passed. Received: backup_dir={backup_dir!r}")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq <= 0):
            raise ValueError(
                f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. Expected either 'epoch' "
                "or a positive integer value."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._path = os.path.join(self.backup_dir, self.FILENAME)
        self._prev_path = self._path + ".bkp"
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        self._resume_epoch: int | None = None

    def on_train_begin(self, logs: Mapping | None = None) -> None:
        self._resume_epoch = None
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        if not os.path.exists(self._path) and not os.path.exists(self._prev_path):
            return
        try:
            self._load(self._path)
        except Exception:
            if not os.path.exists(self._prev_path):
                raise
            self._load(self._prev_path)

    def _load(self, path: str) -> None:
        model = self.model
        if not getattr(model, "built", True):
            raise ValueError(
                f"BackupAndRestore found a backup at {path}, but the model is not built, so its weights cannot be "
                "restored. Build the model before fit (give it an Input shape, or call it on a batch of data)."
            )
        state = torch.load(path, weights_only=True, map_location="cpu")
        self._load_model_state(state["model"], path)
        saved_opt = state.get("optimizer") or []
        optimizer = getattr(model, "optimizer", None)
        if saved_opt and optimizer is not None:
            if not getattr(optimizer, "built", True) and hasattr(optimizer, "build"):
                optimizer.build(list(getattr(model, "trainable_weights", [])))
            targets = _optimizer_variables(model)
            if len(targets) != len(saved_opt):
                raise ValueError(
                    f"BackupAndRestore: the backup at {path} holds {len(saved_opt)} optimizer variables but the "
                    f"model's optimizer has {len(targets)}. Was it made with another optimizer? Delete "
                    f"{self.backup_dir} to start over."
                )
            with torch.no_grad():
                for t, v in zip(targets, saved_opt):
                    t.copy_(v.to(t.device))
        self._resume_epoch = int(state["epoch"])
        self._current_epoch = self._resume_epoch

    def _load_model_state(self, saved: dict[str, torch.Tensor], path: str) -> None:
        """Load by name when the names match; else by position (layer names such as ``dense_3`` depend on how
        many layers the process created before, so a rebuilt model may name its weights differently)."""
        model = self.model
        current = model.state_dict()
        if set(saved) == set(current):
            model.load_state_dict(saved)
            return
        if len(saved) == len(current) and all(tuple(a.shape) == tuple(b.shape)
                                              for a, b in zip(saved.values(), current.values())):
            model.load_state_dict(dict(zip(current.keys(), saved.values())))
            return
        theirs = [f"{k} {tuple(v.shape)}" for k, v in saved.items()]
        ours = [f"{k} {tuple(v.shape)}" for k, v in current.items()]
        raise ValueError(
            f"BackupAndRestore: the backup at {path} does not fit this model: it holds {len(theirs)} tensors "
            f"({', '.join(theirs)}) and the model has {len(ours)} ({', '.join(ours)}). Delete {self.backup_dir} to "
            "start over, or rebuild the same architecture."
        )

    def on_epoch_begin(self, epoch: int, logs: Mapping | None = None) -> None:
        self._current_epoch = epoch

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save()

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        add = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save(self) -> None:
        if not _distribution.is_rank_zero():  # every rank restores; rank 0 alone writes
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        state = {
            "model": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
            "optimizer": [v.detach().cpu().clone() for v in _optimizer_variables(self.model)],
            "epoch": int(self._current_epoch),
            "batch": int(self._last_batch_seen),
        }
        if self.double_checkpoint and os.path.exists(self._path):
            os.replace(self._path, self._prev_path)
        _atomic_torch_save(state, self._path)

    def on_train_end(self, logs: Mapping | None = None) -> None:
        if not self.delete_checkpoint or not _distribution.is_rank_zero():
            return
        for path in (self._path, self._prev_path):
            if os.path.exists(path):
                os.remove(path)
        try:
            os.rmdir(self.backup_dir)
        except OSError:  # not empty (someone else's files) or already gone
            pass


class ModelCheckpoint(_MonitorCallback):
    """Save the model (``model.save``) or its weights (``model.save_weights``) during training.

    ``filepath`` may hold ``str.format`` fields: ``{epoch}`` (1-based) and any log key
    (``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``), and ``{batch}`` with an integer ``save_freq``.
    It must end in ``.weights.h5`` with ``save_weights_only=True``, else in ``.keras``; checked
    when the callback is made (Keras also takes a legacy ``.h5`` model path, which initium cannot
    write: it is refused here rather than after the first epoch). With ``save_best_only`` it saves
    only when ``monitor`` improves on the best so far (first compared with
    ``initial_value_threshold`` when given); when the key is missing it warns and saves.
    """

    _rank_zero_only = True  # under a distribution, rank 0 alone runs it (distribution.local_callbacks)

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None
        self._current_epoch = 0
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or integer values")
        if save_weights_only:
            if not self.filepath.endswith(".weights.h5"):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end in "
                    f"`.weights.h5` (Keras weights format). Received: filepath={self.filepath}"
                )
        elif not self.filepath.endswith(".keras"):
            legacy = (" initium does not write Keras 2's legacy `.h5` model format; use a `.keras` path, or "
                      "save_weights_only=True with a `.weights.h5` path.") if self.filepath.endswith(".h5") else ""
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras model format). Received: "
                f"filepath={self.filepath}.{legacy}"
            )

    def on_epoch_begin(self, epoch: int, logs: Mapping | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            add = batch + 1
        else:
            add = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch: int, logs: Mapping, filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        current = _to_python(current)
        if isinstance(current, np.ndarray) and current.ndim > 0:
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                          "Falling back to `save_best_only=False`.", stacklevel=3)
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                       f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _get_file_path(self, epoch: int, batch: int | None, logs: Mapping) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}. Available keys: '
                f"{['epoch'] + list(logs)}."
            ) from None

    def _save_model(self, epoch: int, batch: int | None, logs: Mapping | None) -> None:
        logs = logs if logs is not None else {}
        filepath = self._get_file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise IOError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing "
                f"directory: {filepath}"
            )
        if not self._should_save_model(epoch, logs, filepath):
            return
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")


def __getattr__(name: str) -> Any:
    """``TensorBoard`` lives in ``initium.callbacks_tensorboard`` (it subclasses ``Callback``)."""
    if name == "TensorBoard":
        from initium.callbacks_tensorboard import TensorBoard

        return TensorBoard
    raise AttributeError(f"module 'initium.callbacks' has no attribute '{name}'")
