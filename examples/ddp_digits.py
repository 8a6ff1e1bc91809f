"""Data-parallel training of the tour's digits MLP on several processes (initium.distribution).

Run on one machine, 2 processes (CPU: gloo; one process per GPU: NCCL)::

    torchrun --nproc_per_node=2 examples/ddp_digits.py

The script is the single-process one: torchrun sets RANK/WORLD_SIZE/MASTER_ADDR, and ``fit`` then
runs under a ``DataParallel`` over the processes by itself (``batch_size`` stays the global batch:
each process trains on half of every batch, gradients are summed over the processes). Only rank 0
prints the progress bar and writes the checkpoint. Run it with ``python examples/ddp_digits.py`` to
get the same numbers from one process (to within float rounding).
"""

from __future__ import annotations

import os
import tempfile
import time

import initium as keras
from initium import distribution
from initium.datasets import digits


def main(epochs: int = 5, seed: int = 0) -> None:
    dp = distribution.distribution()  # under torchrun: DataParallel over the processes; else None
    world = dp.world_size if dp is not None else 1
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), -1).astype("float32") / 16.0
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 16.0

    keras.utils.set_random_seed(seed)  # the same seed on every process: the same initial weights
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    checkpoint = os.path.join(tempfile.gettempdir(), "initium_ddp_digits.keras")
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_data=(x_test, y_test),
                        callbacks=[keras.callbacks.ModelCheckpoint(checkpoint)], verbose=2)
    seconds = time.perf_counter() - start
    loss, acc = model.evaluate(x_test, y_test, verbose=0)  # every process gets the global figures
    print(f"[rank {distribution.rank()} of {world}] {epochs} epochs in {seconds:.2f} s; final train loss "
          f"{history.history['loss'][-1]:.4f}; test loss {loss:.4f}, test accuracy {acc:.4f}", flush=True)
    if distribution.is_rank_zero():
        print(f"checkpoint written by rank 0: {checkpoint}")


if __name__ == "__main__":
    main()
