"""AdamW: Adam with decoupled weight decay (p *= 1 - lr * weight_decay before the Adam update), as
torch.optim.AdamW (1.13)."""
from .adam import Adam, _check_adam_args
from .optimizer import Optimizer, _unsupported_flags

__all__ = ['AdamW']


class AdamW(Adam):
    """torch.optim.AdamW; the update is Adam's with `_decoupled_weight_decay`."""

    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 *, maximize=False, foreach=None, capturable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        _unsupported_flags(capturable=capturable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        foreach=foreach, maximize=maximize, capturable=capturable)
        Optimizer.__init__(self, params, defaults)
