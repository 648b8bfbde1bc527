"""Tensor.storage() (a TypedStorage), UntypedStorage, set_ and is_set_to against PyTorch 1.13."""
import copy
import pickle
import re

import numpy as np
import pytest
import torch

import terra

rng = np.random.default_rng(11)


def pair(*shape, dtype=np.float32):
    a = rng.uniform(-3, 3, size=shape).astype(dtype) if dtype != np.bool_ else rng.uniform(size=shape) > 0.5
    return terra.tensor(a), torch.tensor(a)


def as_torch_text(s):
    return s.replace("terra", "torch")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.bool_])
def test_storage_describes_the_memory(dtype):
    t, r = pair(3, 4, dtype=dtype)
    s, rs = t.storage(), r.storage()
    assert type(s).__name__ == type(rs).__name__ == "TypedStorage"
    assert isinstance(s, terra.TypedStorage) and terra.is_storage(s) and not terra.is_storage(t)
    assert s.size() == len(s) == rs.size() == 12
    assert s.element_size() == rs.element_size() and s.nbytes() == rs.nbytes()
    assert repr(s.dtype).split(".")[1] == repr(rs.dtype).split(".")[1]
    assert str(s.device) == str(rs.device) == "cpu" and not s.is_cuda and not s.is_sparse
    assert s.data_ptr() == t.data_ptr()
    assert s.tolist() == rs.tolist() == list(s) == list(rs)
    assert as_torch_text(s.type()) == rs.type()
    assert s.pickle_storage_type() == rs.pickle_storage_type()
    assert as_torch_text(repr(s)) == repr(rs)
    assert not s.is_pinned() and not s.is_shared()


@pytest.mark.parametrize("view", [lambda x: x[1:, 2:], lambda x: x.t(), lambda x: x[:, 1], lambda x: x.reshape(12)[3:7],
                                  lambda x: x.unsqueeze(0).expand(2, 3, 4), lambda x: x[2:]])
def test_views_share_the_whole_storage(view):
    t, r = pair(3, 4)
    v, rv = view(t), view(r)
    assert v.storage().size() == rv.storage().size() == 12
    assert v.storage().data_ptr() == t.storage().data_ptr()
    assert rv.storage().data_ptr() == r.storage().data_ptr()
    assert v.storage().tolist() == rv.storage().tolist()
    assert v.storage_offset() == rv.storage_offset()


def test_a_copy_has_its_own_storage():
    t, r = pair(3, 4)
    assert t.clone().storage().data_ptr() != t.storage().data_ptr()
    assert t[:, 1:].contiguous().storage().size() == r[:, 1:].contiguous().storage().size() == 9
    assert terra.empty(0).storage().size() == torch.empty(0).storage().size() == 0


def test_indexing_and_writing_through():
    t, r = pair(5)
    for lib_t in (t, r):
        s = lib_t.storage()
        for i in (0, 2, -1, -5):
            assert s[i] == lib_t.tolist()[i]
        assert isinstance(s[1], float)
        for bad in (5, -6):
            with pytest.raises(IndexError, match=f"index {bad} out of range for storage of size 5"):
                s[bad]
        with pytest.raises(RuntimeError, match=re.escape("can't index a <class '")):
            s[1.5]
        with pytest.raises(RuntimeError, match="slices are only supported in UntypedStorage.__getitem__"):
            s[0:2]
        s[1] = 10.5
        s[0:2] = -2.0
        s[-1] = True
        with pytest.raises(TypeError, match="can't assign a str to a (torch|terra).FloatTensor"):
            s[0] = "a"
    np.testing.assert_array_equal(t.numpy(), r.numpy())


def test_writes_through_a_view_storage_reach_the_base():
    t, r = pair(3, 4)
    for base in (t, r):
        base[1:, 2:].storage()[0] = 42.0
        base.t().storage()[5] = -1.0
    np.testing.assert_array_equal(t.numpy(), r.numpy())
    assert t[0, 0].item() == 42.0 and t[1, 1].item() == -1.0


def test_fill_copy_clone_conversions():
    t, r = pair(4)
    for base in (t, r):
        s = base.storage()
        c = s.clone()
        assert c.tolist() == s.tolist() and c.data_ptr() != s.data_ptr()
        assert s.double().tolist() == s.tolist() and s.long().tolist() == [int(v) for v in s.tolist()]
        assert s.fill_(2.5) is s and base.tolist() == [2.5] * 4
    src_t, src_r = pair(4)
    t.storage().copy_(src_t.storage())
    r.storage().copy_(src_r.storage())
    np.testing.assert_array_equal(t.numpy(), r.numpy())


def test_untyped_storage_bytes():
    t, r = pair(3)
    u, ru = t.storage().untyped(), r.storage().untyped()
    assert type(u).__name__ == type(ru).__name__ == "UntypedStorage"
    assert u.nbytes() == ru.nbytes() == u.size() == len(u) == 12
    assert u.data_ptr() == t.data_ptr() and u.element_size() == 1
    assert u.tolist() == ru.tolist() and u[3] == ru[3]
    assert t.untyped_storage().nbytes() == 12


def test_constructing_and_pickling():
    assert terra.TypedStorage(3).size() == torch.TypedStorage(3).size() == 3
    assert terra.TypedStorage([1, 2]).tolist() == torch.TypedStorage([1, 2]).tolist()
    assert terra.TypedStorage().size() == 0
    assert terra.TypedStorage([1, 2], dtype=terra.float64).dtype is terra.float64
    t, _ = pair(4)
    s = t.storage()
    for again in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s), copy.copy(s)):
        assert again.tolist() == s.tolist() and again.data_ptr() != s.data_ptr()


def test_storage_of_a_tensor_requiring_grad():
    t, r = pair(3)
    t.requires_grad_()
    r.requires_grad_()
    assert t.storage().tolist() == r.storage().tolist()


def test_is_set_to_and_set_():
    t, r = pair(3, 4)
    for x in (t, r):
        assert x.is_set_to(x) and x.is_set_to(x[:]) and not x.is_set_to(x.view(12))
        assert not x.is_set_to(x.clone()) and not x.is_set_to(x.t())
    for lib, src in ((terra, t), (torch, r)):
        e = lib.empty(3)
        assert e.set_(src) is e and e.is_set_to(src)
        f = lib.empty(3)
        f.set_(src.storage(), 1, (2, 2))
        assert f.storage_offset() == 1 and f.stride() == (2, 1)
        g = lib.empty(3)
        g.set_(src.storage(), 2, (2, 3), (1, 2))
        h = lib.arange(3.0)
        h.set_()
        assert tuple(h.shape) == (0,)
    np.testing.assert_array_equal(terra.empty(3).set_(t.storage(), 1, (2, 2)).numpy(),
                                  torch.empty(3).set_(r.storage(), 1, (2, 2)).numpy())
    np.testing.assert_array_equal(terra.empty(3).set_(t.storage(), 2, (2, 3), (1, 2)).numpy(),
                                  torch.empty(3).set_(r.storage(), 2, (2, 3), (1, 2)).numpy())
