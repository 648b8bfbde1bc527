"""HalfNormal(scale), as torch.distributions.HalfNormal (1.13): |X| for X ~ Normal(0, scale)."""
import math

from ._folded import _Folded
from .normal import Normal

__all__ = ['HalfNormal']


class HalfNormal(_Folded):
    _base = Normal

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)
