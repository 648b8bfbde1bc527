"""nn.functional's bilinear, embedding_bag, max_unpool1d/2d, pdist and max_pool1d_with_indices,
composed from registry ops with PyTorch 1.13's argument checks and messages (so autograd,
tracing and every device work through the ops). Exported through nn.functional.
"""

import math
import warnings

import numpy as np

import terra
from .._C import _ops
from .functional import max_pool1d
from .modules.utils import _pair, _single

__all__ = ["bilinear", "embedding_bag", "max_unpool1d", "max_unpool2d", "pdist", "max_pool1d_with_indices"]


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum over i, j of input1[..., i] weight[o, i, j] input2[..., j] (+ bias[o])."""
    if input1.dim() != input2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.dim()} and {input2.dim()}")
    for d in range(input1.dim() - 1):
        if input1.shape[d] != input2.shape[d]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: got "
                               f"{input1.shape[d]} and {input2.shape[d]}")
    out_features, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
                           f"expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
                           f"expected {in2}")
    if bias is not None and bias.shape[-1] != out_features:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[-1]} but expected "
                           f"{out_features}")
    # One product with the (in1, out * in2) weight, then the sum over j with input2.
    left = input1.reshape(-1, in1).mm(weight.transpose(0, 1).reshape(in1, out_features * in2))
    out = (left.reshape(-1, out_features, in2) * input2.reshape(-1, 1, in2)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(list(input1.shape[:-1]) + [out_features])


# ---------------------------------------------------------------------------------------------
# embedding_bag

_MODES = ("sum", "mean", "max")


def _embedding_renorm_(weight, indices, max_norm, norm_type):
    """Rescales the rows indices name to norm max_norm where larger, in place and outside
    autograd (ATen's embedding_renorm_). A row named twice is written twice with one value."""
    with terra.no_grad():
        rows = indices.reshape(-1)
        norms = _ops.norm(weight.index_select(0, rows), float(norm_type), [1], True)
        scale = _ops.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight.detach().index_put_([rows], weight.index_select(0, rows) * scale)


def _embedding_bag(weight, indices, offsets, scale_grad_by_freq, mode, per_sample_weights, include_last_offset,
                   padding_idx, bag_length=None):
    """torch.embedding_bag on 1-D indices: (output, offset2bag, bag_size, max_indices).

    Bag b holds the indices from offsets[b] up to the next offset (with include_last_offset the
    last offset only ends the last bag; indices past it belong to no bag). mode is 0 (sum), 1
    (mean) or 2 (max); indices equal to padding_idx are left out of their bag, and an empty bag
    gives zeros. Max mode lays each bag out in a row of bag_length slots, the longest bag's
    length: read from offsets unless given."""
    if scale_grad_by_freq:
        raise NotImplementedError("embedding_bag: scale_grad_by_freq is not supported by Terra")
    n, device = indices.shape[0], indices.device
    bags = offsets.shape[0] - (1 if include_last_offset else 0)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    # The bag of each index: how many offsets come at or before it, less one.
    starts = _ops.zeros([n + 1], dtype=terra.int64, device=device)
    starts = starts.index_add(0, offsets.to(terra.int64), _ops.ones([offsets.shape[0]], dtype=terra.int64,
                                                                    device=device))
    offset2bag = starts.cumsum(0).narrow(0, 0, n) - 1
    kept = offset2bag < bags
    if padding_idx is not None:
        kept = kept & (indices != padding_idx)
    # What no bag holds goes to an extra bag, `bags`, dropped at the end.
    target = _ops.where(kept, offset2bag, bags)
    ones = _ops.ones([n], dtype=terra.int64, device=device)
    bag_size = _ops.zeros([bags + 1], dtype=terra.int64, device=device).index_add(0, target, ones).narrow(0, 0, bags)
    rows = weight.index_select(0, indices)
    if mode < 2:
        if per_sample_weights is not None:
            rows = rows * per_sample_weights.unsqueeze(1)
        out = _ops.zeros([bags + 1, weight.shape[1]], dtype=weight.dtype, device=device).index_add(0, target, rows)
        out = out.narrow(0, 0, bags)
        if mode == 1:
            out = out / bag_size.clamp(min=1).unsqueeze(1).to(weight.dtype)
        return out, offset2bag, bag_size, bag_size
    # Max: bag b's k-th index goes to slot b * bag_length + k of a grid filled with -inf.
    if bag_length is None:
        bounds = _ops.cat([offsets.to(terra.int64), _ops.full([1], n, dtype=terra.int64, device=device)])
        lengths = bounds.narrow(0, 1, bags) - bounds.narrow(0, 0, bags)
        bag_length = int(lengths.max()) if bags else 0
    length = max(bag_length, 1)
    slot_in_bag = (_ops.arange(0, n, 1, dtype=terra.int64, device=device)
                   - offsets.to(terra.int64).gather(0, offset2bag.clamp(0, offsets.shape[0] - 1)))
    slot = target * length + _ops.where(kept, slot_in_bag, 0)
    grid = _ops.full([(bags + 1) * length, weight.shape[1]], -math.inf, dtype=weight.dtype, device=device)
    grid = grid.index_put([slot], rows).reshape(bags + 1, length, weight.shape[1]).narrow(0, 0, bags)
    values, arg = grid.max(1)
    sources = _ops.zeros([(bags + 1) * length], dtype=terra.int64, device=device).index_put([slot], indices)
    max_indices = sources.reshape(bags + 1, length).narrow(0, 0, bags).gather(1, arg)
    filled = bag_size.unsqueeze(1) > 0
    return _ops.where(filled, values, 0.0), offset2bag, bag_size, _ops.where(filled, max_indices, 0)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embeddings: rows of a 2-D input, or the runs of a 1-D
    input that offsets start. Gradients are dense (`sparse` only changes PyTorch's layout)."""
    if weight.dtype == terra.int64 and input.is_floating_point():
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, "
                      "input, ...)` is deprecated, and should now be `embedding_bag(input, weight, ...)`.")
        weight, input = input, weight
    if per_sample_weights is not None and input.size() != per_sample_weights.size():
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                         f"must have the same shape as the input ({input.shape})")
    bag_length = None
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        bag_length = input.shape[1]
        offsets = _ops.arange(0, input.numel(), max(bag_length, 1), dtype=input.dtype, device=input.device)
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    return _embedding_bag(weight, input, offsets, scale_grad_by_freq, _MODES.index(mode), per_sample_weights,
                          include_last_offset, padding_idx, bag_length)[0]


# ---------------------------------------------------------------------------------------------
# Unpooling, pdist, max_pool1d_with_indices


def _unpool_output_size(input, kernel_size, stride, padding, output_size):
    default_size = [(input.shape[-len(kernel_size) + d] - 1) * stride[d] + kernel_size[d] - 2 * padding[d]
                    for d in range(len(kernel_size))]
    if output_size is None:
        return default_size
    output_size = list(output_size)
    if len(output_size) == len(kernel_size) + 2:
        output_size = output_size[2:]
    if len(output_size) != len(kernel_size):
        raise ValueError(f"output_size should be a sequence containing {len(kernel_size)} or {len(kernel_size) + 2} "
                         f"elements, but it has a length of '{len(output_size)}'")
    for d in range(len(kernel_size)):
        min_size, max_size = default_size[d] - stride[d], default_size[d] + stride[d]
        if not min_size < output_size[d] < max_size:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be between {min_size} and '
                             f'{max_size})')
    return output_size


def _max_unpool2d(input, indices, output_size):
    """Each input value written at its flat index in a zero output plane of output_size."""
    if input.dim() not in (3, 4):
        raise RuntimeError(f"Input to max_unpooling2d should be a 3d or 4d Tensor, but got a tensor with "
                           f"{input.dim()} dimensions.")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(indices.shape)}")
    lead = list(input.shape[:-2])
    planes = input.reshape(-1, input.shape[-2] * input.shape[-1])
    out = _ops.zeros([planes.shape[0], output_size[0] * output_size[1]], dtype=input.dtype, device=input.device)
    out = out.scatter(1, indices.reshape(planes.shape[0], -1), planes)
    return out.reshape(lead + list(output_size))


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    kernel_size = _single(kernel_size)
    stride = _single(stride) if stride is not None else kernel_size
    output_size = _unpool_output_size(input, kernel_size, stride, _single(padding), output_size)
    return _max_unpool2d(input.unsqueeze(-1), indices.unsqueeze(-1), output_size + [1]).squeeze(-1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    kernel_size = _pair(kernel_size)
    stride = _pair(stride) if stride is not None else kernel_size
    return _max_unpool2d(input, indices, _unpool_output_size(input, kernel_size, stride, _pair(padding), output_size))


def pdist(input, p=2):
    """The p-norm distance of every pair of rows i < j, in row-major order."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input.is_floating_point():
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    first, second = (terra.tensor(i.astype(np.int64), device=input.device) for i in np.triu_indices(input.shape[0], 1))
    return _ops.norm(input.index_select(0, first) - input.index_select(0, second), float(p), [1], False)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)
