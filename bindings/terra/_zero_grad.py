"""Optimizer.zero_grad and Module.zero_grad: PyTorch 1.13's semantics, one loop for both."""


def zero_grads(params, set_to_none):
    """Each parameter's gradient set to None, or detached from any graph and zeroed in place (a
    stateful optimizer still steps a parameter whose gradient stays zero). `.grad` is read once
    per parameter and `requires_grad_` called only when it changes something: this runs every step."""
    for p in params:
        g = p.grad
        if g is None:
            continue
        if set_to_none:
            p.grad = None
            continue
        if g.grad_fn is not None:
            g.detach_()
        elif g.requires_grad:
            g.requires_grad_(False)
        g.zero_()
