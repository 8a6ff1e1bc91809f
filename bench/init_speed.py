"""Initializer speed: initium vs torch vs Keras 3 (torch backend), on the CPU, float32.

Run::

    . /work/venv/bin/activate
    python bench/init_speed.py              # 7 rounds, 4096 x 4096 (Orthogonal at 2048 x 2048)
    python bench/init_speed.py --quick      # 3 rounds, 1024 x 1024 (Orthogonal at 512 x 512)
    python bench/init_speed.py --rounds 5 --size 2048 --no-keras

What it measures (wall time of one call that returns the filled tensor):

- initium: ``HeNormal(seed=1)``, ``GlorotUniform(seed=1)``, ``TruncatedNormal(seed=1)``,
  ``RandomNormal(seed=1)`` called as ``init((size, size))``; ``Orthogonal(seed=1)`` at
  ``(size // 2, size // 2)``.
- torch: ``torch.empty(size, size).normal_()`` (allocates, as an initializer must), ``w.normal_()``
  on a pre-allocated ``w`` (in place, no allocation: a lower bound no initializer can match
  without reusing memory), ``torch.nn.init.trunc_normal_`` (std 0.05, cut at +-2 std),
  ``torch.nn.init.orthogonal_`` at ``(size // 2, size // 2)`` and ``torch.empty(...).uniform_()``.
- Keras 3 (only if importable; ``KERAS_BACKEND`` is set to ``torch`` before the import): the same
  five initializers as initium.

The machine this was written on has 2 cores and stalls for seconds at random, so contenders are
run round-robin (one call of each per round, the starting contender rotating every round), each
contender's BEST time is kept, and every ratio printed is computed from times measured side by
side in the same run. Nothing is hard-coded.

Columns: best ms; GB/s = bytes of float32 output / best time; throughput ratios
``time_torch / time_contender`` (higher is better for the contender) against torch ``normal_``
in place and against ``torch.empty().normal_()``.

A sanity section prints, for each initium result, its std against the std expected from the
initializer's definition (computed here, independently of the library), its mean and its bounds,
so that a fast but wrong implementation shows.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

import initium
from initium import backend as ibackend
from initium import initializers as I

TRUNCATED_NORMAL_STD = 0.87962566103423978  # std of a unit normal cut at +-2 (scipy truncnorm(-2, 2).std())
REF_INPLACE = "torch normal_ (in place)"
REF_ALLOC = "torch empty().normal_()"


@dataclass
class Contender:
    group: str  # "initium", "torch" or "keras"
    name: str
    fn: Callable[[], Any]
    numel: int
    times: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.group} {self.name}" if not self.name.startswith(self.group) else self.name

    @property
    def best(self) -> float:
        return min(self.times)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--rounds", type=int, default=None, help="timed rounds (default 7, or 3 with --quick)")
    p.add_argument("--size", type=int, default=None, help="square size (default 4096, or 1024 with --quick)")
    p.add_argument("--quick", action="store_true", help="fewer rounds, smaller size")
    p.add_argument("--no-keras", action="store_true", help="leave Keras out even if it is installed")
    args = p.parse_args(argv)
    if args.rounds is None:
        args.rounds = 3 if args.quick else 7
    if args.size is None:
        args.size = 1024 if args.quick else 4096
    if args.rounds < 1 or args.size < 2:
        p.error("--rounds must be >= 1 and --size >= 2")
    return args


def _load_keras() -> tuple[Any, str]:
    """Import Keras 3 on the torch backend, lazily. Returns (keras or None, message)."""
    os.environ["KERAS_BACKEND"] = "torch"
    try:
        import keras  # noqa: PLC0415  (lazy on purpose)
    except ImportError as e:
        return None, f"Keras: skipped (not installed: {e})"
    backend_name = keras.backend.backend()
    if backend_name != "torch":
        return None, f"Keras: skipped (backend is {backend_name!r}, not 'torch'; was keras imported earlier?)"
    return keras, f"Keras: {keras.__version__} (backend {backend_name})"


def _contenders(size: int, keras: Any) -> list[Contender]:
    shape = (size, size)
    oshape = (size // 2, size // 2)
    n, on = size * size, oshape[0] * oshape[1]
    pre = torch.empty(shape, dtype=torch.float32)
    std = 0.05
    cs = [
        Contender("initium", "HeNormal", lambda: I.HeNormal(seed=1)(shape), n),
        Contender("initium", "GlorotUniform", lambda: I.GlorotUniform(seed=1)(shape), n),
        Contender("initium", "TruncatedNormal", lambda: I.TruncatedNormal(seed=1)(shape), n),
        Contender("initium", "RandomNormal", lambda: I.RandomNormal(seed=1)(shape), n),
        Contender("initium", f"Orthogonal {oshape[0]}x{oshape[1]}", lambda: I.Orthogonal(seed=1)(oshape), on),
        Contender("torch", REF_INPLACE, lambda: pre.normal_(), n),
        Contender("torch", REF_ALLOC, lambda: torch.empty(shape).normal_(), n),
        Contender("torch", "torch trunc_normal_",
                  lambda: torch.nn.init.trunc_normal_(torch.empty(shape), std=std, a=-2 * std, b=2 * std), n),
        Contender("torch", f"torch orthogonal_ {oshape[0]}x{oshape[1]}",
                  lambda: torch.nn.init.orthogonal_(torch.empty(oshape)), on),
        Contender("torch", "torch empty().uniform_()", lambda: torch.empty(shape).uniform_(), n),
    ]
    if keras is not None:
        K = keras.initializers

        def on_cpu(make: Callable[[], Any], shp: tuple[int, int]) -> Callable[[], Any]:
            def call() -> Any:
                with keras.device("cpu"):
                    return make()(shp)
            return call

        cs += [
            Contender("keras", "HeNormal", on_cpu(lambda: K.HeNormal(seed=1), shape), n),
            Contender("keras", "GlorotUniform", on_cpu(lambda: K.GlorotUniform(seed=1), shape), n),
            Contender("keras", "TruncatedNormal", on_cpu(lambda: K.TruncatedNormal(seed=1), shape), n),
            Contender("keras", "RandomNormal", on_cpu(lambda: K.RandomNormal(seed=1), shape), n),
            Contender("keras", f"Orthogonal {oshape[0]}x{oshape[1]}", on_cpu(lambda: K.Orthogonal(seed=1), oshape), on),
        ]
    return cs


def _time_once(c: Contender) -> float:
    t0 = time.perf_counter()
    out = c.fn()
    t1 = time.perf_counter()
    del out  # freeing the result is not part of the call
    return t1 - t0


def _run(cs: list[Contender], rounds: int) -> None:
    gc.collect()
    for c in cs:  # warm-up: imports, thread pools, first-touch of the allocator
        _time_once(c)
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            t0 = time.perf_counter()
            k = r % len(cs)
            for c in cs[k:] + cs[:k]:  # round-robin, starting point rotating
                c.times.append(_time_once(c))
            print(f"  round {r + 1}/{rounds}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    finally:
        if gc_was:
            gc.enable()


def _ratio(ref: float, t: float) -> str:
    return f"{ref / t:.2f}"


def _table(cs: list[Contender], ref_in: float, ref_alloc: float, rounds: int) -> None:
    w = max(len(c.label) for c in cs) + 2
    head = f"{'contender':<{w}}{'best ms':>10}{'median ms':>11}{'GB/s':>8}{'vs normal_ inplace':>20}{'vs empty().normal_':>20}"
    print(head)
    print("-" * len(head))
    group = None
    for c in cs:
        if group is not None and c.group != group:
            print()
        group = c.group
        gbs = c.numel * 4 / c.best / 1e9
        med = float(np.median(c.times))
        print(f"{c.label:<{w}}{c.best * 1e3:>10.1f}{med * 1e3:>11.1f}{gbs:>8.2f}"
              f"{_ratio(ref_in, c.best):>20}{_ratio(ref_alloc, c.best):>20}")
    print(f"(best and median of {rounds} interleaved rounds; ratios = time_torch / time_contender, "
          "higher is better for the contender; Orthogonal rows compare a QR against a fill and are "
          "shown for scale only)")


def _sanity(size: int) -> list[str]:
    """One line per initium initializer: measured std vs the std its definition implies."""
    shape, oshape = (size, size), (size // 2, size // 2)
    fan = float(size)
    he_std = math.sqrt(2.0 / fan)
    glorot_limit = math.sqrt(6.0 / (fan + fan))
    cases = [
        # name, initializer, shape, expected std, bound on |x| (None: unbounded)
        ("HeNormal", I.HeNormal(seed=1), shape, he_std, 2 * he_std / TRUNCATED_NORMAL_STD),
        ("GlorotUniform", I.GlorotUniform(seed=1), shape, glorot_limit / math.sqrt(3.0), glorot_limit),
        ("TruncatedNormal", I.TruncatedNormal(seed=1), shape, 0.05 * TRUNCATED_NORMAL_STD, 2 * 0.05),
        ("RandomNormal", I.RandomNormal(seed=1), shape, 0.05, None),
        ("Orthogonal", I.Orthogonal(seed=1), oshape, 1.0 / math.sqrt(oshape[0]), 1.0),
    ]
    lines, ok_all = [], True
    for name, init, shp, exp_std, bound in cases:
        x = init(shp)
        problems = []
        if x.dtype != torch.float32 or tuple(x.shape) != shp or x.device.type != "cpu":
            problems.append(f"got {x.dtype} {tuple(x.shape)} on {x.device}")
        xd = x.double()
        n = xd.numel()
        std, mean = xd.std().item(), xd.mean().item()
        amax = xd.abs().max().item()
        rel = std / exp_std
        if not abs(rel - 1.0) < 0.01:
            problems.append("std off by more than 1%")
        if abs(mean) > 6 * exp_std / math.sqrt(n):
            problems.append("mean off by more than 6 standard errors")
        if not torch.isfinite(xd).all():
            problems.append("non-finite values")
        if bound is not None and amax > bound * (1 + 1e-6):
            problems.append(f"max|x| {amax:.6g} > bound {bound:.6g}")
        extra = ""
        if name == "Orthogonal":
            err = (xd.T @ xd - torch.eye(shp[1], dtype=torch.float64)).abs().max().item()
            extra = f"  max|Q^T Q - I| {err:.1e}"
            if err > 1e-4:
                problems.append("not orthogonal")
        ok_all &= not problems
        bound_s = f"<= {bound:.6g}" if bound is not None else "(unbounded)"
        lines.append(
            f"initium {name:<16} std {std:.6f} expected {exp_std:.6f} (ratio {rel:.4f})  "
            f"mean {mean:+.1e}  max|x| {amax:.5f} {bound_s}{extra}  "
            + ("OK" if not problems else "WRONG: " + "; ".join(problems))
        )
        del x, xd
    lines.append("sanity: all OK" if ok_all else "sanity: SOME RESULTS ARE WRONG (see above)")
    return lines


def main(argv: list[str] | None = None) -> int:
    t_start = time.perf_counter()
    args = _parse_args(argv)
    ibackend.set_default_device("cpu")  # everything on the CPU, even where CUDA exists
    torch.set_default_dtype(torch.float32)

    keras, keras_msg = (None, "Keras: skipped (--no-keras)") if args.no_keras else _load_keras()

    print("initium initializer speed benchmark (CPU, float32)")
    print(f"python {platform.python_version()}  numpy {np.__version__}  torch {torch.__version__}  "
          f"initium {initium.__version__}")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print(f"CPU count: {os.cpu_count()} (usable: {affinity})  torch threads: {torch.get_num_threads()}  "
          f"machine: {platform.machine()}")
    print(keras_msg)
    print(f"size {args.size}x{args.size} (Orthogonal {args.size // 2}x{args.size // 2}), "
          f"{args.rounds} rounds, interleaved round-robin, best time kept")
    print()

    print("sanity (initium, seed=1):")
    for line in _sanity(args.size):
        print("  " + line)
    print()

    cs = _contenders(args.size, keras)
    print(f"timing {len(cs)} contenders ...", file=sys.stderr, flush=True)
    _run(cs, args.rounds)
    by = {c.label: c for c in cs}
    ref_in, ref_alloc = by[REF_INPLACE].best, by[REF_ALLOC].best

    _table(cs, ref_in, ref_alloc, args.rounds)
    print()

    print("summary:")
    for nm in ("HeNormal", "TruncatedNormal", "RandomNormal", "GlorotUniform"):
        t = by[f"initium {nm}"].best
        print(f"initium {nm} / torch normal_ (in place) throughput ratio: {ref_in / t:.2f}")
    for nm in ("HeNormal", "TruncatedNormal"):
        t = by[f"initium {nm}"].best
        print(f"initium {nm} / torch empty().normal_() throughput ratio: {ref_alloc / t:.2f}")
    if keras is not None:
        t = by["keras HeNormal"].best
        print(f"Keras HeNormal / torch normal_ ratio: {ref_in / t:.2f}")
        print(f"Keras HeNormal / torch empty().normal_() ratio: {ref_alloc / t:.2f}")
        print(f"initium HeNormal / Keras HeNormal throughput ratio: {t / by['initium HeNormal'].best:.2f}")
        print(f"initium TruncatedNormal / Keras TruncatedNormal throughput ratio: "
              f"{by['keras TruncatedNormal'].best / by['initium TruncatedNormal'].best:.2f}")
    else:
        print(f"Keras HeNormal / torch normal_ ratio: n/a ({keras_msg})")
    print(f"total runtime: {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
