"""``callbacks.TensorBoard``: Keras's TensorBoard logs, written through ``torch.utils.tensorboard``.

The event files are laid out and tagged as Keras writes them, so TensorBoard shows an initium run
like a Keras one:

- ``<log_dir>/train`` and ``<log_dir>/validation`` each hold an ``events.out.tfevents.*`` file;
- at the end of every epoch, each log is a scalar ``epoch_<name>`` at step ``epoch``: the training
  logs (and ``epoch_learning_rate``) in ``train/``, the ``val_*`` logs, without the prefix, in
  ``validation/``;
- with ``update_freq=N`` (``"batch"`` is 1) the batch logs are scalars ``batch_<name>`` in
  ``train/`` at every N-th global batch (counted from 1 over the whole run);
- after ``evaluate`` (and fit's validation), ``evaluation_<name>_vs_iterations`` in ``validation/``
  at step ``optimizer.iterations``;
- ``histogram_freq=N``: every N-th epoch, a histogram ``<weight.path>/histogram`` of every weight
  (``write_images=True`` adds ``<weight.path>/image`` for kernels and biases that make an image);
- ``write_graph=True``: the model's JSON config as the ``keras`` summary of the
  ``graph_keras_model`` plugin at step 0 (TensorBoard's graph dashboard draws it);
- ``write_steps_per_second=True``: ``epoch_steps_per_second`` and ``batch_steps_per_second``;
- ``embeddings_freq=N``: ``projector_config.pbtxt`` for the ``Embedding`` layers, and every N-th
  epoch the weights at ``train/keras_embedding.ckpt-<epoch>.weights.h5``.

``profile_batch`` other than 0 is refused, as by Keras's torch backend (use ``torch.profiler``).

The ``tensorboard`` package is optional (``pip install initium[tensorboard]``); it is imported when
the callback is created, never by ``import initium``. Under a distribution it runs on rank 0 only
(``_rank_zero_only``); ``should_write()`` is the one place a subclass can keep a process silent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from initium.callbacks import Callback

__all__ = ["TensorBoard"]

_INSTALL_HINT = ("The TensorBoard callback needs the `tensorboard` package, an optional dependency of initium: "
                 "pip install initium[tensorboard]  (or: pip install tensorboard)")


def _summary_writer_class() -> type:
    """``torch.utils.tensorboard.SummaryWriter``, or an ImportError that says what to install."""
    try:
        import tensorboard  # noqa: F401  (torch's writer needs it, and says so less clearly)
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return SummaryWriter


def _profile_range(profile_batch: Any) -> tuple[int, int]:
    """``profile_batch`` as Keras reads it: an int, a ``(start, stop)`` pair, or ``"start,stop"``."""
    message = ("TensorBoard: profile_batch must be a non-negative integer or 2-tuple of positive integers. A pair "
               f"of positive integers signifies a range of batches to profile. Found: {profile_batch}")
    value = profile_batch
    if isinstance(value, str):
        try:
            value = [int(v) for v in value.split(",")]
        except ValueError:
            raise ValueError(message) from None
        value = value[0] if len(value) == 1 else value
    if isinstance(value, int) and not isinstance(value, bool):
        start = stop = value
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        start, stop = value
    else:
        raise ValueError(message)
    if start < 0 or stop < start:
        raise ValueError(message)
    return start, stop


class TensorBoard(Callback):
    """Write TensorBoard logs during ``fit`` and ``evaluate`` (Keras's arguments and defaults).

    Args:
        log_dir: the directory of the run (``train/`` and ``validation/`` are made under it).
        histogram_freq: every how many epochs to write weight histograms (0: never).
        write_graph: write the model's architecture for TensorBoard's graph dashboard.
        write_images: with ``histogram_freq``, also write weights as images.
        write_steps_per_second: log the training speed in steps per second.
        update_freq: ``"epoch"``, ``"batch"``, or N: write the batch logs every N batches too.
        profile_batch: must be 0 (profiling is not available on torch; use ``torch.profiler``).
        embeddings_freq: every how many epochs to save the weights for the embedding projector.
        embeddings_metadata: a metadata file for every embedding, or ``{layer name: file}``.
    """

    def __init__(self, log_dir: Any = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq: Any = "epoch",
                 profile_batch: Any = 0, embeddings_freq: int = 0, embeddings_metadata: Any = None) -> None:
        super().__init__()
        self._writer_class = _summary_writer_class()
        for arg, value in (("histogram_freq", histogram_freq), ("embeddings_freq", embeddings_freq)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"TensorBoard: `{arg}` must be a non-negative integer (0: never). "
                                 f"Received: {arg}={value!r}")
        update_freq = 1 if update_freq == "batch" else update_freq
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, int)
                                       or update_freq < 1):
            raise ValueError("TensorBoard: `update_freq` must be 'epoch', 'batch' or a positive integer (write the "
                             f"batch logs every N batches). Received: update_freq={update_freq!r}")
        if _profile_range(profile_batch) != (0, 0):
            raise ValueError("Profiling is not yet available with the torch backend. Received: "
                             f"profile_batch={profile_batch} (must be 0). Profile with torch.profiler instead.")
        self.log_dir = str(os.fspath(log_dir))
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers: dict[str, Any] = {}
        self._global_train_batch = 0
        self._batch_start_time = 0.0
        self._epoch_start_time = 0.0
        self._epoch_start_iterations = 0

    # ------------------------------------------------------------------ who writes, and where
    _rank_zero_only = True  # under a distribution, rank 0 alone runs it (distribution.local_callbacks)

    def should_write(self) -> bool:
        """Whether this process writes logs: always, here (under a distribution the callback runs on
        rank 0 only); a subclass may override it to keep a process silent (every write and every
        file goes through ``_writer``)."""
        return True

    def _writer(self, run: str) -> Any:
        """The SummaryWriter of ``run`` (``"train"`` or ``"validation"``), made on first use, or None
        when this process does not write."""
        if not self.should_write():
            return None
        if run not in self._writers:
            self._writers[run] = self._writer_class(log_dir=os.path.join(self.log_dir, run))
        return self._writers[run]

    def _scalars(self, run: str, logs: Mapping, tag: str, step: int) -> None:
        """Each number of ``logs`` as the scalar ``tag.format(name)`` of ``run`` at ``step``."""
        writer = self._writer(run)
        if writer is None:
            return
        for name, value in logs.items():
            scalar = _as_scalar(value)
            if scalar is not None:
                writer.add_scalar(tag.format(name), scalar, global_step=step)

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ------------------------------------------------------------------ hooks
    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self._close_writers()
        if self.write_graph:
            self._write_model_config()
        if self.embeddings_freq:
            self._write_projector_config()

    def on_train_begin(self, logs: Mapping | None = None) -> None:
        self._global_train_batch = 0

    def on_train_end(self, logs: Mapping | None = None) -> None:
        self._close_writers()

    def on_epoch_begin(self, epoch: int, logs: Mapping | None = None) -> None:
        if self.write_steps_per_second:
            self._epoch_start_iterations = self._iterations()
            self._epoch_start_time = time.perf_counter()

    def on_train_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        step = self._global_train_batch
        if self.update_freq == "epoch" or step % self.update_freq:
            return
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._batch_start_time
            self._scalars("train", {"steps_per_second": 1.0 / max(elapsed, 1e-9)}, "batch_{}", step)
        self._scalars("train", dict(logs or {}), "batch_{}", step)

    def on_test_end(self, logs: Mapping | None = None) -> None:
        if getattr(self.model, "optimizer", None) is not None and logs:
            self._scalars("validation", dict(logs), "evaluation_{}_vs_iterations", self._iterations())

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if logs:
            optimizer = getattr(self.model, "optimizer", None)
            if optimizer is not None and hasattr(optimizer, "learning_rate"):
                train["learning_rate"] = float(np.asarray(torch.as_tensor(optimizer.learning_rate).detach().cpu()))
            if self.write_steps_per_second:
                elapsed = max(time.perf_counter() - self._epoch_start_time, 1e-9)
                train["steps_per_second"] = (self._iterations() - self._epoch_start_iterations) / elapsed
            self._scalars("train", train, "epoch_{}", epoch)
            self._scalars("validation", val, "epoch_{}", epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0 and self.should_write():
            self.model.save_weights(os.path.join(self.log_dir, "train", f"keras_embedding.ckpt-{epoch}.weights.h5"))
        for writer in self._writers.values():
            writer.flush()

    # ------------------------------------------------------------------ what is written
    def _iterations(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", 0)
        return int(iterations.detach().cpu()) if isinstance(iterations, torch.Tensor) else int(iterations)

    def _write_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        if writer is None:
            return
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight.path.replace(":", "_")
                values = weight.detach().cpu().float().numpy()
                writer.add_histogram(f"{name}/histogram", values, global_step=epoch)
                image = _weight_image(values) if self.write_images else None
                if image is not None:
                    writer.add_images(f"{name}/image", image, global_step=epoch, dataformats="NHWC")

    def _write_model_config(self) -> None:
        """The model's JSON as Keras's ``keras_model_summary`` writes it (plugin ``graph_keras_model``)."""
        from initium.models import Functional, Sequential

        writer = self._writer("train")
        if writer is None or type(self.model) not in (Functional, Sequential):
            return
        from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

        try:
            config = self.model.to_json()
        except (TypeError, ValueError) as exc:  # as Keras: a model that does not serialize is skipped
            import warnings

            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {exc}", stacklevel=3)
            return
        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="graph_keras_model", content=b"1"))
        tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[config.encode("utf-8")],
                                        tensor_shape=tensor_shape_pb2.TensorShapeProto())
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
        writer._get_file_writer().add_summary(summary, 0)

    def _write_projector_config(self) -> None:
        """``projector_config.pbtxt`` naming the ``Embedding`` layers' tables, as Keras writes it."""
        from initium.layers import Embedding

        metadata = self.embeddings_metadata
        entries = []
        for layer in self.model.layers:
            if not isinstance(layer, Embedding):
                continue
            entry = 'embeddings {\n  tensor_name: "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"\n'
            path = metadata if isinstance(metadata, str) else (metadata or {}).pop(layer.name, None)
            if path is not None:
                entry += f'  metadata_path: "{path}"\n'
            entries.append(entry + "}\n")
        if metadata and not isinstance(metadata, str):
            raise ValueError("Unrecognized `Embedding` layer names passed to `keras.callbacks.TensorBoard` "
                             f"`embeddings_metadata` argument: {metadata.keys()}")
        if self.should_write():
            os.makedirs(self.log_dir, exist_ok=True)
            with open(os.path.join(self.log_dir, "projector_config.pbtxt"), "w", encoding="utf-8") as f:
                f.write("".join(entries))


def _as_scalar(value: Any) -> float | None:
    """A log value as a float, or None for one that is not a single number (it is skipped)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        return None
    return float(array.reshape(()))


def _weight_image(w: np.ndarray) -> np.ndarray | None:
    """A weight as a batch of one-channel images (NHWC), Keras's layout: a bias is an n x 1 column, a
    dense kernel is wide (transposed if taller than wide), a 1D conv kernel is one image per input
    channel. Other shapes make no image."""
    w = np.squeeze(w)
    if w.ndim == 1:
        return w.reshape(1, w.shape[0], 1, 1)
    if w.ndim == 2:
        w = w.T if w.shape[0] > w.shape[1] else w
        return w.reshape(1, w.shape[0], w.shape[1], 1)
    if w.ndim == 3:
        w = np.transpose(w, (2, 0, 1))
        return w.reshape(*w.shape, 1)
    return None
