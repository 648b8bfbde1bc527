"""Laplace(loc, scale), as torch.distributions.Laplace (1.13)."""
from numbers import Number

import terra

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, finfo

__all__ = ['Laplace']


class Laplace(Distribution):
    """Density exp(-|x - loc| / scale) / (2 scale); rsample inverts the CDF at a uniform draw."""

    arg_constraints = {'loc': constraints.real, 'scale': constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        batch_shape = () if isinstance(loc, Number) and isinstance(scale, Number) else self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(Laplace, batch_shape, _instance, ('loc', 'scale'))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return (2 ** 0.5) * self.scale

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        # u in [eps - 1, 1): log1p(-|u|) stays finite.
        eps = float(finfo(self.loc.dtype).eps)
        u = terra.empty(shape, dtype=self.loc.dtype, device=self.loc.device).uniform_(eps - 1, 1)
        return self.loc - self.scale * u.sign() * terra.log1p(-u.abs())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -terra.log(2 * self.scale) - terra.abs(value - self.loc) / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * terra.expm1(-(value - self.loc).abs() / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * terra.log1p(-2 * term.abs())

    def entropy(self):
        return 1 + terra.log(2 * self.scale)
