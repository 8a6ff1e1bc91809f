"""A training step without host overhead: ``compile(jit_compile=True)`` on CUDA captures the whole
step (forward, loss, backward, optimizer update and metric updates) in a ``torch.cuda.CUDAGraph``
and replays it for every batch.

Why it works: initium's step never synchronizes with the host. The optimizer's step counter and
learning rate (a float, or a ``LearningRateSchedule`` evaluated on the counter) are device tensors
updated in place, the loss tracker and metrics accumulate in device tensors updated in place, and
no ``.item()`` or Python branch on a tensor value runs inside the step. ``no_host_sync()`` below
checks that on any machine, the CPU included.

How ``fit`` uses it (``train_step_for``, called once per ``fit``):

- ``jit_compile="auto"`` (Keras's default) or ``False``: the usual eager step, silently.
- ``jit_compile=True`` with a reason not to capture (the model is not on CUDA, it has its own
  ``train_step``, the learning rate is a plain callable evaluated in Python, a layer draws from a
  private seeded generator): a one-line warning naming the reason, then the step
  ``jit_compile=True`` runs without capture (forward and loss under ``torch.compile``, the rest
  eager). ``fit`` under DataParallel does not ask for a captured step.
- ``jit_compile=True`` on CUDA: a ``GraphStep``. Each batch is copied into static input buffers
  (allocated from the first batch); the first ``WARMUP_STEPS`` batches run the step eagerly on a
  side stream (this builds the optimizer state, the metrics and the constants, and lets cuBLAS and
  cuDNN set up; a warm-up step that replaces a state tensor instead of updating it in place stops
  the capture, as a graph would go on writing the old one); the next batch is captured and then
  replayed, and every later batch is one ``replay()``. A batch whose shapes or dtypes differ from
  the first (the last partial batch of an epoch, a variable-size batch from a DataLoader) runs
  eagerly on its own. If capture raises, a one-line warning gives the error, and that batch and
  the rest of the ``fit`` run eagerly.

Every batch is applied exactly once: the captured batch is not executed by the capture (CUDA
records without running), it is executed by the ``replay()`` that follows.

What a captured graph does not see (the price of replaying recorded kernels): Python-level changes
after capture. Assigning a number to ``optimizer.learning_rate`` works (it fills the learning-rate
tensor in place; so ReduceLROnPlateau works); replacing the schedule, changing hyperparameters such
as ``beta_1``, or layers that draw from ``initium.random`` with a host-side seed counter inside
``call`` do not take effect until the next ``fit``. A new graph is captured by each ``fit``.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable, Iterator

import torch
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from initium.optimizers.schedules import LearningRateSchedule

__all__ = ["WARMUP_STEPS", "GraphStep", "HostSyncError", "capture_blocker", "no_host_sync", "train_step_for"]

WARMUP_STEPS = 3  # eager steps on the static buffers before the capture


# ---------------------------------------------------------------------------------------------
# Detecting host synchronization on any device.


class HostSyncError(RuntimeError):
    """Raised inside ``no_host_sync()`` by an operation that would synchronize with the host (or,
    with ``allow_host_data=False``, that copies fresh host data to the device)."""


# Tensor methods that hand a tensor's value to Python: each waits for the device on CUDA.
_READS = {"item", "tolist", "numpy", "cpu", "__bool__", "__float__", "__int__", "__index__", "__complex__"}
# Operators whose output shape depends on the data: CUDA copies a count to the host to size it.
_DATA_SHAPED = {"aten::nonzero", "aten::masked_select", "aten::_unique2", "aten::unique_consecutive",
                "aten::unique_dim", "aten::_unique", "aten::nonzero_static"}


class _FunctionGuard(TorchFunctionMode):
    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
        name = getattr(func, "__name__", "")
        if name in _READS:
            raise HostSyncError(f"Tensor.{name}() reads a tensor's value on the host (a device synchronization).")
        return func(*args, **(kwargs or {}))


class _DispatchGuard(TorchDispatchMode):
    def __init__(self, allow_host_data: bool) -> None:
        super().__init__()
        self.allow_host_data = allow_host_data

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        name = func._schema.name
        if name == "aten::_local_scalar_dense":
            raise HostSyncError("a tensor's value was read as a Python number (.item(), float(), int(), bool() or "
                                "an `if` on a tensor): a device synchronization.")
        if name in _DATA_SHAPED:
            raise HostSyncError(f"{name} has a data-dependent output shape: a device synchronization.")
        if name == "aten::index" and any(isinstance(i, torch.Tensor) and i.dtype == torch.bool
                                         for i in (args[1] if len(args) > 1 else [])):
            raise HostSyncError("boolean-mask indexing has a data-dependent output shape: a device synchronization.")
        if name == "aten::lift_fresh" and not self.allow_host_data:
            raise HostSyncError("torch.tensor(...) makes a tensor from host data: a host-to-device copy, which a "
                                "CUDA graph capture refuses.")
        return func(*args, **kwargs)


@contextlib.contextmanager
def no_host_sync(allow_host_data: bool = True) -> Iterator[None]:
    """Raise ``HostSyncError`` for anything in the block that would synchronize with the device.

    Works on any device, the CPU included, because it watches the operations rather than the
    device: every way a tensor's value reaches Python goes through ``aten::_local_scalar_dense``
    (``.item()``, ``float()``, ``int()``, ``bool()``, an ``if`` on a tensor) or through the
    ``Tensor.tolist/numpy/cpu`` methods, which are intercepted; operators with a data-dependent
    output shape (``nonzero``, ``masked_select``, ``unique``, boolean-mask indexing) are refused
    too, as CUDA reads a count on the host for them. With ``allow_host_data=False``,
    ``torch.tensor(...)`` (``aten::lift_fresh``: new data from the host, a host-to-device copy that
    CUDA-graph capture refuses) raises as well. Creating constants with ``torch.full``/``zeros``
    stays allowed (a fill kernel on the device).
    """
    with _FunctionGuard(), _DispatchGuard(allow_host_data):
        yield


# ---------------------------------------------------------------------------------------------
# When to capture.


def _seeded_random_layers(model: Any) -> list[str]:
    return [layer.name for layer in model._flatten_layers(include_self=True)
            if callable(getattr(layer, "_generator", None)) and getattr(layer, "seed", None) is not None]


def capture_blocker(trainer: Any, device: torch.device) -> str | None:
    """Why the step of ``trainer`` on ``device`` cannot be captured, or None when it can."""
    if device.type != "cuda":
        return f"the model is on {device.type}, and CUDA graphs need a CUDA device"
    custom = getattr(trainer, "_custom", None)
    if custom is not None and custom.train:
        return "the model overrides train_step (or compute_loss/compute_metrics), which fit runs as written"
    lr = trainer.optimizer._learning_rate
    if callable(lr) and not isinstance(lr, (torch.Tensor, LearningRateSchedule)):
        return ("the learning rate is a plain callable, evaluated in Python at every step (use a "
                "LearningRateSchedule, which is evaluated on the device)")
    seeded = _seeded_random_layers(trainer.model)
    if seeded:
        return (f"layer(s) {seeded} draw from a private seeded torch.Generator, which a graph would replay "
                "with the same numbers (use seed=None)")
    return None


def _warn(reason: str, stacklevel: int) -> None:
    warnings.warn(f"compile(jit_compile=True): the training step is not captured in a CUDA graph: {reason}.",
                  stacklevel=stacklevel + 1)


def train_step_for(trainer: Any, device: torch.device) -> Callable[[Any, Any, Any], None]:
    """The step ``fit`` calls for each batch: ``trainer.train_step``, or a ``GraphStep`` when
    ``jit_compile=True`` and nothing stops the capture (see the module docstring)."""
    if trainer.jit_compile is not True or trainer.run_eagerly:
        return trainer.train_step
    reason = capture_blocker(trainer, device)
    if reason is not None:
        _warn(reason + "; forward and loss run under torch.compile instead", 4)  # the caller of Model.fit
        return trainer.train_step
    return GraphStep(trainer, use_graph=device.type == "cuda")


# ---------------------------------------------------------------------------------------------
# The captured step.


def _signature(batch: Any) -> tuple:
    leaves, spec = pytree.tree_flatten(batch)
    return spec, tuple((tuple(t.shape), t.dtype, t.device) if isinstance(t, torch.Tensor) else ("const", t)
                       for t in leaves)


def _buffers(batch: Any) -> Any:
    return pytree.tree_map(lambda t: torch.empty_like(t) if isinstance(t, torch.Tensor) else t, batch)


def _copy_into(static: Any, batch: Any) -> None:
    dst = [t for t in pytree.tree_leaves(static) if isinstance(t, torch.Tensor)]
    src = [t for t in pytree.tree_leaves(batch) if isinstance(t, torch.Tensor)]
    if dst:
        torch._foreach_copy_(dst, src)


def _state_ids(trainer: Any) -> list[int]:
    """Which tensors hold the state a graph reads and writes: they must stay the same objects."""
    tensors = list(trainer.model.weights) + list(trainer.optimizer.variables)
    for metric in trainer.metrics():
        tensors += metric.variables
    return [id(t) for t in tensors]


class GraphStep:
    """The training step of ``trainer`` on static input buffers, captured in a CUDA graph after
    ``warmup`` eager steps when ``use_graph`` (on CUDA). With ``use_graph=False`` it runs the very
    same static-buffer step eagerly, batch after batch: that is how it is tested on the CPU.

    Counters for inspection: ``eager_steps`` (static-buffer steps run outside a graph: warm-up, or
    after a failed capture), ``other_shape_steps`` (batches of other shapes, run eagerly),
    ``replays``, and ``reason`` (why capture was abandoned, or None).
    """

    def __init__(self, trainer: Any, use_graph: bool, warmup: int = WARMUP_STEPS) -> None:
        self.trainer = trainer
        self.use_graph = use_graph
        self.warmup = warmup
        self.eager_steps = 0
        self.other_shape_steps = 0
        self.replays = 0
        self._warmed = 0
        self.reason: str | None = None
        self._static: Any = None
        self._signature: tuple | None = None
        self._graph: Any = None
        self._stream: Any = None
        self._ids: list[int] | None = None  # the state tensors after the last warm-up step

    def __call__(self, x: Any, y: Any, sw: Any) -> None:
        batch = (x, y, sw)
        signature = _signature(batch)
        if self._static is None:
            self._static, self._signature = _buffers(batch), signature
        if signature != self._signature:  # e.g. the last partial batch of the epoch
            self.trainer.prepare_step(x)
            self.trainer.train_body(self.trainer._forward_loss, x, y, sw)
            self.other_shape_steps += 1
            return
        _copy_into(self._static, batch)
        if self._graph is not None:
            self._graph.replay()
            self.replays += 1
        elif self.use_graph and self._warmed >= self.warmup:
            self._capture_and_replay()
        else:
            self._warm_up()

    def body(self) -> None:
        """The step on the static buffers: what the graph captures."""
        x, y, sw = self._static
        self.trainer.prepare_step(x)
        self.trainer.train_body(self.trainer._forward_loss, x, y, sw)

    def _warm_up(self) -> None:
        if self.use_graph:  # warm-up on a side stream, as torch's capture recipe requires
            if self._stream is None:
                self._stream = torch.cuda.Stream()
            self._stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self._stream):
                self.body()
            torch.cuda.current_stream().wait_stream(self._stream)
        else:
            self.body()
        self._warmed += 1
        self.eager_steps += 1
        if self.use_graph:
            ids = _state_ids(self.trainer)
            if self._ids is not None and ids != self._ids:
                self._abandon("a step replaced a state tensor (a weight, an optimizer or metric variable) instead "
                              "of updating it in place, which a replayed graph would not see")
            self._ids = ids

    def _abandon(self, reason: str) -> None:
        self.reason, self.use_graph = reason, False
        _warn(reason + "; the step runs eagerly", 3)

    def _capture_and_replay(self) -> None:
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self.body()
        except Exception as e:  # noqa: BLE001 - any failure means: do not capture, train on
            first = (str(e).strip().splitlines() or [""])[0][:200]
            self._abandon(f"capture failed ({type(e).__name__}: {first})")
            self.body()  # nothing of the batch ran during the failed capture: run it now
            self.eager_steps += 1
            return
        self._graph = graph
        graph.replay()
        self.replays += 1
