"""initium: the Keras API on a PyTorch body, with initialization set, seen, reproduced and measured.

``import initium as keras`` is the intended use. What exists so far: ``initium.random``,
``initium.initializers``, ``initium.saving`` (registration), ``initium.utils``, ``initium.config``
and ``initium.backend``. Layers, models and training are not built yet (see the README).
"""

from initium import backend, config, initializers, random, saving, utils
from initium.initializers import Initializer

__version__ = "0.1.0"

__all__ = ["backend", "config", "initializers", "random", "saving", "utils", "Initializer", "__version__"]
