"""``get_source_inputs``: the ``Input`` tensors a symbolic tensor was computed from."""

from __future__ import annotations

from typing import Any

__all__ = ["get_source_inputs"]


def get_source_inputs(tensor: Any) -> Any:
    """The input tensors (``keras.Input`` outputs) at the roots of ``tensor``'s graph, each once, in
    the order a depth-first walk of the inputs meets them.

    A tensor that is not symbolic is returned as is (Keras's behaviour); a symbolic tensor with no
    producing layer gives ``[tensor]``.
    """
    if not hasattr(tensor, "_keras_history"):
        return tensor
    sources: list[Any] = []
    stack = [tensor]
    seen_nodes: set[int] = set()
    while stack:
        t = stack.pop()
        history = t._keras_history
        layer = history[0] if history else None
        if layer is None or not getattr(layer, "_inbound_nodes", None):
            _add_once(sources, [t])
            continue
        node = layer._inbound_nodes[history[1]]
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if not node.input_tensors:  # an input node: its outputs are the sources
            _add_once(sources, node.output_tensors)
        else:
            stack.extend(reversed(node.input_tensors))
    return sources


def _add_once(sources: list[Any], tensors: list[Any]) -> None:
    for t in tensors:
        if not any(t is s for s in sources):
            sources.append(t)
