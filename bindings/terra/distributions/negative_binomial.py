"""NegativeBinomial(total_count, probs= | logits=), as torch.distributions.NegativeBinomial
(1.13): the number of successes (probability probs each) before total_count failures. Samples
are Poisson draws at Gamma(total_count, exp(-logits)) rates."""
import terra
import terra.nn.functional as F

from . import constraints
from .distribution import Distribution
from .gamma import Gamma
from .poisson import sample_poisson
from .utils import ProbsLogits, broadcast_all, lazy_property

__all__ = ['NegativeBinomial']


class NegativeBinomial(ProbsLogits, Distribution):
    arg_constraints = {'total_count': constraints.greater_than_eq(0),
                       'probs': constraints.half_open_interval(0., 1.),
                       'logits': constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = probs if probs is not None else logits
        self.total_count, self._param = broadcast_all(total_count, given)
        self.total_count = self.total_count.type_as(self._param)
        setattr(self, 'probs' if probs is not None else 'logits', self._param)
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(NegativeBinomial, batch_shape, _instance, ('total_count', 'probs', 'logits'))

    @property
    def mean(self):
        return self.total_count * terra.exp(self.logits)

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.)

    @property
    def variance(self):
        return self.mean / terra.sigmoid(-self.logits)

    @lazy_property
    def _gamma(self):
        # not validated: total_count may be 0
        return Gamma(concentration=self.total_count, rate=terra.exp(-self.logits), validate_args=False)

    def sample(self, sample_shape=()):
        with terra.no_grad():
            return sample_poisson(self._gamma.sample(sample_shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_unnormalized_prob = self.total_count * F.logsigmoid(-self.logits) + value * F.logsigmoid(self.logits)
        log_normalization = (-terra.lgamma(self.total_count + value) + terra.lgamma(1. + value)
                             + terra.lgamma(self.total_count))
        log_normalization = log_normalization.masked_fill(self.total_count + value == 0., 0.)
        return log_unnormalized_prob - log_normalization
