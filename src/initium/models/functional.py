"""Functional models: ``Model(inputs, outputs)`` over a graph of layer calls on KerasTensors."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils import _pytree as pytree

from initium.layers.core import InputLayer
from initium.layers.layer import Layer
from initium.layers.symbolic import KerasTensor, Node
from initium.models.model import Model

__all__ = ["Functional"]


def _check_symbolic(structure: Any, what: str) -> list[KerasTensor]:
    leaves = pytree.tree_leaves(structure)
    if not leaves:
        raise ValueError(f"Model(inputs, outputs): `{what}` is empty.")
    for t in leaves:
        if not isinstance(t, KerasTensor) or t._keras_history is None:
            raise ValueError(
                f"Model(inputs, outputs): every element of `{what}` must be a KerasTensor made by keras.Input "
                f"or by calling layers on one. Received: {t!r} (of type {type(t).__name__})."
            )
    return leaves


def _keras_layer_order(outputs: list[KerasTensor], inputs: list[KerasTensor]) -> list[Layer]:
    """Layers in Keras's order (``keras/src/ops/function.py`` ``map_graph``): by node depth from
    the outputs, deepest first; ties by first visit in a depth-first walk from the outputs. The
    order of ``model.layers`` is the order of ``get_weights()``, so it must be Keras's."""
    visited: set[int] = set()
    decreasing: list[Node] = []
    first_seen: dict[int, int] = {}
    input_ids = {id(t) for t in inputs}

    def walk(t: KerasTensor) -> None:
        layer, index, _ = t._keras_history
        node = layer._inbound_nodes[index]
        if id(node) in visited:
            return
        first_seen.setdefault(id(layer), len(first_seen))
        if not isinstance(layer, InputLayer) and id(t) not in input_ids:
            for parent in node.input_tensors:
                walk(parent)
        visited.add(id(node))
        decreasing.append(node)

    for t in outputs:
        walk(t)
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    layers: dict[int, Layer] = {}
    for node in reversed(decreasing):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        layers[id(node.layer)] = node.layer
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    return sorted(layers.values(), key=lambda l: (-layer_depth[id(l)], first_seen[id(l)]))


class Functional(Model):
    """A model defined by ``Model(inputs, outputs)``; supports several inputs and outputs and
    layers called more than once (shared layers)."""

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, trainable: bool = True, **kwargs: Any) -> None:
        super().__init__(name=name or None, trainable=trainable, **kwargs)
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        flat_in = _check_symbolic(inputs, "inputs")
        flat_out = _check_symbolic(outputs, "outputs")
        for t in flat_in:
            if not isinstance(t._keras_history[0], InputLayer):
                raise ValueError(
                    f"Model inputs must come directly from keras.Input(...). {t!r} was produced by layer "
                    f"'{t._keras_history[0].name}'."
                )
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._flat_inputs = flat_in
        self._flat_outputs = flat_out

        order: list[Node] = []
        visited: set[int] = set()

        def visit(node: Node) -> None:  # depth-first: parents before children
            if id(node) in visited:
                return
            visited.add(id(node))
            for parent in node.parent_nodes:
                visit(parent)
            order.append(node)

        for t in flat_out:
            layer, index, _ = t._keras_history
            visit(layer._inbound_nodes[index])
        input_layers = [t._keras_history[0] for t in flat_in]
        for node in order:
            if isinstance(node.layer, InputLayer) and node.layer not in input_layers:
                raise ValueError(
                    f"Graph disconnected: the outputs depend on the input '{node.layer.name}', which is not in "
                    f"`inputs` ({[l.name for l in input_layers]}). Add it to Model(inputs=[...])."
                )
        self._nodes = [n for n in order if not isinstance(n.layer, InputLayer)]
        self._registry = torch.nn.ModuleList()  # indexed: state_dict keys do not depend on auto-names
        by_name: dict[str, Layer] = {}
        for layer in _keras_layer_order(flat_out, flat_in):
            if layer.name in by_name:
                if by_name[layer.name] is not layer:
                    raise ValueError(
                        f"The name '{layer.name}' is used by two different layers in model '{self.name}'. "
                        "All layer names should be unique: give one of them name=..."
                    )
                continue
            by_name[layer.name] = layer
            self._registry.append(layer)
        self.built = True
        shapes = pytree.tree_map(lambda t: t.shape, inputs)
        self._build_input_shape = shapes

    @property
    def layers(self) -> list[Layer]:
        return list(self._registry)

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._flat_inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._flat_outputs)

    @property
    def input_shape(self) -> Any:
        shapes = [t.shape for t in self._flat_inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = [t.shape for t in self._flat_outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _bind_inputs(self, inputs: Any) -> dict[int, Any]:
        flat = self._flat_inputs
        if isinstance(inputs, dict):
            missing = [t._keras_history[0].name for t in flat if t._keras_history[0].name not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}' received a dict without the input(s) {missing}; "
                                 f"expected keys {[t._keras_history[0].name for t in flat]}.")
            return {id(t): inputs[t._keras_history[0].name] for t in flat}
        values = [inputs] if len(flat) == 1 and not (isinstance(inputs, (list, tuple)) and len(inputs) == 1) else list(inputs)
        if len(values) != len(flat):
            raise ValueError(
                f"Model '{self.name}' expects {len(flat)} input(s) "
                f"({[t._keras_history[0].name for t in flat]}), but received {len(values)}."
            )
        return {id(t): v for t, v in zip(flat, values)}

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        values = self._bind_inputs(inputs)

        def lookup(t: Any) -> Any:
            return values[id(t)] if isinstance(t, KerasTensor) else t

        for node in self._nodes:
            args, kwargs = pytree.tree_map(lookup, (node.args, node.kwargs))
            out = node.layer(*args, **kwargs)
            out_leaves = pytree.tree_leaves(out)
            for kt, val in zip(node.output_tensors, out_leaves):
                values[id(kt)] = val
        return pytree.tree_map(lookup, self._outputs_struct)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        from initium.layers.serialization import serialize

        node_key: dict[int, tuple[str, int]] = {}
        for layer in self.layers:
            for i, node in enumerate(layer._inbound_nodes):
                node_key[id(node)] = (layer.name, i)
        in_graph = {id(n) for n in self._nodes}

        def tensor_config(t: Any) -> Any:
            if not isinstance(t, KerasTensor):
                return t
            layer, index, tindex = t._keras_history
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": t.shape, "dtype": t.dtype, "keras_history": [layer.name, index, tindex]}}

        layer_configs = []
        for layer in self.layers:
            entry = serialize(layer)
            entry["name"] = layer.name
            nodes = []
            for node in layer._inbound_nodes:
                if id(node) in in_graph:
                    args, kwargs = pytree.tree_map(tensor_config, (list(node.args), dict(node.kwargs)))
                    nodes.append({"args": args, "kwargs": kwargs})
            entry["inbound_nodes"] = nodes
            layer_configs.append(entry)

        def endpoint(t: KerasTensor) -> list:
            layer, index, tindex = t._keras_history
            return [layer.name, index, tindex]

        def struct(s: Any) -> Any:
            return pytree.tree_map(endpoint, s)

        config = Layer.get_config(self)
        config.update({"layers": layer_configs, "input_layers": struct(self._inputs_struct),
                       "output_layers": struct(self._outputs_struct)})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Functional":
        from initium.layers.serialization import deserialize

        created: dict[str, Layer] = {}
        outputs_of: dict[tuple[str, int], Any] = {}
        pending = list(config["layers"])
        for lc in pending:
            created[lc["name"]] = deserialize(lc, custom_objects=custom_objects)
            if isinstance(created[lc["name"]], InputLayer):
                outputs_of[(lc["name"], 0)] = created[lc["name"]].output

        def resolve(obj: Any) -> Any:
            if isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__":
                name, index, tindex = obj["config"]["keras_history"]
                out = outputs_of[(name, index)]
                leaves = pytree.tree_leaves(out)
                return leaves[tindex]
            if isinstance(obj, dict):
                return {k: resolve(v) for k, v in obj.items()}
            if isinstance(obj, list):
                return [resolve(v) for v in obj]
            return obj

        progress = True
        done: dict[str, int] = {name: 0 for name in created}
        while progress:
            progress = False
            for lc in pending:
                layer = created[lc["name"]]
                if isinstance(layer, InputLayer):
                    continue
                nodes = lc.get("inbound_nodes", [])
                while done[lc["name"]] < len(nodes):
                    node = nodes[done[lc["name"]]]
                    try:
                        args, kwargs = resolve(node.get("args", [])), resolve(node.get("kwargs", {}))
                    except KeyError:
                        break
                    out = layer(*args, **kwargs)
                    outputs_of[(lc["name"], len(layer._inbound_nodes) - 1)] = out
                    done[lc["name"]] += 1
                    progress = True

        def endpoint(e: Any) -> Any:
            if isinstance(e, list) and len(e) == 3 and isinstance(e[0], str):
                name, index, tindex = e
                if (name, index) not in outputs_of:
                    raise ValueError(f"Model config is inconsistent: no output for layer '{name}' node {index}.")
                return pytree.tree_leaves(outputs_of[(name, index)])[tindex]
            if isinstance(e, list):
                return [endpoint(x) for x in e]
            if isinstance(e, dict):
                return {k: endpoint(v) for k, v in e.items()}
            return e

        inputs = endpoint(config["input_layers"])
        outputs = endpoint(config["output_layers"])
        return cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))
