"""Adam (and the update AdamW shares): bias-corrected first and second moments, optional AMSGrad,
L2 or decoupled weight decay, maximize; the arithmetic of torch.optim.Adam's single-tensor path
(1.13), so results agree to rounding."""
import math

import terra

from .optimizer import Optimizer, _check_nonnegative, _unsupported_flags

__all__ = ['Adam']


def _check_adam_args(lr, betas, eps, weight_decay):
    _check_nonnegative(lr=lr, eps=eps)
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError("Invalid beta parameter at index 0: {}".format(betas[0]))
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError("Invalid beta parameter at index 1: {}".format(betas[1]))
    _check_nonnegative(weight_decay=weight_decay)


class Adam(Optimizer):
    """torch.optim.Adam. `state[p]['step']` is a Python float (Note [Python step counts])."""

    _tensor_state = ('step',)
    _decoupled_weight_decay = False   # AdamW: p *= 1 - lr * wd instead of grad += wd * p

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False, fused=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        _unsupported_flags(capturable=capturable, differentiable=differentiable, fused=fused)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _init_state(self, p, group, state):
        state['step'] = 0.0
        state['exp_avg'] = terra.zeros_like(p)
        state['exp_avg_sq'] = terra.zeros_like(p)
        if group['amsgrad']:
            state['max_exp_avg_sq'] = terra.zeros_like(p)

    def _update_group(self, group):
        lr, eps, weight_decay, amsgrad = group['lr'], group['eps'], group['weight_decay'], group['amsgrad']
        beta1, beta2 = group['betas']
        decoupled = self._decoupled_weight_decay
        for p, grad, s in self._grads(group, None if decoupled else weight_decay):
            step = s['step'] = s['step'] + 1
            if decoupled:
                p.mul_(1 - lr * weight_decay)
            exp_avg, exp_avg_sq = s['exp_avg'], s['exp_avg_sq']
            exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

            step_size = lr / (1 - beta1 ** step)
            bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
            if amsgrad:
                max_sq = s['max_exp_avg_sq']
                max_sq.copy_(terra.maximum(max_sq, exp_avg_sq))
                denom = (max_sq.sqrt() / bias_correction2_sqrt).add_(eps)
            else:
                denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
            p.addcdiv_(exp_avg, denom, value=-step_size)
