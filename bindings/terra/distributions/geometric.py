"""Geometric(probs=... | logits=...), as torch.distributions.Geometric (1.13): the number of
failures before the first success of Bernoulli(probs) trials, on {0, 1, ...}."""
import terra

from . import constraints
from .bernoulli import _bce_with_logits
from .distribution import Distribution
from .utils import ProbsLogits, broadcast_all, finfo

__all__ = ['Geometric']


class Geometric(ProbsLogits, Distribution):
    arg_constraints = {'probs': constraints.unit_interval, 'logits': constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        super().__init__(self._hold_probs_or_logits(probs, logits), validate_args=validate_args)
        if self._validate_args and probs is not None:
            value = self.probs  # beyond unit_interval: probs must be > 0
            valid = value > 0
            if not bool(valid.all()):
                raise ValueError("Expected parameter probs "
                                 f"({type(value).__name__} of shape {tuple(value.shape)}) "
                                 f"of distribution {repr(self)} "
                                 f"to be positive but found invalid values:\n{value.detach()[~valid]}")

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(Geometric, batch_shape, _instance, ('probs', 'logits'))

    @property
    def mean(self):
        return 1. / self.probs - 1.

    @property
    def mode(self):
        return terra.zeros_like(self.probs)

    @property
    def variance(self):
        return (1. / self.probs - 1.) / self.probs

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        tiny = float(finfo(self.probs.dtype).tiny)
        with terra.no_grad():
            u = terra.empty(shape, dtype=self.probs.dtype, device=self.probs.device).uniform_(tiny, 1)
            return (u.log() / (-self.probs).log1p()).floor()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # 0 * log(0) is 0 where probs is 1 and value 0.
        probs = terra.where((probs == 1) & (value == 0), terra.zeros_like(probs), probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self):
        return _bce_with_logits(self.logits, self.probs) / self.probs
