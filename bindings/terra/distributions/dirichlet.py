"""Dirichlet(concentration), as torch.distributions.Dirichlet (1.13): a distribution on the
probability simplex along the last dimension.

rsample normalizes reparameterized Gamma(concentration_i, 1) draws (gamma.standard_gamma), so its
gradient is the Gamma implicit gradient carried through the normalization. PyTorch's draws the
same way but differentiates with `_dirichlet_grad`, the implicit gradient of each coordinate's
Beta marginal: both are unbiased gradients of expectations over the same distribution, but they
differ sample by sample."""
import terra
import terra.nn.functional as F

from . import constraints
from .distribution import Distribution, _size
from .gamma import standard_gamma
from .utils import finfo

__all__ = ['Dirichlet']


class Dirichlet(Distribution):
    arg_constraints = {'concentration': constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = _size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape + self.event_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        # Gammas in float64 (small concentrations underflow in float32), as PyTorch draws them.
        gammas = standard_gamma(self.concentration.expand(shape).to(terra.float64))
        value = (gammas / gammas.sum(-1, keepdim=True)).to(self.concentration.dtype)
        info = finfo(value.dtype)
        # Inside [tiny, the largest number below 1] like PyTorch's samples; in place: no gradient.
        value.detach().clamp_(min=float(info.tiny), max=1 - float(info.epsneg))
        return value

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((terra.log(value) * (self.concentration - 1.0)).sum(-1) + terra.lgamma(self.concentration.sum(-1))
                - terra.lgamma(self.concentration).sum(-1))

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self):
        """(concentration - 1) normalized, concentrations below 1 counted as 1. Where all are
        below 1 the density is unbounded at every vertex; PyTorch's argmax then meets NaNs and
        picks the first vertex, and so does this."""
        concentrationm1 = (self.concentration - 1).clamp(min=0.)
        mode = concentrationm1 / concentrationm1.sum(-1, True)
        first_vertex = F.one_hot(terra.zeros(self.concentration.shape[:-1], dtype=terra.int64),
                                 concentrationm1.shape[-1]).to(mode)
        return terra.where((self.concentration < 1).all(-1, keepdim=True), first_vertex, mode)

    @property
    def variance(self):
        con0 = self.concentration.sum(-1, True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    def entropy(self):
        k = self.concentration.size(-1)
        a0 = self.concentration.sum(-1)
        return (terra.lgamma(self.concentration).sum(-1) - terra.lgamma(a0) - (k - a0) * terra.digamma(a0)
                - ((self.concentration - 1.0) * terra.digamma(self.concentration)).sum(-1))
