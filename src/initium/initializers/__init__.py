"""Initializers: every Keras 3 initializer, by class and by string, plus the tools around them.

See ``initium.initializers.base`` for the seed semantics and the checked ``initialize`` entry point.
"""

from initium.initializers.base import (
    ALL_OBJECTS,
    Initializer,
    InitializerLike,
    compute_fans,
    deserialize,
    get,
    initialize,
    serialize,
    skip_initialization,
)
from initium.initializers.constant import Constant, Identity, Ones, Zeros
from initium.initializers.data import LSUV, PriorBias, TorchDefault
from initium.initializers.random import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
)
from initium.registry import register_keras_serializable

# Keras exports the snake_case names as the classes themselves, and two legacy class names.
zeros = Zeros
ones = Ones
constant = Constant
identity = Identity
IdentityInitializer = Identity
orthogonal = Orthogonal
OrthogonalInitializer = Orthogonal
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform

BUILTINS = (
    Zeros, Ones, Constant, Identity, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal,
    VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform,
)

__all__ = [c.__name__ for c in BUILTINS] + [
    "Initializer", "InitializerLike", "compute_fans", "get", "serialize", "deserialize",
    "initialize", "skip_initialization", "register_keras_serializable", "BUILTINS", "ALL_OBJECTS",
    "TorchDefault", "PriorBias", "LSUV",  # initium's own, outside Keras's 15 (BUILTINS)
]
