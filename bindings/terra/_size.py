"""terra.Size: the shape of a tensor, a tuple of ints (like torch.Size)."""
from . import _public_name


_new_tuple = tuple.__new__


class Size(tuple):
    __slots__ = ()

    def __new__(cls, sizes=()):
        self = _new_tuple(cls, sizes)
        for s in self:  # the shapes the engine hands over: ints, checked in one pass
            if type(s) is not int:
                return _new_tuple(cls, [_size_item(i, s) for i, s in enumerate(self)])
        return self

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __mul__(self, times):
        r = tuple.__mul__(self, times)
        return r if r is NotImplemented else Size(r)

    __rmul__ = __mul__

    def __repr__(self):
        return _public_name.qualified("Size") + "([" + ", ".join(str(s) for s in self) + "])"

    def __reduce__(self):
        return (Size, (tuple(self),))


def _size_item(i, s):
    """One size as PyTorch's torch.Size() reads it: an int (a numpy integer stays one), or a
    one-element integer tensor as its int; anything else is a TypeError."""
    from ._C import Tensor
    if isinstance(s, Tensor):
        if s.numel() == 1 and not s.is_floating_point():
            return int(s.item())
        name = "Tensor"
    elif isinstance(s, int):
        return int(s)  # True is 1
    else:
        if hasattr(s, "__index__"):
            try:
                s.__index__()
                return s
            except TypeError:
                pass
        module = type(s).__module__
        name = type(s).__name__ if module == "builtins" else f"{module}.{type(s).__name__}"
    raise TypeError(f"{_public_name.qualified('Size')}() takes an iterable of 'int' (item {i} is '{name}')")
