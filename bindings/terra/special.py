"""terra.special: torch.special's common functions. Most are registry ops under another name
(gammaln is lgamma, psi and digamma are digamma, expit is sigmoid); the rest are compositions of
ops, differentiated by autograd through them: sinc, entr, ndtr, ndtri, log_ndtr, xlog1py,
multigammaln. i0, i0e, i1, i1e, erfcx, zeta, spherical_bessel_j0 and the orthogonal polynomials
come from _special_more.py, bessel_j0/j1/y0/y1 and modified_bessel_k0/k1 (and scaled) from
_special_bessel.py, gammainc/gammaincc from _special_gamma.py. Not implemented: airy_ai.

Where a composition differs from PyTorch 1.13's kernel:
- ndtr is erfc(-x / sqrt(2)) / 2, accurate in the lower tail where PyTorch's (1 + erf) / 2
  underflows to 0 below x = -8.3 (results agree to 1e-16 absolute).
- ndtri is sqrt(2) erfinv(2p - 1) only for p in [0.25, 0.75]: in the tails it solves
  ndtr(x) = min(p, 1 - p) by Halley's method (2p - 1 would round the lower tail away).
- entr's gradient is 0 at x <= 0, where PyTorch's is inf (x = 0) or NaN (x < 0).
"""
import math

import terra
from ._functions import _write_out

__all__ = ["erf", "erfc", "erfinv", "expm1", "exp2", "log1p", "logit", "expit", "xlogy", "xlog1py", "gammaln",
           "digamma", "psi", "polygamma", "multigammaln", "logsumexp", "softmax", "log_softmax", "sinc", "round",
           "entr", "ndtr", "ndtri", "log_ndtr"]

_SQRT1_2 = 0.7071067811865476
_HALF_LOG_2PI = 0.9189385332046728


def _with_out(fn):
    """Adds PyTorch's out= keyword: the result is copied into out, which is returned."""
    def wrapped(*args, out=None, **kwargs):
        r = fn(*args, **kwargs)
        if out is None:
            return r
        return _write_out(fn.__name__, r, out)
    wrapped.__name__ = wrapped.__qualname__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped


def _floating(input):
    """input in its floating dtype (integers and bool promote to the default one), as PyTorch's
    unary float ops compute."""
    return input if input.is_floating_point() else input.to(terra.get_default_dtype())


def _alias(name, target):
    def fn(input, *args, out=None, **kwargs):
        r = target(input, *args, **kwargs)
        if out is None:
            return r
        return _write_out(name, r, out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Alias for terra.{target.__name__}."
    return fn


erf = _alias("erf", terra.erf)
erfc = _alias("erfc", terra.erfc)
erfinv = _alias("erfinv", terra.erfinv)
expm1 = _alias("expm1", terra.expm1)
exp2 = _alias("exp2", terra.exp2)
log1p = _alias("log1p", terra.log1p)
logit = _alias("logit", terra.logit)
expit = _alias("expit", terra.sigmoid)
xlogy = _alias("xlogy", terra.xlogy)
gammaln = _alias("gammaln", terra.lgamma)
digamma = _alias("digamma", terra.digamma)
psi = _alias("psi", terra.digamma)
multigammaln = _alias("multigammaln", terra.mvlgamma)
round = _alias("round", terra.round)


@_with_out
def polygamma(n, input):
    return terra.polygamma(n, input)


@_with_out
def logsumexp(input, dim, keepdim=False):
    return terra.logsumexp(input, dim, keepdim=keepdim)


def softmax(input, dim, *, dtype=None):
    return terra.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    return terra.log_softmax(input, dim, dtype=dtype)


def _where_safe(cond, x, fill):
    """x where cond holds, else `fill`: the input of a branch of `where` that must stay finite
    (with its gradient) at the elements another branch serves."""
    return terra.where(cond, x, terra.full_like(x, fill))


@_with_out
def xlog1py(input, other):
    """x * log1p(y), 0 where x == 0 (even where log1p(y) is -inf), NaN where y is NaN; at x = 0
    the gradient in x is log1p(y) and in y 0, as PyTorch's."""
    if not isinstance(input, terra.Tensor):
        input = terra.full_like(_floating(other), input)
    if not isinstance(other, terra.Tensor):
        other = terra.full_like(_floating(input), other)
    log1p = terra.log1p(other)
    return input * terra.where((input == 0) & terra.isinf(log1p), terra.zeros_like(log1p), log1p)


@_with_out
def sinc(input):
    """sin(pi x) / (pi x), 1 at 0 (and gradient 0 there)."""
    x = _floating(input)
    zero = x == 0
    px = _where_safe(~zero, x, 1.0) * math.pi
    return terra.where(zero, terra.ones_like(x), terra.sin(px) / px)


@_with_out
def entr(input):
    """-x log(x) for x > 0, 0 at 0, -inf below, NaN at NaN."""
    x = _floating(input)
    positive = x > 0
    xp = _where_safe(positive, x, 1.0)
    at_or_below = terra.where(x == 0, terra.zeros_like(x), terra.full_like(x, -math.inf))
    r = terra.where(positive, -xp * terra.log(xp), at_or_below)
    return terra.where(terra.isnan(x), x, r)


@_with_out
def ndtr(input):
    """The standard normal CDF, erfc(-x / sqrt(2)) / 2."""
    return terra.erfc(_floating(input) * -_SQRT1_2) * 0.5


# ndtri's first guess, Abramowitz and Stegun 26.2.23: -x within 4.5e-4 of t - N(t)/D(t) for q in
# (0, 0.5], t = sqrt(-2 log q).
_AS_NUMERATOR = (2.515517, 0.802853, 0.010328)
_AS_DENOMINATOR = (1.0, 1.432788, 0.189269, 0.001308)


def _polynomial(t, coefficients):
    r = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        r = r * t + c
    return r


@_with_out
def ndtri(input):
    """The inverse of ndtr: -inf at 0, inf at 1, NaN outside [0, 1].

    sqrt(2) erfinv(2p - 1) in the middle, p in [0.25, 0.75], where 2p - 1 is exact. In the tails
    2p - 1 rounds away what p says (float32's is -1 below p = 3e-8): there the lower half
    q = min(p, 1 - p) (1 - p is exact) is solved for ndtr(x) = q from Abramowitz and Stegun's
    first guess by two Halley steps, each with ndtr from erfc (accurate relative to q however
    small), and the upper half mirrored."""
    p = _floating(input)
    middle = (p >= 0.25) & (p <= 0.75)
    upper = p > 0.5
    q = terra.where(upper, 1 - p, p)
    tail = (q > 0) & ~middle  # false at p = 0 or 1, outside [0, 1] and at NaN
    qs = _where_safe(tail, q, 0.1)
    t = terra.sqrt(terra.log(qs) * -2)
    x = _polynomial(t, _AS_NUMERATOR) / _polynomial(t, _AS_DENOMINATOR) - t
    for _ in range(2):  # the error goes ~4e-4 -> ~1e-10 -> below rounding
        d = (terra.erfc(x * -_SQRT1_2) * 0.5 - qs) / (terra.exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi)))
        x = x - d / (x * d * 0.5 + 1)
    x = terra.where(upper, -x, x)
    central = terra.erfinv(_where_safe(middle, p, 0.5) * 2 - 1) * math.sqrt(2)
    edge = terra.where(q == 0, terra.where(upper, terra.full_like(x, math.inf), terra.full_like(x, -math.inf)),
                       terra.full_like(x, math.nan))
    return terra.where(middle, central, terra.where(tail, x, edge))


# log_ndtr below -10: log of the asymptotic series of ndtr(x) phi(x)^-1 (-x), whose terms
# (-1)^k (2k - 1)!! / x^2k are below 1e-13 by the 13th (x^-2 <= 0.01).
_LOG_NDTR_TAIL = -10.0
_ASYMPTOTIC_TERMS = 12


def _log_ndtr_asymptotic(x):
    """log ndtr(x) for x <= -10: -x^2/2 - log(-x) - log(2 pi)/2 + log(1 + sum_k (-1)^k (2k-1)!! x^-2k)."""
    y = 1 / (x * x)
    coefficients, c = [], 1.0
    for k in range(1, _ASYMPTOTIC_TERMS + 1):
        c *= 2 * k - 1
        coefficients.append(c if k % 2 == 0 else -c)
    series = y * coefficients[-1]
    for c in reversed(coefficients[:-1]):
        series = y * (series + c)
    return -0.5 * x * x - terra.log(-x) - _HALF_LOG_2PI + terra.log1p(series)


@_with_out
def log_ndtr(input):
    """log(ndtr(x)), accurate in both tails: log1p(-erfc(x/sqrt(2))/2) from -1 up (PyTorch's form),
    log(erfc(-x/sqrt(2))/2) down to -10, the asymptotic series below (where erfc underflows)."""
    x = _floating(input)
    upper, middle = x >= -1, x >= _LOG_NDTR_TAIL
    xu = _where_safe(upper, x, -1.0)
    xm = _where_safe(middle & ~upper, x, -2.0)
    xl = _where_safe(~middle, x, _LOG_NDTR_TAIL)  # NaN and -inf land here
    r_upper = terra.log1p(terra.erfc(xu * _SQRT1_2) * -0.5)
    r_middle = terra.log(terra.erfc(xm * -_SQRT1_2) * 0.5)
    return terra.where(upper, r_upper, terra.where(middle, r_middle, _log_ndtr_asymptotic(xl)))


# The Bessel, erfcx, zeta and orthogonal-polynomial functions (_special_more.py).
from ._special_more import FUNCTIONS as _MORE_FUNCTIONS, POLYNOMIALS as _POLYNOMIALS  # noqa: E402

from ._special_bessel import FUNCTIONS as _BESSEL_FUNCTIONS  # noqa: E402
from ._special_gamma import FUNCTIONS as _GAMMA_FUNCTIONS  # noqa: E402

_MORE_FUNCTIONS = dict(_MORE_FUNCTIONS, **_BESSEL_FUNCTIONS, **_GAMMA_FUNCTIONS)
globals().update({name: fn if name in _POLYNOMIALS else _with_out(fn) for name, fn in _MORE_FUNCTIONS.items()})
__all__ += sorted(_MORE_FUNCTIONS)
