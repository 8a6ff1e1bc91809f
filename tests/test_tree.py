"""``initium.tree`` against ``keras.tree`` (torch backend) on a battery of structures."""

from __future__ import annotations

import collections

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from initium import tree  # noqa: E402

NT = collections.namedtuple("NT", "y x")
STRUCTURES = [
    None, 3, "leaf", np.ones(2), [], (), {}, [1, 2], (1, [2, 3]), {"b": 1, "a": [2, (3, None)]},
    collections.OrderedDict([("b", 1), ("a", 2)]), NT(1, [2, 3]), [{"z": 1, "y": (2, 3)}, NT(x=4, y=5)],
    collections.defaultdict(int, {"q": 1, "p": 2}), [None, [None]], ((1,),), [[]],
]


@pytest.mark.parametrize("s", STRUCTURES, ids=[repr(s)[:30] for s in STRUCTURES])
def test_flatten_paths_nesting_and_packing_match_keras(s):
    assert tree.is_nested(s) == keras.tree.is_nested(s)
    assert _same(tree.flatten(s), keras.tree.flatten(s))
    assert _same(tree.flatten_with_path(s), keras.tree.flatten_with_path(s))
    leaves = list(range(len(keras.tree.flatten(s))))
    assert tree.pack_sequence_as(s, leaves) == keras.tree.pack_sequence_as(s, leaves)
    assert _same(tree.lists_to_tuples(s), keras.tree.lists_to_tuples(s))
    double = lambda x: x * 2 if isinstance(x, int) else x  # noqa: E731
    assert _same(tree.map_structure(double, s), keras.tree.map_structure(double, s))
    assert _same(tree.map_structure(double, s, none_is_leaf=False), keras.tree.map_structure(double, s, none_is_leaf=False))


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return type(a) is type(b) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_map_structure_over_several_structures_and_mismatches():
    add = lambda a, b: a + b  # noqa: E731
    assert tree.map_structure(add, [1, (2, 3)], [10, (20, 30)]) == keras.tree.map_structure(add, [1, (2, 3)], [10, (20, 30)])
    for a, b in [([1, 2], [1, (2,)]), ([1, 2], (1, 2)), ({"a": 1}, {"b": 1})]:
        with pytest.raises(ValueError):
            keras.tree.assert_same_structure(a, b)
        with pytest.raises(ValueError):
            tree.assert_same_structure(a, b)
    with pytest.raises(ValueError, match="some arguments are None"):
        tree.map_structure(add, [None, 1], [2, 1], none_is_leaf=False)
    with pytest.raises(ValueError, match="at least one structure"):
        tree.map_structure(add)


def test_assert_same_paths_allows_list_vs_tuple_and_names_the_missing_paths():
    tree.assert_same_paths([1, 2], (3, 4))
    keras.tree.assert_same_paths([1, 2], (3, 4))
    with pytest.raises(ValueError) as ours:
        tree.assert_same_paths({"a": 1}, {"b": 1})
    with pytest.raises(ValueError) as theirs:
        keras.tree.assert_same_paths({"a": 1}, {"b": 1})
    assert str(ours.value) == str(theirs.value)


def test_traverse_top_down_bottom_up_and_map_to_none():
    s = [1, [2, 3], {"b": 4, "a": 5}]
    for fn, top_down in [(lambda x: None, True), (lambda x: tree.MAP_TO_NONE if isinstance(x, int) else None, True),
                         (lambda x: 7 if isinstance(x, list) and len(x) == 2 else None, False),
                         (lambda x: "cut" if isinstance(x, dict) else None, True)]:
        theirs_fn = (lambda f: (lambda x: keras.tree.MAP_TO_NONE if f(x) is tree.MAP_TO_NONE else f(x)))(fn)
        assert tree.traverse(fn, s, top_down=top_down) == keras.tree.traverse(theirs_fn, s, top_down=top_down)


def test_map_structure_up_to_and_shapes():
    f = lambda x: len(x) if isinstance(x, (list, tuple)) else x  # noqa: E731
    assert tree.map_structure_up_to([0, 0], f, [[1, 2], (3, 4, 5)]) == \
        keras.tree.map_structure_up_to([0, 0], f, [[1, 2], (3, 4, 5)])
    shapes = {"b": (None, 3), "a": [(1, 2), (4,)]}
    g = lambda s: tuple(reversed(s))  # noqa: E731
    assert tree.map_shape_structure(g, shapes) == keras.tree.map_shape_structure(g, shapes)


def test_pack_sequence_as_checks_the_count():
    with pytest.raises(ValueError, match="has 2 leaves"):
        tree.pack_sequence_as([0, 0], [1, 2, 3])


def test_every_keras_tree_name_exists():
    names = {n for n in dir(keras.tree) if not n.startswith("_")}
    assert names <= set(dir(tree)), sorted(names - set(dir(tree)))
