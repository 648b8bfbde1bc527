"""torch.memory_format: contiguous_format, preserve_format, channels_last, channels_last_3d.

Terra's ops write contiguous (row-major) results. A channels-last tensor is made as PyTorch lays
one out, by a copy in (N, H, W, C) order viewed back as (N, C, H, W):
x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2), whose strides are PyTorch's
(HWC, 1, WC, C). contiguous(), clone(), to() and the *_like factories take memory_format= as
PyTorch's; is_contiguous(memory_format=) checks those strides. Ops on a channels-last tensor
give contiguous results (PyTorch's elementwise ops would keep channels-last strides).
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


def suggested(t):
    """The format preserve_format keeps for t: channels_last(_3d) when t is laid out so (and is not
    also plain contiguous), else contiguous_format, as PyTorch's suggest_memory_format."""
    if t.dim() in (4, 5) and not _rowmajor(t):
        fmt = channels_last if t.dim() == 4 else channels_last_3d
        if is_contiguous(t, fmt):
            return fmt
    return contiguous_format


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


def clone(t, fmt=None):
    _check(fmt)
    if fmt is None or fmt is preserve_format:
        fmt = suggested(t)
    out = _ops.clone(t)
    return out if fmt is contiguous_format else laid_out(out, fmt)


def like(out, input, fmt):
    """A *_like factory's result `out` (contiguous) laid out as memory_format `fmt` asks, given the
    tensor it was made like (preserve_format, the default, keeps input's channels-last layout)."""
    _check(fmt)
    if fmt is None or fmt is preserve_format:
        fmt = suggested(input)
    return out if fmt is contiguous_format else laid_out(out, fmt)


def install():
    Tensor.is_contiguous = lambda self, memory_format=None: (
        _rowmajor(self) if memory_format is None else is_contiguous(self, memory_format))
