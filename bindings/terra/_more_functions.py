"""More of PyTorch's torch.* functions and Tensor methods, composed from registry ops:
repeat_interleave, index_copy, masked_scatter, take/put, mode, float_power, fmax/fmin, frexp,
diag_embed, cumulative_trapezoid, histogram, ...; the legacy Tensor.new and apply_/map_; and
conversions to the dtypes Terra lacks, which raise. (Factories and windows: _window_functions.py;
torch.* forms of nn.functional: _functional_aliases.py.)

Values agree with PyTorch 1.13 to rounding and gradients are autograd's through the composing
ops. Where a result's size or range depends on data (repeat_interleave with a tensor of repeats
and no output_size, histogram without a range) the data is read: a fetch when co-executed.
"""
import builtins
import functools
import math
import warnings

import numpy as np

from . import _C, _missing_dtypes
from ._C import _ops
from ._functions import _legacy_name, _numpy_dtype, _write_out, bincount, diag, is_nonzero, result_type
from ._math_functions import _float_of, _to_input_device, cummax, signbit
from ._shape_functions import _scaled_sum, _wrap_dim, exporters, movedim
from ._size import Size
from ._tensor import _namedtuple

Tensor = _C.Tensor

__all__ = []
_export, _both = exporters(__all__)

# PyTorch's names of Terra's dtypes, as its error messages spell them.

# Methods whose torch.* function exists already.
Tensor.diag = diag
Tensor.bincount = bincount
Tensor.is_nonzero = is_nonzero


def _arange(n, like, dtype=_C.int64):
    return _ops.arange(0, n, 1, dtype=dtype, device=str(like.device))


# ---------------------------------------------------------------------------------------------
# Indexing


@_both
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:  # repeat_interleave(repeats): index i repeated repeats[i] times
        input, repeats = _arange(input.shape[0] if input.dim() else 1, input), input
    if dim is None:
        input, dim = input.reshape(-1), 0
    d = _wrap_dim(dim, input.dim(), "repeat_interleave")
    n = input.shape[d]
    if not isinstance(repeats, Tensor):
        if repeats < 0:
            raise RuntimeError("repeats can not be negative")
        # Each slice along d copied `repeats` times in a new dim after d, merged into d.
        shape = list(input.shape)
        grown = input.unsqueeze(d + 1).expand(*shape[:d + 1], repeats, *shape[d + 1:])
        return grown.reshape(shape[:d] + [n * repeats] + shape[d + 1:])
    if repeats.dim() > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if repeats.is_floating_point() or repeats.dtype is _C.bool:
        raise RuntimeError(f"\"repeat_interleave_cpu\" not implemented for '{_legacy_name(repeats.dtype)}'")
    repeats = repeats.to(_C.int64).to(input.device).reshape(-1)
    if repeats.shape[0] == 1:
        repeats = repeats.expand(n)
    if repeats.shape[0] != n:
        raise RuntimeError("repeats must have the same size as input along dim")
    if output_size is None:
        total, smallest = _ops.stack([repeats.sum(), repeats.min()]).tolist() if n else (0, 0)
        if smallest < 0:
            raise RuntimeError("repeats can not be negative")
        output_size = total
    # Output j comes from the input slice i with ends[i-1] <= j < ends[i]: i counts the ends <= j.
    ends = repeats.cumsum(0)
    marks = _ops.zeros([output_size + 1], dtype=_C.int64, device=str(input.device))
    index = marks.index_add(0, ends, _ops.ones([n], dtype=_C.int64, device=str(input.device))).cumsum(0)
    return input.index_select(d, index.narrow(0, 0, output_size))


def _index_fill_(self, dim, index, value):
    if index.dim() > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    return self.index_put_([None] * _wrap_dim(dim, self.dim(), "index_fill_") + [index.reshape(-1)], value)


def _index_copy_indices(input, dim, index, source):
    """index_put's indices for index_copy, after PyTorch's checks."""
    d = _wrap_dim(dim, input.dim(), "index_copy")
    if index.dim() > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.dim()})")
    if index.dtype is not _C.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got {_legacy_name(index.dtype)}")
    if input.dtype is not source.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{_legacy_name(input.dtype)} and (source) {_legacy_name(source.dtype)}")
    slice_of = lambda t: [s for i, s in enumerate(t.shape) if i != d]  # noqa: E731
    if input.dim() != source.dim() or slice_of(input) != slice_of(source):
        raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice shapes. Destination slice "
                           f"shape: {' '.join(map(str, slice_of(input)))} at dimension {d} and source slice shape: "
                           f"{' '.join(map(str, slice_of(source)))} at dimension {d}.")
    if index.numel() != source.shape[d]:
        raise IndexError(f"index_copy_(): Number of indices ({index.numel()}) should be equal to source.size(dim) "
                         f"({source.shape[d]})")
    return [None] * d + [index.reshape(-1)]


@_both
def index_copy(input, dim, index, source):
    return input.index_put(_index_copy_indices(input, dim, index, source), source)


def _index_copy_(self, dim, index, source):
    return self.index_put_(_index_copy_indices(self, dim, index, source), source)


@_both
def masked_scatter(input, mask, source):
    if input.dtype is not source.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                           f"{_legacy_name(input.dtype)} and {_legacy_name(source.dtype)}")
    mask = mask if mask.dtype is _C.bool else mask != 0
    shape = list(np.broadcast_shapes(tuple(input.shape), tuple(mask.shape)))
    flat_mask = mask.expand(*shape).reshape(-1)
    # The k-th selected element takes source's k-th: k counts the selected elements up to it.
    taken = flat_mask.to(_C.int64).cumsum(0).sub(1).clamp(min=0)
    picked = source.reshape(-1).gather(0, taken)
    return _ops.where(flat_mask, picked, input.expand(*shape).reshape(-1)).reshape(shape)


def _flat_index(input, index, op):
    if index.dtype is not _C.int64:
        raise RuntimeError(f"{op}(): Expected a long tensor for index, but got {_legacy_name(index.dtype)}")
    flat = index.reshape(-1)
    return _ops.where(flat < 0, flat + input.numel(), flat)  # negative indices count from the end


@_both
def take(input, index):
    return input.reshape(-1).index_select(0, _flat_index(input, index, "take")).reshape(list(index.shape))


@_both
def put(input, index, source, accumulate=False):
    if source.numel() != index.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    if input.dtype is not source.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{_legacy_name(input.dtype)} and source.dtype = {_legacy_name(source.dtype)}")
    flat = input.reshape(-1).index_put([_flat_index(input, index, "put_")], source.reshape(-1), accumulate)
    return flat.reshape(list(input.shape))


Tensor.index_fill_ = _index_fill_
Tensor.index_copy_ = _index_copy_
Tensor.masked_scatter_ = lambda self, mask, source: self.copy_(masked_scatter(self, mask, source))
Tensor.put_ = lambda self, index, source, accumulate=False: self.copy_(put(self, index, source, accumulate))


@_both
def argwhere(input):
    return _ops.nonzero(input)


# ---------------------------------------------------------------------------------------------
# Tensor conveniences


def _new(self, *args, device=None):
    """The legacy constructor: new(*sizes) or new(Size) uninitialized, new(data) a tensor of self's
    dtype, new(tensor) an alias of a tensor of self's dtype, new() empty."""
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype is not self.dtype:
            raise TypeError(f"expected {self.dtype} (got {args[0].dtype})")
        return Tensor(args[0])
    if len(args) == 1 and not isinstance(args[0], (builtins.int, Size)):
        return self.new_tensor(args[0], device=device)
    return self.new_empty(*(args or (0,)), device=device)


Tensor.new = _new


def _missing_dtype(method, dtype):
    def conversion(self, memory_format=None):
        raise TypeError(f"Tensor.{method}(): {_missing_dtypes.ALL[dtype]._terra_refusal}")
    return conversion


for _method, _dtype in [("half", "float16"), ("bfloat16", "bfloat16"), ("byte", "uint8"), ("char", "int8"),
                        ("short", "int16"), ("chalf", "complex32"), ("cfloat", "complex64"),
                        ("cdouble", "complex128")]:
    if not hasattr(Tensor, _method):
        setattr(Tensor, _method, _missing_dtype(_method, _dtype))


@_both
def is_same_size(input, other):
    return input.shape == other.shape


def _python_elementwise(self, name, fn, *others):
    """self's elements replaced by fn(element, *other elements), computed by Python on the host."""
    if not self.is_cpu:
        raise TypeError(f"{name} is only implemented on CPU tensors")
    if self.requires_grad:
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() instead.")
    arrays = [self.numpy()] + [np.broadcast_to(o.numpy(), tuple(self.shape)) for o in others]
    values = np.vectorize(fn, otypes=[object])(*arrays) if self.numel() else arrays[0]
    # astype truncates a float result in an integer tensor, as PyTorch's conversion does.
    return self.copy_(_C.from_numpy(np.asarray(values).astype(_numpy_dtype(self.dtype, name)).reshape(tuple(self.shape))))


def _apply_(self, callable):
    return _python_elementwise(self, "apply_", callable)


def _map_(self, tensor, callable):
    if tensor.dtype is not self.dtype:
        from . import typename
        raise TypeError(f"map_: expected {typename(self)} for 'other' (got {typename(tensor)})")
    return _python_elementwise(self, "map_", callable, tensor)


Tensor.apply_ = _apply_
Tensor.map_ = _map_


def _inplace_view(name, view):
    """x.unsqueeze_(0) and its kind: the tensor itself takes the view's shape and strides over the
    same memory (x.data = view), as PyTorch's in-place view ops. Autograd cannot follow a tensor
    whose shape changes under it, so one that requires grad raises. When co-executed, rebinding
    waits for queued work that may read the tensor (trace::sync)."""
    def method(self, *args, **kwargs):
        if self.requires_grad:
            raise NotImplementedError(f"{name}: an in-place view of a tensor that requires grad is not supported by "
                                      "Terra; use the out-of-place form")
        self.data = view(self, *args, **kwargs)
        return self
    method.__name__ = name
    return method


for _name, _view in [("unsqueeze_", Tensor.unsqueeze), ("squeeze_", Tensor.squeeze), ("t_", Tensor.t),
                     ("transpose_", Tensor.transpose), ("swapaxes_", Tensor.transpose),
                     ("swapdims_", Tensor.transpose), ("as_strided_", Tensor.as_strided)]:
    setattr(Tensor, _name, _inplace_view(_name, _view))
del _name, _view


# ---------------------------------------------------------------------------------------------
# Products, distances, order statistics


@_both
def dist(input, other, p=2):
    return (input - other).norm(p)


@_both
def vdot(input, other):
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {other.dim()}D tensors")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_legacy_name(input.dtype)} "
                           f"and {_legacy_name(other.dtype)}")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
                           f"to have the same number of elements, but got {input.shape[0]} and {other.shape[0]} "
                           "elements respectively")
    return _ops.matmul(input, other) if input.is_floating_point() else (input * other).sum().to(input.dtype)


@_export
def chain_matmul(*matrices, out=None):
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
                  "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than multiple "
                  "parameters.")
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if m.dim() != 2:
            raise RuntimeError(f"Tensor dimension is {m.dim()}, expected 2 instead.")
    for i, (a, b) in enumerate(zip(matrices, matrices[1:])):
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(a.shape)} and "
                               f"{list(b.shape)} cannot be multiplied")
    r = functools.reduce(_ops.mm, matrices) if len(matrices) > 1 else matrices[0].clone()
    return r if out is None else _write_out("chain_matmul", r, out)


@_both
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    for name, batch in (("batch1", batch1), ("batch2", batch2)):
        if batch.dim() != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    (b, n, k), (b2, k2, p) = batch1.shape, batch2.shape
    if b != b2:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {b} and {b2}")
    if k != k2:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({n}x{k} and {k2}x{p})")
    # The sum over the batch of batch1[i] @ batch2[i] is one product over (batch, k).
    product = batch1.transpose(0, 1).reshape(n, b * k).mm(batch2.reshape(b * k, p))
    return _scaled_sum(input, product, beta, alpha)


@_both
def msort(input):
    return input.sort(0).values


@_both
def mode(input, dim=-1, keepdim=False):
    """The smallest of the most frequent values along dim and the last index holding it."""
    result = _namedtuple("mode", ["values", "indices"])
    d = _wrap_dim(dim, input.dim(), "mode")
    if input.dim() == 0:
        return result(input.clone(), _ops.zeros([], dtype=_C.int64, device=str(input.device)))
    n = input.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    x = input.detach()
    ordered = x.sort(d).values
    position = _arange(n, x).reshape([n if i == d else 1 for i in builtins.range(x.dim())])
    first = _ops.ones([1 if i == d else s for i, s in enumerate(x.shape)], dtype=_C.bool, device=str(x.device))
    starts_run = _ops.cat([first, ordered.narrow(d, 1, n - 1) != ordered.narrow(d, 0, n - 1)], d)
    run_start = cummax(_ops.where(starts_run, position, 0), d).values
    # The first position where a run is longest holds the smallest of the most frequent values.
    value = ordered.gather(d, (position - run_start).argmax(d, keepdim=True))
    index = _ops.where(x == value, position, -1).amax(d, keepdim=True)
    values = input.gather(d, index)
    return result(values, index) if keepdim else result(values.squeeze(d), index.squeeze(d))


# ---------------------------------------------------------------------------------------------
# Elementwise


@_both
def sinc(input):
    x = input.to(_float_of(input))
    zero = x == 0
    pi_x = _ops.where(zero, 1.0, x) * math.pi  # no 0/0 at zero, for the gradient either
    return _ops.where(zero, 1.0, _ops.sin(pi_x) / pi_x)


@_both
def float_power(input, exponent):
    as_double = lambda v: v.to(_C.float64) if isinstance(v, Tensor) else builtins.float(v)  # noqa: E731
    return _ops.pow(as_double(input), as_double(exponent))


def _nan_ignoring(name, keep_first):
    """fmax/fmin: the first argument where keep_first or the second is NaN, else the second (a
    NaN loses to a number), and the gradient goes where the value comes from, as PyTorch's."""
    def fn(input, other):
        keep = keep_first(input, other)
        if other.is_floating_point():
            keep = keep | _ops.isnan(other)
        return _ops.where(keep, input, other)
    fn.__name__ = name
    return _both(fn)


fmax = _nan_ignoring("fmax", lambda a, b: a >= b)
fmin = _nan_ignoring("fmin", lambda a, b: a <= b)


@_both
def copysign(input, other):
    dtype = result_type(input, other)
    magnitude = _ops.abs(input.to(dtype if dtype.is_floating_point else _C.get_default_dtype()))
    negative = signbit(other) if isinstance(other, Tensor) else math.copysign(1.0, other) < 0
    if isinstance(negative, builtins.bool):
        return -magnitude if negative else magnitude
    return _ops.where(negative, -magnitude, magnitude)


@_both
def heaviside(input, values):
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    return _ops.where(input == 0, values, (input > 0).to(input.dtype))


@_both
def floor_divide(input, other):
    return _ops.div(input, other, rounding_mode="floor")  # PyTorch 1.13 rounds down, as `//`


Tensor.floor_divide_ = lambda self, other: self.div_(other, rounding_mode="floor")


@_both
def ldexp(input, other):
    return input * _ops.pow(2.0, other)


@_both
def frexp(input):
    """(mantissa, exponent) with input = mantissa * 2^exponent and 0.5 <= |mantissa| < 1; 0, inf
    and NaN keep exponent 0. Exact: the scalings are by powers of two, in float64."""
    if not input.is_floating_point():
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    x = input.detach().to(_C.float64)
    magnitude = _ops.abs(x)
    regular = (magnitude > 0) & ~(_ops.isinf(x) | _ops.isnan(x))
    exponent = _ops.where(regular, _ops.log2(_ops.where(regular, magnitude, 1.0)).floor() + 1, 0.0)

    def scale(t, e):  # t * 2^-e, in two factors: 2^-e alone may overflow or underflow
        half = (-e * 0.5).floor()
        return t * _ops.pow(2.0, half) * _ops.pow(2.0, -e - half)

    # log2 may round across a power of two: one step corrects the exponent.
    scaled = scale(magnitude, exponent)
    exponent = exponent + (regular & (scaled >= 1)).to(_C.float64) - (regular & (scaled < 0.5)).to(_C.float64)
    mantissa = scale(input.to(_C.float64), exponent).to(input.dtype)
    return _namedtuple("frexp", ["mantissa", "exponent"])(mantissa, exponent.to(_C.int32))


# ---------------------------------------------------------------------------------------------
# Diagonals


@_both
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    rank = input.dim() + 1
    d1, d2 = _wrap_dim(dim1, rank, "diag_embed"), _wrap_dim(dim2, rank, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input.shape[-1]
    k = _arange(n, input)
    square = _ops.where(k.unsqueeze(1) == k, input.unsqueeze(-1), 0)  # where: no NaN * 0 off the diagonal
    shift = builtins.abs(offset)
    # Above the diagonal: shift columns right and add rows below; below it, the other way round.
    pad = [shift, 0, 0, shift] if offset >= 0 else [0, shift, shift, 0]
    return movedim(_ops.pad(square, pad, "constant", 0.0), [-2, -1], [d1, d2])


@_both
def diagflat(input, offset=0):
    return diag_embed(input.reshape(-1), offset)


def _fill_diagonal_(self, fill_value, wrap=False):
    if self.dim() < 2:
        raise RuntimeError("dimensions must larger than 1")
    height, width = self.shape[0], self.shape[1]
    if self.dim() > 2 and builtins.any(s != height for s in self.shape[1:]):
        raise RuntimeError("all dimensions of input must be of equal length")
    if wrap and self.dim() == 2 and height > width + 1:
        # Every (width + 1)-th element of the row-major layout: the diagonal, restarted below it.
        flat = np.arange(0, self.numel(), width + 1)
        rows, cols = flat // width, flat % width
    else:
        rows = cols = np.arange(builtins.min(height, width))
    index = [_to_input_device(i.astype(np.int64), self) for i in [rows] + [cols] * (self.dim() - 1)]
    return self.index_put_(index, fill_value)


Tensor.fill_diagonal_ = _fill_diagonal_


# ---------------------------------------------------------------------------------------------
# Integration and histograms


@_export
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    d = _wrap_dim(dim, y.dim(), "cumulative_trapezoid")
    if y.dtype is _C.bool:
        raise RuntimeError("cumulative_trapezoid: received a bool input for `y`, but bool is not supported")
    n = builtins.max(y.shape[d] - 1, 0)
    left, right = y.narrow(d, 0, n), y.narrow(d, 1, n)
    if x is None:
        return ((1 if dx is None else dx) / 2. * (left + right)).cumsum(d)
    if x.dtype is _C.bool:
        raise RuntimeError("cumulative_trapezoid: received a bool input for `x` or `y`, but bool is not supported")
    if x.dim() == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError("cumulative_trapezoid: There must be one `x` value for each sample point")
        x = x.reshape([x.shape[0] if i == d else 1 for i in builtins.range(y.dim())])
    elif x.dim() < y.dim():
        x = x.reshape([1] * (y.dim() - x.dim()) + list(x.shape))
    spacing = x.narrow(d, 1, n) - x.narrow(d, 0, n)
    return (spacing * (left + right) / 2.).cumsum(d)


def _linspace_edges(low, high, count, dtype):
    """PyTorch's linspace on the host: each half stepped from its own end, in dtype."""
    np_dtype = _numpy_dtype(dtype, "linspace")
    low, high = np_dtype(low), np_dtype(high)
    step = (high - low) / np_dtype(count - 1)
    i = np.arange(count).astype(np_dtype)
    return np.where(i < count // 2, low + step * i, high - step * (count - 1 - i)).astype(np_dtype)


@_both
def histogram(input, bins, *, range=None, weight=None, density=False, out=None):
    if not input.is_floating_point():
        raise RuntimeError(f"\"histogramdd\" not implemented for '{_legacy_name(input.dtype)}'")
    x = input.detach().reshape(-1)
    if isinstance(bins, Tensor):
        edges = bins.detach().to(input.dtype)
    else:
        if bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
        if range is not None:
            low, high = range
        elif x.numel():
            low, high = _ops.stack([x.min(), x.max()]).tolist()
        else:
            low, high = 0.0, 1.0
        if low > high:
            raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {low} max {high} for "
                               "dimension 0")
        if low == high:
            low, high = low - 0.5, high + 0.5
        edges = _to_input_device(_linspace_edges(low, high, bins + 1, input.dtype), input)
    count = edges.shape[0] - 1
    # Bin i holds edges[i] <= v < edges[i + 1]; the last also holds its right edge.
    position = ((edges <= x.unsqueeze(-1)).sum(-1) - 1).clamp(0, count - 1)
    inside = (x >= edges[0]) & (x <= edges[-1])
    w = _ops.ones(list(x.shape), dtype=x.dtype, device=str(x.device)) if weight is None else \
        weight.detach().reshape(-1).to(input.dtype)
    hist = _ops.zeros([count], dtype=input.dtype, device=str(input.device))
    hist = hist.scatter_add(0, position, _ops.where(inside, w, 0.0))
    if density:
        hist = hist / (hist.sum() * (edges.narrow(0, 1, count) - edges.narrow(0, 0, count)))
    result = _namedtuple("histogram", ["hist", "bin_edges"])(hist, edges)
    return result if out is None else _write_out("histogram", result, out)


@_export
def real(input):
    """Terra's dtypes are all real: the tensor itself, as PyTorch's torch.real of a real tensor."""
    return input


@_export
def imag(input):
    return input.imag


@_export
def rsub(input, other, *, alpha=1):
    """other - alpha * input (torch.rsub; PyTorch 1.13 has no Tensor.rsub)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"rsub(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if isinstance(other, Tensor):
        return _ops.sub(other, input, alpha=alpha)
    return (input if alpha == 1 else input * alpha).__rsub__(other)


def _gradient_dims(input, dim):
    if dim is None:
        return list(range(input.dim()))
    dims = [_wrap_dim(d, input.dim(), "gradient") for d in (dim if isinstance(dim, (list, tuple)) else [dim])]
    for d in dims:
        if dims.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return dims


def _gradient_along(f, d, h, edge_order):
    """The derivative of f along dim d: central differences inside, one-sided (first or second
    order) at the two ends. h: the spacing (a number) or the coordinates (a 1-D tensor)."""
    n = f.shape[d]

    def part(start, length=1):
        return f.narrow(d, start, length)

    if not isinstance(h, Tensor):
        center = (part(2, n - 2) - part(0, n - 2)) / (2 * h)
        if edge_order == 1:
            first, last = (part(1) - part(0)) / h, (part(n - 1) - part(n - 2)) / h
        else:
            first = (-1.5 * part(0) + 2 * part(1) - 0.5 * part(2)) / h
            last = (0.5 * part(n - 3) - 2 * part(n - 2) + 1.5 * part(n - 1)) / h
        return _ops.cat([first, center, last], d)
    dx = h[1:] - h[:-1]
    shape = [1] * f.dim()
    shape[d] = n - 2

    def along(v):
        return v.reshape(shape)

    dx1, dx2 = dx[:-1], dx[1:]
    center = (along(-dx2 / (dx1 * (dx1 + dx2))) * part(0, n - 2) + along((dx2 - dx1) / (dx1 * dx2)) * part(1, n - 2)
              + along(dx1 / (dx2 * (dx1 + dx2))) * part(2, n - 2))
    if edge_order == 1:
        first, last = (part(1) - part(0)) / dx[0], (part(n - 1) - part(n - 2)) / dx[-1]
    else:
        a, b = dx[0], dx[1]
        first = (-(2 * a + b) / (a * (a + b))) * part(0) + ((a + b) / (a * b)) * part(1) + (-a / (b * (a + b))) * part(2)
        a, b = dx[-1], dx[-2]
        last = (a / (b * (a + b))) * part(n - 3) + (-(a + b) / (a * b)) * part(n - 2) + ((2 * a + b) / (a * (a + b))) * \
            part(n - 1)
    return _ops.cat([first, center, last], d)


@_export
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """torch.gradient: the derivative estimated along each of `dim` (all dims by default), as a
    tuple. spacing: a number (every dim), a list of numbers (one per dim) or a list of 1-D
    coordinate tensors (one per dim)."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = _gradient_dims(input, dim)
    if isinstance(spacing, Tensor):
        raise TypeError("gradient(): argument 'spacing' must be a number or a list of numbers or tensors, not Tensor")
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or a list of length "
                               f"{len(dims)} but got a list of length {len(spacing)}")
        spacings = list(spacing)
        for h in spacings:
            if isinstance(h, Tensor) and h.dim() != 1:
                raise RuntimeError("torch.gradient expected each element of spacing to have one dimension, but got "
                                   f"an element with {h.dim()} dimensions!")
    else:
        spacings = [spacing] * len(dims)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    return tuple(_gradient_along(input, d, h, edge_order) for d, h in zip(dims, spacings))


del _method, _dtype
