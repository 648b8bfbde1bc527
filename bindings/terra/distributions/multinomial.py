"""Multinomial(total_count=1, probs= | logits=), as torch.distributions.Multinomial (1.13): the
counts of each of K categories in total_count independent Categorical draws (an int
total_count; samples are float count vectors)."""
import math

import terra

from . import constraints
from .binomial import Binomial
from .categorical import Categorical
from .distribution import Distribution, _size
from .utils import broadcast_all

__all__ = ['Multinomial']


class Multinomial(Distribution):
    arg_constraints = {'probs': constraints.simplex, 'logits': constraints.real_vector}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError('inhomogeneous total_count is not supported')
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = _size(batch_shape)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        sample_shape = tuple(sample_shape)
        with terra.no_grad():
            # (total_count,) + sample_shape + batch_shape category indices, counted per category
            draws = self._categorical.sample((self.total_count,) + sample_shape)
            draws = draws.permute(*range(1, draws.dim()), 0)
            counts = terra.zeros(self._extended_shape(sample_shape), dtype=draws.dtype, device=draws.device)
            counts.scatter_add_(-1, draws, terra.ones_like(draws))
            return counts.type_as(self.probs)

    def entropy(self):
        # log(n!) in float32, as PyTorch computes it (lgamma of an int64 tensor): the same
        # entropy to ~1e-7 relative, whatever the dtype of probs
        log_factorial_n = terra.lgamma(terra.tensor(float(self.total_count + 1), dtype=terra.float32))
        term1 = self.total_count * self._categorical.entropy() - log_factorial_n
        # E[sum_k log x_k!] from the Binomial(n, p_k) marginals
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = terra.exp(self._binomial.log_prob(support))
        weights = terra.lgamma(support + 1)
        term2 = (binomial_probs * weights).sum([0, -1])
        return term1 + term2

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = terra.lgamma(value.sum(-1) + 1)
        log_factorial_xs = terra.lgamma(value + 1).sum(-1)
        # 0 * log(0) counts as 0
        logits = logits.masked_fill((value == 0) & (logits == -math.inf), 0)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)
