"""VonMises(loc, concentration), as torch.distributions.VonMises (1.13): the circular
distribution with density exp(k cos(x - loc)) / (2 pi I0(k)) on [-pi, pi). log I0 and log I1 are
PyTorch's polynomial approximations (Abramowitz and Stegun 9.8.1-4); sampling is Best and
Fisher's (1979) rejection method (not reparameterized, as PyTorch's)."""
import math

import terra

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, draw_until_done, lazy_property

__all__ = ['VonMises']


def _eval_poly(y, coef):
    """coef[0] + coef[1] y + ... by Horner's rule."""
    result = coef[-1]
    for c in reversed(coef[:-1]):
        result = c + y * result
    return result


_I0_COEF_SMALL = [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.360768e-1, 0.45813e-2]
_I0_COEF_LARGE = [0.39894228, 0.1328592e-1, 0.225319e-2, -0.157565e-2, 0.916281e-2,
                  -0.2057706e-1, 0.2635537e-1, -0.1647633e-1, 0.392377e-2]
_I1_COEF_SMALL = [0.5, 0.87890594, 0.51498869, 0.15084934, 0.2658733e-1, 0.301532e-2, 0.32411e-3]
_I1_COEF_LARGE = [0.39894228, -0.3988024e-1, -0.362018e-2, 0.163801e-2, -0.1031555e-1,
                  0.2282967e-1, -0.2895312e-1, 0.1787654e-1, -0.420059e-2]
_COEF_SMALL = [_I0_COEF_SMALL, _I1_COEF_SMALL]
_COEF_LARGE = [_I0_COEF_LARGE, _I1_COEF_LARGE]


def _log_modified_bessel_fn(x, order=0):
    """log I_order(x) for x > 0, order 0 or 1: a polynomial in (x / 3.75)^2 below 3.75, an
    asymptotic series in 3.75 / x above."""
    assert order == 0 or order == 1
    y = (x / 3.75) ** 2
    small = _eval_poly(y, _COEF_SMALL[order])
    if order == 1:
        small = x.abs() * small
    small = small.log()
    large = x - 0.5 * x.log() + _eval_poly(3.75 / x, _COEF_LARGE[order]).log()
    return terra.where(x < 3.75, small, large)


def _best_fisher_step(concentration, proposal_r):
    """One round of Best and Fisher's wrapped-Cauchy envelope for flat parameters: a candidate
    angle about 0, accepted by the squeeze or the full test."""
    u1, u2, u3 = terra.rand((3,) + tuple(concentration.shape), dtype=concentration.dtype,
                            device=concentration.device).unbind()
    z = terra.cos(math.pi * u1)
    f = (1 + proposal_r * z) / (proposal_r + z)
    c = concentration * (proposal_r - f)
    accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
    return accept, (u3 - 0.5).sign() * f.acos(), (concentration, proposal_r)


class VonMises(Distribution):
    """mean and variance are the circular ones."""

    arg_constraints = {'loc': constraints.real, 'concentration': constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        tau = 1 + (1 + 4 * self.concentration ** 2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * self.concentration)
        self._proposal_r = (1 + rho ** 2) / (2 * rho)
        super().__init__(self.loc.shape, (), validate_args)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * terra.cos(value - self.loc)
        return log_prob - math.log(2 * math.pi) - _log_modified_bessel_fn(self.concentration, order=0)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with terra.no_grad():
            concentration = self.concentration.expand(shape).reshape(-1)
            proposal_r = self._proposal_r.expand(shape).reshape(-1)
            x = draw_until_done(_best_fisher_step, concentration, proposal_r).reshape(shape)
            return (x + math.pi + self.loc) % (2 * math.pi) - math.pi

    def expand(self, batch_shape, _instance=None):
        validate_args = self.__dict__.get('_validate_args')
        return type(self)(self.loc.expand(batch_shape), self.concentration.expand(batch_shape),
                          validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        return 1 - (_log_modified_bessel_fn(self.concentration, order=1)
                    - _log_modified_bessel_fn(self.concentration, order=0)).exp()
