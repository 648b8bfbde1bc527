"""SGD with momentum, dampening, Nesterov momentum, L2 weight decay and maximize, updating in place
exactly as torch.optim.SGD (1.13) does."""
from .optimizer import Optimizer, required, _check_nonnegative, _unsupported_flags

__all__ = ['SGD']


class SGD(Optimizer):
    """torch.optim.SGD: p -= lr * b, with b the momentum buffer (or the gradient without momentum)."""

    def __init__(self, params, lr=required, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False):
        if lr is not required:
            _check_nonnegative(lr=lr)
        _check_nonnegative(momentum=momentum, weight_decay=weight_decay)
        _unsupported_flags(differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _update_group(self, group):
        lr, momentum, dampening, nesterov = group['lr'], group['momentum'], group['dampening'], group['nesterov']
        for p, d_p, state in self._grads(group, group['weight_decay']):
            if momentum != 0:
                buf = state.get('momentum_buffer')
                if buf is None:
                    buf = d_p.detach().clone()
                    state['momentum_buffer'] = buf
                else:
                    buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
                d_p = d_p.add(buf, alpha=momentum) if nesterov else buf
            else:
                state['momentum_buffer'] = None
            p.add_(d_p, alpha=-lr)
