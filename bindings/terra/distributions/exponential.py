"""Exponential(rate), as torch.distributions.Exponential (1.13)."""
from numbers import Number

import terra

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ['Exponential']


class Exponential(Distribution):
    """Density rate * exp(-rate * x) on x >= 0; rsample is a unit exponential draw / rate."""

    arg_constraints = {'rate': constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        self.rate, = broadcast_all(rate)
        batch_shape = () if isinstance(rate, Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(Exponential, batch_shape, _instance, ('rate',))

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return terra.zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return terra.empty(shape, dtype=self.rate.dtype, device=self.rate.device).exponential_() / self.rate

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - terra.exp(-self.rate * value)

    def icdf(self, value):
        return -terra.log(1 - value) / self.rate

    def entropy(self):
        return 1.0 - terra.log(self.rate)
