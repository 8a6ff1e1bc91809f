"""The functional API's symbolic tensors, re-exported for the layers (they live in the leaf
module ``initium.symbolic`` so that ``initium.ops`` can build graph nodes without the layers)."""

from initium.symbolic import KerasTensor, Node, is_symbolic, shape_of

__all__ = ["KerasTensor", "Node", "is_symbolic", "shape_of"]
