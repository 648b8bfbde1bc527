"""terra.linalg: torch.linalg's norms, decompositions and solvers, with PyTorch 1.13's signatures,
checks and error messages.

The decompositions and solvers are autograd Functions (_linalg_functions.py) whose forward runs
LAPACK through numpy on the host: each reads its input, a fetch when co-executed. Their gradients
are PyTorch's formulas in Terra ops. The rest (matrix_power, multi_dot, cond, the spectral and
nuclear norms, vander, vecdot, lu_unpack, lu_solve) are compositions, differentiated op by op.
Complex matrices, eig and eigvals are out of scope (Terra has no complex dtype).
"""
import math

import numpy as np

import terra
from . import _C
from ._C import _ops
from ._functions import _legacy_name
from ._tensor import _namedtuple
from ._linalg_functions import (LinAlgError, _Cholesky, _Det, _Eigh, _Inv, _LUFactor, _Lstsq, _MatrixExp, _Pinv,
                                _QR, _SVD, _Slogdet, _Solve, _SolveTriangular, _default_rtol, _host, _raise, _to,
                                lu_unpack_factors, lu_unpack_pivots)



def _check(A, name, square=True, what="A", dtype_name=None):
    """PyTorch's checks of a matrix argument, in its order and words."""
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor {what} must have at least 2 dimensions.")
    if not A.is_floating_point():
        raise RuntimeError(f"{dtype_name or name}: Expected a floating point or complex tensor as input. Got "
                           f"{_legacy_name(A.dtype)}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")


def _check_rhs(A, B, name, left=True):
    """B's rows (columns when not left) against square A's, and the batch dims broadcasting."""
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                           f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    terra.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))


# ---- norms ---------------------------------------------------------------------------------------

def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The ord-norm of x's elements along dim (all of them when dim is None)."""
    if dtype is not None:
        x = x.to(dtype)
    if dim is None:
        x, dim = (x.reshape(-1), 0) if not keepdim else (x, tuple(range(x.dim())))
    a = x.abs()
    if ord == math.inf:
        return a.amax(dim=dim, keepdim=keepdim)
    if ord == -math.inf:
        return a.amin(dim=dim, keepdim=keepdim)
    if ord == 0:
        return (x != 0).to(x.dtype).sum(dim=dim, keepdim=keepdim)
    if ord == 1:
        return a.sum(dim=dim, keepdim=keepdim)
    if ord == 2:
        return x.norm(dim=dim, keepdim=keepdim)
    return a.pow(ord).sum(dim=dim, keepdim=keepdim).pow(1.0 / ord)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """'fro', 'nuc', 1, -1, 2, -2, inf and -inf over the two dims; 2, -2 and 'nuc' from the
    singular values (differentiated through svdvals, as PyTorch's)."""
    _check(A, "linalg.matrix_norm", square=False)
    if dtype is not None:
        A = A.to(dtype)
    rows, cols = (d % A.dim() for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, dim=(rows, cols), keepdim=keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        summed, reduced = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = A.abs().sum(dim=summed, keepdim=True)
        out = sums.amax(dim=reduced, keepdim=True) if ord > 0 else sums.amin(dim=reduced, keepdim=True)
        return out if keepdim else out.squeeze(max(rows, cols)).squeeze(min(rows, cols))
    if ord in (2, -2, "nuc"):
        S = svdvals(terra.movedim(A, (rows, cols), (-2, -1)))
        out = S.sum(-1) if ord == "nuc" else S.amax(-1) if ord == 2 else S.amin(-1)
        return out.unsqueeze(min(rows, cols)).unsqueeze(max(rows, cols)) if keepdim else out
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm, or a matrix norm when dim has two entries, ord is a string,
    or ord is given and A is 2-D with dim None; with ord and dim None, the 2-norm of all elements."""
    if isinstance(dim, int):
        dim = (dim,)
    if isinstance(ord, str):
        return matrix_norm(A, ord, dim=dim or (-2, -1), keepdim=keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, dim=dim, keepdim=keepdim, dtype=dtype)
    if dim is None:
        if A.dim() not in (1, 2):
            raise RuntimeError(f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or 2-D, got "
                               f"{A.dim()}-D")
        dim = tuple(range(A.dim()))
    if len(dim) == 2:
        return matrix_norm(A, ord, dim=dim, keepdim=keepdim, dtype=dtype)
    return vector_norm(A, ord, dim=dim, keepdim=keepdim, dtype=dtype)


def cond(A, p=None):
    """The condition number: from the singular values for p None, 2, -2 (any shape); else
    ||A||_p ||A^{-1}||_p of square A, inf where A is singular."""
    if p not in (None, 2, -2, 1, -1, math.inf, -math.inf, "fro", "nuc"):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if A.dim() < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    if p in (None, 2, -2):
        S = svdvals(A)
        largest, smallest = S.narrow(-1, 0, 1), S.narrow(-1, S.shape[-1] - 1, 1)
        return (smallest / largest if p == -2 else largest / smallest).squeeze(-1)
    _check(A, f"linalg.cond(ord={p})")
    inverse, info = inv_ex(A)
    inverse = _ops.where((info > 0).unsqueeze(-1).unsqueeze(-1), math.inf, inverse)
    return matrix_norm(A, p) * matrix_norm(inverse, p)


# ---- inverses, determinants, solvers -------------------------------------------------------------

def inv(A):
    _check(A, "linalg.inv")
    return _Inv.apply(A, "linalg.inv")[0]


def inv_ex(A, *, check_errors=False):
    """The inverse and getrf's info per matrix (a singular matrix's inverse is NaN)."""
    _check(A, "linalg.inv_ex")
    return _namedtuple("linalg_inv_ex", ["inverse", "info"])(*_Inv.apply(A, "linalg.inv_ex" if check_errors else None))


def det(A):
    _check(A, "linalg.det")
    return _Det.apply(A)


def slogdet(A):
    _check(A, "linalg.slogdet")
    return _namedtuple("linalg_slogdet", ["sign", "logabsdet"])(*_Slogdet.apply(A))


def _solve(A, B, left, raising):
    _check(A, "linalg.solve")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{_legacy_name(A.dtype)} and B of type {_legacy_name(B.dtype)} instead")
    vector = B.dim() == 1 or (B.dim() == A.dim() - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    B_ = B.unsqueeze(-1) if vector else B
    _check_rhs(A, B_, "linalg.solve", left)
    if left:
        X, info = _Solve.apply(A, B_, raising)
    else:  # X A = B: A^T X^T = B^T
        X, info = _Solve.apply(A.mT, B_.mT, raising)
        X = X.mT
    return (X.squeeze(-1) if vector else X), info


def solve(A, B, *, left=True):
    """X with A X = B (X A = B when not left); B a vector or a batch of vectors where PyTorch's is."""
    return _solve(A, B, left, "torch.linalg.solve")[0]


def solve_ex(A, B, *, left=True, check_errors=False):
    return _namedtuple("linalg_solve_ex", ["result", "info"])(
        *_solve(A, B, left, "torch.linalg.solve_ex" if check_errors else None))


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    _check(A, "linalg.solve_triangular")
    _check(B, "linalg.solve_triangular", square=False, what="B")
    _check_rhs(A, B, "linalg.solve_triangular", left)
    dtype = terra.promote_types(A.dtype, B.dtype)
    A, B = A.to(dtype), B.to(dtype)
    if left:
        return _SolveTriangular.apply(A, B, upper, unitriangular)
    return _SolveTriangular.apply(A.mT, B.mT, not upper, unitriangular).mT


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of A X = B, as PyTorch's CPU default driver 'gelsy' returns it
    (whatever driver is named): residuals and singular_values empty, the rank of each matrix
    (singular values above rcond * the largest; rcond defaults to eps * max(m, n))."""
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    if A.dim() < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if B.dim() < 1:
        raise RuntimeError("torch.linalg.lstsq: other must have at least 1 dimension.")
    if not A.is_floating_point():
        raise RuntimeError("This function doesn't handle types other than float and double")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's "
                           f"dtype {_legacy_name(A.dtype)} and other's dtype {_legacy_name(B.dtype)}")
    vector = A.dim() - B.dim()
    if vector not in (0, 1):
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    B_ = B.unsqueeze(-1) if vector else B
    if B_.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size({-1 if vector else -2})")
    X, rank = _Lstsq.apply(A, B_, _default_rtol(A) if rcond is None else rcond)
    empty = [_ops.zeros([0], dtype=A.dtype, device=str(A.device)) for _ in range(2)]
    return _namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])(
        X.squeeze(-1) if vector else X, empty[0], rank, empty[1])


def _tolerances(A, atol, rtol):
    """PyTorch's: atol 0 by default; rtol eps * max(m, n) by default, 0 where atol is positive.
    Tensors become numpy arrays (tolerances are not differentiated)."""
    atol = 0.0 if atol is None else _host(atol) if isinstance(atol, _C.Tensor) else atol
    if rtol is None:
        return atol, np.where(np.asarray(atol) > 0, 0.0, _default_rtol(A))
    return atol, _host(rtol) if isinstance(rtol, _C.Tensor) else rtol


def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    """The pseudo-inverse; rcond (positional, as torch.pinverse's) is rtol with atol 0."""
    if A.dim() < 2 or not A.is_floating_point():
        raise RuntimeError(f"linalg.pinv({_legacy_name(A.dtype)}{{{list(A.shape)}}}): expected a tensor with 2 or more "
                           "dimensions of float, double, cfloat or cdouble types")
    if rcond is not None:
        atol, rtol = 0.0, rcond
    return _Pinv.apply(A, *_tolerances(A, atol, rtol), hermitian)


def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None):
    """The number of singular values (|eigenvalues| when hermitian) above max(atol, rtol * the
    largest); tol (positional) is atol with rtol 0."""
    if A.dim() < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions.")
    if not A.is_floating_point():
        raise RuntimeError("This function doesn't handle types other than float and double")
    atol, rtol = _tolerances(A, *((tol, 0.0) if tol is not None else (atol, rtol)))
    a = _host(A)
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    tol = np.maximum(np.asarray(atol)[..., None], np.asarray(rtol)[..., None] * s.max(-1, keepdims=True, initial=0))
    return _to((s > tol).sum(-1), A, _C.int64)


# ---- decompositions ------------------------------------------------------------------------------

def cholesky(A, *, upper=False):
    _check(A, "linalg.cholesky")
    return _Cholesky.apply(A, upper, "linalg.cholesky")[0]


def cholesky_ex(A, *, upper=False, check_errors=False):
    """The factor and potrf's info per matrix (a failed factor is zero, PyTorch's is LAPACK's partial one)."""
    _check(A, "linalg.cholesky")
    return _namedtuple("linalg_cholesky_ex", ["L", "info"])(
        *_Cholesky.apply(A, upper, "linalg.cholesky_ex" if check_errors else None))


def qr(A, mode="reduced"):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or "
                           "'complete'")
    _check(A, "linalg.qr", square=False)
    return _namedtuple("linalg_qr", ["Q", "R"])(*_QR.apply(A, mode))


def svd(A, full_matrices=True, *, driver=None):
    """U, S, Vh; a loss of U or Vh must not depend on their columns' signs (PyTorch's rule)."""
    _check(A, "linalg.svd", square=False)
    return _namedtuple("linalg_svd", ["U", "S", "Vh"])(*_SVD.apply(A, full_matrices))


def svdvals(A, *, driver=None):
    _check(A, "linalg.svd", square=False)
    return _SVD.apply(A, False)[1]  # U and Vh are the gradient's


def _check_uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of the symmetric matrix whose lower (UPLO='L') or
    upper triangle A holds; a loss of the eigenvectors must not depend on their signs."""
    _check_uplo(UPLO)
    _check(A, "linalg.eigh")
    return _namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])(*_Eigh.apply(A, UPLO))


def eigvalsh(A, UPLO="L"):
    _check_uplo(UPLO)
    _check(A, "linalg.eigh")
    return _Eigh.apply(A, UPLO)[0]  # the eigenvectors are the gradient's


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """getrf's packed LU, 1-based pivots and info (by a numpy loop over the columns, not LAPACK)."""
    _check(A, "torch.linalg.lu_factor_ex", square=False)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    LU, pivots, info = _LUFactor.apply(A)
    if check_errors and bool(info.any()):
        _raise("torch.linalg.lu_factor_ex", _host(info), lambda k: f"U[{k},{k}] is zero and using it on lu_solve "
               "would result in a division by zero. If you still want to perform the factorization, consider calling "
               "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)", RuntimeError)
    return _namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])(LU, pivots, info)


def lu_factor(A, *, pivot=True):
    LU, pivots, info = lu_factor_ex(A, pivot=pivot)
    if bool(info.any()):
        _raise("torch.linalg.lu_factor", _host(info), lambda k: f"U[{k},{k}] is zero and using it on lu_solve would "
               "result in a division by zero. If you still want to perform the factorization, consider calling "
               "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)", RuntimeError)
    return _namedtuple("linalg_lu_factor", ["LU", "pivots"])(LU, pivots)


def lu_unpack(LU, pivots, unpack_data=True, unpack_pivots=True):
    """P, L, U of packed factors (A = P L U); what is not unpacked is an empty tensor."""
    empty = _ops.zeros([0], dtype=LU.dtype, device=str(LU.device))
    P = lu_unpack_pivots(pivots, LU) if unpack_pivots else empty
    L, U = lu_unpack_factors(LU) if unpack_data else (empty, empty)
    return _namedtuple("lu_unpack", ["P", "L", "U"])(P, L, U)


def lu(A, *, pivot=True):
    LU, pivots = lu_factor_ex(A, pivot=pivot)[:2]
    return _namedtuple("linalg_lu", ["P", "L", "U"])(*lu_unpack(LU, pivots))


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """X with A X = B (A^T X = B when adjoint; X A = B, X A^T = B when not left), A = P L U."""
    _check(LU, "linalg.lu_solve")
    _check_rhs(LU, B, "linalg.lu_solve", left)
    if not left:  # X A = B is A^T X^T = B^T
        return lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    P, L, U = lu_unpack(LU, pivots)
    if adjoint:  # U^T L^T P^T X = B
        return P @ _SolveTriangular.apply(L.mT, _SolveTriangular.apply(U.mT, B, False, False), True, True)
    return _SolveTriangular.apply(U, _SolveTriangular.apply(L, P.mT @ B, False, True), True, False)


# ---- matrix functions and products ---------------------------------------------------------------

def matrix_power(A, n):
    """A^n by repeated squaring (PyTorch's order of products); negative n through inv."""
    if A.dim() < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    if n == 0:  # the identity, with a (zero) gradient for A as PyTorch's copy into A's clone
        everywhere = _ops.ones(list(A.shape), dtype=_C.bool, device=str(A.device))
        return _ops.where(everywhere, _ops.eye(A.shape[-1], -1, dtype=A.dtype, device=str(A.device)), A)
    if n < 0:
        A, n = inv(A), -n
    if n <= 3:
        return A.clone() if n == 1 else A @ A if n == 2 else (A @ A) @ A
    z = result = None
    while n > 0:
        n, bit = divmod(n, 2)
        z = A if z is None else z @ z
        if bit:
            result = z if result is None else result @ z
    return result


def matrix_exp(A):
    """exp(A) by a Padé approximant with scaling and squaring, computed in float64 on the host."""
    _check(A, "linalg.matrix_exp", dtype_name="matrix_exp")
    return _MatrixExp.apply(A)


_DOT_NAMES = {_C.float32: "float", _C.float64: "double", _C.int64: "long", _C.int32: "int", _C.bool: "bool"}


def multi_dot(tensors):
    """The product of the matrices in the cheapest order (PyTorch's: cost comparison for three,
    the dynamic program of matrix chain ordering for more); the first may be a row vector, the last
    a column vector."""
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    for i, t in enumerate(tensors):
        if i in (0, n - 1) and t.dim() not in (1, 2):
            raise RuntimeError(f"multi_dot(): the {'first' if i == 0 else 'last'} tensor must be 1D or 2D but got "
                               f"{t.dim()}D")
        if 0 < i < n - 1 and t.dim() != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.dim()}D")
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{_DOT_NAMES[tensors[0].dtype]} and tensor {i} {_DOT_NAMES[t.dtype]}")
    for i in range(n - 1):
        if tensors[i].shape[-1] != tensors[i + 1].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(tensors[i].shape)} and "
                               f"{list(tensors[i + 1].shape)} cannot be multiplied")
    first, last = tensors[0].dim() == 1, tensors[-1].dim() == 1
    mats = [tensors[0].unsqueeze(0) if first else tensors[0], *tensors[1:-1],
            tensors[-1].unsqueeze(-1) if last else tensors[-1]]
    out = _chain(mats)
    if first:
        out = out.squeeze(0)
    return out.squeeze(-1) if last else out


def _chain(mats):
    if len(mats) == 2:
        return mats[0] @ mats[1]
    if len(mats) == 3:
        a, b = mats[0].shape
        c, d = mats[2].shape
        A, B, C = mats
        return A @ (B @ C) if a * c * (b + d) > b * d * (a + c) else (A @ B) @ C
    dims = [m.shape[0] for m in mats] + [mats[-1].shape[1]]
    n = len(mats)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                q = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if q < cost[i][j]:
                    cost[i][j], split[i][j] = q, k

    def product(i, j):
        return mats[i] if i == j else product(i, split[i][j]) @ product(split[i][j] + 1, j)
    return product(0, n - 1)


def vecdot(x, y, *, dim=-1):
    if not x.is_floating_point():
        raise RuntimeError(f"linalg.vecdot: Expected a floating point or complex tensor as input. Got "
                           f"{_legacy_name(x.dtype)}")
    return (x * y).sum(dim)


def vander(x, *, N=None):
    """x's increasing powers 0 .. N-1 along a new last dim, as products (PyTorch's cumprod)."""
    n = N if N is not None else x.shape[-1] if x.dim() else 0
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    powers = terra.cumprod(x.unsqueeze(-1).expand(list(x.shape) + [n - 1]), -1)
    return _ops.cat([terra.ones_like(powers.narrow(-1, 0, 1)), powers], -1)


def matmul(input, other):
    return terra.matmul(input, other)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return terra.diagonal(A, offset, dim1, dim2)


def cross(input, other, *, dim=-1):
    return terra.cross(input, other, dim=dim)


from ._householder import householder_product  # noqa: E402 (these import linalg lazily)
from ._linalg_tensor import tensorinv, tensorsolve  # noqa: E402


__all__ = ["LinAlgError", "norm", "vector_norm", "matrix_norm", "cond", "inv", "inv_ex", "det", "slogdet", "solve",
           "solve_ex", "solve_triangular", "lstsq", "pinv", "matrix_rank", "cholesky", "cholesky_ex", "qr", "svd",
           "svdvals", "eigh", "eigvalsh", "lu_factor", "lu_factor_ex", "lu", "lu_solve", "matrix_power",
           "matrix_exp", "multi_dot", "vecdot", "vander", "matmul", "diagonal", "cross", "householder_product",
           "tensorinv", "tensorsolve"]
