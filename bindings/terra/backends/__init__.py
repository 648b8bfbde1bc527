"""terra.backends: the flags scripts set on torch.backends.

The TF32 switches reach the CUDA kernels (kernels/math_mode.hpp), with PyTorch's defaults:
``cuda.matmul.allow_tf32`` (cuBLAS products) is off, ``cudnn.allow_tf32`` (cuDNN convolutions)
is on. The other flags are accepted and have no effect.
"""
import types

from .. import _C


class _Switch:
    """A boolean attribute kept in C++ (read by the kernels at every call)."""

    def __init__(self, get, set_, default):
        self._get, self._set = get, set_
        set_(default)

    def __get__(self, obj, owner=None):
        return self._get()

    def __set__(self, obj, value):
        self._set(bool(value))


class _Matmul:
    allow_tf32 = _Switch(_C._get_allow_tf32_matmul, _C._set_allow_tf32_matmul, False)


class _Cudnn:
    allow_tf32 = _Switch(_C._get_allow_tf32_cudnn, _C._set_allow_tf32_cudnn, True)
    benchmark = False
    deterministic = False
    enabled = True

    @staticmethod
    def is_available():
        from .. import cuda
        return _C._built_with_cudnn and cuda.is_available()


cudnn = _Cudnn()
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cuda = types.SimpleNamespace(matmul=_Matmul(), is_built=lambda: False)
mkldnn = types.SimpleNamespace(enabled=False, is_available=lambda: False)
