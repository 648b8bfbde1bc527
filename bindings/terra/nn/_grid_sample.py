"""F.affine_grid and F.grid_sample (PyTorch 1.13), composed from Terra tensor ops.

affine_grid builds PyTorch's base grid (linspace over [-1, 1], shrunk by (n - 1) / n without
align_corners) and multiplies it by theta^T with bmm. grid_sample follows PyTorch's CPU kernels:
each grid coordinate is unnormalized to a pixel position, the padding mode is applied to that
position (border clamps, reflection reflects about the edges then clamps), and the output is a
weighted sum of taps fetched with one flat gather per tap (input seen as (N, C, prod(spatial)),
the tap's flat index expanded over C). Taps outside the input are masked to zero. Autograd sees
only the composing ops: the input gradient is gather's scatter-add, the grid gradient flows
through the interpolation weights (and the padding's clamp/reflection), every device works.
Note [Strict clip]: PyTorch counts a coordinate that lands exactly on a border as out of bounds
for the gradient, so the clamp below passes gradient only strictly inside (0, size - 1).
"""
import itertools
import math
import warnings

import terra
from .._functions import _legacy_name

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                  "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
                  "documentation of grid_sample for details.")
_CUBIC_A = -0.75


def _sizes(t):
    return "[" + ", ".join(str(s) for s in t.shape) + "]"


def _linspace_from_neg_one(theta, steps, align_corners):
    if steps <= 1:
        return terra.zeros(1, dtype=theta.dtype, device=theta.device)
    r = terra.linspace(-1, 1, steps, dtype=theta.dtype, device=theta.device)
    if not align_corners:
        r = r * (steps - 1) / steps
    return r


def affine_grid(theta, size, align_corners=None):
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError("Expected theta to have floating point type, but got {}".format(theta.dtype))
    size = list(size)
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError("Expected a batch of 2D affine matrices of shape Nx2x3 for size {}. Got {}."
                             .format(size, theta.shape))
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError("Expected a batch of 3D affine matrices of shape Nx3x4 for size {}. Got {}."
                             .format(size, theta.shape))
        spatial = size[-3:]
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine "
                                  "transforms, respectively. Got size {}.".format(size))
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the "
                      "documentation of affine_grid for details.")
    elif min(size) <= 0:
        raise ValueError("Expected non-zero, positive output size. Got {}".format(size))
    n = size[0]
    if theta.shape[0] != n:
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: [{}, {}] but "
                           "got: [{}, {}].".format(n, len(spatial) + 1, theta.shape[0], len(spatial) + 1))
    d = len(spatial)
    # Base grid columns are x (innermost spatial dim), y, (z), 1.
    columns = []
    for k in range(d):
        line = _linspace_from_neg_one(theta, spatial[d - 1 - k], align_corners)
        columns.append(line.reshape([-1] + [1] * k).expand(spatial))
    columns.append(terra.ones(spatial, dtype=theta.dtype, device=theta.device))
    points = math.prod(spatial)
    base = terra.stack(columns, -1).reshape(1, points, d + 1).expand(n, points, d + 1).contiguous()
    return base.bmm(theta.transpose(1, 2)).reshape([n] + spatial + [d])


def _check(input, grid, mode):
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, but got input "
                           "with sizes {} and grid with sizes {}".format(_sizes(input), _sizes(grid)))
    if grid.shape[-1] != input.dim() - 2:
        raise RuntimeError("grid_sampler(): expected grid to have size {} in last dimension, but got grid "
                           "with sizes {}".format(input.dim() - 2, _sizes(grid)))
    for i in range(2, input.dim()):
        if input.shape[i] <= 0:
            raise RuntimeError("grid_sampler(): expected input to have non-empty spatial dimensions, but "
                               "input has sizes {} with dimension {} being empty".format(_sizes(input), i))
    if input.device != grid.device:
        raise RuntimeError("grid_sampler(): expected input and grid to be on same device, but input is on "
                           "{} and grid is on {}".format(input.device, grid.device))
    rank = 4 if input.dim() == 4 else 5
    if input.dim() != rank or grid.dim() != rank:
        raise RuntimeError("grid_sampler(): expected {}D input and grid with same number of dimensions, but "
                           "got input with sizes {} and grid with sizes {}"
                           .format(rank, _sizes(input), _sizes(grid)))
    if rank == 5 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype != grid.dtype:
        raise RuntimeError("expected scalar type {} but found {}".format(_legacy_name(input.dtype),
                                                                         _legacy_name(grid.dtype)))


def _unnormalize(coord, size, align_corners):
    """PyTorch's vectorized CPU kernel's unnormalize: [-1, 1] to pixel positions."""
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return (coord + 1) * (size / 2) - 0.5


def _clip(x, size):
    """Clamp to [0, size - 1], passing gradient only strictly inside (Note [Strict clip])."""
    clamped = x.clamp(0, size - 1)
    inside = (x > 0).logical_and(x < size - 1)
    return terra.where(inside, x, clamped.detach())


def _reflect(x, size, align_corners):
    """PyTorch's reflect_coordinates (the vectorized form): reflect about the edges."""
    low, twice_span = (0.0, 2 * (size - 1)) if align_corners else (-0.5, 2 * size)
    if twice_span <= 0:
        return x.clamp(0, 0)
    shifted = (x - low).abs()
    flips = (shifted / twice_span).floor().detach()
    extra = shifted - flips * twice_span
    return terra.minimum(extra, twice_span - extra) + low


def _pad(x, size, padding_mode, align_corners):
    """PyTorch's compute_coordinates."""
    if padding_mode == "border":
        return _clip(x, size)
    if padding_mode == "reflection":
        return _clip(_reflect(x, size, align_corners), size)
    return x


def _gather(flat, taps, sizes):
    """Sum over taps of value * weight; a tap is a list (one per spatial dim, outermost first) of
    (float position, already padded and integral) and its weight (None: 1)."""
    n, c = flat.shape[0], flat.shape[1]
    out = None
    for positions, weight in taps:
        index, mask = None, None
        for pos, size in zip(positions, sizes):
            ok = (pos > -1).logical_and(pos < size)
            mask = ok if mask is None else mask.logical_and(ok)
            i = pos.clamp(0, size - 1).to(terra.int64)
            index = i if index is None else index * size + i
        value = flat.gather(2, index.expand(n, c, index.shape[-1]))
        value = value * mask.to(flat.dtype)
        term = value if weight is None else value * weight
        out = term if out is None else out + term
    return out


def _cubic_coefficients(t):
    a = _CUBIC_A

    def far(x):  # 1 < x < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    def near(x):  # x <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
                         "'bicubic', but got: '{}'".format(mode))
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         "'reflection', but got: '{}'".format(padding_mode))
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING)
        align_corners = False
    _check(input, grid, mode)
    n, c = input.shape[0], input.shape[1]
    sizes = list(input.shape[2:])  # outermost first: (D,) H, W
    d = len(sizes)
    out_spatial = list(grid.shape[1:-1])
    points = math.prod(out_spatial)
    flat = input.reshape(n, c, math.prod(sizes))
    g = grid.reshape(n, 1, points, d)
    # Grid coordinate k runs along spatial dim d - 1 - k (x is the innermost).
    coords = [_unnormalize(g.select(3, d - 1 - j), sizes[j], align_corners) for j in range(d)]
    if mode == "bicubic":
        floors = [x.floor().detach() for x in coords]
        coeffs = [_cubic_coefficients(x - f) for x, f in zip(coords, floors)]
        (fy, fx), (cy, cx) = floors, coeffs
        out = None
        for i in range(4):
            py = _pad(fy + (i - 1), sizes[0], padding_mode, align_corners).detach()
            taps = [([py, _pad(fx + (j - 1), sizes[1], padding_mode, align_corners).detach()], cx[j])
                    for j in range(4)]
            term = _gather(flat, taps, sizes) * cy[i]
            out = term if out is None else out + term
    else:
        coords = [_pad(x, size, padding_mode, align_corners) for x, size in zip(coords, sizes)]
        if mode == "nearest":
            rounded = [x.round() for x in coords]
            # round's gradient is zero: the grid gets a zero gradient, as in PyTorch.
            weight = None
            for r in rounded:
                w = r - r.detach() + 1
                weight = w if weight is None else weight * w
            out = _gather(flat, [([r.detach() for r in rounded], weight)], sizes)
        else:
            floors = [x.floor().detach() for x in coords]
            fracs = [x - f for x, f in zip(coords, floors)]
            taps = []
            # x varies fastest, then y, then z (PyTorch's nw, ne, sw, se order).
            for offsets in itertools.product((0, 1), repeat=d):
                weight = None
                for k in range(d):  # x, y, z factors, multiplied in that order
                    j = d - 1 - k
                    w = fracs[j] if offsets[j] else 1 - fracs[j]
                    weight = w if weight is None else weight * w
                taps.append(([f + o for f, o in zip(floors, offsets)], weight))
            out = _gather(flat, taps, sizes)
    return out.reshape([n, c] + out_spatial)
