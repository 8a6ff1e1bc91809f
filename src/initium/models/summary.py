"""``Model.summary()``: Keras's table plus the initializer of each layer's kernel and bias."""

from __future__ import annotations

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


def print_summary(model: Any, print_fn: Callable[..., Any] | None = None, line_length: int | None = None,
                  show_trainable: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f'Model: "{model.name}"', title_justify="left")
    table.add_column("Layer (type)")
    table.add_column("Output Shape")
    table.add_column("Param #", justify="right")
    table.add_column("Kernel init")
    table.add_column("Bias init")
    connected = _needs_connections(model)
    if connected:
        table.add_column("Connected to")
    if show_trainable:
        table.add_column("Trainable")
    for layer in model.layers:
        params = f"{sum(int(v.numel()) for v in layer.weights):,}" if layer.built else "0 (unbuilt)"
        k, b = _inits(layer)
        row = [f"{layer.name} ({type(layer).__name__})", _output_shape(layer), params, k, b]
        if connected:
            row.append(_connections(layer, model))
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
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
