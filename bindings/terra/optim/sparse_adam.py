"""SparseAdam: torch.optim.SparseAdam (1.13), the lazy Adam that updates only the rows a sparse
gradient names.

Note [Sparse gradients are dense in Terra]
Terra has no sparse tensors: Embedding(sparse=True) gives a dense gradient, zero in the rows the
batch did not look up. The rows PyTorch's coalesced sparse gradient names are taken here as the
rows of the dense gradient with a non-zero entry; they differ only for a looked-up row whose
gradient is exactly zero (PyTorch leaves out padding_idx rows too, and so does this rule).
"""
import math

import terra

from .optimizer import Optimizer

__all__ = ['SparseAdam']


class SparseAdam(Optimizer):
    """Adam moments and steps on the rows of dim 0 that the gradient names (Note [Sparse gradients
    are dense in Terra]); other rows, and their moments, are left as they are."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if not 0.0 < lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if not 0.0 < eps:
            raise ValueError("Invalid epsilon value: {}".format(eps))
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError("Invalid beta parameter at index 0: {}".format(betas[0]))
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError("Invalid beta parameter at index 1: {}".format(betas[1]))
        super().__init__(list(params), dict(lr=lr, betas=betas, eps=eps, maximize=maximize))

    def _init_state(self, p, group, state):
        state['step'] = 0
        state['exp_avg'] = terra.zeros_like(p)
        state['exp_avg_sq'] = terra.zeros_like(p)

    def _update_group(self, group):
        beta1, beta2 = group['betas']
        eps, lr = group['eps'], group['lr']
        for p, grad, s in self._grads(group):
            s['step'] += 1
            step = s['step']
            if grad.dim() == 0:
                rows = grad != 0
            else:
                rows = (grad != 0).reshape(grad.shape[0], -1).any(1).reshape([-1] + [1] * (grad.dim() - 1))
            exp_avg, exp_avg_sq = s['exp_avg'], s['exp_avg_sq']
            old_avg, old_avg_sq = exp_avg.clone(), exp_avg_sq.clone()
            avg_update = grad.sub(old_avg).mul_(1 - beta1)
            avg_sq_update = grad.pow(2).sub_(old_avg_sq).mul_(1 - beta2)
            exp_avg.copy_(terra.where(rows, exp_avg + avg_update, exp_avg))
            exp_avg_sq.copy_(terra.where(rows, exp_avg_sq + avg_sq_update, exp_avg_sq))
            numer = avg_update.add_(old_avg)
            denom = avg_sq_update.add_(old_avg_sq).sqrt_().add_(eps)
            step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
            p.copy_(terra.where(rows, p + numer.div_(denom) * -step_size, p))
