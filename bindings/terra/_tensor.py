"""Tensor methods with PyTorch's signatures, added to the C++ type terra._C.Tensor.

Most methods come straight from the registry (the C++ module binds every op whose first argument
is `self`, and its in-place form `name_`); this file adds the ones whose PyTorch signature differs
from the op's schema (varargs shapes, dim=None overloads, keyword spellings) and the pure-Python
conveniences (repr, indexing, numpy, pickling, conversions).
"""
import builtins
import collections
import math

import numpy as np

from . import _C, _missing_dtypes, _public_name, _utils
from ._C import _ops
from ._indexing import getitem, setitem
from . import _memory_format
from ._tensor_str import tensor_repr, return_type_repr

Tensor = _C.Tensor
_rebuild_from_type_v2 = _utils._rebuild_from_type_v2  # where checkpoints name it (torch._tensor)

_return_types = {}


class _ReturnTypeMeta(type):
    """Makes a return type's __module__ "terra.return_types", or "torch.return_types" under
    --as-torch (the types exist before `terra run` switches the public name)."""
    @property
    def __module__(cls):
        return _public_name.qualified("return_types")


def _namedtuple(name, fields):
    """The tuple type of torch.return_types.<name>: fields by name or position, PyTorch's repr."""
    if name not in _return_types:
        base = collections.namedtuple(name, fields)
        _return_types[name] = _ReturnTypeMeta(name, (base,), {
            "__slots__": (), "__repr__": return_type_repr, "__str__": return_type_repr,
            "__reduce__": lambda self: (_return_value, (name, tuple(fields), tuple(self)))})
    return _return_types[name]


def _return_value(name, fields, values):
    """Unpickles a return type's value (the type itself has no importable name)."""
    return _namedtuple(name, fields)(*values)


class layout(_public_name.NamedConstant):
    """torch.layout. Every Terra tensor is strided: terra.strided is the one instance."""


strided = layout("strided")


def _shape_args(args, what="size"):
    """Accepts f(2, 3), f((2, 3)), f([2, 3]) and f(terra.Size)."""
    if len(args) == 1 and not isinstance(args[0], builtins.int) and not (isinstance(args[0], Tensor) and args[0].dim() == 0):
        return list(args[0])
    return list(args)


def _to_args(self, args, kwargs):
    """Parses Tensor.to's overloads: to(dtype), to(device, dtype), to(tensor), keywords."""
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    for a in args:
        if isinstance(a, (_C.dtype, _missing_dtypes.MissingDType)):  # the latter refused below
            dtype = a
        elif isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif a is None:
            continue
        elif isinstance(a, (str, builtins.int)) or type(a).__name__ == "device":
            device = a
        elif isinstance(a, builtins.bool):
            continue
        else:
            raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
    return dtype, device, copy


def to(self, *args, **kwargs):
    fmt = kwargs.pop("memory_format", None)
    if fmt is not None and fmt is not _memory_format.preserve_format:
        out = to(self, *args, **kwargs)
        laid = _memory_format.laid_out(out, fmt)
        return laid.clone() if (kwargs.get("copy", False) and laid is self) else laid
    dtype, device, copy = _to_args(self, args, kwargs)
    _missing_dtypes.refuse(dtype, "to")
    out = self
    if device is not None and str(device) != str(self.device) and not (str(device) == "cuda" and self.is_cuda):
        out = _ops.to_device(out, str(device))
    if dtype is not None and dtype is not out.dtype:
        out = _ops.to_dtype(out, dtype)
    if copy and out is self:
        out = self.clone()
    return out


def _max_min(name, values_op, dim_op, pair_op):
    ret = _namedtuple(name, ["values", "indices"])

    def method(self, dim=None, keepdim=False, *, out=None):
        if dim is None:
            return values_op(self)
        if isinstance(dim, Tensor):
            return pair_op(self, dim)
        return ret(*dim_op(self, dim, keepdim))

    method.__name__ = name
    return method


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased in (None, True) else 0


def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, builtins.bool):
        dim, unbiased = None, dim
    return _ops.var(self, dim, correction=_correction(unbiased, correction), keepdim=keepdim)


def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, builtins.bool):
        dim, unbiased = None, dim
    return _ops.std(self, dim, correction=_correction(unbiased, correction), keepdim=keepdim)


def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
    if p == "fro" or p is None:
        p = 2.0
    elif p == "nuc":  # the sum of singular values: linalg's, over the last two dims unless told
        from . import linalg
        out = linalg.matrix_norm(self, "nuc", dim=(-2, -1) if dim is None else dim, keepdim=keepdim)
        return out if dtype is None else out.to(dtype)
    out = _ops.norm(self, float(p), dim, keepdim)
    return out if dtype is None else out.to(dtype)


def t(self):
    if self.dim() > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.dim()}D")
    return self if self.dim() < 2 else _ops.transpose(self, 0, 1)


def split(self, split_size_or_sections, dim=0):
    return tuple(_ops.split(self, split_size_or_sections, dim))


def chunk(self, chunks, dim=0):
    return tuple(_ops.chunk(self, chunks, dim))


def unbind(self, dim=0):
    return tuple(_ops.select(self, dim, i) for i in range(self.shape[dim]))


def scatter(self, dim, index, src=None, value=None, *, reduce=None):
    if reduce is not None:
        if reduce != "add":
            raise NotImplementedError(f"scatter(reduce='{reduce}') is not supported by Terra")
        return _ops.scatter_add(self, dim, index, src)
    if src is None:
        src = value
    if isinstance(src, Tensor):
        return _ops.scatter(self, dim, index, src)
    return _ops.scatter_value(self, dim, index, src)


def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    src = src if src is not None else value
    if reduce == "add":
        return _C._call_inplace("scatter_add", self, dim, index, src)
    if reduce is not None:
        raise NotImplementedError(f"scatter_(reduce='{reduce}') is not supported by Terra")
    if isinstance(src, Tensor):
        return _C._call_inplace("scatter", self, dim, index, src)
    return _C._call_inplace("scatter_value", self, dim, index, src)


def index_put_(self, indices, values, accumulate=False):
    values = values if isinstance(values, Tensor) else _ops.full([], values, dtype=self.dtype)
    return _C._call_inplace("index_put", [self, values, *indices], accumulate)


def index_put(self, indices, values, accumulate=False):
    values = values if isinstance(values, Tensor) else _ops.full([], values, dtype=self.dtype)
    return _ops.index_put([self, values, *indices], accumulate)


def index_fill(self, dim, index, value):
    idx = [None] * (dim % self.dim()) + [index]
    return index_put(self, idx, value)


def masked_fill(self, mask, value):
    return _ops.masked_fill(self, mask, value)


def masked_fill_(self, mask, value):
    return _C._call_inplace("masked_fill", self, mask, value)


def where(self, condition, other):
    return _ops.where(condition, self, other)


def clamp(self, min=None, max=None):
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = self
        if min is not None:
            out = _ops.maximum(out, min)
        if max is not None:
            out = _ops.minimum(out, max)
        return out
    return _ops.clamp(self, min, max)


def clamp_(self, min=None, max=None):
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return self.copy_(clamp(self, min, max))
    return _C._call_inplace("clamp", self, min, max)


def pow(self, exponent):
    return _ops.pow(self, exponent)


def _check_rounding_mode(rounding_mode):
    if rounding_mode is not None and rounding_mode not in ("trunc", "floor"):
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")


def div(self, other, *, rounding_mode=None):
    _check_rounding_mode(rounding_mode)
    return _ops.div(self, other, rounding_mode=rounding_mode)


def div_(self, other, *, rounding_mode=None):
    _check_rounding_mode(rounding_mode)
    return _C._call_inplace("div", self, other, rounding_mode=rounding_mode)


def addcmul(self, tensor1, tensor2, *, value=1):
    return self + (tensor1 * tensor2) * value if value != 1 else self + tensor1 * tensor2


def addcmul_(self, tensor1, tensor2, *, value=1):
    return self.add_(tensor1 * tensor2, alpha=value)


def addcdiv(self, tensor1, tensor2, *, value=1):
    return self + (tensor1 / tensor2) * value if value != 1 else self + tensor1 / tensor2


def addcdiv_(self, tensor1, tensor2, *, value=1):
    return self.add_(tensor1 / tensor2, alpha=value)


def lerp(self, end, weight):
    return self + (end - self) * weight


def lerp_(self, end, weight):
    return self.add_((end - self) * weight)


def dot(self, other):
    if self.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {self.dim()}D and {other.dim()}D tensors")
    return _ops.matmul(self, other)


def square(self):
    return self * self


def zero_(self):
    return self.fill_(0)


def _draw(op, self, generator, dtype):
    """rand or randn shaped like self, on self's device (where the fill is written)."""
    return op(list(self.shape), generator=generator, dtype=dtype, device=str(self.device))


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    r = _draw(_ops.rand, self, generator, self.dtype if self.is_floating_point() else None)
    return self.copy_(r * (b - a) + a)


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    r = _draw(_ops.randn, self, generator, self.dtype if self.is_floating_point() else None)
    return self.copy_(r * std + mean)


def bernoulli_(self, p=0.5, *, generator=None):
    if isinstance(p, Tensor):
        return self.copy_(_ops.bernoulli(p.expand_as(self).to(self.dtype), generator=generator))
    return self.copy_(_ops.bernoulli_p(self.to(_C.float64) if not self.is_floating_point() else self, float(p),
                                       generator=generator))


def bernoulli(self, p=None, *, generator=None):
    if p is None:
        return _ops.bernoulli(self, generator=generator)
    return _ops.bernoulli_p(self, float(p), generator=generator)


def multinomial(self, num_samples, replacement=False, *, generator=None):
    """int64 category indices drawn from each row of self (non-negative weights, not necessarily
    normalised), as torch.multinomial: shape (num_samples,) for a vector, (rows, num_samples) for
    a matrix. The weights are checked first, which reads them (a fetch when co-executed)."""
    from .distributions.utils import multinomial as draw
    if self.dim() not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {self.dim()}")
    if not self.is_floating_point():
        raise RuntimeError(f"multinomial: expected a floating point tensor of weights, got {self.dtype}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample num_samples <= 0 samples (got {num_samples})")
    rows = self.reshape(1, -1) if self.dim() == 1 else self
    if rows.shape[1] == 0:
        raise RuntimeError("multinomial: number of categories cannot be zero")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    weights = rows.detach()
    if not builtins.bool(((weights >= 0) & ~(_ops.isinf(weights) | _ops.isnan(weights))).all()):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    if not builtins.bool((weights.sum(-1) > 0).all()):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    drawn = draw(weights, num_samples, replacement, generator)
    return drawn.reshape(num_samples) if self.dim() == 1 else drawn


def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by nan, posinf and neginf (by default the dtype's largest and
    smallest finite values), as torch.nan_to_num; integer and bool tensors come back as they are."""
    if not self.is_floating_point():
        return self.clone()
    from ._type_info import finfo
    info = finfo(self.dtype)
    big = info.max if posinf is None else posinf
    small = info.min if neginf is None else neginf
    out = _ops.where(_ops.isnan(self), _ops.full([], nan, dtype=self.dtype), self)
    infinite = _ops.isinf(out)
    return _ops.where(infinite & (out > 0), _ops.full([], big, dtype=self.dtype),
                      _ops.where(infinite & (out < 0), _ops.full([], small, dtype=self.dtype), out))


# random_() with no bounds: every value the dtype holds exactly, from 0 (PyTorch's ranges).
_RANDOM_UPPER = {_C.bool: 2, _C.int32: 2 ** 31, _C.int64: 2 ** 63 - 1, _C.float32: 2 ** 24 + 1,
                 _C.float64: 2 ** 53 + 1}


def random_(self, low=None, high=None, *, generator=None):
    if low is None:
        low, high = 0, _RANDOM_UPPER[self.dtype]
    elif high is None:
        low, high = 0, low
    return self.copy_(_ops.randint(low, high, list(self.shape), generator=generator, device=str(self.device)))


def exponential_(self, lambd=1.0, *, generator=None):
    u = _draw(_ops.rand, self, generator, self.dtype)
    return self.copy_(-(1 - u).log() / lambd)


def _require_floating(self, name):
    from ._functions import _legacy_name  # imported after this module
    if not self.is_floating_point():
        raise RuntimeError(f'"{name}_cpu" not implemented for \'{_legacy_name(self.dtype)}\'')


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Draws by the inverse CDF, median + sigma tan(pi (u - 1/2)); PyTorch 1.13 checks no sign of sigma."""
    _require_floating(self, "cauchy")
    u = _draw(_ops.rand, self, generator, self.dtype)
    return self.copy_(median + sigma * ((u - 0.5) * math.pi).tan())


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    _require_floating(self, "log_normal")
    if not std > 0.0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    z = _draw(_ops.randn, self, generator, self.dtype)
    return self.copy_((z * std + mean).exp())


def geometric_(self, p, *, generator=None):
    """The number of Bernoulli(p) trials up to the first success (1, 2, ...), drawn by the inverse
    CDF in float64: ceil(log(u) / log(1 - p)) with u in (0, 1]."""
    if not 0.0 < p < 1.0:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    u = 1 - _draw(_ops.rand, self, generator, _C.float64)
    return self.copy_((u.log() / math.log1p(-p)).ceil().clamp(min=1))


def _new(self, fn, size, dtype, device, requires_grad, *extra):
    dtype = self.dtype if dtype is None else dtype
    device = self.device if device is None else device
    out = fn(_shape_args(size) if isinstance(size, tuple) else size, *extra, dtype=dtype, device=str(device))
    if requires_grad:
        out.requires_grad_(True)
    return out


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, **_):
    return _new(self, _ops.zeros, size, dtype, device, requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False, **_):
    return _new(self, _ops.ones, size, dtype, device, requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False, **_):
    return _new(self, _ops.empty, size, dtype, device, requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, **_):
    dtype = self.dtype if dtype is None else dtype
    out = _ops.full(list(size), fill_value, dtype=dtype, device=str(self.device if device is None else device))
    return out.requires_grad_(True) if requires_grad else out


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    from ._functions import tensor
    return tensor(data, dtype=self.dtype if dtype is None else dtype, device=device, requires_grad=requires_grad)


def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    if inputs is not None:
        raise NotImplementedError("backward(inputs=...) is not supported by Terra; use terra.autograd.grad")
    if retain_graph is None:
        retain_graph = create_graph
    _C._backward([self], [gradient], retain_graph, create_graph)


def register_hook(self, hook):
    return _C._register_hook(self, hook)


# Reads go through numpy() on the tensor itself (not a detached alias), so a tracing session sees
# which tensor Python read.
def tolist(self):
    return self.cpu().numpy(force=True).tolist()


def __array__(self, dtype=None):
    a = self.cpu().numpy(force=True)
    return a if dtype is None else a.astype(dtype, copy=False)


def __array_wrap__(self, array, context=None, return_scalar=False):
    """A numpy ufunc's result on tensors, as a tensor (np.sin(t), t + ndarray), as PyTorch's.
    PyTorch gives uint8 for a bool result; Terra, which has no uint8, gives bool."""
    try:
        return _C.from_numpy(array if array.flags.c_contiguous else array.copy())
    except (TypeError, ValueError):  # a dtype Terra does not have
        return array


_c_rtruediv = Tensor.__rtruediv__


def __rtruediv__(self, other):
    """ndarray / tensor is a tensor, as PyTorch's (its other reflected operators refuse arrays)."""
    out = _c_rtruediv(self, other)
    if out is NotImplemented and isinstance(other, np.ndarray):
        from ._functions import as_tensor
        return as_tensor(other) / self
    return out


def __reduce_ex__(self, protocol):
    from .serialization import _rebuild_tensor
    return (_rebuild_tensor, (np.array(self.detach().cpu().numpy()), self.requires_grad, type(self)))


def __deepcopy__(self, memo):
    if not self.is_leaf:
        raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                           "protocol at the moment")
    if id(self) in memo:
        return memo[id(self)]
    from .serialization import _rebuild_tensor
    out = _rebuild_tensor(np.array(self.detach().numpy()), self.requires_grad, type(self))
    if self.grad is not None:
        out.grad = self.grad.clone()
    memo[id(self)] = out
    return out


def __copy__(self):
    """copy.copy: a new tensor on self's data (writes to either show in both), requires_grad
    kept, no grad, the instance's attributes copied, as PyTorch's rebuild on the same storage."""
    cls = type(self)
    out = self.detach()
    if cls is not Tensor:
        from .serialization import _is_parameter_class
        out = cls(out, self.requires_grad) if _is_parameter_class(cls) else cls(out)
    if self.requires_grad and not out.requires_grad:
        out.requires_grad_(True)
    attrs = getattr(self, "__dict__", None)
    if attrs:
        out.__dict__.update(attrs)
    return out


def sign(self):
    """PyTorch's sign of a bool tensor is the tensor's values (the registry op refuses bool)."""
    return _ops.clone(self) if self.dtype is _C.bool else _ops.sign(self)


def _set_real(self, value):
    self.copy_(value)


def _imag(self):
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def __iter__(self):
    if self.dim() == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (_ops.select(self, 0, i) for i in range(self.shape[0]))


def __format__(self, spec):
    if self.dim() == 0:
        return self.item().__format__(spec)
    return object.__format__(self, spec)


def __contains__(self, element):
    if isinstance(element, (Tensor, builtins.int, builtins.float, builtins.bool)):
        return builtins.bool((self == element).any().item())
    raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a {type(element)}.")


def __setstate__(self, state):
    pass


def type_(self, dtype=None, non_blocking=False):
    if dtype is None:
        from . import typename
        return typename(self)
    from ._legacy_types import TensorType, from_type_name
    if isinstance(dtype, str):  # 'torch.LongTensor', 'torch.cuda.FloatTensor'
        dtype, device = from_type_name(dtype)
        _missing_dtypes.refuse(dtype, "type")
        return to(self, device, dtype)
    if isinstance(dtype, TensorType):
        dtype = dtype.dtype
    _missing_dtypes.refuse(dtype, "type")
    return to(self, dtype)


def _method_table():
    def contiguous(self, memory_format=None):
        if memory_format is None:
            return _ops.contiguous(self)
        return _memory_format.contiguous(self, memory_format)

    def clone(self, memory_format=None):
        return _memory_format.clone(self, memory_format)

    def softmax(self, dim, dtype=None):
        return _ops.softmax(self, dim, dtype)

    def log_softmax(self, dim, dtype=None):
        return _ops.log_softmax(self, dim, dtype)

    def argmax(self, dim=None, keepdim=False):
        return _ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _ops.argmin(self, dim, keepdim)

    def sort(self, dim=-1, descending=False, stable=False):
        return _namedtuple("sort", ["values", "indices"])(*_ops.sort(self, dim, descending, stable))

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return _namedtuple("topk", ["values", "indices"])(*_ops.topk(self, k, dim, largest, sorted))

    def all(self, dim=None, keepdim=False):
        return _ops.all(self, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        return _ops.any(self, dim, keepdim)

    def cumsum(self, dim, dtype=None):
        return _ops.cumsum(self, dim, dtype=dtype)

    def logsumexp(self, dim, keepdim=False):
        return _ops.logsumexp(self, dim, keepdim)

    def amax(self, dim=(), keepdim=False):
        return _ops.amax(self, dim, keepdim)

    def amin(self, dim=(), keepdim=False):
        return _ops.amin(self, dim, keepdim)

    def flatten(self, start_dim=0, end_dim=-1):
        return _ops.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        dim = dim % self.dim()
        return _ops.reshape(self, list(self.shape[:dim]) + list(sizes) + list(self.shape[dim + 1:]))

    def masked_select(self, mask):
        return _ops.masked_select(self, mask)

    def nonzero(self, *, as_tuple=False):
        nz = _ops.nonzero(self)
        return tuple(nz[:, i] for i in range(nz.shape[1])) if as_tuple else nz

    def roll(self, shifts, dims=None):
        return _ops.roll(self, shifts, [] if dims is None else dims)

    def eq(self, other):
        return _ops.eq(self, other)

    return {name: fn for name, fn in locals().items()}


def _install():
    methods = dict(_method_table())
    methods.update(
        to=to, var=var, std=std, norm=norm, t=t, split=split, chunk=chunk, unbind=unbind, scatter=scatter, scatter_=scatter_, index_put_=index_put_,
        index_put=index_put, index_fill=index_fill, masked_fill=masked_fill, masked_fill_=masked_fill_, where=where,
        clamp=clamp, clamp_=clamp_, clip=clamp, clip_=clamp_, pow=pow, div=div, div_=div_, divide=div,
        true_divide=div, addcmul=addcmul, addcmul_=addcmul_, addcdiv=addcdiv, addcdiv_=addcdiv_, lerp=lerp,
        lerp_=lerp_, dot=dot, square=square, zero_=zero_, uniform_=uniform_, normal_=normal_, bernoulli=bernoulli,
        multinomial=multinomial, nan_to_num=nan_to_num, bernoulli_=bernoulli_, random_=random_, exponential_=exponential_,
        cauchy_=cauchy_, log_normal_=log_normal_, geometric_=geometric_, new_zeros=new_zeros,
        new_ones=new_ones,
        new_empty=new_empty, new_full=new_full, new_tensor=new_tensor, backward=backward, register_hook=register_hook,
        tolist=tolist, __array__=__array__, __array_wrap__=__array_wrap__, __rtruediv__=__rtruediv__, __reduce_ex__=__reduce_ex__, __deepcopy__=__deepcopy__,
        __iter__=__iter__, __copy__=__copy__, sign=sign, __format__=__format__, __contains__=__contains__, type=type_,
        __getitem__=getitem, __setitem__=setitem, __repr__=tensor_repr, __str__=tensor_repr,
    )
    methods["max"] = _max_min("max", _ops.max, _ops.max_dim, _ops.maximum)
    methods["min"] = _max_min("min", _ops.min, _ops.min_dim, _ops.minimum)
    # numpy scalars and arrays on the left of an operator defer to the tensor's reflected one
    # (np.float64(2) * t is a tensor), as PyTorch's.
    methods["__array_priority__"] = 1000
    methods.update(
        T=property(lambda self: _ops.permute(self, list(range(self.dim() - 1, -1, -1)))),
        mT=property(lambda self: _ops.transpose(self, -2, -1)),
        H=property(lambda self: t(self)),
        is_sparse=property(lambda self: False),
        real=property(lambda self: self, _set_real),  # Terra's dtypes are all real: self, as PyTorch's
        imag=property(_imag),
        is_quantized=property(lambda self: False),
        is_meta=property(lambda self: False),
        layout=property(lambda self: strided),
        itemsize=property(lambda self: self.element_size()),
        nbytes=property(lambda self: self.element_size() * self.numel()),
        names=property(lambda self: (None,) * self.dim()),
    )
    simple = {
        "float": _C.float32, "double": _C.float64, "long": _C.int64, "int": _C.int32, "bool": _C.bool,
    }
    for name, dt in simple.items():
        methods[name] = (lambda dt: lambda self, memory_format=None: to(self, dt))(dt)
    methods["cpu"] = lambda self, memory_format=None: to(self, "cpu")
    methods["cuda"] = lambda self, device=None, non_blocking=False, memory_format=None: to(
        self, "cuda" if device is None else (f"cuda:{device}" if isinstance(device, builtins.int) else device))
    methods["type_as"] = lambda self, other: to(self, other.dtype)
    methods["view_as"] = lambda self, other: _ops.view(self, list(other.shape))
    methods["reshape_as"] = lambda self, other: _ops.reshape(self, list(other.shape))
    methods["expand_as"] = lambda self, other: _ops.expand(self, list(other.shape))
    methods["abs_"] = lambda self: _C._call_inplace("abs", self)
    methods["absolute"] = lambda self: _ops.abs(self)
    methods["negative"] = lambda self: _ops.neg(self)
    methods["multiply"] = lambda self, other: _ops.mul(self, other)
    methods["subtract"] = lambda self, other, *, alpha=1: _ops.sub(self, other, alpha=alpha)
    methods["greater"] = methods["gt"] = lambda self, other: _ops.gt(self, other)
    methods["less"] = methods["lt"] = lambda self, other: _ops.lt(self, other)
    methods["fmod"] = lambda self, other: self - self.div(other, rounding_mode="trunc") * other  # keeps int dtypes
    methods["trunc"] = lambda self: _ops.sign(self) * _ops.floor(_ops.abs(self))
    methods["frac"] = lambda self: self - methods["trunc"](self)
    methods["isfinite"] = lambda self: ~(_ops.isnan(self) | _ops.isinf(self))
    methods["equal"] = lambda self, other: self.shape == other.shape and builtins.bool((self == other).all())
    methods["allclose"] = lambda self, other, rtol=1e-5, atol=1e-8, equal_nan=False: builtins.bool(
        methods["isclose"](self, other, rtol, atol, equal_nan).all())
    methods["isclose"] = lambda self, other, rtol=1e-5, atol=1e-8, equal_nan=False: _isclose(self, other, rtol, atol,
                                                                                              equal_nan)
    methods["numpy"] = Tensor.numpy
    methods["pin_memory"] = lambda self, device=None: self if _C._is_pinned(self) else _C._pin_memory(self.contiguous())
    methods["share_memory_"] = lambda self: self
    methods["is_pinned"] = lambda self, device=None: _C._is_pinned(self)
    methods["get_device"] = lambda self: self.device.index if self.is_cuda else -1
    methods["requires_grad_"] = Tensor.requires_grad_
    methods["index_select"] = lambda self, dim, index: _ops.index_select(self, dim, index)
    methods["gather"] = lambda self, dim, index: _ops.gather(self, dim, index)
    methods["sigmoid_"] = lambda self: _C._call_inplace("sigmoid", self)
    for alias, name in [("arctan", "atan"), ("arcsin", "asin"), ("arccos", "acos"), ("arcsinh", "asinh"),
                        ("arctanh", "atanh")]:
        methods[alias] = getattr(Tensor, name)
    for name, fn in methods.items():
        setattr(Tensor, name, fn)


def _isclose(a, b, rtol, atol, equal_nan):
    if isinstance(b, Tensor) and b.dtype is not a.dtype:  # PyTorch compares tensors of one dtype only
        from ._functions import _legacy_name
        raise RuntimeError(f"{_legacy_name(a.dtype)} did not match {_legacy_name(b.dtype)}")
    b = b if isinstance(b, Tensor) else _ops.full([], b, dtype=a.dtype)
    close = (a - b).abs() <= atol + rtol * b.abs()
    if equal_nan:
        close = close | (_ops.isnan(a) & _ops.isnan(b))
    return close
