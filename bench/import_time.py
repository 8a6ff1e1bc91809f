"""How long `import initium` takes next to `import torch` (its floor) and `import keras`.

Each contender is imported in a fresh interpreter; the rounds interleave the contenders so a stall of
this machine hits them alike, and the best of the rounds is kept. The ratio to `import torch` is
what matters (issue 13 asks for at most 1.3x): absolute times vary from machine to machine.

    python bench/import_time.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time

CONTENDERS = {
    "python (empty)": "pass",
    "import torch": "import torch",
    "import initium": "import initium",
    "import initium; initium.ops.add": "import initium; initium.ops.add",
    "import keras (torch backend)": "import keras",
}


def _available(statement: str) -> bool:
    return "keras" not in statement or importlib.util.find_spec("keras") is not None


def _time_once(statement: str) -> float:
    env = dict(os.environ, KERAS_BACKEND="torch")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    contenders = {name: code for name, code in CONTENDERS.items() if _available(code)}
    best = {name: float("inf") for name in contenders}
    for _ in range(args.rounds):
        for name, code in contenders.items():
            best[name] = min(best[name], _time_once(code))
    base = best["python (empty)"]
    torch_cost = best["import torch"] - base
    print(f"best of {args.rounds} interleaved rounds; cost = time minus an empty interpreter ({base:.2f} s)")
    print(f"{'contender':34} {'seconds':>8} {'cost / torch':>13}")
    for name in contenders:
        cost = best[name] - base
        print(f"{name:34} {best[name]:8.2f} {cost / torch_cost:13.2f}")


if __name__ == "__main__":
    main()
