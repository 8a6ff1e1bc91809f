"""Parity of ``initium.ops`` core ops (casts, conversion, control flow, scatter/slice, custom
gradients) with Keras 3 on its torch backend, plus the places where initium deliberately differs.

Functions handed to control-flow ops use only torch operators (``+``, ``*``, ``.sum()``), so the
same function object runs under both libraries.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from ops_harness import Case, Sym, arr, params, positive, run_case, run_symbolic

keras = pytest.importorskip("keras")
from keras import ops as kops  # noqa: E402

from initium import KerasTensor  # noqa: E402
from initium import ops as iops  # noqa: E402

FAMILIES = ("core", "math", "linalg", "einops")


def _add(c, x):
    return c + x, c * 2


def _add_pair(a, b):
    return a + b


def _sum_tree(a, b):
    return [a[0] + b[0], a[1] * b[1]]


TABLE = {
    "cast": [
        Case((arr((2, 3)), "int32"), note="float -> int truncates toward zero"),
        Case((arr((4,), "int32"), "bool")),
        Case((arr((2, 2), "bool"), "float32")),
        Case((np.float32(2.7), "int8"), note="0-d"),
        Case((arr((0, 3)), "float16"), note="empty"),
        Case((arr((3,)), "float64")),
        Case((arr((3,)), "not_a_dtype"), raises=True),
    ],
    "saturate_cast": [
        Case((np.array([-1.0, 256.0, 1e30, -np.inf, np.inf, 3.7], "float32"), "uint8")),
        Case((np.array([1e30, -1e30, 200.5, -3.7], "float32"), "int8")),
        Case((np.array([1e30, -1e30, 3.7, np.inf], "float32"), "int16")),
        Case((np.array([1e6, -1e6, 1.5], "float32"), "float16")),
        Case((np.array([1e30, -1e30, 3.7], "float32"), "bfloat16")),
        Case((np.array([2 ** 31 - 1, -2 ** 31, 300, -5]), "int32"), note="int64 -> int32"),
        Case((np.array([300, -5, 7], "int32"), "uint8")),
        Case((np.array([2.0, 0.0, -1.0, 0.5], "float32"), "bool"), note="clips to [0, 1] first, as Keras"),
        Case((arr((3,), "bool"), "int8")),
        Case((np.array([7e4, -7e4, 2.5], "float64"), "float16")),
        Case((arr((0, 2)), "int8"), note="empty"),
        Case((arr((3,)), "nope"), raises=True),
    ],
    "convert_to_tensor": [
        Case(([1, 2, 3],)),
        Case(([1, 2.5],)),
        Case(([[True, False]],)),
        Case((3,)),
        Case((2 ** 40,), note="a Python int beyond 32 bits is int64"),
        Case((2.5,)),
        Case((np.float64(2.5),), note="a numpy scalar stays 0-d"),
        Case((arr((2, 3), "float64"),)),
        Case((arr((2,), "int32"),), {"dtype": "float32"}),
        Case((arr((0, 2)),)),
        Case((np.array([1, 2], "uint8"),)),
        Case(([1, 2],), {"sparse": True}, raises=True),
        Case(([1, 2],), {"ragged": True}, raises=True),
    ],
    "convert_to_numpy": [
        Case((arr((2, 3)),)),
        Case((arr((3,), "int32"),)),
        Case((arr((2,), "bool"),)),
        Case(([1.0, 2.0],)),
    ],
    "is_tensor": [Case((arr((2,)),)), Case((torch.ones(2),)), Case((3.0,))],
    "shape": [Case((arr((2, 3)),)), Case((arr((0, 4, 1)),)), Case((np.float32(1.0),))],
    "dtype": [Case((arr((2,), "int32"),)), Case((arr((2,), "float64"),)), Case((np.zeros(2, "uint32"),)),
              Case((torch.ones(2, dtype=torch.bfloat16),))],
    "cond": [
        Case((True, lambda: torch.ones(2), lambda: torch.zeros(2))),
        Case((np.array(False), lambda: torch.ones(2), lambda: torch.zeros(2)), note="array predicate"),
        Case((torch.tensor(0), lambda: 1, lambda: 2), note="Python results pass through"),
    ],
    "while_loop": [
        Case((lambda i: i < 10, lambda i: i + 1, 0), note="one loop variable, returned bare"),
        Case((lambda i, s: i < 5, lambda i, s: (i + 1, s * 2.0), (0, np.float32(1.5)))),
        Case((lambda i, s: i < 5, lambda i, s: [i + 1, s + i], [0, arr((2, 2))]), note="list in, tuple out"),
        Case((lambda i: i < 100, lambda i: i + 1, 0), {"maximum_iterations": 7}),
        Case((lambda i: i < 0, lambda i: i + 1, np.int32(3)), note="zero iterations"),
    ],
    "fori_loop": [
        Case((0, 10, lambda i, v: v + i, 0), note="Python init stays Python"),
        Case((2, 5, lambda i, v: v * 2, arr((2, 3)))),
        Case((3, 3, lambda i, v: v + 1, arr((2,))), note="empty range"),
    ],
    "scan": [
        Case((_add, np.float32(0.0), arr((5,)))),
        Case((_add, arr((3,)), arr((4, 3))), {"reverse": True}),
        Case((lambda c, x: (c + x[0] * x[1], x[0]), np.float32(1.0), (arr((4,)), arr((4,)))), note="tuple xs"),
        Case((lambda c, x: (c + 1, c), np.int32(0)), {"length": 3}, note="no xs"),
        Case((lambda c, x: (c + x, None), np.float32(0.0), arr((3,))), note="y=None stacks zeros, as Keras"),
        Case((lambda c, x: ({"a": c["a"] + x}, c["a"]), {"a": np.float32(0.0)}, arr((3,))), note="dict carry"),
        Case((_add, 0.0), raises=True, note="no xs and no length"),
        Case((_add, 0.0, arr((3,))), {"unroll": 0}, raises=True),
        Case((3, 0.0, arr((3,))), raises=True, note="f not callable"),
        Case((_add, np.float32(0.0), arr((0,))), raises=True, note="Keras cannot stack an empty scan"),
    ],
    "map": [
        Case((lambda x: x * 2, arr((4, 3)))),
        Case((lambda x: x.sum(), arr((3, 2), "int32"))),
        Case((lambda x: {"s": x[0] + x[1], "d": x[0] - x[1]}, (arr((3,)), arr((3,)))), note="nested in and out"),
        Case((lambda x: x * 2, arr((0, 3))), raises=True, note="Keras cannot map an empty axis"),
    ],
    "vectorized_map": [
        Case((lambda x: x.sum(), torch.tensor(arr((3, 2))))),
        Case((lambda xs: xs[0] * xs[1], [torch.tensor(arr((4, 2))), torch.tensor(arr((4, 2)))])),
        Case((lambda x: torch.matmul(x, x.T), torch.tensor(arr((2, 3, 3))))),
    ],
    "switch": [
        Case((1, [lambda x: x + 1, lambda x: x - 1], arr((2,)))),
        Case((5, [lambda x: x + 1, lambda x: x - 1], arr((2,))), note="index clipped to the last branch"),
        Case((-3, [lambda x, y: x + y, lambda x, y: x * y], arr((2,)), arr((2,))), note="clipped to 0"),
        Case((np.int32(1), [lambda x: x + 1, lambda x: x * 10], arr((3,), "int32"))),
    ],
    "associative_scan": [
        Case((_add_pair, arr((5,)))),
        Case((_add_pair, arr((8, 3))), {"axis": 1}),
        Case((_add_pair, arr((6, 2))), {"reverse": True}),
        Case((lambda a, b: a * b, positive((7,))), note="products"),
        Case((_sum_tree, [arr((4,)), positive((4,))]), note="a list of arrays"),
        Case((_add_pair, arr((1, 3))), note="a single element"),
        Case((_add_pair, [arr((3,)), arr((4,))]), raises=True, note="different lengths"),
        Case(("f", arr((3,))), raises=True, note="f not callable"),
    ],
    "scatter": [
        Case((np.array([[0, 1], [1, 1]]), arr((2,)), (2, 2))),
        Case((np.array([[0], [0], [2]]), arr((3,)), (4,)), note="repeated index adds"),
        Case((np.array([[1], [0]]), arr((2, 3)), (3, 3)), note="rows"),
        Case(([[0, 1], [1, 0]], [1, 2], (2, 2)), note="lists: int32"),
        Case((np.array([[0], [0]]), np.array([True, True]), (3,))),
        Case((np.zeros((0, 1), "int64"), arr((0,)), (3,)), note="no updates"),
    ],
    "scatter_update": [
        Case((arr((4, 3)), np.array([[0, 1], [3, 2]]), arr((2,)))),
        Case((arr((4, 3)), np.array([[1], [2]]), arr((2, 3))), note="whole rows"),
        Case((arr((4,)), np.array([[0], [0], [1]]), arr((3,))), {"reduction": "add"}),
        Case((arr((4,)), np.array([[0], [0], [-1]]), arr((3,))), {"reduction": "max"}, note="repeat and negative"),
        Case((arr((4,)), np.array([[0], [0], [1]]), arr((3,))), {"reduction": "MIN"}, note="case-insensitive"),
        Case((arr((3, 2)), np.array([[0], [0]]), arr((2, 2))), {"reduction": "mul"}),
        Case((arr((3,), "int32"), np.array([[1]]), np.array([2.7], "float32")), note="updates cast to inputs"),
        Case((arr((3,), "bool"), np.array([[0], [1]]), np.array([True, False])), {"reduction": "max"}),
        Case((arr((3,)), np.array([[1]]), arr((1,))), {"reduction": "avg"}, raises=True),
    ],
    "slice": [
        Case((arr((5, 4)), [1, 0], [2, 4])),
        Case((arr((5, 4)), (3, 1), (5, 2)), note="past the end is clipped"),
        Case((np.arange(10), np.array([2]), np.array([3])), note="array starts"),
        Case((arr((2, 3), "int32"), [0, 0], [0, 3]), note="empty result"),
    ],
    "slice_update": [
        Case((arr((5, 5)), [3, 3], np.ones((2, 2), "float32"))),
        Case((arr((4, 3), "int32"), [1, 0], arr((2, 3), "int32"))),
        Case((arr((4,)), np.array([1]), arr((2,))), note="array starts"),
        Case((arr((4,)), [0], arr((0,))), note="empty update"),
    ],
    "stop_gradient": [Case((torch.ones(2, 3),)), Case((torch.tensor([1, 2]),))],
    "unstack": [  # tensors: Keras's torch backend calls .unbind() on the raw input
        Case((torch.tensor(arr((3, 2))),), note="a tuple of tensors"),
        Case((torch.tensor(arr((2, 4), "int32")),), {"axis": 1}),
        Case((torch.tensor(arr((2, 3, 2))),), {"num": 3, "axis": -2}),
        Case((torch.zeros(0, 2),), note="empty axis: no tensors"),
    ],
}


@pytest.mark.parametrize("name,case", params(TABLE))
def test_matches_keras(name, case):
    run_case(name, case)


SYMBOLIC = [
    ("cast", (Sym((None, 3)), "int32"), {}),
    ("saturate_cast", (Sym((None, 3)), "uint8"), {}),
    ("convert_to_tensor", (Sym((None, 2), "int32"),), {"dtype": "float32"}),
    ("cond", (Sym((), "bool"), lambda: torch.ones(3), lambda: torch.zeros(3)), {}),
    ("while_loop", (lambda i, x: i < 3, lambda i, x: (i + 1, x * 2), (Sym((), "int32"), Sym((None, 2)))), {}),
    ("fori_loop", (0, 4, lambda i, v: v + 1, Sym((None, 3))), {}),
    ("scan", (_add, Sym((3,)), Sym((None, 3))), {}),
    ("scan", (_add, Sym((3,)), Sym((5, 3))), {}),
    ("map", (lambda x: x.sum(-1), Sym((None, 4, 3))), {}),
    ("vectorized_map", (lambda x: x * 2, Sym((7, 3))), {}),
    ("switch", (1, [lambda x: x + 1, lambda x: x - 1], Sym((None, 2))), {}),
    ("associative_scan", (_add_pair, Sym((5, None))), {}),
    ("scatter", (Sym((None, 2), "int32"), Sym((None,))), {"shape": (4, 4)}),
    ("scatter_update", (Sym((None, 3)), Sym((2, 2), "int32"), Sym((2,))), {}),
    ("slice", (Sym((None, 5)), [0, 1], [2, -1]), {}),
    ("slice_update", (Sym((None, 5)), [0, 1], Sym((1, 2))), {}),
    ("stop_gradient", (Sym((None, 3)),), {}),
    ("unstack", (Sym((None, 3)),), {"axis": 1}),
    ("unstack", (Sym((None, 3)),), {"num": 2}),
]


@pytest.mark.parametrize("name,args,kwargs", SYMBOLIC, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SYMBOLIC)])
def test_symbolic_matches_keras(name, args, kwargs):
    run_symbolic(name, *args, **kwargs)


def test_unstack_of_unknown_size_needs_num():
    with pytest.raises(ValueError, match="num"):
        iops.unstack(KerasTensor((None, 3)))


def test_cond_branches_must_agree_symbolically():
    with pytest.raises(ValueError, match="same kind"):
        iops.cond(KerasTensor((), "bool"), lambda: torch.ones(3), lambda: torch.ones(4))


def test_symbolic_ops_record_their_keras_classes():
    x = KerasTensor((None, 3))
    y = iops.cast(x, "float16")
    op = y._keras_history[0]
    assert type(op).__name__ == "Cast" and op.get_config()["dtype"] == "float16"
    z = iops.convert_to_tensor(x, dtype="float")  # standardized as Keras does
    assert z.dtype == "float32" and z._keras_history[0].get_config()["dtype"] == "float32"
    carry, ys = iops.scan(_add, KerasTensor((3,)), KerasTensor((None, 3)))
    assert type(carry._keras_history[0]).__name__ == "Scan" and ys.shape == (None, 3)


# ------------------------------------------------------------------------------------- gradients
def _log1pexp(lib):
    @lib.custom_gradient
    def log1pexp(x):
        e = torch.exp(x)

        def grad(*args, upstream=None):
            return upstream * (1.0 - 1.0 / (1.0 + e))

        return torch.log(1.0 + e), grad

    return log1pexp


def _grad_of(fn, *values):
    xs = [torch.tensor(v, requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [x.grad for x in xs]


def test_custom_gradient_matches_keras():
    x = arr((3, 2))
    ours = _grad_of(_log1pexp(iops), x)
    theirs = _grad_of(_log1pexp(kops), x)
    torch.testing.assert_close(ours[0], theirs[0])
    torch.testing.assert_close(ours[0], torch.sigmoid(torch.tensor(x)))
    torch.testing.assert_close(_log1pexp(iops)(torch.tensor(x)), _log1pexp(kops)(torch.tensor(x)))


def test_custom_gradient_is_used_instead_of_autograd():
    @iops.custom_gradient
    def clipped_identity(x, scale):
        def grad(x_, scale_, upstream):
            return upstream * 0.5, upstream * 0.0

        return x * scale, grad

    x, s = torch.ones(3, requires_grad=True), torch.tensor(4.0, requires_grad=True)
    out = clipped_identity(x, s)
    out.sum().backward()
    assert torch.equal(out.detach(), torch.full((3,), 4.0))
    assert torch.equal(x.grad, torch.full((3,), 0.5)), "the custom gradient, not d(x*s)/dx = 4"
    assert s.grad.item() == 0.0


def test_custom_gradient_nested_output_and_non_tensor_args():
    @iops.custom_gradient
    def f(x, power):
        def grad(x_, power_, upstream):
            return 2 * upstream["sq"] + 3 * upstream["cube"], None

        return {"sq": x ** power, "cube": x ** 3}, grad

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    out = f(x, 2)
    assert set(out) == {"sq", "cube"}
    (out["sq"].sum() + out["cube"].sum()).backward()
    assert torch.equal(x.grad, torch.full((2,), 5.0))


def test_custom_gradient_accepts_a_jax_style_grad_fn():
    @iops.custom_gradient
    def double(x):
        return x * 2, lambda upstream: upstream * 7

    x = torch.ones(2, requires_grad=True)
    double(x).sum().backward()
    assert torch.equal(x.grad, torch.full((2,), 7.0))


def test_custom_gradient_checks_what_f_returns():
    bad = iops.custom_gradient(lambda x: x * 2)
    with pytest.raises(ValueError, match="pair"):
        bad(torch.ones(2))

    @iops.custom_gradient
    def wrong_count(x, y):
        return x + y, lambda x_, y_, upstream: upstream

    out = wrong_count(torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True))
    with pytest.raises(ValueError, match="1 gradient"):
        out.sum().backward()


def test_custom_gradient_on_keras_tensors_runs_forward():
    @iops.custom_gradient
    def double(x):
        return x * 2, lambda upstream: upstream * 2

    y = double(KerasTensor((None, 2)))
    assert isinstance(y, KerasTensor) and y.shape == (None, 2)


def test_control_flow_keeps_autograd():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    carry, ys = iops.scan(lambda c, v: (c * v, c), torch.tensor(1.0), x)
    total = iops.fori_loop(0, 3, lambda i, v: v * x, torch.ones(2)).sum() + carry + ys.sum()
    total.backward()
    # d/dx of (x0^3 + x1^3) + x0*x1 + (1 + x0) = 3x^2 + [x1 + 1, x0]
    assert torch.allclose(x.grad, torch.tensor([3.0 + 2.0 + 1.0, 12.0 + 1.0]))


# ------------------------------------------------------------------------------------- deliberate differences
def test_saturate_cast_saturates_to_int32_where_keras_overflows():
    # Keras clips float32 at 2**31 (float32 cannot hold 2**31 - 1) and the cast then wraps to
    # -2**31; initium steps the limit toward zero, to the largest float32 below 2**31.
    x = np.array([1e10, -1e10, np.inf, -np.inf, 7.9], "float32")
    out = iops.saturate_cast(x, "int32")
    assert out.tolist() == [2147483520, -2147483648, 2147483520, -2147483648, 7]
    assert kops.saturate_cast(x, "int32").tolist()[0] == -2147483648  # the Keras overflow this avoids
    big = iops.saturate_cast(np.array([1e300, -1e300]), "int64")
    assert big.tolist() == [9223372036854774784, -9223372036854775808]
    wide = iops.saturate_cast(np.array([-5.0, 5e9], "float32"), "uint32")  # Keras: 2**32, out of range
    assert wide.tolist() == [0, 4294967040]
    half = torch.tensor([6e4, -6e4], dtype=torch.float16)  # float16 rounds 32767 up to 32768
    assert iops.saturate_cast(half, "int16").tolist() == [32752, -32768]
    assert kops.saturate_cast(half, "int16").tolist() == [-32768, -32768]


def test_associative_scan_keeps_the_input_dtype():
    # Keras's torch backend builds its interleaving buffers as float32, so int and float64 scans come
    # back float32 there (and bool ones fail); the scan's result type is the input's.
    ints = iops.associative_scan(_add_pair, np.arange(6, dtype="int32"))
    assert ints.dtype == torch.int32 and ints.tolist() == [0, 1, 3, 6, 10, 15]
    wide = iops.associative_scan(_add_pair, np.arange(5, dtype="float64"))
    assert wide.dtype == torch.float64 and wide.tolist() == [0.0, 1.0, 3.0, 6.0, 10.0]
    flags = iops.associative_scan(lambda a, b: a | b, np.array([False, True, False]))
    assert flags.tolist() == [False, True, True]
    with pytest.raises(ValueError, match="scalar"):  # Keras: IndexError
        iops.associative_scan(_add_pair, np.float32(1.0))


def test_slice_size_minus_one_takes_the_rest():
    # Keras's symbolic rule reads -1 as "to the end"; its torch eager path returns an empty slice.
    x = np.arange(10)
    assert iops.slice(x, [2], [-1]).tolist() == list(range(2, 10))
    assert iops.slice(x, np.array([7]), [-1]).tolist() == [7, 8, 9]


def test_numpy_inputs_are_accepted_where_keras_needs_tensors():
    # Keras's torch backend calls .detach()/.unbind()/torch.vmap on its raw input.
    x = arr((3, 2))
    assert torch.equal(iops.stop_gradient(x), torch.tensor(x))
    assert [t.tolist() for t in iops.unstack(x)] == x.tolist()
    torch.testing.assert_close(iops.vectorized_map(lambda r: r.sum(), x), torch.tensor(x).sum(1))


def test_vectorized_map_falls_back_to_a_loop():
    # .item() cannot be batched by torch.vmap; the loop gives the same result.
    out = iops.vectorized_map(lambda r: r * float(r.sum().item()), torch.arange(6.0).reshape(3, 2))
    assert out.tolist() == [[0.0, 1.0], [10.0, 15.0], [36.0, 45.0]]


def test_scatter_update_out_of_bounds_index_raises():
    with pytest.raises(IndexError, match="out of bounds"):
        iops.scatter_update(np.zeros(3, "float32"), np.array([[3]]), np.ones(1, "float32"), reduction="max")


# ------------------------------------------------------------------------------------- names and signatures
def _keras_names(family):
    import keras.src.ops as kmods

    module = getattr(kmods, family)
    exported = set(dir(kops))
    return sorted(n for n in exported if getattr(getattr(kops, n), "__module__", "") == module.__name__)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_keras_name_exists_with_keras_signature(family):
    names = _keras_names(family)
    assert names, family
    module = getattr(iops, family)
    assert sorted(module.__all__) == names
    for name in names:
        ours, theirs = getattr(iops, name), getattr(kops, name)
        assert _params(ours) == _params(theirs), name


def test_linalg_namespace_matches_keras():
    names = sorted(n for n in dir(kops.linalg) if not n.startswith("_"))
    assert sorted(iops.linalg.__all__) == names
    for name in names:
        assert _params(getattr(iops.linalg, name)) == _params(getattr(kops.linalg, name)), name


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_shape_dtype_and_numpy_of_keras_tensors_match_keras():
    ours, theirs = KerasTensor((None, 3), "int32"), keras.KerasTensor((None, 3), "int32")
    assert iops.shape(ours) == kops.shape(theirs) == (None, 3)
    assert iops.dtype(ours) == kops.dtype(theirs) == "int32"
    assert iops.is_tensor(ours) is kops.is_tensor(theirs) is False
    with pytest.raises(ValueError):
        kops.convert_to_numpy(theirs)
    with pytest.raises(ValueError):
        iops.convert_to_numpy(ours)
