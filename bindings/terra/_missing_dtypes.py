"""PyTorch's dtypes Terra does not have (float16, bfloat16, uint8, int8, int16, the complex ones).

Scripts name them (`dtype=torch.uint8`, `x.dtype == torch.half`, `autocast(dtype=torch.bfloat16)`),
so each is an object that imports, prints and compares like a dtype; every op given one as a dtype
raises a TypeError that names it (bindings/src/dtypes.cpp raises `_terra_refusal`). They used
to be None, which an op took for "the default dtype": `tensor([1, 2, 300], dtype=uint8)` gave an
int64 tensor holding 300 where PyTorch gives uint8 [1, 2, 44].
"""
from . import _public_name


class MissingDType:
    def __init__(self, name, itemsize, floating, complex_, signed):
        self.name = name
        # What every op raises for it (bindings/src/dtypes.cpp reads this too).
        self._terra_refusal = (f"Terra has no {name} dtype (its dtypes are bool, int32, int64, float32 and "
                               "float64)")
        self.itemsize = itemsize
        self.is_floating_point = floating
        self.is_complex = complex_
        self.is_signed = signed

    def __repr__(self):
        return _public_name.qualified(self.name)

    def __reduce__(self):  # pickles by name, as torch.dtype does
        return (_by_name, (self.name,))


ALL = {d.name: d for d in [
    MissingDType("float16", 2, True, False, True),
    MissingDType("bfloat16", 2, True, False, True),
    MissingDType("uint8", 1, False, False, False),
    MissingDType("int8", 1, False, False, True),
    MissingDType("int16", 2, False, False, True),
    MissingDType("complex32", 4, False, True, True),
    MissingDType("complex64", 8, False, True, True),
    MissingDType("complex128", 16, False, True, True),
]}


def _by_name(name):
    return ALL[name]


def refuse(dtype, op):
    """Raises the TypeError every op raises for a dtype Terra does not have; nothing for others."""
    if isinstance(dtype, MissingDType):
        raise TypeError(f"{op}(): argument 'dtype': {dtype._terra_refusal}")


# PyTorch's names for them, aliases included.
NAMES = {"float16": "float16", "half": "float16", "bfloat16": "bfloat16", "uint8": "uint8", "int8": "int8",
         "int16": "int16", "short": "int16", "complex32": "complex32", "chalf": "complex32",
         "complex64": "complex64", "cfloat": "complex64", "complex128": "complex128", "cdouble": "complex128"}
