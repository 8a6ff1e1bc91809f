"""``initium tour``: seed 003's three bias initializations, trained on the bundled digits.

The seed tutorial claims that a zero bias in a ReLU layer "is not recommended" and that a
random-normal or small uniform bias trains better. The tour builds its three models exactly as
the tutorial writes them (only the data differ: scikit-learn's 8x8 digits instead of random
numbers), trains each with the same seed, batches and epochs, and compares them.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["run_tour"]


def my_bias_initializer(shape, dtype=None):
    """Seed 003's custom initializer, verbatim in spirit: numpy uniform in [-0.1, 0.1)."""
    return np.random.uniform(low=-0.1, high=0.1, size=shape)


def run_tour(epochs: int = 15, seed: int = 0, verbose: int = 1, print_fn: Any = print) -> list[dict[str, Any]]:
    import initium as keras
    from initium.datasets import digits

    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), -1).astype("float32") / 16.0
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 16.0
    y_train_1h = keras.utils.to_categorical(y_train, 10)
    y_test_1h = keras.utils.to_categorical(y_test, 10)
    print_fn(f"initium tour: seed 003's bias study on digits ({len(x_train)} train / {len(x_test)} test images, "
             f"8x8 = 64 features), {epochs} epochs, batch 32, Adam, seed {seed}.\n")
    arms = [("zeros", "zeros"), ("random_normal", "random_normal"), ("my_bias_initializer (U[-0.1, 0.1))", my_bias_initializer)]
    results = []
    for label, bias_init in arms:
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([
            keras.layers.Dense(64, activation="relu", kernel_initializer="glorot_uniform", bias_initializer=bias_init,
                               input_shape=(64,)),
            keras.layers.Dense(10, activation="softmax"),
        ], name=f"bias_{label.split(' ')[0]}")
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        print_fn(f"== bias_initializer={label}")
        model.summary(print_fn=print_fn)
        dead = _dead_units(model, x_train)
        start = time.perf_counter()
        history = model.fit(x_train, y_train_1h, batch_size=32, epochs=epochs, verbose=verbose)
        seconds = time.perf_counter() - start
        loss, acc = model.evaluate(x_test, y_test_1h, verbose=0)
        results.append({"bias": label, "dead_at_init": dead, "first_loss": history.history["loss"][0],
                        "final_loss": history.history["loss"][-1], "test_loss": loss, "test_accuracy": acc,
                        "seconds": seconds})
        print_fn(f"test accuracy {acc:.4f}, test loss {loss:.4f}, trained in {seconds:.1f} s\n")
    _print_table(results, print_fn)
    return results


def _dead_units(model: Any, x: np.ndarray) -> int:
    """Hidden ReLU units that output zero for every training image at initialization."""
    import torch

    with torch.no_grad():
        hidden = model.layers[0](x)
    return int((hidden <= 0).all(dim=0).sum())


def _print_table(results: list[dict[str, Any]], print_fn: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Seed 003's claim, measured: does the bias initializer matter here?")
    for col in ("bias_initializer", "dead ReLUs at init (of 64)", "loss after epoch 1", "final train loss",
                "test accuracy", "seconds"):
        table.add_column(col, justify="right" if col != "bias_initializer" else "left")
    for r in results:
        table.add_row(r["bias"], str(r["dead_at_init"]), f"{r['first_loss']:.4f}", f"{r['final_loss']:.4f}",
                      f"{r['test_accuracy']:.4f}", f"{r['seconds']:.1f}")
    console = Console(width=120)
    with console.capture() as cap:
        console.print(table)
    print_fn(cap.get().rstrip())
    accs = [r["test_accuracy"] for r in results]
    print_fn(f"Spread of test accuracy across the three bias initializers: {max(accs) - min(accs):.4f} "
             "(one seed: `initium bias-study` measures it over many seeds, with standard errors).")
