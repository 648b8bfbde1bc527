"""F.interpolate's modes and nn.Upsample against PyTorch 1.13: values and input gradients, float32
and float64, sizes and scale factors that divide and that do not, both align_corners."""
import numpy as np
import pytest

import terra
import terra.nn.functional as F

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5, "nearest": 4, "nearest-exact": 4, "area": 4}
SPATIAL = {3: (7,), 4: (5, 6), 5: (3, 4, 5)}

# (mode, size, scale_factor, align_corners, recompute_scale_factor)
CASES = []
for _mode in ("linear", "bilinear", "bicubic", "trilinear"):
    for _align in (False, True):
        CASES += [(_mode, None, 2, _align, None), (_mode, None, 1.7, _align, None), (_mode, None, 0.6, _align, True),
                  (_mode, "up", None, _align, None), (_mode, "down", None, _align, None)]
for _mode in ("nearest", "nearest-exact"):
    CASES += [(_mode, None, 2, None, None), (_mode, None, 1.5, None, None), (_mode, None, 0.7, None, None),
              (_mode, "up", None, None, None), (_mode, "down", None, None, None)]
CASES += [("area", "down", None, None, None), ("area", None, 0.5, None, None), ("nearest", None, 3, None, None)]


def _size(kind, spatial):
    if kind is None:
        return None
    return [s * 2 + 1 for s in spatial] if kind == "up" else [max(s - 2, 1) for s in spatial]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode,size,scale,align,recompute", CASES)
def test_matches_pytorch(mode, size, scale, align, recompute, dtype):
    rank = RANK[mode]
    shape = (2, 3) + SPATIAL[rank]
    rng = np.random.default_rng(len(CASES))
    x = rng.standard_normal(shape).astype(dtype)
    size = _size(size, SPATIAL[rank])
    kwargs = dict(size=size, scale_factor=scale, mode=mode, recompute_scale_factor=recompute)
    if align is not None:
        kwargs["align_corners"] = align
    ours_in = terra.tensor(x.copy(), requires_grad=True)
    theirs_in = torch.tensor(x.copy(), requires_grad=True)
    ours, theirs = F.interpolate(ours_in, **kwargs), TF.interpolate(theirs_in, **kwargs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    # PyTorch's bicubic kernel associates its 16 products differently: a few float32 ulps apart.
    tol = (1e-5 if mode == "bicubic" else 2e-6) if dtype == "float32" else 1e-13
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)
    w = rng.standard_normal(tuple(theirs.shape)).astype(dtype)
    (ours * terra.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=tol * 10, atol=tol * 10)


def test_upsample_modules():
    x = np.random.default_rng(1).standard_normal((1, 2, 4, 5)).astype(np.float32)
    for ours, theirs in [(terra.nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Upsample(scale_factor=2, mode="bilinear")),
                         (terra.nn.UpsamplingBilinear2d(size=(7, 9)), torch.nn.UpsamplingBilinear2d(size=(7, 9))),
                         (terra.nn.Upsample(size=(6, 3), mode="bicubic", align_corners=True),
                          torch.nn.Upsample(size=(6, 3), mode="bicubic", align_corners=True))]:
        np.testing.assert_allclose(ours(terra.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=2e-6, atol=2e-6)
        assert repr(ours) == repr(theirs)


ERRORS = [
    (dict(size=4, mode="bilinear"), (1, 2, 5), NotImplementedError, "Got 3D input, but bilinear mode needs 4D input"),
    (dict(size=4, mode="linear"), (1, 2, 5, 5), NotImplementedError, "Got 4D input, but linear mode needs 3D input"),
    (dict(size=4, mode="nearest", align_corners=True), (1, 2, 5, 5), ValueError, "align_corners option can only"),
    (dict(size=4, scale_factor=2, mode="nearest"), (1, 2, 5, 5), ValueError, "only one of size or scale_factor"),
    (dict(mode="bilinear"), (1, 2, 5, 5), ValueError, "either size or scale_factor should be defined"),
    (dict(size=(4, 4, 4), mode="bilinear"), (1, 2, 5, 5), ValueError, "must have the same number of spatial"),
    (dict(size=4, mode="bilinear", recompute_scale_factor=True), (1, 2, 5, 5), ValueError,
     "recompute_scale_factor is not meaningful with an explicit size"),
    (dict(size=4, mode="linear", antialias=True), (1, 2, 5), ValueError, "Anti-alias option is only supported"),
    (dict(size=4, mode="bogus"), (1, 2, 5, 5), NotImplementedError, "Input Error: Only 3D, 4D and 5D input"),
    (dict(size=2, mode="nearest"), (2, 5), NotImplementedError, "Input Error: Only 3D, 4D and 5D input"),
]


@pytest.mark.parametrize("kwargs,shape,error,message", ERRORS, ids=[e[3][:30] for e in ERRORS])
def test_errors_match_pytorch(kwargs, shape, error, message):
    for lib, fn in ((torch, TF.interpolate), (terra, F.interpolate)):
        with pytest.raises(error, match=message):
            fn(lib.ones(*shape), **kwargs)
