"""``model_to_dot`` and ``plot_model``: a model's layer graph as a Graphviz drawing (Keras's).

Both need ``pydot`` (imported on first use; ``pydot_ng`` and ``pydotplus`` are accepted too) and
``plot_model`` also the Graphviz ``dot`` program; without them they raise ``ImportError`` with
Keras's message (inside IPython, ``plot_model`` prints it and returns ``None``, as Keras does).
Each layer is a box with Keras's HTML label: the layer's name and class, and optionally its
activation, input/output shapes, output dtype and whether it is trainable. A Sequential is drawn
as a chain; a Functional model from its graph, with nested models as dashed clusters when
``expand_nested``. A subclassed model is one box.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

__all__ = ["model_to_dot", "plot_model"]


def _pydot() -> Any:
    """The pydot module (or a compatible fork), or ``None``."""
    for name in ("pydot", "pydot_ng", "pydotplus"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _graphviz_works(pydot: Any) -> bool:
    try:
        pydot.Dot.create(pydot.Dot())
        return True
    except (OSError, getattr(pydot, "PydotException", OSError)):
        return False


def _check_built(model: Any) -> None:
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by calling "
                         "the model on a batch of data.")


def _check_kwargs(kwargs: dict) -> None:
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")


def _shape_text(shape: Any) -> str:
    if shape is None:
        return "?"
    text = ", ".join(f"{k}: {v}" for k, v in shape.items()) if isinstance(shape, dict) else f"{shape}"
    return text.replace("}", "").replace("{", "")


def _tensor_attr(layer: Any, which: str, attr: str) -> Any:
    """``attr`` (``shape``/``dtype``) of ``layer.input``/``layer.output`` (of each tensor of a
    list/dict of them); ``None`` when the layer has no such tensor."""
    try:
        value = getattr(layer, which)
    except (ValueError, AttributeError, IndexError):
        return None
    if isinstance(value, (list, tuple)):
        return [getattr(v, attr) for v in value]
    if isinstance(value, dict):
        return {k: getattr(v, attr) for k, v in value.items()}
    return getattr(value, attr, None)


def _layer_label(layer: Any, show_layer_names: bool, show_layer_activations: bool, show_dtype: bool,
                 show_shapes: bool, show_trainable: bool) -> str:
    """Keras's HTML-like table label for one layer's box."""
    class_name = type(layer).__name__
    colspan = max(1, int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0))
    title = f"<b>{layer.name}</b> ({class_name})" if show_layer_names else f"<b>{class_name}</b>"
    rows = [f'<tr><td colspan="{colspan}" bgcolor="black"><font point-size="16" color="white">{title}</font></td></tr>']
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        name = getattr(activation, "name", None) or getattr(activation, "__name__", None) or str(activation)
        rows.append(f'<tr><td bgcolor="white" colspan="{colspan}"><font point-size="14">Activation: <b>{name}</b>'
                    "</font></td></tr>")
    cols = []

    def cell(text: str) -> str:
        return f'<td bgcolor="white"><font point-size="14">{text}</font></td>'

    if show_shapes:
        if class_name != "InputLayer":  # an input box shows its output only
            cols.append(cell(f"Input shape: <b>{_shape_text(_tensor_attr(layer, 'input', 'shape'))}</b>"))
        cols.append(cell(f"Output shape: <b>{_shape_text(_tensor_attr(layer, 'output', 'shape'))}</b>"))
    if show_dtype:
        cols.append(cell(f"Output dtype: <b>{_tensor_attr(layer, 'output', 'dtype') or '?'}</b>"))
    if show_trainable and getattr(layer, "weights", None):
        color, text = ("forestgreen", "Trainable") if layer.trainable else ("firebrick", "Non-trainable")
        cols.append(f'<td bgcolor="{color}"><font point-size="14" color="white"><b>{text}</b></font></td>')
    if cols:
        rows.append(f"<tr>{''.join(cols)}</tr>")
    return '<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">' + "".join(rows) + "</table>>"


def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False, show_layer_names: bool = True,
                 rankdir: str = "TB", expand_nested: bool = False, dpi: int = 200, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False, splines: str = "ortho",
                 **kwargs: Any) -> Any:
    """The model as a ``pydot.Dot`` (a ``pydot.Cluster`` when ``subgraph``): one box per layer, one
    edge per connection."""
    _check_built(model)
    pydot = _pydot()
    if pydot is None:
        raise ImportError("You must install pydot (`pip install pydot`) for model_to_dot to work.")
    _check_kwargs(kwargs)
    label = dict(show_layer_names=show_layer_names, show_layer_activations=show_layer_activations,
                 show_dtype=show_dtype, show_shapes=show_shapes, show_trainable=show_trainable)
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        for key, value in (("rankdir", rankdir), ("concentrate", True), ("dpi", dpi), ("splines", splines)):
            dot.set(key, value)
        dot.set_node_defaults(shape="record")
    from initium.models.functional import Functional
    from initium.models.sequential import Sequential

    if not isinstance(model, (Functional, Sequential)):
        dot.add_node(_node(pydot, model, label))
        return dot
    layers = model.layers if isinstance(model, Sequential) else model.operations
    for layer in layers:
        if expand_nested and isinstance(layer, (Functional, Sequential)):
            dot.add_subgraph(model_to_dot(layer, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
                                          subgraph=True, show_layer_activations=show_layer_activations,
                                          show_trainable=show_trainable))
        else:
            dot.add_node(_node(pydot, layer, label))
    for source, destination in _edges(model, layers, expand_nested, Functional, Sequential):
        _add_edge(pydot, dot, source, destination)
    return dot


def _node(pydot: Any, layer: Any, label: dict) -> Any:
    node = pydot.Node(str(id(layer)), label=_layer_label(layer, **label))
    for key, value in (("fontname", "Helvetica"), ("border", "0"), ("margin", "0")):
        node.set(key, value)
    return node


def _add_edge(pydot: Any, dot: Any, source: Any, destination: Any) -> None:
    src, dst = str(id(source)), str(id(destination))
    if not dot.get_edge(src, dst):
        edge = pydot.Edge(src, dst)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _edges(model: Any, layers: list, expand_nested: bool, functional: type, sequential: type) -> list[tuple]:
    """``(source, destination)`` layer pairs; with ``expand_nested``, an edge into or out of a nested
    model is drawn to its first layer (Sequential) or input layer (Functional), or from the layer
    that produces its output."""
    if isinstance(model, sequential):
        if not expand_nested:
            return list(zip(layers, layers[1:]))
        layers = layers[1:]
    in_graph = {id(n) for n in getattr(model, "_nodes", [])}
    edges = []
    for layer in layers:
        for node in layer._inbound_nodes:
            if isinstance(model, functional) and id(node) not in in_graph:
                continue
            for input_index, tensor in enumerate(node.input_tensors):
                source, _, output_index = tensor._keras_history
                destination = layer
                if expand_nested:
                    while isinstance(source, (functional, sequential)):
                        source, _, output_index = source.outputs[output_index]._keras_history
                    while isinstance(destination, (functional, sequential)):
                        destination = (destination.inputs[input_index]._keras_history[0]
                                       if isinstance(destination, functional) else destination.layers[0])
                edges.append((source, destination))
    return edges


def plot_model(model: Any, to_file: str | os.PathLike = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = False, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False, splines: str = "ortho", **kwargs: Any) -> Any:
    """Draw the model (``model_to_dot``) into ``to_file``, in the format of its extension (PNG by
    default); inside Jupyter, also return the image for display."""
    _check_built(model)
    pydot = _pydot()
    for missing, message in ((pydot is None, "You must install pydot (`pip install pydot`) for `plot_model` to work."),
                             (pydot is not None and not _graphviz_works(pydot),
                              "You must install graphviz (see instructions at https://graphviz.gitlab.io/download/) "
                              "for `plot_model` to work.")):
        if missing:
            if "IPython.core.magics.namespace" in sys.modules:
                from initium.utils.io_utils import print_msg

                print_msg(message)
                return None
            raise ImportError(message)
    _check_kwargs(kwargs)
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations, show_trainable=show_trainable, splines=splines)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
    if extension != "pdf":
        try:
            from IPython import display
        except ImportError:
            return None
        return display.Image(filename=to_file)
    return None
