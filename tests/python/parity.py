"""Helpers for the parity tests against PyTorch 1.13 (Debian's python3-torch).

Terra and PyTorch tensors are compared through numpy in float64; modules get identical weights by
copying PyTorch's state_dict into Terra's through numpy.
"""
import numpy as np

import terra

try:
    import torch
except ImportError:  # pragma: no cover - python3-torch is a test dependency
    torch = None


def to_numpy(x):
    """A terra or torch tensor (or anything array-like) as a float64/int64 numpy array."""
    if isinstance(x, terra.Tensor):
        return x.detach().numpy()
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def to_terra(x, requires_grad=None):
    """A torch tensor (or numpy array) copied into a new terra tensor with the same dtype."""
    arr = to_numpy(x)
    t = terra.tensor(arr.copy())
    if requires_grad is None:
        requires_grad = torch is not None and isinstance(x, torch.Tensor) and x.requires_grad
    if requires_grad:
        t.requires_grad_(True)
    return t


def assert_close(actual, expected, rtol=1e-5, atol=1e-6, what=""):
    a = to_numpy(actual)
    e = to_numpy(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol, err_msg=what)


def copy_state(torch_module, terra_module):
    """Loads torch_module's parameters and buffers into terra_module (names must match)."""
    state = {k: terra.tensor(v.detach().cpu().numpy().copy()) for k, v in torch_module.state_dict().items()}
    terra_module.load_state_dict(state)
