"""The torch-level and Tensor spellings of terra.linalg's functions (torch.inverse, det, logdet,
slogdet, pinverse, orgqr, geqrf, matrix_power, matrix_exp, svd, qr, cholesky, cholesky_solve, cholesky_inverse,
triangular_solve, lu, lu_unpack, lu_solve), with the older functions' own signatures and results:
torch.svd returns V (not Vh) and is reduced by default (some=True), torch.qr takes some,
triangular_solve also returns a clone of its (broadcast) coefficient matrix, torch.lu returns
LU and pivots.
"""
import math

import terra
from . import linalg
from ._C import _ops
from ._functions import _legacy_name
from ._linalg_functions import _Cholesky, _CholeskyInverse, _CholeskySolve
from ._shape_functions import exporters
from ._tensor import _namedtuple

__all__ = []
_export, _both = exporters(__all__)


@_both
def inverse(input):
    return linalg.inv(input)


@_both
def orgqr(input, tau):
    return linalg.householder_product(input, tau)


@_both
def geqrf(input):
    """(a, tau): LAPACK's compact QR (through numpy on the host; no gradient, as in PyTorch 1.13)."""
    from ._householder import geqrf as compact_qr
    return _namedtuple("geqrf", ["a", "tau"])(*compact_qr(input))


@_both
def det(input):
    return linalg.det(input)


@_both
def slogdet(input):
    return _namedtuple("slogdet", ["sign", "logabsdet"])(*linalg.slogdet(input))


@_both
def logdet(input):
    """log det: NaN where det < 0, -inf where it is 0 (PyTorch 1.13's, through slogdet)."""
    linalg._check(input, "logdet")
    sign, logabsdet = linalg.slogdet(input)
    return _ops.where(sign == -1, math.nan, logabsdet)


@_both
def pinverse(input, rcond=1e-15):
    return linalg.pinv(input, rcond)


@_both
def matrix_power(input, n):
    return linalg.matrix_power(input, n)


@_both
def matrix_exp(input):
    return linalg.matrix_exp(input)


@_both
def svd(input, some=True, compute_uv=True):
    """U, S, V with A = U diag(S) V^T; without compute_uv, U and V are zero (m x m and n x n)."""
    if compute_uv:
        U, S, Vh = linalg.svd(input, full_matrices=not some)
        return _namedtuple("svd", ["U", "S", "V"])(U, S, Vh.mT)
    batch, (m, n) = list(input.shape[:-2]), input.shape[-2:]
    zeros = [_ops.zeros(batch + [k, k], dtype=input.dtype, device=str(input.device)) for k in (m, n)]
    return _namedtuple("svd", ["U", "S", "V"])(zeros[0], linalg.svdvals(input), zeros[1])


@_both
def qr(input, some=True):
    return _namedtuple("qr", ["Q", "R"])(*linalg.qr(input, "reduced" if some else "complete"))


@_both
def cholesky(input, upper=False):
    linalg._check(input, "cholesky")
    return _Cholesky.apply(input, upper, "cholesky")[0]


def _check_factor_and_rhs(b, A, name):
    linalg._check(A, name)
    linalg._check(b, name, square=False, what="b")
    if A.shape[-1] != b.shape[-2]:
        raise RuntimeError(f"Incompatible matrix sizes for {name}: each A matrix is {A.shape[-2]} by {A.shape[-1]} but "
                           f"each b matrix is {b.shape[-2]} by {b.shape[-1]}")
    if A.dtype is not b.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {_legacy_name(b.dtype)} and "
                           f"A of type {_legacy_name(A.dtype)} instead.")
    return terra.broadcast_shapes(tuple(A.shape[:-2]), tuple(b.shape[:-2]))


@_both
def cholesky_solve(input, input2, upper=False):
    """X with A X = input, A = L L^T for the factor L = input2 (U^T U when upper)."""
    _check_factor_and_rhs(input, input2, "cholesky_solve")
    return _CholeskySolve.apply(input, input2, upper)


@_both
def cholesky_inverse(input, upper=False):
    linalg._check(input, "cholesky_inverse")
    return _CholeskyInverse.apply(input, upper)


@_both
def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False):
    """X with A X = input (A^T X = input when transpose), and a clone of A broadcast to X's batch."""
    batch = _check_factor_and_rhs(input, A, "triangular_solve")
    X = linalg.solve_triangular(A.mT if transpose else A, input, upper=upper != transpose, unitriangular=unitriangular)
    return _namedtuple("triangular_solve", ["solution", "cloned_coefficient"])(
        X, A.expand(list(batch) + list(A.shape[-2:])).clone())


@_both
def lu(A, pivot=True, get_infos=False):
    LU, pivots, info = linalg.lu_factor_ex(A, pivot=pivot)
    return _namedtuple("_lu_with_info", ["LU", "pivots", "info"])(LU, pivots, info) if get_infos else (LU, pivots)


@_export
def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    return linalg.lu_unpack(LU_data, LU_pivots, unpack_data, unpack_pivots)


@_both
def lu_solve(input, LU_data, LU_pivots):
    return linalg.lu_solve(LU_data, LU_pivots, input)
