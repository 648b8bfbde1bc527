"""Rprop and ASGD: the arithmetic of torch.optim's single-tensor paths (1.13), so parameters agree
to rounding. ASGD's `step`, `eta` and `mu` are Python floats while training (Note [Python step
counts]); PyTorch keeps eta and mu in 0-dim tensors of the default dtype and reads them back, so
they are rounded to it here as there."""
import math

import numpy as np

import terra

from .optimizer import Optimizer, _check_nonnegative

__all__ = ['Rprop', 'ASGD']


class Rprop(Optimizer):
    """torch.optim.Rprop: per element, a step size that grows by etaplus while the gradient keeps
    its sign and shrinks by etaminus when it flips (that step is then skipped); p -= step * sign(g)."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), foreach=None, maximize=False):
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError("Invalid eta values: {}, {}".format(etas[0], etas[1]))
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize))

    def _init_state(self, p, group, state):
        state['step'] = 0
        state['prev'] = terra.zeros_like(p)
        state['step_size'] = terra.full_like(p, group['lr'])

    def _update_group(self, group):
        etaminus, etaplus = group['etas']
        step_size_min, step_size_max = group['step_sizes']
        for p, grad, s in self._grads(group):
            s['step'] += 1
            sign = grad.mul(s['prev']).sign()
            flipped = sign < 0
            factor = sign.masked_fill(sign > 0, etaplus).masked_fill(flipped, etaminus).masked_fill(sign == 0, 1)
            s['step_size'].mul_(factor).clamp_(step_size_min, step_size_max)
            grad = grad.masked_fill(flipped, 0)
            p.addcmul_(grad.sign(), s['step_size'], value=-1)
            s['prev'].copy_(grad)


class ASGD(Optimizer):
    """torch.optim.ASGD: SGD with a decaying rate eta and weight decay lambd, and `ax`, the running
    average of the parameters from step t0 on."""

    _tensor_state = ('step', 'eta', 'mu')

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False):
        _check_nonnegative(lr=lr, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize))

    @staticmethod
    def _as_stored(value):
        """value as PyTorch's torch.tensor(value) holds it: in the default dtype."""
        return float(np.float32(value)) if terra.get_default_dtype() is terra.float32 else float(value)

    def _init_state(self, p, group, state):
        state['step'] = 0.0
        state['eta'] = self._as_stored(group['lr'])
        state['mu'] = 1.0
        state['ax'] = terra.zeros_like(p)

    def _update_group(self, group):
        lambd, lr, t0, alpha = group['lambd'], group['lr'], group['t0'], group['alpha']
        for p, grad, s in self._grads(group, group['weight_decay']):
            s['step'] += 1
            eta, ax = s['eta'], s['ax']
            p.mul_(1 - lambd * eta)
            p.add_(grad, alpha=-eta)
            if s['mu'] != 1:
                ax.add_(p.sub(ax).mul(s['mu']))
            else:
                ax.copy_(p)
            s['eta'] = self._as_stored(lr / math.pow(1 + lambd * lr * s['step'], alpha))
            s['mu'] = self._as_stored(1 / max(1, s['step'] - t0))
