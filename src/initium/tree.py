"""``keras.tree``: nested structures (lists, tuples, namedtuples, dicts) on torch's pytree.

The conventions are Keras 3's on torch: plain ``dict`` (and ``defaultdict``) children are visited in
sorted key order, whatever their insertion order (an ``OrderedDict`` keeps its own order); ``None``
is a leaf; a list and a tuple are different structures for ``assert_same_structure`` but the same
paths for ``assert_same_paths``. Everything else (tensors, arrays, strings, numbers) is a leaf.
"""

from __future__ import annotations

import collections
import warnings
from typing import Any, Callable

from torch.utils import _pytree as pytree

__all__ = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path", "is_nested",
           "lists_to_tuples", "map_shape_structure", "map_structure", "map_structure_up_to", "pack_sequence_as",
           "traverse", "register_tree_node_class"]


class MAP_TO_NONE:  # noqa: N801  (Keras's name)
    """Return this class from a ``traverse`` function to put ``None`` in the output there."""


def _is_leaf(x: Any, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    if is_leaf is not None and is_leaf(x):
        return True
    return pytree._get_node_type(x) not in pytree.SUPPORTED_NODES


def is_nested(structure: Any) -> bool:
    """True for a list, tuple, namedtuple, dict or other registered container."""
    return not _is_leaf(structure)


def _children(structure: Any) -> tuple[list[Any], Any]:
    """One level: the direct children and the spec to rebuild the container from them."""
    return pytree.tree_flatten(structure, is_leaf=lambda x: x is not structure)


def _sorted_dicts(structure: Any) -> Any:
    """``structure`` with every plain dict / defaultdict rebuilt in sorted key order."""
    if _is_leaf(structure):
        return structure
    if type(structure) is dict:
        return {k: _sorted_dicts(structure[k]) for k in sorted(structure)}
    if type(structure) is collections.defaultdict:
        return collections.defaultdict(structure.default_factory,
                                       {k: _sorted_dicts(structure[k]) for k in sorted(structure)})
    children, spec = _children(structure)
    return pytree.tree_unflatten([_sorted_dicts(c) for c in children], spec)


def flatten(structure: Any) -> list[Any]:
    """The leaves of ``structure``, depth first, dict keys sorted. A leaf flattens to ``[leaf]``."""
    if _is_leaf(structure):
        return [structure]
    return pytree.tree_leaves(_sorted_dicts(structure))


def flatten_with_path(structure: Any) -> list[tuple[tuple, Any]]:
    """``(path, leaf)`` pairs; a path is the tuple of indices and keys from the root to the leaf.
    Namedtuple fields appear as their index in the sorted list of field names seen."""
    pairs, _ = pytree.tree_flatten_with_path(_sorted_dicts(structure))
    fields = sorted({k.name for path, _ in pairs for k in path if isinstance(k, pytree.GetAttrKey)})
    position = {name: i for i, name in enumerate(fields)}
    out = []
    for path, leaf in pairs:
        keys = []
        for k in path:
            if isinstance(k, pytree.SequenceKey):
                keys.append(k.idx)
            elif isinstance(k, pytree.MappingKey):
                keys.append(k.key)
            elif isinstance(k, pytree.GetAttrKey):
                keys.append(position[k.name])
        out.append((tuple(keys), leaf))
    return out


def _mismatch(*_: Any) -> None:
    raise ValueError("Structures don't have the same nested structure.")


def map_structure(func: Callable[..., Any], *structures: Any, none_is_leaf: bool = True) -> Any:
    """``func`` applied leaf by leaf to structures of the same shape; the output has their shape.
    With ``none_is_leaf=False``, ``None`` leaves are kept as ``None`` (and must be ``None`` in all)."""
    if not structures:
        raise ValueError("Must provide at least one structure")
    if not callable(func):
        raise TypeError(f"map_structure: `func` must be callable. Received: {func!r}")
    call = func
    if not none_is_leaf:
        def call(*leaves: Any) -> Any:
            if leaves[0] is None:
                if any(leaf is not None for leaf in leaves):
                    raise ValueError("Structure mismatch: some arguments are None, others are not. "
                                     f"Received arguments: {leaves}.")
                return None
            return func(*leaves)
    if len(structures) == 1 and _is_leaf(structures[0]):
        return call(structures[0])
    try:
        return pytree.tree_map(call, *structures)
    except ValueError as e:
        if "Structures don't have" in str(e) or "Structure mismatch" in str(e):
            raise
        raise ValueError(f"map_structure: the structures differ ({e}).") from None


def map_structure_up_to(shallow_structure: Any, func: Callable[..., Any], *structures: Any) -> Any:
    """Like ``map_structure``, but only down to the leaves of ``shallow_structure``: ``func``
    receives the (possibly nested) sub-structures of ``structures`` found there."""
    if not structures:
        raise ValueError("Must provide at least one structure")

    def at_shallow_leaf(shallow: Any, *subs: Any) -> Any:
        if not _is_leaf(shallow):
            _mismatch()
        return func(*subs)

    return pytree.tree_map(at_shallow_leaf, shallow_structure, *structures)


def assert_same_structure(a: Any, b: Any, check_types: Any = None) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same containers, of the same types, in
    the same places (leaves may differ)."""
    if check_types is not None:
        warnings.warn("The `check_types` argument is deprecated and no longer has any effect, please remove "
                      "(assert_same_paths is the looser check).", DeprecationWarning, stacklevel=2)

    def both_leaves(x: Any, y: Any) -> None:
        if not _is_leaf(x) or not _is_leaf(y):
            _mismatch()

    pytree.tree_map(both_leaves, a, b)


def assert_same_paths(a: Any, b: Any) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same leaf paths (container types may differ)."""
    a_paths = {path for path, _ in flatten_with_path(a)}
    b_paths = {path for path, _ in flatten_with_path(b)}
    if a_paths != b_paths:
        msg = "`a` and `b` don't have the same paths."
        if a_paths - b_paths:
            msg += f"\nPaths in `a` missing in `b`:\n{a_paths - b_paths}"
        if b_paths - a_paths:
            msg += f"\nPaths in `b` missing in `a`:\n{b_paths - a_paths}"
        raise ValueError(msg)


def pack_sequence_as(structure: Any, flat_sequence: Any) -> Any:
    """``flat_sequence`` poured into the shape of ``structure`` (dict keys in sorted order)."""
    _, spec = pytree.tree_flatten(_sorted_dicts(structure))
    flat = list(flat_sequence)
    if len(flat) != spec.num_leaves:
        raise ValueError(f"pack_sequence_as: the structure has {spec.num_leaves} leaves, but `flat_sequence` has "
                         f"{len(flat)} elements.")
    return pytree.tree_unflatten(flat, spec)


def traverse(func: Callable[[Any], Any], structure: Any, top_down: bool = True) -> Any:
    """Visit every node (containers and leaves). ``func`` returning ``None`` means "keep going"
    (top-down: descend into the node; bottom-up: keep the node); any other value replaces the
    node (top-down: without descending); ``MAP_TO_NONE`` replaces it with ``None``."""
    structure = _sorted_dicts(structure)

    def children_of(node: Any) -> Any:
        if _is_leaf(node):
            return node
        children, spec = _children(node)
        return pytree.tree_unflatten([traverse(func, c, top_down=top_down) for c in children], spec)

    if top_down:
        out = func(structure)
        if out is None:
            return children_of(structure)
    else:
        rebuilt = children_of(structure)
        out = func(rebuilt)
        if out is None:
            return rebuilt
    return None if out is MAP_TO_NONE else out


def lists_to_tuples(structure: Any) -> Any:
    """``structure`` with every list turned into a tuple, at every depth."""
    return traverse(lambda node: tuple(node) if isinstance(node, list) else None, structure, top_down=False)


def map_shape_structure(func: Callable[[Any], Any], structure: Any) -> Any:
    """``func`` applied to every shape (a list/tuple of ints and ``None``) in ``structure``."""
    def is_shape(x: Any) -> bool:
        return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)

    return pytree.tree_map(func, _sorted_dicts(structure), is_leaf=is_shape)


def register_tree_node_class(cls: type) -> type:
    """Register a container class (with ``torchtree_flatten()`` and a ``torchtree_unflatten`` classmethod)."""
    pytree.register_pytree_node(cls, lambda x: x.torchtree_flatten(), cls.torchtree_unflatten,
                                serialized_type_name=cls.__name__)
    return cls
