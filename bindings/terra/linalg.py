"""terra.linalg: the norms of torch.linalg (vector_norm, matrix_norm for the orders that need no
decomposition, norm). Decompositions and solvers (svd, qr, eigh, solve, inv, cholesky) and the
spectral and nuclear matrix norms are not implemented."""
import math

import terra


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


def matrix_norm(a, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """'fro', 1, -1, inf and -inf over the two dims; 2, -2 and 'nuc' need singular values."""
    if dtype is not None:
        a = a.to(dtype)
    rows, cols = dim
    if ord == "fro":
        return vector_norm(a, 2, dim=(rows, cols), keepdim=keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        summed, reduced = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = a.abs().sum(dim=summed, keepdim=True)
        out = sums.amax(dim=reduced, keepdim=True) if ord > 0 else sums.amin(dim=reduced, keepdim=True)
        if not keepdim:
            for d in sorted((rows % a.dim(), cols % a.dim()), reverse=True):
                out = out.squeeze(d)
        return out
    raise NotImplementedError(f"terra.linalg.matrix_norm: ord={ord!r} needs singular values, which Terra does not "
                              f"compute yet")


def norm(a, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm, or a matrix norm when dim has two entries (or ord is
    given and a is 2-D with dim None); with ord and dim None, the 2-norm of all elements."""
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        return vector_norm(a, 2, dim=dim, keepdim=keepdim, dtype=dtype)
    if dim is None:
        if a.dim() not in (1, 2):
            raise RuntimeError(f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or 2-D, got "
                               f"{a.dim()}-D")
        dim = tuple(range(a.dim()))
    if len(dim) == 2:
        return matrix_norm(a, ord, dim=dim, keepdim=keepdim, dtype=dtype)
    return vector_norm(a, ord, dim=dim, keepdim=keepdim, dtype=dtype)


__all__ = ["norm", "vector_norm", "matrix_norm"]
