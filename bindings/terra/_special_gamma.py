"""The regularized incomplete gamma functions: torch.igamma / special.gammainc P(a, x) and
torch.igammac / special.gammaincc Q(a, x) = 1 - P(a, x), and Tensor.igamma/igammac (the in-place
forms are _inplace_functions.py's), composed from registry ops with Cephes' algorithms as PyTorch
1.13's kernel uses them:

- P by its power series where x <= 1 or x <= a, else 1 - Q;
- Q by Legendre's continued fraction where x > 1.1 and x >= a, by the series of
  Gamma(a, x) in powers of x where x is small and a is not (PyTorch's thresholds), else 1 - P.

Differences: PyTorch switches to Temme's uniform asymptotic expansion for a > 20 near x = a and
scales its prefactor x^a e^-x / Gamma(a) with a Lanczos sum there; here the series and continued
fraction run enough terms for any a (their count grows as sqrt(max a), read on the host: a fetch
when co-executed) and the prefactor is exp(a log x - x - lgamma(a)). Outside Temme's region the
values agree with PyTorch's to ~1e-13 relative; inside it PyTorch 1.13's are off by up to ~2e-9
relative (against mpmath), these by ~1e-13 (3e-13 at a = 400). float32 computes in float64.

Gradients, as PyTorch 1.13's: in x, +-x^(a-1) e^-x / Gamma(a); in a, NotImplementedError at
backward ("the derivative for 'igamma: input' is not implemented.").
"""
import math

from . import _C
from ._C import _ops
from .autograd.function import Function
from ._special_more import _const, _where_safe

Tensor = _C.Tensor

_MACHEP = 1.11022302462515654042e-16
_BIG, _BIG_INVERSE = 4.503599627370496e15, 2.22044604925031308085e-16
_SMALL_X_SERIES_TERMS = 40  # x <= 1.1: x^n / n! is below 1e-40 by then
_ATEN_NAMES = {_C.int64: "Long", _C.int32: "Int", _C.bool: "Bool"}


def _terms(a):
    """How many series or continued-fraction terms reach rounding for every a here: near x = a
    both need ~sqrt(a) steps times a few; far from it, fewer."""
    top = float(a.max()) if a.numel() else 0.0
    return 60 + int(10 * math.sqrt(max(top, 0.0) if math.isfinite(top) else 0.0))


def _prefactor(a, x):
    """x^a e^-x / Gamma(a)."""
    return _ops.exp(a * _ops.log(x) - x - _ops.lgamma(a))


def _lower_series(a, x, terms):
    """P(a, x) = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1)...(a + n))."""
    r, c, total = a, x * 0 + 1.0, x * 0 + 1.0
    for _ in range(terms):
        r = r + 1.0
        c = c * x / r
        total = total + c
    return total * _prefactor(a, x) / a


def _upper_continued_fraction(a, x, terms):
    """Q(a, x) by Legendre's continued fraction (Cephes igamc's), the convergents' numerators and
    denominators rescaled when they grow past 2^52."""
    y = 1.0 - a
    z = x + y + 1.0
    pkm2, qkm2 = x * 0 + 1.0, x
    pkm1, qkm1 = x + 1.0, z * x
    answer = pkm1 / qkm1
    for c in range(1, terms + 1):
        y = y + 1.0
        z = z + 2.0
        yc = y * c
        pk = pkm1 * z - pkm2 * yc
        qk = qkm1 * z - qkm2 * yc
        answer = _ops.where(qk != 0, pk / _where_safe(qk != 0, qk, 1.0), answer)
        pkm2, pkm1, qkm2, qkm1 = pkm1, pk, qkm1, qk
        big = _ops.abs(pk) > _BIG
        pkm2, pkm1, qkm2, qkm1 = (_ops.where(big, v * _BIG_INVERSE, v) for v in (pkm2, pkm1, qkm2, qkm1))
    return answer * _prefactor(a, x)


def _upper_small_x_series(a, x):
    """Q(a, x) for small x: 1 - x^a / Gamma(a + 1) - x^a / Gamma(a) sum_n (-x)^n / (n! (a + n))."""
    fac, total = x * 0 + 1.0, x * 0
    for n in range(1, _SMALL_X_SERIES_TERMS + 1):
        fac = fac * -x / n
        total = total + fac / (a + n)
    log_x = _ops.log(x)
    return -_ops.expm1(a * log_x - _ops.lgamma(a + 1.0)) - _ops.exp(a * log_x - _ops.lgamma(a)) * total


def _edges(a, x, value, upper):
    """Cephes' special cases over the computed value: NaN for a < 0 or x < 0 (and a = 0 = x, and
    both infinite); at a = 0 P is 1, at x = 0 0, at a = inf 0, at x = inf 1; Q is 1 - P there."""
    one, zero = (0.0, 1.0) if upper else (1.0, 0.0)
    nan = _const(value, math.nan)
    a_inf, x_inf = _ops.isinf(a), _ops.isinf(x)
    value = _ops.where(x_inf, _const(value, one), value)
    value = _ops.where(a_inf, _ops.where(x_inf, nan, _const(value, zero)), value)
    value = _ops.where(x == 0, _const(value, zero), value)
    value = _ops.where(a == 0, _ops.where(x > 0, _const(value, one), nan), value)
    return _ops.where((x < 0) | (a < 0) | _ops.isnan(a) | _ops.isnan(x), nan, value)


def _regularized(a, x, upper):
    """P(a, x), or Q(a, x) if upper, over every element (the branches computed on safe inputs)."""
    given_a, given_x = a, x
    valid = (a > 0) & (x > 0) & ~_ops.isinf(a) & ~_ops.isinf(x)
    a = _where_safe(valid, a, 1.0)
    x = _where_safe(valid, x, 1.0)
    terms = _terms(a)
    by_fraction = (x > 1.1) & (x >= a)  # Q's continued fraction converges here
    xf = _where_safe(by_fraction, x, 2.0)
    af = _where_safe(by_fraction, a, 1.0)
    q_fraction = _upper_continued_fraction(af, xf, terms)
    xs = _where_safe(~by_fraction, x, 0.5)
    as_ = _where_safe(~by_fraction, a, 1.0)
    p_series = _lower_series(as_, xs, terms)
    if upper:
        small_x = (x <= 1.1) & _ops.where(x <= 0.5, -0.4 / _ops.log(_where_safe(x <= 0.5, x, 0.25)) >= a, x * 1.1 >= a)
        q_small = _upper_small_x_series(_where_safe(small_x, a, 1.0), _where_safe(small_x, x, 0.5))
        value = _ops.where(by_fraction, q_fraction, _ops.where(small_x, q_small, 1.0 - p_series))
    else:
        value = _ops.where(by_fraction, 1.0 - q_fraction, p_series)
    return _edges(given_a, given_x, value, upper)


class _IncompleteGamma(Function):
    """P or Q with PyTorch's gradient: d/dx P = x^(a-1) e^-x / Gamma(a) = -d/dx Q; none in a."""

    @staticmethod
    def forward(ctx, a, x, upper):
        ctx.save_for_backward(a, x)
        ctx.upper = upper
        return _regularized(a, x, upper)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            name = "igammac" if ctx.upper else "igamma"
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        density = _ops.exp((a - 1.0) * _ops.log(x) - x - _ops.lgamma(a))
        return None, grad * (-density if ctx.upper else density), None


def _operands(input, other, name):
    """(a, x) as tensors of one floating dtype (float32 widened to float64 for the computation)
    and the result's dtype; PyTorch's igamma has no integer kernels."""
    tensors = [t for t in (input, other) if isinstance(t, Tensor)]
    floating = [t for t in tensors if t.is_floating_point()]
    if not floating:  # integers only: PyTorch's result dtype is theirs
        raise RuntimeError(f'"{name}_cpu" not implemented for \'{_ATEN_NAMES[tensors[0].dtype]}\'')
    dtype = _C.float64 if any(t.dtype is _C.float64 for t in floating) else floating[0].dtype
    a, x = (t.to(dtype) if isinstance(t, Tensor) else _ops.full([], float(t), dtype=dtype) for t in (input, other))
    return a, x, dtype


def _incomplete_gamma(input, other, upper, out=None):
    name = "igammac" if upper else "igamma"
    a, x, dtype = _operands(input, other, name)
    r = _IncompleteGamma.apply(a.to(_C.float64), x.to(_C.float64), upper).to(dtype)
    if out is None:
        return r
    from ._functions import _write_out
    return _write_out(name, r, out)


def igamma(input, other, *, out=None):
    return _incomplete_gamma(input, other, False, out)


def igammac(input, other, *, out=None):
    return _incomplete_gamma(input, other, True, out)


# igamma_ and igammac_ are _inplace_functions.py's, over these.
Tensor.igamma = igamma
Tensor.igammac = igammac


def gammainc(input, other):
    return igamma(input, other)


def gammaincc(input, other):
    return igammac(input, other)


# special.* name -> function (special.py adds the keyword out=)
FUNCTIONS = {"gammainc": gammainc, "gammaincc": gammaincc}
__all__ = ["igamma", "igammac"]
