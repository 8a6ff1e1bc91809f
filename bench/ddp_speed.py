"""Data-parallel speed on this CPU: steps/s of ``fit`` with 1 process and with 2 (gloo), and the share
of the 2-process step spent in the collectives.

Run::

    python bench/ddp_speed.py            # 5 rounds
    python bench/ddp_speed.py --quick    # 2 rounds, fewer steps

Models: the tour's MLP (64-64(relu)-10(softmax), src/initium/tour.py; digits-sized inputs, global
batch 32) and a wide MLP 784-1024(relu)-1024(relu)-10(softmax) (global batch 128). Adam, sparse
categorical crossentropy, accuracy, shuffled; random data from ``default_rng(0)``.

Contenders, all in the same 2 spawned processes, interleaved in every round (this machine stalls at
random; the best time per contender is kept):

- ``1 proc x 1 thread``: rank 0 alone (``set_distribution(None)``), 1 torch thread; rank 1 waits.
- ``1 proc x 2 threads``: the same with 2 torch threads (what one process can do with both cores).
- ``2 procs x 1 thread``: ``DataParallel`` over both processes, each 1 thread, half the batch each.

The collectives' share is the time rank 0 spends in ``_all_reduce_flat`` (gradients, loss, moving
statistics: one bucketed all-reduce per step) and in the ``stop_training`` all-reduce, over the
whole fit time (it includes waiting for the slower rank). Steps/s count global steps. No
absolute-time claims: read the ratios.
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from typing import Any

import numpy as np
import torch
import torch.multiprocessing as mp

MODELS = {"tour MLP 64-64-10": ((64,), [64], 32), "wide MLP 784-1024-1024-10": ((784,), [1024, 1024], 128)}


def _model(features: tuple, hidden: list[int]):
    import initium as keras

    keras.utils.set_random_seed(0)
    layers = [keras.Input(features)] + [keras.layers.Dense(h, activation="relu") for h in hidden]
    model = keras.Sequential(layers + [keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class _Clock:
    """Wraps the collectives of distribution.py and adds up the seconds spent in them."""

    def __init__(self) -> None:
        from initium import distribution

        self.seconds = 0.0
        self._flat, self._any = distribution._all_reduce_flat, distribution.DataParallel.any
        distribution._all_reduce_flat = self._timed(self._flat)
        distribution.DataParallel.any = self._timed(self._any)

    def _timed(self, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
        return wrapper


def _time_fit(model, x, y, batch: int, steps: int) -> float:
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, steps_per_epoch=steps, verbose=0)
    return time.perf_counter() - start


def worker(rank: int, port: int, rounds: int, steps: dict, out: str, gate: Any) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    from initium import distribution

    distribution.initialize(timeout=600)
    dp = distribution.DataParallel()
    clock = _Clock()
    rng = np.random.default_rng(0)
    best: dict = {}
    for r in range(rounds):
        for name, (features, hidden, batch) in MODELS.items():
            n = batch * steps[name]
            x = rng.standard_normal((n,) + features).astype("float32")
            y = rng.integers(0, 10, size=n)
            order = [("1 proc x 1 thread", 1), ("1 proc x 2 threads", 2), ("2 procs x 1 thread", 1)]
            order = order[r % 3:] + order[:r % 3]  # rotate who goes first
            for label, threads in order:
                torch.set_num_threads(threads)
                single = label.startswith("1 proc")
                distribution.set_distribution(None if single else dp)
                model = _model(features, hidden)
                if single and rank == 1:
                    gate.wait()  # rank 1 sleeps (a semaphore, no spinning) while rank 0 runs alone
                    continue
                model.fit(x[:batch * 2], y[:batch * 2], batch_size=batch, epochs=1, verbose=0)  # warm-up
                clock.seconds = 0.0
                seconds = _time_fit(model, x, y, batch, steps[name])
                share = clock.seconds / seconds if not single else 0.0
                if single:
                    gate.wait()
                key = (name, label)
                if key not in best or seconds < best[key][0]:
                    best[key] = (seconds, share)
    if rank == 0:
        torch.save({"best": best, "steps": steps}, out)
    torch.distributed.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 2 if args.quick else 5
    steps = {"tour MLP 64-64-10": 100 if args.quick else 300, "wide MLP 784-1024-1024-10": 8 if args.quick else 25}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"ddp_speed_{os.getpid()}.pt")
    gate = mp.get_context("spawn").Barrier(2)
    mp.start_processes(worker, args=(port, rounds, steps, out, gate), nprocs=2, join=True, start_method="spawn")
    result = torch.load(out, weights_only=False)
    os.remove(out)
    best = result["best"]
    print(f"initium fit, data-parallel on this CPU ({os.cpu_count()} cores), best of {rounds} interleaved rounds; "
          "steps/s of global batches\n")
    head = (f"{'model (global batch)':<34}{'1 proc x 1 thr':>15}{'1 proc x 2 thr':>15}{'2 procs x 1 thr':>16}"
            f"{'2p / 1p1t':>11}{'2p / 1p2t':>11}{'all-reduce share':>18}")
    print(head)
    print("-" * len(head))
    for name, (_, _, batch) in MODELS.items():
        rate = {label: result["steps"][name] / best[(name, label)][0]
                for label in ("1 proc x 1 thread", "1 proc x 2 threads", "2 procs x 1 thread")}
        share = best[(name, "2 procs x 1 thread")][1]
        print(f"{name + f' ({batch})':<34}{rate['1 proc x 1 thread']:>15.1f}{rate['1 proc x 2 threads']:>15.1f}"
              f"{rate['2 procs x 1 thread']:>16.1f}{rate['2 procs x 1 thread'] / rate['1 proc x 1 thread']:>10.2f}x"
              f"{rate['2 procs x 1 thread'] / rate['1 proc x 2 threads']:>10.2f}x{100 * share:>17.0f}%")


if __name__ == "__main__":
    main()
