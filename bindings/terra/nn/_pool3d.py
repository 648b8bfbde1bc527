"""nn.functional's 3-D pooling (max_pool3d, avg_pool3d, adaptive_avg_pool3d, adaptive_max_pool3d,
their _with_indices forms) and max_unpool3d, composed from the 2-D pools.

Each pool is separable: one 2-D pool over height and width of every depth slice (the depth
folded into the channels), then one over (depth, flattened pooled plane) whose windows are one
element wide (kernel (k, 1), stride (s, 1), padding (p, 0)). PyTorch's 3-D kernels
divide a window's sum by a product of one factor per dimension (count_include_pad or not), and
take the first maximum in (depth, height, width) order; the two passes do the same. The argument
checks and messages are PyTorch 1.13's. Exported through nn.functional.
"""

from .functional import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from ._functional_extra import _adaptive_max_pool
from ._functional_more import _max_unpool2d, _unpool_output_size
from .modules.utils import _list_with_default, _triple

__all__ = ["max_pool3d", "max_pool3d_with_indices", "avg_pool3d", "adaptive_avg_pool3d",
           "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices", "max_unpool3d"]


# ---------------------------------------------------------------------------------------------
# Argument checks


def _three(value, message):
    """An int or a 1- or 3-sequence as a 3-tuple; RuntimeError(message) for other lengths."""
    value = _triple(value)
    if len(value) == 1:
        value = value * 3
    if len(value) != 3:
        raise RuntimeError(message)
    return value


def _check_batched_rank(input):
    if input.dim() not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")


def _output_size(size, kernel, stride, pad, dilation, ceil_mode):
    """ATen's pooling_output_shape: with ceil_mode the last window must start inside the input
    or its left padding."""
    if stride == 0:
        raise RuntimeError("stride should not be zero")
    if pad < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {pad}")
    if pad > kernel // 2:
        raise RuntimeError(f"pad should be at most half of kernel size, but got pad={pad} and "
                           f"kernel_size={kernel}")
    span = size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _check_pool3d(input, kernel, stride, padding, dilation, ceil_mode, check_input_size):
    """ATen's pool3d_shape_check, after the output size (which checks stride and padding)."""
    spatial = list(input.shape[-3:])
    out = [_output_size(*args, ceil_mode) for args in zip(spatial, kernel, stride, padding,
                                                          dilation)]
    if min(kernel) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kT: {kernel[0]} "
                           f"kH: {kernel[1]} kW: {kernel[2]}")
    if min(stride) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dT: {stride[0]} "
                           f"dH: {stride[1]} dW: {stride[2]}")
    if min(dilation) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationT: "
                           f"{dilation[0]} dilationH: {dilation[1]} dilationW: {dilation[2]}")
    if min(input.shape[1:]) <= 0:
        raise RuntimeError(f"Expected input's non-batch dimensions to have positive length, but "
                           f"input has a shape of {list(input.shape)}")
    if check_input_size and any(i < k for i, k in zip(spatial, kernel)):
        raise RuntimeError(f"input image (T: {spatial[0]} H: {spatial[1]} W: {spatial[2]}) "
                           f"smaller than kernel size (kT: {kernel[0]} kH: {kernel[1]} "
                           f"kW: {kernel[2]})")
    if min(out) < 1:
        sizes = "x".join(str(s) for s in [input.shape[-4]] + spatial)
        out_sizes = "x".join(str(s) for s in [input.shape[-4]] + out)
        raise RuntimeError(f"Given input size: ({sizes}). Calculated output size: ({out_sizes}). "
                           "Output size is too small")


def _batched(input):
    """(N, C, D, H, W) view of a batched or unbatched input, and whether it was batched."""
    return (input, True) if input.dim() == 5 else (input.unsqueeze(0), False)


def _unbatch(batched, *outputs):
    return outputs if batched else tuple(o.squeeze(0) for o in outputs)


def _volume_indices(plane_indices, depth_indices, height, width):
    """Flat D*H*W indices of the maxima of the two passes: depth_indices index the (D, Ho*Wo)
    rows of pooled planes, whose own entries (plane_indices) index the H*W input plane."""
    n, c, depth, out_height, out_width = plane_indices.shape
    plane_size = out_height * out_width
    in_plane = plane_indices.reshape(n, c, depth * plane_size) \
        .gather(2, depth_indices.reshape(n, c, depth_indices.shape[2] * plane_size)) \
        .reshape(depth_indices.shape)
    return (depth_indices // plane_size) * (height * width) + in_plane


# ---------------------------------------------------------------------------------------------
# Max and average pooling


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """(output, indices): indices are flat positions in each input D*H*W volume."""
    kernel = _three(kernel_size, "max_pool3d: kernel_size must either be a single int, or a "
                                 "tuple of three ints")
    stride = kernel if stride is None or stride == () or stride == [] else \
        _three(stride, "max_pool3d: stride must either be omitted, a single int, or a tuple of "
                       "three ints")
    padding = _three(padding, "max_pool3d: padding must either be a single int, or a tuple of "
                              "three ints")
    dilation = _three(dilation, "max_pool3d: dilation must be either a single int, or a tuple of "
                                "three ints")
    _check_batched_rank(input)
    _check_pool3d(input, kernel, stride, padding, dilation, ceil_mode, False)
    x, batched = _batched(input)
    n, c, depth, height, width = x.shape
    planes, plane_indices = max_pool2d(x.reshape(n, c * depth, height, width), kernel[1:],
                                       stride[1:], padding[1:], dilation[1:], ceil_mode, True)
    out_height, out_width = planes.shape[-2:]
    out, depth_indices = max_pool2d(planes.reshape(n, c, depth, out_height * out_width),
                                    (kernel[0], 1), (stride[0], 1), (padding[0], 0),
                                    (dilation[0], 1), ceil_mode, True)
    shape = [n, c, out.shape[2], out_height, out_width]
    indices = _volume_indices(plane_indices.reshape(n, c, depth, out_height, out_width),
                              depth_indices.reshape(shape), height, width)
    return _unbatch(batched, out.reshape(shape), indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    out, indices = max_pool3d_with_indices(input, kernel_size, stride, padding, dilation,
                                           ceil_mode)
    return (out, indices) if return_indices else out


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    kernel = _three(kernel_size, "avg_pool3d: kernel_size must be a single int, or a tuple of "
                                 "three ints")
    stride = kernel if stride is None or stride == () or stride == [] else \
        _three(stride, "avg_pool3d: stride must be omitted, a single int, or a tuple of three "
                       "ints")
    padding = _three(padding, "avg_pool3d: padding must be a single int, or a tuple of three "
                              "ints")
    _check_batched_rank(input)
    _check_pool3d(input, kernel, stride, padding, (1, 1, 1), ceil_mode, True)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    x, batched = _batched(input)
    n, c, depth, height, width = x.shape
    # With a divisor override the planes are summed (divisor 1) and the depth pass divides.
    planes = avg_pool2d(x.reshape(n, c * depth, height, width), kernel[1:], stride[1:],
                        padding[1:], ceil_mode, count_include_pad,
                        None if divisor_override is None else 1)
    out_height, out_width = planes.shape[-2:]
    out = avg_pool2d(planes.reshape(n, c, depth, out_height * out_width), (kernel[0], 1),
                     (stride[0], 1), (padding[0], 0), ceil_mode, count_include_pad,
                     divisor_override)
    return _unbatch(batched, out.reshape(n, c, out.shape[2], out_height, out_width))[0]


# ---------------------------------------------------------------------------------------------
# Adaptive pooling


def _adaptive_args(name, input, output_size):
    """The 3 output sizes (None: the input's), after PyTorch's checks."""
    output_size = _triple(_list_with_default(output_size, tuple(input.shape)))
    if input.dim() not in (4, 5):
        raise RuntimeError(f"{name}(): Expected 4D or 5D tensor, but got: "
                           f"{list(input.shape)}")
    for d in range(1, input.dim()):
        if input.shape[d] <= 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {d} being empty")
    if len(output_size) != 3:
        raise RuntimeError(f"{name}(): internal error: output_size.size() must be 3")
    if min(output_size) < 0:
        raise RuntimeError(f"{name}(): elements of output_size must be greater than or equal to "
                           f"0 but received {tuple(output_size)}")
    return list(output_size)


def adaptive_avg_pool3d(input, output_size):
    output_size = _adaptive_args("adaptive_avg_pool3d", input, output_size)
    x, batched = _batched(input)
    n, c, depth, height, width = x.shape
    planes = adaptive_avg_pool2d(x.reshape(n, c * depth, height, width), output_size[1:])
    plane_size = output_size[1] * output_size[2]
    out = adaptive_avg_pool2d(planes.reshape(n, c, depth, plane_size),
                              (output_size[0], plane_size))
    return _unbatch(batched, out.reshape([n, c] + output_size))[0]


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    output_size = _adaptive_args("adaptive_max_pool3d", input, output_size)
    x, batched = _batched(input)
    n, c, depth, height, width = x.shape
    planes, plane_indices = _adaptive_max_pool(x, output_size[1:])
    plane_size = output_size[1] * output_size[2]
    out, depth_indices = _adaptive_max_pool(planes.reshape(n, c, depth, plane_size),
                                            (output_size[0], plane_size))
    shape = [n, c] + output_size
    indices = _volume_indices(plane_indices, depth_indices.reshape(shape), height, width)
    return _unbatch(batched, out.reshape(shape), indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    out, indices = adaptive_max_pool3d_with_indices(input, output_size)
    return (out, indices) if return_indices else out


# ---------------------------------------------------------------------------------------------
# Unpooling


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Each value written at its flat D*H*W index in a zero volume (max_pool3d's indices)."""
    kernel_size = _triple(kernel_size)
    stride = _triple(stride) if stride is not None else kernel_size
    output_size = _unpool_output_size(input, kernel_size, stride, _triple(padding), output_size)
    if input.dim() not in (4, 5):
        raise RuntimeError(f"Input to max_unpooling3d should be a 4d or 5d Tensor, but got a "
                           f"tensor with {input.dim()} dimensions.")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    # The 2-D scatter on (D*H, W) planes: the flat index is the same in both layouts.
    lead = list(input.shape[:-3])
    flat = [-1, input.shape[-3] * input.shape[-2], input.shape[-1]]
    try:
        out = _max_unpool2d(input.reshape(flat), indices.reshape(flat),
                            [output_size[0] * output_size[1], output_size[2]])
    except IndexError as error:  # the scatter's; PyTorch checks the indices itself
        raise RuntimeError(f"Found an invalid max index (output volumes are of size "
                           f"{output_size[0]}x{output_size[1]}x{output_size[2]}): {error}") \
            from None
    return out.reshape(lead + list(output_size))
