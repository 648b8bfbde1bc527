"""terra.finfo and terra.iinfo: the limits of a dtype, as torch.finfo and torch.iinfo give them
(Python numbers; finfo() without a dtype describes the default dtype)."""
import numpy as np

from . import _C, _public_name

_FLOATS = {_C.float32: np.float32, _C.float64: np.float64}
_INTS = {_C.int32: np.int32, _C.int64: np.int64, _C.bool: np.uint8}


def _numpy_info(type, table, kind):
    """numpy's finfo or iinfo of a terra dtype, and the dtype's name."""
    if type not in table:
        raise TypeError(f"{kind.__name__}: {type} is not a dtype it describes")
    return kind(table[type]), _public_name.dtype_name(type)


class finfo:
    def __init__(self, type=None):
        info, self.dtype = _numpy_info(_C.get_default_dtype() if type is None else type, _FLOATS, np.finfo)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = 10.0 ** -int(info.precision)  # a power of ten, as PyTorch gives it

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, eps={self.eps}, "
                f"smallest_normal={self.tiny}, tiny={self.tiny}, dtype={self.dtype})")


class iinfo:
    def __init__(self, type):
        info, self.dtype = _numpy_info(type, _INTS, np.iinfo)
        self.bits = int(info.bits)
        self.max = int(info.max)
        self.min = int(info.min)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
