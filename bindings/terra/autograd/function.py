"""terra.autograd.Function: custom operations with a backward written in Python (PyTorch's
torch.autograd.Function with static forward and backward).

apply() runs forward with grad mode off; when grad mode is on and an argument requires grad, the
tensor outputs become outputs of one graph node (bindings/src/custom_function.cpp) whose backward
calls the class's backward with the ctx. Gradients are checked as PyTorch checks them: one per
forward argument (trailing Nones may be extra), None for non-tensors, the argument's shape (or
one that sums to it) and dtype.
"""
import functools

from .. import _C
from .grad_mode import no_grad

Tensor = _C.Tensor

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """What forward() and backward() share: saved tensors, flags, and any attribute set on it."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = None
        self._saved_versions = ()
        self._non_differentiable = set()
        self._dirty = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{tensors.index(t)} is of type {type(t).__name__}")
        self._saved = tensors
        self._saved_versions = tuple(None if t is None else t._version for t in tensors)

    @property
    def saved_tensors(self):
        if self._saved is None:
            return ()
        for t, version in zip(self._saved, self._saved_versions):
            if t is not None and t._version != version:
                raise RuntimeError("one of the variables needed for gradient computation has been modified by an "
                                   f"inplace operation: [{t.type()} {list(t.shape)}] is at version {t._version}; "
                                   f"expected version {version} instead.")
        return self._saved

    saved_variables = saved_tensors

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class Function:
    """Subclass with @staticmethod forward(ctx, *args) and backward(ctx, *grad_outputs); call
    MyFunction.apply(*args)."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @classmethod
    def vjp(cls, ctx, *grad_outputs):
        return cls.backward(ctx, *grad_outputs)

    @classmethod
    def apply(cls, *args, **kwargs):
        if kwargs:
            raise TypeError("apply() takes no keyword arguments")
        recording = _C.is_grad_enabled()
        needs = tuple(recording and isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        with no_grad():
            outputs = cls.forward(ctx, *args)
        if ctx._dirty:
            raise NotImplementedError(f"{cls.__name__}: ctx.mark_dirty (a custom Function that modifies its input "
                                      "in place) is not supported by Terra")
        if not any(needs):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = [outputs] if single else list(outputs)
        arg_ids = {id(a) for a in args if isinstance(a, Tensor)}
        graph_outputs, shapes = [], []
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                continue
            if id(o) in arg_ids:  # an input returned as it is: the output is a view of it, as in PyTorch
                with no_grad():
                    o = outs[i] = o.view_as(o)
            differentiable = id(o) not in ctx._non_differentiable and o.is_floating_point()
            graph_outputs.append(o if differentiable else None)
            shapes.append((list(o.shape), o.dtype, o.device))
        name = cls.__name__ + "Backward"
        _C._attach_function_node(functools.partial(_run_backward, cls, ctx, name, args, shapes), name, args,
                                 graph_outputs)
        return outs[0] if single else tuple(outs)


def _run_backward(cls, ctx, name, args, shapes, *grads):
    if ctx.materialize_grads:
        grads = [_C._ops.zeros(shape, dtype=dtype, device=str(device)) if g is None else g
                 for g, (shape, dtype, device) in zip(grads, shapes)]
    result = cls.backward(ctx, *grads)
    result = result if isinstance(result, tuple) else (result,)
    if len(result) > len(args) and all(r is None for r in result[len(args):]):
        result = result[:len(args)]
    if len(result) != len(args):
        raise RuntimeError(f"function {name} returned an incorrect number of gradients (expected {len(args)}, "
                           f"got {len(result)})")
    checked = []
    for i, (g, a) in enumerate(zip(result, args)):
        if g is None or not (isinstance(a, Tensor) and a.requires_grad):
            if g is not None and not isinstance(a, Tensor):
                raise RuntimeError(f"function {name} returned a gradient different than None at position {i + 1}, "
                                   "but the corresponding forward input was not a Variable")
            checked.append(None)
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"function {name} returned a gradient of type {type(g).__name__} at position {i + 1}; "
                            "expected a Tensor or None")
        if tuple(g.shape) != tuple(a.shape):
            try:
                g = g.sum_to_size(*a.shape)
            except RuntimeError:
                raise RuntimeError(f"Function {name} returned an invalid gradient at index {i} - got "
                                   f"{list(g.shape)} but expected shape compatible with {list(a.shape)}") from None
        if g.dtype is not a.dtype:
            g = g.to(a.dtype)
        checked.append(g)
    return tuple(checked)


def once_differentiable(fn):
    """Marks a backward that cannot itself be differentiated: it runs with grad mode off."""
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)
    return wrapper
