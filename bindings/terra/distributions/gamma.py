"""Gamma(concentration, rate), as torch.distributions.Gamma (1.13), with a reparameterized
rsample: standard Gamma draws by Marsaglia and Tsang's rejection method, and the implicit
reparameterization gradient d x / d alpha = -(d/d alpha CDF(x; alpha)) / pdf(x; alpha) by
PyTorch's approximation of it (`_standard_gamma_grad`). Dirichlet and Beta sample through it."""
from numbers import Number

import terra

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, draw_until_done, finfo

__all__ = ['Gamma']


def _marsaglia_tsang_step(d, c):
    """One round of Marsaglia and Tsang (2000) for Gamma(d + 1/3), d >= 2/3, c = 1/sqrt(9d): a
    candidate d * (1 + c x)^3 for normal x, accepted by the squeeze or the full test."""
    x = terra.randn(d.shape, dtype=d.dtype, device=d.device)
    u = 1 - terra.rand(d.shape, dtype=d.dtype, device=d.device)  # in (0, 1]
    y = 1 + c * x
    v = y * y * y
    xx = x * x
    accept = (y > 0) & ((u < 1 - 0.0331 * xx * xx) | (u.log() < 0.5 * xx + d * (1 - v + v.log())))
    return accept, d * v, (d, c)


def _sample_standard_gamma(alpha):
    """Gamma(alpha, 1) draws of alpha's shape and dtype (PyTorch's sampler, vectorized): alpha < 1
    is boosted to alpha + 1 and the draw scaled by u^(1/alpha). Computed in alpha's dtype
    (PyTorch's CPU kernel computes in float64 and rounds), from terra's default generator.
    Clamped to the smallest normal number, as PyTorch's are, so that logs of samples stay finite."""
    boost = alpha < 1
    u = 1 - terra.rand(alpha.shape, dtype=alpha.dtype, device=alpha.device)
    scale = terra.where(boost, u.pow(1 / alpha), terra.ones_like(alpha))
    d = terra.where(boost, alpha + 1, alpha) - 1 / 3
    draws = draw_until_done(_marsaglia_tsang_step, d.reshape(-1), (9 * d).rsqrt().reshape(-1))
    return (scale * draws.reshape(alpha.shape)).clamp(min=float(finfo(alpha.dtype).tiny))


# The bivariate rational approximation's coefficients (PyTorch's coef_uv, rows: 1, u, u^2).
_COEF_UV = ((0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084),
            (0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915,
             -0.00058392623),
            (0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326,
             0.00085092367, -1.5247877e-07))


def _standard_gamma_grad(alpha, x):
    """d x / d alpha for x drawn from Gamma(alpha, 1): -(d/d alpha CDF(x; alpha)) / pdf(x; alpha),
    by the three approximations of PyTorch's standard_gamma_grad_one (ATen's Distributions.h),
    in float64 as PyTorch's CPU kernel computes them:
    - x < 0.8: five terms of the series of the lower incomplete gamma function (NaN read as 0);
    - alpha > 8: Rice's saddle point expansion (its own polynomial within 10% of x = alpha);
    - otherwise: a rational function of log(x / alpha) and log(alpha).
    Every branch is computed for every entry and the right one chosen with where; the others may
    be inf or NaN where they do not apply. PyTorch compares with the float32 constants 0.8f and
    0.9f (0.800000012, 0.899999976): this uses 0.8 and 0.9, which can choose the other branch for
    x or x/alpha within 1e-8 of the boundary (both branches are approximations there)."""
    dtype = alpha.dtype
    alpha, x = alpha.to(terra.float64), x.to(terra.float64)

    numer = terra.ones_like(x)
    denom = alpha
    series1 = numer / denom
    series2 = numer / (denom * denom)
    for i in range(1, 6):
        numer = numer * (-x / i)
        denom = denom + 1
        series1 = series1 + numer / denom
        series2 = series2 + numer / (denom * denom)
    pow_x_alpha = x.pow(alpha)
    gamma_pdf = x.pow(alpha - 1) * terra.exp(-x)
    gamma_cdf = pow_x_alpha * series1
    gamma_cdf_alpha = (x.log() - terra.digamma(alpha)) * gamma_cdf - pow_x_alpha * series2
    small_x = -gamma_cdf_alpha / gamma_pdf
    small_x = terra.where(terra.isnan(small_x), terra.zeros_like(small_x), small_x)

    near_numer = (1 + 24 * alpha * (1 + 12 * alpha)) * (
        1440 * alpha * alpha + 6 * x * (53 - 120 * x) - 65 * x * x / alpha + alpha * (107 + 3600 * x))
    near_mode = near_numer / (1244160 * alpha * alpha * alpha * alpha)
    sqrt_8a = (8 * alpha).sqrt()
    term2 = sqrt_8a / (alpha - x)
    term3 = (x - alpha - alpha * (x / alpha).log()).pow(-1.5)
    term23 = terra.where(x < alpha, term2 - term3, term2 + term3)
    term1 = (x / alpha).log() * term23 - (2 / alpha).sqrt() * (alpha + x) / ((alpha - x) * (alpha - x))
    stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
    saddle = -stirling * x * term1 / sqrt_8a
    large_alpha = terra.where((0.9 * alpha <= x) & (x <= 1.1 * alpha), near_mode, saddle)

    u = (x / alpha).log()
    v = alpha.log()
    c = [row0 + u * (row1 + u * row2) for row0, row1, row2 in zip(*_COEF_UV)]
    p = c[0] + v * (c[1] + v * (c[2] + v * c[3]))
    q = c[4] + v * (c[5] + v * (c[6] + v * c[7]))
    rational = terra.exp(p / q)

    grad = terra.where(x < 0.8, small_x, terra.where(alpha > 8, large_alpha, rational))
    return grad.to(dtype)


class _StandardGamma(terra.autograd.Function):
    """Gamma(alpha, 1) draws whose gradient with respect to alpha is the implicit one."""

    @staticmethod
    def forward(ctx, alpha):
        x = _sample_standard_gamma(alpha)
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx, grad_output):
        alpha, x = ctx.saved_tensors
        return grad_output * _standard_gamma_grad(alpha, x)


def standard_gamma(alpha):
    """Reparameterized Gamma(alpha, 1) draws of alpha's shape (torch._standard_gamma)."""
    return _StandardGamma.apply(alpha)


class Gamma(Distribution):
    """Density rate^a x^(a-1) exp(-rate x) / Gamma(a) on x >= 0, a = concentration."""

    arg_constraints = {'concentration': constraints.positive, 'rate': constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        if isinstance(concentration, Number) and isinstance(rate, Number):
            batch_shape = ()
        else:
            batch_shape = self.concentration.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(Gamma, batch_shape, _instance, ('concentration', 'rate'))

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        value.detach().clamp_(min=float(finfo(value.dtype).tiny))  # in place: not part of the gradient
        return value

    def log_prob(self, value):
        value = terra.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        return (terra.xlogy(self.concentration, self.rate) + terra.xlogy(self.concentration - 1, value)
                - self.rate * value - terra.lgamma(self.concentration))

    def entropy(self):
        return (self.concentration - terra.log(self.rate) + terra.lgamma(self.concentration)
                + (1.0 - self.concentration) * terra.digamma(self.concentration))
