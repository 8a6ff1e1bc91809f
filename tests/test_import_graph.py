"""The package's import graph is layered and has no cycles (docs/DESIGN.md, "Layers").

An AST walk over every module under src/initium finds each ``import``/``from ... import`` of an
initium module, both at module level and inside functions. Every module is given a layer; an
import may only point to the same or a lower layer, and the graph has no cycles. The few imports
that point upward are facades (``Model.fit`` calls the trainer, ``Model.save`` the file format),
taken inside the method that needs them; they are listed below by name, each with its reason,
and are still required to keep the module-level graph acyclic.
"""

from __future__ import annotations

import ast
import importlib
import pathlib
import pkgutil

import pytest

import initium

ROOT = pathlib.Path(initium.__file__).parent

# Lower number = lower layer. A module not listed takes the layer of its closest listed package.
LAYERS: dict[str, int] = {
    # 0: leaves, importing nothing of initium
    "initium.version": 0, "initium.backend": 0, "initium.random": 0, "initium.registry": 0, "initium.symbolic": 0,
    "initium.tree": 0, "initium.random_device": 0, "initium.random_device_triton": 0,
    "initium.distribution": 0,  # torch.distributed only; the trainer, models and BatchNormalization call it
    # 1: the ops, and the math objects that configs name
    "initium.ops": 1, "initium.config": 1, "initium.initializers": 1, "initium.activations": 1, "initium.regularizers": 1,
    "initium.constraints": 1,
    # 2: layers, and what compile takes
    "initium.layers": 2, "initium.losses": 2, "initium.metrics": 2, "initium.optimizers": 2,
    # 3: models
    "initium.models": 3,
    # 4: training
    "initium.training": 4, "initium.callbacks": 4, "initium.callbacks_tensorboard": 4,
    # 5: files
    "initium.saving": 5, "initium.utils": 5,
    # 6: data and the lab
    "initium.datasets": 6, "initium.lab": 6,
    # 7: the package's face; 8: what runs user-style code (`import initium as keras`) and the command line
    "initium": 7, "initium.tour": 8, "initium.__main__": 8, "initium.cli": 8,
}

# (importer, imported): upward imports taken inside a function, each a facade for a user-facing method.
FACADES: dict[tuple[str, str], str] = {
    ("initium.models.model", "initium.training.trainer"): "Model.fit/evaluate/predict run the trainer",
    ("initium.models.model", "initium.saving.keras_format"): "Model.save/save_weights/load_weights",
    ("initium.models", "initium.saving.keras_format"): "models.load_model is Keras's alias of saving.load_model",
    ("initium.training.trainer", "initium.lab.lsuv"): "fit calibrates pending 'lsuv' kernels on its first batch",
    ("initium.symbolic", "initium.ops.numpy"): "Python operators on a KerasTensor (x + 1, x[0]) are ops, as in Keras",
    ("initium.models.model", "initium.models.functional"): "Model(inputs, outputs) builds a Functional, as Keras's Model.__new__",
    ("initium.callbacks", "initium.callbacks_tensorboard"): "callbacks.TensorBoard (module __getattr__): the class "
                                                            "subclasses Callback, so it lives in its own module",
}

# The bottom layer: these import nothing of initium but each other (random asks backend for dtypes).
LEAVES = ("initium.version", "initium.backend", "initium.random", "initium.registry", "initium.symbolic",
          "initium.tree", "initium.random_device", "initium.random_device_triton")


def _modules() -> dict[str, tuple[pathlib.Path, bool]]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


MODULES = _modules()


def _imports(name: str) -> list[tuple[str, bool]]:
    """``(imported module, at module level?)`` for every initium import in ``name``."""
    path, is_pkg = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if is_pkg else name.rpartition(".")[0]
    top_level = set()

    def collect_top(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                top_level.add(id(node))
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
                continue  # annotations only: never executed
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for block in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", []),
                              *[h.body for h in getattr(node, "handlers", [])]):
                    collect_top(block)

    collect_top(tree.body)
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names]
        else:
            continue
        for target in targets:
            if target in MODULES and target != name:
                found.append((target, id(node) in top_level))
    return found


def _layer(name: str) -> int:
    probe = name
    while probe not in LAYERS:
        if "." not in probe:
            raise AssertionError(f"{name} has no layer: add it (or its package) to LAYERS in {__file__}")
        probe = probe.rpartition(".")[0]
    return LAYERS[probe]


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


EDGES = {name: _imports(name) for name in MODULES}


@pytest.mark.parametrize("name", sorted(set(MODULES) - {"initium.__main__"}))  # __main__ runs the CLI
def test_every_module_imports(name):
    importlib.import_module(name)


def test_module_level_graph_has_no_cycle():
    graph = {n: {t for t, top in EDGES[n] if top} for n in MODULES}
    assert _find_cycle(graph) is None, f"import cycle at module level: {' -> '.join(_find_cycle(graph))}"


def test_whole_graph_without_facades_has_no_cycle():
    graph = {n: {t for t, _ in EDGES[n] if (n, t) not in FACADES} for n in MODULES}
    cycle = _find_cycle(graph)
    assert cycle is None, f"import cycle (counting imports inside functions): {' -> '.join(cycle)}"


def test_imports_point_down_the_layers():
    upward = sorted({(n, t) for n in MODULES for t, _ in EDGES[n] if _layer(t) > _layer(n) and (n, t) not in FACADES})
    assert not upward, "imports that point to a higher layer (move the code, or list a facade with its reason): " + \
        ", ".join(f"{a} ({_layer(a)}) -> {b} ({_layer(b)})" for a, b in upward)


def test_facades_are_lazy_and_still_used():
    for (importer, imported), why in FACADES.items():
        edges = [top for t, top in EDGES.get(importer, []) if t == imported]
        assert edges, f"stale facade entry {importer} -> {imported} ({why}): remove it from FACADES"
        assert not any(edges), f"the facade {importer} -> {imported} must be imported inside the method, not at module level"


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaves_import_nothing_of_initium(leaf):
    outside = sorted({t for t, _ in EDGES[leaf] if t not in LEAVES and (leaf, t) not in FACADES})
    assert not outside, f"{leaf} must stay a leaf; it imports {outside}"


def test_nothing_imports_the_cli():
    users = sorted(n for n in MODULES for t, _ in EDGES[n] if t == "initium.cli" and n != "initium.__main__")
    assert not users, f"only `python -m initium` may import the CLI; also imported by {users}"


def test_the_walk_sees_real_edges():
    # A negative control: the walk must find the registry import that every serializable family makes.
    assert ("initium.registry", True) in EDGES["initium.activations"]
    assert ("initium.training.trainer", False) in EDGES["initium.models.model"]
