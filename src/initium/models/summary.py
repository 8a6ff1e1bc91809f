"""``Model.summary()``: Keras's table plus the initializer of each layer's kernel and bias.

Keras's arguments, with Keras's meaning: ``line_length``, ``positions`` (the right edge of each
column: fractions of the line when all are <= 1, else absolute character positions, which Keras 3
no longer reads), ``expand_nested`` (nested models' layers follow their row, prefixed with
``"   " * depth + "└ "``), ``show_trainable`` and ``layer_range`` (two names, each a regular
expression for ``re.match``: from the first top-level layer matching the first to the last one
matching the second, inclusive; Keras's errors for anything else).
"""

from __future__ import annotations

import re
from typing import Any, Callable

__all__ = ["print_summary", "describe_initializer"]


def describe_initializer(init: Any) -> str:
    """A short name: ``GlorotUniform``, ``RandomNormal(stddev=0.01)``, ``my_fn``."""
    if init is None:
        return "-"
    if not hasattr(init, "get_config"):
        return getattr(init, "__name__", type(init).__name__)
    cls = type(init)
    try:
        default = cls().get_config()
    except Exception:
        default = {}
    cfg = init.get_config()
    parts = [f"{k}={v!r}" for k, v in cfg.items() if default.get(k, object()) != v and v is not None]
    name = getattr(cls, "_serialize_as", cls.__name__)
    return f"{name}({', '.join(parts)})" if parts else name


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} TB"


def _output_shape(layer: Any) -> str:
    nodes = getattr(layer, "_inbound_nodes", [])
    if nodes:
        out = nodes[-1].outputs
        shapes = [t.shape for t in nodes[-1].output_tensors]
        if len(shapes) == 1 and not isinstance(out, (list, tuple)):
            return str(shapes[0])
        return str(shapes)
    return "?"


def _inits(layer: Any) -> tuple[str, str]:
    own = getattr(layer, "_own_weights", [])
    kernel = next((v for v in own if v.name != "bias"), None)
    bias = next((v for v in own if v.name == "bias"), None)
    return (describe_initializer(kernel.initializer) if kernel is not None else "-",
            describe_initializer(bias.initializer) if bias is not None else "-")


def _needs_connections(model: Any) -> bool:
    """Keras adds "Connected to" for functional models that are not a plain chain."""
    nodes = getattr(model, "_nodes", None)
    if nodes is None:
        return False
    return len(model.inputs) > 1 or len(model.outputs) > 1 or any(
        len(n.input_tensors) != 1 or len(n.layer._inbound_nodes) > 1 for n in nodes)


def _connections(layer: Any, model: Any) -> str:
    in_model = {id(n) for n in model._nodes}
    parts = []
    for node in layer._inbound_nodes:
        if id(node) not in in_model:
            continue
        for t in node.input_tensors:
            src, index, tindex = t._keras_history
            parts.append(f"{src.name}[{index}][{tindex}]")
    return ", ".join(parts) or "-"


def layer_index_range(layers: list, layer_range: Any) -> tuple[int, int]:
    """``(start, stop)`` of the layers ``layer_range`` selects (Keras's rule and errors)."""
    if layer_range is None:
        return 0, len(layers)
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2:
        size = len(layer_range) if hasattr(layer_range, "__len__") else "?"
        raise ValueError(f"layer_range must be a list or tuple of length 2. Received: layer_range = {layer_range} "
                         f"of length {size}")
    if not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    first = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    last = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not first or not last:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. Received: {layer_range}. "
                         f"Layer names: {[layer.name for layer in layers]}")
    if min(first) > max(last):  # Keras's rule for a reversed range
        return min(last), max(first) + 1
    return min(first), max(last) + 1


def column_widths(positions: Any, line_length: int | None, columns: list[str]) -> tuple[list[int], int]:
    """The text width of each column, so that column ``i``'s right border falls at ``positions[i]``
    (fractions of ``line_length``, or absolute), and the line length."""
    if not isinstance(positions, (list, tuple)) or len(positions) != len(columns):
        raise ValueError(f"summary: `positions` must give the right edge of each of the {len(columns)} columns "
                         f"({', '.join(columns)}). Received: positions={positions!r}")
    if not all(isinstance(p, (int, float)) and not isinstance(p, bool) and p > 0 for p in positions):
        raise ValueError(f"summary: `positions` must be positive numbers. Received: positions={positions!r}")
    fractions = all(p <= 1 for p in positions)
    if line_length is None:
        line_length = 120 if fractions else int(positions[-1])
    edges = [int(p * line_length) if fractions else int(p) for p in positions]
    widths = [edge - start for start, edge in zip([0, *edges[:-1]], edges)]
    if min(widths) < 4:
        raise ValueError(f"Insufficient console width to print summary: columns of {widths} characters from "
                         f"positions={list(positions)} and line_length={line_length}; each needs at least 4.")
    # each column spends 3 characters on its padding and right border; the first also on the left border
    return [widths[0] - 4] + [w - 3 for w in widths[1:]], line_length


def _rows(layer: Any, model: Any, connected: bool, show_trainable: bool, expand_nested: bool,
          depth: int = 0) -> list[list[str]]:
    """The row of ``layer`` (a layer of ``model`` when ``depth`` is 0), then, with ``expand_nested``,
    the rows of a nested model's layers."""
    prefix = "   " * depth + "└ " if depth else ""
    weights = getattr(layer, "weights", [])  # an op node (initium.ops.Operation) has none
    params = f"{sum(int(v.numel()) for v in weights):,}" if getattr(layer, "built", True) else "0 (unbuilt)"
    k, b = _inits(layer)
    row = [f"{prefix}{layer.name} ({type(layer).__name__})", _output_shape(layer), params, k, b]
    if connected:  # a nested model's layers are connected inside it, not in `model`: "-" as in Keras
        row.append(_connections(layer, model) if not depth else "-")
    if show_trainable:
        row.append(("Y" if layer.trainable else "N") if weights else "-")
    rows = [row]
    nested = getattr(layer, "layers", None) if expand_nested else None
    for inner in nested or []:
        rows.extend(_rows(inner, model, connected, show_trainable, expand_nested, depth + 1))
    return rows


def print_summary(model: Any, print_fn: Callable[..., Any] | None = None, line_length: int | None = None,
                  positions: Any = None, expand_nested: bool = False, show_trainable: bool = False,
                  layer_range: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    connected = _needs_connections(model)
    columns = ["Layer (type)", "Output Shape", "Param #", "Kernel init", "Bias init"]
    columns += ["Connected to"] * connected + ["Trainable"] * show_trainable
    widths: list[int | None] = [None] * len(columns)
    if positions is not None:
        widths, line_length = column_widths(positions, line_length, columns)
    table = Table(title=f'Model: "{model.name}"', title_justify="left")
    for name, width in zip(columns, widths):
        table.add_column(name, justify="right" if name == "Param #" else "left", width=width)
    layers = getattr(model, "operations", None) or model.layers  # a functional model lists its op nodes too
    start, stop = layer_index_range(layers, layer_range)
    for layer in layers[start:stop]:
        for row in _rows(layer, model, connected, show_trainable, expand_nested):
            table.add_row(*row)
    weights = model.weights
    trainable = [v for v in weights if v.trainable and model.trainable]
    frozen = [v for v in weights if not (v.trainable and model.trainable)]

    def total(vs: list) -> tuple[int, int]:
        return sum(int(v.numel()) for v in vs), sum(int(v.numel()) * v.element_size() for v in vs)

    t_all, t_tr, t_fr = total(weights), total(trainable), total(frozen)
    lines = [f"Total params: {t_all[0]:,} ({_fmt_bytes(t_all[1])})",
             f"Trainable params: {t_tr[0]:,} ({_fmt_bytes(t_tr[1])})",
             f"Non-trainable params: {t_fr[0]:,} ({_fmt_bytes(t_fr[1])})"]
    console = Console(width=line_length or None, record=print_fn is not None)
    if line_length is None and (print_fn is not None or not console.is_terminal):
        console.width = 120  # pipes and logs: wide enough that names and shapes do not wrap
    if print_fn is None:
        console.print(table)
        for line in lines:
            console.print(line)
        return
    with console.capture() as cap:
        console.print(table)
    print_fn(cap.get())
    for line in lines:
        print_fn(line)
