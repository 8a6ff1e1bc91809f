"""Layers: Keras's layer set on ``torch.nn.Module``s, with one path (``add_weight``) for every weight.

Each family module registers its classes (``register_layer``) so configs can name them.
"""

from initium.layers.core import Activation, Dense, Input, InputLayer
from initium.layers.layer import InputSpec, Layer
from initium.layers.serialization import LAYERS, deserialize, register_layer, serialize
from initium.layers.symbolic import KerasTensor
from initium.layers.variable import Variable

from initium.layers.conv import *  # noqa: F401,F403
from initium.layers.pooling import *  # noqa: F401,F403
from initium.layers.normalization import *  # noqa: F401,F403
from initium.layers.regularization import *  # noqa: F401,F403
from initium.layers.embedding import *  # noqa: F401,F403
from initium.layers.recurrent import *  # noqa: F401,F403
from initium.layers.conv_lstm import *  # noqa: F401,F403
from initium.layers.reshaping import *  # noqa: F401,F403
from initium.layers.merging import *  # noqa: F401,F403
from initium.layers.preprocessing import *  # noqa: F401,F403
from initium.layers.einsum_dense import *  # noqa: F401,F403
from initium.layers.attention import *  # noqa: F401,F403
from initium.layers.activation import *  # noqa: F401,F403
from initium.layers.core_extra import *  # noqa: F401,F403
from initium.layers.augmentation import *  # noqa: F401,F403
from initium.layers.text import *  # noqa: F401,F403
from initium.layers.wrappers import *  # noqa: F401,F403
from initium.layers import (activation, attention, augmentation, conv, conv_lstm, core_extra, einsum_dense, embedding,
                            merging, normalization, pooling, preprocessing, recurrent, regularization, reshaping, text,
                            wrappers)

for _cls in (InputLayer, Dense, Activation):
    register_layer(_cls)

__all__ = ["Layer", "InputSpec", "InputLayer", "Input", "Dense", "Activation", "KerasTensor", "Variable",
           "serialize", "deserialize", "register_layer", "LAYERS"]
for _m in (conv, conv_lstm, pooling, normalization, regularization, embedding, recurrent, reshaping, merging,
           preprocessing, einsum_dense, attention, activation, core_extra, augmentation, text, wrappers):
    __all__ += list(_m.__all__)
