"""nn.functional's conv3d and conv_transpose3d, composed from the registry's 2-D convolutions.

conv3d: the input's depth windows are gathered (one index_select) and folded into the batch, the
kernel's depth taps become extra input channels, and one conv2d does the rest. conv_transpose3d:
each input depth slice goes through one conv_transpose2d whose extra output channels are the
depth taps, and index_add sums every tap at its output depth. Height and width (stride, padding,
dilation, output_padding) and groups are the 2-D op's own; autograd differentiates through the
composing ops. The argument checks and messages are PyTorch 1.13's. Exported through
nn.functional.
"""

import functools

import numpy as np

import terra
from .._C import _ops
from .functional import _conv, conv2d, conv_transpose2d
from .modules.utils import _triple

__all__ = ["conv3d", "conv_transpose3d"]


def _sizes(values):
    return " x ".join(str(v) for v in values)


def _check_conv3d(name, input, weight, bias, stride, padding, dilation, groups, transposed,
                  output_padding=(0, 0, 0)):
    """PyTorch's checks of a 3-D convolution's arguments, in its order and with its messages."""
    if input.dim() not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to {name}, but got "
                           f"input of size: {list(input.shape)}")
    for arg, values in (("stride", stride), ("padding", padding), ("dilation", dilation),
                        ("output_padding", output_padding)):
        if len(values) != 3:
            raise RuntimeError(f"expected {arg} to be a single integer value or a list of 3 values "
                               f"to match the convolution dimensions, but got {arg}="
                               f"{list(values)}")
    if weight.dim() != 5:
        raise RuntimeError(f"Expected 5-dimensional weight for {name}, but got weight of size "
                           f"{list(weight.shape)}")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(output_padding) < 0:
        raise RuntimeError("negative output_padding is not supported")
    if min(dilation) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    shape = list(input.shape) if input.dim() == 5 else [1] + list(input.shape)
    weight_shape = list(weight.shape)
    if weight_shape[0] % groups != 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size [{weight_shape}] instead")
    given = f"Given transposed=1, weight of size {weight_shape}" if transposed else \
        f"Given groups={groups}, weight of size {weight_shape}"
    channels = weight_shape[0] if transposed else weight_shape[1] * groups
    if shape[1] != channels:
        raise RuntimeError(f"{given}, expected input{shape} to have {channels} channels, but got "
                           f"{shape[1]} channels instead")
    out_channels = weight_shape[1] * groups if transposed else weight_shape[0]
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_channels):
        given = given.replace(f"Given groups={groups}, weight", "Given weight")
        raise RuntimeError(f"{given}, expected bias to be 1-dimensional with {out_channels} "
                           f"elements, but got bias of size {list(bias.shape)} instead")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"Input type ({input.dtype}) and weight type ({weight.dtype}) should be "
                           "the same")
    spatial, kernel = shape[2:], weight_shape[2:]
    if transposed:
        if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)):
            raise RuntimeError(
                "output padding must be smaller than either stride or dilation, but got "
                + " ".join(f"{arg}_{dim}: {v}"
                           for arg, values in (("output_padding", output_padding),
                                               ("stride", stride), ("dilation", dilation))
                           for dim, v in zip(("depth", "height", "width"), values)))
        out = [(i - 1) * s - 2 * p + d * (k - 1) + 1 + o
               for i, s, p, d, k, o in zip(spatial, stride, padding, dilation, kernel,
                                           output_padding)]
        if min(out) < 1:
            raise RuntimeError(f"Given input size per channel: ({_sizes(spatial)}). Calculated "
                               f"output size per channel: ({_sizes(out)}). Output size is too "
                               "small")
    else:
        padded = [i + 2 * p for i, p in zip(spatial, padding)]
        dilated = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
        if any(k > i for k, i in zip(dilated, padded)):
            raise RuntimeError(f"Calculated padded input size per channel: ({_sizes(padded)}). "
                               f"Kernel size: ({_sizes(dilated)}). Kernel size can't be greater "
                               "than actual input size")


@functools.lru_cache(maxsize=256)
def _depth_taps(depth_out, taps, stride, dilation):
    """(depth_out * taps,) int64: the input depth each (output depth, kernel tap) pair reads in
    conv3d, and the output depth each (input depth, tap) pair writes in conv_transpose3d."""
    rows = np.arange(depth_out)[:, None] * stride + np.arange(taps)[None, :] * dilation
    return rows.reshape(-1).astype(np.int64)


def _conv3d(input, weight, bias, stride, padding, dilation, groups):
    """conv3d with 3-tuples of non-string arguments (F._conv resolves 'same' and 'valid')."""
    _check_conv3d("conv3d", input, weight, bias, stride, padding, dilation, groups, False)
    batched = input.dim() == 5
    x = input if batched else input.unsqueeze(0)
    if padding[0]:
        x = _ops.pad(x, [0, 0, 0, 0, padding[0], padding[0]], "constant", 0.0)
    n, channels, depth, height, width = x.shape
    out_channels, group_channels, taps = weight.shape[:3]
    depth_out = (depth - dilation[0] * (taps - 1) - 1) // stride[0] + 1
    index = terra.tensor(_depth_taps(depth_out, taps, stride[0], dilation[0]),
                         device=input.device)
    windows = _ops.index_select(x, 2, index)  # (n, channels, depth_out * taps, h, w)
    # Channels (group, tap, channel in group): each group sees all its taps, as the weight below.
    windows = windows.reshape(n, groups, group_channels, depth_out, taps, height, width) \
        .permute(0, 3, 1, 4, 2, 5, 6).reshape(n * depth_out, groups * taps * group_channels,
                                             height, width)
    planar_weight = weight.permute(0, 2, 1, 3, 4).reshape(out_channels, taps * group_channels,
                                                         weight.shape[3], weight.shape[4])
    out = conv2d(windows, planar_weight, bias, stride[1:], padding[1:], dilation[1:], groups)
    out = out.reshape(n, depth_out, out_channels, out.shape[-2], out.shape[-1]) \
        .permute(0, 2, 1, 3, 4).contiguous()
    return out if batched else out.squeeze(0)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(_conv3d, 3, _triple, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    stride, padding, dilation = _triple(stride), _triple(padding), _triple(dilation)
    output_padding = _triple(output_padding)
    _check_conv3d("conv_transpose3d", input, weight, bias, stride, padding, dilation, groups,
                  True, output_padding)
    batched = input.dim() == 5
    x = input if batched else input.unsqueeze(0)
    n, channels, depth, height, width = x.shape
    group_out_channels, taps = weight.shape[1:3]
    # Output channels (group, tap, channel in group): one conv_transpose2d gives every tap.
    planar_weight = weight.permute(0, 2, 1, 3, 4).reshape(channels, taps * group_out_channels,
                                                         weight.shape[3], weight.shape[4])
    planes = x.permute(0, 2, 1, 3, 4).reshape(n * depth, channels, height, width)
    y = conv_transpose2d(planes, planar_weight, None, stride[1:], padding[1:], output_padding[1:],
                         groups, dilation[1:])
    out_height, out_width = y.shape[-2:]
    y = y.reshape(n, depth, groups, taps, group_out_channels, out_height, out_width) \
        .permute(0, 2, 4, 1, 3, 5, 6) \
        .reshape(n, groups * group_out_channels, depth * taps, out_height, out_width)
    # Input depth i's tap t lands at depth i * stride + t * dilation of the unpadded output.
    full_depth = (depth - 1) * stride[0] + dilation[0] * (taps - 1) + 1 + output_padding[0]
    index = terra.tensor(_depth_taps(depth, taps, stride[0], dilation[0]), device=input.device)
    out = _ops.zeros([n, y.shape[1], full_depth, out_height, out_width], dtype=y.dtype,
                     device=y.device).index_add(2, index, y)
    out = out.narrow(2, padding[0], full_depth - 2 * padding[0])
    out = out.contiguous() if bias is None else out + bias.reshape(-1, 1, 1, 1)
    return out if batched else out.squeeze(0)
