"""Helpers for the terra.nn parity tests against PyTorch 1.13.

check_module builds the same layer in both libraries, gives terra PyTorch's weights (same
parameter names), feeds the same random inputs and compares outputs, then the gradients of the
inputs and of every parameter after backward of a random-weighted sum of the outputs.
"""
import numpy as np
import pytest
import torch

import terra
from parity import copy_state, to_numpy, to_terra

DTYPES = ["float32", "float64"]
RTOL = {"float32": 1e-5, "float64": 1e-10}


def torch_dtype(name):
    return {"float32": torch.float32, "float64": torch.float64}[name]


def terra_dtype(name):
    return {"float32": terra.float32, "float64": terra.float64}[name]


def rand(rng, *shape, dtype="float32", low=-1.0, high=1.0):
    """Uniform values in [low, high) kept away from 0 (so no input is all-zero or sits on a kink)."""
    x = rng.uniform(low, high, size=shape)
    x = np.where(np.abs(x) < 1e-3, 0.5, x)
    return x.astype(dtype)


def close(actual, expected, dtype, what="", scale_floor=1e-3, rtol=None):
    """|a - e| <= rtol * max|e| elementwise: `rtol` relative to the tensor's magnitude, so sums
    that cancel to ~0 are judged against the size of what they summed."""
    a = to_numpy(actual).astype(np.float64)
    e = to_numpy(expected).astype(np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    rtol = RTOL[dtype] if rtol is None else rtol
    scale = max(float(np.max(np.abs(e))) if e.size else 0.0, scale_floor)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * scale, err_msg=what)


def flat_tensors(out):
    """The tensors of a (nested tuple/list) output, in order, skipping None."""
    if out is None:
        return []
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res += flat_tensors(o)
        return res
    return [out]


def make_inputs(arrays, dtype, grad, grad_inputs=None):
    """(torch inputs, terra inputs) from numpy arrays; floating ones require grad when `grad`
    (only those at the positions in `grad_inputs` when given)."""
    t_in, x_in = [], []
    for i, a in enumerate(arrays):
        if a is None:
            t_in.append(None)
            x_in.append(None)
            continue
        t = torch.tensor(a)
        if t.is_floating_point():
            t = t.to(torch_dtype(dtype))
            if grad and (grad_inputs is None or i in grad_inputs):
                t.requires_grad_(True)
        t_in.append(t)
        x_in.append(to_terra(t))
    return t_in, x_in


def weighted_sum(outs, rng, lib):
    total = None
    for o in outs:
        if not o.is_floating_point():
            continue
        w = rng.uniform(0.5, 1.5, size=tuple(o.shape)).astype(np.float64)
        if lib is torch:
            w = torch.tensor(w, dtype=o.dtype)
        else:
            w = terra.tensor(w).to(o.dtype)
        term = (o * w).sum()
        total = term if total is None else total + term
    return total


def _compare_outputs(t_out, x_out, dtype, rtol):
    t_outs, x_outs = flat_tensors(t_out), flat_tensors(x_out)
    assert len(t_outs) == len(x_outs), f"{len(x_outs)} outputs, torch has {len(t_outs)}"
    for i, (x, t) in enumerate(zip(x_outs, t_outs)):
        close(x, t, dtype, f"output {i}", rtol=rtol)
    return t_outs, x_outs


def _backward_and_compare_inputs(t_outs, x_outs, t_in, x_in, dtype, rtol):
    """Backward of the same random-weighted sum of the outputs in both, then input grads."""
    t_loss = weighted_sum(t_outs, np.random.default_rng(1), torch)
    x_loss = weighted_sum(x_outs, np.random.default_rng(1), terra)
    t_loss.backward()
    x_loss.backward()
    for i, (x, t) in enumerate(zip(x_in, t_in)):
        if t is not None and t.requires_grad:
            close(x.grad, t.grad, dtype, f"grad of input {i}", rtol=rtol)


def check_module(make_torch, make_terra, inputs, dtype, *, train=False, grad=True, kwargs=None,
                 call=None, check_buffers=True, grad_inputs=None, rtol=None):
    """Parity of one layer. inputs: numpy arrays (float ones cast to `dtype`); call(module,
    *inputs) overrides the plain module(*inputs, **kwargs)."""
    torch.manual_seed(0)
    tm = make_torch().to(torch_dtype(dtype))
    xm = make_terra().to(terra_dtype(dtype))
    copy_state(tm, xm)
    tm.train(train)
    xm.train(train)
    kwargs = kwargs or {}
    t_in, x_in = make_inputs(inputs, dtype, grad, grad_inputs)
    if call is None:
        t_out = tm(*t_in, **kwargs)
        x_out = xm(*x_in, **kwargs)
    else:
        t_out = call(tm, *t_in)
        x_out = call(xm, *x_in)
    t_outs, x_outs = _compare_outputs(t_out, x_out, dtype, rtol)
    if check_buffers:
        for (name, tb), (xname, xb) in zip(tm.named_buffers(), xm.named_buffers()):
            assert name == xname
            close(xb, tb, dtype, f"buffer {name}", rtol=rtol)
    if not grad:
        return tm, xm
    _backward_and_compare_inputs(t_outs, x_outs, t_in, x_in, dtype, rtol)
    t_params = dict(tm.named_parameters())
    x_params = dict(xm.named_parameters())
    assert list(t_params) == list(x_params)
    for name, tp in t_params.items():
        if tp.grad is None:
            assert x_params[name].grad is None, f"{name}: terra has a grad, torch has none"
            continue
        assert x_params[name].grad is not None, f"grad of {name} missing"
        close(x_params[name].grad, tp.grad, dtype, f"grad of {name}", rtol=rtol)
    return tm, xm


def check_function(t_fn, x_fn, inputs, dtype, *, grad=True, grad_inputs=None, rtol=None):
    """Parity of a functional: t_fn(*torch inputs) vs x_fn(*terra inputs), then input grads."""
    t_in, x_in = make_inputs(inputs, dtype, grad, grad_inputs)
    t_outs, x_outs = _compare_outputs(t_fn(*t_in), x_fn(*x_in), dtype, rtol)
    if grad:
        _backward_and_compare_inputs(t_outs, x_outs, t_in, x_in, dtype, rtol)


def assert_same_error(t_call, x_call, same_message=False):
    """Both calls raise the same exception type (and message); returns (torch's, terra's)
    messages."""
    with pytest.raises(Exception) as te:
        t_call()
    with pytest.raises(Exception) as xe:
        x_call()
    assert type(xe.value) is type(te.value), f"{type(xe.value)} != {type(te.value)}: {xe.value}"
    if same_message:
        assert str(xe.value) == str(te.value)
    return str(te.value), str(xe.value)


def phases():
    """Forward parity and gradient parity as separate test cases, so a missing derivative in
    the engine shows as a failed gradient case while the forward case still passes."""
    return pytest.mark.parametrize("grad", [False, True], ids=["forward", "backward"])
