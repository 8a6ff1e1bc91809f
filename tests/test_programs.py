"""Keras 3 programs (tests/programs/) run under real Keras and under initium: same shapes, finite and
decreasing losses, and each program's own checks (see tests/programs/README.md).

A program's ``CHECKS`` may hold three kinds of keys: ``equal`` (numbers that must agree with
Keras's to 1e-5), ``same`` (values that must be identical to Keras's) and ``expected`` (values known
in advance and written in the program, from Keras's documented examples or from how the program
built its data: initium must produce them, and so must Keras whenever it can run the program). A program Keras cannot run on the torch backend is held to its
``expected`` values alone, so it must declare some."""

from __future__ import annotations

import importlib
import math
import numbers
from collections import Counter

import numpy as np
import pytest

from programs_runner import finite_and_decreasing, load_meta, program_paths, run_program

pytest.importorskip("keras")

PATHS = program_paths()
CHECK_KINDS = {"equal", "same", "expected"}
MINIMUM_PER_ISSUE = {13: 15, 14: 25}


def _as_shape(value):
    """A shape, or a nested list of shapes, as nested tuples (torch.Size and lists alike)."""
    if isinstance(value, (list, tuple)):
        return tuple(_as_shape(v) for v in value)
    return value


def _same_shapes(ours, theirs):
    assert set(ours) == set(theirs), f"shapes: keys {sorted(ours)} != Keras's {sorted(theirs)}"
    for k in theirs:
        assert _as_shape(ours[k]) == _as_shape(theirs[k]), f"shapes[{k!r}]: initium {ours[k]} != Keras {theirs[k]}"


def _matches(got, want) -> bool:
    """Whether ``got`` is the documented ``want``: containers item by item, numbers to 1e-5,
    booleans and strings exactly (a bool never passes for a number, nor a number for a bool)."""
    if isinstance(got, np.ndarray):
        got = got.tolist()
    if isinstance(want, dict):
        return isinstance(got, dict) and set(got) == set(want) and all(_matches(got[k], want[k]) for k in want)
    if isinstance(want, (list, tuple)):
        return isinstance(got, (list, tuple)) and len(got) == len(want) and all(map(_matches, got, want))
    if isinstance(want, bool):
        return isinstance(got, (bool, np.bool_)) and bool(got) == want
    if isinstance(want, numbers.Real):
        return (isinstance(got, numbers.Real) and not isinstance(got, (bool, np.bool_))
                and math.isclose(float(got), want, rel_tol=1e-5, abs_tol=1e-6))
    return got == want


def _check_losses(result, who, stem):
    for name, losses in result.get("losses", {}).items():
        assert finite_and_decreasing(list(losses)), f"{stem}: {who} {name} losses {losses}"


def _check_expected(result, checks, who, stem):
    for key, want in checks.get("expected", {}).items():
        assert _matches(result[key], want), f"{stem}: {key}: {who} gives {result[key]!r}, documented {want!r}"


@pytest.fixture
def fresh_sessions():
    """Both libraries' automatic names (``dense_3``, ``variable_6``) start from zero for each
    program, as in a fresh process, and are reset again afterwards for the tests that follow."""
    def clear():
        importlib.import_module("keras").utils.clear_session(free_memory=False)
        importlib.import_module("initium").backend.clear_session()

    clear()
    yield
    clear()


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_program_runs_like_keras(path, fresh_sessions):
    meta = load_meta(path)
    checks = meta.get("CHECKS", {})
    ours = run_program(path, "initium")
    _check_losses(ours, "initium's", path.stem)
    _check_expected(ours, checks, "initium", path.stem)
    if meta.get("KERAS_CANNOT"):
        return
    theirs = run_program(path, "keras")
    _check_losses(theirs, "Keras's own (program bug)", path.stem)
    _check_expected(theirs, checks, "Keras itself (program bug)", path.stem)
    _same_shapes(ours.get("shapes", {}), theirs.get("shapes", {}))
    for key in checks.get("equal", ()):
        np.testing.assert_allclose(np.asarray(ours[key], dtype=float), np.asarray(theirs[key], dtype=float),
                                   rtol=1e-5, atol=1e-6, err_msg=f"{path.stem}: {key}")
    for key in checks.get("same", ()):
        assert ours[key] == theirs[key], f"{path.stem}: {key}: initium {ours[key]!r} != Keras {theirs[key]!r}"


def test_there_are_enough_programs():
    issues = Counter(load_meta(p).get("ISSUE") for p in PATHS)
    assert None not in issues, "every program declares the ISSUE it serves"
    for issue, minimum in MINIMUM_PER_ISSUE.items():
        assert issues[issue] >= minimum, f"issue {issue}: {issues[issue]} programs, at least {minimum} wanted"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_program_declarations_are_well_formed(path):
    meta = load_meta(path)
    checks = meta.get("CHECKS", {})
    assert set(checks) <= CHECK_KINDS, f"{path.stem}: unknown check kinds {sorted(set(checks) - CHECK_KINDS)}"
    if meta.get("KERAS_CANNOT"):
        assert checks.get("expected"), f"{path.stem}: Keras cannot run it, so it must check documented values"


@pytest.mark.parametrize(("got", "want", "ok"), [
    ([[1.0, 2.0000001]], [[1, 2]], True), (np.array([0.5, 1.5]), [0.5, 1.5], True), ([1, 2], [1, 2, 3], False),
    (True, True, True), (1, True, False), (True, 1, False), (np.bool_(False), False, True),
    ({"a": "x", "b": [0.1]}, {"a": "x", "b": [0.1]}, True), ({"a": "x"}, {"a": "y"}, False),
    ("[UNK]", "[UNK]", True), (0.30001, 0.3, False)])
def test_documented_value_matching(got, want, ok):
    assert _matches(got, want) is ok
