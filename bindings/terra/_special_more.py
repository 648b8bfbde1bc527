"""torch.special's Bessel, error and zeta functions and orthogonal polynomials that Terra composes
from registry ops (exported by special.py; i0 also as torch.i0 and Tensor.i0).

- i0, i0e, i1, i1e (= modified_bessel_i0/i1): Cephes' Chebyshev expansions, PyTorch's kernels'
  coefficients, on [0, 8] and (8, inf). Their gradients are autograd's through the expansions
  (PyTorch's are the closed forms i1, i1e - sgn i0e, ...: equal to ~1e-13 relative).
- erfcx: exp(x^2) erfc(x) below 10 and the asymptotic series above (PyTorch uses Johnson's
  Faddeeva tables; values agree to ~1e-13 relative, as x^2 rounds in exp(x^2)).
- zeta (Hurwitz): Cephes' Euler-Maclaurin summation with a fixed number of terms (PyTorch stops
  early once terms are negligible). Gradient in q only, as PyTorch's; q < 0 reads its minimum to
  size the direct sum.
- spherical_bessel_j0: sin(x)/x, its Taylor series below |x| = 0.5.
- the orthogonal polynomials by their three-term recurrence, up to the largest n (read on the
  host when n is a tensor); n < 0 gives 0. PyTorch evaluates some by cos(n acos x) when n > 6 and
  |x| < 1: equal to rounding of the recurrence. Like PyTorch, they have no gradient.
"""
import math

from . import _C
from ._C import _ops
from .autograd.function import Function

Tensor = _C.Tensor

# Chebyshev coefficients (Cephes i0.c, i1.c; PyTorch's Math.h): exp(-x) I0(x) on [0, 8] and
# exp(-x) sqrt(x) I0(x) on (8, inf); exp(-x) I1(x) / x and exp(-x) sqrt(x) I1(x) likewise.
_I0E_A = (-4.41534164647933937950E-18, 3.33079451882223809783E-17, -2.43127984654795469359E-16,
          1.71539128555513303061E-15, -1.16853328779934516808E-14, 7.67618549860493561688E-14,
          -4.85644678311192946090E-13, 2.95505266312963983461E-12, -1.72682629144155570723E-11,
          9.67580903537323691224E-11, -5.18979560163526290666E-10, 2.65982372468238665035E-9,
          -1.30002500998624804212E-8, 6.04699502254191894932E-8, -2.67079385394061173391E-7,
          1.11738753912010371815E-6, -4.41673835845875056359E-6, 1.64484480707288970893E-5,
          -5.75419501008210370398E-5, 1.88502885095841655729E-4, -5.76375574538582365885E-4,
          1.63947561694133579842E-3, -4.32430999505057594430E-3, 1.05464603945949983183E-2,
          -2.37374148058994688156E-2, 4.93052842396707084878E-2, -9.49010970480476444210E-2,
          1.71620901522208775349E-1, -3.04682672343198398683E-1, 6.76795274409476084995E-1)
_I0E_B = (-7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
          3.46122286769746109310E-17, -2.82762398051658348494E-16, -3.42548561967721913462E-16,
          1.77256013305652638360E-15, 3.81168066935262242075E-15, -9.55484669882830764870E-15,
          -4.15056934728722208663E-14, 1.54008621752140982691E-14, 3.85277838274214270114E-13,
          7.18012445138366623367E-13, -1.79417853150680611778E-12, -1.32158118404477131188E-11,
          -3.14991652796324136454E-11, 1.18891471078464383424E-11, 4.94060238822496958910E-10,
          3.39623202570838634515E-9, 2.26666899049817806459E-8, 2.04891858946906374183E-7,
          2.89137052083475648297E-6, 6.88975834691682398426E-5, 3.36911647825569408990E-3,
          8.04490411014108831608E-1)
_I1E_A = (2.77791411276104639959E-18, -2.11142121435816608115E-17, 1.55363195773620046921E-16,
          -1.10559694773538630805E-15, 7.60068429473540693410E-15, -5.04218550472791168711E-14,
          3.22379336594557470981E-13, -1.98397439776494371520E-12, 1.17361862988909016308E-11,
          -6.66348972350202774223E-11, 3.62559028155211703701E-10, -1.88724975172282928790E-9,
          9.38153738649577178388E-9, -4.44505912879632808065E-8, 2.00329475355213526229E-7,
          -8.56872026469545474066E-7, 3.47025130813767847674E-6, -1.32731636560394358279E-5,
          4.78156510755005422638E-5, -1.61760815825896745588E-4, 5.12285956168575772895E-4,
          -1.51357245063125314899E-3, 4.15642294431288815669E-3, -1.05640848946261981558E-2,
          2.47264490306265168283E-2, -5.29459812080949914269E-2, 1.02643658689847095384E-1,
          -1.76416518357834055153E-1, 2.52587186443633654823E-1)
_I1E_B = (7.51729631084210481353E-18, 4.41434832307170791151E-18, -4.65030536848935832153E-17,
          -3.20952592199342395980E-17, 2.96262899764595013876E-16, 3.30820231092092828324E-16,
          -1.88035477551078244854E-15, -3.81440307243700780478E-15, 1.04202769841288027642E-14,
          4.27244001671195135429E-14, -2.10154184277266431302E-14, -4.08355111109219731823E-13,
          -7.19855177624590851209E-13, 2.03562854414708950722E-12, 1.41258074366137813316E-11,
          3.25260358301548823856E-11, -1.89749581235054123450E-11, -5.58974346219658380687E-10,
          -3.83538038596423702205E-9, -2.63146884688951950684E-8, -2.51223623787020892529E-7,
          -3.88256480887769039346E-6, -1.10588938762623716291E-4, -9.76109749136146840777E-3,
          7.78576235018280120474E-1)
# float32 kernels use the tails of the I1 tables (PyTorch's shorter float arrays).
_FLOAT32_LENGTH = {_I1E_A: 17, _I1E_B: 7}
_BESSEL_SPLIT = 8.0


def _floating(x):
    if not isinstance(x, Tensor):
        return _ops.full([], float(x), dtype=_C.get_default_dtype())
    return x if x.is_floating_point() else x.to(_C.get_default_dtype())


def _const(like, value):
    return _ops.full([], value, dtype=like.dtype, device=str(like.device))


def _where_safe(cond, x, fill):
    """x where cond holds, else fill: the argument of a where-branch that must stay finite."""
    return _ops.where(cond, x, _const(x, fill))


def _chbevl(y, coefficients):
    """Cephes' chbevl: the Chebyshev series sum_i c_i T_i(y/2), coefficients highest order first."""
    b0, b1, b2 = y * 0 + coefficients[0], y * 0, y * 0
    for c in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = y * b1 - b2 + c
    return (b0 - b2) * 0.5


def _coefficients(table, dtype):
    return table[-_FLOAT32_LENGTH[table]:] if dtype is _C.float32 and table in _FLOAT32_LENGTH else table


def _scaled_bessel(input, small_table, large_table, odd):
    """(|x|, exp(-|x|) I_nu(x)): I0 even, I1 odd (x times the series on [0, 8], so that its
    gradient at 0 is the series' value there)."""
    signed = _floating(input)
    x = _ops.abs(signed)
    small = x <= _BESSEL_SPLIT
    xs = _where_safe(small, x, 1.0)
    xl = _where_safe(~small, x, 2 * _BESSEL_SPLIT)
    inner = _chbevl(xs * 0.5 - 2.0, _coefficients(small_table, x.dtype))
    outer = _chbevl(32.0 / xl - 2.0, _coefficients(large_table, x.dtype)) / _ops.sqrt(xl)
    if odd:
        inner = inner * _where_safe(small, signed, 1.0)
        outer = _ops.where(signed < 0, -outer, outer)
    return x, _ops.where(small, inner, outer)


def i0e(input):
    return _scaled_bessel(input, _I0E_A, _I0E_B, False)[1]


def i0(input):
    magnitude, scaled = _scaled_bessel(input, _I0E_A, _I0E_B, False)
    return _ops.exp(magnitude) * scaled


def i1e(input):
    return _scaled_bessel(input, _I1E_A, _I1E_B, True)[1]


def i1(input):
    magnitude, scaled = _scaled_bessel(input, _I1E_A, _I1E_B, True)
    return _ops.exp(magnitude) * scaled


# erfcx above 10: (x sqrt(pi))^-1 sum_k (-1)^k (2k-1)!! / (2x^2)^k; 16 terms reach 1e-19 at x = 10.
_ERFCX_ASYMPTOTIC_FROM = 10.0
_ERFCX_TERMS = 16


def erfcx(input):
    # float32 computes in float64: exp(x^2) would overflow it below 10 and round x^2 too coarsely.
    dtype = _floating(input).dtype
    return _erfcx64(_floating(input).to(_C.float64)).to(dtype)


def _erfcx64(x):
    large = x >= _ERFCX_ASYMPTOTIC_FROM
    xs = _where_safe(~large, x, 0.0)
    direct = _ops.exp(xs * xs) * _ops.erfc(xs)
    xl = _where_safe(large, x, _ERFCX_ASYMPTOTIC_FROM)
    y = 1.0 / (2.0 * xl * xl)
    coefficient, terms = 1.0, []
    for k in range(1, _ERFCX_TERMS + 1):
        coefficient *= -(2 * k - 1)
        terms.append(coefficient)
    horner = y * terms[-1]
    for c in reversed(terms[:-1]):
        horner = y * (horner + c)
    series = (horner + 1.0) / (xl * math.sqrt(math.pi))
    return _ops.where(large, series, direct)


# Cephes zeta.c: the Euler-Maclaurin coefficients (2k)! / B_2k.
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18)
_ZETA_DIRECT_TERMS = 9


def _zeta_values(x, q):
    """Hurwitz zeta(x, q) = sum_k (k + q)^-x, with Cephes' conventions at the poles."""
    shape = tuple((x.detach() * 0 + q.detach() * 0).shape)
    x, q = x.expand(shape), q.expand(shape)
    direct = _ZETA_DIRECT_TERMS
    if bool((q < 0).any()):  # negative q: enough direct terms to pass 9 before the tail
        direct += int(math.ceil(-float(q.min())))
    s = _ops.pow(q, -x)
    a, b = q, s
    for _ in range(direct):
        a = a + 1.0
        b = _ops.pow(a, -x)
        s = s + b
    w = a
    s = s + b * w / (x - 1.0) - 0.5 * b
    fact, k = _ops.ones([], dtype=x.dtype), 0.0
    for coefficient in _ZETA_A:
        fact = fact * (x + k)
        b = b / w
        s = s + fact * b / coefficient
        k += 1.0
        fact = fact * (x + k)
        b = b / w
        k += 1.0
    nan, inf = _const(x, math.nan), _const(x, math.inf)
    pole = (q <= 0) & (q == _ops.floor(q))
    s = _ops.where((q <= 0) & (x != _ops.floor(x)), nan, s)
    s = _ops.where(pole, inf, s)
    s = _ops.where(x < 1, nan, s)
    return _ops.where(x == 1, inf, s)


class _Zeta(Function):
    """zeta's gradient: -x zeta(x + 1, q) in q; none in x (PyTorch 1.13 has none)."""

    @staticmethod
    def forward(ctx, x, q):
        ctx.save_for_backward(x, q)
        return _zeta_values(x, q)

    @staticmethod
    def backward(ctx, grad):
        x, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise RuntimeError("the derivative for 'special_zeta' (with respect to self) is not implemented.")
        return None, grad * -x * _zeta_values(x + 1.0, q)


def zeta(input, other):
    x, q = _floating(input), _floating(other)
    if x.dtype is not q.dtype:
        x, q = x.to(_C.float64), q.to(_C.float64)
    return _Zeta.apply(x, q)


class _NoDerivative(Function):
    """The result of fn(*tensors) with a backward that raises, as PyTorch's not_implemented."""

    @staticmethod
    def forward(ctx, name, fn, *tensors):
        ctx.name = name
        return fn(*tensors)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(f"the derivative for '{ctx.name}' is not implemented.")


def spherical_bessel_j0(input):
    """sin(x)/x; below |x| = 0.5 its Taylor series (sin(x)/x cancels there)."""
    x = _floating(input)
    small = _ops.abs(x) < 0.5
    xs = _where_safe(small, x, 0.0)
    xx = xs * xs
    series = 1.0 + xx * (-1 / 6 + xx * (1 / 120 + xx * (-1 / 5040 + xx * (1 / 362880 + xx * (
        -1 / 39916800 + xx * (1 / 6227020800 + xx * (-1 / 1307674368000)))))))
    xl = _where_safe(~small, x, 1.0)
    r = _ops.where(small, series, _ops.sin(xl) / xl)
    return _ops.where(_ops.isinf(x), _ops.zeros([], dtype=x.dtype), r)


# The polynomials: (p_0, p_1, step) with p_{k+1} = step(x, k, p_k, p_{k-1}); x is already mapped
# to the shifted variants' 2x - 1.
_POLYNOMIALS = {
    "chebyshev_polynomial_t": (lambda x: x * 0 + 1, lambda x: x, lambda x, k, p, q: 2 * x * p - q),
    "chebyshev_polynomial_u": (lambda x: x * 0 + 1, lambda x: 2 * x, lambda x, k, p, q: 2 * x * p - q),
    "chebyshev_polynomial_v": (lambda x: x * 0 + 1, lambda x: 2 * x - 1, lambda x, k, p, q: 2 * x * p - q),
    "chebyshev_polynomial_w": (lambda x: x * 0 + 1, lambda x: 2 * x + 1, lambda x, k, p, q: 2 * x * p - q),
    "hermite_polynomial_h": (lambda x: x * 0 + 1, lambda x: 2 * x, lambda x, k, p, q: 2 * x * p - 2 * k * q),
    "hermite_polynomial_he": (lambda x: x * 0 + 1, lambda x: x, lambda x, k, p, q: x * p - k * q),
    "laguerre_polynomial_l": (lambda x: x * 0 + 1, lambda x: 1 - x,
                              lambda x, k, p, q: ((2 * k + 1 - x) * p - k * q) / (k + 1)),
    "legendre_polynomial_p": (lambda x: x * 0 + 1, lambda x: x,
                              lambda x, k, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1)),
}


def _polynomial(name, shifted):
    first, second, step = _POLYNOMIALS[name.replace("shifted_", "")]

    def evaluate(x, n):
        if shifted:
            x = 2 * x - 1
        top = int(n.max()) if n.numel() else 0
        p_prev, p = first(x), second(x)
        r = _ops.where(n == 0, p_prev, _ops.zeros([], dtype=x.dtype))
        r = _ops.where(n == 1, p, r)
        for k in range(1, top):
            p_prev, p = p, step(x, k, p, p_prev)
            r = _ops.where(n == k + 1, p, r)
        return r

    def fn(input, n, *, out=None):
        x = _floating(input)
        n_tensor = n if isinstance(n, Tensor) else _ops.full([], n, dtype=x.dtype)
        if n_tensor.is_floating_point():
            n_tensor = n_tensor.trunc()
        r = _NoDerivative.apply(name, evaluate, x, n_tensor.to(x.dtype))
        if out is None:
            return r
        from ._functions import _write_out
        return _write_out(name, r, out)
    fn.__name__ = fn.__qualname__ = name
    return fn


POLYNOMIALS = {name: _polynomial(name, False) for name in _POLYNOMIALS}
POLYNOMIALS.update({"shifted_" + name: _polynomial("shifted_" + name, True)
                    for name in _POLYNOMIALS if name.startswith("chebyshev")})

# special.* name -> function
FUNCTIONS = dict(POLYNOMIALS, i0=i0, i0e=i0e, i1=i1, i1e=i1e, modified_bessel_i0=i0, modified_bessel_i1=i1,
                 erfcx=erfcx, zeta=zeta, spherical_bessel_j0=spherical_bessel_j0)

# torch.i0 and Tensor.i0 (the rest are torch.special's only).
__all__ = ["i0"]
Tensor.i0 = i0
