"""Householder reflectors: the product Q of the reflectors in geqrf's compact form
(torch.linalg.householder_product, torch.orgqr), composed from terra ops so autograd goes
through it, and geqrf itself (LAPACK through numpy, no autograd, as PyTorch 1.13 has none).
Used by terra.linalg and nn.utils.parametrizations.orthogonal."""

import numpy as np

import terra

__all__ = ["householder_product", "geqrf"]


def householder_product(A, tau):
    """The first k columns of H_0 H_1 ... H_{k-1}, H_i = I - tau_i v_i v_i^T, where v_i is
    column i of A (..., n, k) below the diagonal with a 1 on it."""
    name = "torch.linalg.householder_product"
    if A.dim() < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    if A.size(-2) < A.size(-1):
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if A.size(-1) < tau.size(-1):
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{name}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                           f"{list(tau.shape[:-1])}")
    n, k = A.size(-2), A.size(-1)
    eye = terra.eye(n, k, dtype=A.dtype, device=A.device)
    reflectors = A.tril(-1) + eye
    Q = eye.expand(A.shape)
    # Applied right to left to the n x k identity: k rank-one updates.
    for i in reversed(range(tau.size(-1))):
        v = reflectors[..., :, i:i + 1]
        Q = Q - (tau[..., i:i + 1].unsqueeze(-1) * v) * (v.mT @ Q)
    return Q


def geqrf(A):
    """(reflectors, tau) of the QR decomposition of A (..., m, n), as LAPACK's geqrf returns
    them: R on and above the diagonal of `reflectors`, the Householder vectors below it."""
    array = A.detach().cpu().numpy()
    batch = array.reshape((-1,) + array.shape[-2:])
    reflectors, taus = [], []
    for matrix in batch:
        h, tau = np.linalg.qr(matrix, mode="raw")  # h is the transpose of geqrf's output
        reflectors.append(h.T)
        taus.append(tau)
    shape = array.shape[:-2]
    reflectors = np.stack(reflectors).reshape(array.shape)
    taus = np.stack(taus).reshape(shape + (taus[0].shape[-1],))
    return (terra.tensor(reflectors, dtype=A.dtype, device=A.device),
            terra.tensor(taus, dtype=A.dtype, device=A.device))
