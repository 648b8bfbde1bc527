"""RMSprop with momentum, the centered variant, L2 weight decay and maximize, as
torch.optim.RMSprop (1.13)."""
import terra

from .optimizer import Optimizer, _check_nonnegative, _unsupported_flags

__all__ = ['RMSprop']


class RMSprop(Optimizer):
    """torch.optim.RMSprop: p -= lr * g / (sqrt(E[g^2] - [E[g]^2 if centered]) + eps)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 foreach=None, maximize=False, differentiable=False):
        _check_nonnegative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        _unsupported_flags(differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group, state):
        state['step'] = 0
        state['square_avg'] = terra.zeros_like(p)
        if group['momentum'] > 0:
            state['momentum_buffer'] = terra.zeros_like(p)
        if group['centered']:
            state['grad_avg'] = terra.zeros_like(p)

    def _update_group(self, group):
        lr, alpha, eps, momentum, centered = group['lr'], group['alpha'], group['eps'], group['momentum'], group['centered']
        for p, grad, s in self._grads(group, group['weight_decay']):
            s['step'] += 1
            square_avg = s['square_avg']
            square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
            if centered:
                grad_avg = s['grad_avg']
                grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha)
                avg = (square_avg - grad_avg * grad_avg).sqrt()
            else:
                avg = square_avg.sqrt()
            avg.add_(eps)
            if momentum > 0:
                buf = s['momentum_buffer']
                buf.mul_(momentum).addcdiv_(grad, avg)
                p.add_(buf, alpha=-lr)
            else:
                p.addcdiv_(grad, avg, value=-lr)
