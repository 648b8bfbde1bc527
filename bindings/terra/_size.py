"""terra.Size: the shape of a tensor, a tuple of ints (like torch.Size)."""
from . import _public_name


class Size(tuple):
    __slots__ = ()

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __repr__(self):
        return _public_name.qualified("Size") + "([" + ", ".join(str(s) for s in self) + "])"

    def __reduce__(self):
        return (Size, (tuple(self),))
