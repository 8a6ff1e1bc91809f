"""Parity of ``initium.ops`` math, linalg and einops ops with Keras 3 on its torch backend.

Decompositions (qr, svd, eig, eigh) are compared directly in the table: both libraries call the
same LAPACK routine through torch, which is deterministic, so even the sign/phase choices agree.
Because those outputs are unique only up to sign/phase, ``test_decomposition_invariants`` also
checks what is unique: reconstruction, orthogonality, and the sorted spectra against Keras's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ops_harness import Case, Sym, arr, params, positive, run_case, run_symbolic

keras = pytest.importorskip("keras")
from keras import ops as kops  # noqa: E402

from initium import KerasTensor  # noqa: E402
from initium import ops as iops  # noqa: E402

RNG = np.random.default_rng(7)


def spd(*batch: int, n: int = 3, dtype: str = "float32") -> np.ndarray:
    """A well-conditioned symmetric positive-definite matrix (or a batch of them)."""
    a = RNG.uniform(-1, 1, size=(*batch, n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


def upper(*batch: int, n: int = 3) -> np.ndarray:
    """A well-conditioned upper-triangular matrix."""
    return (np.triu(RNG.uniform(-1, 1, size=(*batch, n, n))) + 2 * np.eye(n)).astype("float32")


def pair(*shape: int, dtype: str = "float32") -> tuple:
    return arr(shape, dtype), arr(shape, dtype)


def _sin(x):
    return torch.sin(x) * 2


def _sin_aux(x, y):
    return torch.sin(x) * y, x.sum()


MATH = {
    "cdist": [
        Case((arr((3, 2)), arr((4, 2)))),
        Case((arr((2, 3, 5)), arr((2, 4, 5))), note="batched"),
        Case((arr((1, 3, 2)), arr((5, 4, 2))), note="broadcast batch"),
        Case((arr((3, 2), "int32"), arr((2, 2), "int32"))),
        Case((arr((0, 2)), arr((3, 2))), note="empty"),
        Case((arr((3,)), arr((3, 3))), raises=True, note="rank 1"),
        Case((arr((3, 2)), arr((3, 3))), raises=True, note="last axes differ"),
        Case((arr((3, 2), "bool"), arr((3, 2), "bool")), raises=True, note="torch cannot subtract bools"),
    ],
    "erf": [Case((arr((2, 3)),)), Case((arr((4,), "int32"),)), Case((arr((3,), "bool"),)),
            Case((np.float32(0.3),)), Case((arr((0, 2)),)), Case((arr((3,), "float64"),))],
    "erfc": [Case((arr((2, 3)),)), Case((arr((4,), "int32"),)), Case((np.float32(5.0),)), Case((arr((0,)),))],
    "erfinv": [Case((arr((2, 3), low=-0.99, high=0.99),)), Case((np.array([-1, 0, 1], "int32"),)),
               Case((np.float32(0.5),)), Case((arr((0, 3)),)), Case((arr((4,), "bool"),))],
    "rsqrt": [Case((positive((2, 3)),)), Case((np.array([1, 4, 9], "int32"),)), Case((np.float32(4.0),)),
              Case((arr((0,)),)), Case((positive((3,), "float64"),))],
    "extract_sequences": [
        Case((arr((10,)), 3, 2)),
        Case((arr((2, 10)), 4, 4)),
        Case((arr((2, 3, 9), "int32"), 3, 3)),
        Case((arr((5,)), 5, 1), note="one frame"),
        Case((arr((7,), "bool"), 2, 3)),
        Case((arr((4,)), 5, 1), raises=True, note="frame longer than the signal"),
    ],
    "fft": [Case((pair(8),)), Case((pair(2, 7),)), Case((pair(3, 4, dtype="float64"),)),
            Case(((arr((4,)), arr((5,))),), raises=True, note="shapes differ"),
            Case(((arr((4,), "int32"), arr((4,), "int32")),), raises=True, note="not floats"),
            Case((arr((4,)),), raises=True, note="not a pair")],
    "fft2": [Case((pair(4, 4),)), Case((pair(2, 3, 5),)), Case((pair(3, 2, dtype="float64"),)),
             Case((pair(3),), raises=True, note="rank 1")],
    "ifft2": [Case((pair(4, 4),)), Case((pair(2, 3, 5),)), Case(((arr((2, 2)), arr((2, 3))),), raises=True)],
    "rfft": [Case((arr((8,)),)), Case((arr((2, 7)),), {"fft_length": 8}, note="zero-padded"),
             Case((arr((3, 9)),), {"fft_length": 4}, note="truncated"), Case((arr((6,), "int32"),)),
             Case((arr((6,), "float64"),))],
    "irfft": [Case((pair(5),)), Case((pair(2, 5),), {"fft_length": 9}), Case((pair(3, 4),), {"fft_length": 4}),
              Case((pair(5, dtype="float64"),)), Case(((arr((5,), "int32"), arr((5,), "int32")),), raises=True)],
    "stft": [
        Case((arr((64,)), 16, 8, 16)),
        Case((arr((2, 100)), 10, 5, 16), {"window": "hamming"}),
        Case((arr((2, 2, 50)), 8, 4, 8), {"center": False}, note="3-D batch"),
        Case((arr((40,), "float64"), 8, 3, 8), {"window": None}),
        Case((arr((40,)), 6, 2, 8), {"window": np.linspace(0, 1, 6).astype("float32")},
             note="explicit window"),
        Case((arr((40,), "int32"), 8, 4, 8), raises=True, note="integer signal"),
        Case((arr((40,)), 8, 4, 4), raises=True, note="fft_length < sequence_length"),
        Case((arr((40,)), 8, 4, 8), {"window": "blackman"}, raises=True),
        Case((arr((40,)), 8, 0, 8), raises=True, note="stride 0"),
        Case((arr((40,)), 8, 4, 8), {"window": np.ones(5, "float32")}, raises=True, note="window size"),
    ],
    "istft": [
        Case((pair(9, 9), 16, 4, 16), note="torch.istft path"),
        Case((pair(2, 9, 9), 16, 4, 16), {"length": 40}),
        Case((pair(2, 2, 7, 9), 12, 4, 16), note="overlap-add path (window < fft)"),
        Case((pair(6, 5), 8, 4, 8), {"center": False}, note="overlap-add path"),
        Case((pair(6, 5), 8, 4, 8), {"window": None}, note="no window"),
        Case((pair(6, 5, dtype="float64"), 8, 2, 8), {"window": "hamming", "length": 12}),
        Case((pair(6, 5), 8, 0, 8), raises=True, note="stride 0"),
        Case((pair(2, 5), 8, 16, 8), {"center": False}, raises=True, note="stride longer than a frame"),
    ],
    "in_top_k": [
        Case((np.array([0, 3, 1]), arr((3, 5)), 1)),
        Case((np.array([0, 3, 1], "int32"), arr((3, 5)), 3)),
        Case((np.array([1, 0]), np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]], "float32"), 1), note="ties count"),
        Case((np.array([2, 0]), arr((2, 4), "int32"), 2)),
        Case((np.array([0]), arr((1, 3), "bool"), 1), raises=True, note="torch topk refuses bools"),
    ],
    "top_k": [
        Case((arr((6,)), 2)),
        Case((arr((2, 6)), 3), {"sorted": False}),
        Case((arr((3, 5), "int32"), 5)),
        Case((arr((2, 4), "float64"), 1)),
        Case((arr((0, 4)), 2), note="empty batch"),
        Case((arr((3,)), 4), raises=True, note="k larger than the axis"),
        Case((arr((3,), "bool"), 1), raises=True, note="torch topk refuses bools"),
    ],
    "logsumexp": [
        Case((arr((2, 3)),)), Case((arr((2, 3)),), {"axis": 1, "keepdims": True}),
        Case((arr((2, 3, 4)),), {"axis": (0, 2)}), Case((arr((2, 3)),), {"axis": [0]}),
        Case((arr((3,), "int32"),)), Case((np.float32(2.0),)), Case((arr((0, 3)),), {"axis": 0}),
        Case((arr((2, 3), "float64"),), {"axis": -1}), Case((arr((2, 2), "bool"),)),
    ],
    "logdet": [Case((spd(),)), Case((spd(2),)),
               Case((spd(dtype="float64"),)), Case((np.eye(2, dtype="int32"),), raises=True)],
    "view_as_complex": [Case((arr((3, 2)),)), Case((arr((2, 4, 2), "float64"),)), Case((arr((2,), "int32"),)),
                        Case((arr((2,), "bool"),)), Case((arr((0, 2)),)),
                        Case((arr((3, 3)),), raises=True, note="last axis is not 2")],
    "view_as_real": [Case(((arr((3,)) + 1j * arr((3,))).astype("complex64"),)),
                     Case(((arr((2, 2)) - 2j * arr((2, 2))).astype("complex128"),)),
                     Case((arr((3,)),), raises=True, note="a real input has no imaginary part")],
}

_SEG_DATA = arr((6, 2))
_SEG_IDS = np.array([0, 0, 2, 1, 2, 2])
for _name in ("segment_sum", "segment_max", "segment_min", "segment_prod"):
    MATH[_name] = [
        Case((arr((5,)), np.array([0, 0, 1, 1, 3])), note="sorted ids; empty segment 2"),
        Case((_SEG_DATA, _SEG_IDS), {"num_segments": 4}, note="unsorted ids, rows"),
        Case((_SEG_DATA, _SEG_IDS), {"num_segments": 2, "sorted": True}, note="id 2 is dropped"),
        Case((arr((4,), "int32"), np.array([1, 1, 0, 0])), {"num_segments": 3}, note="empty int segment"),
        Case((arr((4,), "bool"), np.array([0, 0, 1, 3]))),
        Case((arr((3,)), np.array([0, -1, 5]))),
        Case((arr((4,)), np.array([[0, 1], [1, 0]])), raises=True, note="2-D ids"),
        Case((arr((4,)), np.array([0, 1])), raises=True, note="lengths differ"),
    ]

LINALG = {
    "linalg.cholesky": [Case((spd(),)), Case((spd(2),), {"upper": True}),
                        Case((arr((3, 4)),), raises=True, note="not square"),
                        Case((arr((3,)),), raises=True, note="rank 1"),
                        Case((-spd(),), raises=True, note="not positive definite: ValueError"),
                        Case((np.eye(3, dtype="int32"),), raises=True, note="integer: ValueError")],
    "linalg.cholesky_inverse": [Case((np.linalg.cholesky(spd().astype("float64")).astype("float32"),)),
                                Case((upper(2),), {"upper": True}),
                                Case((arr((2, 3)),), raises=True)],
    "linalg.det": [Case((spd(),)), Case((arr((2, 4, 4)),)),
                   Case((arr((0, 0)),), note="empty matrix: 1"), Case((np.eye(2, dtype="int32"),), raises=True),
                   Case((np.eye(2, dtype="float16"),), raises=True, note="torch: NotImplementedError for half"),
                   Case((arr((2, 3)),), raises=True)],
    "linalg.eig": [Case((arr((3, 3)),), note="same LAPACK geev: same order and phase"),
                   Case((arr((2, 4, 4), "float64"),)), Case((arr((3, 2)),), raises=True)],
    "linalg.eigh": [Case((spd(),), note="same LAPACK syevd: same signs"),
                    Case((spd(2, n=4, dtype="float64"),)), Case((arr((3,)),), raises=True),
                    Case((np.eye(2, dtype="int32"),), raises=True)],
    "linalg.inv": [Case((spd(),)), Case((spd(3, dtype="float64"),)), Case((arr((0, 3, 3)),), note="empty batch"),
                   Case((np.eye(2, dtype="int32"),), raises=True),
                   Case((np.zeros((2, 2), "float32"),), raises=True, note="singular: LinAlgError"),
                   Case((arr((2, 3)),), raises=True)],
    "linalg.jvp": [Case((_sin, (torch.tensor(arr((3,))),), (torch.tensor(arr((3,))),))),
                   Case((_sin_aux, (torch.tensor(arr((2, 2))), torch.tensor(arr((2, 2)))),
                         (torch.tensor(arr((2, 2))), torch.tensor(arr((2, 2))))), {"has_aux": True})],
    "linalg.lstsq": [Case((arr((5, 3)), arr((5,)))),
                     Case((arr((6, 3), "float64"), arr((6, 2), "float64"))),
                     Case((arr((5, 3)), arr((5, 2))), {"rcond": 1e-3}, note="SVD driver"),
                     Case((np.eye(2, dtype="int32"), np.ones(2, "int32")), raises=True)],
    "linalg.lu_factor": [Case((arr((3, 3)),)), Case((arr((2, 4, 3)),), note="batched, not square"),
                         Case((np.eye(2, dtype="int32"),), raises=True),
                         Case((arr((3,)),), raises=True)],
    "linalg.matrix_rank": [Case((arr((4, 3)),)), Case((np.ones((3, 3), "float32"),), note="rank 1"),
                           Case((np.diag([1.0, 1e-3, 0.0]).astype("float32"),), {"tol": 1e-2}),
                           Case((arr((2, 3, 3)),)), Case((np.eye(2, dtype="int32"),), raises=True)],
    "linalg.norm": [
        Case((arr((5,)),)), Case((arr((5,)),), {"ord": 1}), Case((arr((5,)),), {"ord": float("inf")}),
        Case((arr((3, 4)),)), Case((arr((3, 4)),), {"ord": "fro", "axis": (0, 1)}),
        Case((arr((3, 4)),), {"ord": "nuc", "axis": (0, 1)}), Case((arr((3, 4)),), {"ord": 2, "axis": (0, 1)}),
        Case((arr((2, 3, 4)),), {"axis": -1, "keepdims": True}), Case((arr((2, 3, 4)),), {"axis": [1, 2]}),
        Case((arr((4,), "int32"),)), Case((arr((4,), "int64"),)), Case((arr((4,), "bool"),)),
        Case((arr((4,), "float64"),), note="float64 -> float32, Keras's promotion with a Python float"),
        Case((arr((3,)),), {"ord": "fro"}, raises=True), Case((arr((3, 3)),), {"ord": 3, "axis": (0, 1)}, raises=True),
    ],
    "linalg.pinv": [Case((arr((3, 4)),)), Case((arr((2, 4, 2)),)),
                    Case((np.diag([1.0, 1e-4]).astype("float32"),), {"rcond": 1e-2})],
    "linalg.qr": [Case((arr((4, 3)),), note="same LAPACK geqrf: same signs"),
                  Case((arr((3, 4)),), {"mode": "complete"}),
                  Case((arr((2, 3, 3), "float64"),)), Case((arr((3, 3)),), {"mode": "r"}, raises=True),
                  Case((np.eye(2, dtype="int32"),), raises=True),
                  Case((arr((3,)),), raises=True)],
    "linalg.solve": [Case((spd(), arr((3,)))), Case((spd(), arr((3, 2)))),
                     Case((spd(2), arr((2, 3, 1)))),
                     Case((arr((3, 4)), arr((3,))), raises=True, note="not square"),
                     Case((spd(), np.float32(1.0)), raises=True, note="scalar b"),
                     Case((spd(), arr((4, 2))), raises=True, note="rows differ"),
                     Case((np.eye(2, dtype="int32"), np.ones(2, "int32")), raises=True)],
    "linalg.solve_triangular": [Case((upper(), arr((3,)))),
                                Case((np.swapaxes(upper(), -1, -2).copy(), arr((3, 2))), {"lower": True}),
                                Case((upper(2), arr((2, 3))), note="batch of vectors"),
                                Case((upper(), arr((4,))), raises=True)],
    "linalg.svd": [Case((arr((4, 3)),), note="same LAPACK gesdd: same signs"),
                   Case((arr((3, 5)),), {"full_matrices": False}),
                   Case((arr((2, 3, 3)),), {"compute_uv": False}),
                   Case((arr((0, 3, 2)),), {"full_matrices": False}, note="empty batch"),
                   Case((np.eye(2, dtype="int32"),), raises=True),
                   Case((arr((3,)),), raises=True)],
}

EINOPS = {
    "rearrange": [
        Case((arr((2, 3, 4)), "a b c -> c a b")),
        Case((arr((6, 4)), "(h w) c -> h w c"), {"h": 2}),
        Case((arr((2, 3, 4), "int32"), "b h w -> b (h w)")),
        Case((arr((2, 6, 5)), "b (h w) c -> (b w) (c h)"), {"w": 3}),
        Case((arr((2, 0, 3)), "a b c -> (a c) b"), note="empty axis"),
        Case((np.float32(3.0), " -> "), note="0-d"),
        Case((arr((2, 3)), "a b"), raises=True, note="no arrow"),
        Case((arr((2, 3)), "a b -> a c"), raises=True, note="unknown output axis"),
    ],
}

TABLE = {**MATH, **LINALG, **EINOPS}


@pytest.mark.parametrize("name,case", params(TABLE))
def test_matches_keras(name, case):
    run_case(name, case)


def test_flat_names_are_the_linalg_functions():
    for name in iops.linalg.__all__:
        assert getattr(iops, name) is getattr(iops.linalg, name)
        run_case(name, LINALG[f"linalg.{name}"][0])


SYMBOLIC = [
    ("cdist", (Sym((None, 3, 2)), Sym((None, 4, 2))), {}),
    ("erf", (Sym((None, 3)),), {}),
    ("erfc", (Sym((None, 3)),), {}),
    ("erfinv", (Sym((None, 3)),), {}),
    ("rsqrt", (Sym((None, 3)),), {}),
    ("extract_sequences", (Sym((None, 20)), 5, 3), {}),
    ("extract_sequences", (Sym((2, None)), 5, 3), {}),
    ("fft", ((Sym((None, 8)), Sym((None, 8))),), {}),
    ("fft2", ((Sym((None, 4, 8)), Sym((None, 4, 8))),), {}),
    ("ifft2", ((Sym((None, 4, 8)), Sym((None, 4, 8))),), {}),
    ("rfft", (Sym((None, 9)),), {}),
    ("rfft", (Sym((2, None)),), {"fft_length": 8}),
    ("irfft", ((Sym((None, 5)), Sym((None, 5))),), {}),
    ("stft", (Sym((None, 100)), 16, 8, 16), {}),
    ("stft", (Sym((2, 100)), 10, 4, 16), {"center": False}),
    ("istft", ((Sym((None, 9, 9)), Sym((None, 9, 9))), 16, 4, 16), {}),
    ("istft", ((Sym((2, None, 5)), Sym((2, None, 5))), 8, 4, 8), {"length": 30}),
    ("in_top_k", (Sym((None,), "int32"), Sym((None, 5))), {"k": 2}),
    ("logsumexp", (Sym((None, 3)),), {"axis": 1}),
    ("logsumexp", (Sym((None, 3, 2)),), {"axis": (0, 2), "keepdims": True}),
    ("logdet", (Sym((None, 3, 3)),), {}),
    ("segment_sum", (Sym((None, 2)), Sym((None,), "int32")), {"num_segments": 3}),
    ("segment_max", (Sym((None, 2)), Sym((None,), "int32")), {}),
    ("segment_min", (Sym((None,)), Sym((None,), "int32")), {"num_segments": 4}),
    ("segment_prod", (Sym((5, 3), "int32"), Sym((5,), "int32")), {"num_segments": 2}),
    ("view_as_complex", (Sym((None, 2)),), {}),
    ("view_as_real", (Sym((None, 3), "complex64"),), {}),
    ("linalg.cholesky", (Sym((None, 3, 3)),), {}),
    ("linalg.cholesky_inverse", (Sym((None, 3, 3)),), {"upper": True}),
    ("linalg.det", (Sym((None, 3, 3)),), {}),
    ("linalg.eigh", (Sym((None, 3, 3)),), {}),
    ("linalg.inv", (Sym((None, 4, 4)),), {}),
    ("linalg.jvp", (_sin, (Sym((None, 3)),), (Sym((None, 3)),)), {}),
    ("linalg.lstsq", (Sym((5, 3)), Sym((5, 2))), {}),
    ("linalg.lstsq", (Sym((5, 3)), Sym((5,))), {}),
    ("linalg.matrix_rank", (Sym((None, 3, 4)),), {}),
    ("linalg.norm", (Sym((None, 3)),), {"axis": -1}),
    ("linalg.norm", (Sym((None, 3, 4)),), {"ord": "fro", "axis": (1, 2), "keepdims": True}),
    ("linalg.norm", (Sym((None, 3), "int32"),), {}),
    ("linalg.pinv", (Sym((None, 3, 5)),), {}),
    ("linalg.qr", (Sym((None, 5, 3)),), {}),
    ("linalg.qr", (Sym((None, 3, 5)),), {"mode": "complete"}),
    ("linalg.solve", (Sym((None, 3, 3)), Sym((None, 3, 2))), {}),
    ("linalg.solve_triangular", (Sym((None, 3, 3)), Sym((None, 3))), {"lower": True}),
    ("linalg.svd", (Sym((None, 4, 3)),), {}),
    ("linalg.svd", (Sym((None, 3, 5)),), {"full_matrices": False}),
    ("linalg.svd", (Sym((None, 3, 5)),), {"compute_uv": False}),
    ("rearrange", (Sym((5, 3, 4)), "b h w -> b w h"), {}),
    ("rearrange", (Sym((2, 6, 4)), "b (h w) c -> b h (w c)"), {"h": 3}),
]


@pytest.mark.parametrize("name,args,kwargs", SYMBOLIC, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SYMBOLIC)])
def test_symbolic_matches_keras(name, args, kwargs):
    run_symbolic(name, *args, **kwargs)


# ------------------------------------------------------------------------------------- invariants
def _t(x):
    return torch.as_tensor(x, dtype=torch.float64)


def test_decomposition_invariants():
    """What is unique in qr/svd/eig/eigh, checked on initium and against Keras's spectra."""
    x = arr((2, 5, 3)).astype("float64")
    q, r = iops.qr(x)
    torch.testing.assert_close(q @ r, _t(x))
    torch.testing.assert_close(q.mT @ q, torch.eye(3, dtype=torch.float64).expand(2, 3, 3))
    assert torch.equal(r, torch.triu(r))

    u, s, vh = iops.svd(x, full_matrices=False)
    torch.testing.assert_close(u @ torch.diag_embed(s) @ vh, _t(x))
    torch.testing.assert_close(u.mT @ u, torch.eye(3, dtype=torch.float64).expand(2, 3, 3))
    assert torch.all(s[..., :-1] >= s[..., 1:])
    torch.testing.assert_close(s, kops.svd(x, compute_uv=False))

    a = spd(2, n=4, dtype="float64")
    w, v = iops.eigh(a)
    torch.testing.assert_close(v @ torch.diag_embed(w) @ v.mT, _t(a))
    torch.testing.assert_close(w, torch.sort(kops.eigh(a)[0]).values)

    g = arr((4, 4)).astype("float64")
    w, v = iops.eig(g)
    torch.testing.assert_close(torch.as_tensor(g, dtype=torch.complex128) @ v, v * w[None, :])
    ours = sorted(np.round(w.numpy(), 10), key=lambda z: (z.real, z.imag))
    theirs = sorted(np.round(kops.eig(g)[0].numpy(), 10), key=lambda z: (z.real, z.imag))
    np.testing.assert_allclose(ours, theirs)


def test_lu_factor_reconstructs():
    x = arr((4, 4)).astype("float64")
    lu, pivots = iops.lu_factor(x)
    assert pivots.dtype == torch.int32 and pivots.min() >= 0
    p, l_, u = torch.lu_unpack(lu, pivots + 1)
    torch.testing.assert_close(p @ l_ @ u, _t(x))


def test_jvp_is_the_directional_derivative():
    x, v = arr((3,)), arr((3,))
    out, tangent = iops.jvp(_sin, (x,), (v,))
    torch.testing.assert_close(tangent, 2 * torch.cos(torch.tensor(x)) * torch.tensor(v))


def test_stft_istft_round_trip():
    signal = arr((2, 64)).astype("float64")
    spectra = iops.stft(signal, 16, 4, 16)
    torch.testing.assert_close(iops.istft(spectra, 16, 4, 16, length=64), _t(signal))
    spectra = iops.stft(signal, 12, 3, 16)  # the overlap-add path
    torch.testing.assert_close(iops.istft(spectra, 12, 3, 16, length=64)[..., 8:-8], _t(signal)[..., 8:-8])


def test_segment_reductions_against_a_loop():
    data, ids = arr((7, 3)), np.array([3, 0, 3, 1, 0, 3, 1])
    for name, reduce in (("segment_sum", np.sum), ("segment_max", np.max), ("segment_min", np.min),
                         ("segment_prod", np.prod)):
        expected = np.stack([reduce(data[ids == i], axis=0) for i in range(4) if i != 2])
        got = getattr(iops, name)(data, ids, num_segments=4).numpy()
        np.testing.assert_allclose(np.delete(got, 2, axis=0), expected, rtol=1e-6, err_msg=name)


# ------------------------------------------------------------------------------------- deliberate differences
def test_symbolic_specs_follow_the_eager_result_where_keras_spec_does_not():
    # Keras's compute_output_spec says int32 for top_k indices, float32 for eig and lu_factor pivots;
    # its torch eager results are int64, complex64 and int32. initium's symbolic outputs are what
    # the op will actually return.
    theirs = kops.top_k(keras.KerasTensor((None, 5)), 2)
    assert [t.shape for t in theirs] == [(None, 2), (None, 2)] and theirs[1].dtype == "int32"
    values, indices = iops.top_k(KerasTensor((None, 5)), 2)
    assert (values.shape, values.dtype, indices.dtype) == ((None, 2), "float32", "int64")
    assert iops.top_k(torch.ones(2, 5), 2)[1].dtype == torch.int64
    assert [(t.shape, t.dtype) for t in kops.eig(keras.KerasTensor((None, 3, 3)))] == [
        ((None, 3), "float32"), ((None, 3, 3), "float32")]
    w, v = iops.eig(KerasTensor((None, 3, 3)))
    assert (w.shape, w.dtype, v.shape, v.dtype) == ((None, 3), "complex64", (None, 3, 3), "complex64")
    lu, pivots = iops.lu_factor(KerasTensor((None, 4, 3)))
    assert (lu.shape, pivots.shape, pivots.dtype) == ((None, 4, 3), (None, 3), "int32")
    assert iops.logsumexp(KerasTensor((None, 3), "float64")).dtype == "float64"


def test_symbolic_fft_and_qr_need_known_transformed_axes():
    with pytest.raises(ValueError, match="known"):
        iops.fft((KerasTensor((3, None)), KerasTensor((3, None))))
    with pytest.raises(ValueError, match="known"):
        iops.fft2((KerasTensor((None, 4)), KerasTensor((None, 4))))
    with pytest.raises(ValueError, match="known"):
        iops.qr(KerasTensor((None, 3)))


def test_segment_float64_accumulates_in_float64():
    # Keras's torch backend reduces every dtype in float32; initium keeps float64 (and integers,
    # through float64) exact.
    data = np.array([1.0, 1e-9, 2 ** 40 + 1], "float64")
    out = iops.segment_sum(data, np.array([0, 0, 1]))
    assert out.dtype == torch.float64 and out.tolist() == [1.0 + 1e-9, 2 ** 40 + 1]
    big = iops.segment_max(np.array([2 ** 40 + 1, 3]), np.array([0, 0]))
    assert big.tolist() == [2 ** 40 + 1]


def test_rearrange_errors_name_the_problem():
    x = np.zeros((6, 3), "float32")
    with pytest.raises(ValueError, match="rank"):
        iops.rearrange(x, "a b c -> c b a")  # Keras: KeyError
    with pytest.raises(ValueError, match="cannot split"):
        iops.rearrange(x, "(a b) c -> a b c", a=4)  # Keras: RuntimeError from reshape
    with pytest.raises(ValueError, match="infer"):
        iops.rearrange(x, "(a b) c -> a b c")
    with pytest.raises(ValueError, match="ellipsis"):
        iops.rearrange(x, "a ... -> a ...")


def test_rearrange_is_symbolic_with_unknown_sizes():
    # Keras's Rearrange.compute_output_spec multiplies the sizes of every output axis and fails
    # (TypeError) on any None, even an untouched batch axis; initium's spec keeps None.
    assert iops.rearrange(KerasTensor((None, 3, 4)), "b h w -> b (w h)").shape == (None, 12)
    assert iops.rearrange(KerasTensor((None, 6, 4)), "b (h w) c -> (b h) w c", h=2).shape == (None, 3, 4)


def test_istft_rejects_an_unknown_window_name():
    # Keras's istft reads any string other than "hann" as "hamming"; its stft refuses them.
    with pytest.raises(ValueError, match="window"):
        iops.istft(pair(2, 5), 8, 4, 8, window="triangle")
