"""``keras.ops.linalg``: decompositions, solves, norms and inverses of (batched) matrices.

Each op works on the last two axes and batches over the rest, as torch.linalg does, and checks
its inputs as Keras does (rank >= 2, square where the math needs it, ``a``/``b`` compatible),
raising ``ValueError`` with the shapes received. Decompositions return what torch returns:
``eig`` complex eigenpairs, ``eigh`` ascending eigenvalues, ``svd`` ``(u, s, vh)``, ``lu_factor``
0-based pivots. These names are also in the flat ``initium.ops`` namespace.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import torch
from torch.utils import _pytree as pytree

from initium import backend
from initium.ops.core import convert_to_tensor
from initium.ops.operation import keras_op, symbolic_spec
from initium.symbolic import KerasTensor, shape_of

__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq", "lu_factor", "matrix_rank",
           "norm", "pinv", "qr", "solve", "solve_triangular", "svd"]


# ------------------------------------------------------------------------------------- checks
def _matrix(what: str, x: Any, square: bool = False) -> torch.Tensor:
    """``x`` as a tensor of rank >= 2 (with square last axes if ``square``), or a ValueError."""
    x = convert_to_tensor(x)
    if x.dim() < 2:
        raise ValueError(f"ops.{what}: expected input to have rank >= 2. Received input with shape {tuple(x.shape)}.")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"ops.{what}: expected a square matrix. Received non-square input with shape "
                         f"{tuple(x.shape)}.")
    return x


def _system(what: str, a: Any, b: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``a`` square of rank >= 2 and ``b`` a matching right-hand side (a vector or matrix per batch)."""
    a, b = _matrix(what, a, square=True), convert_to_tensor(b)
    if b.dim() < 1:
        raise ValueError(f"ops.{what}: expected `b` to have rank >= 1. Received a scalar: {b}.")
    if a.dim() == b.dim() and a.shape[-2] != b.shape[-2]:
        raise ValueError(f"ops.{what}: incompatible shapes; expected a.shape[-2] == b.shape[-2]. Received: "
                         f"a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}")
    if a.dim() == b.dim() - 1 and a.shape[-1] != b.shape[-1]:  # Keras's rule (a vector b is left to torch)
        raise ValueError(f"ops.{what}: incompatible shapes; expected a.shape[-1] == b.shape[-1]. Received: "
                         f"a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}")
    return a, b


def _failing_as_value_error(what: str, fn: Callable[[], torch.Tensor]) -> torch.Tensor:
    """Keras reports any failure of the Cholesky ops (not positive definite, integer input) as ValueError."""
    try:
        return fn()
    except (RuntimeError, NotImplementedError) as e:
        raise ValueError(f"ops.{what}: the decomposition failed: {e}") from None


# ------------------------------------------------------------------------------------- decompositions
@keras_op("Cholesky", "linalg", init=("upper",))
def cholesky(x: Any, upper: bool = False) -> torch.Tensor:
    """The Cholesky factor ``L`` (``x = L L^H``), or ``U`` with ``upper=True``, of positive-definite ``x``."""
    x = _matrix("cholesky", x, square=True)
    return _failing_as_value_error("cholesky", lambda: torch.linalg.cholesky(x, upper=upper))


@keras_op("CholeskyInverse", "linalg", init=("upper",))
def cholesky_inverse(x: Any, upper: bool = False) -> torch.Tensor:
    """The inverse of ``A`` given its Cholesky factor ``x`` (lower, or upper with ``upper=True``)."""
    x = _matrix("cholesky_inverse", x, square=True)
    return _failing_as_value_error("cholesky_inverse", lambda: torch.cholesky_inverse(x, upper=upper))


@keras_op("Det", "linalg")
def det(x: Any) -> torch.Tensor:
    """The determinant of each square matrix."""
    return torch.linalg.det(_matrix("det", x, square=True))


@keras_op("Eig", "linalg")
def eig(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues and right eigenvectors (columns) of a general square matrix, as complex tensors."""
    return torch.linalg.eig(_matrix("eig", x, square=True))


@keras_op("Eigh", "linalg")
def eigh(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric/Hermitian matrix,
    read from its lower triangle."""
    return torch.linalg.eigh(_matrix("eigh", x, square=True))


@keras_op("Inv", "linalg")
def inv(x: Any) -> torch.Tensor:
    """The inverse of each square matrix."""
    return torch.linalg.inv(_matrix("inv", x, square=True))


@keras_op("LuFactor", "linalg")
def lu_factor(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The packed LU factorization with partial pivoting and its row pivots, 0-based (int32)."""
    lu, pivots = torch.linalg.lu_factor(_matrix("lu_factor", x))
    return lu, pivots - 1


def _qr_spec(x: Any, mode: str = "reduced") -> Any:
    dims = shape_of(x)
    if len(dims) >= 2 and None in dims[-2:]:
        raise ValueError(f"ops.qr: the last 2 dimensions of the input must be known to build it symbolically. "
                         f"Received: input.shape = {dims}")
    return symbolic_spec(qr, (x,), {"mode": mode}, "ops.qr")


@keras_op("Qr", "linalg", init=("mode",), spec=_qr_spec)
def qr(x: Any, mode: str = "reduced") -> tuple[torch.Tensor, torch.Tensor]:
    """``(q, r)`` with ``x = q r``: ``q`` (m, k) and ``r`` (k, n), k = min(m, n), for ``mode="reduced"``;
    ``q`` (m, m) and ``r`` (m, n) for ``"complete"``."""
    if mode not in ("reduced", "complete"):
        raise ValueError("ops.qr: `mode` argument value not supported. Expected one of {'reduced', 'complete'}. "
                         f"Received: mode={mode!r}")
    return torch.linalg.qr(convert_to_tensor(x), mode=mode)


@keras_op("SVD", "linalg", init=("full_matrices", "compute_uv"))
def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """``(u, s, vh)`` with ``x = u diag(s) vh`` and ``s`` descending; only ``s`` if not ``compute_uv``."""
    x = _matrix("svd", x)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return torch.linalg.svd(x, full_matrices=full_matrices)


# ------------------------------------------------------------------------------------- solves
@keras_op("Solve", "linalg")
def solve(a: Any, b: Any) -> torch.Tensor:
    """``x`` with ``a x = b`` for square ``a``."""
    return torch.linalg.solve(*_system("solve", a, b))


@keras_op("SolveTriangular", "linalg", init=("lower",))
def solve_triangular(a: Any, b: Any, lower: bool = False) -> torch.Tensor:
    """``x`` with ``a x = b``, reading only the upper (or, with ``lower=True``, lower) triangle of ``a``."""
    a, b = _system("solve_triangular", a, b)
    if b.dim() == a.dim() - 1:
        return torch.linalg.solve_triangular(a, b.unsqueeze(-1), upper=not lower).squeeze(-1)
    return torch.linalg.solve_triangular(a, b, upper=not lower)


def _lstsq_spec(a: Any, b: Any, rcond: Any = None) -> KerasTensor:
    a_dims, b_dims = shape_of(a), shape_of(b)
    if len(a_dims) != 2:
        raise ValueError(f"ops.lstsq: expected `a` to have rank 2. Received: a.shape={a_dims}")
    if len(b_dims) not in (1, 2):
        raise ValueError(f"ops.lstsq: expected `b` to have rank 1 or 2. Received: b.shape={b_dims}")
    if b_dims[0] != a_dims[0]:
        raise ValueError(f"ops.lstsq: expected b.shape[0] == a.shape[0]. Received: a.shape={a_dims}, "
                         f"b.shape={b_dims}")
    return KerasTensor((a_dims[1], *b_dims[1:]), dtype=a.dtype)


@keras_op("Lstsq", "linalg", init=("rcond",), spec=_lstsq_spec)
def lstsq(a: Any, b: Any, rcond: Any = None) -> torch.Tensor:
    """The least-squares solution ``x`` of ``a x = b``. With ``rcond``, singular values below
    ``rcond * max(s)`` are treated as zero (numpy's meaning: the SVD-based solver)."""
    a, b = convert_to_tensor(a), convert_to_tensor(b)
    if rcond is None:
        return torch.linalg.lstsq(a, b).solution
    if a.device.type == "cuda":  # CUDA's only lstsq driver has no cutoff: solve through the pseudo-inverse
        return torch.linalg.pinv(a, rtol=rcond) @ b
    return torch.linalg.lstsq(a, b, rcond=rcond, driver="gelsd").solution


@keras_op("Pinv", "linalg", init=("rcond",))
def pinv(x: Any, rcond: Any = None) -> torch.Tensor:
    """The Moore-Penrose pseudo-inverse; singular values below ``rcond * max(s)`` count as zero."""
    return torch.linalg.pinv(convert_to_tensor(x), rtol=rcond)


@keras_op("MatrixRank", "linalg", init=("tol",))
def matrix_rank(x: Any, tol: Any = None) -> torch.Tensor:
    """The number of singular values above ``tol`` (by default torch's ``max(m, n) * eps * max(s)``), int32."""
    return torch.linalg.matrix_rank(convert_to_tensor(x), atol=tol).to(torch.int32)


@keras_op("Norm", "linalg", init=("ord", "axis", "keepdims"))
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A002
    """The vector norm over one axis or the matrix norm over two (``ord`` as numpy: None/"fro",
    "nuc", inf, -inf, 1, -1, 2, -2, or any p for vectors); all axes flattened if ``axis`` is None.
    Integers and bools are cast to ``floatx()``; floats keep Keras's promotion with a Python float."""
    x = convert_to_tensor(x)
    name = backend.standardize_dtype(x.dtype)
    x = x.to(backend.torch_dtype(backend.floatx() if name == "int64" else backend.result_type(name, float)))
    dim = tuple(axis) if isinstance(axis, list) else axis
    return torch.linalg.norm(x, ord=ord, dim=dim, keepdim=keepdims)


# ------------------------------------------------------------------------------------- derivatives
def _jvp_spec(fun: Any, primals: Any, tangents: Any, has_aux: bool = False) -> Any:
    out = symbolic_spec(fun, tuple(primals), {}, "ops.jvp: fun")
    primal_out, aux = out if has_aux else (out, None)
    tangent_out = pytree.tree_map(lambda s: KerasTensor(s.shape, dtype=s.dtype), primal_out)
    return (primal_out, tangent_out, aux) if has_aux else (primal_out, tangent_out)


@keras_op("JVP", "linalg", init=("has_aux",), spec=_jvp_spec)
def jvp(fun: Callable[..., Any], primals: Any, tangents: Any, has_aux: bool = False) -> tuple:
    """``(fun(*primals), J(primals) @ tangents)`` by forward-mode autodiff (``torch.func.jvp``);
    with ``has_aux``, ``fun`` returns ``(output, aux)`` and ``aux`` is returned third."""
    primals = tuple(pytree.tree_map(convert_to_tensor, tuple(primals)))
    tangents = tuple(pytree.tree_map(convert_to_tensor, tuple(tangents)))
    with warnings.catch_warnings():  # torch's first forward-mode call scripts its decompositions
        warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=DeprecationWarning)
        return torch.func.jvp(fun, primals, tangents, has_aux=has_aux)
