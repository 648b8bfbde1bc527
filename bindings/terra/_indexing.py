"""Tensor.__getitem__ / __setitem__ with PyTorch's rules.

Basic indices (ints, slices with positive steps, None, Ellipsis) become views (select, slice,
unsqueeze); tensor, list and bool-mask indices then go to the registry's `index` / `index_put`
ops, which follow numpy's placement of the advanced dims.
"""
import builtins
import operator

import numpy as np

from . import _C
from ._C import _ops

Tensor = _C.Tensor


# What CPython's PySequence_Check accepts, among the types an index holds.
_SEQUENCES = (list, tuple, str, bytes, range, np.ndarray)


def _sequence_as_tuple(key):
    """Whether a non-tuple sequence index is read as a tuple of indices: x[[[0, 1], [1, 2]]] is
    x[[0, 1], [1, 2]]. PyTorch 1.13's treatSequenceAsTuple (numpy's old rule): a sequence
    shorter than 32 that holds a sequence, tensor, slice, Ellipsis or None."""
    if not isinstance(key, _SEQUENCES) or isinstance(key, tuple) or (isinstance(key, np.ndarray) and key.ndim == 0):
        return False
    if len(key) >= 32:
        return False
    return builtins.any(isinstance(k, _SEQUENCES + (Tensor, slice)) or k is None or k is Ellipsis for k in key)


def _refuse_text(obj):
    """PyTorch turns a str or bytes index into a tensor and fails there, with a TypeError."""
    if isinstance(obj, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(obj).__name__}'")


def _as_index_tensor(obj):
    if isinstance(obj, Tensor):
        return obj
    arr = np.asarray(obj)
    if arr.dtype == np.bool_:
        return _C._tensor_from_numpy(arr)
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.dtype.kind in "SU":
        raise TypeError("new(): invalid data type 'str'")
    if arr.dtype.kind not in "iuf":  # a list or array of floats is truncated to int64, as PyTorch's
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return _C._tensor_from_numpy(arr.astype(np.int64))


def _consumed(idx):
    if idx is None or idx is Ellipsis:
        return 0
    if isinstance(idx, Tensor) and idx.dtype is _C.bool:
        return idx.dim()
    if isinstance(idx, (list, np.ndarray)) and np.asarray(idx).dtype == np.bool_:
        return np.asarray(idx).ndim
    return 1


def _slice_bound(v):
    """A slice's start, stop or step as Python reads one: an int, or anything with __index__ (an
    integer tensor of one element, a numpy integer), never a float."""
    if v is None:
        return None
    try:
        return operator.index(v)
    except TypeError:
        if isinstance(v, Tensor):
            raise
        raise TypeError("slice indices must be integers or None or have an __index__ method") from None


def _sliced(t, dim, k):
    """t[..., k] with k a slice at `dim`: t itself for a whole `:`."""
    step = _slice_bound(k.step)
    step = 1 if step is None else step
    if step <= 0:
        raise ValueError("step must be greater than zero")
    start, stop = _slice_bound(k.start), _slice_bound(k.stop)
    if start is None and stop is None and step == 1:
        return t
    return _ops.slice(t, dim, start, stop, step)


def _selected(t, dim, k, source):
    """t.select(dim, k) for an int k, which must be in range; `source`: the indexed tensor's dim k
    reads, as the error names it."""
    size = t.size(dim)
    if k < -size or k >= size:
        raise IndexError(f"index {k} is out of bounds for dimension {source} with size {size}")
    return _ops.select(t, dim, k)


def _apply_basic(self, key):
    """Returns (view, advanced) where advanced maps a dim of the view to its index tensor."""
    if not isinstance(key, tuple):
        key = (key,)
    specified = builtins.sum(_consumed(k) for k in key)
    if specified > self.dim():
        raise IndexError(f"too many indices for tensor of dimension {self.dim()}")
    t = self
    dim = 0  # of t, the view so far
    source = 0  # of self: the dim the next index reads, as errors name it
    advanced = {}
    seen_ellipsis = False
    for k in key:
        if k is Ellipsis:
            if seen_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen_ellipsis = True
            dim += self.dim() - specified
            source += self.dim() - specified
        elif k is None:
            t = _ops.unsqueeze(t, dim)
            # advanced dims after this one shift by one
            advanced = {d + 1 if d >= dim else d: v for d, v in advanced.items()}
            dim += 1
        elif isinstance(k, builtins.bool):
            t = _ops.unsqueeze(t, dim)
            if not k:
                t = _ops.slice(t, dim, 0, 0, 1)
            dim += 1
        elif isinstance(k, builtins.int) or (isinstance(k, (np.integer,))) or (
                isinstance(k, Tensor) and k.dim() == 0 and not k.is_floating_point() and k.dtype is not _C.bool):
            t = _selected(t, dim, builtins.int(k), source)
            source += 1
        elif isinstance(k, slice):
            t = _sliced(t, dim, k)
            dim += 1
            source += 1
        elif isinstance(k, (Tensor, list, tuple, np.ndarray, range)):
            idx = _as_index_tensor(k)
            advanced[dim] = idx
            dim += idx.dim() if idx.dtype is _C.bool else 1
            source += idx.dim() if idx.dtype is _C.bool else 1
        else:
            _refuse_text(k)
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                             f"valid indices (got {type(k).__name__})")
    return t, advanced


def _basic_view(self, key):
    """self[key] for a tuple of ints and slices only (`x[a:b]` as `(slice,)`, `x[i, j]`, `x[:, -1]`):
    the ops _apply_basic issues, without its general walk. None, having issued nothing, for any
    other tuple."""
    if len(key) > self.dim() or not all(type(k) is builtins.int or type(k) is slice for k in key):
        return None
    t, dim = self, 0  # dim: of t, the view so far; an error names self's dim, the key's position
    for source, k in enumerate(key):
        if type(k) is slice:
            t = _sliced(t, dim, k)
            dim += 1
        else:
            t = _selected(t, dim, k, source)
    return t


def _index_list(advanced):
    out = []
    pos = 0
    last = max(advanced)
    while pos <= last:
        if pos in advanced:
            idx = advanced[pos]
            out.append(idx)
            pos += idx.dim() if idx.dtype is _C.bool else 1
        else:
            out.append(None)
            pos += 1
    return out


def getitem(self, key):
    if isinstance(key, builtins.int) and not isinstance(key, builtins.bool):
        if self.dim() == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
                             "in C++ to convert a 0-dim tensor to a number")
        return _selected(self, 0, key, 0)
    # x[a:b] (a data loop's batch), x[i, j], x[:, k]: no general walk.
    if type(key) is slice and self.dim() > 0:
        t = _sliced(self, 0, key)
        return t if t is not self else _ops.alias(self)
    basic = key if type(key) is tuple else None
    if basic is not None:
        t = _basic_view(self, basic)
        if t is not None:
            return t if t is not self else _ops.alias(self)
    elif _sequence_as_tuple(key):
        key = tuple(key)
    t, advanced = _apply_basic(self, key)
    if not advanced:
        return t if t is not self else _ops.alias(self)
    return _ops.index([t, *_index_list(advanced)])


def setitem(self, key, value):
    if _sequence_as_tuple(key):
        key = tuple(key)
    t, advanced = _apply_basic(self, key)
    if not isinstance(value, Tensor):
        value = _C._tensor_from_numpy(np.asarray(value)) if isinstance(value, (list, tuple, np.ndarray)) else value
    if advanced:
        if not isinstance(value, Tensor):
            value = _ops.full([], value, dtype=self.dtype)
        elif value.dtype is not self.dtype:
            value = value.to(self.dtype)
        _C._call_inplace("index_put", [t, value, *_index_list(advanced)], False)
    elif isinstance(value, Tensor):
        t.copy_(value)
    else:
        t.fill_(value)
