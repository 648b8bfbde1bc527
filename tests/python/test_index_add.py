"""index_add against PyTorch 1.13: torch.index_add, Tensor.index_add and Tensor.index_add_ with
alpha, negative dims, duplicate indices, 0-d and 1-d operands, every dtype, gradients, and the
errors (same exception type as PyTorch, naming the op)."""
import numpy as np
import pytest
import torch

import terra
from parity import assert_close, to_terra

rng = np.random.default_rng(7)

DTYPES = {np.float32: 1e-5, np.float64: 1e-12, np.int64: 0, np.int32: 0}


def nonzero_values(shape, dtype):
    v = rng.uniform(0.5, 3.0, size=shape) * rng.choice([-1, 1], size=shape)
    if np.issubdtype(dtype, np.integer):
        v = np.round(v * 3) + np.sign(v)
    return v.astype(dtype)


def case(self_shape, dim, n, dtype, index_dtype=np.int64):
    d = dim % max(len(self_shape), 1)
    size = self_shape[d] if self_shape else 1
    src_shape = list(self_shape) or [1]
    src_shape[d] = n
    return (nonzero_values(self_shape, dtype), rng.integers(0, size, size=n).astype(index_dtype),
            nonzero_values(src_shape, dtype))


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("shape,dim", [((4, 3), 0), ((4, 3), 1), ((2, 5, 3), -2), ((2, 5, 3), -1), ((6,), 0)])
def test_functional_method_and_inplace_match_torch(dtype, shape, dim):
    x, idx, src = case(shape, dim, 7, dtype)  # 7 indices: duplicates are certain
    alpha = 2.5 if np.issubdtype(dtype, np.floating) else -3
    ref = torch.index_add(torch.tensor(x), dim, torch.tensor(idx), torch.tensor(src), alpha=alpha)
    # An independent float64 reference.
    expect = x.astype(np.float64)
    np.add.at(np.moveaxis(expect, dim, 0), idx, alpha * np.moveaxis(src.astype(np.float64), dim, 0))
    assert_close(ref, expect, rtol=DTYPES[dtype], atol=DTYPES[dtype] * 10)
    t, ti, ts = terra.tensor(x), terra.tensor(idx), terra.tensor(src)
    for got in [terra.index_add(t, dim, ti, ts, alpha=alpha), t.index_add(dim, ti, ts, alpha=alpha)]:
        assert got.dtype == t.dtype
        assert_close(got, ref, rtol=DTYPES[dtype], atol=DTYPES[dtype] * 10)
        assert_close(got, expect, rtol=DTYPES[dtype], atol=DTYPES[dtype] * 10)
    assert_close(t, x, rtol=0, atol=0)  # the functional forms leave self alone
    assert t.index_add_(dim, ti.int(), ts, alpha=alpha) is t
    assert_close(t, ref, rtol=DTYPES[dtype], atol=DTYPES[dtype] * 10)
    # alpha defaults to 1.
    assert_close(terra.tensor(x).index_add(dim, ti, ts),
                 torch.tensor(x).index_add(dim, torch.tensor(idx), torch.tensor(src)), rtol=DTYPES[dtype])


def test_bool_adds_as_logical_or():
    x, idx, src = np.array([False, True, False]), np.array([0, 2, 2]), np.array([True, False, True])
    assert_close(terra.tensor(x).index_add(0, terra.tensor(idx), terra.tensor(src)),
                 torch.tensor(x).index_add(0, torch.tensor(idx), torch.tensor(src)), rtol=0, atol=0)


@pytest.mark.parametrize("self_v,dim,idx,src", [
    (5.0, 0, [0, 0], [2.0, 3.0]),   # 0-d self, 1-d source, duplicates
    (5.0, -1, 0, 2.0),              # all 0-d
    (5.0, 0, [0], 2.0),             # 0-d self and source, 1-d index
    ([1.0, 2.0, 3.0], 0, 1, 2.0),   # 1-d self, 0-d index and source
    ([1.0, 2.0, 3.0], 0, [1], 2.0),  # 1-d self and index, 0-d source
    ([[1.0, 2.0], [3.0, 4.0]], 1, 1, [[5.0], [6.0]]),  # 0-d index
    ([[1.0, 2.0], [3.0, 4.0]], 0, np.zeros(0, np.int64), np.zeros((0, 2), np.float32)),  # empty index
])
def test_zero_and_one_dim_edge_cases(self_v, dim, idx, src):
    ref = torch.tensor(self_v).index_add(dim, torch.tensor(idx), torch.tensor(src), alpha=2)
    got = terra.tensor(self_v).index_add(dim, terra.tensor(idx), terra.tensor(src), alpha=2)
    assert tuple(got.shape) == tuple(ref.shape)
    assert_close(got, ref, rtol=0, atol=0)


@pytest.mark.parametrize("shape,dim,n,alpha", [((4, 3), 0, 5, 1), ((2, 4, 3), -1, 4, -0.5), ((), 0, 2, 2.0),
                                               ((3,), 0, 1, 3.0)])
def test_gradients_match_torch(shape, dim, n, alpha):
    x, idx, src = case(shape, dim, n, np.float64)
    if shape == (3,):
        src = src.reshape(())  # a 0-d source for a 1-d self
    rx, rs = torch.tensor(x, requires_grad=True), torch.tensor(src, requires_grad=True)
    w = nonzero_values(rx.shape, np.float64)
    (torch.index_add(rx, dim, torch.tensor(idx), rs, alpha=alpha) * torch.tensor(w)).sum().backward()
    tx, ts = to_terra(rx.detach(), True), to_terra(rs.detach(), True)
    (terra.index_add(tx, dim, terra.tensor(idx), ts, alpha=alpha) * terra.tensor(w)).sum().backward()
    assert_close(tx.grad, rx.grad, rtol=1e-12)
    assert_close(ts.grad, rs.grad, rtol=1e-12)
    assert tuple(ts.grad.shape) == tuple(rs.grad.shape)


def test_inplace_on_a_non_leaf_records_the_gradient():
    def run(lib):
        a = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        s = lib.tensor([5.0, 6.0], requires_grad=True)
        y = a * 2
        y.index_add_(0, lib.tensor([3, 3]), s * s, alpha=0.5)
        (y * lib.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
        return y, a.grad, s.grad

    for got, ref in zip(run(terra), run(torch)):
        assert_close(got, ref, rtol=1e-6)


def raises_like_torch(call, match):
    """Both raise the same exception type; Terra's message names the op and matches `match`."""
    with pytest.raises(Exception) as ref:
        call(torch)
    with pytest.raises(ref.type, match=match) as got:
        call(terra)
    assert "index_add" in str(got.value)


def x34(lib):
    return lib.zeros(3, 4)


@pytest.mark.parametrize("call,match", [
    (lambda lib: x34(lib).index_add(2, lib.tensor([0]), lib.ones(1, 4)), "Dimension out of range"),
    (lambda lib: x34(lib).index_add(-3, lib.tensor([0]), lib.ones(1, 4)), "Dimension out of range"),
    (lambda lib: x34(lib).index_add(0, lib.tensor([3]), lib.ones(1, 4)), "index 3 is out of bounds"),
    (lambda lib: x34(lib).index_add(0, lib.tensor([-1]), lib.ones(1, 4)), "index -1 is out of bounds"),
    (lambda lib: lib.tensor(5.0).index_add(0, lib.tensor([1]), lib.tensor(2.0)), "index 1 is out of bounds"),
    (lambda lib: x34(lib).index_add(0, lib.tensor([0.0]), lib.ones(1, 4)), "int32/int64 for index"),
    (lambda lib: x34(lib).index_add(0, lib.tensor([[0]]), lib.ones(1, 4)), "supposed to be a vector"),
    (lambda lib: x34(lib).index_add(0, lib.tensor([0]), lib.ones(1, 4, dtype=lib.float64)),
     r"self \(Float\) and source \(Double\)"),
    (lambda lib: x34(lib).index_add(0, lib.tensor([0, 1]), lib.ones(3, 4)), r"Number of indices \(2\)"),
    (lambda lib: x34(lib).index_add(0, lib.tensor([0]), lib.ones(1, 5)), r"source \[1, 5\] must match self \[3, 4\]"),
    (lambda lib: x34(lib).index_add(1, lib.tensor([0]), lib.ones(4)), r"source.dim\(\) \(1\) must be self.dim\(\) \(2\)"),
    (lambda lib: lib.zeros(3).index_add(0, lib.tensor([1]), lib.ones(1, 1)), r"source.dim\(\) \(2\)"),
    (lambda lib: x34(lib).index_add(0, lib.tensor([0]), lib.ones(1, 4), 2), "positional"),
])
def test_errors_match_torch(call, match):
    raises_like_torch(call, match)


def test_where_terra_is_stricter_than_torch_1_13():
    # 1.13's CPU kernel broadcasts source's other dims and truncates a float alpha for integer
    # tensors; its documentation (and Terra) require matching dims, and Terra refuses the alpha as
    # add does.
    x = terra.zeros(3, 4)
    torch.zeros(3, 4).index_add(0, torch.tensor([0]), torch.ones(1, 1))
    with pytest.raises(RuntimeError, match="index_add.*must match self"):
        x.index_add(0, terra.tensor([0]), terra.ones(1, 1))
    torch.zeros(3, dtype=torch.int64).index_add(0, torch.tensor([1]), torch.ones(1, dtype=torch.int64), alpha=1.5)
    with pytest.raises(RuntimeError, match="index_add.*alpha must not be a floating point number"):
        terra.zeros(3, dtype=terra.int64).index_add(0, terra.tensor([1]), terra.ones(1, dtype=terra.int64), alpha=1.5)
