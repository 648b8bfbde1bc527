"""PyTorch dtypes Terra does not have (bindings/terra/_missing_dtypes.py): scripts can name, print,
compare and pickle them, and every op refuses them with a TypeError naming the dtype; none of them
is taken for the default dtype (they used to be None, and `tensor(data, dtype=uint8)` silently
made int64)."""
import pickle

import numpy as np
import pytest
import terra
import torch

MISSING = ["float16", "half", "bfloat16", "uint8", "int8", "int16", "short", "complex32", "chalf", "complex64",
           "cfloat", "complex128", "cdouble"]


@pytest.mark.parametrize("name", MISSING)
def test_named_printed_compared_and_pickled_like_pytorch(name):
    ours, theirs = getattr(terra, name), getattr(torch, name)
    assert repr(ours) == repr(theirs).replace("torch.", "terra.")
    assert (ours.is_floating_point, ours.is_complex, ours.is_signed) == (
        theirs.is_floating_point, theirs.is_complex, theirs.is_signed)
    assert ours.itemsize == torch.empty((), dtype=theirs).element_size()
    assert ours != terra.float32 and ours != terra.int64 and ours == ours
    assert pickle.loads(pickle.dumps(ours)) is ours
    assert ours in {ours: 1}


CALLS = {
    "tensor": lambda dt: terra.tensor([1, 2, 300], dtype=dt),
    "zeros": lambda dt: terra.zeros(3, dtype=dt),
    "empty": lambda dt: terra.empty(2, 3, dtype=dt),
    "arange": lambda dt: terra.arange(4, dtype=dt),
    "full": lambda dt: terra.full((2,), 7, dtype=dt),
    "to": lambda dt: terra.ones(2).to(dt),
    "to(dtype=)": lambda dt: terra.ones(2).to(dtype=dt),
    "type": lambda dt: terra.ones(2).type(dt),
    "sum(dtype=)": lambda dt: terra.ones(2, 2).sum(dtype=dt),
    "as_tensor": lambda dt: terra.as_tensor(np.arange(3), dtype=dt),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("name", ["uint8", "half", "bfloat16", "int16", "cfloat"])
def test_every_op_refuses_them_by_name(call, name):
    dt = getattr(terra, name)
    with pytest.raises(TypeError, match=f"^[a-z_]+\\(\\): argument 'dtype': Terra has no {dt.name} dtype"):
        CALLS[call](dt)


def test_the_error_names_the_op():
    with pytest.raises(TypeError, match=r"^zeros\(\): argument 'dtype': Terra has no uint8 dtype \(its dtypes are"):
        terra.zeros(3, dtype=terra.uint8)
    with pytest.raises(TypeError, match=r"^to\(\): argument 'dtype': Terra has no float16 dtype"):
        terra.ones(2).to(terra.half)


def test_tensors_never_report_them_and_autocast_still_runs():
    x = terra.tensor([1, 2, 3])
    assert x.dtype != terra.uint8 and x.dtype == terra.int64
    with pytest.warns(UserWarning, match="no float16 or bfloat16"):
        with terra.autocast("cpu", dtype=terra.bfloat16):
            y = terra.mm(terra.ones(2, 2), terra.ones(2, 2))
    assert y.dtype == terra.float32
