"""torch.linalg.householder_product (torch.orgqr), torch.geqrf, tensorinv and tensorsolve against
PyTorch 1.13: values, gradients through householder_product and tensorinv, and the errors."""
import numpy as np
import pytest
import torch

import terra

RNG = np.random.default_rng(5)


def both(array, grad=False):
    return terra.tensor(array, requires_grad=grad), torch.tensor(array, requires_grad=grad)


@pytest.mark.parametrize("shape,k", [((5, 3), 3), ((5, 3), 2), ((2, 6, 4), 4), ((4, 4), 1)])
def test_householder_product_and_its_gradients(shape, k):
    A, tau = RNG.standard_normal(shape), RNG.random(shape[:-2] + (k,))
    (ta, pa), (tt, pt) = both(A, True), both(tau, True)
    got, want = terra.linalg.householder_product(ta, tt), torch.linalg.householder_product(pa, pt)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-14)
    weights = RNG.standard_normal(want.shape)
    (got * terra.tensor(weights)).sum().backward()
    (want * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ta.grad.numpy(), pa.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tt.grad.numpy(), pt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert np.allclose(terra.orgqr(ta, tt).detach().numpy(), got.detach().numpy())


def test_geqrf_then_orgqr_gives_qr_q():
    A = RNG.standard_normal((6, 4))
    ta, pa = both(A)
    got, want = terra.geqrf(ta), torch.geqrf(pa)
    np.testing.assert_allclose(got.a.numpy(), want.a.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got.tau.numpy(), want.tau.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got.a.orgqr(got.tau).numpy(), torch.linalg.qr(pa).Q.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape,ind", [((4, 6, 8, 3), 2), ((6, 2, 3), 1), ((2, 3, 3, 2), 2)])
def test_tensorinv(shape, ind):
    A = RNG.standard_normal(shape)
    (ta, pa) = both(A, True)
    got, want = terra.linalg.tensorinv(ta, ind=ind), torch.linalg.tensorinv(pa, ind=ind)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(ta.grad.numpy(), pa.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("a_shape,b_shape,dims", [((2, 3, 6), (2, 3), None), ((6, 2, 3), (2, 3), (0,)),
                                                  ((2, 3, 2, 3), (2, 3), None)])
def test_tensorsolve(a_shape, b_shape, dims):
    (ta, pa), (tb, pb) = both(RNG.standard_normal(a_shape)), both(RNG.standard_normal(b_shape))
    got, want = terra.linalg.tensorsolve(ta, tb, dims=dims), torch.linalg.tensorsolve(pa, pb, dims=dims)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", ["rank", "wide", "tau_long", "batch"])
def test_householder_product_errors_are_pytorchs(case):
    A, tau = RNG.standard_normal((5, 3)), RNG.random(3)
    args = {"rank": (A[0], tau), "wide": (A.T, tau), "tau_long": (A, RNG.random(4)),
            "batch": (np.stack([A, A]), RNG.random((3, 3)))}[case]
    messages = []
    for lib in (torch, terra):
        with pytest.raises(RuntimeError) as e:
            lib.linalg.householder_product(*(lib.tensor(x) for x in args))
        messages.append(str(e.value))
    assert messages[1] == messages[0] or case == "batch" and "batch dimensions of tau" in messages[1]


def test_tensorinv_error_is_pytorchs():
    messages = []
    for lib in (torch, terra):
        with pytest.raises(RuntimeError) as e:
            lib.linalg.tensorinv(lib.tensor(RNG.standard_normal((4, 6, 8, 4))), ind=2)
        messages.append(str(e.value))
    assert messages[0] == messages[1]
