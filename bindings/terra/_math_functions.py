"""PyTorch's math, scan, order-statistic and counting functions that are compositions of registry
ops (torch.cumprod, median, quantile, logaddexp, xlogy, searchsorted, cov, unique, ...).

Values agree with PyTorch's kernels to rounding (a composition may associate differently); the
gradients are autograd's through the composing ops. unique and unique_consecutive have shapes
that depend on data: they read their input (a fetch when co-executed), as PyTorch's do.
"""
import builtins
import math

import numpy as np

from . import _C, _public_name
from ._C import _ops
from ._tensor import _namedtuple
from ._shape_functions import _wrap_dim, exporters

Tensor = _C.Tensor

__all__ = ["pi", "e", "inf", "nan"]
pi, e, inf, nan = math.pi, math.e, math.inf, math.nan
_export, _both = exporters(__all__)


def _full_like(t, value, dtype=None):
    return _ops.full([], value, dtype=dtype or t.dtype, device=str(t.device))


def _as_tensor(x, like):
    return x if isinstance(x, Tensor) else _full_like(like, x)


def _float_of(t):
    """The floating dtype an op on t computes in: t's own, or the default one for integers."""
    return t.dtype if t.is_floating_point() else _C.get_default_dtype()


# Scans: inclusive, by doubling (Hillis-Steele): log2(n) ops whatever n, each differentiable.
def _scan(x, dim, combine):
    """The inclusive scan of x along dim; x may be a tuple of same-shaped tensors scanned together
    (combine then takes and returns tuples)."""
    parts = x if isinstance(x, tuple) else (x,)
    n, k = parts[0].shape[dim], 1
    while k < n:
        earlier = tuple(p.narrow(dim, 0, n - k) for p in parts)
        later = tuple(p.narrow(dim, k, n - k) for p in parts)
        merged = combine(earlier, later) if isinstance(x, tuple) else (combine(earlier[0], later[0]),)
        parts = tuple(_ops.cat([p.narrow(dim, 0, k), m], dim) for p, m in zip(parts, merged))
        k *= 2
    return parts if isinstance(x, tuple) else parts[0]


@_both
def cumprod(input, dim, *, dtype=None, out=None):
    dim = _wrap_dim(dim, input.dim(), "cumprod")
    x = input.to(dtype) if dtype is not None else (input.to(_C.int64) if input.dtype in (_C.bool, _C.int32) else input)
    r = _scan(x, dim, lambda earlier, later: earlier * later) if input.dim() else x.clone()
    if out is not None:
        from ._functions import _write_out
        return _write_out("cumprod", r, out)
    return r


def _cum_extreme(name, later_wins):
    """cummax/cummin as (value, index) pairs combined by doubling; a NaN wins from where it
    appears, and ties go to the later index, as PyTorch's sequential kernel has it."""
    def fn(input, dim):
        dim = _wrap_dim(dim, input.dim(), name)
        shape = [1] * input.dim()
        if input.dim():
            shape[dim] = input.shape[dim]
        index = _ops.arange(0, builtins.max(input.shape[dim], 1) if input.dim() else 1, 1, dtype=_C.int64,
                            device=str(input.device)).reshape(shape).expand(*input.shape)
        if input.dim() == 0:
            return _namedtuple(name, ["values", "indices"])(input.clone(), index.reshape([]).clone())

        def combine(a, b):
            (va, ia), (vb, ib) = a, b
            take_b = later_wins(va, vb)
            if input.is_floating_point():
                take_b = _ops.isnan(vb) | (take_b & ~_ops.isnan(va))
            return _ops.where(take_b, vb, va), _ops.where(take_b, ib, ia)

        values, indices = _scan((input, index), dim, combine)
        return _namedtuple(name, ["values", "indices"])(values, indices.contiguous())
    fn.__name__ = name
    return _both(fn)


cummax = _cum_extreme("cummax", lambda earlier, later: later >= earlier)
cummin = _cum_extreme("cummin", lambda earlier, later: later <= earlier)


@_both
def logaddexp(input, other):
    other = _as_tensor(other, input)
    m = _ops.maximum(input, other)
    r = m + _ops.log1p(_ops.exp(-_ops.abs(input - other)))
    return _ops.where(_ops.isinf(input) & (input == other), input, r)  # -inf + -inf, inf + inf


@_both
def logaddexp2(input, other):
    other = _as_tensor(other, input)
    m = _ops.maximum(input, other)
    r = m + _ops.log1p(exp2(-_ops.abs(input - other))) * (1 / math.log(2))
    return _ops.where(_ops.isinf(input) & (input == other), input, r)


@_both
def logcumsumexp(input, dim):
    dim = _wrap_dim(dim, input.dim(), "logcumsumexp")
    return _scan(input, dim, logaddexp) if input.dim() else input.clone()


@_both
def xlogy(input, other):
    """x * log(y), 0 where x == 0 (even where log(y) is -inf or NaN), NaN where y is NaN."""
    if not isinstance(input, Tensor):
        input = _as_tensor(input, other)
    other = _as_tensor(other, input)
    log = _ops.log(other)
    # x * log(y), with log(y) taken as 0 where x == 0 unless it is finite: the value is then 0, and
    # x's gradient log(y) where y > 0 (0 where y <= 0), as PyTorch's formula has it.
    finite = (other > 0) & ~_ops.isinf(other)
    r = input * _ops.where((input == 0) & ~finite, _full_like(log, 0.0), log)
    return _ops.where(_ops.isnan(other), _full_like(r, math.nan), r)


@_both
def logit(input, eps=None):
    x = input if eps is None else input.clamp(eps, 1 - eps)
    return _ops.log(x / (1 - x))


@_both
def hypot(input, other):
    return _ops.sqrt(input * input + other * other)


@_both
def exp2(input):
    x = input.to(_float_of(input))
    return _ops.pow(_full_like(x, 2.0), x)


@_both
def deg2rad(input):
    return input.to(_float_of(input)) * 0.017453292519943295


@_both
def rad2deg(input):
    return input.to(_float_of(input)) * 57.29577951308232


@_both
def signbit(input):
    if input.dtype is _C.bool:
        return _ops.zeros(list(input.shape), dtype=_C.bool, device=str(input.device))
    if not input.is_floating_point():
        return input < 0
    return (input < 0) | ((input == 0) & (1 / input < 0))  # -0.0 has its sign bit set


@_both
def isneginf(input):
    return (_ops.isinf(input) & (input < 0)) if input.is_floating_point() else input != input


@_both
def isposinf(input):
    return (_ops.isinf(input) & (input > 0)) if input.is_floating_point() else input != input


@_both
def isreal(input):
    return _ops.ones(list(input.shape), dtype=_C.bool, device=str(input.device))


@_both
def is_signed(input):
    return input.dtype is not _C.bool


@_export
def is_complex(input):
    return False


@_export
def is_inference(input):
    return False


Tensor.is_inference = lambda self: False


@_both
def clamp_min(input, min):
    return input.clamp(min=min)


@_both
def clamp_max(input, max):
    return input.clamp(max=max)


Tensor.clamp_min_ = lambda self, min: self.clamp_(min=min)
Tensor.clamp_max_ = lambda self, max: self.clamp_(max=max)


@_both
def count_nonzero(input, dim=None):
    nonzero = input != 0
    return nonzero.sum() if dim is None else nonzero.sum(dim=list(dim) if isinstance(dim, (list, tuple)) else dim)


def _reduce_args(dim):
    return {} if dim is None else {"dim": list(dim) if isinstance(dim, (list, tuple)) else dim}


@_both
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    x = input.to(dtype) if dtype is not None else input
    if x.is_floating_point():
        x = _ops.where(_ops.isnan(x), _full_like(x, 0.0), x)
    return x.sum(keepdim=keepdim, **_reduce_args(dim)) if dim is not None else x.sum()


@_both
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    if not input.is_floating_point():
        raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got "
                           f"{_public_name.dtype_name(input.dtype).capitalize()}")
    count = ~_ops.isnan(input)
    counted = count.sum(keepdim=keepdim, **_reduce_args(dim)) if dim is not None else count.sum()
    return nansum(input, dim, keepdim, dtype=dtype) / counted


def _moments(stat):
    def fn(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
        if isinstance(dim, builtins.bool):  # var_mean(input, unbiased)
            dim, unbiased = None, dim
        spread = getattr(input, stat)(dim, unbiased, keepdim, correction=correction)
        mean = input.mean(keepdim=keepdim, **_reduce_args(dim)) if dim is not None else (
            input.mean().reshape([1] * input.dim()) if keepdim else input.mean())
        return spread, mean
    fn.__name__ = stat + "_mean"
    return _export(fn)


var_mean = _moments("var")
std_mean = _moments("std")


@_both
def aminmax(input, *, dim=None, keepdim=False):
    if dim is None:
        if keepdim:
            return _namedtuple("aminmax", ["min", "max"])(input.amin(list(range(input.dim())), True),
                                                         input.amax(list(range(input.dim())), True))
        return _namedtuple("aminmax", ["min", "max"])(input.amin(), input.amax())
    return _namedtuple("aminmax", ["min", "max"])(input.amin(dim, keepdim), input.amax(dim, keepdim))


# Order statistics: a sort along the dim, then the element each statistic picks (NaN sorts last).
def _sorted_along(input, dim, op):
    if input.dim() and input.shape[dim] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {dim} to have non-zero size.")
    return input.sort(dim) if input.dim() else (input.reshape(1), _ops.zeros([1], dtype=_C.int64,
                                                                               device=str(input.device)))


def _pick(values, indices, k, dim, keepdim, name):
    v, i = values.gather(dim, k), indices.gather(dim, k)
    if not keepdim:
        v, i = v.squeeze(dim), i.squeeze(dim)
    return _namedtuple(name, ["values", "indices"])(v, i)


def _median(name, skip_nan):
    def fn(input, dim=None, keepdim=False):
        whole = dim is None
        x, d = (input.reshape(-1), 0) if whole else (input, _wrap_dim(dim, input.dim(), name))
        if whole and x.numel() == 0:
            return _full_like(input, math.nan)
        values, indices = _sorted_along(x, d, name)
        n = values.shape[d] if values.dim() else 1
        if input.is_floating_point():
            valid = (~_ops.isnan(values)).sum(dim=d, keepdim=True)
            # NaNs sort last: median's answer is the first NaN, nanmedian's the lower median of the rest.
            k = ((valid - 1).clamp(min=0) // 2) if skip_nan else _ops.where(valid < n, valid, (valid * 0 + (n - 1) // 2))
        else:
            k = _ops.full([1] * values.dim(), (n - 1) // 2, dtype=_C.int64, device=str(values.device))
            k = k.expand(*[1 if i == d else s for i, s in enumerate(values.shape)])
        r = _pick(values, indices, k, d, keepdim or whole, name)
        return r.values.reshape([]) if whole else (r if input.dim() else
                                                     type(r)(r.values.reshape([]), r.indices.reshape([])))
    fn.__name__ = name
    return _both(fn)


median = _median("median", skip_nan=False)
nanmedian = _median("nanmedian", skip_nan=True)


@_both
def kthvalue(input, k, dim=-1, keepdim=False):
    d = _wrap_dim(dim, input.dim(), "kthvalue")
    n = input.shape[d] if input.dim() else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    values, indices = _sorted_along(input, d, "kthvalue")
    index = _ops.full([1] * values.dim(), k - 1, dtype=_C.int64, device=str(values.device))
    r = _pick(values, indices, index.expand(*[1 if i == d else s for i, s in enumerate(values.shape)]), d, keepdim,
              "kthvalue")
    return r if input.dim() else type(r)(r.values.reshape([]), r.indices.reshape([]))


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name, skip_nan):
    def fn(input, q, dim=None, keepdim=False, *, interpolation="linear"):
        if not input.is_floating_point():
            raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
        if interpolation not in _INTERPOLATIONS:
            raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                               f"Found {interpolation}")
        scalar_q = not isinstance(q, Tensor)
        if scalar_q:
            if not 0 <= q <= 1:
                raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
            q = _full_like(input, q)
        else:
            if q.dim() > 1:
                raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
            if q.dtype is not input.dtype:
                raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
            if not builtins.bool(((q >= 0) & (q <= 1)).all()):
                raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
        if dim is None:
            x, out_shape = input.reshape(1, -1), [1] * input.dim() if keepdim else []
        else:
            d = _wrap_dim(dim, input.dim(), name)
            x = input.unsqueeze(0) if input.dim() == 0 else input.movedim(d, -1)
            out_shape = [1 if i == d else s for i, s in enumerate(input.shape)] if keepdim else \
                [s for i, s in enumerate(input.shape) if i != d]
            x = x.reshape(-1, x.shape[-1])
        if x.shape[-1] == 0:
            raise IndexError(f"{name}() input tensor must be non-empty")
        rows, n = x.shape
        qs = q.reshape(1, -1)
        ordered = x.sort(-1).values
        nans = _ops.isnan(ordered)
        if skip_nan:
            ranks = qs * ((~nans).sum(dim=-1, keepdim=True).to(q.dtype) - 1)
            ranks = ranks.clamp(min=0)
        else:
            ranks = _ops.where(nans.any(dim=-1, keepdim=True), _full_like(qs, n - 1.0), qs * (n - 1))
        if interpolation == "lower":
            ranks = ranks.floor()
        elif interpolation == "higher":
            ranks = ranks.ceil()
        elif interpolation == "nearest":
            ranks = ranks.round()
        below = ranks.to(_C.int64)
        values = ordered.gather(-1, below)
        if interpolation in ("linear", "midpoint"):
            weights = _full_like(ranks, 0.5).expand(*ranks.shape) if interpolation == "midpoint" else ranks - below
            values = values.lerp(ordered.gather(-1, ranks.ceil().to(_C.int64)), weights)
        values = values.transpose(0, 1)  # q first, as PyTorch's result is laid out
        return values.reshape(out_shape) if scalar_q or q.dim() == 0 else values.reshape([q.shape[0]] + out_shape)
    fn.__name__ = name
    return _both(fn)


quantile = _quantile("quantile", skip_nan=False)
nanquantile = _quantile("nanquantile", skip_nan=True)


# Data-dependent shapes: computed by numpy on the host, returned on the input's device.
def _to_input_device(array, like, dtype=None):
    t = _C.from_numpy(np.ascontiguousarray(array))
    if dtype is not None:
        t = t.to(dtype)
    return t if str(like.device) == "cpu" else t.to(like.device)


def _host(input):
    return input.detach().cpu().numpy()


def _results(values, inverse, counts, like, return_inverse, return_counts):
    out = [_to_input_device(values, like, like.dtype)]
    if return_inverse:
        out.append(_to_input_device(inverse.astype(np.int64), like))
    if return_counts:
        out.append(_to_input_device(counts.astype(np.int64), like))
    return out[0] if len(out) == 1 else tuple(out)


@_both
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    a = _host(input)
    if dim is None:
        values, inverse, counts = np.unique(a.reshape(-1), return_inverse=True, return_counts=True)
        inverse = inverse.reshape(a.shape)
    else:
        d = _wrap_dim(dim, input.dim(), "unique")
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d)
    return _results(values, inverse, counts, input, return_inverse, return_counts)


@_both
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    a = _host(input)
    flat = dim is None
    d = 0 if flat else _wrap_dim(dim, input.dim(), "unique_consecutive")
    x = np.moveaxis(a.reshape(-1) if flat else a, d, 0)
    if x.shape[0] == 0:
        starts = np.zeros(0, dtype=bool)
    else:
        rows = x.reshape(x.shape[0], -1)
        starts = np.concatenate([[True], (rows[1:] != rows[:-1]).any(axis=1)])
    values = np.moveaxis(x[starts], 0, d)
    inverse = np.cumsum(starts) - 1
    counts = np.diff(np.append(np.flatnonzero(starts), x.shape[0]))
    return _results(values, inverse.reshape(a.shape) if flat else inverse, counts, input, return_inverse,
                    return_counts)


@_export
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    if not isinstance(elements, Tensor):
        elements = _as_tensor(elements, test_elements)
    test = _as_tensor(test_elements, elements).reshape(-1)
    found = (elements.unsqueeze(-1) == test).any(dim=-1) if test.numel() else elements != elements
    return ~found if invert else found


def _count_before(sequence, values, right):
    """Per value, how many of the sorted sequence's entries come before it: the insertion index."""
    before = sequence <= values if right else sequence < values
    return before.sum(dim=-1)


@_export
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    seq = sorted_sequence if sorter is None else sorted_sequence.gather(-1, sorter)
    scalar = not isinstance(input, Tensor)
    values = _as_tensor(input, seq).reshape(1) if scalar else input
    if seq.dim() != 1 and list(seq.shape[:-1]) != list(values.shape[:-1]):
        raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions "
                           f"of boundaries tensor and input value tensor must match, but we got boundaries tensor "
                           f"{list(seq.shape)} and input value tensor {list(values.shape)}")
    lined = seq if seq.dim() == 1 else seq.unsqueeze(-2)
    r = _count_before(lined, values.unsqueeze(-1), right).to(_C.int32 if out_int32 else _C.int64)
    return r.reshape([]) if scalar else r


@_export
def bucketize(input, boundaries, *, out_int32=False, right=False):
    if boundaries.dim() != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.dim()})")
    scalar = not isinstance(input, Tensor)
    values = _as_tensor(input, boundaries) if scalar else input
    r = _count_before(boundaries, values.unsqueeze(-1), right).to(_C.int32 if out_int32 else _C.int64)
    return r.reshape([]) if scalar else r


@_both
def cov(input, *, correction=1, fweights=None, aweights=None):
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    x = input.reshape(1, -1) if input.dim() < 2 else input
    x = x if x.is_floating_point() else x.to(_C.get_default_dtype())
    observations = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        average = x.mean(dim=1)
        norm = observations - correction
    else:
        w_sum = w.sum()
        average = (x * w).sum(dim=1) / w_sum
        norm = w_sum - correction * ((w * aweights).sum() / w_sum) if (aweights is not None and correction) else \
            w_sum - correction
    if not isinstance(norm, Tensor):
        norm = _full_like(x, builtins.max(norm, 0))
    else:
        norm = norm.clamp(min=0).to(x.dtype)
    centered = x - average.unsqueeze(1)
    c = centered.mm((centered if w is None else centered * w).t()) / norm
    return c.squeeze()


@_both
def corrcoef(input):
    c = cov(input)
    if c.dim() == 0:
        return c / c
    std = _ops.sqrt(diagonal_of(c))
    c = c / std.unsqueeze(1)
    c = c / std.unsqueeze(0)
    return c.clamp(-1, 1)


def diagonal_of(matrix):
    from ._shape_functions import diagonal
    return diagonal(matrix)


@_both
def histc(input, bins=100, min=0, max=0):
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    x = input.detach()
    if not x.is_floating_point():
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{_public_name.dtype_name(x.dtype).capitalize()}'")
    low, high = _full_like(x, min), _full_like(x, max)
    if min == max and x.numel():
        low, high = x.min(), x.max()
    if builtins.bool(low == high):
        low, high = low - 1, high + 1
    inside = (x >= low) & (x <= high)
    position = ((x - low) * bins / (high - low)).floor().clamp(0, bins - 1).to(_C.int64)
    counts = _ops.zeros([bins], dtype=x.dtype, device=str(x.device))
    return counts.scatter_add(0, position.reshape(-1), inside.to(x.dtype).reshape(-1))


@_export
def trapezoid(y, x=None, *, dx=None, dim=-1):
    d = _wrap_dim(dim, y.dim(), "trapezoid")
    n = y.shape[d]
    if x is None:
        step = 1 if dx is None else dx
        if n == 0:
            return y.sum(dim=d)
        return (y.sum(dim=d) - (y.select(d, 0) + y.select(d, -1)) * 0.5) * step
    if isinstance(x, Tensor) and x.dim() == 1:
        if x.shape[0] != n:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        x = x.reshape([n if i == d else 1 for i in range(y.dim())])
    spacing = x.narrow(d, 1, n - 1) - x.narrow(d, 0, n - 1) if n else x
    return (spacing * (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1))).sum(dim=d) / 2 if n else y.sum(dim=d)


@_export
def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


@_export
def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    """normal(Tensor mean, Tensor std), normal(float mean, Tensor std), normal(Tensor mean, float std),
    normal(float mean, float std, size): draws of mean + std * N(0, 1), broadcast over mean and std."""
    if not isinstance(std, Tensor) and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal() missing the size argument for a float mean and std")
        from ._functions import randn
        r = randn(*size, generator=generator, dtype=dtype, device=device) * std + mean
        if out is not None:
            from ._functions import _factory_out
            return _factory_out(r, out)
        return r.requires_grad_(True) if requires_grad else r
    like = mean if isinstance(mean, Tensor) else std
    if isinstance(std, Tensor) and builtins.bool((std < 0).any()):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    shape = list(np.broadcast_shapes(tuple(mean.shape) if isinstance(mean, Tensor) else (),
                                     tuple(std.shape) if isinstance(std, Tensor) else ()))
    noise = _ops.randn(shape, generator=generator, dtype=like.dtype, device=str(like.device))
    r = noise * std + mean
    if out is None:
        return r
    out.copy_(r)  # PyTorch samples into out's shape: a mismatch raises rather than resizes
    return out


# Aliases and the functional forms of Tensor methods PyTorch also has as torch.X.
for _alias, _target in [("greater_equal", "ge"), ("less_equal", "le"), ("not_equal", "ne"), ("fix", "trunc"),
                        ("sgn", "sign")]:
    setattr(Tensor, _alias, getattr(Tensor, _target))
    globals()[_alias] = getattr(Tensor, _target)
    __all__.append(_alias)


@_both
def positive(input):
    if input.dtype is _C.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def _inplace_function(name):
    method = getattr(Tensor, name)

    def fn(input, *args, **kwargs):
        return method(input, *args, **kwargs)
    fn.__name__ = name
    return _export(fn)


for _name in ["abs_", "ceil_", "clamp_", "clip_", "cos_", "exp_", "expm1_", "floor_", "log_", "log1p_", "neg_",
              "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_", "sqrt_", "square_", "tanh_", "trunc_",
              "zero_", "fill_", "frac_", "erf_", "log2_", "log10_", "sign_", "sinh_", "cosh_", "asin_", "acos_",
              "atan_", "asinh_", "atanh_", "negative_", "detach_"]:
    if hasattr(Tensor, _name):
        globals()[_name] = _inplace_function(_name)
del _name, _alias, _target
