"""Fractional max pooling (Graham, 2014): F.fractional_max_pool2d/3d and their _with_indices.

Each (batch, channel) plane gets one random sample u in [0, 1) per spatial dim; PyTorch's
kernels place the windows of that dim at start[i] = int((i + u) * alpha) - int(u * alpha) with
alpha = (in - k) / (out - 1), the last at in - k, and take the first maximum of each window
(row-major order). Here the starts are computed with the same arithmetic in the input's dtype
(float32 rounding included), the windows' flat indices gathered, and the output gathered from
the input at the chosen indices: the gradient flows back through that gather onto the max
positions, as PyTorch's backward scatters it. Only shapes are read on the host.
"""

import numpy as np

import terra
from .modules.utils import _pair, _triple

__all__ = ["fractional_max_pool2d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d", "fractional_max_pool3d_with_indices"]

# Which column of _random_samples drives each spatial dim (PyTorch's kernels): 2-D takes
# (W, H), 3-D takes (T, H, W).
_SAMPLE_COLUMN = {2: (1, 0), 3: (0, 1, 2)}
_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _sizes(name, what, value, nd):
    sizes = _pair(value) if nd == 2 else _triple(value)
    if len(sizes) != nd:
        count = "" if nd == 2 else "three "
        raise RuntimeError(f"{name}: {what} must either be a single Int or tuple of {count}Ints")
    return [int(s) for s in sizes]


def _check_input(name, input, nd):
    where = f"{name}()" if nd == 2 else f"{name}_out()"
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{where}: Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    for d in range(input.dim() - nd - 1, input.dim()):
        if input.size(d) == 0:
            raise RuntimeError(f"{where}: Expected input to have non-zero size for non-batch "
                               f"dimensions, but got{list(input.shape)} with dimension {d} "
                               "being empty.")


def _window_starts(sample, in_size, out_size, pool_size, np_dtype):
    """start of each window along one dim: (N, C, out_size) int64 from samples (N, C)."""
    last = terra.full(tuple(sample.shape) + (1,), in_size - pool_size, dtype=terra.int64,
                      device=sample.device)
    if out_size <= 1:
        return last[..., :out_size]
    # alpha in the samples' precision, as the kernel's scalar_t division.
    alpha = float(np_dtype(in_size - pool_size) / np_dtype(out_size - 1))
    steps = terra.arange(out_size - 1, dtype=sample.dtype, device=sample.device)
    u = sample.unsqueeze(-1)
    starts = ((steps + u) * alpha).to(terra.int64) - (u * alpha).to(terra.int64)
    return terra.cat([starts, last], dim=-1)


def _fractional_max_pool(name, nd, input, kernel_size, output_size, output_ratio,
                         _random_samples):
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratios = _pair(output_ratio) if nd == 2 else _triple(output_ratio)
        output_size = [int(input.size(d - nd) * ratios[d]) for d in range(nd)]
    if _random_samples is None:
        n_batch = 1 if input.dim() == nd + 1 else input.size(0)
        _random_samples = terra.rand(n_batch, input.size(-nd - 1), nd, dtype=input.dtype,
                                     device=input.device)
    kernel = _sizes(name, "kernel_size", kernel_size, nd)
    out = _sizes(name, "output_size", output_size, nd)
    _check_input(name, input, nd)
    if _random_samples.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {input.dtype} but found "
                           f"{_random_samples.dtype}")
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    n, c = x.size(0), x.size(1)
    in_sizes = list(x.shape[2:])
    where = f"{name}()" if nd == 2 else f"{name}_out()"
    for d in range(nd):
        if out[d] + kernel[d] - 1 > in_sizes[d]:
            raise RuntimeError(f"{where}: pool {_DIM_NAMES[nd][d]} {kernel[d]} too large "
                               f"relative to input {_DIM_NAMES[nd][d]} {in_sizes[d]}")
    np_dtype = np.float32 if input.dtype == terra.float32 else np.float64
    samples = _random_samples[:n]

    # Flat index (into the plane) of every window element: shape (N, C, *out, *kernel).
    flat = None
    for d in range(nd):
        starts = _window_starts(samples[..., _SAMPLE_COLUMN[nd][d]], in_sizes[d], out[d],
                                kernel[d], np_dtype)
        offsets = terra.arange(kernel[d], dtype=terra.int64, device=input.device)
        pos = starts.unsqueeze(-1) + offsets  # (N, C, out[d], kernel[d])
        shape = [n, c] + [1] * (2 * nd)
        shape[2 + d], shape[2 + nd + d] = out[d], kernel[d]
        pos = pos.reshape(shape)
        flat = pos if flat is None else flat * in_sizes[d] + pos
    n_out = int(np.prod(out))
    windows = flat.expand([n, c] + out + kernel).reshape(n, c, n_out, -1)
    planes = x.reshape(n, c, -1)
    values = planes.gather(2, windows.reshape(n, c, -1)).reshape(windows.shape)
    first_max = values.argmax(dim=-1, keepdim=True)
    indices = windows.gather(-1, first_max).reshape(n, c, n_out)
    output = planes.gather(2, indices).reshape([n, c] + out)
    indices = indices.reshape([n, c] + out)
    if unbatched:
        output, indices = output.squeeze(0), indices.squeeze(0)
    return output, indices


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size,
                                output_ratio, _random_samples)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    result = fractional_max_pool2d_with_indices(input, kernel_size, output_size, output_ratio,
                                                return_indices, _random_samples)
    return result if return_indices else result[0]


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size,
                                output_ratio, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    result = fractional_max_pool3d_with_indices(input, kernel_size, output_size, output_ratio,
                                                return_indices, _random_samples)
    return result if return_indices else result[0]
