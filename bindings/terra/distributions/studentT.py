"""StudentT(df, loc=0, scale=1), as torch.distributions.StudentT (1.13). rsample is
loc + scale * X / sqrt(Z / df) for X standard normal and Z ~ Chi2(df) (reparameterized through
Gamma's implicit gradient)."""
import math

import terra

from . import constraints
from .chi2 import Chi2
from .distribution import Distribution, _size
from .utils import broadcast_all

__all__ = ['StudentT']


class StudentT(Distribution):
    arg_constraints = {'df': constraints.positive, 'loc': constraints.real, 'scale': constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0., scale=1., validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_parameters(StudentT, batch_shape, _instance, ('df', 'loc', 'scale'))
        new._chi2 = self._chi2.expand(_size(batch_shape))
        return new

    @property
    def mean(self):
        return self.loc.masked_fill(self.df <= 1, math.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """scale^2 df / (df - 2) for df > 2; inf for 1 < df <= 2, NaN for df <= 1."""
        finite = self.df > 2
        df = self.df.masked_fill(~finite, 3.)  # kept away from the pole: no NaN in the gradient
        var = terra.where(finite, self.scale.pow(2) * df / (df - 2), terra.full_like(df, math.inf))
        return var.masked_fill(self.df <= 1, math.nan)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        X = terra.randn(shape, dtype=self.df.dtype, device=self.df.device)
        Z = self._chi2.rsample(sample_shape)
        Y = X * terra.rsqrt(Z / self.df)
        return self.loc + self.scale * Y

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        Z = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi)
             + terra.lgamma(0.5 * self.df) - terra.lgamma(0.5 * (self.df + 1.)))
        return -0.5 * (self.df + 1.) * terra.log1p(y ** 2. / self.df) - Z

    def entropy(self):
        lbeta = terra.lgamma(0.5 * self.df) + math.lgamma(0.5) - terra.lgamma(0.5 * (self.df + 1))
        return (self.scale.log()
                + 0.5 * (self.df + 1) * (terra.digamma(0.5 * (self.df + 1)) - terra.digamma(0.5 * self.df))
                + 0.5 * self.df.log() + lbeta)
