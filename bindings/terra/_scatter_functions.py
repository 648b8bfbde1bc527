"""PyTorch 1.13's scatter forms Terra composes from registry ops: select_scatter, slice_scatter
and diagonal_scatter (index_put of src into a copy: differentiable in both), scatter_reduce and
index_reduce (sum, prod, mean, amax, amin; include_self either way).

scatter_reduce compares every index with every target position along dim (a one-hot mask of
index.numel() x self.size(dim) elements), reduces src through the mask with the ordinary
reductions, and combines the result with self where any index lands: memory grows with that
product, and the gradients are those of the reductions (amax/amin share a tie evenly among the
src elements, as PyTorch's).
"""
from . import _C
from ._C import _ops
from ._inplace_functions import _inplace
from ._shape_functions import _wrap_dim, exporters

Tensor = _C.Tensor

__all__ = []
_export, _both = exporters(__all__)


@_both
def select_scatter(input, src, dim, index):
    d = _wrap_dim(dim, input.dim(), "select_scatter")
    position = _ops.full([1], index % input.shape[d], dtype=_C.int64, device=str(input.device))
    return input.index_put([None] * d + [position], src.unsqueeze(d))


@_both
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    d = _wrap_dim(dim, input.dim(), "slice_scatter")
    begin, stop, _ = slice(start, end, step).indices(input.shape[d])
    positions = _ops.arange(begin, stop, step, dtype=_C.int64, device=str(input.device))
    return input.index_put([None] * d + [positions], src)


@_both
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    d1, d2 = _wrap_dim(dim1, input.dim(), "diagonal_scatter"), _wrap_dim(dim2, input.dim(), "diagonal_scatter")
    moved = input.movedim((d1, d2), (0, 1))
    rows, cols = moved.shape[0], moved.shape[1]
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    k = _ops.arange(0, length, 1, dtype=_C.int64, device=str(input.device))
    row, col = (k, k + offset) if offset >= 0 else (k - offset, k)
    return moved.index_put([row, col], src.movedim(-1, 0)).movedim((0, 1), (d1, d2))


# reduce -> (the masked fill that contributes nothing, the reduction over the mask's target axis)
_REDUCTIONS = {
    "sum": (0, lambda v, axis: v.sum(axis)),
    "mean": (0, lambda v, axis: v.sum(axis)),
    "prod": (1, lambda v, axis: v.prod(axis)),
    "amax": (-float("inf"), lambda v, axis: v.amax(axis)),
    "amin": (float("inf"), lambda v, axis: v.amin(axis)),
}


def _identity(dtype, fill):
    if dtype.is_floating_point or fill in (0, 1):
        return fill
    info = {_C.int64: 2 ** 63 - 1, _C.int32: 2 ** 31 - 1, _C.bool: 1}[dtype]
    return info if fill > 0 else -info - 1


def _check_scatter(input, dim, index, src, reduce):
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if index.dtype is not _C.int64:
        raise RuntimeError("scatter_reduce(): Expected dtype int64 for index")
    if input.dtype is not src.dtype:
        raise RuntimeError("scatter_reduce(): Expected self.dtype to be equal to src.dtype")
    if index.dim() != input.dim() or index.dim() != src.dim():
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")


@_both
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    d = _wrap_dim(dim, input.dim(), "scatter_reduce")
    _check_scatter(input, d, index, src, reduce)
    n = input.shape[d]
    region = tuple(index.shape)
    src = src[tuple(slice(0, s) for s in region)]  # only src's part that index covers contributes
    targets = _ops.arange(0, n, 1, dtype=_C.int64, device=str(input.device))
    # mask[..., j] = index lands on position j of dim; axis d of mask then runs over the sources.
    mask = index.unsqueeze(-1) == targets
    fill, reduction = _REDUCTIONS[reduce]
    fill = _identity(input.dtype, fill)
    spread = _ops.where(mask, src.unsqueeze(-1), _ops.full([], fill, dtype=src.dtype))
    reduced = reduction(spread, d).movedim(-1, d)  # shape of index with dim d -> n
    counts = mask.sum(d).movedim(-1, d)
    # Back to self's shape: the dims other than d may be shorter in index.
    if tuple(reduced.shape) != tuple(input.shape):
        reduced = _pad_to(reduced, input.shape, fill)
        counts = _pad_to(counts, input.shape, 0)
    touched = counts > 0
    if include_self:
        combined = {"sum": lambda: input + reduced, "mean": lambda: input + reduced, "prod": lambda: input * reduced,
                    "amax": lambda: _ops.maximum(input, reduced), "amin": lambda: _ops.minimum(input, reduced)}[reduce]()
        counts = counts + 1
    else:
        combined = reduced
    if reduce == "mean":
        divisor = counts.to(input.dtype).clamp(min=1)
        combined = combined / divisor if input.is_floating_point() else combined.div(divisor, rounding_mode="floor")
    return _ops.where(touched, combined, input)


def _pad_to(t, shape, fill):
    """t grown at the end of each dim to shape, filled with fill."""
    for axis, size in enumerate(shape):
        missing = size - t.shape[axis]
        if missing:
            extra = list(t.shape)
            extra[axis] = missing
            t = _ops.cat([t, _ops.full(extra, fill, dtype=t.dtype, device=str(t.device))], axis)
    return t


@_both
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    d = _wrap_dim(dim, input.dim(), "index_reduce")
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    if index.dim() > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector")
    shape = [1] * source.dim()
    shape[d] = -1
    expanded = index.reshape(shape).expand(*source.shape) if source.dim() else index.reshape([])
    return scatter_reduce(input, d, expanded, source, reduce, include_self=include_self)


Tensor.scatter_reduce_ = _inplace("scatter_reduce_", scatter_reduce)
Tensor.index_reduce_ = _inplace("index_reduce_", index_reduce)
