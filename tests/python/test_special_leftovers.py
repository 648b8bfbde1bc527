"""terra.special's ordinary and modified Bessel functions of the second kind and the regularized
incomplete gamma functions (bindings/terra/_special_bessel.py, _special_gamma.py) against
PyTorch 1.13: float64 values to ~1e-12 relative over each domain (small, large and negative
arguments, the branch points), float32 to float32 rounding, PyTorch's conventions at 0, below 0
and at infinities, its gradients (igamma: in x only) and its missing ones."""
import mpmath
import numpy as np
import pytest
import torch

import terra
from terra import special

from test_special_functions import assert_values, pair, sample

BESSEL_INPUTS = ((-40, 40, 400), (-6, 6, 400), (1e-6, 1e-3, 20), (40, 1e4, 40),
                 [0.0, 5.0, -5.0, 4.999, 5.001, 2.0, 1.999, 2.001, 1e-5, 1e-7, 300.0, -300.0])
BESSELS = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_k0", "modified_bessel_k1",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1"]
# Relative to the value, and absolute near the oscillating functions' zeros (where a relative
# error of the argument's rounding becomes large).
TOL = {"float32": dict(rtol=5e-6, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-14)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", BESSELS)
def test_bessel_values(name, dtype):
    values = sample(len(name), *BESSEL_INPUTS)
    t, r = pair(values, dtype)
    assert_values(getattr(special, name)(t), getattr(torch.special, name)(r), what=f"{name} {dtype}", **TOL[dtype])


@pytest.mark.parametrize("name", BESSELS)
def test_bessels_are_not_differentiable_as_in_pytorch(name):
    t, r = pair([0.5, 3.0, 7.0], "float64", requires_grad=True)
    ours, theirs = getattr(special, name)(t), getattr(torch.special, name)(r)
    assert ours.requires_grad == theirs.requires_grad is False


def test_bessels_take_integers_and_out():
    ours = special.bessel_j0(terra.tensor([1, 2, 3]))
    theirs = torch.special.bessel_j0(torch.tensor([1, 2, 3]))
    assert ours.dtype is terra.float32 and theirs.dtype is torch.float32
    out = terra.empty(3, dtype=terra.float64)
    assert special.modified_bessel_k1(terra.tensor([1.0, 2.0, 3.0], dtype=terra.float64), out=out) is out
    assert_values(out, torch.special.modified_bessel_k1(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)),
                  rtol=1e-14, atol=0)


def incomplete_gamma_inputs(seed, outside_temme=True):
    """(a, x): a from 1e-3 to 400 with x around a (log-normal ratio) and small x; with
    outside_temme, leaving out PyTorch's asymptotic-expansion region (a > 20, |x - a| / a < 0.3
    up to a = 200, < 4.5 / sqrt(a) above)."""
    rng = np.random.default_rng(seed)
    a = np.concatenate([rng.uniform(0.05, 5, 300), rng.uniform(5, 60, 200), rng.uniform(60, 400, 100),
                        10 ** rng.uniform(-3, 0, 50), [0.5, 1.0, 2.0, 20.0]])
    x = a * np.exp(rng.normal(0, 0.7, a.size))
    x[:100] = rng.uniform(0.01, 3, 100)
    x[-4:] = [0.5, 1.1, 1.1, 20.0]
    if outside_temme:
        ratio = np.abs(x - a) / a
        temme = ((a > 20) & (a < 200) & (ratio < 0.3)) | ((a > 200) & (ratio < 4.5 / np.sqrt(a)))
        a, x = a[~temme], x[~temme]
    return a, x


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_incomplete_gamma_values(name):
    a, x = incomplete_gamma_inputs(1)
    ours = getattr(terra, name)(*pair(a, "float64")[:1], pair(x, "float64")[0])
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(x))
    assert_values(ours, theirs, rtol=1e-12, atol=1e-300, what=name)
    f32 = getattr(terra, name)(terra.tensor(a, dtype=terra.float32), terra.tensor(x, dtype=terra.float32))
    assert f32.dtype is terra.float32
    assert_values(f32, getattr(torch, name)(torch.tensor(a, dtype=torch.float32), torch.tensor(x, dtype=torch.float32)),
                  rtol=5e-5, atol=1e-6, what=f"{name} float32")


def test_incomplete_gamma_in_pytorchs_asymptotic_region_against_mpmath():
    """There PyTorch 1.13's Temme expansion is off by up to ~2e-9; ours is the series."""
    rng = np.random.default_rng(2)
    a = rng.uniform(20, 400, 40)
    x = a * (1 + rng.uniform(-0.25, 0.25, 40) / np.where(a > 200, np.sqrt(a) / 4, 1))
    ours = special.gammainc(terra.tensor(a), terra.tensor(x)).numpy()
    exact = np.array([float(mpmath.gammainc(ai, 0, xi, regularized=True)) for ai, xi in zip(a, x)])
    np.testing.assert_allclose(ours, exact, rtol=1e-12)
    upper = special.gammaincc(terra.tensor(a), terra.tensor(x)).numpy()
    np.testing.assert_allclose(upper, 1 - exact, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours, torch.special.gammainc(torch.tensor(a), torch.tensor(x)).numpy(), rtol=5e-9)


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_incomplete_gamma_conventions(name):
    a = [0.0, 1.0, -1.0, 2.0, 1.0, np.inf, 2.0, np.inf, 0.0, np.nan, 3.0]
    x = [1.0, 0.0, 1.0, -1.0, np.inf, 3.0, np.nan, np.inf, 0.0, 1.0, 1e-300]
    assert_values(getattr(terra, name)(terra.tensor(a), terra.tensor(x)),
                  getattr(torch, name)(torch.tensor(a), torch.tensor(x)), rtol=1e-12, atol=1e-300, what=name)


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_incomplete_gamma_gradient_in_x(name):
    a, x = incomplete_gamma_inputs(3)
    ta, ra = pair(a, "float64")
    tx, rx = pair(x, "float64", requires_grad=True)
    getattr(terra, name)(ta, tx).sum().backward()
    getattr(torch, name)(ra, rx).sum().backward()
    assert_values(tx.grad, rx.grad, rtol=1e-11, atol=1e-300, what=name)


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_incomplete_gamma_has_no_gradient_in_a(name):
    for lib in (terra, torch):
        a = lib.tensor([1.5, 3.0], dtype=lib.float64, requires_grad=True)
        y = getattr(lib, name)(a, lib.tensor([0.7, 4.0], dtype=lib.float64))
        with pytest.raises(NotImplementedError, match=f"derivative for '{name}: input' is not implemented"):
            y.sum().backward()


def test_incomplete_gamma_spellings_and_checks():
    a, x = terra.tensor([1.5, 3.0, 7.0]), terra.tensor([0.7, 4.0, 2.0])
    want = torch.igamma(torch.tensor([1.5, 3.0, 7.0]), torch.tensor([0.7, 4.0, 2.0]))
    assert_values(a.igamma(x), want, rtol=2e-6, atol=0)
    assert_values(special.gammainc(a, x), want, rtol=2e-6, atol=0)
    inplace = a.clone()
    assert inplace.igammac_(x) is inplace
    assert_values(inplace, 1 - want, rtol=5e-6, atol=1e-7)
    out = terra.empty(3)
    assert terra.igamma(a, x, out=out) is out and special.gammaincc(a, x, out=out) is out
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        terra.igamma(terra.tensor([3]), terra.tensor([2]))
    assert_values(terra.igamma(a.to(terra.float64), 2.0), torch.igamma(torch.tensor([1.5, 3.0, 7.0], dtype=torch.float64),
                                                                    torch.tensor(2.0, dtype=torch.float64)),
                  rtol=1e-12, atol=0)
