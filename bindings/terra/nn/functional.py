"""nn.functional: PyTorch's functional signatures mapped onto terra's registry ops.

Each function normalises its arguments the way PyTorch does (int → tuple expansion, legacy
`size_average`/`reduce`, implicit softmax dims, 'same' padding) and makes one registry call
where the registry has the op; the rest are composed from tensor ops, so they trace and
differentiate like any other code. Functions here run on every forward pass: no work that
PyTorch would not do.
"""

import math
import numbers
import warnings

import terra
from .. import _C
from .._C import _ops
from . import _reduction as _Reduction
from .modules.utils import _list_with_default, _pair, _single

Tensor = terra._C.Tensor


# ---------------------------------------------------------------------------------------------
# Helpers


def _first(result):
    """Output 0 of an op that may return several (dropout may also return its mask)."""
    return result[0] if isinstance(result, (tuple, list)) else result


def _inplace(input, out):
    """The result of an `inplace=True` activation composed of several ops.

    Without autograd the values are written into `input`, as PyTorch does. When `input` takes
    part in autograd the fresh output is returned and `input` is left as it was: the composed
    ops saved `input` for their gradients, and overwriting it would invalidate them (registry
    activations use the op's own in-place form instead, see _activation).
    Models use the returned value (`x = act(x)`), which is the same either way.
    """
    if input.requires_grad:
        return out
    input.copy_(out)
    return input


def _activation(name, input, inplace, *args):
    """Registry activation `name`, in place (the op written back into `input`, with autograd
    history rebased like PyTorch's `relu_`) when asked."""
    if inplace:
        return _C._call_inplace(name, input, *args)
    return getattr(_ops, name)(input, *args)


def _reduction_arg(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        return _Reduction.legacy_get_string(size_average, reduce)
    return reduction


def _broadcast_shape(a, b):
    a, b = tuple(a), tuple(b)
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + a
    b = (1,) * (n - len(b)) + b
    out = []
    for dim, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                               f"at non-singleton dimension {dim}")
        out.append(y if x == 1 else x)
    return out


def _broadcast_pair(input, target):
    """Pointwise losses warn and broadcast when the target's size differs from the input's."""
    if input.shape != target.shape:
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input size "
                      f"({input.size()}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)
        shape = _broadcast_shape(input.shape, target.shape)
        input, target = input.expand(shape), target.expand(shape)
    return input, target


# ---------------------------------------------------------------------------------------------
# Linear and convolution


def linear(input, weight, bias=None):
    return _ops.linear(input, weight, bias)


def _same_padding(input, weight, stride, dilation, nd):
    """'same' padding: symmetric padding for the conv, plus one extra element on the right of
    each dimension whose total padding is odd, applied to the input first (as PyTorch does)."""
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    padding = []
    extra = []
    ksize = tuple(weight.shape)[2:]
    for d in range(nd):
        total = dilation[d] * (ksize[d] - 1)
        left = total // 2
        padding.append(left)
        extra.append(total - 2 * left)
    if any(extra):
        pad_nd = []
        for d in reversed(range(nd)):
            pad_nd += [0, extra[d]]
        input = _ops.pad(input, pad_nd, "constant", 0.0)
    return input, padding


def _conv(op, nd, ntuple, input, weight, bias, stride, padding, dilation, groups):
    stride = ntuple(stride)
    dilation = ntuple(dilation)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * nd
        elif padding == "same":
            input, padding = _same_padding(input, weight, stride, dilation, nd)
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of "
                             "{'valid', 'same'}")
    else:
        padding = ntuple(padding)
    # The ops take unbatched input (no batch dimension) themselves.
    return op(input, weight, bias, list(stride), list(padding), list(dilation), groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(_ops.conv1d, 1, _single, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(_ops.conv2d, 2, _pair, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _ops.conv_transpose2d(input, weight, bias, list(_pair(stride)), list(_pair(padding)),
                                 list(_pair(output_padding)), groups, list(_pair(dilation)))


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Through conv_transpose2d with a height-1 kernel."""
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias,
                           (1,) + _single(stride), (0,) + _single(padding),
                           (0,) + _single(output_padding), groups, (1,) + _single(dilation))
    return out.squeeze(-2)


# ---------------------------------------------------------------------------------------------
# Pooling


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    stride = [] if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else list(_pair(stride))
    out, indices = _ops.max_pool2d(input, list(_pair(kernel_size)), stride, list(_pair(padding)),
                                   list(_pair(dilation)), ceil_mode)
    return (out, indices) if return_indices else out


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    stride = _single(kernel_size if stride is None else stride)
    out, indices = max_pool2d(input.unsqueeze(-2), (1,) + _single(kernel_size), (1,) + stride,
                              (0,) + _single(padding), (1,) + _single(dilation), ceil_mode, True)
    out = out.squeeze(-2)
    return (out, indices.squeeze(-2)) if return_indices else out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    stride = [] if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else list(_pair(stride))
    return _ops.avg_pool2d(input, list(_pair(kernel_size)), stride, list(_pair(padding)),
                           ceil_mode, count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    stride = _single(kernel_size if stride is None else stride)
    out = avg_pool2d(input.unsqueeze(-2), (1,) + _single(kernel_size), (1,) + stride,
                     (0,) + _single(padding), ceil_mode, count_include_pad)
    return out.squeeze(-2)


def adaptive_avg_pool2d(input, output_size):
    output_size = _list_with_default(_pair(output_size), tuple(input.shape))
    return _ops.adaptive_avg_pool2d(input, list(output_size))


def adaptive_avg_pool1d(input, output_size):
    out = adaptive_avg_pool2d(input.unsqueeze(-2), (1,) + _single(output_size))
    return out.squeeze(-2)


# ---------------------------------------------------------------------------------------------
# Normalization


def _verify_batch_size(size):
    size_prods = size[0]
    for i in range(len(size) - 2):
        size_prods *= size[i + 2]
    if size_prods == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{size}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    if training:
        _verify_batch_size(input.size())
    return _ops.batch_norm(input, weight, bias, running_mean, running_var, training,
                           0.0 if momentum is None else momentum, eps)[0]


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = [normalized_shape]
    return _ops.layer_norm(input, list(normalized_shape), weight, bias, eps)[0]


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    return _ops.group_norm(input, num_groups, weight, bias, eps)[0]


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    denom = _ops.norm(input, float(p), [dim], True).clamp(min=eps).expand_as(input)
    if out is None:
        return input / denom
    from .._functions import _write_out
    return _write_out("normalize", input / denom, out)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """PyTorch 1.13's formula: sum(x1 * x2) / sqrt(max(|x1|^2 |x2|^2, eps^2)) along dim."""
    w12 = _ops.sum(x1 * x2, [dim], False)
    w1 = _ops.sum(x1 * x1, [dim], False)
    w2 = _ops.sum(x2 * x2, [dim], False)
    return w12 / _ops.sqrt(_ops.clamp(w1 * w2, eps * eps, None))


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of x1 - x2 + eps over the last dimension."""
    return _ops.norm(x1 - x2 + eps, float(p), [-1], keepdim)


# ---------------------------------------------------------------------------------------------
# Dropout


def dropout(input, p=0.5, training=True, inplace=False):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    out = _first(_ops.dropout(input, p, True))
    # The dropout gradient reads only its mask, so writing into `input` is safe under autograd.
    return input.copy_(out) if inplace else out


def _feature_dropout(input, p, training, inplace, spatial, name):
    """Zeroes whole channels: one Bernoulli draw per (sample, channel), broadcast over the
    `spatial` trailing dimensions; unbatched inputs have one dimension fewer."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    dim = input.dim()
    if dim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{name}: Expected {spatial + 1}D or {spatial + 2}D input, but "
                           f"received a {dim}D input")
    if not training or p == 0.0:
        return input
    shape = list(input.shape)[:dim - spatial] + [1] * spatial
    if p == 1.0:
        mask = _ops.zeros(shape, dtype=input.dtype, device=input.device)
    else:
        noise = _ops.empty(shape, dtype=input.dtype, device=input.device)
        mask = _ops.bernoulli_p(noise, 1.0 - p) / (1.0 - p)
    out = input * mask
    return _inplace(input, out) if inplace else out


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    if input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape "
                      "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch "
                      "to using dropout1d instead.")
        return _feature_dropout(input, p, training, inplace, 1, "dropout2d")
    return _feature_dropout(input, p, training, inplace, 2, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 3, "dropout3d")


# ---------------------------------------------------------------------------------------------
# Sparse


_warned_sparse = False


def _warn_dense_sparse_gradient():
    """Note [Sparse gradients are dense in Terra] (optim/sparse_adam.py), said once per process."""
    global _warned_sparse
    if not _warned_sparse:
        _warned_sparse = True
        warnings.warn("Terra has no sparse tensors: embedding(sparse=True) computes a dense gradient (zero in the "
                      "rows not looked up); SGD, Adagrad and SparseAdam update as with the sparse one")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    if padding_idx is not None:
        num = weight.shape[0]
        if padding_idx > 0:
            assert padding_idx < num, "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -num, "Padding_idx must be within num_embeddings"
            padding_idx = num + padding_idx
    else:
        padding_idx = -1
    if sparse:
        _warn_dense_sparse_gradient()
    if max_norm is not None:
        from ._functional_more import _embedding_renorm_
        _embedding_renorm_(weight, input, max_norm, norm_type)  # in place, before the lookup, as torch
    return _ops.embedding(weight, input, padding_idx, scale_grad_by_freq, sparse)


def one_hot(tensor, num_classes=-1):
    return _ops.one_hot(tensor, num_classes)


# ---------------------------------------------------------------------------------------------
# Activations


def relu(input, inplace=False):
    return _activation("relu", input, inplace)


def relu_(input):
    return relu(input, inplace=True)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    return _activation("clamp", input, inplace, min_val, max_val)


def gelu(input, approximate="none"):
    return _ops.gelu(input, approximate=approximate)


def silu(input, inplace=False):
    return _activation("silu", input, inplace)


def mish(input, inplace=False):
    out = input * _ops.tanh(_ops.softplus(input, 1.0, 20.0))
    return _inplace(input, out) if inplace else out


def tanh(input):
    return _ops.tanh(input)


def sigmoid(input):
    return _ops.sigmoid(input)


def hardsigmoid(input, inplace=False):
    out = _ops.clamp(input / 6.0 + 0.5, 0.0, 1.0)
    return _inplace(input, out) if inplace else out


def hardswish(input, inplace=False):
    out = input * _ops.clamp(input / 6.0 + 0.5, 0.0, 1.0)
    return _inplace(input, out) if inplace else out


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _activation("leaky_relu", input, inplace, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    return _activation("elu", input, inplace, alpha)


def selu(input, inplace=False):
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    out = _ops.elu(input, alpha) * scale
    return _inplace(input, out) if inplace else out


def celu(input, alpha=1.0, inplace=False):
    out = _ops.elu(input / alpha, 1.0) * alpha
    return _inplace(input, out) if inplace else out


def softplus(input, beta=1, threshold=20):
    return _ops.softplus(input, beta, threshold)


def logsigmoid(input):
    return -_ops.softplus(-input, 1.0, 20.0)


def softsign(input):
    return input / (input.abs() + 1)


def tanhshrink(input):
    return input - _ops.tanh(input)


def threshold(input, threshold, value, inplace=False):
    out = _ops.where(input > threshold, input, value)
    return _inplace(input, out) if inplace else out


def prelu(input, weight):
    if input.dim() >= 2 and weight.numel() > 1:
        shape = [1] * input.dim()
        shape[1] = weight.numel()
        weight = weight.reshape(shape)
    return _ops.relu(input) - weight * _ops.relu(-input)


def glu(input, dim=-1):
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2 != 0:
        raise RuntimeError(f"Halving dimension must be even, but dimension "
                           f"{dim % input.dim()} is size {size}")
    a, b = _ops.chunk(input, 2, dim)
    return a * _ops.sigmoid(b)


def _get_softmax_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=stacklevel)
    if ndim == 0 or ndim == 1 or ndim == 3:
        return 0
    return 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    return _ops.softmax(input, dim, dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmin", input.dim(), _stacklevel)
    return _ops.softmax(-input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    return _ops.log_softmax(input, dim, dtype)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """Samples from the Gumbel-softmax distribution, as torch's: softmax((logits + g) / tau) with
    g = -log(Exponential(1)) drawn from Terra's random stream; hard=True returns the one-hot of
    the sample's argmax with the soft sample's gradient (straight-through)."""
    gumbels = -terra.empty_like(logits).exponential_().log()
    soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return soft
    index = soft.argmax(dim, keepdim=True)
    one_hot_sample = terra.zeros_like(logits).scatter_(dim, index, 1.0)
    return one_hot_sample - soft.detach() + soft


# ---------------------------------------------------------------------------------------------
# Losses


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    """Cross entropy against class probabilities (target shaped like input), composed."""
    n_classes = input.shape[1]
    if label_smoothing > 0.0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    logp = _ops.log_softmax(input, 1, None)
    prod = logp * target
    if weight is not None:
        shape = [1] * input.dim()
        shape[1] = n_classes
        prod = prod * weight.reshape(shape)
    loss = -_ops.sum(prod, [1], False)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / (input.numel() // n_classes)
    raise ValueError(f"{reduction} is not a valid value for reduction")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    reduction = _reduction_arg(size_average, reduce, reduction)
    if target.is_floating_point() and target.shape == input.shape:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    return _ops.cross_entropy(input, target, weight, reduction, ignore_index, label_smoothing)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    reduction = _reduction_arg(size_average, reduce, reduction)
    return _ops.nll_loss(input, target, weight, reduction, ignore_index)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_arg(size_average, reduce, reduction)
    input, target = _broadcast_pair(input, target)
    return _ops.mse_loss(input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_arg(size_average, reduce, reduction)
    input, target = _broadcast_pair(input, target)
    return _ops.l1_loss(input, target, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    reduction = _reduction_arg(size_average, reduce, reduction)
    input, target = _broadcast_pair(input, target)
    if beta == 0.0:
        return _ops.l1_loss(input, target, reduction)
    return _ops.smooth_l1_loss(input, target, reduction, beta)


def huber_loss(input, target, reduction="mean", delta=1.0):
    input, target = _broadcast_pair(input, target)
    # huber(delta) = delta * smooth_l1(beta=delta), elementwise, so also after any reduction.
    return _ops.smooth_l1_loss(input, target, reduction, delta) * delta


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = _reduction_arg(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input "
                         f"size ({input.size()}) is deprecated. Please ensure they have the same "
                         "size.")
    if weight is not None and weight.shape != input.shape:
        weight = weight.expand(_broadcast_shape(target.shape, weight.shape))
    return _ops.binary_cross_entropy(input, target, weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    reduction = _reduction_arg(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.size()}) must be the same as input size "
                         f"({input.size()})")
    if weight is not None and weight.shape != input.shape:
        weight = weight.expand(input.shape)
    if pos_weight is not None and pos_weight.shape != input.shape:
        pos_weight = pos_weight.expand(input.shape)
    return _ops.binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    reduction = _reduction_arg(size_average, reduce, reduction)
    if log_target:
        loss = _ops.exp(target) * (target - input)
    else:
        positive = target > 0
        # xlogy(t, t): 0 where t == 0 instead of 0 * log(0).
        loss = target * _ops.log(_ops.where(positive, target, 1.0)) - target * input
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.")
        return loss.mean()
    if reduction == "batchmean":
        if input.dim() == 0:
            return loss.sum()
        return loss.sum() / input.shape[0]
    raise ValueError(f"{reduction} is not a valid value for reduction")


# ---------------------------------------------------------------------------------------------
# Shape utilities


def pad(input, pad, mode="constant", value=None):
    if len(pad) % 2 != 0:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length too large")
    if mode == "constant" and value is None:
        value = 0.0
    return _ops.pad(input, list(pad), mode, value)


from ._interpolate import interpolate, upsample, upsample_bilinear, upsample_nearest  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Attention


def _canonical_mask(mask, dtype, name="attn_mask"):
    """A boolean mask (True = masked out) as an additive float mask; float masks as they are."""
    if mask is None:
        return None
    if mask.dtype == terra.bool:
        return _ops.zeros(list(mask.shape), dtype=dtype, device=mask.device) \
            .masked_fill(mask, float("-inf"))
    if not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None):
    L, S = query.shape[-2], key.shape[-2]
    scale_factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    attn = _ops.matmul(query, key.transpose(-2, -1)) * scale_factor
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                               "set when is_causal=True")
        causal = _ops.ones([L, S], dtype=terra.bool, device=query.device).tril(0)
        attn = attn.masked_fill(causal.logical_not(), float("-inf"))
    elif attn_mask is not None:
        if attn_mask.dtype == terra.bool:
            attn = attn.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            attn = attn + attn_mask
    attn = _ops.softmax(attn, -1, None)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return _ops.matmul(attn, value)


def _in_projection_packed(q, k, v, w, b=None):
    E = q.shape[-1]
    if k is v:
        if q is k:
            # Self-attention: one projection for q, k and v.
            return tuple(_ops.chunk(linear(q, w, b), 3, -1))
        w_q, w_kv = _ops.split(w, [E, E * 2], 0)
        if b is None:
            b_q = b_kv = None
        else:
            b_q, b_kv = _ops.split(b, [E, E * 2], 0)
        return (linear(q, w_q, b_q),) + tuple(_ops.chunk(linear(k, w_kv, b_kv), 2, -1))
    w_q, w_k, w_v = _ops.chunk(w, 3, 0)
    if b is None:
        b_q = b_k = b_v = None
    else:
        b_q, b_k, b_v = _ops.chunk(b, 3, 0)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """PyTorch's multi-head attention on (L, N, E) inputs, or unbatched (L, E)."""
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k/static_v are not "
                                  "supported by terra")
    is_batched = query.dim() == 3
    if not is_batched:
        query = query.unsqueeze(1)
        key = key.unsqueeze(1)
        value = value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)

    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got "
                             f"{embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")

    if is_causal and attn_mask is None:
        attn_mask = _ops.full([tgt_len, src_len], float("-inf"), dtype=query.dtype,
                              device=query.device).triu(1)

    # Input projections.
    if not use_separate_proj_weight:
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    else:
        if in_proj_bias is None:
            b_q = b_k = b_v = None
        else:
            b_q, b_k, b_v = _ops.chunk(in_proj_bias, 3, 0)
        q = linear(query, q_proj_weight, b_q)
        k = linear(key, k_proj_weight, b_k)
        v = linear(value, v_proj_weight, b_v)

    # Masks become additive float masks of shape (1 or bsz*num_heads, tgt_len, src_len).
    attn_mask = _canonical_mask(attn_mask, q.dtype)
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.size()}, but "
                                   f"should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.size()}, but "
                                   f"should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    key_padding_mask = _canonical_mask(key_padding_mask, q.dtype, "key_padding_mask")

    if bias_k is not None and bias_v is not None:
        k = _ops.cat([k, bias_k.repeat([1, bsz, 1])], 0)
        v = _ops.cat([v, bias_v.repeat([1, bsz, 1])], 0)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))

    # (L, N, E) -> (N * heads, L, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)

    if add_zero_attn:
        zeros_shape = [bsz * num_heads, 1, head_dim]
        k = _ops.cat([k, _ops.zeros(zeros_shape, dtype=k.dtype, device=k.device)], 1)
        v = _ops.cat([v, _ops.zeros(zeros_shape, dtype=v.dtype, device=v.device)], 1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))

    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand([bsz, num_heads, 1, src_len]) \
            .reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm

    if not training:
        dropout_p = 0.0

    q = q * (1.0 / math.sqrt(head_dim))
    scores = _ops.bmm(q, k.transpose(-2, -1))
    if attn_mask is not None:
        scores = scores + attn_mask
    weights = _ops.softmax(scores, -1, None)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    attn_output = _ops.bmm(weights, v)

    attn_output = attn_output.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    attn_output = linear(attn_output, out_proj_weight, out_proj_bias)
    attn_output = attn_output.reshape(tgt_len, bsz, embed_dim)
    if not is_batched:
        attn_output = attn_output.squeeze(1)

    if not need_weights:
        return attn_output, None
    weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = _ops.sum(weights, [1], False) / num_heads
    if not is_batched:
        weights = weights.squeeze(0)
    return attn_output, weights


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-05):
    """aten's instance_norm: batch_norm of the (N, C, *) input seen as one sample of N * C
    channels, weight, bias and running statistics repeated N times; each running statistic then
    becomes the mean of its N updated copies."""
    if use_input_stats and math.prod(input.size()[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{input.size()}")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when "
                           "use_input_stats is false")
    if momentum is None:
        raise TypeError("instance_norm(): argument 'momentum' (position 7) must be float, not "
                        "NoneType")
    shape = list(input.shape)
    n, c = shape[0], shape[1]
    stats = [None if t is None else t.repeat(n) for t in (running_mean, running_var)]
    out = _ops.batch_norm(input.reshape([1, n * c] + shape[2:]),
                          None if weight is None else weight.repeat(n),
                          None if bias is None else bias.repeat(n), stats[0], stats[1],
                          use_input_stats, momentum, eps)[0]
    with terra.no_grad():
        for running, copies in zip((running_mean, running_var), stats):
            if running is not None:
                running.copy_(copies.reshape(n, c).mean(0))
    return out.reshape(shape)


from ._functional_extra import *  # noqa: E402,F401,F403
from ._functional_more import *  # noqa: E402,F401,F403
from ._grid_sample import *  # noqa: E402,F401,F403
from ._ctc_loss import ctc_loss  # noqa: E402,F401
from ._conv3d import *  # noqa: E402,F401,F403
from ._pool3d import *  # noqa: E402,F401,F403
from ._fractional_pool import *  # noqa: E402,F401,F403
from ._conv_tbc import conv_tbc  # noqa: E402,F401
