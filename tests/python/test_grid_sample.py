"""F.grid_sample and F.affine_grid against PyTorch 1.13: values and gradients with respect to the
input, the grid and theta, for every mode x padding_mode x align_corners, float32 and float64, with
grids reaching slightly past [-1, 1] so the padding modes matter; and PyTorch's error messages."""
import warnings

import numpy as np
import pytest

import terra
import terra.nn.functional as F

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

TOL = {"float32": 1e-5, "float64": 1e-12}
PADDINGS = ("zeros", "border", "reflection")
CASES = [(mode, pad, align, rank)
         for rank, modes in ((4, ("bilinear", "nearest", "bicubic")), (5, ("bilinear", "nearest")))
         for mode in modes for pad in PADDINGS for align in (False, True)]


def _pair(x, requires_grad=True):
    return terra.tensor(x.copy(), requires_grad=requires_grad), torch.tensor(x.copy(), requires_grad=requires_grad)


def _close(ours, theirs, tol):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode,padding_mode,align,rank", CASES)
def test_grid_sample_matches_pytorch(mode, padding_mode, align, rank, dtype):
    rng = np.random.default_rng(rank * 7 + len(mode))
    spatial, out_spatial = ((5, 6), (4, 7)) if rank == 4 else ((3, 4, 5), (2, 3, 4))
    x = rng.standard_normal((2, 3) + spatial).astype(dtype)
    # Slightly past [-1, 1], far enough for reflection to fold more than once at size 3.
    grid = rng.uniform(-1.6, 1.6, (2,) + out_spatial + (rank - 2,)).astype(dtype)
    ours_x, theirs_x = _pair(x)
    ours_g, theirs_g = _pair(grid)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align)
    ours, theirs = F.grid_sample(ours_x, ours_g, **kw), TF.grid_sample(theirs_x, theirs_g, **kw)
    assert tuple(ours.shape) == tuple(theirs.shape)
    tol = TOL[dtype]
    _close(ours, theirs, tol)
    w = rng.standard_normal(tuple(theirs.shape)).astype(dtype)
    (ours * terra.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    _close(ours_x.grad, theirs_x.grad, tol * 10)
    _close(ours_g.grad, theirs_g.grad, tol * 10)


@pytest.mark.parametrize("padding_mode", PADDINGS)
def test_grid_sample_size_one_and_exact_borders(padding_mode):
    # A grid from affine_grid lands exactly on the borders (gradient there is PyTorch's: zero for
    # the clamped coordinate); a size-1 dim makes reflection's span empty.
    for spatial, align in (((1, 5), True), ((4, 5), True), ((4, 1), False)):
        x = np.random.default_rng(3).standard_normal((1, 2) + spatial)
        theta = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
        for mode in ("bilinear", "nearest", "bicubic"):
            ours_x, theirs_x = _pair(x)
            ours_g = F.affine_grid(terra.tensor(theta), [1, 2, 3, 4], align_corners=align).detach().requires_grad_()
            theirs_g = TF.affine_grid(torch.tensor(theta), [1, 2, 3, 4], align_corners=align).detach().requires_grad_()
            kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align)
            ours, theirs = F.grid_sample(ours_x, ours_g, **kw), TF.grid_sample(theirs_x, theirs_g, **kw)
            _close(ours, theirs, 1e-12)
            ours.sum().backward()
            theirs.sum().backward()
            _close(ours_x.grad, theirs_x.grad, 1e-11)
            _close(ours_g.grad, theirs_g.grad, 1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("size", [[2, 3, 4, 5], [2, 3, 1, 6], [2, 1, 3, 4, 5], [2, 1, 2, 1, 3]])
def test_affine_grid_matches_pytorch(size, align, dtype):
    rng = np.random.default_rng(len(size))
    theta = rng.standard_normal((2, len(size) - 2, len(size) - 1)).astype(dtype)
    ours_t, theirs_t = _pair(theta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = F.affine_grid(ours_t, size, align_corners=align), TF.affine_grid(theirs_t, size, align_corners=align)
    assert tuple(ours.shape) == tuple(theirs.shape)
    _close(ours, theirs, TOL[dtype])
    w = rng.standard_normal(tuple(theirs.shape)).astype(dtype)
    (ours * terra.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    _close(ours_t.grad, theirs_t.grad, TOL[dtype] * 10)


def test_affine_grid_then_grid_sample_gradient():
    rng = np.random.default_rng(5)
    x, theta = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((2, 2, 3)) * 0.6
    (ours_x, theirs_x), (ours_t, theirs_t) = _pair(x), _pair(theta)
    ours = F.grid_sample(ours_x, F.affine_grid(ours_t, [2, 3, 4, 4], align_corners=False), align_corners=False)
    theirs = TF.grid_sample(theirs_x, TF.affine_grid(theirs_t, [2, 3, 4, 4], align_corners=False), align_corners=False)
    _close(ours, theirs, 1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    _close(ours_t.grad, theirs_t.grad, 1e-10)
    _close(ours_x.grad, theirs_x.grad, 1e-11)


def test_align_corners_none_warns():
    x, g = terra.zeros(1, 1, 2, 2), terra.zeros(1, 1, 1, 2)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(x, g)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(terra.zeros(1, 2, 3), [1, 1, 2, 2])
    with pytest.warns(UserWarning, match="unit-size grids"):
        F.affine_grid(terra.zeros(1, 2, 3), [1, 1, 1, 2], align_corners=True)


def _message(fn, module, tensor):
    with pytest.raises(Exception) as info:
        fn(module, tensor)
    return type(info.value), str(info.value).replace("torch.", "<lib>.").replace("terra.", "<lib>.")


GRID_SAMPLE_ERRORS = [
    ((2, 3, 4, 5), (2, 3, 4, 2, 1), {}),
    ((2, 3, 4, 5), (3, 3, 4, 2), {}),
    ((2, 3, 4, 5), (2, 3, 4, 3), {}),
    ((2, 3, 4), (2, 3, 1), {}),
    ((2, 3, 4, 5), (2, 3, 2), {}),
    ((2, 3, 4, 5, 6, 7), (2, 3, 4, 5, 6, 4), {}),
    ((2, 3, 4, 5), (2, 3, 4, 5, 2), {}),
    ((2, 3, 0, 5), (2, 3, 4, 2), {}),
    ((2, 3, 4, 5, 6), (2, 3, 4, 5, 3), {"mode": "bicubic"}),
    ((2, 3, 4, 5), (2, 3, 4, 2), {"mode": "linear"}),
    ((2, 3, 4, 5), (2, 3, 4, 2), {"mode": "trilinear"}),
    ((2, 3, 4, 5), (2, 3, 4, 2), {"padding_mode": "circular"}),
]


@pytest.mark.parametrize("shape,grid_shape,kw", GRID_SAMPLE_ERRORS)
def test_grid_sample_errors(shape, grid_shape, kw):
    def call(lib, tensor):
        f = F if lib is terra else TF
        return f.grid_sample(tensor(np.zeros(shape)), tensor(np.zeros(grid_shape)), align_corners=False, **kw)

    assert _message(call, terra, terra.tensor) == _message(call, torch, torch.tensor)


def test_grid_sample_dtype_mismatch():
    def call(lib, tensor):
        f = F if lib is terra else TF
        return f.grid_sample(tensor(np.zeros((1, 1, 2, 2), np.float32)), tensor(np.zeros((1, 1, 1, 2))),
                             align_corners=False)

    assert _message(call, terra, terra.tensor) == _message(call, torch, torch.tensor)


AFFINE_ERRORS = [
    ((2, 2, 3), [2, 3, 4], np.float64),
    ((2, 3, 3), [2, 3, 4, 5], np.float64),
    ((2, 2, 3), [2, 3, 4, 5], np.int64),
    ((2, 2, 3), [2, 3, 0, 5], np.float64),
    ((2, 2, 4), [2, 3, 4, 5, 6], np.float64),
    ((2, 3), [2, 3, 4, 5], np.float64),
]


@pytest.mark.parametrize("theta_shape,size,dtype", AFFINE_ERRORS)
def test_affine_grid_errors(theta_shape, size, dtype):
    def call(lib, tensor):
        f = F if lib is terra else TF
        return f.affine_grid(tensor(np.zeros(theta_shape, dtype)), size, align_corners=False)

    assert _message(call, terra, terra.tensor) == _message(call, torch, torch.tensor)


def test_affine_grid_batch_mismatch():
    with pytest.raises(RuntimeError):
        F.affine_grid(terra.zeros(3, 2, 3), [2, 3, 4, 5], align_corners=False)


def test_exported():
    assert "grid_sample" in F.__dict__ and "affine_grid" in F.__dict__
    assert terra.nn.functional.grid_sample is F.grid_sample
