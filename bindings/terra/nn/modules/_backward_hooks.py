"""Module backward hooks (register_full_backward_hook and the legacy register_backward_hook).

As in PyTorch (torch/utils/hooks.py BackwardHook), a module with backward hooks sees its tensor
inputs, and its caller sees its tensor outputs, through identity autograd Functions: the one on
the outputs records the gradients w.r.t. the outputs, the one on the inputs runs when the
gradients w.r.t. the inputs are known, calls the hooks with both and passes on what they return.
Both are plain terra.autograd.Functions, so eager and co-executed runs call them alike.

Note [Legacy module backward hooks]
PyTorch's legacy hook sits on the graph node that made the module's output, so grad_input holds
the gradients w.r.t. that last op's inputs (for a 2-D Linear with bias: addmm's bias, input and
weight.t()). Terra's graph nodes take no Python hooks, so the last op is re-created here: the
module is run with its "last op inputs" seen through the input Function. `_LEGACY_LAST_OPS` knows
the layouts PyTorch's kernels give the common layers (Linear, Sequential); any other module is
taken as one op of its floating tensor inputs followed by its own parameters, which is PyTorch's
layout for single-kernel layers (convolutions, norms, activations, embedding).
"""
import warnings

import terra

from ...autograd.function import Function

Tensor = terra.Tensor

_INPLACE_VIEW_ERROR = ("Output {} of BackwardHookFunctionBackward is a view and is being modified inplace. This view "
                       "was created inside a custom Function (or because an input was returned as-is) and the "
                       "autograd logic to handle view+inplace would override the custom backward associated with "
                       "the custom Function, leading to incorrect gradients. This behavior is forbidden. You can "
                       "fix this by cloning the output of the custom Function.")


class BackwardHookFunction(Function):
    """Identity on its tensor arguments; `on_backward(grads)` sees (and may replace) the gradients."""

    @staticmethod
    def forward(ctx, on_backward, materialize, *args):
        views = tuple(a.view_as(a) for a in args)  # made here, so that marking them takes effect
        ctx.mark_non_differentiable(*[v for v, a in zip(views, args) if not a.requires_grad])
        ctx.set_materialize_grads(materialize)
        ctx.on_backward = on_backward
        return views

    @staticmethod
    def backward(ctx, *grads):
        return (None, None) + tuple(ctx.on_backward(grads))


def _check_versions(views, versions):
    for i, (v, version) in enumerate(zip(views, versions)):
        if v._version != version:
            raise RuntimeError(_INPLACE_VIEW_ERROR.format(i))


def _pack_with_none(indices, values, size):
    res = [None] * size
    for idx, val in zip(indices, values):
        res[idx] = val
    return tuple(res)


class BackwardHook:
    """One call of a hooked module: links the output gradients to the input gradients and calls
    hook(module, grad_input, grad_output) once both are known."""

    def __init__(self, module, user_hooks, legacy=False):
        self.user_hooks = user_hooks
        self.legacy = legacy
        self.module = module
        self.grad_outputs = None
        self.n_outputs = -1
        self.output_tensors_index = None
        self.n_inputs = -1
        self.input_tensors_index = None
        self.input_views = ()
        self.input_versions = ()

    def _apply_on_tensors(self, on_backward, materialize, args):
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in idx]
        if not (any(t.requires_grad for t in tensors) and terra.is_grad_enabled()):
            return args, None, ()
        new_tensors = BackwardHookFunction.apply(on_backward, materialize, *tensors)
        arg_list = list(args)
        for i, t in zip(idx, new_tensors):
            arg_list[i] = t
        return tuple(arg_list), idx, new_tensors

    def _call_user_hooks(self, grads):
        if self.grad_outputs is None:
            # The gradient reached the inputs without passing through the outputs (double backward).
            return grads
        if self.legacy:  # a graph node gives no gradient for an input that needs none
            grads = [g if v.requires_grad else None for g, v in zip(grads, self.input_views)]
        res = _pack_with_none(self.input_tensors_index, grads, self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                   f"got {len(out)}, but expected {len(res)}")
            res = out
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_tensors_index)

    def setup_input_hook(self, args):
        res, idx, views = self._apply_on_tensors(self._call_user_hooks, True, args)
        self.n_inputs = len(args)
        self.input_tensors_index = idx
        self.input_views = views
        self.input_versions = tuple(v._version for v in views)
        return res

    def check_inputs_unchanged(self):
        """PyTorch forbids in-place writes to the input views; Terra checks after forward."""
        _check_versions(self.input_views, self.input_versions)

    def setup_output_hook(self, args):
        is_tuple = isinstance(args, tuple)
        if not is_tuple:
            args = (args,)
        views_box = []

        def on_backward(grads):
            if views_box:
                _check_versions(*views_box)
            self.grad_outputs = _pack_with_none(self.output_tensors_index, grads, self.n_outputs)
            if self.input_tensors_index is None:  # no input needs a gradient: call the hooks now
                grad_inputs = (None,) * self.n_inputs
                for user_hook in self.user_hooks:
                    res = user_hook(self.module, grad_inputs, self.grad_outputs)
                    if res is not None and not (isinstance(res, tuple) and all(el is None for el in res)):
                        raise RuntimeError("Backward hook for Modules where no input requires gradient should "
                                           "always return None or None for all gradients.")
                self.grad_outputs = None
            return grads

        res, idx, views = self._apply_on_tensors(on_backward, False, args)
        views_box.extend([views, tuple(v._version for v in views)])
        self.n_outputs = len(args)
        self.output_tensors_index = idx
        return res if is_tuple else res[0]


# ---- legacy hooks (Note [Legacy module backward hooks]) --------------------------------------------

def _linear_last_op(module, args, kwargs):
    """PyTorch 1.13's at::linear: addmm for 2-D input with bias; addmm on the flattened input then a
    view for contiguous 3-D input with bias; otherwise matmul (mm for 2-D), then add_ of the bias."""
    if len(args) != 1 or kwargs or not isinstance(args[0], Tensor):
        return None
    x, weight, bias = args[0], module.weight, module.bias
    if x.dim() == 2 and bias is not None:
        return (bias, x, weight.t()), lambda b, a, w: terra.addmm(b, a, w)
    if x.dim() == 3 and bias is not None and x.is_contiguous():
        shape = list(x.shape[:-1]) + [weight.shape[0]]
        flat = terra.addmm(bias, x.reshape(-1, x.shape[-1]), weight.t())
        return (flat,), lambda f: f.view(shape)
    if bias is None:
        if x.dim() == 2:
            return (x, weight.t()), lambda a, w: terra.mm(a, w)
        if x.dim() > 2:
            shape = list(x.shape[:-1]) + [weight.shape[0]]
            flat = terra.mm(x.reshape(-1, x.shape[-1]), weight.t())
            return (flat,), lambda f: f.view(shape)
        return None
    return (terra.matmul(x, weight.t()), bias), lambda y, b: y + b


def _sequential_last_op(module, args, kwargs):
    children = list(module._modules.values())
    if not children or kwargs or len(args) != 1:
        return None
    x = args[0]
    for child in children[:-1]:
        x = child(x)
    last = children[-1]
    if last._forward_hooks or last._forward_pre_hooks or last._backward_hooks:
        return (x,), last
    return _last_op(last, (x,), {})


def _generic_last_op(module, args, kwargs):
    """The module as one op of its floating tensor inputs followed by its own parameters."""
    names = [n for n, p in module._parameters.items() if p is not None]
    n_args = len(args)
    leading = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.is_floating_point()]
    inputs = tuple(args[i] for i in leading) + tuple(module._parameters[n] for n in names)

    def run(*seen):
        call_args = list(args)
        for i, t in zip(leading, seen[:len(leading)]):
            call_args[i] = t
        saved = {n: module._parameters[n] for n in names}
        try:
            for n, t in zip(names, seen[len(leading):]):
                module._parameters[n] = t  # seen through the hook Function for this call only
            return module.forward(*call_args[:n_args], **kwargs)
        finally:
            module._parameters.update(saved)
    return inputs, run


def _last_op(module, args, kwargs):
    custom = type(module).forward
    for cls, make in _LEGACY_LAST_OPS:
        if custom is cls.forward:
            found = make(module, args, kwargs)
            if found is not None:
                return found
    return _generic_last_op(module, args, kwargs)


def _make_legacy_last_ops():
    from .container import Sequential
    from .linear import Linear
    return [(Linear, _linear_last_op), (Sequential, _sequential_last_op)]


_LEGACY_LAST_OPS = []


def call_with_legacy_hooks(module, user_hooks, args, kwargs):
    """Runs module.forward so that `user_hooks` see the gradients of its last op's inputs and output."""
    if not _LEGACY_LAST_OPS:
        _LEGACY_LAST_OPS.extend(_make_legacy_last_ops())
    if not terra.is_grad_enabled():
        return module.forward(*args, **kwargs)
    inputs, run = _last_op(module, args, kwargs)
    bw = BackwardHook(module, user_hooks, legacy=True)
    seen = bw.setup_input_hook(inputs)
    result = run(*seen)
    var = result
    while not isinstance(var, Tensor):
        var = next(v for v in var.values() if isinstance(v, Tensor)) if isinstance(var, dict) else var[0]
    if var.grad_fn is None:
        return result
    _maybe_warn_legacy(args, inputs, result)
    if isinstance(result, Tensor):
        return bw.setup_output_hook(result)
    if isinstance(result, tuple) and all(isinstance(r, Tensor) for r in result):
        # one grad_output per output of the node that made the first output
        first = result[0].grad_fn
        same = [i for i, r in enumerate(result) if r.grad_fn is first]
        hooked = bw.setup_output_hook(tuple(result[i] for i in same))
        out = list(result)
        for i, t in zip(same, hooked):
            out[i] = t
        return tuple(out)
    return result


def _maybe_warn_legacy(args, last_inputs, result):
    """PyTorch's _maybe_warn_non_full_backward_hook, on the emulated last op."""
    if not isinstance(result, Tensor):
        if not (isinstance(result, tuple) and all(isinstance(r, Tensor) for r in result)):
            warnings.warn("Using non-full backward hooks on a Module that does not return a single Tensor or a "
                          "tuple of Tensors is deprecated and will be removed in future versions. This hook will "
                          "be missing some of the grad_output. Please use register_full_backward_hook to get the "
                          "documented behavior.")
            return
    else:
        result = (result,)
    if not all(isinstance(a, Tensor) for a in args):
        warnings.warn("Using non-full backward hooks on a Module that does not take as input a single Tensor or a "
                      "tuple of Tensors is deprecated and will be removed in future versions. This hook will be "
                      "missing some of the grad_input. Please use register_full_backward_hook to get the "
                      "documented behavior.")
        return
    # grad_fn objects are kept in lists while their ids are compared: the same node gives the same object
    out_nodes = [r.grad_fn for r in result if r.grad_fn is not None]
    out_fns = {id(n) for n in out_nodes}
    if len(out_fns) > 1:
        warnings.warn("Using a non-full backward hook when outputs are generated by different autograd Nodes is "
                      "deprecated and will be removed in future versions. This hook will be missing some "
                      "grad_output. Please use register_full_backward_hook to get the documented behavior.")
        return
    # PyTorch compares the grad_fns of the inputs with the last node's next functions: a leaf or a
    # tensor that needs no gradient is never among the former.
    in_nodes = [a.grad_fn for a in args if a.grad_fn is not None]
    next_nodes = [t.grad_fn if isinstance(t, Tensor) and t.requires_grad else None for t in last_inputs]
    input_fns = {id(n) for n in in_nodes}
    next_fns = set()
    for t, n in zip(last_inputs, next_nodes):
        if n is not None:
            next_fns.add(id(n))
        elif isinstance(t, Tensor) and t.requires_grad:
            next_fns.add(("leaf", id(t)))  # its AccumulateGrad node, never an input's grad_fn
        else:
            next_fns.add(None)
    if input_fns != next_fns:
        warnings.warn("Using a non-full backward hook when the forward contains multiple autograd Nodes is "
                      "deprecated and will be removed in future versions. This hook will be missing some "
                      "grad_input. Please use register_full_backward_hook to get the documented behavior.")
