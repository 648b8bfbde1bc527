"""The harness of the function parity tables (test_composite_functions.py,
test_more_functions.py): random inputs from compact specs, a function run over terra or torch
with the gradient of every floating input through a random weighting of every floating output,
and the comparison of results."""
import warnings

import numpy as np
import torch


def inputs(specs, seed):
    """Each spec: a shape (float64 normal draws), ("pos", shape), ("int", shape, high), ("bool",
    shape), ("f32", shape), ("sorted", n), ("sign", shape) (+1/-1 as float64), ("perm", shape)
    (distinct int64), ("prob", shape) (in (0, 1)), or a Python value."""
    rng = np.random.default_rng(seed)
    out = []
    for s in specs:
        if isinstance(s, tuple) and s and isinstance(s[0], str):
            kind, shape = s[0], s[1]
            if kind == "pos":
                out.append(rng.uniform(0.2, 2.0, shape))
            elif kind == "int":
                out.append(rng.integers(0, s[2], shape).astype(np.int64))
            elif kind == "bool":
                out.append(rng.random(shape) < 0.5)
            elif kind == "f32":
                out.append(rng.standard_normal(shape).astype(np.float32))
            elif kind == "sorted":
                out.append(np.sort(rng.standard_normal(shape)))
            elif kind == "sign":
                out.append(np.where(rng.random(shape) < 0.5, -1.0, 1.0))
            elif kind == "perm":  # distinct integers: no ties for order statistics to break
                out.append(rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.int64))
            elif kind == "prob":
                out.append(rng.uniform(0.05, 0.95, shape))
            else:
                raise ValueError(kind)
        elif isinstance(s, tuple):
            out.append(rng.standard_normal(s))
        else:
            out.append(s)
    return out


def flatten(out):
    if isinstance(out, (tuple, list)):
        for o in out:
            yield from flatten(o)
    else:
        yield out


def run(lib, fn, arrays):
    tensors = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            t = lib.tensor(a.copy())
            if a.dtype.kind == "f":
                t.requires_grad_(True)
            tensors.append(t)
        else:
            tensors.append(a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = list(flatten(fn(lib, *tensors)))
    rng = np.random.default_rng(7)
    loss = None
    for o in outs:
        if isinstance(o, lib.Tensor) and o.is_floating_point():
            w = lib.tensor(rng.standard_normal(tuple(o.shape))).to(o.dtype)  # drawn for every output alike
            if o.requires_grad:
                term = (o * w).sum()
                loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()
    grads = [t.grad if isinstance(t, lib.Tensor) and t.requires_grad else None for t in tensors]
    return outs, grads


def compare(name, ours, theirs, rtol):
    assert len(ours) == len(theirs), name
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if isinstance(b, torch.Tensor):
            assert str(a.dtype).replace("terra", "torch") == str(b.dtype), f"{name} output {i}: {a.dtype} != {b.dtype}"
            assert tuple(a.shape) == tuple(b.shape), f"{name} output {i}: {tuple(a.shape)} != {tuple(b.shape)}"
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=rtol,
                                       err_msg=f"{name} output {i}")
        else:
            assert a == b, f"{name} output {i}: {a} != {b}"
