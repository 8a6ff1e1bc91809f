"""Every name of Keras 3's ``keras.ops`` (and ``ops.nn``, ``ops.numpy``, ``ops.linalg``, ``ops.image``)
exists in ``initium.ops`` with Keras's signature, and has parity cases in a test table."""

from __future__ import annotations

import inspect
import pathlib
import re

import pytest

keras = pytest.importorskip("keras")

from initium import ops  # noqa: E402

NAMESPACES = ["", "nn", "numpy", "linalg", "image"]
# Names in dir(keras.ops) initium does not provide, each with its reason (none today).
NOT_PROVIDED: dict[str, str] = {}


def _public(module):
    return sorted(n for n in dir(module) if not n.startswith("_") and not inspect.ismodule(getattr(module, n)))


def _ns(lib_ops, name):
    return getattr(lib_ops, name) if name else lib_ops


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_keras_op_exists_with_keras_signature(namespace):
    theirs, ours = _ns(keras.ops, namespace), _ns(ops, namespace)
    missing = [n for n in _public(theirs) if not hasattr(ours, n) and n not in NOT_PROVIDED]
    assert not missing, f"ops.{namespace or ''}: missing {missing}"
    for name in _public(theirs):
        if name in NOT_PROVIDED or not callable(getattr(theirs, name)) or inspect.isclass(getattr(theirs, name)):
            continue
        k_params = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(theirs, name)).parameters.values()]
        i_params = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(ours, name)).parameters.values()]
        assert i_params == k_params, f"ops.{namespace + '.' if namespace else ''}{name}: {i_params} != {k_params}"


def test_the_flat_namespace_matches_keras_origins():
    # A flat name must be the same function as in its family namespace (no shadowing at import).
    for name in _public(keras.ops):
        k = getattr(keras.ops, name)
        family = k.__module__.rsplit(".", 1)[-1] if hasattr(k, "__module__") else ""
        if family in ("numpy", "nn", "linalg", "math", "core", "einops"):
            ours = getattr(getattr(ops, family), name, None)
            assert ours is getattr(ops, name), f"ops.{name} is not ops.{family}.{name}"


def test_every_op_has_parity_cases():
    # Each family's test file names the op: a table key, a run_case/run_symbolic name, or a call `ops.<name>`.
    tests = "\n".join(p.read_text() for p in pathlib.Path(__file__).parent.glob("test_ops_*.py"))
    untested = [f"{ns}.{n}" if ns else n for ns in NAMESPACES for n in _public(_ns(keras.ops, ns))
                if not re.search(rf"[\"']({ns or '[a-z]+'}\.)?{re.escape(n)}[\"']|\.{re.escape(n)}\b", tests)
                and n not in NOT_PROVIDED]
    assert not untested, f"ops without a parity case: {untested}"
