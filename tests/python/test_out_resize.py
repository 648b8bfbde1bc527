"""out= arguments of the wrong shape, against PyTorch 1.13: resized (with its deprecation warning
unless empty), over their own storage when it holds the result, dtype and autograd checks first;
factories resize silently and arange keeps a shape of the right element count."""
import re
import warnings

import numpy as np
import pytest
import torch

import terra

rng = np.random.default_rng(7)

RESIZED = re.escape(
    "An output with one or more elements was resized since it had shape [2], which does not match the required "
    "output shape [3]. This behavior is deprecated, and in a future PyTorch release outputs will not be resized "
    "unless they have zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
    "elements with t.resize_(0).")


def data(*shape, dtype=np.float32, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(dtype)


def both(lib, a):
    return (terra if lib is terra else torch).tensor(a)


def check(lib_call, out_shape, out_dtype=None, expect_warning=True):
    """Run lib_call(lib, out) with a fresh out of out_shape in both libraries: the same result,
    shape, strides and warnings."""
    got = {}
    for lib in (terra, torch):
        out = lib.empty(*out_shape) if out_dtype is None else lib.empty(*out_shape, dtype=getattr(lib, out_dtype))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = lib_call(lib, out)
        resized = [str(w.message) for w in caught if "was resized" in str(w.message)]
        got[lib] = (r, out, resized)
    (r, out, w), (rr, rout, rw) = got[terra], got[torch]
    assert (r is out) == (rr is rout)
    assert tuple(out.shape) == tuple(rout.shape) and out.stride() == rout.stride()
    np.testing.assert_allclose(out.numpy(), rout.numpy(), rtol=1e-5, atol=1e-6)
    assert len(w) == len(rw) == (1 if expect_warning else 0)
    for ours, theirs in zip(w, rw):
        assert theirs.startswith(ours)  # PyTorch appends "(Triggered internally at ...)"
    return out


a3, b3 = data(3), data(3)
m23, m34, m24 = data(2, 3), data(3, 4), data(2, 4)


@pytest.mark.parametrize("name,call,shape", [
    ("exp", lambda L, o: L.exp(both(L, a3), out=o), (2,)),
    ("exp_2d_out", lambda L, o: L.exp(both(L, a3), out=o), (2, 3)),
    ("add", lambda L, o: L.add(both(L, a3), both(L, m23), out=o), (3,)),
    ("mul", lambda L, o: L.mul(both(L, a3), both(L, b3), out=o), (5,)),
    ("sum_dim", lambda L, o: L.sum(both(L, m23), 1, out=o), (3,)),
    ("mm", lambda L, o: L.mm(both(L, m23), both(L, m34), out=o), (3,)),
    ("matmul", lambda L, o: L.matmul(both(L, m23), both(L, a3), out=o), (3,)),
    ("cat", lambda L, o: L.cat([both(L, a3), both(L, b3)], out=o), (2,)),
    ("stack", lambda L, o: L.stack([both(L, a3), both(L, b3)], out=o), (2,)),
    ("addmm", lambda L, o: L.addmm(both(L, m24), both(L, m23), both(L, m34), out=o), (3,)),
    ("clamp", lambda L, o: L.clamp(both(L, a3), -1, 1, out=o), (2,)),
    ("sigmoid", lambda L, o: L.sigmoid(both(L, a3), out=o), (2,)),
    ("cumsum", lambda L, o: L.cumsum(both(L, a3), 0, out=o), (2,)),
    ("cumprod", lambda L, o: L.cumprod(both(L, a3), 0, out=o), (2,)),
    ("where", lambda L, o: L.where(both(L, a3) > 0, both(L, a3), both(L, b3), out=o), (2,)),
    ("tensordot", lambda L, o: L.tensordot(both(L, m23), both(L, m34), 1, out=o), (2,)),
    ("special_erf", lambda L, o: L.special.erf(both(L, a3), out=o), (2,)),
    ("acosh", lambda L, o: L.acosh(both(L, np.abs(a3) + 1), out=o), (2,)),
    ("polygamma", lambda L, o: L.polygamma(1, both(L, np.abs(a3) + 0.5), out=o), (2,)),
    ("igamma", lambda L, o: L.igamma(both(L, np.abs(a3) + 0.5), both(L, np.abs(b3)), out=o), (2,)),
    ("normalize", lambda L, o: L.nn.functional.normalize(both(L, m23), out=o), (2,)),
])
def test_wrong_shape_out_is_resized_with_a_warning(name, call, shape):
    check(call, shape)


def test_the_warning_message_is_pytorchs():
    out = terra.empty(2)
    with pytest.warns(UserWarning, match=RESIZED):
        r = terra.exp(terra.tensor(a3), out=out)
    assert r is out and out.shape == (3,)
    np.testing.assert_allclose(out.numpy(), np.exp(a3), rtol=1e-6)


def test_empty_out_is_resized_silently():
    for lib in (terra, torch):
        out = lib.empty(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.exp(both(lib, a3), out=out)
        assert tuple(out.shape) == (3,)
    check(lambda L, o: L.exp(both(L, m23), out=o), (0,), expect_warning=False)


def test_right_shape_keeps_strides_and_storage():
    for lib in (terra, torch):
        out = lib.empty(3, 4).t()
        ptr = out.data_ptr()
        lib.exp(both(lib, data(4, 3)), out=out)
        assert out.stride() == (1, 4) and out.data_ptr() == ptr


def test_resize_reuses_the_storage_when_it_holds_the_result():
    """A view of a larger base: the result lands in the base's memory at the view's offset."""
    bases = {}
    for lib in (terra, torch):
        base = lib.zeros(10)
        out = base[2:4]
        with pytest.warns(UserWarning, match=RESIZED):
            lib.exp(both(lib, a3), out=out)
        assert out.storage_offset() == 2 and tuple(out.shape) == (3,)
        bases[lib] = base
        # strided view: resized to contiguous strides from its offset
        base2 = lib.zeros(10)
        out2 = base2[:4:2]
        with pytest.warns(UserWarning, match=RESIZED):
            lib.exp(both(lib, a3), out=out2)
        assert out2.stride() == (1,)
        bases[lib, 2] = base2
    np.testing.assert_allclose(bases[terra].numpy(), bases[torch].numpy(), rtol=1e-6)
    np.testing.assert_allclose(bases[terra, 2].numpy(), bases[torch, 2].numpy(), rtol=1e-6)


def test_resize_past_the_storage_end():
    for lib in (terra, torch):
        base = lib.zeros(10)
        out = base[8:]
        with pytest.warns(UserWarning, match=RESIZED):
            lib.exp(both(lib, a3), out=out)
        assert out.storage_offset() == 8 and tuple(out.shape) == (3,)
        np.testing.assert_allclose(out.numpy(), np.exp(a3), rtol=1e-6)
        assert base[:8].numpy().tolist() == [0.0] * 8


def test_tuple_outs_are_resized():
    x = data(2, 3)
    for lib in (terra, torch):
        values, indices = lib.empty(5), lib.empty(0, dtype=lib.int64)
        with pytest.warns(UserWarning, match="was resized since it had shape \\[5\\]"):
            r = lib.max(both(lib, x), 1, out=(values, indices))
        assert r[0] is values and r[1] is indices
        np.testing.assert_allclose(values.numpy(), x.max(1))
        assert indices.tolist() == x.argmax(1).tolist()


def test_dtype_error_comes_before_resizing():
    for lib in (terra, torch):
        out = lib.empty(2, dtype=lib.int64)
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            lib.exp(both(lib, a3), out=out)
        assert tuple(out.shape) == (2,)


def test_out_requiring_grad_is_refused_unresized():
    for lib in (terra, torch):
        out = lib.empty(2, requires_grad=True)
        with pytest.raises(RuntimeError, match=re.escape(
                "exp(): functions with out=... arguments don't support automatic differentiation, but one of the "
                "arguments requires grad.")):
            lib.exp(both(lib, a3), out=out)
        assert tuple(out.shape) == (2,)
        with lib.no_grad(), pytest.warns(UserWarning, match=RESIZED):
            lib.exp(both(lib, a3), out=out)
        assert tuple(out.shape) == (3,)


@pytest.mark.parametrize("name,call,shape,dtype", [
    ("zeros", lambda L, o: L.zeros(3, out=o), (2,), None),
    ("ones", lambda L, o: L.ones(2, 3, out=o), (4,), None),
    ("full", lambda L, o: L.full((3,), 2.5, out=o), (2,), None),
    ("linspace", lambda L, o: L.linspace(-1.5, 2.5, 5, out=o), (2,), None),
    ("logspace", lambda L, o: L.logspace(0, 2, 3, out=o), (2,), None),
    ("eye", lambda L, o: L.eye(3, out=o), (2,), None),
    ("zeros_long", lambda L, o: L.zeros(3, out=o), (2,), "int64"),
])
def test_factories_resize_silently(name, call, shape, dtype):
    check(call, shape, dtype, expect_warning=False)


@pytest.mark.parametrize("name,call,shape,dtype", [
    ("rand", lambda L, o: L.rand(2, 3, out=o), (2,), None),
    ("randn", lambda L, o: L.randn(3, out=o), (5,), None),
    ("randint", lambda L, o: L.randint(5, (2, 2), out=o), (3,), "int64"),
    ("randperm", lambda L, o: L.randperm(4, out=o), (2,), "int64"),
])
def test_random_factories_resize_silently_and_write_out(name, call, shape, dtype):
    for lib in (terra, torch):
        out = lib.empty(*shape) if dtype is None else lib.empty(*shape, dtype=getattr(lib, dtype))
        out.fill_(-7)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert call(lib, out) is out
        assert out.shape == call(lib, None).shape and not (out == -7).any()


def test_arange_keeps_a_shape_of_the_right_count():
    for lib in (terra, torch):
        out = lib.empty(2, 2)
        lib.arange(4.0, out=out)
        assert tuple(out.shape) == (2, 2) and out.flatten().tolist() == [0.0, 1.0, 2.0, 3.0]
        message = ("The number of elements in the out tensor of shape [2, 2] is 4 which does not match the computed "
                   "number of elements 3. Note that this may occur as a result of rounding error. The out tensor "
                   "will be resized to a tensor of shape (3,).")
        with pytest.warns(UserWarning, match=re.escape(message)):
            lib.arange(3.0, out=out)
        assert out.tolist() == [0.0, 1.0, 2.0]
        empty = lib.empty(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.arange(0.5, 3.0, 0.5, out=empty)
        assert empty.tolist() == [0.5, 1.0, 1.5, 2.0, 2.5]


def test_tensor_resize_():
    x = data(6)
    for lib in (terra, torch):
        t = both(lib, x)
        assert t.resize_(2, 2) is t and tuple(t.shape) == (2, 2) and t.stride() == (2, 1)
        np.testing.assert_array_equal(np.array(t.tolist(), dtype=np.float32).ravel(), x[:4])
        t.resize_((3, 3))  # grows: the old elements stay at the start
        np.testing.assert_array_equal(np.array(t.flatten()[:6].tolist(), dtype=np.float32), x)
        t.resize_(0)
        assert tuple(t.shape) == (0,)
        u = both(lib, x)
        u.resize_as_(lib.empty(2, 3))
        np.testing.assert_array_equal(u.numpy(), x.reshape(2, 3))
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            lib.zeros(2, requires_grad=True).resize_(3)
        with pytest.raises(RuntimeError):  # PyTorch 1.13: "numel: integer multiplication overflow"
            lib.zeros(2).resize_(-1)
