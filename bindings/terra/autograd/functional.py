"""Higher-level autograd (torch.autograd.functional): jacobian, hessian, vjp, jvp, hvp, vhp.

All are built on autograd.grad, with PyTorch 1.13's argument handling, strict-mode checks and
output nesting (a Tensor or a tuple, as the function's inputs and outputs were given). Forward
products (jvp, hvp) use the double-backward trick: the gradient of a vector-Jacobian product
with respect to its (zero) vector is the Jacobian-vector product. Terra has no batched gradients:
`vectorize=True` computes the same values one row at a time, and `strategy="forward-mode"` the
same values by reverse mode (after PyTorch's argument checks for it).
"""

import terra

from .. import _C
from . import grad as _grad
from .grad_mode import enable_grad, set_grad_enabled

Tensor = _C.Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


# ---------------------------------------------------------------------------------------------
# Argument handling


def _as_tuple(inp, arg_name, fn_name):
    """(whether inp was a tuple, inp as a tuple), checking that it holds tensors."""
    is_tuple = isinstance(inp, tuple)
    items = inp if is_tuple else (inp,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"value at index {i}" if is_tuple else f"given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple "
                            f"of Tensors but the {where} has type {type(item)}.")
    return is_tuple, items


def _unpack(result, is_tuple):
    """result (a tuple with one entry per input or output) as the caller gave that side."""
    return result if is_tuple else result[0]


def _unpack_nested(result, is_outer_tuple, is_inner_tuple):
    if not is_inner_tuple:
        result = tuple(row[0] for row in result)
    return result if is_outer_tuple else result[0]


def _grad_preprocess(inputs, create_graph, need_graph):
    """Fresh leaves for the inputs (kept in the caller's graph, through a view, when create_graph
    and they require grad)."""
    return tuple(inp.view_as(inp) if create_graph and inp.requires_grad
                 else inp.detach().requires_grad_(need_graph) for inp in inputs)


def _grad_postprocess(tensors, create_graph):
    if tensors and not isinstance(tensors[0], Tensor):
        return tuple(_grad_postprocess(row, create_graph) for row in tensors)
    return tensors if create_graph else tuple(t.detach() for t in tensors)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.size()} but got "
                               f"{el_v.size()}.")


def _prepare_v(v, against, is_against_tuple, fn_name, create_graph, none_message):
    """v as a tuple matching `against` (inputs or outputs); v=None is allowed only where that
    side is a single one-element tensor (it means 1)."""
    if v is None:
        if len(against) != 1 or against[0].nelement() != 1:
            raise RuntimeError(none_message)
        return None
    _, v = _as_tuple(v, "v", fn_name)
    v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
    _validate_v(v, against, is_against_tuple)
    return v


_V_NONE_FOR_INPUT = ("The vector v can only be None if the input to the user-provided function "
                     "is a single Tensor with a single element.")

_REQUIRES_GRAD_MESSAGES = {
    "outputs": "Output {} of the user-provided function does not require gradients. The outputs "
               "must be computed in a differentiable manner from the input when running in "
               "strict mode.",
    "grad_inputs": "The gradient with respect to input {} is independent of the inputs of the "
                   "user-provided function. This is not allowed in strict mode.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided "
                "function with respect to input {} is independent of the input. This is not "
                "allowed in strict mode. You should ensure that your function is twice "
                "differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example).",
    "hessian": "The hessian of the user-provided function with respect to input {} is "
               "independent of the input. This is not allowed in strict mode. You should ensure "
               "that your function is thrice differentiable and that the hessian depends on the "
               "inputs.",
}


def _check_requires_grad(tensors, kind, strict):
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input "
                               f"{i}. This is not allowed in strict mode.")
        if not t.requires_grad:
            raise RuntimeError(_REQUIRES_GRAD_MESSAGES[kind].format(i))


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that require grad (None for every input if none does);
    unused inputs get None."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(out, g) for out, g in zip(outputs, grad_outputs)
             if out is not None and out.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    new_outputs, new_grads = zip(*pairs)
    return tuple(_grad(list(new_outputs), list(inputs), list(new_grads), retain_graph=retain_graph,
                       create_graph=create_graph, allow_unused=True))


_MISSING_GRAD_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {}. This is not "
            "allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {}. This "
                   "is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {} in "
                         "the grad_jacobian. This is not allowed in strict mode as it prevents "
                         "from using the double backward trick to replace forward mode AD.",
}


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    """grads with each None replaced by zeros like refs[i] (an error in strict mode)."""
    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_MISSING_GRAD_MESSAGES[stage].format(i))
            g = terra.zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input "
                               f"{i}. This is not allowed in strict mode when create_graph=True.")
        res.append(g)
    return tuple(res)


def _call(func, inputs, fn_name, strict):
    """func(*inputs) as (whether it returned a tuple, its outputs as a tuple)."""
    is_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", fn_name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    return is_tuple, outputs


def _check_single_element_output(is_outputs_tuple, outputs, fn_name):
    if is_outputs_tuple or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")


def _final_grad(outputs, inputs, v, create_graph, strict, stage, refs):
    """The last backward of vjp/jvp/vhp/hvp: with grad mode on when create_graph, as the
    caller's otherwise; missing gradients become zeros like refs."""
    with set_grad_enabled(True if create_graph else terra.is_grad_enabled()):
        grads = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        return _fill_in_zeros(grads, refs, strict, create_graph, stage)


# ---------------------------------------------------------------------------------------------
# Products


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product at inputs."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        is_outputs_tuple, outputs = _call(func, inputs, "vjp", strict)
        v = _prepare_v(v, outputs, is_outputs_tuple, "vjp", create_graph,
                       "The vector v can only be None if the user-provided function returns a "
                       "single Tensor with a single element.")
    vjp_ = _final_grad(outputs, inputs, v, create_graph, strict, "back", inputs)
    return (_unpack(_grad_postprocess(outputs, create_graph), is_outputs_tuple),
            _unpack(_grad_postprocess(vjp_, create_graph), is_inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product at inputs (double-backward trick)."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, "jvp", create_graph, _V_NONE_FOR_INPUT)
        is_outputs_tuple, outputs = _call(func, inputs, "jvp", strict)
        # u -> J^T u is linear in u; its gradient with respect to u, applied to v, is J v.
        grad_outputs = tuple(terra.zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)
    jvp_ = _final_grad(grad_inputs, grad_outputs, v, create_graph, strict, "back_trick", outputs)
    return (_unpack(_grad_postprocess(outputs, create_graph), is_outputs_tuple),
            _unpack(_grad_postprocess(jvp_, create_graph), is_outputs_tuple))


def _first_derivative(func, inputs, fn_name, create_graph, strict):
    """Shared start of vhp and hvp: (outputs, whether a tuple, jacobian with a graph)."""
    is_outputs_tuple, outputs = _call(func, inputs, fn_name, strict)
    _check_single_element_output(is_outputs_tuple, outputs, fn_name)
    jac = _autograd_grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict=strict)
    return outputs, is_outputs_tuple, jac


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a function returning one element."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, "vhp", create_graph, _V_NONE_FOR_INPUT)
        outputs, is_outputs_tuple, jac = _first_derivative(func, inputs, "vhp", create_graph,
                                                           strict)
    vhp_ = _final_grad(jac, inputs, v, create_graph, strict, "double_back", inputs)
    return (_unpack(_grad_postprocess(outputs, create_graph), is_outputs_tuple),
            _unpack(_grad_postprocess(vhp_, create_graph), is_inputs_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a function returning one element (double-backward trick)."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, "hvp", create_graph, _V_NONE_FOR_INPUT)
        outputs, is_outputs_tuple, jac = _first_derivative(func, inputs, "hvp", create_graph,
                                                           strict)
        grad_jac = tuple(terra.zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict=strict)
    hvp_ = _final_grad(double_back, grad_jac, v, create_graph, strict, "double_back_trick",
                       inputs)
    return (_unpack(_grad_postprocess(outputs, create_graph), is_outputs_tuple),
            _unpack(_grad_postprocess(hvp_, create_graph), is_inputs_tuple))


# ---------------------------------------------------------------------------------------------
# Full matrices


def _check_strategy(strategy, create_graph, strict, vectorize):
    assert strategy in ("forward-mode", "reverse-mode"), (
        'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function '
        'has more outputs than inputs, "forward-mode" tends to be more performant. Otherwise, '
        'prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError("torch.autograd.functional.jacobian: `create_graph=True` and "
                                      '`strategy="forward-mode"` are not supported together (yet). '
                                      "Please either set `create_graph=False` or "
                                      '`strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               '`strategy="forward-mode"` are not supported together (yet). '
                               'Please either set `strict=False` or `strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                      "Hessian isonly implemented for `vectorize=True`.")
    elif vectorize and strict:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                           "`vectorized=True` are not supported together. Please either set "
                           "`strict=False` or `vectorize=False`.")


def _jacobian_of_output(i, out, inputs, create_graph, strict):
    """The jacobians of output i with respect to each input, shaped out.shape + input.shape,
    one backward per element of the output."""
    rows = tuple([] for _ in inputs)
    flat = out.reshape(-1)
    for j in range(out.nelement()):
        vj = _autograd_grad((flat[j],), inputs, retain_graph=True, create_graph=create_graph)
        for el_idx, (row, vj_el, inp) in enumerate(zip(rows, vj, inputs)):
            if vj_el is None:
                if strict:
                    raise RuntimeError(f"Output {i} of the user-provided function is independent "
                                       f"of input {el_idx}. This is not allowed in strict mode.")
                vj_el = terra.zeros_like(inp)
            elif strict and create_graph and not vj_el.requires_grad:
                raise RuntimeError("The jacobian of the user-provided function is independent of "
                                   f"input {i}. This is not allowed in strict mode when "
                                   "create_graph=True.")
            row.append(vj_el)
    return tuple(terra.stack(row, dim=0).view(out.size() + inp.size()) if row
                 else terra.zeros(out.size() + inp.size(), dtype=inp.dtype, device=inp.device)
                 for row, inp in zip(rows, inputs))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func(inputs) / d inputs: J[i][j] has shape outputs[i].shape + inputs[j].shape (a
    Tensor instead of a tuple on each side given as a Tensor)."""
    _check_strategy(strategy, create_graph, strict, vectorize)
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        is_outputs_tuple, outputs = _call(func, inputs, "jacobian", strict)
        jac = tuple(_jacobian_of_output(i, out, inputs, create_graph, strict)
                    for i, out in enumerate(outputs))
        jac = _grad_postprocess(jac, create_graph)
        if strategy == "forward-mode":  # PyTorch nests lists there
            jac = [list(row) for row in jac]
        return _unpack_nested(jac, is_outputs_tuple, is_inputs_tuple)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The second derivatives of a function returning one element: H[i][j] has shape
    inputs[i].shape + inputs[j].shape."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    assert outer_jacobian_strategy in ("forward-mode", "reverse-mode"), (
        'Expected strategy to be either "forward-mode" or "reverse-mode".')

    def ensure_single_output_function(*inp):
        is_out_tuple, out = _call(func, inp, "hessian", strict)
        _check_single_element_output(is_out_tuple, out, "hessian")
        return out[0].squeeze()

    def jac_func(*inp):
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _unpack_nested(res, is_inputs_tuple, is_inputs_tuple)
