"""Folding an eval-mode BatchNorm into the convolution or linear layer before it
(torch.nn.utils.fusion): the fused layer computes bn(layer(x)) with the running statistics."""

import copy

import terra

from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of conv whose weight and bias include bn (both in eval mode)."""
    assert not (conv.training or bn.training), "Fusion only for eval!"
    fused_conv = copy.deepcopy(conv)
    fused_conv.weight, fused_conv.bias = fuse_conv_bn_weights(
        fused_conv.weight, fused_conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight,
        bn.bias, transpose)
    return fused_conv


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """(weight, bias) Parameters of the convolution fused with the normalization; the output
    channels are dim 0 of the weight, dim 1 when transpose."""
    if conv_b is None:
        conv_b = terra.zeros_like(bn_rm)
    if bn_w is None:
        bn_w = terra.ones_like(bn_rm)
    if bn_b is None:
        bn_b = terra.zeros_like(bn_rm)
    bn_var_rsqrt = terra.rsqrt(bn_rv + bn_eps)
    channel_shape = [1, -1] if transpose else [-1, 1]
    shape = channel_shape + [1] * (conv_w.dim() - 2)
    conv_w = conv_w * (bn_w * bn_var_rsqrt).reshape(shape)
    conv_b = (conv_b - bn_rm) * bn_var_rsqrt * bn_w + bn_b
    return Parameter(conv_w), Parameter(conv_b)


def fuse_linear_bn_eval(linear, bn):
    """A copy of linear whose weight and bias include bn (both in eval mode)."""
    assert not (linear.training or bn.training), "Fusion only for eval!"
    fused_linear = copy.deepcopy(linear)
    fused_linear.weight, fused_linear.bias = fuse_linear_bn_weights(
        fused_linear.weight, fused_linear.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight,
        bn.bias)
    return fused_linear


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """(weight, bias) Parameters of the linear layer fused with the normalization."""
    if linear_b is None:
        linear_b = terra.zeros_like(bn_rm)
    bn_scale = bn_w * terra.rsqrt(bn_rv + bn_eps)
    fused_w = linear_w * bn_scale.unsqueeze(-1)
    fused_b = (linear_b - bn_rm) * bn_scale + bn_b
    return Parameter(fused_w), Parameter(fused_b)
