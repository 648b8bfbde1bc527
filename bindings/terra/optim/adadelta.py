"""Adadelta with L2 weight decay and maximize, as torch.optim.Adadelta (1.13)."""
import terra

from .optimizer import Optimizer, _check_nonnegative

__all__ = ['Adadelta']


class Adadelta(Optimizer):
    """torch.optim.Adadelta: running averages of squared gradients and squared updates."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, maximize=False):
        _check_nonnegative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError("Invalid rho value: {}".format(rho))
        _check_nonnegative(eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach)
        super().__init__(params, defaults)

    def _init_state(self, p, group, state):
        state['step'] = 0
        state['square_avg'] = terra.zeros_like(p)
        state['acc_delta'] = terra.zeros_like(p)

    def _update_group(self, group):
        lr, rho, eps = group['lr'], group['rho'], group['eps']
        for p, grad, s in self._grads(group, group['weight_decay']):
            s['step'] += 1
            square_avg, acc_delta = s['square_avg'], s['acc_delta']
            square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
            std = square_avg.add(eps).sqrt()
            delta = acc_delta.add(eps).sqrt().div_(std).mul_(grad)
            acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
            p.add_(delta, alpha=-lr)
