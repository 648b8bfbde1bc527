"""Adagrad with learning-rate decay, L2 weight decay, an initial accumulator value and maximize, as
torch.optim.Adagrad (1.13); dense gradients only."""
import terra

from .optimizer import Optimizer, _check_nonnegative

__all__ = ['Adagrad']


class Adagrad(Optimizer):
    """torch.optim.Adagrad. Its state exists from construction on, as in PyTorch; `state[p]['step']`
    is a Python float (Note [Python step counts])."""

    _tensor_state = ('step',)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False):
        _check_nonnegative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group['params']:
                self._init_state(p, group, self.state[p])

    def _init_state(self, p, group, state):
        state['step'] = 0.0
        state['sum'] = terra.full_like(p, group['initial_accumulator_value'])

    def _update_group(self, group):
        lr, lr_decay, eps = group['lr'], group['lr_decay'], group['eps']
        for p, grad, s in self._grads(group, group['weight_decay']):
            step = s['step'] = s['step'] + 1
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum = s['sum']
            state_sum.addcmul_(grad, grad, value=1)
            std = state_sum.sqrt().add_(eps)
            p.addcdiv_(grad, std, value=-clr)
