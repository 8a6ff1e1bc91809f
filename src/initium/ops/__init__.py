"""``keras.ops`` on torch: every op of Keras 3's namespace, eager on tensors and symbolic on KerasTensors.

``from initium import ops`` gives the flat namespace Keras has (``ops.concatenate``, ``ops.relu``,
``ops.logsumexp``, ``ops.cholesky``, ...) and its sub-namespaces ``ops.numpy``, ``ops.nn``,
``ops.image``, ``ops.linalg``, ``ops.math`` and ``ops.core``. How an op works eagerly, builds a graph
node, and saves: ``initium.ops.operation``.
"""

from initium.ops import core, einops, image, linalg, math, nn, numpy
from initium.ops.core import *  # noqa: F401,F403
from initium.ops.einops import *  # noqa: F401,F403
from initium.ops.linalg import *  # noqa: F401,F403
from initium.ops.math import *  # noqa: F401,F403
from initium.ops.nn import *  # noqa: F401,F403
from initium.ops.numpy import *  # noqa: F401,F403
from initium.ops.operation import Operation

__all__ = ["Operation", "core", "image", "linalg", "math", "nn", "numpy",
           *core.__all__, *einops.__all__, *linalg.__all__, *math.__all__, *nn.__all__, *numpy.__all__]
