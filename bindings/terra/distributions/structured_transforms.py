"""The transforms of torch.distributions.transforms (1.13) beyond the elementwise bijections in
transforms.py: AbsTransform; the ones that change or couple event dimensions (Independent,
Reshape, Softmax, StickBreaking, LowerCholesky, CorrCholesky); the functors applying transforms
to slices (Cat, Stack); and CumulativeDistributionTransform. transforms.py re-exports them."""
import math

import terra
import terra.nn.functional as F

from . import constraints
from .transforms import Transform
from .utils import _sum_rightmost, finfo, lazy_property, tril_matrix_to_vec, vec_to_tril_matrix

__all__ = ['AbsTransform', 'CatTransform', 'CorrCholeskyTransform', 'CumulativeDistributionTransform',
           'IndependentTransform', 'LowerCholeskyTransform', 'ReshapeTransform', 'SoftmaxTransform',
           'StackTransform', 'StickBreakingTransform']


def _require_dims(shape, n):
    if len(shape) < n:
        raise ValueError("Too few dimensions on input")


class AbsTransform(Transform):
    """y = |x| (not bijective: the inverse is the positive root)."""

    domain = constraints.real
    codomain = constraints.positive

    def __eq__(self, other):
        return isinstance(other, AbsTransform)

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class IndependentTransform(Transform):
    """base_transform with reinterpreted_batch_ndims more rightmost dims read as one event: the
    log-Jacobian sums over them."""

    def __init__(self, base_transform, reinterpreted_batch_ndims, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size)

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        _require_dims(x.shape, self.domain.event_dim)
        return self.base_transform(x)

    def _inverse(self, y):
        _require_dims(y.shape, self.codomain.event_dim)
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return _sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y), self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f"{self.__class__.__name__}({repr(self.base_transform)}, {self.reinterpreted_batch_ndims})"

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)


class ReshapeTransform(Transform):
    """Reshapes the rightmost in_shape dims to out_shape (unit Jacobian)."""

    bijective = True

    def __init__(self, in_shape, out_shape, cache_size=0):
        self.in_shape = terra.Size(in_shape)
        self.out_shape = terra.Size(out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @constraints.dependent_property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @constraints.dependent_property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):
        return x.reshape(tuple(x.shape[:x.dim() - len(self.in_shape)]) + tuple(self.out_shape))

    def _inverse(self, y):
        return y.reshape(tuple(y.shape[:y.dim() - len(self.out_shape)]) + tuple(self.in_shape))

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(tuple(x.shape[:x.dim() - len(self.in_shape)]))

    @staticmethod
    def _replace_event(shape, old, new):
        _require_dims(shape, len(old))
        cut = len(shape) - len(old)
        if tuple(shape[cut:]) != tuple(old):
            raise ValueError("Shape mismatch: expected {} but got {}".format(shape[cut:], old))
        return terra.Size(tuple(shape[:cut]) + tuple(new))

    def forward_shape(self, shape):
        return self._replace_event(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return self._replace_event(shape, self.out_shape, self.in_shape)


class _VectorTransform(Transform):
    """A transform of vectors (event_dim 1); transforms of one class are equal."""

    def __eq__(self, other):
        return isinstance(other, type(self))

    def forward_shape(self, shape):
        _require_dims(shape, 1)
        return shape

    def inverse_shape(self, shape):
        _require_dims(shape, 1)
        return shape


class SoftmaxTransform(_VectorTransform):
    """y = exp(x) normalized over the last dim (not bijective: the inverse is log y)."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        probs = (x - x.max(-1, True)[0]).exp()
        return probs / probs.sum(-1, True)

    def _inverse(self, y):
        return y.log()


def _stick_offsets(x):
    """log(K - k) for k = 0 .. K - 1, K = x.shape[-1]: centres the stick-breaking logits so that
    x = 0 maps to the uniform point of the simplex."""
    k = x.shape[-1]
    return (k + 1 - x.new_ones(k).cumsum(-1)).log()


class StickBreakingTransform(_VectorTransform):
    """R^(K-1) onto the K-simplex: y_k = z_k prod_{j<k} (1 - z_j), z_k = sigmoid(x_k - offset)."""

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def _call(self, x):
        info = finfo(x.dtype)
        z = terra.sigmoid(x - _stick_offsets(x)).clamp(min=float(info.tiny), max=1. - float(info.eps))
        z_cumprod = (1 - z).cumprod(-1)
        return F.pad(z, [0, 1], value=1) * F.pad(z_cumprod, [1, 0], value=1)

    def _inverse(self, y):
        y_crop = y[..., :-1]
        offset = y.shape[-1] - y.new_ones(y_crop.shape[-1]).cumsum(-1)
        # clamped: the stick left can round to <= 0 when y[-1] ~ 0
        sf = (1 - y_crop.cumsum(-1)).clamp(min=float(finfo(y.dtype).tiny))
        return y_crop.log() - sf.log() + offset.log()

    def log_abs_det_jacobian(self, x, y):
        x = x - _stick_offsets(x)
        # 1 - sigmoid(x) = exp(-x) sigmoid(x)
        return (-x + F.logsigmoid(x) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        _require_dims(shape, 1)
        return terra.Size(tuple(shape[:-1]) + (shape[-1] + 1,))

    def inverse_shape(self, shape):
        _require_dims(shape, 1)
        return terra.Size(tuple(shape[:-1]) + (shape[-1] - 1,))


class LowerCholeskyTransform(Transform):
    """Square matrices to lower triangular ones with a positive diagonal: the strict lower part
    kept, the diagonal exponentiated (no log_abs_det_jacobian, as in PyTorch)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other):
        return isinstance(other, LowerCholeskyTransform)

    def _call(self, x):
        return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()

    def _inverse(self, y):
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()


class CorrCholeskyTransform(Transform):
    """R^(D(D-1)/2) onto the Cholesky factors of D x D correlation matrices: x row by row into the
    strict lower triangle, tanh into (-1, 1), then each row a signed stick-breaking onto a unit
    vector. The log-Jacobian is that of x to the strict lower triangle of y."""

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def _call(self, x):
        eps = float(finfo(x.dtype).eps)
        r = vec_to_tril_matrix(terra.tanh(x).clamp(min=-1 + eps, max=1 - eps), diag=-1)
        # y = sign(r) sqrt(z prod(1 - z)) with z = r^2, = r sqrt(prod(1 - z))
        z1m_cumprod_sqrt = (1 - r ** 2).sqrt().cumprod(-1)
        r = r + terra.eye(r.shape[-1], dtype=r.dtype, device=r.device)  # unit diagonal
        return r * F.pad(z1m_cumprod_sqrt[..., :-1], [1, 0], value=1)

    def _inverse(self, y):
        y_cumsum = 1 - terra.cumsum(y * y, dim=-1)
        y_cumsum_shifted = F.pad(y_cumsum[..., :-1], [1, 0], value=1)
        t = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(y_cumsum_shifted, diag=-1).sqrt()
        return ((1 + t) / (1 - t)).log() / 2  # atanh

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        # diag=-2 reads the stick left before each entry without shifting the cumulative sums
        y1m_cumsum_tril = tril_matrix_to_vec(1 - (y * y).cumsum(dim=-1), diag=-2)
        stick_breaking_logdet = 0.5 * y1m_cumsum_tril.log().sum(-1)
        tanh_logdet = -2 * (x + F.softplus(-2 * x) - math.log(2.)).sum(dim=-1)
        return stick_breaking_logdet + tanh_logdet

    def forward_shape(self, shape):
        _require_dims(shape, 1)
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError("Input is not a flattend lower-diagonal number")
        return terra.Size(tuple(shape[:-1]) + (d, d))

    def inverse_shape(self, shape):
        _require_dims(shape, 2)
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        d = shape[-1]
        return terra.Size(tuple(shape[:-2]) + (d * (d - 1) // 2,))


class _SliceTransform(Transform):
    """Transforms applied each to its slice of the input along dim (Cat and Stack)."""

    def __init__(self, tseq, dim, cache_size):
        assert all(isinstance(t, Transform) for t in tseq)
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    def _check_slices(self, *tensors):
        for t in tensors:
            assert -t.dim() <= self.dim < t.dim()
            assert t.size(self.dim) == self._total_length

    def _map(self, fn, *tensors):
        """fn(transform, *slices) for each transform and its slices of tensors."""
        self._check_slices(*tensors)
        return [fn(t, *parts) for t, *parts in zip(self.transforms, *(self._slice(x) for x in tensors))]

    def _call(self, x):
        return self._join(self._map(lambda t, xs: t(xs), x))

    def _inverse(self, y):
        return self._join(self._map(lambda t, ys: t.inv(ys), y))


class CatTransform(_SliceTransform):
    """transforms[i] applied to the i-th of consecutive slices of lengths[i] (1 each by default)
    along dim, as terra.cat joins them."""

    def __init__(self, tseq, dim=0, lengths=None, cache_size=0):
        super().__init__(tseq, dim, cache_size)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        assert len(self.lengths) == len(self.transforms)

    @lazy_property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @lazy_property
    def length(self):
        return sum(self.lengths)

    @property
    def _total_length(self):
        return self.length

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _slice(self, z):
        starts = [sum(self.lengths[:i]) for i in range(len(self.lengths))]
        return [z.narrow(self.dim, start, length) for start, length in zip(starts, self.lengths)]

    def _join(self, parts):
        return terra.cat(parts, dim=self.dim)

    def log_abs_det_jacobian(self, x, y):
        def one(t, xs, ys):
            return _sum_rightmost(t.log_abs_det_jacobian(xs, ys), self.event_dim - t.event_dim)

        terms = self._map(one, x, y)
        # dim inside the event: the slices' terms were summed over it; outside: concatenated
        dim = (self.dim - x.dim() if self.dim >= 0 else self.dim) + self.event_dim
        return terra.cat(terms, dim=dim) if dim < 0 else sum(terms)

    @constraints.dependent_property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @constraints.dependent_property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(_SliceTransform):
    """transforms[i] applied to the i-th slice along dim, as terra.stack joins them."""

    def __init__(self, tseq, dim=0, cache_size=0):
        super().__init__(tseq, dim, cache_size)

    @property
    def _total_length(self):
        return len(self.transforms)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slice(self, z):
        return [z.select(self.dim, i) for i in range(z.size(self.dim))]

    def _join(self, parts):
        return terra.stack(parts, dim=self.dim)

    def log_abs_det_jacobian(self, x, y):
        return self._join(self._map(lambda t, xs, ys: t.log_abs_det_jacobian(xs, ys), x, y))

    @constraints.dependent_property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @constraints.dependent_property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)


class CumulativeDistributionTransform(Transform):
    """y = distribution.cdf(x) (a copula's marginals); the log-Jacobian is the log density."""

    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)
