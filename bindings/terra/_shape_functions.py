"""PyTorch's shape, product and index-building functions that are compositions of registry ops
(torch.movedim, tile, diagonal, kron, tensordot, tensor_split, block_diag, ...).

Each is built from ops that have gradients and kernels on every device, so autograd and
co-execution see ordinary ops. `_both` exports a function as terra.X and, where PyTorch has the
method, as Tensor.X.
"""
import builtins
import itertools

import numpy as np

from . import _C
from ._C import _ops
from ._tensor import _shape_args

Tensor = _C.Tensor

__all__ = []


def exporters(names):
    """Decorators for a module whose public names are `names` (its __all__): export adds a function
    there, both also makes it a Tensor method."""
    def export(fn):
        names.append(fn.__name__)
        return fn

    def both(fn):
        setattr(Tensor, fn.__name__, fn)
        return export(fn)
    return export, both


_export, _both = exporters(__all__)


def _wrap_dim(dim, rank, op):
    n = builtins.max(rank, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _dims(dims):
    return list(dims) if isinstance(dims, (list, tuple)) else [dims]


@_both
def movedim(input, source, destination):
    src, dst = _dims(source), _dims(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain the same "
                           f"number of dims as destination ({dst} dims)")
    rank = input.dim()
    src = [_wrap_dim(d, rank, "movedim") for d in src]
    dst = [_wrap_dim(d, rank, "movedim") for d in dst]
    if len(set(src)) != len(src):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(source) if isinstance(source, (list, tuple)) else source})")
    if len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(destination) if isinstance(destination, (list, tuple)) else destination})")
    order = [None] * rank
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(rank) if d not in src)
    order = [next(rest) if o is None else o for o in order]
    return _ops.permute(input, order)


@_both
def moveaxis(input, source, destination):
    return movedim(input, source, destination)


@_both
def swapaxes(input, axis0, axis1):
    return _ops.transpose(input, axis0, axis1)


@_both
def swapdims(input, dim0, dim1):
    return _ops.transpose(input, dim0, dim1)


@_both
def ravel(input):
    return _ops.reshape(input, [-1])


@_both
def broadcast_to(input, size):
    return _ops.expand(input, list(size))


@_both
def tile(input, *dims):
    dims = _shape_args(dims, "dims")
    lead = input.dim() - len(dims)
    if lead < 0:
        input = _ops.reshape(input, [1] * -lead + list(input.shape))
    return input.repeat(*([1] * builtins.max(lead, 0) + dims))


@_both
def diagonal(input, offset=0, dim1=0, dim2=1):
    """A view of a contiguous input, as PyTorch's: the diagonal's stride is the sum of the two
    dims' strides. Of a non-contiguous one, a view of a contiguous copy (Terra's as_strided has a
    gradient only on contiguous tensors), so a write to it does not reach the input."""
    input = input.contiguous()
    rank = input.dim()
    d1, d2 = _wrap_dim(dim1, rank, "diagonal"), _wrap_dim(dim2, rank, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    shape, strides = list(input.shape), list(input.stride())
    start = input.storage_offset()
    if offset >= 0:
        length = builtins.max(builtins.min(shape[d1], shape[d2] - offset), 0)
        start += offset * strides[d2] if length else 0
    else:
        length = builtins.max(builtins.min(shape[d1] + offset, shape[d2]), 0)
        start += -offset * strides[d1] if length else 0
    keep = [d for d in range(rank) if d not in (d1, d2)]
    return input.as_strided([shape[d] for d in keep] + [length], [strides[d] for d in keep] + [strides[d1] + strides[d2]],
                            start)


@_both
def trace(input):
    if input.dim() != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim " + str(input.dim()))
    d = diagonal(input)
    return d.sum() if input.is_floating_point() else d.to(_C.int64).sum()


@_both
def diff(input, n=1, dim=-1, prepend=None, append=None):
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    dim = _wrap_dim(dim, input.dim(), "diff")
    parts = [p for p in (prepend, input, append) if p is not None]
    parts = [p if isinstance(p, Tensor) else _ops.full([], p, dtype=input.dtype) for p in parts]
    parts = [p.expand(*[1 if d == dim else s for d, s in enumerate(input.shape)]) if p.dim() == 0 else p for p in parts]
    x = _ops.cat(parts, dim) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[dim]
        if length == 0:
            break
        later, earlier = x.narrow(dim, 1, length - 1), x.narrow(dim, 0, length - 1)
        x = (later ^ earlier) if x.dtype is _C.bool else later - earlier
    return x


@_both
def take_along_dim(input, indices, dim=None):
    if dim is None:
        return input.reshape(-1).gather(0, indices.reshape(-1))
    dim = _wrap_dim(dim, input.dim(), "take_along_dim")
    if input.dim() != indices.dim():
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, but "
                           f"got {input.dim()} dimensions for input, and {indices.dim()} dimensions for indices")
    shape_in, shape_ix = list(input.shape), list(indices.shape)
    shape_in[dim] = shape_ix[dim] = 1
    common = list(np.broadcast_shapes(tuple(shape_in), tuple(shape_ix)))
    grow = lambda t: t.expand(*[t.shape[d] if d == dim else s for d, s in enumerate(common)])  # noqa: E731
    return grow(input).gather(dim, grow(indices))


@_both
def rot90(input, k=1, dims=(0, 1)):
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.dim() < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.dim()}")
    a, b = (_wrap_dim(d, input.dim(), "rot90") for d in dims)
    if a == b:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {a} and dim1 = {b}")
    k %= 4
    if k == 1:
        return input.flip([b]).transpose(a, b)
    if k == 2:
        return input.flip([a, b])
    if k == 3:
        return input.flip([a]).transpose(a, b)
    return input.clone()


@_both
def fliplr(input):
    if input.dim() < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return input.flip([1])


@_both
def flipud(input):
    if input.dim() < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return input.flip([0])


def _atleast(fn):
    def at_least(*tensors):
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
            return tuple(fn(t) for t in tensors[0])
        return fn(tensors[0]) if len(tensors) == 1 else tuple(fn(t) for t in tensors)
    return at_least


atleast_1d = _atleast(lambda t: t.reshape(1) if t.dim() == 0 else t)
atleast_2d = _atleast(lambda t: t.reshape(1, 1) if t.dim() == 0 else (t.unsqueeze(0) if t.dim() == 1 else t))
atleast_3d = _atleast(lambda t: (t.reshape(1, 1, 1) if t.dim() == 0 else t.reshape(1, -1, 1) if t.dim() == 1
                                 else t.unsqueeze(-1) if t.dim() == 2 else t))
__all__ += ["atleast_1d", "atleast_2d", "atleast_3d"]


@_export
def column_stack(tensors):
    return _ops.cat([t.reshape(-1, 1) if t.dim() <= 1 else t for t in tensors], 1)


@_export
def row_stack(tensors):
    return _ops.cat([atleast_2d(t) for t in tensors], 0)


@_export
def dstack(tensors):
    return _ops.cat([atleast_3d(t) for t in tensors], 2)


@_both
def tensor_split(input, indices_or_sections, dim=0):
    dim = _wrap_dim(dim, input.dim(), "tensor_split")
    size = input.shape[dim]
    if isinstance(indices_or_sections, Tensor):
        if indices_or_sections.dim() > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {indices_or_sections.dim()} dims")
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, builtins.int):
        sections = indices_or_sections
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        small, extra = divmod(size, sections)
        bounds = list(itertools.accumulate([small + 1] * extra + [small] * (sections - extra), initial=0))
    else:
        bounds = [0] + [builtins.min(builtins.max(i if i >= 0 else i + size, 0), size) for i in indices_or_sections] + [size]
    return tuple(input.narrow(dim, lo, builtins.max(hi - lo, 0)) for lo, hi in zip(bounds, bounds[1:]))


def _split_along(name, dim_of, min_rank):
    def fn(input, indices_or_sections):
        if input.dim() < min_rank:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {min_rank} dimension, but got a tensor "
                               f"with {input.dim()} dimensions!")
        dim = dim_of(input)
        if isinstance(indices_or_sections, builtins.int) and (indices_or_sections == 0 or
                                                              input.shape[dim] % indices_or_sections):
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                               f"{input.shape[dim]} is not divisible by the split_size {indices_or_sections}!")
        return tensor_split(input, indices_or_sections, dim)
    fn.__name__ = name
    return _both(fn)


hsplit = _split_along("hsplit", lambda t: 0 if t.dim() == 1 else 1, 1)
vsplit = _split_along("vsplit", lambda t: 0, 2)
dsplit = _split_along("dsplit", lambda t: 2, 3)


@_both
def split_with_sizes(input, split_sizes, dim=0):
    return tuple(input.split(list(split_sizes), dim))


@_both
def kron(input, other):
    rank = builtins.max(input.dim(), other.dim())
    a = input.reshape([1] * (rank - input.dim()) + list(input.shape))
    b = other.reshape([1] * (rank - other.dim()) + list(other.shape))
    # a's dim i and b's dim i interleave to (a_i, b_i), then merge into a_i * b_i.
    a_view = [s for n in a.shape for s in (n, 1)]
    b_view = [s for n in b.shape for s in (1, n)]
    return (a.reshape(a_view) * b.reshape(b_view)).reshape([x * y for x, y in zip(a.shape, b.shape)])


@_export
def tensordot(a, b, dims=2, out=None):
    if isinstance(dims, builtins.int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a, dims_b = list(range(a.dim() - dims, a.dim())), list(range(dims))
    elif isinstance(dims, Tensor):
        dims_a, dims_b = dims.tolist() if dims.dim() == 2 else (list(range(a.dim() - dims.item(), a.dim())),
                                                                list(range(dims.item())))
    else:
        dims_a, dims_b = _dims(dims[0]), _dims(dims[1])
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    dims_a = [_wrap_dim(d, a.dim(), "tensordot") for d in dims_a]
    dims_b = [_wrap_dim(d, b.dim(), "tensordot") for d in dims_b]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[da]} in dim {da} "
                               f"and second has size {b.shape[db]} in dim {db}")
    free_a = [d for d in range(a.dim()) if d not in dims_a]
    free_b = [d for d in range(b.dim()) if d not in dims_b]
    k = int(np.prod([a.shape[d] for d in dims_a]))
    left = a.permute(free_a + dims_a).reshape(-1, k)
    right = b.permute(dims_b + free_b).reshape(k, -1)
    r = left.mm(right).reshape([a.shape[d] for d in free_a] + [b.shape[d] for d in free_b])
    if out is not None:
        from ._functions import _write_out  # _functions imports this module (through _einsum)
        return _write_out("tensordot", r, out)
    return r


@_both
def inner(input, other):
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


@_both
def mv(input, vec):
    if input.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.dim()}, {vec.dim()}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got {input.shape[0]}, {input.shape[0]}x{input.shape[1]},{vec.shape[0]}")
    return input.matmul(vec)


def _scaled_sum(input, product, beta, alpha):
    """beta * input + alpha * product, where beta == 0 ignores input (NaN included), as BLAS does."""
    product = product if alpha == 1 else product * alpha
    if beta == 0:
        return product + _ops.zeros(list(product.shape), dtype=product.dtype, device=str(product.device))
    return product + (input if beta == 1 else input * beta)


@_both
def addmv(input, mat, vec, *, beta=1, alpha=1):
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


@_both
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    if vec1.dim() != 1 or vec2.dim() != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {vec1.dim()}-D" if vec1.dim() != 1 else
                           f"addr: Expected 1-D argument vec2, but got {vec2.dim()}-D")
    return _scaled_sum(input, _ops.outer(vec1, vec2), beta, alpha)


@_both
def ger(input, vec2):
    return _ops.outer(input, vec2)


def _cross(input, other, dim):
    a0, a1, a2 = (input.select(dim, i) for i in range(3))
    b0, b1, b2 = (other.select(dim, i) for i in range(3))
    return _ops.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim)


@_both
def cross(input, other, dim=None):
    if input.dim() != other.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    shape = list(np.broadcast_shapes(tuple(input.shape), tuple(other.shape)))
    if dim is None:  # PyTorch 1.13's default: the first dim of size 3
        dim = next((d for d, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    dim = _wrap_dim(dim, len(shape), "cross")
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[dim]} and "
                           f"{other.shape[dim]}")
    return _cross(input.expand(shape), other.expand(shape), dim)


@_export
def block_diag(*tensors):
    from .nn import functional as F
    mats = [t.reshape(1, 1) if t.dim() == 0 else t.reshape(1, -1) if t.dim() == 1 else t for t in tensors]
    for i, m in enumerate(mats):
        if m.dim() != 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{m.dim()} dimensions")
    if not mats:
        return _ops.zeros([1, 0])
    dtype = mats[0].dtype
    for m in mats[1:]:
        dtype = (_ops.zeros([], dtype=dtype) + _ops.zeros([], dtype=m.dtype)).dtype
    width = builtins.sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        rows.append(F.pad(m.to(dtype), (left, width - left - m.shape[1])))
        left += m.shape[1]
    return _ops.cat(rows, 0)


@_export
def cartesian_prod(*tensors):
    if len(tensors) == 1:
        return tensors[0]
    from ._functions import meshgrid
    return _ops.stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


@_export
def combinations(input, r=2, with_replacement=False):
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return _ops.zeros([0], dtype=input.dtype, device=str(input.device))
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(input.shape[0]), r))
    if not rows:
        return _ops.zeros([0, r], dtype=input.dtype, device=str(input.device))
    index = _C.from_numpy(np.array(rows, dtype=np.int64).T.copy())
    if str(input.device) != "cpu":
        index = index.to(input.device)
    return _ops.stack([input.index_select(0, index[i]) for i in range(r)], 1)


def _triangle_indices(numpy_fn):
    def fn(row, col, offset=0, *, dtype=None, device=None, layout=None):
        rows, cols = numpy_fn(row, offset, col)
        t = _C.from_numpy(np.stack([rows, cols]).astype(np.int64))
        t = t if dtype is None else t.to(dtype)
        return t if device is None or str(device) == "cpu" else t.to(device)
    return fn


tril_indices = _triangle_indices(np.tril_indices)
triu_indices = _triangle_indices(np.triu_indices)
tril_indices.__name__, triu_indices.__name__ = "tril_indices", "triu_indices"
__all__ += ["tril_indices", "triu_indices"]


def unfold(self, dimension, size, step):
    """Tensor.unfold: every `size`-long slice along `dimension`, `step` apart, in a new last dim;
    a view, as PyTorch's (an as_strided view of the same memory). as_strided's gradient needs a
    contiguous input (overlapping windows sum their gradients), so a non-contiguous input that
    needs a gradient gets the windows gathered instead (a copy)."""
    if self.dim() == 0:
        return unfold(self.reshape(1), 0, size, step).reshape(1)
    d = _wrap_dim(dimension, self.dim(), "unfold")
    length = self.shape[d]
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    windows = (length - size) // step + 1
    shape, strides = list(self.shape), list(self.stride())
    if self.requires_grad and _C.is_grad_enabled() and not self.is_contiguous():
        device = str(self.device)
        starts = _ops.arange(0, windows * step, step, dtype=_C.int64, device=device)
        index = starts.unsqueeze(1) + _ops.arange(0, size, 1, dtype=_C.int64, device=device)
        shape[d:d + 1] = [windows, size]
        return self.index_select(d, index.reshape(-1)).reshape(shape).movedim(d + 1, -1)
    shape[d], strides[d] = windows, strides[d] * step
    return self.as_strided(shape + [size], strides + [self.stride(d)], self.storage_offset())


Tensor.unfold = unfold


def sum_to_size(self, *size):
    size = _shape_args(size)
    lead = self.dim() - len(size)
    if lead < 0 or any(s != 1 and s != n for s, n in zip(size, list(self.shape)[lead:])):
        raise RuntimeError(f"size {{{', '.join(map(str, size))}}} is not expandable to size "
                           f"{{{', '.join(map(str, self.shape))}}}.")
    reduce = list(range(lead)) + [lead + i for i, s in enumerate(size) if s == 1 and self.shape[lead + i] != 1]
    out = self.sum(dim=reduce, keepdim=True) if reduce else self
    return out.reshape(size)


Tensor.sum_to_size = sum_to_size


@_export
def vander(x, N=None, increasing=False):
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dtype = x.dtype if x.is_floating_point() else _C.int64
    cols = [_ops.ones([x.shape[0], builtins.min(n, 1)], dtype=dtype, device=str(x.device))]
    if n > 1:
        from ._math_functions import cumprod
        cols.append(cumprod(x.to(dtype).unsqueeze(1).expand(x.shape[0], n - 1), 1))
    r = _ops.cat(cols, 1)
    return r if increasing else r.flip([1])
