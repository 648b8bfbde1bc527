"""terra.special's Bessel, erfcx, zeta and polynomial functions (bindings/terra/_special_more.py)
against PyTorch 1.13: float64 values to ~1e-12 over each function's domain (small, large and
negative arguments), float32 to float32 rounding, gradients against PyTorch's and central
differences, and PyTorch's missing derivatives raising."""
import numpy as np
import pytest
import torch

import terra
from terra import special

from test_special_functions import assert_values, pair, sample

BESSEL_INPUTS = ((-30, 30, 400), (-8, 8, 400), (-1e-3, 1e-3, 20), [0.0, 8.0, -8.0, 7.999, 8.001, 100.0, -300.0, 700.0])
CASES = [
    ("i0", BESSEL_INPUTS), ("i0e", BESSEL_INPUTS), ("i1", BESSEL_INPUTS), ("i1e", BESSEL_INPUTS),
    ("modified_bessel_i0", BESSEL_INPUTS), ("modified_bessel_i1", BESSEL_INPUTS),
    ("erfcx", ((-5, 10, 500), (10, 1e4, 100), [0.0, -1e-5, 9.999, 10.0, 1e8, 25.0])),
    ("spherical_bessel_j0", ((-40, 40, 500), (-0.6, 0.6, 200), [0.0, 0.5, -0.5, 1e-9, 1e5])),
]
TOL = {"float32": dict(rtol=2e-6, atol=1e-30), "float64": dict(rtol=1e-12, atol=1e-300)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, parts", CASES, ids=[c[0] for c in CASES])
def test_unary_values(name, parts, dtype):
    values = sample(len(name), *parts)
    if dtype == "float32":
        values = values[np.abs(values) < 80]  # exp overflows float32 beyond
    t, r = pair(values, dtype)
    assert_values(getattr(special, name)(t), getattr(torch.special, name)(r), what=f"{name} {dtype}", **TOL[dtype])


@pytest.mark.parametrize("name", ["i0", "i0e", "i1", "i1e", "erfcx"])
def test_unary_gradients(name):
    values = sample(3, (-20, 20, 200), [0.0, 1e-4, -8.0, 8.0, 12.0])
    t, r = pair(values, "float64", requires_grad=True)
    getattr(special, name)(t).sum().backward()
    getattr(torch.special, name)(r).sum().backward()
    assert_values(t.grad, r.grad, rtol=1e-10, atol=1e-13, what=name)


def test_i0_forms_and_finite_differences():
    x = terra.tensor([0.3, -2.0, 9.0], dtype=terra.float64, requires_grad=True)
    assert_values(terra.i0(x), torch.i0(torch.tensor([0.3, -2.0, 9.0], dtype=torch.float64)), 1e-13, 0)
    assert_values(x.i0(), terra.special.i0(x), 0, 0)
    y = terra.tensor([1, 2])  # integers promote
    assert terra.i0(y).dtype is terra.float32
    special.i1(x).sum().backward()
    h = 1e-6
    fd = (special.i1(x.detach() + h) - special.i1(x.detach() - h)) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), fd.numpy(), rtol=1e-8)
    z = x.detach().clone()
    assert z.i0_() is z and np.allclose(z.numpy(), torch.i0(torch.tensor([0.3, -2.0, 9.0], dtype=torch.float64)))


def test_zeta_values_and_gradient():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(1.01, 20, 300), [1.0, 0.5, 2.0, 3.0, 50.0]])
    q = np.concatenate([rng.uniform(0.01, 30, 300), [1.0, 1.0, -2.0, -1.5, 0.5]])
    (tx, rx), (tq, rq) = pair(x, "float64"), pair(q, "float64", requires_grad=True)
    ours, theirs = special.zeta(tx, tq), torch.special.zeta(rx, rq)
    assert_values(ours, theirs, rtol=1e-12, atol=1e-300, what="zeta")
    ok = np.isfinite(theirs.detach().numpy())
    (ours * terra.tensor(ok.astype(np.float64))).sum().backward()
    (theirs * torch.tensor(ok.astype(np.float64))).sum().backward()
    assert_values(tq.grad, rq.grad, rtol=1e-11, atol=1e-300, what="zeta grad q")
    assert_values(special.zeta(2.0, terra.tensor([1.0, 2.0])), torch.special.zeta(2.0, torch.tensor([1.0, 2.0])), 2e-6, 0)
    x2 = terra.tensor([2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative"):
        special.zeta(x2, terra.tensor([1.5])).sum().backward()


POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
               "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
               "laguerre_polynomial_l", "legendre_polynomial_p"]


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials(name):
    rng = np.random.default_rng(len(name))
    x = rng.uniform(-1.2, 1.2, 60) if "shifted" not in name else rng.uniform(-0.1, 1.1, 60)
    n = rng.integers(-1, 12, 60)
    ours = getattr(special, name)(terra.tensor(x), terra.tensor(n))
    theirs = getattr(torch.special, name)(torch.tensor(x), torch.tensor(n))
    scale = np.maximum(1.0, np.abs(theirs.numpy()))
    np.testing.assert_allclose(ours.numpy() / scale, theirs.numpy() / scale, rtol=0, atol=1e-11, err_msg=name)
    for k in (0, 3):  # n as a number
        assert_values(getattr(special, name)(terra.tensor(x), k), getattr(torch.special, name)(torch.tensor(x), k),
                      1e-11, 1e-12, what=f"{name} n={k}")
    xg = terra.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="not implemented"):
        getattr(special, name)(xg, 3).sum().backward()
