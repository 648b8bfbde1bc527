"""ContinuousBernoulli(probs= | logits=, lims=(0.499, 0.501)), as
torch.distributions.ContinuousBernoulli (1.13): density proportional to p^x (1 - p)^(1 - x) on
[0, 1] (Loaiza-Ganem and Cunningham, 2019). Near p = 1/2, inside lims, the normalizer, moments and
cdf are Taylor expansions (the closed forms cancel there). rsample is the icdf of a uniform."""
import math
from numbers import Number

import terra
from terra.nn.functional import binary_cross_entropy_with_logits

from . import constraints
from .exp_family import ExponentialFamily
from .utils import broadcast_all, clamp_probs, lazy_property, logits_to_probs, probs_to_logits

__all__ = ['ContinuousBernoulli']


class ContinuousBernoulli(ExponentialFamily):
    arg_constraints = {'probs': constraints.unit_interval, 'logits': constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, Number)
            self.probs, = broadcast_all(probs)
            # checked before clamping (the clamped probs always pass), as PyTorch does, and
            # only when validate_args is given
            if validate_args is not None and not bool(self.arg_constraints['probs'].check(self.probs).all()):
                raise ValueError("The parameter {} has invalid values".format('probs'))
            self.probs = clamp_probs(self.probs)
        else:
            is_scalar = isinstance(logits, Number)
            self.logits, = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        self._lims = lims
        super().__init__(() if is_scalar else self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_parameters(ContinuousBernoulli, batch_shape, _instance, ('probs', 'logits'))
        new._lims = self._lims
        return new

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        """probs, or lims[0] inside the unstable region (where the Taylor forms are used)."""
        return terra.where(self._outside_unstable_region(), self.probs, self._lims[0] * terra.ones_like(self.probs))

    def _stable(self, closed_form, taylor):
        return terra.where(self._outside_unstable_region(), closed_form, taylor)

    def _cont_bern_log_norm(self):
        """The log normalizing constant as a function of probs."""
        cut_probs = self._cut_probs()
        below_half = terra.where(cut_probs <= 0.5, cut_probs, terra.zeros_like(cut_probs))
        above_half = terra.where(cut_probs >= 0.5, cut_probs, terra.ones_like(cut_probs))
        log_norm = terra.log(terra.abs(terra.log1p(-cut_probs) - terra.log(cut_probs))) - terra.where(
            cut_probs <= 0.5, terra.log1p(-2.0 * below_half), terra.log(2.0 * above_half - 1.0))
        x = terra.pow(self.probs - 0.5, 2)
        return self._stable(log_norm, math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x)

    @property
    def mean(self):
        cut_probs = self._cut_probs()
        mus = cut_probs / (2.0 * cut_probs - 1.0) + 1.0 / (terra.log1p(-cut_probs) - terra.log(cut_probs))
        x = self.probs - 0.5
        return self._stable(mus, 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * terra.pow(x, 2)) * x)

    @property
    def variance(self):
        cut_probs = self._cut_probs()
        variances = (cut_probs * (cut_probs - 1.0) / terra.pow(1.0 - 2.0 * cut_probs, 2)
                     + 1.0 / terra.pow(terra.log1p(-cut_probs) - terra.log(cut_probs), 2))
        x = terra.pow(self.probs - 0.5, 2)
        return self._stable(variances, 1.0 / 12.0 - (1.0 / 15.0 - 128. / 945.0 * x) * x)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self):
        return self._param.size()

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return self.icdf(terra.rand(shape, dtype=self.probs.dtype, device=self.probs.device))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction='none') + self._cont_bern_log_norm()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        cut_probs = self._cut_probs()
        cdfs = (terra.pow(cut_probs, value) * terra.pow(1.0 - cut_probs, 1.0 - value)
                + cut_probs - 1.0) / (2.0 * cut_probs - 1.0)
        unbounded_cdfs = self._stable(cdfs, value)
        return terra.where(value <= 0.0, terra.zeros_like(value),
                           terra.where(value >= 1.0, terra.ones_like(value), unbounded_cdfs))

    def icdf(self, value):
        cut_probs = self._cut_probs()
        return self._stable((terra.log1p(-cut_probs + value * (2.0 * cut_probs - 1.0)) - terra.log1p(-cut_probs))
                            / (terra.log(cut_probs) - terra.log1p(-cut_probs)), value)

    def entropy(self):
        log_probs0 = terra.log1p(-self.probs)
        log_probs1 = terra.log(self.probs)
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """The log normalizing constant as a function of the natural parameter (the logit)."""
        out_unst_reg = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut_nat_params = terra.where(out_unst_reg, x, (self._lims[0] - 0.5) * terra.ones_like(x))
        log_norm = terra.log(terra.abs(terra.exp(cut_nat_params) - 1.0)) - terra.log(terra.abs(cut_nat_params))
        taylor = 0.5 * x + terra.pow(x, 2) / 24.0 - terra.pow(x, 4) / 2880.0
        return terra.where(out_unst_reg, log_norm, taylor)
