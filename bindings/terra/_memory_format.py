"""torch.memory_format: contiguous_format, preserve_format, channels_last, channels_last_3d.

Terra's ops write contiguous (row-major) results. A channels-last tensor is made as PyTorch lays
one out, by a copy in (N, H, W, C) order viewed back as (N, C, H, W):
x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2), whose strides are PyTorch's
(HWC, 1, WC, C). contiguous(), clone(), to() and the *_like factories take memory_format= as
PyTorch's; is_contiguous(memory_format=) checks those strides. Ops on a channels-last tensor
give contiguous results (PyTorch's elementwise ops would keep channels-last strides).

preserve_format (the default of clone() and the *_like factories) keeps the input's layout as
PyTorch 1.13's empty_like does: a non-overlapping and dense input's strides exactly (a transposed
or permuted tensor, channels-last), otherwise dense strides in the input's order of strides
(infer_dense_strides: an expanded or sliced input). A row-major input takes the plain path.
"""
from . import _C, _public_name
from ._C import _ops

Tensor = _C.Tensor
# The C++ check (row-major strides), kept before install() puts is_contiguous(memory_format=) over it.
Tensor._is_contiguous_rowmajor = Tensor.__dict__.get("_is_contiguous_rowmajor", Tensor.is_contiguous)
_rowmajor = Tensor._is_contiguous_rowmajor


class memory_format(_public_name.NamedConstant):
    """torch.memory_format: how a tensor's dims are laid out in memory."""


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")

# The dims in memory order (outermost first) of each channels-last format, and the rank it needs.
_ORDER = {channels_last: (0, 2, 3, 1), channels_last_3d: (0, 2, 3, 4, 1)}


def _check(fmt):
    if fmt is not None and not isinstance(fmt, memory_format):
        raise TypeError(f"memory_format must be a {_public_name.qualified('memory_format')}, "
                        f"not {type(fmt).__name__}")


def _expected_strides(shape, order):
    strides = [0] * len(shape)
    step = 1
    for d in reversed(order):
        strides[d] = step
        step *= shape[d]
    return strides


def is_contiguous(t, fmt=None):
    """Tensor.is_contiguous(memory_format=): PyTorch's strides for that format, dims of size 1
    free."""
    _check(fmt)
    if fmt is None or fmt is contiguous_format:
        return _rowmajor(t)
    if fmt is preserve_format:
        raise RuntimeError("is_contiguous: preserve_format is not a valid memory format for this check")
    order = _ORDER[fmt]
    if t.dim() != len(order):
        return False
    shape, strides = t.shape, t.stride()
    return all(shape[d] == 1 or strides[d] == s for d, s in enumerate(_expected_strides(shape, order)))


def _require_rank(t, fmt):
    rank = len(_ORDER[fmt])
    if t.dim() != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {fmt._name} format")


def laid_out(t, fmt):
    """t itself if already laid out in fmt (contiguous_format or a channels-last one), else a copy
    that is."""
    if fmt is None or fmt is contiguous_format:
        return _ops.contiguous(t)
    _require_rank(t, fmt)
    if is_contiguous(t, fmt):
        return t
    order = _ORDER[fmt]
    back = [order.index(d) for d in range(len(order))]
    return _ops.permute(_ops.contiguous(_ops.permute(t, list(order))), back)


def contiguous(t, fmt=None):
    _check(fmt)
    if fmt is preserve_format:
        if _rowmajor(t):
            return _ops.contiguous(t)
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    return laid_out(t, fmt)


def _contiguous_strides(shape):
    strides, step = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        strides[d] = step
        step *= max(shape[d], 1)
    return strides


def infer_dense_strides(shape, strides):
    """ATen's infer_dense_strides: dense strides ordering the dims as the input's strides do (a
    stable insertion sort, innermost first; stride-0 dims keep their place; equal strides put the
    smaller dim inside)."""
    n = len(shape)
    if n == 0:
        return []
    if n == 1:
        return [1]
    perm = list(range(n - 1, -1, -1))

    def should_swap(d0, d1):
        s0, s1 = strides[d0], strides[d1]
        if s0 == 0 or s1 == 0:
            return 0
        if s0 != s1:
            return -1 if s0 < s1 else 1
        return 1 if shape[d0] > shape[d1] else 0

    for i in range(1, n):
        d1 = i
        for j in range(1, i + 1):
            d0 = i - j
            c = should_swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    out, step = [0] * n, 1
    for d in perm:
        out[d] = step
        if shape[d] > 1:
            step *= shape[d]
    return out


def preserved_strides(t):
    """The strides preserve_format gives a new tensor like t (None: plain contiguous ones)."""
    shape, strides = list(t.shape), list(t.stride())
    target = strides if t._is_non_overlapping_and_dense() else infer_dense_strides(shape, strides)
    return None if target == _contiguous_strides(shape) else target


def _preserving_clone(t):
    target = preserved_strides(t)
    if target is None:
        return _ops.clone(t)
    shape = list(t.shape)
    # A contiguous copy in the target's order of dims (outermost first), viewed back: autograd sees
    # permute, clone, permute. Strides of size-1 dims that this misses come from as_strided.
    order = sorted(range(len(shape)), key=lambda d: (-target[d], shape[d] == 1))
    copied = _ops.clone(_ops.permute(t, order))
    r = _ops.permute(copied, [order.index(d) for d in range(len(order))])
    if list(r.stride()) != target:
        r = _ops.as_strided(copied, shape, target, copied.storage_offset())
    return r


def clone(t, fmt=None):
    if fmt is None or fmt is preserve_format:
        # The row-major fast path gives size-1 (and size-0) dims contiguous strides; PyTorch would
        # keep the input's own strides there (the same memory layout either way).
        return _ops.clone(t) if _rowmajor(t) else _preserving_clone(t)
    _check(fmt)
    out = _ops.clone(t)
    return out if fmt is contiguous_format else laid_out(out, fmt)


def _restrided(out, input):
    """out (contiguous, of input's shape) viewed with the strides preserve_format keeps for input."""
    target = preserved_strides(input)
    return out if target is None else _ops.as_strided(out, list(out.shape), target, out.storage_offset())


def like(out, input, fmt):
    """A *_like factory's result `out` (contiguous, of equal or independent elements) laid out as
    memory_format `fmt` asks, given the tensor it was made like (preserve_format, the default,
    keeps input's strides: preserved_strides)."""
    if fmt is None or fmt is preserve_format:
        return out if _rowmajor(input) else _restrided(out, input)
    _check(fmt)
    return out if fmt is contiguous_format else laid_out(out, fmt)


def install():
    Tensor.is_contiguous = lambda self, memory_format=None: (
        _rowmajor(self) if memory_format is None else is_contiguous(self, memory_format))
