"""terra.* functions with PyTorch's signatures, over the registry ops (terra._C._ops)."""
import builtins
import warnings

import numpy as np

from . import _C, _memory_format, _missing_dtypes, _public_name, _storage
from ._C import _ops
from ._einsum import einsum
from ._tensor import _shape_args

Tensor = _C.Tensor

__all__ = []


def _export(fn):
    __all__.append(fn.__name__)
    return fn


# The device factory functions use when none is given (terra.set_default_device; `terra run
# --device cuda` sets it): None stands for the CPU.
_default_device = None


def _device_str(device):
    return _default_device if device is None else str(device)


def _finish(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t


def _factory_out(t, out):
    """A factory's result written into out=: resized silently to the result's shape (as PyTorch's
    factories resize_ their out), cast to out's dtype."""
    if not isinstance(out, Tensor):
        raise TypeError(f"argument 'out' must be Tensor, not {type(out).__name__}")
    if list(out.shape) != list(t.shape):
        _storage._resize(out, list(t.shape), keep_data=False)
    out.copy_(t)
    return out


def _factory(op):
    def fn(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
           memory_format=None):
        t = op(_shape_args(size), dtype=dtype, device=_device_str(device))
        return _finish(t, requires_grad) if out is None else _factory_out(t, out)

    fn.__name__ = op.name
    return fn


zeros = _export(_factory(_ops.zeros))
ones = _export(_factory(_ops.ones))
empty = _export(_factory(_ops.empty))


@_export
def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    if dtype is None and isinstance(fill_value, builtins.bool):
        dtype = _C.bool
    elif dtype is None and isinstance(fill_value, builtins.int):
        dtype = _C.int64
    t = _ops.full(list(size), fill_value, dtype=dtype, device=_device_str(device))
    return _finish(t, requires_grad) if out is None else _factory_out(t, out)


@_export
def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """An uninitialized tensor with these strides: a flat storage just large enough, viewed."""
    size, stride = [builtins.int(s) for s in size], [builtins.int(s) for s in stride]
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of strides "
                           f"({len(stride)})")
    for s in size:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {size}")
    if builtins.any(s < 0 for s in stride):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={size} and strides={stride}")
    extent = 0 if 0 in size else 1 + builtins.sum((n - 1) * s for n, s in zip(size, stride))
    flat = _ops.empty([extent], dtype=dtype or _C.get_default_dtype(), device=_device_str(device))
    return _finish(_ops.as_strided(flat, size, stride, 0), requires_grad)


def _like(op):
    def fn(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
        out = op(list(input.shape), dtype=dtype or input.dtype, device=_device_str(device or input.device))
        return _finish(_memory_format.like(out, input, memory_format), requires_grad)

    fn.__name__ = op.name + "_like"
    return fn


zeros_like = _export(_like(_ops.zeros))
ones_like = _export(_like(_ops.ones))
empty_like = _export(_like(_ops.empty))


@_export
def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    out = _ops.full(list(input.shape), fill_value, dtype=dtype or input.dtype, device=_device_str(device or input.device))
    return _finish(_memory_format.like(out, input, memory_format), requires_grad)


def _random_factory(op):
    def fn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
           pin_memory=False):
        t = op(_shape_args(size), generator=generator, dtype=dtype, device=_device_str(device))
        return _finish(t, requires_grad) if out is None else _factory_out(t, out)

    fn.__name__ = op.name
    return fn


rand = _export(_random_factory(_ops.rand))
randn = _export(_random_factory(_ops.randn))


@_export
def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    out = _ops.rand(list(input.shape), dtype=dtype or input.dtype, device=_device_str(device or input.device))
    return _finish(_memory_format.like(out, input, memory_format), requires_grad)


@_export
def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    out = _ops.randn(list(input.shape), dtype=dtype or input.dtype, device=_device_str(device or input.device))
    return _finish(_memory_format.like(out, input, memory_format), requires_grad)


@_export
def randint(low=0, high=None, size=None, *args, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False):
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    t = _ops.randint(low, high, list(size), generator=generator, dtype=dtype, device=_device_str(device))
    return t if out is None else _factory_out(t, out)


@_export
def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    if high is None:
        low, high = 0, low
    out = _ops.randint(low, high, list(input.shape), dtype=dtype or input.dtype,
                       device=_device_str(device or input.device))
    return _finish(_memory_format.like(out, input, memory_format), requires_grad)


@_export
def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    t = _ops.randperm(n, generator=generator, dtype=dtype, device=_device_str(device))
    return t if out is None else _factory_out(t, out)


@_export
def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    t = _ops.arange(start, end, step, dtype=dtype, device=_device_str(device))
    if out is None:
        return _finish(t, requires_grad)
    if not isinstance(out, Tensor):
        raise TypeError(f"arange(): argument 'out' must be Tensor, not {type(out).__name__}")
    n = t.numel()
    if out.numel() != n:  # PyTorch keeps out's shape when its number of elements is right
        if out.numel():
            warnings.warn(f"The number of elements in the out tensor of shape {list(out.shape)} is {out.numel()} "
                          f"which does not match the computed number of elements {n}. Note that this may occur as "
                          f"a result of rounding error. The out tensor will be resized to a tensor of shape ({n},).",
                          UserWarning, stacklevel=_storage.user_stacklevel())
        _storage._resize(out, [n], keep_data=False)
    out.copy_(t.reshape(out.shape))
    return out


@_export
def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    t = _ops.linspace(start, end, steps, dtype=dtype, device=_device_str(device))
    return _finish(t, requires_grad) if out is None else _factory_out(t, out)


@_export
def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    t = _ops.eye(n, -1 if m is None else m, dtype=dtype, device=_device_str(device))
    return _finish(t, requires_grad) if out is None else _factory_out(t, out)


def _check_numpy_layout(arr):
    """PyTorch 1.13 refuses (rather than copies) an array with a negative stride or a byte order
    other than the machine's, in tensor() as in from_numpy()."""
    if builtins.any(s < 0 for s in arr.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors with negative strides "
                         "are not currently supported. (You can probably work around this by making a copy of your "
                         "array  with array.copy().) ")
    if not arr.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. Conversion between "
                         "byte orders is currently not supported.")


def _infer_numpy(data, dtype=None):
    """Python data as a numpy array with PyTorch's dtype inference (floats -> default dtype)."""
    if isinstance(data, np.ndarray):
        _check_numpy_layout(data)
        return data, True
    if isinstance(data, (np.generic,)):
        return np.asarray(data), True
    if isinstance(data, Tensor):
        return data.detach().cpu().numpy(), True
    if isinstance(data, (list, tuple)) and builtins.any(isinstance(x, Tensor) for x in _flat(data)):
        data = _tensors_to_lists(data)
    arr = np.asarray(data)
    if arr.dtype == object or arr.dtype.kind in "USV" or arr.dtype == np.uint64:
        arr = _unusual_data(data, arr, dtype)
    return arr, False


def _unusual_data(data, arr, dtype):
    """Python data numpy did not read as one of Terra's dtypes, with PyTorch's errors: ints past
    int64 (numpy's uint64 or object), which only a floating dtype holds; None, strings, objects."""
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    items = list(_flat(data)) if isinstance(data, (list, tuple)) else [data]
    for x in items:
        if isinstance(x, (str, bytes)):
            raise ValueError(f"too many dimensions '{type(x).__name__}'")
        if not isinstance(x, (builtins.int, builtins.float, builtins.bool, np.generic)):
            raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")
    floating = builtins.any(isinstance(x, (builtins.float, np.floating)) for x in items)
    if not floating and not (dtype is not None and dtype.is_floating_point):
        if builtins.any(not -2 ** 63 <= x < 2 ** 63 for x in items):
            raise RuntimeError("Overflow when unpacking long")
        return np.asarray(data, dtype=np.int64)
    return np.asarray(data, dtype=np.float64)


def _flat(data):
    for x in data:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _tensors_to_lists(data):
    if isinstance(data, Tensor):  # a number, as PyTorch reads a tensor inside a list
        if data.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return data.item()
    if isinstance(data, (list, tuple)):
        return [_tensors_to_lists(x) for x in data]
    return data


_NUMPY_OF = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "int32": np.int32, "bool": np.bool_}
_LEGACY_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int", "bool": "Bool"}


def _numpy_dtype(dt, op):
    """numpy's dtype for a terra dtype given to `op` (which refuses one Terra does not have)."""
    _missing_dtypes.refuse(dt, op)
    return _NUMPY_OF[_public_name.dtype_name(dt)]


def _legacy_name(dt):
    """PyTorch's legacy name of a dtype ("Float", "Long"), as its error messages spell them."""
    return _LEGACY_NAMES[_public_name.dtype_name(dt)]


@_export
def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() or "
                      "sourceTensor.clone().detach().requires_grad_(True), rather than "
                      f"{_public_name.qualified('tensor')}(sourceTensor).", UserWarning, stacklevel=2)
    arr, from_array = _infer_numpy(data, dtype)
    if dtype is None:
        kind = arr.dtype.kind
        if kind == "f":
            target = arr.dtype if from_array else _numpy_dtype(_C.get_default_dtype(), "tensor")
        elif kind in "iu":
            target = arr.dtype if (from_array and arr.dtype in (np.int32, np.int64)) else np.int64
        elif kind == "b":
            target = np.bool_
        else:
            raise TypeError(f"can't convert np.ndarray of type numpy.{arr.dtype}. The only supported types are: "
                            "float64, float32, int64, int32, and bool.")
    else:
        target = _numpy_dtype(dtype, "tensor")
        if target is np.int32 and not from_array and arr.dtype.kind in "iu" and arr.size and (
                arr.min() < -2 ** 31 or arr.max() >= 2 ** 31):
            raise RuntimeError("value cannot be converted to type int32 without overflow")
    t = _C._tensor_from_numpy(np.asarray(arr, dtype=target, order="C"))
    device = _device_str(device)
    if device is not None and device != "cpu":
        t = t.to(device)
    return _finish(t, requires_grad)


@_export
def as_tensor(data, dtype=None, device=None):
    _missing_dtypes.refuse(dtype, "as_tensor")
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device) if (dtype is not None or device is not None) else data
    if isinstance(data, np.ndarray) and dtype is None and device is None and _default_device is None:
        try:
            return _C.from_numpy(data)
        except (TypeError, ValueError):
            pass
    return tensor(data, dtype=dtype, device=device)


@_export
def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    t = tensor(obj, dtype=dtype, device=device) if copy else as_tensor(obj, dtype=dtype, device=device)
    return _finish(t, requires_grad)


@_export
def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return _finish(_ops.full([], s, dtype=dtype or _C.get_default_dtype(), device=_device_str(device)), requires_grad)


# Elementwise and reductions: the Tensor methods as functions (torch.exp(x) == x.exp()).
def _write_out(name, result, out):
    """result copied into out= as PyTorch writes it: a tensor for each result (a tuple for
    max, sort, ...), of a dtype the result casts to, resized to the result's shape when it has
    another (with PyTorch's deprecation warning unless it was empty: _storage.resize_output); what
    the result's type is, returned."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(result)} Tensors")
        for r, o in zip(result, out):
            _write_out(name, r, o)
        return type(result)(*out)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if not can_cast(result.dtype, out.dtype):
        raise RuntimeError(f"result type {_legacy_name(result.dtype)} can't be cast to the desired output type "
                           f"{_legacy_name(out.dtype)}")
    if out.requires_grad and _C.is_grad_enabled():
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    _storage.resize_output(out, result.shape)
    out.copy_(result)
    return out


def _from_method(name, public=None):
    method = getattr(Tensor, name)

    def fn(input, *args, **kwargs):
        out = kwargs.pop("out", None)
        r = method(input, *args, **kwargs)
        return r if out is None else _write_out(name, r, out)

    fn.__name__ = public or name
    globals()[fn.__name__] = fn
    __all__.append(fn.__name__)


for _name in ["abs", "neg", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "reciprocal", "sin", "cos",
              "tanh", "atan", "asin", "acos", "sinh", "cosh", "asinh", "atanh", "arctan", "arcsin", "arccos", "arcsinh",
              "arctanh", "tan", "erfc", "erfinv", "lgamma", "digamma",
              "sigmoid", "relu", "sign", "round", "floor", "ceil", "erf", "isnan", "isinf", "isfinite",
              "logical_not", "logical_and", "logical_or", "logical_xor", "bitwise_not", "bitwise_and", "bitwise_or",
              "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "gcd", "lcm", "clamp", "clip", "pow", "div", "remainder",
              "fmod", "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "sum", "mean", "prod", "var",
              "std", "norm", "logsumexp", "cumsum", "argmax", "argmin", "amax", "amin", "all", "any", "max", "min",
              "sort", "argsort", "topk", "softmax", "log_softmax", "matmul", "mm", "bmm", "outer", "dot", "t",
              "transpose", "permute", "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "narrow", "select",
              "gather", "scatter", "scatter_add", "index_select", "index_add", "masked_select", "masked_fill", "nonzero",
              "tril", "triu", "flip", "roll", "repeat_interleave", "chunk", "split", "unbind", "clone", "detach", "square",
              "addcmul", "addcdiv", "lerp", "trunc", "frac", "isclose", "allclose", "equal", "numel", "mul", "add",
              "sub", "true_divide", "multiply", "subtract", "divide", "absolute", "negative", "greater", "less",
              "bernoulli", "multinomial", "nan_to_num", "index_put", "index_fill", "adaptive_avg_pool2d", "dropout"]:
    if hasattr(Tensor, _name):
        _from_method(_name)


@_export
def polygamma(n, input, *, out=None):
    """The n-th derivative of digamma (the registry op takes the tensor first, as Tensor.polygamma(n))."""
    r = _ops.polygamma(input, n)
    return r if out is None else _write_out("polygamma", r, out)


@_export
def mvlgamma(input, p):
    """The log of the multivariate gamma function of dimension p: sum of lgamma(x - i/2) for
    i < p, plus p(p - 1)/4 log(pi). PyTorch 1.13 checks only p (not the domain x > (p - 1)/2)."""
    if input.dtype is _C.bool:
        raise RuntimeError("The input tensor may not be a boolean tensor.")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = input if input.is_floating_point() else input.to(_C.get_default_dtype())
    offsets = _ops.arange(-p * 0.5 + 0.5, 0.5, 0.5, dtype=x.dtype, device=str(x.device))  # -(p-1)/2, ..., 0
    return (x.unsqueeze(-1) + offsets).lgamma().sum(-1) + p * (p - 1) * 1.1447298858494002 * 0.25  # log(pi)


@_export
def where(condition, input=None, other=None, *, out=None):
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    r = _ops.where(condition, input, other)
    return r if out is None else _write_out("where", r, out)


@_export
def cat(tensors, dim=0, *, out=None):
    r = _ops.cat(list(tensors), dim)
    return r if out is None else _write_out("cat", r, out)


concat = concatenate = cat
__all__ += ["concat", "concatenate"]


@_export
def stack(tensors, dim=0, *, out=None):
    r = _ops.stack(list(tensors), dim)
    return r if out is None else _write_out("stack", r, out)


@_export
def hstack(tensors):
    return cat(tensors, 0 if tensors[0].dim() == 1 else 1)


@_export
def vstack(tensors):
    return cat([t.reshape(1, -1) if t.dim() == 1 else t for t in tensors], 0)


@_export
def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(shape) for t in tensors)


@_export
def broadcast_shapes(*shapes):
    from ._size import Size
    return Size(np.broadcast_shapes(*[tuple(s) for s in shapes]))


@_export
def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    r = _ops.addmm(input, mat1, mat2, beta=beta, alpha=alpha)
    return r if out is None else _write_out("addmm", r, out)


@_export
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    r = _ops.baddbmm(input, batch1, batch2, beta=beta, alpha=alpha)
    return r if out is None else _write_out("baddbmm", r, out)


_export(einsum)


@_export
def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = [t.numel() for t in tensors]
    if indexing == "xy" and len(tensors) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, t in enumerate(tensors):
        view = [1] * len(tensors)
        pos = i
        if indexing == "xy" and len(tensors) >= 2 and i < 2:
            pos = 1 - i
        view[pos] = -1
        out.append(t.reshape(view).expand(shape))
    return tuple(out)


@_export
def diag(input, diagonal=0):
    """A 1-D input put on a square matrix's diagonal (index_put into zeros on its device), or a 2-D
    input's diagonal (a copy, as PyTorch's)."""
    if input.dim() == 1:
        n = input.shape[0] + builtins.abs(diagonal)
        out = zeros(n, n, dtype=input.dtype, device=input.device)
        idx = arange(input.shape[0], device=input.device)
        rows, cols = (idx, idx + diagonal) if diagonal >= 0 else (idx - diagonal, idx)
        return out.index_put((rows, cols), input)
    if input.dim() != 2:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + str(input.dim()) + "D")
    from ._shape_functions import diagonal as diagonal_of
    return diagonal_of(input, diagonal).clone()


@_export
def cdist(x1, x2, p=2.0):
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return diff.norm(p=p, dim=-1)


@_export
def bincount(input, weights=None, minlength=0):
    n = builtins.max(builtins.int(input.max().item()) + 1 if input.numel() else 0, minlength)
    w = ones_like(input, dtype=_C.int64) if weights is None else weights
    return zeros(n, dtype=w.dtype).scatter_add(0, input, w)


@_export
def is_nonzero(input):
    return builtins.bool(input)


@_export
def result_type(tensor1, tensor2):
    a = tensor1 if isinstance(tensor1, Tensor) else _ops.full([], tensor1)
    return (a[...] * 0 + (tensor2 if not isinstance(tensor2, Tensor) else tensor2 * 0)).dtype


@_export
def can_cast(from_, to):
    kind = lambda d: 0 if d is _C.bool else (1 if d in (_C.int32, _C.int64) else 2)  # noqa: E731
    return kind(from_) <= kind(to)


@_export
def promote_types(type1, type2):
    return (zeros([], dtype=type1) + zeros([], dtype=type2)).dtype


# Functional forms that live in torch.* as well as torch.nn.functional.
@_export
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    from .nn import functional as F
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@_export
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    from .nn import functional as F
    return F.conv1d(input, weight, bias, stride, padding, dilation, groups)


@_export
def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    r = _ops.embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse)
    return r[0] if isinstance(r, tuple) else r


@_export
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    return _ops.layer_norm(input, list(normalized_shape), weight, bias, eps)[0]


@_export
def one_hot(input, num_classes=-1):
    return _ops.one_hot(input, num_classes)


@_export
def get_default_device():
    from ._device import device
    return device(_default_device or "cpu")


@_export
def set_default_device(device):
    """The device of the tensors factory functions (and so nn.Module parameters) create when no
    device is given, as torch.set_default_device; None or "cpu" restores the CPU. Like PyTorch,
    it does not check that the device exists: the first tensor put there does."""
    global _default_device
    from ._device import device as device_type
    name = None if device is None else str(device_type(device))
    _default_device = None if name == "cpu" else name


from ._tensor_str import set_printoptions  # noqa: E402 (torch.set_printoptions is torch._tensor_str's)
from ._tensor import layout, strided  # noqa: E402
__all__ += ["set_printoptions", "layout", "strided"]


@_export
def use_deterministic_algorithms(mode, *, warn_only=False):
    """Terra's CPU kernels are deterministic already."""


@_export
def are_deterministic_algorithms_enabled():
    return True


del _name
