"""Run a program of tests/programs/ under real Keras or under initium bound to the name ``keras``.

``run_program(path, lib)`` executes the file as a fresh module and calls its ``run()``. For
``lib="initium"`` every ``keras`` module the program may import (``keras``, ``keras.layers``,
``keras.ops``, ...) is replaced in ``sys.modules`` by initium's module of the same name for the
duration of the run, then the real ones are put back, so both libraries live in one process.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import pathlib
import runpy
import sys
from typing import Any, Iterator

PROGRAMS = pathlib.Path(__file__).parent / "programs"

# keras submodule names a program may import, mapped to initium's module names.
_SUBMODULES = ["activations", "backend", "callbacks", "config", "constraints", "datasets", "initializers", "layers",
               "losses", "metrics", "models", "ops", "ops.nn", "ops.numpy", "ops.image", "ops.linalg", "optimizers",
               "optimizers.schedules", "random", "regularizers", "saving", "tree", "utils", "distribution"]


@contextlib.contextmanager
def keras_is(lib: str) -> Iterator[None]:
    """Within the block, ``import keras`` gives real Keras (``lib="keras"``) or initium."""
    if lib == "keras":
        importlib.import_module("keras")
        yield
        return
    import initium

    saved = {name: mod for name, mod in sys.modules.items() if name == "keras" or name.startswith("keras.")}
    replaced: dict[str, Any] = {"keras": initium}
    for sub in _SUBMODULES:
        try:
            replaced[f"keras.{sub}"] = importlib.import_module(f"initium.{sub}")
        except ImportError:
            pass  # a module initium does not have: the program's import fails, as it should
    for name in saved:
        sys.modules.pop(name, None)
    sys.modules.update(replaced)
    try:
        yield
    finally:
        for name in list(sys.modules):
            if name == "keras" or name.startswith("keras."):
                del sys.modules[name]
        sys.modules.update(saved)


def program_paths() -> list[pathlib.Path]:
    return sorted(p for p in PROGRAMS.glob("*.py"))


def load_meta(path: pathlib.Path) -> dict[str, Any]:
    """The program's module-level declarations (``KERAS_CANNOT``, ``CHECKS``), read without running it."""
    namespace: dict[str, Any] = {}
    source = path.read_text()
    for line in source.splitlines():
        if line.startswith(("KERAS_CANNOT", "CHECKS", "ISSUE")):
            exec(line, namespace)  # noqa: S102  (the project's own test files)
    return namespace


def run_program(path: pathlib.Path, lib: str) -> dict[str, Any]:
    with keras_is(lib):
        module = runpy.run_path(str(path), run_name=f"program_{path.stem}")
        return module["run"]()


def finite_and_decreasing(losses: list[float]) -> bool:
    return len(losses) >= 2 and all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]
