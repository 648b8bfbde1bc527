"""The parametrizations of torch.nn.utils.parametrizations: orthogonal (matrix_exp, cayley and
householder maps, with or without the dynamic trivialization) and spectral_norm, registered
through parametrize.register_parametrization."""

from enum import Enum, auto

import terra

from .. import functional as F
from ..modules.module import Module
from ..parameter import Tensor
from . import parametrize
from ..._householder import geqrf, householder_product
from .spectral_norm import (default_output_dim, power_iteration, random_unit_vectors,
                            reshape_to_matrix)

__all__ = ["orthogonal", "spectral_norm"]


def _is_orthogonal(Q):
    n, k = Q.size(-2), Q.size(-1)
    eye = terra.eye(k, dtype=Q.dtype, device=Q.device)
    eps = 10. * n * terra.finfo(Q.dtype).eps
    return terra.allclose(Q.mT @ Q, eye, atol=eps)


def _make_orthogonal(A):
    """The Q of A = QR (A tall) with R's diagonal made non-negative."""
    Q, R = terra.linalg.qr(A)
    return Q * R.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


def _negative_identity_like(X):
    return -terra.eye(X.size(-2), X.size(-1), dtype=X.dtype, device=X.device).expand(X.shape)


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        # X is tall from here on.
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            # The map only reads the n k - k (k - 1) / 2 entries on and below the diagonal.
            X = X.tril()
            if n != k:
                X = terra.cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mT  # skew-symmetric
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = terra.linalg.matrix_exp(A)
            else:  # the Cayley retraction (I + A/2)(I - A/2)^{-1}
                eye = terra.eye(n, dtype=A.dtype, device=A.device)
                Q = terra.linalg.solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(diagonal=-1)
            tau = 2. / (1. + (A * A).sum(dim=-2))
            Q = householder_product(A, tau)
            # X's diagonal holds the signs (+-1) of Q's columns; no gradient flows to it.
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().to(Q.dtype).unsqueeze(-2)
        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q):
        with terra.no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q):
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        Q_init = Q
        n, k = Q.size(-2), Q.size(-1)
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                raise NotImplementedError("It is not possible to assign to the matrix exponential "
                                          "or the Cayley parametrizations when "
                                          "use_trivialization=False.")
            # The householder map's inverse: the reflectors of Q, with R's diagonal signs
            # (flipped where LAPACK skipped a reflection) on the diagonal.
            A, tau = geqrf(Q)
            signs = A.diagonal(dim1=-2, dim2=-1).sign()
            signs = terra.where(tau == 0., -signs, signs)
            eye = terra.eye(n, k, dtype=A.dtype, device=A.device)
            A = A * (1 - eye) + eye * signs.unsqueeze(-2)
            return A.mT if transpose else A
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:  # completed into an n x n orthogonal matrix
            N = terra.randn(*(Q.size()[:-2] + (n, n - k)), dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(terra.cat([Q, N], dim=-1))
        self.base = Q
        # -I: the householder map sends zeros to I, and -I keeps the diagonal's signs.
        return _negative_identity_like(Q_init).clone()


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Makes `module.<name>` (a matrix or batch of matrices) orthogonal: orthonormal columns if
    tall, rows if wide. orthogonal_map is "matrix_exp" (default for square), "cayley" or
    "householder" (default otherwise)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError("Expected a matrix or batch of matrices. "
                         f"Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.size(-2) == weight.size(-1) else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f'Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


class _SpectralNorm(Module):
    """weight / sigma, sigma from the power method on the buffers _u, _v (one step per read in
    training mode); a vector is simply normalized."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight.detach())
            u, v = random_unit_vectors(weight_mat, self.eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            # Start from reasonable singular vectors.
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        return reshape_to_matrix(weight, self.dim)

    def _power_method(self, weight_mat, n_power_iterations):
        power_iteration(weight_mat, self._u, self._v, n_power_iterations, self.eps, u_first=True)

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # Clones: a backward through an earlier read must see the u, v it used.
        u = self._u.clone()
        v = self._v.clone()
        sigma = terra.dot(u, terra.mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Makes `module.<name>` read as itself divided by its spectral norm (power-method estimate);
    dim (the output dimension) defaults to 1 for transposed convolutions, else 0."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = default_output_dim(module)
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
