"""memory_format=preserve_format (the default) of clone() and the *_like factories against
PyTorch 1.13: a non-overlapping and dense input's strides kept, others given dense strides in the
input's stride order; and empty_strided."""
import numpy as np
import pytest
import torch

import terra

rng = np.random.default_rng(3)


def layouts(lib):
    def base(*shape):
        return lib.tensor(rng.uniform(-2, 2, size=shape).astype(np.float32))
    return {
        "transposed": base(3, 4).t(),
        "permuted": base(2, 3, 4).permute(2, 0, 1),
        "sliced_step": base(4, 6)[:, ::2],
        "transposed_sliced": base(6, 4).t()[:, ::2],
        "expanded": base(3, 1).expand(3, 4),
        "expanded_transposed": base(1, 3).t().expand(3, 4),
        "size1_transposed": base(3, 1, 4).transpose(0, 2),
        "unsqueezed_transposed": base(3, 4).t().unsqueeze(1),
        "offset_block": base(3, 4)[1:, 1:],
        "offset_1d": base(10)[2:5],
        "step_1d": base(10)[::2],
        "channels_last": base(2, 3, 4, 5).contiguous(memory_format=lib.channels_last),
        "channels_last_sliced": base(2, 3, 4, 6).contiguous(memory_format=lib.channels_last)[..., ::2],
        "gappy": base(20).as_strided((3, 4), (1, 5)),
        "rows_apart": base(20).as_strided((3, 4), (7, 1)),
        "permuted_expanded": base(4, 1, 3).permute(2, 1, 0).expand(3, 5, 4),
        "contiguous": base(3, 4),
        "scalar": base(1).reshape(()),
    }


# Each with the same random-but-shared inputs: a seed per library call of layouts().
def both_layouts():
    state = rng.bit_generator.state
    ours = layouts(terra)
    rng.bit_generator.state = state
    return ours, layouts(torch)


FACTORIES = {
    "clone": lambda lib, x: x.clone(),
    "clone_preserve": lambda lib, x: x.clone(memory_format=lib.preserve_format),
    "empty_like": lambda lib, x: lib.empty_like(x),
    "zeros_like": lambda lib, x: lib.zeros_like(x),
    "ones_like": lambda lib, x: lib.ones_like(x),
    "full_like": lambda lib, x: lib.full_like(x, 2.5),
    "rand_like": lambda lib, x: lib.rand_like(x),
    "randn_like": lambda lib, x: lib.randn_like(x),
    "randint_like": lambda lib, x: lib.randint_like(x, 7),
    "empty_like_double": lambda lib, x: lib.empty_like(x, dtype=lib.float64),
}


@pytest.mark.parametrize("factory", sorted(FACTORIES))
@pytest.mark.parametrize("layout", sorted(layouts(torch)))
def test_strides_match_pytorch(factory, layout):
    ours, theirs = both_layouts()
    x, rx = ours[layout], theirs[layout]
    assert x.stride() == rx.stride()
    got, want = FACTORIES[factory](terra, x), FACTORIES[factory](torch, rx)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.stride() == want.stride(), (layout, factory)
    if factory.startswith("clone"):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.data_ptr() != x.data_ptr()
    elif factory in ("zeros_like", "ones_like", "full_like"):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("layout", ["transposed", "permuted", "sliced_step", "expanded"])
def test_contiguous_format_still_gives_contiguous(layout):
    ours, theirs = both_layouts()
    for lib, x in ((terra, ours[layout]), (torch, theirs[layout])):
        assert x.clone(memory_format=lib.contiguous_format).is_contiguous()
        assert lib.zeros_like(x, memory_format=lib.contiguous_format).is_contiguous()


def test_clone_of_a_transposed_tensor_keeps_its_gradient():
    a = rng.uniform(-2, 2, size=(3, 4)).astype(np.float32)
    w = rng.uniform(-2, 2, size=(4, 3)).astype(np.float32)
    grads = []
    for lib in (terra, torch):
        x = lib.tensor(a).t().requires_grad_()
        y = x.clone()
        assert y.stride() == (1, 4) and y.requires_grad
        (y * lib.tensor(w)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])
    np.testing.assert_allclose(grads[0], w)


def test_clone_with_a_size_one_stride_keeps_the_gradient():
    a = rng.uniform(-2, 2, size=(3, 1, 4)).astype(np.float32)
    for lib in (terra, torch):
        x = lib.tensor(a).transpose(0, 2).requires_grad_()
        y = x.clone()
        assert y.stride() == (1, 4, 4)
        (y * 3).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.full((4, 1, 3), 3.0, dtype=np.float32))


def test_writing_a_preserved_clone_leaves_the_input():
    a = rng.uniform(-2, 2, size=(3, 4)).astype(np.float32)
    x = terra.tensor(a).t()
    y = x.clone()
    y.fill_(1.0)
    np.testing.assert_array_equal(x.numpy(), a.T)


@pytest.mark.parametrize("size,stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((2, 0), (1, 2)), ((), ()),
                                         ((3, 4), (8, 2)), ((2, 3), (0, 1))])
def test_empty_strided(size, stride):
    t, r = terra.empty_strided(size, stride), torch.empty_strided(size, stride)
    assert tuple(t.shape) == tuple(r.shape) and t.stride() == r.stride()
    assert t.dtype is terra.float32
    assert terra.empty_strided(size, stride, dtype=terra.int64).dtype is terra.int64
    n = terra.ones(1).new_empty_strided(size, stride)
    assert n.stride() == torch.ones(1).new_empty_strided(size, stride).stride()


def test_empty_strided_errors():
    for lib in (terra, torch):
        with pytest.raises(RuntimeError, match=r"dimensionality of sizes \(2\) must match dimensionality of strides"):
            lib.empty_strided((2, 3), (1,))
        with pytest.raises(RuntimeError, match="Trying to create tensor with negative dimension -3"):
            lib.empty_strided((2, -3), (1, 2))
        with pytest.raises(RuntimeError, match="Storage size calculation overflowed"):
            lib.empty_strided((2, 3), (1, -2))
