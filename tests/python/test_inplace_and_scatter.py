"""The elementwise functions, in-place forms and scatter functions Terra composes in Python
(_elementwise_more.py, _inplace_functions.py, _scatter_functions.py) against PyTorch 1.13: values
and gradients through the parity harness, in-place forms returning self, bumping the version and
raising where PyTorch raises, and scatter_reduce/index_reduce with duplicate indices and
include_self both ways."""
import numpy as np
import pytest
import torch

import terra
from function_parity import compare, inputs, run

CASES = [
    ("acosh", lambda L, x: L.acosh(x.abs() + 1.0), [(30,)]),
    ("arccosh", lambda L, x: L.arccosh(x * 1e3 + 2e3), [(30,)]),
    ("angle", lambda L, x: L.angle(x), [(30,)]),
    ("nextafter", lambda L, x, y: L.nextafter(x.detach(), y.detach()), [(30,), (30,)]),
    ("nextafter_f32", lambda L, x: L.nextafter(x.detach(), L.zeros_like(x)), [("f32", (30,))]),
    ("renorm", lambda L, x: L.renorm(x, 2, 1, 1.5), [(4, 5, 3)]),
    ("renorm_p1", lambda L, x: x.renorm(1, 0, 2.0), [(4, 5)]),
    ("arctan2", lambda L, x, y: L.arctan2(x, y), [(6,), (6,)]),
    ("conj", lambda L, x: (L.conj(x), x.resolve_conj(), L.resolve_neg(x), x.is_conj(), L.is_neg(x)), [(3,)]),
    ("narrow_copy", lambda L, x: L.narrow_copy(x.detach(), 1, 1, 2), [(3, 4)]),
    ("adjoint", lambda L, x: (L.adjoint(x), x.mH, x.mT), [(2, 3, 4)]),
    ("unsafe_split", lambda L, x: (L.unsafe_chunk(x, 2, 1), L.unsafe_split(x, 3), x.unsafe_split_with_sizes([1, 4])),
     [(5, 4)]),
    ("select_scatter", lambda L, x, s: L.select_scatter(x, s, 1, -1), [(3, 4, 2), (3, 2)]),
    ("slice_scatter", lambda L, x, s: L.slice_scatter(x, s, 1, 1, None, 2), [(3, 6), (3, 3)]),
    ("slice_scatter_method", lambda L, x, s: x.slice_scatter(s, 1, 2, 5, 1), [(3, 6), (3, 3)]),
    ("diagonal_scatter", lambda L, x, s: L.diagonal_scatter(x, s), [(3, 5), (3,)]),
    ("diagonal_scatter_offset", lambda L, x, s: L.diagonal_scatter(x, s, -1, 2, 0), [(4, 2, 3), (2, 2)]),
    ("diagonal_scatter_pos", lambda L, x, s: x.diagonal_scatter(s, 2), [(4, 5), (3,)]),
]
for reduce in ("sum", "prod", "mean", "amax", "amin"):
    for include_self in (True, False):
        CASES.append((f"scatter_reduce_{reduce}_{include_self}",
                      lambda L, x, i, s, r=reduce, b=include_self: L.scatter_reduce(x, 1, i, s, r, include_self=b),
                      [(3, 5), ("int", (2, 6), 5), (2, 6)]))
for reduce in ("prod", "mean", "amax", "amin"):
    for include_self in (True, False):
        CASES.append((f"index_reduce_{reduce}_{include_self}",
                      lambda L, x, i, s, r=reduce, b=include_self: x.index_reduce(0, i, s, r, include_self=b),
                      [(4, 3), ("int", (6,), 4), (6, 3)]))


@pytest.mark.parametrize("name, fn, specs", CASES, ids=[c[0] for c in CASES])
def test_matches_pytorch(name, fn, specs):
    arrays = inputs(specs, seed=len(name))
    ours, our_grads = run(terra, fn, arrays)
    theirs, their_grads = run(torch, fn, arrays)
    compare(name, ours, theirs, rtol=1e-12)
    compare(name + " grads", [g for g in our_grads if g is not None], [g for g in their_grads if g is not None], 1e-10)


def test_scatter_reduce_integers_and_errors():
    x, i, s = terra.tensor([[1, 2, 3]]), terra.tensor([[0, 0, 2]]), terra.tensor([[4, 6, 9]])
    tx, ti, ts = (torch.tensor(a.numpy()) for a in (x, i, s))
    for r in ("sum", "prod", "mean", "amax", "amin"):
        for b in (True, False):
            assert terra.scatter_reduce(x, 1, i, s, r, include_self=b).tolist() == \
                torch.scatter_reduce(tx, 1, ti, ts, r, include_self=b).tolist(), (r, b)
    with pytest.raises(RuntimeError):
        x.scatter_reduce(1, i, s, "max")


# (method, args, self values): in-place forms against PyTorch's.
INPLACE = [
    ("absolute_", (), None), ("arccos_", (), "unit"), ("arcsin_", (), "unit"), ("arctan_", (), None),
    ("arcsinh_", (), None), ("arctanh_", (), "unit"), ("arccosh_", (), "big"), ("acosh_", (), "big"),
    ("arctan2_", ("other",), None), ("cumprod_", (1,), None), ("deg2rad_", (), None), ("rad2deg_", (), None),
    ("divide_", ("other",), None), ("true_divide_", ("other",), None), ("exp2_", (), None), ("fix_", (), None),
    ("trunc_", (), None), ("fmod_", ("other",), None), ("frac_", (), None), ("greater_", ("other",), None),
    ("greater_equal_", ("other",), None), ("less_", ("other",), None), ("less_equal_", ("other",), None),
    ("not_equal_", ("other",), None), ("hypot_", ("other",), None), ("multiply_", ("other",), None),
    ("subtract_", ("other",), None), ("negative_", (), None), ("nan_to_num_", (), None), ("sgn_", (), None),
    ("sinc_", (), None), ("square_", (), None), ("xlogy_", ("other",), "big"), ("copysign_", ("other",), None),
    ("heaviside_", ("other",), None), ("logit_", (), "prob"), ("i0_", (), None), ("mvlgamma_", (2,), "big"),
    ("float_power_", (2.0,), None), ("renorm_", (2, 0, 1.0), None), ("nextafter_", ("other",), None),
]


def _self_values(kind, rng):
    v = rng.standard_normal((3, 4))
    return {"unit": np.tanh(v), "big": np.abs(v) + 1.5, "prob": 1 / (1 + np.exp(v))}.get(kind, v)


@pytest.mark.parametrize("name, args, kind", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_forms(name, args, kind):
    rng = np.random.default_rng(len(name))
    base, other = _self_values(kind, rng), rng.standard_normal((3, 4))
    lib_args = lambda L: [L.tensor(other) if a == "other" else a for a in args]  # noqa: E731
    t, r = terra.tensor(base), torch.tensor(base)
    version = t._version
    assert getattr(t, name)(*lib_args(terra)) is t
    assert t._version > version
    getattr(r, name)(*lib_args(torch))
    np.testing.assert_allclose(t.numpy(), r.numpy(), rtol=1e-12, atol=1e-14, err_msg=name)
    leaf = terra.tensor(base, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(leaf, name)(*lib_args(terra))
    if hasattr(torch, name):
        assert getattr(terra, name)(terra.tensor(base), *lib_args(terra)) is not None


def test_inplace_gradient_through_copy():
    x = terra.tensor([0.5, 2.0, 3.0], requires_grad=True)
    y = x * 1.0
    y.arcsinh_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / np.sqrt(1 + np.array([0.5, 2.0, 3.0]) ** 2), rtol=1e-6)


@pytest.mark.parametrize("name, args", [("divide_", (2.5,)), ("arccos_", ()), ("exp2_", ()), ("float_power_", (2,)),
                                        ("hypot_", (1.0,))])
def test_inplace_dtype_errors_match_pytorch(name, args):
    with pytest.raises(RuntimeError):
        getattr(torch.tensor([1, 2]), name)(*[torch.tensor(a) for a in args])
    with pytest.raises(RuntimeError):
        getattr(terra.tensor([1, 2]), name)(*[terra.tensor(a) for a in args])


def test_inplace_broadcast_shape_error():
    with pytest.raises(RuntimeError):
        terra.ones(3).multiply_(terra.ones(2, 3))


def test_scatter_reduce_inplace_and_new_empty_strided():
    x = terra.zeros(2, 3)
    idx = terra.tensor([[0, 0, 1]])
    assert x.scatter_reduce_(1, idx, terra.tensor([[1.0, 2.0, 3.0]]), "amax", include_self=False) is x
    assert x.tolist() == [[2.0, 3.0, 0.0], [0.0, 0.0, 0.0]]
    y = terra.ones(4)
    assert y.index_reduce_(0, terra.tensor([1, 1]), terra.tensor([2.0, 3.0]), "prod") is y
    assert y.tolist() == [1.0, 6.0, 1.0, 1.0]
    e = x.new_empty_strided((2, 2), (2, 1))
    assert tuple(e.shape) == (2, 2) and e.dtype is terra.float32


# Writes whose result would depend on the order the kernel visits elements in (Note [Overlapping
# writes] in engine/dispatch/dispatcher.cpp): refused as PyTorch refuses them; writes that read
# exactly what they write, or disjoint parts of one tensor, go through with PyTorch's values.
def _seq(L, *shape):
    n = int(np.prod(shape))
    return L.tensor(np.random.default_rng(n).standard_normal(n).astype(np.float32)).view(*shape)


OVERLAPPING_WRITES = {
    "setitem_shifted_view": lambda L: (lambda a: a.__setitem__(slice(1, None), a[:-1]))(_seq(L, 6)),
    "copy_from_transpose": lambda L: (lambda a: a.copy_(a.t()))(_seq(L, 3, 3)),
    "add_transpose": lambda L: (lambda a: a.add_(a.t()))(_seq(L, 3, 3)),
    "add_shifted": lambda L: (lambda a: a[1:].add_(a[:-1]))(_seq(L, 6)),
    "mul_shifted_tensor": lambda L: (lambda a: a[:-1].mul_(a[1:]))(_seq(L, 6)),
    "add_into_expanded": lambda L: _seq(L, 3).expand(2, 3).add_(1),
    "mul_into_expanded": lambda L: _seq(L, 1).expand(4).mul_(2),
    "copy_into_expanded": lambda L: _seq(L, 1).expand(3).copy_(_seq(L, 3)),
}


@pytest.mark.parametrize("name", sorted(OVERLAPPING_WRITES))
def test_overlapping_writes_are_refused_as_torch_refuses_them(name):
    write = OVERLAPPING_WRITES[name]
    with pytest.raises(RuntimeError) as want:
        write(torch)
    with pytest.raises(RuntimeError) as got:
        write(terra)
    assert str(want.value).split(". ")[0] in str(got.value)


ALLOWED_WRITES = {
    "add_itself": lambda L: (lambda a: (a.add_(a), a)[1])(_seq(L, 5)),
    "add_out_itself": lambda L: (lambda a: (L.add(a, a, out=a), a)[1])(_seq(L, 5)),
    "disjoint_halves": lambda L: (lambda a: (a[:3].copy_(a[3:]), a)[1])(_seq(L, 6)),
    "interleaved_steps": lambda L: (lambda a: (a[::2].add_(a[1::2]), a)[1])(_seq(L, 6)),
    "fill_expanded": lambda L: (lambda a: (a.expand(3).fill_(2.5), a)[1])(_seq(L, 1)),
    "zero_expanded": lambda L: (lambda a: (a.expand(3).zero_(), a)[1])(_seq(L, 1)),
    "size_one_expanded": lambda L: (lambda a: (a.expand(1).mul_(2), a)[1])(_seq(L, 1)),
    "exp_in_place": lambda L: _seq(L, 2, 3).exp_(),
    "transposed_into_itself": lambda L: (lambda a: (a.t().mul_(a.t()), a)[1])(_seq(L, 3, 2)),
}


@pytest.mark.parametrize("name", sorted(ALLOWED_WRITES))
def test_writes_that_read_what_they_write_or_disjoint_bytes_match_torch(name):
    want, got = ALLOWED_WRITES[name](torch), ALLOWED_WRITES[name](terra)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_overlapping_writes_are_refused_alike_when_co_executed():
    a = terra.tensor(np.random.default_rng(1).standard_normal(8).astype(np.float32))
    w = terra.ones(8, requires_grad=True)
    with terra.coexec():
        for step in range(6):
            loss = (w * a).sum()
            loss.backward()
            with pytest.raises(RuntimeError, match="some elements of the input tensor"):
                a[1:] = a[:-1]
            with terra.no_grad():
                w.sub_(0.1 * w.grad)
            w.grad = None
    np.testing.assert_allclose(w.detach().numpy(), 1 - 0.6 * a.numpy(), rtol=1e-5)
