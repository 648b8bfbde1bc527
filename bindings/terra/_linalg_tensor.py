"""torch.linalg.tensorinv and tensorsolve: the tensor forms of inv and solve, as reshapes around
them (so their gradients are inv's and solve's)."""
import math

__all__ = ["tensorinv", "tensorsolve"]


def tensorinv(A, ind=2):
    """The tensor X with tensordot(A, X, ind) the identity: A's first `ind` dims against the rest."""
    from . import linalg
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    return linalg.inv(A.reshape(rows, cols)).reshape(tuple(A.shape[ind:]) + tuple(A.shape[:ind]))


def tensorsolve(A, B, dims=None):
    """The X with tensordot(A, X, X.dim()) == B; `dims` are moved to A's end first."""
    from . import linalg
    if dims is not None:
        dims = [d % A.dim() for d in dims]
        A = A.permute([d for d in range(A.dim()) if d not in dims] + dims)
    solution_shape = tuple(A.shape[B.dim():])
    rows, cols = B.numel(), math.prod(solution_shape)
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    return linalg.solve(A.reshape(rows, cols), B.reshape(rows)).reshape(solution_shape)
