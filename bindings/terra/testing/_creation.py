"""make_tensor (torch.testing.make_tensor of PyTorch 1.13): a random tensor of a shape, dtype and
device, with values uniform in [low, high)."""
import collections.abc
import math

from .. import _C, finfo, iinfo, rand, randint, repeat_interleave, tensor

_INTEGRAL = (_C.int32, _C.int64)
_FLOATING = (_C.float32, _C.float64)


def _low_high(low, high, lowest, highest, default_low, default_high, integral):
    """The range asked for (or the dtype's default), checked and clamped to what the dtype holds."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if low != low or high != high:
        raise ValueError("make_tensor: one of low or high was NaN!")
    if low > high:
        raise ValueError("make_tensor: low must be weakly less than high!")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    return (math.floor(low), math.ceil(high)) if integral else (low, high)


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False):
    """A tensor of `shape` (ints, or one sequence) with values drawn uniformly from [low, high):
    by default [0, 2) for bool, [-9, 10) for integers and [-9, 9) for floating point; a `low` or
    `high` outside the dtype's finite range is clamped to it. `noncontiguous` gives a
    non-contiguous tensor (when it has more than one element); `exclude_zero` replaces zeros with 1
    (bool, integers) or the dtype's smallest normal number. Terra's dtypes are bool, int32, int64,
    float32 and float64; any other raises TypeError."""
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if requires_grad and dtype not in _FLOATING:
        raise ValueError("make_tensor: requires_grad must be False for integral dtype")
    if dtype is _C.bool:
        result = randint(0, 2, shape, device=device, dtype=dtype)
    elif dtype in _INTEGRAL:
        info = iinfo(dtype)
        low, high = _low_high(low, high, info.min, info.max, -9, 10, integral=True)
        result = randint(low, high, shape, device=device, dtype=dtype)
    elif dtype in _FLOATING:
        info = finfo(dtype)
        low, high = _low_high(low, high, info.min, info.max, -9, 9, integral=False)
        uniform = rand(shape, device=device, dtype=dtype)
        result = high * uniform + low * (1 - uniform)
    else:
        raise TypeError(f"The requested dtype '{dtype}' is not supported by terra.testing.make_tensor(): "
                        "Terra's dtypes are bool, int32, int64, float32 and float64.")
    if noncontiguous and result.numel() > 1:
        result = repeat_interleave(result, 2, dim=-1)[..., ::2]
    if exclude_zero:
        tiny = 1 if dtype not in _FLOATING else finfo(dtype).tiny
        result[result == 0] = tensor(tiny, device=device, dtype=dtype)
    if dtype in _FLOATING:
        result.requires_grad = requires_grad
    return result
