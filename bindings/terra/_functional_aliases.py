"""The torch.* forms of nn.functional that PyTorch exposes at top level (torch.dropout,
torch.batch_norm, torch.kl_div, torch.prelu, ...), with ATen's signatures: positional flags, and
reductions as integers (0 none, 1 mean, 2 sum)."""
from . import _C
from ._C import _ops
from .nn import functional as F
from ._shape_functions import exporters

Tensor = _C.Tensor

__all__ = []
_export, _both = exporters(__all__)

_REDUCTIONS = ("none", "mean", "sum")

for _name in ["cosine_similarity", "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle",
              "channel_shuffle", "hardshrink", "conv_transpose1d", "conv_transpose2d", "avg_pool1d",
              "adaptive_avg_pool1d", "bilinear", "conv3d", "conv_transpose3d"]:
    globals()[_name] = getattr(F, _name)
    __all__.append(_name)


@_both
def prelu(input, weight):
    channels = input.shape[1] if input.dim() >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{weight.numel()} and channel size = {channels}.")
    return F.prelu(input, weight)


@_export
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0, zero_infinity=False):
    """Per-sample losses when reduction is left out, as PyTorch 1.13's torch.ctc_loss gives them."""
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _REDUCTIONS[reduction], zero_infinity)


@_export
def selu(input):
    return F.selu(input)


@_export
def celu(input, alpha=1.0):
    return F.celu(input, alpha)


@_export
def threshold(input, threshold, value):
    return F.threshold(input, threshold, value)


@_export
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    if generator is not None:
        raise NotImplementedError("torch.rrelu: a generator is not supported by Terra")
    return F.rrelu(input, lower, upper, training)


@_export
def dropout(input, p, train):
    return F.dropout(input, p, train)


@_export
def alpha_dropout(input, p, train):
    return F.alpha_dropout(input, p, train)


@_export
def feature_alpha_dropout(input, p, train):
    return F.feature_alpha_dropout(input, p, train)


@_export
def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    return _ops.batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)[0]


@_export
def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


@_export
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    return F.group_norm(input, num_groups, weight, bias, eps)


@_export
def kl_div(input, target, reduction=1, log_target=False):
    loss = F.kl_div(input, target, reduction="none", log_target=log_target)  # no warning for 'mean' here
    return loss if reduction == 0 else loss.mean() if reduction == 1 else loss.sum()


@_export
def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1):
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_REDUCTIONS[reduction],
                                              pos_weight=pos_weight)


@_export
def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return F.max_pool1d(input, kernel_size, stride or None, padding, dilation, ceil_mode)


@_export
def max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return F.max_pool2d(input, kernel_size, stride or None, padding, dilation, ceil_mode)


@_export
def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return F.max_pool3d(input, kernel_size, stride or None, padding, dilation, ceil_mode)


@_export
def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return F.max_pool1d_with_indices(input, kernel_size, stride or None, padding, dilation, ceil_mode)


@_export
def adaptive_max_pool1d(input, output_size):
    return F.adaptive_max_pool1d_with_indices(input, output_size)


@_export
def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """(output, offset2bag, bag_size, max_indices): the bag of each index, the number of indices
    each bag sums (padding left out) and, in mode max, the row each maximum comes from."""
    from .nn._functional_more import _embedding_bag
    return _embedding_bag(weight, indices, offsets, scale_grad_by_freq, mode, per_sample_weights,
                            include_last_offset, padding_idx)


@_export
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction=1):
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_REDUCTIONS[reduction])


@_export
def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_REDUCTIONS[reduction])


@_export
def hinge_embedding_loss(input, target, margin=1.0, reduction=1):
    return F.hinge_embedding_loss(input, target, margin, reduction=_REDUCTIONS[reduction])


@_export
def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_REDUCTIONS[reduction])


@_export
def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_REDUCTIONS[reduction])


del _name
