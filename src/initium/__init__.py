"""initium: the Keras API on a PyTorch body, with initialization set, seen, reproduced and measured.

``import initium as keras`` is the intended use. ``optimizers``, ``losses``, ``metrics``,
``callbacks`` and ``datasets`` are imported on first access, so ``import initium`` stays light.
"""

from initium import activations, backend, config, constraints, initializers, random, regularizers, saving, utils
from initium import layers, models
from initium.initializers import Initializer
from initium.layers import Input, InputLayer, Layer, Variable
from initium.models import Model, Sequential
from initium.backend import device, name_scope
from initium.symbolic import KerasTensor

from initium.version import __version__

_LAZY_SUBMODULES = ("callbacks", "datasets", "distribution", "losses", "metrics", "ops", "optimizers", "tree")


def __getattr__(name: str):
    if name == "Operation":
        from initium.ops.operation import Operation

        globals()[name] = Operation
        return Operation
    if name in _LAZY_SUBMODULES:
        import importlib

        module = importlib.import_module(f"initium.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'initium' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))

__all__ = ["activations", "backend", "callbacks", "config", "constraints", "datasets", "distribution", "initializers", "layers",
           "losses", "metrics", "models", "optimizers", "random",
           "regularizers", "saving", "utils", "Initializer", "Input", "InputLayer", "KerasTensor", "Layer", "Model",
           "Operation", "Sequential", "device", "name_scope", "ops", "tree",
           "Variable", "__version__"]
