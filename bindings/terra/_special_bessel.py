"""torch.special's ordinary Bessel functions of the first and second kind (bessel_j0, bessel_j1,
bessel_y0, bessel_y1) and the modified ones of the second kind (modified_bessel_k0/k1 and their
exp(x)-scaled forms), composed from registry ops with the approximations of PyTorch 1.13's
kernels (exported by special.py):

- j0, j1, y0, y1: Cephes' rational approximations on [0, 5] and its Hankel asymptotic form
  P cos(x - phase) - 5/x Q sin(x - phase) above, with PyTorch's coefficients.
- k0, k1: Cephes' Chebyshev expansions, on (0, 2] in x^2 - 2 together with log(x/2) times
  I0 or I1 (the i0/i1 of _special_more.py), above in 8/x - 2.

Like PyTorch 1.13, none of them has a gradient: the result does not require grad. y0, y1, k0, k1
are NaN below 0 and -inf (y) or inf (k) at 0.
"""
import math

from ._C import _ops
from ._special_more import _chbevl, _const, _floating, _where_safe, i0, i1

_TWO_OVER_PI = 0.636619772367581343075535053490057448
_SQRT_TWO_OVER_PI = 0.797884560802865355879892119868763737
_PI_OVER_4 = 0.785398163397448309615660845819875721
_THREE_PI_OVER_4 = 2.356194490192344928846982537459627163
_RATIONAL_UP_TO = 5.0  # j and y: rational approximation on [0, 5], the asymptotic form above

# Cephes j0.c: the asymptotic form's P = PP/PQ and Q = QP/QQ (in 25/x^2), J0 = (x^2 - r1^2)
# (x^2 - r2^2) RP/RQ and Y0 = YP/YQ + 2/pi log(x) J0 on [0, 5] (in x^2); highest order first.
_J0_PP = (7.96936729297347051624e-04, 8.28352392107440799803e-02, 1.23953371646414299388e+00,
          5.44725003058768775090e+00, 8.74716500199817011941e+00, 5.30324038235394892183e+00,
          9.99999999999999997821e-01)
_J0_PQ = (9.24408810558863637013e-04, 8.56288474354474431428e-02, 1.25352743901058953537e+00,
          5.47097740330417105182e+00, 8.76190883237069594232e+00, 5.30605288235394617618e+00,
          1.00000000000000000218e+00)
_J0_QP = (-1.13663838898469149931e-02, -1.28252718670509318512e+00, -1.95539544257735972385e+01,
          -9.32060152123768231369e+01, -1.77681167980488050595e+02, -1.47077505154951170175e+02,
          -5.14105326766599330220e+01, -6.05014350600728481186e+00)
_J0_QQ = (6.43178256118178023184e+01, 8.56430025976980587198e+02, 3.88240183605401609683e+03,
          7.24046774195652478189e+03, 5.93072701187316984827e+03, 2.06209331660327847417e+03,
          2.42005740240291393179e+02)
_J0_RP = (-4.79443220978201773821e+09, 1.95617491946556577543e+12, -2.49248344360967716204e+14,
          9.70862251047306323952e+15)
_J0_RQ = (4.99563147152651017219e+02, 1.73785401676374683123e+05, 4.84409658339962045305e+07,
          1.11855537045356834862e+10, 2.11277520115489217587e+12, 3.10518229857422583814e+14,
          3.18121955943204943306e+16, 1.71086294081043136091e+18)
_J0_ZEROS_SQUARED = (5.78318596294678452118e+00, 3.04712623436620863991e+01)
_Y0_YP = (1.55924367855235737965e+04, -1.46639295903971606143e+07, 5.43526477051876500413e+09,
          -9.82136065717911466409e+11, 8.75906394395366999549e+13, -3.46628303384729719441e+15,
          4.42733268572569800351e+16, -1.84950800436986690637e+16)
_Y0_YQ = (1.04128353664259848412e+03, 6.26107330137134956842e+05, 2.68919633393814121987e+08,
          8.64002487103935000337e+10, 2.02979612750105546709e+13, 3.17157752842975028269e+15,
          2.50596256172653059228e+17)

# Cephes j1.c, likewise: J1 = x (x^2 - r1^2)(x^2 - r2^2) RP/RQ, Y1 = x YP/YQ + 2/pi (J1 log x - 1/x).
_J1_PP = (7.62125616208173112003e-04, 7.31397056940917570436e-02, 1.12719608129684925192e+00,
          5.11207951146807644818e+00, 8.42404590141772420927e+00, 5.21451598682361504063e+00,
          1.00000000000000000254e+00)
_J1_PQ = (5.71323128072548699714e-04, 6.88455908754495404082e-02, 1.10514232634061696926e+00,
          5.07386386128601488557e+00, 8.39985554327604159757e+00, 5.20982848682361821619e+00,
          9.99999999999999997461e-01)
_J1_QP = (5.10862594750176621635e-02, 4.98213872951233449420e+00, 7.58238284132545283818e+01,
          3.66779609360150777800e+02, 7.10856304998926107277e+02, 5.97489612400613639965e+02,
          2.11688757100572135698e+02, 2.52070205858023719784e+01)
_J1_QQ = (7.42373277035675149943e+01, 1.05644886038262816351e+03, 4.98641058337653607651e+03,
          9.56231892404756170795e+03, 7.99704160447350683650e+03, 2.82619278517639096600e+03,
          3.36093607810698293419e+02)
_J1_RP = (-8.99971225705559398224e+08, 4.52228297998194034323e+11, -7.27494245221818276015e+13,
          3.68295732863852883286e+15)
_J1_RQ = (6.20836478118054335476e+02, 2.56987256757748830383e+05, 8.35146791431949253037e+07,
          2.21511595479792499675e+10, 4.74914122079991414898e+12, 7.84369607876235854894e+14,
          8.95222336184627338078e+16, 5.32278620332680085395e+18)
_J1_ZEROS_SQUARED = (1.46819706421238932572e+01, 4.92184563216946036703e+01)
_Y1_YP = (1.26320474790178026440e+09, -6.47355876379160291031e+11, 1.14509511541823727583e+14,
          -8.12770255501325109621e+15, 2.02439475713594898196e+17, -7.78877196265950026825e+17)
_Y1_YQ = (5.94301592346128195359e+02, 2.35564092943068577943e+05, 7.34811944459721705660e+07,
          1.87601316108706159478e+10, 3.88231277496238566008e+12, 6.20557727146953693363e+14,
          6.87141087355300489866e+16, 3.97270608116560655612e+18)

# Cephes k0.c, k1.c: Chebyshev coefficients on (0, 2] (in x^2 - 2) and (2, inf) (in 8/x - 2).
_K0_A = (1.37446543561352307156e-16, 4.25981614279661018399e-14, 1.03496952576338420167e-11,
         1.90451637722020886025e-09, 2.53479107902614945675e-07, 2.28621210311945178607e-05,
         1.26461541144692592338e-03, 3.59799365153615016266e-02, 3.44289899924628486886e-01,
         -5.35327393233902768720e-01)
_K0_B = (5.30043377268626276149e-18, -1.64758043015242134646e-17, 5.21039150503902756861e-17,
         -1.67823109680541210385e-16, 5.51205597852431940784e-16, -1.84859337734377901440e-15,
         6.34007647740507060557e-15, -2.22751332699166985548e-14, 8.03289077536357521100e-14,
         -2.98009692317273043925e-13, 1.14034058820847496303e-12, -4.51459788337394416547e-12,
         1.85594911495471785253e-11, -7.95748924447710747776e-11, 3.57739728140030116597e-10,
         -1.69753450938905987466e-09, 8.57403401741422608519e-09, -4.66048989768794782956e-08,
         2.76681363944501510342e-07, -1.83175552271911948767e-06, 1.39498137188764993662e-05,
         -1.28495495816278026384e-04, 1.56988388573005337491e-03, -3.14481013119645005427e-02,
         2.44030308206595545468e+00)
_K1_A = (-7.02386347938628759343e-18, -2.42744985051936593393e-15, -6.66690169419932900609e-13,
         -1.41148839263352776110e-10, -2.21338763073472585583e-08, -2.43340614156596823496e-06,
         -1.73028895751305206302e-04, -6.97572385963986435018e-03, -1.22611180822657148235e-01,
         -3.53155960776544875667e-01, 1.52530022733894777053e+00)
_K1_B = (-5.75674448366501715755e-18, 1.79405087314755922667e-17, -5.68946255844285935196e-17,
         1.83809354436663880070e-16, -6.05704724837331885336e-16, 2.03870316562433424052e-15,
         -7.01983709041831346144e-15, 2.47715442448130437068e-14, -8.97670518232499435011e-14,
         3.34841966607842919884e-13, -1.28917396095102890680e-12, 5.13963967348173025100e-12,
         -2.12996783842756842877e-11, 9.21831518760500529508e-11, -4.19035475934189648750e-10,
         2.01504975519703286596e-09, -1.03457624656780970260e-08, 5.74108412545004946722e-08,
         -3.50196060308781257119e-07, 2.40648494783721712015e-06, -1.93619797416608296024e-05,
         1.95215518471351631108e-04, -2.85781685962277938680e-03, 1.03923736576817238437e-01,
         2.72062619048444266945e+00)
_K_SPLIT = 2.0


def _polevl(z, coefficients):
    """Horner's rule, coefficients highest order first (Cephes' polevl)."""
    r = z * 0 + coefficients[0]
    for c in coefficients[1:]:
        r = r * z + c
    return r


def _hankel(x, pp, pq, qp, qq, phase, w, second_kind):
    """sqrt(2/(pi x)) (P cos(x - phase) - 5/x Q sin(x - phase)), the first kind; the second kind
    has P sin + 5/x Q cos. P = pp/pq, Q = qp/qq in w (25/x^2, as each Cephes routine forms it)."""
    p = _polevl(w, pp) / _polevl(w, pq)
    q = _polevl(w, qp) / _polevl(w, qq)
    cos, sin = _ops.cos(x - phase), _ops.sin(x - phase)
    if second_kind:
        value = p * sin + 5.0 / x * q * cos
    else:
        value = p * cos - 5.0 / x * q * sin
    return value * _SQRT_TWO_OVER_PI / _ops.sqrt(x)


def _no_gradient(fn):
    """PyTorch 1.13 declares these functions non-differentiable: the result never requires grad."""
    def wrapped(input):
        return fn(_floating(input)).detach()
    wrapped.__name__ = wrapped.__qualname__ = fn.__name__.lstrip("_")
    wrapped.__doc__ = fn.__doc__
    return wrapped


def _split(x, bound):
    """(x <= bound, x there else 1, x above bound else 2 bound): each branch's finite argument."""
    small = x <= bound
    return small, _where_safe(small, x, 1.0), _where_safe(~small, x, 2 * bound)


def _j0(x):
    x = _ops.abs(x)
    small, xs, xl = _split(x, _RATIONAL_UP_TO)
    z = xs * xs
    rational = (z - _J0_ZEROS_SQUARED[0]) * (z - _J0_ZEROS_SQUARED[1]) * _polevl(z, _J0_RP) / _polevl(z, _J0_RQ)
    rational = _ops.where(xs < 1e-5, 1.0 - z / 4.0, rational)
    asymptotic = _hankel(xl, _J0_PP, _J0_PQ, _J0_QP, _J0_QQ, _PI_OVER_4, 25.0 / (xl * xl), False)
    return _ops.where(small, rational, asymptotic)


def _j1(signed):
    x = _ops.abs(signed)
    small, xs, xl = _split(x, _RATIONAL_UP_TO)
    z = xs * xs
    rational = _polevl(z, _J1_RP) / _polevl(z, _J1_RQ) * xs * (z - _J1_ZEROS_SQUARED[0]) * (z - _J1_ZEROS_SQUARED[1])
    five_over_x = 5.0 / xl
    asymptotic = _hankel(xl, _J1_PP, _J1_PQ, _J1_QP, _J1_QQ, _THREE_PI_OVER_4, five_over_x * five_over_x, False)
    r = _ops.where(small, rational, asymptotic)
    return _ops.where(signed < 0, -r, r)  # odd


def _at_and_below_zero(x, r, at_zero):
    """r with the value at_zero at x == 0 and NaN below 0 (the second kinds' domain)."""
    r = _ops.where(x == 0, _const(r, at_zero), r)
    return _ops.where(x < 0, _const(r, math.nan), r)


def _y0(x):
    small, xs, xl = _split(x, _RATIONAL_UP_TO)
    xs = _where_safe(xs > 0, xs, 1.0)
    z = xs * xs
    rational = _polevl(z, _Y0_YP) / _polevl(z, _Y0_YQ) + _TWO_OVER_PI * _ops.log(xs) * _j0(xs)
    asymptotic = _hankel(xl, _J0_PP, _J0_PQ, _J0_QP, _J0_QQ, _PI_OVER_4, 25.0 / (xl * xl), True)
    return _at_and_below_zero(x, _ops.where(small, rational, asymptotic), -math.inf)


def _y1(x):
    small, xs, xl = _split(x, _RATIONAL_UP_TO)
    xs = _where_safe(xs > 0, xs, 1.0)
    z = xs * xs
    rational = xs * (_polevl(z, _Y1_YP) / _polevl(z, _Y1_YQ)) + _TWO_OVER_PI * (_j1(xs) * _ops.log(xs) - 1.0 / xs)
    five_over_x = 5.0 / xl
    asymptotic = _hankel(xl, _J1_PP, _J1_PQ, _J1_QP, _J1_QQ, _THREE_PI_OVER_4, five_over_x * five_over_x, True)
    return _at_and_below_zero(x, _ops.where(small, rational, asymptotic), -math.inf)


def _k(x, order, scaled):
    """K0 or K1 (times exp(x) when scaled): the (0, 2] expansion plus log(x/2) I_nu(x), and
    exp(-x) / sqrt(x) times the (2, inf) expansion."""
    small_table, large_table = (_K0_A, _K0_B) if order == 0 else (_K1_A, _K1_B)
    small, xs, xl = _split(x, _K_SPLIT)
    xs = _where_safe(xs > 0, xs, 1.0)
    series = _chbevl(xs * xs - 2.0, small_table)
    if order == 0:
        near = series - _ops.log(0.5 * xs) * i0(xs)
    else:
        near = _ops.log(0.5 * xs) * i1(xs) + series / xs
    far = _chbevl(8.0 / xl - 2.0, large_table) / _ops.sqrt(xl)
    if scaled:
        near = near * _ops.exp(xs)
    else:
        far = far * _ops.exp(-xl)
    return _at_and_below_zero(x, _ops.where(small, near, far), math.inf)


@_no_gradient
def _bessel_j0(x):
    return _j0(x)


@_no_gradient
def _bessel_j1(x):
    return _j1(x)


@_no_gradient
def _bessel_y0(x):
    return _y0(x)


@_no_gradient
def _bessel_y1(x):
    return _y1(x)


@_no_gradient
def _modified_bessel_k0(x):
    return _k(x, 0, False)


@_no_gradient
def _modified_bessel_k1(x):
    return _k(x, 1, False)


@_no_gradient
def _scaled_modified_bessel_k0(x):
    return _k(x, 0, True)


@_no_gradient
def _scaled_modified_bessel_k1(x):
    return _k(x, 1, True)


# special.* name -> function
FUNCTIONS = {fn.__name__: fn for fn in (
    _bessel_j0, _bessel_j1, _bessel_y0, _bessel_y1, _modified_bessel_k0, _modified_bessel_k1,
    _scaled_modified_bessel_k0, _scaled_modified_bessel_k1)}
