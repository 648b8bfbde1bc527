"""CrossMapLRN2d: the legacy (Lua Torch) cross-channel local response normalization of
torch.nn.modules.normalization, reproduced with its quirks.

PyTorch's forward keeps a running sum of squares over channels and never subtracts channel 0,
so from channel pre_pad on the window also counts channel 0; its hand-written backward uses a
window shifted one channel down (c - pre_pad .. c + size - 1 - pre_pad for odd sizes) and is not
the exact gradient of that forward. Both windows are 0/1 channel-mixing matrices here, and the
backward is PyTorch's formula in a custom autograd Function, so values and gradients match it.
"""

import numpy as np

import terra

from ...autograd import Function
from .module import Module

__all__ = ["CrossMapLRN2d"]


def _forward_window(channels, size):
    """(C, C) 0/1: row c marks the channels summed into scale[c] by PyTorch's running sum."""
    pre_pad = int((size - 1) / 2 + 1)
    window = np.zeros((channels, channels))
    for c in range(channels):
        last = min(c + pre_pad - 1, channels - 1)
        first = max(c - pre_pad + 1, 1) if c >= pre_pad else 0
        window[c, first:last + 1] = 1
        window[c, 0] = 1  # channel 0 is added first and never removed
    return window


def _backward_window(channels, size):
    """(C, C) 0/1: row c marks the channels whose ratio PyTorch's backward sums for c."""
    inverse_pre_pad = int(size - (size - 1) / 2)
    window = np.zeros((channels, channels))
    for c in range(channels):
        first = max(c - inverse_pre_pad, 0)
        last = min(c + size - 1 - inverse_pre_pad, channels - 1)
        window[c, first:last + 1] = 1
    return window


def _mix_channels(x, window):
    """out[:, c] = sum_j window[c, j] * x[:, j] for (N, C, H, W) x."""
    w = terra.tensor(window, dtype=x.dtype, device=x.device)
    return terra.matmul(x.movedim(1, -1), w.t()).movedim(-1, 1)


class _CrossMapLRN2dFunction(Function):
    @staticmethod
    def forward(ctx, input, size, alpha, beta, k):
        channels = input.size(1)
        scale = _mix_channels(input * input, _forward_window(channels, size)) * (alpha / size) + k
        output = scale.pow(-beta) * input
        ctx.size, ctx.alpha, ctx.beta = size, alpha, beta
        ctx.save_for_backward(input, output, scale)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, output, scale = ctx.saved_tensors
        ratio = grad_output * output / scale
        accum = _mix_channels(ratio, _backward_window(input.size(1), ctx.size))
        cache_ratio_value = 2 * ctx.alpha * ctx.beta / ctx.size
        grad_input = scale.pow(-ctx.beta) * grad_output - cache_ratio_value * input * accum
        return grad_input, None, None, None, None


class CrossMapLRN2d(Module):
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        if input.dim() != 4:
            raise AssertionError(f"CrossMapLRN2d expects a 4D input, got {input.dim()}D")
        return _CrossMapLRN2dFunction.apply(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return "{size}, alpha={alpha}, beta={beta}, k={k}".format(**self.__dict__)
