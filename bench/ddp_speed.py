"""Data-parallel speed on this CPU: steps/s of ``fit`` with 1 process and with 2 (gloo), the gradient
all-reduce overlapped with backward or sent after it, and the share of the 2-process step spent
waiting for the collectives.

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
- ``2 procs, after``: ``DataParallel`` over both processes, each 1 thread, half the batch each, every
  gradient bucket all-reduced after backward (``DataParallel._overlap = False``).
- ``2 procs, overlap``: the same with the buckets all-reduced while backward runs (the default).

The wait share is the time rank 0 spends after backward finishing the gradient all-reduce
(``_GradReducer.finish``: the buckets not yet sent, waiting, copying back) plus the ``stop_training``
and metric all-reduces, over the whole fit time (it includes waiting for the slower rank). The
"sent in backward" column counts the buckets launched from the hooks in the last step. Steps/s
count global steps. No absolute-time claims: read the ratios.
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
    """Wraps the collectives of distribution.py that the step waits for, and adds up their seconds."""

    def __init__(self) -> None:
        from initium import distribution

        self.seconds, self.sent = 0.0, ""
        distribution._all_reduce_flat = self._timed(distribution._all_reduce_flat)
        distribution.DataParallel.any = self._timed(distribution.DataParallel.any)
        finish = self._timed(distribution._GradReducer.finish)

        def finish_and_count(reducer, *args):
            self.sent = f"{reducer.early}/{len(reducer.buckets)}"
            return finish(reducer, *args)

        distribution._GradReducer.finish = finish_and_count

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
            order = [("1 proc x 1 thread", 1), ("1 proc x 2 threads", 2), ("2 procs, after", 1),
                     ("2 procs, overlap", 1)]
            order = order[r % 4:] + order[:r % 4]  # rotate who goes first
            for label, threads in order:
                torch.set_num_threads(threads)
                single = label.startswith("1 proc")
                distribution.set_distribution(None if single else dp)
                dp._overlap = label.endswith("overlap")
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
                    best[key] = (seconds, share, clock.sent if not single else "")
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
    labels = ("1 proc x 1 thread", "1 proc x 2 threads", "2 procs, after", "2 procs, overlap")
    head = (f"{'model (global batch)':<34}{'1p x 1thr':>10}{'1p x 2thr':>10}{'2p after':>10}{'2p overlap':>11}"
            f"{'overlap/after':>14}{'2p ovl/1p1t':>12}{'wait share after':>17}{'wait share ovl':>15}"
            f"{'sent in backward':>17}")
    print(head)
    print("-" * len(head))
    for name, (_, _, batch) in MODELS.items():
        rate = {label: result["steps"][name] / best[(name, label)][0] for label in labels}
        after, overlap = best[(name, "2 procs, after")], best[(name, "2 procs, overlap")]
        rates = "".join(f"{rate[label]:>{width}.1f}" for label, width in zip(labels, (10, 10, 10, 11)))
        print(f"{name + f' ({batch})':<34}{rates}{rate['2 procs, overlap'] / rate['2 procs, after']:>13.2f}x"
              f"{rate['2 procs, overlap'] / rate['1 proc x 1 thread']:>11.2f}x"
              f"{100 * after[1]:>16.0f}%{100 * overlap[1]:>14.0f}%{overlap[2]:>17}")


if __name__ == "__main__":
    main()
