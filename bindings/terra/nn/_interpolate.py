"""F.interpolate: nearest, nearest-exact, linear, bilinear, trilinear, bicubic and area.

Every mode but area is separable: along each spatial dim, an output position is a weighted sum of
a few input positions (1 tap for nearest, 2 for linear, 4 for cubic). The taps' indices and
weights depend only on sizes and scales, so they are computed here with numpy, in the precision
PyTorch's CPU kernels use (float32 for float32 input), and the sum is index_select, mul and add
ops: autograd (index_select's gradient adds into the taps) and every device come with them. The
innermost dim is interpolated first and the taps summed in order, as PyTorch's separable kernel
does, so float results agree with its to rounding.
"""
import math

import numpy as np

import terra
from terra._C import _ops

_LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3}
_MODES = "nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact"


def _scale(in_size, out_size, align_corners, scale, real):
    """PyTorch's area_pixel_compute_scale: the input step per output step."""
    if align_corners:
        return real((in_size - 1) / (out_size - 1)) if out_size > 1 else real(0)
    return real(1.0 / scale) if scale is not None and scale > 0 else real(in_size) / real(out_size)


def _source(scale, out_size, align_corners, cubic, real):
    """PyTorch's area_pixel_compute_source_index for every output position."""
    dst = np.arange(out_size).astype(real)
    if align_corners:
        return scale * dst
    src = scale * (dst + real(0.5)) - real(0.5)
    return src if cubic else np.maximum(src, real(0))


def _nearest_taps(in_size, out_size, scale, exact):
    """PyTorch's nearest_idx / nearest_idx_exact, whose scale is a float32 whatever the dtype."""
    real = np.float32
    s = real(in_size) / real(out_size) if scale is None or scale <= 0 else real(1.0 / scale)
    dst = np.arange(out_size).astype(real)
    src = np.floor((dst + real(0.5)) * s if exact else dst * s).astype(np.int64)
    return [(np.minimum(src, in_size - 1), None)]


def _linear_taps(in_size, out_size, scale, align_corners, real):
    if in_size == out_size:
        return [(np.arange(out_size), None)]
    src = _source(_scale(in_size, out_size, align_corners, scale, real), out_size, align_corners, False, real)
    i0 = src.astype(np.int64)
    i1 = i0 + (i0 < in_size - 1)
    l1 = (src - i0.astype(real)).astype(real)
    return [(i0, real(1) - l1), (i1, l1)]


def _cubic_taps(in_size, out_size, scale, align_corners, real):
    a = real(-0.75)

    def near(x):  # |x| <= 1
        return ((a + real(2)) * x - (a + real(3))) * x * x + real(1)

    def far(x):  # 1 < |x| < 2
        return ((a * x - real(5) * a) * x + real(8) * a) * x - real(4) * a

    src = _source(_scale(in_size, out_size, align_corners, scale, real), out_size, align_corners, True, real)
    floor = np.floor(src)
    t = (src - floor).astype(real)
    base = floor.astype(np.int64)
    weights = [far(t + real(1)), near(t), near(real(1) - t), far(real(2) - t)]
    return [(np.clip(base - 1 + k, 0, in_size - 1), w.astype(real)) for k, w in enumerate(weights)]


def _along(input, dim, taps):
    """The weighted sum of the taps along dim (weights None: a plain gather)."""
    out = None
    device = input.device
    for index, weight in taps:
        picked = _ops.index_select(input, dim, terra.tensor(index).to(device))
        if weight is not None:
            shape = [1] * input.dim()
            shape[dim] = len(weight)
            picked = picked * terra.tensor(weight).to(device).reshape(shape)
        out = picked if out is None else out + picked
    return out


def _output_sizes(input, size, scale_factor, recompute_scale_factor, dim):
    in_sizes = list(input.shape)[2:]
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        if len(sizes) != dim:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {in_sizes} and output size of {list(size)}. Please provide "
                             "input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) "
                             "format.")
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        return sizes, [None] * dim
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    factors = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dim
    if len(factors) != dim:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                         f"with spatial dimensions of {in_sizes} and scale_factor of shape {list(scale_factor)}. "
                         "Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in "
                         "(s1, s2, ...,sK) format.")
    sizes = [int(math.floor(float(i) * f)) for i, f in zip(in_sizes, factors)]
    return sizes, ([None] * dim if recompute_scale_factor else factors)


def _mode_error(rank, mode):
    if mode in _LINEAR_MODES and rank in (3, 4, 5):
        need = {"linear": "3D", "bilinear": "4D", "trilinear": "5D"}[mode]
        return NotImplementedError(f"Got {rank}D input, but {mode} mode needs {need} input")
    return NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {rank}D) for the "
                               f"modes: {_MODES} (got {mode})")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    interpolating = mode in _LINEAR_MODES or mode == "bicubic"
    if not interpolating and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    align_corners = bool(align_corners)
    rank, dim = input.dim(), input.dim() - 2
    if rank not in (3, 4, 5):
        raise _mode_error(rank, mode)
    if antialias:
        if not (mode in ("bilinear", "bicubic") and rank == 4):
            raise ValueError("Anti-alias option is only supported for bilinear and bicubic modes")
        raise NotImplementedError("interpolate: antialias=True is not implemented in Terra")
    if mode == "area" and size is None:
        recompute_scale_factor = True
    sizes, scales = _output_sizes(input, size, scale_factor, recompute_scale_factor, dim)
    if mode == "area":
        return _area(input, sizes)
    if (mode in _LINEAR_MODES and _LINEAR_MODES[mode] != dim) or (mode == "bicubic" and dim != 2) or \
            mode not in ("nearest", "nearest-exact", "bicubic", *_LINEAR_MODES):
        raise _mode_error(rank, mode)
    for o in sizes:
        if o <= 0:
            raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                               f"({', '.join(map(str, input.shape[2:]))}) and output ({', '.join(map(str, sizes))})")
    real = np.float64 if input.dtype is terra.float64 else np.float32
    in_sizes = list(input.shape)[2:]
    if mode == "nearest" and dim == 2 and all(s is None or float(s).is_integer() for s in scales) and \
            all(o % i == 0 and (s is None or o == i * s) for i, o, s in zip(in_sizes, sizes, scales)):
        return _ops.upsample_nearest2d(input, sizes)  # integer factors: the kernel for the common case
    out = input
    for d in reversed(range(dim)):  # innermost first, as PyTorch's separable kernel sums
        i, o, s = in_sizes[d], sizes[d], scales[d]
        if i == o and mode != "bicubic":  # PyTorch's kernels copy such a dim
            continue
        if mode in ("nearest", "nearest-exact"):
            taps = _nearest_taps(i, o, s, mode == "nearest-exact")
        elif mode == "bicubic":
            taps = _cubic_taps(i, o, s, align_corners, real)
        else:
            taps = _linear_taps(i, o, s, align_corners, real)
        out = _along(out, d + 2, taps)
    return out


def _area(input, sizes):
    from . import functional as F
    if input.dim() == 3:
        return F.adaptive_avg_pool1d(input, sizes[0])
    if input.dim() == 4:
        return F.adaptive_avg_pool2d(input, sizes)
    raise NotImplementedError("interpolate: mode 'area' of a 5-D input (adaptive_avg_pool3d) is not implemented "
                              "in Terra")


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]
