"""initium.distribution: data-parallel ``fit`` on ``torch.distributed``, with Keras 3's names.

Keras 3 offers ``keras.distribution`` on its JAX backend only. initium gives the same names on
PyTorch's own engine: process groups (NCCL on CUDA, gloo on CPU), launched by ``torchrun``, one
process per device. Nothing here moves bytes or starts processes itself.

- ``list_devices``, ``initialize`` (wraps ``torch.distributed.init_process_group``, reading the
  ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_ADDR``/``MASTER_PORT`` that torchrun sets),
  ``DeviceMesh``, ``DataParallel``, ``set_distribution``, ``distribution``. Under torchrun with
  more than one process, ``distribution()`` is a ``DataParallel`` unless the user set another.
  ``ModelParallel`` and ``LayoutMap`` raise ``NotImplementedError`` (the plan is torch FSDP).

What ``fit`` does under a ``DataParallel`` of ``W`` processes (the trainer calls the helpers below):

- ``batch_size`` is the **global** batch, as in Keras: every rank draws the same permutation
  (rank 0's, broadcast) and takes its ``batch_size / W`` rows of every batch; a ``batch_size`` that
  ``W`` does not divide is refused. A last, short batch of ``r`` rows is split as evenly as
  possible (it is dropped, on every rank, with a warning, when ``r < W`` in training).
- A DataLoader with its default sampler is rebuilt with a ``DistributedSampler`` and a per-rank
  batch of ``batch_size / W`` (a user's own sampler is kept as it is). Other iterables (generators,
  ``PyDataset``) must yield the same batches on every rank (seed them): each rank keeps its rows.
- The step: each rank back-propagates ``n_k * loss_k`` (``n_k`` its rows), the gradients are summed
  in flat buckets (one asynchronous ``all_reduce`` per bucket) and divided by ``N = sum n_k``, which
  is exactly the single-process gradient of the global batch. As in torch DDP, the buckets hold the
  parameters in reverse order (the first one small: 1 MiB, then 25 MiB) and each is sent *while
  backward runs*, as soon as a hook (``register_post_accumulate_grad_hook``) has delivered its last
  gradient, always in bucket order so that every rank issues the same collectives; what backward
  did not deliver (a weight unused this step: zeros) goes after it. The gradients travel on a
  process group of their own, so synchronized BatchNormalization's collectives in backward never
  interleave with them; the hooks are removed when ``fit`` ends. The global batch loss and the rows
  ride in the last bucket, so the batch logs' ``loss`` is global on every rank. Non-trainable
  weights of trainable layers (BatchNormalization's moving statistics) are taken from rank 0 in the
  same collective, so the weights stay bit-identical; ``fit`` checks that with a checksum
  all-reduce at its start (a mismatch names the first differing weight).
- BatchNormalization: statistics are per rank by default (as torch DDP), moving averages from
  rank 0. With ``BatchNormalization(synchronized=True)`` the batch mean and variance are reduced
  over all ranks (two all-reduces per layer per step, differentiable), which reproduces the
  single-process run.
- Epoch logs, validation and ``evaluate`` are global: metric states are summed over ranks.
  ``predict`` gathers the rows back in their order. EarlyStopping and TerminateOnNaN decide on
  global values (epoch logs; the batch loss), so every rank stops at the same step; when a user
  callback (or a LambdaCallback) is present, ``stop_training`` is also OR-ed over ranks after every
  execution (one small all-reduce per step, skipped otherwise: it costs as much as a small step).
  A custom ``train_step`` is refused under a distribution, for now.
- On CUDA (NCCL), one process per GPU: ``import initium`` under torchrun makes ``cuda`` mean
  ``cuda:LOCAL_RANK``, so models built before ``fit`` land on their own GPU.
- Side effects happen on rank 0 only: the progress bar, ModelCheckpoint, CSVLogger, TensorBoard
  (and any callback with ``_rank_zero_only = True``) run there only; BackupAndRestore restores on
  every rank and writes on rank 0; ``Model.save``/``save_weights`` write on rank 0.
- A failing rank fails the run: torchrun (or ``torch.multiprocessing.spawn``) stops the others,
  and a collective waiting for a dead peer raises after ``initialize``'s ``timeout``.
- Speed: bench/ddp_speed.py compares the overlapped step with all buckets sent after backward
  (``DataParallel._overlap = False``, kept for that). On a 2-core CPU, where gloo's transport
  threads share the cores with the compute, overlap is 1.0-1.4x faster on the tour MLP (its one
  bucket leaves before backward returns) and equal within noise (0.97-1.09x) on a 7.5 MB MLP; on
  GPUs with NCCL it is what DDP relies on (not measured yet).
"""

from __future__ import annotations

import atexit
import datetime
import math
import os
import warnings
import weakref
from typing import Any, Iterable, Iterator, Sequence

import torch

__all__ = ["DataParallel", "DeviceMesh", "LayoutMap", "ModelParallel", "distribution", "initialize", "list_devices",
           "set_distribution"]

DEFAULT_TIMEOUT_S = 300.0  # how long a collective waits for a missing peer before it raises
BUCKET_BYTES = 25 * 2 ** 20  # gradients are summed in flat buckets of at most this size (DDP's default)
FIRST_BUCKET_BYTES = 2 ** 20  # the first bucket (the last layers' gradients, ready first) is smaller (DDP's)

_UNSET = object()  # no set_distribution call yet: under torchrun, a DataParallel is made on first use
_distribution: Any = _UNSET


def _dist() -> Any:
    import torch.distributed as dist

    return dist


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else None


# ---------------------------------------------------------------------- Keras's names

def list_devices(device_type: str | None = None) -> list[str]:
    """The devices of this machine, as ``"cpu:0"`` or ``"cuda:0"``, ``"cuda:1"``... (``"gpu"`` is read
    as ``"cuda"``). Default: the CUDA devices when there are any, else the CPU."""
    kind = (device_type or ("cuda" if torch.cuda.is_available() else "cpu")).lower()
    kind = "cuda" if kind == "gpu" else kind
    if kind == "cpu":
        return ["cpu:0"]
    if kind == "cuda":
        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    raise ValueError(f"list_devices: `device_type` must be 'cpu', 'gpu' or 'cuda'. "
                     f"Received: device_type={device_type!r}")


def initialize(job_addresses: str | None = None, num_processes: int | None = None, process_id: int | None = None,
               backend: str | None = None, timeout: float | datetime.timedelta | None = None) -> None:
    """Join the process group (``torch.distributed.init_process_group``); a no-op when already joined.

    Under torchrun call it without arguments (or not at all: ``fit`` does). Otherwise pass
    ``job_addresses="host:port"`` (the rank-0 process's address), ``num_processes`` and
    ``process_id``. ``backend`` defaults to ``"nccl"`` when CUDA is available (this process then
    uses ``cuda:LOCAL_RANK``) and ``"gloo"`` otherwise. ``timeout`` (seconds) bounds how long a
    collective waits for a peer that died; default ``INITIUM_DIST_TIMEOUT`` or 300 s.
    """
    dist = _dist()
    if dist.is_initialized():
        return
    rank = process_id if process_id is not None else _env_int("RANK")
    world = num_processes if num_processes is not None else _env_int("WORLD_SIZE")
    if rank is None or world is None:
        raise ValueError(
            "initialize: the process's rank and the number of processes are unknown. Launch with torchrun (it sets "
            f"RANK and WORLD_SIZE), or pass process_id= and num_processes=. Received: process_id={process_id!r}, "
            f"num_processes={num_processes!r}."
        )
    if job_addresses:
        host, _, port = job_addresses.split(",")[0].strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"initialize: `job_addresses` must be 'host:port'. "
                             f"Received: job_addresses={job_addresses!r}")
        os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = host, port
    if "MASTER_ADDR" not in os.environ or "MASTER_PORT" not in os.environ:
        raise ValueError("initialize: the address of rank 0 is unknown. Launch with torchrun (it sets MASTER_ADDR and "
                         "MASTER_PORT), or pass job_addresses='host:port'.")
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(_env_int("LOCAL_RANK") or 0)
    if timeout is None:
        timeout = float(os.environ.get("INITIUM_DIST_TIMEOUT", DEFAULT_TIMEOUT_S))
    if not isinstance(timeout, datetime.timedelta):
        timeout = datetime.timedelta(seconds=float(timeout))
    dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world, timeout=timeout)
    atexit.register(_leave)  # a group left to the interpreter's teardown can abort the process (gloo's threads)


def _leave() -> None:
    dist = _dist()
    if dist.is_initialized():
        dist.destroy_process_group()


class DeviceMesh:
    """A named grid of devices (Keras's ``DeviceMesh``). initium runs one process per device, so a
    data-parallel mesh is ``shape=(world_size,)``, ``axis_names=["batch"]``."""

    def __init__(self, shape: Sequence[int], axis_names: Sequence[str], devices: Sequence[Any] | None = None) -> None:
        shape, axis_names = tuple(int(s) for s in shape), list(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: `shape` and `axis_names` must have the same length. Received: "
                             f"shape={shape}, axis_names={axis_names}")
        devices = list(devices) if devices is not None else None
        if devices is not None and math.prod(shape) != len(devices):
            raise ValueError(f"DeviceMesh: `shape` {shape} holds {math.prod(shape)} devices but {len(devices)} were "
                             f"given: {devices}.")
        self.shape, self.axis_names, self.devices = shape, axis_names, devices

    def __repr__(self) -> str:
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"


class DataParallel:
    """Replicate the model on every process of the group; split every batch among them.

    ``DataParallel()`` joins the process group (``initialize``) and spans all its processes. A
    ``devices`` list or ``device_mesh`` must count exactly ``world_size`` devices (one process per
    device: launch ``torchrun --nproc_per_node=<devices>``).
    """

    def __init__(self, device_mesh: DeviceMesh | None = None, devices: Sequence[Any] | None = None,
                 auto_shard_dataset: bool = True) -> None:
        initialize()
        dist = _dist()
        self.world_size, self.rank = dist.get_world_size(), dist.get_rank()
        self.local_rank = _env_int("LOCAL_RANK") or 0
        if device_mesh is None:
            names = devices if devices is not None else [f"process:{r}" for r in range(self.world_size)]
            device_mesh = DeviceMesh((len(names),), ["batch"], names)
        if len(device_mesh.shape) != 1 or device_mesh.shape[0] != self.world_size:
            raise ValueError(
                f"DataParallel: the mesh {device_mesh.shape} must be one axis of {self.world_size} devices, one per "
                "process of the group (launch torchrun --nproc_per_node=<number of devices>)."
            )
        self.device_mesh, self.batch_dim_name = device_mesh, device_mesh.axis_names[0]
        self.auto_shard_dataset = auto_shard_dataset
        self._warned_drop = False
        self._reducer: _GradReducer | None = None  # this fit's gradient buckets and hooks
        self._group: Any = None  # the process group of the gradients (made on the first step)
        self._batches_fp: torch.Tensor | None = None  # fingerprint of the batches read whole in this pass

    def __repr__(self) -> str:
        return f"<DataParallel rank {self.rank} of {self.world_size}>"

    # -------------------------------------------------------------- data
    def check_batch(self, batch_size: int, what: str) -> None:
        if batch_size % self.world_size:
            raise ValueError(
                f"{what}: `batch_size` is the global batch and must divide among the {self.world_size} processes. "
                f"Received: batch_size={batch_size}, world_size={self.world_size}; use a multiple of "
                f"{self.world_size} (e.g. {batch_size - batch_size % self.world_size or self.world_size})."
            )

    def shard(self, rows: int, training: bool, log: list | None) -> slice | None:
        """This rank's rows of a batch of ``rows`` rows, or None when it has none: every rank drops a
        training batch with fewer rows than processes (a step needs all of them). ``log`` records
        the rows of every batch kept (``predict`` puts the ranks' rows back in order with it)."""
        if training and rows < self.world_size:
            if not self._warned_drop:
                warnings.warn(f"fit: a batch of {rows} rows cannot be split among {self.world_size} processes; it is "
                              "skipped on every rank.", stacklevel=4)
                self._warned_drop = True
            return None
        if log is not None:
            log.append(rows)
        lo, hi = rows * self.rank // self.world_size, rows * (self.rank + 1) // self.world_size
        return slice(lo, hi) if hi > lo else None

    def array_batches(self, n: int, batch_size: int, shuffle: bool, device: torch.device, steps: int | None,
                      training: bool, log: list | None) -> Iterator[torch.Tensor | slice]:
        """This rank's rows (an index tensor or a slice) of every global batch of ``n`` rows."""
        perm = None
        if shuffle:  # drawn on every rank (the RNG streams stay in step), rank 0's wins
            perm = torch.randperm(n, device=device)
            _dist().broadcast(perm, src=0)
        for i, start in enumerate(range(0, n, batch_size)):
            if steps is not None and i >= steps:
                return
            part = self.shard(min(batch_size, n - start), training, log)
            if part is not None:
                rows = slice(start + part.start, start + part.stop)
                yield perm[rows] if perm is not None else rows

    def shard_source(self, source: Any) -> tuple[Any, bool]:
        """``(source, split rows?)`` for training: a DataLoader with its default sampler becomes one with a
        DistributedSampler; a user's own sampler is kept; other iterables are read whole by every
        rank, which keeps its rows of each batch (evaluate and predict always read so: exact results)."""
        if not isinstance(source, torch.utils.data.DataLoader):
            return source, True
        samplers = (torch.utils.data.SequentialSampler, torch.utils.data.RandomSampler)
        if source.batch_size is None or type(source.sampler) not in samplers:
            return source, False  # the user's own sampler (or batch_sampler) is respected
        self.check_batch(source.batch_size, "fit (DataLoader)")
        return _ShardedLoader(source, self), False

    def split_batch(self, x: Any, y: Any, sw: Any, training: bool, log: list | None) -> tuple | None:
        """This rank's rows of a batch read whole, or None when it has none."""
        from torch.utils import _pytree as pytree

        leaves = [t for t in pytree.tree_leaves(x) if isinstance(t, torch.Tensor)]
        self._note_batch([*leaves, *(t for t in pytree.tree_leaves((y, sw)) if isinstance(t, torch.Tensor))])
        part = self.shard(int(leaves[0].shape[0]) if leaves else 0, training, log)
        if part is None:
            return None
        take = (lambda s: pytree.tree_map(lambda t: t[part] if isinstance(t, torch.Tensor) else t, s))
        return take(x), take(y) if y is not None else None, sw[part] if sw is not None else None

    def _note_batch(self, tensors: Sequence[torch.Tensor]) -> None:
        """Add a fingerprint of a batch read whole to this pass's running total (a device tensor:
        no host sync). Rows are weighted by their position, so the same rows in another order
        count as different data, as they would be (each rank keeps a slice of rows)."""
        fp = torch.zeros((), dtype=torch.float64, device=tensors[0].device if tensors else "cpu")
        for t in tensors:
            if t.dim() and t.numel():
                rows = torch.nan_to_num(t.detach().double(), 0.0, 0.0, 0.0).reshape(t.shape[0], -1).sum(1)
                fp = fp + (rows * torch.arange(1, t.shape[0] + 1, dtype=torch.float64, device=t.device)).sum()
        fp = fp + 1.0  # a batch of nothing still counts
        self._batches_fp = fp if self._batches_fp is None else self._batches_fp + fp.to(self._batches_fp.device)

    def check_same_batches(self, what: str) -> None:
        """Fail on every rank when the ranks did not read the same batches in this pass.

        Generators and ``PyDataset``s are read whole by every rank, which keeps its rows: that is
        only right when every rank's source yields the same batches. Called at the end of each pass
        over such data (one small all-reduce); every rank calls it, so all fail together."""
        fp = self._batches_fp if self._batches_fp is not None else torch.zeros((), dtype=torch.float64)
        self._batches_fp = None
        both = torch.stack([fp, -fp]).to(self._device())
        _dist().all_reduce(both, op=_dist().ReduceOp.MAX)
        if both[0].item() != -both[1].item():
            raise ValueError(
                f"{what}: the {self.world_size} processes read different batches from the data source (a generator "
                "or PyDataset). Under a distribution every process reads each batch whole and keeps its share of the "
                "rows, so the source must yield the same batches on every process: seed its shuffling with the same "
                "seed on every rank, or pass arrays or a torch DataLoader, which initium shards itself."
            )

    # -------------------------------------------------------------- the step
    _overlap = True  # sum gradient buckets while backward runs (False: all after backward; bench/ddp_speed.py)

    def backward(self, loss: torch.Tensor, rows: int, params: Sequence[torch.Tensor],
                 model: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Back-propagate this rank's share, sum the gradients over ranks (and take rank 0's moving
        statistics), and return ``(global batch loss, global rows)`` as device tensors (no host sync).

        The gradient buckets are all-reduced while backward runs (``_GradReducer``); the loss, the
        rows and the moving statistics, known before backward, ride in the last bucket."""
        buffers = self._buffers(model)
        head = torch.stack([loss.detach().float() * rows, torch.tensor(float(rows), device=loss.device)])
        extras = [head] + [b.detach() if self.rank == 0 else torch.zeros_like(b) for b in buffers]
        reducer = self._reducer_for(params, extras)
        reducer.arm(extras)
        try:
            (loss * rows).backward()
        finally:
            reducer.disarm()
        summed = reducer.finish()
        with torch.no_grad():
            for b, v in zip(buffers, summed[1:]):
                b.copy_(v)
        total = summed[0][1].clone()  # the reducer's buckets are reused by the next step
        return summed[0][0] / total, total

    def _reducer_for(self, params: Sequence[torch.Tensor], extras: Sequence[torch.Tensor]) -> "_GradReducer":
        """The gradient reducer of these parameters (made again when the trainable set changes)."""
        current = self._reducer
        if current is not None and current.serves(params, extras, self._overlap):
            return current
        self.release()
        if self._group is None:  # gradients get their own group: BatchNormalization(
            self._group = _dist().new_group()  # synchronized=True)'s collectives in backward never interleave
        self._reducer = _GradReducer(params, extras, self._group, self._overlap)
        return self._reducer

    def release(self) -> None:
        """Remove the gradient hooks and buckets of the last ``fit`` (the trainer calls this when fit
        ends; after an exception they stay, inert outside this class's backward, until the next fit)."""
        if self._reducer is not None:
            self._reducer.remove_hooks()
        self._reducer = None

    def _buffers(self, model: Any) -> list[torch.Tensor]:
        """Non-trainable floating weights of trainable layers (moving statistics), which each rank
        updates from its own rows; synchronized BatchNormalization layers are already in step."""
        key = (id(model), len(model.weights))
        if getattr(self, "_buffers_key", None) != key:
            self._buffers_key = key
            self._buffer_list = [v for layer in model._flatten_layers(include_self=True)
                                 if layer.trainable and not getattr(layer, "synchronized", False)
                                 for v in layer._own_weights if not v.trainable and v.is_floating_point()]
        return self._buffer_list

    def needs_stop_sync(self, callbacks: Iterable[Any]) -> bool:
        """Whether ``stop_training`` must be OR-ed over ranks after every execution: yes when a callback
        may run user code (a user class, a LambdaCallback). initium's own read global values (the
        epoch logs, the batch loss), so they decide the same on every rank: one collective saved
        per step (a small gloo all-reduce costs about as much as the tour MLP's whole step)."""
        local = any(type(cb).__module__ != "initium.callbacks" or type(cb).__name__ == "LambdaCallback"
                    for cb in callbacks)
        return self.any(local)  # the ranks' lists differ (rank-0-only callbacks): agree once per fit

    def any(self, flag: bool) -> bool:
        """``flag`` OR-ed over ranks (one small all-reduce)."""
        t = torch.tensor([1.0 if flag else 0.0], device=self._device())
        _dist().all_reduce(t, op=_dist().ReduceOp.MAX)
        return bool(t.item() > 0)

    def _device(self) -> torch.device:
        """Where small collectives' tensors live: NCCL takes CUDA tensors only."""
        if _dist().get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    def sum_metric_states(self, metrics: Iterable[Any]) -> None:
        """Sum every metric's state over ranks, in place (``mean``-aggregated variables are averaged)."""
        states = [v for m in metrics for v in m.variables]
        if not states:
            return
        summed = _all_reduce_flat([s.detach() for s in states])
        with torch.no_grad():
            for s, v in zip(states, summed):
                s.copy_(v / self.world_size if getattr(s, "aggregation", "sum") == "mean" else v)

    def check_weights(self, weights: Sequence[Any], when: str) -> None:
        """Fail when the ranks' weights are not bit-identical, naming the first differing weight."""
        if not weights:
            return
        prints = torch.stack([_fingerprint(w) for w in weights]).to(self._device())
        both = torch.cat([prints, -prints])
        _dist().all_reduce(both, op=_dist().ReduceOp.MAX)
        highest, lowest = both[:len(weights)], -both[len(weights):]
        differ = torch.nonzero(highest != lowest).flatten().tolist()
        if differ:
            names = [getattr(weights[i], "path", None) or getattr(weights[i], "name", f"#{i}") for i in differ]
            raise RuntimeError(
                f"{when}: the weights differ between the {self.world_size} processes, first at {names[0]!r} "
                f"({len(names)} differing weight(s): {names[:5]}). Build the model the same way on every rank, after "
                "initium.utils.set_random_seed(<same seed>), and load any weights on every rank."
            )

    def gather_rows(self, local: torch.Tensor, rows_log: Sequence[int]) -> torch.Tensor:
        """Put back in order the rows each rank predicted: batch ``b`` of ``rows_log[b]`` rows was
        split by ``shard``; returns the full ``sum(rows_log)`` rows on every rank."""
        w = self.world_size
        counts = [[r * (k + 1) // w - r * k // w for r in rows_log] for k in range(w)]
        longest = max(sum(c) for c in counts)
        padded = local.new_zeros((longest,) + tuple(local.shape[1:]))
        padded[:local.shape[0]] = local
        parts = [torch.empty_like(padded) for _ in range(w)]
        _dist().all_gather(parts, padded)
        cursors, out = [0] * w, []
        for b in range(len(rows_log)):
            for k in range(w):
                c = counts[k][b]
                out.append(parts[k][cursors[k]:cursors[k] + c])
                cursors[k] += c
        return torch.cat(out, 0)


class _ShardedLoader:
    """A DataLoader rebuilt with a DistributedSampler and the per-rank batch; ``set_epoch`` is called at
    every pass so each epoch has its own (agreed) order."""

    def __init__(self, loader: Any, dp: DataParallel) -> None:
        shuffle = isinstance(loader.sampler, torch.utils.data.RandomSampler)
        self.sampler = torch.utils.data.DistributedSampler(loader.dataset, num_replicas=dp.world_size, rank=dp.rank,
                                                           shuffle=shuffle, drop_last=loader.drop_last)
        self.loader = torch.utils.data.DataLoader(
            loader.dataset, batch_size=loader.batch_size // dp.world_size, sampler=self.sampler,
            num_workers=loader.num_workers, collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
            drop_last=loader.drop_last, worker_init_fn=loader.worker_init_fn,
            persistent_workers=loader.persistent_workers if loader.num_workers else False)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator:
        self.sampler.set_epoch(self.epoch)
        self.epoch += 1
        return iter(self.loader)


def _all_reduce_flat(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Sum ``tensors`` over ranks: packed by dtype into flat buckets of at most ``BUCKET_BYTES``, all
    launched asynchronously, then waited for. Returns new tensors of the inputs' shapes."""
    out: list[Any] = [None] * len(tensors)
    flats = [(members, torch.cat([tensors[i].reshape(-1) for i in members]))
             for members in _plan_buckets(tensors, BUCKET_BYTES)]
    works = [_dist().all_reduce(flat, async_op=True) for _, flat in flats]
    for work, (members, flat) in zip(works, flats):
        work.wait()
        for i, view in zip(members, _views(flat, [tensors[i].shape for i in members])):
            out[i] = view
    return out


def _plan_buckets(tensors: Sequence[torch.Tensor], first_bytes: int) -> list[list[int]]:
    """Indices of ``tensors``, in order, grouped in buckets of one dtype and device of at most
    ``BUCKET_BYTES`` each (the first of each dtype at most ``first_bytes``), unless one tensor alone is
    larger. Buckets are listed in the order they are closed, the ones still open last."""
    done: list[list[int]] = []
    open_: dict[tuple, list[int]] = {}  # the bucket being filled, per dtype and device
    size: dict[tuple, int] = {}
    closed: set[tuple] = set()  # the dtypes and devices whose first bucket is done
    for i, t in enumerate(tensors):
        key, nbytes = (t.dtype, t.device), t.numel() * t.element_size()
        if key in open_ and size[key] + nbytes > (BUCKET_BYTES if key in closed else first_bytes):
            done.append(open_.pop(key))
            closed.add(key)
        open_.setdefault(key, []).append(i)
        size[key] = size[key] + nbytes if len(open_[key]) > 1 else nbytes
    return done + list(open_.values())


def _views(flat: torch.Tensor, shapes: Sequence[torch.Size]) -> list[torch.Tensor]:
    """Consecutive views of ``flat`` with the given shapes."""
    views, offset = [], 0
    for shape in shapes:
        n = math.prod(shape)
        views.append(flat[offset:offset + n].view(shape))
        offset += n
    return views


class _GradReducer:
    """Sums one fit's gradients over ranks while backward runs, as torch DDP does.

    The trainable parameters are grouped in flat buckets in reverse order (backward produces the
    last layers' gradients first), the first bucket small (``FIRST_BUCKET_BYTES``) so that
    communication starts early; the ``extras`` of every step (loss, rows, moving statistics) take
    the end of the last bucket of their dtype. A hook on every parameter
    (``register_post_accumulate_grad_hook``) copies its gradient into its bucket; a full bucket is
    all-reduced asynchronously at once, buckets always in their index order, so every rank issues
    the same collectives in the same order even when its gradients arrive in another order.
    ``finish`` then fills what no hook delivered (zeros for a parameter without gradient this step),
    launches the rest, waits, divides the gradients by the global rows and copies them back into
    ``.grad``. Hooks act only while ``armed`` (inside ``DataParallel.backward``): a backward run by
    anyone else is untouched. With ``overlap=False`` there are no hooks: every bucket goes after backward.
    """

    def __init__(self, params: Sequence[torch.Tensor], extras: Sequence[torch.Tensor], group: Any,
                 overlap: bool) -> None:
        self.params, self.group, self.overlap = list(params), group, overlap
        self.layout = [(t.shape, t.dtype, t.device) for t in extras]
        self.order = self.params[::-1]  # item j < len(params) is order[j]; the extras follow
        items = self.order + list(extras)
        self.buckets = _plan_buckets(items, FIRST_BUCKET_BYTES)
        self.flats = [torch.empty(sum(items[i].numel() for i in members), dtype=items[members[0]].dtype,
                                  device=items[members[0]].device) for members in self.buckets]
        self.grad_numel = [sum(items[i].numel() for i in members if i < len(self.params)) for members in self.buckets]
        self.bucket_of, self.views = [0] * len(items), [torch.empty(0)] * len(items)
        for b, members in enumerate(self.buckets):
            for i, view in zip(members, _views(self.flats[b], [items[i].shape for i in members])):
                self.bucket_of[i], self.views[i] = b, view
        me = weakref.ref(self)  # the hooks must not keep the buckets alive
        self.handles = [p.register_post_accumulate_grad_hook(_hook(me, j)) for j, p in enumerate(self.order)
                        if overlap and p.requires_grad]
        self.armed = False
        self.early = 0  # buckets launched during the last backward (a test and the bench read it)

    def serves(self, params: Sequence[torch.Tensor], extras: Sequence[torch.Tensor], overlap: bool) -> bool:
        return (overlap == self.overlap and len(params) == len(self.params)
                and all(a is b for a, b in zip(params, self.params))
                and [(t.shape, t.dtype, t.device) for t in extras] == self.layout)

    def arm(self, extras: Sequence[torch.Tensor]) -> None:
        """Start a step: the extras go into their places, the gradients are awaited."""
        self.missing = [len(members) for members in self.buckets]
        self.filled = [False] * len(self.params)
        self.works: list[Any] = []
        for j, t in enumerate(extras, start=len(self.params)):
            self.views[j].copy_(t)
            self.missing[self.bucket_of[j]] -= 1
        self.armed = True

    def ready(self, j: int) -> None:
        """Item ``j`` has its gradient: into its bucket; launch the buckets now complete."""
        if self.armed:
            self._load(j)
            self._launch_complete()

    def disarm(self) -> None:
        self.armed = False
        self.early = len(self.works)

    def finish(self) -> list[torch.Tensor]:
        """After backward: send what is left, wait, set every ``.grad`` to the global mean gradient,
        and return the extras summed over ranks (views into the buckets, valid until the next step)."""
        for j in range(len(self.params)):
            if not self.filled[j]:
                self._load(j)
        self._launch_complete()
        for work in self.works:
            work.wait()
        total = self.views[len(self.params)][1]  # the global rows
        with torch.no_grad():
            for flat, n in zip(self.flats, self.grad_numel):
                flat[:n].div_(total.to(flat.dtype))
            for p, view in zip(self.order, self.views):
                if p.grad is None:
                    p.grad = view.clone()
                else:
                    p.grad.copy_(view)
        return self.views[len(self.params):]

    def _load(self, j: int) -> None:
        grad = self.order[j].grad
        if grad is None:
            self.views[j].zero_()
        else:
            self.views[j].copy_(grad)
        self.filled[j] = True
        self.missing[self.bucket_of[j]] -= 1

    def _launch_complete(self) -> None:
        while len(self.works) < len(self.buckets) and not self.missing[len(self.works)]:
            self.works.append(_dist().all_reduce(self.flats[len(self.works)], group=self.group, async_op=True))

    def remove_hooks(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def _hook(reducer: "weakref.ref[_GradReducer]", j: int) -> Any:
    """The post-accumulate-grad hook of item ``j`` (weakly bound: a released reducer's hooks do nothing)."""
    def hook(param: torch.Tensor) -> None:
        r = reducer()
        if r is not None:
            r.ready(j)
    return hook


_MIX = 0x9E3779B97F4A7C15 - 2 ** 64  # a fixed odd 64-bit multiplier (as a signed int64)


def _fingerprint(weight: Any) -> torch.Tensor:
    """An int64 digest of a tensor's exact bits (position-weighted, so swapped values differ too)."""
    t = weight.detach().reshape(-1).contiguous()
    if t.is_floating_point():
        ints = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
        t = t.view(ints)
    t = t.to(torch.int64)
    position = torch.arange(1, t.numel() + 1, dtype=torch.int64, device=t.device) * _MIX
    return (t * position + t).sum().cpu()


# ---------------------------------------------------------------------- synchronized batch statistics

class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; the gradient of every rank's input is the sum of every rank's output gradient."""

    @staticmethod
    def forward(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        out = t.clone()
        _dist().all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        _dist().all_reduce(grad)
        return grad


def synchronized_moments(x: torch.Tensor, dims: list[int]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The mean and biased variance of ``x`` over ``dims`` and over every rank's ``x`` (two
    differentiable all-reduces), or None outside a multi-process ``fit`` (use the local ones)."""
    dp = active()
    if dp is None:
        return None
    count = torch.tensor(float(math.prod(x.shape[d] for d in dims)), device=x.device, dtype=x.dtype)
    total = _AllReduceSum.apply(torch.cat([x.sum(dim=dims), count.reshape(1)]))
    n = total[-1].detach()
    mean = total[:-1] / n
    shape = [1 if d in dims else s for d, s in enumerate(x.shape)]
    centered = x - mean.reshape(shape)
    var = _AllReduceSum.apply((centered * centered).sum(dim=dims)) / n
    return mean, var


# ---------------------------------------------------------------------- the current distribution

class ModelParallel:
    """Not supported yet: initium's distribution is data-parallel; sharding weights is planned on torch FSDP."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "ModelParallel is not supported yet by initium: only DataParallel (every process holds the whole model). "
            "Sharded weights are planned on torch FSDP (torch.distributed.fsdp). Use DataParallel()."
        )


class LayoutMap:
    """Not supported yet (it configures ModelParallel); planned with torch FSDP."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "LayoutMap is not supported yet by initium: it lays out sharded weights for ModelParallel, which is "
            "planned on torch FSDP (torch.distributed.fsdp). Use DataParallel()."
        )


def set_distribution(value: DataParallel | None) -> None:
    """Make ``value`` (a ``DataParallel``, or None to train on this process alone) the distribution."""
    global _distribution
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError(f"set_distribution: expected a DataParallel or None. Received: {value!r} of type "
                        f"{type(value).__name__}")
    _distribution = value


def _under_torchrun() -> bool:
    return (_env_int("WORLD_SIZE") or 1) > 1 and "RANK" in os.environ and "MASTER_ADDR" in os.environ


def _pin_local_gpu() -> None:
    """Under torchrun on CUDA, make ``cuda`` mean this process's GPU (``cuda:LOCAL_RANK``) before any
    weight is created: a model built before ``fit`` must not land on GPU 0 in every process."""
    if _under_torchrun() and torch.cuda.is_available():
        torch.cuda.set_device(_env_int("LOCAL_RANK") or 0)


def distribution() -> DataParallel | None:
    """The current distribution: the one set (``set_distribution(None)`` included), else under torchrun
    with several processes a ``DataParallel`` over them (made on first call), else None."""
    global _distribution
    if _distribution is _UNSET:
        if not _under_torchrun():
            return None
        _distribution = DataParallel()
    return _distribution


def active() -> DataParallel | None:
    """The distribution when it spans more than one process (what the trainer acts on), else None."""
    dp = distribution()
    return dp if dp is not None and dp.world_size > 1 else None


def rank() -> int:
    """This process's rank (0 when not distributed); never starts a process group."""
    dist = _dist()
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return _env_int("RANK") or 0


def is_rank_zero() -> bool:
    return rank() == 0


def local_callbacks(callbacks: list) -> list:
    """The callbacks this rank runs: those marked ``_rank_zero_only = True`` (the progress bar,
    ModelCheckpoint, CSVLogger, TensorBoard, or a user's) are left out on the other ranks."""
    if is_rank_zero():
        return callbacks
    return [cb for cb in callbacks if not getattr(cb, "_rank_zero_only", False)]


_pin_local_gpu()
