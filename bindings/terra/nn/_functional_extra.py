"""The rest of torch.nn.functional that training scripts use: margin, ranking and likelihood
losses, pixel/channel shuffles, shrink activations, im2col (unfold/fold), adaptive max and
power-average pooling, local response norm, randomized and in-place activations, alpha dropout.

Each is composed from registry ops as PyTorch 1.13 computes it (its Python code where it has
one, the formula of its C++ kernel otherwise), so autograd, tracing and every device work through
the ops. Shape errors carry PyTorch's messages. Exported through nn.functional.
"""

import functools
import math

import numpy as np

import terra
from .._C import _ops
from . import _reduction as _Reduction
from .functional import (_activation, _inplace, _reduction_arg, avg_pool1d, avg_pool2d, celu,
                         elu, hardtanh, leaky_relu, logsigmoid, pad, pairwise_distance, selu,
                         threshold)
from .modules.utils import _list_with_default, _pair, _single

__all__ = [
    "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "poisson_nll_loss", "gaussian_nll_loss",
    "multi_margin_loss", "multilabel_margin_loss",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "hardshrink", "softshrink",
    "unfold", "fold", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "local_response_norm", "lp_pool1d", "lp_pool2d",
    "elu_", "leaky_relu_", "hardtanh_", "threshold_", "celu_", "selu_", "rrelu", "rrelu_",
    "alpha_dropout", "feature_alpha_dropout",
]


# ---------------------------------------------------------------------------------------------
# Losses


def _apply_reduction(loss, reduction):
    """ATen's apply_loss_reduction; `reduction` has been validated by the caller."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _aten_reduction(size_average, reduce, reduction):
    """The reduction of a loss PyTorch computes in C++: checked by get_enum (ValueError)."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    _Reduction.get_enum(reduction)
    return reduction


def _check_python_reduction(reduction):
    """The check of the losses PyTorch composes in Python, with their own message."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    reduction = _aten_reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.size()}, input2: {input2.size()}, "
                           f"target: {target.size()} ")
    loss = _ops.clamp(-target * (input1 - input2) + margin, 0, None)
    return _apply_reduction(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = _aten_reduction(size_average, reduce, reduction)
    margin_clamp = _ops.clamp(margin - input, 0, None)
    loss = _ops.where(target != 1, margin_clamp, 0.0) + _ops.where(target != -1, input, 0.0)
    return _apply_reduction(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _aten_reduction(size_average, reduce, reduction)
    # log(1 + exp(.)) rather than log1p, as ATen's kernel computes it.
    loss = _ops.log(_ops.exp(-input * target) + 1)
    return _apply_reduction(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = _ops.sum(loss, [class_dim], False) / input.shape[class_dim]
    _check_python_reduction(reduction)
    return _apply_reduction(loss, reduction)


# ATen's EPSILON is a float constant, added to double sums as float(1e-12).
_COSINE_EPSILON = float(np.float32(1e-12))


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    reduction = _aten_reduction(size_average, reduce, reduction)
    targ_dim = target.dim()
    if targ_dim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.dim() != targ_dim + 1:
        raise RuntimeError(f"{targ_dim}D target tensor expects {targ_dim + 1}D input tensors, but "
                           f"found inputs with sizes {list(input1.shape)} and "
                           f"{list(input2.shape)}.")
    prod_sum = _ops.sum(input1 * input2, [targ_dim], False)
    mag_square1 = _ops.sum(input1 * input1, [targ_dim], False) + _COSINE_EPSILON
    mag_square2 = _ops.sum(input2 * input2, [targ_dim], False) + _COSINE_EPSILON
    cos = prod_sum / _ops.sqrt(mag_square1 * mag_square2)
    pos = _ops.where(target == 1, 1 - cos, 0.0)
    neg = _ops.where(target == -1, _ops.clamp(cos - margin, 0, None), 0.0)
    return _apply_reduction(pos + neg, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    reduction = _aten_reduction(size_average, reduce, reduction)
    a_dim, p_dim, n_dim = anchor.dim(), positive.dim(), negative.dim()
    if not a_dim == p_dim == n_dim:
        raise RuntimeError(f"All inputs should have same dimension but got {a_dim}D, {p_dim}D "
                           f"and {n_dim}D inputs.")
    dist_pos = pairwise_distance(anchor, positive, p, eps)
    dist_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        dist_neg = _ops.minimum(dist_neg, pairwise_distance(positive, negative, p, eps))
    loss = _ops.clamp(dist_pos + margin - dist_neg, 0, None)
    return _apply_reduction(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    distance_function = distance_function if distance_function is not None \
        else pairwise_distance
    positive_dist = distance_function(anchor, positive)
    negative_dist = distance_function(anchor, negative)
    if swap:
        negative_dist = _ops.minimum(negative_dist, distance_function(positive, negative))
    loss = _ops.clamp(positive_dist - negative_dist + margin, 0, None)
    _Reduction.get_enum(reduction)
    return _apply_reduction(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    reduction = _reduction_arg(size_average, reduce, reduction)
    _check_python_reduction(reduction)
    if log_input:
        loss = _ops.exp(input) - target * input
    else:
        loss = input - target * _ops.log(input + eps)
    if full:
        # Stirling's approximation of log(target!), only where target > 1.
        stirling = target * _ops.log(target) - target + 0.5 * _ops.log(2 * math.pi * target)
        loss = loss + stirling.masked_fill(target <= 1, 0.0)
    return _apply_reduction(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    in_shape, var_shape = tuple(input.shape), tuple(var.shape)
    if var_shape != in_shape:
        # Homoscedastic: var lacks the last dimension, or has size 1 there.
        if in_shape[:-1] == var_shape:
            var = var.unsqueeze(-1)
        elif not (in_shape[:-1] == var_shape[:-1] and var_shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    _check_python_reduction(reduction)
    if bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    # Clamped without autograd, as PyTorch does: the gradient reaches var unclamped.
    var = var.clone()
    with terra.no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (_ops.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(loss, reduction)


def _margin_input_shape(input):
    """(nframe, dim) of the multi-margin losses' (N, C), (C,) or 0-d input."""
    ndims = input.dim()
    if not ((ndims == 2 and input.shape[1] != 0) or (ndims == 1 and input.shape[0] != 0)
            or ndims == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(input.shape)}")
    if ndims <= 1:
        return 1, (1 if ndims == 0 else input.shape[0])
    return input.shape[0], input.shape[1]


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """sum over j != y of max(0, margin - x[y] + x[j])^p (times weight[y]) / C, per sample."""
    reduction = _aten_reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    nframe, dim = _margin_input_shape(input)
    if target.dim() > 1 or target.numel() != nframe:
        raise RuntimeError(f"inconsistent target size, got: {list(target.shape)}")
    x = input.reshape(nframe, dim)
    y = target.reshape(nframe, 1)
    z = _ops.clamp(margin - _ops.gather(x, 1, y) + x, 0, None)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * _ops.index_select(weight, 0, y.reshape(-1)).reshape(nframe, 1)
    # The target's own column is left out of the sum.
    z = z.masked_fill(_ops.one_hot(y.reshape(-1), dim) == 1, 0.0)
    loss = _ops.sum(z, [1], False) / dim
    if reduction == "none" and target.dim() == 0:
        return loss.reshape([])
    return _apply_reduction(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over targets j and non-targets k of max(0, 1 - x[j] + x[k]) / C, per sample; each
    row of target lists class indices up to the first -1."""
    reduction = _aten_reduction(size_average, reduce, reduction)
    nframe, dim = _margin_input_shape(input)
    if (input.dim() <= 1 and (target.dim() > 1 or target.numel() != dim)) or \
            (input.dim() == 2 and tuple(target.shape) != (nframe, dim)):
        raise RuntimeError(f"inconsistent size {list(target.shape)} for argument #2 'target'")
    t = target.reshape(nframe, dim)
    # Reads the target, as PyTorch's kernel does.
    if bool(((t < -1) | (t >= dim)).any()):
        raise RuntimeError("argument #2 'target' is out of range")
    x = input.reshape(nframe, dim)
    listed = _ops.cumsum((t < 0).to(terra.int64), 1) == 0  # before the first -1
    idx = _ops.where(listed, t, 0)
    is_target = _ops.zeros([nframe, dim], dtype=x.dtype, device=x.device) \
        .scatter_add(1, idx, listed.to(x.dtype)) > 0
    # (frame, listed target j, class k)
    z = _ops.clamp(1 - _ops.gather(x, 1, idx).unsqueeze(2) + x.unsqueeze(1), 0, None)
    pairs = listed.unsqueeze(2) & is_target.logical_not().unsqueeze(1)
    loss = _ops.sum(z * pairs.to(x.dtype), [1, 2], False) / dim
    if reduction == "none" and target.dim() <= 1:
        return loss.reshape([])
    return _apply_reduction(loss, reduction)


# ---------------------------------------------------------------------------------------------
# Shuffles and shrink activations


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""
    r = upscale_factor
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r) != 0:
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible "
                           f"by the square of upscale_factor, but input.size(-3)={c} is not "
                           f"divisible by {r * r}")
    n = len(lead)
    out = input.reshape(lead + [c // (r * r), r, r, h, w])
    out = out.permute(list(range(n)) + [n, n + 3, n + 1, n + 4, n + 2])
    return out.reshape(lead + [c // (r * r), h * r, w * r])


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""
    r = downscale_factor
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if h % r != 0:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, "
                           f"but input.size(-2)={h} is not divisible by {r}")
    if w % r != 0:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, "
                           f"but input.size(-1)={w} is not divisible by {r}")
    n = len(lead)
    out = input.reshape(lead + [c, h // r, r, w // r, r])
    out = out.permute(list(range(n)) + [n, n + 2, n + 4, n + 1, n + 3])
    return out.reshape(lead + [c * r * r, h // r, w // r])


def channel_shuffle(input, groups):
    """(N, g * k, *) -> (N, k * g, *): channel i of group j moves to position i * g + j."""
    if input.dim() <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    n, c, *rest = input.shape
    if c % groups != 0:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and "
                           f"{groups} groups.")
    out = input.reshape([n, groups, c // groups] + rest).transpose(1, 2)
    return out.reshape([n, c] + rest)


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    return _ops.where((input < -lambd) | (input > lambd), input, 0.0)


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return _ops.where(input > lambd, input - lambd,
                      _ops.where(input < -lambd, input + lambd, 0.0))


terra.Tensor.hardshrink = hardshrink


# ---------------------------------------------------------------------------------------------
# im2col: unfold and fold


def _two(value, name):
    value = _pair(value)
    if len(value) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(value)}")
    return value


def _im2col_args(kernel_size, dilation, padding, stride):
    kernel, dilation = _two(kernel_size, "kernel_size"), _two(dilation, "dilation")
    padding, stride = _two(padding, "padding"), _two(stride, "stride")
    for (h, w), what, name, ok in [(kernel, "kernel size", "kernel", min(kernel) > 0),
                                   (stride, "stride", "stride", min(stride) > 0),
                                   (dilation, "dilation", "dilation", min(dilation) > 0)]:
        if not ok:
            raise RuntimeError(f"{what} should be greater than zero, but got {name}_height: {h} "
                               f"{name}_width: {w}")
    if min(padding) < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {padding[0]} "
                           f"pad_width: {padding[1]}")
    return kernel, dilation, padding, stride


def _blocks(size, kernel, dilation, padding, stride):
    """Number of sliding blocks along each spatial dimension."""
    return tuple((size[d] + 2 * padding[d] - (dilation[d] * (kernel[d] - 1) + 1)) // stride[d] + 1
                 for d in range(2))


@functools.lru_cache(maxsize=256)
def _im2col_index(size, kernel, dilation, padding, stride):
    """(kh * kw * L,) flat positions in the padded (H + 2 ph) x (W + 2 pw) image of each
    column element, in unfold's (kernel row, kernel column, block) order."""
    blocks = _blocks(size, kernel, dilation, padding, stride)
    padded_w = size[1] + 2 * padding[1]
    rows = (np.arange(kernel[0])[:, None] * dilation[0]
            + np.arange(blocks[0])[None, :] * stride[0])  # (kh, bh)
    cols = (np.arange(kernel[1])[:, None] * dilation[1]
            + np.arange(blocks[1])[None, :] * stride[1])  # (kw, bw)
    flat = rows[:, None, :, None] * padded_w + cols[None, :, None, :]  # (kh, kw, bh, bw)
    return flat.reshape(-1).astype(np.int64)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """(N, C, H, W) -> (N, C kh kw, L): every kh x kw block as a column (im2col).

    A gather (index_select) of the padded image rather than an overlapping as_strided view, so
    the gradient sums over the blocks that share an element."""
    kernel, dilation, padding, stride = _im2col_args(kernel_size, dilation, padding, stride)
    if input.dim() not in (3, 4) or 0 in tuple(input.shape)[-3:]:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and "
                           f"other non-zero dimensions for input, but got: {list(input.shape)}")
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    n, c, h, w = x.shape
    blocks = _blocks((h, w), kernel, dilation, padding, stride)
    if min(blocks) < 1:
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, calculated shape of the array "
                           f"of sliding blocks as {blocks}, but its components must be at least "
                           "one.")
    x = _ops.pad(x, [padding[1], padding[1], padding[0], padding[0]], "constant", 0.0)
    index = terra.tensor(_im2col_index((h, w), kernel, dilation, padding, stride),
                         device=input.device)
    cols = _ops.index_select(x.reshape(n, c, x.shape[2] * x.shape[3]), 2, index)
    out = cols.reshape(n, c * kernel[0] * kernel[1], blocks[0] * blocks[1])
    return out if batched else out.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """(N, C kh kw, L) -> (N, C, H, W): unfold's adjoint (col2im), overlapping blocks summed."""
    output_size = _two(output_size, "output_size")
    kernel, dilation, padding, stride = _im2col_args(kernel_size, dilation, padding, stride)
    if input.dim() not in (2, 3) or 0 in tuple(input.shape)[-2:]:
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch "
                           f"size and non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    n, ck, length = x.shape
    k = kernel[0] * kernel[1]
    if ck % k != 0:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={ck} and kernel_size={kernel}.")
    blocks = _blocks(output_size, kernel, dilation, padding, stride)
    where = (f"Given output_size={output_size}, kernel_size={kernel}, dilation={dilation}, "
             f"padding={padding}, stride={stride}, ")
    if length != blocks[0] * blocks[1]:
        raise RuntimeError(where + f"expected size of input's dimension 2 to match the calculated "
                           f"number of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(2)={length}.")
    if min(blocks) < 1:
        raise RuntimeError(where + f"calculated shape of the array of sliding blocks as {blocks}, "
                           "but its components must be at least one.")
    c = ck // k
    ph, pw = output_size[0] + 2 * padding[0], output_size[1] + 2 * padding[1]
    index = terra.tensor(_im2col_index(tuple(output_size), kernel, dilation, padding, stride),
                         device=input.device)
    image = _ops.zeros([n, c, ph * pw], dtype=input.dtype, device=input.device) \
        .index_add(2, index, x.reshape(n, c, k * length))
    out = image.reshape(n, c, ph, pw)[:, :, padding[0]:padding[0] + output_size[0],
                                      padding[1]:padding[1] + output_size[1]]
    return out if batched else out.squeeze(0)


# ---------------------------------------------------------------------------------------------
# Pooling and normalization


@functools.lru_cache(maxsize=256)
def _adaptive_windows(in_size, out_size):
    """(out_size, k) source indices of each adaptive window [floor(i in/out), ceil((i+1) in/out)),
    padded to the widest window by repeating its last index (a repeat changes neither the max
    nor which position holds it first)."""
    start = [(i * in_size) // out_size for i in range(out_size)]
    end = [-((-(i + 1) * in_size) // out_size) for i in range(out_size)]
    k = max([e - s for s, e in zip(start, end)], default=1)
    return np.array([[min(s + j, e - 1) for j in range(k)] for s, e in zip(start, end)],
                    dtype=np.int64).reshape(out_size, k)


@functools.lru_cache(maxsize=256)
def _adaptive_max_index(size, output_size):
    """(oh, ow, kh * kw) flat positions in the H x W plane of each output's window."""
    rows = _adaptive_windows(size[0], output_size[0])
    cols = _adaptive_windows(size[1], output_size[1])
    flat = rows[:, None, :, None] * size[1] + cols[None, :, None, :]  # (oh, ow, kh, kw)
    return flat.reshape(output_size[0], output_size[1], rows.shape[1] * cols.shape[1])


def _adaptive_max_pool(input, output_size):
    """Max over each window of the last two dimensions, and its flat index in the plane (the
    first position holding the max, as PyTorch's kernel scans)."""
    *lead, h, w = input.shape
    index = terra.tensor(_adaptive_max_index((h, w), tuple(output_size)), device=input.device)
    windows = _ops.index_select(input.reshape(lead + [h * w]), len(lead), index.reshape(-1))
    out, arg = windows.reshape(lead + list(index.shape)).max(-1)
    indices = _ops.gather(index.expand(lead + list(index.shape)), -1, arg.unsqueeze(-1))
    return out, indices.squeeze(-1)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    output_size = _list_with_default(_pair(output_size), tuple(input.shape))
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: "
                           f"{list(input.shape)}")
    if len(output_size) != 2:
        raise RuntimeError("adaptive_max_pool2d(): internal error: output_size.size() must be 2")
    return _adaptive_max_pool(input, output_size)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    out, indices = adaptive_max_pool2d_with_indices(input, output_size)
    return (out, indices) if return_indices else out


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    output_size = _single(output_size)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor "
                           "for argument #1 'self' (while checking arguments for "
                           "adaptive_max_pool1d)")
    if len(output_size) != 1:
        raise RuntimeError(f"adaptive_max_pool1d() argument 'output_size' should contain one int "
                           f"(got {len(output_size)})")
    out, indices = _adaptive_max_pool(input.unsqueeze(-2), (1,) + output_size)
    return out.squeeze(-2), indices.squeeze(-2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    out, indices = adaptive_max_pool1d_with_indices(input, output_size)
    return (out, indices) if return_indices else out


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p)^(1/p), through avg_pool2d as PyTorch computes it."""
    kw, kh = _pair(kernel_size)
    out = avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (_ops.sign(out) * _ops.relu(out.abs())).mul(kw * kh).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (_ops.sign(out) * _ops.relu(out.abs())).mul(kernel_size).pow(1.0 / norm_type)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta."""
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    # PyTorch averages over channels with avg_pool2d (3-D) or avg_pool3d with a (size, 1, 1)
    # kernel; with the spatial dimensions flattened both are this (size, 1) avg_pool2d.
    div = (input * input).reshape(input.shape[0], 1, input.shape[1], -1)
    div = pad(div, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(div, (size, 1), stride=1).reshape(input.shape)
    return input / div.mul(alpha).add(k).pow(beta)


# ---------------------------------------------------------------------------------------------
# In-place and randomized activations, alpha dropout


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input, threshold_value, value):
    return threshold(input, threshold_value, value, inplace=True)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element in training,
    and is (lower + upper) / 2 in evaluation."""
    if not training:
        return _activation("leaky_relu", input, inplace, (lower + upper) / 2)
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    slope = terra.empty_like(input).uniform_(lower, upper)
    out = _ops.where(input > 0, input, input * slope)
    return _inplace(input, out) if inplace else out


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


_SELU_ALPHA = 1.7580993408473766  # -scale * alpha of SELU: the value a dropped unit takes


def _alpha_dropout(input, p, training, inplace, feature):
    """ATen's _dropout_impl with alpha: kept units are scaled by a and dropped ones set to a
    value chosen with a so that SELU's zero mean and unit variance are kept."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        out = input * 0.0
    else:
        if feature and input.dim() < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = list(input.shape)[:2] + [1] * (input.dim() - 2) if feature else list(input.shape)
        noise = _ops.empty(shape, dtype=input.dtype, device=input.device)
        keep = _ops.bernoulli_p(noise, 1.0 - p)
        a = 1.0 / math.sqrt((_SELU_ALPHA * _SELU_ALPHA * p + 1) * (1 - p))
        b = (keep - 1) * (_SELU_ALPHA * a) + _SELU_ALPHA * a * p
        out = input * (keep * a) + b
    return _inplace(input, out) if inplace else out


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _alpha_dropout(input, p, training, inplace, feature=False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _alpha_dropout(input, p, training, inplace, feature=True)
