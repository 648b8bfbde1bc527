"""The tensor surface against PyTorch 1.13: creation and dtype inference, promotion, operators,
indexing and index assignment, numpy sharing, conversions, repr, errors, save/load."""
import io
import pickle
import re

import numpy as np
import pytest
import torch

import terra
from parity import assert_close

rng = np.random.default_rng(0)


def pair(shape, dtype=np.float32, low=-2.0, high=2.0):
    a = rng.uniform(low, high, size=shape).astype(dtype)
    return terra.tensor(a), torch.tensor(a)


def same_dtype(t, ref):
    assert repr(t.dtype).split(".")[1] == repr(ref.dtype).split(".")[1], (t.dtype, ref.dtype)


@pytest.mark.parametrize("data", [[1, 2, 3], [1.5, 2.0], [True, False], [[1, 2], [3, 4]], 3, 2.5, True,
                                  np.arange(6, dtype=np.int32).reshape(2, 3), np.ones(3, dtype=np.float64)])
def test_tensor_infers_dtype_like_torch(data):
    t, r = terra.tensor(data), torch.tensor(data)
    same_dtype(t, r)
    assert tuple(t.shape) == tuple(r.shape)
    assert_close(t, r)


def test_factories_and_default_dtype():
    for name in ["zeros", "ones", "empty"]:
        t = getattr(terra, name)(2, 3)
        assert t.shape == (2, 3) and t.dtype is terra.float32
        assert getattr(terra, name)((4,), dtype=terra.int64).dtype is terra.int64
    assert terra.full((2,), 3).dtype is terra.int64
    assert terra.full((2,), 3.0).dtype is terra.float32
    assert_close(terra.arange(5), torch.arange(5))
    assert_close(terra.arange(1, 2, 0.25), torch.arange(1, 2, 0.25))
    assert_close(terra.linspace(0, 1, 7), torch.linspace(0, 1, 7))
    assert_close(terra.eye(3, 4), torch.eye(3, 4))
    terra.set_default_dtype(terra.float64)
    try:
        assert terra.tensor([1.0]).dtype is terra.float64
        assert terra.zeros(1).dtype is terra.float64
    finally:
        terra.set_default_dtype(terra.float32)
    x = terra.randn(3, 4, dtype=terra.float64)
    assert x.new_zeros(2).dtype is terra.float64 and x.new_ones((2, 2)).shape == (2, 2)
    assert terra.zeros_like(x).dtype is terra.float64


@pytest.mark.parametrize("op", ["__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__",
                                "__pow__", "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__lt__", "__ge__",
                                "__eq__", "__ne__"])
@pytest.mark.parametrize("other", ["tensor", 2, 2.5, True, "int_tensor"])
def test_operators_promote_like_torch(op, other):
    a, ra = pair((3, 4), low=0.5, high=3.0)
    if other == "tensor":
        b, rb = pair((4,), low=0.5, high=3.0)
    elif other == "int_tensor":
        arr = rng.integers(1, 4, size=(3, 1))
        b, rb = terra.tensor(arr), torch.tensor(arr)
    else:
        b = rb = other
    try:
        r = getattr(ra, op)(rb)
    except RuntimeError:  # e.g. subtraction with a bool: both refuse
        with pytest.raises(RuntimeError):
            getattr(a, op)(b)
        return
    t = getattr(a, op)(b)
    same_dtype(t, r)
    assert_close(t, r, rtol=1e-5)


def test_inplace_operators_and_methods():
    a, ra = pair((3, 4))
    b, rb = pair((3, 4))
    a += b
    ra += rb
    a *= 2
    ra *= 2
    a.sub_(b, alpha=0.5)
    ra.sub_(rb, alpha=0.5)
    a.clamp_(-1, 1)
    ra.clamp_(-1, 1)
    a.exp_()
    ra.exp_()
    assert_close(a, ra)
    i = terra.tensor([1, 2])
    with pytest.raises(RuntimeError):
        i += 1.5  # result type float can't be cast to int64, like torch


def test_reductions_and_methods_match_torch():
    a, ra = pair((3, 4, 5), dtype=np.float64)
    assert_close(a.sum(), ra.sum())
    assert_close(a.sum(1), ra.sum(1))
    assert_close(a.sum((0, 2), keepdim=True), ra.sum((0, 2), keepdim=True))
    assert_close(a.mean(-1), ra.mean(-1))
    assert_close(a.std(1), ra.std(1))
    assert_close(a.var(1, unbiased=False), ra.var(1, unbiased=False))
    v, i = a.max(1)
    rv, ri = ra.max(1)
    assert_close(v, rv)
    assert_close(i, ri)
    assert_close(a.max(), ra.max())
    assert_close(a.argmax(2), ra.argmax(2))
    assert_close(a.norm(), ra.norm())
    assert_close(a.softmax(-1), ra.softmax(-1))
    assert_close(a.view(12, 5), ra.view(12, 5))
    assert_close(a.reshape(-1), ra.reshape(-1))
    assert_close(a.permute(2, 0, 1), ra.permute(2, 0, 1))
    assert_close(a.transpose(0, 2), ra.transpose(0, 2))
    assert_close(a.T, ra.permute(2, 1, 0))
    assert_close(a.mT, ra.mT)
    assert_close(a.unsqueeze(1).expand(3, 2, 4, 5), ra.unsqueeze(1).expand(3, 2, 4, 5))
    assert_close(a.flatten(1), ra.flatten(1))
    for t, r in zip(a.chunk(2, 1), ra.chunk(2, 1)):
        assert_close(t, r)
    for t, r in zip(a.split([1, 3], 1), ra.split([1, 3], 1)):
        assert_close(t, r)
    assert_close(terra.cat([a, a], 1), torch.cat([ra, ra], 1))
    assert_close(terra.stack([a, a]), torch.stack([ra, ra]))
    assert_close(a @ a.transpose(1, 2), ra @ ra.transpose(1, 2))
    assert_close(terra.where(a > 0, a, 0.0), torch.where(ra > 0, ra, 0.0))
    assert a.size() == ra.size() and a.size(1) == 4 and a.dim() == 3 and a.numel() == 60


def test_indexing_matches_torch():
    arr = rng.standard_normal((4, 5, 6)).astype(np.float32)
    t, r = terra.tensor(arr), torch.tensor(arr)
    keys = [1, -1, (1, 2), slice(1, 3), (slice(None), slice(0, 5, 2)), (Ellipsis, 2), (None, 1),
            (slice(None), None, 3), [0, 2], ([0, 2], [1, 3]), (slice(None), [4, 0, 1]), (1, slice(None), [0, 5]),
            ([0, 1], slice(None), [2, 3])]
    for key in keys:
        assert_close(t[key], r[key], what=str(key))
    mask = arr > 0
    assert_close(t[terra.tensor(mask)], r[torch.tensor(mask)])
    assert_close(t[terra.tensor(mask[0])[None].expand(4, 5, 6) if False else terra.tensor(mask[:, 0, 0])],
                 r[torch.tensor(mask[:, 0, 0])])
    idx = rng.integers(0, 4, size=(2, 3))
    assert_close(t[terra.tensor(idx)], r[torch.tensor(idx)])
    with pytest.raises(IndexError):
        t[4]
    with pytest.raises(IndexError):
        t[0, 0, 0, 0]
    with pytest.raises(ValueError):
        t[::-1]
    # An out-of-range int in a tuple names the dim of the indexed tensor it reads, as torch does.
    for key in [(0, 5), (0, 0, 6), (1, slice(None), -7), (slice(None), [0], 7)]:
        with pytest.raises(IndexError) as expected:
            r[key]
        with pytest.raises(IndexError, match=re.escape(str(expected.value))):
            t[key]


def test_slice_bounds_are_read_as_torch_reads_them():
    """Bounds with __index__ (numpy integers, one-element integer tensors, bools) are read as ints,
    the same view as torch's; a float bound or a float tensor raises TypeError, as in torch."""
    arr = rng.standard_normal((7, 3)).astype(np.float32)
    t, r = terra.tensor(arr), torch.tensor(arr)
    for lib_key in [lambda lib: slice(np.int64(2), 5), lambda lib: slice(lib.tensor(1), None, lib.tensor(2)),
                    lambda lib: slice(True, -1), lambda lib: slice(-100, 100), lambda lib: slice(5, 2)]:
        view, expected = t[lib_key(terra)], r[lib_key(torch)]
        assert_close(view, expected, what=str(lib_key(torch)))
        view.add_(1.0)  # a view: the write lands in t
        expected.add_(1.0)
    assert_close(t, r)
    for bad in [lambda lib: slice(1.5, 4), lambda lib: slice(0, lib.tensor(2.0))]:
        with pytest.raises(TypeError):
            r[bad(torch)]
        with pytest.raises(TypeError):
            t[bad(terra)]
        with pytest.raises(TypeError):
            t[:, bad(terra)]


def test_index_assignment_matches_torch():
    arr = rng.standard_normal((4, 5)).astype(np.float32)
    t, r = terra.tensor(arr), torch.tensor(arr)
    for key, value in [(1, 3.0), ((slice(None), 2), -1.0), ((slice(1, 3), slice(0, 4, 2)), 7.0),
                       ([0, 3], 0.5), (([0, 1], [2, 3]), 9.0)]:
        t[key] = value
        r[key] = value
    row = rng.standard_normal(5).astype(np.float32)
    t[2] = terra.tensor(row)
    r[2] = torch.tensor(row)
    t[t > 1] = 0
    r[r > 1] = 0
    assert_close(t, r)


def test_numpy_bridge_shares_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = terra.from_numpy(a)
    a[0, 0] = 42
    assert t[0, 0].item() == 42
    t.add_(1)
    assert a[1, 2] == 6
    n = t.numpy()
    n[1, 1] = -5
    assert t[1, 1].item() == -5
    assert np.asarray(t).shape == (2, 3)
    assert terra.as_tensor(a).data_ptr() == t.data_ptr()
    with pytest.raises(TypeError):
        terra.from_numpy(np.ones(3, dtype=np.uint8))
    x = terra.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        x.numpy()


def test_conversions():
    t = terra.tensor([[1.5, -2.0]])
    assert t[0, 0].item() == 1.5 and isinstance(t[0, 0].item(), float)
    assert t.tolist() == [[1.5, -2.0]]
    assert float(t[0, 1]) == -2.0 and int(t[0, 0]) == 1
    assert t.long().dtype is terra.int64 and t.double().dtype is terra.float64 and t.bool().dtype is terra.bool
    assert t.to(terra.int32).dtype is terra.int32 and t.to("cpu") is t
    assert t.type_as(terra.zeros(1, dtype=terra.float64)).dtype is terra.float64
    assert f"{t[0, 0]:.2f}" == "1.50"
    assert bool(terra.tensor([1])) and not bool(terra.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)
    with pytest.raises(ValueError):
        t.item()
    assert len(t) == 1 and [row.shape for row in t] == [(2,)]
    assert list(range(10))[terra.tensor(3)] == 3


@pytest.mark.parametrize("data", [[[1.5, 2.25], [3.0, -4.125]], [1.0, 2.0, 3.0], [1, 2, 3], [True, False],
                                  [[1e-5, 1.0], [1000.0, 2.0]], [0.1, 1e9]])
def test_repr_matches_torch(data):
    assert repr(terra.tensor(data)) == repr(torch.tensor(data)).replace("torch.", "terra.")


def test_repr_grad_and_dtype():
    x = terra.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(terra.tensor([1.0], dtype=terra.float64)) == "tensor([1.], dtype=terra.float64)"
    big = terra.arange(2000)
    assert "..." in repr(big) and repr(big) == repr(torch.arange(2000))


def test_errors_have_pytorch_types_and_name_the_op():
    a = terra.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"(?s)matmul.*2x3 and 4x2"):
        a @ terra.ones(4, 2)
    with pytest.raises(RuntimeError, match="size"):
        a + terra.ones(3, 2)
    with pytest.raises(TypeError):
        terra.zeros(2).sum(dim="x")
    with pytest.raises(TypeError, match="unexpected keyword"):
        terra.zeros(2).sum(bogus=1)
    with pytest.raises(IndexError):
        a.select(0, 5)


def test_save_load_roundtrip(tmp_path):
    obj = {"w": terra.randn(3, 4), "n": 3, "nested": [terra.arange(3)]}
    path = tmp_path / "x.pt"
    terra.save(obj, path)
    back = terra.load(path)
    assert_close(back["w"], obj["w"])
    assert back["nested"][0].dtype is terra.int64 and back["n"] == 3
    buf = io.BytesIO()
    terra.save(terra.ones(2, requires_grad=True), buf)
    buf.seek(0)
    assert terra.load(buf).requires_grad
    assert pickle.loads(pickle.dumps(terra.float64)) is terra.float64
    assert pickle.loads(pickle.dumps(terra.Size([2, 3]))) == (2, 3)


def test_random_is_seeded():
    terra.manual_seed(7)
    a = terra.rand(5)
    terra.manual_seed(7)
    b = terra.rand(5)
    assert_close(a, b, rtol=0, atol=0)
    g = terra.Generator().manual_seed(3)
    assert terra.randn(3, generator=g).shape == (3,)
    p = terra.randperm(10)
    assert sorted(p.tolist()) == list(range(10))


def test_identity_survives_cpp_round_trips():
    x = terra.ones(3, requires_grad=True)
    (x * 2).sum().backward() if hasattr(terra.Tensor, "backward") else None
    assert x.grad is x.grad
    d = {x: 1}
    assert d[x] == 1
    x.foo = "bar"
    assert x.foo == "bar"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, lo, hi", [
    ("log2", 0.1, 9), ("log10", 0.1, 9), ("atan", -4, 4), ("arctan", -4, 4), ("asin", -0.95, 0.95),
    ("arcsin", -0.95, 0.95), ("acos", -0.95, 0.95), ("arccos", -0.95, 0.95), ("sinh", -3, 3), ("cosh", -3, 3),
    ("asinh", -4, 4), ("arcsinh", -4, 4), ("atanh", -0.95, 0.95), ("arctanh", -0.95, 0.95),
])
def test_logarithms_inverse_and_hyperbolic_functions_match_pytorch(name, lo, hi, dtype):
    x = np.random.default_rng(len(name)).uniform(lo, hi, (3, 5)).astype(dtype)
    t = terra.tensor(x, requires_grad=True)
    ref = torch.tensor(x, requires_grad=True)
    got, want = getattr(terra, name)(t), getattr(torch, name)(ref)
    np.testing.assert_array_equal(getattr(t, name)().detach().numpy(), got.detach().numpy())
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == "float32" else dict(rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), **tol)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), ref.grad.numpy(), **tol)


def test_finfo_and_iinfo_match_pytorch():
    for ours, theirs in [(terra.float32, torch.float32), (terra.float64, torch.float64)]:
        a, b = terra.finfo(ours), torch.finfo(theirs)
        assert (a.bits, a.eps, a.max, a.min, a.tiny, a.resolution) == (b.bits, b.eps, b.max, b.min, b.tiny,
                                                                         b.resolution)
    assert terra.finfo().eps == torch.finfo().eps
    for ours, theirs in [(terra.int32, torch.int32), (terra.int64, torch.int64)]:
        a, b = terra.iinfo(ours), torch.iinfo(theirs)
        assert (a.bits, a.max, a.min) == (b.bits, b.max, b.min)
    with pytest.raises(TypeError):
        terra.finfo(terra.int64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, {"nan": 1.5, "posinf": 9.0}, {"neginf": -4.0}])
def test_nan_to_num_matches_pytorch(dtype, kwargs):
    x = np.array([[1.0, np.nan, np.inf], [-np.inf, -2.5, 0.0]], dtype=dtype)
    np.testing.assert_array_equal(terra.nan_to_num(terra.tensor(x), **kwargs).numpy(),
                                  torch.nan_to_num(torch.tensor(x), **kwargs).numpy())
    np.testing.assert_array_equal(terra.tensor(x).nan_to_num(**kwargs).numpy(),
                                  torch.tensor(x).nan_to_num(**kwargs).numpy())
    assert terra.tensor([1, 2]).nan_to_num().tolist() == [1, 2]


@pytest.mark.parametrize("fn, kwargs", [
    ("norm", {}), ("norm", {"ord": 1}), ("norm", {"ord": -1}), ("norm", {"ord": float("inf")}),
    ("norm", {"ord": "fro"}), ("norm", {"ord": 3, "dim": 1}), ("norm", {"dim": 0, "keepdim": True}),
    ("vector_norm", {}), ("vector_norm", {"ord": float("-inf"), "dim": 1}), ("vector_norm", {"ord": 0.5}),
    ("vector_norm", {"ord": 0, "dim": 0}), ("matrix_norm", {}), ("matrix_norm", {"ord": float("-inf")}),
])
def test_linalg_norms_match_pytorch(fn, kwargs):
    a = np.random.default_rng(11).standard_normal((4, 5))
    ours = terra.tensor(a, requires_grad=True)
    theirs = torch.tensor(a, requires_grad=True)
    got, want = getattr(terra.linalg, fn)(ours, **kwargs), getattr(torch.linalg, fn)(theirs, **kwargs)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    if kwargs.get("ord") != 0:
        got.sum().backward()
        want.sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_nuclear_and_spectral_norms_match_pytorch():
    a = np.random.default_rng(12).standard_normal((2, 4, 3))
    for norm in (lambda L, x: L.norm(x, p="nuc", dim=(1, 2)), lambda L, x: L.linalg.matrix_norm(x, ord=2),
                 lambda L, x: x[0].norm(p="nuc")):
        grads = []
        for lib in (terra, torch):
            x = lib.tensor(a.copy(), requires_grad=True)
            norm(lib, x).sum().backward()
            grads.append((norm(lib, x).detach().numpy(), x.grad.numpy()))
        np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12)
        np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match="1-D or 2-D"):
        terra.linalg.norm(terra.ones(2, 2, 2), ord=1)


@pytest.mark.parametrize("size,stride,offset", [((3, 2), (1, 1), 0), ((2, 2, 2), (1, 2, 1), 1), ((2, 3), (0, 1), 2),
                                                ((4, 2), (1, 0), 0), ((3,), (2,), 0), ((2, 2), (3, 1), 0)])
def test_as_strided_gradient_sums_overlapping_elements_as_pytorch(size, stride, offset):
    x = np.random.default_rng(len(size)).standard_normal(6)
    w = np.random.default_rng(7).standard_normal(size)
    grads = []
    for lib in (terra, torch):
        leaf = lib.tensor(x.copy(), requires_grad=True)
        (leaf.as_strided(size, stride, offset) * lib.tensor(w)).sum().backward()
        grads.append(leaf.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("form", ["number ** x", "x ** number", "x.pow(number)"])
@pytest.mark.parametrize("number", [2.0, 0.1, 1 / 3, 0.6, 3])
def test_pow_with_a_python_number_has_float64_gradients(form, number):
    x = np.random.default_rng(3).uniform(0.5, 2.0, 5)
    grads = []
    for lib in (terra, torch):
        leaf = lib.tensor(x.copy(), requires_grad=True)
        y = number ** leaf if form == "number ** x" else (leaf ** number if form == "x ** number" else leaf.pow(number))
        y.sum().backward()
        grads.append(leaf.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-15)


# --- Legacy typed classes, numpy priority, sequence indices, error types, Size, copy, layouts ---

LEGACY = [("FloatTensor", "float32"), ("DoubleTensor", "float64"), ("LongTensor", "int64"), ("IntTensor", "int32"),
          ("BoolTensor", "bool")]


@pytest.mark.parametrize("name, dtype", LEGACY)
def test_legacy_typed_constructors_like_torch(name, dtype):
    data = rng.integers(-5, 6, size=(2, 3)).tolist()
    ours, theirs = getattr(terra, name), getattr(torch, name)
    for args in [(data,), (data[0],), (np.array(data),)]:
        t, r = ours(*args), theirs(*args)
        same_dtype(t, r)
        assert_close(t, r)
    assert ours(2, 3).shape == theirs(2, 3).shape == (2, 3) and ours(2, 3).dtype is getattr(terra, dtype)
    assert ours(terra.Size([4])).shape == (4,)
    assert ours().shape == theirs().shape == (0,) and ours().dtype is getattr(terra, dtype)
    for other_name, other_dtype in LEGACY:
        t = terra.zeros(2, dtype=getattr(terra, other_dtype))
        r = torch.zeros(2, dtype=getattr(torch, other_dtype))
        assert isinstance(t, ours) == isinstance(r, theirs) == (other_name == name)
    assert not issubclass(ours, terra.Tensor) and not issubclass(theirs, torch.Tensor)
    src, ref = pair((3,))
    converted, expected = src.type(ours), ref.type(theirs)
    same_dtype(converted, expected)
    assert_close(converted, expected)
    converted, expected = src.type(f"torch.{name}"), ref.type(f"torch.{name}")
    same_dtype(converted, expected)
    assert src.type(f"torch.{name}").type() == ref.type(f"torch.{name}").type().replace("torch", "terra")


def test_legacy_types_refuse_like_torch():
    for bad in ["torch.int32", "LongTensor", "bad", "torch.Long"]:
        with pytest.raises(ValueError, match="invalid type"):
            torch.zeros(2).type(bad)
        with pytest.raises(ValueError, match="invalid type"):
            terra.zeros(2).type(bad)
    with pytest.raises(TypeError):
        terra.LongTensor(terra.zeros(2))  # a tensor of another dtype
    for name, missing in [("ByteTensor", "uint8"), ("CharTensor", "int8"), ("ShortTensor", "int16"),
                          ("HalfTensor", "float16"), ("BFloat16Tensor", "bfloat16")]:
        with pytest.raises(TypeError, match=f"no {missing} dtype"):
            getattr(terra, name)([1, 2])
        with pytest.raises(TypeError, match=f"no {missing} dtype"):
            terra.zeros(2).type(getattr(terra, name))
        assert not isinstance(terra.zeros(2), getattr(terra, name))


def test_numpy_scalars_and_ufuncs_give_tensors_like_torch():
    t, r = pair((2, 3), low=0.5)
    a = rng.uniform(0.5, 2.0, size=(2, 3))
    assert terra.Tensor.__array_priority__ == torch.Tensor.__array_priority__ == 1000
    for scalar in [np.float64(1.5), np.float32(2.5), np.int64(3)]:
        for op in [lambda x, y: x * y, lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x / y]:
            got, want = op(scalar, t), op(scalar, r)
            assert isinstance(got, terra.Tensor)
            same_dtype(got, want)
            assert_close(got, want)
    for got, want in [(t + a, r + a), (t * a, r * a), (np.exp(t), np.exp(r)), (np.add(t, a), np.add(r, a)),
                      (a / t, a / r), (np.exp(t[0, 0]), np.exp(r[0, 0]))]:
        assert isinstance(got, terra.Tensor)
        same_dtype(got, want)
        assert_close(got, want)
    with pytest.raises(TypeError):  # numpy's own refusal, once numpy defers to the tensor
        np.ones(3) + t
    with pytest.raises(TypeError):
        a * t


def _index_pair(shape=(3, 4)):
    a = rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.int64) + 1
    return terra.tensor(a), torch.tensor(a)


@pytest.mark.parametrize("key", [
    [[0, 1], [1, 2]], [0, slice(1, 3)], [None, 0], [Ellipsis, 0], [0, [1, 2]], [[True, False, True]], [()],
    np.array([[0, 1], [1, 2]]), [np.array([0, 1]), 1], [1.5], [0, np.int64(1)], range(2), [[0, 2]],
    [[0]] * 31 + [[1]], [[-1, 0], slice(None), None]], ids=repr)
def test_sequence_index_read_as_tuple_like_torch(key):
    t, r = _index_pair()
    if isinstance(key, list) and len(key) == 32:
        t, r = _index_pair((40,))
    assert_close(t[key], r[key])
    value = -7
    t2, r2 = t.clone(), r.clone()
    t2[key] = value
    r2[key] = value
    assert_close(t2, r2)


def test_sequence_index_of_32_or_more_is_one_index_like_torch():
    t, r = _index_pair((40,))
    assert_close(t[[[0]] * 32], r[[[0]] * 32])
    with pytest.raises(IndexError):
        r[[[0]] * 31]
    with pytest.raises(IndexError):
        t[[[0]] * 31]


def test_error_types_like_torch():
    t, r = _index_pair()
    for key in ["a", [0, "a"], (1, "a")]:
        with pytest.raises(TypeError, match="invalid data type 'str'"):
            r[key]
        with pytest.raises(TypeError, match="invalid data type 'str'"):
            t[key]
    with pytest.raises(TypeError, match="invalid data type 'str'"):
        t["a"] = 1
    for lib in (torch, terra):
        with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or 'floor'"):
            lib.div(lib.ones(2), 2, rounding_mode="bad")
        with pytest.raises(RuntimeError, match="rounding_mode to be one of"):
            lib.ones(2).div_(2, rounding_mode="round")
        for data in [None, [1, None], object()]:
            with pytest.raises(RuntimeError, match="Could not infer dtype of"):
                lib.tensor(data)
        for data in [[2 ** 64], [2 ** 63], 2 ** 63, [-2 ** 63 - 1]]:
            with pytest.raises(RuntimeError, match="Overflow when unpacking long"):
                lib.tensor(data)
        with pytest.raises(RuntimeError, match="int32 without overflow"):
            lib.tensor([2 ** 40], dtype=lib.int32)
        with pytest.raises(TypeError, match="invalid data type 'str'"):
            lib.tensor("abc")
        with pytest.raises(ValueError, match="only one element tensors"):
            lib.tensor([lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])])
        for arr in [np.arange(5.0)[::-1], np.arange(6.0).reshape(2, 3)[:, ::-1]]:
            for make in (lib.tensor, lib.as_tensor, lib.asarray):
                with pytest.raises(ValueError, match="negative"):
                    make(arr)
        with pytest.raises(ValueError, match="byte order"):
            lib.tensor(np.arange(3, dtype=">f8"))
        with pytest.raises(RuntimeError, match="Float did not match Long"):
            lib.allclose(lib.ones(2), lib.ones(2, dtype=lib.int64))
        with pytest.raises(RuntimeError, match="Float did not match Double"):
            lib.isclose(lib.ones(2), lib.ones(2, dtype=lib.float64))
    big = [2 ** 64, 1.5]
    assert_close(terra.tensor(big), torch.tensor(big))
    assert_close(terra.tensor([2 ** 63], dtype=terra.float64), torch.tensor([2 ** 63], dtype=torch.float64))
    values = rng.uniform(-2, 2, size=4).astype(np.float32)
    t = terra.tensor([terra.tensor(float(v)) for v in values] + [terra.tensor([1.5])])
    assert_close(t, torch.tensor([torch.tensor(float(v)) for v in values] + [torch.tensor([1.5])]))


def test_size_checks_and_arithmetic_like_torch():
    for items in [[2.5], [torch.tensor(2.0), 3], ["a"], [None], [np.float64(2)]]:
        ours = [terra.tensor(2.0) if isinstance(x, torch.Tensor) else x for x in items]
        with pytest.raises(TypeError, match=r"Size\(\) takes an iterable of 'int' \(item 0 is"):
            torch.Size(items)
        with pytest.raises(TypeError, match=r"Size\(\) takes an iterable of 'int' \(item 0 is"):
            terra.Size(ours)
    s = terra.Size([terra.tensor(2), np.int64(3), True, 4])
    assert s == torch.Size([torch.tensor(2), np.int64(3), True, 4]) == (2, 3, 1, 4)
    assert type(s[0]) is int
    for got, want in [(terra.Size([2, 3]) * 2, torch.Size([2, 3]) * 2), (2 * terra.Size([2, 3]), 2 * torch.Size([2, 3])),
                      (terra.Size([2, 3]) + (4,), torch.Size([2, 3]) + (4,)), (terra.Size([1]) * 0, torch.Size([1]) * 0)]:
        assert isinstance(got, terra.Size) and isinstance(want, torch.Size) and tuple(got) == tuple(want)
    with pytest.raises(TypeError):
        terra.Size([2]) + [3]
    with pytest.raises(TypeError):
        torch.Size([2]) + [3]


def test_copy_shares_data_like_torch():
    import copy
    t, r = pair((3,))
    t.requires_grad_(True)
    r.requires_grad_(True)
    ct, cr = copy.copy(t), copy.copy(r)
    assert ct is not t and ct.requires_grad == cr.requires_grad and ct.grad is None and cr.grad is None
    with terra.no_grad():
        ct[0] = 5.0
    with torch.no_grad():
        cr[0] = 5.0
    assert_close(t, r)
    p = terra.nn.Parameter(terra.ones(2))
    cp = copy.copy(p)
    assert isinstance(cp, terra.nn.Parameter)
    with terra.no_grad():
        cp.add_(1.0)
    assert_close(p, torch.full((2,), 2.0))


@pytest.mark.parametrize("fmt, shape", [("channels_last", (2, 3, 4, 5)), ("channels_last_3d", (2, 3, 4, 5, 6))])
def test_channels_last_layouts_like_torch(fmt, shape):
    t, r = pair(shape)
    ours, theirs = getattr(terra, fmt), getattr(torch, fmt)
    assert repr(ours).split(".")[1] == repr(theirs).split(".")[1] == fmt
    for f in [lambda x, m: x.contiguous(memory_format=m), lambda x, m: x.clone(memory_format=m),
              lambda x, m: x.to(memory_format=m), lambda x, m: x.to(torch.float64 if isinstance(x, torch.Tensor)
                                                                     else terra.float64, memory_format=m)]:
        got, want = f(t, ours), f(r, theirs)
        assert got.stride() == want.stride()
        assert got.is_contiguous(memory_format=ours) and want.is_contiguous(memory_format=theirs)
        assert got.is_contiguous() == want.is_contiguous() is False
        same_dtype(got, want)
        assert_close(got, want)
    laid, ref = t.contiguous(memory_format=ours), r.contiguous(memory_format=theirs)
    for name in ["empty_like", "zeros_like", "ones_like", "rand_like", "randn_like"]:
        assert getattr(terra, name)(laid).stride() == getattr(torch, name)(ref).stride()  # preserve_format
        assert getattr(terra, name)(t, memory_format=ours).stride() == getattr(torch, name)(r, memory_format=theirs).stride()
        assert (getattr(terra, name)(laid, memory_format=terra.contiguous_format).stride()
                == getattr(torch, name)(ref, memory_format=torch.contiguous_format).stride())
    assert laid.clone().stride() == ref.clone().stride()
    assert laid.contiguous().stride() == ref.contiguous().stride()
    assert_close(laid.contiguous(), ref.contiguous())
    with pytest.raises(RuntimeError, match=f"required rank {len(shape)} tensor to use {fmt} format"):
        terra.zeros(2, 3).contiguous(memory_format=ours)
    with pytest.raises(RuntimeError, match=f"required rank {len(shape)} tensor to use {fmt} format"):
        torch.zeros(2, 3).contiguous(memory_format=theirs)


def test_contiguous_and_preserve_formats_like_torch():
    t, r = pair((2, 3, 4))
    tt, rt = t.transpose(0, 2), r.transpose(0, 2)
    for name in ["contiguous_format", "preserve_format"]:
        assert repr(getattr(terra, name)).split(".")[1] == repr(getattr(torch, name)).split(".")[1]
    assert tt.contiguous(memory_format=terra.contiguous_format).stride() == \
        rt.contiguous(memory_format=torch.contiguous_format).stride()
    assert tt.clone(memory_format=terra.preserve_format).stride() == \
        rt.clone(memory_format=torch.preserve_format).stride() == (1, 4, 12)  # strides kept, as PyTorch's
    assert t.is_contiguous(memory_format=terra.contiguous_format)
    assert not t.is_contiguous(memory_format=terra.channels_last)
    for lib in (torch, terra):
        with pytest.raises(RuntimeError, match="preserve memory format is unsupported"):
            lib.ones(2, 3).t().contiguous(memory_format=lib.preserve_format)
        assert lib.ones(2).contiguous(memory_format=lib.preserve_format).stride() == (1,)


def test_real_sign_and_inference_like_torch():
    t, r = pair((4,))
    assert t.real is t and terra.real(t) is t
    t.real = terra.tensor([1.0, 2.0, 3.0, 4.0])
    r.real = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert_close(t, r)
    for lib in (torch, terra):
        with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
            lib.ones(2).imag
    b = rng.integers(0, 2, size=6).astype(bool)
    for got, want in [(terra.sign(terra.tensor(b)), torch.sign(torch.tensor(b))),
                      (terra.tensor(b).sgn(), torch.tensor(b).sgn())]:
        same_dtype(got, want)
        assert_close(got, want)
    assert t.is_inference() is r.is_inference() is False


def test_integer_tensors_to_negative_python_integer_powers_are_refused_as_torch_refuses_them():
    base = rng.integers(2, 9, size=5)
    for lib in (torch, terra):
        t = lib.tensor(base)
        for write in (lambda: t ** -2, lambda: lib.pow(t, -1), lambda: t.clone().pow_(-1)):
            with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
                write()
    exponents = rng.integers(-2, 3, size=5)  # a tensor exponent: computed, 0 where negative
    np.testing.assert_array_equal(terra.pow(terra.tensor(base), terra.tensor(exponents)).numpy(),
                                  torch.pow(torch.tensor(base), torch.tensor(exponents)).numpy())
    np.testing.assert_allclose((terra.tensor(base.astype(np.float32)) ** -1).numpy(), 1 / base, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["int64", "int32", "float32"])
def test_fmod_keeps_the_dtype_and_the_sign_of_the_dividend(dtype):
    a = rng.integers(-20, 20, size=12).astype(dtype) + (0.5 if dtype == "float32" else 0)
    b = rng.choice([-7, -3, 2, 5], size=12).astype(dtype)
    for other in (b, 3):
        want = torch.fmod(torch.tensor(a), torch.tensor(other) if isinstance(other, np.ndarray) else other)
        got = terra.fmod(terra.tensor(a), terra.tensor(other) if isinstance(other, np.ndarray) else other)
        assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_out_arguments_check_the_result_type_and_take_tuples_as_torch():
    x = rng.standard_normal((3, 4)).astype(np.float32)
    for lib in (torch, terra):
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            lib.add(lib.tensor(x), 1.5, out=lib.empty(3, 4, dtype=lib.int64))
    values, indices = terra.empty(3), terra.empty(3, dtype=terra.int64)
    result = terra.max(terra.tensor(x), 1, out=(values, indices))
    assert result.values is values and result.indices is indices
    want = torch.max(torch.tensor(x), 1)
    np.testing.assert_array_equal(values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(indices.numpy(), want.indices.numpy())
    widened = terra.empty(3, 4, dtype=terra.float64)  # int -> float casts, as torch allows
    terra.add(terra.tensor(x.astype(np.int64)), 1, out=widened)
    np.testing.assert_array_equal(widened.numpy(), x.astype(np.int64) + 1)


def test_unfold_is_a_view_whose_writes_reach_the_tensor_as_torch():
    data = rng.standard_normal((3, 8)).astype(np.float32)
    results = []
    for lib in (torch, terra):
        x = lib.tensor(data)
        windows = x.unfold(1, 3, 2)
        windows[:, 1].mul_(0)  # columns 2..4: a write through the view
        results.append((x.numpy().copy(), tuple(windows.shape), windows.stride()))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    assert results[1][1:] == results[0][1:]
    assert (results[1][0][:, 2:5] == 0).all() and (results[1][0][:, 5:] != 0).all()
