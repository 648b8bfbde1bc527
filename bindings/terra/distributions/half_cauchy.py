"""HalfCauchy(scale), as torch.distributions.HalfCauchy (1.13): |X| for X ~ Cauchy(0, scale)."""
import math

import terra

from ._folded import _Folded
from .cauchy import Cauchy

__all__ = ['HalfCauchy']


class HalfCauchy(_Folded):
    _base = Cauchy

    @property
    def mean(self):
        return terra.full(self._extended_shape(), math.inf, dtype=self.scale.dtype, device=self.scale.device)

    @property
    def variance(self):
        return self.base_dist.variance
