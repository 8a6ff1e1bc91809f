"""Functional models: ``Model(inputs, outputs)`` over a graph of layer calls on KerasTensors."""

from __future__ import annotations

from typing import Any

import numpy as np
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
        self._operations: list[Any] = []  # layers and ops (initium.ops.Operation), in Keras's order
        by_name: dict[str, Any] = {}
        for op in _keras_layer_order(flat_out, flat_in):
            if op.name in by_name:
                if by_name[op.name] is not op:
                    raise ValueError(
                        f"The name '{op.name}' is used by two different layers or ops in model '{self.name}'. "
                        "All layer names should be unique: give one of them name=..."
                    )
                continue
            by_name[op.name] = op
            self._operations.append(op)
            if isinstance(op, Layer):
                self._registry.append(op)
        self.built = True
        shapes = pytree.tree_map(lambda t: t.shape, inputs)
        self._build_input_shape = shapes

    @property
    def layers(self) -> list[Layer]:
        """The layers, in Keras's order (ops applied to KerasTensors are in ``operations`` only)."""
        return list(self._registry)

    @property
    def operations(self) -> list[Any]:
        """Every layer and op of the graph, in Keras's order (``InputLayer``s included)."""
        return list(self._operations)

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._flat_inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._flat_outputs)

    @property
    def input(self) -> Any:
        """The inputs as given to ``Model(inputs, ...)``: one tensor, or the list or dict given."""
        return self._inputs_struct

    @property
    def output(self) -> Any:
        """The outputs as given to ``Model(..., outputs)``: one tensor, or the list or dict given."""
        return self._outputs_struct

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

        in_graph = {id(n) for n in self._nodes}
        layer_configs = []
        for op in self._operations:
            entry = serialize(op)
            entry["name"] = op.name
            entry["inbound_nodes"] = [{"args": _encode(list(node.args)), "kwargs": _encode(dict(node.kwargs))}
                                      for node in op._inbound_nodes if id(node) in in_graph]
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
        """Rebuild the graph: create every layer, then replay each layer's calls (``inbound_nodes``)
        once the tensors they take exist. Every part of the config is checked as it is read, so a
        malformed one raises a ``ValueError`` naming the layer and key."""
        from initium.layers.serialization import deserialize

        entries = _layer_entries(config)
        created: dict[str, Layer] = {}
        outputs_of: dict[tuple[str, int], Any] = {}
        for entry in entries:
            layer = created[entry["name"]] = deserialize(entry, custom_objects=custom_objects)
            if isinstance(layer, InputLayer):
                outputs_of[(entry["name"], 0)] = layer.output
        done = dict.fromkeys(created, 0)
        progress = True
        while progress:
            progress = False
            for entry in entries:
                name, layer, nodes = entry["name"], created[entry["name"]], entry.get("inbound_nodes") or []
                while not isinstance(layer, InputLayer) and done[name] < len(nodes):
                    node = nodes[done[name]]
                    try:
                        args = _resolve(node.get("args", []), outputs_of, f"layer '{name}'")
                        kwargs = _resolve(node.get("kwargs", {}), outputs_of, f"layer '{name}'")
                    except _NotYet:
                        break
                    out = layer(*args, **kwargs)
                    outputs_of[(name, len(layer._inbound_nodes) - 1)] = out
                    done[name] += 1
                    progress = True
        inputs = _endpoints(config.get("input_layers"), outputs_of, "input_layers")
        outputs = _endpoints(config.get("output_layers"), outputs_of, "output_layers")
        return cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))


# ------------------------------------------------------------------------------------------- reading configs
class _NotYet(Exception):
    """A node's input tensor is made by a call that has not been replayed yet."""


def _layer_entries(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``layers`` of a functional config, each a dict with a unique string ``name`` and a list
    of ``inbound_nodes`` (dicts with ``args`` a list and ``kwargs`` a dict, nesting a few levels)."""
    from initium.layers.serialization import MAX_STRUCTURE_DEPTH, structure_depth

    entries = config.get("layers")
    if not isinstance(entries, list):
        raise ValueError(f"A functional config's 'layers' must be a list of layer entries. Received: "
                         f"{type(entries).__name__}")
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            raise ValueError(f"Entry {i} of the functional config's 'layers' needs a string 'name' (and "
                             f"'class_name', 'config', 'inbound_nodes'). Received: {type(entry).__name__} "
                             f"with name {name!r}")
        if name in seen:
            raise ValueError(f"The functional config's 'layers' has two entries named '{name}'.")
        seen.add(name)
        nodes = entry.get("inbound_nodes") or []
        if not isinstance(nodes, list) or not all(
                isinstance(n, dict) and isinstance(n.get("args", []), list) and isinstance(n.get("kwargs", {}), dict)
                for n in nodes):
            raise ValueError(f"Layer '{name}': 'inbound_nodes' must be a list of {{'args': [...], 'kwargs': "
                             "{...}} (Keras 3's form).")
        if structure_depth(nodes) > MAX_STRUCTURE_DEPTH:
            raise ValueError(f"Layer '{name}': 'inbound_nodes' nests more than {MAX_STRUCTURE_DEPTH} levels deep.")
    return entries


def _history(value: Any, where: str) -> tuple[str, int, int]:
    """A ``[layer_name, node_index, tensor_index]`` triple, checked."""
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and all(type(k) is int and k >= 0 for k in value[1:])):
        raise ValueError(f"{where}: a tensor reference must be [layer_name, node_index, tensor_index] (a string "
                         f"and two non-negative integers). Received: {value!r}")
    return value[0], value[1], value[2]


def _tensor(outputs_of: dict[tuple[str, int], Any], ref: tuple[str, int, int], where: str) -> KerasTensor:
    name, index, tindex = ref
    leaves = pytree.tree_leaves(outputs_of[(name, index)])
    if tindex >= len(leaves):
        raise ValueError(f"{where}: layer '{name}' call {index} has {len(leaves)} output(s); the config asks for "
                         f"output {tindex}.")
    return leaves[tindex]


def _encode(obj: Any) -> Any:
    """A node's arguments as Keras writes them: KerasTensors as ``__keras_tensor__`` references,
    slices, ``...``, arrays, tensors and bytes as ``__slice__``/``__ellipsis__``/``__numpy__``/
    ``__tensor__``/``__bytes__`` entries; lists, tuples and dicts element by element."""
    if isinstance(obj, KerasTensor):
        op, index, tindex = obj._keras_history
        return {"class_name": "__keras_tensor__",
                "config": {"shape": obj.shape, "dtype": obj.dtype, "keras_history": [op.name, index, tindex]}}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _encode(v) for k, v in obj.items()}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {"start": _encode(obj.start), "stop": _encode(obj.stop),
                                                      "step": _encode(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, torch.Tensor):
        from initium import backend

        return {"class_name": "__tensor__", "config": {"value": obj.detach().cpu().tolist(),
                                                       "dtype": backend.standardize_dtype(obj.dtype)}}
    if isinstance(obj, np.ndarray) and obj.ndim > 0:
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _decode_value(obj: dict[str, Any], where: str) -> Any:
    """The value of a ``__slice__``/``__ellipsis__``/``__numpy__``/``__tensor__``/``__bytes__`` entry."""
    kind, inner = obj["class_name"], obj.get("config")
    if kind == "__ellipsis__":
        return Ellipsis
    if not isinstance(inner, dict):
        raise ValueError(f"{where}: a {kind} entry needs a 'config' dict. Received: {type(inner).__name__}")
    if kind == "__slice__":
        bounds = [inner.get(k) for k in ("start", "stop", "step")]
        if not all(b is None or type(b) is int for b in bounds):
            raise ValueError(f"{where}: a slice's start/stop/step must be integers or null. Received: {bounds}")
        return slice(*bounds)
    if kind == "__bytes__":
        if not isinstance(inner.get("value"), str):
            raise ValueError(f"{where}: a __bytes__ entry's value must be a string.")
        return inner["value"].encode("utf-8")
    from initium import backend
    from initium.layers.serialization import check_numeric_array

    value = check_numeric_array(inner.get("value"), inner.get("dtype"), where)
    return backend.to_tensor(value, device="cpu") if kind == "__tensor__" else value


_VALUE_KINDS = ("__slice__", "__ellipsis__", "__numpy__", "__tensor__", "__bytes__")


def _resolve(obj: Any, outputs_of: dict[tuple[str, int], Any], where: str) -> Any:
    """A node's arguments with each ``__keras_tensor__`` replaced by the tensor it names (and the
    other special entries by their values)."""
    if isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__":
        inner = obj.get("config")
        ref = _history(inner.get("keras_history") if isinstance(inner, dict) else None, where)
        if ref[:2] not in outputs_of:
            raise _NotYet
        return _tensor(outputs_of, ref, where)
    if isinstance(obj, dict) and obj.get("class_name") in _VALUE_KINDS:
        return _decode_value(obj, where)
    if isinstance(obj, dict):
        return {k: _resolve(v, outputs_of, where) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_resolve(v, outputs_of, where) for v in obj]
    return obj


def _endpoints(spec: Any, outputs_of: dict[tuple[str, int], Any], key: str) -> Any:
    """``input_layers``/``output_layers``: a triple, or lists/dicts of triples, as tensors."""
    from initium.layers.serialization import MAX_STRUCTURE_DEPTH, structure_depth

    if structure_depth(spec) > MAX_STRUCTURE_DEPTH or not isinstance(spec, (list, dict)) or not spec:
        raise ValueError(f"A functional config's '{key}' must be [layer_name, node_index, tensor_index] or a "
                         f"list/dict of them. Received: {type(spec).__name__}")

    def walk(e: Any) -> Any:
        if isinstance(e, list) and len(e) == 3 and isinstance(e[0], str):
            ref = _history(e, f"'{key}'")
            if ref[:2] not in outputs_of:
                raise ValueError(f"Model config is inconsistent: '{key}' names layer '{ref[0]}' call {ref[1]}, "
                                 "which the config never makes.")
            return _tensor(outputs_of, ref, f"'{key}'")
        if isinstance(e, list):
            return [walk(x) for x in e]
        if isinstance(e, dict):
            return {k: walk(v) for k, v in e.items()}
        raise ValueError(f"A functional config's '{key}' holds {e!r}; expected [layer_name, node_index, "
                         "tensor_index] triples.")

    return walk(spec)
