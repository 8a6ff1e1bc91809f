"""initium: the Keras API on a PyTorch body, with initialization set, seen, reproduced and measured.

``import initium as keras`` is the intended use. Training (``compile``/``fit``), Keras file
formats and the init lab are not built yet (see the README's status table).
"""

from initium import activations, backend, config, constraints, initializers, random, regularizers, saving, utils
from initium import layers, models
from initium.initializers import Initializer
from initium.layers import Input, InputLayer, Layer, Variable
from initium.models import Model, Sequential

__version__ = "0.1.0"

__all__ = ["activations", "backend", "config", "constraints", "initializers", "layers", "models", "random",
           "regularizers", "saving", "utils", "Initializer", "Input", "InputLayer", "Layer", "Model", "Sequential",
           "Variable", "__version__"]
