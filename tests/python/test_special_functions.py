"""The special functions against PyTorch 1.13: the ops tan, erfc, erfinv, lgamma, digamma and
polygamma (kernels/common/special_math.hpp) and every entry of terra.special, in float32 and
float64 over each function's domain (negative non-integers for the gamma family, near the poles,
large arguments, the conventions at 0, the poles, the infinities and NaN); their gradients against
PyTorch's and against central differences in float64; double backward, in-place and out= forms,
integer promotion, PyTorch's errors, and a replayed loop over them equal to eager."""
import math

import numpy as np
import pytest
import torch

import terra
from terra import special

DTYPES = ["float32", "float64"]
# Values: PyTorch's algorithms are reproduced (digamma, polygamma and erfinv agree to the last
# bits); tan, erfc and lgamma are libm's where PyTorch uses SLEEF (a few ulps apart).
TOL = {"float32": dict(rtol=3e-6, atol=1e-30), "float64": dict(rtol=1e-12, atol=1e-300)}
# Gradients are formulas over ops, so a few roundings more.
GRAD_TOL = {"float32": dict(rtol=2e-5, atol=1e-6), "float64": dict(rtol=1e-11, atol=1e-13)}


def sample(seed, *parts):
    """Concatenated samples: each part is (low, high, count) uniform, or a list of fixed values."""
    rng = np.random.default_rng(seed)
    chunks = [np.asarray(p, dtype=np.float64) if isinstance(p, list) else rng.uniform(*p) for p in parts]
    return np.concatenate(chunks)


def near_negative_poles(offsets=(1e-3, 1e-5)):
    return [k + s * o for k in (0, -1, -2, -5, -13) for o in offsets for s in (1, -1)]


def assert_values(got, want, rtol, atol, what=""):
    got = got.detach().numpy().astype(np.float64) if isinstance(got, terra.Tensor) else got
    want = want.detach().numpy().astype(np.float64) if isinstance(want, torch.Tensor) else want
    assert got.shape == want.shape, what
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{what}: NaN positions")
    inf = np.isinf(want)
    np.testing.assert_array_equal(got[inf], want[inf], err_msg=f"{what}: infinities")
    ok = ~np.isnan(want) & ~inf
    np.testing.assert_allclose(got[ok], want[ok], rtol=rtol, atol=atol, err_msg=what)


def pair(values, dtype, requires_grad=False):
    t = terra.tensor(values, dtype=getattr(terra, dtype), requires_grad=requires_grad)
    r = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    return t, r


# ---- The new ops: values ----------------------------------------------------------------------

# (name, terra function, torch function, inputs for float32, inputs for float64)
GAMMA_INPUTS = ((-20, 20, 1500), (0, 3, 500), (-3, 0, 500), (1e3, 1e7, 50), near_negative_poles())
OPS = [
    ("tan", terra.tan, torch.tan, ((-1.57, 1.57, 1000), (-40, 40, 500), [0.0, -0.0, 1.5707, -1.5707])),
    ("erfc", terra.erfc, torch.erfc, ((-6, 10, 2000), [0.0, 26.0, -30.0])),
    ("erfinv", terra.erfinv, torch.erfinv,
     ((-1, 1, 3000), [0.0, -0.0, 0.7, -0.7, 0.70001, 0.9999, -0.999999, 1e-20])),
    ("lgamma", terra.lgamma, torch.lgamma, GAMMA_INPUTS + ([1.0, 2.0, 0.5, 1e-30, 1e30],)),
    ("digamma", terra.digamma, torch.digamma, GAMMA_INPUTS + ([1.0, 10.0, 1e-30, -1e-30, 1e17, 1e20],)),
] + [
    (f"polygamma{n}", lambda x, n=n: terra.polygamma(n, x), lambda x, n=n: torch.polygamma(n, x),
     ((-8, 8, 1500), (0, 2, 300), (30, 1e4, 50), near_negative_poles((1e-3, 1e-2)), [0.5, 1.0, 9.0, 9.5]))
    for n in (0, 1, 2, 3, 5, 8)
]
SPECIAL_VALUES = [0.0, -0.0, 1.0, -1.0, -2.0, 0.5, -0.5, math.inf, -math.inf, math.nan, 1e-30, -1e-30, 1e10, 2.0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, ours, theirs, parts", OPS, ids=[op[0] for op in OPS])
def test_ops_match_pytorch_over_their_domain(name, ours, theirs, parts, dtype):
    values = sample(len(name), *parts)
    if dtype == "float32" and name == "erfc":
        values = values[values < 9.2]  # below float32's least normal the libms differ in the last bits
    t, r = pair(values, dtype)
    assert_values(ours(t), theirs(r), what=f"{name} {dtype}", **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, ours, theirs, parts", OPS, ids=[op[0] for op in OPS])
def test_ops_keep_pytorchs_conventions_at_poles_and_infinities(name, ours, theirs, parts, dtype):
    t, r = pair(SPECIAL_VALUES + [1.5, -1.5, 1.0000001], dtype)
    assert_values(ours(t), theirs(r), what=f"{name} {dtype}", **TOL[dtype])


def test_conventions_by_hand():
    x = terra.tensor([0.0, -0.0, -1.0, -math.inf, math.inf, math.nan], dtype=terra.float64)
    d = x.digamma().tolist()
    assert d[0] == -math.inf and d[1] == math.inf and d[4] == math.inf
    assert all(math.isnan(v) for v in (d[2], d[3], d[5]))
    assert x.lgamma().tolist()[:5] == [math.inf] * 5
    y = terra.tensor([1.0, -1.0, 0.0, 1.5, -1.5])
    e = y.erfinv().tolist()
    assert e[:3] == [math.inf, -math.inf, 0.0] and math.isnan(e[3]) and math.isnan(e[4])
    assert terra.polygamma(1, terra.tensor([0.0, math.inf])).tolist() == [math.inf, 0.0]


def test_trigamma_keeps_pytorchs_truncation_in_float64():
    # PyTorch's trigamma stops its asymptotic series at x + 6, ~5e-10 off near x = 1; Terra keeps
    # the same algorithm (matching PyTorch to the last bits, not mpmath to 1e-12).
    mpmath = pytest.importorskip("mpmath")
    xs = [0.5, 1.0, 2.0, 5.5]
    got = terra.polygamma(1, terra.tensor(xs, dtype=terra.float64)).tolist()
    want = torch.polygamma(1, torch.tensor(xs, dtype=torch.float64)).tolist()
    assert got == want
    exact = [float(mpmath.psi(1, x)) for x in xs]
    np.testing.assert_allclose(got, exact, rtol=1e-9)


@pytest.mark.parametrize("n", [2, 3, 7])
def test_polygamma_of_higher_order_against_mpmath(n):
    mpmath = pytest.importorskip("mpmath")
    xs = sample(n, (0.05, 30, 200), (-6, -0.01, 100))
    xs = xs[np.abs(xs - np.round(xs)) > 1e-3]
    got = terra.polygamma(n, terra.tensor(xs, dtype=terra.float64)).numpy()
    exact = np.array([float(mpmath.psi(n, x)) for x in xs])
    np.testing.assert_allclose(got, exact, rtol=1e-12)


@pytest.mark.parametrize("name", ["tan", "erfc", "erfinv", "lgamma", "digamma"])
@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_integers_and_bool_promote_to_the_default_float(name, dtype):
    values = [True, False] if dtype == "bool" else [1, 2, 0, -3]
    t, r = pair(values, dtype)
    got, want = getattr(terra, name)(t), getattr(torch, name)(r)
    assert got.dtype is terra.float32 and want.dtype is torch.float32
    assert_values(got, want, **TOL["float32"])
    terra.set_default_dtype(terra.float64)
    try:
        assert getattr(terra, name)(t).dtype is terra.float64
    finally:
        terra.set_default_dtype(terra.float32)


def test_methods_in_place_forms_and_out():
    values = [0.3, 0.7, 1.9, -0.4]
    for name in ["tan", "erfc", "erfinv", "lgamma", "digamma"]:
        t, r = pair(values, "float64")
        assert_values(getattr(t, name)(), getattr(r, name)(), **TOL["float64"])
        getattr(t, name + "_")()
        getattr(r, name + "_")()
        assert_values(t, r, what=name + "_", **TOL["float64"])
    t, r = pair(values, "float64")
    assert_values(t.polygamma(3), r.polygamma(3), **TOL["float64"])
    t.polygamma_(2)
    r.polygamma_(2)
    assert_values(t, r, **TOL["float64"])
    out = terra.empty(4, dtype=terra.float64)
    assert terra.polygamma(1, terra.tensor(values, dtype=terra.float64), out=out) is out
    assert_values(out, torch.polygamma(1, torch.tensor(values, dtype=torch.float64)), **TOL["float64"])
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        terra.tensor([1, 2]).digamma_()


def test_polygamma_rejects_negative_n_with_pytorchs_message():
    x = terra.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError) as theirs:
        torch.polygamma(-1, torch.tensor([1.0]))
    for call in [lambda: terra.polygamma(-1, x), lambda: x.polygamma(-2), lambda: special.polygamma(-1, x),
                 lambda: x.clone().polygamma_(-1)]:
        with pytest.raises(RuntimeError, match=r"polygamma\(n, x\) does not support negative n\."):
            call()
    assert str(theirs.value) == "polygamma(n, x) does not support negative n."


# ---- The new ops: gradients -------------------------------------------------------------------

# (name, terra function, torch function, domain away from poles)
GRAD_OPS = [
    ("tan", terra.tan, torch.tan, [(-1.3, 1.3)]),
    ("erfc", terra.erfc, torch.erfc, [(-3, 3)]),
    ("erfinv", terra.erfinv, torch.erfinv, [(-0.99, 0.99)]),
    ("lgamma", terra.lgamma, torch.lgamma, [(0.05, 12), (-4.9, -4.1), (-0.9, -0.1)]),
    ("digamma", terra.digamma, torch.digamma, [(0.05, 12), (-2.9, -2.1)]),
] + [
    (f"polygamma{n}", lambda x, n=n: terra.polygamma(n, x), lambda x, n=n: torch.polygamma(n, x),
     [(0.2, 10), (-1.8, -1.2)])
    for n in (0, 1, 2, 4)
]


def grad_inputs(name, domains, count=24):
    rng = np.random.default_rng(len(name) + 100)
    return np.concatenate([rng.uniform(lo, hi, count) for lo, hi in domains])


def central_difference(f, x, h=1e-6):
    """The derivative of an elementwise f at every element of x, by central differences in float64."""
    step = h * np.maximum(1.0, np.abs(x))
    plus = f(terra.tensor(x + step, dtype=terra.float64)).numpy()
    minus = f(terra.tensor(x - step, dtype=terra.float64)).numpy()
    return (plus - minus) / (2 * step)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, ours, theirs, domains", GRAD_OPS, ids=[op[0] for op in GRAD_OPS])
def test_op_gradients_match_pytorch(name, ours, theirs, domains, dtype):
    x = grad_inputs(name, domains)
    w = np.random.default_rng(7).uniform(0.5, 1.5, x.shape)
    t, r = pair(x, dtype, requires_grad=True)
    (ours(t) * terra.tensor(w, dtype=t.dtype)).sum().backward()
    (theirs(r) * torch.tensor(w, dtype=r.dtype)).sum().backward()
    assert_values(t.grad, r.grad, what=f"d{name} {dtype}", **GRAD_TOL[dtype])


@pytest.mark.parametrize("name, ours, theirs, domains", GRAD_OPS, ids=[op[0] for op in GRAD_OPS])
def test_op_gradients_match_central_differences(name, ours, theirs, domains):
    x = grad_inputs(name, domains)
    t = terra.tensor(x, dtype=terra.float64, requires_grad=True)
    ours(t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), central_difference(ours, x), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "erfinv", "tan", "erfc"])
def test_second_derivatives_match_pytorch(name):
    x = grad_inputs(name, [(0.2, 0.9)], count=8)
    t, r = pair(x, "float64", requires_grad=True)
    (g,) = terra.autograd.grad(getattr(t, name)().sum(), t, create_graph=True)
    (h,) = terra.autograd.grad(g.sum(), t)
    (g_ref,) = torch.autograd.grad(getattr(r, name)().sum(), r, create_graph=True)
    (h_ref,) = torch.autograd.grad(g_ref.sum(), r)
    assert_values(h, h_ref, what=name, **GRAD_TOL["float64"])


# ---- terra.special ----------------------------------------------------------------------------

def test_special_is_torch_special_surface():
    for name in special.__all__:
        assert hasattr(torch.special, name), name
        assert callable(getattr(special, name))
    assert terra.special is special


# (name, call, domain or fixed values, differentiable); call(module, x) with module terra or torch
SPECIAL = [
    ("erf", lambda m, x: m.special.erf(x), [(-3, 3)], True),
    ("erfc", lambda m, x: m.special.erfc(x), [(-3, 5)], True),
    ("erfinv", lambda m, x: m.special.erfinv(x), [(-0.999, 0.999)], True),
    ("expm1", lambda m, x: m.special.expm1(x), [(-3, 3)], True),
    ("exp2", lambda m, x: m.special.exp2(x), [(-5, 5)], True),
    ("log1p", lambda m, x: m.special.log1p(x), [(-0.9, 5)], True),
    ("logit", lambda m, x: m.special.logit(x), [(0.01, 0.99)], True),
    ("logit_eps", lambda m, x: m.special.logit(x, eps=0.05), [(0.06, 0.94), [0.0, 0.01, 0.99, 1.0]], False),
    ("expit", lambda m, x: m.special.expit(x), [(-8, 8)], True),
    ("xlogy", lambda m, x: m.special.xlogy(x, x.abs() + 0.5), [(-3, 3), [0.0]], True),
    ("xlogy_scalar", lambda m, x: m.special.xlogy(2.5, x), [(0.1, 3), [0.0, -1.0]], False),
    ("xlog1py", lambda m, x: m.special.xlog1py(x, x.abs() - 0.5), [(-3, 3), [0.0]], True),
    ("xlog1py_edges", lambda m, x: m.special.xlog1py(x, x - 1), [[0.0, 1.0, 2.0, math.nan]], False),
    ("gammaln", lambda m, x: m.special.gammaln(x), [(-6, 10)], True),
    ("digamma", lambda m, x: m.special.digamma(x), [(-6, 10)], True),
    ("psi", lambda m, x: m.special.psi(x), [(-6, 10)], True),
    ("polygamma1", lambda m, x: m.special.polygamma(1, x), [(0.1, 10), (-3, -0.1)], True),
    ("polygamma3", lambda m, x: m.special.polygamma(3, x), [(0.1, 10), (-3, -0.1)], True),
    ("multigammaln", lambda m, x: m.special.multigammaln(x, 3), [(1.1, 20)], True),
    ("multigammaln_1", lambda m, x: m.special.multigammaln(x, 1), [(0.1, 20)], True),
    ("logsumexp", lambda m, x: m.special.logsumexp(x.reshape(6, -1), 1), [(-5, 5)], True),
    ("logsumexp_keepdim", lambda m, x: m.special.logsumexp(x.reshape(6, -1), 0, keepdim=True), [(-5, 5)], True),
    ("softmax", lambda m, x: m.special.softmax(x.reshape(6, -1), 1), [(-5, 5)], True),
    ("log_softmax", lambda m, x: m.special.log_softmax(x.reshape(6, -1), 0), [(-5, 5)], True),
    ("sinc", lambda m, x: m.special.sinc(x), [(-4, 4), [0.0, 1.0, -2.0, math.inf, math.nan]], True),
    ("round", lambda m, x: m.special.round(x), [(-5, 5)], True),
    ("round_decimals", lambda m, x: m.special.round(x, decimals=2), [(-5, 5)], False),
    ("entr", lambda m, x: m.special.entr(x), [(0.01, 5), [0.0, -1.0, math.inf, math.nan]], True),
    ("ndtr", lambda m, x: m.special.ndtr(x), [(-5, 5), [0.0, math.inf, -math.inf, math.nan]], True),
    ("ndtri", lambda m, x: m.special.ndtri(x),
     [(0.001, 0.999), [0.0, 1.0, 0.5, 0.25, 0.75, -0.5, 1.5, math.nan, 1e-30, 1e-12, 1 - 1e-7]], True),
    ("log_ndtr", lambda m, x: m.special.log_ndtr(x),
     [(-30, 6), [-1.0, -10.0, -10.0001, -9.9999, -35.0, 0.0, math.inf, -math.inf, math.nan]], True),
]


def special_inputs(name, parts, dtype):
    rng = np.random.default_rng(len(name) + 5)
    chunks = [np.asarray(p, dtype=np.float64) if isinstance(p, list) else rng.uniform(*p, size=36) for p in parts]
    x = np.concatenate(chunks)
    if name.startswith(("logsumexp", "softmax", "log_softmax")):
        x = x[:36]
    return x


def special_tolerance(name, dtype):
    tol = dict(TOL[dtype])
    if name in ("ndtr", "log_ndtr"):
        # PyTorch's ndtr is (1 + erf(x / sqrt 2)) / 2, which loses the lower tail that erfc keeps.
        tol["atol"] = 1e-15 if dtype == "float64" else 1e-7
    if name == "sinc":
        tol["atol"] = 1e-15 if dtype == "float64" else 1e-7  # sin(pi k) next to zero at integers k
    if name == "ndtri" and dtype == "float32":
        tol["rtol"] = 2e-6
    return tol


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, call, parts, differentiable", SPECIAL, ids=[s[0] for s in SPECIAL])
def test_special_values_match_pytorch(name, call, parts, differentiable, dtype):
    t, r = pair(special_inputs(name, parts, dtype), dtype)
    assert_values(call(terra, t), call(torch, r), what=f"special.{name} {dtype}", **special_tolerance(name, dtype))


def test_special_tails_match_pytorch():
    # Far tails: ndtri to p = 1e-300 (float64) and 1e-37 (float32), log_ndtr to x = -1e3.
    for dtype, low in [("float64", 300), ("float32", 37)]:
        p = 10.0 ** -np.random.default_rng(3).uniform(2, low, 200)
        t, r = pair(np.concatenate([p, 1 - p[p > 1e-7]]), dtype)
        assert_values(special.ndtri(t), torch.special.ndtri(r), what=f"ndtri tails {dtype}",
                      **special_tolerance("ndtri", dtype))
        t, r = pair(-np.random.default_rng(4).uniform(5, 1000, 200), dtype)
        assert_values(special.log_ndtr(t), torch.special.log_ndtr(r), what=f"log_ndtr tail {dtype}",
                      rtol=TOL[dtype]["rtol"], atol=0)
    x = terra.tensor([-10.0, -20.0, -37.0], dtype=terra.float64)
    exact = [0.5 * math.erfc(-v / math.sqrt(2)) for v in x.tolist()]
    # PyTorch's is 0 there; x / sqrt(2) rounds, and erfc's condition number is 2 t^2.
    np.testing.assert_allclose(special.ndtr(x).numpy(), exact, rtol=1e-11)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, call, parts, differentiable",
                         [s for s in SPECIAL if s[3]], ids=[s[0] for s in SPECIAL if s[3]])
def test_special_gradients_match_pytorch(name, call, parts, differentiable, dtype):
    x = special_inputs(name, parts, dtype)
    x = x[np.isfinite(x)]
    if name == "entr":
        x = x[x > 0]  # PyTorch's gradient is inf at 0 and NaN below, Terra's 0 (special.py)
    if name == "ndtri":
        x = x[(x > 0) & (x < 1)]  # inf at 0 and 1, NaN outside in PyTorch; 0 in Terra
    if name == "xlogy":
        x = x[x != 0]  # terra.xlogy's gradient in x is 0 at x = 0, PyTorch's log(y) (_math_functions.py)
    t, r = pair(x, dtype, requires_grad=True)
    if name == "log_ndtr":
        # PyTorch's float32 gradient, exp(-(log_ndtr(x) + x^2 / 2)) / sqrt(2 pi), cancels in the
        # exponent in the lower tail (1e-5 off at x = -11); Terra's is compared with its float64 one.
        r = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y, y_ref = call(terra, t), call(torch, r)
    w = np.random.default_rng(11).uniform(0.5, 1.5, tuple(y_ref.shape))
    (y * terra.tensor(w, dtype=y.dtype)).sum().backward()
    (y_ref * torch.tensor(w, dtype=y_ref.dtype)).sum().backward()
    tol = dict(GRAD_TOL[dtype])
    if name in ("ndtri", "log_ndtr") and dtype == "float64":
        tol["rtol"] = 1e-9  # autograd through Halley's steps and the asymptotic series: converged, not exact
    assert_values(t.grad, r.grad, what=f"d special.{name} {dtype}", **tol)


@pytest.mark.parametrize("name, call, parts, differentiable",
                         [s for s in SPECIAL if s[3]], ids=[s[0] for s in SPECIAL if s[3]])
def test_special_gradients_match_central_differences(name, call, parts, differentiable):
    x = special_inputs(name, parts, "float64")
    x = x[np.isfinite(x)]
    if name in ("entr", "ndtri"):
        x = x[(x > 1e-6) & (x < 1 - 1e-6)] if name == "ndtri" else x[x > 0]
    if name == "round":
        x = x[np.abs(x - np.round(x)) > 1e-3]
    if name == "xlogy":
        x = x[x != 0]  # see test_special_gradients_match_pytorch
    t = terra.tensor(x, dtype=terra.float64, requires_grad=True)
    y = call(terra, t)
    w = np.random.default_rng(12).uniform(0.5, 1.5, tuple(y.shape))
    (y * terra.tensor(w, dtype=y.dtype)).sum().backward()
    numeric = np.zeros_like(x)
    for i in range(x.size):
        h = 1e-6 * max(1.0, abs(x[i]))
        if name == "ndtri":
            h = min(h, 1e-3 * min(x[i], 1 - x[i]))
        plus, minus = x.copy(), x.copy()
        plus[i] += h
        minus[i] -= h
        # The outputs' differences before the weighted sum: the elements x[i] does not reach
        # cancel exactly instead of rounding the sum.
        f = [call(terra, terra.tensor(v, dtype=terra.float64)).numpy() for v in (plus, minus)]
        numeric[i] = ((f[0] - f[1]) * w).sum() / (2 * h)
    np.testing.assert_allclose(t.grad.numpy(), numeric, rtol=1e-5, atol=1e-6, err_msg=name)


def test_special_out_and_aliases():
    x = terra.tensor([0.3, 1.7, 4.0], dtype=terra.float64)
    for name in ["erfc", "gammaln", "psi", "entr", "ndtr", "sinc", "log_ndtr", "expit"]:
        out = terra.empty(3, dtype=terra.float64)
        assert getattr(special, name)(x, out=out) is out
        assert np.array_equal(out.numpy(), getattr(special, name)(x).numpy()), name
    assert np.array_equal(special.psi(x).numpy(), terra.digamma(x).numpy())
    assert np.array_equal(special.gammaln(x).numpy(), x.lgamma().numpy())
    assert np.array_equal(special.expit(x).numpy(), x.sigmoid().numpy())
    assert np.array_equal(special.multigammaln(x, 1).numpy(), x.lgamma().numpy())
    assert special.softmax(x, 0, dtype=terra.float32).dtype is terra.float32


@pytest.mark.parametrize("name", ["entr", "ndtr", "ndtri", "log_ndtr", "sinc", "multigammaln"])
def test_special_compositions_promote_integers(name):
    args = (2,) if name == "multigammaln" else ()
    values = [0, 1] if name == "ndtri" else [1, 2, 3]
    t, r = pair(values, "int64")
    got, want = getattr(special, name)(t, *args), getattr(torch.special, name)(r, *args)
    assert got.dtype is terra.float32 and want.dtype is torch.float32
    assert_values(got, want, **special_tolerance(name, "float32"))


def test_special_errors_match_pytorch():
    x = terra.tensor([2.0, 3.0])
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        special.multigammaln(x, 0)
    with pytest.raises(RuntimeError, match="The input tensor may not be a boolean tensor."):
        special.multigammaln(terra.tensor([True]), 1)
    # PyTorch 1.13 checks only p, not x > (p - 1) / 2: below it the terms are lgamma's of negatives.
    t, r = pair([0.4, 0.2], "float64")
    assert_values(special.multigammaln(t, 2), torch.special.multigammaln(r, 2), **TOL["float64"])
    assert_values(terra.mvlgamma(t, 3), torch.mvlgamma(r, 3), **TOL["float64"])


# ---- Replayed and fused ----------------------------------------------------------------------

def special_loop(steps):
    rng = np.random.default_rng(0)
    w = terra.tensor(rng.uniform(0.5, 1.5, 16), dtype=terra.float32, requires_grad=True)
    opt = terra.optim.SGD([w], lr=0.01)
    losses = []
    for _ in range(steps):
        x = terra.tensor(rng.uniform(0.2, 0.8, 16), dtype=terra.float32)
        y = (x * w).lgamma() + (x + w).digamma() * 0.1 + terra.polygamma(2, x + w) * 0.01 + (x * 0.5).erfinv()
        y = y + (x * w * 0.5).tan() + special.ndtr(x - w) + (x * w).erfc() + special.log_ndtr(x * 3 - w * 4)
        loss = y.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, w.detach().numpy()


def test_replayed_loop_with_fusion_equals_eager():
    eager = special_loop(12)
    with terra.replay():
        replayed = special_loop(12)
    assert terra.debug.stats()["iterations_replayed"] >= 5
    np.testing.assert_allclose(replayed[0], eager[0], rtol=1e-5)
    np.testing.assert_allclose(replayed[1], eager[1], rtol=1e-5)
