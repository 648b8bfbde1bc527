"""Adamax, NAdam and RAdam: the arithmetic of torch.optim's single-tensor paths (1.13), so results
agree to rounding. `state['step']` is a Python float (Note [Python step counts]); so is NAdam's
`mu_product`, which PyTorch keeps as a float32 0-dim tensor: it is rounded to float32 as there."""
import math

import numpy as np

import terra

from .adam import _check_adam_args
from .optimizer import Optimizer, _check_nonnegative, _unsupported_flags

__all__ = ['Adamax', 'NAdam', 'RAdam']


class _AdamVariant(Optimizer):
    _tensor_state = ('step',)

    def __init__(self, params, lr, betas, eps, weight_decay, foreach, maximize=None, **extra):
        _check_adam_args(lr, betas, eps, weight_decay)
        _unsupported_flags(differentiable=extra.pop('differentiable', False))
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, **extra)
        if maximize is not None:
            defaults['maximize'] = maximize
        super().__init__(params, defaults)

    def _init_state(self, p, group, state):
        state['step'] = 0.0
        state['exp_avg'] = terra.zeros_like(p)
        state[self._second_moment] = terra.zeros_like(p)

    def _update_group(self, group):
        for p, grad, s in self._grads(group, group['weight_decay']):
            s['step'] = s['step'] + 1
            self._update(p, grad, s, group)


class Adamax(_AdamVariant):
    """torch.optim.Adamax: the infinity-norm variant of Adam."""

    _second_moment = 'exp_inf'

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, foreach, maximize=maximize)

    def _update(self, p, grad, s, group):
        beta1, beta2 = group['betas']
        exp_avg, exp_inf = s['exp_avg'], s['exp_inf']
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_inf.copy_(terra.maximum(exp_inf.mul_(beta2), grad.abs().add_(group['eps'])))
        p.addcdiv_(exp_avg, exp_inf, value=-group['lr'] / (1 - beta1 ** s['step']))


class NAdam(_AdamVariant):
    """torch.optim.NAdam: Adam with Nesterov momentum and a momentum schedule."""

    _second_moment = 'exp_avg_sq'
    _tensor_state = ('step', 'mu_product')

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 foreach=None, *, differentiable=False):
        _check_nonnegative(momentum_decay=momentum_decay)
        super().__init__(params, lr, betas, eps, weight_decay, foreach, momentum_decay=momentum_decay,
                         differentiable=differentiable)

    def _init_state(self, p, group, state):
        super()._init_state(p, group, state)
        state['mu_product'] = 1.0

    def _update(self, p, grad, s, group):
        lr, step, momentum_decay = group['lr'], s['step'], group['momentum_decay']
        beta1, beta2 = group['betas']
        mu = beta1 * (1. - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1. - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        # PyTorch 1.13 keeps the product in a float32 0-dim tensor: the same float32 roundings.
        mu_product = np.float32(s['mu_product']) * np.float32(mu)
        s['mu_product'] = float(mu_product)
        exp_avg, exp_avg_sq = s['exp_avg'], s['exp_avg_sq']
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = exp_avg_sq.div(1 - beta2 ** step).sqrt().add_(group['eps'])
        # PyTorch 1.13 multiplies mu in twice here (later versions once): its arithmetic is kept.
        mu_product_next = mu_product * np.float32(mu) * np.float32(mu_next)
        p.addcdiv_(grad, denom, value=-lr * (1. - mu) / (1. - float(mu_product)))
        p.addcdiv_(exp_avg, denom, value=-lr * mu_next / (1. - float(mu_product_next)))


class RAdam(_AdamVariant):
    """torch.optim.RAdam: Adam with the variance of the adaptive rate rectified; plain momentum
    SGD for the first steps, while that variance is not defined."""

    _second_moment = 'exp_avg_sq'

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 differentiable=False):
        super().__init__(params, lr, betas, eps, weight_decay, foreach, differentiable=differentiable)

    def _update(self, p, grad, s, group):
        lr, step = group['lr'], s['step']
        beta1, beta2 = group['betas']
        rho_inf = 2 / (1 - beta2) - 1
        bias_correction1, bias_correction2 = 1 - beta1 ** step, 1 - beta2 ** step
        exp_avg, exp_avg_sq = s['exp_avg'], s['exp_avg_sq']
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        corrected = exp_avg / bias_correction1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive_lr = math.sqrt(bias_correction2) / exp_avg_sq.sqrt().add_(group['eps'])
            p.add_(corrected * lr * adaptive_lr * rect, alpha=-1.0)
        else:
            p.add_(corrected * lr, alpha=-1.0)
