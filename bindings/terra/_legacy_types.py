"""PyTorch's legacy typed tensor classes: terra.FloatTensor, LongTensor, ... (torch.LongTensor).

Each is a constructor for one dtype and a type that isinstance() answers by the tensor's dtype,
as PyTorch's `torch.tensortype` metaclass does: isinstance(terra.zeros(1), terra.LongTensor) is
False, isinstance(terra.zeros(1, dtype=terra.int64), terra.LongTensor) is True. They are not
subclasses of Tensor. The ones whose dtype Terra lacks (ByteTensor, HalfTensor, ...) exist so a
script can name them; constructing one raises the TypeError every op raises for that dtype.
"""
import builtins

import numpy as np

from . import _C, _missing_dtypes, _public_name
from ._size import Size

Tensor = _C.Tensor


class TensorType(type):
    """The type of the legacy classes: construction, isinstance by dtype, a repr that follows
    the public package name (<class 'torch.LongTensor'> under --as-torch)."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and not obj.is_cuda

    def __subclasscheck__(cls, sub):
        return type.__subclasscheck__(cls, sub)

    def __repr__(cls):
        return f"<class '{_public_name.qualified(cls.__name__)}'>"

    def __call__(cls, *args, device=None):
        _missing_dtypes.refuse(cls.dtype, cls.__name__)
        from . import _functions
        dtype = cls.dtype
        if not args:
            return _functions.empty(0, dtype=dtype, device=device)
        if len(args) == 1:
            data = args[0]
            if isinstance(data, Tensor):  # an alias, of this dtype only
                if data.dtype is not dtype:
                    raise TypeError(f"expected a tensor of dtype {dtype!r} (got {data.dtype!r})")
                return data.detach()
            if isinstance(data, Size):
                return _functions.empty(list(data), dtype=dtype, device=device)
            if isinstance(data, (list, tuple, np.ndarray)):
                return _functions.tensor(data, dtype=dtype, device=device)
        sizes = []
        for a in args:
            if isinstance(a, builtins.bool) or not hasattr(a, "__index__"):
                raise TypeError(f"new(): data must be a sequence (got {type(a).__name__})")
            sizes.append(a.__index__())
        if builtins.any(s < 0 for s in sizes):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: {sizes}")
        return _functions.empty(sizes, dtype=dtype, device=device)


def _make(name, dtype):
    return TensorType(name, (), {"dtype": dtype, "is_cuda": False, "is_sparse": False, "__module__": "terra"})


# PyTorch's names, in its order; the last five name dtypes Terra does not have.
_MISSING = _missing_dtypes.ALL
CLASSES = {cls.__name__: cls for cls in [
    _make("FloatTensor", _C.float32), _make("DoubleTensor", _C.float64), _make("LongTensor", _C.int64),
    _make("IntTensor", _C.int32), _make("BoolTensor", _C.bool),
    _make("ByteTensor", _MISSING["uint8"]), _make("CharTensor", _MISSING["int8"]),
    _make("ShortTensor", _MISSING["int16"]), _make("HalfTensor", _MISSING["float16"]),
    _make("BFloat16Tensor", _MISSING["bfloat16"]),
]}


def from_type_name(name):
    """The dtype and device a Tensor.type() string names ('torch.LongTensor', 'torch.cuda.FloatTensor'
    or terra's spellings); ValueError for any other string, as PyTorch's."""
    package, _, rest = name.partition(".")
    device = "cpu"
    if rest.startswith("cuda."):
        device, rest = "cuda", rest[len("cuda."):]
    cls = CLASSES.get(rest)
    if package not in ("torch", "terra") or cls is None:
        raise ValueError(f"invalid type: '{name}'")
    return cls.dtype, device
