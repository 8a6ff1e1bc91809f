"""Training-loop speed: initium ``fit`` vs a hand-written torch loop vs Keras 3 ``fit`` (torch backend).

Run::

    python bench/fit_speed.py            # 6 rounds; MLP N=8192, CNN N=4096, batch 128
    python bench/fit_speed.py --quick    # 3 rounds, smaller data

Models (the seeds'): MLP 784-64(relu)-10(softmax); CNN Conv2D(32, 3x3, relu) -> Flatten -> Dense(10,
relu) -> Dense(10, softmax) on 28x28x1. All contenders: Adam(lr 1e-3, eps 1e-7), sparse categorical
crossentropy, accuracy accumulated every step, shuffled batches of 128, random data from
``default_rng(0)``, 2 torch threads.

- initium: ``model.fit(x, y, epochs=1, batch_size=128, verbose=0)``.
- torch: the loop a careful PyTorch user writes: data on the device once, ``randperm`` + slicing,
  forward, ``cross_entropy`` on logits, backward, ``Adam(foreach=True).step()``, correct-count
  accumulated on the device (no ``.item()`` per step); the CNN in torch's native NCHW layout.
- Keras 3 (if installed): ``model.fit(..., epochs=1, batch_size=128, verbose=0)``.

Each round times one epoch of every contender, in rotating order (this machine stalls for seconds at
random); the best epoch per contender is kept, and every ratio printed comes from times of one run.
Every fit call is timed whole (a "fresh fit": data handling and callbacks included).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch


def make_data(kind: str, n: int):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 784) if kind == "mlp" else (n, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, size=n).astype("int64")
    return x, y


def initium_contender(kind: str, x, y, batch: int):
    import initium as keras
    from initium import layers

    keras.utils.set_random_seed(0)
    if kind == "mlp":
        model = keras.Sequential([keras.Input((784,)), layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    else:
        model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, (3, 3), activation="relu"), layers.Flatten(),
                                  layers.Dense(10, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    def epoch():
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)

    return epoch


def torch_contender(kind: str, x, y, batch: int):
    torch.manual_seed(0)
    nn = torch.nn
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
        xt = torch.from_numpy(x)
    else:
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Flatten(), nn.Linear(26 * 26 * 32, 10), nn.ReLU(),
                              nn.Linear(10, 10))
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    yt = torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, foreach=True)
    n = len(yt)

    def epoch():
        perm = torch.randperm(n)
        correct = torch.zeros((), dtype=torch.int64)
        total_loss = torch.zeros(())
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            xb, yb = xt[idx], yt[idx]
            logits = model(xb)
            loss = torch.nn.functional.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                correct += (logits.argmax(-1) == yb).sum()
                total_loss += loss.detach() * len(yb)
        return float(total_loss) / n, int(correct) / n  # one sync per epoch, as a progress print would

    return epoch


def keras_contender(kind: str, x, y, batch: int):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    keras.utils.set_random_seed(0)
    L = keras.layers
    if kind == "mlp":
        model = keras.Sequential([keras.Input((784,)), L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    else:
        model = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"), L.Flatten(),
                                  L.Dense(10, activation="relu"), L.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    def epoch():
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)

    return epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-keras", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    rounds = 3 if args.quick else args.rounds
    sizes = {"mlp": 2048 if args.quick else 8192, "cnn": 1024 if args.quick else 4096}
    batch = 128
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; batch {batch}; "
          f"{rounds} rounds; best epoch per contender")
    summary = []
    for kind in ("mlp", "cnn"):
        x, y = make_data(kind, sizes[kind])
        steps = -(-len(y) // batch)
        contenders = {"initium fit": initium_contender(kind, x, y, batch), "torch loop": torch_contender(kind, x, y, batch)}
        if not args.no_keras:
            try:
                contenders["keras fit"] = keras_contender(kind, x, y, batch)
            except ImportError:
                print("keras not installed: skipped")
        for f in contenders.values():  # warm-up: first epoch builds, allocates, JITs nothing
            f()
        best = {k: float("inf") for k in contenders}
        names = list(contenders)
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                t0 = time.perf_counter()
                contenders[name]()
                best[name] = min(best[name], time.perf_counter() - t0)
        print(f"\n{kind.upper()} (N={len(y)}, {steps} steps/epoch)")
        for name in names:
            print(f"  {name:<12} {best[name] / steps * 1e3:8.3f} ms/step")
        ratio = best["initium fit"] / best["torch loop"]
        print(f"  initium/torch = {ratio:.3f}  (target <= 1.10)")
        summary.append((kind, "initium/torch", ratio))
        if "keras fit" in best:
            kr = best["keras fit"] / best["initium fit"]
            print(f"  keras/initium = {kr:.3f}  (target >= 2.0 on the MLP)")
            summary.append((kind, "keras/initium", kr))
    print("\nsummary: " + "; ".join(f"{k} {n} {v:.3f}" for k, n, v in summary))


if __name__ == "__main__":
    main()
