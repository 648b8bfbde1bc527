"""MultivariateNormal(loc, covariance_matrix= | precision_matrix= | scale_tril=), as
torch.distributions.MultivariateNormal (1.13). Everything is computed from the lower Cholesky
factor L of the covariance (terra.linalg.cholesky and solve_triangular, LAPACK on the host)."""
import math

import terra

from . import constraints
from .distribution import Distribution, _size
from .utils import lazy_property

__all__ = ['MultivariateNormal']


def _batch_mv(bmat, bvec):
    """bmat @ bvec over broadcast batch dimensions."""
    return terra.matmul(bmat, bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(bL, bx):
    """x^T (L L^T)^-1 x = |L^-1 x|^2 for a factor bL broadcastable to bx's batch. PyTorch
    reshapes bx to solve against the unbroadcast bL once; this broadcasts bL to bx's batch
    instead (the same values, more memory for large sample shapes)."""
    n = bx.size(-1)
    bL = bL.expand(tuple(bx.shape[:-1]) + (n, n))
    return terra.linalg.solve_triangular(bL, bx.unsqueeze(-1), upper=False).squeeze(-1).pow(2).sum(-1)


def _half_log_det(scale_tril):
    """log det(L L^T) / 2: the sum of the logs of L's diagonal."""
    return scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def _precision_to_scale_tril(P):
    """The lower Cholesky factor of P^-1 without inverting P: with flip reversing both axes,
    cholesky(flip(P)) = Lf gives P = U U^T for the upper triangular U = flip(Lf), so
    P^-1 = (U^-1)^T U^-1 and L = (flip(Lf)^T)^-1 is lower triangular."""
    Lf = terra.linalg.cholesky(terra.flip(P, (-2, -1)))
    L_inv = terra.transpose(terra.flip(Lf, (-2, -1)), -2, -1)
    Id = terra.eye(P.shape[-1], dtype=P.dtype, device=P.device)
    return terra.linalg.solve_triangular(L_inv, Id, upper=False)


class MultivariateNormal(Distribution):
    """Exactly one of covariance_matrix, precision_matrix and scale_tril; the other two are
    computed (lazily) from scale_tril."""

    arg_constraints = {'loc': constraints.real_vector,
                       'covariance_matrix': constraints.positive_definite,
                       'precision_matrix': constraints.positive_definite,
                       'scale_tril': constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        for name, matrix in (('scale_tril', scale_tril), ('covariance_matrix', covariance_matrix),
                             ('precision_matrix', precision_matrix)):
            if matrix is None:
                continue
            if matrix.dim() < 2:
                label = 'scale_tril matrix' if name == 'scale_tril' else name
                raise ValueError(f"{label} must be at least two-dimensional, with optional leading batch dimensions")
            batch_shape = terra.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
            setattr(self, name, matrix.expand(batch_shape + (-1, -1)))
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = terra.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = _size(batch_shape)
        cov_shape = batch_shape + self.event_shape + self.event_shape
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ('covariance_matrix', 'scale_tril', 'precision_matrix'):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(cov_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _expand_matrix(self, matrix):
        return matrix.expand(self._batch_shape + self._event_shape + self._event_shape)

    @lazy_property
    def scale_tril(self):
        return self._expand_matrix(self._unbroadcasted_scale_tril)

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return self._expand_matrix(terra.matmul(L, L.mT))

    @lazy_property
    def precision_matrix(self):
        return self._expand_matrix(terra.cholesky_inverse(self._unbroadcasted_scale_tril))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = terra.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        M = _batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        half_log_det = _half_log_det(self._unbroadcasted_scale_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - half_log_det

    def entropy(self):
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + _half_log_det(self._unbroadcasted_scale_tril)
        return H if len(self._batch_shape) == 0 else H.expand(self._batch_shape)
