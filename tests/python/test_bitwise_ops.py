"""Bitwise ops, shifts, gcd and lcm on integer and bool tensors, against PyTorch 1.13: the
operators (& | ^ ~ << >> and their in-place and reflected forms), the torch.* functions and
the Tensor methods; floats are refused as PyTorch refuses them. Replayed with fusion on, they
compute what eager does."""
import numpy as np
import pytest
import torch

import terra

INTEGER_DTYPES = ["int32", "int64"]  # Terra's integer dtypes


def draw(dtype, shape, seed, low=None, high=None):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    info = np.iinfo(dtype)
    low = info.min if low is None else low
    high = info.max if high is None else high
    return rng.integers(low, high, shape, endpoint=True).astype(dtype)


def both(array):
    return terra.tensor(array), torch.tensor(array)


def assert_same(got, expected):
    assert str(got.dtype).replace("terra.", "") == str(expected.dtype).replace("torch.", "")
    assert list(got.shape) == list(expected.shape)
    assert np.array_equal(got.numpy(), expected.numpy())


BINARY = {
    "and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b,
    "bitwise_and": lambda a, b: a.bitwise_and(b), "bitwise_or": lambda a, b: a.bitwise_or(b),
    "bitwise_xor": lambda a, b: a.bitwise_xor(b),
}


@pytest.mark.parametrize("dtype", INTEGER_DTYPES + ["bool"])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_bitwise_binary_ops_match_pytorch(name, dtype):
    seed = sum(map(ord, name + dtype))
    a, b = draw(dtype, (4, 5), seed), draw(dtype, (5,), seed + 1)  # broadcast
    ta, pa = both(a)
    tb, pb = both(b)
    assert_same(BINARY[name](ta, tb), BINARY[name](pa, pb))


@pytest.mark.parametrize("dtype", INTEGER_DTYPES + ["bool"])
def test_bitwise_not_matches_pytorch(dtype):
    t, p = both(draw(dtype, (3, 7), 5))
    assert_same(~t, ~p)
    assert_same(terra.bitwise_not(t), torch.bitwise_not(p))


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_shifts_within_the_width_match_pytorch(dtype):
    bits = np.dtype(dtype).itemsize * 8
    a = draw(dtype, (6, 8), 11)
    counts = draw(dtype, (6, 8), 12, low=0, high=bits - 1)
    ta, pa = both(a)
    tc, pc = both(counts)
    assert_same(ta << tc, pa << pc)
    assert_same(ta >> tc, pa >> pc)
    assert_same(terra.bitwise_left_shift(ta, tc), torch.bitwise_left_shift(pa, pc))
    assert_same(terra.bitwise_right_shift(ta, tc), torch.bitwise_right_shift(pa, pc))
    assert_same(ta << 3, pa << 3)
    assert_same(ta >> 2, pa >> 2)
    assert_same(1 << tc, 1 << pc)


def test_shifts_past_the_width_are_defined_as_pytorch_2_defines_them():
    a = terra.tensor([5, -5, 7, -7])
    counts = terra.tensor([64, 64, -1, 70])
    assert (a << counts).tolist() == [0, 0, 0, 0]
    assert (a >> counts).tolist() == [0, -1, 0, -1]


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_gcd_and_lcm_match_pytorch(dtype):
    a, b = draw(dtype, (5, 6), 21, low=-40, high=40), draw(dtype, (5, 6), 22, low=-40, high=40)
    a[0, 0] = b[0, 0] = 0
    ta, pa = both(a)
    tb, pb = both(b)
    assert_same(terra.gcd(ta, tb), torch.gcd(pa, pb))
    assert_same(ta.lcm(tb), pa.lcm(pb))


def test_mixed_dtypes_and_python_numbers_promote_as_pytorch():
    i32, p32 = both(draw("int32", (4,), 31))
    i64, p64 = both(draw("int64", (4,), 32))
    flags, pflags = both(draw("bool", (4,), 33))
    for f in (lambda a, b: a & b, lambda a, b: a | b, lambda a, b: a ^ b):
        assert_same(f(i32, i64), f(p32, p64))
        assert_same(f(flags, i32), f(pflags, p32))
        assert_same(f(i64, 6), f(p64, 6))
        assert_same(f(6, i64), f(6, p64))
        assert_same(f(flags, True), f(pflags, True))
        assert_same(f(i64, True), f(p64, True))


def test_in_place_forms_write_into_the_tensor():
    a = draw("int64", (3, 4), 41, low=-1000, high=1000)
    b = draw("int64", (4,), 42, low=0, high=9)
    for op in ("__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__"):
        t, p = both(a.copy())
        t_before = t
        t = getattr(t, op)(terra.tensor(b))
        p = getattr(p, op)(torch.tensor(b))
        assert t is t_before
        assert_same(t, p)
    t, p = both(a.copy())
    t.bitwise_xor_(terra.tensor(b))
    p.bitwise_xor_(torch.tensor(b))
    assert_same(t, p)
    t, p = both(np.abs(a) + 1)
    t.gcd_(terra.tensor(b + 1))
    p.gcd_(torch.tensor(b + 1))
    assert_same(t, p)


REFUSING_FLOATS = {
    "and": lambda x, y: x & 1, "or": lambda x, y: x | y, "xor": lambda x, y: x ^ y, "lshift": lambda x, y: x << 1,
    "rshift": lambda x, y: x >> 1, "gcd": terra.gcd, "bitwise_not": lambda x, y: terra.bitwise_not(x),
}


@pytest.mark.parametrize("name", sorted(REFUSING_FLOATS))
def test_floating_tensors_are_refused(name):
    x, y = terra.tensor([1.5, 2.0]), terra.tensor([2.5, 1.0])
    with pytest.raises(RuntimeError, match="only supported for integer and bool tensors, got float32"):
        REFUSING_FLOATS[name](x, y)


def test_invert_of_a_float_tensor_is_a_type_error_as_in_pytorch():
    with pytest.raises(TypeError, match="only implemented on integer and Boolean-type tensors"):
        ~terra.tensor([1.5])
    with pytest.raises(TypeError, match="only implemented on integer and Boolean-type tensors"):
        ~torch.tensor([1.5])


def test_shifts_and_gcd_refuse_bool_tensors():
    flags = terra.tensor([True, False])
    with pytest.raises(RuntimeError, match="does not support bool tensors"):
        flags << flags
    with pytest.raises(RuntimeError, match="does not support bool tensors"):
        terra.gcd(flags, flags)


def hash_steps(steps):
    """A loop of integer bit mixing (a hash), with a float loss beside it so the loop has a
    backward() call for the session to find its iterations."""
    terra.manual_seed(0)
    w = terra.randn(8, requires_grad=True)
    state = terra.tensor(draw("int64", (8,), 51, low=0, high=2**40))
    seen = []
    for _ in range(steps):
        state = (state ^ (state << 13)) & 0xFFFFFFFFFF
        state = state ^ (state >> 7) | (~state & 3)
        loss = (w * (state % 97).to(terra.float32)).sum()
        loss.backward()
        seen.append(int(state.sum().item()))
    return seen, w.grad.numpy().copy()


def test_a_replayed_loop_of_bitwise_ops_with_fusion_computes_what_eager_does():
    eager = hash_steps(12)
    with terra.replay(fusion=True, replay_must_pay=False):
        replayed = hash_steps(12)
    assert terra.debug.stats()["iterations_replayed"] >= 5
    assert replayed[0] == eager[0]
    assert np.array_equal(replayed[1], eager[1])
