"""Poisson(rate), as torch.distributions.Poisson (1.13). Samples are exact, by PyTorch's two
methods: rates below 10 count the arrivals of a unit-rate Poisson process in [0, rate]
(PyTorch multiplies uniforms, the same process), larger rates use Hoermann's transformed
rejection (PTRS, 1993)."""
from numbers import Number

import terra

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, count_arrivals, draw_until_done

__all__ = ['Poisson']


def _ptrs_step(lam):
    """One round of PTRS for rates >= 10: a candidate k from a transformed uniform, accepted by
    the squeeze or by comparing with the log pmf."""
    u = terra.rand(lam.shape, dtype=lam.dtype, device=lam.device) - 0.5
    v = terra.rand(lam.shape, dtype=lam.dtype, device=lam.device)
    b = 0.931 + 2.53 * lam.sqrt()
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)
    us = 0.5 - u.abs()
    k = ((2 * a / us + b) * u + lam + 0.43).floor()
    squeeze = (us >= 0.07) & (v <= v_r)
    candidate = (k >= 0) & ~((us < 0.013) & (v > us))
    log_pmf_k = -lam + k * lam.log() - terra.lgamma(k + 1)
    accept = (v.log() + inv_alpha.log() - (a / (us * us) + b).log()) <= log_pmf_k
    return squeeze | (candidate & accept), k, (lam,)


def _exponential_gaps(u):
    return -u.log()


def sample_poisson(rate):
    """Poisson(rate) draws of rate's shape and dtype (torch.poisson)."""
    rate = rate.contiguous()
    out = terra.zeros_like(rate)
    large = rate >= 10
    if bool(large.any()):
        out[large] = draw_until_done(_ptrs_step, rate[large].to(terra.float64)).to(rate.dtype)
    small = ~large
    if bool(small.any()):
        out[small] = count_arrivals(rate[small], _exponential_gaps).to(rate.dtype)
    return out


class Poisson(Distribution):
    """P(k) = rate^k exp(-rate) / k!; samples are float counts."""

    arg_constraints = {'rate': constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        self.rate, = broadcast_all(rate)
        batch_shape = () if isinstance(rate, Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(Poisson, batch_shape, _instance, ('rate',))

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with terra.no_grad():
            return sample_poisson(self.rate.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - (value + 1).lgamma()
