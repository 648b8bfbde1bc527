"""Bernoulli(probs=... | logits=...), as torch.distributions.Bernoulli (1.13)."""
import terra

from . import constraints
from .distribution import Distribution
from .utils import ProbsLogits, broadcast_all

__all__ = ['Bernoulli']


def _bce_with_logits(logits, target):
    """Elementwise binary cross-entropy on logits (the registry op, no reduction)."""
    return terra._C._ops.binary_cross_entropy_with_logits(logits, target, None, None, 'none')


class Bernoulli(ProbsLogits, Distribution):
    """1 with probability probs (or sigmoid(logits)), else 0; samples have probs' dtype."""

    arg_constraints = {'probs': constraints.unit_interval, 'logits': constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        super().__init__(self._hold_probs_or_logits(probs, logits), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(Bernoulli, batch_shape, _instance, ('probs', 'logits'))

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with terra.no_grad():
            return terra.bernoulli(self.probs.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_with_logits(logits, value)

    def entropy(self):
        return _bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand=True):
        values = terra.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
