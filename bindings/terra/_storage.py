"""Storages and resizing: Tensor.storage() (a TypedStorage), TypedStorage/UntypedStorage,
Tensor.resize_/resize_as_, set_/is_set_to, and resize_output, how out= arguments of the wrong
shape are resized (PyTorch's at::native::resize_output).

A storage here is a view, not an owner: a TypedStorage holds a 1-D contiguous tensor over the whole
of a tensor's storage (as_strided from offset 0), so reads and writes through it are tensor ops on
that memory and its data_ptr() is the storage's start, the same for every view of one base (its
size is the storage's bytes, Tensor._storage_nbytes, in elements of the dtype).

Resizing keeps the tensor's storage and offset when they hold the new shape (contiguous strides),
as PyTorch's resize_; otherwise the tensor is rebound to a new, larger storage holding the old
elements. PyTorch grows the storage object in place, so other views of the old storage see the
new memory; here they keep the old one.
"""
import os
import sys
import warnings

from . import _C, _memory_format, _public_name
from ._memory_format import _contiguous_strides
from ._C import _ops

Tensor = _C.Tensor

__all__ = ["TypedStorage", "UntypedStorage", "is_storage"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel():
    """The stacklevel for warnings.warn that names the first frame outside terra's package (the
    user's call), however deep inside terra the warning is raised."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def storage_size(t):
    """The number of elements of t's storage (of t's dtype)."""
    return t._storage_nbytes() // t.element_size()


def _flat(t, size=None):
    """A 1-D contiguous tensor over all of t's storage (detached)."""
    return _ops.as_strided(t.detach(), [storage_size(t) if size is None else size], [1], 0)


def _shape_of(sizes):
    if len(sizes) == 1 and not isinstance(sizes[0], int) and hasattr(sizes[0], "__iter__"):
        sizes = tuple(sizes[0])
    shape = [s.__index__() for s in sizes]
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {shape}")
    return shape


def _resize(t, shape, keep_data=True):
    """t takes `shape` with contiguous strides: over its own storage from its offset when that
    holds it, else over a new storage (the old elements copied to its start when keep_data)."""
    strides = _contiguous_strides(shape)
    offset = t.storage_offset()
    d = t.detach()
    if offset + _numel(shape) <= storage_size(t):
        view = _ops.as_strided(d, shape, strides, offset)
    else:
        grown = _ops.empty([offset + _numel(shape)], dtype=t.dtype, device=str(t.device))
        if keep_data:
            old = storage_size(t)
            if old:
                grown[:old].copy_(_flat(d, old))
        view = _ops.as_strided(grown, shape, strides, offset)
    Tensor._set_data(t, view)
    return t


def resize_(self, *sizes, memory_format=None):
    """Tensor.resize_: PyTorch's (contiguous strides; existing elements kept in storage order)."""
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = _shape_of(sizes)
    if list(self.shape) == shape and self.is_contiguous():
        return self
    _resize(self, shape)
    if memory_format is not None:
        _memory_format._check(memory_format)
        if memory_format is not _memory_format.contiguous_format and memory_format is not _memory_format.preserve_format:
            Tensor._set_data(self, _memory_format.laid_out(self.detach(), memory_format))
    return self


def resize_as_(self, the_template, memory_format=None):
    return resize_(self, *the_template.shape, memory_format=memory_format)


_RESIZED = ("An output with one or more elements was resized since it had shape {}, which does not match the "
            "required output shape {}. This behavior is deprecated, and in a future PyTorch release outputs will "
            "not be resized unless they have zero elements. You can explicitly reuse an out tensor t by resizing "
            "it, inplace, to zero elements with t.resize_(0).")


def resize_output(out, shape):
    """An out= tensor given the result's shape, as PyTorch's resize_output: left alone when it has
    that shape, else resized (contiguous strides), with PyTorch's deprecation warning unless it
    had no elements. Returns whether it was resized."""
    shape = [int(s) for s in shape]
    if list(out.shape) == shape:
        return False
    if out.numel() != 0:
        warnings.warn(_RESIZED.format(list(out.shape), shape), UserWarning, stacklevel=user_stacklevel())
    _resize(out, shape, keep_data=False)
    return True


def is_set_to(self, tensor):
    """Whether both tensors are the same view of the same storage (PyTorch's is_set_to)."""
    return (Tensor._shares_storage(self, tensor) and self.storage_offset() == tensor.storage_offset()
            and tuple(self.shape) == tuple(tensor.shape) and self.stride() == tensor.stride())


def set_(self, source=None, storage_offset=0, size=None, stride=None):
    """Tensor.set_(): over another tensor's view, a storage (with offset, size and stride), or a new
    empty storage. A tensor that requires grad is refused (Terra's in-place views cannot follow it)."""
    if self.requires_grad:
        raise NotImplementedError("set_: a tensor that requires grad is not supported by Terra")
    if source is None:
        view = _ops.empty([0], dtype=self.dtype, device=str(self.device))
    elif isinstance(source, Tensor):
        if source.dtype is not self.dtype:
            raise RuntimeError(f"Expected object of scalar type {_legacy(self.dtype)} but got scalar type "
                               f"{_legacy(source.dtype)} for argument 'source'")
        view = source.detach() if size is None else _ops.as_strided(
            source.detach(), list(size), list(_contiguous_strides(list(size)) if stride is None else stride),
            storage_offset)
    elif isinstance(source, (TypedStorage, UntypedStorage)):
        flat = source._typed_flat(self.dtype)
        size = [flat.numel() - storage_offset] if size is None else list(size)
        view = _ops.as_strided(flat, size, list(_contiguous_strides(size) if stride is None else stride),
                               storage_offset)
    else:
        raise TypeError(f"set_() received an invalid combination of arguments: {type(source).__name__}")
    Tensor._set_data(self, view)
    return self


def _legacy(dtype):
    from ._functions import _legacy_name
    return _legacy_name(dtype)


def _storage_type_name(dtype, device):
    cuda = "cuda." if device.type == "cuda" else ""
    return _public_name.qualified(f"{cuda}{_legacy(dtype)}Storage")


def _check_index(idx, size, kind):
    if isinstance(idx, bool) or not isinstance(idx, int):
        if hasattr(idx, "__index__") and not isinstance(idx, Tensor):
            idx = idx.__index__()
        else:
            raise RuntimeError(f"can't index a <class '{_public_name.qualified('storage.' + kind)}'> with {type(idx)}")
    if idx >= size or idx < -size:
        raise IndexError(f"index {idx} out of range for storage of size {size}")
    return idx % size if size else idx


class _StorageView:
    """What TypedStorage and UntypedStorage share: a 1-D tensor `_tensor` over the whole storage."""

    is_sparse = False

    @classmethod
    def _over(cls, flat):
        s = cls.__new__(cls)
        s._tensor = flat
        return s

    @property
    def device(self):
        return self._tensor.device

    @property
    def is_cuda(self):
        return self._tensor.is_cuda

    def nbytes(self):
        return self._tensor.numel() * self._tensor.element_size()

    def data_ptr(self):
        return self._tensor.data_ptr()

    def cpu(self):
        return self if not self.is_cuda else type(self)._over(self._tensor.cpu())

    def cuda(self, device=None, non_blocking=False, **kwargs):
        return type(self)._over(self._tensor.cuda(device))

    def __iter__(self):
        return iter(self.tolist())


class TypedStorage(_StorageView):
    """torch.TypedStorage (PyTorch 1.13): a tensor's storage as elements of its dtype.

    Made by Tensor.storage(), or directly as PyTorch's: TypedStorage(size, dtype=, device=),
    TypedStorage(sequence, dtype=, device=), TypedStorage(). It shares the tensor's memory:
    writes through it are seen by every tensor on that storage."""

    def __init__(self, *args, dtype=None, device=None, wrap_storage=None):
        from . import _functions
        if wrap_storage is not None:
            self._tensor = wrap_storage._typed_flat(dtype or _C.get_default_dtype())
            return
        dtype = dtype or _C.get_default_dtype()
        if not args:
            self._tensor = _functions.empty(0, dtype=dtype, device=device)
        elif len(args) == 1 and isinstance(args[0], int) and not isinstance(args[0], bool):
            self._tensor = _functions.empty(args[0], dtype=dtype, device=device)
        elif len(args) == 1 and hasattr(args[0], "__iter__"):
            self._tensor = _functions.tensor(list(args[0]), dtype=dtype, device=device).reshape(-1)
        else:
            raise TypeError(f"{_public_name.qualified('TypedStorage')}(): invalid arguments {args!r}")

    def _typed_flat(self, dtype):
        if dtype is not self.dtype:
            raise RuntimeError(f"Expected a storage of type {_legacy(dtype)} but got {_legacy(self.dtype)}")
        return self._tensor

    # What it is.
    @property
    def dtype(self):
        return self._tensor.dtype

    def size(self):
        return self._tensor.numel()

    def __len__(self):
        return self._tensor.numel()

    def element_size(self):
        return self._tensor.element_size()

    def get_device(self):
        return self.device.index if self.is_cuda else -1

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return _storage_type_name(self.dtype, self.device)
        raise NotImplementedError("TypedStorage.type(dtype): use the tensor's type() or to()")

    def pickle_storage_type(self):
        return _storage_type_name(self.dtype, self.device).rpartition(".")[2]

    def is_pinned(self):
        return _C._is_pinned(self._tensor)

    def is_shared(self):
        return False

    def share_memory_(self):
        return self

    # Elements.
    def __getitem__(self, idx):
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        return self._tensor[_check_index(idx, self.size(), "TypedStorage")].item()

    def __setitem__(self, idx, value):
        if not isinstance(value, (bool, int, float)) and not (isinstance(value, Tensor) and value.numel() == 1):
            raise TypeError(f"can't assign a {type(value).__name__} to a "
                            f"{_public_name.qualified(_legacy(self.dtype) + 'Tensor')}")
        if isinstance(idx, slice):
            self._tensor[idx] = value
        else:
            self._tensor[_check_index(idx, self.size(), "TypedStorage")] = value

    def tolist(self):
        return self._tensor.tolist()

    def fill_(self, value):
        self._tensor.fill_(value)
        return self

    def copy_(self, source, non_blocking=None):
        src = source._tensor if isinstance(source, TypedStorage) else source
        self._tensor.copy_(src.reshape(-1) if isinstance(src, Tensor) else src)
        return self

    # New storages.
    def clone(self):
        return TypedStorage._over(self._tensor.clone())

    def untyped(self):
        return UntypedStorage._over(self._tensor)

    def _untyped_storage(self):
        return self.untyped()

    def __copy__(self):
        return self.clone()

    def __deepcopy__(self, memo):
        return memo.setdefault(id(self), self.clone())

    def __reduce__(self):
        return (_rebuild_typed, (self._tensor.detach().clone(),))

    def __sizeof__(self):
        return super().__sizeof__() + self.nbytes()

    def __str__(self):
        items = "\n".join(" " + str(v) for v in self.tolist())
        head = (f"[{_public_name.qualified('storage.TypedStorage')}(dtype={self.dtype!r}, device={self.device}) "
                f"of size {self.size()}]")
        return f"{items}\n{head}"

    __repr__ = __str__


def _converter(dtype):
    def convert(self):
        return TypedStorage._over(self._tensor.to(dtype))
    return convert


# TypedStorage.float(), .double(), ...: a copy as that dtype.
for _name, _dtype in (("float", _C.float32), ("double", _C.float64), ("long", _C.int64), ("int", _C.int32),
                      ("bool", _C.bool)):
    setattr(TypedStorage, _name, _converter(_dtype))


def _rebuild_typed(flat):
    return TypedStorage._over(flat)


class UntypedStorage(_StorageView):
    """torch.UntypedStorage: the same memory as bytes (TypedStorage.untyped()). Element access
    goes through a numpy view of the memory, so it needs a CPU storage."""

    def __init__(self, *args, device=None):
        self._tensor = TypedStorage(*args, dtype=_C.bool, device=device)._tensor  # bool: one byte each

    def _typed_flat(self, dtype):
        if dtype is self._tensor.dtype:
            return self._tensor
        return _retype(self._tensor, dtype, self.nbytes() // _ops.empty([0], dtype=dtype).element_size())

    def size(self):
        return self.nbytes()

    def __len__(self):
        return self.nbytes()

    def element_size(self):
        return 1

    def type(self):
        return _public_name.qualified("UntypedStorage")

    def _bytes(self):
        if self.is_cuda:
            raise RuntimeError("UntypedStorage element access needs a CPU storage (use .cpu())")
        return self._tensor.detach().numpy().view("uint8")

    def __getitem__(self, idx):
        data = self._bytes()
        if isinstance(idx, slice):
            return UntypedStorage._over(_C.from_numpy(data[idx].view("bool")))
        return int(data[_check_index(idx, self.nbytes(), "UntypedStorage")])

    def __setitem__(self, idx, value):
        data = self._bytes()
        data[idx if isinstance(idx, slice) else _check_index(idx, self.nbytes(), "UntypedStorage")] = value

    def tolist(self):
        return self._bytes().tolist()

    def __str__(self):
        items = "\n".join(" " + str(v) for v in self.tolist())
        return f"{items}\n[{_public_name.qualified('storage.UntypedStorage')}(device={self.device}) of size {self.nbytes()}]"

    __repr__ = __str__


def _retype(flat, dtype, n):
    """flat's memory (CPU) read as n elements of dtype: a tensor sharing it, through numpy."""
    import numpy as np
    from ._functions import _numpy_dtype
    if flat.is_cuda:
        raise RuntimeError("reading a storage as another dtype needs a CPU storage")
    data = flat.detach().numpy().view(np.uint8)[:n * np.dtype(_numpy_dtype(dtype, "storage")).itemsize]
    return _C.from_numpy(data.view(_numpy_dtype(dtype, "storage")))


def is_storage(obj):
    return isinstance(obj, (TypedStorage, UntypedStorage))


def storage(self):
    """Tensor.storage(): a TypedStorage over all of the tensor's storage."""
    return TypedStorage._over(_flat(self))


def untyped_storage(self):
    return UntypedStorage._over(_flat(self))


def install():
    Tensor.storage = storage
    Tensor.untyped_storage = untyped_storage
    Tensor.resize_ = resize_
    Tensor.resize_as_ = resize_as_
    Tensor.is_set_to = is_set_to
    Tensor.set_ = set_
