"""GPU benchmark (issue 16): the training step and initialization throughput, side by side.

Run::

    python bench/gpu.py                      # on a CUDA machine: every figure
    python bench/gpu.py --rounds 3 --steps 50 --no-keras
    python bench/gpu.py --cpu                # the CPU mode (what a machine without CUDA runs)

Training step, ms/step (the best of ``--rounds`` epochs of ``--steps`` steps each, contenders run
round-robin with the starting one rotating, on random data made once on the device):

- ``initium fit``: ``model.fit(x, y, batch_size, epochs=1, verbose=0)`` with ``jit_compile="auto"``
  (eager); ``initium fit jit`` (CUDA only): compiled with ``jit_compile=True``, so the step is
  captured in a CUDA graph after warm-up (each ``fit`` captures anew: its warm-up is in the time).
- ``torch loop``: the loop a careful PyTorch user writes: ``randperm`` + ``index_select`` on the
  device, forward, ``cross_entropy`` on logits, backward, ``Adam(foreach=True)``, loss and correct
  count accumulated on the device.
- ``torch graph`` (CUDA only): the same loop captured in a ``torch.cuda.CUDAGraph`` (static input
  buffers filled by ``index_select(..., out=)``, ``Adam(capturable=True)``), replayed per batch.
- ``keras fit`` (when Keras 3 is installed; ``KERAS_BACKEND=torch``): ``model.fit`` on numpy data.

Models (the seeds'): MLP 784-64(relu)-10(softmax); CNN Conv2D(32, 3x3, relu) -> Flatten ->
Dense(10, relu) -> Dense(10, softmax) on 28x28x1. Adam(1e-3), sparse categorical crossentropy,
accuracy. ``ratio`` is the time over the reference's: the hand CUDA graph on CUDA, the hand torch
loop on the CPU.

Initialization throughput (CUDA: ``--init-size`` 8192, float32): TB/s = bytes written / best time
(a device copy counts its read and its write); initium ``HeNormal`` and ``TruncatedNormal`` (drawn
on the device) against torch ``normal_`` (in place, and with the allocation), ``trunc_normal_`` and
``copy_``; ``Orthogonal`` at ``--ortho-sizes`` against ``torch.nn.init.orthogonal_`` in ms.

Without a CUDA device (or with ``--cpu``) it prints "no CUDA device: GPU figures not measured" and
runs the CPU-meaningful parts quickly: the step table at batch 128 without the graph contenders,
and the init table at a small size (CPU figures, not the GPU ones).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Callable

import numpy as np
import torch

NO_CUDA = "no CUDA device: GPU figures not measured"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--cpu", action="store_true", help="the CPU mode even when CUDA is available")
    p.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5 on CUDA, 3 on the CPU)")
    p.add_argument("--steps", type=int, default=None, help="steps per timed epoch (default 100 on CUDA, 10 on the CPU)")
    p.add_argument("--init-size", type=int, default=None, help="square size of the init fills (8192; CPU 1024)")
    p.add_argument("--ortho-sizes", default=None, help="comma-separated Orthogonal sizes (4096,8192; CPU 256)")
    p.add_argument("--no-keras", action="store_true", help="leave Keras out even if it is installed")
    args = p.parse_args(argv)
    cuda = torch.cuda.is_available() and not args.cpu
    args.device = torch.device("cuda" if cuda else "cpu")
    args.rounds = args.rounds or (5 if cuda else 3)
    args.steps = args.steps or (100 if cuda else 10)
    args.init_size = args.init_size or (8192 if cuda else 1024)
    args.ortho_sizes = [int(s) for s in (args.ortho_sizes or ("4096,8192" if cuda else "256")).split(",")]
    args.batches = [128, 1024] if cuda else [128]
    return args


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_of(contenders: dict[str, Callable[[], Any]], rounds: int, device: torch.device) -> dict[str, float]:
    """Each contender once as warm-up, then ``rounds`` rounds round-robin (the first contender
    rotating); the best wall time of each, in seconds."""
    names = list(contenders)
    for name in names:
        contenders[name]()
    _sync(device)
    best = dict.fromkeys(names, float("inf"))
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            _sync(device)
            t0 = time.perf_counter()
            contenders[name]()
            _sync(device)
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


# ---------------------------------------------------------------------------------------------
# Training step contenders.


def make_data(kind: str, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn((n, 784) if kind == "mlp" else (n, 28, 28, 1), generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return x.to(device), y.to(device)


def seed_model(K: Any, kind: str) -> Any:
    """The seed MLP or CNN in ``K``: initium or Keras (the same API)."""
    L = K.layers
    if kind == "mlp":
        return K.Sequential([K.Input((784,)), L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    return K.Sequential([K.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"), L.Flatten(),
                         L.Dense(10, activation="relu"), L.Dense(10, activation="softmax")])


def fit_epoch(K: Any, kind: str, x: Any, y: Any, batch: int, **compile_kwargs: Any) -> Callable[[], Any]:
    """One epoch of ``K``'s ``fit`` on the seed model (built now, from seed 0)."""
    K.utils.set_random_seed(0)
    model = seed_model(K, kind)
    model.compile(optimizer=K.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], **compile_kwargs)
    return lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)


def initium_fit(kind: str, x: torch.Tensor, y: torch.Tensor, batch: int, jit: Any) -> Callable[[], Any]:
    import initium

    with initium.device(str(x.device)):
        return fit_epoch(initium, kind, x, y, batch, jit_compile=jit)


def _torch_model(kind: str, device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    nn = torch.nn
    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10)).to(device)
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Flatten(), nn.Linear(26 * 26 * 32, 10), nn.ReLU(),
                         nn.Linear(10, 10)).to(device)


class HandLoop:
    """The hand-written torch training loop; with ``graph=True`` its step is a CUDA graph."""

    def __init__(self, kind: str, x: torch.Tensor, y: torch.Tensor, batch: int, graph: bool) -> None:
        self.model = _torch_model(kind, x.device)
        self.x = x if kind == "mlp" else x.permute(0, 3, 1, 2).contiguous()  # torch's NCHW
        self.y, self.batch, self.n = y, batch, len(y)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7, foreach=True,
                                    capturable=graph)
        self.total = torch.zeros((), device=x.device)
        self.correct = torch.zeros((), dtype=torch.int64, device=x.device)
        self.graph = None
        if graph:
            self.sx = torch.empty((batch,) + tuple(self.x.shape[1:]), device=x.device)
            self.sy = torch.empty((batch,), dtype=y.dtype, device=x.device)
            self._capture()

    def step(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        logits = self.model(xb)
        loss = torch.nn.functional.cross_entropy(logits, yb)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            self.correct += (logits.argmax(-1) == yb).sum()
            self.total += loss.detach() * len(yb)

    def _capture(self) -> None:
        idx = torch.arange(self.batch, device=self.x.device)
        torch.index_select(self.x, 0, idx, out=self.sx)
        torch.index_select(self.y, 0, idx, out=self.sy)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                self.step(self.sx, self.sy)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.step(self.sx, self.sy)

    def epoch(self) -> tuple[float, float]:
        perm = torch.randperm(self.n, device=self.x.device)
        for start in range(0, self.n, self.batch):
            idx = perm[start:start + self.batch]
            if self.graph is not None and len(idx) == self.batch:
                torch.index_select(self.x, 0, idx, out=self.sx)
                torch.index_select(self.y, 0, idx, out=self.sy)
                self.graph.replay()
            else:
                self.step(self.x.index_select(0, idx), self.y.index_select(0, idx))
        return float(self.total), int(self.correct)  # one sync per epoch, as a progress print would


def _load_keras(skip: bool) -> tuple[Any, str]:
    if skip:
        return None, "keras: left out (--no-keras)"
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras  # noqa: PLC0415  (a test oracle and contender, never imported by initium)
    except ImportError:
        return None, "keras: not installed"
    if keras.backend.backend() != "torch":
        return None, f"keras: backend {keras.backend.backend()!r}, not torch: left out"
    return keras, f"keras {keras.__version__} (torch backend)"


def step_table(args: argparse.Namespace, keras: Any) -> list[str]:
    cuda = args.device.type == "cuda"
    ref = "torch graph" if cuda else "torch loop"
    lines = [f"training step, ms/step (best of {args.rounds} epochs of {args.steps} steps; ratio = time / {ref})",
             f"{'model':<5} {'batch':>5}  {'contender':<18} {'ms/step':>9} {'ratio':>7}"]
    for kind in ("mlp", "cnn"):
        for batch in args.batches:
            x, y = make_data(kind, batch * args.steps, args.device)
            contenders: dict[str, Callable[[], Any]] = {"initium fit": initium_fit(kind, x, y, batch, "auto")}
            if cuda:
                contenders["initium fit jit"] = initium_fit(kind, x, y, batch, True)
            contenders["torch loop"] = HandLoop(kind, x, y, batch, graph=False).epoch
            if cuda:
                contenders["torch graph"] = HandLoop(kind, x, y, batch, graph=True).epoch
            if keras is not None:
                contenders["keras fit"] = fit_epoch(keras, kind, x.cpu().numpy(), y.cpu().numpy(), batch)
            best = best_of(contenders, args.rounds, args.device)
            for name, seconds in best.items():
                lines.append(f"{kind:<5} {batch:>5}  {name:<18} {seconds / args.steps * 1e3:9.3f} "
                             f"{seconds / best[ref]:7.2f}")
    return lines


# ---------------------------------------------------------------------------------------------
# Initialization throughput.


def init_table(args: argparse.Namespace, keras: Any) -> list[str]:
    from initium import backend as ibackend
    from initium import initializers as I

    dev, s = args.device, args.init_size
    shape, nbytes = (s, s), s * s * 4
    pre, src = torch.empty(shape, device=dev), torch.randn(shape, device=dev)
    dst = torch.empty_like(src)
    std = 0.05

    def on_device(make: Callable[[], Any], shp: tuple[int, int]) -> Callable[[], Any]:
        def call() -> Any:
            with ibackend.device(str(dev)):
                return make()(shp)
        return call

    fills: dict[str, tuple[Callable[[], Any], int]] = {
        "initium HeNormal": (on_device(lambda: I.HeNormal(seed=1), shape), nbytes),
        "initium TruncatedNormal": (on_device(lambda: I.TruncatedNormal(seed=1), shape), nbytes),
        "torch normal_ (in place)": (lambda: pre.normal_(), nbytes),
        "torch empty().normal_()": (lambda: torch.empty(shape, device=dev).normal_(), nbytes),
        "torch trunc_normal_": (lambda: torch.nn.init.trunc_normal_(torch.empty(shape, device=dev), std=std,
                                                                    a=-2 * std, b=2 * std), nbytes),
        "device copy_": (lambda: dst.copy_(src), 2 * nbytes),
    }
    if keras is not None:
        def keras_he() -> Any:
            with keras.device(str(dev)):
                return keras.initializers.HeNormal(seed=1)(shape)
        fills["keras HeNormal"] = (keras_he, nbytes)
    best = best_of({k: f for k, (f, _) in fills.items()}, args.rounds, dev)
    lines = [f"init throughput, {s}x{s} float32 on {dev.type} (best of {args.rounds}; a copy counts read + write)",
             f"{'contender':<26} {'ms':>9} {'TB/s':>8}"]
    lines += [f"{k:<26} {best[k] * 1e3:9.3f} {fills[k][1] / best[k] / 1e12:8.3f}" for k in fills]
    for n in args.ortho_sizes:
        ortho = {f"initium Orthogonal {n}": on_device(lambda: I.Orthogonal(seed=1), (n, n)),
                 f"torch orthogonal_ {n}": lambda: torch.nn.init.orthogonal_(torch.empty((n, n), device=dev))}
        ob = best_of(ortho, args.rounds, dev)
        lines += [f"{k:<26} {v * 1e3:9.3f} {'-':>8}" for k, v in ob.items()]
    return lines


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    keras, keras_line = _load_keras(args.no_keras)
    name = torch.cuda.get_device_name(args.device) if args.device.type == "cuda" else "cpu"
    print(f"torch {torch.__version__} on {name}; {keras_line}")
    if args.device.type != "cuda":
        print(NO_CUDA + " (the tables below are CPU figures, batch 128, no CUDA-graph contenders)")
    print()
    print("\n".join(step_table(args, keras)))
    print()
    print("\n".join(init_table(args, keras)))


if __name__ == "__main__":
    main()
