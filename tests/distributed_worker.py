"""Scenarios for tests/test_distribution.py, run the same way by one process and by each of 2 spawned
processes (gloo on 127.0.0.1): every scenario returns plain numbers that the test compares.

``spawn_main`` is what ``torch.multiprocessing`` starts: it sets the variables torchrun would set,
joins the group with a short timeout, and saves each scenario's result to ``<out>/rank<r>.pt``.
Run as a script (``torchrun ... distributed_worker.py <scenario>``) it runs one scenario.
"""

from __future__ import annotations

import os

import numpy as np
import torch

import initium as keras
from initium import distribution

TIMEOUT_S = 20  # a collective waiting for a dead peer raises after this (the launcher usually kills it first)


def _data(n: int, features: tuple, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n,) + features).astype("float32")
    return x, rng.integers(0, classes, size=n)


def _weights(model) -> list[np.ndarray]:
    return [w.detach().cpu().numpy().copy() for w in model.weights]


def mlp(tmp: str) -> dict:
    """An MLP, shuffled, with a short last batch (101 rows, batch 16: 5 rows split 2/3) and validation."""
    x, y = _data(101, (8,), 3, 0)
    xv, yv = _data(37, (8,), 3, 1)
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=2, validation_data=(xv, yv), verbose=0)
    return {"weights": _weights(model), "history": history.history,
            "evaluate": model.evaluate(xv, yv, batch_size=8, verbose=0),
            "evaluate_iterable": model.evaluate(((xv[i:i + 10], yv[i:i + 10]) for i in range(0, 37, 10)), verbose=0),
            "predict": model.predict(xv, batch_size=6, verbose=0)}


def conv_bn(tmp: str) -> dict:
    """A small Conv model with synchronized BatchNormalization (statistics over both processes' rows).

    The conv has no bias, as usual before a BatchNormalization: the batch mean cancels it, so its
    gradient is rounding noise, which Adam scales up to full steps (any summation order differs)."""
    x, y = _data(48, (6, 6, 2), 3, 2)
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((6, 6, 2)), keras.layers.Conv2D(4, 3, use_bias=False), keras.layers.BatchNormalization(synchronized=True),
        keras.layers.Activation("relu"), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, verbose=0)
    return {"weights": _weights(model), "history": history.history}


def bn_per_rank(tmp: str) -> dict:
    """Default BatchNormalization: each process normalizes its own rows; the moving averages are rank 0's."""
    x, y = _data(8, (4,), 2, 3)
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    return {"moving_mean": model.layers[0].moving_mean.detach().numpy().copy(), "x": x}


def data_loader(tmp: str) -> dict:
    """A DataLoader (default sampler): rebuilt with a DistributedSampler and half the batch per process."""
    x, y = _data(64, (8,), 3, 4)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=16, shuffle=False)
    keras.utils.set_random_seed(11)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(loader, epochs=2, verbose=0)
    return {"weights": _weights(model), "history": history.history}


class _Partly(keras.Model):
    """A frozen first layer, and a built layer that ``call`` never uses (its weights get no gradient)."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = keras.layers.Dense(8, activation="relu", trainable=False)
        self.hidden = keras.layers.Dense(16, activation="relu")
        self.unused = keras.layers.Dense(5)
        self.head = keras.layers.Dense(3, activation="softmax")
        self.unused.build((None, 8))

    def call(self, x):
        return self.head(self.hidden(self.frozen(x)))


def unused_frozen(tmp: str) -> dict:
    """Gradient buckets of a few bytes (5 of them, reverse order: [head bias], [head kernel, unused bias],
    [unused kernel, hidden bias], [hidden kernel], [loss and rows]): the unused weights' bucket never
    fills during backward, so it and the ones after it go after backward, in order; the hooks are
    gone after fit."""
    x, y = _data(40, (8,), 3, 9)
    sizes = distribution.FIRST_BUCKET_BYTES, distribution.BUCKET_BYTES
    distribution.FIRST_BUCKET_BYTES, distribution.BUCKET_BYTES = 64, 256
    launched = []

    def on_batch_end(batch, logs):
        dp = distribution.active()
        if dp is not None:
            launched.append((len(dp._reducer.buckets), dp._reducer.early))

    try:
        keras.utils.set_random_seed(4)
        model = _Partly()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0,
                            callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=on_batch_end)])
    finally:
        distribution.FIRST_BUCKET_BYTES, distribution.BUCKET_BYTES = sizes
    hooks = sum(len(getattr(w, "_post_accumulate_grad_hooks", None) or ()) for w in model.weights)
    return {"weights": _weights(model), "history": history.history, "launched": launched, "hooks_left": hooks}


class _RankBranch(keras.Model):
    """Synchronized BatchNormalization, and a layer that only rank 1 uses: the ranks' backward passes
    differ (rank 0's ``side`` weights get no gradient), yet they must issue the same collectives."""

    def __init__(self) -> None:
        super().__init__()
        self.a = keras.layers.Dense(8)
        self.bn = keras.layers.BatchNormalization(synchronized=True)
        self.side = keras.layers.Dense(8)
        self.head = keras.layers.Dense(3, activation="softmax")
        self.side.build((None, 4))

    def call(self, x):
        h = self.bn(self.a(x))
        if distribution.rank() == 1:
            h = h + 0.1 * self.side(x)
        return self.head(h)


def rank_branch(tmp: str) -> dict:
    """Small buckets (several per step, some sent during backward on one rank only, after it on the
    other), next to the BatchNormalization all-reduces of backward: the run completes in step."""
    x, y = _data(64, (4,), 3, 10)
    sizes = distribution.FIRST_BUCKET_BYTES, distribution.BUCKET_BYTES
    distribution.FIRST_BUCKET_BYTES, distribution.BUCKET_BYTES = 64, 256
    try:
        keras.utils.set_random_seed(0)
        model = _RankBranch()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    finally:
        distribution.FIRST_BUCKET_BYTES, distribution.BUCKET_BYTES = sizes
    return {"weights": _weights(model), "history": history.history}


def checkpoints(tmp: str) -> dict:
    """ModelCheckpoint and BackupAndRestore: rank 0 alone writes; a second fit resumes from the backup."""
    from initium.saving import keras_format

    writes = []
    real_save = keras_format.save_model
    keras_format.save_model = lambda *a, **k: (writes.append(str(a[1])), real_save(*a, **k))
    x, y = _data(32, (4,), 2, 5)
    keras.utils.set_random_seed(9)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    backup = os.path.join(tmp, "backup")
    cbs = [keras.callbacks.ModelCheckpoint(os.path.join(tmp, "ckpt-{epoch}.keras")),
           keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)]
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, callbacks=cbs, verbose=0)
    keras_format.save_model = real_save
    _barrier()
    files = sorted(os.listdir(tmp)) + sorted("backup/" + f for f in os.listdir(backup))
    keras.utils.set_random_seed(99)  # a fresh model: the backup must bring back the weights and the optimizer
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    resumed = model.fit(x, y, batch_size=8, epochs=4, shuffle=False,
                        callbacks=[keras.callbacks.BackupAndRestore(backup)], verbose=0)
    return {"writes": writes, "files": files, "resumed_epochs": len(resumed.history["loss"]),
            "weights": _weights(model)}


def checkpoints_reference(tmp: str) -> dict:
    """The single-process run the resumed fit must match: 4 epochs straight."""
    x, y = _data(32, (4,), 2, 5)
    keras.utils.set_random_seed(9)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0)
    return {"weights": _weights(model)}


def stop_together(tmp: str) -> dict:
    """Rank 1 alone asks to stop after its 3rd batch: both ranks stop there."""
    x, y = _data(64, (4,), 2, 6)
    seen = []
    keras.utils.set_random_seed(1)

    def on_batch_end(batch, logs):
        seen.append(batch)
        if distribution.rank() == 1 and batch == 2:
            model.stop_training = True

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[keras.callbacks.LambdaCallback(
        on_train_batch_end=on_batch_end)])
    return {"batches": seen}


def rank_one_raises(tmp: str) -> dict:
    x, y = _data(64, (4,), 2, 7)

    def on_batch_end(batch, logs):
        if distribution.rank() == 1 and batch == 1:
            raise ValueError("rank 1 exploded on purpose")

    keras.utils.set_random_seed(1)

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=50, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=on_batch_end)])
    return {}


def nan_on_rank_one(tmp: str) -> dict:
    """A row that overflows in rank 1's half of batch 2: TerminateOnNaN stops and restores on both ranks."""
    x, y = _data(64, (4,), 2, 8)
    x[21] = 1e30  # batch 2 holds rows 16..23; rank 1 takes 20..23
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")  # (1e30)^2 overflows to inf
    seen = []
    model.fit(x, np.eye(2, dtype="float32")[y], batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[
        keras.callbacks.TerminateOnNaN(), keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, _: seen.append(b))])
    return {"batches": seen, "weights": _weights(model)}


def mismatch(tmp: str) -> dict:
    """Different seeds on the two ranks: fit refuses to start, naming the first differing weight."""
    keras.utils.set_random_seed(distribution.rank())
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="head")])
    model.compile(optimizer="sgd", loss="mse")
    try:
        model.fit(np.zeros((8, 4), "float32"), np.zeros((8, 2), "float32"), batch_size=8, verbose=0)
    except RuntimeError as e:
        return {"error": str(e)}
    return {"error": None}


def differing_generator(tmp: str) -> dict:
    """Generators that yield different batches on the two ranks (seeded by rank): every rank reads
    each batch whole and keeps its rows, so fit must refuse, on both ranks, at the end of the pass;
    the same generator seeded alike on both ranks trains."""
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")

    def batches(seed):
        rng = np.random.default_rng(seed)
        for _ in range(3):
            yield rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")

    model.fit(batches(0), epochs=1, verbose=0)  # the same on both ranks: fine
    try:
        model.fit(batches(distribution.rank()), epochs=1, verbose=0)
    except ValueError as e:
        return {"error": str(e)}
    return {"error": None}


def _barrier() -> None:
    if distribution.active() is not None:
        torch.distributed.barrier()


SCENARIOS = {f.__name__: f for f in (mlp, conv_bn, bn_per_rank, data_loader, unused_frozen, rank_branch,
                                     checkpoints, checkpoints_reference, stop_together, nan_on_rank_one, mismatch,
                                     differing_generator, rank_one_raises)}


def spawn_main(rank: int, world: int, port: int, out: str, names: list[str]) -> None:
    """Entry point of each spawned process."""
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    distribution.initialize(timeout=TIMEOUT_S)
    results = {}
    for name in names:
        tmp = os.path.join(out, name)
        os.makedirs(tmp, exist_ok=True)
        _barrier()
        results[name] = SCENARIOS[name](tmp)
    torch.save(results, os.path.join(out, f"rank{rank}.pt"))
    torch.distributed.destroy_process_group()


if __name__ == "__main__":  # under torchrun: python -m torch.distributed.run ... distributed_worker.py <scenario>
    import sys
    import tempfile

    torch.set_num_threads(1)
    distribution.initialize(timeout=TIMEOUT_S)
    SCENARIOS[sys.argv[1]](tempfile.mkdtemp())
