"""Gradient clipping by total norm or by value, PyTorch's formulas (torch.nn.utils.clip_grad)."""

import math
import warnings

import terra

from ..._C import _ops

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_"]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scales the gradients so their combined norm is at most max_norm; returns that norm
    (before clipping) as a tensor."""
    if isinstance(parameters, terra.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if len(grads) == 0:
        return terra.tensor(0.0)
    with terra.no_grad():
        if norm_type == math.inf:
            norms = [_ops.max(_ops.abs(g)) for g in grads]
            total_norm = norms[0] if len(norms) == 1 else _ops.max(_ops.stack(norms, 0))
        else:
            total_norm = _ops.norm(_ops.stack([_ops.norm(g, norm_type) for g in grads], 0),
                                   norm_type)
        if error_if_nonfinite and bool(_ops.logical_or(_ops.isnan(total_norm),
                                                        _ops.isinf(total_norm))):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                               "`parameters` is non-finite, so it cannot be clipped. To disable "
                               "this error and scale the gradients by the non-finite norm anyway, "
                               "set `error_if_nonfinite=False`")
        clip_coef = max_norm / (total_norm + 1e-6)
        clip_coef_clamped = _ops.clamp(clip_coef, None, 1.0)
        for g in grads:
            g.mul_(clip_coef_clamped)
    return total_norm


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    warnings.warn("torch.nn.utils.clip_grad_norm is now deprecated in favor of "
                  "torch.nn.utils.clip_grad_norm_.", stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamps every gradient elementwise into [-clip_value, clip_value], in place."""
    if isinstance(parameters, terra.Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    with terra.no_grad():
        for p in parameters:
            if p.grad is not None:
                p.grad.copy_(_ops.clamp(p.grad, -clip_value, clip_value))
